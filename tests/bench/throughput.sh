#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Throughput of smartpromod with its state durable in Redis: starts a private
# redis-server, smartpromo-devbroker and smartpromod, creates a plan over a
# share of the products, produces a generated event mix (tests/bench/
# gen-events.awk) while the daemon consumes, and reports events/s from the
# first applied event to the last, then the ceilings on the same machine
# in the same run (consume and decode without the store; redis-benchmark
# pipelined HSET) and our ratio to each.  Exits non-zero if the daemon did not
# apply every event (a lost event) or an offer left its range.
#
# usage: tests/bench/throughput.sh [EVENTS] [PRODUCTS] [SHOPPERS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${BUILD_DIR:-$top/build}
n=${1:-200000}
products=${2:-10000}
shoppers=${3:-100000}
parts=${PARTITIONS:-16}
. "$here/stack.sh"

now=$(date +%s%3N)
# A plan over a fifth of the products, at most a plan's 10,000.
planned=$((products / 5 < 10000 ? products / 5 : 10000))
seq 0 $((planned - 1)) | sed 's/^/p/' >"$tmp/plan-products"
"${ctl[@]}" plan create --name bench --shop shop-0 \
	--products-file "$tmp/plan-products" --min 5 --max 30 >/dev/null
awk -v n="$n" -v p="$products" -v c="$shoppers" -v t0="$now" -v seed=42 \
	-f "$here/gen-events.awk" >"$tmp/events.jsonl"
total=$((n + products))
echo "bench: $total events ($products catalog + $n mixed) over $products products, $shoppers shoppers, $parts partitions"

# The dev broker keeps a bounded log per partition (librdkafka's mock
# cluster drops old segments, about 40,000 messages a partition here), so
# a producer far ahead of the daemon would lose events: feed chunks of
# 200,000, keeping at most 400,000 not yet applied.
split -l 200000 -d -a 3 "$tmp/events.jsonl" "$tmp/chunk."
feed() {
	local sent=0 f
	for f in "$tmp"/chunk.*; do
		while [ $((sent - $(applied))) -gt 200000 ]; do sleep 0.2; done
		"$bin/smartpromo-kafka" -b "$brokers" produce \
			-t smartpromo.events -k product_id,shop_id -f "$f" \
			2>>"$tmp/produce.log" || return 1
		sent=$((sent + $(wc -l <"$f")))
	done
}
feed &
prod=$!
t_first=""; last=0; idle=0
while :; do
	a=$(applied); t=$(date +%s.%N)
	if [ -z "$t_first" ] && [ "$a" -gt 0 ]; then t_first=$t; a_first=$a; fi
	if [ "$a" -ge "$total" ]; then t_last=$t; break; fi
	if [ "$a" -eq "$last" ]; then idle=$((idle + 1)); else idle=0; fi
	[ "$idle" -lt 150 ] || { echo "bench: stalled at $a of $total events" >&2; exit 1; }
	last=$a; sleep 0.1
done
wait "$prod"
rate=$(python3 -c "print(round(($total - $a_first) / ($t_last - $t_first)))")
echo "bench: applied $total events; sustained $rate events/s (first to last applied)"
"${ctl[@]}" metrics | grep -E '^smartpromo_(offers_total|dead_letters_total|redeliveries_total|batches_total|redis_errors_total)' || true
# take-to-emit latency of batches (the daemon's histogram): p50 and p99
"${ctl[@]}" metrics | python3 -c 'import sys
b=[]
for l in sys.stdin:
    if l.startswith("smartpromo_batch_latency_seconds_bucket"):
        le=l.split("le=\"")[1].split("\"")[0]; b.append((float("inf") if le=="+Inf" else float(le), int(l.split()[-1])))
n=b[-1][1] if b else 0
def q(f):
    for le,c in b:
        if c>=f*n: return "<= %g ms" % (le*1000)
    return "?"
print("bench: batch latency (take to emit) over %d batches: p50 %s, p99 %s" % (n, q(0.5), q(0.99)))'
# Where Redis spent its time: the commands with the most microseconds
# (commands inside scripts are counted both on their own and in EVALSHA).
redis-cli -p "$rport" info commandstats | tr -d '\r' | awk -F'[:,=]' -v n="$total" '
	/^cmdstat_/ { printf "%s %d %d\n", substr($1, 9), $3, $5 }' |
	sort -k3,3nr | awk -v n="$total" '
	NR <= 8 { printf "bench: redis %-12s %8d calls %7.2f us/event\n", $1, $2, $3 / n }'
offers=$("$bin/smartpromo-kafka" -b "$brokers" count -t smartpromo.offers)
bad=$("$bin/smartpromo-kafka" -b "$brokers" consume -t smartpromo.offers --timeout-ms 3000 |
	python3 -c 'import json,sys
bad=0
for l in sys.stdin:
    o=json.loads(l); d=o["list_price"]-o["offer_price"]
    if not (500*o["list_price"] <= 10000*d <= 3000*o["list_price"]): bad+=1
print(bad)')
echo "bench: $offers offers, $bad outside the plan range"
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$1/stat"; }
echo "bench: CPU seconds: smartpromod $(cpu "${pids[2]}"), redis-server $(cpu "${pids[0]}"), devbroker $(cpu "${pids[1]}")"
# Memory per key kind: MEMORY USAGE averaged over up to 200 keys of each
# (awk, not head: head would end the scan with SIGPIPE, fatal under
# pipefail).
keybytes() {
	redis-cli -p "$rport" --scan --pattern "$1" | awk 'NR <= 200' |
		while read -r k; do redis-cli -p "$rport" memory usage "$k"; done |
		awk '{ s += $1; n++ } END { printf "%d", n ? s / n : 0 }'
}
armbytes=$(keybytes 'sp:{*}:arms')
echo "bench: redis bytes per key: product $(keybytes 'sp:{*}:product'), arms $armbytes, day $(keybytes 'sp:{*}:day:*'), offers $(keybytes 'sp:{*}:offers')"
# Per learning arm: an arms hash holds "range", "tref" and one field per
# level or tool arm and context (docs/keyspace.md).
arms=$(redis-cli -p "$rport" --scan --pattern 'sp:{*}:arms' | awk 'NR <= 200' |
	while read -r k; do redis-cli -p "$rport" hlen "$k"; done |
	awk '{ s += $1 - 2; n++ } END { printf "%.1f", n ? s / n : 0 }')
echo "bench: learning arms: $arms per product on average, $(awk -v b="$armbytes" -v a="$arms" 'BEGIN { printf "%d", (a > 0 ? b / a : 0) }') bytes per arm (its hash's bytes over its arms)"
t0s=$(date +%s.%N)
"${ctl[@]}" snapshot --date "$(date -u +%F)" >/dev/null
echo "bench: T+1 snapshot of the day took $(python3 -c "import time; print(round(time.time() - $t0s, 2))") s"
echo "bench: daemon RSS $(ps -o rss= -p "${pids[2]}") KiB, redis used_memory $(redis-cli -p "$rport" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') bytes, $(redis-cli -p "$rport" dbsize) keys, $(redis-cli -p "$rport" --scan --pattern 'sp:{*}:arms' | wc -l) arms hashes"
# The ceilings, same machine, same run, the daemon stopped first: the
# daemon's consume-and-decode path without the store (smartpromo-kafka
# consume --decode: librdkafka consumer and event_decode), and Redis
# taking pipelined simple writes (redis-benchmark).
kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
held=$("$bin/smartpromo-kafka" -b "$brokers" count -t smartpromo.events)
dec=$("$bin/smartpromo-kafka" -b "$brokers" consume -t smartpromo.events \
	--decode -n "$held" --timeout-ms 3000)
dec_rate=$(echo "$dec" | sed -n 's/.*: \([0-9]*\) messages\/s$/\1/p')
hset_rate=$(redis-benchmark -p "$rport" -q -n 1000000 -P 64 -t hset |
	tr '\r' '\n' | sed -n 's/^HSET: \([0-9.]*\) requests per second.*/\1/p' |
	tail -1) || hset_rate=0     # a speed figure: never fail the bench
echo "bench: ceiling, consume and decode without the store: $dec"
echo "bench: ceiling, redis-benchmark -P 64 HSET: ${hset_rate%.*} requests/s"
echo "bench: ratio to the ceilings: $(awk -v r="$rate" -v d="$dec_rate" -v h="${hset_rate:-0}" 'BEGIN {
	printf "%.1f%% of consume+decode, %.1f%% of pipelined HSET", d ? 100 * r / d : 0, h ? 100 * r / h : 0 }')"
[ "$bad" -eq 0 ]
