#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# demo.sh - run smartpromo end to end on one machine: a private redis-server,
# smartpromo-devbroker and smartpromod in a temporary directory, then
# smartpromo-replay drives a simulated market over the shipped sample of
# UCI Online Retail and prints what happened day by day (docs/demo.md).
#
# usage: tools/demo.sh [--no-build] [BUILD_DIR] [REPLAY OPTIONS...]
#   First installs missing Debian packages (tools/deps.sh) and builds
#   (tools/build.sh) into BUILD_DIR, default build/ at the top of the
#   repository; --no-build skips both and runs what BUILD_DIR holds (the
#   demo_smoke ctest).  The options go to smartpromo-replay
#   (e.g. --days 7 --seed 2).  Exits with smartpromo-replay's status, or 1
#   when the daemon refused an offer outside the range
#   (smartpromo_range_refused_total above 0).  Everything it starts is
#   stopped on exit, even on failure or Ctrl-C; the logs stay in the
#   temporary directory it prints.

# functions run from traps and wait_for look unreachable to shellcheck
# shellcheck disable=SC2317
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build
no_build=0
if [ $# -gt 0 ] && [ "$1" = "--no-build" ]; then
	no_build=1
	shift
fi
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$(realpath -m "$1")
	shift
fi
holdout_pct=5
pids=()
tmp=

# Print a message on stderr and exit 1.
die() {
	echo "demo: $*" >&2
	exit 1
}

# Stop what we started, newest first: SIGTERM, then wait (SIGKILL after 10 s).
cleanup() {
	local i pid n
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		for ((n = 0; n < 100; n++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -n "$tmp" ] && echo "demo: logs are in $tmp (remove with: rm -rf $tmp)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Succeeds if nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Print a free TCP port (probing random ports above 20000).
free_port() {
	local p n
	for ((n = 0; n < 200; n++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# GET http://127.0.0.1:$1$2 (HTTP/1.0); prints the raw response.
http_get() {
	local fd line out=
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
	while IFS= read -r -t 2 line <&"$fd" || [ -n "$line" ]; do
		out+="$line"$'\n'
		line=
	done
	exec {fd}<&-
	printf '%s' "$out"
}

# Succeeds once redis on port $1 answers PING.
redis_ping() {
	local fd line
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	printf 'PING\r\n' >&"$fd"
	IFS= read -r -t 1 line <&"$fd"
	exec {fd}<&-
	[ "${line%$'\r'}" = "+PONG" ]
}

# Wait up to $2 tenths of a second for command $3... to succeed while
# process $1 lives.
wait_for() {
	local pid=$1 n=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Succeeds once the admin API on port $1 answers /healthz with 200.
healthy() {
	http_get "$1" /healthz | head -n 1 | grep -q ' 200'
}

# Succeeds once the daemon has Kafka partitions assigned.
assigned() {
	http_get "$1" /v1/status | grep -Eq '"assigned_partitions": *[1-9]'
}

# Succeeds once the devbroker has printed its bootstrap line.
bootstrap_ready() {
	grep -q '^bootstrap=' "$tmp/devbroker.out" 2>/dev/null
}

# The daemon's count of offers refused as outside the range (-1: unknown).
range_refused() {
	local n
	n=$(http_get "$1" /metrics |
	    sed -n 's/^smartpromo_range_refused_total \([0-9]*\)\r*$/\1/p')
	echo "${n:--1}"
}

if [ "$no_build" = 0 ]; then
	"$root/tools/deps.sh" || die "installing the dependencies failed"
	echo "demo: building into $build"
	BUILD_DIR=$build "$root/tools/build.sh" >/dev/null ||
	    die "the build failed"
fi
for prog in smartpromod smartpromo-devbroker smartpromo-replay; do
	[ -x "$build/$prog" ] || die "\"$build/$prog\" not found; build first:" \
	    "cmake -S . -B build && cmake --build build"
done
command -v redis-server >/dev/null || die "\"redis-server\" not found" \
    "(apt-get install redis-server)"

cat <<EOF
smartpromo demo: starts a private redis-server, smartpromo-devbroker and
smartpromod in a temporary directory, creates a 5-30% discount plan over
200 real products (UCI Online Retail sample, data/README.md) and lets
smartpromo-replay simulate shoppers against it, day by day.  The daemon
only sees events; the shoppers' demand model stays hidden (docs/demo.md).

EOF

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smartpromo-demo.XXXXXX") || die "mktemp failed"
redis_port=$(free_port) || die "no free port for redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$tmp" --daemonize no \
    --logfile "$tmp/redis.log" &
pids+=($!)
wait_for "${pids[-1]}" 100 redis_ping "$redis_port" ||
    die "redis-server did not answer on port $redis_port (see $tmp/redis.log)"
echo "demo: redis-server on 127.0.0.1:$redis_port"

"$build/smartpromo-devbroker" --topic smartpromo.events:4 \
    --topic smartpromo.offers:4 --topic smartpromo.metrics:1 \
    --topic smartpromo.dead-letter:1 \
    >"$tmp/devbroker.out" 2>"$tmp/devbroker.log" &
pids+=($!)
wait_for "${pids[-1]}" 100 bootstrap_ready ||
    die "smartpromo-devbroker did not start (see $tmp/devbroker.log)"
brokers=$(sed -n 's/^bootstrap=//p' "$tmp/devbroker.out" | head -n 1)
echo "demo: smartpromo-devbroker at $brokers"

admin_port=$(free_port) || die "no free port for the admin API"
cat >"$tmp/smartpromo.conf" <<EOF
# written by tools/demo.sh
[kafka]
brokers = $brokers
[redis]
port = $redis_port
[admin]
listen = 127.0.0.1:$admin_port
[engine]
holdout_pct = $holdout_pct
EOF
"$build/smartpromod" -c "$tmp/smartpromo.conf" -n >/dev/null ||
    die "config check failed: $tmp/smartpromo.conf"
"$build/smartpromod" -c "$tmp/smartpromo.conf" 2>"$tmp/smartpromod.log" &
pids+=($!)
wait_for "${pids[-1]}" 300 healthy "$admin_port" ||
    die "smartpromod did not become healthy (see $tmp/smartpromod.log)"
wait_for "${pids[-1]}" 300 assigned "$admin_port" ||
    echo "demo: warning: smartpromod reports no Kafka partitions yet" >&2
echo "demo: smartpromod admin API at http://127.0.0.1:$admin_port," \
    "log $tmp/smartpromod.log"
echo

"$build/smartpromo-replay" --brokers "$brokers" \
    --url "http://127.0.0.1:$admin_port" \
    --data "$root/data/online-retail-products.csv" \
    --holdout-pct "$holdout_pct" "$@"
rc=$?
refused=$(range_refused "$admin_port")
echo "demo: offers the daemon refused as outside the range" \
    "(smartpromo_range_refused_total): $refused"
if [ "$refused" != 0 ]; then
	echo "demo: FAIL: smartpromo_range_refused_total is $refused, not 0" >&2
	[ "$rc" = 0 ] && rc=1
fi
echo
exit "$rc"
