#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The price guarantee of engine/checkout.c as a property over many random
# cases (tests/bench/guarantee.c): builds bench_guarantee in the
# RelWithDebInfo build (BUILD_DIR, default build/), runs it RUNS times
# (default 3) over CASES cases (default 10,000,000) from SEED (default 1),
# prints each run's line and the median of the seconds.  Exits non-zero if
# any run found a violation, a negative price, a price above list or a
# cost mismatch.
#
# usage: tests/bench/guarantee.sh [CASES [SEED]]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=${BUILD_DIR:-$top/build}
cases=${1:-10000000}
seed=${2:-1}
runs=${RUNS:-3}

cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" --target bench_guarantee -j"$(nproc)" >/dev/null
echo "bench_guarantee $cases $seed ($(grep -m1 'model name' /proc/cpuinfo |
	sed 's/.*: //'), $(nproc) CPU, RelWithDebInfo)"
secs=()
status=0
for _ in $(seq "$runs"); do
	line=$("$dir/tests/bench_guarantee" "$cases" "$seed" 2>/dev/null) ||
		status=1
	echo "$line"
	secs+=("$(sed -n 's/.*seconds \([0-9.]*\).*/\1/p' <<<"$line")")
done
printf '%s\n' "${secs[@]}" | sort -n |
	awk '{ v[NR] = $1 } END { printf "median seconds %s of %d runs\n",
	    NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, NR }'
exit "$status"
