/*
 * engine_test.c - the public API end to end (sigsweep.h only; OpenSSL just to make keys and
 * compute expected fingerprints and digests). A temporary tree is signed by the engine's own
 * SGS_OP_SIGN, then damaged in known ways, then verified with SGS_OP_VERIFY; every record's
 * verdict is asserted exactly (STYLE 40). Properties (STYLE 44): 1 thread and 4 threads give
 * the same verdicts; the result cache answers like a verification (hits on 50 identical
 * copies, same verdicts with the cache off). Configuration and call-order errors; a
 * fail-the-Nth-allocation loop in which every record arrives at most once (exactly once when
 * the calls succeed), nothing becomes VALID that should not, and nothing leaks.
 * Also built with -fsanitize=thread against the engine sources (unit.engine_tsan).
 */
#include "sigsweep.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/wait.h>

static sgs_test_rng rng;
static char tmp[512];

/* ---- record collection ------------------------------------------------------------------ */

typedef struct entry {
    char *path;
    sgs_verdict verdict;
    char *reason, *alg, *signer, *digest;
    uint64_t size;
    int has_size;
    int count; /* deliveries of this path */
} entry;

typedef struct collector {
    entry *e;
    size_t n, cap;
    long calls;
    int null_fields; /* records with a NULL string */
} collector;

static char *
xstrdup(const char *s)
{
    char *const p = strdup(s);
    REQUIRE(p != NULL);
    return p;
}

static void
on_record(void *opaque, const sgs_record *r)
{
    collector *const c = opaque;
    c->calls++;
    if (r->path == NULL || r->reason == NULL || r->alg == NULL || r->signer == NULL ||
        r->digest == NULL) {
        c->null_fields++;
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].path, r->path) == 0) {
            c->e[i].count++;
            return;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->e = realloc(c->e, c->cap * sizeof(*c->e));
        REQUIRE(c->e != NULL);
    }
    entry *const e = &c->e[c->n++];
    e->path = xstrdup(r->path);
    e->verdict = r->verdict;
    e->reason = xstrdup(r->reason);
    e->alg = xstrdup(r->alg);
    e->signer = xstrdup(r->signer);
    e->digest = xstrdup(r->digest);
    e->size = r->size;
    e->has_size = r->has_size;
    e->count = 1;
}

static void
collector_free(collector *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].path);
        free(c->e[i].reason);
        free(c->e[i].alg);
        free(c->e[i].signer);
        free(c->e[i].digest);
    }
    free(c->e);
    memset(c, 0, sizeof(*c));
}

static const entry *
find(const collector *c, const char *path)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].path, path) == 0)
            return &c->e[i];
    return NULL;
}

/* ---- files and keys ----------------------------------------------------------------------- */

static void
path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", tmp, rel);
}

static void
put(const char *rel, const void *data, size_t len)
{
    char p[PATH_MAX];
    path_of(p, sizeof(p), rel);
    sgs_test_write(p, data, len);
}

static void
put_random(const char *rel, size_t len)
{
    unsigned char *const b = malloc(len + 1);
    REQUIRE(b != NULL);
    sgs_test_fill(&rng, b, len);
    put(rel, b, len);
    free(b);
}

static void
mkdir_rel(const char *rel)
{
    char p[PATH_MAX];
    path_of(p, sizeof(p), rel);
    REQUIRE(mkdir(p, 0755) == 0);
}

static unsigned char *
get(const char *rel, size_t *len)
{
    char p[PATH_MAX];
    path_of(p, sizeof(p), rel);
    return sgs_test_read(p, len);
}

static void
copy_rel(const char *from, const char *to)
{
    size_t n = 0;
    unsigned char *const b = get(from, &n);
    REQUIRE(b != NULL);
    put(to, b, n);
    free(b);
}

typedef struct keypair {
    const char *name;
    EVP_PKEY *pk;
    char fp_hex[SGS_FP_HEX_LEN];
} keypair;

static void
hexify(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
    out[2 * n] = '\0';
}

static void
make_key(keypair *k, const char *name, EVP_PKEY *pk)
{
    k->name = name;
    k->pk = pk;
    REQUIRE(pk != NULL);
    char p[PATH_MAX], rel[128];
    snprintf(rel, sizeof(rel), "priv/%s.pem", name);
    path_of(p, sizeof(p), rel);
    FILE *f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    snprintf(rel, sizeof(rel), "pub/%s.pem", name);
    path_of(p, sizeof(p), rel);
    f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_PUBKEY(f, pk) == 1);
    fclose(f);
    unsigned char *der = NULL;
    const int n = i2d_PUBKEY(pk, &der);
    REQUIRE(n > 0);
    unsigned char fp[32];
    unsigned len = 0;
    REQUIRE(EVP_Digest(der, (size_t)n, fp, &len, EVP_sha256(), NULL) == 1);
    OPENSSL_free(der);
    hexify(fp, 32, k->fp_hex);
}

/* ---- running the engine ------------------------------------------------------------------ */

typedef struct run_opts {
    sgs_op op;
    unsigned threads;
    sgs_hash hash;
    int pss;
    size_t cache_entries; /* (size_t)-1: keep the default */
    uint64_t max_whole_file;  /* 0: keep the default */
    int zero_whole_file;      /* set max_whole_file to 0 explicitly */
    size_t queue_depth;
    int replace; /* SGS_OP_SIGN: cfg.sign_replace */
} run_opts;

static run_opts
opts(sgs_op op, unsigned threads)
{
    run_opts o;
    memset(&o, 0, sizeof(o));
    o.op = op;
    o.threads = threads;
    o.hash = SGS_HASH_SHA256;
    o.cache_entries = (size_t)-1;
    return o;
}

/* key: a public key path (VERIFY, may be a directory) or private key path (SIGN). */
static sgs_status
run_engine(const run_opts *o, const char *key, const char *const *paths, size_t npaths,
           collector *c, sgs_stats *stats)
{
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.op = o->op;
    cfg.threads = o->threads;
    cfg.hash = o->hash;
    cfg.pss = o->pss;
    if (o->cache_entries != (size_t)-1)
        cfg.cache_entries = o->cache_entries;
    if (o->max_whole_file != 0)
        cfg.max_whole_file = o->max_whole_file;
    if (o->zero_whole_file)
        cfg.max_whole_file = 0;
    cfg.queue_depth = o->queue_depth;
    cfg.sign_replace = o->replace;
    cfg.on_record = on_record;
    cfg.opaque = c;
    sgs_engine *e = NULL;
    sgs_status st = sgs_engine_create(&cfg, &e);
    if (st != SGS_OK)
        return st;
    char kp[PATH_MAX];
    path_of(kp, sizeof(kp), key);
    st = o->op == SGS_OP_SIGN ? sgs_engine_set_signing_key(e, kp) : sgs_engine_add_key(e, kp);
    if (st != SGS_OK)
        fprintf(stderr, "engine_test: key %s: %s\n", key, sgs_engine_error(e));
    for (size_t i = 0; i < npaths && st == SGS_OK; i++) {
        char p[PATH_MAX];
        path_of(p, sizeof(p), paths[i]);
        st = sgs_engine_submit(e, p);
    }
    const sgs_status fst = sgs_engine_finish(e);
    if (st == SGS_OK)
        st = fst;
    if (stats != NULL)
        sgs_engine_stats(e, stats);
    sgs_engine_free(e);
    return st;
}

typedef struct want {
    const char *rel;
    sgs_verdict verdict;
} want;

static void
check_verdicts(const collector *c, const want *w, size_t n, const char *what)
{
    CHECK_EQ_INT(c->n, n);
    CHECK_EQ_INT(c->null_fields, 0);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX];
        path_of(p, sizeof(p), w[i].rel);
        const entry *const e = find(c, p);
        if (e == NULL) {
            fprintf(stderr, "engine_test: %s: no record for %s\n", what, w[i].rel);
            CHECK(e != NULL);
            continue;
        }
        CHECK_EQ_INT(e->count, 1);
        if (e->verdict != w[i].verdict)
            fprintf(stderr, "engine_test: %s: %s is %s (%s), want %s\n", what, w[i].rel,
                    sgs_verdict_name(e->verdict), e->reason, sgs_verdict_name(w[i].verdict));
        CHECK_EQ_INT(e->verdict, w[i].verdict);
        CHECK(e->reason[0] != '\0');
    }
}

/* Stats agree with the records. */
static void
check_stats(const collector *c, const sgs_stats *s)
{
    uint64_t per[SGS_VERDICT_COUNT] = {0}, bytes = 0;
    for (size_t i = 0; i < c->n; i++) {
        per[c->e[i].verdict] += (uint64_t)c->e[i].count;
        if (c->e[i].digest[0] != '\0')
            bytes += c->e[i].size;
    }
    CHECK_EQ_INT(s->files, (uint64_t)c->calls);
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++)
        CHECK_EQ_INT(s->verdicts[v], per[v]);
    CHECK_EQ_INT(s->bytes, bytes);
}

/* ---- the damaged tree ---------------------------------------------------------------------- */

/*
 * tree-<name>/: good, sub/deep, empty (0 bytes) verify; flipped (file byte), sigflip (last
 * signature byte), otherkey (signed by another key of the type) are BAD_SIGNATURE; nosig has
 * no signature; emptysig, sigdir (a directory), garbage (text), truncated and trailing
 * signatures, and a signature that is a FIFO or a symbolic link (to a good signature) are
 * MALFORMED; a FIFO and a symbolic link are SKIPPED; nope is missing.
 */
static const char *const tree_files[] = {"good",     "sub/deep", "empty",    "flipped",
                                         "sigflip",  "nosig",    "emptysig", "sigdir",
                                         "garbage",  "truncsig", "trailsig", "big",
                                         "sigfifo",  "siglink"};
#define NFILES (sizeof(tree_files) / sizeof(tree_files[0]))

static void
want_tree(const char *name, want *w, char names[][64], size_t *n)
{
    static const sgs_verdict v[] = {
        SGS_V_VALID,     SGS_V_VALID,     SGS_V_VALID,     SGS_V_BAD_SIGNATURE,
        SGS_V_BAD_SIGNATURE, SGS_V_NO_SIGNATURE, SGS_V_MALFORMED, SGS_V_MALFORMED,
        SGS_V_MALFORMED, SGS_V_MALFORMED, SGS_V_MALFORMED, SGS_V_VALID,
        SGS_V_MALFORMED, SGS_V_MALFORMED};
    size_t k = 0;
    for (size_t i = 0; i < NFILES; i++, k++) {
        snprintf(names[k], 64, "tree-%s/%s", name, tree_files[i]);
        w[k] = (want){names[k], v[i]};
    }
    snprintf(names[k], 64, "tree-%s/fifo", name);
    w[k] = (want){names[k], SGS_V_SKIPPED};
    k++;
    snprintf(names[k], 64, "tree-%s/link", name);
    w[k] = (want){names[k], SGS_V_SKIPPED};
    k++;
    snprintf(names[k], 64, "tree-%s/otherkey", name);
    w[k] = (want){names[k], SGS_V_BAD_SIGNATURE};
    k++;
    *n = k;
}

static void
build_tree(const keypair *k, const keypair *other)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "tree-%s", k->name);
    mkdir_rel(rel);
    snprintf(rel, sizeof(rel), "tree-%s/sub", k->name);
    mkdir_rel(rel);
    for (size_t i = 0; i < NFILES; i++) {
        snprintf(rel, sizeof(rel), "tree-%s/%s", k->name, tree_files[i]);
        const size_t len = strcmp(tree_files[i], "empty") == 0 ? 0
                           : strcmp(tree_files[i], "big") == 0 ? 300000 + 13
                                                                : 100 + (size_t)(sgs_test_rand(&rng) % 5000);
        put_random(rel, len);
    }
    char p[PATH_MAX];
    snprintf(rel, sizeof(rel), "tree-%s/fifo", k->name);
    path_of(p, sizeof(p), rel);
    REQUIRE(mkfifo(p, 0644) == 0);
    snprintf(rel, sizeof(rel), "tree-%s/link", k->name);
    path_of(p, sizeof(p), rel);
    REQUIRE(symlink("good", p) == 0);

    /* sign the tree with the engine itself */
    collector c;
    memset(&c, 0, sizeof(c));
    sgs_stats st;
    const run_opts o = opts(SGS_OP_SIGN, 2);
    char key[128];
    snprintf(key, sizeof(key), "priv/%s.pem", k->name);
    snprintf(rel, sizeof(rel), "tree-%s", k->name);
    const char *const paths[] = {rel};
    CHECK_EQ_INT(run_engine(&o, key, paths, 1, &c, &st), SGS_OK);
    CHECK_EQ_INT(c.n, NFILES + 2);
    for (size_t i = 0; i < c.n; i++) {
        const entry *const e = &c.e[i];
        const int special = strstr(e->path, "/fifo") != NULL || strstr(e->path, "/link") != NULL;
        CHECK_EQ_INT(e->verdict, special ? SGS_V_SKIPPED : SGS_V_VALID);
        if (!special) {
            CHECK_EQ_STR(e->signer, k->fp_hex);
            CHECK(e->digest[0] != '\0');
        }
    }
    check_stats(&c, &st);
    collector_free(&c);
    /* the signature of `otherkey`, made by another key of the same type */
    snprintf(rel, sizeof(rel), "tree-%s/otherkey", k->name);
    put_random(rel, 777);
    snprintf(key, sizeof(key), "priv/%s.pem", other->name);
    const char *const one[] = {rel};
    CHECK_EQ_INT(run_engine(&o, key, one, 1, &c, NULL), SGS_OK);
    CHECK_EQ_INT(c.n, 1);
    if (c.n == 1)
        CHECK_EQ_INT(c.e[0].verdict, SGS_V_VALID);
    collector_free(&c);

    /* the damage */
    size_t n = 0;
    unsigned char *b;
    snprintf(rel, sizeof(rel), "tree-%s/flipped", k->name);
    b = get(rel, &n);
    REQUIRE(b != NULL && n > 10);
    b[n / 2] ^= 0x01;
    put(rel, b, n);
    free(b);
    snprintf(rel, sizeof(rel), "tree-%s/sigflip.sig", k->name);
    b = get(rel, &n);
    REQUIRE(b != NULL && n > 10);
    b[n - 1] ^= 0x01;
    put(rel, b, n);
    free(b);
    snprintf(rel, sizeof(rel), "tree-%s/nosig.sig", k->name);
    path_of(p, sizeof(p), rel);
    REQUIRE(unlink(p) == 0);
    snprintf(rel, sizeof(rel), "tree-%s/emptysig.sig", k->name);
    put(rel, "", 0);
    snprintf(rel, sizeof(rel), "tree-%s/sigdir.sig", k->name);
    path_of(p, sizeof(p), rel);
    REQUIRE(unlink(p) == 0 && mkdir(p, 0755) == 0);
    snprintf(rel, sizeof(rel), "tree-%s/garbage.sig", k->name);
    put(rel, "this is not a signature\n", 24);
    snprintf(rel, sizeof(rel), "tree-%s/truncsig.sig", k->name);
    b = get(rel, &n);
    REQUIRE(b != NULL);
    put(rel, b, n - 1);
    free(b);
    snprintf(rel, sizeof(rel), "tree-%s/trailsig.sig", k->name);
    b = get(rel, &n);
    REQUIRE(b != NULL);
    b = realloc(b, n + 1);
    REQUIRE(b != NULL);
    b[n] = 0x00;
    put(rel, b, n + 1);
    free(b);
    snprintf(rel, sizeof(rel), "tree-%s/sigfifo.sig", k->name);
    path_of(p, sizeof(p), rel);
    REQUIRE(unlink(p) == 0 && mkfifo(p, 0644) == 0);
    snprintf(rel, sizeof(rel), "tree-%s/siglink.sig", k->name);
    path_of(p, sizeof(p), rel);
    REQUIRE(unlink(p) == 0 && symlink("good.sig", p) == 0);
}

static void
check_valid_records(const collector *c, const keypair *keys, size_t nkeys, const char *hash_alg,
                    const keypair *default_owner)
{
    for (size_t i = 0; i < c->n; i++) {
        const entry *const e = &c->e[i];
        if (e->verdict != SGS_V_VALID)
            continue;
        /* signer: the SPKI SHA-256 of the key whose tree this is */
        const keypair *owner = default_owner;
        for (size_t k = 0; k < nkeys; k++) {
            char pre[PATH_MAX], rel[128];
            snprintf(rel, sizeof(rel), "tree-%s/", keys[k].name);
            path_of(pre, sizeof(pre), rel);
            if (strncmp(e->path, pre, strlen(pre)) == 0)
                owner = &keys[k];
        }
        REQUIRE(owner != NULL);
        CHECK_EQ_STR(e->signer, owner->fp_hex);
        /* digest: the hash of the file's bytes; size */
        size_t n = 0;
        unsigned char *const data = sgs_test_read(e->path, &n);
        REQUIRE(data != NULL);
        unsigned char md[64];
        unsigned mdlen = 0;
        const EVP_MD *const mdt = strcmp(hash_alg, "sha384") == 0   ? EVP_sha384()
                                  : strcmp(hash_alg, "sha512") == 0 ? EVP_sha512()
                                                                    : EVP_sha256();
        REQUIRE(EVP_Digest(data, n, md, &mdlen, mdt, NULL) == 1);
        char hex[SGS_DIGEST_HEX_MAX];
        hexify(md, mdlen, hex);
        CHECK_EQ_STR(e->digest, hex);
        CHECK(e->has_size && e->size == n);
        free(data);
        /* alg names the key type and hash */
        if (EVP_PKEY_is_a(owner->pk, "ED25519"))
            CHECK_EQ_STR(e->alg, "ed25519");
        else if (EVP_PKEY_is_a(owner->pk, "EC")) {
            char want_alg[64];
            snprintf(want_alg, sizeof(want_alg), "ecdsa-p256-%s", hash_alg);
            CHECK_EQ_STR(e->alg, want_alg);
        } else {
            CHECK(strncmp(e->alg, "rsa2048-", 8) == 0 && strstr(e->alg, hash_alg) != NULL);
        }
    }
}

static keypair keys[3], others[3];

static void
test_verdicts(void)
{
    for (size_t k = 0; k < 3; k++)
        build_tree(&keys[k], &others[k]);
    want w[3][NFILES + 8];
    char names[3][NFILES + 8][64];
    size_t nw[3];
    for (size_t k = 0; k < 3; k++)
        want_tree(keys[k].name, w[k], names[k], &nw[k]);

    for (size_t k = 0; k < 3; k++) {
        /* one key, its own tree, plus a path that does not exist */
        char key[64], rel[64], nope[64];
        snprintf(key, sizeof(key), "pub/%s.pem", keys[k].name);
        snprintf(rel, sizeof(rel), "tree-%s", keys[k].name);
        snprintf(nope, sizeof(nope), "tree-%s/nope", keys[k].name);
        const char *const paths[] = {rel, nope};
        want ww[NFILES + 9];
        memcpy(ww, w[k], nw[k] * sizeof(want));
        ww[nw[k]] = (want){nope, SGS_V_MISSING_FILE};
        collector c1, c4;
        memset(&c1, 0, sizeof(c1));
        memset(&c4, 0, sizeof(c4));
        sgs_stats s1, s4;
        run_opts o = opts(SGS_OP_VERIFY, 1);
        CHECK_EQ_INT(run_engine(&o, key, paths, 2, &c1, &s1), SGS_OK);
        check_verdicts(&c1, ww, nw[k] + 1, keys[k].name);
        check_valid_records(&c1, keys, 3, "sha256", NULL);
        check_stats(&c1, &s1);
        /* 4 threads, a queue of 1: the same verdicts, signers and digests */
        o = opts(SGS_OP_VERIFY, 4);
        o.queue_depth = 1;
        CHECK_EQ_INT(run_engine(&o, key, paths, 2, &c4, &s4), SGS_OK);
        CHECK_EQ_INT(c4.n, c1.n);
        for (size_t i = 0; i < c1.n; i++) {
            const entry *const e4 = find(&c4, c1.e[i].path);
            CHECK(e4 != NULL);
            if (e4 != NULL) {
                CHECK_EQ_INT(e4->verdict, c1.e[i].verdict);
                CHECK_EQ_STR(e4->signer, c1.e[i].signer);
                CHECK_EQ_STR(e4->digest, c1.e[i].digest);
                CHECK_EQ_INT(e4->count, 1);
            }
        }
        check_stats(&c4, &s4);
        CHECK_EQ_INT(s4.files, s1.files);
        CHECK_EQ_INT(s4.bytes, s1.bytes);
        collector_free(&c1);
        collector_free(&c4);
    }

    /* all three public keys (a directory), all trees, 3 threads: verdicts unchanged */
    collector c;
    memset(&c, 0, sizeof(c));
    sgs_stats s;
    const char *const trees[] = {"tree-rsa", "tree-p256", "tree-ed25519"};
    run_opts o = opts(SGS_OP_VERIFY, 3);
    CHECK_EQ_INT(run_engine(&o, "pub", trees, 3, &c, &s), SGS_OK);
    want all[3 * (NFILES + 8)];
    size_t na = 0;
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < nw[k]; i++)
            all[na++] = w[k][i];
    check_verdicts(&c, all, na, "all keys");
    check_valid_records(&c, keys, 3, "sha256", NULL);
    check_stats(&c, &s);
    collector_free(&c);

    /* another hash on verify than on sign: no VALID left */
    o = opts(SGS_OP_VERIFY, 2);
    o.hash = SGS_HASH_SHA384;
    CHECK_EQ_INT(run_engine(&o, "pub", trees, 3, &c, &s), SGS_OK);
    /* pure Ed25519 has no prehash: its 4 good files stay VALID; RSA and ECDSA do not */
    CHECK_EQ_INT(s.verdicts[SGS_V_VALID], 4);
    for (size_t i = 0; i < c.n; i++)
        if (c.e[i].verdict == SGS_V_VALID)
            CHECK(strstr(c.e[i].path, "tree-ed25519/") != NULL);
    collector_free(&c);
}

/* RSA-PSS and SHA-384/512 through sign and verify; PKCS#1 verify of PSS signatures fails. */
static void
test_pss_and_hashes(void)
{
    mkdir_rel("pss");
    put_random("pss/a", 1000);
    put_random("pss/b", 65536);
    put_random("pss/c", 65537);
    const char *const paths[] = {"pss"};
    const sgs_hash hashes[] = {SGS_HASH_SHA256, SGS_HASH_SHA384, SGS_HASH_SHA512};
    for (size_t h = 0; h < 3; h++) {
        for (int pss = 0; pss <= 1; pss++) {
            collector c;
            memset(&c, 0, sizeof(c));
            run_opts o = opts(SGS_OP_SIGN, 2);
            o.hash = hashes[h];
            o.pss = pss;
            o.replace = 1; /* the same files, signed again each round */
            CHECK_EQ_INT(run_engine(&o, "priv/rsa.pem", paths, 1, &c, NULL), SGS_OK);
            CHECK_EQ_INT(c.n, 3);
            char alg[64];
            snprintf(alg, sizeof(alg), "rsa2048-%s-%s", pss ? "pss" : "pkcs1",
                     sgs_hash_name(hashes[h]));
            for (size_t i = 0; i < c.n; i++) {
                CHECK_EQ_INT(c.e[i].verdict, SGS_V_VALID);
                CHECK_EQ_STR(c.e[i].alg, alg);
            }
            collector_free(&c);
            for (int vpss = 0; vpss <= 1; vpss++) {
                o = opts(SGS_OP_VERIFY, 2);
                o.hash = hashes[h];
                o.pss = vpss;
                sgs_stats s;
                CHECK_EQ_INT(run_engine(&o, "pub/rsa.pem", paths, 1, &c, &s), SGS_OK);
                CHECK_EQ_INT(c.n, 3);
                for (size_t i = 0; i < c.n; i++) {
                    CHECK_EQ_INT(c.e[i].verdict,
                                 vpss == pss ? SGS_V_VALID : SGS_V_BAD_SIGNATURE);
                    if (vpss == pss)
                        CHECK_EQ_STR(c.e[i].alg, alg);
                }
                check_valid_records(&c, keys, 3, sgs_hash_name(hashes[h]), &keys[0]);
                check_stats(&c, &s);
                collector_free(&c);
            }
        }
    }
}

/*
 * An id-RSASSA-PSS key with parameters (SHA-256, MGF1 SHA-256, salt 32): the key type the
 * engine reports as "rsaNNNN-pss-HASH". Signing and verifying with it must work.
 */
static void
test_rsa_pss_key(void)
{
    EVP_PKEY_CTX *const kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    EVP_PKEY *pk = NULL;
    REQUIRE(kctx != NULL && EVP_PKEY_keygen_init(kctx) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(kctx, 2048) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_keygen_md(kctx, EVP_sha256()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_keygen_mgf1_md(kctx, EVP_sha256()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_keygen_saltlen(kctx, 32) == 1);
    REQUIRE(EVP_PKEY_generate(kctx, &pk) == 1);
    EVP_PKEY_CTX_free(kctx);
    mkdir_rel("psskey");
    char p[PATH_MAX];
    path_of(p, sizeof(p), "psskey/priv.pem");
    FILE *f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    path_of(p, sizeof(p), "psskey/pub.pem");
    f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_PUBKEY(f, pk) == 1);
    fclose(f);

    /* the engine signs */
    mkdir_rel("pssk");
    put_random("pssk/a", 3000);
    const char *const tree[] = {"pssk"};
    collector c;
    memset(&c, 0, sizeof(c));
    run_opts o = opts(SGS_OP_SIGN, 1);
    o.pss = 1;
    CHECK_EQ_INT(run_engine(&o, "psskey/priv.pem", tree, 1, &c, NULL), SGS_OK);
    const want ws[] = {{"pssk/a", SGS_V_VALID}};
    check_verdicts(&c, ws, 1, "sign with an RSA-PSS key");
    if (c.n == 1 && c.e[0].verdict != SGS_V_VALID)
        fprintf(stderr, "engine_test: ENGINE BUG: an RSA-PSS key with parameters cannot sign "
                        "(its own check of the new signature fails)\n");
    collector_free(&c);

    /* openssl signs (as `openssl dgst -sha256 -sign`), the engine verifies */
    mkdir_rel("pssv");
    put_random("pssv/b", 2500);
    size_t n = 0;
    unsigned char *const data = get("pssv/b", &n);
    REQUIRE(data != NULL);
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
    REQUIRE(mctx != NULL && EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
            EVP_DigestSign(mctx, sig, &siglen, data, n) == 1);
    EVP_MD_CTX_free(mctx);
    put("pssv/b.sig", sig, siglen);
    data[0] ^= 1;
    put("pssv/c", data, n); /* reject twin: another file, the same signature */
    put("pssv/c.sig", sig, siglen);
    free(data);
    const char *const vtree[] = {"pssv"};
    for (int pss = 0; pss <= 1; pss++) {
        o = opts(SGS_OP_VERIFY, 1);
        o.pss = pss; /* an RSA-PSS key is PSS whatever the option says */
        CHECK_EQ_INT(run_engine(&o, "psskey/pub.pem", vtree, 1, &c, NULL), SGS_OK);
        const want wv[] = {{"pssv/b", SGS_V_VALID}, {"pssv/c", SGS_V_BAD_SIGNATURE}};
        check_verdicts(&c, wv, 2, "verify with an RSA-PSS key");
        char bp[PATH_MAX];
        path_of(bp, sizeof(bp), "pssv/b");
        const entry *const b = find(&c, bp);
        if (b != NULL && b->verdict == SGS_V_VALID)
            CHECK_EQ_STR(b->alg, "rsa2048-pss-sha256");
        else if (b != NULL && pss == 1)
            fprintf(stderr, "engine_test: ENGINE BUG: an RSA-PSS key with parameters verifies "
                            "no signature\n");
        collector_free(&c);
    }
    EVP_PKEY_free(pk);
}

/* sign keeps a signature file that is there (SKIPPED, counted, not read) unless told to
   replace it; whatever stands at the name (a file, a link, a directory) is left as it was. */
static void
test_sign_keeps_signatures(void)
{
    mkdir_rel("keep");
    put_random("keep/new", 700);
    put_random("keep/old", 800);
    put("keep/old.sig", "not a signature", 15);
    put_random("keep/dir", 900);
    mkdir_rel("keep/dir.sig");
    put_random("keep/linked", 1000);
    char p[PATH_MAX];
    path_of(p, sizeof(p), "keep/linked.sig");
    REQUIRE(symlink("old.sig", p) == 0);
    const char *const paths[] = {"keep"};
    collector c;
    memset(&c, 0, sizeof(c));
    sgs_stats st;
    run_opts o = opts(SGS_OP_SIGN, 2);
    CHECK_EQ_INT(run_engine(&o, "priv/p256.pem", paths, 1, &c, &st), SGS_OK);
    const want w[] = {{"keep/new", SGS_V_VALID},
                      {"keep/old", SGS_V_SKIPPED},
                      {"keep/dir", SGS_V_SKIPPED},
                      {"keep/linked", SGS_V_SKIPPED}};
    check_verdicts(&c, w, 4, "sign keeps existing signature files");
    CHECK(st.signatures_kept == 3);
    path_of(p, sizeof(p), "keep/old");
    const entry *const old = find(&c, p);
    CHECK(old != NULL && strstr(old->reason, "keep/old.sig exists") != NULL);
    collector_free(&c);
    size_t n = 0;
    unsigned char *const kept = get("keep/old.sig", &n);
    CHECK(kept != NULL && n == 15 && memcmp(kept, "not a signature", 15) == 0);
    free(kept);
    struct stat ls;
    path_of(p, sizeof(p), "keep/linked.sig");
    CHECK(lstat(p, &ls) == 0 && S_ISLNK(ls.st_mode));
    /* told to replace: the file and the link are replaced, the directory is refused */
    o.replace = 1;
    CHECK_EQ_INT(run_engine(&o, "priv/p256.pem", paths, 1, &c, &st), SGS_OK);
    const want wr[] = {{"keep/new", SGS_V_VALID},
                       {"keep/old", SGS_V_VALID},
                       {"keep/dir", SGS_V_IO_ERROR},
                       {"keep/linked", SGS_V_VALID}};
    check_verdicts(&c, wr, 4, "sign replacing signature files");
    CHECK(st.signatures_kept == 0);
    collector_free(&c);
    CHECK(lstat(p, &ls) == 0 && S_ISREG(ls.st_mode));
    o = opts(SGS_OP_VERIFY, 1);
    const char *const signed_now[] = {"keep/old", "keep/linked", "keep/new"};
    CHECK_EQ_INT(run_engine(&o, "pub/p256.pem", signed_now, 3, &c, NULL), SGS_OK);
    const want wv[] = {{"keep/old", SGS_V_VALID}, {"keep/linked", SGS_V_VALID},
                       {"keep/new", SGS_V_VALID}};
    check_verdicts(&c, wv, 3, "verify what was signed over the old files");
    collector_free(&c);
}

/* Ed25519 keeps the whole file: the cap at +-1, and a cap of 0. */
static void
test_whole_file_cap(void)
{
    mkdir_rel("cap");
    put_random("cap/at", 1000);
    put_random("cap/over", 1001);
    put_random("cap/under", 999);
    put("cap/zero", "", 0);
    const char *const paths[] = {"cap"};
    collector c;
    memset(&c, 0, sizeof(c));
    run_opts o = opts(SGS_OP_SIGN, 1);
    o.max_whole_file = 1000;
    CHECK_EQ_INT(run_engine(&o, "priv/ed25519.pem", paths, 1, &c, NULL), SGS_OK);
    const want ws[] = {{"cap/at", SGS_V_VALID},
                       {"cap/over", SGS_V_UNSUPPORTED},
                       {"cap/under", SGS_V_VALID},
                       {"cap/zero", SGS_V_VALID}};
    check_verdicts(&c, ws, 4, "sign cap 1000");
    collector_free(&c);
    copy_rel("cap/at.sig", "cap/over.sig"); /* some signature, so the cap is what decides */
    o = opts(SGS_OP_VERIFY, 1);
    o.max_whole_file = 1000;
    CHECK_EQ_INT(run_engine(&o, "pub/ed25519.pem", paths, 1, &c, NULL), SGS_OK);
    check_verdicts(&c, ws, 4, "verify cap 1000");
    collector_free(&c);
    /* a cap of 0: no file but the empty one fits in it (UNSUPPORTED), and no garbage is
       verified or signed in place of the file */
    o.max_whole_file = 0;
    o.zero_whole_file = 1;
    const sgs_status st0 = run_engine(&o, "pub/ed25519.pem", paths, 1, &c, NULL);
    if (st0 == SGS_ERR_INVALID_ARG) { /* refusing a cap of 0 at create is fine too */
        collector_free(&c);
        return;
    }
    CHECK_EQ_INT(st0, SGS_OK);
    const want w0[] = {{"cap/at", SGS_V_UNSUPPORTED},
                       {"cap/over", SGS_V_UNSUPPORTED},
                       {"cap/under", SGS_V_UNSUPPORTED},
                       {"cap/zero", SGS_V_VALID}};
    check_verdicts(&c, w0, 4, "verify cap 0");
    collector_free(&c);
    o.op = SGS_OP_SIGN;
    mkdir_rel("cap0");
    put_random("cap0/f", 500);
    const char *const p0[] = {"cap0"};
    CHECK_EQ_INT(run_engine(&o, "priv/ed25519.pem", p0, 1, &c, NULL), SGS_OK);
    const want wsign0[] = {{"cap0/f", SGS_V_UNSUPPORTED}};
    check_verdicts(&c, wsign0, 1, "sign cap 0");
    const int claimed_signed = c.n == 1 && c.e[0].verdict == SGS_V_VALID;
    collector_free(&c);
    if (claimed_signed) {
        /* if it says it signed, the signature must verify */
        o = opts(SGS_OP_VERIFY, 1);
        CHECK_EQ_INT(run_engine(&o, "pub/ed25519.pem", p0, 1, &c, NULL), SGS_OK);
        const want wf[] = {{"cap0/f", SGS_V_VALID}};
        check_verdicts(&c, wf, 1, "verify what cap-0 signing wrote");
        collector_free(&c);
    }
}

/* 50 identical copies with the same signature: the cache answers, and answers the same. */
static void
test_cache(void)
{
    mkdir_rel("copies");
    put_random("copies/orig", 4000);
    const char *const one[] = {"copies/orig"};
    collector c;
    memset(&c, 0, sizeof(c));
    run_opts o = opts(SGS_OP_SIGN, 1);
    CHECK_EQ_INT(run_engine(&o, "priv/p256.pem", one, 1, &c, NULL), SGS_OK);
    collector_free(&c);
    mkdir_rel("copies/good");
    mkdir_rel("copies/bad");
    for (int i = 0; i < 50; i++) {
        char rel[64], sig[64];
        snprintf(rel, sizeof(rel), "copies/good/f%02d", i);
        snprintf(sig, sizeof(sig), "copies/good/f%02d.sig", i);
        copy_rel("copies/orig", rel);
        copy_rel("copies/orig.sig", sig);
    }
    size_t n = 0;
    unsigned char *const data = get("copies/orig", &n);
    REQUIRE(data != NULL);
    data[0] ^= 0x80;
    for (int i = 0; i < 10; i++) {
        char rel[64], sig[64];
        snprintf(rel, sizeof(rel), "copies/bad/f%02d", i);
        snprintf(sig, sizeof(sig), "copies/bad/f%02d.sig", i);
        put(rel, data, n);
        copy_rel("copies/orig.sig", sig);
    }
    free(data);
    const char *const good[] = {"copies/good"};
    const char *const both[] = {"copies/good", "copies/bad"};
    sgs_stats s;

    o = opts(SGS_OP_VERIFY, 1);
    CHECK_EQ_INT(run_engine(&o, "pub/p256.pem", good, 1, &c, &s), SGS_OK);
    CHECK_EQ_INT(s.files, 50);
    CHECK_EQ_INT(s.verdicts[SGS_V_VALID], 50);
    CHECK_EQ_INT(s.cache_hits, 49);
    CHECK_EQ_INT(s.verifications, 1);
    for (size_t i = 0; i < c.n; i++)
        CHECK_EQ_STR(c.e[i].signer, keys[1].fp_hex); /* a hit names the signer too */
    collector_free(&c);

    o = opts(SGS_OP_VERIFY, 4);
    collector hit, miss;
    memset(&hit, 0, sizeof(hit));
    memset(&miss, 0, sizeof(miss));
    sgs_stats sh, sm;
    CHECK_EQ_INT(run_engine(&o, "pub", both, 2, &hit, &sh), SGS_OK);
    CHECK(sh.cache_hits >= 40 + 5);
    CHECK_EQ_INT(sh.verdicts[SGS_V_VALID], 50);
    CHECK_EQ_INT(sh.verdicts[SGS_V_BAD_SIGNATURE], 10);
    o.cache_entries = 0;
    CHECK_EQ_INT(run_engine(&o, "pub", both, 2, &miss, &sm), SGS_OK);
    CHECK_EQ_INT(sm.cache_hits, 0);
    CHECK_EQ_INT(sm.verifications, 60); /* one EC key fits a DER signature */
    CHECK_EQ_INT(hit.n, 60);
    CHECK_EQ_INT(miss.n, 60);
    for (size_t i = 0; i < hit.n; i++) {
        const entry *const m = find(&miss, hit.e[i].path);
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK_EQ_INT(m->verdict, hit.e[i].verdict);
            CHECK_EQ_STR(m->signer, hit.e[i].signer);
            CHECK_EQ_STR(m->alg, hit.e[i].alg);
            CHECK_EQ_STR(m->digest, hit.e[i].digest);
        }
    }
    check_stats(&hit, &sh);
    check_stats(&miss, &sm);
    collector_free(&hit);
    collector_free(&miss);
}

/* ---- configuration and call order ----------------------------------------------------- */

static void
noop_record(void *opaque, const sgs_record *r)
{
    (void)opaque;
    (void)r;
}

static void
test_config(void)
{
    sgs_config cfg;
    sgs_engine *e = (sgs_engine *)&cfg;
    sgs_config_init(&cfg);
    CHECK_EQ_INT(cfg.op, SGS_OP_VERIFY);
    CHECK_EQ_INT(cfg.hash, SGS_HASH_SHA256);
    CHECK_EQ_STR(cfg.sig_suffix, ".sig");
    CHECK(cfg.on_record == NULL);
    CHECK_EQ_INT(sgs_engine_create(&cfg, &e), SGS_ERR_INVALID_ARG); /* no on_record */
    CHECK(e == NULL);
    CHECK_EQ_INT(sgs_engine_create(NULL, &e), SGS_ERR_INVALID_ARG);
    cfg.on_record = noop_record;
#define BAD(name, stmt) \
    do { \
        sgs_config c_ = cfg; \
        stmt; \
        e = (sgs_engine *)&cfg; \
        const sgs_status st_ = sgs_engine_create(&c_, &e); \
        if (st_ != SGS_ERR_INVALID_ARG) \
            fprintf(stderr, "engine_test: config %s accepted\n", name); \
        CHECK_EQ_INT(st_, SGS_ERR_INVALID_ARG); \
        CHECK(e == NULL); \
        if (st_ == SGS_OK) \
            sgs_engine_free(e); \
    } while (0)
    BAD("empty suffix", c_.sig_suffix = "");
    BAD("NULL suffix", c_.sig_suffix = NULL);
    BAD("suffix with /", c_.sig_suffix = "/x.sig");
    BAD("threads 1025", c_.threads = 1025);
    BAD("threads UINT_MAX", c_.threads = UINT_MAX);
    BAD("hash out of range", c_.hash = SGS_HASH_COUNT);
    BAD("op out of range", c_.op = (sgs_op)7);
    BAD("malloc without free", c_.alloc.malloc_fn = sgs_test_alloc_malloc);
    BAD("free without malloc", c_.alloc.free_fn = sgs_test_alloc_free);
    BAD("shard 0 of 3", (c_.shard_index = 0, c_.shard_count = 3));
    BAD("shard 4 of 3", (c_.shard_index = 4, c_.shard_count = 3));
    BAD("shard 2 without a count", (c_.shard_index = 2, c_.shard_count = 0));
#undef BAD
    /* the shard formula: XXH64 (seed 0) of the bytes, mod N, plus 1; XXH64("") is
       0xef46db3751d8e999 and XXH64("a") 0xd24ec4f1a98c6e5b (the xxHash test vectors) */
    CHECK_EQ_INT(sgs_shard_of("", 0, 7), (int)(0xef46db3751d8e999ull % 7 + 1));
    CHECK_EQ_INT(sgs_shard_of("a", 1, 1000), (int)(0xd24ec4f1a98c6e5bull % 1000 + 1));
    CHECK_EQ_INT(sgs_shard_of("anything", 8, 1), 1);
    CHECK_EQ_INT(sgs_shard_of("anything", 8, 0), 1);
    sgs_config ok = cfg;
    ok.threads = 1024;
    CHECK_EQ_INT(sgs_engine_create(&ok, &e), SGS_OK);
    sgs_engine_free(e);
    /* the suffix is copied at create */
    char suffix[8] = ".xyz";
    ok = cfg;
    ok.sig_suffix = suffix;
    CHECK_EQ_INT(sgs_engine_create(&ok, &e), SGS_OK);
    suffix[1] = 'Q';
    sgs_engine_free(e);
    sgs_engine_free(NULL);

    /* a cache far too large for memory must fail at create, not hang */
    fflush(NULL);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(3);
        sgs_config big = cfg;
        big.cache_entries = SIZE_MAX;
        sgs_engine *be = NULL;
        const sgs_status st = sgs_engine_create(&big, &be);
        sgs_engine_free(be);
        _exit(st == SGS_ERR_NOMEM || st == SGS_ERR_INVALID_ARG ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        fprintf(stderr, "engine_test: sgs_engine_create with cache_entries = SIZE_MAX did not "
                        "return within 3 s\n");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* names */
    CHECK_EQ_STR(sgs_verdict_name(SGS_V_VALID), "VALID");
    CHECK_EQ_STR(sgs_verdict_name(SGS_V_SKIPPED), "SKIPPED");
    CHECK_EQ_STR(sgs_verdict_name(SGS_VERDICT_COUNT), "?");
    CHECK_EQ_STR(sgs_status_str(SGS_STATUS_COUNT), "?");
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++) {
        sgs_verdict back;
        CHECK_EQ_INT(sgs_verdict_from_name(sgs_verdict_name((sgs_verdict)v), &back), 0);
        CHECK_EQ_INT(back, v);
    }
    sgs_verdict vb;
    CHECK_EQ_INT(sgs_verdict_from_name("valid", &vb), -1);
    sgs_hash hb;
    CHECK_EQ_INT(sgs_hash_from_name("sha384", &hb), 0);
    CHECK_EQ_INT(hb, SGS_HASH_SHA384);
    CHECK_EQ_INT(sgs_hash_from_name("sha1", &hb), -1);
    CHECK_EQ_INT(sgs_selftest(), SGS_OK);
}

static void
test_call_order(void)
{
    sgs_config cfg;
    sgs_config_init(&cfg);
    collector c;
    memset(&c, 0, sizeof(c));
    cfg.on_record = on_record;
    cfg.opaque = &c;
    cfg.threads = 2;
    sgs_engine *e = NULL;
    char p[PATH_MAX], good[PATH_MAX];
    path_of(good, sizeof(good), "tree-rsa/good");
    REQUIRE(sgs_engine_create(&cfg, &e) == SGS_OK);
    CHECK_EQ_STR(sgs_engine_error(e), "");
    /* submit without keys */
    CHECK_EQ_INT(sgs_engine_submit(e, good), SGS_ERR_STATE);
    CHECK(sgs_engine_error(e)[0] != '\0');
    /* bad keys: missing file, private key, garbage */
    path_of(p, sizeof(p), "pub/missing.pem");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_ERR_IO);
    CHECK(strstr(sgs_engine_error(e), "missing.pem") != NULL);
    path_of(p, sizeof(p), "priv/rsa.pem");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_ERR_KEY);
    CHECK(strstr(sgs_engine_error(e), "private") != NULL);
    CHECK_EQ_INT(sgs_engine_key_count(e), 0);
    path_of(p, sizeof(p), "tree-rsa/good");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_ERR_KEY);
    CHECK_EQ_INT(sgs_engine_key_count(e), 0);
    /* the same key twice: one key */
    mkdir_rel("nokeys");
    path_of(p, sizeof(p), "nokeys");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_ERR_KEY); /* an empty key directory */
    CHECK_EQ_INT(sgs_engine_key_count(e), 0);
    path_of(p, sizeof(p), "pub/rsa.pem");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_OK);
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_OK);
    CHECK_EQ_INT(sgs_engine_key_count(e), 1);
    path_of(p, sizeof(p), "pub");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_OK);
    CHECK_EQ_INT(sgs_engine_key_count(e), 3);
    CHECK_EQ_INT(sgs_engine_submit(e, good), SGS_OK);
    /* add_key after submit */
    path_of(p, sizeof(p), "pub/p256.pem");
    CHECK_EQ_INT(sgs_engine_add_key(e, p), SGS_ERR_STATE);
    CHECK(sgs_engine_error(e)[0] != '\0');
    CHECK_EQ_INT(sgs_engine_key_count(e), 3);
    CHECK_EQ_INT(sgs_engine_submit(e, good), SGS_OK); /* the same file twice: two records */
    CHECK_EQ_INT(sgs_engine_finish(e), SGS_OK);
    CHECK_EQ_INT(sgs_engine_finish(e), SGS_OK);
    CHECK_EQ_INT(sgs_engine_submit(e, good), SGS_ERR_STATE);
    sgs_stats s;
    sgs_engine_stats(e, &s);
    CHECK_EQ_INT(s.files, 2);
    CHECK_EQ_INT(s.verdicts[SGS_V_VALID], 2);
    CHECK_EQ_INT(c.calls, 2);
    sgs_engine_free(e);
    collector_free(&c);

    /* sign: no key / key twice / a public key as signing key */
    cfg.op = SGS_OP_SIGN;
    REQUIRE(sgs_engine_create(&cfg, &e) == SGS_OK);
    CHECK_EQ_INT(sgs_engine_submit(e, good), SGS_ERR_STATE);
    path_of(p, sizeof(p), "pub/rsa.pem");
    CHECK_EQ_INT(sgs_engine_set_signing_key(e, p), SGS_ERR_KEY);
    path_of(p, sizeof(p), "priv/rsa.pem");
    CHECK_EQ_INT(sgs_engine_set_signing_key(e, p), SGS_OK);
    CHECK_EQ_INT(sgs_engine_set_signing_key(e, p), SGS_ERR_STATE);
    sgs_engine_free(e); /* free without finish, nothing submitted */
    CHECK_EQ_INT(c.calls, 0);
}

/* ---- fail the Nth allocation ------------------------------------------------------------ */

static void
test_alloc_failures(void)
{
    want w[NFILES + 8];
    char names[NFILES + 8][64];
    size_t nw = 0;
    want_tree("rsa", w, names, &nw);
    long successes = 0, failures = 0;
    for (int mode = 0; mode <= 1; mode++) {
        for (long n = 1; n <= 200; n++) {
            sgs_test_alloc ta;
            sgs_test_alloc_init(&ta, n, mode);
            sgs_config cfg;
            sgs_config_init(&cfg);
            collector c;
            memset(&c, 0, sizeof(c));
            cfg.on_record = on_record;
            cfg.opaque = &c;
            cfg.threads = 2;
            cfg.queue_depth = 2;
            cfg.cache_entries = 64;
            cfg.alloc = sgs_test_allocator(&ta);
            sgs_engine *e = NULL;
            sgs_status st = sgs_engine_create(&cfg, &e);
            int all_ok = 0;
            if (st != SGS_OK) {
                CHECK_EQ_INT(st, SGS_ERR_NOMEM);
                CHECK(e == NULL);
            } else {
                char p[PATH_MAX];
                path_of(p, sizeof(p), "pub/rsa.pem");
                st = sgs_engine_add_key(e, p);
                CHECK(st == SGS_OK || st == SGS_ERR_NOMEM);
                if (st == SGS_OK) {
                    path_of(p, sizeof(p), "tree-rsa");
                    st = sgs_engine_submit(e, p);
                    CHECK(st == SGS_OK || st == SGS_ERR_NOMEM);
                    all_ok = st == SGS_OK;
                }
                CHECK_EQ_INT(sgs_engine_finish(e), SGS_OK);
                sgs_engine_free(e);
            }
            CHECK_EQ_INT(atomic_load(&ta.live), 0); /* nothing leaked */
            CHECK_EQ_INT(c.null_fields, 0);
            if (all_ok) {
                successes++;
                CHECK_EQ_INT(c.n, nw);
            } else {
                failures++;
            }
            /* every record at most once; a record is its true verdict or an out-of-memory
               IO_ERROR, never a VALID that should not be */
            for (size_t i = 0; i < c.n; i++) {
                CHECK_EQ_INT(c.e[i].count, 1);
                const want *wi = NULL;
                for (size_t k = 0; k < nw; k++) {
                    char p[PATH_MAX];
                    path_of(p, sizeof(p), w[k].rel);
                    if (strcmp(p, c.e[i].path) == 0)
                        wi = &w[k];
                }
                CHECK(wi != NULL);
                if (wi != NULL && c.e[i].verdict != wi->verdict) {
                    CHECK_EQ_INT(c.e[i].verdict, SGS_V_IO_ERROR);
                    if (c.e[i].verdict != SGS_V_IO_ERROR)
                        fprintf(stderr, "engine_test: fail-at %ld mode %d: %s is %s (%s)\n", n,
                                mode, wi->rel, sgs_verdict_name(c.e[i].verdict), c.e[i].reason);
                }
            }
            collector_free(&c);
            if (mode == 1 && atomic_load(&ta.failed) == 0)
                break; /* the whole run needs fewer than n allocations: done */
        }
    }
    fprintf(stderr, "engine_test: allocation failures: %ld runs completed, %ld stopped early\n",
            successes, failures);
    CHECK(successes > 0 && failures > 0);
}

int
main(void)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0xe2e2e2u));
    sgs_test_tmpdir(tmp, sizeof(tmp), "engine");
    mkdir_rel("priv");
    mkdir_rel("pub");
    make_key(&keys[0], "rsa", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    make_key(&keys[1], "p256", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
    make_key(&keys[2], "ed25519", EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
    /* the "other" keys of each type live outside pub/ */
    mkdir_rel("other");
    make_key(&others[0], "rsa-other", EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    make_key(&others[1], "p256-other", EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
    make_key(&others[2], "ed25519-other", EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
    for (size_t i = 0; i < 3; i++) {
        char from[PATH_MAX], to[PATH_MAX], rel[64];
        snprintf(rel, sizeof(rel), "pub/%s.pem", others[i].name);
        path_of(from, sizeof(from), rel);
        snprintf(rel, sizeof(rel), "other/%s.pem", others[i].name);
        path_of(to, sizeof(to), rel);
        REQUIRE(rename(from, to) == 0);
    }
    test_config();
    test_verdicts();
    test_call_order();
    test_pss_and_hashes();
    test_cache();
    test_alloc_failures();
    test_rsa_pss_key();
    test_whole_file_cap();
    test_sign_keeps_signatures();
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY_free(keys[i].pk);
        EVP_PKEY_free(others[i].pk);
    }
    if (getenv("SGS_TEST_KEEP") == NULL)
        sgs_test_rm_rf(tmp);
    else
        fprintf(stderr, "engine_test: kept %s\n", tmp);
    return sgs_test_done("engine_test");
}
