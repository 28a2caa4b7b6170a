# SPDX-License-Identifier: Apache-2.0
# stack.sh - sourced by the benches: starts a private redis-server,
# smartpromo-devbroker (topics with $parts partitions) and smartpromod in a
# temporary directory and waits until the daemon is ready.  Needs bin and
# parts; sets tmp, pids (killed at exit, tmp removed unless KEEP is set),
# rport, aport, brokers and ctl (smartpromoctl with --url).  Env:
# BATCH_MAX, FETCH_WAIT_MS, LINGER_MS (else the daemon's defaults), LOGLEVEL (notice).  applied()
# prints how many events the daemon has applied.
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
# batch_max only when given: else the daemon's own default applies.
cat >"$tmp/sp.conf" <<CONF
[kafka]
brokers = $brokers
session_timeout_ms = 6000
${BATCH_MAX:+batch_max = $BATCH_MAX}
${FETCH_WAIT_MS:+fetch_wait_max_ms = $FETCH_WAIT_MS}
${LINGER_MS:+linger_ms = $LINGER_MS}
[redis]
port = $rport
[admin]
listen = 127.0.0.1:$aport
[plans]
# the generated shops send no "shop" event (eligibility is not measured)
require_shop_data = no
[log]
level = ${LOGLEVEL:-notice}
CONF
"$bin/smartpromod" -c "$tmp/sp.conf" 2>"$tmp/daemon.log" & pids+=($!)
ctl=("$bin/smartpromoctl" --url "http://127.0.0.1:$aport")
until "${ctl[@]}" --json status 2>/dev/null | grep -q '"ready": true'; do
	sleep 0.2
done

# Events the daemon has applied (its counters by event type and its dead
# letters; offers and conversions left out).  No python here: this runs
# several times a second during a run and must not take the cores the
# daemon is measured on.
applied() {
	"${ctl[@]}" metrics | awk '/^smartpromo_events_total\{/ ||
		/^smartpromo_dead_letters_total / { s += $NF } END { print s + 0 }'
}
