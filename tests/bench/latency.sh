#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Page-view-to-offer latency of smartpromod at fixed input rates, with its
# state durable in Redis: starts a private redis-server,
# smartpromo-devbroker and smartpromod (as tests/bench/throughput.sh does),
# sends a catalog event for every product, creates a plan over a fifth of
# them, then runs bench_latency (tests/bench/latency.c) at each rate: page
# views at a steady rate, each from a new customer, and the latency of
# every offer from the view's send to the offer's receipt.  Exits non-zero
# on a correctness failure only, never because of a latency figure.
#
# usage: tests/bench/latency.sh [RATE...]     (default: 17000 1000)
# env:   SECONDS_PER_RATE (20), PRODUCTS (10000), PARTITIONS (16),
#        FETCH_WAIT_MS (1), LINGER_MS (0): the daemon's fetch_wait_max_ms
#        and linger_ms (see below),
#        BATCH_MAX (the daemon's default, 10000), DRAIN_MS (3000),
#        WARMUP_MS (1000: figures also given without the views of the
#        first WARMUP_MS of each rate),
#        DUMP_DIR (write DUMP_DIR/latency-RATE.txt: "SEND_MS LATENCY_MS"
#        per offer), BUILD_DIR, LOGLEVEL, KEEP
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${BUILD_DIR:-$top/build}
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(17000 1000)
secs=${SECONDS_PER_RATE:-20}
# The dev broker (librdkafka's mock cluster) answers a fetch that finds no
# data only when the fetch's wait ends, never early when data arrives, as
# a real broker does (fetch.min.bytes 1).  So against it, the consumer's
# fetch_wait_max_ms is paid on every quiet poll: the daemon runs here with
# 1 ms (and the bench's own consumer too) to stand in for a real broker's
# long poll, and a linger of 0.  FETCH_WAIT_MS / LINGER_MS override.
export FETCH_WAIT_MS=${FETCH_WAIT_MS:-1} LINGER_MS=${LINGER_MS:-0}
products=${PRODUCTS:-10000}
parts=${PARTITIONS:-16}
. "$here/stack.sh"

# The catalog first (gen-events.awk with no mixed events), then the plan.
now=$(date +%s%3N)
awk -v n=0 -v p="$products" -v c=1 -v t0="$now" -v seed=42 \
	-f "$here/gen-events.awk" >"$tmp/catalog.jsonl"
"$bin/smartpromo-kafka" -b "$brokers" produce -t smartpromo.events \
	-k product_id,shop_id -f "$tmp/catalog.jsonl" 2>"$tmp/produce.log"
for _ in $(seq 300); do
	[ "$(applied)" -ge "$products" ] && break; sleep 0.1
done
[ "$(applied)" -ge "$products" ] || { echo "bench: catalog not applied" >&2; exit 1; }
planned=$((products / 5 < 10000 ? products / 5 : 10000))
seq 0 $((planned - 1)) | sed 's/^/p/' >"$tmp/plan-products"
"${ctl[@]}" plan create --name latency --shop shop-0 \
	--products-file "$tmp/plan-products" --min 5 --max 30 >/dev/null
echo "bench: latency over $products products ($planned in the plan), $parts partitions, batch_max ${BATCH_MAX:-default}, ${secs}s per rate"

rc=0
for r in "${rates[@]}"; do
	echo "bench: rate $r/s"
	"$bin/tests/bench_latency" -b "$brokers" --rate "$r" --seconds "$secs" \
		--products "$products" --plan-products "$planned" \
		--drain-ms "${DRAIN_MS:-3000}" --warmup-ms "${WARMUP_MS:-1000}" \
		${DUMP_DIR:+--dump "$DUMP_DIR/latency-$r.txt"} | sed 's/^/bench:   /' || rc=1
done
"${ctl[@]}" metrics | grep -E '^smartpromo_(offers_total|dead_letters_total|redeliveries_total|batches_total|redis_errors_total)' || true
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$1/stat"; }
echo "bench: CPU seconds: smartpromod $(cpu "${pids[2]}"), redis-server $(cpu "${pids[0]}"), devbroker $(cpu "${pids[1]}")"
exit "$rc"
