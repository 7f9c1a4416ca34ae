#!/usr/bin/env python3
"""End-to-end check of `sigsweep verify --quarantine`, `--mode`/`--policy` and `sigsweep restore`
(issue 6).

usage: quarantine_e2e.py --sigsweep BIN [--keep]

Works in a private temp dir (removed unless --keep) with HOME and XDG_STATE_HOME pointed into it,
signing with the openssl CLI (ECDSA P-256, `openssl dgst -sha256 -sign`):
  - quarantine: a tree of VALID files, BAD_SIGNATURE (flipped byte, another file's signature),
    NO_SIGNATURE (also empty, in subdirectories, names with a space, 0xff and a newline),
    MALFORMED (garbage and empty .sig), a FIFO, a symlink to a bad file, a MISSING_FILE argument:
    exactly the bad regular files are renamed to NAME_invalid, NAME_invalid.1 / .2 when taken
    (the taken names are VALID files, never overwritten), each keeping its inode and bytes; .sig
    files, VALID, SKIPPED and everything else untouched; jsonl records keep their verdict and end
    their reason with "; quarantined as NEW"; the text format too; the summary says
    "N quarantined"; the journal has the header, one Q per rename (dev, inode, size, mtime_ns of
    the judged file, hex paths), a D after each, unique sequence numbers;
  - the default journal: $XDG_STATE_HOME/sigsweep/quarantine.journal, else
    ~/.local/state/sigsweep/quarantine.journal, used by verify and restore alike; two runs
    appending to one journal are both restored;
  - policy: --mode audit / --policy with Hotfix=0 or Upgrade=0 rename nothing even with
    --quarantine; Hotfix=1 or (no Hotfix) Upgrade=1 quarantine without --quarantine; Hotfix wins
    over Upgrade; --mode overrides the policy; INI comments, CRLF, whitespace, case-insensitive
    names; malformed lines and bad values reported as "sigsweep: FILE:LINE: ..." (exactly those
    lines) and ignored; a key in an unknown section ignored; a missing policy file and an unknown
    --mode exit 2;
  - the journal inside the verified tree is not quarantined; a journal written by `verify
    relative/path` restores from another working directory;
  - restore: --dry-run changes nothing (tree and journal) and prints WOULD RESTORE; a PATH
    restores only entries at or under it (not a sibling sharing its prefix); a re-used original
    name and a modified quarantined file are REFUSED (exit 1) and left as they are; everything
    else comes back under its name with the same inode and sha256; a second run restores the
    freed name; a run with nothing left to do exits 0 and prints nothing; R records only for
    restored files; a hand-written journal with a Q never carried out (NOT MOVED, file
    untouched), a Q carried out without its D (RESTORED) and a Q+D (RESTORED); --scan DIR
    restores stray NAME_invalid / NAME_invalid.N without journal entries (REFUSED when NAME
    exists; foo_invalidx, bar_invalid., baz_invalid.x and files outside DIR untouched; a
    journaled file restored once); restore --format jsonl prints JSON objects; a journal without
    its header line, a foreign header or binary junk exits 2 and changes nothing;
  - paths as given: `verify --quarantine t/` from t's parent says "t/X ... quarantined as
    t/X_invalid", `restore t/b` says "RESTORED t/b" (relative stays relative, no "//");
    `restore --dry-run --scan t` prints exactly the lines `restore --scan t` then prints, but
    the verb (a name taken, a changed file, two strays of one name, a stray of a name the
    journal gives back, an entry restored before), and the changed file stays quarantined.
Exit status 0 when everything holds, 1 otherwise (each failure is printed), 77 (skip) without
the openssl CLI.
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

QUARANTINED = {"BAD_SIGNATURE", "NO_SIGNATURE", "MALFORMED", "UNTRUSTED", "EXPIRED",
               "NOT_YET_VALID", "REVOKED", "UNSUPPORTED", "DIGEST_MISMATCH"}
HEADER = b"sigsweep-journal 1"
RUN_TIMEOUT = 60
MAX_FAILURES_SHOWN = 80


ck = sgs_cli.Checker()


def dec(b):
    return b.decode(errors="replace")


class Runner:
    def __init__(self, binary, env, cwd):
        self.bin = binary
        self.env = env
        self.cwd = cwd

    def __call__(self, *args, env=None, cwd=None, want=None, force=True):
        args = [os.fsencode(a) for a in args]
        enforcing = any(a in (b"--quarantine", b"--policy", b"--mode") for a in args)
        if force and enforcing and args[:1] == [b"verify"]:  # the breaker: test_breaker
            args.insert(1, b"--force")
        text = " ".join(shlex.quote(sgs_cli.esc(a)) for a in [os.fsencode(self.bin)] + args)
        try:
            p = subprocess.run([self.bin] + args, cwd=cwd or self.cwd, env=env or self.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=RUN_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            ck.check(False, "%s: timed out after %d s" % (text, RUN_TIMEOUT))
            return -1, b"", b"", text
        for mark in sgs_cli.SANITIZER_MARKS:
            ck.check(mark not in p.stderr, "%s: sanitizer report on stderr:\n%s"
                     % (text, dec(p.stderr)[-3000:]))
        if want is not None:
            ck.check(p.returncode == want, "%s: exit %d, want %d; stdout: %s; stderr: %s"
                     % (text, p.returncode, want, dec(p.stdout)[-600:], dec(p.stderr)[-600:]))
        return p.returncode, p.stdout, p.stderr, text


# ---------------------------------------------------------------- files

def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def write(path, data):
    path = os.fsencode(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def sign(key, path):
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, "-out",
                    os.fsencode(path) + b".sig", os.fsencode(path)],
                   check=True, stdout=subprocess.DEVNULL)


def snapshot(root):
    """{relative path bytes: (kind, ino, sha256 or link target)} of everything under root."""
    root = os.fsencode(root)
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISREG(st.st_mode):
                snap[rel] = ("f", st.st_ino, sha(p))
            elif stat.S_ISLNK(st.st_mode):
                snap[rel] = ("l", st.st_ino, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                snap[rel] = ("d", st.st_ino, None)
            else:
                snap[rel] = ("o", st.st_ino, None)
    return snap


def diff_snap(a, b):
    out = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            out.append("%s: %s -> %s" % (sgs_cli.esc(k), a.get(k), b.get(k)))
    return "; ".join(out[:12]) + (" ..." if len(out) > 12 else "")


def ident(path):
    st = os.lstat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def quarantined_names(root):
    pat = re.compile(rb"_invalid(\.\d+)?$")
    return sorted(os.path.relpath(os.path.join(d, n), os.fsencode(root))
                  for d, _, fs in os.walk(os.fsencode(root)) for n in fs if pat.search(n))


# ---------------------------------------------------------------- journal

def parse_journal(path, what, restored_ok=True):
    """-> (qs {seq: (dev, ino, size, mtime_ns, orig, new)}, ds set, rs set) with consistency
    checks: header first, well-formed records, unique Q seq, every D/R after its Q."""
    qs, ds, rs = {}, set(), set()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        ck.check(False, "%s: journal %s unreadable: %s" % (what, sgs_cli.esc(path), e))
        return qs, ds, rs
    lines = data.split(b"\n")
    ck.check(data.endswith(b"\n"), "%s: journal does not end with a newline" % what)
    if lines and lines[-1] == b"":
        lines.pop()
    ck.check(lines and lines[0] == HEADER, "%s: journal's first line %r, want %r"
             % (what, lines[0][:80] if lines else b"", HEADER))
    for n, line in enumerate(lines[1:], 2):
        f = line.split(b" ")
        if line == HEADER:
            continue  # tolerated: a header repeated by a later run appending
        try:
            if f[0] == b"Q" and len(f) == 8:
                seq = int(f[1])
                dev, ino, size, mt = (int(x) for x in f[2:6])
                orig, new = bytes.fromhex(f[6].decode()), bytes.fromhex(f[7].decode())
                ck.check(seq not in qs, "%s: journal line %d: Q %d again" % (what, n, seq))
                qs[seq] = (dev, ino, size, mt, orig, new)
            elif (f[0] in (b"D", b"R") and len(f) == 2) or (f[0] == b"D" and len(f) == 3
                                                            and int(f[2]) > 0):
                seq = int(f[1])
                ck.check(seq in qs, "%s: journal line %d: %s %d without an earlier Q"
                         % (what, n, dec(f[0]), seq))
                s = ds if f[0] == b"D" else rs
                ck.check(f[0] == b"D" or seq not in s, "%s: journal line %d: R %d again"
                         % (what, n, seq))
                s.add(seq)
            else:
                ck.check(False, "%s: journal line %d malformed: %r" % (what, n, line[:200]))
        except ValueError:
            ck.check(False, "%s: journal line %d malformed: %r" % (what, n, line[:200]))
    if restored_ok:
        for seq in rs:
            dev, ino, size, mt, orig, new = qs[seq]
            try:
                st = os.lstat(orig)
                ok = (st.st_dev, st.st_ino) == (dev, ino)
            except OSError:
                ok = False
            ck.check(ok, "%s: journal has R %d but %s is not that file (dev %d ino %d)"
                     % (what, seq, sgs_cli.esc(orig), dev, ino))
    return qs, ds, rs


def hexp(p):
    return os.fsencode(p).hex().encode()


# ---------------------------------------------------------------- helpers

def rec_path(r):
    if isinstance(r.get("path_hex"), str):
        return bytes.fromhex(r["path_hex"])
    return r["path"].encode("utf-8", "surrogateescape")


def parse_jsonl(text, out):
    recs = {}
    for n, line in enumerate(out.split(b"\n"), 1):
        if not line:
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            ck.check(False, "%s: stdout line %d is not JSON (%s): %r" % (text, n, e, line[:200]))
            continue
        if isinstance(r, dict) and "type" in r:
            continue  # the run record and run_end: not a file's record
        if ck.check(isinstance(r, dict) and isinstance(r.get("verdict"), str)
                    and isinstance(r.get("reason"), str),
                    "%s: record without verdict/reason: %r" % (text, line[:300])):
            recs[rec_path(r)] = r
    return recs


def tesc(b):
    """The text format's escaping of a path: valid UTF-8 as is, a backslash doubled, control
    bytes and bytes of invalid UTF-8 as \\xHH."""
    b = os.fsencode(b)
    out, i = bytearray(), 0
    while i < len(b):
        c = b[i]
        if c == 0x5C:
            out += b"\\\\"
            i += 1
            continue
        if c >= 0x80:
            for n in (2, 3, 4):
                try:
                    b[i:i + n].decode("utf-8")
                    out += b[i:i + n]
                    i += n
                    break
                except UnicodeDecodeError:
                    pass
            else:
                out += b"\\x%02x" % c
                i += 1
            continue
        out += b"\\x%02x" % c if c < 0x20 or c == 0x7F else bytes([c])
        i += 1
    return bytes(out)


def has_line(out, action, path, reason=None):
    """stdout has 'ACTION PATH' or 'ACTION PATH (reason)'; reason=True requires the reason."""
    head = action + b" " + tesc(path)
    n = 0
    for l in out.split(b"\n"):
        if l == head and reason is not True:
            n += 1
        elif l.startswith(head + b" (") and l.endswith(b")"):
            n += 1
    return n


def out_lines(out):
    return [l for l in out.split(b"\n") if l]


def quarantined_count(err):
    m = re.search(rb"\b(\d+) quarantined\b", err)
    return int(m.group(1)) if m else None


def make_key(tmp):
    key = os.path.join(tmp, "ec.key")
    pub = os.path.join(tmp, "ec.pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)
    return key, pub


def small_tree(root, key):
    """1 VALID, 2 NO_SIGNATURE, 1 BAD_SIGNATURE -> the 3 names quarantine renames."""
    write(os.path.join(root, "ok"), b"fine\n")
    sign(key, os.path.join(root, "ok"))
    write(os.path.join(root, "a"), b"no signature a\n")
    write(os.path.join(root, "sub/b"), b"no signature b\n")
    write(os.path.join(root, "bad"), b"signed then changed\n")
    sign(key, os.path.join(root, "bad"))
    write(os.path.join(root, "bad"), b"signed then chaNged\n")
    return [b"a", b"sub/b", b"bad"]


# ---------------------------------------------------------------- the big tree

def main_tree(root, key):
    """-> (bad {rel: new rel}, valid rels, skipped rels)."""
    R = lambda rel: os.path.join(os.fsencode(root), os.fsencode(rel))
    valid = [b"good1", b"good2", b"sub/good3", b"taken_invalid", b"taken2_invalid",
             b"taken2_invalid.1", b"sub2/good4"]
    for i, v in enumerate(valid):
        write(R(v), b"valid content %d\n" % i * (i + 1))
        sign(key, R(v))
    bad = {}
    write(R(b"bad_flip"), b"A" * 5000)
    sign(key, R(b"bad_flip"))
    with open(R(b"bad_flip"), "r+b") as f:
        f.seek(2500)
        f.write(b"B")
    bad[b"bad_flip"] = b"bad_flip_invalid"
    write(R(b"othersig"), b"this file carries good1's signature\n")
    shutil.copyfile(R(b"good1.sig"), R(b"othersig.sig"))
    bad[b"othersig"] = b"othersig_invalid"
    write(R(b"garbage_sig"), b"garbage sig\n")
    write(R(b"garbage_sig.sig"), b"\x00garbage, not a signature\xff" * 3)
    bad[b"garbage_sig"] = b"garbage_sig_invalid"
    write(R(b"empty_sig"), b"empty sig\n")
    write(R(b"empty_sig.sig"), b"")
    bad[b"empty_sig"] = b"empty_sig_invalid"
    for rel in (b"nosig", b"sub/nosig2", b"sub/deeper/nosig3", b"sub2/nosig4",
                b"sp ace \xff\xfe", b"new\nline", b"empty"):
        write(R(rel), b"" if rel == b"empty" else b"unsigned " + rel + b"\n")
        bad[rel] = rel + b"_invalid"
    write(R(b"taken"), b"unsigned, _invalid taken\n")
    bad[b"taken"] = b"taken_invalid.1"
    write(R(b"taken2"), b"unsigned, _invalid and _invalid.1 taken\n")
    bad[b"taken2"] = b"taken2_invalid.2"
    write(R(b"linktarget"), b"unsigned target of a symlink\n")
    bad[b"linktarget"] = b"linktarget_invalid"
    os.symlink(b"linktarget", R(b"link"))
    os.symlink(b"nowhere", R(b"dangling"))
    os.mkfifo(R(b"fifo"))
    skipped = [b"link", b"dangling", b"fifo"]
    return bad, valid, skipped


def expected_after(before, bad):
    after = dict(before)
    for o, n in bad.items():
        after[n] = after.pop(o)
    return after


def test_quarantine(run, tmp, key, pub):
    ck.section = "quarantine"
    root = os.path.join(tmp, "tree")
    bad, valid, skipped = main_tree(root, key)
    broot = os.fsencode(root)
    missing = os.path.join(root, "missing_file")
    journal = os.path.join(tmp, "main.journal")
    before = snapshot(root)
    idents = {o: ident(os.path.join(broot, o)) for o in bad}
    rc, out, err, text = run("verify", "--key", pub, "--quarantine", "--journal", journal,
                             "--format", "jsonl", root, missing, want=1)
    recs = parse_jsonl(text, out)
    after = snapshot(root)
    ck.check(after == expected_after(before, bad),
             "%s: tree after quarantine differs from 'exactly the bad files renamed': %s"
             % (text, diff_snap(expected_after(before, bad), after)))
    for o, n in bad.items():
        po, pn = os.path.join(broot, o), os.path.join(broot, n)
        ck.check(not os.path.lexists(po), "%s: %s still there" % (text, sgs_cli.esc(o)))
        ck.check(os.path.lexists(pn) and ident(pn) == idents[o],
                 "%s: %s: %s is not the judged file" % (text, sgs_cli.esc(o), sgs_cli.esc(n)))
        r = recs.get(po)
        if not ck.check(r is not None, "%s: no record for %s" % (text, sgs_cli.esc(po))):
            continue
        ck.check(r["verdict"] in QUARANTINED, "%s: %s: verdict %s (%s)"
                 % (text, sgs_cli.esc(o), r["verdict"], r["reason"]))
        if all(32 <= c < 127 for c in pn):
            ck.check(r["reason"].endswith("; quarantined as " + pn.decode()),
                     "%s: %s: reason %r does not end with '; quarantined as %s'"
                     % (text, sgs_cli.esc(o), r["reason"], pn.decode()))
        else:
            ck.check(re.search(r"; quarantined as .*%s$" % re.escape(n[-10:].decode(
                "ascii", "ignore")), r["reason"], re.S) is not None,
                "%s: %s: reason %r lacks '; quarantined as ...'" % (text, sgs_cli.esc(o), r["reason"]))
    want_verdict = {b"bad_flip": {"BAD_SIGNATURE"}, b"othersig": {"BAD_SIGNATURE"},
                    b"garbage_sig": {"MALFORMED", "BAD_SIGNATURE"},
                    b"empty_sig": {"MALFORMED"}, b"nosig": {"NO_SIGNATURE"}}
    for o, vs in want_verdict.items():
        r = recs.get(os.path.join(broot, o))
        ck.check(r is None or r["verdict"] in vs, "%s: %s: %s, want %s"
                 % (text, sgs_cli.esc(o), r and r["verdict"], "|".join(sorted(vs))))
    for v in valid:
        r = recs.get(os.path.join(broot, v))
        # issue 12: _invalid names that no journal records as sigsweep's own (these were
        # made by hand) are judged like every file: VALID here, not quarantined
        ck.check(r is not None and r["verdict"] == "VALID" and "quarantined" not in r["reason"],
                 "%s: %s: %s, want VALID, not quarantined" % (text, sgs_cli.esc(v), r))
    for s in skipped:
        r = recs.get(os.path.join(broot, s))
        ck.check(r is not None and r["verdict"] == "SKIPPED" and "quarantined" not in r["reason"],
                 "%s: %s: %s, want SKIPPED, not quarantined" % (text, sgs_cli.esc(s), r))
    r = recs.get(os.fsencode(missing))
    ck.check(r is not None and r["verdict"] == "MISSING_FILE" and "quarantined" not in r["reason"]
             and not os.path.lexists(missing + "_invalid"),
             "%s: missing_file: %s, want MISSING_FILE, nothing created" % (text, r))
    ck.check(quarantined_count(err) == len(bad), "%s: summary %r lacks '%d quarantined'"
             % (text, dec(err)[-300:], len(bad)))
    qs, ds, rs = parse_journal(journal, text)
    got = {q[4]: q for q in qs.values()}
    ck.check(set(got) == {os.path.join(broot, o) for o in bad},
             "%s: journal Q paths %s, want the %d bad files"
             % (text, sorted(sgs_cli.esc(p) for p in got), len(bad)))
    for o, n in bad.items():
        q = got.get(os.path.join(broot, o))
        if q is None:
            continue
        ck.check(q[5] == os.path.join(broot, n), "%s: journal: %s -> %s, want %s"
                 % (text, sgs_cli.esc(o), sgs_cli.esc(q[5]), sgs_cli.esc(n)))
        ck.check(q[:4] == idents[o], "%s: journal: %s identity %s, want %s (dev ino size "
                 "mtime_ns)" % (text, sgs_cli.esc(o), q[:4], idents[o]))
    ck.check(ds == set(qs), "%s: journal: Q without D: %s" % (text, sorted(set(qs) - ds)))
    ck.check(not rs, "%s: journal has R records after verify" % text)
    return root, bad, valid, journal, before


def test_restore(run, tmp, root, bad, journal, before):
    broot = os.fsencode(root)
    P = lambda rel: os.path.join(broot, rel)
    ck.section = "restore --dry-run"
    snap0 = snapshot(root)
    jbytes = open(journal, "rb").read()
    rc, out, err, text = run("restore", "--journal", journal, "--dry-run", want=0)
    ck.check(snapshot(root) == snap0, "%s: the tree changed: %s"
             % (text, diff_snap(snap0, snapshot(root))))
    ck.check(open(journal, "rb").read() == jbytes, "%s: the journal changed" % text)
    for o in bad:
        ck.check(has_line(out, b"WOULD RESTORE", P(o)) == 1,
                 "%s: no line 'WOULD RESTORE %s'" % (text, sgs_cli.esc(P(o))))
    ck.check(not re.search(rb"^RESTORED ", out, re.M), "%s: RESTORED in a dry run" % text)

    ck.section = "restore PATH"
    inside = [o for o in bad if o.startswith(b"sub/")]
    rc, out, err, text = run("restore", "--journal", journal, P(b"sub"), want=0)
    for o, n in bad.items():
        if o in inside:
            ck.check(os.path.exists(P(o)) and not os.path.lexists(P(n)),
                     "%s: %s not restored" % (text, sgs_cli.esc(o)))
            ck.check(has_line(out, b"RESTORED", P(o)) == 1, "%s: no line 'RESTORED %s'"
                     % (text, sgs_cli.esc(P(o))))
        else:
            ck.check(not os.path.lexists(P(o)) and os.path.lexists(P(n)),
                     "%s: %s restored, but it is not under %s" % (text, sgs_cli.esc(o), sgs_cli.esc(P(b"sub"))))
    ck.check(len(out_lines(out)) == len(inside), "%s: %d output lines, want %d: %r"
             % (text, len(out_lines(out)), len(inside), out[:400]))

    ck.section = "restore refusals"
    # the original name re-used, and a quarantined file changed
    write(P(b"nosig"), b"a new file under the old name\n")
    reuse = snapshot(root)[b"nosig"]
    reuse_q = snapshot(root)[b"nosig_invalid"]
    with open(P(b"bad_flip_invalid"), "ab") as f:
        f.write(b"changed in quarantine")
    changed = snapshot(root)[b"bad_flip_invalid"]
    rc, out, err, text = run("restore", "--journal", journal, want=1)
    lines = out.split(b"\n")
    for o, n in bad.items():
        if o in (b"nosig", b"bad_flip"):
            ck.check(has_line(out, b"REFUSED", P(o), True) == 1,
                     "%s: no line 'REFUSED %s (reason)': %r"
                     % (text, sgs_cli.esc(P(o)), out[-600:]))
            continue
        if o in inside:
            continue
        ck.check(os.path.lexists(P(o)) and not os.path.lexists(P(n))
                 and snapshot(root).get(o) == before.get(o),
                 "%s: %s not restored byte-identical (same inode)" % (text, sgs_cli.esc(o)))
        ck.check(has_line(out, b"RESTORED", P(o)) == 1, "%s: no line 'RESTORED %s'"
                 % (text, sgs_cli.esc(P(o))))
    s = snapshot(root)
    ck.check(s.get(b"nosig") == reuse and s.get(b"nosig_invalid") == reuse_q,
             "%s: the re-used name or its quarantined file was touched" % text)
    ck.check(s.get(b"bad_flip_invalid") == changed and b"bad_flip" not in s,
             "%s: the changed quarantined file was moved or touched" % text)

    ck.section = "restore after freeing the name"
    os.unlink(P(b"nosig"))
    rc, out, err, text = run("restore", "--journal", journal, want=1)
    ck.check(snapshot(root).get(b"nosig") == before[b"nosig"],
             "%s: nosig not restored byte-identical" % text)
    ck.check(has_line(out, b"RESTORED", P(b"nosig")) == 1
             and has_line(out, b"REFUSED", P(b"bad_flip"), True) == 1
             and len(out_lines(out)) == 2,
             "%s: want exactly RESTORED nosig and REFUSED bad_flip: %r" % (text, out[:600]))
    # put the changed file back by hand: restore with its PATH still refuses, nothing else left
    rc, out, err, text = run("restore", "--journal", journal, P(b"nosig"), want=0)
    ck.check(out_lines(out) == [], "%s: nothing left to do, yet: %r" % (text, out[:300]))
    qs, ds, rs = parse_journal(journal, text)
    restored = {q[4] for s_, q in qs.items() if s_ in rs}
    ck.check(restored == {P(o) for o in bad if o != b"bad_flip"},
             "%s: journal R records for %s, want every file but bad_flip"
             % (text, sorted(sgs_cli.esc(p) for p in restored)))
    ck.check(quarantined_names(root) == sorted(
        [b"bad_flip_invalid", b"taken2_invalid", b"taken2_invalid.1", b"taken_invalid"]),
        "%s: _invalid files left: %s" % (text, [sgs_cli.esc(p) for p in quarantined_names(root)]))


def test_text_and_default_journal(run, tmp, key, pub, env):
    ck.section = "text format, $XDG_STATE_HOME journal"
    root = os.path.join(tmp, "textq")
    bad = small_tree(root, key)
    rc, out, err, text = run("verify", "--key", pub, "--quarantine", root, want=1)
    lines = out.decode().split("\n")
    for b in bad:
        p = os.path.join(root, b.decode())
        ck.check(any(l.startswith(p + ": ") and l.endswith("; quarantined as %s_invalid)" % p)
                     for l in lines), "%s: no text line '%s: VERDICT (...; quarantined as "
                 "%s_invalid)': %r" % (text, p, p, out[:600]))
    dj = os.path.join(env["XDG_STATE_HOME"], "sigsweep", "quarantine.journal")
    ck.check(os.path.isfile(dj), "%s: no default journal %s" % (text, dj))
    if os.path.isfile(dj):
        qs, ds, rs = parse_journal(dj, text)
        ck.check(len(qs) == 3, "%s: %d Q records in %s, want 3" % (text, len(qs), dj))
    # a second run appends to the same journal
    root2 = os.path.join(tmp, "textq2")
    bad2 = small_tree(root2, key)
    run("verify", "--key", pub, "--quarantine", "-q", root2, want=1)
    ck.check(len(quarantined_names(root2)) == 3, "second run: %s"
             % [sgs_cli.esc(p) for p in quarantined_names(root2)])
    if os.path.isfile(dj):
        qs, ds, rs = parse_journal(dj, "after two runs")
        ck.check(len(qs) == 6, "two runs: %d Q records in %s, want 6" % (len(qs), dj))
    rc, out, err, text = run("restore", want=0)
    ck.check(quarantined_names(root) == [] and quarantined_names(root2) == [],
             "%s (default journal): left %s %s" % (text, [sgs_cli.esc(p) for p in quarantined_names(
                 root)], [sgs_cli.esc(p) for p in quarantined_names(root2)]))
    ck.check(len([l for l in out_lines(out) if l.startswith(b"RESTORED ")]) == 6,
             "%s: want 6 RESTORED lines: %r" % (text, out[:600]))

    ck.section = "~/.local/state journal"
    env2 = {k: v for k, v in env.items() if k != "XDG_STATE_HOME"}
    root3 = os.path.join(tmp, "homeq")
    small_tree(root3, key)
    run("verify", "--key", pub, "--quarantine", "-q", root3, env=env2, want=1)
    hj = os.path.join(env["HOME"], ".local", "state", "sigsweep", "quarantine.journal")
    ck.check(os.path.isfile(hj), "no journal %s without XDG_STATE_HOME" % hj)
    ck.check(len(quarantined_names(root3)) == 3, "HOME run: %s"
             % [sgs_cli.esc(p) for p in quarantined_names(root3)])
    rc, out, err, text = run("restore", env=env2, want=0)
    ck.check(quarantined_names(root3) == [], "%s (HOME journal): left %s"
             % (text, [sgs_cli.esc(p) for p in quarantined_names(root3)]))


def test_policy(run, tmp, key, pub):
    n = [0]

    def case(name, args, policy, renamed, want_rc=1, warn_lines=None):
        ck.section = "policy: " + name
        n[0] += 1
        d = os.path.join(tmp, "pol%02d" % n[0])
        bad = small_tree(os.path.join(d, "t"), key)
        j = os.path.join(d, "j")
        a = ["verify", "--key", pub, "--journal", j] + list(args)
        pf = None
        if policy is not None:
            pf = os.path.join(d, "p.ini")
            write(pf, policy)
            a += ["--policy", pf]
        before = snapshot(os.path.join(d, "t"))
        rc, out, err, text = run(*(a + [os.path.join(d, "t")]), want=want_rc)
        got = quarantined_names(os.path.join(d, "t"))
        if renamed:
            ck.check(got == sorted(b + b"_invalid" for b in bad),
                     "%s: want the 3 bad files quarantined, got %s"
                     % (text, [sgs_cli.esc(p) for p in got]))
        else:
            ck.check(snapshot(os.path.join(d, "t")) == before, "%s: want nothing renamed: %s"
                     % (text, diff_snap(before, snapshot(os.path.join(d, "t")))))
            if os.path.exists(j):
                qs, _, _ = parse_journal(j, text)
                ck.check(not qs, "%s: Q records in an audit run" % text)
        if pf is not None and want_rc != 2:
            pat = re.compile(r"^sigsweep: %s:(\d+): " % re.escape(pf), re.M)
            got_lines = sorted(int(x) for x in pat.findall(dec(err)))
            ck.check(got_lines == sorted(warn_lines or []),
                     "%s: policy warnings for lines %s, want %s; stderr: %s"
                     % (text, got_lines, sorted(warn_lines or []), dec(err)[-800:]))
        return err

    HOT = b"[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=%d\n"
    UPG = b"[Global Settings]\nCheckDigitalSignatureForUpgrade=%d\n"
    case("--quarantine alone", ["--quarantine"], None, True)
    case("no option: report only", [], None, False)
    case("--mode audit --quarantine", ["--mode", "audit", "--quarantine"], None, False)
    case("--mode enforce", ["--mode", "enforce"], None, True)
    case("Hotfix=0 --quarantine", ["--quarantine"], HOT % 0, False)
    case("Hotfix=1", [], HOT % 1, True)
    case("Upgrade=1 (no Hotfix)", [], UPG % 1, True)
    case("Upgrade=0 --quarantine", ["--quarantine"], UPG % 0, False)
    case("Hotfix=0 wins over Upgrade=1", ["--quarantine"], UPG % 1 + HOT % 0, False)
    case("Hotfix=1 wins over Upgrade=0", [], HOT % 1 + UPG % 0, True)
    case("--mode enforce overrides Hotfix=0", ["--mode", "enforce"], HOT % 0, True)
    case("--mode audit overrides Hotfix=1", ["--mode", "audit", "--quarantine"], HOT % 1, False)
    case("no known key: report only", [], b"[Other]\nFoo=1\n", False)
    case("INI syntax: CRLF, comments, case, whitespace", [],
         b"; a comment\r\n# another = 1\r\n\r\n  [ini_server_section]  \r\n"
         b"  checkdigitalsignatureforHOTFIX   =   1  \r\n", True)
    malformed = (b"; header comment\n"                           # 1
                 b"[Global Settings]\n"                          # 2
                 b"this line has no equals sign\n"               # 3  warn
                 b"CheckDigitalSignatureForUpgrade = 2\n"        # 4  warn: not 0/1
                 b"[INI_SERVER_SECTION\n"                        # 5  warn: unterminated
                 b"[INI_SERVER_SECTION]\n"                       # 6
                 b"UnknownKey = whatever\n"                      # 7  unknown: ignored
                 b"CheckDigitalSignatureForHotfix = yes\n"       # 8  warn: not 0/1
                 b"\n"                                           # 9
                 b"[Other]\n"                                    # 10
                 b"CheckDigitalSignatureForHotfix = 1\n"         # 11 unknown section: ignored
                 b"Junk=\n")                                     # 12 unknown: ignored
    # issue 12: an enforcement key that is present but cannot be read is fatal (exit 2,
    # nothing renamed), never a silent fall back to audit
    case("unreadable enforcement values are fatal", [], malformed, False, want_rc=2)
    case("unreadable enforcement values, then Hotfix=1: still fatal", [], malformed + HOT % 1,
         False, want_rc=2)
    case("Hotfix=yes is fatal, not ignored", [],
         b"[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=yes\n" + UPG % 1, False,
         want_rc=2)
    case("Hotfix = 1 ; enforce (a trailing comment) is fatal", ["--quarantine"],
         b"[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix = 1 ; enforce\n", False,
         want_rc=2)
    case("other malformed lines are warnings", [],
         b"; c\n[Global Settings]\nthis line has no equals sign\n[INI_SERVER_SECTION]\n"
         b"UnknownKey = whatever\n" + HOT % 1, True, warn_lines=[3])
    case("UTF-16LE with a BOM is read", [],
         b"\xff\xfe" + (HOT % 1).decode().encode("utf-16-le"), True)
    ck.section = "policy: missing file"
    d = os.path.join(tmp, "polmissing")
    small_tree(os.path.join(d, "t"), key)
    before = snapshot(os.path.join(d, "t"))
    rc, out, err, text = run("verify", "--key", pub, "--quarantine", "--journal",
                             os.path.join(d, "j"), "--policy", os.path.join(d, "nope.ini"),
                             os.path.join(d, "t"), want=2)
    ck.check(err != b"", "%s: no diagnostic" % text)
    ck.check(snapshot(os.path.join(d, "t")) == before, "%s: something was renamed" % text)
    ck.section = "policy: --mode bogus"
    rc, out, err, text = run("verify", "--key", pub, "--mode", "bogus", "--journal",
                             os.path.join(d, "j"), os.path.join(d, "t"), want=2)
    ck.check(snapshot(os.path.join(d, "t")) == before, "%s: something was renamed" % text)


def journal_q(seq, path, new):
    dev, ino, size, mt = ident(path)
    return b"Q %d %d %d %d %d %s %s\n" % (seq, dev, ino, size, mt, hexp(path), hexp(new))


def test_handmade_journal(run, tmp):
    ck.section = "hand-made journal (crash states)"
    d = os.path.join(tmp, "hand")
    for n in ("a", "b", "c"):
        write(os.path.join(d, n), b"content of %s\n" % n.encode())
    before = snapshot(d)
    P = lambda n: os.path.join(d, n)
    j = os.path.join(tmp, "hand.journal")
    body = HEADER + b"\n"
    body += journal_q(1, P("a"), P("a_invalid"))          # crash before the rename
    body += journal_q(2, P("b"), P("b_invalid"))          # crash between rename and D
    os.rename(P("b"), P("b_invalid"))
    body += journal_q(3, P("c"), P("c_invalid")) + b"D 3\n"
    os.rename(P("c"), P("c_invalid"))
    write(j, body)
    os.chmod(j, 0o600)  # a journal others can read (and so lock) is not used
    rc, out, err, text = run("restore", "--journal", j, want=0)
    ck.check(snapshot(d) == before, "%s: not back as before: %s"
             % (text, diff_snap(before, snapshot(d))))
    for act, n in ((b"NOT MOVED", "a"), (b"RESTORED", "b"), (b"RESTORED", "c")):
        ck.check(has_line(out, act, P(n)) == 1, "%s: no line '%s %s': %r"
                 % (text, dec(act), P(n), out[:400]))
    ck.check(len(out_lines(out)) == 3, "%s: want 3 lines: %r" % (text, out[:400]))
    parse_journal(j, text)
    rc, out, err, text = run("restore", "--journal", j, want=0)
    ck.check(out_lines(out) == [], "%s: second restore not silent: %r" % (text, out[:300]))
    ck.check(snapshot(d) == before, "%s: second restore changed the tree" % text)

    ck.section = "journal inside the verified tree"
    # `verify --quarantine ~` with the default journal under ~/.local/state: the journal is a
    # regular file without a signature, but quarantining it would lose every record
    jin = os.path.join(tmp, "jin")
    write(os.path.join(jin, "x"), b"unsigned\n")
    jj = os.path.join(jin, "state", "q.journal")
    run("verify", "--key", os.path.join(tmp, "ec.pub"), "--quarantine", "-q", "--journal", jj,
        jin, want=1)
    ck.check(os.path.isfile(jj) and not os.path.exists(jj + "_invalid"),
             "verify --quarantine --journal %s %s: the journal itself was quarantined" % (jj, jin))
    rc, out, err, text = run("restore", "--journal", jj, want=0)
    ck.check(os.path.exists(os.path.join(jin, "x")), "%s: x not restored" % text)

    ck.section = "restore from another directory"
    # verify with a relative path from tmp, restore from /: the journal must locate the file
    rel = os.path.join(tmp, "relq")
    write(os.path.join(rel, "x"), b"unsigned\n")
    key_pub = os.path.join(tmp, "ec.pub")
    jr = os.path.join(tmp, "rel.journal")
    run("verify", "--key", key_pub, "--quarantine", "-q", "--journal", jr, "relq", cwd=tmp,
        want=1)
    ck.check(os.path.exists(os.path.join(rel, "x_invalid")), "relative verify: no x_invalid")
    rc, out, err, text = run("restore", "--journal", jr, cwd="/", want=0)
    ck.check(os.path.exists(os.path.join(rel, "x")) and not os.path.exists(
        os.path.join(rel, "x_invalid")), "%s (cwd /) after `verify relq` in %s: not restored; "
        "stdout %r stderr %r" % (text, tmp, out[:300], err[:300]))


def test_scan(run, tmp, key, pub):
    ck.section = "restore --scan"
    s = os.path.join(tmp, "scan")
    P = lambda n: os.path.join(s, n)
    files = {"stray_invalid": b"stray\n", "deep/other_invalid.3": b"other\n",
             "taken_invalid": b"taken, quarantined\n", "taken": b"taken, new\n",
             "foo_invalidx": b"not a quarantine name\n", "bar_invalid.": b"nor this\n",
             "baz_invalid.x": b"nor this\n"}
    for n, c in files.items():
        write(P(n), c)
    outside = os.path.join(tmp, "scan_outside", "out_invalid")
    write(outside, b"outside the scanned dir\n")
    # a journaled quarantine inside the scanned dir: restored once, through its journal entry
    write(P("j/unsigned"), b"unsigned, journaled\n")
    j = os.path.join(tmp, "scan.journal")
    run("verify", "--key", pub, "--quarantine", "-q", "--journal", j, P("j"), want=1)
    ck.check(os.path.exists(P("j/unsigned_invalid")), "scan setup: j/unsigned not quarantined")
    before = snapshot(s)
    rc, out, err, text = run("restore", "--journal", j, P("deep"), want=0)
    ck.check(snapshot(s) == before and out_lines(out) == [],
             "%s: strays touched without --scan: %r" % (text, out[:300]))
    rc, out, err, text = run("restore", "--journal", j, "--scan", s, "--dry-run", want=1)
    ck.check(snapshot(s) == before, "%s: the dry run changed the tree" % text)
    for n in ("stray", "deep/other", "j/unsigned"):
        ck.check(has_line(out, b"WOULD RESTORE", P(n)) == 1,
                 "%s: no 'WOULD RESTORE %s': %r" % (text, P(n), out[:600]))
    rc, out, err, text = run("restore", "--journal", j, "--scan", s, want=1)
    after = snapshot(s)
    ck.check(after.get(b"stray") == before[b"stray_invalid"] and b"stray_invalid" not in after,
             "%s: stray_invalid not restored to stray" % text)
    ck.check(after.get(b"deep/other") == before[b"deep/other_invalid.3"]
             and b"deep/other_invalid.3" not in after,
             "%s: deep/other_invalid.3 not restored to deep/other" % text)
    ck.check(after.get(b"j/unsigned") == before[b"j/unsigned_invalid"],
             "%s: the journaled j/unsigned_invalid not restored" % text)
    for n in ("taken", "taken_invalid", "foo_invalidx", "bar_invalid.", "baz_invalid.x"):
        ck.check(after.get(os.fsencode(n)) == before[os.fsencode(n)], "%s: %s touched"
                 % (text, n))
    ck.check(os.path.exists(outside), "%s: a stray outside --scan DIR was restored" % text)
    ck.check(has_line(out, b"REFUSED", P("taken"), True) == 1,
             "%s: no 'REFUSED %s (reason)': %r" % (text, P("taken"), out[:600]))
    for n in ("stray", "deep/other", "j/unsigned"):
        ck.check(has_line(out, b"RESTORED", P(n)) == 1,
                 "%s: want one 'RESTORED %s': %r" % (text, P(n), out[:600]))
    qs, ds, rs = parse_journal(j, text)
    jq = [seq for seq, q in qs.items() if q[4] == os.fsencode(P("j/unsigned"))]
    ck.check(len(jq) == 1 and jq[0] in rs, "%s: the journaled file has no R" % text)
    os.unlink(P("taken"))
    rc, out, err, text = run("restore", "--journal", j, "--scan", s, "--format", "jsonl", want=0)
    ck.check(snapshot(s).get(b"taken") == before[b"taken_invalid"],
             "%s: taken_invalid not restored once taken was freed" % text)
    ok = True
    for l in out_lines(out):
        try:
            ok = ok and isinstance(json.loads(l), dict)
        except ValueError:
            ok = False
    ck.check(ok and len(out_lines(out)) == 1, "%s: want one JSON object line: %r"
             % (text, out[:400]))


def test_restore_raw_names(run, tmp, key, pub):
    """restore --format jsonl names a path JSON cannot carry exactly by its raw bytes too."""
    ck.section = "restore jsonl, non-UTF-8 names"
    d = os.fsencode(os.path.join(tmp, "rawnames"))
    raw = os.path.join(d, b"bad\xffname")
    write(raw, b"unsigned\n")
    j = os.path.join(tmp, "rawnames.journal")
    run("verify", "--key", pub, "--quarantine", "-q", "--journal", j, os.fsdecode(d), want=1)
    rc, out, err, text = run("restore", "--journal", j, "--format", "jsonl", want=0)
    recs = [json.loads(l) for l in out_lines(out)]
    ck.check(len(recs) == 1 and recs[0].get("action") == "RESTORED" and
             bytes.fromhex(recs[0].get("original_hex", "")) == raw and
             bytes.fromhex(recs[0].get("quarantined_hex", "")) == raw + b"_invalid",
             "%s: want original_hex/quarantined_hex with the raw names: %r" % (text, recs))
    ck.check(os.path.exists(raw), "%s: the file is not back" % text)


def test_bad_journals(run, tmp, key, pub):
    ck.section = "foreign journals"
    d = os.path.join(tmp, "badj")
    write(os.path.join(d, "f"), b"x\n")
    run("verify", "--key", pub, "--quarantine", "-q", "--journal", os.path.join(tmp, "g.j"),
        d, want=1)
    good = open(os.path.join(tmp, "g.j"), "rb").read()
    before = snapshot(d)
    for name, body in (("no header", b"\n".join(good.split(b"\n")[1:])),
                       ("foreign header", b"sigsweep-journal 2\n" + b"\n".join(
                           good.split(b"\n")[1:])),
                       ("binary junk", bytes(range(256)) * 4)):
        j = os.path.join(tmp, "bad-%s.j" % name.replace(" ", "-"))
        write(j, body)
        rc, out, err, text = run("restore", "--journal", j, want=2)
        ck.check(err != b"", "%s (%s): no diagnostic" % (text, name))
        ck.check(snapshot(d) == before, "%s (%s): the tree changed" % (text, name))
        ck.check(open(j, "rb").read() == body, "%s (%s): the journal changed" % (text, name))
    rc, out, err, text = run("restore", "--journal", os.path.join(tmp, "g.j"), want=0)
    ck.check(os.path.exists(os.path.join(d, "f")), "%s: the good journal does not restore"
             % text)


def test_breaker(run, tmp, key, pub):
    """The circuit breaker: a wrong key, or more bad files than the limit, renames nothing."""
    ck.section = "breaker"
    os.makedirs(os.path.join(tmp, "other"), exist_ok=True)
    other_key, other_pub = make_key(os.path.join(tmp, "other"))
    root = os.path.join(tmp, "breaker")
    for i in range(30):
        write(os.path.join(root, "ok%02d" % i), b"fine %d\n" % i)
        sign(key, os.path.join(root, "ok%02d" % i))
    for i in range(2):
        write(os.path.join(root, "bad%d" % i), b"unsigned %d\n" % i)
    before = snapshot(root)
    j = os.path.join(tmp, "breaker.j")

    def outcome(args, want, renamed, what):
        rc, out, err, text = run("verify", "--quarantine", "--journal", j, "--format", "jsonl",
                                 *args, root, want=want, force=False)
        names = sorted(n for n in os.listdir(root) if "_invalid" in n)
        ck.check(len(names) == renamed, "%s: %s: %d renamed, want %d: %s"
                 % (text, what, len(names), renamed, names[:5]))
        recs = parse_jsonl(text, out)
        ck.check(len(recs) == len([n for n in before if not n.endswith(b".sig")]),
                 "%s: %d records" % (text, len(recs)))
        if renamed == 0:
            bad = [r for r in recs.values() if r["verdict"] != "VALID"]
            ck.check(bad and all("NOT QUARANTINED: " in r["reason"] for r in bad),
                     "%s: %s: a bad record does not say NOT QUARANTINED: %r"
                     % (text, what, [r["reason"] for r in bad][:2]))
            ck.check(b"nothing quarantined" in err, "%s: %s: stderr does not say nothing was "
                     "quarantined: %s" % (text, what, dec(err)[-300:]))
        return err

    # a wrong key: every file fails, nothing verified -> nothing renamed, exit 2, the cause named
    err = outcome(["--key", other_pub], 2, 0, "wrong key")
    ck.check(b"no file of this run verified" in err and b"the wrong key" in err,
             "wrong key: the cause is not named: %s" % dec(err)[-300:])
    ck.check(not os.path.exists(j) or b"\nQ " not in open(j, "rb").read(),
             "wrong key: the journal has a rename")
    # 2 bad of 32 (default: 5 %, at least 10): renamed
    outcome(["--key", pub], 1, 2, "2 of 32, default limit")
    run("restore", "--journal", j, want=0)
    ck.check(snapshot(root) == before, "restore after the breaker test: tree differs")
    for i in range(2, 12):
        write(os.path.join(root, "bad%d" % i), b"unsigned %d\n" % i)
    before = snapshot(root)
    # 12 bad of 42: over 10 (5 % of 42 is 2) -> nothing
    err = outcome(["--key", pub], 2, 0, "12 of 42, default limit")
    ck.check(b"12 of 42 files" in err, "12 of 42: the counts are not named: %s" % dec(err)[-300:])
    outcome(["--key", pub, "--max-quarantine", "11"], 2, 0, "12 of 42, limit 11")
    outcome(["--key", pub, "--max-quarantine", "12"], 1, 12, "12 of 42, limit 12")
    run("restore", "--journal", j, want=0)
    outcome(["--key", pub, "--max-quarantine", "28%"], 2, 0, "12 of 42, limit 28 %")
    outcome(["--key", pub, "--max-quarantine", "29%"], 1, 12, "12 of 42, limit 29 %")
    run("restore", "--journal", j, want=0)
    outcome(["--key", pub, "--max-quarantine", "0", "--force"], 1, 12, "--force")
    run("restore", "--journal", j, want=0)
    ck.check(snapshot(root) == before, "restore after the breaker test: tree differs")
    for bad_arg in ("-1", "101%", "5%%", "x", "%", ""):
        run("verify", "--key", pub, "--quarantine", "--max-quarantine", bad_arg, root, want=2,
            force=False)
    ck.check(snapshot(root) == before, "bad --max-quarantine values: the tree changed")


def test_relative_and_dry_run(run, tmp, key, pub):
    """Paths as given (relative, no double slash) in quarantine and restore messages; `restore
    --dry-run --scan` says exactly what `restore --scan` then does (issue 17c, 17h)."""
    ck.section = "relative paths, dry run = real run"
    w = os.path.join(tmp, "rel17")
    t = os.path.join(w, "t")
    for n in ("a", "b", "c", "d", "e", "s/u"):
        write(os.path.join(t, n), ("unsigned %s\n" % n).encode())
    j = os.path.join(tmp, "rel17.journal")
    rc, out, err, text = run("verify", "--key", pub, "--quarantine", "--journal", j, "t/",
                             cwd=w, want=1)
    lines = out_lines(out)
    ck.check(len(lines) == 6, "%s: want 6 lines: %r" % (text, out[:600]))
    for l in lines:
        m = re.match(rb"^(t/[^:]+): NO_SIGNATURE \(.*; quarantined as (.*)\)$", l)
        ck.check(m is not None and m.group(2) == m.group(1) + b"_invalid" and b"//" not in l,
                 "%s: want 't/X: NO_SIGNATURE (...; quarantined as t/X_invalid)': %r"
                 % (text, l))
    rc, out, err, text = run("restore", "--journal", j, "t/b", cwd=w, want=0)
    ck.check(out_lines(out) == [b"RESTORED t/b"], "%s: want 'RESTORED t/b': %r" % (text, out))
    write(os.path.join(t, "c"), b"a new c\n")                  # the original name is taken
    with open(os.path.join(t, "d_invalid"), "ab") as f:        # changed since quarantine
        f.write(b"changed\n")
    write(os.path.join(t, "s", "w_invalid"), b"stray w\n")     # two strays of one name
    write(os.path.join(t, "s", "w_invalid.1"), b"stray w.1\n")
    write(os.path.join(t, "e_invalid.3"), b"stray e\n")        # e comes back from the journal
    before, jbefore = snapshot(t), open(j, "rb").read()
    rc, dry, err, text = run("restore", "--journal", j, "--dry-run", "--scan", "t", cwd=w,
                             want=1)
    ck.check(snapshot(t) == before and open(j, "rb").read() == jbefore,
             "%s: the dry run changed the tree or the journal" % text)
    rc, real, err, rtext = run("restore", "--journal", j, "--scan", "t", cwd=w, want=1)
    predicted = [re.sub(rb"^WOULD RESTORE ", b"RESTORED ", l) for l in out_lines(dry)]
    ck.check(predicted == out_lines(real),
             "%s predicts %r, but %s says %r" % (text, out_lines(dry), rtext, out_lines(real)))
    want = [b"RESTORED t/s/u", b"REFUSED t/c (the original name is in use again)",
            b"RESTORED t/e",
            b"REFUSED t/d (the quarantined file changed since it was quarantined)",
            b"RESTORED t/a",
            b"REFUSED t/e (the original name is in use again)",
            b"RESTORED t/s/w (stray quarantined file)",
            b"REFUSED t/s/w (the original name is in use again)"]
    # the journal's entries in the order the workers quarantined them, then the strays
    ck.check(sorted(out_lines(real)[:5]) == sorted(want[:5]) and out_lines(real)[5:] == want[5:],
             "%s: %r, want %r (the first 5 in any order)" % (rtext, out_lines(real), want))
    after = snapshot(t)
    ck.check(after.get(b"d_invalid") == before[b"d_invalid"] and b"d" not in after,
             "%s: the changed file was restored (by the stray walk?)" % rtext)
    ck.check(after.get(b"c") == before[b"c"] and after.get(b"c_invalid") == before[b"c_invalid"],
             "%s: the taken name or its quarantined file changed" % rtext)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if shutil.which("openssl") is None:
        print("SKIP: openssl CLI not found")
        return 77
    binary = os.path.abspath(a.sigsweep)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="sgs-quarantine."))
    try:
        env = dict(os.environ, LC_ALL="C", HOME=os.path.join(tmp, "home"),
                   XDG_STATE_HOME=os.path.join(tmp, "state"))
        os.makedirs(env["HOME"])
        run = Runner(binary, env, tmp)
        key, pub = make_key(tmp)
        root, bad, valid, journal, before = test_quarantine(run, tmp, key, pub)
        test_restore(run, tmp, root, bad, journal, before)
        test_text_and_default_journal(run, tmp, key, pub, env)
        test_policy(run, tmp, key, pub)
        test_handmade_journal(run, tmp)
        test_scan(run, tmp, key, pub)
        test_restore_raw_names(run, tmp, key, pub)
        test_bad_journals(run, tmp, key, pub)
        test_breaker(run, tmp, key, pub)
        test_relative_and_dry_run(run, tmp, key, pub)
    finally:
        if a.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return ck.finish("quarantine_e2e", "%d failed" % len(ck.failures), MAX_FAILURES_SHOWN)


if __name__ == "__main__":
    sys.exit(main())
