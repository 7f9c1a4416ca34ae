#!/usr/bin/env python3
"""cli_doc.py - the man page sigsweep(1) and the bash completion, from the command's own help.

Usage: cli_doc.py SIGSWEEP --man OUT.1 --completion OUT.bash

Both are made at build time from `sigsweep --help` (the commands, from its usage lines) and
`sigsweep COMMAND --help` (each command's usage, description and options; a group such as
`trust` or `package` lists its own commands), so they document the binary they ship with and a
new command or option appears in them without editing this file. Only the man page's frame
(NAME, DESCRIPTION, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO) is written here. tests/install
checks both against the help of the built binary.
"""
import argparse
import re
import subprocess
import sys

OPT_LINE = re.compile(r"^  (-[A-Za-z0-9], )?(--[a-z0-9][a-z0-9-]*|-[A-Za-z0-9])(.*)$")
FILE_ARGS = {"FILE", "DIR", "FILE|DIR", "DIR|FILE", "MANIFEST", "PRIVATE", "CERT", "FILE.ini"}
DIR_ARGS = {"DIR"}


def run_help(sigsweep, words):
    res = subprocess.run([sigsweep] + words + ["--help"], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"cli_doc: `sigsweep {' '.join(words)} --help` exited {res.returncode}: "
                 f"{res.stderr.strip()}")
    return res.stdout


class Option:
    def __init__(self, short, long, arg, help_lines):
        self.short, self.long, self.arg, self.help = short, long, arg, help_lines

    def values(self):
        """The words the argument can be, when the help says (else None)."""
        if self.arg is None:
            return None
        if re.fullmatch(r"[a-z0-9-]+(\|[a-z0-9-]+)*", self.arg):
            return self.arg.split("|")
        if re.fullmatch(r"[A-Z]{1,3}", self.arg):  # --format F: text (default), jsonl, csv
            head = self.help[0].split(":")[0].replace("(default)", "")
            words = [w.strip() for w in re.split(r",| or ", head)]
            if len(words) > 1 and all(re.fullmatch(r"[a-z0-9-]+", w) for w in words):
                return words
        return None


def parse_options(text):
    """The options block of one command's help: a list of Option."""
    opts, in_opts = [], False
    for line in text.splitlines():
        if line == "options:":
            in_opts = True
            continue
        if not in_opts or not line.strip():
            continue
        m = OPT_LINE.match(line)
        if m:
            short = m.group(1)[:2] if m.group(1) else None
            long, rest = m.group(2), m.group(3)
            arg = None
            if rest.startswith(" ") and not rest.startswith("  "):  # "--key FILE|DIR  help"
                arg, _, rest = rest[1:].partition(" ")
            opts.append(Option(short, long, arg, [rest.strip()]))
        elif line.startswith("   ") and opts and opts[-1].long:
            opts[-1].help.append(line.strip())
        else:  # a heading within the options ("CMS signatures:"): kept for the man page
            opts.append(Option(None, None, None, [line.strip()]))
    return opts


class Command:
    def __init__(self, words, text):
        self.words = words  # ["trust", "list"]
        self.name = " ".join(words)
        self.usage, self.paragraphs, cur, part = [], [], [], "usage"
        for line in text.splitlines():
            if part == "usage":
                if line.startswith("usage: ") or line.startswith("       "):
                    self.usage.append(line[7:])
                    continue
                part = "text"
            if line == "options:":
                break
            if line.startswith("`sigsweep"):  # a group's "`sigsweep trust COMMAND --help`"
                continue
            if line.strip():
                cur.append(line.strip())
            elif cur:
                self.paragraphs.append(" ".join(cur))
                cur = []
        if cur:
            self.paragraphs.append(" ".join(cur))
        self.options = parse_options(text)
        self.subs = []


def command_words(overview, prefix):
    """The words after `sigsweep PREFIX...` on the usage lines, in order, once each."""
    seen = []
    for line in overview.splitlines():
        m = re.match(r"^(usage:|      ) +sigsweep " + "".join(re.escape(p) + " " for p in prefix)
                     + r"([a-z][a-z0-9-]*)\b", line)
        if m and m.group(2) not in seen:
            seen.append(m.group(2))
    return seen


def read_cli(sigsweep):
    overview = run_help(sigsweep, [])
    commands = []
    for word in command_words(overview, []):
        text = run_help(sigsweep, [word])
        cmd = Command([word], text)
        if f"`sigsweep {word} COMMAND --help`" in text:
            for sub in command_words(text, [word]):
                cmd.subs.append(Command([word, sub], run_help(sigsweep, [word, sub])))
        commands.append(cmd)
    return overview, commands


# ---- the man page -----------------------------------------------------------------------------

def roff(text):
    """Plain text for roff: escapes, ASCII hyphen-minus and quotes kept as typed."""
    text = text.replace("\\", "\\e").replace("-", "\\-").replace("`", "\\(ga").replace("'", "\\(aq")
    return "\n".join("\\&" + l if l.startswith(".") else l for l in text.split("\n"))


def man_option(o):
    if o.long is None:  # a heading
        return ".PP\n" + roff(" ".join(o.help)) + "\n"
    tag = "\\fB" + roff(o.long) + "\\fR"
    if o.short:
        tag = "\\fB" + roff(o.short) + "\\fR, " + tag
    if o.arg:
        tag += " \\fI" + roff(o.arg) + "\\fR"
    return ".TP\n" + tag + "\n" + roff(" ".join(o.help)) + "\n"


def man_command(cmd):
    out = [f'.SS "sigsweep {roff(cmd.name)}"\n', ".nf\n"]
    out += [roff(u) + "\n" for u in cmd.usage]
    out.append(".fi\n")
    for p in cmd.paragraphs:
        out.append(".PP\n" + roff(p) + "\n")
    if cmd.options:
        out.append(".PP\nOptions:\n")
        out += [man_option(o) for o in cmd.options]
    for sub in cmd.subs:
        out += man_command(sub)
    return out


def man_page(version, overview, commands):
    synopsis = []
    for line in overview.splitlines():  # the usage lines: up to the first empty line
        if not line.strip():
            break
        synopsis.append(line[7:])
    out = [
        f'.TH SIGSWEEP 1 "" "sigsweep {version}" "User Commands"\n',
        ".\\\" Generated by packaging/cli_doc.py from `sigsweep --help` and\n",
        ".\\\" `sigsweep COMMAND --help`; edit the help texts in cli/, not this file.\n",
        ".nh\n.ad l\n",
        ".SH NAME\nsigsweep \\- check the signatures of many files at once\n",
        ".SH SYNOPSIS\n.nf\n", *[roff(s) + "\n" for s in synopsis], ".fi\n",
        ".SH DESCRIPTION\n",
        roff("sigsweep checks the signatures of many files at once and tells, for each file, "
             "whether its bytes are exactly what its signer signed: VALID only when they "
             "verified end to end, otherwise a specific verdict with a reason. It reads "
             "detached signatures as openssl writes them (raw RSA, RSA-PSS, ECDSA and Ed25519; "
             "CMS/PKCS#7), Windows Authenticode signatures, agents' copies of a server key and "
             "signed update packages, and can quarantine what fails, and undo that.") + "\n",
        ".PP\n",
        roff("`sigsweep COMMAND --help` (or `sigsweep help COMMAND`) prints the options of one "
             "command, as listed below; `sigsweep --version` prints the version and runs a "
             "short self-test (exit 2 if it fails).") + "\n",
        ".SH COMMANDS\n",
    ]
    for cmd in commands:
        out += man_command(cmd)
    out += [
        ".SH EXIT STATUS\n",
        ".TP\n0\nevery input VALID\n",
        ".TP\n1\nsome input not VALID, or no input found\n",
        ".TP\n2\n" + roff("a usage error or a fatal error (unreadable keys, a failed self-test, "
                          "a run stopped by a signal or --time-limit)") + "\n",
        ".SH ENVIRONMENT\n",
        ".TP\n.B XDG_CACHE_HOME\n" + roff("the persistent cache of --cache is "
                                          "$XDG_CACHE_HOME/sigsweep (default ~/.cache/sigsweep)")
        + "\n",
        ".TP\n.B XDG_STATE_HOME\n" + roff("the quarantine journal is "
                                          "$XDG_STATE_HOME/sigsweep/quarantine.journal (default "
                                          "~/.local/state/sigsweep)") + "\n",
        ".SH EXAMPLES\n",
        ".nf\n",
        roff("sigsweep verify --key release/server.crt /opt/app\n"
             "sigsweep verify --key keys/ --format jsonl --output report.jsonl /opt\n"
             "sigsweep verify --trust /etc/sigsweep/ca --quarantine /srv/updates\n"
             "sigsweep restore --dry-run\n"
             "sigsweep agents --server-cert server.crt /srv/fleet") + "\n",
        ".fi\n",
        ".SH SEE ALSO\n",
        "\\fBopenssl\\-dgst\\fR(1ssl), \\fBopenssl\\-cms\\fR(1ssl), \\fBsha256sum\\fR(1)\n",
    ]
    return "".join(out)


# ---- bash completion --------------------------------------------------------------------------

def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def completion(commands):
    top = [c.words[0] for c in commands] + ["help"]
    lines = [
        "# bash completion for sigsweep(1); generated by packaging/cli_doc.py from the command's\n",
        "# --help texts. Commands, subcommands, each command's options and their values.\n",
        "_sigsweep()\n{\n",
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n",
        "    local cmd='' i w\n",
        "    COMPREPLY=()\n",
        "    # The command: the first words after sigsweep that are not options (a group's\n",
        "    # command is two words: 'trust list').\n",
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n",
        "        w=${COMP_WORDS[i]}\n",
        "        [[ $w == -* ]] && break\n",
        "        case \"$cmd\" in\n",
        "        '') cmd=$w ;;\n",
    ]
    groups = [c for c in commands if c.subs]
    for g in groups:
        subs = "|".join(s.words[1] for s in g.subs)
        lines.append(f"        {g.words[0]}) case $w in {subs}) cmd=\"$cmd $w\" ;; esac; break ;;\n")
    lines += ["        *) break ;;\n", "        esac\n", "    done\n"]
    # values of an option's argument
    lines += ["    case \"$cmd:$prev\" in\n"]
    flat = []
    for c in commands:
        flat += c.subs if c.subs else [c]
    for c in flat:
        for o in c.options:
            if o.arg is None or o.long is None:
                continue
            names = "|".join(f"'{c.name}:{n}'" for n in (o.long, o.short) if n)
            vals = o.values()
            if vals:
                lines.append(f"    {names}) COMPREPLY=($(compgen -W {sh_quote(' '.join(vals))}"
                             " -- \"$cur\")); return ;;\n")
            elif o.arg in DIR_ARGS:
                lines.append(f"    {names}) compopt -o filenames 2>/dev/null;"
                             " COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n")
            elif o.arg in FILE_ARGS:
                lines.append(f"    {names}) compopt -o filenames 2>/dev/null;"
                             " COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n")
            else:
                lines.append(f"    {names}) return ;;\n")
    lines += ["    esac\n"]
    # words and options
    lines += ["    case \"$cmd\" in\n",
              f"    '') COMPREPLY=($(compgen -W {sh_quote(' '.join(top + ['--help', '--version']))}"
              " -- \"$cur\")); return ;;\n",
              f"    help) COMPREPLY=($(compgen -W {sh_quote(' '.join(top[:-1]))} -- \"$cur\"));"
              " return ;;\n"]
    for g in groups:
        lines.append(f"    {g.words[0]}) COMPREPLY=($(compgen -W "
                     f"{sh_quote(' '.join(s.words[1] for s in g.subs) + ' --help')}"
                     " -- \"$cur\")); return ;;\n")
    for c in flat:
        opts = []
        for o in c.options:
            opts += [n for n in (o.long, o.short) if n]  # (a heading has neither)
        words = []
        m = re.match(r"sigsweep " + re.escape(c.name) + r" ((?:[a-z]+(?: [A-Z]+)?\|)+[a-z]+)",
                     c.usage[0])
        if m:  # cache stats|clear|export FILE
            words = re.findall(r"\b[a-z]+\b", m.group(1))
        lines.append(f"    '{c.name}')\n"
                     f"        if [[ $cur == -* ]]; then\n"
                     f"            COMPREPLY=($(compgen -W {sh_quote(' '.join(opts))} -- \"$cur\"))\n")
        if words:
            lines.append(f"        elif ((COMP_CWORD == {len(c.words) + 1})); then\n"
                         f"            COMPREPLY=($(compgen -W {sh_quote(' '.join(words))} -- \"$cur\"))\n")
        lines.append("        else\n"
                     "            compopt -o filenames 2>/dev/null\n"
                     "            COMPREPLY=($(compgen -f -- \"$cur\"))\n"
                     "        fi ;;\n")
    lines += ["    esac\n", "}\n", "complete -F _sigsweep sigsweep\n"]
    return "".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sigsweep")
    ap.add_argument("--man")
    ap.add_argument("--completion")
    ap.add_argument("--version", default="")
    a = ap.parse_args()
    overview, commands = read_cli(a.sigsweep)
    if not commands:
        sys.exit("cli_doc: no command found in `sigsweep --help`")
    if a.man:
        with open(a.man, "w") as f:
            f.write(man_page(a.version, overview, commands))
    if a.completion:
        with open(a.completion, "w") as f:
            f.write(completion(commands))


if __name__ == "__main__":
    main()
