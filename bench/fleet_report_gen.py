#!/usr/bin/env python3
"""fleet_report_gen.py - a merged fleet report in JSON Lines (run records, then each run's file
records), deterministic from --seed, for report html's tests and benchmark.

  fleet_report_gen.py --hosts 1000 --files 1000 [--agents 50] [--seed 1] OUT.jsonl

Each host gets one verify run of --files records (mostly VALID; a few NO_SIGNATURE of its own,
the same tampered library (one digest) on a share of the hosts, UNTRUSTED files whose chain lacks
one of three CAs, with the --search fix for two of them) and, with --agents, one agents run.
Hosts are named GROUP-NNNN.example.org in five groups. Prints the seed and the totals per
verdict (JSON) on stdout: what the report must show.
"""
import argparse
import json
import random
import sys

GROUPS = ["web", "db", "app", "cache", "edge"]
CAS = [
    ('CN=Vendor Intermediate CA,O=Vendor', 'vendor/ca-bundle/intermediate.pem'),
    ('CN=Corp Issuing CA 2,O=Corp', 'search/corp-issuing-2.pem'),
    ('CN=Old Root,O=Legacy', None),
]
TAMPERED = "9f" * 32


def untrusted_reason(ca, fix):
    r = ('signature by "CN=Vendor Code Signing,O=Vendor" verifies, but: chain incomplete: no '
         'certificate for issuer "%s" (authority key id f400c2dc) of "CN=Vendor Code Signing,'
         'O=Vendor"; caIssuers http://pki.vendor.example/int.crt' % ca)
    if fix:
        r += '; would be VALID after importing "%s" from %s' % (ca, fix)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--agents", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("out")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    totals = {}
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with open(a.out, "w", encoding="utf-8") as out:
        for h in range(a.hosts):
            host = "%s-%04d.example.org" % (GROUPS[h % len(GROUPS)], h)
            recs = []
            tampered = rnd.random() < 0.3
            for i in range(a.files):
                path = "/opt/app/lib/mod%05d.so" % i
                digest = "%064x" % rnd.getrandbits(256)
                verdict, reason = "VALID", "signature verified (rsa3072-pkcs1-sha256)"
                x = rnd.random()
                if i == 7 and tampered:
                    path, digest = "/opt/app/lib/libnet.dll", TAMPERED
                    verdict = "BAD_SIGNATURE"
                    reason = ("signature %s.sig does not verify with the key of its shape; the "
                              "file changed after it was signed" % path)
                elif x < 0.01:
                    verdict, reason = "NO_SIGNATURE", "no signature file %s.sig or %s.p7s" % (path, path)
                elif x < 0.015:
                    ca, fix = CAS[rnd.randrange(len(CAS))]
                    verdict, reason = "UNTRUSTED", untrusted_reason(ca, fix)
                recs.append({"path": path, "verdict": verdict, "reason": reason,
                             "alg": "rsa3072-pkcs1-sha256", "signer": "c1b15c32", "digest": digest,
                             "chain": [], "size": 200000 + i})
            runs = [("verify", recs)]
            if a.agents:
                arecs = []
                for k in range(a.agents):
                    v = "VALID" if rnd.random() > 0.1 else rnd.choice(["KEY_MISMATCH", "MISSING_FILE"])
                    arecs.append({"agent": "agent%03d" % k, "path": "fleet/agent%03d/OfcNTCer.dat" % k,
                                  "verdict": v, "reason": "key file checked" if v == "VALID" else
                                  "the agent holds another server key", "digest": ""})
                runs.append(("agents", arecs))
            for cmd, rs in runs:
                counts = {}
                for r in rs:
                    counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
                    totals[r["verdict"]] = totals.get(r["verdict"], 0) + 1
                out.write(dumps({"type": "run", "format": 1, "host": host,
                                 "start": "2026-12-05T02:30:00Z", "end": "2026-12-05T02:31:00Z",
                                 "version": "0.1.0", "command": cmd, "argv": [cmd], "shard": "1/1",
                                 "fingerprints": {"keys": "aa", "trust": "bb", "options": "cc"},
                                 "counts": counts, "files": len(rs), "interrupted": False}) + "\n")
                for r in rs:
                    out.write(dumps(r) + "\n")
    print(json.dumps({"seed": a.seed, "totals": totals}))


if __name__ == "__main__":
    sys.exit(main())
