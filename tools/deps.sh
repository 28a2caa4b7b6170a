#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install, with apt-get, the Debian 12 packages smartpromo needs to build,
# test and run its demo (chromium: the browser test of the seller's page);
# does nothing for packages already installed.
set -euo pipefail

pkgs=(gcc make cmake pkg-config
      librdkafka-dev libhiredis-dev libevent-dev libjansson-dev
      libsystemd-dev libcmocka-dev redis-server redis-tools
      clang libclang-rt-14-dev
      chromium systemd dpkg-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	exit 0
fi
echo "deps: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
