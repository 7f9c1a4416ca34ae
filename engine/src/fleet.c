/*
 * fleet.c - what lets many runs make one report: shards (which inputs a run judges) and the
 * run's fingerprints (what its verdicts depend on besides the files).
 *
 * DESIGN: a shard is a pure function of bytes every host sees alike: XXH64 (seed 0) of the
 * input's relative path or agent id, taken as a number, modulo N. The walk, the agent queue
 * and the package queue ask sgs_engine_in_shard() before they make a job, so an input of
 * another shard is never opened and gets no record; a signature file is not an input of its
 * own (the walk skips it beside its file), so it goes with the file it signs.
 *
 * Fingerprints hash sorted text lines, never structs: the same material and options give the
 * same hex on every host, architecture and order of the options.
 */
#include "engine.h"

#include <xxhash.h>

unsigned
sgs_shard_of(const char *rel, size_t len, unsigned count)
{
    if (count <= 1)
        return 1;
    const XXH64_hash_t h = XXH64(rel, len, 0);
    return (unsigned)(h % count) + 1;
}

int
sgs_engine_in_shard(const sgs_engine *e, const char *rel)
{
    return e->cfg.shard_count <= 1 ||
           sgs_shard_of(rel, strlen(rel), e->cfg.shard_count) == e->cfg.shard_index;
}

const char *
sgs_engine_shard_rel(const sgs_engine *e, const char *path)
{
    const char *r = e->walk_root, *p = path;
    if (r == NULL)
        return path;
    /* the walk reports paths as given with repeated slashes collapsed (scan.c) */
    while (*r != '\0') {
        if (*r != *p)
            return path; /* not below the root: a signature given names its file */
        if (*r == '/')
            while (r[1] == '/')
                r++;
        r++;
        p++;
    }
    if (p > path && p[-1] == '/' && *p != '\0')
        return p;
    if (*p == '/' && p[1] != '\0')
        return p + 1;
    return path; /* the path given itself */
}

/* ---- fingerprints ---------------------------------------------------------------------------- */

#define LINE_MAX_LEN 96

typedef struct lines {
    const sgs_allocator *alloc;
    char *v; /* n lines of LINE_MAX_LEN bytes each */
    size_t n, cap;
    int failed;
} lines;

static void
add_line(lines *l, const char *kind, const uint8_t *md, size_t mdlen)
{
    if (l->failed)
        return;
    if (l->n == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 16;
        char *const grown = sgs_calloc(l->alloc, cap, LINE_MAX_LEN);
        if (grown == NULL) {
            l->failed = 1;
            return;
        }
        if (l->n > 0)
            memcpy(grown, l->v, l->n * LINE_MAX_LEN);
        sgs_free(l->alloc, l->v);
        l->v = grown;
        l->cap = cap;
    }
    char *const s = l->v + LINE_MAX_LEN * l->n++;
    size_t at = (size_t)snprintf(s, LINE_MAX_LEN, "%s ", kind);
    for (size_t i = 0; i < mdlen && at + 2 < LINE_MAX_LEN; i++)
        at += (size_t)snprintf(s + at, LINE_MAX_LEN - at, "%02x", md[i]);
}

static int
cmp_line(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* SHA-256 hex over the sorted lines, each followed by '\n'. 1 on success. */
static int
hash_lines(lines *l, char hex[SGS_FP_HEX_LEN])
{
    if (l->failed)
        return 0;
    if (l->n > 1)
        qsort(l->v, l->n, LINE_MAX_LEN, cmp_line);
    EVP_MD_CTX *const c = EVP_MD_CTX_new();
    uint8_t md[32];
    unsigned int len = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < l->n; i++)
        ok = EVP_DigestUpdate(c, l->v + LINE_MAX_LEN * i, strlen(l->v + LINE_MAX_LEN * i)) == 1 &&
             EVP_DigestUpdate(c, "\n", 1) == 1;
    ok = ok && EVP_DigestFinal_ex(c, md, &len) == 1 && len == sizeof(md);
    EVP_MD_CTX_free(c);
    for (size_t i = 0; ok && i < sizeof(md); i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    ERR_clear_error();
    return ok;
}

static void
add_certs(lines *l, const char *kind, const sgs_certlist *list)
{
    for (size_t i = 0; i < list->count; i++) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        if (X509_digest(list->items[i].cert, EVP_sha256(), md, &mlen) != 1)
            l->failed = 1;
        else
            add_line(l, kind, md, mlen);
    }
}

static void
add_trust(lines *l, const sgs_trust *t, const char *anchors)
{
    add_certs(l, anchors, &t->trusted);
    add_certs(l, "untrusted", &t->untrusted);
    add_certs(l, "search", &t->search);
    for (int i = 0; t->crls != NULL && i < sk_X509_CRL_num(t->crls); i++) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        if (X509_CRL_digest(sk_X509_CRL_value(t->crls, i), EVP_sha256(), md, &mlen) != 1)
            l->failed = 1;
        else
            add_line(l, "crl", md, mlen);
    }
}

sgs_status
sgs_engine_fingerprints(const sgs_engine *e, sgs_fingerprints *out)
{
    memset(out, 0, sizeof(*out));
    lines l = {&e->alloc, NULL, 0, 0, 0};
    int ok = 1;
    /* keys */
    for (size_t i = 0; i < e->keys.count; i++)
        add_line(&l, "key", e->keys.keys[i].fp, sizeof(e->keys.keys[i].fp));
    if (e->agents != NULL) {
        const uint8_t *fps[128];
        const size_t n = sgs_agents_key_fps(e->agents, fps, sizeof(fps) / sizeof(fps[0]));
        for (size_t i = 0; i < n; i++)
            add_line(&l, i == 0 ? "server" : "known", fps[i], 32);
    }
    ok = hash_lines(&l, out->keys);
    /* trust material */
    l.n = 0;
    add_trust(&l, &e->trust, "trust");
    add_trust(&l, &e->tsa, "tsa");
    if (e->cfg.trust.system)
        add_line(&l, "system", NULL, 0);
    ok = ok && hash_lines(&l, out->trust);
    /* options that change verdicts, one canonical line */
    const sgs_config *const c = &e->cfg;
    char opts[LINE_MAX_LEN * 4];
    snprintf(opts, sizeof(opts),
             "op=%d hash=%s pss=%d suffix=%s codesign=%d strict=%d at=%lld partial-chain=%d "
             "no-time-check=%d min-security=%d uefi=%d require-all=%d lenient=%d "
             "max-file-size=%llu max-whole-file=%llu",
             (int)c->op, sgs_hash_name(c->hash), c->pss != 0, e->suffix, c->trust.codesign != 0,
             c->trust.strict != 0, c->trust.has_at_time ? (long long)c->trust.at_time : -1LL,
             c->trust.partial_chain != 0, c->trust.no_time_check != 0,
             c->trust.min_security_bits, c->pe_uefi != 0, c->pe_require_all != 0,
             c->pe_lenient != 0, (unsigned long long)c->max_file_size,
             (unsigned long long)c->max_whole_file);
    uint8_t md[32];
    unsigned int len = 0;
    ok = ok && EVP_Digest(opts, strlen(opts), md, &len, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < sizeof(md); i++)
        snprintf(out->options + 2 * i, 3, "%02x", md[i]);
    const int failed = l.failed;
    sgs_free(&e->alloc, l.v);
    ERR_clear_error();
    if (failed)
        return SGS_ERR_NOMEM;
    return ok ? SGS_OK : SGS_ERR_CRYPTO;
}
