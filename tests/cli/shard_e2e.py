#!/usr/bin/env python3
"""Sharding and the report commands, end to end (issue 14).

usage: shard_e2e.py --sigsweep BIN --corpus OUTDIR --work DIR

Asserts:
  - verify on the corpus tree (every verdict), at -j1 and -j2: for N = 1, 2, 3, 7 the N runs
    `--shard K/N` hold exactly the records of the unsharded run (the same lines), each path in
    one shard only, the shard being XXH64(path relative to the tree, seed 0) mod N + 1 (the
    documented formula, computed here in Python); every report starts with a run record
    (shard "K/N", the fingerprints of the unsharded run, counts that are its records'); a
    report to a file has one run record, a stream its opening and a closing run_end;
  - the same for agents (by agent id) and package verify (by manifest path, extra files by
    their path; a manifest that fails: its one record in one shard only, exit 1 in every
    shard);
  - report merge of the shards: exit 0, the unsharded records, no note; report summary: the
    unsharded counts;
  - merge refuses (exit 2, FILE:LINE, the output untouched) a run judged with another key
    unless --allow-mixed (then a note), a truncated line, a non-JSON line, another format, a
    report without run record, a streamed run without run_end, a missing file; a shard given
    twice is a duplicate note naming the path;
  - --shard 0/3, 4/3, 3, a/b: usage error (exit 2); sign refuses --shard.
Exit 0 when everything holds, 1 otherwise.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                      9650029242287828579, 2870177450012600261)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def xxh_round(acc, lane):
    return (rotl((acc + lane * P2) & M64, 31) * P1) & M64


def xxh64(data, seed=0):
    """XXH64 as specified (xxhash.com/doc/xxhash_spec), for the shard formula's oracle."""
    n, i = len(data), 0
    lane = lambda at, size: int.from_bytes(data[at:at + size], "little")  # noqa: E731
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            v = [xxh_round(v[k], lane(i + 8 * k, 8)) for k in range(4)]
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for k in range(4):
            h = (((h ^ xxh_round(0, v[k])) * P1) + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h = (rotl(h ^ xxh_round(0, lane(i, 8)), 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h = (rotl(h ^ ((lane(i, 4) * P1) & M64), 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h = (rotl(h ^ ((data[i] * P5) & M64), 11) * P1) & M64
        i += 1
    h = ((h ^ (h >> 33)) * P2) & M64
    h = ((h ^ (h >> 29)) * P3) & M64
    return h ^ (h >> 32)


def shard_of(rel, n):
    return xxh64(rel) % n + 1


class Run:
    def __init__(self, ck, binary, cwd):
        self.ck, self.binary, self.cwd = ck, binary, cwd

    def __call__(self, *args, want=None):
        cmd = [self.binary] + [str(a) for a in args]
        p = subprocess.run(cmd, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=900)
        text = " ".join(str(a) for a in args)
        if want is not None:
            self.ck.check(p.returncode == want, "%s: exit %d, want %d (stderr %r)"
                          % (text, p.returncode, want, p.stderr[-400:]))
        for mark in sgs_cli.SANITIZER_MARKS:
            self.ck.check(mark not in p.stderr, "%s: sanitizer report" % text)
        return p


def split_report(ck, data, label, streamed):
    """(run record, records as lines, run_end or None) of one report's bytes."""
    lines = data.decode("utf-8").splitlines()
    if not ck.check(lines, "%s: empty report" % label):
        return {}, [], None
    run = json.loads(lines[0])
    ck.check(run.get("type") == "run" and run.get("format") == 1,
             "%s: the first line is not a run record: %r" % (label, lines[0][:200]))
    end = None
    if streamed:
        end = json.loads(lines[-1]) if lines else {}
        ck.check(end.get("type") == "run_end", "%s: a stream without run_end last" % label)
        lines = lines[:-1]
        counts_of = end
    else:
        counts_of = run
    recs = lines[1:]
    ck.check(all('"type":' not in l[:8] for l in recs), "%s: a run record inside" % label)
    counts = {}
    for l in recs:
        v = json.loads(l)["verdict"]
        counts[v] = counts.get(v, 0) + 1
    ck.check(counts_of.get("counts") == counts and counts_of.get("files") == len(recs),
             "%s: counts %r files %r, the records say %r (%d)"
             % (label, counts_of.get("counts"), counts_of.get("files"), counts, len(recs)))
    return run, recs, end


def key_of(rec, agents):
    r = json.loads(rec)
    if agents:
        return os.fsencode(r["agent"])
    return bytes.fromhex(r["path_hex"]) if "path_hex" in r else os.fsencode(r["path"])


def check_shards(ck, run, label, base_args, rel_of, agents, work, ns=(1, 2, 3, 7),
                 want_rc=1):
    """The unsharded report against N shard reports; then merge and summary of them."""
    whole = os.path.join(work, "whole.jsonl")
    run(*base_args, "--format", "jsonl", "--output", whole, want=want_rc)
    with open(whole, "rb") as f:
        wrun, wrecs, _ = split_report(ck, f.read(), label + " unsharded", False)
    ck.check(wrun.get("shard") == "1/1", "%s: unsharded shard %r" % (label, wrun.get("shard")))
    ck.check(len(wrecs) > 0, "%s: no records" % label)
    for n in ns:
        union, files = [], []
        for k in range(1, n + 1):
            streamed = k % 2 == 0  # even shards to stdout (stream shape), odd ones to a file
            out = os.path.join(work, "shard-%d-%d.jsonl" % (k, n))
            if streamed:
                p = run(*base_args, "--format", "jsonl", "--shard", "%d/%d" % (k, n))
                with open(out, "wb") as f:
                    f.write(p.stdout)
                data = p.stdout
            else:
                p = run(*base_args, "--format", "jsonl", "--output", out, "--shard",
                        "%d/%d" % (k, n))
                with open(out, "rb") as f:
                    data = f.read()
            ck.check(p.returncode in (0, 1), "%s %d/%d: exit %d %r"
                     % (label, k, n, p.returncode, p.stderr[-300:]))
            srun, srecs, _ = split_report(ck, data, "%s %d/%d" % (label, k, n), streamed)
            ck.check(srun.get("shard") == "%d/%d" % (k, n), "%s: shard field %r"
                     % (label, srun.get("shard")))
            ck.check(srun.get("fingerprints") == wrun.get("fingerprints"),
                     "%s %d/%d: fingerprints differ from the unsharded run's" % (label, k, n))
            wrong = [key_of(r, agents) for r in srecs
                     if shard_of(rel_of(key_of(r, agents)), n) != k]
            ck.check(not wrong, "%s %d/%d: records of another shard by the formula: %r"
                     % (label, k, n, wrong[:5]))
            union += srecs
            files.append(out)
        ck.check(sorted(union) == sorted(wrecs),
                 "%s N=%d: the shards' records (%d) are not the unsharded run's (%d)%s"
                 % (label, n, len(union), len(wrecs),
                    "" if len(union) != len(wrecs) else ": " +
                    repr(sorted(set(union) ^ set(wrecs))[:2])))
        keys = [key_of(r, agents) for r in union]
        ck.check(len(keys) == len(set(keys)), "%s N=%d: a path in two shards" % (label, n))
        merged = os.path.join(work, "merged-%d.jsonl" % n)
        p = run("report", "merge", *files, "--out", merged, want=0)
        with open(merged, "rb") as f:
            mlines = f.read().decode("utf-8").splitlines()
        mrecs = [l for l in mlines if '"type":' not in l[:8]]
        runs = [json.loads(l) for l in mlines if l.startswith('{"type":"run"')]
        notes = [l for l in mlines if l.startswith('{"type":"note"')]
        ck.check(sorted(mrecs) == sorted(wrecs) and len(runs) == n and not notes,
                 "%s N=%d merged: %d records (want %d), %d runs, notes %r"
                 % (label, n, len(mrecs), len(wrecs), len(runs), notes[:2]))
        ck.check(all("counts" in r and "end" in r for r in runs),
                 "%s N=%d merged: a run record without its counts" % (label, n))
        p = run("report", "summary", merged, want=want_rc)
        text = p.stdout.decode()
        for v, c in wrun.get("counts", {}).items():
            ck.check(any(l.split() == [v, str(c)] for l in text.splitlines()),
                     "%s N=%d summary: no line '%s %d' in %r" % (label, n, v, c, text[:600]))
    return whole


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    ck = sgs_cli.Checker()
    ck.check(xxh64(b"") == 0xEF46DB3751D8E999, "the XXH64 oracle is wrong")
    binary = os.path.abspath(a.sigsweep)
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run = Run(ck, binary, work)
    corpus = os.path.abspath(a.corpus)
    with open(os.path.join(corpus, ".sgs-corpus"), "rb") as f:
        tree = [l[5:] for l in f.read().split(b"\n") if l.startswith(b"tree=")][0]
    root = tree.rstrip(b"/") + b"/"

    def corpus_rel(p):
        return p[len(root):] if p.startswith(root) else p

    # verify: the corpus tree, -j1 and -j2
    for j in ("1", "2"):
        ck.section = "verify -j" + j
        check_shards(ck, run, "verify -j" + j,
                             ["verify", "--key", os.path.join(corpus, "keys"), "-j", j,
                              os.fsdecode(tree)], corpus_rel, False, work)

    # a fleet: valid, old key, missing, garbage
    fleet = os.path.join(work, "fleet")
    run("keygen", "--type", "ec-p256", "--out", "srv", want=0)
    run("keygen", "--type", "ec-p256", "--out", "old", want=0)
    for i in range(60):
        d = os.path.join(fleet, "pc-%03d" % i)
        os.makedirs(d)
        src = {0: "srv", 1: "old"}.get(i % 4)
        if src:
            shutil.copy(os.path.join(work, src, "OfcNTCer.dat"), d)
        elif i % 4 == 2:
            with open(os.path.join(d, "OfcNTCer.dat"), "wb") as f:
                f.write(b"garbage %d\n" % i)
    ck.section = "agents"
    check_shards(ck, run, "agents", ["agents", "--server-cert", "srv/server.crt", "--known",
                                     "old/server.crt", fleet], lambda k: k, True, work)

    # a package: changed, missing and extra files
    pkg = os.path.join(work, "pkg")
    for i in range(80):
        os.makedirs(os.path.join(pkg, "d%d" % (i % 5)), exist_ok=True)
        with open(os.path.join(pkg, "d%d" % (i % 5), "f%02d" % i), "wb") as f:
            f.write(b"content %d\n" % i)
    run("package", "create", pkg, "--out", "pkg.sha256", want=0)
    run("package", "sign", "--key", "srv/server.key", "-q", "pkg.sha256", want=0)
    with open(os.path.join(pkg, "d1", "f01"), "ab") as f:
        f.write(b"changed")
    os.unlink(os.path.join(pkg, "d2", "f02"))
    for i in range(12):
        with open(os.path.join(pkg, "extra%02d" % i), "wb") as f:
            f.write(b"extra")
    ck.section = "package"
    check_shards(ck, run, "package verify", ["package", "verify", pkg, "--manifest",
                                             "pkg.sha256", "--key", "srv/server.crt"],
                 lambda p: p, False, work)
    # a manifest that fails: its one record in one shard, every shard exits 1
    shutil.copy(os.path.join(work, "pkg.sha256"), os.path.join(work, "bad.sha256"))
    shutil.copy(os.path.join(work, "old", "server.key"), os.path.join(work, "oldkey.pem"))
    run("package", "sign", "--key", "oldkey.pem", "-q", "bad.sha256", want=0)
    seen = 0
    for k in (1, 2, 3):
        p = run("package", "verify", pkg, "--manifest", "bad.sha256", "--key", "srv/server.crt",
                "--format", "jsonl", "--shard", "%d/3" % k, want=1)
        _, recs, _ = split_report(ck, p.stdout, "bad manifest %d/3" % k, True)
        seen += len(recs)
        ck.check(all(json.loads(r)["verdict"] == "BAD_SIGNATURE" for r in recs),
                 "bad manifest: %r" % recs)
    ck.check(seen == 1, "bad manifest: %d records in 3 shards, want 1" % seen)

    ck.section = "merge"
    # merge: refusals, the output untouched
    out = os.path.join(work, "out.jsonl")
    with open(out, "w") as f:
        f.write("before\n")
    s1 = os.path.join(work, "shard-1-2.jsonl")
    s2 = os.path.join(work, "shard-2-2.jsonl")

    def refused(label, *reports, needle=""):
        p = run("report", "merge", *reports, "--out", out, want=2)
        err = p.stderr.decode(errors="replace")
        ck.check(needle in err, "%s: stderr %r lacks %r" % (label, err[-300:], needle))
        with open(out) as f:
            ck.check(f.read() == "before\n", "%s: the output was changed" % label)
        ck.check(not [n for n in os.listdir(work) if n.startswith(".out.jsonl")],
                 "%s: a temporary file left" % label)

    other = os.path.join(work, "other-key.jsonl")
    run("package", "verify", pkg, "--manifest", "pkg.sha256", "--key", "srv/server.crt",
        "--key", "old/server.crt", "--format", "jsonl", "--output", other, want=1)
    refused("mixed keys", s1, other, needle="other-key.jsonl:1:")
    p = run("report", "merge", s1, other, "--allow-mixed", "--out", "mixed.jsonl", want=0)
    with open(os.path.join(work, "mixed.jsonl")) as f:
        notes = [json.loads(l) for l in f if l.startswith('{"type":"note"')]
    mixed = [n for n in notes if "fingerprints differ" in n["text"]]
    ck.check(len(mixed) == 1 and mixed[0]["level"] == "warning" and "other keys" in
             mixed[0]["text"], "--allow-mixed: notes %r" % notes[:3])
    # (the unsharded run overlaps shard 1/2: its paths are duplicates too)
    ck.check(any("duplicate path" in n["text"] for n in notes), "--allow-mixed: no duplicate")
    # the same shard twice: duplicates named
    run("report", "merge", s1, s2, s1, "--out", "dup.jsonl", want=0)
    with open(os.path.join(work, "dup.jsonl")) as f:
        notes = [json.loads(l)["text"] for l in f if l.startswith('{"type":"note"')]
    with open(s1) as f:
        first = [json.loads(l) for l in f][1]
    ck.check(notes and any(("duplicate path %s " % first["path"]) in t for t in notes),
             "duplicates: notes %r do not name %r" % (notes[:3], first["path"]))
    ck.check(any(t.startswith("shard 1/2 of `sigsweep package verify ") and "more than once" in t
                 for t in notes), "a shard given twice: notes %r" % notes[:3])
    ck.check(not any("not in the merge" in t for t in notes), "no shard missing: %r" % notes[:3])
    # a shard missing: its files are in no report
    run("report", "merge", s1, "--out", "half.jsonl", want=0)
    with open(os.path.join(work, "half.jsonl")) as f:
        notes = [json.loads(l)["text"] for l in f if l.startswith('{"type":"note"')]
    ck.check(len(notes) == 1 and "1 of the 2 shards" in notes[0] and "2/2" in notes[0],
             "a shard missing: notes %r" % notes)

    def variant(name, text):
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    with open(s1) as f:
        good = f.read()
    lines = good.splitlines(True)
    refused("truncated", variant("trunc.jsonl", good[:-10]), needle="trunc.jsonl:%d:" % len(lines))
    refused("a line lost", variant("lost.jsonl", "".join(lines[:-1])), needle="lost.jsonl:1:")
    refused("not JSON", variant("nojson.jsonl", "".join(lines[:2]) + "{oops\n" +
                                "".join(lines[2:])), needle="nojson.jsonl:3:")
    run2 = json.loads(lines[0])
    run2["format"] = 2
    refused("format 2", variant("fmt2.jsonl", json.dumps(run2) + "\n" + "".join(lines[1:])),
            needle="fmt2.jsonl:1:")
    refused("no run record", variant("norun.jsonl", "".join(lines[1:])), needle="norun.jsonl:1:")
    with open(s2) as f:
        stream = f.read().splitlines(True)
    refused("no run_end", variant("noend.jsonl", "".join(stream[:-1])), needle="noend.jsonl:1:")
    refused("missing file", s1, os.path.join(work, "absent.jsonl"), needle="absent.jsonl")

    # usage
    for bad in ("0/3", "4/3", "3", "a/b", "1/0", "/3"):
        run("verify", "--key", "srv/server.crt", "--shard", bad, pkg, want=2)
    run("sign", "--key", "srv/server.key", "--shard", "1/2", pkg, want=2)
    return ck.finish("shard_e2e", "verify, agents, package verify sharded N = 1, 2, 3, 7; "
                     "report merge and summary")


if __name__ == "__main__":
    sys.exit(main())
