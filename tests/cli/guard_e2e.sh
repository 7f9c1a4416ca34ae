#!/usr/bin/env bash
# guard_e2e.sh SIGSWEEP - `sigsweep guard` against real execs, as root, inside a mount namespace
# of its own on a private tmpfs: the guard marks only that tmpfs's mount (FAN_MARK_MOUNT), which
# no other process on the machine sees, and is always killed on exit (trap). Cases: a signed copy
# of /bin/true runs; unsigned and tampered copies fail with EPERM in enforce mode and run in
# audit mode (each decision logged); a file the store knows is allowed from the store; a file
# replaced after being allowed (rewritten in place, renamed over) is judged again; an exempt
# path runs; a judgement slower than the deadline (a 64 MiB signed executable, deadline 1 ms)
# gets the on-timeout decision and its late verdict is logged; kill -9 leaves exec working;
# refusals (missing path, no key, not root) exit 2. Exit 77 (skip) with the reason when not
# root, without unshare, or without fanotify permission events.
set -uo pipefail
export LC_ALL=C

[[ $# -ge 1 && -x $1 ]] || { echo "usage: guard_e2e.sh PATH-TO-SIGSWEEP" >&2; exit 2; }
bin=$(cd -- "$(dirname -- "$1")" && pwd)/$(basename -- "$1")
keys=$(cd -- "$(dirname -- "$0")/../../corpus/keys" && pwd)

if [[ ${2:-} != --inside ]]; then
    if (($(id -u) != 0)); then echo "SKIP: fanotify permission events need root"; exit 77; fi
    command -v unshare >/dev/null || { echo "SKIP: no unshare (util-linux)"; exit 77; }
    unshare --mount --propagation private true 2>/dev/null ||
        { echo "SKIP: cannot make a private mount namespace"; exit 77; }
    exec unshare --mount --propagation private bash "$0" "$bin" --inside
fi

mnt=$(mktemp -d "${TMPDIR:-/tmp}/sgs-guard.XXXXXX") || exit 2
mount -t tmpfs -o size=256m,mode=0755 sgs-guard-e2e "$mnt" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
guard=
kill_guard() {
    if [[ -n $guard ]]; then kill -9 "$guard" 2>/dev/null; wait "$guard" 2>/dev/null; fi
    guard=
}
trap 'kill_guard; umount -l "$mnt"; rmdir "$mnt"' EXIT

t=$mnt/bin
mkdir -p "$t" "$mnt/cache" "$mnt/etc"
openssl pkey -in "$keys/rsa2048.pem" -pubout -out "$mnt/etc/pub.pem" 2>/dev/null || exit 2
for f in signed unsigned tampered known qstore moved; do cp /bin/true "$t/$f"; done
mkdir -p "$mnt/outside" && cp /bin/true "$mnt/outside/incoming" # same tmpfs, not watched
"$bin" sign --key "$keys/rsa2048.pem" "$t/signed" "$t/tampered" "$t/known" "$t/moved" \
    "$mnt/outside/incoming" >/dev/null 2>&1 || exit 2
printf '\0' >>"$t/tampered"
# a signed executable too large to judge within 1 ms (the trailing bytes do not change how it runs)
{ cat /bin/true; head -c $((64 << 20)) /dev/zero; } >"$t/big"
chmod 0755 "$t/big"
"$bin" sign --key "$keys/rsa2048.pem" "$t/big" >/dev/null 2>&1 || exit 2
born=$(date +%s%N)

fails=0
cases=0
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
log=$mnt/log.jsonl
err=$mnt/guard.err

# stop_guard: SIGTERM stops the guard cleanly: exit 0, no sanitizer report (killed after 20 s)
stop_guard() {
    [[ -n $guard ]] || return 0
    kill -TERM "$guard"
    timeout 20 tail -s 0.05 --pid="$guard" -f /dev/null || kill -9 "$guard"
    local rc
    wait "$guard"
    rc=$?
    guard=
    cases=$((cases + 1))
    ((rc == 0)) || fail "the guard exited $rc on SIGTERM: $(cat "$err")"
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$err"; then
        fail "sanitizer report: $(cat "$err")"
    fi
}

# start_guard ARGS...: the guard in the background, once it says its marks are in place
start_guard() {
    stop_guard
    : >"$log"
    : >"$err" # before the guard starts: the wait below must not read the last one's line
    "$bin" guard --watch "$t" --key "$mnt/etc/pub.pem" --cache-dir "$mnt/cache" --log "$log" \
        "$@" 2>"$err" &
    guard=$!
    for _ in $(seq 200); do
        grep -q 'watching' "$err" && return 0
        if ! kill -0 "$guard" 2>/dev/null; then
            wait "$guard"
            local rc=$?
            guard=
            if ((rc == 2)) && grep -qE 'need root|no fanotify|has no FAN_' "$err"; then
                echo "SKIP: $(cat "$err")"
                exit 77
            fi
            echo "FAIL: the guard did not start (exit $rc): $(cat "$err")"
            exit 1
        fi
        sleep 0.05
    done
    echo "FAIL: the guard did not report its marks: $(cat "$err")"
    exit 1
}

# runs FILE WANT_RC [STDERR_PATTERN]
runs() {
    cases=$((cases + 1))
    local out rc
    out=$("$1" 2>&1)
    rc=$?
    ((rc == $2)) || fail "$1: exit $rc, want $2 ($out)"
    [[ -z ${3:-} || $out == *"$3"* ]] || fail "$1: '$out' does not say '$3'"
}

# logged PATH HOW DECISION [VERDICT]: a line of the log says so
logged() {
    cases=$((cases + 1))
    local want="\"path\":\"$1\""
    grep -F "$want" "$log" | grep -F "\"how\":\"$2\"" | grep -F "\"decision\":$3" |
        grep -qF "${4:+\"verdict\":\"$4\"}" ||
        fail "no log line for $1 how=$2 decision=$3 ${4:-}: $(cat "$log")"
}

# -- enforce: signed runs, unsigned and tampered fail with EPERM ------------------------------
start_guard --mode enforce
cases=$((cases + 1)) # tmpfs has an fsid: the dirent group (renames) is in place
grep -q 'renames are not watched' "$err" && fail "no dirent group on tmpfs: $(cat "$err")"
runs "$t/signed" 0
runs "$t/unsigned" 126 "Operation not permitted"
runs "$t/tampered" 126 "Operation not permitted"
logged "$t/signed" judged '"allow"' VALID
logged "$t/unsigned" judged '"deny"' NO_SIGNATURE
logged "$t/tampered" judged '"deny"' BAD_SIGNATURE
grep -q "DENIED $t/unsigned" "$err" || fail "no DENIED line on stderr: $(cat "$err")"
# the uid logged is the exec'ing process's, read while it waits for the answer
if command -v setpriv >/dev/null; then
    cases=$((cases + 1))
    setpriv --reuid=65534 --regid=65534 --clear-groups "$t/signed" ||
        fail "a signed file did not run as uid 65534"
    grep -F "\"path\":\"$t/signed\"" "$log" | tail -1 | grep -qF '"uid":65534' ||
        fail "the exec as uid 65534 is not logged with its uid: $(grep -F "$t/signed" "$log" | tail -1)"
fi

# -- another mount namespace: any user with a user namespace gets copies of the marked mount,
#    which mount marks do not cover; the whole file system is marked and the file's place in
#    it decides (the exec'ing process's view of the mount, /proc/PID/mountinfo)
nsrun() { setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urm "$@"; }
if command -v setpriv >/dev/null && nsrun true 2>/dev/null; then
    cases=$((cases + 1))
    nsrun "$t/unsigned" 2>/dev/null && fail "an unsigned file ran from a user's own mount namespace"
    cases=$((cases + 1))
    nsrun "$t/signed" || fail "a signed file did not run from a user's own mount namespace"
    cases=$((cases + 1))
    nsrun sh -c "mount --bind '$t' '$mnt/outside' && exec '$mnt/outside/unsigned'" 2>/dev/null &&
        fail "an unsigned file ran through a bind mount of the tree made in a user's namespace"
    cases=$((cases + 1))
    nsrun sh -c "mount --bind '$t' '$mnt/outside' && exec '$mnt/outside/signed'" ||
        fail "a signed file did not run through a bind mount of the tree in a user's namespace"
    cases=$((cases + 1))
    nsrun "$mnt/outside/incoming" ||
        fail "a file outside the watched tree did not run from a user's own mount namespace"
    # chroot in that namespace: mountinfo's mount points are then relative to the chroot (the
    # copies of /bin/true cannot start there, no ld.so: 127 = allowed, 126 = denied)
    cases=$((cases + 1))
    nsrun chroot "$mnt" /bin/unsigned 2>/dev/null
    (($? == 126)) || fail "an unsigned file was not denied under a chroot in a user's namespace"
    cases=$((cases + 1))
    mkdir -p "$mnt/outside/c/x"
    nsrun sh -c "mount --bind '$t' '$mnt/outside/c/x' && exec chroot '$mnt/outside/c' /x/signed" \
        2>/dev/null
    (($? == 127)) || fail "a signed file was not let through under a chroot in a user's namespace"
    logged "$t/unsigned" judged '"deny"' NO_SIGNATURE
else
    echo "note: no unprivileged user namespaces here: the other-namespace cases are skipped"
fi

# -- a file replaced after being allowed is judged again ---------------------------------------
cp "$t/signed" "$t/victim" && cp "$t/signed.sig" "$t/victim.sig"
runs "$t/victim" 0
cat "$t/tampered" >"$t/victim" # rewritten in place: the same inode
runs "$t/victim" 126 "Operation not permitted"
cp "$t/signed" "$t/victim.new" && mv "$t/victim.new" "$t/victim" # good again, renamed over
runs "$t/victim" 0
cp /bin/true "$t/victim.new" && printf '\0\0' >>"$t/victim.new"
mv "$t/victim.new" "$t/victim" # replaced by a rename (bytes its signature does not cover)
runs "$t/victim" 126 "Operation not permitted"
cases=$((cases + 1))
[[ $(grep -cF "\"path\":\"$t/victim\"" "$log") -eq 4 ]] ||
    fail "victim: want 4 decisions: $(grep -F victim "$log")"

# -- the verdict store: a file judged once it is out of the racy window is known ---------------
while (($(date +%s%N) - born < 2200000000)); do sleep 0.2; done
runs "$t/known" 0 # judged, stored
runs "$t/known" 0 # from the store
logged "$t/known" judged '"allow"' VALID
logged "$t/known" store '"allow"' VALID
# replaced by a rename after being answered from the store: judged again (FAN_MOVED_TO notes the
# new file; its identity is new anyway) and denied
runs "$t/moved" 0
runs "$t/moved" 0
logged "$t/moved" store '"allow"' VALID
cp /bin/true "$t/moved.new" && printf '\0\0' >>"$t/moved.new" && mv "$t/moved.new" "$t/moved"
runs "$t/moved" 126 "Operation not permitted"
logged "$t/moved" judged '"deny"' BAD_SIGNATURE
# a signed file moved into the tree from elsewhere on the file system: judged, allowed
mv "$mnt/outside/incoming.sig" "$t/" && mv "$mnt/outside/incoming" "$t/"
runs "$t/incoming" 0
logged "$t/incoming" judged '"allow"' VALID
cat "$t/signed" >"$t/known" # written after being stored (the same bytes): judged again
runs "$t/known" 0
cases=$((cases + 1))
[[ $(grep -F "\"path\":\"$t/known\"" "$log" | grep -cF '"how":"judged"') -eq 2 ]] ||
    fail "known: want a second judgement after the touch: $(grep -F known "$log")"

# -- deadline: a judgement slower than it gets the on-timeout decision --------------------------
start_guard --mode enforce --deadline 1
runs "$t/big" 126 "Operation not permitted"
logged "$t/big" timeout '"deny"'
for _ in $(seq 200); do grep -qF '"how":"late"' "$log" && break; sleep 0.05; done
logged "$t/big" late null VALID
cp "$t/big" "$t/big2" && cp "$t/big.sig" "$t/big2.sig" # (big itself is in the store now)
start_guard --mode enforce --deadline 1 --on-timeout allow
runs "$t/big2" 0
logged "$t/big2" timeout '"allow"'

# -- audit: everything runs, the decisions are logged -------------------------------------------
start_guard --mode audit
runs "$t/unsigned" 0
runs "$t/tampered" 0
runs "$t/qstore" 0 # judged (NO_SIGNATURE) out of its racy window: stored, for --quarantine below
logged "$t/unsigned" judged '"allow"' NO_SIGNATURE
logged "$t/tampered" judged '"allow"' BAD_SIGNATURE

# -- the policy file picks the mode, as verify --policy ----------------------------------------
printf '[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=1\n' >"$mnt/etc/policy.ini"
start_guard --policy "$mnt/etc/policy.ini"
runs "$t/unsigned" 126 "Operation not permitted"

# -- exempt paths run unjudged ------------------------------------------------------------------
start_guard --mode enforce --exempt "$t/unsigned"
runs "$t/unsigned" 0
runs "$t/tampered" 126 "Operation not permitted"
logged "$t/unsigned" exempt '"allow"'

# -- a file system without an fsid (ramfs): no dirent group, a warning, the guard goes on --------
mkdir -p "$mnt/ram" && mount -t ramfs -o mode=0755 sgs-guard-e2e-ram "$mnt/ram" &&
    cp "$t/signed" "$t/signed.sig" "$mnt/ram/" && {
    start_guard --mode enforce --watch "$mnt/ram"
    cases=$((cases + 1))
    grep -q 'warning: renames are not watched' "$err" || fail "no warning on ramfs: $(cat "$err")"
    runs "$mnt/ram/signed" 0
    runs "$t/unsigned" 126 "Operation not permitted"
    stop_guard
    umount "$mnt/ram"
}

# -- kill -9 leaves exec working -------------------------------------------------------------
start_guard --mode enforce
runs "$t/unsigned" 126 "Operation not permitted"
kill_guard
# ... also an exec waiting for the guard when it dies: the kernel lets it through (the exec group
# is released before the dirent group; the other way round both would wait forever)
start_guard --mode enforce
kill -STOP "$guard"
"$t/signed" & ex=$!
for _ in $(seq 200); do grep -q fanotify "/proc/$ex/wchan" 2>/dev/null && break; sleep 0.05; done
cases=$((cases + 1))
grep -q fanotify "/proc/$ex/wchan" 2>/dev/null || fail "the exec did not wait for the stopped guard"
kill -9 "$guard"
if ! timeout 20 tail -s 0.05 --pid="$guard" -f /dev/null; then
    fail "the guard killed with an exec pending did not exit (a group released in the wrong order)"
    guard= # not waited for: it would never be reaped
    echo "guard_e2e: $cases cases, $fails failed"
    exit 1
fi
kill_guard
cases=$((cases + 1))
wait "$ex" || fail "the exec pending when the guard died did not run"
runs "$t/unsigned" 0
runs "$t/unsigned" 0
runs "$t/tampered" 0

# -- enforce --quarantine: a denied file is renamed <name>_invalid through the journal ----------
jr=$mnt/quarantine.journal
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
for f in q1 q2 q3 q4; do cp "$t/tampered" "$t/$f" && cp "$t/tampered.sig" "$t/$f.sig"; done
# waits until the log has a decision line for $1 (the line comes after the rename)
decided() { for _ in $(seq 200); do grep -qF "\"path\":\"$1\"" "$log" && return 0; sleep 0.05; done; }
start_guard --mode enforce --quarantine --journal "$jr" --max-quarantine 3
runs "$t/signed" 0
runs "$t/q1" 126 "Operation not permitted"
decided "$t/q1"
cases=$((cases + 1))
[[ -e $t/signed && ! -e $t/signed_invalid ]] || fail "a VALID file was renamed"
grep -F "\"path\":\"$t/signed\"" "$log" | grep -qF '"quarantined":null,"not_quarantined":"allowed"' ||
    fail "signed: no 'allowed, not quarantined' in its line: $(grep -F "$t/signed" "$log")"
cases=$((cases + 1))
[[ -e $t/q1_invalid && ! -e $t/q1 ]] || fail "q1 was not renamed q1_invalid: $(ls "$t")"
grep -q "^Q .* $(hex "$t/q1") $(hex "$t/q1_invalid")\$" "$jr" || fail "the journal lacks q1: $(cat "$jr")"
logged "$t/q1" judged '"deny"' BAD_SIGNATURE
grep -F "\"path\":\"$t/q1\"" "$log" | grep -qF "\"quarantined\":\"$t/q1_invalid\"" ||
    fail "q1's line does not name q1_invalid: $(grep -F q1 "$log")"
# sigsweep's own quarantine, exec'd: denied, not renamed again (nor counted)
runs "$t/q1_invalid" 126 "Operation not permitted"
decided "$t/q1_invalid"
cases=$((cases + 1))
[[ -e $t/q1_invalid && ! -e $t/q1_invalid_invalid ]] || fail "q1_invalid was renamed again"
grep -F "\"path\":\"$t/q1_invalid\"" "$log" | grep -qF 'quarantined by sigsweep already' ||
    fail "q1_invalid: $(grep -F q1_invalid "$log")"
# denied from the verdict store: renamed too (by a judging thread, after the answer)
runs "$t/qstore" 126 "Operation not permitted"
decided "$t/qstore"
logged "$t/qstore" store '"deny"' NO_SIGNATURE
cases=$((cases + 1))
[[ -e $t/qstore_invalid && ! -e $t/qstore ]] || fail "qstore (from the store) was not renamed"
# the circuit breaker: 3 renames in this guard's life (q1, qstore, q2), then denials only
runs "$t/q2" 126 "Operation not permitted"
runs "$t/q3" 126 "Operation not permitted"
runs "$t/q4" 126 "Operation not permitted"
decided "$t/q4"
cases=$((cases + 1))
[[ -e $t/q2_invalid && -e $t/q3 && -e $t/q4 && ! -e $t/q3_invalid ]] ||
    fail "the breaker did not stop at 3: $(ls "$t")"
grep -F "\"path\":\"$t/q3\"" "$log" | grep -qF '"quarantined":null,"not_quarantined":"circuit breaker' ||
    fail "q3's line does not name the breaker: $(grep -F q3 "$log")"
[[ $(grep -c 'circuit breaker' "$err") -eq 1 ]] || fail "the breaker is not said once on stderr: $(cat "$err")"
stop_guard
# restore puts them back
cases=$((cases + 1))
out=$("$bin" restore --journal "$jr" 2>&1) || fail "restore failed: $out"
[[ -e $t/q1 && -e $t/q2 && -e $t/qstore && ! -e $t/q1_invalid && ! -e $t/q2_invalid ]] ||
    fail "restore did not bring them back: $out; $(ls "$t")"
cmp -s "$t/q1" "$t/tampered" || fail "q1 restored is not the file quarantined"

# -- refusals: exit 2, a clear message, nothing left marked --------------------------------------
refused() { # WANT_PATTERN ARGS...
    cases=$((cases + 1))
    local want=$1 out rc
    shift
    out=$(timeout 10 "$@" 2>&1)
    rc=$?
    ((rc == 2)) || fail "$*: exit $rc, want 2 ($out)"
    [[ $out == *"$want"* ]] || fail "$*: '$out' does not say '$want'"
}
refused "watched path $mnt/nowhere: No such file" \
    "$bin" guard --watch "$mnt/nowhere" --key "$mnt/etc/pub.pem" --cache-dir "$mnt/cache"
refused "give --key" "$bin" guard --watch "$t"
refused "give at least one --watch" "$bin" guard --key "$mnt/etc/pub.pem"
refused "goes with --mode enforce" \
    "$bin" guard --watch "$t" --key "$mnt/etc/pub.pem" --cache-dir "$mnt/cache" --quarantine
refused "go with --quarantine" \
    "$bin" guard --watch "$t" --key "$mnt/etc/pub.pem" --mode enforce --journal "$mnt/j"
refused "cannot be overridden" \
    "$bin" guard --watch "$t" --key "$mnt/etc/pub.pem" --mode enforce --quarantine --force
refused "not a share" \
    "$bin" guard --watch "$t" --key "$mnt/etc/pub.pem" --mode enforce --quarantine \
    --max-quarantine 5%
if command -v setpriv >/dev/null; then
    chmod 0755 "$mnt" "$mnt/etc"
    chmod 0644 "$mnt/etc/pub.pem"
    refused "need root" setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$bin" guard --watch "$t" --key "$mnt/etc/pub.pem" --cache-dir "$mnt/nobody-cache"
fi
stop_guard
runs "$t/unsigned" 0 # no guard left: no mark left

echo "guard_e2e: $cases cases, $fails failed"
((fails == 0))
