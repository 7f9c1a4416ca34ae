#!/usr/bin/env python3
"""End-to-end check of `sigsweep verify` on CMS signatures and certificate chains (issue 3).

usage: trust_e2e.py --sigsweep BIN --pki corpus/pki.sh --outdir DIR [--reuse] [--only REGEX]

Runs `bash pki.sh DIR` (a test PKI, CMS/PKCS#7-signed files and DIR/cases.tsv), then, in DIR,
one `sigsweep verify --format jsonl ARGS INPUTS...` per distinct ARGS of cases.tsv and asserts:
  - exit status 0 when every input of the run is expected VALID, 1 otherwise; nothing from a
    sanitizer on stderr;
  - stdout is one JSON object per line with path, verdict, reason, alg, signer, digest, size,
    exactly one record per input and none for anything else (signature files are no inputs);
  - every input gets exactly the expected verdict and its reason matches the case's regex
    (re.search); VALID records name the signer (SPKI SHA-256 of the signer certificate's key,
    per signers.tsv) and the file's size;
  - a run of only the VALID inputs of an args set exits 0 with the same verdicts, -j 1
    gives the same verdicts as the default for the largest run, and the folder files/ given
    as one directory input yields one record per signed file (none for .p7s/.sig files)
    with the same verdicts;
  - the table itself: every accept case has its reject twins (the same file with one byte
    flipped, same args -> BAD_SIGNATURE; the same file under a wrong trust store -> UNTRUSTED).
--reuse skips pki.sh when DIR/cases.tsv exists; --only runs the cases whose name matches.
Exit status 0 when everything holds, 1 otherwise (each failure is printed), 77 (skip) when
the openssl CLI is missing.
"""
import argparse
import collections
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

REQUIRED = ("path", "verdict", "reason", "alg", "signer", "digest", "size")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_FAILURES_SHOWN = 60
RUN_TIMEOUT = 60

def trust_free(args):
    """args without the trust-store options (--trust X, --trust-system)."""
    words = args.split()
    out = []
    i = 0
    while i < len(words):
        if words[i] == "--trust":
            i += 2
            continue
        if words[i] != "--trust-system":
            out.append(words[i])
        i += 1
    return out


def check_table(cases, ck):
    """The case table is sound: known verdicts, valid regexes, unique rows, twins present."""
    sgs_cli.check_cases(cases, ck, ("VALID", "BAD_SIGNATURE", "UNTRUSTED", "EXPIRED",
                                    "NOT_YET_VALID", "REVOKED", "MALFORMED"))
    by_row = {(c.args, c.input): c for c in cases}
    for c in cases:
        if c.verdict != "VALID":
            continue
        if not c.input.startswith("files/"):
            ck.fail("cases.tsv: %s: VALID input outside files/: %s" % (c.name, c.input))
            continue
        twin = by_row.get((c.args, "tampered/" + c.input[len("files/"):]))
        ck.check(twin is not None and twin.verdict == "BAD_SIGNATURE",
                 "cases.tsv: %s: no tampered twin (same args, BAD_SIGNATURE)" % c.name)
        rest = trust_free(c.args)
        ck.check(any(o.input == c.input and o.verdict == "UNTRUSTED" and o.args != c.args
                     and trust_free(o.args) == rest for o in cases),
                 "cases.tsv: %s: no wrong-trust twin (UNTRUSTED with other trust options)"
                 % c.name)


def norm(p):
    return os.path.normpath(p)


def run(sigsweep, outdir, args, inputs):
    cmd = [sigsweep, "verify", "--format", "jsonl"] + args + inputs
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=outdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return cmd, None, b"", b"timeout after %ds" % RUN_TIMEOUT, time.monotonic() - t0
    return cmd, p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def show_cmd(outdir, cmd):
    return "cd %s && %s" % (shlex.quote(outdir), " ".join(shlex.quote(w) for w in cmd))


def parse_records(cmd_text, stdout, ck):
    """Records by normalised path, or None when stdout is unusable."""
    try:
        text = stdout.decode("utf-8")
    except UnicodeDecodeError:
        ck.fail("%s: stdout is not UTF-8" % cmd_text)
        return None
    recs = collections.defaultdict(list)
    for n, line in enumerate(text.splitlines(), 1):
        try:
            r = json.loads(line)
        except ValueError:
            ck.fail("%s: stdout line %d is not JSON: %r" % (cmd_text, n, line[:200]))
            return None
        if isinstance(r, dict) and "type" in r:
            continue  # the run record and run_end: not a file's record
        if not ck.check(isinstance(r, dict) and all(k in r for k in REQUIRED),
                        "%s: line %d lacks keys %s: %r" % (cmd_text, n, REQUIRED, line[:200])):
            continue
        recs[norm(r["path"])].append(r)
    return recs


def check_run(sigsweep, outdir, args, group, signers, ck, label=""):
    """Run one invocation over the cases of group; return {input: verdict}."""
    inputs = [c.input for c in group]
    cmd, rc, out, err, secs = run(sigsweep, outdir, args, inputs)
    what = show_cmd(outdir, cmd) + label
    for mark in sgs_cli.SANITIZER_MARKS:
        if mark in err:
            ck.fail("%s: sanitizer report on stderr:\n%s"
                    % (what, err.decode("utf-8", "replace")[:3000]))
            break
    if rc is None or rc not in (0, 1):
        ck.fail("%s: exit status %s (want 0 or 1); stderr:\n%s"
                % (what, rc, err.decode("utf-8", "replace")[:2000]))
        return {}
    want_rc = 0 if all(c.verdict == "VALID" for c in group) else 1
    ck.check(rc == want_rc, "%s: exit status %d, want %d" % (what, rc, want_rc))
    recs = parse_records(what, out, ck)
    if recs is None:
        return {}
    wanted = {norm(i) for i in inputs}
    for p in recs:
        ck.check(p in wanted, "%s: record for a path not given: %s (%s)"
                 % (what, p, recs[p][0]["verdict"]))
    got = {}
    for c in group:
        rs = recs.get(norm(c.input), [])
        if not ck.check(len(rs) == 1, "%s\n  %s: %d records for %s, want 1"
                        % (what, c.name, len(rs), c.input)):
            continue
        r = rs[0]
        got[c.input] = r["verdict"]
        head = "%s: %s %s\n    expected %s /%s/\n    got      %s %r" % (
            c.name, c.args, c.input, c.verdict, c.regex, r["verdict"], r["reason"])
        if not ck.check(r["verdict"] == c.verdict, head + label):
            continue
        if not ck.check(isinstance(r["reason"], str)
                        and re.search(c.regex, r["reason"], re.S) is not None,
                        head + "  (reason does not match)" + label):
            continue
        if c.verdict == "VALID":
            want_fpr = signers.get(c.input)
            ck.check(want_fpr is not None and r["signer"] == want_fpr,
                     "%s: %s: signer %r, want %r" % (c.name, c.input, r["signer"], want_fpr))
            size = os.path.getsize(os.path.join(outdir, c.input))
            ck.check(r["size"] == size, "%s: %s: size %r, want %d"
                     % (c.name, c.input, r["size"], size))
    return got


def check_walk(sigsweep, outdir, cases, ck, args=("--trust", "trust"), folder="files"):
    """A directory input: a record for every signed file and none for a .p7s or .sig file,
    with the same verdicts as when the files are named one by one."""
    expect = {norm(c.input): c.verdict for c in cases
              if c.args == " ".join(args) and c.input.startswith(folder + "/")}
    cmd, rc, out, err, _ = run(sigsweep, outdir, list(args), [folder])
    what = show_cmd(outdir, cmd)
    if not ck.check(rc in (0, 1), "%s: exit status %s; stderr:\n%s"
                    % (what, rc, err.decode("utf-8", "replace")[:2000])):
        return
    recs = parse_records(what, out, ck)
    if recs is None:
        return
    names = sorted(os.listdir(os.path.join(outdir, folder)))
    want = {norm(os.path.join(folder, n)) for n in names if not n.endswith((".p7s", ".sig"))}
    ck.check(set(recs) == want, "%s: records for %s, want %s"
             % (what, sorted(set(recs) - want) or "-", sorted(want - set(recs)) or "-"))
    for p, rs in recs.items():
        if p in expect and len(rs) == 1:
            ck.check(rs[0]["verdict"] == expect[p], "%s: %s is %s, named alone %s"
                     % (what, p, rs[0]["verdict"], expect[p]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--pki", required=True, help="path of corpus/pki.sh")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--reuse", action="store_true", help="keep an existing OUTDIR/cases.tsv")
    ap.add_argument("--only", help="only the cases whose name matches this regex")
    opt = ap.parse_args()

    if shutil.which("openssl") is None:
        print("trust_e2e: SKIP: the openssl CLI is not installed")
        return 77
    outdir = os.path.abspath(opt.outdir)
    sigsweep = os.path.abspath(opt.sigsweep)
    t0 = time.monotonic()
    if not (opt.reuse and os.path.exists(os.path.join(outdir, "cases.tsv"))):
        p = subprocess.run(["bash", opt.pki, outdir])
        if p.returncode != 0:
            print("trust_e2e: FAIL: %s %s exited %d" % (opt.pki, outdir, p.returncode))
            return 1
    t_gen = time.monotonic() - t0

    ck = sgs_cli.Checker()
    cases = sgs_cli.read_cases(os.path.join(outdir, "cases.tsv"))
    signers = sgs_cli.read_signers(os.path.join(outdir, "signers.tsv"))
    check_table(cases, ck)
    if opt.only:
        cases = [c for c in cases if re.search(opt.only, c.name)]

    groups = collections.OrderedDict()
    for c in cases:
        groups.setdefault(c.args, []).append(c)
    runs = 0
    for args, group in groups.items():
        argv = args.split()
        got = check_run(sigsweep, outdir, argv, group, signers, ck)
        runs += 1
        valid = [c for c in group if c.verdict == "VALID"]
        if valid and len(valid) < len(group):
            again = check_run(sigsweep, outdir, argv, valid, signers, ck,
                              label="\n    (run of the VALID inputs only)")
            runs += 1
            for c in valid:
                if c.input in got and c.input in again:
                    ck.check(got[c.input] == again[c.input],
                             "%s: %s alone %s, in the full run %s"
                             % (c.name, c.input, again[c.input], got[c.input]))
    if groups:
        args, group = max(groups.items(), key=lambda kv: len(kv[1]))
        one = check_run(sigsweep, outdir, ["-j", "1"] + args.split(), group, signers, ck,
                        label="\n    (-j 1)")
        runs += 1
        ck.check(len(one) == len(group), "-j 1 run of '%s' lost records" % args)

    if not opt.only:
        check_walk(sigsweep, outdir, cases, ck)
        runs += 1

    secs = time.monotonic() - t0
    return ck.finish("trust_e2e", "%d cases, %d args sets, %d runs (%.1fs, pki.sh %.1fs)"
                     % (len(cases), len(groups), runs, secs, t_gen), MAX_FAILURES_SHOWN)


if __name__ == "__main__":
    sys.exit(main())
