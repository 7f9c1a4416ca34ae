#!/usr/bin/env python3
"""race_trees.py - an unprivileged attacker races `agents` and `package verify` (issue 18).

A process running as `nobody`, who owns the audited tree, swaps one of its directories between
the real directory and a symbolic link to root's directory outside the tree, as fast as it can,
while root audits the tree a bounded number of times (alternating -j1 and -j2).

agents: fleet/pc-bad has no key file; outside/good (root's) holds the server's key. Given as
FLEET_DIR and through --list. Invariants after every run:
  - pc-bad is never VALID (a VALID means its key file was read through the link);
  - every listed agent has exactly one record, every walked name at most one (a directory read
    during a rename may show the agent under both names); the run exits 1, never 0;
  - pc-ok (a real copy of the key) is VALID in every run (the race does not disturb others).

package verify: the manifest lists sub/x with the digest of root's outside/sub/x, while the
package's own sub/x was modified; outside/sub also holds `only-outside`. Invariants:
  - sub/x is never VALID and `only-outside` is never named (a link was followed, or the hash
    and the search for extra files saw two trees);
  - every manifest entry has exactly one record; the package is never VALID, exit never 0;
  - `good` (untouched) is VALID in every run.

restore: rtree/x (unsigned) quarantined, then restored while nobody exchanges x_invalid with a
decoy: restore never puts the decoy at x, and when it says RESTORED and exits 0, x holds the
quarantined bytes. (The exchange can also land between verify's rename and its check of the
inode moved: verify then renames the decoy back to x itself, as the issue asks for a swapped-in
file, and must say so; the decoy is the attacker's own, which it could put at x anyway.)

quarantine: tree/x (signed, its good bytes) is exchanged with spare/x (the attacker's bytes,
which x.sig does not verify) by renameat2(RENAME_EXCHANGE), while root runs `verify --quarantine
--force tree` (--force: the circuit breaker would hold back a run with no VALID file) and
`restore` after it. Invariants: x_invalid, when there is one, always holds the bytes
judged bad (never the good inode: a swap between the judgement and the rename is renamed back);
x is never VALID for the bad bytes; `restore` exits 0 and leaves nothing quarantined.

Nothing outside the tree is ever changed. Bounded by run count, not time; skipped (with a
message) when not root."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import sgs_cli  # noqa: E402
from race_lib import (SWAPPER, attacker, own_by_nobody, put_back, setup, snapshot,  # noqa: E402
                      write)

RUNS = 30


SWAP_FILES = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
AT_FDCWD, RENAME_EXCHANGE = -100, 2
n = 0
while True:
    n += 1
    libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    for _ in range(n % 67):
        os.getpid()
"""


def records(out, names):
    """{name: [verdict...]} for the text lines `NAME: VERDICT (reason)` of the given names."""
    got = {n: [] for n in names}
    for line in out.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and head in got:
            got[head].append(rest.split(" ", 1)[0])
    return got


def race(ck, py, target, link_to, outside, what, audit, code=SWAPPER):
    """Runs audit(i) RUNS times against a swapper of target <-> link_to; nothing under
    outside (None: not checked) may change."""
    before = snapshot(outside) if outside else None
    swapper = attacker(py, target, link_to, code)
    try:
        for i in range(RUNS):
            audit(i)
    finally:
        swapper.kill()
        swapper.wait()
    put_back(target)
    ck.check(outside is None or snapshot(outside) == before, "%s: outside/ changed" % what)


def agents_race(ck, sgs, py, work):
    rel = os.path.join(work, "release")
    subprocess.run([sgs, "keygen", "--type", "ec-p256", "--out", rel], check=True,
                   stdout=subprocess.DEVNULL)
    key = open(os.path.join(rel, "OfcNTCer.dat"), "rb").read()
    outside = os.path.join(work, "outside", "good")
    os.makedirs(outside)
    write(os.path.join(outside, "OfcNTCer.dat"), key)
    fleet = os.path.join(work, "fleet")
    for a in ("pc-ok", "pc-bad"):
        os.makedirs(os.path.join(fleet, a))
    write(os.path.join(fleet, "pc-ok", "OfcNTCer.dat"), key)
    own_by_nobody(fleet)
    write(os.path.join(work, "agents.tsv"),
          b"pc-ok\tfleet/pc-ok/OfcNTCer.dat\npc-bad\tfleet/pc-bad/OfcNTCer.dat\n")
    bad = [0]

    def audit(i):
        src = ["fleet"] if i % 2 == 0 else ["--list", "agents.tsv"]
        p = subprocess.run([sgs, "agents", "-j", str(1 + i % 2), "--server-cert",
                            os.path.join(rel, "server.crt")] + src, cwd=work,
                           capture_output=True, timeout=120)
        out = p.stdout.decode(errors="replace")
        got = records(out, ["pc-ok", "pc-bad", "pc-bad.real"])
        if "VALID" in got["pc-bad"] + got["pc-bad.real"]:
            bad[0] += 1
            ck.fail("agents run %d: an agent without a key file is VALID\n%s" % (i, out))
        ck.check(got["pc-ok"] == ["VALID"], "agents run %d: pc-ok %s\n%s" % (i, got["pc-ok"], out))
        if src[0] != "fleet":  # listed: exactly these two, whatever the directory is now
            ck.check(len(got["pc-bad"]) == 1, "agents run %d: one record for pc-bad\n%s" % (i, out))
        else:  # walked: a directory read while an entry is renamed may show it under both
            # names (POSIX readdir), each name judged once as what it was when opened
            ck.check(len(got["pc-bad"]) <= 1 and len(got["pc-bad.real"]) <= 1,
                     "agents run %d: one record for pc-bad\n%s" % (i, out))
        ck.check(p.returncode == 1, "agents run %d: exit %d\n%s%s"
                 % (i, p.returncode, out, p.stderr.decode(errors="replace")))

    race(ck, py, os.path.join(fleet, "pc-bad"), outside, os.path.join(work, "outside"),
         "agents", audit)
    return bad[0]


def package_race(ck, sgs, py, work):
    rel = os.path.join(work, "release")  # made by agents_race
    outside = os.path.join(work, "outside", "sub")
    os.makedirs(outside)
    write(os.path.join(outside, "x"), b"root's program\n")
    write(os.path.join(outside, "only-outside"), b"root's other file\n")
    pkg = os.path.join(work, "pkg")
    os.makedirs(os.path.join(pkg, "sub"))
    write(os.path.join(pkg, "good"), b"an untouched file\n")
    write(os.path.join(pkg, "sub", "x"), b"root's program\n")
    manifest = os.path.join(work, "pkg.sha256")
    subprocess.run([sgs, "package", "create", pkg, "--out", manifest], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([sgs, "package", "sign", "--key", os.path.join(rel, "server.key"), "--quiet",
                    manifest], check=True, stdout=subprocess.DEVNULL)
    write(os.path.join(pkg, "sub", "x"), b"the attacker's program\n")  # modified after signing
    own_by_nobody(pkg)
    bad = [0]

    def audit(i):
        p = subprocess.run([sgs, "package", "verify", "-j", str(1 + i % 2), "pkg", "--manifest",
                            manifest, "--key", os.path.join(rel, "server.crt")], cwd=work,
                           capture_output=True, timeout=120)
        out = p.stdout.decode(errors="replace")
        got = records(out, ["good", "sub/x", "sub.real/x", "sub/only-outside",
                            "sub.real/only-outside"])
        if "VALID" in got["sub/x"] + got["sub.real/x"]:
            bad[0] += 1
            ck.fail("package run %d: the modified sub/x is VALID\n%s" % (i, out))
        if "only-outside" in out:
            bad[0] += 1
            ck.fail("package run %d: a file outside the package is named\n%s" % (i, out))
        ck.check(got["good"] == ["VALID"], "package run %d: good %s\n%s" % (i, got["good"], out))
        ck.check(len(got["sub/x"]) == 1, "package run %d: one record for sub/x\n%s" % (i, out))
        ck.check("package VALID" not in out.splitlines(), "package run %d: VALID\n%s" % (i, out))
        ck.check(p.returncode == 1, "package run %d: exit %d\n%s%s"
                 % (i, p.returncode, out, p.stderr.decode(errors="replace")))

    race(ck, py, os.path.join(pkg, "sub"), outside, os.path.join(work, "outside"), "package",
         audit)
    return bad[0]


def quarantine_race(ck, sgs, py, work):
    rel = os.path.join(work, "release")  # made by agents_race
    tree, spare = os.path.join(work, "qtree"), os.path.join(work, "qspare")
    os.makedirs(tree)
    os.makedirs(spare)
    good, bad = b"the signed program\n", b"the attacker's program\n"
    write(os.path.join(tree, "x"), good)
    subprocess.run([sgs, "sign", "-q", "--key", os.path.join(rel, "server.key"),
                    os.path.join(tree, "x")], check=True, stdout=subprocess.DEVNULL)
    write(os.path.join(spare, "x"), bad)
    own_by_nobody(tree)
    own_by_nobody(spare)
    wrong = [0]
    counts = {"quarantined": 0, "valid": 0}

    def audit(i):
        journal = os.path.join(work, "QJ%d" % i)
        p = subprocess.run([sgs, "verify", "-j", str(1 + i % 2), "--key",
                            os.path.join(rel, "server.crt"), "--quarantine", "--force",
                            "--journal", journal, "qtree"], cwd=work, capture_output=True, timeout=120)
        out = p.stdout.decode(errors="replace")
        q = os.path.join(tree, "x_invalid")
        if os.path.exists(q):
            counts["quarantined"] += 1
            with open(q, "rb") as f:
                held = f.read()
            if held != bad:
                wrong[0] += 1
                ck.fail("quarantine run %d: x_invalid holds %r, not the bytes judged bad\n%s"
                        % (i, held, out))
        if "qtree/x: VALID" in out:
            counts["valid"] += 1
        r = subprocess.run([sgs, "restore", "--journal", journal], cwd=work, capture_output=True,
                           timeout=120)
        ck.check(r.returncode == 0 and not os.path.exists(q),
                 "quarantine run %d: restore exit %d, x_invalid left: %s\n%s%s"
                 % (i, r.returncode, os.path.exists(q), r.stdout.decode(errors="replace"),
                    r.stderr.decode(errors="replace")))

    race(ck, py, os.path.join(tree, "x"), os.path.join(spare, "x"), None, "quarantine", audit,
         code=SWAP_FILES)
    # both inodes are still there, one under each name, with their bytes
    held = sorted(open(os.path.join(d, "x"), "rb").read() for d in (tree, spare))
    ck.check(held == sorted([good, bad]), "quarantine: the two files after the race: %r" % held)
    return wrong[0], counts


def restore_race(ck, sgs, py, work):
    """restore while nobody exchanges x_invalid with a decoy: the decoy is never put at x, and
    restore exits 0 only when x holds the quarantined bytes."""
    rel = os.path.join(work, "release")  # made by agents_race
    tree = os.path.join(work, "rtree")
    os.makedirs(tree)
    x, q, decoy = (os.path.join(tree, n) for n in ("x", "x_invalid", "decoy"))
    bad, other = b"the attacker's program, judged bad\n", b"a decoy\n"
    wrong = [0]
    counts = {"restored": 0, "undone": 0}

    def audit(i):
        for n in os.listdir(tree):
            os.unlink(os.path.join(tree, n))
        write(x, bad)
        write(decoy, other)
        own_by_nobody(tree)
        journal = os.path.join(work, "RJ%d" % i)
        v = subprocess.run([sgs, "verify", "--key", os.path.join(rel, "server.crt"),
                            "--quarantine", "--force", "--journal", journal, "rtree/x"], cwd=work,
                           capture_output=True, timeout=120)
        vout = v.stdout.decode(errors="replace")
        before = open(x, "rb").read() if os.path.exists(x) else None  # only restore moves x now
        if before == other:  # verify's own undo of a swapped-in inode: said in x's record
            counts["undone"] += 1
            ck.check("put in its place" in vout,
                     "restore run %d: the decoy is at x after verify, unexplained\n%s" % (i, vout))
        r = subprocess.run([sgs, "restore", "--journal", journal], cwd=work, capture_output=True,
                           timeout=120)
        rout = r.stdout.decode(errors="replace")
        out = rout + r.stderr.decode(errors="replace")
        at_x = open(x, "rb").read() if os.path.exists(x) else None
        if at_x == other and before != other:
            wrong[0] += 1
            ck.fail("restore run %d: the decoy was put back as x\n%s" % (i, out))
        if r.returncode == 0 and "RESTORED " in rout:
            counts["restored"] += 1
            ck.check(at_x == bad, "restore run %d: exit 0 but x holds %r\n%s" % (i, at_x, out))
        elif r.returncode == 0:
            ck.check(at_x == before, "restore run %d: exit 0, nothing restored, but x changed "
                     "from %r to %r\n%s" % (i, before, at_x, out))

    race(ck, py, q, decoy, None, "restore", audit, code=SWAP_FILES)
    return wrong[0], counts


def main():
    started = setup("race_trees")
    if started is None:
        return 0
    sgs, work, py = started
    ck = sgs_cli.Checker()
    try:
        a = agents_race(ck, sgs, py, work)
        p = package_race(ck, sgs, py, work)
        q, counts = quarantine_race(ck, sgs, py, work)
        r, rcounts = restore_race(ck, sgs, py, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ck.check(a == 0, "agents: %d false VALIDs" % a)
    ck.check(p == 0, "package: %d runs mixed trees or said VALID" % p)
    ck.check(q == 0, "quarantine: the wrong inode quarantined %d times" % q)
    ck.check(r == 0, "restore: the decoy put back %d times" % r)
    return ck.finish("race_trees", "%d runs each of agents, package verify, verify "
                     "--quarantine (%d quarantined, %d VALID) and restore (%d restored, %d "
                     "swaps renamed back by verify) against a swapper running as nobody"
                     % (RUNS, counts["quarantined"], counts["valid"], rcounts["restored"],
                        rcounts["undone"]))


if __name__ == "__main__":
    sys.exit(main())
