#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault tests (issue 6) against the real smartpromod, a real redis-server
# and smartpromo-devbroker in its own process.  Each scenario starts its own
# Redis, broker and daemon in a temporary directory, creates two plans
# through the admin API, produces a generated input (tests/fault/gen.c:
# views, orders naming earlier offers, cancellations, catalog changes,
# products in and out of the plans) while the daemon consumes, injects its
# fault, waits until the daemon committed every input offset, and checks
# Redis and the output topics against a model replay of the input
# (spfault check, tests/fault/check.c).  Every scenario prints its figures.
#
#   kill         kill -9 of the daemon, each after >= 20% more progress
#   redis-kill   kill -9 of Redis (AOF, appendfsync always), restarted
#   redis-stop   Redis SIGSTOPped, then SIGCONTed; daemon RSS sampled
#   broker-down  the dev broker's broker-down 1 ... broker-up 1
#   kill-undelivered  kill -9 of the daemon while its outputs cannot be
#                delivered (the broker fails produce requests)
#   poison       1 poison message per 1,000; throughput against a clean run
#   rebalance    a second daemon joins the group at 30%; at 60% the first
#                is stopped until the second has its partitions, resumed
#                (its stale write conflicts), then kill -9
#   corrupt      keys the write script writes made the wrong type: the
#                script must fail before writing anything, then recover
#   poison-kill  1 poison message per 100, kill -9 of the daemon as in kill:
#                every dead letter exactly once after de-duplication by
#                position, every copy identical
#
# usage: tests/fault/run.sh [--short | --long] [SCENARIO...]
#   --short (default): 20,000 events, 1 kill, SIGSTOP 5 s, broker down 5 s,
#                      poison throughput printed, not asserted
#   --long:            100,000 events, 3 kills, SIGSTOP 30 s, broker down
#                      10 s, 5 clean and 5 poison runs of 200,000 events,
#                      medians within 10%
# Environment: BUILD_DIR (default build/; an SP_SANITIZE=ON build runs the
# sanitized daemon and helper), KEEP=1 keeps every directory (a failed
# scenario's is always kept), BATCH_MAX (default 1000), SEED, SPFAULT_CFLAGS
# (extra flags for the helper).
# Exits 1 if any scenario lost, doubled or mismatched anything, 2 on usage.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${BUILD_DIR:-$top/build}
[[ $bin = /* ]] || bin=$top/$bin
mode=short
all=(kill redis-kill redis-stop broker-down kill-undelivered rebalance corrupt poison poison-kill)
want=()
for a in "$@"; do
	case $a in
	--short) mode=short ;;
	--long) mode=long ;;
	-h|--help) sed -n '3,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	kill|redis-kill|redis-stop|broker-down|poison|kill-undelivered|rebalance|corrupt|poison-kill) want+=("$a") ;;
	*) echo "run.sh: unknown argument \"$a\"" >&2; exit 2 ;;
	esac
done
((${#want[@]})) || want=("${all[@]}")
if [ "$mode" = long ]; then
	N=100000 PRODUCTS=2000 CUSTOMERS=20000 KILLS=3 REDIS_KILLS=1
	STOP_S=30 DOWN_S=10 RUNS=5 CHUNKS=50 PACE=0.8 TP_N=200000
else
	N=20000 PRODUCTS=500 CUSTOMERS=5000 KILLS=1 REDIS_KILLS=1
	STOP_S=5 DOWN_S=5 RUNS=1 CHUNKS=10 PACE=0.3 TP_N=20000
fi
PARTS=16
BATCH_MAX=${BATCH_MAX:-1000}
SEED=${SEED:-$(date +%s)}
RSS_SLACK_KB=65536      # the redis-stop bound: RSS before the stop + this
TOPIC=smartpromo.events
root=$(mktemp -d "${TMPDIR:-/tmp}/smartpromo-fault.XXXXXX")
tool=$root/spfault

say() { echo "fault[$scenario]: $*"; }

# Build the helper against the engine and config libraries of $bin.
build_tool() {
	local libs
	for l in spengine spconfig; do
		[ -f "$bin/lib$l.a" ] || { echo "run.sh: $bin/lib$l.a missing; build first" >&2; exit 1; }
	done
	for h in "$top"/engine/*.h "$top"/config/*.h; do
		l=$bin/libspengine.a
		[[ $h = */config/* ]] && l=$bin/libspconfig.a
		[ "$h" -ot "$l" ] || {
			echo "run.sh: $h is newer than $l: rebuild first" >&2
			exit 1
		}
	done
	libs=$(pkg-config --libs rdkafka hiredis jansson)
	san=()          # an SP_SANITIZE=ON build needs the same runtime
	if nm "$bin/libspengine.a" 2>/dev/null | grep __asan_report >/dev/null; then
		san=(-fsanitize=address,undefined -fno-omit-frame-pointer
		    -fno-sanitize-recover=undefined)
	fi
	# shellcheck disable=SC2086
	cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow "${san[@]}" \
		-Wstrict-prototypes -Wmissing-prototypes -Werror \
		-I"$top/engine" -I"$top/config" \
		$(pkg-config --cflags rdkafka hiredis jansson) \
		"$here"/fault.c "$here"/gen.c "$here"/wait.c "$here"/model.c \
		"$here"/check.c "$bin/libspengine.a" "$bin/libspconfig.a" \
		$libs -lm ${SPFAULT_CFLAGS:-} -o "$tool"
}

# ---- processes of one scenario -------------------------------------------

pids=()
cleanup() {
	local p
	exec 7>&- 2>/dev/null || true
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}

start_redis() {         # start_redis yes|no (AOF)
	redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir" \
		--save '' --appendonly "$1" --appendfsync always \
		>>"$dir/redis.log" 2>&1 &
	redis_pid=$!; pids+=("$redis_pid")
	local i
	for i in $(seq 100); do
		[ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	say "redis-server did not start"; tail -5 "$dir/redis.log"; return 1
}

start_broker() {
	mkfifo "$dir/ctl"
	"$bin/smartpromo-devbroker" --topic "$TOPIC:$PARTS" \
		--topic "smartpromo.offers:$PARTS" --topic smartpromo.metrics:1 \
		--topic smartpromo.dead-letter:1 --control-stdin \
		--port-file "$dir/broker.port" <"$dir/ctl" >"$dir/broker.out" \
		2>"$dir/broker.log" &
	broker_pid=$!; pids+=("$broker_pid")
	exec 7>"$dir/ctl"
	local i
	for i in $(seq 150); do
		[ -s "$dir/broker.port" ] && { brokers=$(cat "$dir/broker.port"); return 0; }
		sleep 0.1
	done
	say "the dev broker did not start"; return 1
}

# A fault command to the broker; waits for its "ok".
broker_ctl() {
	local n i
	n=$(grep -c . "$dir/broker.out" || true)
	echo "$*" >&7
	for i in $(seq 50); do
		if [ "$(grep -c . "$dir/broker.out")" -gt "$n" ]; then
			tail -1 "$dir/broker.out" | grep -qx ok && return 0
			say "broker: \"$*\": $(tail -1 "$dir/broker.out")"; return 1
		fi
		sleep 0.1
	done
	say "broker: no answer to \"$*\""; return 1
}

write_config() {
	cat >"$dir/sp.conf" <<CONF
[kafka]
brokers = $brokers
session_timeout_ms = 6000
commit_interval_ms = 100
batch_max = $BATCH_MAX
[redis]
port = $rport
timeout_ms = ${REDIS_TIMEOUT_MS:-2000}
[admin]
listen = 127.0.0.1:$aport
[engine]
holdout_pct = 5
tools = product_discount
[plans]
# the generated shops send no "shop" event (eligibility is not tested here)
require_shop_data = no
[schedule]
timezone = UTC
[log]
level = info
# poison-kill counts the "dead letter at" lines: every one must be printed
rate_limit = no
CONF
}

ctl() { "$bin/smartpromoctl" --url "http://127.0.0.1:$aport" "$@"; }

start_daemon() {
	echo "---- start $(date +%T.%N)" >>"$dir/daemon.log"
	"$bin/smartpromod" -c "$dir/sp.conf" 2>>"$dir/daemon.log" &
	daemon_pid=$!; pids+=("$daemon_pid")
}

wait_ready() {
	local i
	for i in $(seq 300); do
		ctl --json status 2>/dev/null | grep -q '"ready": true' && return 0
		kill -0 "$daemon_pid" 2>/dev/null || { say "the daemon exited"; return 1; }
		sleep 0.1
	done
	say "the daemon is not ready after 30 s"; return 1
}

stop_daemon() {         # SIGTERM; the exit status must be 0
	local rc=0
	kill -TERM "$daemon_pid"
	wait "$daemon_pid" || rc=$?
	[ "$rc" -eq 0 ] || { say "smartpromod exited $rc on SIGTERM"; return 1; }
}

# Redis, broker, daemon and the two plans; generates the input.
setup() {               # setup POISON_EVERY
	dir=$root/$scenario; mkdir -p "$dir"
	rport=$("$tool" port); aport=$("$tool" port)
	start_redis "${AOF:-no}"
	start_broker
	write_config
	start_daemon
	wait_ready
	total=$("$tool" gen -o "$dir/events.jsonl" --plans "$dir/plan" \
		-n "$N" -p "$PRODUCTS" -c "$CUSTOMERS" --partitions "$PARTS" \
		--topic "$TOPIC" --poison-every "$1" --seed "$SEED" \
		--t0 $(($(date +%s%3N) + 60000)) --holdout 5 2>"$dir/gen.log")
	say "$(sed 's/^gen: //' "$dir/gen.log")"
	ctl plan create --name fault-a --shop shop-0 \
		--products-file "$dir/plan-a.txt" --min 5 --max 30 >/dev/null
	printf '{"name":"fault-b","shop_id":"shop-1","products":[%s],"discount_min_pct":10,"discount_max_pct":40,"product_ranges":{"p1":[15,25]}}' \
		"$(sed 's/.*/"&"/' "$dir/plan-b.txt" | paste -sd,)" >"$dir/plan-b.json"
	ctl plan create --file "$dir/plan-b.json" >/dev/null
}

# Produce the input in CHUNKS pieces one after the other, PACE seconds
# apart, in the background: a live stream that the daemon keeps up with,
# so that faults hit it while it works.
produce_bg() {
	split -n "l/$CHUNKS" -d -a 3 "$dir/events.jsonl" "$dir/chunk."
	(
		child=
		trap '[ -z "$child" ] || kill "$child" 2>/dev/null; exit 1' TERM
		for f in "$dir"/chunk.*; do
			"$bin/smartpromo-kafka" -b "$brokers" produce -t "$TOPIC" \
				-k product_id -f "$f" 2>>"$dir/produce.log" &
			child=$!
			wait "$child" || exit 1
			child=
			sleep "$PACE"
		done
	) &
	producer_pid=$!; pids+=("$producer_pid")
}

wait_producer() {
	[ -n "$producer_pid" ] || return 0
	wait "$producer_pid" || { say "producing the input failed: $(tail -2 "$dir/produce.log")"; return 1; }
}

progress() {            # progress FRACTION [TIMEOUT]: committed share
	"$tool" wait -b "$brokers" -t "$TOPIC" --total "$total" \
		--fraction "$1" --timeout "${2:-180}"
}

# Dump the topics and compare with the model.
verify() {
	local n rc=0
	n=$("$bin/smartpromo-kafka" -b "$brokers" count -t smartpromo.offers)
	"$bin/smartpromo-kafka" -b "$brokers" consume -t "$TOPIC" --with-pos \
		-n "$total" --timeout-ms 5000 >"$dir/input.tsv" 2>>"$dir/consume.log"
	if [ "$n" -gt 0 ]; then
		"$bin/smartpromo-kafka" -b "$brokers" consume -t smartpromo.offers \
			-n "$n" --timeout-ms 5000 >"$dir/offers.jsonl" 2>>"$dir/consume.log"
	else
		: >"$dir/offers.jsonl"
	fi
	n=$("$bin/smartpromo-kafka" -b "$brokers" count -t smartpromo.dead-letter)
	if [ "$n" -gt 0 ]; then
		"$bin/smartpromo-kafka" -b "$brokers" consume -t smartpromo.dead-letter \
			-n "$n" --timeout-ms 5000 >"$dir/dead.jsonl" 2>>"$dir/consume.log"
	else
		: >"$dir/dead.jsonl"
	fi
	"$bin/smartpromo-kafka" -b "$brokers" count -t "$TOPIC" >"$dir/input.count"
	[ "$(cat "$dir/input.count")" -eq "$total" ] ||
		{ say "the input topic holds $(cat "$dir/input.count") messages, not $total"; rc=1; }
	"$tool" check -c "$dir/sp.conf" --input "$dir/input.tsv" \
		--offers "$dir/offers.jsonl" --dead "$dir/dead.jsonl" \
		>"$dir/check.out" 2>&1 || rc=1
	sed "s/^check: /fault[$scenario]: /" "$dir/check.out"
	return $rc
}

# What the running daemon counted since its (last) start.
daemon_figures() {
	ctl metrics 2>/dev/null | grep -E '^smartpromo_(redeliveries|redis_errors|redis_conflicts|produce_retries|dead_letters)_total' |
		tr '\n' ' ' | sed 's/smartpromo_//g; s/_total//g'
}

# Events the running daemon took since its start (replays included).
daemon_events() {
	ctl metrics 2>/dev/null | awk '/^smartpromo_events_total/ { n += $NF } END { print n + 0 }'
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

finish() {              # stop the daemon (exit 0), check, keep dir on failure
	local rc=0 out
	out=$(progress 1 "${1:-180}") || rc=1
	say "done: $out"
	say "daemon since its last start: $(daemon_figures)"
	wait_producer || rc=1
	stop_daemon || rc=1
	verify || rc=1
	return $rc
}

# The check must be able to fail: after a passing verify, count one page
# view twice in Redis, drop one order record and one emitted offer; the
# check must then report exactly those.
selfcheck() {
	local day orders field id
	day=$(redis-cli -p "$rport" --scan --pattern 'sp:{p0}:day:*' | head -1)
	# an orders hash with two fields or more: deleting the only field of
	# a hash deletes the key, which the check reports differently
	local k
	orders=
	for k in $(redis-cli -p "$rport" --scan --pattern 'sp:{p*}:orders'); do
		if [ "$(redis-cli -p "$rport" hlen "$k")" -ge 2 ]; then
			orders=$k
			break
		fi
	done
	[ -n "$orders" ] ||
		{ say "self-check: no orders hash with two orders to corrupt"; return 1; }
	field=$(redis-cli -p "$rport" hkeys "$orders" | head -1)
	redis-cli -p "$rport" hincrby "$day" pv 1 >/dev/null
	redis-cli -p "$rport" hdel "$orders" "$field" >/dev/null
	# the first offer: the topic also carries promotion_deactivated
	# messages, which have no offer_id
	id=$(sed -n 's/.*"offer_id":"\([^"]*\)".*/\1/p' "$dir/offers.jsonl" | head -1)
	[ -n "$id" ] || { say "self-check: no offer on the offers topic"; return 1; }
	grep -v "\"offer_id\":\"$id\"" "$dir/offers.jsonl" >"$dir/offers.cut" || true
	if "$tool" check -c "$dir/sp.conf" --input "$dir/input.tsv" \
		--offers "$dir/offers.cut" --dead "$dir/dead.jsonl" >"$dir/selfcheck.out" 2>&1; then
		say "self-check: the check passed a corrupted state"; return 1
	fi
	grep -q "page views counted: .* lost 0, counted twice 1$" "$dir/selfcheck.out" &&
	grep -q "mismatch: $orders order \"$field\": model .*, redis \"(absent)\"" "$dir/selfcheck.out" &&
	grep -q "offer \"$id\" never emitted" "$dir/selfcheck.out" ||
		{ say "self-check: the check missed a corruption"; cat "$dir/selfcheck.out"; return 1; }
	say "self-check: a view counted twice, a lost order record and a lost offer are all reported"
}

# ---- scenarios ----------------------------------------------------------

scenario_kill() {
	local i frac rc=0 at=0 got
	setup "${POISON_EVERY:-0}"
	produce_bg
	for i in $(seq "$KILLS"); do
		# the i-th kill after i/(KILLS+1) of the input and at least 20%
		# more than was committed at the kill before
		frac=$(awk -v i="$i" -v k="$KILLS" -v at="$at" -v n="$total" \
			'BEGIN { f = i / (k + 1); g = at / n + 0.2; printf "%.3f", (f > g ? f : g) }')
		progress "$frac" >/dev/null
		sleep "$(printf '0.%03d' $((RANDOM % 200 + 10)))"
		kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
		got=$(progress 0 | sed 's/ after.*//')
		say "kill -9 #$i of the daemon once $frac of the input was committed: $got ($(date +%T))"
		at=$(echo "$got" | awk '{ print $2 }')
		[ "$at" -lt "$total" ] ||
			{ say "kill #$i came after the end: not a fault test"; rc=1; }
		start_daemon
	done
	finish || rc=1
	[ "$rc" -ne 0 ] || selfcheck || rc=1
	return $rc
}

# kill and kill-undelivered with one poison message per 100: each poison
# message's dead letter is written to sp:{K}:dlq with the key's position in
# one step and re-sent from there, so after the kill every one is on the
# topic, all copies of it identical (kill-undelivered makes the restarted
# daemon re-send the recorded, undelivered ones).
poison_kill_run() {     # poison_kill_run kill|kill-undelivered
	local rc=0
	scenario=poison-kill-$1
	POISON_EVERY=100 "scenario_${1//-/_}" || rc=1
	grep -q "^check: dead letters: model [1-9][0-9]*;.* missing 0, unexpected 0, wrong reason 0, copies that differ 0;" "$dir/check.out" ||
		{ say "no dead letters checked"; rc=1; }
	# each poison message is recorded once over all the daemon's starts
	local model made
	model=$(sed -n 's/^check: dead letters: model \([0-9]*\);.*/\1/p' "$dir/check.out")
	made=$(grep -c "dead letter at" "$dir/daemon.log" || true)
	say "dead letters made over $(grep -c 'starting:' "$dir/daemon.log") daemon starts: $made, poison messages: $model"
	[ "$made" = "$model" ] || { say "a dead letter was made twice or never"; rc=1; }
	return $rc
}

scenario_poison_kill() {
	local rc=0
	unit poison_kill_run kill; [ "$unit_rc" -eq 0 ] || rc=1
	unit poison_kill_run kill-undelivered; [ "$unit_rc" -eq 0 ] || rc=1
	return $rc
}

scenario_redis_kill() {
	local i frac rc=0
	AOF=yes setup 0
	say "redis-server with appendonly yes, appendfsync always"
	produce_bg
	for i in $(seq "$REDIS_KILLS"); do
		frac=$(awk -v i="$i" -v k="$REDIS_KILLS" 'BEGIN { printf "%.3f", i / (k + 1) }')
		progress "$frac" >/dev/null
		kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
		say "kill -9 #$i of redis-server after $frac: $(progress 0 | sed 's/ after.*//')"
		sleep 1
		AOF=yes start_redis yes
		say "redis-server restarted from its AOF: $(redis-cli -p "$rport" dbsize) keys"
	done
	finish || rc=1
	return $rc
}

scenario_redis_stop() {
	local rc=0 before max=0 s r samples=()
	setup 0
	produce_bg
	progress 0.3 >/dev/null
	before=$(rss_kb "$daemon_pid")
	kill -STOP "$redis_pid"
	say "redis-server stopped (SIGSTOP) for $STOP_S s at $(progress 0 | sed 's/ after.*//'); daemon RSS before: $before KiB"
	for s in $(seq "$STOP_S"); do
		sleep 1
		r=$(rss_kb "$daemon_pid"); samples+=("$r")
		[ "$r" -gt "$max" ] && max=$r
	done
	kill -CONT "$redis_pid"
	say "redis-server resumed; daemon RSS samples (KiB, 1 s apart): ${samples[*]}"
	say "daemon RSS max $max KiB, bound $((before + RSS_SLACK_KB)) KiB (before + $((RSS_SLACK_KB / 1024)) MiB)"
	[ "$max" -le $((before + RSS_SLACK_KB)) ] || { say "RSS over the bound"; rc=1; }
	kill -0 "$daemon_pid" || { say "the daemon died"; rc=1; }
	finish || rc=1
	return $rc
}

# The daemon keeps up with the stream, so it would have little in flight
# when the broker goes: it is paused (SIGSTOP) for 2 s first, and the broker
# goes down just after it resumes with a backlog to work through.
scenario_broker_down() {
	local rc=0
	setup 0
	produce_bg
	progress 0.3 >/dev/null
	kill -STOP "$daemon_pid"
	sleep 2
	kill -CONT "$daemon_pid"
	sleep 0.2
	broker_ctl broker-down 1
	say "broker-down 1 for $DOWN_S s at $(date +%T), 0.2 s after the daemon resumed from a 2 s pause"
	sleep "$DOWN_S"
	broker_ctl broker-up 1
	say "broker-up 1 at $(date +%T)"
	finish || rc=1
	return $rc
}

# kill -9 of the daemon while its outputs cannot be delivered: with the
# input produced beforehand, the broker fails the next produce requests
# (TOPIC_AUTHORIZATION_FAILED, not retried by librdkafka), so the daemon's
# flights stay undelivered (it produces them again every second) while it
# writes up to four batches to Redis.  After the restart those batches are
# replays, and every output they made must come again.  The errors are
# armed before the daemon starts: armed at 30% of the input, a fast
# machine had applied and delivered all of it first, and the run tested
# nothing.  A run without a failed delivery before the kill fails.
scenario_kill_undelivered() {
	local rc=0 failed
	setup "${POISON_EVERY:-0}"
	stop_daemon
	"$bin/smartpromo-kafka" -b "$brokers" produce -t "$TOPIC" -k product_id \
		-f "$dir/events.jsonl" 2>>"$dir/produce.log"
	broker_ctl request-errors Produce "${UNDELIVERED_ERRORS:-12}" TOPIC_AUTHORIZATION_FAILED
	start_daemon
	wait_ready
	sleep 2
	kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true
	say "kill -9 of the daemon 2 s after it was ready, the broker failing its produce requests: $(progress 0 | sed 's/ after.*//')"
	failed=$(grep -c "delivery to .* failed" "$dir/daemon.log" || true)
	say "failed deliveries before the kill: $failed"
	[ "$failed" -gt 0 ] || { say "no delivery failed before the kill: the fault did not happen"; rc=1; }
	start_daemon
	producer_pid=
	finish || rc=1
	return $rc
}

# A second daemon of the group (its own admin port, same Redis) joins at
# 30%; once it has partitions and took events, and at 60% (at least 2 s
# later), the first is stopped (SIGSTOP) with a batch loading, until its
# session expired and the second has every partition and applied that
# batch's events itself from the last commit.  Resumed, the first (a
# zombie member) writes its batch with the positions it loaded: CONFLICT,
# retried as replays.  3 s later it gets kill -9; the run ends on the
# second.
scenario_rebalance() {
	local rc=0 d1 a1 n1 n2 i
	# the group needs several seconds per rebalance: a slower stream,
	# so that both daemons work on it for a while
	[ "$mode" = long ] || { CHUNKS=40; PACE=0.5; }
	# the first daemon's batch must outlive its 10 s stop below: with the
	# usual 2 s its Redis deadline would drop it at the resume instead
	REDIS_TIMEOUT_MS=30000
	setup 0
	produce_bg
	progress 0.3 >/dev/null
	sed "s/^listen = .*/listen = 127.0.0.1:$("$tool" port)/" "$dir/sp.conf" >"$dir/sp2.conf"
	a1=$aport; d1=$daemon_pid
	echo "---- start $(date +%T.%N)" >>"$dir/daemon2.log"
	"$bin/smartpromod" -c "$dir/sp2.conf" 2>>"$dir/daemon2.log" &
	daemon_pid=$!; pids+=("$daemon_pid")
	aport=$(sed -n 's/^listen = 127.0.0.1://p' "$dir/sp2.conf")
	say "second daemon started at $(progress 0 | sed 's/ after.*//') ($(date +%T))"
	for i in $(seq 300); do
		grep -Eq 'kafka: [1-9][0-9]* partitions of .* assigned' "$dir/daemon2.log" && break
		kill -0 "$daemon_pid" 2>/dev/null || { say "the second daemon exited"; return 1; }
		sleep 0.1
	done
	grep -Eq 'kafka: [1-9][0-9]* partitions of .* assigned' "$dir/daemon2.log" ||
		{ say "the second daemon got no partitions in 30 s"; return 1; }
	say "second daemon: $(grep -E 'partitions of .* assigned' "$dir/daemon2.log" | tail -1 | sed 's/.*kafka: //'); first daemon: $(grep -E 'partitions of .* assigned' "$dir/daemon.log" | tail -1 | sed 's/.*kafka: //') ($(date +%T))"
	sleep 2
	progress 0.6 >/dev/null
	n1=$(aport=$a1 daemon_events)
	n2=$(daemon_events)
	[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] ||
		{ say "not both daemons took events: not a rebalance test"; rc=1; }
	[ "$(progress 0 | awk '{ print $2 }')" -lt "$total" ] ||
		{ say "the fault came after the end: not a fault test"; rc=1; }
	# a zombie member: the first daemon is paused 2 s (a backlog builds
	# up) and resumed while Redis is stopped, so the batch it takes waits
	# for its load; the daemon is stopped, Redis resumed (the
	# replies wait in the daemon's socket), and the daemon stays stopped
	# past its session timeout: its partitions go to the second, which
	# applies that batch's events itself.  Resumed, the first applies the
	# batch it loaded and writes it with the positions it read, which the
	# second has moved: CONFLICT, retried as replays.  Then it dies.
	kill -STOP "$d1"; sleep 2
	kill -STOP "$redis_pid"; kill -CONT "$d1"; sleep 1.5
	kill -STOP "$d1"; kill -CONT "$redis_pid"
	say "first daemon stopped (SIGSTOP) with a batch loading at $(progress 0 | sed 's/ after.*//') ($(date +%T)); events taken so far (replays included): first $n1, second $n2"
	for i in $(seq 300); do         # the second takes every partition
		grep -Eq 'kafka: 16 partitions of .* assigned' "$dir/daemon2.log" && break
		sleep 0.1
	done
	grep -Eq 'kafka: 16 partitions of .* assigned' "$dir/daemon2.log" ||
		{ say "the second daemon did not take over in 30 s"; rc=1; }
	say "second daemon: $(grep -E 'partitions of .* assigned' "$dir/daemon2.log" | tail -1 | sed 's/.*kafka: //') ($(date +%T))"
	sleep 2
	kill -CONT "$d1"
	sleep 3
	kill -9 "$d1"; wait "$d1" 2>/dev/null || true
	say "first daemon resumed for 3 s, then kill -9 at $(progress 0 | sed 's/ after.*//') ($(date +%T))"
	finish || rc=1
	n1=$(grep -c 'write failed: CONFLICT' "$dir/daemon.log" || true)
	say "write conflicts retried: first daemon $n1, second $(grep -c 'write failed: CONFLICT' "$dir/daemon2.log" || true)"
	[ "$n1" -gt 0 ] ||
		say "warning: the first daemon's write did not conflict (its batch was not loaded in time): the CONFLICT retry was not exercised"
	return $rc
}

# Keys the write script touches are of the wrong type before the input
# comes: the unique-customer HyperLogLogs of products p0-p19 are plain
# strings on every date of the input.  Redis has no rollback, so a write
# that failed at its PFADD would keep the HINCRBYs before it and apply them
# again at every retry; the script checks every key first and fails with
# nothing written ("INVALID ..."), the batch waits and retries.  Once the
# keys are deleted the run goes on and must end exact.
scenario_corrupt() {
	local rc=0 ts d p n keys=()
	setup 0
	stop_daemon
	ts=$(head -1 "$dir/events.jsonl" | sed 's/.*"ts":\([0-9]*\).*/\1/')
	for d in 0 1 2; do
		d=$(date -u -d "@$((ts / 1000 + d * 86400))" +%F)
		for p in $(seq 0 19); do
			keys+=("sp:{p$p}:uniq:$d:t" "sp:{p$p}:uniq:$d:c")
		done
	done
	for p in "${keys[@]}"; do echo "SET $p not-a-hyperloglog"; done |
		redis-cli -p "$rport" >/dev/null
	say "${#keys[@]} unique-customer keys of p0-p19 set to plain strings"
	"$bin/smartpromo-kafka" -b "$brokers" produce -t "$TOPIC" -k product_id \
		-f "$dir/events.jsonl" 2>>"$dir/produce.log"
	start_daemon
	for n in $(seq 600); do
		grep -q 'redis write failed' "$dir/daemon.log" && break
		sleep 0.1
	done
	grep -q 'redis write failed' "$dir/daemon.log" ||
		{ say "no write failed in 60 s: the corrupted keys were not hit"; return 1; }
	sleep 3
	say "writes refused before any change, retried: $(grep -c 'redis write failed' "$dir/daemon.log") times in 3 s, at $(progress 0 | sed 's/ after.*//')"
	say "e.g. $(grep -m1 'redis write failed' "$dir/daemon.log" | sed 's/^<[0-9]>//')"
	grep 'redis write failed' "$dir/daemon.log" | grep -vq 'INVALID .*; nothing written' &&
		{ say "a write failed otherwise than by the script's check"; rc=1; }
	redis-cli -p "$rport" del "${keys[@]}" >/dev/null
	say "the keys deleted at $(date +%T)"
	producer_pid=
	finish || rc=1
	return $rc
}

# One throughput run: the input is produced before the daemon starts;
# the rate goes to $root/rate.LABEL.
poison_run() {          # poison_run POISON_EVERY LABEL
	local rc=0 out cpu
	scenario=poison-$2
	N=$TP_N             # this runs in a subshell of its own
	setup "$1"
	stop_daemon
	"$bin/smartpromo-kafka" -b "$brokers" produce -t "$TOPIC" -k product_id \
		-f "$dir/events.jsonl" 2>>"$dir/produce.log"
	start_daemon
	out=$(progress 1 300) || rc=1
	cpu=$(awk -v t="$(getconf CLK_TCK)" -v n="$total" \
		'{ printf "%.1f", ($14 + $15) / t * 1e6 / n }' "/proc/$daemon_pid/stat")
	say "$out; daemon CPU $cpu us per message"
	stop_daemon || rc=1
	verify || rc=1
	echo "$out" | sed -n 's/.*steady \([0-9]*\) messages\/s.*/\1/p' >"$root/rate.$2"
	echo "$cpu" >"$root/cpu.$2"
	return $rc
}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Run a function in a subshell of its own with errexit and cleanup; its
# exit status goes to unit_rc (never call it in a condition: bash then
# ignores errexit inside).
unit() {
	set +e
	( set -e; pids=(); trap cleanup EXIT; "$@" )
	unit_rc=$?
	set -e
}

# Clean and poison runs alternate; each poison run is compared with the
# clean run just before it (the machine's load drifts less within a pair),
# and the median of those ratios must be at least 90% (--long only).
scenario_poison() {
	local i rc=0 clean=() poison=() ratios=() cc=() cp=() c p r base=$scenario
	for i in $(seq "$RUNS"); do
		unit poison_run 0 "clean-$i"; [ "$unit_rc" -eq 0 ] || rc=1
		unit poison_run 1000 "1in1000-$i"; [ "$unit_rc" -eq 0 ] || rc=1
		c=$(cat "$root/rate.clean-$i" 2>/dev/null || true)
		p=$(cat "$root/rate.1in1000-$i" 2>/dev/null || true)
		clean+=("${c:-0}"); poison+=("${p:-0}")
		cc+=("$(cat "$root/cpu.clean-$i" 2>/dev/null || echo 0)")
		cp+=("$(cat "$root/cpu.1in1000-$i" 2>/dev/null || echo 0)")
		[ "${c:-0}" -gt 0 ] && ratios+=("$((${p:-0} * 100 / c))")
	done
	scenario=$base
	say "steady throughput (messages/s between 20% and 90% committed, input produced beforehand): clean ${clean[*]} (median $(median "${clean[@]}")), 1 poison per 1,000 ${poison[*]} (median $(median "${poison[@]}"))"
	say "daemon CPU (us per message): clean ${cc[*]} (median $(median "${cc[@]}")), 1 poison per 1,000 ${cp[*]} (median $(median "${cp[@]}"))"
	((${#ratios[@]})) || { say "no throughput measured"; return 1; }
	r=$(median "${ratios[@]}")
	say "poison/clean throughput per pair: ${ratios[*]} (%), median $r%"
	if [ "$r" -lt 90 ]; then
		if [ "$mode" = long ]; then
			say "throughput with poison is more than 10% below the clean run"; rc=1
		else
			say "warning: more than 10% below (not asserted in --short: one short run is too noisy)"
		fi
	fi
	return $rc
}

# ---- main -----------------------------------------------------------------

scenario=build
build_tool
echo "fault: mode $mode, seed $SEED, batch_max $BATCH_MAX, directory $root"
results=()
failed=0
for scenario in "${want[@]}"; do
	t0=$(date +%s)
	unit "scenario_${scenario//-/_}"
	rc=$unit_rc
	if [ "$rc" -eq 0 ]; then
		results+=("$scenario PASS ($(($(date +%s) - t0)) s)")
		[ -n "${KEEP:-}" ] || rm -rf "${root:?}/$scenario" "${root:?}/$scenario"-*
	else
		results+=("$scenario FAIL ($(($(date +%s) - t0)) s)")
		failed=1
		echo "fault[$scenario]: FAILED; logs in $root/$scenario*" >&2
		for d in "$root/$scenario" "$root/$scenario"-*; do
			[ -f "$d/daemon.log" ] && { echo "---- $d/daemon.log (tail)" >&2; tail -20 "$d/daemon.log" >&2; }
		done
	fi
done
for r in "${results[@]}"; do echo "fault: $r"; done
if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$root"; fi
exit $failed
