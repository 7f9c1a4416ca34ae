#!/usr/bin/env bash
# tests/install/destdir.sh BUILD-DIR VERSION
# `cmake --install` into a DESTDIR puts every file in place, and a small C program
# (consumer/consumer.c) builds against the installed library with pkg-config (shared) and with
# find_package(sigsweep) (sigsweep::engine and sigsweep::engine_static), and runs: each checks
# the library's version and runs its self-test. The installed command runs, its man page
# renders and its completion loads.
set -euo pipefail
build=$(cd "$1" && pwd) version=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "destdir: FAIL: $*" >&2; exit 1; }
prefix=/opt/sigsweep-test
dest=$tmp/dest
root=$dest$prefix

DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log"; fail "cmake --install"; }
libdir=$(cd "$root" && ls -d lib*/pkgconfig | head -1 | xargs dirname)
for f in bin/sigsweep include/sigsweep.h "$libdir/libsigsweep.a" "$libdir/libsigsweep.so" \
         "$libdir/pkgconfig/sigsweep.pc" "$libdir/cmake/sigsweep/sigsweepConfig.cmake" \
         "$libdir/cmake/sigsweep/sigsweepConfigVersion.cmake" share/man/man1/sigsweep.1 \
         share/bash-completion/completions/sigsweep lib/systemd/system/sigsweep-guard.service; do
  [ -e "$root/$f" ] || fail "not installed: $prefix/$f"
done
unit=$root/lib/systemd/system/sigsweep-guard.service
grep -qx "ExecStart=$prefix/bin/sigsweep guard .*\$SGS_GUARD_ARGS" "$unit" ||
  fail "the unit does not start the installed command: $(grep ExecStart "$unit")"
grep -qx "Restart=always" "$unit" || fail "the unit does not restart the guard always"
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=$prefix|ExecStart=$root|" "$unit" >"$tmp/sigsweep-guard.service"
  systemd-analyze verify --man=no "$tmp/sigsweep-guard.service" 2>"$tmp/unit.err" ||
    fail "systemd-analyze verify: $(cat "$tmp/unit.err")"
fi
soname=$(readelf -d "$root/$libdir/libsigsweep.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -e "$root/$libdir/$soname" ] || fail "no $soname (the SONAME) installed"
[ -L "$root/$libdir/libsigsweep.so" ] || fail "libsigsweep.so is not the development link"
# Nothing of the DESTDIR's or build tree's paths leaked into the installed text files.
if grep -rlF -e "$dest" -e "$build" "$root" --include='*.pc' --include='*.cmake'; then
  fail "installed files name the DESTDIR or the build tree"
fi
grep -qx "prefix=$prefix" "$root/$libdir/pkgconfig/sigsweep.pc" ||
  fail "sigsweep.pc prefix is not $prefix: $(grep prefix= "$root/$libdir/pkgconfig/sigsweep.pc")"

"$root/bin/sigsweep" --version | grep -q "^sigsweep $version .*self-test passed" ||
  fail "the installed sigsweep --version"
[ "$(readelf -d "$root/bin/sigsweep" | grep -c 'NEEDED.*libsigsweep')" = 0 ] ||
  fail "the installed command needs libsigsweep.so (it should have the engine linked in)"
if command -v groff >/dev/null; then
  groff -man -Tutf8 -ww -z "$root/share/man/man1/sigsweep.1" 2>"$tmp/groff.err"
  [ ! -s "$tmp/groff.err" ] || fail "groff warns about the installed man page: $(cat "$tmp/groff.err")"
fi
bash --norc -c 'source "$1" && complete -p sigsweep >/dev/null' _ \
  "$root/share/bash-completion/completions/sigsweep" || fail "the installed completion"

# Something for the consumers to verify: an Ed25519-signed file, and a tampered copy.
openssl genpkey -algorithm ed25519 -out "$tmp/ed.key" 2>/dev/null
openssl pkey -in "$tmp/ed.key" -pubout -out "$tmp/ed.pub"
printf 'release notes\n' >"$tmp/good"
openssl pkeyutl -sign -rawin -inkey "$tmp/ed.key" -in "$tmp/good" -out "$tmp/good.sig"
printf 'release notes!\n' >"$tmp/bad"; cp "$tmp/good.sig" "$tmp/bad.sig"
consume() { # consumer-binary: VALID for good, not for bad, each with the right exit status
  local out
  out=$("$@" "$version" "$tmp/ed.pub" "$tmp/good") || fail "$1: good file: $out"
  grep -q "good: VALID" <<<"$out" || fail "$1: good file: $out"
  if out=$("$@" "$version" "$tmp/ed.pub" "$tmp/bad"); then fail "$1 accepted the tampered file"; fi
  grep -q "bad: BAD_SIGNATURE" <<<"$out" || fail "$1: tampered file: $out"
}

# pkg-config: the sysroot is the DESTDIR, as for any staged install.
export PKG_CONFIG_PATH=$root/$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
[ "$(pkg-config --modversion sigsweep)" = "$version" ] || fail "pkg-config --modversion"
cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -std=c11 -Wall -Werror -o "$tmp/consumer_pc" "$here/consumer/consumer.c" \
  $(pkg-config --cflags --libs sigsweep) || fail "building with pkg-config --cflags --libs"
readelf -d "$tmp/consumer_pc" | grep -q "NEEDED.*\[$soname\]" ||
  fail "the pkg-config build does not need $soname"
consume env LD_LIBRARY_PATH="$root/$libdir" "$tmp/consumer_pc"
# shellcheck disable=SC2046
$cc -std=c11 -o "$tmp/consumer_pc_static" "$here/consumer/consumer.c" \
  $(pkg-config --cflags sigsweep) "$root/$libdir/libsigsweep.a" \
  $(pkg-config --static --libs-only-l --libs-only-other sigsweep | sed 's/-lsigsweep//') ||
  fail "building statically with pkg-config --static"
consume "$tmp/consumer_pc_static"

# find_package: configure, build and run the consumer project.
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
cmake -S "$here/consumer" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$root" -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; fail "find_package(sigsweep) configure"; }
cmake --build "$tmp/cm" >"$tmp/cmb.log" 2>&1 || { cat "$tmp/cmb.log"; fail "find_package build"; }
readelf -d "$tmp/cm/consumer_shared" | grep -q "NEEDED.*\[$soname\]" ||
  fail "sigsweep::engine does not link $soname"
readelf -d "$tmp/cm/consumer_static" | grep -q "NEEDED.*libsigsweep" &&
  fail "sigsweep::engine_static links libsigsweep.so"
consume "$tmp/cm/consumer_shared"
consume "$tmp/cm/consumer_static"
# A version the package does not claim compatibility with is refused.
if cmake -S "$here/consumer" -B "$tmp/cm2" -DCMAKE_PREFIX_PATH="$root" \
     -DSGS_WANT_VERSION=99.0 >/dev/null 2>&1; then
  fail "find_package(sigsweep 99.0) succeeded"
fi
echo "destdir: installed into DESTDIR/$prefix; pkg-config and find_package builds ran"
