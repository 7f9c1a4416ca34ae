#!/usr/bin/env python3
"""race_swapper.py - an unprivileged attacker races enforcing runs (issue 18).

A process running as `nobody`, who owns tree/, swaps tree/sub between a real directory and a
symbolic link to outside/sub (root's) as fast as it can, while root runs `verify --quarantine`
over the tree (walked, and listed through --files-from) a bounded number of times. Invariants,
after every run:
  - tree/sub/x is never VALID (the real x is unsigned; only outside/sub/x is signed: a VALID
    means a link was followed);
  - nothing in outside/ is ever renamed or changed (never a rename outside the tree);
  - every run ends with a record for every name it was given, and exits 1 (bad files) or 2
    (a file not quarantined), never 0.
Bounded by run count, not time; skipped (with a message) when not root."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import sgs_cli  # noqa: E402
from race_lib import NOBODY, attacker, setup, snapshot  # noqa: E402

RUNS = 40


def main():
    started = setup("race_swapper")
    if started is None:
        return 0
    sgs, work, py = started
    ck = sgs_cli.Checker()
    key, pub = os.path.join(work, "k.pem"), os.path.join(work, "k.pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", key], check=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)
    outside = os.path.join(work, "outside", "sub")
    os.makedirs(outside)
    for n, data in (("x", b"root's program\n"), ("z", b"root's unsigned file\n")):
        with open(os.path.join(outside, n), "wb") as f:
            f.write(data)
    subprocess.run([sgs, "sign", "-q", "--key", key, os.path.join(outside, "x")], check=True,
                   stdout=subprocess.DEVNULL)
    tree = os.path.join(work, "tree")
    os.makedirs(os.path.join(tree, "sub"))
    for n in ("x", "z"):
        with open(os.path.join(tree, "sub", n), "wb") as f:
            f.write(b"the attacker's unsigned file\n")
    with open(os.path.join(tree, "good"), "wb") as f:
        f.write(b"a signed file\n")
    subprocess.run([sgs, "sign", "-q", "--key", key, os.path.join(tree, "good")], check=True,
                   stdout=subprocess.DEVNULL)
    for r, ds, fs in os.walk(tree):
        for n in [r] + [os.path.join(r, m) for m in ds + fs]:
            os.chown(n, NOBODY, NOBODY)
    before = snapshot(os.path.join(work, "outside"))
    with open(os.path.join(work, "list"), "w") as f:
        f.write("tree/good\ntree/sub/x\ntree/sub/z\n")

    swapper = attacker(py, os.path.join(tree, "sub"), outside)
    valid_x = renamed_outside = zero = 0
    try:
        for i in range(RUNS):
            journal = os.path.join(work, "J%d" % i)
            src = ["tree"] if i % 2 == 0 else ["--files-from", "list"]
            p = subprocess.run([sgs, "verify", "--key", pub, "--quarantine", "--journal",
                                journal] + src, cwd=work, capture_output=True,
                               timeout=120)
            out = p.stdout.decode(errors="replace")
            if p.returncode == 0:
                zero += 1
            for line in out.splitlines():
                if line.startswith("tree/sub/x: VALID") or line.startswith("tree/sub.real/x: VALID"):
                    valid_x += 1
                    ck.fail("run %d: %s" % (i, line))
            if snapshot(os.path.join(work, "outside")) != before:
                renamed_outside += 1
                ck.fail("run %d renamed or changed something outside the tree:\n%s" % (i, out))
                break
            ck.check(p.returncode in (1, 2), "run %d: exit %d\n%s" % (i, p.returncode, out))
            names = ["tree/good"] + (["tree/sub/x", "tree/sub/z"] if src[0] != "tree" else [])
            for n in names:  # every name given has its one record
                ck.check(sum(line.startswith(n + ": ") for line in out.splitlines()) == 1,
                         "run %d: one record for %s\n%s" % (i, n, out))
            # put back what the run quarantined, for the next run
            subprocess.run([sgs, "restore", "--journal", journal], cwd=work, capture_output=True,
                           timeout=120)
    finally:
        swapper.kill()
        swapper.wait()
    ck.check(valid_x == 0, "tree/sub/x was VALID %d times (a link was followed)" % valid_x)
    ck.check(renamed_outside == 0, "outside/ changed")
    ck.check(zero == 0, "%d runs exited 0" % zero)
    shutil.rmtree(work)
    return ck.finish("race_swapper", "%d runs against a swapper running as nobody" % RUNS)


if __name__ == "__main__":
    sys.exit(main())
