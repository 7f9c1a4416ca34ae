/*
 * alloc_test.c - the allocation-failure sweep (issue 12, STYLE 20): every allocation the
 * engine makes goes through cfg.alloc (alloc.c), so each path below is run once to count its
 * allocations, then again failing allocation N, for N = 1 .. that count (first only the Nth
 * fails, then the Nth and every one after it):
 *   raw      verify: RSA-2048, ECDSA P-256 and Ed25519 signatures (good, bad, unsigned)
 *   cms      verify: detached CMS (F.p7s) against a trust anchor
 *   pe       verify: Authenticode (the PE seeds of tests/fuzz/seeds/pe)
 *   kmod     verify: kernel modules (signed, changed, unsigned; plain and gzip-compressed)
 *   agents   agents: copies of the server key, a private key, a signed command
 *   package  package verify: a signed manifest, a changed file, an extra file
 *   journal  verify while enforcing: the journal read (skips sigsweep's own quarantine)
 *   restore  restore --dry-run with --scan: the journal read, the names, a stray file
 * Each failing run must: not crash; leak nothing (the allocator's live count is 0 after the
 * run; the ASan build checks everything else); end with statuses of the documented set; give
 * every input at most one record and, when every call returned SGS_OK, exactly the inputs of
 * the run without a failure; never say VALID (restore: WOULD) where the run without a failure
 * did not, and every record that differs from that run has a reason.
 *
 * Time: by default N takes a stride so that each path is run about 40 times per mode (CI); set
 * SGS_ALLOC_SWEEP=full to fail every N, or SGS_ALLOC_SWEEP=<stride>; SGS_ALLOC_SWEEP_PATH=<name>
 * runs one path only. Threads: one
 * worker, so that allocation N is the same allocation in every run.
 * Not covered: OpenSSL's own allocations (libcrypto allocates with CRYPTO_malloc, not through
 * cfg.alloc), LMDB's, and the few places that call libc directly (realpath, getline/getdelim,
 * the directory walk's buffers in scan.c): this sweep does not fail those.
 */
#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char root[PATH_MAX];
static const char *pe_seeds;

/* ---- records ----------------------------------------------------------------------------- */

typedef struct rec {
    char *key; /* path, or agent id + path; restore: original */
    int verdict; /* sgs_verdict, or sgs_restore_action */
    int count;
    int has_reason;
} rec;

typedef struct collector {
    rec *r;
    size_t n, cap;
} collector;

static void
collect(collector *c, const char *a, const char *b, int verdict, const char *reason)
{
    char key[PATH_MAX * 2];
    snprintf(key, sizeof(key), "%s|%s", a, b != NULL ? b : "");
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->r[i].key, key) == 0) {
            c->r[i].count++;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->r = realloc(c->r, c->cap * sizeof(*c->r));
        REQUIRE(c->r != NULL);
    }
    c->r[c->n].key = strdup(key);
    REQUIRE(c->r[c->n].key != NULL);
    c->r[c->n].verdict = verdict;
    c->r[c->n].count = 1;
    c->r[c->n].has_reason = reason != NULL && reason[0] != '\0';
    c->n++;
}

static void
collector_free(collector *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->r[i].key);
    free(c->r);
    memset(c, 0, sizeof(*c));
}

static const rec *
find(const collector *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->r[i].key, key) == 0)
            return &c->r[i];
    return NULL;
}

static void
on_record(void *opaque, const sgs_record *r)
{
    collect(opaque, r->agent != NULL ? r->agent : "", r->path, (int)r->verdict, r->reason);
}

static void
on_restore(void *opaque, const sgs_restore_record *r)
{
    collect(opaque, r->original, r->quarantined, (int)r->action, r->reason);
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static const char *
at(const char *rel, char *buf, size_t n)
{
    const int w = snprintf(buf, n, "%s/%s", root, rel);
    REQUIRE(w > 0 && (size_t)w < n);
    return buf;
}

static void
ignore_record(void *opaque, const sgs_record *r)
{
    (void)opaque;
    (void)r;
}

/* Signs every file under rel with the key of alg (raw), or as CMS with its certificate. */
static void
sign_tree(const char *alg, int cms, const char *rel)
{
    char key[PATH_MAX], crt[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/server.key", alg);
    at(tmp, key, sizeof(key));
    snprintf(tmp, sizeof(tmp), "%s/server.crt", alg);
    at(tmp, crt, sizeof(crt));
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.op = SGS_OP_SIGN;
    cfg.on_record = ignore_record;
    cfg.threads = 1;
    sgs_engine *e = NULL;
    REQUIRE(sgs_engine_create(&cfg, &e) == SGS_OK);
    REQUIRE(sgs_engine_set_signing_key(e, key) == SGS_OK);
    if (cms)
        REQUIRE(sgs_engine_set_signing_cert(e, crt) == SGS_OK);
    REQUIRE(sgs_engine_submit(e, at(rel, path, sizeof(path))) == SGS_OK);
    REQUIRE(sgs_engine_finish(e) == SGS_OK);
    sgs_engine_free(e);
}

static void
write_rel(const char *rel, const char *text)
{
    char p[PATH_MAX];
    sgs_test_write(at(rel, p, sizeof(p)), text, strlen(text));
}

static void
mkdir_rel(const char *rel)
{
    char p[PATH_MAX];
    REQUIRE(mkdir(at(rel, p, sizeof(p)), 0700) == 0);
}

static void
copy_file(const char *from, const char *rel)
{
    size_t len = 0;
    unsigned char *const b = sgs_test_read(from, &len);
    REQUIRE(b != NULL);
    char p[PATH_MAX];
    sgs_test_write(at(rel, p, sizeof(p)), b, len);
    free(b);
}

/* A kernel module signed as sign-file signs it, by rsa/server.key: the body, the PKCS#7
   (detached, no certificates, no signed attributes), struct module_signature, the magic. */
static void
write_module(const char *rel, const char *body, int gzip)
{
    char p[PATH_MAX];
    FILE *const kf = fopen(at("rsa/server.key", p, sizeof(p)), "r");
    FILE *const cf = fopen(at("rsa/server.crt", p, sizeof(p)), "r");
    REQUIRE(kf != NULL && cf != NULL);
    EVP_PKEY *const key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    X509 *const cert = PEM_read_X509(cf, NULL, NULL, NULL);
    fclose(kf);
    fclose(cf);
    static const char elf[18] = "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\1\0";
    unsigned char mod[4096];
    const size_t blen = strlen(body);
    REQUIRE(key != NULL && cert != NULL && sizeof(elf) + blen + 1024 < sizeof(mod));
    memcpy(mod, elf, sizeof(elf));
    memcpy(mod + sizeof(elf), body, blen);
    BIO *const in = BIO_new_mem_buf(mod, (int)(sizeof(elf) + blen));
    CMS_ContentInfo *const cms = CMS_sign(cert, key, NULL, in, CMS_NOCERTS | CMS_BINARY |
                                          CMS_NOATTR | CMS_DETACHED | CMS_NOSMIMECAP);
    unsigned char *der = NULL;
    const int dlen = cms != NULL ? i2d_CMS_ContentInfo(cms, &der) : -1;
    REQUIRE(dlen > 0 && sizeof(elf) + blen + (size_t)dlen + 40 < sizeof(mod));
    size_t len = sizeof(elf) + blen;
    memcpy(mod + len, der, (size_t)dlen);
    len += (size_t)dlen;
    const unsigned char ms[12] = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, (unsigned char)(dlen >> 8),
                                  (unsigned char)dlen};
    memcpy(mod + len, ms, sizeof(ms));
    memcpy(mod + len + sizeof(ms), "~Module signature appended~\n", 28);
    len += sizeof(ms) + 28;
    if (gzip) {
        gzFile g = gzopen(at(rel, p, sizeof(p)), "wb");
        REQUIRE(g != NULL && gzwrite(g, mod, (unsigned)len) == (int)len && gzclose(g) == Z_OK);
    } else {
        sgs_test_write(at(rel, p, sizeof(p)), mod, len);
    }
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void
setup(void)
{
    char err[512], p[PATH_MAX], q[PATH_MAX];
    static const char *const algs[3][2] = {{"rsa", "rsa2048"}, {"ec", "ec-p256"},
                                           {"ed", "ed25519"}};
    for (size_t i = 0; i < 3; i++) {
        REQUIRE(sgs_keygen(algs[i][1], at(algs[i][0], p, sizeof(p)), "agent.der", err,
                           sizeof(err)) == SGS_OK);
        char dir[64];
        snprintf(dir, sizeof(dir), "raw-%s", algs[i][0]);
        mkdir_rel(dir);
        char f[96];
        snprintf(f, sizeof(f), "%s/good", dir);
        write_rel(f, "a file that is signed\n");
        snprintf(f, sizeof(f), "%s/bad", dir);
        write_rel(f, "a file that is changed after signing\n");
        sign_tree(algs[i][0], 0, dir);
        snprintf(f, sizeof(f), "%s/bad", dir);
        write_rel(f, "a file that was changed after signing\n");
        snprintf(f, sizeof(f), "%s/unsigned", dir);
        write_rel(f, "no signature\n");
    }
    mkdir_rel("cms");
    write_rel("cms/good", "signed with CMS\n");
    write_rel("cms/bad", "signed with CMS, then changed\n");
    sign_tree("rsa", 1, "cms");
    write_rel("cms/bad", "signed with CMS, then CHANGED\n");

    mkdir_rel("kmod");
    write_module("kmod/good.ko", "a signed module", 0);
    write_module("kmod/good.ko.gz", "a signed module, compressed", 1);
    write_module("kmod/changed.ko", "a module changed after signing", 0);
    {
        size_t len = 0;
        unsigned char *const b = sgs_test_read(at("kmod/changed.ko", p, sizeof(p)), &len);
        REQUIRE(b != NULL && len > 30);
        b[20] ^= 1;
        sgs_test_write(p, b, len);
        free(b);
    }
    {
        static const char unsigned_ko[] = "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\1\0 unsigned";
        sgs_test_write(at("kmod/unsigned.ko", p, sizeof(p)), unsigned_ko, sizeof(unsigned_ko) - 1);
    }

    mkdir_rel("pe");
    static const char *const pes[] = {"pe32_signed", "pe32plus_signed", "unsigned_odd"};
    for (size_t i = 0; i < sizeof(pes) / sizeof(pes[0]); i++) {
        char from[PATH_MAX], rel[64];
        snprintf(from, sizeof(from), "%s/%s", pe_seeds, pes[i]);
        snprintf(rel, sizeof(rel), "pe/%s.exe", pes[i]);
        copy_file(from, rel);
    }

    write_rel("command", "restart\n");
    sign_tree("rsa", 0, "command");

    mkdir_rel("pkg");
    mkdir_rel("pkg/bin");
    write_rel("pkg/bin/app", "the program\n");
    write_rel("pkg/lib.so", "the library\n");
    write_rel("pkg/data", "data that will change\n");
    REQUIRE(sgs_package_create(at("pkg", p, sizeof(p)), at("pkg.sha256", q, sizeof(q)),
                               SGS_HASH_SHA256, 1, err, sizeof(err)) == SGS_OK);
    sign_tree("rsa", 0, "pkg.sha256");
    write_rel("pkg/data", "data that has changed\n");
    write_rel("pkg/extra", "not listed\n");

    /* a journal of two quarantined files (and one good one), and a stray by hand */
    mkdir_rel("q");
    write_rel("q/good", "good\n");
    sign_tree("rsa", 0, "q/good");
    write_rel("q/u1", "unsigned 1\n");
    write_rel("q/u2", "unsigned 2\n");
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.on_record = ignore_record;
    cfg.threads = 1;
    cfg.quarantine_journal = at("q.journal", q, sizeof(q));
    cfg.force_quarantine = 1;
    sgs_engine *e = NULL;
    REQUIRE(sgs_engine_create(&cfg, &e) == SGS_OK);
    REQUIRE(sgs_engine_add_key(e, at("rsa/server.crt", p, sizeof(p))) == SGS_OK);
    REQUIRE(sgs_engine_submit(e, at("q", p, sizeof(p))) == SGS_OK);
    REQUIRE(sgs_engine_finish(e) == SGS_OK);
    sgs_stats st;
    sgs_engine_stats(e, &st);
    sgs_engine_free(e);
    REQUIRE(st.quarantined == 2);
    write_rel("q/stray_invalid", "quarantined by hand\n");
}

/* ---- the paths ----------------------------------------------------------------------------- */

/* A status from a call under the failing allocator: SGS_OK, or out of memory (the only cause
   a failing allocator may add). 1 when OK. */
static int
ok_or_nomem(sgs_status st, const char *what)
{
    if (st != SGS_OK && st != SGS_ERR_NOMEM)
        fprintf(stderr, "alloc_test: %s: %s\n", what, sgs_status_str(st));
    CHECK(st == SGS_OK || st == SGS_ERR_NOMEM);
    return st == SGS_OK;
}

typedef struct run_ctx {
    const sgs_allocator *alloc;
    collector *c;
} run_ctx;

/* An engine of op under the allocator; NULL when create failed (out of memory). */
static sgs_engine *
engine(const run_ctx *r, sgs_op op, int *ok)
{
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.op = op;
    cfg.threads = 1;
    cfg.queue_depth = 4;
    cfg.cache_entries = 64;
    cfg.on_record = on_record;
    cfg.opaque = r->c;
    cfg.alloc = *r->alloc;
    sgs_engine *e = NULL;
    *ok = ok_or_nomem(sgs_engine_create(&cfg, &e), "create");
    CHECK(*ok || e == NULL);
    return e;
}

static int
done(sgs_engine *e, int ok)
{
    if (e == NULL)
        return 0;
    ok &= ok_or_nomem(sgs_engine_finish(e), "finish");
    sgs_engine_free(e);
    return ok;
}

static int
run_raw(const run_ctx *r)
{
    int ok;
    char p[PATH_MAX];
    sgs_engine *const e = engine(r, SGS_OP_VERIFY, &ok);
    static const char *const keys[] = {"rsa/server.crt", "ec/server.crt", "ed/server.crt"};
    for (size_t i = 0; ok && i < 3; i++)
        ok = ok_or_nomem(sgs_engine_add_key(e, at(keys[i], p, sizeof(p))), "add_key");
    static const char *const trees[] = {"raw-rsa", "raw-ec", "raw-ed"};
    for (size_t i = 0; ok && i < 3; i++)
        ok = ok_or_nomem(sgs_engine_submit(e, at(trees[i], p, sizeof(p))), "submit");
    return done(e, ok);
}

static int
run_cms_or_pe(const run_ctx *r, const char *tree)
{
    int ok;
    char p[PATH_MAX];
    sgs_engine *const e = engine(r, SGS_OP_VERIFY, &ok);
    if (ok)
        ok = ok_or_nomem(sgs_engine_add_certs(e, SGS_MAT_TRUST, at("rsa/server.crt", p,
                                                                    sizeof(p))),
                         "add_certs");
    if (ok)
        ok = ok_or_nomem(sgs_engine_submit(e, at(tree, p, sizeof(p))), "submit");
    return done(e, ok);
}

static int
run_cms(const run_ctx *r)
{
    return run_cms_or_pe(r, "cms");
}

static int
run_kmod(const run_ctx *r)
{
    return run_cms_or_pe(r, "kmod");
}

static int
run_pe(const run_ctx *r)
{
    return run_cms_or_pe(r, "pe");
}

static int
run_agents(const run_ctx *r)
{
    int ok;
    char p[PATH_MAX], q[PATH_MAX];
    sgs_engine *const e = engine(r, SGS_OP_AGENTS, &ok);
    if (ok)
        ok = ok_or_nomem(sgs_engine_set_server_key(e, at("rsa/server.crt", p, sizeof(p))),
                         "set_server_key");
    if (ok)
        ok = ok_or_nomem(sgs_engine_set_command(e, at("command", p, sizeof(p)),
                                                at("command.sig", q, sizeof(q))),
                         "set_command");
    static const char *const agents[][2] = {
        {"a-same", "rsa/agent.der"}, {"a-other", "ec/agent.der"}, {"a-private", "rsa/server.key"}};
    for (size_t i = 0; ok && i < 3; i++)
        ok = ok_or_nomem(sgs_engine_submit_agent(e, agents[i][0], at(agents[i][1], p, sizeof(p))),
                         "submit_agent");
    return done(e, ok);
}

static int
run_package(const run_ctx *r)
{
    int ok;
    char p[PATH_MAX], q[PATH_MAX];
    sgs_engine *const e = engine(r, SGS_OP_PACKAGE, &ok);
    if (ok)
        ok = ok_or_nomem(sgs_engine_add_key(e, at("rsa/server.crt", p, sizeof(p))), "add_key");
    if (ok)
        ok = ok_or_nomem(sgs_engine_set_package(e, at("pkg", p, sizeof(p)),
                                                at("pkg.sha256", q, sizeof(q))),
                         "set_package");
    if (ok)
        ok = ok_or_nomem(sgs_engine_submit_package(e, NULL, 0), "submit_package");
    return done(e, ok);
}

/* verify with the journal of setup(): the quarantined files are skipped, by the journal */
static int
run_journal(const run_ctx *r)
{
    sgs_config cfg;
    char p[PATH_MAX], j[PATH_MAX];
    sgs_config_init(&cfg);
    cfg.threads = 1;
    cfg.on_record = on_record;
    cfg.opaque = r->c;
    cfg.alloc = *r->alloc;
    cfg.quarantine_journal = at("q.journal", j, sizeof(j));
    cfg.max_quarantine = 0;
    cfg.max_quarantine_percent = 0; /* the breaker: nothing the sweep judges is renamed */
    sgs_engine *e = NULL;
    int ok = ok_or_nomem(sgs_engine_create(&cfg, &e), "create");
    if (ok)
        ok = ok_or_nomem(sgs_engine_add_key(e, at("rsa/server.crt", p, sizeof(p))), "add_key");
    sgs_status st = ok ? sgs_engine_submit(e, at("q", p, sizeof(p))) : SGS_OK;
    /* the journal could not be opened for want of memory: the run is refused with SGS_ERR_IO
       (as for any journal it cannot use) and says why */
    if (st == SGS_ERR_IO && strstr(sgs_engine_error(e), "out of memory") != NULL)
        st = SGS_ERR_NOMEM;
    if (ok)
        ok = ok_or_nomem(st, "submit");
    return done(e, ok);
}

static int
run_restore(const run_ctx *r)
{
    char j[PATH_MAX], d[PATH_MAX], err[512] = "";
    const char *const scan[1] = {at("q", d, sizeof(d))};
    sgs_restore_opts o;
    memset(&o, 0, sizeof(o));
    o.journal = at("q.journal", j, sizeof(j));
    o.scan = scan;
    o.nscan = 1;
    o.dry_run = 1; /* every run sees the same files */
    o.alloc = *r->alloc;
    const sgs_status st = sgs_restore(&o, on_restore, r->c, err, sizeof(err));
    CHECK(st == SGS_OK || st == SGS_ERR_NOMEM || st == SGS_ERR_STATE);
    CHECK(st == SGS_OK || err[0] != '\0' || st == SGS_ERR_STATE);
    return st == SGS_OK;
}

/* ---- the sweep ----------------------------------------------------------------------------- */

typedef struct path_case {
    const char *name;
    int (*run)(const run_ctx *r);
    int good;          /* the "VALID" of its records: SGS_V_VALID, or SGS_RESTORE_WOULD */
    const char *alone; /* a record (path suffix) that, failing, is the run's only one */
} path_case;

static long
stride_for(long total)
{
    const char *const env = getenv("SGS_ALLOC_SWEEP");
    if (env != NULL && strcmp(env, "full") == 0)
        return 1;
    if (env != NULL && atol(env) > 0)
        return atol(env);
    return total > 40 ? total / 40 : 1;
}

/* One failing run, compared with the run without a failure. */
static void
check_run(const path_case *pc, const collector *base, long n, int mode)
{
    sgs_test_alloc ta;
    sgs_test_alloc_init(&ta, n, mode);
    const sgs_allocator a = sgs_test_allocator(&ta);
    collector c;
    memset(&c, 0, sizeof(c));
    const run_ctx r = {&a, &c};
    int ok = pc->run(&r);
    CHECK_EQ_INT(atomic_load(&ta.live), 0); /* nothing leaked */
    if (atomic_load(&ta.live) != 0)
        fprintf(stderr, "alloc_test: %s fail-at %ld mode %d: %ld blocks leaked\n", pc->name, n,
                mode, (long)atomic_load(&ta.live));
    for (size_t i = 0; i < c.n; i++) {
        const rec *const x = &c.r[i];
        const rec *const b = find(base, x->key);
        CHECK_EQ_INT(x->count, 1);
        /* no record the run without a failure did not have, but a refusal or an error with
           its reason, naming a file of the run (and its agent) */
        const char *const bar = strchr(x->key, '|');
        const int extra_ok = x->verdict != pc->good && x->has_reason && bar != NULL &&
                             strncmp(bar + 1, root, strlen(root)) == 0 &&
                             (strcmp(pc->name, "agents") != 0 || bar != x->key);
        CHECK(b != NULL || extra_ok);
        if (b == NULL) {
            if (!extra_ok)
                fprintf(stderr, "alloc_test: %s fail-at %ld mode %d: a record for %s (%d, "
                        "reason: %d)\n", pc->name, n, mode, x->key, x->verdict, x->has_reason);
            continue;
        }
        if (x->verdict == pc->good && b->verdict != pc->good)
            fprintf(stderr, "alloc_test: %s fail-at %ld mode %d: %s says %d, not %d\n", pc->name,
                    n, mode, x->key, x->verdict, b->verdict);
        CHECK(x->verdict != pc->good || b->verdict == pc->good);
        CHECK(x->verdict == b->verdict || x->has_reason);
    }
    /* every call said OK: nothing of the clean run may be missing (a failure that was
       absorbed lost nothing), unless the one record that stands alone failed (a package's
       manifest) or an IO_ERROR record says what was not done (a worker that could not start:
       its jobs' records); more records (an unreadable journal: every _invalid name judged)
       are allowed, as checked above */
    if (pc->alone != NULL && c.n == 1 && c.r[0].verdict != pc->good &&
        strlen(c.r[0].key) >= strlen(pc->alone) &&
        strcmp(c.r[0].key + strlen(c.r[0].key) - strlen(pc->alone), pc->alone) == 0)
        ok = 0;
    int explained = 0; /* an error the clean run did not have, with its reason */
    for (size_t i = 0; i < c.n; i++) {
        const rec *const b = find(base, c.r[i].key);
        explained |= c.r[i].verdict == SGS_V_IO_ERROR && c.r[i].has_reason &&
                     (b == NULL || b->verdict != SGS_V_IO_ERROR) && pc->good == SGS_V_VALID;
    }
    for (size_t i = 0; ok && !explained && i < base->n; i++) {
        CHECK(find(&c, base->r[i].key) != NULL);
        if (find(&c, base->r[i].key) == NULL)
            fprintf(stderr, "alloc_test: %s fail-at %ld mode %d: no record for %s\n", pc->name,
                    n, mode, base->r[i].key);
    }
    collector_free(&c);
}

static void
sweep(const path_case *pc)
{
    sgs_test_alloc ta;
    sgs_test_alloc_init(&ta, 0, 0);
    const sgs_allocator a = sgs_test_allocator(&ta);
    collector base;
    memset(&base, 0, sizeof(base));
    const run_ctx r = {&a, &base};
    REQUIRE(pc->run(&r) == 1);
    CHECK_EQ_INT(atomic_load(&ta.live), 0);
    const long total = (long)atomic_load(&ta.calls);
    size_t good = 0;
    for (size_t i = 0; i < base.n; i++)
        good += base.r[i].verdict == pc->good;
    /* the sweep means something only where the clean run says VALID (WOULD) somewhere */
    CHECK(good > 0 || strcmp(pc->name, "pe") == 0);
    const long stride = stride_for(total);
    long runs = 0;
    for (int mode = 0; mode <= 1; mode++) {
        for (long n = 1 + mode * (stride / 2); n <= total; n += stride, runs++)
            check_run(pc, &base, n, mode);
        check_run(pc, &base, total, mode); /* the last one */
        runs++;
    }
    printf("alloc_test: %-8s %zu records (%zu good), %ld allocations, %ld failing runs "
           "(stride %ld)\n", pc->name, base.n, good, total, runs, stride);
    collector_free(&base);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: alloc_test PE_SEEDS_DIR\n");
        return 2;
    }
    pe_seeds = argv[1];
    sgs_test_tmpdir(root, sizeof(root), "alloc");
    setup();
    static const path_case cases[] = {
        {"raw", run_raw, SGS_V_VALID, NULL},
        {"cms", run_cms, SGS_V_VALID, NULL},
        {"pe", run_pe, SGS_V_VALID, NULL},
        {"kmod", run_kmod, SGS_V_VALID, NULL},
        {"agents", run_agents, SGS_V_VALID, NULL},
        {"package", run_package, SGS_V_VALID, "/pkg.sha256"},
        {"journal", run_journal, SGS_V_VALID, NULL},
        {"restore", run_restore, SGS_RESTORE_WOULD, NULL},
    };
    const char *const only = getenv("SGS_ALLOC_SWEEP_PATH"); /* one path, by name */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (only == NULL || strcmp(only, cases[i].name) == 0)
            sweep(&cases[i]);
    sgs_test_rm_rf(root);
    return sgs_test_done("alloc_test");
}
