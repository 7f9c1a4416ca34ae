"""Shared by the CLI end-to-end tests: a check object that collects failures, the escaping of
raw bytes the corpora's expected.tsv files use, the cases.tsv/signers.tsv readers of the PKI
corpora, and running a sigsweep command with a timeout, checking its stderr for sanitizer
reports and its exit status."""
import collections
import os
import re
import subprocess

SANITIZER_MARKS = (b"AddressSanitizer", b"LeakSanitizer", b"ThreadSanitizer",
                   b"UndefinedBehaviorSanitizer", b"runtime error:")
RUN_TIMEOUT = 60


class Checker:
    """Counts checks and collects failures (prefixed with the current section, if any) and
    notes (printed, never failing)."""

    def __init__(self):
        self.failures = []
        self.notes = []
        self.checks = 0
        self.section = ""

    def fail(self, msg):
        self.failures.append("[%s] %s" % (self.section, msg) if self.section else msg)

    def check(self, cond, msg):
        self.checks += 1
        if not cond:
            self.fail(msg)
        return cond

    def finish(self, name, summary, shown=60):
        """Prints the first `shown` failures and the verdict line; the exit status: 1 when a
        check failed or when no check ran at all (a test that checks nothing fails)."""
        for msg in self.failures[:shown]:
            print("FAIL: " + msg)
        if len(self.failures) > shown:
            print("... and %d more failures" % (len(self.failures) - shown))
        if self.checks == 0:
            print("%s: FAIL: no check ran (%s)" % (name, summary))
            return 1
        if self.failures:
            print("%s: FAIL: %d of %d checks failed; %s"
                  % (name, len(self.failures), self.checks, summary))
            return 1
        print("%s: OK: %d checks; %s" % (name, self.checks, summary))
        return 0


def esc(raw):
    """expected.tsv's form of a name: bytes outside printable ASCII, and the backslash, as
    \\xHH (str is taken as a file-system name)."""
    b = os.fsencode(raw) if isinstance(raw, str) else raw
    return "".join(chr(c) if 0x20 <= c < 0x7F and c != 0x5C else "\\x%02x" % c for c in b)


# One row of a PKI corpus's cases.tsv: group:name, sigsweep arguments, input, verdict, regex.
Case = collections.namedtuple("Case", "name args input verdict regex")


def read_cases(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 5:
                raise SystemExit("%s:%d: %d columns, want 5" % (path, n, len(cols)))
            cases.append(Case(*cols))
    return cases


# The verdicts a `sigsweep verify` record can carry.
VERIFY_VERDICTS = {
    "VALID", "BAD_SIGNATURE", "DIGEST_MISMATCH", "NO_SIGNATURE", "MISSING_FILE", "EXTRA_FILE",
    "UNTRUSTED", "EXPIRED", "NOT_YET_VALID", "REVOKED", "KEY_MISMATCH", "MALFORMED",
    "UNSUPPORTED", "IO_ERROR", "CHANGED", "SKIPPED",
}


def check_cases(cases, ck, required):
    """A cases.tsv is sound: unique names and (args, input) rows, known verdicts, regexes that
    compile, and a case for each verdict in required."""
    names = collections.Counter(c.name for c in cases)
    for name, k in names.items():
        ck.check(k == 1, "cases.tsv: case name %s used %d times" % (name, k))
    rows = collections.Counter((c.args, c.input) for c in cases)
    for (args, inp), k in rows.items():
        ck.check(k == 1, "cases.tsv: (%s, %s) listed %d times" % (args, inp, k))
    for c in cases:
        ck.check(c.verdict in VERIFY_VERDICTS,
                 "cases.tsv: %s: unknown verdict %s" % (c.name, c.verdict))
        try:
            re.compile(c.regex)
        except re.error as e:
            ck.fail("cases.tsv: %s: bad regex: %s" % (c.name, e))
    verdicts = collections.Counter(c.verdict for c in cases)
    for v in required:
        ck.check(verdicts[v] > 0, "cases.tsv: no %s case" % v)


def read_signers(path):
    """signers.tsv: input -> SPKI SHA-256 of its signer."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                inp, fpr = line.rstrip("\n").split("\t")
                out[inp] = fpr
    return out


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


def text_records(sigsweep, work, *args):
    """Runs sigsweep in work: {path: (verdict, reason)} of its text report, the exit status and
    stderr; a sanitizer report ends the test."""
    p = subprocess.run([sigsweep, *args], cwd=work, capture_output=True, text=True,
                       timeout=RUN_TIMEOUT)
    for mark in ("Sanitizer", "runtime error:"):
        if mark in p.stderr:
            raise SystemExit("sanitizer report: %s" % p.stderr[-2000:])
    out = {}
    for line in p.stdout.splitlines():
        path, _, rest = line.partition(": ")
        verdict, _, reason = rest.partition(" (")
        out[path] = (verdict, reason.rstrip(")"))
    return out, p.returncode, p.stderr
