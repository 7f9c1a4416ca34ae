#!/usr/bin/env python3
"""bench/compare/gen.py - the fixed workloads of bench/compare, with deterministic content.

    gen.py large DEST [COUNT]   COUNT (16) x 64 MiB, one folder
    gen.py small DEST [COUNT]   COUNT (20,000) x 4 KiB, 20 folders
    gen.py mixed DEST [COUNT]   COUNT (3,000) files, sizes log-uniform in [1 KiB, 8 MiB],
                                64 folders two levels deep
    gen.py tiny DEST COUNT      COUNT x 512 bytes, nested so that one tree serves three file
                                counts: DEST/s (COUNT/100 files), DEST/m (COUNT/10, s
                                included), DEST (COUNT, m included); 1,000 files a folder

Content and sizes come from Python's Mersenne Twister seeded with the workload's name (stdlib
only), so every machine builds byte-identical trees; the sha256 of the manifest is printed by
run.sh as the workload's fingerprint. DEST must not exist. Prints "FILES BYTES".
"""
import math
import os
import random
import sys

KIB, MIB = 1024, 1024 * 1024


def write(path, rng, size):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        left = size
        while left:
            n = min(left, MIB)
            os.write(fd, rng.randbytes(n))
            left -= n
    finally:
        os.close(fd)


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("large", "small", "mixed", "tiny"):
        sys.exit(__doc__)
    kind, dest = sys.argv[1], sys.argv[2]
    default = {"large": 16, "small": 20000, "mixed": 3000, "tiny": None}[kind]
    count = int(sys.argv[3]) if len(sys.argv) == 4 else default
    if count is None or count < 1:
        sys.exit("gen.py: give a positive COUNT")
    os.makedirs(dest)
    data = random.Random("sigsweep-bench-compare/%s/data" % kind)
    sizes = random.Random("sigsweep-bench-compare/%s/sizes" % kind)
    total = 0
    if kind == "tiny":
        # DEST/s/dNNNN (first 1 %), DEST/m/dNNNN (to 10 %), DEST/dNNNN (the rest)
        s_end, m_end = max(count // 100, 1), max(count // 10, 1)
        for i in range(count):
            top = "s" if i < s_end else "m" if i < m_end else ""
            folder = os.path.join(dest, "m" if top == "s" else "", top, "d%04d" % (i // 1000))
            if i % 1000 == 0 or i in (s_end, m_end):
                os.makedirs(folder, exist_ok=True)
            write(os.path.join(folder, "f%07d.bin" % i), data, 512)
            total += 512
    else:
        for i in range(count):
            if kind == "large":
                folder, size = dest, 64 * MIB
            elif kind == "small":
                folder, size = os.path.join(dest, "d%02d" % (i * 20 // count)), 4 * KIB
            else:
                folder = os.path.join(dest, "a%d" % (i % 8), "b%d" % (i // 8 % 8))
                size = int(round(math.exp(sizes.uniform(math.log(KIB), math.log(8 * MIB)))))
            os.makedirs(folder, exist_ok=True)
            write(os.path.join(folder, "f%05d.bin" % i), data, size)
            total += size
    print(count, total)


if __name__ == "__main__":
    main()
