#!/usr/bin/env python3
"""bench/compare/report.py OUT - turn run.sh's OUT/{meta,workloads,commands,raw}.tsv and
OUT/notes.txt into a Markdown report (stdout) and OUT/results.json.

Ratios are peer median / sigsweep median of the same audit, same workload, same page-cache
mode, same run: 3.0x means the peer took three times as long as sigsweep."""
import json
import os
import statistics
import sys

AUDIT = {"sgs_pkg": "hash", "sha": "hash", "hd": "hash", "b3": "hash",
         "sgs_verify": "signature", "ossl": "signature"}
BASE = {"hash": "sgs_pkg", "signature": "sgs_verify"}
ORDER = ["sgs_pkg", "sha", "hd", "b3", "sgs_verify", "ossl"]


def tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def rate(bps):
    return "%.2f GB/s" % (bps / 1e9) if bps >= 1e9 else "%.0f MB/s" % (bps / 1e6)


def fps(x):
    return "{:,.0f} files/s".format(x) if x >= 100 else "%.1f files/s" % x


def main():
    out = sys.argv[1]
    meta = dict(tsv(os.path.join(out, "meta.tsv")))
    cores = int(meta["cores"])
    work = {r[0]: {"files": int(r[1]), "bytes": int(r[2]), "peer_files": int(r[3]),
                   "peer_bytes": int(r[4]), "manifest_sha256": r[5]}
            for r in tsv(os.path.join(out, "workloads.tsv"))}
    cmds = dict(tsv(os.path.join(out, "commands.tsv")))
    notes = [l[0] for l in tsv(os.path.join(out, "notes.txt"))]
    raw = {}
    for mode, w, t, _run, secs in tsv(os.path.join(out, "raw.tsv")):
        raw.setdefault((mode, w, t), []).append(float(secs))
    modes = meta["modes"].split()
    tools = [t for t in ORDER if t in cmds]

    label = {
        "sgs_pkg": "`sigsweep package verify`",
        "sha": "`sha256sum -c`",
        "hd": "`hashdeep -j%d -a -k` (SHA-256)" % cores,
        "b3": "`b3sum --check` (BLAKE3)",
        "sgs_verify": "`sigsweep verify` (RSA-2048 per file)",
        "ossl": "`openssl dgst -sha256 -verify` per file, `xargs -P%d`" % cores,
    }
    short = {"sha": "`sha256sum -c`", "hd": "`hashdeep -j%d -a`" % cores,
             "b3": "`b3sum --check`", "ossl": "`openssl dgst -verify` ×%d" % cores}

    def wlabel(w):
        d = work[w]
        if w == "large":
            return "%d × %d MiB" % (d["files"], d["bytes"] // d["files"] >> 20)
        if w == "small":
            return "{:,} × {} KiB".format(d["files"], d["bytes"] // d["files"] >> 10)
        return "{:,} mixed, 1 KiB–8 MiB ({:.2f} GB)".format(d["files"], d["bytes"] / 1e9)

    results = []
    med = {}
    for mode in modes:
        for w in work:
            for t in tools:
                s = raw.get((mode, w, t))
                if not s:
                    continue
                d = work[w]
                m = statistics.median(s)
                scale = 1.0
                files, nbytes = d["files"], d["bytes"]
                if t == "ossl":
                    files, nbytes = d["peer_files"], d["peer_bytes"]
                    scale = d["files"] / d["peer_files"]
                med[(mode, w, t)] = m * scale  # whole-set time (extrapolated for a sample)
                results.append({
                    "page_cache": mode, "workload": w, "tool": t, "audit": AUDIT[t],
                    "command": cmds[t], "seconds": s, "median_s": m,
                    "files_timed": files, "bytes_timed": nbytes,
                    "sample": t == "ossl" and scale != 1.0,
                    "median_s_whole_set": m * scale,
                    "files_per_s": files / m, "bytes_per_s": nbytes / m})
    for r in results:
        base = med.get((r["page_cache"], r["workload"], BASE[r["audit"]]))
        r["ratio_vs_sigsweep"] = r["median_s_whole_set"] / base if base else None

    p = print
    cache_word = {"cold": "cold (dropped before every timed command)",
                  "warm": "warm (every file read once before the runs)"}
    p("## bench/compare: sigsweep side by side with peer tools")
    p()
    p("%s, %s, %d cores%s; page cache: %s; median of %s runs, tools alternating within every run."
      % (meta["date"][:10], meta["cpu"], cores,
         ", %s guest" % meta["hypervisor"] if meta.get("hypervisor", "none") != "none" else "",
         " and ".join(modes), meta["runs"]))
    p()
    p("Ratios: peer time ÷ sigsweep time on the same workload in the same run "
      "(hash-only audit: vs `sigsweep package verify`; signature audit: vs `sigsweep verify`). "
      "Above 1 = sigsweep is faster.")
    p()
    peers = [t for t in ("sha", "hd", "b3", "ossl") if t in tools]
    p("| workload | page cache | " + " | ".join(short[t] for t in peers) + " |")
    p("|---|---|" + "---|" * len(peers))
    for w in work:
        for mode in modes:
            cells = []
            for t in peers:
                r = next((x for x in results if (x["page_cache"], x["workload"], x["tool"]) == (mode, w, t)), None)
                cells.append("%.1f×" % r["ratio_vs_sigsweep"] if r else "–")
            p("| %s | %s | %s |" % (wlabel(w), mode, " | ".join(cells)))
    p()
    for mode in modes:
        p("### Page cache %s" % cache_word[mode])
        p()
        p("| workload | tool | vs sigsweep | median | throughput | min–max |")
        p("|---|---|---|---|---|---|")
        for w in work:
            for t in tools:
                r = next((x for x in results if (x["page_cache"], x["workload"], x["tool"]) == (mode, w, t)), None)
                if not r:
                    continue
                if t in BASE.values():
                    ratio = "**1** (baseline)"
                else:
                    ratio = "%.2f×" % r["ratio_vs_sigsweep"]
                tp = (fps(r["files_per_s"]) + ", " + rate(r["bytes_per_s"]) if w == "small"
                      else rate(r["bytes_per_s"]) + ", " + fps(r["files_per_s"]))
                medtxt = "%.3f s" % r["median_s"]
                lab = label[t]
                if r["sample"]:
                    lab += " — {:,}-file sample".format(r["files_timed"])
                    medtxt += " (whole set ≈ %.1f s)" % r["median_s_whole_set"]
                p("| %s | %s | %s | %s | %s | %.3f–%.3f s |" % (
                    wlabel(w), lab, ratio, medtxt, tp, min(r["seconds"]), max(r["seconds"])))
        p()
    if any(r["sample"] for r in results):
        p("The per-file `openssl` peer runs on a fixed sample of the 4 KiB set (every k-th file "
          "of the sorted manifest); its throughput is measured on the sample and its whole-set "
          "time extrapolated (× files ÷ sample), which is what the ratio uses. On the large and "
          "mixed sets it runs over every file.")
        p()
    p("Workload fingerprints (sha256 of the manifest; identical on every machine): " +
      ", ".join("%s `%s`" % (w, work[w]["manifest_sha256"][:16]) for w in work) + ".")
    for n in notes:
        p()
        p("Note: " + n + ".")

    doc = {
        "date": meta["date"], "cpu": meta["cpu"], "cores": cores,
        "hypervisor": meta.get("hypervisor"), "kernel": meta.get("kernel"),
        "runs": int(meta["runs"]), "page_cache": modes, "notes": notes,
        "elapsed_s": int(meta["elapsed"]),
        "versions": {k[4:]: v for k, v in meta.items() if k.startswith("ver_")},
        "data_dir": meta["data"],
        "workloads": work,
        "commands": {t: {"cwd": "%s/<workload>" % meta["data"], "command": cmds[t],
                         "audit": AUDIT[t]} for t in tools},
        "results": results,
    }
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
