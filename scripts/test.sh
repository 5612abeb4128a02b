#!/usr/bin/env bash
# Sets everything up and runs every test: format lint, Swift unit tests (with a real redis-server),
# and the Python suites against real node processes, Redis and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_TEST_TOOLS=1 scripts/setup.sh
echo "==> swift format lint"
swift format lint --strict -r Sources Tests Package.swift Fuzz/Sources Fuzz/Package.swift
echo "==> swift test"
swift build --build-tests
BIN="$(swift build --show-bin-path)"
export CHAT_NODE_BIN="$BIN/chat-node"   # ChatClientTests run against a real node too
# The gossip and room-group simulations are CPU-bound; they run on their own so that they never
# starve the socket and Redis tests of the (two-thread) cooperative pool.
swift test --skip-build --skip GossipTests --skip RoomGroupTests
swift test --skip-build --filter GossipTests
swift test --skip-build --filter RoomGroupTests
echo "==> chaos run: 5 nodes with Redis, 60 s of traffic, 6 faults of each kind (kill -9, SIGTERM, SIGSTOP); fails on any violation"
"$BIN/chat-chaos" --nodes 5 --duration 60 --faults-per-kind 6 --seed "${CHAOS_SEED:-1}" \
    --node-binary "$CHAT_NODE_BIN" --work-dir test-output/chaos
echo "==> integration, cluster, tool and browser tests"
python3 -m pytest tests -q --timeout 120 -p no:cacheprovider
echo "==> fuzzing: the JSON parser, client frames, internal frames and gossip, ${FUZZ_SECONDS:-30} s each"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
