#!/usr/bin/env bash
# The demo: builds what exists and shows it running.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target kenc-proxy kenc-keybroker
build/proxy/kenc-proxy --version
build/keybroker/kenc-keybroker --version
