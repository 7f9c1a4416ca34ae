#!/usr/bin/env bash
# quarantine_crash.sh SIGSWEEP [SEED] - kill -9 during `sigsweep verify --quarantine`, then
# `sigsweep restore` (issue 6).
#
# Makes 3,000 small unsigned files (so every one is NO_SIGNATURE and quarantined) in 10
# subdirectories of a private temp dir (removed on exit) and records their sha256. Then:
#   1. a complete run: all 3,000 renamed to NAME_invalid, the summary says "3000 quarantined";
#      restore puts them back;
#   2. several runs killed with SIGKILL after a random 30-200 ms (from SEED), then, if none of
#      them stopped part way (some but not all files renamed), more runs with the delay bisected
#      until one does.
# After every kill: every NAME_invalid on disk has a Q record naming it (journal written before
# the rename). After every restore: exit 0, no REFUSED line, one RESTORED line per renamed file,
# every file back under its name byte-identical (sha256sum -c), 3,000 files, no *_invalid* left;
# the journal parses (header first; Q/D/R lines; unique Q sequence numbers; every D and R after
# its Q; an R for every file that was renamed); a second restore prints nothing and exits 0.
# Prints the seed and the delays. Exit 0 when every check passes, 1 otherwise, 2 on bad usage.
set -uo pipefail
export LC_ALL=C

[[ $# -ge 1 && $# -le 2 && -x $1 ]] || { echo "usage: quarantine_crash.sh SIGSWEEP [SEED]" >&2; exit 2; }
bin=$1
seed=${2:-$(( $(date +%s%N) % 1000000 ))}
RANDOM=$seed
NFILES=3000
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sgs-qcrash.XXXXXX") || exit 2
tmp=$(realpath -- "$tmp")
trap 'rm -rf -- "$tmp"' EXIT
export HOME=$tmp/home XDG_STATE_HOME=$tmp/state   # never touch the real default journal
mkdir -p "$HOME"
fails=0
echo "quarantine_crash: seed $seed (rerun: quarantine_crash.sh SIGSWEEP $seed)"

fail() { fails=$((fails + 1)); printf 'FAIL: %s\n' "$*"; }
sanitizer() { # FILE WHAT
    if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' -- "$1"; then
        fail "$2: sanitizer report: $(head -c 2000 -- "$1")"
    fi
}

# ---- inputs ----
"$bin" keygen --type ec-p256 --out "$tmp/key" >/dev/null 2>"$tmp/keygen.err" ||
    { echo "FAIL: sigsweep keygen: $(cat "$tmp/keygen.err")"; exit 1; }
key=$tmp/key/server.crt
d=$tmp/d
for ((s = 0; s < 10; s++)); do mkdir -p "$d/s$s"; done
pad=$(printf '%0200d' 0)
for ((i = 0; i < NFILES; i++)); do
    printf 'file %d %d %s\n' "$i" "$RANDOM" "${pad:0:$((RANDOM % 200))}" >"$d/s$((i % 10))/f$i"
done
(cd "$d" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$tmp/manifest"
n=$(wc -l <"$tmp/manifest")
((n == NFILES)) || { echo "FAIL: made $n files, want $NFILES"; exit 1; }

# journal_check JOURNAL WHAT: consistency; writes $tmp/q.tsv: seq, has D, has R, orig, new.
# A last line without its newline is a record torn by the kill (a write crossing a page boundary
# stops there on SIGKILL): sigsweep ignores it and cuts it before its next append, so it is only
# counted here, never parsed.
journal_check() {
    local out terminated
    terminated=$(wc -l <"$1")
    out=$(awk -v qtsv="$tmp/q.tsv" -v terminated="$terminated" '
        BEGIN { for (i = 32; i < 127; i++) { h = sprintf("%02x", i); c[h] = sprintf("%c", i); c[toupper(h)] = c[h] } }
        function unhex(s,   i, o, p) {
            if (length(s) % 2) return "<odd hex>"
            o = ""
            for (i = 1; i <= length(s); i += 2) { p = substr(s, i, 2); o = o ((p in c) ? c[p] : "?") }
            return o
        }
        function bad(m) { print "journal line " NR ": " m ": " substr($0, 1, 200); nbad++ }
        NR > terminated { torn++; next }
        NR == 1 { if ($0 != "sigsweep-journal 1") bad("first line is not the header"); next }
        $0 == "sigsweep-journal 1" { next }
        $0 ~ /  / || $0 ~ /^ / || $0 ~ / $/ { bad("fields not separated by single spaces") }
        $1 == "Q" && NF == 8 {
            for (i = 2; i <= 6; i++) if ($i !~ /^[0-9]+$/) bad("Q field " i " not a number")
            if ($7 !~ /^[0-9a-fA-F]+$/ || $8 !~ /^[0-9a-fA-F]+$/) bad("Q path not hex")
            if ($2 in q) bad("Q " $2 " again")
            q[$2] = 1; order[++nq] = $2; orig[$2] = unhex($7); new[$2] = unhex($8); next
        }
        ($1 == "D" || $1 == "R") && NF == 2 || $1 == "D" && NF == 3 && $3 ~ /^[1-9][0-9]*$/ {
            if (!($2 in q)) bad($1 " " $2 " without an earlier Q")
            else if ($1 == "D") dd[$2] = 1
            else { if ($2 in rr) bad("R " $2 " again"); rr[$2] = 1 }
            next
        }
        { bad("malformed record") }
        END {
            if (NR == 0) { print "journal is empty"; nbad++ }
            for (k = 1; k <= nq; k++) {
                s = order[k]
                printf "%s\t%d\t%d\t%s\t%s\n", s, (s in dd), (s in rr), orig[s], new[s] > qtsv
            }
            if (!nq) printf "" > qtsv
            exit (nbad > 0)
        }' "$1")
    local rc=$?
    ((rc == 0)) || fail "$2: journal inconsistent: ${out:0:1500}"
}

list_invalid() { find "$d" -name '*_invalid*' | sort; }

# restore_check WHAT RENAMED_LIST: restore, then everything back
restore_check() {
    local what=$1 renamed=$2 rc nrest nnot want
    "$bin" restore --journal "$J" >"$tmp/r.out" 2>"$tmp/r.err"
    rc=$?
    sanitizer "$tmp/r.err" "$what: restore"
    ((rc == 0)) || fail "$what: restore exit $rc, want 0; stderr: $(head -c 600 "$tmp/r.err"); REFUSED: $(grep -m3 '^REFUSED' "$tmp/r.out")"
    ! grep -q '^REFUSED' "$tmp/r.out" || fail "$what: restore refused: $(grep -m5 '^REFUSED' "$tmp/r.out")"
    nrest=$(grep -c '^RESTORED ' "$tmp/r.out")
    nnot=$(grep -c '^NOT MOVED ' "$tmp/r.out")
    printf '  %-22s restore: %d RESTORED, %d NOT MOVED\n' "" "$nrest" "$nnot"
    want=$(wc -l <"$renamed")
    ((nrest == want)) || fail "$what: $nrest RESTORED lines, want $want (files renamed at the kill)"
    if ! (cd "$d" && sha256sum --quiet -c "$tmp/manifest" >"$tmp/c.out" 2>&1); then
        fail "$what: files not back byte-identical: $(head -c 800 "$tmp/c.out")"
    fi
    n=$(find "$d" -type f | wc -l)
    ((n == NFILES)) || fail "$what: $n files after restore, want $NFILES"
    left=$(list_invalid | head -5)
    [[ -z $left ]] || fail "$what: _invalid files left after restore: $left"
    journal_check "$J" "$what: after restore"
    # an R for every file that was renamed
    local missing
    missing=$(awk -F'\t' '$3 == 1 { print $5 }' "$tmp/q.tsv" | sort | comm -23 "$renamed" -)
    [[ -z $missing ]] || fail "$what: renamed files without an R record: ${missing:0:600}"
    "$bin" restore --journal "$J" >"$tmp/r2.out" 2>"$tmp/r2.err"
    rc=$?
    if ((rc != 0)) || [[ -s $tmp/r2.out ]]; then
        fail "$what: second restore: exit $rc, want 0 and no output; stdout $(head -c 300 "$tmp/r2.out")"
    fi
}

# run_once WHAT DELAY_MS (empty: no kill) -> sets $renamed_count
iter=0
run_once() {
    local what=$1 delay=$2 pid rc
    iter=$((iter + 1))
    J=$tmp/j$iter
    "$bin" verify --key "$key" --quarantine --force --journal "$J" -j 2 "$d" >/dev/null 2>"$tmp/v.err" &
    pid=$!
    if [[ -n $delay ]]; then
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill -9 "$pid" 2>/dev/null
    fi
    { wait "$pid"; } 2>/dev/null
    rc=$?
    sanitizer "$tmp/v.err" "$what: verify"
    list_invalid >"$tmp/renamed"
    renamed_count=$(wc -l <"$tmp/renamed")
    if [[ -z $delay ]]; then
        ((rc == 1)) || fail "$what: verify exit $rc, want 1"
        grep -q "\b$NFILES quarantined" "$tmp/v.err" || fail "$what: summary lacks '$NFILES quarantined': $(tail -c 300 "$tmp/v.err")"
        ((renamed_count == NFILES)) || fail "$what: $renamed_count files renamed, want $NFILES"
    fi
    local killed=no
    ((rc == 137)) && killed=yes
    if [[ ! -e $J ]]; then
        ((renamed_count == 0)) || fail "$what: $renamed_count files renamed, but no journal"
        printf 'sigsweep-journal 1\n' >"$J"   # killed before the journal existed: nothing to do
    fi
    # the journal is written before each rename: every NAME_invalid on disk has its Q
    journal_check "$J" "$what: after the kill"
    local unjournaled nq nopen
    nq=$(wc -l <"$tmp/q.tsv")
    nopen=$(awk -F'\t' '$2 == 0' "$tmp/q.tsv" | wc -l)
    printf '  %-22s delay %5s ms: killed %-3s %4d of %d renamed, %4d Q records, %d without D\n' \
        "$what" "${delay:--}" "$killed" "$renamed_count" "$NFILES" "$nq" "$nopen"
    unjournaled=$(cut -f5 "$tmp/q.tsv" | sort | comm -23 "$tmp/renamed" -)
    [[ -z $unjournaled ]] || fail "$what: renamed without a Q record: ${unjournaled:0:600}"
    # names and identities of the Q records: NAME -> NAME_invalid
    local badq
    badq=$(awk -F'\t' '$5 != $4 "_invalid" { print $4 " -> " $5 }' "$tmp/q.tsv" | head -3)
    [[ -z $badq ]] || fail "$what: Q records not NAME -> NAME_invalid: $badq"
    cp "$tmp/renamed" "$tmp/renamed.$iter"
    restore_check "$what" "$tmp/renamed.$iter"
}

echo "  (${NFILES} unsigned files; journal fsync'd before each rename)"
start=$(date +%s%N)
run_once "complete run" ""
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))

partial=0
delays=()
for ((k = 0; k < 4; k++)); do
    delay=$((30 + RANDOM % 171))
    delays+=("$delay")
    run_once "kill -9 #$((k + 1))" "$delay"
    ((renamed_count > 0 && renamed_count < NFILES)) && partial=$((partial + 1))
done
# none stopped part way: bisect the delay between "nothing renamed yet" and "all renamed"
lo=0 hi=$(( full_ms > 400 ? full_ms : 400 ))
tries=0
while ((partial == 0 && tries < 10)); do
    tries=$((tries + 1))
    delay=$(( (lo + hi) / 2 ))
    delays+=("$delay")
    run_once "kill -9 bisect #$tries" "$delay"
    if ((renamed_count == 0)); then lo=$delay
    elif ((renamed_count == NFILES)); then hi=$delay
    else partial=$((partial + 1)); fi
done
((partial > 0)) || fail "no kill stopped the quarantine part way (delays ${delays[*]} ms; complete run $full_ms ms)"

echo "quarantine_crash: seed $seed, delays ${delays[*]} ms, complete run $full_ms ms, $partial partial kill(s)"
if ((fails)); then
    echo "quarantine_crash: $fails failure(s)"
    exit 1
fi
echo "quarantine_crash: all checks passed"
