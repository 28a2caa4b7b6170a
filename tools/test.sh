#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install what is missing, build, and run every test twice: in a normal
# build (warnings are errors) and in an AddressSanitizer + UBSan build.
# Unit tests link only engine/ and config/; integration tests start the
# real smartpromod, redis-server and smartpromo-devbroker on private ports.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
# The browser test skips (exit 77) when it finds no Chromium; naming it here
# makes a missing browser fail the run instead.
export SP_CHROMIUM="${SP_CHROMIUM:-/usr/bin/chromium}"

echo "== build (RelWithDebInfo, -Werror) and test"
BUILD_DIR=build tools/build.sh
ctest --test-dir build --output-on-failure -j2

echo "== fault tests, short (kill -9, Redis and broker faults, poison)"
BUILD_DIR=build tests/fault/run.sh --short

echo "== build (ASan + UBSan) and test"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
BUILD_DIR=build-asan BUILD_TYPE=Debug tools/build.sh -DSP_SANITIZE=ON
ctest --test-dir build-asan --output-on-failure -j2

echo "== fuzz smoke (libFuzzer, 20 s per parser)"
tools/fuzz.sh --smoke
echo "== all tests passed"
