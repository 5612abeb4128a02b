#!/usr/bin/env bash
# Sets everything up and runs every test: format lint, Swift unit tests (with a real redis-server),
# and the Python suites against real node processes, Redis and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP_TEST_TOOLS=1 scripts/setup.sh
echo "==> swift format lint"
swift format lint --strict -r Sources Tests Package.swift
echo "==> swift test"
swift build --build-tests
# The gossip simulations are CPU-bound; they run on their own so that they never starve the
# socket and Redis tests of the (two-thread) cooperative pool.
swift test --skip-build --skip GossipTests
swift test --skip-build --filter GossipTests
echo "==> integration and browser tests"
export CHAT_NODE_BIN="$(swift build --show-bin-path)/chat-node"
python3 -m pytest tests -q --timeout 120 -p no:cacheprovider
