#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the libFuzzer targets with clang and run each on a copy of its seed
# corpus (tests/fuzz/corpus/<target>), two at a time on a 2-core machine.
#
#   tools/fuzz.sh [--smoke | --seconds N] [--keep-going] [target...]
#
# Targets: event config plan (default: all three). --seconds N runs each
# target N seconds (default 600); --smoke is 20 s each (CI). --keep-going
# uses libFuzzer's fork mode and keeps fuzzing after a crash (for long runs;
# every crash is still kept and counted). Prints one line per target:
#   fuzz_event: 20 s, 1234567 executions (61728/s), 0 crashes
# and exits 1 if any target crashed (crash, leak, timeout or out-of-memory
# input); the inputs are kept under BUILD_DIR/fuzz-crashes/.
# Environment: BUILD_DIR (default build-fuzz), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
keep_going=0
targets=()
while (($# > 0)); do
	case $1 in
	--smoke) seconds=20 ;;
	--seconds) seconds=${2:?--seconds needs a number}; shift ;;
	--keep-going) keep_going=1 ;;
	-h|--help) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	event|config|plan) targets+=("$1") ;;
	fuzz_event|fuzz_config|fuzz_plan) targets+=("${1#fuzz_}") ;;
	*) echo "fuzz: unknown argument \"$1\"" >&2; exit 2 ;;
	esac
	shift
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: bad --seconds \"$seconds\"" >&2; exit 2; }
((${#targets[@]} > 0)) || targets=(event config plan)

dir=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc)}
tools/deps.sh

# The libraries are instrumented too (coverage, ASan, UBSan that aborts):
# SP_SANITIZE for the sanitizers, fuzzer-no-link for libFuzzer's coverage.
echo "== build the fuzz targets (clang, $dir)"
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DSP_FUZZ=ON -DSP_SANITIZE=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
	>/dev/null
cmake --build "$dir" -j"$jobs" --target "${targets[@]/#/fuzz_}" >/dev/null

# libFuzzer options of one target.
fuzz_options() {
	local t=$1 opts=(-max_total_time="$seconds" -print_final_stats=1
	    -timeout=25 -rss_limit_mb=2048)

	case $t in
	event) opts+=(-max_len=65536) ;;
	config) opts+=(-max_len=8192) ;;
	plan) opts+=(-max_len=16384) ;;
	esac
	if [ -f "tests/fuzz/dict/$t.dict" ]; then
		opts+=(-dict="tests/fuzz/dict/$t.dict")
	fi
	if ((keep_going)); then
		opts+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
	fi
	printf '%s\n' "${opts[@]}"
}

# Run one target on a fresh copy of its corpus; the log goes to $dir/fuzz-logs.
fuzz_run() {
	local t=$1 start rc=0
	local run="$dir/fuzz-corpus/$t" crashes="$dir/fuzz-crashes"
	local -a opts

	mapfile -t opts < <(fuzz_options "$t")
	rm -rf "$run"
	mkdir -p "$run" "$crashes" "$dir/fuzz-logs"
	cp tests/fuzz/corpus/"$t"/* "$run"/
	start=$(date +%s)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$dir/tests/fuzz_$t" "${opts[@]}" -artifact_prefix="$crashes/fuzz_$t-" \
	    "$run" >"$dir/fuzz-logs/$t.log" 2>&1 || rc=$?
	echo "$rc $(($(date +%s) - start))" >"$dir/fuzz-logs/$t.rc"
}

# The artifacts a target left in the crash directory.
fuzz_artifacts() {
	find "$dir/fuzz-crashes" -maxdepth 1 -type f -name "fuzz_$1-*" \
	    -newer "$dir/fuzz-logs/$1.start" 2>/dev/null | sort
}

fuzz_why='invariant violated|ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|ERROR: libFuzzer'

# Why an input crashes: the first line of the report of a re-run on it.
fuzz_why() {
	local why

	why=$("$dir/tests/fuzz_$1" "$2" 2>&1 | grep -a -m 1 -E "$fuzz_why" |
	    sed -E 's/^==[0-9]+== *//') || true
	echo "${why:-(does not crash again)}"
}

# Summarise one finished target; returns 1 if it crashed or failed to run.
fuzz_report() {
	local t=$1 rc secs execs rate crashes last
	local log="$dir/fuzz-logs/$t.log"
	local -a found

	read -r rc secs <"$dir/fuzz-logs/$t.rc"
	mapfile -t found < <(fuzz_artifacts "$t")
	if ((keep_going)); then
		last=$(grep -a -E '^#[0-9]+: cov:' "$log" | tail -n 1)
		execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
		rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
	else
		execs=$(sed -n -E 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
		rate=$(sed -n -E 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	fi
	crashes=${#found[@]}
	if ((crashes == 0 && rc != 0)); then
		crashes=1       # died without leaving an input
	fi
	if [ -z "$execs" ]; then
		execs=0 rate=0
	fi
	echo "fuzz_$t: $secs s, $execs executions (${rate:-0}/s), $crashes crash$( ((crashes == 1)) || echo es)"
	if ((crashes == 0)); then
		return 0
	fi
	if ((${#found[@]} == 0)); then
		grep -a -m 5 -E "$fuzz_why" "$log" | sed 's/^/  /' || true
	fi
	for f in "${found[@]:0:10}"; do
		echo "  kept $f: $(fuzz_why "$t" "$f")"
	done
	if ((${#found[@]} > 10)); then
		echo "  ... and $((${#found[@]} - 10)) more in $dir/fuzz-crashes"
	fi
	echo "  reproduce: $dir/tests/fuzz_$t FILE"
	echo "  log: $log"
	return 1
}

# Run the targets, at most $jobs at a time, then report in order.
running=0
for t in "${targets[@]}"; do
	if ((running >= jobs)); then
		wait -n || true
		running=$((running - 1))
	fi
	mkdir -p "$dir/fuzz-logs"
	touch "$dir/fuzz-logs/$t.start"
	echo "== fuzz_$t for $seconds s"
	fuzz_run "$t" &
	running=$((running + 1))
done
wait

status=0
for t in "${targets[@]}"; do
	fuzz_report "$t" || status=1
done
exit "$status"
