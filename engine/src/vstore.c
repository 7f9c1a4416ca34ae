/*
 * vstore.c - the verdict store: the persistent cache (pcache) as the pipeline sees it:
 * the warm lookup before any file is opened, and what a judge's outcome is stored under.
 */
#include "judge.h"

/* The persistent cache's content key: SHA-256 over a version tag, the key set's id, the hash
   and padding, the file's digest and the signature bytes. Everything a raw verdict depends on,
   and nothing machine-specific: keys are portable (export/import). */
void
sgs_vstore_raw_key(const sgs_engine *e, const uint8_t *digest, size_t dlen,
                 const uint8_t sighash[32], uint8_t key[32])
{
    EVP_MD_CTX *const c = EVP_MD_CTX_new();
    unsigned int len = 0;
    const int32_t tag = e->md_nid;
    const int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
                   EVP_DigestUpdate(c, "sigsweep-raw-3", 14) == 1 &&
                   EVP_DigestUpdate(c, e->keys.id, sizeof(e->keys.id)) == 1 &&
                   EVP_DigestUpdate(c, &tag, sizeof(tag)) == 1 &&
                   (dlen == 0 || EVP_DigestUpdate(c, digest, dlen) == 1) &&
                   EVP_DigestUpdate(c, sighash, 32) == 1 && EVP_DigestFinal_ex(c, key, &len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        memset(key, 0, 32); /* never matches a stored key: all-zero keys are never written */
}

void
sgs_vstore_raw_key_sig(const sgs_engine *e, const worker *w, const uint8_t *digest, size_t dlen,
                   size_t siglen, uint8_t key[32])
{
    uint8_t sighash[32];
    unsigned int len = 0;
    if (EVP_Digest(w->sig, siglen, sighash, &len, EVP_sha256(), NULL) != 1)
        memset(sighash, 0, sizeof(sighash));
    sgs_vstore_raw_key(e, digest, dlen, sighash, key);
}

/* The whole answer for this file and signature file, for the warm path (cache_warm). */
void
sgs_vstore_put_answer(const sgs_engine *e, const worker *w, const struct stat *sb,
                const sgs_pcache_verdict *pv, const uint8_t *md, size_t mdlen)
{
    if (!w->sig_st_valid || mdlen > 64)
        return;
    sgs_pcache_answer a;
    a.v = *pv;
    memcpy(a.md, md, mdlen);
    a.mdlen = mdlen;
    sgs_pcache_put_answer(e->pcache, sb, &w->sig_st, e->answer_ctx, &a);
}

/*
 * Records in the persistent cache (PE files, CMS signatures: judgements that depend on trust
 * material): the record as the engine delivered it, laid out as
 *   version 2 (verdict values of issue 13), verdict, has_size, size (8 bytes), nsigs, is_pe,
 *   reason, alg, signer, digest, chain, image_hash, signer_subject, signing_time, tsa (each
 *   a string ending in NUL), then per signature: verdict, role, reason, hash, layout, signer,
 *   signing_time, tsa.
 * Decoding checks every bound: a damaged or foreign entry is a miss, never a record.
 */
typedef struct rec_writer {
    uint8_t *p;
    size_t len, cap;
    int ok;
} rec_writer;

static void
put_bytes(rec_writer *wr, const void *b, size_t n)
{
    if (!wr->ok || wr->len + n > wr->cap) {
        wr->ok = 0;
        return;
    }
    memcpy(wr->p + wr->len, b, n);
    wr->len += n;
}

static void
put_str(rec_writer *wr, const char *str)
{
    put_bytes(wr, str != NULL ? str : "", strlen(str != NULL ? str : "") + 1);
}

static size_t
record_encode(const sgs_record *rec, sgs_verdict verdict, const char *reason, uint8_t *buf,
              size_t cap)
{
    rec_writer wr = {buf, 0, cap, 1};
    const uint8_t head[3] = {2, (uint8_t)verdict, (uint8_t)(rec->has_size != 0)};
    const uint64_t size = rec->size;
    const uint8_t tail[2] = {(uint8_t)rec->nsigs, rec->format != NULL};
    put_bytes(&wr, head, sizeof(head));
    put_bytes(&wr, &size, sizeof(size));
    put_bytes(&wr, tail, sizeof(tail));
    const char *const top[9] = {reason,          rec->alg,          rec->signer,
                                rec->digest,     rec->chain,        rec->image_hash,
                                rec->signer_subject, rec->signing_time, rec->tsa};
    for (size_t i = 0; i < 9; i++)
        put_str(&wr, top[i]);
    for (size_t k = 0; k < rec->nsigs; k++) {
        const sgs_sig_line *const l = &rec->sigs[k];
        const uint8_t v = (uint8_t)l->verdict;
        put_bytes(&wr, &v, 1);
        const char *const f[7] = {l->role,   l->reason, l->hash_alg,    l->layout,
                                  l->signer, l->signing_time, l->tsa};
        for (size_t i = 0; i < 7; i++)
            put_str(&wr, f[i]);
    }
    return wr.ok ? wr.len : 0;
}

/* The next NUL-terminated string at *at, or NULL when none fits. */
static const char *
get_str(const uint8_t *buf, size_t len, size_t *at)
{
    if (*at >= len)
        return NULL;
    const uint8_t *const nul = memchr(buf + *at, 0, len - *at);
    if (nul == NULL)
        return NULL;
    const char *const str = (const char *)buf + *at;
    *at = (size_t)(nul - buf) + 1;
    return str;
}

/* Points rec's fields into buf (kept by the worker). 0 when the bytes are not a record. */
static int
record_decode(worker *w, const uint8_t *buf, size_t len, sgs_record *rec, sgs_verdict *v)
{
    if (len < 13 || buf[0] != 2 || buf[1] == SGS_V_UNJUDGED || buf[1] >= SGS_VERDICT_COUNT || buf[11] > SGS_AC_MAX_SIGS ||
        buf[12] > 1)
        return 0;
    uint64_t size;
    memcpy(&size, buf + 3, sizeof(size));
    size_t at = 13;
    const char *top[9];
    for (size_t i = 0; i < 9; i++)
        if ((top[i] = get_str(buf, len, &at)) == NULL)
            return 0;
    const size_t nsigs = buf[11];
    for (size_t k = 0; k < nsigs; k++) {
        sgs_sig_line *const l = &w->lines[k];
        if (at >= len || buf[at] >= SGS_VERDICT_COUNT)
            return 0;
        l->verdict = (sgs_verdict)buf[at++];
        const char **const f[7] = {&l->role,   &l->reason,       &l->hash_alg, &l->layout,
                                   &l->signer, &l->signing_time, &l->tsa};
        for (size_t i = 0; i < 7; i++)
            if ((*f[i] = get_str(buf, len, &at)) == NULL)
                return 0;
    }
    if (at != len)
        return 0;
    *v = (sgs_verdict)buf[1];
    rec->has_size = buf[2] != 0;
    rec->size = size;
    snprintf(w->reason, sizeof(w->reason), "%s (persistent cache)", top[0]);
    rec->alg = top[1];
    rec->signer = top[2];
    rec->digest = top[3];
    rec->chain = top[4];
    if (buf[12]) {
        rec->format = "authenticode";
        rec->image_hash = top[5];
        rec->signer_subject = top[6];
        rec->signing_time = top[7];
        rec->tsa = top[8];
        rec->sigs = w->lines;
        rec->nsigs = nsigs;
    }
    return 1;
}

/* The window of a judgement no time can change. */
const sgs_check_window sgs_vstore_for_good = {INT64_MIN, INT64_MAX, 1};

/* Stores a judgement that depends on trust material, if the cache may hold it. */
void
sgs_vstore_put_record(sgs_engine *e, worker *w, const struct stat *sb, const struct stat *sig,
                const sgs_check_window *win, sgs_verdict v, const sgs_record *rec)
{
    if (!e->trust_cacheable || !win->cacheable || v == SGS_V_CHANGED || v == SGS_V_IO_ERROR)
        return;
    uint8_t *const buf = w->rec_buf != NULL ? w->rec_buf : (w->rec_buf = sgs_malloc(&e->alloc,
                                                                        SGS_PCACHE_RECORD_MAX));
    const size_t n = buf != NULL ? record_encode(rec, v, w->reason, buf, SGS_PCACHE_RECORD_MAX)
                                 : 0;
    if (n > 0)
        sgs_pcache_put_record(e->pcache, sb, sig, e->trust_ctx, win->from, win->until, buf, n);
}

/*
 * The warm path of the persistent cache: nothing is opened. The file (when fd is given, the
 * guard's event descriptor, *fst is its fstat already, made by the caller; else lstat'ed by its
 * name) and the signature file
 * its judgement came from (F.p7s, else F<suffix>, else none: a PE image or an unsigned file)
 * are lstat'ed once; their stat tuples, with the key set, name a raw signature's whole answer,
 * and with the key set, trust material and policy a record judged for a time range that
 * includes now. The walk said which signature files are listed beside F, so absent ones are
 * not looked up. On a hit, *sig_found names the signature file found (NULL: none). On any miss
 * the normal path runs.
 */
int
sgs_vstore_warm(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec, struct stat *fst,
                const char **sig_found)
{
    struct stat sig;
    const char *paths[SGS_JOB_SIGFILES_MAX];
    unsigned kinds[SGS_JOB_SIGFILES_MAX];
    int listed;
    const char *sig_file = NULL;
    unsigned kind = SGS_SIGFILE_NONE;
    if (j->kind != SGS_SCAN_FILE || (e->keys.count == 0 && !e->trust_cacheable))
        return 0;
    /* The signature file the judgement came from: the first of F's that exists; one the walk
       saw and that is gone now is a miss. */
    const size_t n = sgs_job_signature_files(j, paths, kinds, &listed);
    for (size_t i = 0; i < n && sig_file == NULL; i++) {
        if (sgs_job_lstat(j, paths[i], &sig) == 0) {
            sig_file = paths[i];
            kind = kinds[i];
        } else if (listed) {
            return 0;
        }
    }
    if ((sig_file != NULL && !S_ISREG(sig.st_mode)) ||
        (fd < 0 && sgs_job_lstat(j, j->path, fst) != 0) ||
        !S_ISREG(fst->st_mode) ||
        (w->max_file_size > 0 && (uint64_t)fst->st_size > w->max_file_size))
        return 0; /* (over the size limit: the job says so, as without a cache) */
    sgs_verdict v = SGS_V_IO_ERROR;
    sgs_pcache_answer a;
    size_t len = 0;
    if (e->keys.count > 0 && sgs_judge_caches(kind, SGS_JUDGE_CACHE_ANSWER) &&
        sgs_pcache_get_answer(e->pcache, w->reader, fst, &sig, e->answer_ctx, &a)) {
        rec->size = (uint64_t)fst->st_size;
        rec->has_size = 1;
        sgs_hex(a.md, a.mdlen, w->digest_hex);
        rec->digest = w->digest_hex;
        v = sgs_judge_raw_stored(w, rec, &a.v, j->sig_path);
    } else if (!e->trust_cacheable || !sgs_judge_caches(kind, SGS_JUDGE_CACHE_RECORD) ||
               (w->rec_buf == NULL &&
                (w->rec_buf = sgs_malloc(&e->alloc, SGS_PCACHE_RECORD_MAX)) == NULL) ||
               !sgs_pcache_get_record(e->pcache, w->reader, fst, sig_file != NULL ? &sig : NULL,
                                      e->trust_ctx, (int64_t)time(NULL), w->rec_buf,
                                      SGS_PCACHE_RECORD_MAX, &len) ||
               !record_decode(w, w->rec_buf, len, rec, &v)) {
        return 0;
    }
    rec->verdict = v; /* as a full judgement decided it for these stat tuples (and this trust,
                         at a time range that includes now) */
    *sig_found = sig_file;
    return 1;
}

