#!/usr/bin/env python3
"""cli.report_html and cli.report_html_browser: `sigsweep report html`, the fleet report.

  report_html.py --sigsweep BIN --gen bench/fleet_report_gen.py --outdir DIR [--browser]

Without --browser: real `verify` and `agents` JSON Lines (a run record put in front, as the
fleet layer writes it) plus a generated fleet and hostile records (markup and quotes in paths
and reasons, `</script>` in embedded JSON, U+2028, bytes that are not UTF-8) render to a page
whose numbers equal the reports' counts, whose data round-trips, and where no string from a
report becomes markup; the row limits leave out rows and say so; every kind of bad input
(truncated, not JSON, another format, no run record, a type format 1 lacks, counts that do not
add up, unreadable) exits 2 naming file and line
and leaves the destination as it was.

With --browser: headless Chromium loads the page from a file:// URL and dumps the DOM after its
script ran: the totals shown equal the reports' counts, a filter in the URL fragment (verdict,
host, path) narrows the records table to exactly the matching rows, no injected markup ran,
and a screenshot is kept in DIR (report.png). Exit 77 (skipped) without chromium.
"""
import argparse
import collections
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgs_cli import Checker, run_checked, status_checked  # noqa: E402

HOSTILE_PATH = "<script>alert(1)</script>\"'&amp;<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
HOSTILE_REASON = ("</script><script>document.body.setAttribute('data-pwned','2')</script> "
                  "<!-- \u2028 \u2029 end")


def run_record(host, command, records, **extra):
    counts = collections.Counter(r["verdict"] for r in records)
    rec = {"type": "run", "format": 1, "host": host, "start": "2026-12-05T09:00:00Z",
           "end": "2026-12-05T09:01:00Z", "version": "0.1.0", "command": command,
           "argv": [command], "shard": "1/1",
           "fingerprints": {"keys": "aa", "trust": "bb", "options": "cc"},
           "counts": dict(counts), "files": len(records), "interrupted": False}
    rec.update(extra)
    return json.dumps(rec)


def real_reports(ck, sgs, work):
    """verify and agents JSON Lines from real runs of sigsweep; returns (lines, records)."""
    def run(args, want):
        return status_checked(ck, want, run_checked(ck, [sgs] + args, work, " ".join(args)))
    os.makedirs(os.path.join(work, "programs"), exist_ok=True)
    for name in ("agent", "updater", "libnet.so"):
        with open(os.path.join(work, "programs", name), "wb") as f:
            f.write(os.urandom(5000))
    run(["keygen", "--type", "ec-p256", "--out", "release"], 0)
    run(["keygen", "--type", "ec-p256", "--out", "old"], 0)
    run(["sign", "--key", "release/server.key", "--quiet", "programs"], 0)
    with open(os.path.join(work, "programs", "libnet.so"), "ab") as f:
        f.write(b"patched")
    with open(os.path.join(work, "programs", "dropper"), "wb") as f:
        f.write(b"new")
    run(["verify", "--key", "release/server.crt", "--format", "jsonl", "--output", "verify.jsonl",
         "--quiet", "programs"], 1)
    for agent, key in (("pc-01", "release"), ("pc-02", "old"), ("pc-03", None)):
        os.makedirs(os.path.join(work, "fleet", agent), exist_ok=True)
        if key:
            shutil.copy(os.path.join(work, key, "OfcNTCer.dat"), os.path.join(work, "fleet", agent))
    _, out, _, _ = run(["agents", "--server-cert", "release/server.crt", "--known",
                        "old/server.crt", "--format", "jsonl", "--quiet", "fleet"], 1)
    # the real reports as they are (run record, records, run_end) make a page
    run(["report", "html", "verify.jsonl", "--out", "real.html"], 0)
    with open(os.path.join(work, "verify.jsonl"), encoding="utf-8") as f:
        verify = [json.loads(line) for line in f]
    agents = [json.loads(line) for line in out.decode().splitlines()]
    ck.check(verify[0].get("type") == "run" and "counts" in verify[0],
             "a real report (--output) starts with its whole run record")
    ck.check(agents[0].get("type") == "run" and agents[-1].get("type") == "run_end",
             "a real stream (stdout) starts with its run record and ends with run_end")
    # below, each host's run record is made here (host names, groups): the file records only
    verify = [r for r in verify if "type" not in r]
    agents = [r for r in agents if "type" not in r]
    ck.check([r["verdict"] for r in verify].count("BAD_SIGNATURE") == 1
             and [r["verdict"] for r in verify].count("NO_SIGNATURE") == 1,
             "the real verify run: one BAD_SIGNATURE and one NO_SIGNATURE: %s" % verify)
    ck.check(len(agents) == 3 and all("agent" in r for r in agents), "agents records: %s" % agents)
    lines = [run_record("real-01.lab", "verify", verify)]
    lines += [json.dumps(r) for r in verify]
    lines += [run_record("real-01.lab", "agents", agents)]
    lines += [json.dumps(r) for r in agents]
    return lines, verify + [dict(r, _agent=True) for r in agents]


def hostile_reports():
    """One host's run with markup, quotes, U+2028 and U+FFFD; returns (bytes, records)."""
    recs = [
        {"path": HOSTILE_PATH, "verdict": "BAD_SIGNATURE", "reason": HOSTILE_REASON, "digest": ""},
        {"path": "/opt/ok", "verdict": "VALID", "reason": "ok", "digest": "00"},
        {"path": "/opt/<b>bold</b>", "verdict": "NO_SIGNATURE", "reason": "no \"sig\" & no p7s",
         "digest": ""},
    ]
    host = "evil\"><script>document.body.setAttribute('data-pwned','3')</script>"
    out = run_record(host, "verify", recs + [{"verdict": "MALFORMED"}],
                     interrupted=True).encode() + b"\n"
    out += b"".join(json.dumps(r).encode() + b"\n" for r in recs)
    # replacement characters and a line separator as a report writes them (bytes that are not
    # UTF-8 are not JSON: check_bad_input)
    out += json.dumps({"path": "/opt/bad\ufffd\ufffd\ufffd\ufffdname", "verdict": "MALFORMED",
                       "reason": "r\u2028", "digest": ""}).encode() + b"\n"
    out += b'{"type":"note","level":"warning","text":"<i>shards overlap</i>"}\n'
    return out, recs + [{"path": "/opt/bad\ufffd\ufffd\ufffd\ufffdname", "verdict": "MALFORMED"}]


def embedded_data(page):
    m = re.search(r'<script type="application/json" id="sgs-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1)) if m else None


def numbers(page):
    """id -> data-n of the numbers the page shows."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'id="([\w-]+)" data-n="(\d+)"', page)}


def check_page(ck, page, records):
    counts = collections.Counter(r["verdict"] for r in records)
    n = numbers(page)
    ck.check(n.get("total-files") == len(records), "total-files %s, want %d"
             % (n.get("total-files"), len(records)))
    ck.check(n.get("total-nonvalid") == len(records) - counts["VALID"], "total-nonvalid %s"
             % n.get("total-nonvalid"))
    for v, k in counts.items():
        ck.check(n.get("count-" + v) == k, "count-%s %s, want %d" % (v, n.get("count-" + v), k))
    shown = {k[len("count-"):] for k in n if k.startswith("count-")}
    ck.check(shown == set(counts), "verdicts shown %s, want %s" % (sorted(shown), sorted(counts)))
    agents = [r for r in records if r.get("_agent")]
    if agents:
        ck.check(n.get("agents-total") == len(agents) and
                 n.get("agents-bad") == sum(r["verdict"] != "VALID" for r in agents),
                 "agents %s of %s, want %d of %d" % (n.get("agents-bad"), n.get("agents-total"),
                                                     sum(r["verdict"] != "VALID" for r in agents),
                                                     len(agents)))


def check_static(ck, sgs, gen, out):
    ck.section = "static"
    work = os.path.join(out, "real")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    lines, real = real_reports(ck, sgs, work)
    hostile, hrecs = hostile_reports()
    fleet = os.path.join(out, "fleet.jsonl")
    p = subprocess.run([sys.executable, gen, "--hosts", "23", "--files", "200", "--agents", "4",
                        "--seed", "7", os.path.join(out, "gen.jsonl")],
                       stdout=subprocess.PIPE, check=True)
    gen_totals = json.loads(p.stdout)["totals"]
    with open(os.path.join(out, "gen.jsonl"), "rb") as f:
        gen_bytes = f.read()
    gen_recs = []
    for line in gen_bytes.decode().splitlines():
        r = json.loads(line)
        if "type" not in r:
            gen_recs.append(dict(r, _agent=True) if "agent" in r else r)
    with open(fleet, "wb") as f:
        f.write(("\n".join(lines) + "\n").encode() + hostile + gen_bytes)
    records = real + hrecs + gen_recs
    html_path = os.path.join(out, "report.html")
    status_checked(ck, 0, run_checked(ck, [sgs, "report", "html", fleet, "--out", html_path], out,
                                      "report html fleet.jsonl"))
    with open(html_path, "rb") as f:
        raw = f.read()
    try:
        page = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        ck.fail("the page is not UTF-8: %s" % e)
        page = raw.decode("utf-8", "replace")
    check_page(ck, page, records)
    ck.check(sum(gen_totals.values()) == len(gen_recs), "the generator's totals")
    # nothing from a report became markup
    ck.check(len(re.findall(r"<script", page, re.I)) == 2, "2 <script> elements, found %d"
             % len(re.findall(r"<script", page, re.I)))
    ck.check(len(re.findall(r"</script", page, re.I)) == 2, "2 </script>, found %d"
             % len(re.findall(r"</script", page, re.I)))
    ck.check("<img" not in page and "<b>bold" not in page and "<i>shards" not in page,
             "markup from a report reached the page")
    ck.check("\u2028" not in page and "\u2029" not in page, "U+2028/9 in the page")
    ck.check(not re.search(r'(src|href)="(https?:)?//', page), "a network reference in the page")
    data = embedded_data(page)
    ck.check(data is not None, "no embedded data")
    if data:
        paths = [r[2] for r in data["rows"]]
        ck.check(HOSTILE_PATH in paths, "the hostile path did not round-trip as data")
        reasons = [r[3] for r in data["rows"]]
        ck.check(HOSTILE_REASON in reasons, "the hostile reason did not round-trip as data")
        ck.check("/opt/bad\ufffd\ufffd\ufffd\ufffdname" in paths, "non-UTF-8 bytes as U+FFFD: %s"
                 % [p for p in paths if p.startswith("/opt/bad")])
        notes = [t for _, t in data["notes"]]
        ck.check("<i>shards overlap</i>" in notes, "the report's note: %s" % notes)
        ck.check(any("the run was interrupted" in t for t in notes),
                 "the interrupted run is flagged: %s" % notes)
        ck.check([h[5] for h in data["hosts"]].count(1) == 1, "one host's run was interrupted")
        fnd = [f for f in data["findings"] if f[3] == "9f" * 32]
        tampered_hosts = sum(1 for r in gen_recs if r.get("digest") == "9f" * 32)
        ck.check(len(fnd) == 1 and fnd[0][4] == tampered_hosts and fnd[0][5] == tampered_hosts,
                 "the tampered library on %d hosts is one finding: %s" % (tampered_hosts, fnd))
        cas = {c[0]: c for c in data["cas"]}
        want = collections.defaultdict(lambda: [0, set(), ""])
        for r in gen_recs:
            m = re.search(r'no certificate for issuer "([^"]*)"', r.get("reason", ""))
            if m:
                w = want[m.group(1)]
                w[0] += 1
                w[1].add(r["path"])
                f = re.search(r"would be VALID after importing (.*)$", r["reason"])
                w[2] = f.group(1) if f else ""
        ck.check(len(want) == 3 and any(w[2] == "" for w in want.values()),
                 "the generator makes three missing CAs, one without a fix: %s" % dict(want))
        for dn, (files, _, fix) in want.items():
            ck.check(dn in cas and cas[dn][2] == files and cas[dn][4] == fix,
                     "missing CA %s: %s, want %d files, fix %r" % (dn, cas.get(dn), files, fix))
        ck.check(data["rowsLeftOut"] == 0 and
                 len(data["rows"]) == sum(1 for r in records
                                          if r["verdict"] != "VALID" and not r.get("_agent")) +
                 sum(1 for r in records if r["verdict"] != "VALID" and r.get("_agent")),
                 "every record not VALID embedded: %d" % len(data["rows"]))
    # the limits: 1 row per host, 5 in all; the counts stay complete
    capped = os.path.join(out, "capped.html")
    status_checked(ck, 0, run_checked(ck, [sgs, "report", "html", fleet, "--out", capped,
                                           "--rows-per-host", "1", "--rows", "5"], out,
                                      "report html --rows 5"))
    with open(capped, encoding="utf-8") as f:
        cpage = f.read()
    check_page(ck, cpage, records)
    cdata = embedded_data(cpage) or {"rows": [], "rowsLeftOut": -1}
    nonvalid = sum(1 for r in records if r["verdict"] != "VALID")
    ck.check(len(cdata["rows"]) == 5 and len({r[0] for r in cdata["rows"]}) == 5 and
             cdata["rowsLeftOut"] == nonvalid - 5,
             "--rows 5 --rows-per-host 1: %d rows from %d hosts, %s left out, want 5, 5, %d"
             % (len(cdata["rows"]), len({r[0] for r in cdata["rows"]}), cdata["rowsLeftOut"],
                nonvalid - 5))
    return html_path, records


def check_bad_input(ck, sgs, out):
    ck.section = "bad input"
    good = run_record("h1", "verify", [{"verdict": "VALID"}]) + "\n" + \
        json.dumps({"path": "/a", "verdict": "VALID", "reason": "", "digest": ""}) + "\n"
    cases = [
        ("truncated", good + '{"path":"/b","verdict":"VAL',
         r"truncated\.jsonl:3: a line without its end \(the report is truncated\)"),
        ("notjson", good + "hello\n" + good, r"notjson\.jsonl:3: not a JSON object: "),
        ("trailing", good + '{"verdict":"VALID"} x\n', r"trailing\.jsonl:3: not a JSON object: "),
        ("format2", good.replace('"format": 1', '"format": 2'),
         r"format2\.jsonl:1: a report of format other than 1; this sigsweep reads format 1"),
        ("norun", '{"path":"/a","verdict":"VALID"}\n',
         r"norun\.jsonl:1: a record before any run record"),
        ("empty", "", r"empty\.jsonl: empty: no run record"),
        ("verdict", good + '{"path":"/a","verdict":"FINE"}\n', r"verdict\.jsonl:3: a record without a known verdict"),
        ("array", good + "[1,2]\n", r"array\.jsonl:3: not a JSON object"),
        ("nul", good + '{"path":"/a\0","verdict":"VALID"}\n', r"nul\.jsonl:3: not a JSON object: "),
        ("utf8", good + '{"path":"/opt/bad\udcff\udcfe","verdict":"VALID"}\n',
         r"utf8\.jsonl:3: not a JSON object: "),
        # the run record counts one record, two follow: as report merge, the page is not made
        ("counts", good + json.dumps({"path": "/b", "verdict": "VALID", "reason": ""}) + "\n",
         r"counts\.jsonl:1: the run record counts 1 records .* do not add up to them"),
        ("type", good + '{"type":"from-the-future","x":1}\n',
         r"type\.jsonl:3: a record of unknown type from-the-future"),
        ("long", good + '{"path":"' + "a" * (16 << 20) + '","verdict":"VALID"}\n',
         r"long\.jsonl:3: a line longer than 16 MiB"),
    ]
    dest = os.path.join(out, "bad-dest.html")
    for name, text, want in cases:
        path = os.path.join(out, name + ".jsonl")
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        with open(dest, "w") as f:
            f.write("previous page")
        # a good report first: the bad one still fails the whole run
        good_path = os.path.join(out, "good.jsonl")
        with open(good_path, "w", encoding="utf-8") as f:
            f.write(good)
        _, _, err, _ = status_checked(ck, 2, run_checked(
            ck, [sgs, "report", "html", good_path, path, "--out", dest], out, "report html " + name))
        ck.check(re.search(want, err.decode(errors="replace")) is not None,
                 "%s: stderr %r lacks %r" % (name, err.decode(errors="replace"), want))
        with open(dest) as f:
            ck.check(f.read() == "previous page", "%s: the destination changed" % name)
        ck.check(sorted(x for x in os.listdir(out) if x.startswith("bad-dest")) == ["bad-dest.html"],
                 "%s: a temporary file was left: %s" % (name, os.listdir(out)))
    for name, path in (("missing", os.path.join(out, "no-such.jsonl")), ("directory", out)):
        _, _, err, _ = status_checked(ck, 2, run_checked(
            ck, [sgs, "report", "html", path, "--out", dest], out, "report html " + name))
        ck.check(path in err.decode(errors="replace"), "%s: stderr %r does not name %s"
                 % (name, err.decode(errors="replace"), path))
    status_checked(ck, 2, run_checked(ck, [sgs, "report", "html", "--out", dest], out,
                                      "report html without a report"))
    status_checked(ck, 2, run_checked(ck, [sgs, "report", "html", os.path.join(out, "good.jsonl")],
                                      out, "report html without --out"))


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browse(ck, browser, url, args, what):
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--user-data-dir=" + profile] + args + [url]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            ck.fail("%s: chromium timed out" % what)
            return ""
    ck.check(p.returncode == 0, "%s: chromium exit %d: %s" % (what, p.returncode,
                                                               p.stderr.decode(errors="replace")[-800:]))
    return p.stdout.decode("utf-8", "replace")


def table_rows(dom, box):
    """The body rows of the table in <div id=box>: a list of lists of cell texts."""
    m = re.search(r'<div class="tbl" id="%s">(.*?)</table>' % box, dom, re.S)
    if not m:
        return None
    body = m.group(1).split("<tbody>", 1)[-1]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def check_browser(ck, sgs, gen, out):
    browser = chromium()
    if browser is None:
        print("cli.report_html_browser: SKIP: chromium not installed (Debian: apt-get install chromium)")
        return 77
    html_path, records = check_static(ck, sgs, gen, out)
    ck.section = "browser"
    url = "file://" + os.path.abspath(html_path)
    dom = browse(ck, browser, url, ["--dump-dom"], "dump-dom")
    n = numbers(dom)
    check_page(ck, dom, records)
    ck.check(not re.search(r"<body[^>]*data-pwned", dom), "injected markup ran: %s"
             % re.search(r"<body[^>]*>", dom).group(0))
    nonvalid = [r for r in records if r["verdict"] != "VALID"]
    ck.check(n.get("t-records-matching") == len(nonvalid), "records shown without a filter: %s, want %d"
             % (n.get("t-records-matching"), len(nonvalid)))
    rows = table_rows(dom, "t-records") or []
    ck.check(len(rows) == min(50, len(nonvalid)), "the first page holds %d rows" % len(rows))
    ck.check(any(HOSTILE_PATH in r for r in rows + (table_rows(dom, "t-findings") or [])),
             "the hostile path shown as text")
    # filters in the fragment, applied on load
    bad = [r for r in nonvalid if r["verdict"] == "BAD_SIGNATURE"]
    dom = browse(ck, browser, url + "#verdict=BAD_SIGNATURE", ["--dump-dom"], "verdict filter")
    n = numbers(dom)
    ck.check(n.get("t-records-matching") == len(bad) and 0 < len(bad) < len(nonvalid),
             "#verdict=BAD_SIGNATURE: %s rows, want %d" % (n.get("t-records-matching"), len(bad)))
    rows = table_rows(dom, "t-records") or []
    ck.check(len(rows) == len(bad) and all(r[1] == "BAD_SIGNATURE" for r in rows),
             "#verdict=BAD_SIGNATURE rows: %s" % [r[1] for r in rows])
    ck.check(n.get("total-files") == len(records), "the totals do not change with a filter")
    host = "db-0001.example.org"
    dom = browse(ck, browser, url + "#host=%3D" + host, ["--dump-dom"], "host filter")
    rows = table_rows(dom, "t-records") or []
    n = numbers(dom)
    ck.check(n.get("t-records-matching") is not None and 0 < n["t-records-matching"] < len(nonvalid)
             and all(r[0] == host for r in rows) and n["t-hosts-matching"] == 1,
             "#host==%s: %s rows %s" % (host, n.get("t-records-matching"), rows[:3]))
    dom = browse(ck, browser, url + "#path=libnet", ["--dump-dom"], "path filter")
    n = numbers(dom)
    want = sum(1 for r in nonvalid if "libnet" in r.get("path", "") or "libnet" in r.get("reason", ""))
    ck.check(n.get("t-records-matching") == want and want > 0,
             "#path=libnet: %s rows, want %d" % (n.get("t-records-matching"), want))
    shot = os.path.join(out, "report.png")
    if os.path.exists(shot):
        os.unlink(shot)
    browse(ck, browser, url, ["--hide-scrollbars", "--window-size=1280,2000",
                              "--screenshot=" + shot], "screenshot")
    ck.check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "no screenshot at %s" % shot)
    print("screenshot: %s" % shot)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigsweep", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--browser", action="store_true")
    a = ap.parse_args()
    sgs = os.path.abspath(a.sigsweep)
    out = os.path.abspath(a.outdir)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    ck = Checker()
    if a.browser:
        rc = check_browser(ck, sgs, a.gen, out)
        if rc is not None:
            return rc
        return ck.finish("cli.report_html_browser", "page in %s" % out)
    check_static(ck, sgs, a.gen, out)
    check_bad_input(ck, sgs, out)
    return ck.finish("cli.report_html", "files in %s" % out)


if __name__ == "__main__":
    sys.exit(main())
