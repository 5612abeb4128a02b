#!/usr/bin/env bash
# Installs what a fresh Debian machine with Swift lacks, then builds the node.
#   scripts/setup.sh            # system packages + debug build
#   SETUP_TEST_TOOLS=1 ...      # also Chromium, chromedriver and the Python test helpers
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
pkg-config --exists hiredis 2>/dev/null || need+=(libhiredis-dev pkg-config)
command -v redis-server >/dev/null || need+=(redis-server)
command -v curl >/dev/null || need+=(curl)
if [ "${SETUP_TEST_TOOLS:-0}" = 1 ]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  command -v ss >/dev/null || need+=(iproute2)
  command -v iptables >/dev/null || need+=(iptables)   # tests/netbed: faults inside namespaces
  command -v ping >/dev/null || need+=(iputils-ping)   # tests/netbed: bed self-test probes
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${SETUP_TEST_TOOLS:-0}" = 1 ]; then
  echo "==> python test helpers"
  python3 -m pip install -q --disable-pip-version-check -r tests/requirements.txt
fi
echo "==> swift build"
swift build ${SWIFT_BUILD_FLAGS:-}
