#!/usr/bin/env python3
"""End-to-end check of `sigsweep verify` against a corpus made by corpus/generate.sh.

usage: e2e_corpus.py --sigsweep BIN --corpus OUTDIR [--sample N] [--seed N]

Asserts, for `sigsweep verify --key OUTDIR/keys --format jsonl OUTDIR/tree`:
  - exit status 1 (the corpus has bad files) and no sanitizer report on stderr;
  - stdout is UTF-8, one JSON object per line with path, verdict, reason, alg, signer, digest,
    size (plus path_hex exactly when the raw path is not UTF-8);
  - every path of expected.tsv has exactly one record with exactly the expected verdict, and
    there is no record for any other path;
  - VALID records name the right signer (SPKI SHA-256 of the key that signed, per
    signers.tsv) and the right size; every non-empty digest of a sampled file is its SHA-256;
  - -j 1 and -j 2 give the same verdicts (and signers) as the default run;
  - oracle: sampled files signed by `sigsweep sign` verify with the openssl CLI, and its RSA
    and Ed25519 signatures are byte-identical to openssl's.
Exit status 0 when everything holds, 1 otherwise (each failure is printed).
"""
import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

REQUIRED = ("path", "verdict", "reason", "alg", "signer", "digest", "size")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_FAILURES_SHOWN = 40


def unescape(s: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(s):
        if s.startswith("\\x", i):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += s[i].encode("ascii")
            i += 1
    return bytes(out)


def read_tsv(path):
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line and not line.startswith(b"#"):
                yield line.split(b"\t")


def sha256_file(path: bytes) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def corpus_tree(corpus):
    """The tree argument expected.tsv was written for (the stamp's tree= line), as bytes."""
    with open(os.path.join(corpus, ".sgs-corpus"), "rb") as f:
        for line in f.read().split(b"\n"):
            if line.startswith(b"tree="):
                return line[5:]
    raise SystemExit("e2e_corpus: no tree= line in the corpus stamp; regenerate the corpus")


def run_verify(ck, binary, corpus, extra, label):
    cmd = [os.fsencode(binary), b"verify", b"--key", os.fsencode(os.path.join(corpus, "keys")),
           b"--format", b"jsonl", *[os.fsencode(x) for x in extra], corpus_tree(corpus)]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    except subprocess.TimeoutExpired:
        ck.fail(f"{label}: timed out after 600 s: {cmd}")
        return None
    ck.check(p.returncode == 1, f"{label}: exit status {p.returncode}, want 1 "
             f"(stderr: {p.stderr[-500:].decode('utf-8', 'replace')!r})")
    for mark in sgs_cli.SANITIZER_MARKS:
        ck.check(mark not in p.stderr, f"{label}: sanitizer report on stderr ({mark.decode()})")
    try:
        text = p.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        ck.fail(f"{label}: stdout is not valid UTF-8: {e}")
        return None
    records = {}
    lines = text.split("\n")
    ck.check(lines[-1] == "", f"{label}: stdout does not end with a newline")
    for n, line in enumerate(lines[:-1] if lines[-1] == "" else lines, 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            ck.fail(f"{label}: line {n} is not JSON ({e}): {line[:200]!r}")
            continue
        if not ck.check(isinstance(rec, dict), f"{label}: line {n} is not an object"):
            continue
        if "type" in rec:
            continue  # the run record and run_end: not a file's record
        missing = [k for k in REQUIRED if k not in rec]
        if not ck.check(not missing, f"{label}: line {n} lacks {missing}: {line[:200]!r}"):
            continue
        if "path_hex" in rec:
            raw = bytes.fromhex(rec["path_hex"])
            try:
                raw.decode("utf-8")
                ck.fail(f"{label}: path_hex given for a UTF-8 path {rec['path']!r}")
            except UnicodeDecodeError:
                pass
            ck.check(rec["path"] == raw.decode("utf-8", "replace"),
                     f"{label}: path {rec['path']!r} is not path_hex with U+FFFD replacements")
        else:
            raw = rec["path"].encode("utf-8")
        key = sgs_cli.esc(raw)
        ck.check(rec["verdict"] in sgs_cli.VERIFY_VERDICTS,
                 f"{label}: {key}: unknown verdict {rec['verdict']!r}")
        ck.check(isinstance(rec["reason"], str), f"{label}: {key}: reason is not a string")
        if rec["verdict"] != "VALID":
            ck.check(bool(rec["reason"]), f"{label}: {key}: {rec['verdict']} without a reason")
        if not ck.check(key not in records, f"{label}: two records for {key}"):
            continue
        rec["_raw"] = raw
        records[key] = rec
    return records


def openssl_verify(signer, key, path: bytes):
    if signer == "ed25519":
        cmd = [b"openssl", b"pkeyutl", b"-verify", b"-rawin", b"-inkey", key, b"-sigfile",
               path + b".sig", b"-in", path]
    else:
        cmd = [b"openssl", b"dgst", b"-sha256", b"-prverify", key, b"-signature",
               path + b".sig", path]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def openssl_sign(signer, key, path: bytes, out: str):
    if signer == "ed25519":
        cmd = [b"openssl", b"pkeyutl", b"-sign", b"-rawin", b"-inkey", key, b"-in", path,
               b"-out", out.encode()]
    else:
        cmd = [b"openssl", b"dgst", b"-sha256", b"-sign", key, b"-out", out.encode(), path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return f.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--sample", type=int, default=200, help="files whose digest is re-hashed")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SGS_TEST_SEED", "1")))
    args = ap.parse_args()
    print(f"e2e_corpus: seed {args.seed} (override with --seed or SGS_TEST_SEED)")
    rng = random.Random(args.seed)
    ck = sgs_cli.Checker()
    corpus = args.corpus

    expected = {}
    for cols in read_tsv(os.path.join(corpus, "expected.tsv")):
        path, verdict = cols[0].decode("ascii"), cols[1].decode("ascii")
        if not ck.check(path not in expected, f"expected.tsv: duplicate {path}"):
            continue
        expected[path] = verdict
    manifest = {}
    for cols in read_tsv(os.path.join(corpus, "manifest.tsv")):
        manifest[cols[6].decode("ascii")] = {
            "size": int(cols[1]), "signer": cols[2].decode(), "tool": cols[3].decode(),
            "case": cols[4].decode()}
    signers = {}
    for cols in read_tsv(os.path.join(corpus, "signers.tsv")):
        signers[cols[0].decode()] = {"fp": cols[1].decode(), "key": cols[3]}
    if not expected or not manifest or not signers:
        print("e2e_corpus: corpus files missing or empty; run corpus/generate.sh", file=sys.stderr)
        return 1

    base = run_verify(ck, args.sigsweep, corpus, [], "default -j")
    if base is None:
        return report(ck)

    # Exactly the expected set, each with exactly the expected verdict.
    for path, want in sorted(expected.items()):
        rec = base.get(path)
        if ck.check(rec is not None, f"no record for {path} (want {want})"):
            ck.check(rec["verdict"] == want,
                     f"{path}: {rec['verdict']} ({rec['reason']}), want {want}")
    for path in sorted(set(base) - set(expected)):
        ck.fail(f"record for a path not in expected.tsv: {path} ({base[path]['verdict']})")

    # VALID records: right signer and size; digests of a sample are the file's SHA-256.
    fp_names = {v["fp"]: k for k, v in signers.items()}
    for path, rec in sorted(base.items()):
        if rec["verdict"] != "VALID":
            continue
        ck.check(isinstance(rec["signer"], str) and HEX64.match(rec["signer"]) is not None,
                 f"{path}: VALID with signer {rec['signer']!r} (want 64 lower-case hex)")
        ck.check(isinstance(rec["alg"], str) and rec["alg"] != "", f"{path}: VALID without alg")
        m = manifest.get(path)
        if m and m["signer"] in signers:
            ck.check(rec["signer"] == signers[m["signer"]]["fp"],
                     f"{path}: signer {fp_names.get(rec['signer'], rec['signer'])}, "
                     f"want {m['signer']}")
        if ck.check(isinstance(rec["size"], int), f"{path}: VALID with size {rec['size']!r}"):
            ck.check(rec["size"] == os.lstat(rec["_raw"]).st_size,
                     f"{path}: size {rec['size']}, file has {os.lstat(rec['_raw']).st_size}")
    regular = [p for p, r in base.items() if r["digest"] and os.path.isfile(r["_raw"])
               and os.access(r["_raw"], os.R_OK) and not os.path.islink(r["_raw"])]
    big = [p for p in regular if manifest.get(p, {}).get("size", 0) >= 32 << 20]
    sample = sorted(set(rng.sample(regular, min(args.sample, len(regular))) + big +
                        [p for p in regular if "/bad/" in p or "/misc/" in p]))
    for path in sample:
        rec = base[path]
        ck.check(rec["digest"] == sha256_file(rec["_raw"]),
                 f"{path}: digest {rec['digest']} is not the file's SHA-256")
    print(f"e2e_corpus: {len(base)} records, {len(sample)} digests re-hashed")

    # Same verdicts whatever the thread count.
    for jobs in ("1", "2"):
        other = run_verify(ck, args.sigsweep, corpus, ["-j", jobs], f"-j {jobs}")
        if other is None:
            continue
        for path in sorted(set(base) | set(other)):
            a, b = base.get(path), other.get(path)
            va = (a["verdict"], a["signer"]) if a else None
            vb = (b["verdict"], b["signer"]) if b else None
            ck.check(va == vb, f"-j {jobs}: {path}: {vb}, default run: {va}")

    # Oracle: what `sigsweep sign` wrote, openssl accepts (and RSA/Ed25519 bytes match).
    by_signer = {}
    for path, m in sorted(manifest.items()):
        if m["tool"] == "sigsweep" and m["case"] == "good" and expected.get(path) == "VALID":
            by_signer.setdefault(m["signer"], []).append(path)
    with tempfile.TemporaryDirectory(prefix="sgs-e2e-") as tmp:
        for signer, paths in sorted(by_signer.items()):
            key = signers[signer]["key"]
            for path in rng.sample(paths, min(4, len(paths))):
                raw = unescape(path)
                if signer == "ed25519" and os.path.getsize(raw) == 0:
                    continue  # OpenSSL 3.0 pkeyutl -rawin cannot handle empty input
                ck.check(openssl_verify(signer, key, raw),
                         f"{path}: openssl rejects the {signer} signature from sigsweep sign")
                if signer != "p256":  # ECDSA signatures are randomised
                    mine = openssl_sign(signer, key, raw, os.path.join(tmp, "o.sig"))
                    with open(raw + b".sig", "rb") as f:
                        ck.check(f.read() == mine, f"{path}: sigsweep's {signer} signature "
                                 "differs from openssl's")
    return report(ck)


def report(ck):
    return ck.finish("e2e_corpus", "%d failures" % len(ck.failures), MAX_FAILURES_SHOWN)


if __name__ == "__main__":
    sys.exit(main())
