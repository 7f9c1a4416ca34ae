/*
 * datagen.c - deterministic layout and contents of the sigsweep test corpus.
 *
 * DESIGN: one seed decides everything (STYLE 46/47): the program folders, the file names,
 * every size, every byte, which key signs which file and with which tool. The plan is built
 * in memory first (plan_build), then either listed (--dirs, --list) or written (--write);
 * the same seed and counts always give the same plan, so generate.sh can ask for the
 * directories, create them, and then have the files written. Only standard C is used (no
 * POSIX, no engine headers): directories, FIFOs, symlinks and permissions are generate.sh's
 * job, and arithmetic is integer-only so no libm difference can change a byte.
 *
 *   --dirs TREE     every directory the plan needs, as TREE/dir, one per line
 *   --write TREE    writes the regular files and prints the manifest (below)
 *   --list TREE     prints the manifest without writing
 *   --bytes N       N pseudo-random bytes to stdout, first byte < 0x80 (below any RSA modulus
 *                   of N bytes, so a junk "signature" is well-formed but wrong)
 *   --flip FILE start|mid|end    flips the lowest bit of one byte of FILE in place
 *
 * Manifest line: relpath TAB size TAB signer TAB tool TAB case TAB verdict TAB escaped-path.
 * relpath is raw bytes (never a TAB or newline); escaped-path is TREE/relpath with every byte
 * that is not printable ASCII, and every backslash, written as \xHH (lower-case hex).
 * signer: rsa2048 rsa3072 p256 ed25519 other-rsa2048 other-p256 or "-"; tool: openssl,
 * sigsweep or "-"; verdict "?" means generate.sh decides (it depends on the running user).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB ((uint64_t)1024)
#define MIB (KIB * KIB)
#define ED25519_MAX (2 * MIB) /* Ed25519 signs the whole file: keep those files small */
#define OPENSSL_PERCENT 12u   /* share of good files signed by the openssl CLI */
#define CHUNK (1u << 20)

typedef enum content_kind { C_PE = 0, C_ELF, C_TEXT, C_DATA, C_PAK } content_kind;

typedef struct entry {
    char *rel;
    uint64_t size;
    uint64_t seed;
    const char *signer;
    const char *tool;
    const char *kase;
    const char *verdict;
    content_kind kind;
    int is_written; /* a regular file datagen writes (not a FIFO or symlink) */
} entry;

typedef struct strset {
    char **slot;
    size_t cap; /* power of two */
    size_t len;
} strset;

typedef struct plan {
    entry *e;
    size_t len;
    size_t cap;
    strset paths;
} plan;

static const char *const vendors[] = {
    "Contoso",
    "Fabrikam Inc",
    "Northwind Traders",
    "M\xc3\xbcller Software GmbH",
    "\303\221and\xc3\xba Labs",
    "\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbd\xe3\x83\x95\xe3\x83\x88",
    "Adventure Works",
    "\xc5\xbb\xc3\xb3\xc5\x82w Systems",
    "Tailspin Toys",
    "Wide World Importers",
    "\xce\x9b\xce\xac\xce\xbc\xce\xb4\xce\xb1 Tech",
    "Proseware",
    "Litware",
    "Trey Research"};
static const char *const products[] = {
    "Office Suite",    "Photo Studio",    "Backup Agent",        "Game Engine",
    "VPN Client",      "Media Player",    "Endpoint Protection", "SDK",
    "Printer Drivers", "Update Service",  "Caf\xc3\xa9 POS",     "R\xc3\xa9sum\xc3\xa9 Builder",
    "Remote Desktop",  "Database Server", "Mail Client"};
static const char *const versions[] = {"2019", "2024", "12", "7.4", "X", "Pro", "LTS"};

typedef struct subdir_spec {
    const char *name;
    const char *const *exts;
    size_t n_exts;
} subdir_spec;

static const char *const ext_bin[] = {".exe", ".dll", ".dll", ".exe", ".com"};
static const char *const ext_lib[] = {".dll", ".so", ".so.1", ".lib", ".a"};
static const char *const ext_drv[] = {".sys", ".sys", ".inf", ".cat", ".efi"};
static const char *const ext_plug[] = {".dll", ".so", ".plugin"};
static const char *const ext_res[] = {".pak", ".dat", ".png", ".ico", ".res"};
static const char *const ext_loc[] = {".mo", ".qm", ".xml", ".json"};
static const char *const ext_doc[] = {".txt", ".html", ".md", ".pdf", ".ini"};
static const char *const ext_data[] = {".dat", ".db", ".pak", ".bin", ".cab"};
static const char *const ext_py[] = {".py", ".pyd", ".so", ".txt"};

#define SPEC(n, x)                                                                                 \
    {                                                                                              \
        n, x, sizeof(x) / sizeof((x)[0])                                                           \
    }
static const subdir_spec subdirs[] = {
    SPEC("bin", ext_bin),
    SPEC("bin/x64", ext_bin),
    SPEC("lib", ext_lib),
    SPEC("drivers", ext_drv),
    SPEC("plugins", ext_plug),
    SPEC("plugins/codecs", ext_plug),
    SPEC("resources", ext_res),
    SPEC("resources/locale/de-DE", ext_loc),
    SPEC("resources/locale/ja-JP", ext_loc),
    SPEC("share/doc", ext_doc),
    SPEC("data", ext_data),
    SPEC("lib/python3.11/site-packages", ext_py),
};
#define N_SUBDIRS (sizeof(subdirs) / sizeof(subdirs[0]))
#define MAX_PROG_SUBDIRS 6

static const char *const syllables[] = {
    "core",  "net",    "ui",     "gfx", "crypt", "sync",  "audio",  "video",
    "codec", "update", "helper", "svc", "agent", "shell", "print",  "scan",
    "base",  "kern",   "util",   "io",  "zip",   "font",  "render", "db",
    "log",   "auth",   "tls",    "msg", "cfg",   "host",  "hook",   "mon"};
static const char *const spaced_stems[] = {"Uninstall Helper",  "Read Me",
                                           "Crash Reporter",    "Update Checker",
                                           "License Agreement", "Setup Wizard"};
static const char *const utf8_stems[] = {"\303\234berblick",
                                         "\xd1\x87\xd0\xb8\xd1\x82\xd0\xb0\xd0\xb9",
                                         "\xe8\xaa\xac\xe6\x98\x8e\xe6\x9b\xb8",
                                         "fa\303\247ade",
                                         "na\xc3\xafve",
                                         "\xce\xa9mega",
                                         "donn\303\251es",
                                         "\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab"};
static const char *const words[] = {
    "the",     "update",    "service",  "configuration", "license", "file",    "error",
    "version", "install",   "module",   "driver",        "user",    "system",  "network",
    "setting", "default",   "value",    "enable",        "disable", "path",    "program",
    "data",    "copyright", "reserved", "rights",        "all",     "warning", "support",
    "windows", "linux",     "build",    "release",       "signed",  "verify",  "key"};
static const uint8_t code_bytes[16] = {0x00, 0x48, 0x89, 0x8b, 0xe8, 0xff, 0x0f, 0x85,
                                       0x84, 0xc3, 0x24, 0x44, 0x83, 0xc0, 0x74, 0x75};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* splitmix64: tiny, fast, and the same on every platform. */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t
rng_below(uint64_t *s, uint64_t n)
{
    return n ? rng_next(s) % n : 0;
}

/*
 * Log-uniform in [lo, hi): a whole octave picked uniformly, then a linear position inside it.
 * Integer-only on purpose (see DESIGN); close enough to log-uniform for a corpus.
 */
static uint64_t
rng_log_uniform(uint64_t *s, uint64_t lo, uint64_t hi)
{
    unsigned octaves = 0;
    while ((lo << (octaves + 1)) <= hi) {
        octaves++;
    }
    for (;;) {
        const uint64_t base = lo << rng_below(s, octaves ? octaves : 1);
        const uint64_t frac = rng_next(s) & 0xffff;
        const uint64_t v = base + ((base * frac) >> 16) + rng_below(s, (base >> 16) + 1);
        if (v >= lo && v < hi) {
            return v;
        }
    }
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "sgs_datagen: out of memory\n");
        exit(2);
    }
    return p;
}

static char *
xstrdup(const char *s)
{
    const size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static uint64_t
fnv1a(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
    }
    return h;
}

/* Adds s (copied) unless present. Returns 1 if added, 0 if it was there. */
static int
strset_add(strset *set, const char *s)
{
    if ((set->len + 1) * 2 > set->cap) {
        const size_t ncap = set->cap ? set->cap * 2 : 256;
        char **nslot = xmalloc(ncap * sizeof(*nslot));
        memset(nslot, 0, ncap * sizeof(*nslot));
        for (size_t i = 0; i < set->cap; i++) {
            if (set->slot[i]) {
                size_t j = (size_t)fnv1a(set->slot[i]) & (ncap - 1);
                while (nslot[j]) {
                    j = (j + 1) & (ncap - 1);
                }
                nslot[j] = set->slot[i];
            }
        }
        free(set->slot);
        set->slot = nslot;
        set->cap = ncap;
    }
    size_t j = (size_t)fnv1a(s) & (set->cap - 1);
    while (set->slot[j]) {
        if (strcmp(set->slot[j], s) == 0) {
            return 0;
        }
        j = (j + 1) & (set->cap - 1);
    }
    set->slot[j] = xstrdup(s);
    set->len++;
    return 1;
}

static void
strset_free(strset *set)
{
    for (size_t i = 0; i < set->cap; i++) {
        free(set->slot[i]);
    }
    free(set->slot);
    memset(set, 0, sizeof(*set));
}

static entry *
plan_push(plan *p)
{
    if (p->len == p->cap) {
        const size_t ncap = p->cap ? p->cap * 2 : 1024;
        entry *ne = xmalloc(ncap * sizeof(*ne));
        if (p->len) {
            memcpy(ne, p->e, p->len * sizeof(*ne));
        }
        free(p->e);
        p->e = ne;
        p->cap = ncap;
    }
    entry *e = &p->e[p->len++];
    memset(e, 0, sizeof(*e));
    return e;
}

static content_kind
kind_for(const char *name)
{
    static const struct {
        const char *ext;
        content_kind kind;
    } map[] = {{".exe", C_PE},    {".dll", C_PE},    {".sys", C_PE},    {".efi", C_PE},
               {".com", C_PE},    {".pyd", C_PE},    {".plugin", C_PE}, {".so", C_ELF},
               {".so.1", C_ELF},  {".a", C_ELF},     {".lib", C_ELF},   {".txt", C_TEXT},
               {".html", C_TEXT}, {".md", C_TEXT},   {".ini", C_TEXT},  {".inf", C_TEXT},
               {".xml", C_TEXT},  {".json", C_TEXT}, {".py", C_TEXT},   {".pak", C_PAK},
               {".cab", C_PAK}};
    const size_t n = strlen(name);
    for (size_t i = 0; i < N_OF(map); i++) {
        const size_t m = strlen(map[i].ext);
        if (n >= m && strcmp(name + n - m, map[i].ext) == 0) {
            return map[i].kind;
        }
    }
    return C_DATA;
}

/* Adds a path, making it unique with a numeric suffix before the extension if needed. */
static entry *
plan_add(plan *p, const char *dir, const char *stem, const char *ext, uint64_t *rng)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s/%s%s", dir, stem, ext);
    for (unsigned n = 2; !strset_add(&p->paths, buf); n++) {
        snprintf(buf, sizeof(buf), "%s/%s-%u%s", dir, stem, n, ext);
    }
    entry *e = plan_push(p);
    e->rel = xstrdup(buf);
    e->seed = rng_next(rng);
    e->kind = kind_for(buf);
    e->is_written = 1;
    e->tool = "-";
    e->signer = "-";
    e->kase = "good";
    e->verdict = "VALID";
    return e;
}

typedef struct signer_pick {
    unsigned openssl_count[4];
} signer_pick;

static const char *const trusted[4] = {"rsa2048", "rsa3072", "p256", "ed25519"};

/* Picks a trusted signer and a tool for a good file; every key gets some openssl files. */
static void
assign_signer(entry *e, uint64_t *rng, signer_pick *sp, int force_sigsweep)
{
    static const unsigned weight[4] = {35, 20, 25, 20};
    unsigned k;
    do {
        unsigned r = (unsigned)rng_below(rng, 100);
        for (k = 0; k < 3 && r >= weight[k]; k++) {
            r -= weight[k];
        }
    } while (k == 3 && e->size > ED25519_MAX);
    e->signer = trusted[k];
    const int openssl = rng_below(rng, 100) < OPENSSL_PERCENT || sp->openssl_count[k] == 0;
    /* OpenSSL 3.0 `pkeyutl -sign -rawin` fails on empty input: sigsweep signs those. */
    const int openssl_can = !(k == 3 && e->size == 0);
    if (openssl && openssl_can && !force_sigsweep) {
        e->tool = "openssl";
        sp->openssl_count[k]++;
    } else {
        e->tool = "sigsweep";
    }
}

typedef struct program {
    char root[256];
    unsigned sub[MAX_PROG_SUBDIRS];
    unsigned n_sub;
} program;

typedef struct bad_case {
    const char *rel;
    uint64_t size;
    const char *signer;
    const char *tool;
    const char *kase;
    const char *verdict;
} bad_case;

/*
 * Known-bad and edge cases (each verdict per DESIGN 4). Cases generate.sh acts on after
 * signing: flip-*, truncate, append, copysig=SRC, sig-text, sig-random256, sig-empty,
 * sig-dir, sig-flip, unreadable, fifo, symlink=TARGET (plus copysig of the target's .sig).
 */
static const bad_case bad_cases[] = {
    {"bad/flip-start-rsa2048.exe", 200000, "rsa2048", "sigsweep", "flip-start", "BAD_SIGNATURE"},
    {"bad/flip-mid-rsa2048.exe", 200000, "rsa2048", "sigsweep", "flip-mid", "BAD_SIGNATURE"},
    {"bad/flip-end-rsa2048.exe", 200000, "rsa2048", "sigsweep", "flip-end", "BAD_SIGNATURE"},
    {"bad/flip-start-p256.dll", 150001, "p256", "openssl", "flip-start", "BAD_SIGNATURE"},
    {"bad/flip-mid-p256.dll", 150001, "p256", "openssl", "flip-mid", "BAD_SIGNATURE"},
    {"bad/flip-end-p256.dll", 150001, "p256", "openssl", "flip-end", "BAD_SIGNATURE"},
    {"bad/flip-start-ed25519.sys", 70000, "ed25519", "sigsweep", "flip-start", "BAD_SIGNATURE"},
    {"bad/flip-mid-ed25519.sys", 70000, "ed25519", "sigsweep", "flip-mid", "BAD_SIGNATURE"},
    {"bad/flip-end-ed25519.sys", 70000, "ed25519", "sigsweep", "flip-end", "BAD_SIGNATURE"},
    {"bad/flip-mid-rsa3072.dll", 99999, "rsa3072", "openssl", "flip-mid", "BAD_SIGNATURE"},
    {"bad/truncated-rsa2048.exe", 300000, "rsa2048", "openssl", "truncate", "BAD_SIGNATURE"},
    {"bad/truncated-ed25519.dll", 50000, "ed25519", "sigsweep", "truncate", "BAD_SIGNATURE"},
    {"bad/truncated-p256.dll", 65536, "p256", "sigsweep", "truncate", "BAD_SIGNATURE"},
    {"bad/appended-p256.dll", 120000, "p256", "sigsweep", "append", "BAD_SIGNATURE"},
    {"bad/appended-rsa3072.exe", 90000, "rsa3072", "openssl", "append", "BAD_SIGNATURE"},
    {"bad/appended-ed25519.exe", 4096, "ed25519", "openssl", "append", "BAD_SIGNATURE"},
    {"bad/other-key-rsa2048.exe", 80000, "other-rsa2048", "openssl", "as-is", "BAD_SIGNATURE"},
    {"bad/other-key-p256.dll", 80000, "other-p256", "sigsweep", "as-is", "BAD_SIGNATURE"},
    {"bad/swap-source-rsa2048.dll", 60000, "rsa2048", "sigsweep", "as-is", "VALID"},
    {"bad/swap-target-rsa2048.dll", 60001, "rsa2048", "sigsweep",
     "copysig=bad/swap-source-rsa2048.dll", "BAD_SIGNATURE"},
    {"bad/swap-source-ed25519.dll", 30000, "ed25519", "openssl", "as-is", "VALID"},
    {"bad/swap-target-ed25519.dll", 30000, "ed25519", "sigsweep",
     "copysig=bad/swap-source-ed25519.dll", "BAD_SIGNATURE"},
    {"bad/swap-source-p256.dll", 30000, "p256", "openssl", "as-is", "VALID"},
    {"bad/swap-target-p256.dll", 30000, "p256", "openssl", "copysig=bad/swap-source-p256.dll",
     "BAD_SIGNATURE"},
    {"bad/sig-text.exe", 40000, "rsa2048", "sigsweep", "sig-text", "MALFORMED"},
    {"bad/sig-random256.exe", 40000, "rsa2048", "sigsweep", "sig-random256", "BAD_SIGNATURE"},
    {"bad/sig-empty.exe", 40000, "rsa2048", "sigsweep", "sig-empty", "MALFORMED"},
    {"bad/sig-dir.exe", 40000, "-", "-", "sig-dir", "MALFORMED"},
    {"bad/sig-flip-rsa2048.exe", 40000, "rsa2048", "sigsweep", "sig-flip", "BAD_SIGNATURE"},
    {"bad/sig-flip-ed25519.exe", 40000, "ed25519", "openssl", "sig-flip", "BAD_SIGNATURE"},
    {"bad/no-sig.exe", 40000, "-", "-", "as-is", "NO_SIGNATURE"},
    /* OpenSSL 3.0 `pkeyutl -rawin` cannot sign empty input: the Ed25519 one uses sigsweep. */
    {"bad/empty-rsa2048.bin", 0, "rsa2048", "openssl", "as-is", "VALID"},
    {"bad/empty-ed25519.bin", 0, "ed25519", "sigsweep", "as-is", "VALID"},
    {"bad/empty-p256.bin", 0, "p256", "openssl", "as-is", "VALID"},
    {"bad/empty-nosig.bin", 0, "-", "-", "as-is", "NO_SIGNATURE"},
    {"bad/unreadable.exe", 20000, "rsa2048", "sigsweep", "unreadable", "?"},
    {"bad/fifo", 0, "-", "-", "fifo", "SKIPPED"},
    {"bad/link-to-good.dll", 0, "-", "-", "symlink=swap-source-rsa2048.dll", "SKIPPED"},
    {"bad/dangling-link.dll", 0, "-", "-", "symlink=no-such-target.dll", "SKIPPED"},
    {"bad/link-to-dir", 0, "-", "-", "symlink=../misc", "SKIPPED"},
    /* Awkward but valid names (escaped in expected.tsv). */
    {"misc/back\\slash.dll", 5000, "rsa2048", "sigsweep", "as-is", "VALID"},
    {"misc/bad\xff.bin", 5001, "p256", "sigsweep", "as-is", "VALID"},
    {"misc/latin1-caf\xe9.txt", 300, "ed25519", "openssl", "as-is", "VALID"},
    {"misc/-dash-first.exe", 2000, "rsa3072", "openssl", "as-is", "VALID"},
    {"misc/.hidden.dll", 3000, "rsa2048", "sigsweep", "as-is", "VALID"},
    {"misc/trailing space .txt", 100, "p256", "openssl", "as-is", "VALID"},
    {"misc/not.sig.txt", 100, "ed25519", "sigsweep", "as-is", "VALID"},
    {"misc/\xe5\x90\x8d\xe5\x89\x8d with spaces.exe", 7777, "rsa2048", "sigsweep", "as-is",
     "VALID"},
};

static const uint64_t boundary_sizes[] = {0, 1, 4095, 4096, 4097, 65535, 65536, 65537};

static void
make_stem(char *out, size_t cap, uint64_t *rng)
{
    const uint64_t r = rng_below(rng, 100);
    if (r < 5) {
        snprintf(out, cap, "%s", spaced_stems[rng_below(rng, N_OF(spaced_stems))]);
    } else if (r < 11) {
        snprintf(out, cap, "%s", utf8_stems[rng_below(rng, N_OF(utf8_stems))]);
    } else {
        const unsigned n = 1 + (unsigned)rng_below(rng, 3);
        size_t len = 0;
        out[0] = '\0';
        for (unsigned i = 0; i < n && len < cap; i++) {
            const int w =
                snprintf(out + len, cap - len, "%s", syllables[rng_below(rng, N_OF(syllables))]);
            len += w > 0 ? (size_t)w : 0;
        }
        if (rng_below(rng, 4) == 0 && len < cap) {
            snprintf(out + len, cap - len, "%u", (unsigned)(rng_below(rng, 2) ? 32 : 64));
        }
    }
}

static void
plan_build(plan *p, uint64_t seed, uint64_t n_files, uint64_t n_large)
{
    uint64_t rng = seed;
    signer_pick sp;
    memset(&sp, 0, sizeof(sp));

    const uint64_t n_prog = n_files / 24 < 4 ? 4 : n_files / 24;
    program *progs = xmalloc((size_t)n_prog * sizeof(*progs));
    strset roots = {0};
    for (uint64_t i = 0; i < n_prog; i++) {
        program *pg = &progs[i];
        const char *v = vendors[rng_below(&rng, N_OF(vendors))];
        const char *pr = products[rng_below(&rng, N_OF(products))];
        if (rng_below(&rng, 10) < 4) {
            snprintf(pg->root, sizeof(pg->root), "%s/%s %s", v, pr,
                     versions[rng_below(&rng, N_OF(versions))]);
        } else {
            snprintf(pg->root, sizeof(pg->root), "%s/%s", v, pr);
        }
        char base[256];
        memcpy(base, pg->root, sizeof(base));
        for (unsigned n = 2; !strset_add(&roots, pg->root); n++) {
            snprintf(pg->root, sizeof(pg->root), "%.200s (%u)", base, n);
        }
        /* "bin" always, then 2..5 more distinct subdirectories. */
        unsigned order[N_SUBDIRS];
        for (unsigned k = 0; k < N_SUBDIRS; k++) {
            order[k] = k;
        }
        for (unsigned k = N_SUBDIRS - 1; k > 1; k--) {
            const unsigned j = 1 + (unsigned)rng_below(&rng, k);
            const unsigned t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        pg->n_sub = 3 + (unsigned)rng_below(&rng, MAX_PROG_SUBDIRS - 2);
        memcpy(pg->sub, order, pg->n_sub * sizeof(pg->sub[0]));
    }
    strset_free(&roots);

    uint64_t made = 0;
    for (size_t i = 0; i < N_OF(boundary_sizes) && made < n_files; i++, made++) {
        char stem[64];
        snprintf(stem, sizeof(stem), "size-%08" PRIu64, boundary_sizes[i]);
        entry *e = plan_add(p, "Common Files/boundary", stem, ".bin", &rng);
        e->size = boundary_sizes[i];
        assign_signer(e, &rng, &sp, 0);
    }
    for (uint64_t i = 0; i < n_large && made < n_files; i++, made++) {
        const program *pg = &progs[rng_below(&rng, n_prog)];
        char dir[512], stem[64];
        snprintf(dir, sizeof(dir), "%s/data", pg->root);
        snprintf(stem, sizeof(stem), "assets%" PRIu64, i);
        entry *e = plan_add(p, dir, stem, ".pak", &rng);
        e->size = rng_log_uniform(&rng, 32 * MIB, 64 * MIB);
        e->kind = C_PAK;
        assign_signer(e, &rng, &sp, 1);
    }
    for (; made < n_files; made++) {
        const program *pg = &progs[rng_below(&rng, n_prog)];
        const subdir_spec *sd = &subdirs[pg->sub[rng_below(&rng, pg->n_sub)]];
        char dir[512], stem[128];
        snprintf(dir, sizeof(dir), "%s/%s", pg->root, sd->name);
        make_stem(stem, sizeof(stem), &rng);
        entry *e = plan_add(p, dir, stem, sd->exts[rng_below(&rng, sd->n_exts)], &rng);
        e->size = rng_below(&rng, 100) < 15 ? rng_log_uniform(&rng, 64, 16 * KIB)
                                            : rng_log_uniform(&rng, 16 * KIB, 2 * MIB);
        assign_signer(e, &rng, &sp, 0);
    }
    free(progs);

    for (size_t i = 0; i < N_OF(bad_cases); i++) {
        const bad_case *b = &bad_cases[i];
        if (!strset_add(&p->paths, b->rel)) {
            fprintf(stderr, "sgs_datagen: duplicate case path %s\n", b->rel);
            exit(2);
        }
        entry *e = plan_push(p);
        e->rel = xstrdup(b->rel);
        e->size = b->size;
        e->seed = rng_next(&rng);
        e->kind = kind_for(b->rel);
        e->signer = b->signer;
        e->tool = b->tool;
        e->kase = b->kase;
        e->verdict = b->verdict;
        e->is_written = strcmp(b->kase, "fifo") != 0 && strncmp(b->kase, "symlink=", 8) != 0;
    }
}

static void
plan_free(plan *p)
{
    for (size_t i = 0; i < p->len; i++) {
        free(p->e[i].rel);
    }
    free(p->e);
    strset_free(&p->paths);
    memset(p, 0, sizeof(*p));
}

/* ---- contents ---- */

typedef struct gen {
    uint64_t rng;
    content_kind kind;
    int seg; /* 0 random, 1 code-like, 2 zeros, 3 text */
    uint64_t seg_left;
} gen;

static void
fill_random(uint64_t *rng, uint8_t *p, size_t n)
{
    while (n) {
        uint64_t v = rng_next(rng);
        const size_t m = n < 8 ? n : 8;
        for (size_t i = 0; i < m; i++, v >>= 8) {
            p[i] = (uint8_t)v;
        }
        p += m;
        n -= m;
    }
}

static void
fill_code(uint64_t *rng, uint8_t *p, size_t n)
{
    while (n) {
        uint64_t v = rng_next(rng);
        const size_t m = n < 16 ? n : 16;
        for (size_t i = 0; i < m; i++, v >>= 4) {
            p[i] = code_bytes[v & 15];
        }
        p += m;
        n -= m;
    }
}

static void
fill_text(uint64_t *rng, uint8_t *p, size_t n)
{
    size_t col = 0;
    while (n) {
        const uint64_t r = rng_next(rng);
        const char *w = words[r % N_OF(words)];
        size_t wl = strlen(w);
        if (wl > n) {
            wl = n;
        }
        memcpy(p, w, wl);
        p += wl;
        n -= wl;
        col += wl;
        if (n) {
            *p++ = (uint8_t)(col > 60 || ((r >> 32) & 15) == 0 ? '\n' : ' ');
            col = p[-1] == '\n' ? 0 : col + 1;
            n--;
        }
    }
}

static void
gen_pick_segment(gen *g)
{
    /* Percent weights of random / code / zeros / text per content kind. */
    static const unsigned w[5][4] = {
        {25, 40, 15, 20}, /* PE */
        {20, 50, 15, 15}, /* ELF */
        {0, 0, 0, 100},   /* text */
        {50, 10, 20, 20}, /* data */
        {70, 0, 25, 5},   /* pak */
    };
    unsigned r = (unsigned)rng_below(&g->rng, 100);
    int s = 0;
    while (s < 3 && r >= w[g->kind][s]) {
        r -= w[g->kind][s];
        s++;
    }
    g->seg = s;
    g->seg_left = 512 + rng_below(&g->rng, 64 * KIB);
}

static void
gen_fill(gen *g, uint8_t *p, size_t n)
{
    while (n) {
        if (!g->seg_left) {
            gen_pick_segment(g);
        }
        const size_t m = g->seg_left < n ? (size_t)g->seg_left : n;
        switch (g->seg) {
        case 0:
            fill_random(&g->rng, p, m);
            break;
        case 1:
            fill_code(&g->rng, p, m);
            break;
        case 2:
            memset(p, 0, m);
            break;
        default:
            fill_text(&g->rng, p, m);
            break;
        }
        g->seg_left -= m;
        p += m;
        n -= m;
    }
}

/* The headers of a PE32+ image without sections (so without a certificate table: unsigned
   Authenticode-wise): DOS header and stub message, "PE\0\0", an AMD64 COFF header, the
   optional header with 16 empty data directories; the rest of the file is overlay. */
static void
put_header(content_kind kind, uint8_t *p, size_t n)
{
    uint8_t h[0x188];
    memset(h, 0, sizeof(h));
    size_t len = 0;
    if (kind == C_PE) {
        static const char stub[] = "This program cannot be run in DOS mode.\r\r\n$";
        h[0] = 'M';
        h[1] = 'Z';
        h[2] = 0x90;
        h[0x3c] = 0x80;
        memcpy(h + 0x4e, stub, sizeof(stub) - 1);
        memcpy(h + 0x80, "PE\0\0", 4);
        h[0x84] = 0x64; /* Machine: AMD64 */
        h[0x85] = 0x86;
        h[0x94] = 0xf0; /* SizeOfOptionalHeader */
        h[0x96] = 0x22; /* Characteristics: executable, large-address aware */
        h[0x98] = 0x0b; /* Magic: PE32+ */
        h[0x99] = 0x02;
        h[0xd5] = 0x02; /* SizeOfHeaders 0x200 */
        h[0x104] = 16;  /* NumberOfRvaAndSizes */
        len = sizeof(h);
    } else if (kind == C_ELF) {
        static const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
        memcpy(h, elf, sizeof(elf));
        h[16] = 3;    /* ET_DYN */
        h[18] = 0x3e; /* x86-64 */
        len = 64;
    }
    memcpy(p, h, n < len ? n : len);
}

static int
write_file(const char *tree, const entry *e, uint8_t *buf)
{
    const size_t plen = strlen(tree) + strlen(e->rel) + 2;
    char *path = xmalloc(plen);
    snprintf(path, plen, "%s/%s", tree, e->rel);
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (!f) {
        fprintf(stderr, "sgs_datagen: %s: cannot create: %s\n", path, strerror(errno));
        goto out;
    }
    gen g = {e->seed, e->kind, 0, 0};
    uint64_t left = e->size;
    int first = 1;
    while (left) {
        const size_t n = left < CHUNK ? (size_t)left : CHUNK;
        gen_fill(&g, buf, n);
        if (first) {
            put_header(e->kind, buf, n);
            first = 0;
        }
        if (fwrite(buf, 1, n, f) != n) {
            fprintf(stderr, "sgs_datagen: %s: write failed: %s\n", path, strerror(errno));
            fclose(f);
            goto out;
        }
        left -= n;
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "sgs_datagen: %s: close failed: %s\n", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(path);
    return rc;
}

static void
put_escaped(FILE *out, const char *s)
{
    for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
        if (*p < 0x20 || *p > 0x7e || *p == '\\') {
            fprintf(out, "\\x%02x", *p);
        } else {
            fputc(*p, out);
        }
    }
}

static void
print_manifest_line(FILE *out, const char *tree, const entry *e)
{
    fprintf(out, "%s\t%" PRIu64 "\t%s\t%s\t%s\t%s\t", e->rel, e->size, e->signer, e->tool, e->kase,
            e->verdict);
    put_escaped(out, tree);
    fputc('/', out);
    put_escaped(out, e->rel);
    fputc('\n', out);
}

static void
print_dirs(FILE *out, const char *tree, const plan *p)
{
    strset seen = {0};
    for (size_t i = 0; i < p->len; i++) {
        char *dir = xstrdup(p->e[i].rel);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            if (strset_add(&seen, dir)) {
                fprintf(out, "%s/%s\n", tree, dir);
            }
        }
        free(dir);
    }
    strset_free(&seen);
}

static int
flip(const char *path, const char *where)
{
    FILE *f = fopen(path, "r+b");
    if (!f) {
        fprintf(stderr, "sgs_datagen: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = -1;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) {
        size = ftell(f);
    }
    if (size <= 0) {
        fprintf(stderr, "sgs_datagen: %s: empty or unseekable\n", path);
        goto out;
    }
    long off;
    if (strcmp(where, "start") == 0) {
        off = 0;
    } else if (strcmp(where, "mid") == 0) {
        off = size / 2;
    } else if (strcmp(where, "end") == 0) {
        off = size - 1;
    } else {
        fprintf(stderr, "sgs_datagen: --flip: want start, mid or end, not %s\n", where);
        goto out;
    }
    int c;
    if (fseek(f, off, SEEK_SET) != 0 || (c = fgetc(f)) == EOF || fseek(f, off, SEEK_SET) != 0 ||
        fputc(c ^ 1, f) == EOF) {
        fprintf(stderr, "sgs_datagen: %s: flip failed\n", path);
        goto out;
    }
    rc = 0;
out:
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

static int
parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 0);
    if (!s[0] || s[0] == '-' || *end || errno || v > max) {
        fprintf(stderr, "sgs_datagen: %s: bad number '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void
usage(FILE *out)
{
    fputs("usage: sgs_datagen [--seed N] [--files N] [--large N] (--dirs|--list|--write) TREE\n"
          "       sgs_datagen [--seed N] --bytes N\n"
          "       sgs_datagen --flip FILE start|mid|end\n",
          out);
}

int
main(int argc, char **argv)
{
    uint64_t seed = 1, files = 2000, large = 3, bytes = 0;
    const char *mode = NULL, *tree = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const int has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--flip") == 0 && i + 2 < argc) {
            return flip(argv[i + 1], argv[i + 2]) == 0 ? 0 : 1;
        } else if (has_val && strcmp(a, "--seed") == 0) {
            if (parse_u64(a, argv[++i], UINT64_MAX, &seed) != 0) {
                return 2;
            }
        } else if (has_val && strcmp(a, "--files") == 0) {
            if (parse_u64(a, argv[++i], 10000000, &files) != 0) {
                return 2;
            }
        } else if (has_val && strcmp(a, "--large") == 0) {
            if (parse_u64(a, argv[++i], 64, &large) != 0) {
                return 2;
            }
        } else if (has_val && strcmp(a, "--bytes") == 0) {
            if (parse_u64(a, argv[++i], 1u << 30, &bytes) != 0) {
                return 2;
            }
            mode = "bytes";
        } else if (has_val && (strcmp(a, "--dirs") == 0 || strcmp(a, "--list") == 0 ||
                               strcmp(a, "--write") == 0)) {
            mode = a + 2;
            tree = argv[++i];
        } else {
            fprintf(stderr, "sgs_datagen: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!mode) {
        usage(stderr);
        return 2;
    }
    if (strcmp(mode, "bytes") == 0) {
        uint8_t *buf = xmalloc((size_t)bytes);
        uint64_t rng = seed;
        fill_random(&rng, buf, (size_t)bytes);
        if (bytes) {
            buf[0] &= 0x7f;
        }
        const int ok = fwrite(buf, 1, (size_t)bytes, stdout) == bytes && fflush(stdout) == 0;
        free(buf);
        return ok ? 0 : 1;
    }

    plan p = {0};
    plan_build(&p, seed, files, large);
    int rc = 0;
    if (strcmp(mode, "dirs") == 0) {
        print_dirs(stdout, tree, &p);
    } else {
        uint8_t *buf = strcmp(mode, "write") == 0 ? xmalloc(CHUNK) : NULL;
        for (size_t i = 0; i < p.len && rc == 0; i++) {
            if (buf && p.e[i].is_written && write_file(tree, &p.e[i], buf) != 0) {
                rc = 1;
                break;
            }
            print_manifest_line(stdout, tree, &p.e[i]);
        }
        free(buf);
    }
    plan_free(&p);
    if (fflush(stdout) != 0) {
        rc = 1;
    }
    return rc;
}
