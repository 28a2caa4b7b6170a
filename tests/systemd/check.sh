#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check.sh - static checks of the systemd files, without a running systemd
# (works in a container):
#   1. `systemd-analyze verify` of smartpromod.service, on a copy whose
#      ExecStart points at the built daemon (verify wants it to exist) and
#      with MANPATH at the source's man pages (verify runs `man` for each
#      Documentation=man: entry).  verify exits 0 even on unknown keys, so
#      any line it prints about the unit is a failure.
#   2. the keys the daemon's protocol relies on (Type=notify, WatchdogSec,
#      ExecReload with SIGHUP, a stop timeout above the daemon's drain).
#   3. `systemd-analyze security --offline=yes`: the overall exposure must
#      be at most 2.0; the score is printed.
#   4. `systemd-sysusers --root` creates the user from smartpromo.sysusers.
# Usage: check.sh SOURCE_DIR BUILD_DIR.  Exit 0 ok, 1 failure, 77 skipped
# (systemd-analyze is missing, or has no security --offline).
set -euo pipefail

src=${1:?usage: check.sh SOURCE_DIR BUILD_DIR}
bin=${2:?usage: check.sh SOURCE_DIR BUILD_DIR}
unit=$src/systemd/smartpromod.service
sysusers=$src/systemd/smartpromo.sysusers
max_exposure=2.0
# The daemon's drain deadline (server.c) plus its producer flush, seconds.
drain_s=40

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

command -v systemd-analyze >/dev/null || skip "systemd-analyze not found"
[ -x "$bin/smartpromod" ] || fail "$bin/smartpromod is not built"
[ -r "$unit" ] || fail "no $unit"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sp-systemd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "systemd: $(systemd-analyze --version | head -n1)"

# ---- 1. verify --------------------------------------------------------------
mkdir -p "$tmp/unit" "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
sed "s#/usr/bin/smartpromod#$bin/smartpromod#g" "$unit" \
    >"$tmp/unit/smartpromod.service"
grep -q "^ExecStart=$bin/smartpromod " "$tmp/unit/smartpromod.service" ||
    fail "ExecStart of $unit is not /usr/bin/smartpromod"
cp "$src/man/smartpromoctl.1" "$tmp/man/man1/"
cp "$src/man/smartpromo.conf.5" "$tmp/man/man5/"
cp "$src/man/smartpromod.8" "$tmp/man/man8/"
man_opt=--man=yes
if ! command -v man >/dev/null; then
	echo "note: man not found, Documentation= not checked"
	man_opt=--man=no
fi
rc=0
MANPATH=$tmp/man systemd-analyze verify "$man_opt" \
    "$tmp/unit/smartpromod.service" >"$tmp/verify.out" 2>&1 || rc=$?
sed 's/^/verify: /' "$tmp/verify.out"
[ "$rc" -eq 0 ] || fail "systemd-analyze verify exited $rc"
if grep -q 'smartpromod' "$tmp/verify.out"; then
	fail "systemd-analyze verify complained about the unit"
fi
echo "ok: systemd-analyze verify"

# ---- 2. the protocol keys ---------------------------------------------------
want_line() {
	grep -Eq "^$1\$" "$unit" || fail "$unit has no line matching \"$1\""
}
want_line 'Type=notify'
want_line 'NotifyAccess=main'
want_line 'WatchdogSec=[0-9]+'
want_line 'ExecReload=/bin/kill -HUP \$MAINPID'
want_line 'ExecStartPre=/usr/bin/smartpromod -n -c /etc/smartpromo/smartpromo.conf'
want_line 'User=smartpromo'
stop_s=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
[ -n "$stop_s" ] || fail "TimeoutStopSec= is not a number of seconds"
[ "$stop_s" -gt "$drain_s" ] ||
    fail "TimeoutStopSec=$stop_s does not exceed the ${drain_s} s drain"
echo "ok: Type=notify, watchdog, reload, TimeoutStopSec=$stop_s"

# ---- 3. security exposure ---------------------------------------------------
rc=0
systemd-analyze security --offline=yes "$unit" >"$tmp/security.out" 2>&1 ||
    rc=$?
if grep -q 'unrecognized option\|Unknown command' "$tmp/security.out"; then
	skip "this systemd-analyze has no security --offline"
fi
grep -v '^✓' "$tmp/security.out" | sed 's/^/security: /'
line=$(grep 'Overall exposure level' "$tmp/security.out" || true)
[ -n "$line" ] || fail "no \"Overall exposure level\" line (exit $rc)"
score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9][0-9.]*\) .*/\1/p')
[ -n "$score" ] || fail "cannot read the score in \"$line\""
echo "exposure: $score (at most $max_exposure)"
awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }' ||
    fail "exposure $score is above $max_exposure"
echo "ok: systemd-analyze security"

# ---- 4. sysusers ------------------------------------------------------------
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/root/etc"
	systemd-sysusers --root="$tmp/root" "$sysusers" >/dev/null 2>&1 ||
	    fail "systemd-sysusers rejected $sysusers"
	grep -Eq '^smartpromo:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' \
	    "$tmp/root/etc/passwd" || fail "no smartpromo user from $sysusers"
	grep -q '^smartpromo:x:' "$tmp/root/etc/group" ||
	    fail "no smartpromo group from $sysusers"
	echo "ok: systemd-sysusers creates smartpromo"
else
	echo "note: systemd-sysusers not found, $sysusers not checked"
fi
echo "all systemd checks passed"
