#!/usr/bin/env python3
"""End-to-end check of `sigsweep verify` on Authenticode-signed Windows PE files.

usage: pe_e2e.py SIGSWEEP_BIN CORPUS_SCRIPT WORKDIR [--regenerate | --reuse] [--only REGEX]

CORPUS_SCRIPT is corpus/pe.sh. It writes into WORKDIR a test PKI, mingw-built PE32/PE32+
programs and a DLL, ~40 signed, nested, timestamped (RFC 3161 and legacy countersignature, from
corpus/pe/legacy_tsa.py on 127.0.0.1), sbsign-signed (section-sorted hash, with and without a
gap between sections), stuffed, tampered and truncated copies (WORKDIR/files),
WORKDIR/cases.tsv, signers.tsv and oracle.tsv (osslsigncode's verdicts). The script is run
when WORKDIR has no complete corpus or one older than the script or its sources
(--regenerate: always; --reuse: never when cases.tsv exists). Then, in WORKDIR, one
`sigsweep verify --format jsonl ARGS INPUTS...` per distinct ARGS of cases.tsv, asserting:
  - exit status 0 when every input of the run is expected VALID, 1 otherwise; nothing from a
    sanitizer on stderr;
  - stdout is one JSON object per line with path, verdict, reason and format, exactly one
    record per input, none for anything else, and "format": "authenticode" on every one;
  - every input gets the expected verdict and its reason matches the case's regex
    (re.search); a VALID record names the primary signer (the SPKI SHA-256 of signers.tsv;
    not checked under --uefi, where another signature may be the one that verifies) when it
    has a signer field, and the file's size when it has a size field;
  - the oracle: one more run with the arguments that match osslsigncode's verify command
    (oracle.tsv's "sigsweep-args" header) over every input of oracle.tsv; wherever
    osslsigncode's accept/reject (rc 0 = accept) differs from sigsweep's (VALID = accept),
    the file must be in ORACLE_DISAGREEMENTS below with that direction. A new disagreement
    fails the test; a listed one that no longer disagrees is only reported.
  - CSV: a nested-signature record has every JSON Lines key as a column, in the same order,
    with the same Authenticode fields (signatures as the JSON array).
Exit status 0 when everything holds, 1 otherwise (each failure is printed), 77 (skip) when
mingw-w64 (x86_64-w64-mingw32-gcc), osslsigncode or the openssl CLI is missing. sbsign
(sbsigntool) is optional: without it the uefi_* cases are not made (a NOTE says so), as the
RFC 3161 and legacy timestamp cases are not with an osslsigncode that cannot make them.
"""
import argparse
import collections
import csv
import io
import json
import os
import tempfile
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

REQUIRED = ("path", "verdict", "reason")
TOOLS = ("x86_64-w64-mingw32-gcc", "osslsigncode", "openssl")
OPTIONAL_TOOLS = {"sbsign": "sbsigntool: the uefi_* (section-sorted hash) cases"}
STAMP = ".sgs-pe"
JOBS = []  # ["-j", N] from --jobs
MAX_FAILURES_SHOWN = 60

# Files on which sigsweep and osslsigncode (verify -CAfile root.pem -TSA-CAfile tsa-root.pem)
# are expected to disagree: name -> (osslsigncode accepts?, why sigsweep's verdict is right
# [, a regex the osslsigncode version (oracle.tsv's first line) must match: only there]).
# corpus/pe.sh's header explains each at length.
ORACLE_DISAGREEMENTS = {
    "weak_md5.exe": (True, "osslsigncode accepts an MD5 image hash; sigsweep refuses MD5 "
                           "(UNSUPPORTED): collisions make the signed digest meaningless"),
    "rogue_nested_valid.exe": (True, "osslsigncode accepts if ANY signature verifies; nested "
                                     "signatures are unauthenticated, so sigsweep lets the "
                                     "primary decide (UNTRUSTED; --uefi for any)"),
    "stuffed_certtable.exe": (True, "osslsigncode ignores bytes after the PKCS#7 inside the "
                                    "WIN_CERTIFICATE (CVE-2013-3900); sigsweep: MALFORMED "
                                    "unless --lenient"),
    "two_wincert.exe": (False, "osslsigncode rejects a table with two WIN_CERTIFICATE entries "
                               "as corrupt; the layout is legal (shimx64.efi.signed) and the "
                               "first entry verifies: sigsweep VALID"),
    "uefi_nogap.efi": (False, "osslsigncode 2.5 says 'Invalid signature' to sbsign's PKCS#7 "
                              "(2.9 accepts it, as for Debian's sbsign-signed shim-helpers): "
                              "the image hash and chain are good, sigsweep VALID",
                       r"^osslsigncode 2\.[0-8]\b"),
}

def read_oracle(path):
    """({input: (rc, summary)}, {header key: value})"""
    rows, head = {}, {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("# "):
                if n == 1:
                    head["version"] = line[2:]
                key, sep, val = line[2:].partition(": ")
                if sep and "\t" not in key:
                    head[key] = val
                continue
            if not line:
                continue
            cols = line.split("\t")
            if len(cols) != 3 or not re.fullmatch(r"-?\d+", cols[1]):
                raise SystemExit("%s:%d: want input<TAB>rc<TAB>summary" % (path, n))
            rows[cols[0]] = (int(cols[1]), cols[2])
    if "sigsweep-args" not in head:
        raise SystemExit("%s: no '# sigsweep-args:' header" % path)
    return rows, head


def norm(p):
    return os.path.normpath(p)


def check_table(cases, outdir, ck):
    sgs_cli.check_cases(cases, ck, ("VALID", "BAD_SIGNATURE", "UNTRUSTED", "EXPIRED",
                                    "MALFORMED", "UNSUPPORTED", "NO_SIGNATURE"))
    for c in cases:
        ck.check(os.path.isfile(os.path.join(outdir, c.input)),
                 "cases.tsv: %s: no file %s" % (c.name, c.input))


def run(ck, sigsweep, outdir, args, inputs, label=""):
    """Run one invocation; return ({path: [records]}, rc, command text) or (None, rc, text)."""
    cmd = [sigsweep, "verify", "--format", "jsonl"] + JOBS + args + inputs
    text = "[sigsweep verify --format jsonl %s <%d inputs>%s]" % (" ".join(args), len(inputs),
                                                               label)
    rc, out, err, _ = sgs_cli.run_checked(ck, cmd, outdir, text)
    if rc not in (0, 1):
        ck.fail("%s: exit status %s (want 0 or 1); stderr:\n%s"
                % (text, rc, err.decode("utf-8", "replace")[-2000:]))
        return None, rc, text
    try:
        lines = out.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        ck.fail("%s: stdout is not UTF-8" % text)
        return None, rc, text
    recs = collections.defaultdict(list)
    bad_format = []
    for n, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
        except ValueError:
            ck.fail("%s: stdout line %d is not JSON: %r" % (text, n, line[:200]))
            return None, rc, text
        if isinstance(r, dict) and "type" in r:
            continue  # the run record and run_end: not a file's record
        if not ck.check(isinstance(r, dict) and all(k in r for k in REQUIRED),
                        "%s: line %d lacks keys %s: %r" % (text, n, REQUIRED, line[:200])):
            continue
        if r.get("format") != "authenticode":
            bad_format.append("%s (%r)" % (r["path"], r.get("format")))
        recs[norm(r["path"])].append(r)
    ck.check(not bad_format, "%s: %d records without \"format\": \"authenticode\": %s"
             % (text, len(bad_format), ", ".join(bad_format[:8])
                + (" ..." if len(bad_format) > 8 else "")))
    wanted = {norm(i) for i in inputs}
    for p in recs:
        ck.check(p in wanted, "%s: record for a path not given: %s" % (text, p))
    return recs, rc, text


def one_record(ck, recs, inp, text, what):
    rs = recs.get(norm(inp), [])
    if ck.check(len(rs) == 1, "%s\n  %s: %d records for %s, want 1" % (text, what, len(rs), inp)):
        return rs[0]
    return None


def check_group(ck, sigsweep, outdir, args, group, signers):
    """Run one args set over its cases; return {input: verdict}."""
    recs, rc, text = run(ck, sigsweep, outdir, args.split(), [c.input for c in group])
    if recs is None:
        return {}
    want_rc = 0 if all(c.verdict == "VALID" for c in group) else 1
    ck.check(rc == want_rc, "%s: exit status %d, want %d" % (text, rc, want_rc))
    got = {}
    for c in group:
        r = one_record(ck, recs, c.input, text, c.name)
        if r is None:
            continue
        got[c.input] = r["verdict"]
        head = "%s: %s %s\n    expected %s /%s/\n    got      %s %r" % (
            c.name, c.args, c.input, c.verdict, c.regex, r["verdict"], r["reason"])
        if not ck.check(r["verdict"] == c.verdict, head):
            continue
        if not ck.check(isinstance(r["reason"], str)
                        and re.search(c.regex, r["reason"], re.S) is not None,
                        head + "  (reason does not match)"):
            continue
        if c.verdict != "VALID":
            continue
        if r.get("signer") is not None and "--uefi" not in args.split():
            want = signers.get(c.input)
            ck.check(r["signer"] == want, "%s: %s: signer %r, want %r"
                     % (c.name, c.input, r["signer"], want))
        if r.get("size") is not None:
            size = os.path.getsize(os.path.join(outdir, c.input))
            ck.check(r["size"] == size, "%s: %s: size %r, want %d"
                     % (c.name, c.input, r["size"], size))
    return got


def check_fields(ck, sigsweep, outdir):
    """The Authenticode fields of the JSON Lines records: image hash, per-signature list,
    signer subject, timestamp time and authority of the deciding signature."""
    def rec(args, inp):
        if not os.path.isfile(os.path.join(outdir, inp)):
            return None
        recs, _, text = run(ck, sigsweep, outdir, args, [inp], " (fields)")
        return one_record(ck, recs or {}, inp, text, "fields") if recs is not None else None

    trust = ["--trust", "root.pem"]
    r = rec(trust, "files/valid_sha512.exe")
    if r:
        ck.check(r.get("image_hash") == "sha512 file-order" and len(r.get("digest", "")) == 128,
                 "valid_sha512: image_hash %r, digest %r" % (r.get("image_hash"), r.get("digest")))
        ck.check(r.get("alg") == "authenticode-sha512", "valid_sha512: alg %r" % r.get("alg"))
        ck.check("Code Signing Leaf" in r.get("signer_subject", ""),
                 "valid_sha512: signer_subject %r" % r.get("signer_subject"))
    r = rec(trust, "files/nested_good.exe")
    if r:
        sigs = r.get("signatures", [])
        ck.check([(x.get("role"), x.get("verdict"), x.get("hash")) for x in sigs]
                 == [("primary", "VALID", "sha256"), ("nested 1", "VALID", "sha1")],
                 "nested_good: signatures %r" % sigs)
    if r and os.path.isfile(os.path.join(outdir, "files/nested_good.exe")):
        # CSV: every JSON Lines field in the same order, signatures as the JSON array
        cmd = [sigsweep, "verify", "--format", "csv"] + trust + ["files/nested_good.exe"]
        rc, out, err, text = sgs_cli.run_checked(ck, cmd, outdir, "[verify --format csv]")
        rows = list(csv.reader(io.StringIO(out.decode("utf-8", "replace"), newline="")))
        if ck.check(rc == 0 and len(rows) == 2, "%s: exit %s, rows %r" % (text, rc, rows)):
            header, row = rows
            ck.check([k for k in header if k in r] == list(r),
                     "%s: csv header %r lacks or reorders jsonl keys %r" % (text, header, list(r)))
            c = dict(zip(header, row))
            ck.check(json.loads(c.get("signatures") or "null") == r.get("signatures")
                     and c.get("image_hash") == r.get("image_hash")
                     and c.get("signer_subject") == r.get("signer_subject"),
                     "%s: csv Authenticode fields %r differ from jsonl's %r" % (text, c, r))
    r = rec(trust, "files/two_wincert.exe")
    if r:
        ck.check([x.get("role") for x in r.get("signatures", [])] == ["primary", "entry 2"],
                 "two_wincert: signatures %r" % r.get("signatures"))
    r = rec(trust + ["--uefi"], "files/rogue_nested_valid.exe")
    if r:
        ck.check(r.get("verdict") == "VALID" and "Rogue" not in r.get("signer_subject", "x"),
                 "rogue_nested_valid --uefi: the valid nested signature decides: %r" % r)
    r = rec(trust + ["--tsa-trust", "tsa-root.pem"], "files/expired_ts.exe")
    if r:
        ck.check(r.get("verdict") == "VALID" and r.get("signing_time") == "2020-06-01T00:00:00Z"
                 and "TSA" in r.get("tsa", ""),
                 "expired_ts: VALID at the timestamp's time, naming the TSA: %r" % r)
    r = rec(trust, "files/expired_ts.exe")
    if r:
        ck.check(r.get("signing_time") == "" and "not used" in r.get("reason", ""),
                 "expired_ts without --tsa-trust: the timestamp is named, not used: %r" % r)
    # Legacy (pkcs9 countersignature) timestamps date the signature like RFC 3161 ones; a
    # countersignature that does not verify is not used.
    r = rec(trust + ["--tsa-trust", "tsa-root.pem"], "files/expired_legacy_ts.exe")
    if r:
        ck.check(r.get("verdict") == "VALID" and r.get("signing_time") == "2020-06-01T00:00:00Z"
                 and "TSA" in r.get("tsa", ""),
                 "expired_legacy_ts: VALID at the countersignature's time, naming the TSA: %r"
                 % r)
    r = rec(trust + ["--tsa-trust", "tsa-root.pem"], "files/legacy_ts_bad.exe")
    if r:
        ck.check(r.get("verdict") == "VALID" and r.get("signing_time") == "",
                 "legacy_ts_bad: VALID, the corrupt countersignature not used: %r" % r)
    # sbsign's section-sorted hash: accepted only with --uefi, and said so.
    r = rec(trust + ["--uefi"], "files/uefi_gap.efi")
    if r:
        ck.check(r.get("verdict") == "VALID"
                 and r.get("image_hash") == "sha256 section-sorted",
                 "uefi_gap --uefi: image_hash %r: %r" % (r.get("image_hash"), r))
    r = rec(trust, "files/uefi_nogap.efi")
    if r:
        ck.check(r.get("verdict") == "VALID" and r.get("image_hash") == "sha256 file-order",
                 "uefi_nogap: image_hash %r: %r" % (r.get("image_hash"), r))


def check_cache(ck, sigsweep, outdir):
    """--cache on PE files: a warm run reuses the stored judgements (nothing opened) and
    reports exactly what a cold run reported; a changed file, other trust material and
    --paranoid are judged again."""
    files = os.path.join(outdir, "files")
    # entries are only stored for files older than the cache's racy window (2 s)
    newest = max(os.lstat(os.path.join(files, n)).st_ctime for n in os.listdir(files))
    if time.time() - newest < 2.2:
        time.sleep(2.2 - (time.time() - newest))
    cache = tempfile.mkdtemp(prefix="pe-cache-")
    base = ["--trust", "root.pem", "--tsa-trust", "tsa-root.pem", "--cache-dir", cache]

    def verdicts(extra, label):
        cmd = [sigsweep, "verify", "--format", "jsonl"] + JOBS + base + extra + ["files"]
        rc, out, err, _ = sgs_cli.run_checked(ck, cmd, outdir, "[cache %s]" % label)
        recs = {}
        for line in out.decode("utf-8", "replace").splitlines():
            r = json.loads(line)
            if "type" not in r:  # the run record and run_end: not a file's record
                recs[r["path"]] = r
        m = re.search(rb"persistent cache: (\d+) files not re-read", err)
        return recs, int(m.group(1)) if m else 0

    try:
        cold, cold_hits = verdicts([], "cold")
        warm, warm_hits = verdicts([], "warm")
        ck.check(cold_hits == 0, "cache cold run: %d hits" % cold_hits)
        ck.check(warm_hits >= len(cold) - 4,
                 "cache warm run reused %d of %d judgements" % (warm_hits, len(cold)))
        for path, r in cold.items():
            w = dict(warm.get(path, {}))
            w["reason"] = w.get("reason", "").replace(" (persistent cache)", "")
            ck.check(w == r, "cache: warm record of %s differs from the cold one:\n  %r\n  %r"
                     % (path, r, warm.get(path)))
        valid_cached = [p for p, r in warm.items()
                        if r["verdict"] == "VALID" and "(persistent cache)" in r["reason"]]
        ck.check(len(valid_cached) >= 10, "cache: VALID records reused: %r" % valid_cached)
        # a file changed in place (same size): judged again, not taken from the cache
        victim = os.path.join(files, "valid_dll.dll")
        saved = open(victim, "rb").read()
        try:
            with open(victim, "r+b") as fh:
                fh.seek(len(saved) // 3)
                fh.write(bytes([saved[len(saved) // 3] ^ 1]))
            changed, _ = verdicts([], "changed file")
            r = changed.get("files/valid_dll.dll", {})
            ck.check(r.get("verdict") == "BAD_SIGNATURE" and "persistent cache" not in
                     r.get("reason", ""), "cache: a changed file is judged again: %r" % r)
        finally:
            with open(victim, "wb") as fh:
                fh.write(saved)
        other, other_hits = verdicts(["--trust", "unrelated-root.pem"], "other trust")
        ck.check(other_hits == 0 and other.get("files/rogue_root.exe", {}).get("verdict")
                 == "VALID", "cache: other trust material reuses nothing (%d hits)" % other_hits)
        _, par_hits = verdicts(["--paranoid"], "paranoid")
        ck.check(par_hits == 0, "cache: --paranoid reuses nothing (%d hits)" % par_hits)
        check_cache_window(ck, sigsweep, outdir)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def check_cache_window(ck, sigsweep, outdir):
    """A judgement is stored with the time its chain is valid: a file signed by a leaf that
    expires a few seconds from now is VALID from the cache until then, and EXPIRED after."""
    tmp = tempfile.mkdtemp(prefix="pe-window-")
    try:
        ca = os.path.join(tmp, "ca")
        shutil.copytree(os.path.join(outdir, "ca", "intermediate"), ca)
        cnf = open(os.path.join(ca, "ca.cnf")).read()
        cnf = re.sub(r"(?m)^dir = .*$", "dir = " + ca, cnf)
        open(os.path.join(ca, "ca.cnf"), "w").write(cnf)
        until = time.time() + 10
        end = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(until))
        key, csr, pem = (os.path.join(tmp, n) for n in ("short.key", "short.csr", "short.pem"))
        chain, exe = os.path.join(tmp, "chain.pem"), os.path.join(tmp, "files", "short.exe")
        os.mkdir(os.path.join(tmp, "files"))
        steps = [
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", key],
            ["openssl", "req", "-new", "-key", key, "-subj",
             "/O=sigsweep test/CN=Sigsweep PE Short-Lived Leaf", "-out", csr],
            ["openssl", "ca", "-batch", "-config", os.path.join(ca, "ca.cnf"), "-in", csr,
             "-out", pem, "-notext", "-preserveDN", "-md", "sha256", "-extfile",
             os.path.join(outdir, "ext.cnf"), "-extensions", "v3_code",
             "-startdate", "20150101000000Z", "-enddate", end],
        ]
        for cmd in steps:
            p = subprocess.run(cmd, capture_output=True, check=False)
            if not ck.check(p.returncode == 0, "cache window: %s: %s" % (cmd[:2], p.stderr[-300:])):
                return
        open(chain, "w").write(open(pem).read() + open(os.path.join(outdir, "intermediate.pem")).read())
        p = subprocess.run(["osslsigncode", "sign", "-certs", chain, "-key", key, "-h", "sha256",
                            "-in", os.path.join(outdir, "build", "hello.exe"), "-out", exe],
                           capture_output=True, check=False)
        if not ck.check(p.returncode == 0, "cache window: osslsigncode: %s" % p.stderr[-300:]):
            return
        time.sleep(2.2)  # past the racy window, so the judgement is stored
        cache = os.path.join(tmp, "cache")
        cmd = [sigsweep, "verify", "--format", "jsonl", "--trust", "root.pem", "--cache-dir",
               cache, exe]

        def one(label):
            _, out, _, _ = sgs_cli.run_checked(ck, cmd, outdir, "[cache window %s]" % label)
            lines = [l for l in out.decode("utf-8", "replace").splitlines()
                     if '"type":' not in l[:9]]  # no run record, run_end
            return json.loads(lines[0]) if len(lines) == 1 else {}

        cold, warm = one("cold"), one("warm")
        ck.check(cold.get("verdict") == "VALID" and "persistent cache" not in cold["reason"],
                 "cache window: cold %r" % cold)
        if time.time() < until - 1:
            ck.check(warm.get("verdict") == "VALID" and "persistent cache" in warm["reason"],
                     "cache window: warm, before the leaf expires, from the cache: %r" % warm)
        time.sleep(max(0.0, until - time.time()) + 1.1)
        late = one("after expiry")
        ck.check(late.get("verdict") == "EXPIRED" and "persistent cache" not in
                 late.get("reason", "persistent cache"),
                 "cache window: after the leaf expired, judged again: %r" % late)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_oracle(ck, sigsweep, outdir, oracle, head, cases):
    """sigsweep (with osslsigncode-equivalent args) vs osslsigncode, file by file."""
    args = head["sigsweep-args"]
    inputs = sorted(oracle)
    recs, _, text = run(ck, sigsweep, outdir, args.split(), inputs, " (oracle run)")
    if recs is None:
        return 0
    listed = {(c.args, c.input): c.verdict for c in cases}
    disagree = 0
    for inp in inputs:
        r = one_record(ck, recs, inp, text, "oracle")
        if r is None:
            continue
        want = listed.get((args, inp))
        if want is not None:
            ck.check(r["verdict"] == want, "oracle run: %s is %s, cases.tsv says %s"
                     % (inp, r["verdict"], want))
        oss_rc, summary = oracle[inp]
        oss_ok, sgs_ok = oss_rc == 0, r["verdict"] == "VALID"
        name = os.path.basename(inp)
        allowed = ORACLE_DISAGREEMENTS.get(name)
        if allowed is not None and len(allowed) > 2 and not re.search(
                allowed[2], head.get("version", "")):
            allowed = None                       # expected with other versions only
        if oss_ok == sgs_ok:
            if allowed is not None:
                ck.notes.append("NOTE %s is in ORACLE_DISAGREEMENTS but both now %s it (%s)"
                                % (name, "accept" if oss_ok else "reject", r["verdict"]))
            continue
        disagree += 1
        ck.check(allowed is not None and allowed[0] == oss_ok,
                 "oracle: %s: osslsigncode %s (rc %d: %s), sigsweep %s %r; not an allowed "
                 "disagreement (add it to ORACLE_DISAGREEMENTS with a reason, or fix the "
                 "verifier)" % (inp, "accepts" if oss_ok else "rejects", oss_rc, summary[:160],
                                r["verdict"], r["reason"]))
    return disagree


def stale(outdir, script):
    """True when outdir holds no complete corpus or one older than the script/sources."""
    stamp = os.path.join(outdir, STAMP)
    try:
        with open(stamp, encoding="utf-8") as f:
            if "state=complete" not in f.read():
                return True
        made = os.path.getmtime(stamp)
    except OSError:
        return True
    srcdir = os.path.join(os.path.dirname(script), "pe")
    deps = [script] + [os.path.join(srcdir, n) for n in ("hello.c", "lib.c", "legacy_tsa.py")]
    return any(os.path.exists(d) and os.path.getmtime(d) > made for d in deps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sigsweep", metavar="SIGSWEEP_BIN")
    ap.add_argument("script", metavar="CORPUS_SCRIPT", help="path of corpus/pe.sh")
    ap.add_argument("outdir", metavar="WORKDIR")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--regenerate", action="store_true", help="always run CORPUS_SCRIPT")
    g.add_argument("--reuse", action="store_true", help="keep an existing WORKDIR/cases.tsv")
    ap.add_argument("--only", help="only the cases whose name matches this regex (no oracle)")
    ap.add_argument("--jobs", type=int, help="sigsweep -j N (default: its own)")
    opt = ap.parse_args()
    if opt.jobs:
        JOBS[:] = ["-j", str(opt.jobs)]

    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("pe_e2e: SKIP: not installed: %s (Debian: gcc-mingw-w64-x86-64-win32 "
              "osslsigncode openssl; optional: sbsigntool)" % " ".join(missing))
        return 77
    outdir = os.path.abspath(opt.outdir)
    sigsweep = os.path.abspath(opt.sigsweep)
    script = os.path.abspath(opt.script)
    t0 = time.monotonic()
    have = os.path.exists(os.path.join(outdir, "cases.tsv"))
    if opt.regenerate or not (have if opt.reuse else not stale(outdir, script)):
        p = subprocess.run(["bash", script, outdir], stdin=subprocess.DEVNULL, check=False)
        if p.returncode != 0:
            print("pe_e2e: FAIL: %s %s exited %d" % (script, outdir, p.returncode))
            return 1
    t_gen = time.monotonic() - t0

    ck = sgs_cli.Checker()
    for tool, what in OPTIONAL_TOOLS.items():
        if shutil.which(tool) is None:
            ck.notes.append("NOTE %s not installed (Debian: %s skipped)" % (tool, what))
    cases = sgs_cli.read_cases(os.path.join(outdir, "cases.tsv"))
    signers = sgs_cli.read_signers(os.path.join(outdir, "signers.tsv"))
    oracle, head = read_oracle(os.path.join(outdir, "oracle.tsv"))
    check_table(cases, outdir, ck)
    for inp in oracle:
        ck.check(os.path.isfile(os.path.join(outdir, inp)), "oracle.tsv: no file %s" % inp)
    if opt.only:
        cases = [c for c in cases if re.search(opt.only, c.name)]

    groups = collections.OrderedDict()
    for c in cases:
        groups.setdefault(c.args, []).append(c)
    for args, group in groups.items():
        check_group(ck, sigsweep, outdir, args, group, signers)
    runs = len(groups)
    if not opt.only:
        check_fields(ck, sigsweep, outdir)
        check_cache(ck, sigsweep, outdir)
    disagree = 0
    if not opt.only:
        disagree = check_oracle(ck, sigsweep, outdir, oracle, head, cases)
        runs += 1

    secs = time.monotonic() - t0
    for msg in ck.notes:
        print(msg)
    what = "%d cases, %d args sets, %d runs, %d oracle disagreements (%.1fs, pe.sh %.1fs; %s)" % (
        len(cases), len(groups), runs, disagree, secs, t_gen, head.get("version", "?"))
    return ck.finish("pe_e2e", what, MAX_FAILURES_SHOWN)


if __name__ == "__main__":
    sys.exit(main())
