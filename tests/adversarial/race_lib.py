"""race_lib.py - what the race tests share: an unprivileged attacker (`nobody`) swapping a
directory of the audited tree for a symbolic link to root's directory outside it, and the
snapshot that shows whether anything outside the tree changed."""
import os
import shutil
import subprocess
import sys
import tempfile

NOBODY = 65534

# argv: DIR OUTSIDE. DIR is renamed to DIR.real and a link DIR -> OUTSIDE put in its place, then
# back, as fast as it can; each state held for a varying number of system calls.
SWAPPER = r"""
import os, sys
d, out = sys.argv[1], sys.argv[2]
real = d + ".real"
n = 0
while True:
    n += 1
    try:
        os.rename(d, real)
        os.symlink(out, d)
        for _ in range(n % 64):
            os.lstat(d)
        os.unlink(d)
        os.rename(real, d)
        for _ in range(n % 61):
            os.lstat(d)
    except OSError:
        pass
"""


def snapshot(top):
    """Names, inodes, sizes and times of everything under top: any change shows."""
    out = []
    for r, ds, fs in os.walk(top):
        for n in ds + fs:
            st = os.lstat(os.path.join(r, n))
            out.append((os.path.relpath(os.path.join(r, n), top), st.st_ino, st.st_size,
                        st.st_mtime_ns))
    return sorted(out)


def own_by_nobody(top):
    for r, ds, fs in os.walk(top):
        for n in [r] + [os.path.join(r, m) for m in ds + fs]:
            os.chown(n, NOBODY, NOBODY)


def drop():
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def attacker(py, target, other, code=SWAPPER):
    """The swapper, running as nobody: the caller kills it (kill(); wait())."""
    return subprocess.Popen([py, "-c", code, target, other], preexec_fn=drop)


def put_back(target):
    """The tree as it was before the swapper: the real directory back in place."""
    if os.path.islink(target):
        os.unlink(target)
    if os.path.isdir(target + ".real"):
        os.rename(target + ".real", target)


def setup(name):
    """The start of a race test: None when not root (said: the attacker runs as nobody), else
    (the sigsweep binary from argv, a work directory nobody can traverse, the system's python:
    one nobody can run, not a per-user install under /root)."""
    if os.geteuid() != 0:
        print("%s: SKIPPED: needs root (the attacker runs as nobody)" % name)
        return None
    work = tempfile.mkdtemp(prefix="sgs-%s-" % name)
    os.chmod(work, 0o755)
    py = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    return os.path.abspath(sys.argv[1]), work, py
