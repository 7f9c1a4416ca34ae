#!/usr/bin/env bash
# tests/install/symbols.sh LIBSIGSWEEP.so HEADER SONAME
# The shared engine library exports exactly the public header's SGS_API functions (every one of
# them, nothing else: no private sgs_* helper, no symbol of a dependency) and has the SONAME
# given.
set -euo pipefail
lib=$1 header=$2 soname=$3
fail() { echo "symbols: FAIL: $*" >&2; exit 1; }

got=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$got" = "$soname" ] || fail "SONAME is '$got', expected '$soname'"

# Defined dynamic symbols, without the ones every shared object has.
exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' |
  grep -v -E '^(_init|_fini|__bss_start|_edata|_end)$' | sort -u)
# SGS_API declarations in the header (each starts a line): the name before its '('.
declared=$(grep -E '^SGS_API ' "$header" | sed -E 's/\(.*//; s/.*[ *]//' | sort -u)
[ -n "$declared" ] || fail "no SGS_API declaration found in $header"

extra=$(comm -23 <(echo "$exported") <(echo "$declared"))
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
[ -z "$extra" ] || fail "exported but not declared SGS_API in the header: $(echo $extra)"
[ -z "$missing" ] || fail "declared SGS_API but not exported: $(echo $missing)"
echo "symbols: $lib: SONAME $soname, $(echo "$exported" | wc -l) symbols, each declared SGS_API"
