/*
 * engine.c - the run: configuration, keys, the walk, the workers (enforcement: enforce.c).
 *
 *   submit(path) -> scan (walk) -> job (a ticket: its place in the output) -> pool ->
 *   worker: verify_job (job.c opens F and its signature, vstore.c answers from the cache,
 *   the judge the table names decides) -> sink.c (records out in ticket order; enforcement's
 *   bad files held) -> on_record(); at finish, the circuit breaker and the renames.
 *
 * The engine never decides a verdict: a judge returns it (engine/src/README.md). All state is
 * in sgs_engine; workers own their digest context and buffers.
 */
#include "judge.h"

#include <openssl/crypto.h>

void
sgs_config_init(sgs_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->op = SGS_OP_VERIFY;
    cfg->hash = SGS_HASH_SHA256;
    cfg->sig_suffix = ".sig";
    cfg->cache_entries = 16384;
    cfg->max_whole_file = 256u * 1024u * 1024u;
    cfg->max_file_size = (uint64_t)64 << 30;
    cfg->trust.min_security_bits = SGS_MIN_SECURITY_BITS_DEFAULT;
    cfg->max_quarantine = 10;
    cfg->max_quarantine_percent = 5;
}

sgs_status
sgs_engine_create(const sgs_config *cfg, sgs_engine **out)
{
    *out = NULL;
    if (cfg == NULL || cfg->on_record == NULL || (unsigned)cfg->hash >= SGS_HASH_COUNT ||
        (unsigned)cfg->op > SGS_OP_PACKAGE || cfg->sig_suffix == NULL ||
        cfg->sig_suffix[0] == '\0' || strchr(cfg->sig_suffix, '/') != NULL ||
        cfg->threads > 1024 || cfg->cache_entries > SGS_CACHE_MAX_ENTRIES ||
        cfg->max_whole_file == 0 || cfg->trust.min_security_bits < 0 ||
        cfg->trust.min_security_bits > 256 || (cfg->alloc.malloc_fn == NULL) != (cfg->alloc.free_fn == NULL) ||
        (cfg->shard_count > 1 && (cfg->shard_index < 1 || cfg->shard_index > cfg->shard_count)) ||
        (cfg->shard_count <= 1 && cfg->shard_index > 1))
        return SGS_ERR_INVALID_ARG;
    sgs_engine *const e = sgs_calloc(&cfg->alloc, 1, sizeof(*e));
    if (e == NULL)
        return SGS_ERR_NOMEM;
    e->alloc = cfg->alloc;
    e->cfg = *cfg;
    e->suffix = sgs_strdup(&e->alloc, cfg->sig_suffix);
    e->cfg.sig_suffix = e->suffix;
    static const char *const md_names[SGS_HASH_COUNT] = {"SHA2-256", "SHA2-384", "SHA2-512"};
    for (unsigned i = 0; i < SGS_HASH_COUNT; i++)
        e->fetched[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
    e->md = e->fetched[cfg->hash] != NULL ? e->fetched[cfg->hash] : sgs_hash_md(cfg->hash);
    /* the cache's algorithm tag: a verdict depends on the hash and on the RSA padding */
    e->md_nid = EVP_MD_get_type(e->md) * 2 + (cfg->pss ? 1 : 0);
    sgs_keyset_init(&e->keys, &e->alloc);
    e->keys.min_bits = cfg->trust.min_security_bits;
    sgs_edkeys_init(&e->minisign_keys, &e->alloc);
    sgs_edkeys_init(&e->signify_keys, &e->alloc);
    sgs_trust_init(&e->trust, &e->alloc);
    sgs_trust_set_opts(&e->trust, &cfg->trust);
    sgs_trust_init(&e->tsa, &e->alloc); /* timestamp authorities: the run's time and floor only */
    const sgs_trust_opts tsa_opts = {.has_at_time = cfg->trust.has_at_time,
                                     .at_time = cfg->trust.at_time,
                                     .min_security_bits = cfg->trust.min_security_bits};
    sgs_trust_set_opts(&e->tsa, &tsa_opts);
    e->pe_policy.uefi = cfg->pe_uefi != 0;
    e->pe_policy.require_all = cfg->pe_require_all != 0;
    e->pe_policy.lenient = cfg->pe_lenient != 0;
    e->trust_material = cfg->trust.system != 0;
    if (e->suffix == NULL)
        goto nomem;
    if (cfg->cache_entries > 0) {
        e->cache = sgs_cache_create(&e->alloc, cfg->cache_entries);
        if (e->cache == NULL)
            goto nomem;
    }
    if (cfg->op == SGS_OP_AGENTS) {
        e->agents = sgs_agents_create(&e->alloc);
        if (e->agents == NULL)
            goto nomem;
        if (cfg->trust.has_at_time)
            sgs_agents_set_time(e->agents, cfg->trust.at_time);
    }
    if (cfg->cache_dir != NULL && cfg->op == SGS_OP_VERIFY) {
        char why[512];
        int refused = 0;
        e->pcache = sgs_pcache_open_checked(&e->alloc, cfg->cache_dir, &refused, e->notice,
                                            sizeof(e->notice), why, sizeof(why));
        if (e->pcache == NULL && cfg->cache_required) { /* start() refuses, saying why */
            snprintf(e->start_err, sizeof(e->start_err), "%.500s", why);
            e->start_refused = 1;
        } else if (e->pcache == NULL) /* a cache only ever costs speed: run without it */
            snprintf(e->notice, sizeof(e->notice), "running without the cache: %.400s", why);
        else
            sgs_pcache_set_max_age(e->pcache, cfg->cache_max_age);
    }
    if (cfg->quarantine_journal != NULL && cfg->op == SGS_OP_VERIFY) {
        char why[512];
        e->journal = sgs_journal_open(&e->alloc, cfg->quarantine_journal, why, sizeof(why));
        if (e->journal == NULL) {
            /* the caller learns why through sgs_engine_error() only on a live engine: keep it */
            snprintf(e->start_err, sizeof(e->start_err), "%s", why);
            e->cfg.quarantine_journal = NULL;
            e->start_refused = 1;
        }
        if (e->journal != NULL) {
            sgs_journal_set_cancel(e->journal, &e->cancelled);
            sgs_enforce_load_journal(e, cfg->quarantine_journal);
        }
        if (e->journal != NULL && e->pcache != NULL) {
            char p[4200];
            snprintf(p, sizeof(p), "%s/data.mdb", cfg->cache_dir);
            sgs_journal_protect(e->journal, p);
            snprintf(p, sizeof(p), "%s/lock.mdb", cfg->cache_dir);
            sgs_journal_protect(e->journal, p);
        }
    }
    e->pkg_rootfd = -1;
    e->pkg_manifest_fd = -1;
    e->pkg_verdict = SGS_V_MALFORMED;
    *out = e;
    return SGS_OK;
nomem: /* only the parts made before any of the optional ones exist */
    sgs_cache_free(e->cache);
    for (unsigned i = 0; i < SGS_HASH_COUNT; i++)
        EVP_MD_free(e->fetched[i]);
    sgs_free(&e->alloc, e->suffix);
    sgs_free(&e->alloc, e);
    return SGS_ERR_NOMEM;
}

const char *
sgs_engine_notice(const sgs_engine *e)
{
    return e != NULL ? e->notice : "";
}

const char *
sgs_engine_error(const sgs_engine *e)
{
    return e != NULL ? e->err : "";
}

size_t
sgs_engine_key_count(const sgs_engine *e)
{
    return e->keys.count;
}

static int
is_dir(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

sgs_status
sgs_engine_add_key(sgs_engine *e, const char *path)
{
    e->err[0] = '\0';
    if (e->started) {
        snprintf(e->err, sizeof(e->err), "keys must be added before the first submit");
        return SGS_ERR_STATE;
    }
    const sgs_status st = is_dir(path) ? sgs_keyset_add_dir(&e->keys, path, e->err,
                                                            sizeof(e->err))
                                       : sgs_keyset_add_file(&e->keys, path, e->err,
                                                             sizeof(e->err));
    sgs_keyset_finalize(&e->keys);
    return st;
}

sgs_status
sgs_engine_add_edkey(sgs_engine *e, sgs_edkey_kind kind, const char *key)
{
    e->err[0] = '\0';
    if (e->started) {
        snprintf(e->err, sizeof(e->err), "keys must be added before the first submit");
        return SGS_ERR_STATE;
    }
    if ((unsigned)kind > SGS_EDKEY_SIGNIFY || key == NULL)
        return SGS_ERR_INVALID_ARG;
    sgs_edkeys *const ks = kind == SGS_EDKEY_MINISIGN ? &e->minisign_keys : &e->signify_keys;
    char why[384];
    uint8_t *buf = NULL;
    size_t len = 0;
    sgs_status st;
    /* minisign -P's base64 string (56 characters), else a key file */
    if (kind == SGS_EDKEY_MINISIGN && strlen(key) == 56 && access(key, F_OK) != 0) {
        st = sgs_edkeys_add(ks, (const uint8_t *)key, 56, e->cfg.trust.min_security_bits, why,
                            sizeof(why));
    } else {
        st = sgs_read_small_file(&e->alloc, key, 64u * 1024u, &buf, &len, why, sizeof(why));
        if (st == SGS_OK)
            st = sgs_edkeys_add(ks, buf, len, e->cfg.trust.min_security_bits, why, sizeof(why));
        sgs_free(&e->alloc, buf);
    }
    if (st != SGS_OK)
        snprintf(e->err, sizeof(e->err), "%.200s: %.300s", key, why);
    return st;
}

sgs_status
sgs_engine_add_certs(sgs_engine *e, sgs_material kind, const char *path)
{
    e->err[0] = '\0';
    if (e->started) {
        snprintf(e->err, sizeof(e->err), "certificates must be added before the first submit");
        return SGS_ERR_STATE;
    }
    if ((unsigned)kind > SGS_MAT_TSA)
        return SGS_ERR_INVALID_ARG;
    if (kind == SGS_MAT_TSA)
        return sgs_trust_add(&e->tsa, SGS_MAT_TRUST, path, e->err, sizeof(e->err));
    sgs_status st = sgs_trust_add(&e->trust, kind, path, e->err, sizeof(e->err));
    /* revocation and intermediates apply to timestamp authorities' chains as well */
    if (st == SGS_OK && (kind == SGS_MAT_CRL || kind == SGS_MAT_UNTRUSTED))
        st = sgs_trust_add(&e->tsa, kind, path, e->err, sizeof(e->err));
    if (st == SGS_OK)
        e->trust_material = 1;
    return st;
}

typedef struct first_cert {
    X509 *cert;
} first_cert;

static sgs_status
keep_first_cert(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err,
                size_t errlen)
{
    first_cert *const f = opaque;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (f->cert == NULL)
        f->cert = x;
    else
        X509_free(x);
    return SGS_OK;
}

sgs_status
sgs_engine_set_signing_cert(sgs_engine *e, const char *path)
{
    e->err[0] = '\0';
    if (e->started || e->sign_cert != NULL) {
        snprintf(e->err, sizeof(e->err), "the signing certificate is set once, before the "
                                         "first submit");
        return SGS_ERR_STATE;
    }
    first_cert f = {NULL};
    const sgs_status st =
        sgs_pki_parse_file(&e->alloc, path, keep_first_cert, &f, e->err, sizeof(e->err));
    if (st != SGS_OK)
        return st;
    if (f.cert == NULL) {
        snprintf(e->err, sizeof(e->err), "%s: no certificate in it", path);
        return SGS_ERR_KEY;
    }
    e->sign_cert = f.cert;
    return SGS_OK;
}

sgs_status
sgs_engine_set_signing_key(sgs_engine *e, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[256] = "";
    e->err[0] = '\0';
    if (e->started || e->sign_key != NULL) {
        snprintf(e->err, sizeof(e->err), "the signing key is set once, before the first submit");
        return SGS_ERR_STATE;
    }
    sgs_status st = sgs_read_small_file(&e->alloc, path, SGS_KEY_FILE_MAX, &buf, &len, why,
                                        sizeof(why));
    if (st != SGS_OK) {
        snprintf(e->err, sizeof(e->err), "%s", why);
        return st;
    }
    st = sgs_private_key_parse(buf, len, &e->sign_key, why, sizeof(why));
    OPENSSL_cleanse(buf, len);
    sgs_free(&e->alloc, buf);
    if (st != SGS_OK) {
        snprintf(e->err, sizeof(e->err), "%s: %s", path, why);
        return st;
    }
    st = sgs_key_describe(e->sign_key, &e->sign_desc);
    if (st != SGS_OK) { /* the certificate (--cert) stays: sgs_engine_free() releases it */
        EVP_PKEY_free(e->sign_key);
        e->sign_key = NULL;
        snprintf(e->err, sizeof(e->err), "%s: cannot derive the public key", path);
    }
    return st;
}

/* ---- records ------------------------------------------------------------------------- */

/* The sink's writer, one call at a time, in queue order: counts, then hands over. */
static void
emit(void *opaque, const sgs_record *rec)
{
    sgs_engine *const e = opaque;
    atomic_fetch_add_explicit(&e->verdicts[rec->verdict], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->files, 1, memory_order_relaxed);
    e->cfg.on_record(e->cfg.opaque, rec);
}

/* A record nobody judged (SGS_V_UNJUDGED, the zero value) or one with a value out of range is
   a programmer error: assert in debug builds, and fail closed in release builds (an internal
   error, never VALID). */
const sgs_record *
sgs_record_checked(const sgs_record *rec, sgs_record *fixed)
{
    assert(rec->verdict != SGS_V_UNJUDGED && (unsigned)rec->verdict < SGS_VERDICT_COUNT);
    if (rec->verdict == SGS_V_UNJUDGED || (unsigned)rec->verdict >= SGS_VERDICT_COUNT) {
        *fixed = *rec;
        fixed->verdict = SGS_V_IO_ERROR;
        fixed->reason = "internal error: the record was never judged";
        return fixed;
    }
    return rec;
}

void
sgs_engine_deliver(sgs_engine *e, uint64_t seq, const sgs_record *rec)
{
    sgs_record fixed;
    sgs_sink_put(&e->sink, seq, sgs_record_checked(rec, &fixed));
}


void
sgs_say(worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
}

/* The pipeline of SGS_OP_VERIFY and SGS_OP_DIAGNOSE: the verdict store, F, its signature
   file, the one judge the table names, the quarantine hook. It never decides a verdict: the
   job's files (job.c), a stored judgement (vstore.c) or the judge's return value does.
   Returns 1 when the record is held for the quarantine decision (not delivered now). */
static int
store_knows(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec, struct stat *sb)
{
    const char *sig_found = NULL;
    if (e->pcache == NULL || e->cfg.paranoid || e->cfg.op != SGS_OP_VERIFY ||
        !sgs_vstore_warm(e, w, j, fd, rec, sb, &sig_found))
        return 0;
    sgs_job_note_precedence(j, w, sig_found);
    return 1;
}

/* F open as fd (closed here), fstat'ed: its signature file, the judge the table names. */
static void
judge_opened(sgs_engine *e, worker *w, const job *j, int fd, const struct stat *sb,
             sgs_record *rec)
{
    sgs_judge_input in = {j, fd, sb, NULL, SGS_SIGFILE_NONE, 0};
    if (sgs_job_find_signature(j, w, rec, &in))
        rec->verdict = sgs_judge_for(e, w, &in)->judge(e, w, &in, rec);
    close(fd);
    sgs_job_note_precedence(j, w, in.sig_path);
}

static int
verify_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    struct stat sb;
    if (store_knows(e, w, j, -1, rec, &sb))
        return sgs_enforce_hold(e, w, j, rec, &sb);
    const int fd = sgs_job_open_input(j, w, rec, &sb);
    if (fd < 0)
        return 0;
    judge_opened(e, w, j, fd, &sb, rec);
    return sgs_enforce_hold(e, w, j, rec, &sb);
}

void
sgs_record_start(sgs_record *rec, const char *path)
{
    memset(rec, 0, sizeof(*rec));
    rec->path = path; /* rec->verdict: SGS_V_UNJUDGED (zero) until a judge decides */
    rec->agent = "";
    rec->reason = "";
    rec->alg = "";
    rec->signer = "";
    rec->digest = "";
    rec->chain = "";
}

int
sgs_engine_lookup_fd(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec,
                     struct stat *sb)
{
    w->reason[0] = '\0';
    sgs_record_start(rec, j->path);
    const int known = store_knows(e, w, j, fd, rec, sb);
    rec->reason = w->reason;
    return known;
}

void
sgs_engine_judge_fd(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec,
                    struct stat *sb)
{
    w->reason[0] = '\0';
    sgs_record_start(rec, j->path);
    rec->reason = w->reason;
    /* a descriptor of our own (the judges close theirs), reading from the start */
    const int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0 || lseek(own, 0, SEEK_SET) != 0) {
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "cannot read the file through its descriptor: %s", strerror(errno));
        if (own >= 0)
            close(own);
        return;
    }
    if (sgs_job_stat_regular(own, w, rec, sb, NULL))
        judge_opened(e, w, j, own, sb, rec);
}

/* ---- workers ------------------------------------------------------------------------- */

worker *
sgs_worker_create(sgs_engine *e)
{
    worker *const w = sgs_calloc(&e->alloc, 1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->nverifiers = e->keys.count;
    w->max_file_size = e->cfg.max_file_size;
    w->verifiers = sgs_calloc(&e->alloc, w->nverifiers ? w->nverifiers : 1, sizeof(EVP_PKEY_CTX *));
    w->sig = sgs_malloc(&e->alloc, SIG_FILE_MAX);
    if (e->pcache != NULL)
        w->reader = sgs_pcache_reader_new(e->pcache); /* NULL: lookups use their own txn */
    w->ok = w->verifiers != NULL && w->sig != NULL &&
            sgs_digest_ctx_init(&w->dc, &e->alloc, READ_BUF_SIZE) == SGS_OK;
    w->dc.cancel = &e->cancelled;
    return w;
}

static void *
worker_init(void *opaque, unsigned index)
{
    (void)index;
    return sgs_worker_create(opaque);
}

void
sgs_worker_free(sgs_engine *e, worker *w)
{
    if (w == NULL)
        return;
    sgs_digest_ctx_reset(&w->dc);
    for (size_t i = 0; w->verifiers != NULL && i < w->nverifiers; i++)
        EVP_PKEY_CTX_free(w->verifiers[i]);
    sgs_free(&e->alloc, w->verifiers);
    sgs_free(&e->alloc, w->sig);
    sgs_pcache_reader_free(w->reader);
    sgs_pe_hasher_free(w->pe);
    sgs_ac_file_free(w->ac);
    sgs_free(&e->alloc, w->pe_head);
    sgs_free(&e->alloc, w->pe_table);
    sgs_free(&e->alloc, w->kmod_in);
    sgs_free(&e->alloc, w->kmod_out);
    sgs_free(&e->alloc, w->rec_buf);
    sgs_free(&e->alloc, w);
}

static void
worker_fini(void *opaque, void *state)
{
    sgs_worker_free(opaque, state);
}

static void
worker_run(void *opaque, void *state, void *job_ptr)
{
    sgs_engine *const e = opaque;
    worker *const w = state;
    job *const j = job_ptr;
    sgs_record rec;
    sgs_record_start(&rec, j->path);
    int held = 0;
    if (atomic_load_explicit(&e->cancelled, memory_order_relaxed)) { /* dropped: no record */
    } else if (w == NULL || !w->ok) {
        rec.agent = j->agent != NULL ? j->agent : ""; /* the record still names its agent */
        rec.verdict = SGS_V_IO_ERROR;
        rec.reason = "out of memory: worker could not start";
        sgs_engine_deliver(e, j->seq, &rec);
    } else {
        w->reason[0] = '\0';
        rec.agent = j->agent != NULL ? j->agent : "";
        if (e->cfg.op == SGS_OP_SIGN)
            sgs_sign_job(e, w, j, &rec);
        else if (e->cfg.op == SGS_OP_AGENTS)
            sgs_agent_job(e, w, j, &rec);
        else if (e->cfg.op == SGS_OP_PACKAGE)
            sgs_package_job(e, w, j, &rec);
        else if (e->cfg.op == SGS_OP_HASH)
            sgs_hash_job(e, w, j, &rec);
        else
            held = verify_job(e, w, j, &rec);
        rec.reason = w->reason;
        if (!held)
            sgs_engine_deliver(e, j->seq, &rec);
        if (w->dc.keep_cap > KEEP_RELEASE_ABOVE) { /* keep RSS flat after a huge Ed25519 file */
            sgs_free(&e->alloc, w->dc.keep);
            w->dc.keep = NULL;
            w->dc.keep_cap = 0;
        }
    }
    sgs_sink_done(&e->sink, j->seq); /* every ticket, with or without a record */
    sgs_scan_dir_release(j->dir);
    sgs_free(&e->alloc, j);
}

static unsigned
online_cpus(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Everything a judgement needs but the workers: the checks of the material, trust finalised,
   the persistent cache's contexts. Once; a run's start and a guard's (guard.c) call it. */
sgs_status
sgs_engine_prepare(sgs_engine *e)
{
    if (e->prepared)
        return SGS_OK;
    if (e->finished) {
        snprintf(e->err, sizeof(e->err), "the engine has finished");
        return SGS_ERR_STATE;
    }
    if (e->start_refused) { /* enforcing without a journal would lose renames */
        snprintf(e->err, sizeof(e->err), "%s", e->start_err);
        return SGS_ERR_IO;
    }
    if (e->cfg.op == SGS_OP_AGENTS && !sgs_agents_ready(e->agents)) {
        snprintf(e->err, sizeof(e->err), "no server certificate (--server-cert)");
        return SGS_ERR_STATE;
    }
    if (e->cfg.op == SGS_OP_PACKAGE && e->pkg_root == NULL) {
        snprintf(e->err, sizeof(e->err), "no package set (sgs_engine_set_package)");
        return SGS_ERR_STATE;
    }
    if (e->cfg.op == SGS_OP_VERIFY || e->cfg.op == SGS_OP_DIAGNOSE ||
        e->cfg.op == SGS_OP_PACKAGE) {
        if (e->keys.count == 0 && !e->trust_material && e->minisign_keys.count == 0 &&
            e->signify_keys.count == 0) {
            snprintf(e->err, sizeof(e->err), "no public key and no trust store: add at least one");
            return SGS_ERR_STATE;
        }
        sgs_status tst = sgs_trust_finalize(&e->trust, e->err, sizeof(e->err));
        if (tst == SGS_OK && sgs_trust_configured(&e->tsa))
            tst = sgs_trust_finalize(&e->tsa, e->err, sizeof(e->err));
        if (tst != SGS_OK)
            return tst;
        if (e->cfg.cache_entries > 0 && (e->certsets = sgs_certset_cache_create(&e->alloc)) == NULL)
            return SGS_ERR_NOMEM;
    }
    if (e->cfg.op == SGS_OP_SIGN && e->sign_cert != NULL && e->sign_key != NULL &&
        X509_check_private_key(e->sign_cert, e->sign_key) != 1) {
        ERR_clear_error();
        snprintf(e->err, sizeof(e->err), "the signing certificate is not the private key's");
        return SGS_ERR_KEY;
    }
    if (e->cfg.op == SGS_OP_SIGN && e->sign_cert != NULL) {
        const sgs_status tst = sgs_trust_finalize(&e->trust, e->err, sizeof(e->err));
        if (tst != SGS_OK)
            return tst;
        char why[200];
        if (e->sign_key != NULL && !sgs_cms_sign_probe(e->sign_cert, e->sign_key,
                                                       e->trust.untrusted_sk, e->md, e->cfg.pss,
                                                       why, sizeof(why))) {
            /* found before any file is read, not once per file */
            snprintf(e->err, sizeof(e->err), "%s cannot make a CMS signature with this key: %s "
                     "(sign without a certificate for a raw signature file)",
                     OpenSSL_version(OPENSSL_VERSION), why);
            return SGS_ERR_KEY;
        }
    }
    if (e->cfg.op == SGS_OP_SIGN && e->sign_key == NULL) {
        snprintf(e->err, sizeof(e->err), "no signing key");
        return SGS_ERR_STATE;
    }
    if (e->pcache != NULL) { /* the key set is final now: name it for the answers table */
        static const uint8_t none[32];
        sgs_vstore_raw_key(e, NULL, 0, none, e->answer_ctx);
        /* PE, CMS and unsigned records: the version, the policy, the digest reported, the key
           set and all trust material; not with the system's CA bundle, which can change
           unseen */
        EVP_MD_CTX *const c = EVP_MD_CTX_new();
        unsigned int len = 0;
        const int32_t policy[4] = {e->pe_policy.uefi, e->pe_policy.require_all,
                                   e->pe_policy.lenient, e->md_nid};
        e->trust_cacheable = !e->trust.opts.system && c != NULL &&
                          EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
                          EVP_DigestUpdate(c, "sigsweep-records-4 " SGS_VERSION_STRING,
                                           strlen("sigsweep-records-4 " SGS_VERSION_STRING)) == 1 &&
                          EVP_DigestUpdate(c, policy, sizeof(policy)) == 1 &&
                          EVP_DigestUpdate(c, e->keys.id, sizeof(e->keys.id)) == 1 &&
                          sgs_trust_fingerprint(&e->trust, c) &&
                          sgs_trust_fingerprint(&e->tsa, c) &&
                          EVP_DigestFinal_ex(c, e->trust_ctx, &len) == 1;
        EVP_MD_CTX_free(c);
    }
    e->prepared = 1;
    return SGS_OK;
}

sgs_status
sgs_engine_start(sgs_engine *e)
{
    if (e->guarded) {
        snprintf(e->err, sizeof(e->err), "the engine answers a guard (sgs_guard_create)");
        return SGS_ERR_STATE;
    }
    SGS_TRY(sgs_engine_prepare(e));
    const unsigned threads = e->cfg.threads ? e->cfg.threads : online_cpus();
    const size_t depth = e->cfg.queue_depth ? e->cfg.queue_depth : 256u * threads;
    /* the reorder window: twice the queue, so a slow file at the head stalls the walk only
       after every worker has had a queue's worth of later files to do */
    if (sgs_sink_init(&e->sink, &e->alloc, 2 * depth + 2 * sizeof(e->batch) / sizeof(e->batch[0]),
                      emit, e) != SGS_OK)
        return SGS_ERR_NOMEM;
    const sgs_pool_hooks hooks = {worker_init, worker_run, worker_fini, e};
    const sgs_status st = sgs_pool_create(&e->alloc, threads, depth, &hooks, &e->pool);
    if (st != SGS_OK)
        snprintf(e->err, sizeof(e->err), "cannot start %u workers: %s", threads,
                 sgs_status_str(st));
    else
        e->started = 1;
    return st;
}

sgs_status
sgs_engine_exclude(sgs_engine *e, const char *name, uint64_t dev, uint64_t ino)
{
    if (e->started)
        return SGS_ERR_STATE;
    if (e->nexcluded == sizeof(e->excluded) / sizeof(e->excluded[0]) || name == NULL ||
        strlen(name) >= sizeof(e->excluded[0].name))
        return SGS_ERR_INVALID_ARG;
    memcpy(e->excluded[e->nexcluded].name, name, strlen(name) + 1);
    e->excluded[e->nexcluded].dev = dev;
    e->excluded[e->nexcluded++].ino = ino;
    return SGS_OK;
}

/* One of the files sgs_engine_exclude() named (checked by name first: no stat per entry). */
static int
is_excluded(const sgs_engine *e, const sgs_scan_entry *ent)
{
    const char *const base = strrchr(ent->path, '/') != NULL ? strrchr(ent->path, '/') + 1
                                                             : ent->path;
    for (size_t i = 0; i < e->nexcluded; i++) {
        struct stat st;
        if (strcmp(base, e->excluded[i].name) == 0 && lstat(ent->path, &st) == 0 &&
            (uint64_t)st.st_dev == e->excluded[i].dev && (uint64_t)st.st_ino == e->excluded[i].ino)
            return 1;
    }
    return 0;
}

static int on_scanned(void *opaque, const sgs_scan_entry *ent);

/* F is not judged in this run (the run's own report, or sigsweep's own quarantine), so the
   signature files the walk left to F (or that were given for F) are not consumed: each is an
   input of its own (issue 12). A directory of such a name was walked already. 0, or 1 to stop
   the walk. */
static int
queue_unconsumed_signatures(sgs_engine *e, const sgs_scan_entry *ent)
{
    if (e->cfg.op != SGS_OP_VERIFY && e->cfg.op != SGS_OP_DIAGNOSE)
        return 0;
    /* as sgs_engine_submit's skip list: bit s of ent->present is sfx[s] */
    const char *const sfx[3] = {e->suffix, strcmp(e->suffix, ".p7s") != 0 ? ".p7s" : NULL,
                                strcmp(e->suffix, ".minisig") != 0 ? ".minisig" : NULL};
    const size_t plen = strlen(ent->path), at = (size_t)(ent->name - ent->path);
    const int dfd = ent->dir != NULL ? sgs_scan_dir_fd(ent->dir) : -1;
    int rc = 0;
    for (unsigned s = 0; s < 3 && rc == 0; s++) {
        if (sfx[s] == NULL ||
            (ent->present != SGS_SCAN_PRESENT_UNKNOWN && (ent->present & (1u << s)) == 0))
            continue;
        const size_t slen = strlen(sfx[s]);
        char *const sig = sgs_malloc(&e->alloc, plen + slen + 1);
        if (sig == NULL)
            return 1;
        memcpy(sig, ent->path, plen);
        memcpy(sig + plen, sfx[s], slen + 1);
        struct stat st;
        const int there = dfd >= 0 ? fstatat(dfd, sig + at, &st, AT_SYMLINK_NOFOLLOW) == 0
                                   : lstat(sig, &st) == 0;
        if (there && !S_ISDIR(st.st_mode)) {
            sgs_scan_entry own = *ent;
            own.path = sig;
            own.name = sig + at;
            own.kind = S_ISREG(st.st_mode)   ? SGS_SCAN_FILE
                       : S_ISLNK(st.st_mode) ? SGS_SCAN_SYMLINK
                                             : SGS_SCAN_SPECIAL;
            own.errno_value = 0;
            own.present = SGS_SCAN_PRESENT_UNKNOWN;
            rc = on_scanned(e, &own);
        }
        sgs_free(&e->alloc, sig);
    }
    return rc;
}

static int
on_scanned(void *opaque, const sgs_scan_entry *ent)
{
    sgs_engine *const e = opaque;
    const char *const path = ent->path;
    if (atomic_load_explicit(&e->cancelled, memory_order_relaxed))
        return 1; /* stop the walk */
    if (!sgs_engine_in_shard(e, sgs_engine_shard_rel(e, path)))
        return 0; /* another shard's: no job, nothing opened (fleet.c) */
    if (e->nexcluded > 0 && is_excluded(e, ent))
        return queue_unconsumed_signatures(e, ent); /* the run's own report */
    if (sgs_enforce_own_quarantine(e, ent))
        return queue_unconsumed_signatures(e, ent); /* enforcing: sigsweep's own quarantine */
    job *const j = sgs_job_create(e, path, (size_t)(ent->name - ent->path));
    if (j == NULL)
        return 1;
    j->kind = ent->kind;
    j->errno_value = ent->errno_value;
    j->present = ent->present;
    j->dir_dev = ent->dir_dev;
    j->dir_ino = ent->dir_ino;
    j->dir = sgs_scan_dir_retain(ent->dir);
    sgs_engine_queue(e, j);
    return 0;
}

job *
sgs_job_create(sgs_engine *e, const char *path, size_t name_at)
{
    static const char p7s[] = ".p7s", minisig[] = ".minisig";
    const size_t plen = strlen(path), slen = strlen(e->suffix);
    job *const j = sgs_calloc(&e->alloc, 1, sizeof(job) + 4 * plen + slen + sizeof(p7s) +
                                                sizeof(minisig) + 2);
    if (j == NULL)
        return NULL;
    j->kind = SGS_SCAN_FILE;
    j->present = SGS_SCAN_PRESENT_UNKNOWN;
    j->name_at = name_at;
    j->listed = NULL;
    memcpy(j->path, path, plen + 1);
    j->sig_path = j->path + plen + 1;
    memcpy(j->sig_path, path, plen);
    memcpy(j->sig_path + plen, e->suffix, slen + 1);
    j->p7s_path = NULL;
    if ((e->cfg.op != SGS_OP_SIGN || e->sign_cert != NULL) && strcmp(e->suffix, p7s) != 0) {
        j->p7s_path = j->sig_path + plen + slen + 1;
        memcpy(j->p7s_path, path, plen);
        memcpy(j->p7s_path + plen, p7s, sizeof(p7s));
    }
    j->minisig_path = NULL; /* minisign: judge_edsig.c */
    if (e->cfg.op == SGS_OP_VERIFY || e->cfg.op == SGS_OP_DIAGNOSE) {
        if (strcmp(e->suffix, minisig) == 0) {
            j->minisig_path = j->sig_path;
        } else {
            j->minisig_path = j->sig_path + plen + slen + 1 + plen + sizeof(p7s);
            memcpy(j->minisig_path, path, plen);
            memcpy(j->minisig_path + plen, minisig, sizeof(minisig));
        }
    }
    return j;
}

void
sgs_engine_flush(sgs_engine *e)
{
    if (e->nbatch > 0)
        sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
    e->nbatch = 0;
}

void
sgs_engine_queue(sgs_engine *e, job *j)
{
    if (e->nbatch > 0 && !sgs_sink_has_room(&e->sink))
        sgs_engine_flush(e); /* the head the ticket waits for may be in this batch */
    j->seq = sgs_sink_ticket(&e->sink);
    e->batch[e->nbatch++] = j;
    if (e->nbatch == sizeof(e->batch) / sizeof(e->batch[0]))
        sgs_engine_flush(e);
}

sgs_status
sgs_engine_ready(sgs_engine *e)
{
    if (!e->started)
        SGS_TRY(sgs_engine_start(e));
    if (e->finished) {
        snprintf(e->err, sizeof(e->err), "the engine has finished");
        return SGS_ERR_STATE;
    }
    return SGS_OK;
}

void
sgs_engine_cancel(sgs_engine *e)
{
    if (e != NULL)
        atomic_store_explicit(&e->cancelled, 1, memory_order_relaxed);
}

sgs_status
sgs_engine_submit(sgs_engine *e, const char *path)
{
    e->err[0] = '\0';
    if (atomic_load_explicit(&e->cancelled, memory_order_relaxed))
        return SGS_OK; /* stopping: nothing more is walked */
    if (e->cfg.op == SGS_OP_AGENTS || e->cfg.op == SGS_OP_PACKAGE) {
        snprintf(e->err, sizeof(e->err), "%s", e->cfg.op == SGS_OP_AGENTS
                                                   ? "agents are queued with submit_agent/fleet"
                                                   : "packages are queued with submit_package");
        return SGS_ERR_STATE;
    }
    SGS_TRY(sgs_engine_ready(e));
    /* Signatures are not inputs, except when hashing a package (its .sig files are content). */
    const char *const skip[3] = {e->suffix,
                                 e->cfg.op != SGS_OP_SIGN || e->sign_cert ? ".p7s" : NULL,
                                 e->cfg.op != SGS_OP_SIGN || e->sign_cert ? ".minisig" : NULL};
    e->walk_root = path;
    const int rc = sgs_scan_inputs(path, skip, e->cfg.op == SGS_OP_HASH ? 0 : 3, on_scanned, e);
    e->walk_root = NULL;
    sgs_engine_flush(e); /* records flow before submit returns */
    if (rc != 0 && !atomic_load_explicit(&e->cancelled, memory_order_relaxed)) {
        snprintf(e->err, sizeof(e->err), "%s: out of memory while queueing", path);
        return SGS_ERR_NOMEM;
    }
    return SGS_OK;
}

/* Every record out: the queue drained, then the held ones with their outcome. */
static void
finish_run(sgs_engine *e)
{
    if (e->pool != NULL)
        sgs_pool_join(e->pool);
    if (e->pool != NULL && !e->finished && e->sink.nheld > 0) {
        sgs_enforce_decide(e);
    }
    e->finished = 1;
}

sgs_status
sgs_engine_finish(sgs_engine *e)
{
    finish_run(e);
    return SGS_OK;
}

const char *
sgs_engine_breaker(const sgs_engine *e)
{
    return e != NULL ? e->breaker : "";
}

void
sgs_engine_stats(const sgs_engine *e, sgs_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->files = atomic_load_explicit(&e->files, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&e->bytes, memory_order_relaxed);
    out->cache_hits = atomic_load_explicit(&e->cache_hits, memory_order_relaxed);
    out->verifications = atomic_load_explicit(&e->verifications, memory_order_relaxed);
    out->quarantined = atomic_load_explicit(&e->quarantined, memory_order_relaxed);
    out->signatures_kept = atomic_load_explicit(&e->signatures_kept, memory_order_relaxed);
    out->interrupted = (uint64_t)atomic_load_explicit(&e->cancelled, memory_order_relaxed);
    out->quarantine_refused = atomic_load_explicit(&e->quarantine_refused, memory_order_relaxed);
    out->quarantine_failed = e->journal != NULL ? sgs_journal_failures(e->journal) : 0;
    if (e->pcache != NULL) {
        sgs_pcache_use u;
        sgs_pcache_usage(e->pcache, &u);
        out->pcache_digest_hits = u.digest_hits;
        out->pcache_verdict_hits = u.verdict_hits;
    }
    for (unsigned i = 0; i < SGS_VERDICT_COUNT; i++)
        out->verdicts[i] = atomic_load_explicit(&e->verdicts[i], memory_order_relaxed);
}

void
sgs_engine_free(sgs_engine *e)
{
    if (e == NULL)
        return;
    if (e->pool != NULL && !e->finished) { /* an abandoned run: nothing is renamed */
        atomic_store_explicit(&e->cancelled, 1, memory_order_relaxed);
        finish_run(e); /* every queued job is delivered first */
    }
    sgs_pool_free(e->pool);
    sgs_journal_close(e->journal);
    sgs_free(&e->alloc, e->quarantined_ids);
    sgs_pcache_close(e->pcache);
    sgs_cache_free(e->cache);
    sgs_keyset_reset(&e->keys);
    sgs_edkeys_reset(&e->minisign_keys);
    sgs_edkeys_reset(&e->signify_keys);
    sgs_trust_reset(&e->trust);
    sgs_trust_reset(&e->tsa);
    for (unsigned i = 0; i < SGS_HASH_COUNT; i++)
        EVP_MD_free(e->fetched[i]);
    sgs_certset_cache_free(e->certsets);
    sgs_agents_free(e->agents);
    sgs_manifest_free(e->manifest);
    if (e->pkg_rootfd >= 0)
        close(e->pkg_rootfd);
    if (e->pkg_manifest_fd >= 0)
        close(e->pkg_manifest_fd);
    sgs_free(&e->alloc, e->pkg_root);
    sgs_free(&e->alloc, e->pkg_manifest);
    sgs_free(&e->alloc, e->pkg_manifest_rel);
    for (size_t i = 0; i < e->pkg_nignore; i++)
        sgs_free(&e->alloc, e->pkg_ignore[i]);
    sgs_free(&e->alloc, e->pkg_ignore);
    EVP_PKEY_free(e->sign_key);
    X509_free(e->sign_cert);
    sgs_sink_reset(&e->sink);
    const sgs_allocator a = e->alloc;
    sgs_free(&a, e->suffix);
    sgs_free(&a, e);
}
