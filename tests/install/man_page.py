#!/usr/bin/env python3
"""tests/install/man_page.py SIGSWEEP MANPAGE

sigsweep(1) documents every command and every option: for each command named on the usage lines
of `sigsweep --help` (and each command of a group such as `trust`), every option that
`sigsweep COMMAND --help` lists appears, with its argument, in that command's section of the
rendered page; groff renders the page without a warning. Exit 77 (skip) without groff.
"""
import re
import shutil
import subprocess
import sys

sigsweep, page = sys.argv[1], sys.argv[2]
if not shutil.which("groff"):
    print("man_page: SKIP: groff not installed (Debian: groff-base)")
    sys.exit(77)
failures = []


def helptext(words):
    r = subprocess.run([sigsweep] + words + ["--help"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"man_page: `sigsweep {' '.join(words)} --help` exited {r.returncode}")
    return r.stdout


def usage_words(text, prefix):
    out = []
    for line in text.splitlines():
        m = re.match(r"^(usage:| {6}) +sigsweep " + "".join(p + " " for p in prefix)
                     + r"([a-z][a-z0-9-]*)", line)
        if m and m.group(2) not in out:
            out.append(m.group(2))
    return out


def options(text):
    """(short, long, argument) of each option of the help's options: block."""
    out, seen = [], False
    for line in text.splitlines():
        seen = seen or line == "options:"
        m = re.match(r"^  (?:(-[A-Za-z0-9]), )?(--[a-z0-9-]+|-[A-Za-z0-9])( \S+)?", line)
        if seen and m:
            out.append((m.group(1), m.group(2), m.group(3)[1:] if m.group(3) else None))
    return out


rendered = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-rLL=200n", "-P-cbou", page],
                          capture_output=True, text=True)
if rendered.stderr.strip():
    failures.append("groff warnings:\n" + rendered.stderr)
text = rendered.stdout
if "‐" in text:  # U+2010: a '-' the page did not escape (would not match a search for --key)
    failures.append("the rendered page has typographic hyphens: escape '-' as '\\-'")
# Sections: "   sigsweep verify" (.SS) up to the next .SS/.SH heading.
sections, name = {}, None
for line in text.splitlines():
    m = re.match(r"^   sigsweep ([a-z][a-z -]*)$", line)
    if m:
        name = m.group(1)
        sections[name] = []
    elif re.match(r"^[A-Z]", line):
        name = None
    elif name:
        sections[name].append(line)

commands = []
for word in usage_words(helptext([]), []):
    h = helptext([word])
    commands.append([word])
    if f"`sigsweep {word} COMMAND --help`" in h:
        commands += [[word, sub] for sub in usage_words(h, [word])]
checked = 0
for words in commands:
    name = " ".join(words)
    if name not in sections:
        failures.append(f"no section 'sigsweep {name}' in the page")
        continue
    body = "\n".join(sections[name])
    for short, long, arg in options(helptext(words)):
        want = (f"{short}, " if short else "") + long + (f" {arg}" if arg else "")
        if not re.search(r"(^|\n) {7}" + re.escape(want) + r"($|\s)", body):
            failures.append(f"sigsweep {name}: option '{want}' not in its section")
        checked += 1
if "EXIT STATUS" not in text or "SYNOPSIS" not in text:
    failures.append("no SYNOPSIS or EXIT STATUS section")
if checked < 50:
    failures.append(f"only {checked} options found in the help texts: is the parser broken?")
for f in failures:
    print("man_page: FAIL:", f)
if failures:
    sys.exit(1)
print(f"man_page: {len(commands)} commands, {checked} options, each in its section of {page}")
