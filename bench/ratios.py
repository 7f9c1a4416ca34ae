#!/usr/bin/env python3
"""bench/ratios.py - the ratios that matter, from a sigsweep_bench JSON file.

    build/bench/sigsweep_bench --benchmark_out=bench.json --benchmark_out_format=json
    bench/ratios.py bench.json

Prints one Markdown table: each benchmark's rate next to its reference measured in the same
run (absolute figures on a shared machine drift; ratios taken side by side do not). With
--benchmark_repetitions the median of each benchmark is used.
"""
import json
import re
import sys


def rates(doc):
    """name -> {"bytes": B/s, "items": items/s} (what was reported); medians over single runs."""
    out, medians = {}, {}
    for b in doc["benchmarks"]:
        if b.get("error_occurred"):
            continue
        r = {k: b[k + "_per_second"] for k in ("bytes", "items") if k + "_per_second" in b}
        if not r:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[b["run_name"]] = r
        else:
            out.setdefault(b.get("run_name", b["name"]), r)
    out.update(medians)
    return out


def fmt(rate, unit):
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= div:
            return f"{rate / div:.3g} {prefix}{unit}"
    return f"{rate:.3g} {unit}"


# (benchmark pattern, counter, reference from the match, how many of the reference (a function of
# the CPU count), what the ratio means)
RULES = [
    (r"digest/file/(\d+)", "bytes", lambda m: f"digest/evp/{m[1]}", lambda cpus: 1,
     "share of the EVP one-shot"),
    (r"verify/engine/(.+)", "items", lambda m: f"verify/evp/{m[1]}", lambda cpus: 1,
     "vs raw EVP, fresh context per call"),
    (r"keys/dup/(.+)", "items", lambda m: f"keys/fresh/{m[1]}", lambda cpus: 1,
     "duplicate vs fresh parse"),
    (r"(cache/\w+/real_time)/threads:(\d+)", "items", lambda m: f"{m[1]}/threads:1",
     lambda cpus: 1, "vs 1 thread"),
    (r"pool/tiny_jobs/workers:(\d+)/real_time", "items",
     lambda m: "pool/tiny_jobs/workers:1/real_time", lambda cpus: 1, "vs 1 worker"),
    # End to end against the crypto ceiling: one RSA-2048 verification per file on every CPU.
    (r"engine/verify_4k/files:\d+/real_time", "items", lambda m: "verify/engine/rsa2048-pkcs1",
     lambda cpus: cpus, "share of the RSA-2048 ceiling (x CPUs)"),
]
UNITS = {"bytes": "B/s", "items": "/s"}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/ratios.py BENCH.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    r = rates(doc)
    cpus = doc.get("context", {}).get("num_cpus", 1)
    rows = []
    for name, counters in r.items():
        for pat, counter, ref_of, times, meaning in RULES:
            m = re.fullmatch(pat, name)
            if m is None or counter not in counters:
                continue
            ref = ref_of(m)
            if ref == name or counter not in r.get(ref, {}):
                continue
            n = times(cpus)
            rate, base = counters[counter], r[ref][counter] * n
            label = ref if n == 1 else f"{ref} x {n}"
            rows.append((name, fmt(rate, UNITS[counter]), label, fmt(base, UNITS[counter]),
                         rate / base, meaning))
    ctx = doc.get("context", {})
    print(f"sigsweep_bench {ctx.get('date', '')}, {cpus} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz\n")
    print("| benchmark | rate | reference | rate | ratio | meaning |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]} | {row[4]:.2f} | {row[5]} |")


if __name__ == "__main__":
    main()
