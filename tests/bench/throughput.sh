#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Throughput of smartpromod with its state durable in Redis: starts a private
# redis-server, smartpromo-devbroker and smartpromod, creates a plan over a
# share of the products, produces a generated event mix (tests/bench/
# gen-events.awk) while the daemon consumes, and reports events/s from the
# first applied event to the last.  Exits non-zero if the daemon did not
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
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(freeport); aport=$(freeport)
redis-server --port "$rport" --save '' --appendonly no --dir "$tmp" \
	>"$tmp/redis.log" 2>&1 & pids+=($!)
"$bin/smartpromo-devbroker" --topic smartpromo.events:"$parts" \
	--topic smartpromo.offers:"$parts" --topic smartpromo.metrics:1 \
	--topic smartpromo.dead-letter:1 >"$tmp/broker.out" 2>"$tmp/broker.err" &
pids+=($!)
for _ in $(seq 50); do
	grep -q bootstrap= "$tmp/broker.out" 2>/dev/null && break; sleep 0.1
done
brokers=$(sed -n 's/^bootstrap=//p' "$tmp/broker.out")
until redis-cli -p "$rport" ping >/dev/null 2>&1; do sleep 0.1; done
cat >"$tmp/sp.conf" <<CONF
[kafka]
brokers = $brokers
session_timeout_ms = 6000
batch_max = ${BATCH_MAX:-10000}
[redis]
port = $rport
[admin]
listen = 127.0.0.1:$aport
[log]
level = ${LOGLEVEL:-notice}
CONF
"$bin/smartpromod" -c "$tmp/sp.conf" 2>"$tmp/daemon.log" & pids+=($!)
ctl=("$bin/smartpromoctl" --url "http://127.0.0.1:$aport")
until "${ctl[@]}" --json status 2>/dev/null | grep -q '"ready": true'; do
	sleep 0.2
done

now=$(date +%s%3N)
seq 0 $((products / 5 - 1)) | sed 's/^/p/' >"$tmp/plan-products"
"${ctl[@]}" plan create --name bench --shop shop-0 \
	--products-file "$tmp/plan-products" --min 5 --max 30 >/dev/null
awk -v n="$n" -v p="$products" -v c="$shoppers" -v t0="$now" -v seed=42 \
	-f "$here/gen-events.awk" >"$tmp/events.jsonl"
total=$((n + products))
echo "bench: $total events ($products catalog + $n mixed) over $products products, $shoppers shoppers, $parts partitions"

applied() {
	"${ctl[@]}" --json status | python3 -c 'import json,sys
e=json.load(sys.stdin)["events"]
print(sum(v for k,v in e.items() if k not in ("offers","conversions","redeliveries")))'
}
"$bin/smartpromo-kafka" -b "$brokers" produce -t smartpromo.events \
	-k product_id,shop_id -f "$tmp/events.jsonl" 2>"$tmp/produce.log" &
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
echo "bench: daemon RSS $(ps -o rss= -p "${pids[2]}") KiB, redis used_memory $(redis-cli -p "$rport" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') bytes"
[ "$bad" -eq 0 ]
