#!/usr/bin/env python3
"""bench/report_gen.py - JSONL reports as sigsweep writes them to a file (a whole run record,
then the records), for `report merge` / `report summary` benchmarks. Deterministic.

usage: report_gen.py OUTDIR --reports R --records N
Writes OUTDIR/host-0001.jsonl ... (R files, N records each; host-I as the host, one verify
run per file with the same fingerprints; 1 % of the records are not VALID).
"""
import argparse
import os

BAD = (("BAD_SIGNATURE", "signature {p}.sig does not verify with the key of its shape"),
       ("NO_SIGNATURE", "no signature file {p}.sig or {p}.p7s"),
       ("UNTRUSTED", "chain incomplete: no certificate for issuer \\\"CN=Vendor CA\\\""))
SIGNER = "c1b15c32625ff1ec0adc1084a5f620922a1be1f06c03d960c187e2ced52b6dd6"
FP = '{"keys":"%s","trust":"%s","options":"%s"}' % ("1" * 64, "2" * 64, "3" * 64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--reports", type=int, default=1000)
    ap.add_argument("--records", type=int, default=10000)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for r in range(1, a.reports + 1):
        lines, counts = [], {}
        for i in range(a.records):
            p = "/opt/app/d%03d/file%07d.bin" % (i % 997, i)
            if (i * 7919 + r) % 100 == 0:
                v, reason = BAD[(i + r) % len(BAD)]
                reason = reason.format(p=p)
                signer = ""
            else:
                v, reason, signer = "VALID", "signature verified (rsa3072-pkcs1-sha256)", SIGNER
            counts[v] = counts.get(v, 0) + 1
            lines.append('{"path":"%s","verdict":"%s","reason":"%s","alg":"rsa3072-pkcs1-sha256",'
                         '"signer":"%s","digest":"%064x","chain":[],"size":%d}\n'
                         % (p, v, reason, signer, (i * 2654435761 + r) & ((1 << 256) - 1),
                            4096 + i % 65536))
        order = ["VALID", "BAD_SIGNATURE", "NO_SIGNATURE", "UNTRUSTED"]
        cnt = ",".join('"%s":%d' % (v, counts[v]) for v in order if v in counts)
        run = ('{"type":"run","format":1,"host":"host-%04d","start":"2026-12-05T02:30:00Z",'
               '"end":"2026-12-05T02:31:00Z","version":"0.1.0","command":"verify","argv":'
               '["sigsweep","verify","--key","release.crt","/opt/app"],"shard":"1/1",'
               '"fingerprints":%s,"counts":{%s},"files":%d,"interrupted":false}\n'
               % (r, FP, cnt, a.records))
        with open(os.path.join(a.outdir, "host-%04d.jsonl" % r), "w") as f:
            f.write(run)
            f.writelines(lines)


if __name__ == "__main__":
    main()
