#!/usr/bin/env python3
"""End-to-end check of `sigsweep package create|sign|verify` (issue 5).

usage: package_e2e.py --sigsweep BIN --package corpus/package.sh --outdir DIR
                      [--files N] [--large N] [--reuse]

Runs `bash package.sh DIR --files N --large N --lenient` (defaults 400 and 1: a signed
package, ~40 small variants, DIR/variants.tsv and DIR/expected.tsv), then, in DIR:
  - verify: one `sigsweep package verify VDIR --manifest M OPTIONS --format jsonl` per
    variant: the exit status of variants.tsv; stdout one JSON object per line with path,
    verdict and reason, a path at most once; exactly the records of expected.tsv (a verdict
    may be alternatives, NONE = no record is fine), their reason substrings (MALFORMED
    "line N" with no digit after it, DIGEST_MISMATCH "expected" and "got"); the manifest's
    own record has path = the --manifest argument; the last line of stderr is
    `package VALID` (exit 0) or `package NOT VALID (...)` (exit 1); nothing from a sanitizer;
  - under strace (when it works here): no file outside the package root (DIR/outside, the
    traversal targets) is ever opened by the symlink/traversal/absolute variants;
  - -j 1 and the default give the same records; text and csv give the same verdicts as jsonl;
  - create: byte-identical to coreutils (`find -type f | sort | sha256sum`) for the main
    package, the tricky-names package (spaces, backslashes, newlines, non-UTF-8), the packages
    with FIFOs and symlinks (not listed, no hang), --hash sha384/sha512; a manifest inside DIR
    is not listed; an existing MANIFEST is replaced by rename (new inode), no temp file left;
  - sign: the raw .sig is byte-identical to `openssl dgst -sha256 -sign` and verifies with
    openssl; --hash sha512 --pss verifies with openssl (PSS); --cert writes a .p7s that
    `openssl cms -verify` accepts; each of them verifies with `package verify`;
  - usage errors exit 2.
--reuse skips package.sh when DIR/expected.tsv exists. Exit status 0 when everything holds,
1 otherwise (each failure is printed), 77 (skip) when openssl or sha256sum is missing.
"""
import argparse
import csv
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

from sgs_cli import run_checked, status_checked

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

VERDICTS = {
    "VALID", "BAD_SIGNATURE", "DIGEST_MISMATCH", "NO_SIGNATURE", "MISSING_FILE", "EXTRA_FILE",
    "UNTRUSTED", "EXPIRED", "NOT_YET_VALID", "REVOKED", "KEY_MISMATCH", "MALFORMED",
    "UNSUPPORTED", "IO_ERROR", "CHANGED", "SKIPPED",
}
SUMMARY_OK = re.compile(r"package VALID$")
SUMMARY_BAD = re.compile(r"package NOT VALID \(.*\)$")
MAX_FAILURES_SHOWN = 80


def quote(cmd, cwd):
    return "(cd %s && %s)" % (shlex.quote(cwd), " ".join(shlex.quote(a) for a in cmd))


class Runner:
    def __init__(self, sigsweep, cwd, ck):
        self.bin = sigsweep
        self.cwd = cwd
        self.ck = ck

    def __call__(self, *args, prefix=(), env=None):
        cmd = list(prefix) + [self.bin] + list(args)
        text = quote([self.bin] + list(args), self.cwd)
        return run_checked(self.ck, cmd, self.cwd, text, env=env)

    def status(self, want, *args):
        return status_checked(self.ck, want, self(*args))


def rec_path(r):
    if "path_hex" in r and isinstance(r["path_hex"], str):
        return bytes.fromhex(r["path_hex"])
    return r["path"].encode("utf-8", "surrogateescape")


def parse_jsonl(text, stdout, ck):
    """-> {path bytes: record}"""
    recs = {}
    for n, line in enumerate(stdout.split(b"\n"), 1):
        if not line:
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            ck.check(False, "%s: stdout line %d is not JSON (%s): %r" % (text, n, e, line[:200]))
            continue
        if isinstance(r, dict) and "type" in r:
            continue  # the run record and run_end: not a file's record
        if not ck.check(isinstance(r, dict) and all(isinstance(r.get(k), str)
                                                    for k in ("path", "verdict", "reason")),
                        "%s: record without path/verdict/reason strings: %r" % (text, line[:300])):
            continue
        p = rec_path(r)
        ck.check(p not in recs, "%s: path %s reported twice" % (text, sgs_cli.esc(p)))
        ck.check(r["verdict"] in VERDICTS, "%s: %s: unknown verdict %r"
                 % (text, sgs_cli.esc(p), r["verdict"]))
        ck.check(r["reason"] != "", "%s: %s: empty reason" % (text, sgs_cli.esc(p)))
        recs[p] = r
    return recs


def unesc(s):
    return re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  s.encode("ascii"))


def load(out):
    variants = []
    with open(os.path.join(out, "variants.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            v, d, m, opts, ex = line.rstrip("\n").split("\t")
            variants.append((v, d, m, opts.split(), int(ex)))
    expected = {}
    with open(os.path.join(out, "expected.tsv"), encoding="ascii") as f:
        for line in f:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            expected.setdefault(cols[0], {})[unesc(cols[1])] = (cols[2].split("|"), cols[3:])
    return variants, expected


def has_sub(reason, sub):
    return re.search(re.escape(sub) + (r"(?!\d)" if sub[-1:].isdigit() else ""), reason)


def check_records(text, v, manifest, recs, want, ck):
    if any(p == b"MANIFEST" for p in want):
        want = {manifest.encode(): want[b"MANIFEST"]}
    for p, r in recs.items():
        if not ck.check(p in want, "%s: unexpected record %s: %s (%s)"
                        % (text, sgs_cli.esc(p), r["verdict"], r["reason"])):
            continue
    for p, (verdicts, subs) in want.items():
        r = recs.get(p)
        if r is None:
            ck.check("NONE" in verdicts, "%s: no record for %s (want %s)"
                     % (text, sgs_cli.esc(p), "|".join(verdicts)))
            continue
        if not ck.check(r["verdict"] in verdicts, "%s: %s: %s (%s), want %s"
                        % (text, sgs_cli.esc(p), r["verdict"], r["reason"], "|".join(verdicts))):
            continue
        for sub in subs:
            ck.check(has_sub(r["reason"], sub), "%s: %s: %s reason %r lacks %r"
                     % (text, sgs_cli.esc(p), r["verdict"], r["reason"], sub))


def last_line(err):
    lines = [l for l in err.decode(errors="replace").split("\n") if l.strip()]
    return lines[-1].rstrip() if lines else ""


def coreutils_manifest(d, tool="sha256sum", exclude=()):
    ex = " ".join("! -path ./%s" % shlex.quote(e) for e in exclude)
    cmd = ("cd %s && find . -type f %s -print0 | LC_ALL=C sort -z | sed -z 's|^\\./||' | "
           "xargs -0 -r %s --" % (shlex.quote(d), ex, tool))
    return subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, check=True,
                          env=dict(os.environ, LC_ALL="C")).stdout


def first_diff(a, b):
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            return "line %d: coreutils %r, sigsweep %r" % (i, x[:160], y[:160])
    return "lines: coreutils %d, sigsweep %d" % (len(la), len(lb))


STRACE = ("strace", "-f", "-qq", "-y", "-e",
          "trace=open,openat,openat2,open_by_handle_at,execve", "-o")


def strace_works(out):
    if not shutil.which("strace"):
        return False
    p = subprocess.run(STRACE + ("/dev/null", "true"), cwd=out,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return p.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--package", required=True, help="corpus/package.sh")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--large", type=int, default=1)
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    for tool in ("openssl", "sha256sum", "sha384sum", "sha512sum"):
        if not shutil.which(tool):
            print("package_e2e: SKIP: %s not found" % tool)
            return 77
    sigsweep = os.path.abspath(a.sigsweep)
    out = os.path.abspath(a.outdir)
    if not (a.reuse and os.path.exists(os.path.join(out, "expected.tsv"))):
        p = subprocess.run(["bash", a.package, out, "--files", str(a.files), "--large",
                            str(a.large), "--sigsweep", sigsweep, "--lenient"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if p.returncode != 0:
            sys.stdout.write(p.stdout.decode(errors="replace"))
            sys.stdout.write(p.stderr.decode(errors="replace"))
            print("package_e2e: FAIL: package.sh exit %d" % p.returncode)
            return 1
        for line in p.stderr.decode(errors="replace").splitlines():
            if "warning" in line:
                print(line)
    ck = sgs_cli.Checker()
    run = Runner(sigsweep, out, ck)
    variants, expected = load(out)
    work = os.path.join(out, "work", "e2e")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    # 1. Every variant, JSON Lines.
    results = {}
    for v, d, m, opts, want_rc in variants:
        args = ["package", "verify", d, "--manifest", m] + opts + ["--format", "jsonl"]
        rc, so, se, text = run(*args)
        ck.check(rc == want_rc, "%s: exit %d, want %d; stderr: %s"
                 % (text, rc, want_rc, se.decode(errors="replace")[-400:]))
        recs = parse_jsonl(text, so, ck)
        results[v] = (args, recs)
        check_records(text, v, m, recs, expected.get(v, {}), ck)
        tail = last_line(se)
        if rc == 0:
            ck.check(SUMMARY_OK.search(tail), "%s: exit 0 but last stderr line %r is not "
                     "'package VALID'" % (text, tail))
        else:
            ck.check(SUMMARY_BAD.search(tail), "%s: exit %d but last stderr line %r is not "
                     "'package NOT VALID (...)'" % (text, rc, tail))
        # safety: whatever the verdicts, nothing outside the root is VALID
        for p, r in recs.items():
            if b"outside" in p or b"escape" in p or b"linkdir" in p or p.startswith(b"/"):
                ck.check(r["verdict"] != "VALID", "%s: %s is VALID: a link or path out of "
                         "the package root was followed" % (text, sgs_cli.esc(p)))

    # 2. strace: no file outside the package root is ever opened.
    if strace_works(out):
        forbidden = [os.path.join(out, "outside") + "/"]
        for v in ("traversal", "traversal-mid"):
            forbidden += [os.path.join(out, "variants", v, "x"),
                          os.path.join(out, "variants", v, "y") + "/"]
        for v in ("symlink-outside", "traversal", "traversal-mid", "absolute", "special"):
            if v not in results:
                continue
            log = os.path.join(work, "strace-%s.log" % v)
            # LeakSanitizer cannot run under ptrace
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS", ""),
                                                       "detect_leaks=0") if x)
            rc, so, se, text = run(*results[v][0], prefix=STRACE + (log,), env=env)
            opened = []
            with open(log, "rb") as f:
                for line in f:
                    m_ = re.search(rb"= (\d+)<([^>]*)>\s*$", line)
                    if m_:
                        opened.append(m_.group(2).decode(errors="replace"))
            bad = [o for o in opened if any(o == f.rstrip("/") or o.startswith(f)
                                           for f in forbidden)]
            ck.check(not bad, "%s (under strace): opened outside the root: %s" % (text, bad[:5]))
            ck.check(len(opened) > 0, "%s: strace saw no open at all (%s)" % (text, log))
    else:
        print("package_e2e: note: strace unusable here, open() audit skipped")

    # 3. -j 1 vs default; text and csv vs jsonl.
    for v in ("main", "byte-changed", "renamed", "tricky-names", "symlink-outside", "special",
              "ignore-off", "mixed"):
        if v not in results:
            continue
        args, recs = results[v]
        rc, so, se, text = run(*args, "-j", "1")
        recs1 = parse_jsonl(text, so, ck)
        canon = lambda rs: sorted(json.dumps(r, sort_keys=True) for r in rs.values())
        ck.check(canon(recs1) == canon(recs), "%s: -j 1 records differ from the default's "
                 "(%d vs %d records)" % (text, len(recs1), len(recs)))
    for v in ("byte-changed", "renamed", "ignore-off", "duplicate", "tricky-names"):
        if v not in results:
            continue
        args, recs = results[v]
        base = args[:-2]
        rc, so, se, text = run(*base, "--format", "csv")
        rows = list(csv.reader(io.StringIO(so.decode("utf-8", "surrogateescape"), newline="")))
        header = rows[0] if rows else []
        if ck.check("verdict" in header and "path" in header,
                    "%s: csv has no header with path and verdict: %r" % (text, header)):
            pi, vi = header.index("path"), header.index("verdict")
            got = sorted(r[vi] for r in rows[1:] if r)
            ck.check(got == sorted(r["verdict"] for r in recs.values()),
                     "%s: csv verdicts %s differ from jsonl's" % (text, got))
            if v != "tricky-names":
                paths = sorted(r[pi] for r in rows[1:] if r)
                ck.check(paths == sorted(r["path"] for r in recs.values()),
                         "%s: csv paths differ from jsonl's" % text)
        rc, so, se, text = run(*base)
        txt = so.decode("utf-8", "replace")
        if v != "tricky-names":
            for r in recs.values():
                ck.check("%s: %s" % (r["path"], r["verdict"]) in txt,
                         "%s: text output lacks '%s: %s'" % (text, r["path"], r["verdict"]))

    # 4. package create vs coreutils.
    def create(d, dst, *extra, want=0):
        rc, so, se, text = run.status(want, "package", "create", d, "--out", dst, *extra)
        data = None
        if os.path.exists(os.path.join(out, dst)):
            with open(os.path.join(out, dst), "rb") as f:
                data = f.read()
        return data, text

    def same(text, got, ref):
        ck.check(got == ref, "%s: differs from coreutils: %s"
                 % (text, first_diff(ref, got or b"") if got is not None else "no output"))

    main_ref = coreutils_manifest(os.path.join(out, "pkg"))
    got, text = create("pkg", "work/e2e/main.sha256")
    same(text, got, main_ref)
    with open(os.path.join(out, "pkg.sha256"), "rb") as f:
        ck.check(f.read() == main_ref, "pkg.sha256 (package.sh) differs from coreutils output")
    for v in ("tricky-names", "special", "symlink-outside", "openssl-r", "tag"):
        d = os.path.join("variants", v, "pkg")
        got, text = create(d, "work/e2e/%s.sha256" % v)
        same(text, got, coreutils_manifest(os.path.join(out, d)))
    with open(os.path.join(out, "variants/tricky-names/pkg.sha256"), "rb") as f:
        tricky_ref = f.read()
    ck.check(b"\\" in tricky_ref and b"\\n" in tricky_ref,
             "the tricky-names manifest has no escaped names (package.sh bug)")
    got, text = create("variants/tricky-names/pkg", "work/e2e/tricky2.sha256")
    same(text, got, tricky_ref)
    for h in ("sha384", "sha512"):
        d = "variants/%s/pkg" % ("sha512" if h == "sha512" else "sha384-binary")
        got, text = create(d, "work/e2e/%s.%s" % (h, h), "--hash", h)
        same(text, got, coreutils_manifest(os.path.join(out, d), h + "sum"))
    # a manifest inside DIR: not listed, and listing again (it exists now) gives the same
    inside = os.path.join(work, "inside")
    shutil.copytree(os.path.join(out, "variants/manifest-inside/pkg"), inside, symlinks=True)
    for n in ("SHA256SUMS", "SHA256SUMS.sig"):
        os.unlink(os.path.join(inside, n))
    ref = coreutils_manifest(inside)
    with open(os.path.join(inside, "SHA256SUMS"), "wb") as f:
        f.write(b"old content to be replaced\n")
    ino = os.stat(os.path.join(inside, "SHA256SUMS")).st_ino
    before = sorted(os.listdir(inside))
    got, text = create("work/e2e/inside", "work/e2e/inside/SHA256SUMS")
    same(text, got, ref)
    ck.check(os.stat(os.path.join(inside, "SHA256SUMS")).st_ino != ino,
             "%s: an existing MANIFEST was rewritten in place, not replaced by rename" % text)
    ck.check(sorted(os.listdir(inside)) == before, "%s: files left behind in DIR: %s"
             % (text, sorted(set(os.listdir(inside)) - set(before))))
    got, text = create("work/e2e/inside", "work/e2e/inside/SHA256SUMS")
    same(text, got, ref)
    # package create leaves no temp file next to an outside MANIFEST either
    made = {"main.sha256", "tricky2.sha256", "sha384.sha384", "sha512.sha512", "inside"}
    made |= {"%s.sha256" % v for v in ("tricky-names", "special", "symlink-outside",
                                       "openssl-r", "tag")}
    leftovers = sorted(x for x in os.listdir(work) if x not in made and not x.startswith("strace-"))
    ck.check(not leftovers, "package create left files in work/e2e: %s" % leftovers)

    # 5. package sign (raw, PSS, CMS) -> openssl accepts, package verify VALID.
    def openssl_ok(*args):
        p = subprocess.run(("openssl",) + args, cwd=out, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=False)
        return p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace")[-400:]

    def verify_valid(m, *opts):
        rc, so, se, text = run("package", "verify", "pkg", "--manifest", m, *opts,
                               "--format", "jsonl")
        recs = parse_jsonl(text, so, ck)
        ck.check(rc == 0 and recs and all(r["verdict"] == "VALID" for r in recs.values()),
                 "%s: exit %d, verdicts %s; %s" % (text, rc, sorted({r["verdict"] for r in
                                                   recs.values()}), last_line(se)))

    for sub in ("raw", "pss", "cms", "cms-certfile"):
        os.makedirs(os.path.join(work, sub))
        shutil.copyfile(os.path.join(out, "pkg.sha256"), os.path.join(work, sub, "pkg.sha256"))
    m = "work/e2e/raw/pkg.sha256"
    rc, so, se, text = run.status(0, "package", "sign", "--key", "keys/signer.key", m)
    ok, msg = openssl_ok("dgst", "-sha256", "-sign", "keys/signer.key", "-out",
                         "work/e2e/raw/openssl.sig", m)
    if ck.check(os.path.exists(os.path.join(out, m + ".sig")), "%s: no %s.sig" % (text, m)):
        with open(os.path.join(out, m + ".sig"), "rb") as f1, \
                open(os.path.join(out, "work/e2e/raw/openssl.sig"), "rb") as f2:
            ck.check(f1.read() == f2.read(), "%s: .sig differs from `openssl dgst -sha256 "
                     "-sign` (RSA PKCS#1 v1.5 is deterministic)" % text)
        ok, msg = openssl_ok("dgst", "-sha256", "-verify", "keys/signer.pub", "-signature",
                             m + ".sig", m)
        ck.check(ok, "openssl rejects %s.sig: %s" % (m, msg))
        verify_valid(m, "--key", "keys/signer.pub")
        rc, so, se, text = run.status(1, "package", "verify", "pkg", "--manifest", m, "--key",
                                      "keys/other.pub", "--format", "jsonl")
        recs = parse_jsonl(text, so, ck)
        ck.check([r["verdict"] for r in recs.values()] == ["BAD_SIGNATURE"] and m.encode() in recs,
                 "%s: want one BAD_SIGNATURE record for %s, got %s"
                 % (text, m, [(sgs_cli.esc(p), r["verdict"]) for p, r in recs.items()][:5]))
    m = "work/e2e/pss/pkg.sha256"
    rc, so, se, text = run.status(0, "package", "sign", "--key", "keys/signer.key", "--hash",
                                  "sha512", "--pss", m)
    if ck.check(os.path.exists(os.path.join(out, m + ".sig")), "%s: no %s.sig" % (text, m)):
        ok, msg = openssl_ok("dgst", "-sha512", "-verify", "keys/signer.pub", "-sigopt",
                             "rsa_padding_mode:pss", "-signature", m + ".sig", m)
        ck.check(ok, "openssl (sha512, PSS) rejects %s.sig: %s" % (m, msg))
        verify_valid(m, "--key", "keys/signer.pub", "--hash", "sha512", "--pss")
    for sub, extra in (("cms", []), ("cms-certfile", ["--certfile", "keys/ca.crt"])):
        m = "work/e2e/%s/pkg.sha256" % sub
        rc, so, se, text = run.status(0, "package", "sign", "--cert", "keys/leaf.crt",
                                      "--key", "keys/leaf.key", *extra, m)
        if ck.check(os.path.exists(os.path.join(out, m + ".p7s")), "%s: no %s.p7s" % (text, m)):
            ok, msg = openssl_ok("cms", "-verify", "-binary", "-inform", "DER", "-in",
                                 m + ".p7s", "-content", m, "-CAfile", "keys/ca.crt",
                                 "-purpose", "any", "-out", "/dev/null")
            ck.check(ok, "openssl cms -verify rejects %s.p7s: %s" % (m, msg))
            verify_valid(m, "--trust", "keys/ca.crt", "--purpose", "codesign")
            # the .p7s wins over a .sig that is garbage
            with open(os.path.join(out, m + ".sig"), "wb") as f:
                f.write(b"garbage\n")
            verify_valid(m, "--trust", "keys/ca.crt", "--purpose", "codesign")

    # 6. Usage errors.
    k = ["--key", "keys/signer.pub"]
    run.status(2, "package", "verify", "pkg", *k)
    run.status(2, "package", "verify", "--manifest", "pkg.sha256", *k)
    run.status(2, "package", "verify", "pkg", "--manifest", "pkg.sha256", *k, "--format", "xml")
    run.status(2, "package", "verify", "pkg", "--manifest", "pkg.sha256", "--key",
               "keys/nonexistent.pub")
    run.status(2, "package", "verify", "pkg", "--manifest", "pkg.sha256", "--key",
               "keys/signer.key")
    run.status(2, "package", "verify", "pkg", "--manifest", "pkg.sha256", *k, "--bogus")
    run.status(2, "package", "create", "pkg")
    run.status(2, "package", "create", "pkg", "--out", "work/e2e/x.sha256", "--hash", "md5")
    run.status(2, "package", "sign", "work/e2e/raw/pkg.sha256")
    # --cms is gone (issue 12): --cert is what makes a CMS signature; no option does nothing
    rc, so, se, text = run.status(2, "package", "sign", "--cms", "--cert", "keys/leaf.crt",
                                  "--key", "keys/leaf.key", "work/e2e/raw/pkg.sha256")
    ck.check(b"--cms" in se, "%s: the diagnostic does not name --cms: %r" % (text, se))
    run.status(2, "verify", "--cms", "--key", "keys/signer.pub", "pkg")
    run.status(2, "package", "frobnicate")

    n_rec = sum(len(r) for _, r in results.values())
    return ck.finish("package_e2e", "%d variants, %d records" % (len(variants), n_rec),
                     MAX_FAILURES_SHOWN)


if __name__ == "__main__":
    sys.exit(main())
