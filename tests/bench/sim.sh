#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Decision quality: runs smartpromo-sim (tools/sim.c) on the standard
# scenarios of tests/bench/scenarios/ and prints, per scenario, the median
# over its seeds (at least 3) of every policy's GMV, promotion cost, ROI,
# share of the oracle, days below the ROI floor, days over the daily
# budget and offers outside the range.  First checks the oracle's LP
# solver against exact basis enumeration.  Exits non-zero if that check
# fails, a run fails, or any offer left its range.
#
# usage: tests/bench/sim.sh [smartpromo-sim options, e.g. --days-table]
#        SCENARIOS="stationary drift" tests/bench/sim.sh
# The binary is $BUILD_DIR/smartpromo-sim (default build/; tools/build.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${BUILD_DIR:-$top/build}
sim=$bin/smartpromo-sim
scenarios=${SCENARIOS:-stationary drift hetero tight budget ferreira}

if [ ! -x "$sim" ]; then
	echo "sim.sh: \"$sim\" not found; build it first (tools/build.sh)" >&2
	exit 2
fi
"$sim" --check-oracle
rc=0
for s in $scenarios; do
	echo
	echo "=== $s"
	if ! "$sim" "$@" "$here/scenarios/$s.ini"; then
		echo "sim.sh: scenario \"$s\" failed" >&2
		rc=1
	fi
done
exit $rc
