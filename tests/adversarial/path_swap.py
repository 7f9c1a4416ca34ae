#!/usr/bin/env python3
"""path_swap.py - enforcement never renames outside the directory a file was judged in
(issue 18). A directory of a listed or walked path is swapped for a symbolic link (or another
directory) before the run or after the file was judged: nothing outside the tree is renamed,
the file is not judged through a link, and the record says why it was not quarantined.

No timing: names come through --files-from - from a pipe kept open; the test waits on inotify
until sigsweep has read the file (IN_CLOSE_NOWRITE), swaps, then closes the list, and the
renames (at the run's end) meet the swapped tree."""
import ctypes
import ctypes.util
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import sgs_cli  # noqa: E402

IN_CLOSE_NOWRITE = 0x10
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def wait_read(path, start):
    """Runs start(), then waits until a process closed `path` after reading it."""
    fd = libc.inotify_init1(os.O_CLOEXEC)
    assert fd >= 0
    try:
        wd = libc.inotify_add_watch(fd, os.fsencode(path), IN_CLOSE_NOWRITE)
        assert wd >= 0, path
        start()
        ready, _, _ = select.select([fd], [], [], 120)  # a hang guard, not a timing assertion
        if not ready:
            return False
        data = os.read(fd, 4096)
        return len(data) >= struct.calcsize("iIII")
    finally:
        os.close(fd)


def main():
    sgs = os.path.abspath(sys.argv[1])
    ck = sgs_cli.Checker()
    work = tempfile.mkdtemp(prefix="sgs-pathswap-")
    key = os.path.join(work, "k.pem")
    pub = os.path.join(work, "k.pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", key], check=True)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True)

    def case(name):
        d = os.path.join(work, name)
        os.makedirs(os.path.join(d, "tree", "sub"))
        os.makedirs(os.path.join(d, "outside"))
        for rel, data in (("tree/good", b"good\n"), ("tree/sub/bad", b"unsigned\n")):
            with open(os.path.join(d, rel), "wb") as f:
                f.write(data)
        subprocess.run([sgs, "sign", "-q", "--key", key, os.path.join(d, "tree", "good")],
                       check=True, stdout=subprocess.DEVNULL)
        return d

    def start_run(d):
        return subprocess.Popen([sgs, "verify", "--key", pub, "--quarantine", "--journal",
                                 os.path.join(d, "J"), "--files-from", "-"], cwd=d,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def feed(p, names):
        p.stdin.write("".join(n + "\n" for n in names).encode())
        p.stdin.flush()

    def finish(p):
        p.stdin = None  # closed by the caller: the end of the list
        out, err = p.communicate(timeout=120)
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def renamed(top):
        return [os.path.join(r, n) for r, ds, fs in os.walk(top) for n in fs + ds
                if "_invalid" in n]

    def move_out_and_link(d):
        os.rename(os.path.join(d, "tree", "sub"), os.path.join(d, "outside", "sub"))
        os.symlink(os.path.join("..", "outside", "sub"), os.path.join(d, "tree", "sub"))

    # 0. control: nothing swapped, the unsigned file is quarantined where it was judged
    d = case("control")
    p = start_run(d)
    feed(p, ["tree/sub/bad", "tree/good"])
    p.stdin.close()
    rc, out, err = finish(p)
    ck.check(rc == 1 and os.path.exists(os.path.join(d, "tree", "sub", "bad_invalid")),
             "control: the unsigned file is quarantined (rc %d)\n%s%s" % (rc, out, err))

    # 1. a listed file's directory is a link before the run: not judged through it
    d = case("listed-before")
    move_out_and_link(d)
    p = start_run(d)
    feed(p, ["tree/sub/bad", "tree/good"])
    p.stdin.close()
    rc, out, err = finish(p)
    ck.check("tree/sub/bad: SKIPPED (a directory of its path is a symbolic link" in out,
             "listed path through a link: SKIPPED, not followed\n" + out)
    ck.check(rc != 0 and renamed(d) == [], "listed path through a link: nothing renamed "
             "(rc %d, %s)" % (rc, renamed(d)))

    # 2. a listed file's directory moved out and replaced by a link after it was judged
    # 3. the same for a walked directory (the list names the tree)
    # 4. the directory moved out and replaced by another directory holding a file of the name
    for name, names, swap in (
            ("listed-after", ["tree/sub/bad", "tree/good"], move_out_and_link),
            ("walked-after", ["tree"], move_out_and_link),
            ("replaced-dir", ["tree/sub/bad", "tree/good"], None)):
        d = case(name)
        p = start_run(d)
        if swap is None:
            def swap(d=d):
                os.rename(os.path.join(d, "tree", "sub"), os.path.join(d, "outside", "sub"))
                os.mkdir(os.path.join(d, "tree", "sub"))
                with open(os.path.join(d, "tree", "sub", "bad"), "wb") as f:
                    f.write(b"a new file, never judged\n")
        ok = wait_read(os.path.join(d, "tree", "sub", "bad"), lambda: feed(p, names))
        ck.check(ok, "%s: sigsweep read the file" % name)
        swap(d)
        p.stdin.close()
        rc, out, err = finish(p)
        ck.check(renamed(d) == [], "%s: nothing renamed anywhere (%s)\n%s%s"
                 % (name, renamed(d), out, err))
        ck.check("not quarantined" in out.lower() and rc != 0,
                 "%s: the record says it was not quarantined (rc %d)\n%s" % (name, rc, out))
        ck.check(os.path.exists(os.path.join(d, "outside", "sub", "bad")),
                 "%s: the judged file is where the swap put it" % name)

    # 5. a given file's name swapped for a link to the judged inode, moved elsewhere
    d = case("name-swapped")
    p = start_run(d)
    ok = wait_read(os.path.join(d, "tree", "sub", "bad"),
                   lambda: feed(p, ["tree/sub/bad", "tree/good"]))
    ck.check(ok, "name-swapped: sigsweep read the file")
    os.rename(os.path.join(d, "tree", "sub", "bad"), os.path.join(d, "outside", "bad"))
    os.symlink(os.path.join("..", "..", "outside", "bad"), os.path.join(d, "tree", "sub", "bad"))
    p.stdin.close()
    rc, out, err = finish(p)
    ck.check(renamed(d) == [] and rc != 0,
             "name-swapped: nothing renamed (rc %d, %s)\n%s" % (rc, renamed(d), out))

    # 6. past the descriptor budget (the walk keeps no directory open for its entries): the
    # files are opened and renamed by their directory resolved again, links refused, identity
    # checked; with 64 descriptors the bottom 10 of 40 levels are such
    import resource
    d = case("deep")
    deep = os.path.join("tree", *(["d"] * 40))
    os.makedirs(os.path.join(d, deep))
    for n in ("good", "sub/bad"):
        shutil.move(os.path.join(d, "tree", n), os.path.join(d, deep, os.path.basename(n)))
    shutil.move(os.path.join(d, "tree", "good.sig"), os.path.join(d, deep, "good.sig"))
    p = subprocess.Popen([sgs, "verify", "-j1", "--key", pub, "--quarantine", "--journal",
                          os.path.join(d, "J"), "tree"], cwd=d, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))
    out, err = p.communicate(timeout=120)
    out = out.decode(errors="replace")
    ck.check(p.returncode == 1 and "/good: VALID" in out and
             os.path.exists(os.path.join(d, deep, "bad_invalid")),
             "deep: VALID and quarantined past the descriptor budget (rc %d)\n%s%s"
             % (p.returncode, out, err.decode(errors="replace")))

    shutil.rmtree(work)
    return ck.finish("path_swap", "%d checks" % ck.checks)


if __name__ == "__main__":
    sys.exit(main())
