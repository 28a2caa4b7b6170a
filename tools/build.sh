#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configure and build into BUILD_DIR (default build/); extra arguments go
# to cmake's configure step, e.g. -DSP_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
