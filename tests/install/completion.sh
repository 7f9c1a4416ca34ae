#!/usr/bin/env bash
# tests/install/completion.sh SIGSWEEP COMPLETION-FILE
# The bash completion, driven as bash drives it (COMP_WORDS, COMP_CWORD, the function that
# `complete -p sigsweep` names): `sigsweep <TAB>` offers every command of `sigsweep --help`;
# `sigsweep CMD --<TAB>` every option of `sigsweep CMD --help` (groups: their commands, then
# each command's options); option values (--format, --hash, --mode, keygen --type); file names
# for FILE arguments and operands; cache's subcommand words.
set -uo pipefail
bin=$1 comp=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0 checks=0
fail() { echo "completion: FAIL: $*" >&2; fails=$((fails + 1)); }

# complete LINE...: the words of a command line (the last one being completed; '' for a new
# word), printed one candidate per line, by a fresh bash that sourced only the completion file.
complete_words() {
  (cd "$tmp/files" && bash --norc --noprofile -c '
    source "$1" || exit 3
    spec=$(complete -p sigsweep) || exit 4
    fn=$(sed -E "s/.*-F ([^ ]+).*/\1/" <<<"$spec")
    shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    "$fn" sigsweep "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" sigsweep "$@")
}
has() { # has "candidates" word...
  local c=$1; shift
  for w in "$@"; do
    checks=$((checks + 1))
    grep -qxF -- "$w" <<<"$c" || return 1
  done
}
expect() { # expect "what" "words on the line" -- candidates that must be offered
  local what=$1; shift
  local line=() ; while [ "$1" != "--" ]; do line+=("$1"); shift; done; shift
  local got; got=$(complete_words "${line[@]}")
  has "$got" "$@" || fail "$what: sigsweep ${line[*]}<TAB> offered: $(echo $got)"
}
reject() { # reject "what" "words" -- candidates that must not be offered
  local what=$1; shift
  local line=() ; while [ "$1" != "--" ]; do line+=("$1"); shift; done; shift
  local got; got=$(complete_words "${line[@]}")
  for w in "$@"; do grep -qxF -- "$w" <<<"$got" && fail "$what: offered '$w'"; done
}

mkdir -p "$tmp/files/keys.d" && touch "$tmp/files/server.crt" "$tmp/files/policy.ini"
out=$(bash --norc --noprofile -c 'source "$1"; complete -p sigsweep' _ "$comp") ||
  fail "sourcing $comp registers no completion for sigsweep"
[[ $out == "complete -F "* ]] || fail "complete -p sigsweep: $out"

usage_words() { # help text, prefix words: the command words of its usage lines
  sed -n -E "s/^(usage:|      ) +sigsweep ${2:+$2 }([a-z][a-z0-9-]*).*/\2/p" <<<"$1" | awk '!s[$0]++'
}
options_of() { # help text: every option name in its options: block
  sed -n '/^options:$/,$p' <<<"$1" | grep -oE '^  (-[A-Za-z0-9], )?(--[a-z0-9-]+|-[A-Za-z0-9])' |
    grep -oE -- '--?[a-z0-9A-Z-]+'
}

overview=$("$bin" --help)
mapfile -t cmds < <(usage_words "$overview" "")
[ ${#cmds[@]} -ge 8 ] || fail "only ${#cmds[@]} commands in sigsweep --help: ${cmds[*]}"
expect "commands" "" -- "${cmds[@]}" help
expect "a prefix" ver -- verify
reject "a prefix" ver -- sign trust
expect "help COMMAND" help "" -- "${cmds[@]}"
for c in "${cmds[@]}"; do
  h=$("$bin" "$c" --help)
  if grep -qF "\`sigsweep $c COMMAND --help\`" <<<"$h"; then
    mapfile -t subs < <(usage_words "$h" "$c")
    expect "$c's commands" "$c" "" -- "${subs[@]}"
    for s in "${subs[@]}"; do
      mapfile -t opts < <(options_of "$("$bin" "$c" "$s" --help)")
      [ ${#opts[@]} -gt 0 ] || fail "$c $s: no option in its help"
      expect "$c $s options" "$c" "$s" - -- "${opts[@]}"
    done
  else
    mapfile -t opts < <(options_of "$h")
    [ ${#opts[@]} -gt 0 ] || fail "$c: no option in its help"
    expect "$c options" "$c" - -- "${opts[@]}"
  fi
done

# Values and file names.
expect "--format values" verify --format "" -- text jsonl csv
expect "--format value prefix" verify --key server.crt --format j -- jsonl
reject "--format value prefix" verify --format j -- text csv
expect "trust list --format" trust list --format "" -- text jsonl
reject "trust list --format" trust list --format "" -- csv
expect "--hash values" verify --hash "" -- sha256 sha384 sha512
expect "--mode values" verify --mode "" -- enforce audit
expect "keygen --type values" keygen --type "" -- rsa2048 rsa3072 ec-p256 ed25519
expect "--key file names" verify --key s -- server.crt
expect "--policy file names" verify --policy p -- policy.ini
expect "--cache-dir directories" verify --cache-dir k -- keys.d
reject "--cache-dir directories" verify --cache-dir "" -- server.crt
expect "operands" verify --key server.crt "" -- server.crt policy.ini keys.d
expect "cache words" cache "" -- stats clear export
reject "no option values after a flag" verify --pss "" -- text

echo "completion: $checks candidates checked, $fails failures"
[ $fails -eq 0 ]
