#!/usr/bin/env python3
"""bench/compare/scaling_report.py OUT [--matplotlib FIGDIR] - summarise scaling.sh's raw CSVs
(OUT/threads-raw.csv, OUT/rss-raw.csv) into OUT/threads.csv and OUT/rss.csv (medians) and
print Markdown tables. With --matplotlib, also draw FIGDIR/threads.png and FIGDIR/rss.png
(the fallback when gnuplot is missing)."""
import csv
import os
import statistics
import sys


def main():
    out = sys.argv[1]
    meta = dict(l.rstrip("\n").split("\t", 1) for l in open(os.path.join(out, "scaling-meta.tsv")))
    cores = int(meta["cores"])
    work = {}
    for line in open(os.path.join(out, "workloads.tsv")):
        f = line.split("\t")
        work[f[0]] = (int(f[1]), int(f[2]))
    raw = {}
    for r in csv.DictReader(open(os.path.join(out, "threads-raw.csv"))):
        raw.setdefault((r["workload"], int(r["threads"])), []).append(float(r["seconds"]))
    rows = []
    for (w, j), s in sorted(raw.items(), key=lambda kv: (kv[0][0] != "small", kv[0][1])):
        m = statistics.median(s)
        rows.append((w, j, m, work[w][0] / m, work[w][1] / m))
    base = {w: m for w, j, m, _, _ in rows if j == 1}
    with open(os.path.join(out, "threads.csv"), "w") as f:
        f.write("workload,threads,median_s,files_per_s,bytes_per_s,speedup_vs_1\n")
        for w, j, m, fs, bs in rows:
            f.write("%s,%d,%.6f,%.1f,%.0f,%.3f\n" % (w, j, m, fs, bs, base.get(w, m) / m))
    rr = {}
    for r in csv.DictReader(open(os.path.join(out, "rss-raw.csv"))):
        rr.setdefault((r["tool"], int(r["files"])), []).append(
            (int(r["peak_rss_kib"]), float(r["seconds"])))
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
           for k, v in rr.items()}
    with open(os.path.join(out, "rss.csv"), "w") as f:
        f.write("tool,files,peak_rss_kib,seconds\n")
        for tool in ("verify", "package"):
            for (t, n), (kib, secs) in sorted(med.items()):
                if t == tool:
                    f.write("%s,%d,%d,%.3f\n" % (t, n, kib, secs))

    p = print
    lab = {"small": "{:,} × 4 KiB".format(work["small"][0]),
           "large": "%d × %d MiB" % (work["large"][0], work["large"][1] // work["large"][0] >> 20)}
    p("## bench/compare/scaling.sh: %s, %s, %d cores, warm page cache" % (meta["date"][:10], meta["cpu"], cores))
    p()
    p("Throughput against threads: `sigsweep verify -q -j J --key rsa.pub W/signed` "
      "(RSA-2048 signature per file), J alternating within every run, median of %s runs:" % meta["runs"])
    p()
    p("| workload | -j | vs -j 1 | median | files/s | GB/s |")
    p("|---|---|---|---|---|---|")
    for w, j, m, fs, bs in rows:
        p("| %s | %d | %.2f× | %.3f s | %s | %.2f |" % (lab[w], j, base[w] / m, m, "{:,.0f}".format(fs), bs / 1e9))
    p()
    p("Peak RSS (GNU time %%M) against file count: 512-byte files with an ECDSA P-256 signature each; "
      "`sigsweep verify -q --key ec.pub DIR` and `sigsweep package verify DIR --manifest M --key ec.pub "
      "--ignore '*.sig'`; median of %s runs:" % meta["rss_runs"])
    p()
    p("| files | `sigsweep verify` peak RSS | time | `sigsweep package verify` peak RSS | time |")
    p("|---|---|---|---|---|")
    for n in sorted({n for _, n in med}):
        cells = []
        for tool in ("verify", "package"):
            if (tool, n) in med:
                kib, secs = med[(tool, n)]
                cells += ["%.1f MiB" % (kib / 1024), "%.2f s" % secs]
            else:
                cells += ["–", "–"]
        p("| {:,} | ".format(n) + " | ".join(cells) + " |")

    if "--matplotlib" in sys.argv:
        figs = sys.argv[sys.argv.index("--matplotlib") + 1]
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(9.6, 3.8))
        for ax, w, col, unit, title in ((axes[0], "small", 3, "files/s", "4 KiB files, RSA-2048 each"),
                                        (axes[1], "large", 4, "GB/s", "64 MiB files, RSA-2048 each")):
            pts = [r for r in rows if r[0] == w]
            js = [r[1] for r in pts]
            ys = [r[col] / (1e9 if w == "large" else 1) for r in pts]
            b = ys[js.index(1)] if 1 in js else ys[0]
            ax.plot(js, ys, "o-", label="measured")
            ax.plot(js, [b * min(j, cores) for j in js], "--", color="gray", label="linear up to the core count")
            ax.set(title=title, xlabel="threads (-j)", ylabel=unit, ylim=(0, None), xticks=js)
            ax.grid(True)
            ax.legend(loc="lower right")
        fig.suptitle("sigsweep verify: throughput against -j (%d cores, warm page cache, median)" % cores)
        fig.tight_layout()
        fig.savefig(os.path.join(figs, "threads.png"), dpi=100)
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for tool, mark, name in (("verify", "o-", "sigsweep verify (signature per file)"),
                                 ("package", "s-", "sigsweep package verify (manifest of every file)")):
            pts = sorted((n, kib) for (t, n), (kib, _) in med.items() if t == tool)
            ax.plot([n for n, _ in pts], [kib / 1024 for _, kib in pts], mark, label=name)
        ax.set(xscale="log", xlabel="files", ylabel="peak RSS (MiB)", ylim=(0, None),
               title="sigsweep: peak RSS against file count (512-byte files, median)")
        ax.grid(True)
        ax.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(os.path.join(figs, "rss.png"), dpi=100)


if __name__ == "__main__":
    main()
