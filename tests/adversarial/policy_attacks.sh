#!/usr/bin/env bash
# policy_attacks.sh SIGSWEEP - an enforcement key present but unreadable is fatal (exit 2, the
# file named), never a silent fall back to audit; UTF-16 with a BOM is read; a FIFO does not
# hang.
. "$(dirname "$0")/lib.sh"
small_tree tree
run_policy() { # run_policy FILE -> rc in $rc, stderr in perr
  set +e; guard "$B" verify --key k.pub --journal j --force --policy "$1" tree >/dev/null 2>perr; rc=$?; set -e
}
for v in '1 ; enforce' 'yes' '' '2' 'on'; do
  printf '[INI_SERVER_SECTION]\r\nCheckDigitalSignatureForHotfix = %s\r\n' "$v" > p.ini
  run_policy p.ini
  check "Hotfix = '$v': exit 2, file named, nothing renamed" \
    "[ $rc = 2 ] && grep -q p.ini perr && ! ls tree | grep -q _invalid"
done
printf '[INI_SERVER_SECTION\nCheckDigitalSignatureForHotfix = 1\n' > p.ini
run_policy p.ini
check "enforcement key under a broken section header: exit 2" "[ $rc = 2 ]"
# UTF-16 LE and BE with a BOM: enforce read (f3 quarantined); without a BOM: exit 2
for enc in UTF-16LE UTF-16BE; do
  rm -rf tree j; small_tree tree
  { if [ $enc = UTF-16LE ]; then printf '\xff\xfe'; else printf '\xfe\xff'; fi
    printf '[INI_SERVER_SECTION]\r\nCheckDigitalSignatureForHotfix=1\r\n' | iconv -t $enc; } > p16.ini
  run_policy p16.ini
  check "$enc with BOM: enforced (exit 1, f3 quarantined)" "[ $rc = 1 ] && [ -e tree/f3_invalid ]"
done
printf '[INI_SERVER_SECTION]\r\nCheckDigitalSignatureForHotfix=1\r\n' | iconv -t UTF-16LE > p16n.ini
run_policy p16n.ini
check "UTF-16 without BOM: exit 2" "[ $rc = 2 ] && grep -q p16n.ini perr"
printf '[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=1\n[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=0\n' > pdup.ini
run_policy pdup.ini
check "the same enforcement key twice, 1 then 0: exit 2 (no guess at which wins)" "[ $rc = 2 ] && grep -q conflicting perr"
printf '[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=1\nCheckDigitalSignatureForHotfix=1\n' > pdup2.ini
rm -rf tree j; small_tree tree
run_policy pdup2.ini
check "the same key twice with the same value: enforced" "[ $rc = 1 ] && [ -e tree/f3_invalid ]"
mkfifo p.fifo
run_policy p.fifo
check "FIFO policy: exit 2, no hang" "[ $rc = 2 ]"
finish
