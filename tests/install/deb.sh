#!/usr/bin/env bash
# tests/install/deb.sh BUILD-DIR VERSION
# `cpack -G DEB` builds sigsweep_VERSION_ARCH.deb: its control fields (Depends from
# dpkg-shlibdeps: a package for every shared library the command and libsigsweep.so need, among
# them libssl3, liblmdb0 and libxxhash0), its files, and an install with `dpkg --root` into a
# throwaway root (never this machine's /), from which the installed command runs. Exit 77
# (skip) without cpack, dpkg-deb or dpkg-shlibdeps (Debian: cmake, dpkg-dev).
set -euo pipefail
build=$(cd "$1" && pwd) version=$2
for t in cpack dpkg-deb dpkg-shlibdeps dpkg; do
  command -v $t >/dev/null || { echo "deb: SKIP: $t not installed (Debian: dpkg-dev)"; exit 77; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb: FAIL: $*" >&2; exit 1; }

(cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1) ||
  { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
arch=$(dpkg --print-architecture)
deb=$tmp/out/sigsweep_${version}_$arch.deb
[ -f "$deb" ] || fail "no $(basename "$deb") (got: $(ls "$tmp/out"))"

info=$(dpkg-deb -f "$deb")
echo "$info" | sed 's/^/deb: /'
[ "$(dpkg-deb -f "$deb" Package)" = sigsweep ] || fail "Package"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture"
depends=$(dpkg-deb -f "$deb" Depends)
for p in libc6 libssl3 liblmdb0 libxxhash0; do
  grep -qE "(^|, )$p( |,|$)" <<<"$depends" || fail "Depends lacks $p: $depends"
done
dpkg-deb -I "$deb" >/dev/null || fail "dpkg-deb -I"
# ldconfig runs as a trigger in the root installed to, never as a maintainer script command
# (which `dpkg --root` would run on this machine).
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./triggers 2>/dev/null | grep -qx 'activate-noawait ldconfig' ||
  fail "no 'activate-noawait ldconfig' trigger"
dpkg-deb -e "$deb" "$tmp/ctl"
for f in "$tmp"/ctl/preinst "$tmp"/ctl/postinst "$tmp"/ctl/prerm "$tmp"/ctl/postrm; do
  [ ! -e "$f" ] || ! grep -qE '^[^#]*ldconfig' "$f" || fail "$(basename "$f") runs ldconfig"
done

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/sigsweep ./usr/include/sigsweep.h ./usr/share/man/man1/sigsweep.1 \
         ./usr/share/bash-completion/completions/sigsweep \
         ./usr/lib/systemd/system/sigsweep-guard.service; do
  grep -qxF "$f" <<<"$files" || fail "$f not in the package"
done
unit=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/sigsweep-guard.service)
grep -q '^ExecStart=/usr/bin/sigsweep guard ' <<<"$unit" ||
  fail "the packaged unit does not run /usr/bin/sigsweep"
for re in '^\./usr/lib/(.*/)?libsigsweep\.so\.[0-9.]+$' '^\./usr/lib/(.*/)?libsigsweep\.a$' \
          '^\./usr/lib/(.*/)?pkgconfig/sigsweep\.pc$' \
          '^\./usr/lib/(.*/)?cmake/sigsweep/sigsweepConfig\.cmake$'; do
  grep -qE "$re" <<<"$files" || fail "nothing matching $re in the package"
done
grep -qE '^\./usr/local/' <<<"$files" && fail "the package installs into /usr/local"

# Every shared library the installed ELF files need is provided by a package in Depends (or
# by the package itself): the dependencies are declared, not merely present here.
dpkg-deb -x "$deb" "$tmp/x"
needed=$(for f in "$tmp/x/usr/bin/sigsweep" "$tmp"/x/usr/lib/*/libsigsweep.so.* \
                  "$tmp"/x/usr/lib/libsigsweep.so.*; do
           [ -f "$f" ] && [ ! -L "$f" ] && readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
         done | sort -u)
for lib in $needed; do
  [[ $lib == libsigsweep.so.* ]] && continue
  # (readers that take their whole input: an early exit would SIGPIPE the writer, and with
  # pipefail end the script with no message)
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && !p {print $NF; p = 1}')
  [ -n "$path" ] || fail "$lib (needed) is not on this machine"
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | awk -F: 'NR == 1 {print $1}') ||
    pkg=$(dpkg -S "$path" | awk -F: 'NR == 1 {print $1}')
  grep -qE "(^|, )$pkg( |,|$)" <<<"$depends" || fail "$lib is in $pkg, which Depends lacks"
done

# Install into a throwaway root with its own empty dpkg database; the dependencies are those of
# this machine, which dpkg --root cannot see (--force-depends), and the (empty) maintainer
# scripts would run chrooted into a root with no shell (--force-script-chrootless).
r=$tmp/root
mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/var/log"
: >"$r/var/lib/dpkg/status"; : >"$r/var/lib/dpkg/available"
dpkg --root="$r" --force-depends --force-script-chrootless --force-not-root \
  --log="$r/var/log/dpkg.log" -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg --root -i"; }
dpkg --root="$r" -s sigsweep | grep -q '^Status: install ok installed' || fail "dpkg -s in the root"
libdir=$(dirname "$(find "$r/usr/lib" -name 'libsigsweep.so.*' -type f | head -1)")
"$r/usr/bin/sigsweep" --version | grep -q "^sigsweep $version .*self-test passed" ||
  fail "the installed command"
LD_LIBRARY_PATH=$libdir "$r/usr/bin/sigsweep" --version >/dev/null || fail "command with its lib"
dpkg --root="$r" --force-script-chrootless --force-not-root --log="$r/var/log/dpkg.log" \
  -r sigsweep >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log"; fail "dpkg --root -r"; }
[ ! -e "$r/usr/bin/sigsweep" ] || fail "dpkg -r left /usr/bin/sigsweep"
echo "deb: $(basename "$deb") $(stat -c %s "$deb") bytes; Depends: $depends; installed and removed in a throwaway root"
