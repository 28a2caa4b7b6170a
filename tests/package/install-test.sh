#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install-test.sh - build, install and package smartpromo the way a user
# does, without touching the machine (nothing goes outside BUILD_DIR):
#   1. configure a build with -DCMAKE_INSTALL_PREFIX=/usr and build it;
#   2. `cmake --install` into a scratch DESTDIR: binaries, the example
#      config as /etc/smartpromo/smartpromo.conf, the unit, the sysusers
#      entry, man pages and docs where they belong;
#   3. `cpack -G DEB`; the control data: name, version, conffiles,
#      maintainer scripts, and Depends naming the Debian package of every
#      shared library the programs load (found with ldd + dpkg -S, not with
#      dpkg-shlibdeps, which made the field);
#   4. `dpkg -x` the .deb into a scratch root and run the extracted
#      `smartpromod -n -c <root>/etc/smartpromo/smartpromo.conf`, expecting
#      `configuration OK`; the packaged unit passes systemd-analyze verify
#      and its sysusers entry creates the user (in a scratch root);
#   5. cpack refuses to make a .deb for the prefix /usr/local.
# Usage: install-test.sh SOURCE_DIR BUILD_DIR.  Exit 0 ok, 1 failure, 77
# skipped (cmake, cpack or the dpkg tools are missing).
set -euo pipefail

src=${1:?usage: install-test.sh SOURCE_DIR BUILD_DIR}
bindir=${2:?usage: install-test.sh SOURCE_DIR BUILD_DIR}
work=$bindir/package-test
build=$work/build

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

for tool in cmake cpack dpkg dpkg-deb dpkg-shlibdeps ldd objdump; do
	command -v "$tool" >/dev/null || skip "$tool not found"
done

# The files a user gets, relative to the root.
files=(
	usr/bin/smartpromod
	usr/bin/smartpromoctl
	usr/bin/smartpromo-devbroker
	etc/smartpromo/smartpromo.conf
	usr/lib/systemd/system/smartpromod.service
	usr/lib/sysusers.d/smartpromo.conf
	usr/share/man/man8/smartpromod.8
	usr/share/man/man5/smartpromo.conf.5
	usr/share/man/man1/smartpromoctl.1
	usr/share/doc/smartpromo/README.md
	usr/share/doc/smartpromo/operations.md
)

# Fail unless every file of the list is under root.
check_files() {
	local root=$1 what=$2 f
	for f in "${files[@]}"; do
		[ -f "$root/$f" ] || fail "$what: no /$f"
	done
	echo "ok: $what has all ${#files[@]} files"
}

# ---- 1. build ---------------------------------------------------------------
rm -rf "$work/install" "$work/pkg" "$work/root" "$work/sysroot" \
    "$work/control" "$work/local"
mkdir -p "$work"
echo "== configure and build in $build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_INSTALL_PREFIX=/usr -DSP_TESTS=OFF >"$work/configure.log" 2>&1 ||
    { tail -n 30 "$work/configure.log"; fail "cmake configure"; }
cmake --build "$build" -j"$(nproc)" >"$work/build.log" 2>&1 ||
    { grep -E 'error|Error' "$work/build.log" | head -n 30; fail "build"; }

# ---- 2. cmake --install -----------------------------------------------------
DESTDIR=$work/install cmake --install "$build" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "cmake --install"; }
check_files "$work/install" "cmake --install"
cmp -s "$src/smartpromo.conf.example" \
    "$work/install/etc/smartpromo/smartpromo.conf" ||
    fail "the installed config is not smartpromo.conf.example"

# ---- 3. the .deb and its control data ---------------------------------------
echo "== cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/pkg") >"$work/cpack.log" 2>&1 ||
    { tail -n 30 "$work/cpack.log"; fail "cpack -G DEB"; }
debs=("$work"/pkg/*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] ||
    fail "want one .deb in $work/pkg, got: ${debs[*]}"
deb=${debs[0]}
echo "package: $deb"
dpkg-deb -I "$deb" | sed 's/^/  /'

version=$("$build/smartpromod" -V | sed -n 's/^smartpromod //p')
[ "$(dpkg-deb -f "$deb" Package)" = smartpromo ] || fail "Package is not smartpromo"
case $(dpkg-deb -f "$deb" Version) in
"$version"-*) ;;
*) fail "Version $(dpkg-deb -f "$deb" Version) is not $version-N" ;;
esac
[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] ||
    fail "Architecture is not $(dpkg --print-architecture)"

dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/smartpromo/smartpromo.conf "$work/control/conffiles" ||
    fail "/etc/smartpromo/smartpromo.conf is not a conffile"
for s in postinst prerm postrm; do
	[ -x "$work/control/$s" ] || fail "no executable $s"
	sh -n "$work/control/$s" || fail "$s is not valid sh"
done
grep -q 'systemd-sysusers "/usr/lib/sysusers.d/smartpromo.conf"' \
    "$work/control/postinst" || fail "postinst does not run systemd-sysusers"
echo "ok: name, version $version, conffiles, maintainer scripts"

# The Debian package that ships path (dpkg may know it under /usr or not).
owner() {
	local p=$1 real alt
	real=$(readlink -f "$p")
	for alt in "$p" "$real" "${p#/usr}" "/usr$p" "${real#/usr}" "/usr$real"; do
		if dpkg -S "$alt" >/dev/null 2>&1; then
			dpkg -S "$alt" | head -n1 | cut -d: -f1
			return 0
		fi
	done
	return 1
}

# Every library a program needs must come from a package in Depends.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
[ -n "$depends" ] || fail "empty Depends"
for prog in smartpromod smartpromoctl smartpromo-devbroker; do
	for soname in $(objdump -p "$build/$prog" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldd "$build/$prog" | awk -v s="$soname" '$1 == s { print $3 }')
		[ -n "$path" ] || fail "$prog: ldd does not resolve $soname"
		pkg=$(owner "$path") || fail "$prog: no package ships $path"
		printf '%s\n' "$depends" | tr ',|' '\n\n' |
		    sed 's/^ *//; s/[ (:].*//' | grep -qx "$pkg" ||
		    fail "$prog needs $soname from $pkg, not in Depends"
		echo "  $prog: $soname -> $pkg"
	done
done
echo "ok: Depends covers every shared library"

# ---- 4. extract and run -----------------------------------------------------
dpkg-deb -c "$deb" >"$work/contents.txt"
dpkg -x "$deb" "$work/root"
check_files "$work/root" "the .deb"
out=$("$work/root/usr/bin/smartpromod" -n \
    -c "$work/root/etc/smartpromo/smartpromo.conf" 2>&1) ||
    fail "extracted smartpromod -n: $out"
[ "$out" = "configuration OK" ] || fail "extracted smartpromod -n said: $out"
echo "ok: extracted smartpromod -n -c .../etc/smartpromo/smartpromo.conf: $out"

unit=$work/root/usr/lib/systemd/system/smartpromod.service
grep -qx 'ExecStart=/usr/bin/smartpromod -c /etc/smartpromo/smartpromo.conf' \
    "$unit" || fail "the packaged unit does not run /usr/bin/smartpromod"
if command -v systemd-analyze >/dev/null; then
	sed "s#/usr/bin/smartpromod#$work/root/usr/bin/smartpromod#g" "$unit" \
	    >"$work/smartpromod.service"
	MANPATH=$work/root/usr/share/man systemd-analyze verify \
	    "$work/smartpromod.service" >"$work/verify.out" 2>&1 ||
	    { cat "$work/verify.out"; fail "systemd-analyze verify"; }
	if grep -q smartpromod "$work/verify.out"; then
		cat "$work/verify.out"
		fail "systemd-analyze verify complained about the packaged unit"
	fi
	echo "ok: the packaged unit passes systemd-analyze verify"
fi
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$work/sysroot/etc"
	systemd-sysusers --root="$work/sysroot" \
	    "$work/root/usr/lib/sysusers.d/smartpromo.conf" >/dev/null 2>&1 ||
	    fail "systemd-sysusers rejected the packaged entry"
	grep -q '^smartpromo:' "$work/sysroot/etc/passwd" ||
	    fail "the packaged sysusers entry makes no smartpromo user"
	echo "ok: the packaged sysusers entry creates smartpromo"
fi

# ---- 5. no .deb for /usr/local ----------------------------------------------
cmake -S "$src" -B "$work/local" -DSP_TESTS=OFF \
    -DCMAKE_INSTALL_PREFIX=/usr/local >/dev/null 2>&1 ||
    fail "cmake configure with /usr/local"
if (cd "$work/local" && cpack -G DEB -B "$work/local/pkg") \
    >"$work/local.log" 2>&1; then
	fail "cpack made a .deb for /usr/local"
fi
grep -q 'a .deb needs -DCMAKE_INSTALL_PREFIX=/usr' "$work/local.log" ||
    { cat "$work/local.log"; fail "cpack failed for another reason"; }
echo "ok: cpack refuses a .deb for /usr/local"
echo "all package checks passed"
