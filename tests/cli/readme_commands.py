#!/usr/bin/env python3
"""Every command in README.md runs as written (issue 17).

usage: readme_commands.py --sigsweep BIN --source DIR [--keep] [--list]

The README's convention, which this test enforces:
  - A ```sh block holds commands: each line starting with "$ " is one (a line ending with "\\"
    continues it on the next line); the lines after it, up to the next "$ " line or the end of
    the block, are example output and are not checked. A ```sh block without any "$ " line is
    an error: blocks that are not meant to run are ```text (or ```ini, ...), never ```sh.
  - A command is expected to exit 0, unless its line carries the comment "# exit N".
  - "# skip: REASON" marks a command that is not run (root, the network, minutes of build); the
    test lists them and fails when there are more than MAX_SKIPS of them. The two house commands
    (corpus/demo.sh, tests/run.sh) must be present, marked skip, and name executable scripts.
  - Commands run in README order, in one bash process (a `cd` or a variable carries on to the
    next command), with stdin from /dev/null, in a fresh temp directory prepared like a new
    user's: HOME, XDG_CACHE_HOME, XDG_STATE_HOME and XDG_CONFIG_HOME inside it; `sigsweep` on
    PATH as a link to BIN; and the files the README says come from elsewhere:
      vendor/   a vendor's CMS-signed programs (programs/app.bin[.p7s], programs/report.bin
                [.p7s], signed by "CN=Vendor Code Signing" with only the leaf embedded), its
                root CA (root.pem) and a folder of candidate CAs (ca-bundle/intermediate.pem);
                made here with the openssl CLI;
      windows/  Authenticode-signed Windows programs from corpus/pe.sh: app/ (tool.exe,
                net.dll, legacy.exe: an expired signer with a timestamp, setup.exe: signed
                without its intermediate, patched.exe: a section changed after signing),
                boot/ (grubx64.efi: sbsign's section-sorted hash with an unsigned gap), root.pem,
                intermediate.pem, tsa-root.pem. When corpus/pe.sh cannot run here (no mingw-w64
                or osslsigncode), commands naming windows/ are reported SKIP with the reason;
                without sbsign the same for windows/boot/.
Commands naming minisign or signify are reported SKIP when the minisign or signify-openbsd
command is missing.
A command fails the test when its exit status is not the expected one, when bash says
"command not found", or when a sanitizer reports on its stderr; the output of failing commands
is printed. The README's links must stay inside the repository and resolve (README.md and
docs/*.md): no http(s) link targets.
Exit 0 when everything holds, 1 otherwise, 77 (skip) without the openssl CLI or bash.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgs_cli  # noqa: E402

MAX_SKIPS = 6
HOUSE = ("corpus/demo.sh", "tests/run.sh")
RUN_TIMEOUT = 600
EXIT_RE = re.compile(r"#.*\bexit\s+(\d+)\b")
SKIP_RE = re.compile(r"#\s*skip:\s*(.+)$")
# Fixture folders: commands naming them need the fixture (name -> key in `made`).
FIXTURE_PATHS = (("windows/boot/", "uefi"), ("windows/", "pe"))
# Commands of a section that needs another signer's tool: skipped (said) when it is missing.
OPTIONAL_TOOLS = (("minisign", "minisign"), ("signify", "signify-openbsd"))


class Command:
    def __init__(self, line, text):
        self.line = line      # 1-based line of the README where it starts
        self.text = text      # the command, continuation lines joined with "\\\n"
        m = EXIT_RE.search(self.comment())
        self.want = int(m.group(1)) if m else 0
        m = SKIP_RE.search(self.comment())
        self.skip = m.group(1).strip() if m else None

    def comment(self):
        """The text from the last line's first " #" on (a rough split, enough for the
        README's own commands: no "#" inside their quotes)."""
        last = self.text.split("\n")[-1]
        i = last.find(" #")
        return last[i:] if i >= 0 else ""


def parse_readme(path, ck):
    """Returns the README's commands; notes format errors with ck."""
    cmds = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    fence = None       # the info string of the open block, or None outside a block
    block_start = 0
    block_cmds = 0
    pending = None     # a command still continued by a trailing backslash
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[3:].strip()
                block_start, block_cmds = n, 0
            continue
        if stripped.startswith("```"):
            if fence == "sh":
                ck.check(pending is None, "README.md:%d: the command's last line ends with "
                                          "a backslash" % block_start)
                ck.check(block_cmds > 0, "README.md:%d: a ```sh block without a \"$ \" command "
                                         "(use ```text for blocks that do not run)" % block_start)
            fence, pending = None, None
            continue
        if fence != "sh":
            continue
        if pending is not None:
            pending[1].append(line)
            if not line.endswith("\\"):
                cmds.append(Command(pending[0], "\n".join(pending[1])))
                pending = None
            continue
        if line.startswith("$ "):
            block_cmds += 1
            if line.endswith("\\"):
                pending = (n, [line[2:]])
            else:
                cmds.append(Command(n, line[2:]))
    ck.check(fence is None, "README.md: a code block is not closed")
    return cmds


def check_links(source, ck):
    """README.md and docs/*.md: every markdown link target is inside the repository and
    exists."""
    files = [os.path.join(source, "README.md")]
    docs = os.path.join(source, "docs")
    if os.path.isdir(docs):
        files += [os.path.join(docs, n) for n in sorted(os.listdir(docs)) if n.endswith(".md")]
    link = re.compile(r"\]\(([^)\s]+)\)")
    for path in files:
        rel = os.path.relpath(path, source)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # code blocks and inline code are example text, not links
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
        for target in link.findall(text):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                ck.check(False, "%s: a link outside the repository: %s" % (rel, target))
                continue
            target = target.split("#", 1)[0]
            if not target:
                continue
            full = os.path.normpath(os.path.join(os.path.dirname(path), target))
            ck.check(full.startswith(os.path.abspath(source) + os.sep) and os.path.exists(full),
                     "%s: link to %s: no such file in the repository" % (rel, target))


def openssl(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


EXT_CNF = """[int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = caIssuers;URI:http://pki.vendor.example/int.crt
"""


def make_vendor(home):
    """vendor/: root CA -> intermediate CA -> code-signing leaf; files signed with
    `openssl cms -sign -binary` embedding the leaf only (the intermediate is in ca-bundle/)."""
    pki = os.path.join(home, ".vendor-pki")
    vendor = os.path.join(home, "vendor")
    for d in (pki, os.path.join(vendor, "programs"), os.path.join(vendor, "ca-bundle")):
        os.makedirs(d)
    with open(os.path.join(pki, "ext.cnf"), "w", encoding="ascii") as f:
        f.write(EXT_CNF)
    root, inter = "../vendor/root.pem", "../vendor/ca-bundle/intermediate.pem"
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key",
             "-out", root, "-subj", "/O=Vendor/CN=Vendor Root CA", "-days", "3650",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"], pki)
    for name, cn, issuer, ikey, ext, out in (
            ("int", "Vendor Intermediate CA", root, "root.key", "int", inter),
            ("leaf", "Vendor Code Signing", inter, "int.key", "leaf", "leaf.pem")):
        openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                 "-out", name + ".csr", "-subj", "/O=Vendor/CN=" + cn], pki)
        openssl(["x509", "-req", "-in", name + ".csr", "-CA", issuer, "-CAkey", ikey,
                 "-CAserial", name + ".srl", "-CAcreateserial", "-out", out, "-days", "3650",
                 "-extfile", "ext.cnf", "-extensions", ext], pki)
    for name, size in (("app.bin", 48000), ("report.bin", 9000)):
        path = os.path.join(vendor, "programs", name)
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        openssl(["cms", "-sign", "-binary", "-in", path, "-signer", "leaf.pem",
                 "-inkey", "leaf.key", "-outform", "DER", "-out", path + ".p7s"], pki)
    shutil.rmtree(pki)


def make_windows(home, source):
    """windows/ from corpus/pe.sh's cases. Returns (made_pe, made_uefi, why_not)."""
    out = os.path.join(home, ".pe-corpus")
    p = subprocess.run(["bash", os.path.join(source, "corpus", "pe.sh"), out],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300, check=False)
    if p.returncode != 0:
        tail = p.stdout.decode(errors="replace").strip().split("\n")[-1]
        return False, False, "corpus/pe.sh failed: " + tail
    win = os.path.join(home, "windows")
    os.makedirs(os.path.join(win, "app"))
    for src, dst in (("files/valid_sha256.exe", "app/tool.exe"),
                     ("files/valid_dll.dll", "app/net.dll"),
                     ("files/expired_ts.exe", "app/legacy.exe"),
                     ("files/missing_intermediate.exe", "app/setup.exe"),
                     ("files/tamper_section.exe", "app/patched.exe"),
                     ("root.pem", "root.pem"), ("intermediate.pem", "intermediate.pem"),
                     ("tsa-root.pem", "tsa-root.pem")):
        shutil.copyfile(os.path.join(out, src), os.path.join(win, dst))
    uefi = os.path.exists(os.path.join(out, "files", "uefi_gap.efi"))
    if uefi:
        os.makedirs(os.path.join(win, "boot"))
        shutil.copyfile(os.path.join(out, "files", "uefi_gap.efi"),
                        os.path.join(win, "boot", "grubx64.efi"))
    shutil.rmtree(out)
    return True, uefi, "" if uefi else "corpus/pe.sh made no UEFI case (no sbsign)"


def script_for(cmds, outdir):
    """One bash script running every command in order: each in a { } group (so cd and
    variables carry on) with its output in outdir/N.out and N.err and its exit status appended
    to outdir/status; $? at the start of a command is the previous command's status."""
    parts = ["__sgs_rc=0", "__sgs_status() { return \"$1\"; }"]
    outdir = shlex.quote(outdir)
    for i, c in cmds:
        parts.append("__sgs_status \"$__sgs_rc\"\n{ %s\n} </dev/null >%s/%d.out 2>%s/%d.err\n"
                     "__sgs_rc=$?\necho \"%d $__sgs_rc\" >>%s/status"
                     % (c.text, outdir, i, outdir, i, i, outdir))
    return "\n".join(parts) + "\n"


def show(path, limit=3000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return "(none)"
    return text[-limit:] if text else "(empty)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--source", required=True, help="the repository (README.md, corpus/)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    ap.add_argument("--list", action="store_true", help="print the commands, run nothing")
    args = ap.parse_args()
    source = os.path.abspath(args.source)
    binary = os.path.abspath(args.sigsweep)
    ck = sgs_cli.Checker()

    ck.section = "format"
    cmds = parse_readme(os.path.join(source, "README.md"), ck)
    if args.list:
        for c in cmds:
            print("%4d  %-8s %s" % (c.line, "skip" if c.skip else "exit %d" % c.want,
                                    c.text.replace("\n", "\n" + " " * 15)))
        return 0
    ck.check(len(cmds) > 0, "README.md: no commands found")
    for house in HOUSE:
        found = [c for c in cmds if c.text.split(" #")[0].strip() == house]
        if ck.check(len(found) == 1, "README.md: the house command `%s` is not there once "
                                     "(found %d)" % (house, len(found))):
            ck.check(found[0].skip is not None,
                     "README.md:%d: `%s` must be marked `# skip: ...`" % (found[0].line, house))
        ck.check(os.access(os.path.join(source, house), os.X_OK),
                 "%s: not an executable file" % house)
    skipped = [c for c in cmds if c.skip is not None]
    ck.check(len(skipped) <= MAX_SKIPS, "%d commands marked skip, at most %d: keep the set small"
             % (len(skipped), MAX_SKIPS))
    ck.section = "links"
    check_links(source, ck)

    if shutil.which("openssl") is None or shutil.which("bash") is None:
        print("readme_commands: SKIP: needs the openssl CLI and bash")
        return 77

    tmp = tempfile.mkdtemp(prefix="sgs-readme-")
    try:
        home = os.path.join(tmp, "work")
        os.makedirs(os.path.join(tmp, "bin"))
        os.makedirs(home)
        os.symlink(binary, os.path.join(tmp, "bin", "sigsweep"))
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("SGS_") or k in ("CDPATH", "BASH_ENV", "ENV"):
                del env[k]
        env.update(HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
                   XDG_STATE_HOME=os.path.join(home, ".local", "state"),
                   XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   PATH=os.path.join(tmp, "bin") + os.pathsep + env.get("PATH", ""),
                   LC_ALL="C.UTF-8")
        ck.section = "fixtures"
        make_vendor(home)
        made = {}
        made["pe"], made["uefi"], why = make_windows(home, source)
        if why:
            print("note: " + why)

        runnable = []
        for i, c in enumerate(cmds):
            if c.skip is not None:
                print("SKIP  README.md:%d: %s  (%s)" % (c.line, c.text.split(" #")[0], c.skip))
                continue
            missing = next((p for p, k in FIXTURE_PATHS if p in c.text and not made[k]), None)
            if missing is not None:
                print("SKIP  README.md:%d: %s  (no %s here: %s)"
                      % (c.line, c.text.split(" #")[0], missing, why))
                continue
            tool = next((t for w, t in OPTIONAL_TOOLS if w in c.text and shutil.which(t) is None),
                        None)
            if tool is not None:
                print("SKIP  README.md:%d: %s  (no %s here: apt-get install %s)"
                      % (c.line, c.text.split(" #")[0], tool, tool))
                continue
            runnable.append((i, c))
        outdir = os.path.join(tmp, "out")
        os.makedirs(outdir)
        script = os.path.join(tmp, "readme.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(script_for(runnable, outdir))
        status_path = os.path.join(outdir, "status")
        open(status_path, "w", encoding="ascii").close()
        ck.section = "commands"
        try:
            subprocess.run(["bash", "--norc", "--noprofile", script], cwd=home, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=RUN_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            ck.fail("the commands did not finish in %d s" % RUN_TIMEOUT)
        got = {}
        with open(status_path, encoding="ascii") as f:
            for line in f:
                i, rc = line.split()
                got[int(i)] = int(rc)
        for i, c in runnable:
            shown = c.text.split(" #")[0]
            err = show(os.path.join(outdir, "%d.err" % i))
            rc = got.get(i)
            problems = []
            if rc is None:
                problems.append("never ran (an earlier command ended the shell?)")
            elif rc != c.want:
                problems.append("exit %d, README says %d" % (rc, c.want))
            if "command not found" in err or rc == 127:
                problems.append("command not found")
            problems += ["sanitizer report" for m in sgs_cli.SANITIZER_MARKS
                         if m.decode() in err][:1]
            ck.check(not problems, "README.md:%d: %s: %s\n  stdout: %s\n  stderr: %s"
                     % (c.line, shown, "; ".join(problems),
                        show(os.path.join(outdir, "%d.out" % i)).replace("\n", "\n          "),
                        err.replace("\n", "\n          ")))
            print("%s  README.md:%d: %s  (exit %s)"
                  % ("ok  " if not problems else "FAIL", c.line, shown, rc))
        summary = "%d commands run, %d skipped" % (len(runnable), len(cmds) - len(runnable))
    finally:
        if args.keep:
            print("kept: " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return ck.finish("readme_commands", summary)


if __name__ == "__main__":
    sys.exit(main())
