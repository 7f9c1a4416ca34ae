#!/usr/bin/env python3
"""`sigsweep package verify` with a manifest larger than the memory it keeps for entries
(issue 14: SGS_MANIFEST_MEMORY, 8 MiB; beyond it sorted runs go to a temporary file, merged).

usage: package_large.py SIGSWEEP WORKDIR

A tree of ~40 files whose names sort differently by bytes and by a locale's collation
("a-", "a.txt", "a/b", "a0", "B", "b", "bz", "b\\xc3\\xa9", a name with a newline), one of them
modified and one not listed; a manifest of those and 200,000 entries of files that do not
exist, in a shuffled order, signed with ECDSA P-256 (`openssl dgst -sha256 -sign`: streamed,
not held whole). Checked, with LC_ALL=en_US.UTF-8 in the environment:
  - exit 1; one record per listed path and for the unlisted file, no other: every real file
    VALID, the modified one DIGEST_MISMATCH, the unlisted one EXTRA_FILE, each entry of a
    missing file MISSING_FILE;
  - records in byte order of their paths (the sorted entries merged with the sorted walk);
  - the same manifest with line 5's path listed again near its end (normalised: "./x//y" is
    "x/y"): one record, MALFORMED, "line N: duplicate of line 5", exit 1;
  - no file is left in TMPDIR; TMPDIR a directory that cannot be written: the manifest's
    record says why (IO_ERROR), nothing else is judged, exit 1.
Skipped (77) without openssl.
"""
import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

FAKE = 200000


def esc(name):
    """sha256sum's escaping: a name with \\ or a newline gets a leading backslash."""
    if b"\\" in name or b"\n" in name:
        return True, name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
    return False, name


def line(digest, name):
    escaped, n = esc(name)
    return (b"\\" if escaped else b"") + digest.encode() + b"  " + n + b"\n"


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if not shutil.which("openssl"):
        print("package_large: SKIP: openssl not found")
        return 77
    sigsweep, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ck = sgs_cli.Checker()
    pkg = os.path.join(work, "pkg").encode()
    names = [b"a-", b"a.txt", b"a/b", b"a/c.d", b"a/c/e", b"a0", b"B", b"b", b"bz",
             b"b\xc3\xa9", b"new\nline", b"back\\slash", b"sp ace"]
    names += [b"d%d/f%03d" % (i % 3, i) for i in range(27)]
    digests = {}
    for n in names:
        p = os.path.join(pkg, n)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        data = b"content of " + n
        with open(p, "wb") as f:
            f.write(data)
        digests[n] = hashlib.sha256(data).hexdigest()
    with open(os.path.join(pkg, b"a", b"c.d"), "ab") as f:  # modified after listing
        f.write(b"!")
    with open(os.path.join(pkg, b"unlisted"), "wb") as f:
        f.write(b"x")
    fake = [b"m%02d/%06d" % (i % 50, i) for i in range(FAKE)]
    entries = [line(digests[n], n) for n in names]
    entries += [line(hashlib.sha256(n).hexdigest(), n) for n in fake]
    random.Random(14).shuffle(entries)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", "k.pem"], cwd=work, check=True,
                   stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "pkey", "-in", "k.pem", "-pubout", "-out", "k.pub"], cwd=work,
                   check=True)

    def signed(name, lines):
        with open(os.path.join(work, name), "wb") as f:
            f.write(b"".join(lines))
        subprocess.run(["openssl", "dgst", "-sha256", "-sign", "k.pem", "-out", name + ".sig",
                        name], cwd=work, check=True)

    env = dict(os.environ, LC_ALL="en_US.UTF-8")

    def verify(manifest, extra_env=None):
        cmd = [sigsweep, "package", "verify", "pkg", "--manifest", manifest, "--key", "k.pub",
               "--format", "jsonl"]
        rc, out, err, text = sgs_cli.run_checked(
            ck, cmd, work, "package verify --manifest %s" % manifest,
            env=dict(env, **(extra_env or {})), timeout=120)
        recs = []
        for raw in out.split(b"\n"):
            if not raw:
                continue
            r = json.loads(raw)
            if "type" not in r:  # the run record and run_end are not a file's
                recs.append(r)
        return rc, recs, err, text

    signed("big.sha256", entries)
    tmp = os.path.join(work, "tmp")
    os.makedirs(tmp)
    rc, recs, err, text = verify("big.sha256", {"TMPDIR": tmp})
    ck.check(rc == 1, "%s: exit %d, want 1: %r" % (text, rc, err[-300:]))
    ck.check(not err.strip() or b"NOT VALID" in err, "%s: stderr %r" % (text, err[-300:]))
    got = [(bytes.fromhex(r["path_hex"]) if "path_hex" in r else
            r["path"].encode("utf-8", "surrogateescape"), r["verdict"]) for r in recs]
    want = {n: "VALID" for n in names}
    want[b"a/c.d"] = "DIGEST_MISMATCH"
    want[b"unlisted"] = "EXTRA_FILE"
    for n in fake:
        want[n] = "MISSING_FILE"
    ck.check(len(got) == len(want), "%s: %d records, want %d" % (text, len(got), len(want)))
    wrong = [(sgs_cli.esc(p), v, want.get(p)) for p, v in got if want.get(p) != v]
    ck.check(not wrong, "%s: records that differ: %s" % (text, wrong[:5]))
    paths = [p for p, _ in got]
    ck.check(len(set(paths)) == len(paths), "%s: a path has two records" % text)
    ck.check(paths == sorted(paths), "%s: records not in byte order of their paths: %s" % (
        text, [sgs_cli.esc(p) for p in paths[:12]]))
    ck.check(os.listdir(tmp) == [], "%s: files left in TMPDIR: %s" % (text, os.listdir(tmp)))

    # a duplicate far from its first listing, in another sorted run
    dup = list(entries)
    first = dup[4]
    name = first[first.index(b"  ") + 2:-1]
    assert not first.startswith(b"\\") and b"/" in name
    dup.insert(len(dup) - 3, first[:first.index(b"  ") + 2] + b"./" + name.replace(b"/", b"//")
               + b"\n")
    signed("dup.sha256", dup)
    rc, recs, err, text = verify("dup.sha256")
    want_reason = "line %d: duplicate of line 5" % (len(dup) - 3)
    ck.check(rc == 1 and len(recs) == 1 and recs[0]["verdict"] == "MALFORMED" and
             want_reason in recs[0].get("reason", ""),
             "%s: want one MALFORMED record (%s), got exit %d, %s" % (
                 text, want_reason, rc, [(r["path"], r["verdict"], r.get("reason")) for r in
                                         recs[:3]]))

    # no temporary file can be made: the manifest's record says so, nothing else is judged
    ro = os.path.join(work, "ro-tmp")
    os.makedirs(ro)
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    if os.access(ro, os.W_OK):  # root writes anyway: a path that is not a directory instead
        os.chmod(ro, stat.S_IRWXU)
        os.rmdir(ro)
        with open(ro, "wb"):
            pass
    rc, recs, err, text = verify("big.sha256", {"TMPDIR": ro})
    ck.check(rc == 1 and len(recs) == 1 and recs[0]["verdict"] == "IO_ERROR" and
             "temporary file" in recs[0].get("reason", ""),
             "%s (TMPDIR=%s): want one IO_ERROR record naming the temporary file, got exit %d, "
             "%s" % (text, ro, rc, [(r["path"], r["verdict"], r.get("reason")) for r in
                                    recs[:3]]))
    return ck.finish("package_large", "%d entries, %d records" % (len(entries), len(got)))


if __name__ == "__main__":
    sys.exit(main())
