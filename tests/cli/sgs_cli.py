"""Shared by the CLI end-to-end tests: run a sigsweep command with a timeout and check its
stderr for sanitizer reports and its exit status, through the test's own check object
(anything with check(cond, message))."""
import subprocess

SANITIZER_MARKS = (b"AddressSanitizer", b"LeakSanitizer", b"ThreadSanitizer",
                   b"UndefinedBehaviorSanitizer", b"runtime error:")
RUN_TIMEOUT = 60


def run_checked(ck, cmd, cwd, text, env=None, timeout=RUN_TIMEOUT):
    """Runs cmd in cwd; returns (rc, stdout, stderr, text); rc -1 on a timeout."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        ck.check(False, "%s: timed out after %d s" % (text, timeout))
        return -1, b"", b"", text
    for mark in SANITIZER_MARKS:
        ck.check(mark not in p.stderr, "%s: sanitizer report on stderr:\n%s"
                 % (text, p.stderr.decode(errors="replace")[-3000:]))
    return p.returncode, p.stdout, p.stderr, text


def status_checked(ck, want, result):
    """Checks the exit status of a run_checked() result and passes the result on."""
    rc, _, err, text = result
    ck.check(rc == want, "%s: exit %d, want %d; stderr: %s"
             % (text, rc, want, err.decode(errors="replace")[-600:]))
    return result
