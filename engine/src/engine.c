/*
 * engine.c - the run: configuration, keys, the walk, the workers and the one record sink.
 *
 * DESIGN (data flow, one pass):
 *
 *   submit(path) ─► scan (walk) ─► job ─► pool ring ─► worker:
 *        open F (O_NOFOLLOW|O_NONBLOCK) ─► fstat ─► read F<suffix> ─► pick candidate keys by the
 *        signature's shape ─► hash F once (EVP, per-thread ctx) ─► fstat again ─► result cache
 *        ─► verify on a miss ─► record ─► sink (mutex: one writer) ─► on_record()
 *
 * Every record starts as a failure and becomes VALID in exactly one place, after the last
 * check (finish_verified). The signature is read before the file so that a file without one
 * costs no read. All state is in sgs_engine; workers own their digest context and buffers.
 */
#include "agents.h"
#include "alloc.h"
#include "authenticode.h"
#include "cache.h"
#include "cms.h"
#include "digest.h"
#include "err.h"
#include "keys.h"
#include "manifest.h"
#include "pcache.h"
#include "pe.h"
#include "pool.h"
#include "quarantine.h"
#include "scan.h"
#include "trust.h"
#include "verify.h"

#include <assert.h>
#include <dirent.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIG_FILE_MAX (1024u * 1024u) /* a CMS signature with its certificates; raw ones are < 1 KiB */
#define READ_BUF_SIZE (64u * 1024u)
#define KEEP_RELEASE_ABOVE (16u * 1024u * 1024u)
#define REASON_MAX 1024
#define PACKAGE_WALK (-2) /* job.entry of the package's extra-file walk */

typedef struct job {
    sgs_scan_kind kind;
    int errno_value;
    const char *agent; /* SGS_OP_AGENTS: the agent id, in the same allocation; else NULL */
    long entry;        /* SGS_OP_PACKAGE: index of the manifest entry; else -1 */
    char *sig_path; /* F<suffix>; points into path's allocation */
    char *p7s_path; /* F.p7s, or NULL when the suffix is ".p7s" itself */
    unsigned present; /* the walk saw F<suffix> (bit 0), F.p7s (bit 1) beside F; or
                         SGS_SCAN_PRESENT_UNKNOWN */
    dev_t dir_dev;    /* the directory the walk listed F in (0, 0: a path given) */
    ino_t dir_ino;
    sgs_scan_dir *dir; /* that directory, open (a reference): F, F<suffix> and F.p7s are
                          opened and stat'ed through it, by name; NULL: by path */
    size_t name_at;    /* where F's name starts in path (and in sig_path, p7s_path) */
    char path[];
} job;

typedef struct worker {
    sgs_digest_ctx dc;
    uint8_t *sig; /* SIG_FILE_MAX bytes */
    char signer_hex[SGS_FP_HEX_LEN];
    char chain[2048];
    char reason[REASON_MAX];
    char alg[64];
    char digest_hex[SGS_DIGEST_HEX_MAX];
    EVP_PKEY_CTX **verifiers; /* per key, made on first use; NULL for Ed25519 keys */
    sgs_pcache_reader *reader; /* --cache: this worker's read transaction */
    struct stat sig_st;        /* fstat of the signature last read */
    int sig_st_valid;
    size_t nverifiers;
    /* PE files (made on the first one) */
    sgs_pe_hasher *pe;
    sgs_ac_file *ac;
    uint8_t *pe_head, *pe_table; /* the headers as read, the certificate table as read */
    size_t pe_head_cap, pe_table_cap;
    sgs_sig_line lines[SGS_AC_MAX_SIGS];
    char image_hash[32];
    uint8_t *rec_buf; /* --cache: a record, as stored (SGS_PCACHE_RECORD_MAX bytes) */
    int ok; /* init succeeded */
} worker;

struct sgs_engine {
    sgs_config cfg;
    sgs_allocator alloc;
    char *suffix;
    const EVP_MD *md;
    EVP_MD *fetched[SGS_HASH_COUNT]; /* fetched once: a legacy EVP_MD costs a provider fetch,
                                        with its locks, at every EVP_DigestInit_ex */
    int md_nid; /* hash nid and padding, as one cache tag */
    sgs_keyset keys;
    sgs_trust trust;
    sgs_trust tsa;      /* --tsa-trust: timestamp authorities */
    sgs_ac_policy pe_policy;
    sgs_certset_cache *certsets; /* parsed certificates of CMS signatures, by their bytes */
    sgs_agents *agents;          /* SGS_OP_AGENTS */
    /* SGS_OP_PACKAGE */
    char *pkg_root;              /* without trailing slashes */
    int pkg_rootfd;
    char *pkg_manifest;
    char *pkg_manifest_rel;      /* the manifest's path under the root, or NULL */
    uint8_t *pkg_bytes;          /* the manifest as read once */
    size_t pkg_len;
    sgs_manifest manifest;
    sgs_verdict pkg_verdict;
    char pkg_reason[1024];
    int pkg_checked;
    _Atomic int no_openat2;      /* the kernel lacks openat2: walk components instead */
    char **pkg_ignore;           /* copies of the --ignore patterns */
    size_t pkg_nignore;
    int trust_material; /* any sgs_engine_add_certs() or trust_system */
    EVP_PKEY *sign_key;
    sgs_key sign_desc;
    X509 *sign_cert; /* set: `sign` writes CMS (F.p7s) instead of a raw signature */
    sgs_cache *cache;
    sgs_pool *pool;
    int started, finished;
    void *batch[128]; /* jobs found by the walk, queued together (controlling thread only) */
    size_t nbatch;
    pthread_mutex_t sink_mu;
    _Atomic uint64_t files, bytes, cache_hits, verifications, quarantined;
    sgs_journal *journal; /* --quarantine */
    sgs_pcache *pcache;   /* --cache */
    uint8_t answer_ctx[32]; /* what a raw verdict depends on besides the two files (set at start) */
    uint8_t trust_ctx[32]; /* what a PE or CMS judgement depends on besides the files */
    int trust_cacheable;   /* --cache, and no trust material outside sigsweep's sight */
    char notice[512];
    int journal_failed;   /* the journal could not be opened: start() refuses to run */
    _Atomic uint64_t verdicts[SGS_VERDICT_COUNT];
    char err[512];
};

void
sgs_config_init(sgs_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->op = SGS_OP_VERIFY;
    cfg->hash = SGS_HASH_SHA256;
    cfg->sig_suffix = ".sig";
    cfg->cache_entries = 16384;
    cfg->max_whole_file = 256u * 1024u * 1024u;
}

sgs_status
sgs_engine_create(const sgs_config *cfg, sgs_engine **out)
{
    *out = NULL;
    if (cfg == NULL || cfg->on_record == NULL || (unsigned)cfg->hash >= SGS_HASH_COUNT ||
        (unsigned)cfg->op > SGS_OP_PACKAGE || cfg->sig_suffix == NULL ||
        cfg->sig_suffix[0] == '\0' || strchr(cfg->sig_suffix, '/') != NULL ||
        cfg->threads > 1024 || cfg->cache_entries > SGS_CACHE_MAX_ENTRIES ||
        cfg->max_whole_file == 0 ||
        (cfg->alloc.malloc_fn == NULL) != (cfg->alloc.free_fn == NULL))
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
    sgs_trust_init(&e->trust, &e->alloc);
    e->trust.system = cfg->trust_system != 0;
    e->trust.codesign = cfg->require_codesign != 0;
    e->trust.strict = cfg->strict != 0;
    e->trust.has_time = cfg->has_at_time != 0;
    e->trust.at_time = cfg->at_time;
    e->trust.partial_chain = cfg->partial_chain != 0;
    e->trust.no_time_check = cfg->no_time_check != 0;
    sgs_trust_init(&e->tsa, &e->alloc);
    e->tsa.has_time = cfg->has_at_time != 0;
    e->tsa.at_time = cfg->at_time;
    e->pe_policy.uefi = cfg->pe_uefi != 0;
    e->pe_policy.require_all = cfg->pe_require_all != 0;
    e->pe_policy.lenient = cfg->pe_lenient != 0;
    e->trust_material = cfg->trust_system != 0;
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
        if (cfg->has_at_time)
            sgs_agents_set_time(e->agents, cfg->at_time);
    }
    if (cfg->cache_dir != NULL && cfg->op == SGS_OP_VERIFY) {
        char why[512];
        e->pcache = sgs_pcache_open(&e->alloc, cfg->cache_dir, e->notice, sizeof(e->notice), why,
                                    sizeof(why));
        if (e->pcache == NULL) /* a cache only ever costs speed: run without it, say so */
            snprintf(e->notice, sizeof(e->notice), "running without the cache: %.400s", why);
    }
    if (cfg->quarantine_journal != NULL && cfg->op == SGS_OP_VERIFY) {
        char why[512];
        e->journal = sgs_journal_open(&e->alloc, cfg->quarantine_journal, why, sizeof(why));
        if (e->journal == NULL) {
            /* the caller learns why through sgs_engine_error() only on a live engine: keep it */
            snprintf(e->err, sizeof(e->err), "%s", why);
            e->cfg.quarantine_journal = NULL;
            e->journal_failed = 1;
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
    e->pkg_verdict = SGS_V_MALFORMED;
    sgs_manifest_init(&e->manifest, &e->alloc);
    pthread_mutex_init(&e->sink_mu, NULL);
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

/* Adds every regular file of a directory (not recursive), in name order. */
static sgs_status
add_key_dir(sgs_engine *e, const char *dir)
{
    char **names = NULL;
    size_t n = 0;
    const int rc = sgs_list_dir(&e->alloc, dir, 1, 0, &names, &n);
    if (rc != 0) {
        snprintf(e->err, sizeof(e->err), "%s: %s", dir, strerror(rc));
        return rc == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
    }
    sgs_status st = SGS_OK;
    if (n == 0) {
        snprintf(e->err, sizeof(e->err), "%s: no key files in the directory", dir);
        st = SGS_ERR_KEY;
    }
    for (size_t i = 0; i < n && st == SGS_OK; i++)
        if (!is_dir(names[i]))
            st = sgs_keyset_add_file(&e->keys, names[i], e->err, sizeof(e->err));
    sgs_list_free(&e->alloc, names, n);
    return st;
}

sgs_status
sgs_engine_add_key(sgs_engine *e, const char *path)
{
    e->err[0] = '\0';
    if (e->started) {
        snprintf(e->err, sizeof(e->err), "keys must be added before the first submit");
        return SGS_ERR_STATE;
    }
    const sgs_status st = is_dir(path) ? add_key_dir(e, path)
                                       : sgs_keyset_add_file(&e->keys, path, e->err,
                                                             sizeof(e->err));
    sgs_keyset_finalize(&e->keys);
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

static sgs_status
agents_only(sgs_engine *e)
{
    e->err[0] = '\0';
    if (e->agents == NULL) {
        snprintf(e->err, sizeof(e->err), "not an agents engine (cfg.op = SGS_OP_AGENTS)");
        return SGS_ERR_STATE;
    }
    if (e->started) {
        snprintf(e->err, sizeof(e->err), "set before the first submit");
        return SGS_ERR_STATE;
    }
    return SGS_OK;
}

sgs_status
sgs_engine_set_server_key(sgs_engine *e, const char *path)
{
    SGS_TRY(agents_only(e));
    return sgs_agents_set_server(e->agents, path, e->err, sizeof(e->err));
}

sgs_status
sgs_engine_add_known_key(sgs_engine *e, const char *path)
{
    SGS_TRY(agents_only(e));
    return sgs_agents_add_known(e->agents, path, e->err, sizeof(e->err));
}

sgs_status
sgs_engine_set_command(sgs_engine *e, const char *message, const char *signature)
{
    SGS_TRY(agents_only(e));
    return sgs_agents_set_command(e->agents, message, signature, e->md, e->cfg.pss, e->err,
                                  sizeof(e->err));
}

/* ---- records ------------------------------------------------------------------------- */

/* The one writer. A record nobody judged (SGS_V_UNJUDGED, the zero value) or one with a value
   out of range is a programmer error: assert in debug builds, and fail closed in release
   builds (an internal error, never VALID). */
static void
deliver(sgs_engine *e, const sgs_record *rec)
{
    sgs_record fixed;
    assert(rec->verdict != SGS_V_UNJUDGED && (unsigned)rec->verdict < SGS_VERDICT_COUNT);
    if (rec->verdict == SGS_V_UNJUDGED || (unsigned)rec->verdict >= SGS_VERDICT_COUNT) {
        fixed = *rec;
        fixed.verdict = SGS_V_IO_ERROR;
        fixed.reason = "internal error: the record was never judged";
        rec = &fixed;
    }
    pthread_mutex_lock(&e->sink_mu);
    atomic_fetch_add_explicit(&e->verdicts[rec->verdict], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->files, 1, memory_order_relaxed);
    e->cfg.on_record(e->cfg.opaque, rec);
    pthread_mutex_unlock(&e->sink_mu);
}

static void
say(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
}

static const char *
file_type_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

/* fstat's an opened input. A regular file: its size goes into rec, returns 1. Otherwise the
   verdict is set (IO_ERROR, or SKIPPED naming the type: "<type>, not a regular file", or
   "<subject> is <type>" when subject is given), fd is closed, returns 0. */
static int
stat_regular(int fd, worker *w, sgs_record *rec, struct stat *sb, const char *subject)
{
    if (fstat(fd, sb) != 0) {
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "fstat: %s", strerror(errno));
        close(fd);
        return 0;
    }
    if (!S_ISREG(sb->st_mode)) {
        rec->verdict = SGS_V_SKIPPED;
        if (subject != NULL)
            say(w, "%s is %s", subject, file_type_name(sb->st_mode));
        else
            say(w, "%s, not a regular file", file_type_name(sb->st_mode));
        close(fd);
        return 0;
    }
    rec->size = (uint64_t)sb->st_size;
    rec->has_size = 1;
    return 1;
}

/* Opens the input. Returns the fd, or -1 with rec verdict and reason set. */
/* A file of the job (F, F<suffix>, F.p7s: `full` is its path), through the directory the
   walk listed when there is one (openat/fstatat by name), else by path. */
static int
job_open(const job *j, const char *full)
{
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    return j->dir != NULL ? openat(sgs_scan_dir_fd(j->dir), full + j->name_at, flags)
                          : open(full, flags);
}

static int
job_lstat(const job *j, const char *full, struct stat *sb)
{
    return j->dir != NULL
               ? fstatat(sgs_scan_dir_fd(j->dir), full + j->name_at, sb, AT_SYMLINK_NOFOLLOW)
               : lstat(full, sb);
}

static int
open_input(const job *j, worker *w, sgs_record *rec, struct stat *sb)
{
    switch (j->kind) {
    case SGS_SCAN_SYMLINK:
        rec->verdict = SGS_V_SKIPPED;
        say(w, "symbolic link (not followed)");
        return -1;
    case SGS_SCAN_SPECIAL:
        rec->verdict = SGS_V_SKIPPED;
        say(w, "not a regular file");
        return -1;
    case SGS_SCAN_MISSING:
        rec->verdict = SGS_V_MISSING_FILE;
        say(w, "no such file");
        return -1;
    case SGS_SCAN_ERROR:
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "cannot examine: %s", strerror(j->errno_value));
        return -1;
    case SGS_SCAN_FILE:
        break;
    }
    const int fd = job_open(j, j->path);
    if (fd < 0) {
        const int err = errno;
        rec->verdict = err == ENOENT ? SGS_V_MISSING_FILE
                       : err == ELOOP ? SGS_V_SKIPPED
                                      : SGS_V_IO_ERROR;
        say(w, "%s", err == ENOENT ? "no such file"
                     : err == ELOOP ? "symbolic link (not followed)"
                                    : strerror(err));
        return -1;
    }
    return stat_regular(fd, w, rec, sb, NULL) ? fd : -1;
}

/* Reads a detached signature into w->sig. Returns its length, or 0 with the verdict set;
   *absent is set when the file does not exist. */
static size_t
read_signature(const job *j, const char *sig_path, worker *w, sgs_record *rec, int *absent)
{
    w->sig_st_valid = 0;
    *absent = 0;
    const int fd = job_open(j, sig_path);
    if (fd < 0) {
        const int err = errno;
        *absent = err == ENOENT;
        rec->verdict = err == ENOENT ? SGS_V_NO_SIGNATURE
                       : err == ELOOP ? SGS_V_MALFORMED
                                      : SGS_V_IO_ERROR;
        if (err == ENOENT)
            say(w, "no signature file %s", sig_path);
        else if (err == ELOOP)
            say(w, "signature %s is a symbolic link (not followed)", sig_path);
        else
            say(w, "signature %s: %s", sig_path, strerror(err));
        return 0;
    }
    struct stat sb;
    size_t got = 0;
    if (fstat(fd, &sb) != 0) {
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "signature %s: fstat: %s", sig_path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rec->verdict = SGS_V_MALFORMED;
        say(w, "signature %s is %s", sig_path, file_type_name(sb.st_mode));
        goto out;
    }
    w->sig_st = sb;
    if (sb.st_size == 0 || sb.st_size > (off_t)SIG_FILE_MAX) {
        rec->verdict = SGS_V_MALFORMED;
        if (sb.st_size == 0)
            say(w, "signature %s is empty", sig_path);
        else
            say(w, "signature %s is larger than %u bytes", sig_path, SIG_FILE_MAX);
        goto out;
    }
    const size_t size = (size_t)sb.st_size;
    while (got < size) {
        const ssize_t n = read(fd, w->sig + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rec->verdict = SGS_V_IO_ERROR;
            say(w, "signature %s: %s", sig_path, strerror(errno));
            got = 0;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        rec->verdict = SGS_V_CHANGED;
        say(w, "signature %s changed while being read", sig_path);
        got = 0;
    } else {
        w->sig_st_valid = 1;
    }
out:
    close(fd);
    return got;
}

static const char *
digest_problem(sgs_digest_result r, const sgs_digest_out *d, sgs_record *rec, worker *w)
{
    switch (r) {
    case SGS_DIGEST_OK:
        return NULL;
    case SGS_DIGEST_IO_ERROR:
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "read: %s", strerror(d->errno_value));
        break;
    case SGS_DIGEST_CHANGED:
        rec->verdict = SGS_V_CHANGED;
        say(w, "%s", d->change);
        break;
    case SGS_DIGEST_TOO_LARGE:
        rec->verdict = SGS_V_UNSUPPORTED;
        say(w, "file too large to keep in memory");
        break;
    case SGS_DIGEST_NOMEM:
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "out of memory");
        break;
    case SGS_DIGEST_CRYPTO:
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "libcrypto digest failure");
        break;
    }
    return w->reason;
}

/* The persistent cache's content key: SHA-256 over a version tag, the key set's id, the hash
   and padding, the file's digest and the signature bytes. Everything a raw verdict depends on,
   and nothing machine-specific: keys are portable (export/import). */
static void
verdict_key_hash(const sgs_engine *e, const uint8_t *digest, size_t dlen,
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

static void
verdict_key_digest(const sgs_engine *e, const worker *w, const uint8_t *digest, size_t dlen,
                   size_t siglen, uint8_t key[32])
{
    uint8_t sighash[32];
    unsigned int len = 0;
    if (EVP_Digest(w->sig, siglen, sighash, &len, EVP_sha256(), NULL) != 1)
        memset(sighash, 0, sizeof(sighash));
    verdict_key_hash(e, digest, dlen, sighash, key);
}

/* A cached verdict into the record. Returns it. */
static sgs_verdict
use_cached_verdict(worker *w, sgs_record *rec, const sgs_pcache_verdict *pv,
                   const char *sig_path)
{
    snprintf(w->alg, sizeof(w->alg), "%s", pv->alg);
    rec->alg = w->alg;
    if (pv->verdict != SGS_V_VALID) {
        say(w, "signature %s does not verify (persistent cache)", sig_path);
        return (sgs_verdict)pv->verdict;
    }
    memcpy(w->signer_hex, pv->signer, sizeof(w->signer_hex));
    rec->signer = w->signer_hex;
    say(w, "signature verified (%s; persistent cache)", pv->alg);
    return SGS_V_VALID;
}

/* The whole answer for this file and signature file, for the warm path (cache_warm). */
static void
remember_answer(const sgs_engine *e, const worker *w, const struct stat *sb,
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

/* Raw signature (openssl dgst / pkeyutl): candidate keys by shape, hash once, cache, verify. */
static sgs_verdict
verify_raw(sgs_engine *e, worker *w, const job *j, int fd, const struct stat *sb,
           const char *sig_path, size_t siglen, sgs_record *rec)
{
    if (e->keys.count == 0) {
        say(w, "%s is a raw signature, but no public key was given (--key)", sig_path);
        return SGS_V_UNTRUSTED;
    }
    /* Candidate keys: those whose signature shape matches (RSA: modulus size; Ed25519: 64
       bytes; ECDSA: strict DER). A signature no key could have made is malformed, not bad. */
    size_t last = 0;
    int need_whole = 0;
    const size_t candidates = sgs_detached_candidates(&e->keys, w->sig, siglen, &last,
                                                      &need_whole);
    if (candidates == 0) {
        say(w, "signature %s (%zu bytes) has the shape of no signature the %zu key(s) make",
            sig_path, siglen, e->keys.count);
        return SGS_V_MALFORMED;
    }
    if (candidates == 1)
        rec->alg = sgs_key_alg_name(&e->keys.keys[last], sgs_hash_name(e->cfg.hash), e->cfg.pss, w->alg,
                            sizeof(w->alg));

    /* Persistent cache: the stat tuple names the digest (no read), and the content key names
       the verdict. Only a verdict hit avoids reading the file: a verification needs its bytes
       (Ed25519) or at least the digest we then have. */
    uint8_t vkey[32];
    const int pc = e->pcache != NULL;
    if (pc && !e->cfg.paranoid) {
        sgs_digest_out cd;
        sgs_pcache_verdict pv;
        if (sgs_pcache_get_digest(e->pcache, w->reader, sb, e->md_nid, cd.md, &cd.md_len) &&
            (verdict_key_digest(e, w, cd.md, cd.md_len, siglen, vkey),
             sgs_pcache_get_verdict(e->pcache, w->reader, vkey, &pv))) {
            sgs_hex(cd.md, cd.md_len, w->digest_hex);
            rec->digest = w->digest_hex;
            remember_answer(e, w, sb, &pv, cd.md, cd.md_len);
            return use_cached_verdict(w, rec, &pv, sig_path);
        }
    }
    sgs_digest_out d;
    const uint64_t keep_max = need_whole ? e->cfg.max_whole_file : 0;
    const sgs_digest_result dr = sgs_digest_fd(&w->dc, fd, e->md, sb, keep_max, &d);
    if (dr == SGS_DIGEST_TOO_LARGE) {
        say(w, "Ed25519 signs the whole file, and files over %llu bytes are not supported",
            (unsigned long long)e->cfg.max_whole_file);
        return SGS_V_UNSUPPORTED;
    }
    if (digest_problem(dr, &d, rec, w) != NULL)
        return rec->verdict;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;

    if (pc && !e->cfg.paranoid) { /* the file had to be read, but its verdict may be known */
        sgs_pcache_verdict pv;
        verdict_key_digest(e, w, d.md, d.md_len, siglen, vkey);
        if (sgs_pcache_get_verdict(e->pcache, w->reader, vkey, &pv)) {
            sgs_pcache_put_digest(e->pcache, sb, e->md_nid, d.md, d.md_len);
            remember_answer(e, w, sb, &pv, d.md, d.md_len);
            return use_cached_verdict(w, rec, &pv, sig_path);
        }
    }
    sgs_cache_value cv = {SGS_V_BAD_SIGNATURE, -1};
    if (e->cache != NULL &&
        sgs_cache_lookup(e->cache, e->keys.id, e->md_nid, d.md, d.md_len, w->sig, siglen, &cv)) {
        atomic_fetch_add_explicit(&e->cache_hits, 1, memory_order_relaxed);
    } else {
        sgs_detached dv = {w->sig, siglen, w->dc.keep, (size_t)d.bytes, d.md, d.md_len,
                           {NULL, 0, NULL, 0}, w->verifiers};
        sgs_sig_params_init(&dv.params, e->md, e->cfg.pss);
        uint64_t tried = 0;
        cv.key_index = (int32_t)sgs_detached_verify(&e->keys, &dv, &tried);
        cv.verdict = cv.key_index >= 0 ? SGS_V_VALID : SGS_V_BAD_SIGNATURE;
        atomic_fetch_add_explicit(&e->verifications, tried, memory_order_relaxed);
        if (e->cache != NULL)
            sgs_cache_insert(e->cache, e->keys.id, e->md_nid, d.md, d.md_len, w->sig, siglen, &cv);
    }
    if (pc) {
        sgs_pcache_put_digest(e->pcache, sb, e->md_nid, d.md, d.md_len);
        sgs_pcache_verdict pv;
        memset(&pv, 0, sizeof(pv));
        pv.verdict = cv.key_index >= 0 && cv.verdict == SGS_V_VALID ? SGS_V_VALID
                                                                     : SGS_V_BAD_SIGNATURE;
        if (pv.verdict == SGS_V_VALID) {
            const sgs_key *const k = &e->keys.keys[cv.key_index];
            memcpy(pv.signer, k->fp_hex, sizeof(pv.signer));
            sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, pv.alg, sizeof(pv.alg));
        }
        verdict_key_digest(e, w, d.md, d.md_len, siglen, vkey);
        sgs_pcache_put_verdict(e->pcache, vkey, &pv);
        remember_answer(e, w, sb, &pv, d.md, d.md_len);
    }
    if (cv.key_index < 0 || cv.verdict != SGS_V_VALID) {
        say(w, "signature %s does not verify with %s", sig_path,
            candidates == 1 ? "the key of its shape" : "any of the keys of its shape");
        return SGS_V_BAD_SIGNATURE;
    }
    const sgs_key *const signer = &e->keys.keys[cv.key_index];
    rec->alg = sgs_key_alg_name(signer, sgs_hash_name(e->cfg.hash), e->cfg.pss, w->alg, sizeof(w->alg));
    rec->signer = signer->fp_hex;
    say(w, "signature verified (%s)", rec->alg);
    (void)j;
    return SGS_V_VALID;
}

/* CMS SignedData: parse first (it names the digests), hash once into them, verify, chain. */
static void remember_record(sgs_engine *e, worker *w, const struct stat *sb,
                            const struct stat *sig, const sgs_check_window *win, sgs_verdict v,
                            const sgs_record *rec);

/* A CMS signature (F.p7s, or F<suffix> holding CMS; w->sig_st its stat) over the file: its
   judgement is remembered under both files' identities. */
static sgs_verdict
verify_cms(sgs_engine *e, worker *w, int fd, const struct stat *sb, size_t siglen,
           sgs_record *rec)
{
    sgs_cms_job cj;
    sgs_verdict v = SGS_V_MALFORMED;
    if (!sgs_cms_prepare(w->sig, siglen, e->certsets, &cj, &v, w->reason, sizeof(w->reason)))
        return v;
    sgs_digest_out d;
    const sgs_digest_result dr =
        sgs_digest_fd_also(&w->dc, fd, e->md, sb, 0, cj.ctxs, cj.nctx, &d);
    if (digest_problem(dr, &d, rec, w) != NULL) {
        sgs_cms_job_reset(&cj);
        return rec->verdict;
    }
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->verifications, 1, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    w->signer_hex[0] = '\0';
    w->alg[0] = '\0';
    sgs_cms_verify(&cj, &e->trust, &v, w->reason, sizeof(w->reason), w->alg, sizeof(w->alg),
                   w->signer_hex);
    memcpy(w->chain, cj.chain_dns, sizeof(w->chain));
    rec->chain = w->chain;
    rec->alg = w->alg; /* set once the signature verified, even if its chain did not */
    rec->signer = w->signer_hex;
    if (w->sig_st_valid && e->cfg.op == SGS_OP_VERIFY)
        remember_record(e, w, sb, &w->sig_st, &cj.win, v, rec);
    sgs_cms_job_reset(&cj);
    return v;
}

typedef struct cert_collect {
    X509 *leaf;
    STACK_OF(X509) *rest;
} cert_collect;

static sgs_status
collect_cert(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    cert_collect *const c = opaque;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (x == NULL)
        return SGS_OK;
    if (c->leaf == NULL) {
        c->leaf = x;
        return SGS_OK;
    }
    if (c->rest == NULL && (c->rest = sk_X509_new_null()) == NULL) {
        X509_free(x);
        return SGS_ERR_NOMEM;
    }
    if (!sk_X509_push(c->rest, x)) {
        X509_free(x);
        return SGS_ERR_NOMEM;
    }
    return SGS_OK;
}

/* trust diagnose: a file without a signature that is a certificate (PEM/DER; the first one is
   the leaf, the others help build its chain) is judged as that certificate's chain.
   Returns 0 when the file is not a certificate. */
static int
diagnose_cert(sgs_engine *e, worker *w, const job *j, const struct stat *sb, sgs_record *rec,
              sgs_verdict *outcome)
{
    if ((uint64_t)sb->st_size > SGS_CERT_FILE_MAX || sb->st_size == 0)
        return 0;
    cert_collect c = {NULL, NULL};
    char why[256];
    if (sgs_pki_parse_file(&e->alloc, j->path, collect_cert, &c, why, sizeof(why)) != SGS_OK ||
        c.leaf == NULL) {
        X509_free(c.leaf);
        sk_X509_pop_free(c.rest, X509_free);
        return 0;
    }
    sgs_verdict v = SGS_V_UNTRUSTED;
    sgs_trust_check_chain(&e->trust, c.leaf, c.rest, &v, w->reason, sizeof(w->reason), w->chain,
                          sizeof(w->chain));
    if (sgs_cert_spki_fp(c.leaf, w->signer_hex) == SGS_OK)
        rec->signer = w->signer_hex;
    rec->alg = "x509-certificate";
    rec->chain = w->chain;
    X509_free(c.leaf);
    sk_X509_pop_free(c.rest, X509_free);
    *outcome = v;
    return 1;
}

/* One agent: read its key file (never following links, never blocking), judge the content. */
static void
agent_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    if (j->kind == SGS_SCAN_SYMLINK || j->kind == SGS_SCAN_SPECIAL) {
        rec->verdict = SGS_V_SKIPPED;
        say(w, "%s", j->kind == SGS_SCAN_SYMLINK
                         ? "the agent directory is a symbolic link (not followed)"
                         : "not an agent directory");
        return;
    }
    const int fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            rec->verdict = SGS_V_MISSING_FILE;
            say(w, "no key file %s", j->path);
        } else if (err == ELOOP) {
            char target[512];
            const ssize_t n = readlink(j->path, target, sizeof(target) - 1);
            target[n > 0 ? n : 0] = '\0';
            rec->verdict = SGS_V_SKIPPED;
            say(w, "the key file is a symbolic link%s%s (not followed)", n > 0 ? " to " : "",
                target);
        } else {
            rec->verdict = SGS_V_IO_ERROR;
            say(w, "%s: %s", j->path, strerror(err));
        }
        return;
    }
    struct stat sb;
    if (!stat_regular(fd, w, rec, &sb, "the key file"))
        return;
    if ((uint64_t)sb.st_size > SGS_AGENT_FILE_MAX) {
        rec->verdict = SGS_V_MALFORMED;
        say(w, "the key file is larger than %u bytes (%llu)", SGS_AGENT_FILE_MAX,
            (unsigned long long)sb.st_size);
        close(fd);
        return;
    }
    size_t got = 0;
    const size_t size = (size_t)sb.st_size;
    while (got < size) {
        const ssize_t n = read(fd, w->sig + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    struct stat after;
    const int changed = got != size || fstat(fd, &after) != 0 || after.st_size != sb.st_size ||
                        after.st_mtim.tv_nsec != sb.st_mtim.tv_nsec ||
                        after.st_mtim.tv_sec != sb.st_mtim.tv_sec;
    close(fd);
    if (changed) {
        rec->verdict = SGS_V_CHANGED;
        say(w, "the key file changed while being read");
        return;
    }
    sgs_agent_result r;
    sgs_agents_judge(e->agents, w->sig, got, &r);
    OPENSSL_cleanse(w->sig, got); /* it may have held a private key */
    memcpy(w->signer_hex, r.key_fp, sizeof(w->signer_hex));
    snprintf(w->alg, sizeof(w->alg), "%s", r.alg);
    snprintf(w->reason, sizeof(w->reason), "%s", r.reason);
    rec->signer = w->signer_hex;
    rec->alg = w->alg;
    if (r.verdict != SGS_V_VALID) {
        rec->verdict = r.verdict;
        return;
    }
    rec->verdict = SGS_V_VALID; /* agents.c judged this content VALID in its one place */
}

static int quarantinable(sgs_verdict v);

/* Enforcement: rename a file judged bad, if it is still the file judged (sb). */
static void
quarantine_if_due(sgs_engine *e, worker *w, const job *j, const sgs_record *rec,
                  const struct stat *sb)
{
    if (e->journal == NULL || !quarantinable(rec->verdict))
        return;
    char newpath[4096], why[256] = "";
    const size_t used = strlen(w->reason);
    if (sgs_quarantine_file(e->journal, j->path, sb, j->dir_dev, j->dir_ino, newpath,
                            sizeof(newpath), why, sizeof(why))) {
        atomic_fetch_add_explicit(&e->quarantined, 1, memory_order_relaxed);
        snprintf(w->reason + used, sizeof(w->reason) - used, "; quarantined as %s", newpath);
    } else {
        snprintf(w->reason + used, sizeof(w->reason) - used, "; %s", why);
    }
}

/* Verdicts that rename a file under enforcement: the file itself is judged bad. Missing,
   skipped, unreadable and changed files are not: nothing about their contents is known. */
static int
quarantinable(sgs_verdict v)
{
    switch (v) {
    case SGS_V_BAD_SIGNATURE:
    case SGS_V_NO_SIGNATURE:
    case SGS_V_MALFORMED:
    case SGS_V_UNTRUSTED:
    case SGS_V_EXPIRED:
    case SGS_V_NOT_YET_VALID:
    case SGS_V_REVOKED:
    case SGS_V_UNSUPPORTED:
    case SGS_V_DIGEST_MISMATCH:
        return 1;
    default:
        return 0;
    }
}

/* Grows a worker buffer to at least `need` bytes (contents not kept). 1 on success. */
static int
grow(sgs_engine *e, uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 1;
    sgs_free(&e->alloc, *buf);
    *buf = sgs_malloc(&e->alloc, need);
    *cap = *buf != NULL ? need : 0;
    return *buf != NULL;
}

/* pread until n bytes or EOF/error; returns the bytes read. */
static size_t
pread_full(int fd, uint8_t *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        const ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* The Authenticode record fields from the signatures judged. */
static void
pe_record(worker *w, sgs_record *rec)
{
    size_t n = 0, d = 0;
    const sgs_ac_sig *const s = sgs_ac_sigs(w->ac, &n, &d);
    for (size_t i = 0; i < n; i++) {
        sgs_sig_line *const l = &w->lines[i];
        l->role = s[i].role;
        l->verdict = s[i].verdict;
        l->reason = s[i].reason;
        l->hash_alg = s[i].hash_alg;
        l->layout = s[i].layout;
        l->signer = s[i].signer;
        l->signing_time = s[i].signing_time;
        l->tsa = s[i].tsa;
    }
    rec->sigs = w->lines;
    rec->nsigs = n;
    if (n == 0)
        return;
    snprintf(w->image_hash, sizeof(w->image_hash), "%s%s%s", s[d].hash_alg,
             s[d].layout[0] ? " " : "", s[d].layout);
    rec->image_hash = w->image_hash;
    rec->signer_subject = s[d].signer;
    rec->signing_time = s[d].signing_time;
    rec->tsa = s[d].tsa;
    if (s[d].signer_fp[0] != '\0')
        rec->signer = s[d].signer_fp;
    snprintf(w->alg, sizeof(w->alg), "authenticode-%s", s[d].hash_alg[0] ? s[d].hash_alg : "?");
    rec->alg = w->alg;
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
static const sgs_check_window for_good = {INT64_MIN, INT64_MAX, 1};

/* Stores a judgement that depends on trust material, if the cache may hold it. */
static void
remember_record(sgs_engine *e, worker *w, const struct stat *sb, const struct stat *sig,
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
 * The warm path of the persistent cache: nothing is opened. The file and the signature file
 * its judgement came from (F.p7s, else F<suffix>, else none: a PE image or an unsigned file)
 * are lstat'ed once; their stat tuples, with the key set, name a raw signature's whole answer,
 * and with the key set, trust material and policy a record judged for a time range that
 * includes now. The walk said which signature files are listed beside F, so absent ones are
 * not looked up. On any miss the normal path runs.
 */
static int
cache_warm(sgs_engine *e, worker *w, const job *j, sgs_record *rec, struct stat *fst)
{
    struct stat sig;
    const unsigned pr = j->present;
    const char *sig_file = NULL;
    if (j->kind != SGS_SCAN_FILE || (e->keys.count == 0 && !e->trust_cacheable))
        return 0;
    if (pr != SGS_SCAN_PRESENT_UNKNOWN) {
        sig_file = (pr & 2u) != 0 ? j->p7s_path : (pr & 1u) != 0 ? j->sig_path : NULL;
        if (sig_file != NULL && job_lstat(j, sig_file, &sig) != 0)
            return 0;
    } else if (j->p7s_path != NULL && job_lstat(j, j->p7s_path, &sig) == 0) {
        sig_file = j->p7s_path;
    } else if (job_lstat(j, j->sig_path, &sig) == 0) {
        sig_file = j->sig_path;
    }
    if ((sig_file != NULL && !S_ISREG(sig.st_mode)) || job_lstat(j, j->path, fst) != 0 ||
        !S_ISREG(fst->st_mode))
        return 0;
    sgs_verdict v = SGS_V_IO_ERROR;
    sgs_pcache_answer a;
    size_t len = 0;
    if (sig_file == j->sig_path && e->keys.count > 0 &&
        sgs_pcache_get_answer(e->pcache, w->reader, fst, &sig, e->answer_ctx, &a)) {
        rec->size = (uint64_t)fst->st_size;
        rec->has_size = 1;
        sgs_hex(a.md, a.mdlen, w->digest_hex);
        rec->digest = w->digest_hex;
        v = use_cached_verdict(w, rec, &a.v, j->sig_path);
    } else if (!e->trust_cacheable ||
               (w->rec_buf == NULL &&
                (w->rec_buf = sgs_malloc(&e->alloc, SGS_PCACHE_RECORD_MAX)) == NULL) ||
               !sgs_pcache_get_record(e->pcache, w->reader, fst, sig_file != NULL ? &sig : NULL,
                                      e->trust_ctx, (int64_t)time(NULL), w->rec_buf,
                                      SGS_PCACHE_RECORD_MAX, &len) ||
               !record_decode(w, w->rec_buf, len, rec, &v)) {
        return 0;
    }
    if (v != SGS_V_VALID) {
        rec->verdict = v;
        return 1;
    }
    rec->verdict = SGS_V_VALID; /* judged VALID for these stat tuples (and this trust, at a time
                                   range that includes now) by a full verification */
    return 1;
}

/*
 * A PE image's embedded Authenticode signatures. Reads the headers, then the certificate
 * table (at the end: its signatures name the image-hash algorithms), then streams the whole
 * file once through the image hasher, which re-checks the headers and copies the table again:
 * a file that changed on the way (other headers, another table, other stat) is CHANGED.
 * Returns 0 when the file is not a PE image (nothing set), else 1 with *outcome.
 */
static int
verify_pe(sgs_engine *e, worker *w, int fd, const struct stat *sb, sgs_record *rec,
          sgs_verdict *outcome)
{
    const uint64_t size = (uint64_t)sb->st_size;
    if (size < 64)
        return 0;
    if ((w->pe == NULL && (w->pe = sgs_pe_hasher_new_alloc(&e->alloc)) == NULL) ||
        (w->ac == NULL && (w->ac = sgs_ac_file_new(&e->alloc, e->certsets)) == NULL) ||
        !grow(e, &w->pe_head, &w->pe_head_cap, READ_BUF_SIZE)) {
        *outcome = SGS_V_IO_ERROR;
        say(w, "out of memory");
        return 1;
    }
    size_t have =
        pread_full(fd, w->pe_head, size < READ_BUF_SIZE ? (size_t)size : READ_BUF_SIZE, 0);
    if (have < 2 || w->pe_head[0] != 'M' || w->pe_head[1] != 'Z')
        return 0;
    sgs_pe_info info;
    memset(&info, 0, sizeof(info));
    char why[256] = "";
    sgs_pe_status st = SGS_PE_MALFORMED;
    for (int step = 0; step < 5; step++) {
        sgs_pe_info_free(&info);
        st = sgs_pe_parse_alloc(&e->alloc, w->pe_head, have, size, &info, why, sizeof(why));
        if (st != SGS_PE_NEED_MORE)
            break;
        const size_t need = (size_t)info.need;
        if (need <= have || info.need > size) {
            st = SGS_PE_MALFORMED;
            snprintf(why, sizeof(why), "headers need %llu bytes", (unsigned long long)info.need);
            break;
        }
        uint8_t *const keep = sgs_malloc(&e->alloc, need);
        if (keep == NULL) {
            sgs_pe_info_free(&info);
            *outcome = SGS_V_IO_ERROR;
            say(w, "out of memory");
            return 1;
        }
        memcpy(keep, w->pe_head, have);
        sgs_free(&e->alloc, w->pe_head);
        w->pe_head = keep;
        w->pe_head_cap = need;
        have += pread_full(fd, w->pe_head + have, need - have, have);
        if (have < need) {
            sgs_pe_info_free(&info);
            *outcome = SGS_V_CHANGED;
            say(w, "the file shrank while being read");
            return 1;
        }
    }
    if (st == SGS_PE_NOT_PE) {
        sgs_pe_info_free(&info);
        return 0;
    }
    rec->format = "authenticode";
    int done = 0;
    if (st != SGS_PE_OK) {
        *outcome = SGS_V_MALFORMED;
        say(w, "not a valid PE image: %s", why[0] ? why : "headers do not parse");
        done = 1;
    } else if (!info.has_table) {
        *outcome = SGS_V_NO_SIGNATURE;
        say(w, "a %s image without a certificate table (not signed)",
            info.pe32plus ? "PE32+" : "PE32");
        done = 1;
    } else if (info.cert_size > SGS_PE_MAX_TABLE ||
               !grow(e, &w->pe_table, &w->pe_table_cap, info.cert_size)) {
        *outcome = SGS_V_UNSUPPORTED;
        say(w, "certificate table of %u bytes: too large", info.cert_size);
        done = 1;
    } else if ((uint64_t)info.cert_off + info.cert_size <= have) { /* read with the headers */
        memcpy(w->pe_table, w->pe_head + info.cert_off, info.cert_size);
    } else if (pread_full(fd, w->pe_table, info.cert_size, info.cert_off) != info.cert_size) {
        *outcome = SGS_V_CHANGED;
        say(w, "the file shrank while being read");
        done = 1;
    }
    const EVP_MD *mds[SGS_PE_MAX_MD];
    unsigned nmd = 0;
    if (!done && !sgs_ac_prepare(w->ac, w->pe_table, info.cert_size, mds, &nmd, outcome,
                                 w->reason, sizeof(w->reason)))
        done = 1;
    uint8_t flat[SGS_PE_MAX_MD][64], spec[SGS_PE_MAX_MD][64];
    unsigned mdlen[SGS_PE_MAX_MD] = {0};
    memset(flat, 0, sizeof(flat));
    memset(spec, 0, sizeof(spec));
    if (!done && nmd > 0) {
        const char *bad = NULL;
        if (!sgs_pe_hash_begin(w->pe, &info, mds, nmd, e->pe_policy.uefi, why, sizeof(why))) {
            *outcome = SGS_V_UNSUPPORTED;
            say(w, "cannot hash the image: %s", why);
            done = 1;
        } else if (!sgs_pe_hash_update(w->pe, 0, w->pe_head, have)) {
            bad = sgs_pe_hash_error(w->pe);
        }
        uint64_t off = have;
        while (!done && bad == NULL && off < size) {
            const size_t want = size - off < READ_BUF_SIZE ? (size_t)(size - off) : READ_BUF_SIZE;
            const size_t got = pread_full(fd, w->sig, want, off);
            if (got == 0) {
                bad = "the file shrank while being read";
                break;
            }
            if (!sgs_pe_hash_update(w->pe, off, w->sig, got))
                bad = sgs_pe_hash_error(w->pe);
            off += got;
        }
        const uint8_t *table = NULL;
        size_t tlen = 0;
        struct stat after;
        if (!done && bad == NULL &&
            !sgs_pe_hash_end(w->pe, flat, spec, mdlen, &table, &tlen))
            bad = sgs_pe_hash_error(w->pe);
        if (!done && bad == NULL &&
            (tlen != info.cert_size || memcmp(table, w->pe_table, tlen) != 0))
            bad = "the certificate table changed while being read";
        if (!done && bad == NULL &&
            (fstat(fd, &after) != 0 || after.st_size != sb->st_size ||
             after.st_mtim.tv_sec != sb->st_mtim.tv_sec ||
             after.st_mtim.tv_nsec != sb->st_mtim.tv_nsec ||
             after.st_ctim.tv_sec != sb->st_ctim.tv_sec ||
             after.st_ctim.tv_nsec != sb->st_ctim.tv_nsec))
            bad = "the file changed while being read";
        if (!done && bad != NULL) {
            *outcome = SGS_V_CHANGED;
            say(w, "%s", bad);
            done = 1;
        }
        if (!done)
            atomic_fetch_add_explicit(&e->bytes, size, memory_order_relaxed);
    }
    if (!done) {
        sgs_ac_judge(w->ac, &info, flat, sgs_pe_hash_has_spec(w->pe) ? spec : NULL, mdlen,
                     &e->pe_policy, &e->trust, &e->tsa, outcome, w->reason,
                     sizeof(w->reason));
        pe_record(w, rec);
        size_t count = 0, d = 0;
        const sgs_ac_sig *const sigs = sgs_ac_sigs(w->ac, &count, &d);
        for (unsigned k = 0; count > 0 && k < nmd; k++) { /* the deciding image hash */
            if (strcasecmp(OBJ_nid2sn(EVP_MD_get_type(mds[k])), sigs[d].hash_alg) == 0 &&
                (size_t)mdlen[k] * 2 < sizeof(w->digest_hex)) {
                sgs_hex(strcmp(sigs[d].layout, "section-sorted") == 0 ? spec[k] : flat[k],
                        mdlen[k], w->digest_hex);
                rec->digest = w->digest_hex;
            }
        }
    }
    rec->size = size;
    rec->has_size = 1;
    sgs_pe_info_free(&info);
    if (w->pe_table_cap > KEEP_RELEASE_ABOVE) { /* one huge table must not stay with the worker */
        sgs_free(&e->alloc, w->pe_table);
        w->pe_table = NULL;
        w->pe_table_cap = 0;
    }
    if (w->pe_head_cap > KEEP_RELEASE_ABOVE) {
        sgs_free(&e->alloc, w->pe_head);
        w->pe_head = NULL;
        w->pe_head_cap = 0;
    }
    /* judged: as long as its chains hold; not judged at all (no table, headers or table that
       do not parse): for good */
    if (!done)
        remember_record(e, w, sb, NULL, sgs_ac_window(w->ac), *outcome, rec);
    else if (*outcome == SGS_V_NO_SIGNATURE || *outcome == SGS_V_MALFORMED)
        remember_record(e, w, sb, NULL, &for_good, *outcome, rec);
    return 1;
}

static void
verify_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    struct stat sb;
    if (e->pcache != NULL && !e->cfg.paranoid && e->cfg.op == SGS_OP_VERIFY &&
        cache_warm(e, w, j, rec, &sb)) {
        quarantine_if_due(e, w, j, rec, &sb);
        return;
    }
    const int fd = open_input(j, w, rec, &sb);
    if (fd < 0)
        return;
    /* F.p7s first (always CMS), then F<suffix> (raw, or CMS by content). */
    int absent = 1, is_cms = 0;
    size_t siglen = 0;
    const char *sig_path = j->sig_path;
    const int listed = j->present != SGS_SCAN_PRESENT_UNKNOWN; /* else: look */
    if (j->p7s_path != NULL && (!listed || (j->present & 2u))) {
        siglen = read_signature(j, j->p7s_path, w, rec, &absent);
        if (!absent) {
            sig_path = j->p7s_path;
            is_cms = 1;
        }
    }
    if (absent && listed && !(j->present & 1u)) {
        rec->verdict = SGS_V_NO_SIGNATURE;
        say(w, "no signature file %s", j->sig_path);
    } else if (absent) {
        siglen = read_signature(j, j->sig_path, w, rec, &absent);
        is_cms = siglen > 0 && sgs_cms_detect(w->sig, siglen);
    }
    if (absent && j->p7s_path != NULL)
        say(w, "no signature file %s or %s", j->sig_path, j->p7s_path);
    sgs_verdict outcome = SGS_V_NO_SIGNATURE;
    if (absent && e->cfg.op == SGS_OP_DIAGNOSE && diagnose_cert(e, w, j, &sb, rec, &outcome)) {
        if (outcome != SGS_V_VALID) {
            rec->verdict = outcome;
            goto out;
        }
        goto valid;
    }
    /* No detached signature: a PE image carries its own (Authenticode). */
    if (absent && e->cfg.op == SGS_OP_VERIFY && verify_pe(e, w, fd, &sb, rec, &outcome)) {
        if (outcome != SGS_V_VALID) {
            rec->verdict = outcome;
            goto out;
        }
        goto valid;
    }
    if (siglen == 0) {
        if (absent && e->cfg.op == SGS_OP_VERIFY) /* no signature, not a PE image: remember */
            remember_record(e, w, &sb, NULL, &for_good, rec->verdict, rec);
        goto out;
    }
    outcome = is_cms ? verify_cms(e, w, fd, &sb, siglen, rec)
                                       : verify_raw(e, w, j, fd, &sb, sig_path, siglen, rec);
    if (outcome != SGS_V_VALID) {
        rec->verdict = outcome;
        goto out;
    }
valid:
    rec->verdict = SGS_V_VALID; /* the only such line: the chosen path verified end to end */
out:
    close(fd);
    quarantine_if_due(e, w, j, rec, &sb);
}

/* Writes bytes to target through a temporary file in the same directory and rename(2), so a
   reader sees the old signature or the new one, never half of one. 1 on success. */
static int
write_atomically(sgs_engine *e, worker *w, const char *target, const uint8_t *bytes, size_t len,
                 sgs_record *rec)
{
    const size_t plen = strlen(target);
    char *const tmp = sgs_malloc(&e->alloc, plen + 8);
    if (tmp == NULL) {
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "out of memory");
        return 0;
    }
    memcpy(tmp, target, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    int ok = 0;
    const int tfd = mkostemp(tmp, O_CLOEXEC);
    if (tfd < 0) {
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t done = 0;
    while (done < len) {
        const ssize_t n = write(tfd, bytes + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    const int written = done == len && fchmod(tfd, 0644) == 0;
    if (close(tfd) != 0 || !written) {
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "cannot write %s: %s", tmp, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    if (rename(tmp, target) != 0) {
        rec->verdict = SGS_V_IO_ERROR;
        say(w, "cannot rename to %s: %s", target, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    ok = 1;
out:
    sgs_free(&e->alloc, tmp);
    return ok;
}

/* sign with a certificate: a detached CMS SignedData into F.p7s, the file read once. */
static sgs_verdict
sign_cms(sgs_engine *e, worker *w, const job *j, int fd, const struct stat *sb, sgs_record *rec)
{
    char why[256];
    sgs_cms_job cj;
    unsigned char *der = NULL;
    size_t derlen = 0;
    sgs_verdict v = SGS_V_UNSUPPORTED;
    if (!sgs_cms_sign_start(e->sign_cert, e->sign_key, e->trust.untrusted_sk, e->md,
                            e->cfg.pss, &cj, why, sizeof(why))) {
        say(w, "%s", why);
        return v;
    }
    sgs_digest_out d;
    const sgs_digest_result dr = sgs_digest_fd_also(&w->dc, fd, e->md, sb, 0, cj.ctxs, cj.nctx, &d);
    if (digest_problem(dr, &d, rec, w) != NULL) {
        v = rec->verdict;
        goto out;
    }
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    if (!sgs_cms_sign_finish(&cj, &der, &derlen, why, sizeof(why))) {
        say(w, "%s", why);
        goto out;
    }
    if (!write_atomically(e, w, j->p7s_path, der, derlen, rec)) {
        v = rec->verdict;
        goto out;
    }
    rec->alg = "cms";
    rec->signer = e->sign_desc.fp_hex;
    say(w, "signed, wrote %s", j->p7s_path);
    v = SGS_V_VALID;
out:
    OPENSSL_free(der);
    sgs_cms_job_reset(&cj);
    return v;
}

static void
sign_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    struct stat sb;
    const int fd = open_input(j, w, rec, &sb);
    if (fd < 0)
        return;
    if (e->sign_cert != NULL) {
        const sgs_verdict v = sign_cms(e, w, j, fd, &sb, rec);
        if (v != SGS_V_VALID)
            rec->verdict = v;
        else
            rec->verdict = SGS_V_VALID; /* the CMS signature was made and written */
        close(fd);
        return;
    }
    const sgs_key *const k = &e->sign_desc;
    const int whole = k->type == SGS_KEY_ED25519;
    sgs_digest_out d;
    const sgs_digest_result dr =
        sgs_digest_fd(&w->dc, fd, e->md, &sb, whole ? e->cfg.max_whole_file : 0, &d);
    if (dr == SGS_DIGEST_TOO_LARGE) {
        rec->verdict = SGS_V_UNSUPPORTED;
        say(w, "Ed25519 signs the whole file, and files over %llu bytes are not supported",
            (unsigned long long)e->cfg.max_whole_file);
        goto out;
    }
    if (digest_problem(dr, &d, rec, w) != NULL)
        goto out;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    rec->alg = sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, w->alg, sizeof(w->alg));

    sgs_sig_params params;
    sgs_sig_params_init(&params, e->md, e->cfg.pss);
    size_t siglen = SIG_FILE_MAX;
    char why[160] = "";
    const int signed_ok =
        whole ? sgs_sign_message(e->sign_key, w->dc.keep, (size_t)d.bytes, w->sig, &siglen, why,
                                 sizeof(why))
              : sgs_sign_prehash(e->sign_key, &params, d.md, d.md_len, w->sig, &siglen, why,
                                 sizeof(why));
    if (!signed_ok) {
        rec->verdict = SGS_V_UNSUPPORTED;
        say(w, "signing failed: %s", why[0] ? why : "libcrypto error");
        goto out;
    }
    /* Check our own output before it replaces anything. */
    const int verified = whole ? sgs_verify_message(e->sign_key, w->dc.keep, (size_t)d.bytes,
                                                    w->sig, siglen)
                               : sgs_verify_prehash(e->sign_key, &params, d.md, d.md_len, w->sig,
                                                    siglen);
    if (!verified) {
        rec->verdict = SGS_V_BAD_SIGNATURE;
        say(w, "the new signature does not verify; nothing written");
        goto out;
    }
    if (!write_atomically(e, w, j->sig_path, w->sig, siglen, rec))
        goto out;
    rec->signer = k->fp_hex;
    say(w, "signed, wrote %s", j->sig_path);
    rec->verdict = SGS_V_VALID; /* the signature was made, checked and written */
out:
    close(fd);
}

static void package_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec);

/* The engine's fetched EVP_MD for a SHA-2 nid (falls back to the legacy one). */
static const EVP_MD *
engine_md(const sgs_engine *e, int nid)
{
    const unsigned i = nid == NID_sha256 ? SGS_HASH_SHA256
                       : nid == NID_sha384 ? SGS_HASH_SHA384
                                           : SGS_HASH_SHA512;
    return e->fetched[i] != NULL ? e->fetched[i] : EVP_get_digestbynid(nid);
}
static void hash_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec);

/* ---- workers ------------------------------------------------------------------------- */

static void *
worker_init(void *opaque, unsigned index)
{
    sgs_engine *const e = opaque;
    (void)index;
    worker *const w = sgs_calloc(&e->alloc, 1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->nverifiers = e->keys.count;
    w->verifiers = sgs_calloc(&e->alloc, w->nverifiers ? w->nverifiers : 1, sizeof(EVP_PKEY_CTX *));
    w->sig = sgs_malloc(&e->alloc, SIG_FILE_MAX);
    if (e->pcache != NULL)
        w->reader = sgs_pcache_reader_new(e->pcache); /* NULL: lookups use their own txn */
    w->ok = w->verifiers != NULL && w->sig != NULL &&
            sgs_digest_ctx_init(&w->dc, &e->alloc, READ_BUF_SIZE) == SGS_OK;
    return w;
}

static void
worker_fini(void *opaque, void *state)
{
    sgs_engine *const e = opaque;
    worker *const w = state;
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
    sgs_free(&e->alloc, w->rec_buf);
    sgs_free(&e->alloc, w);
}

static void
worker_run(void *opaque, void *state, void *job_ptr)
{
    sgs_engine *const e = opaque;
    worker *const w = state;
    job *const j = job_ptr;
    sgs_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.path = j->path;
    rec.verdict = SGS_V_IO_ERROR; /* until proven otherwise */
    rec.alg = "";
    rec.signer = "";
    rec.digest = "";
    rec.chain = "";
    if (w == NULL || !w->ok) {
        rec.reason = "out of memory: worker could not start";
        deliver(e, &rec);
        sgs_scan_dir_release(j->dir);
        sgs_free(&e->alloc, j);
        return;
    }
    w->reason[0] = '\0';
    rec.agent = j->agent != NULL ? j->agent : "";
    if (e->cfg.op == SGS_OP_SIGN)
        sign_job(e, w, j, &rec);
    else if (e->cfg.op == SGS_OP_AGENTS)
        agent_job(e, w, j, &rec);
    else if (e->cfg.op == SGS_OP_PACKAGE)
        package_job(e, w, j, &rec);
    else if (e->cfg.op == SGS_OP_HASH)
        hash_job(e, w, j, &rec);
    else
        verify_job(e, w, j, &rec);
    rec.reason = w->reason;
    if (j->entry != PACKAGE_WALK)
        deliver(e, &rec);
    if (w->dc.keep_cap > KEEP_RELEASE_ABOVE) { /* keep RSS flat after a huge Ed25519 file */
        sgs_free(&e->alloc, w->dc.keep);
        w->dc.keep = NULL;
        w->dc.keep_cap = 0;
    }
    sgs_scan_dir_release(j->dir);
    sgs_free(&e->alloc, j);
}

static unsigned
online_cpus(void)
{
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static sgs_status
start(sgs_engine *e)
{
    if (e->finished) {
        snprintf(e->err, sizeof(e->err), "the engine has finished");
        return SGS_ERR_STATE;
    }
    if (e->journal_failed)
        return SGS_ERR_IO; /* e->err says why; enforcing without a journal would lose renames */
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
        if (e->keys.count == 0 && !e->trust_material) {
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
    }
    if (e->cfg.op == SGS_OP_SIGN && e->sign_key == NULL) {
        snprintf(e->err, sizeof(e->err), "no signing key");
        return SGS_ERR_STATE;
    }
    if (e->pcache != NULL) { /* the key set is final now: name it for the answers table */
        static const uint8_t none[32];
        verdict_key_hash(e, NULL, 0, none, e->answer_ctx);
        /* PE, CMS and unsigned records: the version, the policy, the digest reported, the key
           set and all trust material; not with the system's CA bundle, which can change
           unseen */
        EVP_MD_CTX *const c = EVP_MD_CTX_new();
        unsigned int len = 0;
        const int32_t policy[4] = {e->pe_policy.uefi, e->pe_policy.require_all,
                                   e->pe_policy.lenient, e->md_nid};
        e->trust_cacheable = !e->trust.system && c != NULL &&
                          EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
                          EVP_DigestUpdate(c, "sigsweep-records-3 " SGS_VERSION_STRING,
                                           strlen("sigsweep-records-3 " SGS_VERSION_STRING)) == 1 &&
                          EVP_DigestUpdate(c, policy, sizeof(policy)) == 1 &&
                          EVP_DigestUpdate(c, e->keys.id, sizeof(e->keys.id)) == 1 &&
                          sgs_trust_fingerprint(&e->trust, c) &&
                          sgs_trust_fingerprint(&e->tsa, c) &&
                          EVP_DigestFinal_ex(c, e->trust_ctx, &len) == 1;
        EVP_MD_CTX_free(c);
    }
    const unsigned threads = e->cfg.threads ? e->cfg.threads : online_cpus();
    const size_t depth = e->cfg.queue_depth ? e->cfg.queue_depth : 256u * threads;
    const sgs_pool_hooks hooks = {worker_init, worker_run, worker_fini, e};
    const sgs_status st = sgs_pool_create(&e->alloc, threads, depth, &hooks, &e->pool);
    if (st != SGS_OK)
        snprintf(e->err, sizeof(e->err), "cannot start %u workers: %s", threads,
                 sgs_status_str(st));
    else
        e->started = 1;
    return st;
}

/* "<name>_invalid" or "<name>_invalid.<digits>": a file an earlier run quarantined. */
static int
is_quarantine_name(const char *path)
{
    const char *const base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    const char *const mark = strstr(base, "_invalid");
    if (mark == NULL || mark == base)
        return 0;
    const char *last = mark, *next;
    while ((next = strstr(last + 1, "_invalid")) != NULL)
        last = next;
    const char *tail = last + strlen("_invalid");
    if (*tail == '.' && tail[1] != '\0') {
        tail++;
        while (*tail >= '0' && *tail <= '9')
            tail++;
    }
    return *tail == '\0';
}

static int
on_scanned(void *opaque, const sgs_scan_entry *ent)
{
    sgs_engine *const e = opaque;
    const char *const path = ent->path;
    if (e->journal != NULL && is_quarantine_name(path))
        return 0; /* enforcing: what an earlier run quarantined is not judged (and renamed) again */
    static const char p7s[] = ".p7s";
    const size_t plen = strlen(path), slen = strlen(e->suffix);
    job *const j = sgs_malloc(&e->alloc, sizeof(job) + 3 * plen + slen + sizeof(p7s) + 2);
    if (j == NULL)
        return 1;
    j->kind = ent->kind;
    j->errno_value = ent->errno_value;
    j->present = ent->present;
    j->dir_dev = ent->dir_dev;
    j->dir_ino = ent->dir_ino;
    j->dir = sgs_scan_dir_retain(ent->dir);
    j->name_at = (size_t)(ent->name - ent->path);
    j->agent = NULL;
    j->entry = -1;
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
    e->batch[e->nbatch++] = j;
    if (e->nbatch == sizeof(e->batch) / sizeof(e->batch[0])) {
        sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
        e->nbatch = 0;
    }
    return 0;
}

sgs_status
sgs_engine_submit(sgs_engine *e, const char *path)
{
    e->err[0] = '\0';
    if (e->cfg.op == SGS_OP_AGENTS || e->cfg.op == SGS_OP_PACKAGE) {
        snprintf(e->err, sizeof(e->err), "%s", e->cfg.op == SGS_OP_AGENTS
                                                   ? "agents are queued with submit_agent/fleet"
                                                   : "packages are queued with submit_package");
        return SGS_ERR_STATE;
    }
    if (!e->started)
        SGS_TRY(start(e));
    if (e->finished) {
        snprintf(e->err, sizeof(e->err), "the engine has finished");
        return SGS_ERR_STATE;
    }
    /* Signatures are not inputs, except when hashing a package (its .sig files are content). */
    const char *const skip[2] = {e->suffix,
                                 e->cfg.op != SGS_OP_SIGN || e->sign_cert ? ".p7s" : NULL};
    const int rc = sgs_scan_inputs(path, skip, e->cfg.op == SGS_OP_HASH ? 0 : 2, on_scanned, e);
    sgs_pool_submit_many(e->pool, e->batch, e->nbatch); /* records flow before submit returns */
    e->nbatch = 0;
    if (rc != 0) {
        snprintf(e->err, sizeof(e->err), "%s: out of memory while queueing", path);
        return SGS_ERR_NOMEM;
    }
    return SGS_OK;
}

static sgs_status
queue_agent(sgs_engine *e, const char *agent, const char *path, sgs_scan_kind kind)
{
    const size_t alen = strlen(agent), plen = strlen(path);
    job *const j = sgs_malloc(&e->alloc, sizeof(job) + plen + alen + 2);
    if (j == NULL) {
        snprintf(e->err, sizeof(e->err), "%s: out of memory while queueing", agent);
        return SGS_ERR_NOMEM;
    }
    j->kind = kind;
    j->errno_value = 0;
    memcpy(j->path, path, plen + 1);
    j->sig_path = j->path + plen; /* unused: "" */
    j->p7s_path = NULL;
    j->present = SGS_SCAN_PRESENT_UNKNOWN;
    j->dir_dev = 0;
    j->dir_ino = 0;
    j->dir = NULL;
    j->name_at = 0;
    j->entry = -1;
    memcpy(j->path + plen + 1, agent, alen + 1);
    j->agent = j->path + plen + 1;
    e->batch[e->nbatch++] = j;
    if (e->nbatch == sizeof(e->batch) / sizeof(e->batch[0])) {
        sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
        e->nbatch = 0;
    }
    return SGS_OK;
}

static sgs_status
agents_submit_start(sgs_engine *e)
{
    e->err[0] = '\0';
    if (e->agents == NULL) {
        snprintf(e->err, sizeof(e->err), "not an agents engine (cfg.op = SGS_OP_AGENTS)");
        return SGS_ERR_STATE;
    }
    if (!e->started)
        SGS_TRY(start(e));
    if (e->finished) {
        snprintf(e->err, sizeof(e->err), "the engine has finished");
        return SGS_ERR_STATE;
    }
    return SGS_OK;
}

sgs_status
sgs_engine_submit_agent(sgs_engine *e, const char *agent_id, const char *path)
{
    SGS_TRY(agents_submit_start(e));
    const sgs_status st = queue_agent(e, agent_id, path, SGS_SCAN_FILE);
    sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
    e->nbatch = 0;
    return st;
}

sgs_status
sgs_engine_submit_fleet(sgs_engine *e, const char *dir, const char *key_file)
{
    SGS_TRY(agents_submit_start(e));
    if (key_file == NULL || key_file[0] == '\0' || strchr(key_file, '/') != NULL) {
        snprintf(e->err, sizeof(e->err), "bad key file name");
        return SGS_ERR_INVALID_ARG;
    }
    /* Names first, sorted, so the report is in a stable order; the fleet's size bounds this
       list (one string per agent), the job queue stays bounded as elsewhere. */
    char **names = NULL;
    size_t n = 0;
    const int lrc = sgs_list_dir(&e->alloc, dir, 0, 1, &names, &n);
    if (lrc != 0) {
        snprintf(e->err, sizeof(e->err), "%s: %s", dir, strerror(lrc));
        return lrc == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
    }
    const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    sgs_status st = SGS_OK;
    const size_t dlen = strlen(dir), klen = strlen(key_file);
    for (size_t i = 0; i < n && st == SGS_OK; i++) {
        const size_t len = dlen + strlen(names[i]) + klen + 3;
        char *const path = sgs_malloc(&e->alloc, len);
        if (path == NULL) {
            st = SGS_ERR_NOMEM;
            break;
        }
        struct stat sb;
        snprintf(path, len, "%s/%s", dir, names[i]);
        sgs_scan_kind kind = SGS_SCAN_FILE;
        if (dfd >= 0 && fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISLNK(sb.st_mode))
                kind = SGS_SCAN_SYMLINK;
            else if (!S_ISDIR(sb.st_mode))
                kind = SGS_SCAN_SPECIAL;
        }
        snprintf(path, len, "%s/%s/%s", dir, names[i], key_file);
        st = queue_agent(e, names[i], path, kind);
        sgs_free(&e->alloc, path);
    }
    if (dfd >= 0)
        close(dfd);
    sgs_list_free(&e->alloc, names, n);
    sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
    e->nbatch = 0;
    if (st == SGS_ERR_NOMEM)
        snprintf(e->err, sizeof(e->err), "%s: out of memory", dir);
    return st;
}

/* ---- packages ------------------------------------------------------------------------ */

sgs_status
sgs_engine_set_package(sgs_engine *e, const char *root, const char *manifest)
{
    char why[512] = "";
    e->err[0] = '\0';
    if (e->cfg.op != SGS_OP_PACKAGE || e->started || e->pkg_root != NULL) {
        snprintf(e->err, sizeof(e->err), "the package is set once, before the first submit, on "
                                         "an SGS_OP_PACKAGE engine");
        return SGS_ERR_STATE;
    }
    size_t rlen = strlen(root);
    while (rlen > 1 && root[rlen - 1] == '/')
        rlen--;
    e->pkg_root = sgs_malloc(&e->alloc, rlen + 1);
    e->pkg_manifest = sgs_strdup(&e->alloc, manifest);
    if (e->pkg_root == NULL || e->pkg_manifest == NULL)
        return SGS_ERR_NOMEM;
    memcpy(e->pkg_root, root, rlen);
    e->pkg_root[rlen] = '\0';
    e->pkg_rootfd = open(e->pkg_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (e->pkg_rootfd < 0) {
        snprintf(e->err, sizeof(e->err), "%s: %s", root, strerror(errno));
        return SGS_ERR_IO;
    }
    const sgs_status st = sgs_read_small_file(&e->alloc, manifest, 256u * 1024u * 1024u,
                                              &e->pkg_bytes, &e->pkg_len, why, sizeof(why));
    if (st != SGS_OK) {
        snprintf(e->err, sizeof(e->err), "%s", why);
        return st;
    }
    /* the manifest (and its signature) may live inside the package: never "extra" */
    char *const rroot = realpath(e->pkg_root, NULL), *const rman = realpath(manifest, NULL);
    if (rroot != NULL && rman != NULL) {
        const size_t n = strlen(rroot);
        if (strncmp(rman, rroot, n) == 0 && rman[n] == '/')
            e->pkg_manifest_rel = sgs_strdup(&e->alloc, rman + n + 1);
    }
    free(rroot);
    free(rman);
    return SGS_OK;
}

sgs_verdict
sgs_engine_manifest_verdict(const sgs_engine *e, const char **reason)
{
    if (reason != NULL)
        *reason = e->pkg_reason;
    return e->pkg_verdict;
}

/* The manifest's signature over the bytes read in set_package. Returns the verdict. */
static sgs_verdict
check_manifest_signature(sgs_engine *e, char *reason, size_t n)
{
    char why[512] = "", sig_path[4096];
    uint8_t *sig = NULL;
    size_t siglen = 0;
    sgs_verdict v = SGS_V_NO_SIGNATURE;
    int is_p7s = 1;
    snprintf(sig_path, sizeof(sig_path), "%s.p7s", e->pkg_manifest);
    sgs_status st = sgs_read_small_file(&e->alloc, sig_path, SIG_FILE_MAX, &sig, &siglen, why,
                                        sizeof(why));
    if (st != SGS_OK && access(sig_path, F_OK) != 0) {
        is_p7s = 0;
        snprintf(sig_path, sizeof(sig_path), "%s%s", e->pkg_manifest, e->suffix);
        st = sgs_read_small_file(&e->alloc, sig_path, SIG_FILE_MAX, &sig, &siglen, why,
                                 sizeof(why));
        if (st != SGS_OK && access(sig_path, F_OK) != 0) {
            snprintf(reason, n, "no signature %.400s.p7s or %.400s", e->pkg_manifest, sig_path);
            return SGS_V_NO_SIGNATURE;
        }
    }
    if (st != SGS_OK) {
        snprintf(reason, n, "%.900s", why);
        return SGS_V_IO_ERROR;
    }
    if (siglen == 0) {
        snprintf(reason, n, "signature %.512s is empty", sig_path);
        v = SGS_V_MALFORMED;
    } else if (is_p7s || sgs_cms_detect(sig, siglen)) {
        sgs_cms_job cj;
        char alg[48], signer[SGS_FP_HEX_LEN];
        if (sgs_cms_prepare(sig, siglen, NULL, &cj, &v, reason, n)) {
            for (size_t i = 0; i < cj.nctx; i++)
                (void)EVP_DigestUpdate(cj.ctxs[i], e->pkg_bytes, e->pkg_len);
            sgs_cms_verify(&cj, &e->trust, &v, reason, n, alg, sizeof(alg), signer);
            sgs_cms_job_reset(&cj);
        }
    } else if (e->keys.count == 0) {
        snprintf(reason, n, "%.512s is a raw signature, but no public key was given (--key)",
                 sig_path);
        v = SGS_V_UNTRUSTED;
    } else {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        size_t last = 0;
        int need_whole = 0;
        const size_t fits = sgs_detached_candidates(&e->keys, sig, siglen, &last, &need_whole);
        if (EVP_Digest(e->pkg_bytes, e->pkg_len, md, &mdlen, e->md, NULL) != 1)
            mdlen = 0;
        sgs_detached dv = {sig, siglen, e->pkg_bytes, e->pkg_len, md, mdlen,
                           {NULL, 0, NULL, 0}, NULL};
        sgs_sig_params_init(&dv.params, e->md, e->cfg.pss);
        uint64_t tried = 0;
        const long signer = fits > 0 ? sgs_detached_verify(&e->keys, &dv, &tried) : -1;
        if (fits == 0) {
            snprintf(reason, n, "signature %.512s (%zu bytes) has the shape of no signature the %zu "
                                "key(s) make", sig_path, siglen, e->keys.count);
            v = SGS_V_MALFORMED;
        } else if (signer < 0) {
            snprintf(reason, n, "the manifest's signature %.512s does not verify with %s", sig_path,
                     fits == 1 ? "the key of its shape" : "any of the keys of its shape");
            v = SGS_V_BAD_SIGNATURE;
        } else {
            const sgs_key *const k = &e->keys.keys[signer];
            char alg[64];
            snprintf(reason, n, "manifest signature verified (%s, signer %s)",
                     sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, alg,
                                      sizeof(alg)),
                     k->fp_hex);
            v = SGS_V_VALID; /* the manifest judge's one VALID: a key of the set verified it */
        }
    }
    sgs_free(&e->alloc, sig);
    return v;
}

/* Signature first, then syntax: a manifest nobody signed is not even parsed for the report. */
static void
check_manifest(sgs_engine *e)
{
    char why[768];
    e->pkg_checked = 1;
    const sgs_verdict sv = check_manifest_signature(e, e->pkg_reason, sizeof(e->pkg_reason));
    if (sv != SGS_V_VALID) {
        e->pkg_verdict = sv;
        return;
    }
    const sgs_status st = sgs_manifest_parse(&e->manifest, e->pkg_bytes, e->pkg_len, why,
                                             sizeof(why));
    if (st != SGS_OK) {
        e->pkg_verdict = st == SGS_ERR_NOMEM ? SGS_V_IO_ERROR : SGS_V_MALFORMED;
        snprintf(e->pkg_reason, sizeof(e->pkg_reason), "manifest %s: %s", e->pkg_manifest,
                 st == SGS_ERR_NOMEM ? "out of memory" : why);
        return;
    }
    e->pkg_verdict = SGS_V_VALID; /* signed, and every line parsed and passed the path rules */
}

typedef struct extra_walk {
    sgs_engine *e;
    const char *const *ignore;
    size_t nignore;
} extra_walk;

static int
is_ignored(const extra_walk *x, const char *rel)
{
    const char *const base = strrchr(rel, '/') != NULL ? strrchr(rel, '/') + 1 : rel;
    for (size_t i = 0; i < x->nignore; i++)
        if (fnmatch(x->ignore[i], rel, 0) == 0 || fnmatch(x->ignore[i], base, 0) == 0)
            return 1;
    const char *const m = x->e->pkg_manifest_rel;
    if (m != NULL) {
        const size_t n = strlen(m);
        if (strncmp(rel, m, n) == 0 &&
            (rel[n] == '\0' || strcmp(rel + n, ".p7s") == 0 || strcmp(rel + n, x->e->suffix) == 0))
            return 1;
    }
    return 0;
}

static int
on_package_entry(void *opaque, const char *path, sgs_scan_kind kind, int errno_value)
{
    extra_walk *const x = opaque;
    sgs_engine *const e = x->e;
    const size_t rlen = strlen(e->pkg_root);
    const char *const rel = strncmp(path, e->pkg_root, rlen) == 0 && path[rlen] == '/'
                                ? path + rlen + 1
                                : path;
    if (kind == SGS_SCAN_FILE || kind == SGS_SCAN_SYMLINK || kind == SGS_SCAN_SPECIAL) {
        if (sgs_manifest_find(&e->manifest, rel) >= 0 || is_ignored(x, rel))
            return 0;
        sgs_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.path = rel;
        rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
        rec.verdict = SGS_V_EXTRA_FILE;
        rec.reason = kind == SGS_SCAN_FILE      ? "present, but not listed in the manifest"
                     : kind == SGS_SCAN_SYMLINK ? "a symbolic link, not listed in the manifest"
                                                : "a special file, not listed in the manifest";
        deliver(e, &rec);
        return 0;
    }
    if (kind == SGS_SCAN_ERROR) {
        char reason[256];
        sgs_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.path = rel;
        rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
        rec.verdict = SGS_V_IO_ERROR;
        snprintf(reason, sizeof(reason), "cannot read this part of the package: %s",
                 strerror(errno_value));
        rec.reason = reason;
        deliver(e, &rec);
    }
    return 0;
}

sgs_status
sgs_engine_submit_package(sgs_engine *e, const char *const *ignore, size_t nignore)
{
    e->err[0] = '\0';
    if (e->cfg.op != SGS_OP_PACKAGE || e->pkg_root == NULL) {
        snprintf(e->err, sizeof(e->err), "no package set (sgs_engine_set_package)");
        return SGS_ERR_STATE;
    }
    if (!e->started)
        SGS_TRY(start(e));
    if (!e->pkg_checked)
        check_manifest(e);
    if (e->pkg_verdict != SGS_V_VALID) {
        sgs_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.path = e->pkg_manifest;
        rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
        rec.verdict = e->pkg_verdict;
        rec.reason = e->pkg_reason;
        rec.size = e->pkg_len;
        rec.has_size = 1;
        deliver(e, &rec);
        return SGS_OK;
    }
    if (nignore > 0) {
        e->pkg_ignore = sgs_calloc(&e->alloc, nignore, sizeof(char *));
        if (e->pkg_ignore == NULL)
            return SGS_ERR_NOMEM;
        for (size_t i = 0; i < nignore; i++)
            if ((e->pkg_ignore[e->pkg_nignore++] = sgs_strdup(&e->alloc, ignore[i])) == NULL)
                return SGS_ERR_NOMEM;
    }
    /* first job: the walk for unlisted files, so a worker does it while the others hash */
    job *const walk = sgs_malloc(&e->alloc, sizeof(job) + 1);
    if (walk == NULL)
        return SGS_ERR_NOMEM;
    memset(walk, 0, sizeof(*walk) + 1);
    walk->sig_path = walk->path;
    walk->entry = PACKAGE_WALK;
    sgs_pool_submit(e->pool, walk);
    for (size_t i = 0; i < e->manifest.count; i++) {
        const char *const rel = e->manifest.entries[i].path;
        const size_t plen = strlen(rel);
        job *const j = sgs_malloc(&e->alloc, sizeof(job) + plen + 1);
        if (j == NULL) {
            snprintf(e->err, sizeof(e->err), "out of memory while queueing");
            return SGS_ERR_NOMEM;
        }
        memset(j, 0, sizeof(*j));
        memcpy(j->path, rel, plen + 1);
        j->sig_path = j->path + plen;
        j->kind = SGS_SCAN_FILE;
        j->entry = (long)i;
        e->batch[e->nbatch++] = j;
        if (e->nbatch == sizeof(e->batch) / sizeof(e->batch[0])) {
            sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
            e->nbatch = 0;
        }
    }
    sgs_pool_submit_many(e->pool, e->batch, e->nbatch);
    e->nbatch = 0;
    return SGS_OK;
}

/* Opens rel beneath the package root and nowhere else. On failure returns -1 with errno
   (EXDEV: the path would leave the root; ELOOP: the file is a link). */
static int
open_beneath(sgs_engine *e, const char *rel)
{
    if (!atomic_load_explicit(&e->no_openat2, memory_order_relaxed)) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        const long fd = syscall(SYS_openat2, e->pkg_rootfd, rel, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return (int)fd;
        atomic_store_explicit(&e->no_openat2, 1, memory_order_relaxed);
    }
    /* No openat2: walk the components, following no link at all (stricter than needed). */
    char comp[4096];
    int dirfd = e->pkg_rootfd;
    const char *p = rel;
    for (;;) {
        const char *const slash = strchr(p, '/');
        const size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof(comp)) {
            if (dirfd != e->pkg_rootfd)
                close(dirfd);
            errno = ENOENT;
            return -1;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        const int flags = slash != NULL ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                                        : O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
        const int fd = openat(dirfd, comp, flags);
        const int saved = errno;
        if (dirfd != e->pkg_rootfd)
            close(dirfd);
        if (fd < 0 || slash == NULL) {
            errno = saved;
            return fd;
        }
        dirfd = fd;
        p = slash + 1;
    }
}

static int on_package_entry(void *opaque, const char *path, sgs_scan_kind kind, int errno_value);

static void
package_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    if (j->entry == PACKAGE_WALK) { /* the walk for unlisted files, run beside the hashing */
        extra_walk x = {e, (const char *const *)e->pkg_ignore, e->pkg_nignore};
        (void)sgs_scan_path_skipping(e->pkg_root, NULL, 0, on_package_entry, &x);
        rec->verdict = SGS_V_SKIPPED; /* not a record: see worker_run */
        return;
    }
    const sgs_manifest_entry *const me = &e->manifest.entries[j->entry];
    const int fd = open_beneath(e, j->path);
    if (fd < 0) {
        const int err = errno;
        rec->verdict = err == ENOENT || err == ENOTDIR ? SGS_V_MISSING_FILE
                       : err == ELOOP || err == EXDEV  ? SGS_V_SKIPPED
                                                       : SGS_V_IO_ERROR;
        say(w, "%s", err == ENOENT || err == ENOTDIR ? "listed in the manifest, but missing"
                     : err == ELOOP ? "a symbolic link (not followed)"
                     : err == EXDEV ? "its path leaves the package root (not followed)"
                                    : strerror(err));
        return;
    }
    struct stat sb;
    if (!stat_regular(fd, w, rec, &sb, NULL))
        return;
    sgs_digest_out d;
    const sgs_digest_result dr =
        sgs_digest_fd(&w->dc, fd, engine_md(e, me->md_nid), &sb, 0, &d);
    close(fd);
    if (digest_problem(dr, &d, rec, w) != NULL)
        return;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    rec->alg = me->md_nid == NID_sha256 ? "sha256" : me->md_nid == NID_sha384 ? "sha384" : "sha512";
    if (d.md_len != me->dlen || CRYPTO_memcmp(d.md, me->digest, me->dlen) != 0) {
        char want[SGS_DIGEST_HEX_MAX];
        sgs_hex(me->digest, me->dlen, want);
        rec->verdict = SGS_V_DIGEST_MISMATCH;
        say(w, "modified: manifest line %u expected %s, got %s", me->line, want, w->digest_hex);
        return;
    }
    say(w, "matches manifest line %u", me->line);
    rec->verdict = SGS_V_VALID; /* the bytes read hash to the signed manifest's digest */
}

/* SGS_OP_HASH: the digest of every file (manifest creation). */
static void
hash_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    struct stat sb;
    const int fd = open_input(j, w, rec, &sb);
    if (fd < 0)
        return;
    sgs_digest_out d;
    const sgs_digest_result dr = sgs_digest_fd(&w->dc, fd, e->md, &sb, 0, &d);
    close(fd);
    if (digest_problem(dr, &d, rec, w) != NULL)
        return;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    rec->alg = sgs_hash_name(e->cfg.hash);
    say(w, "hashed");
    rec->verdict = SGS_V_VALID; /* read whole and unchanged: the digest is the file's */
}

sgs_status
sgs_engine_finish(sgs_engine *e)
{
    if (e->pool != NULL)
        sgs_pool_join(e->pool);
    e->finished = 1;
    return SGS_OK;
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
    sgs_pool_free(e->pool); /* joins: every queued job is delivered first */
    sgs_journal_close(e->journal);
    sgs_pcache_close(e->pcache);
    sgs_cache_free(e->cache);
    sgs_keyset_reset(&e->keys);
    sgs_trust_reset(&e->trust);
    sgs_trust_reset(&e->tsa);
    for (unsigned i = 0; i < SGS_HASH_COUNT; i++)
        EVP_MD_free(e->fetched[i]);
    sgs_certset_cache_free(e->certsets);
    sgs_agents_free(e->agents);
    sgs_manifest_reset(&e->manifest);
    if (e->pkg_rootfd >= 0)
        close(e->pkg_rootfd);
    sgs_free(&e->alloc, e->pkg_root);
    sgs_free(&e->alloc, e->pkg_manifest);
    sgs_free(&e->alloc, e->pkg_manifest_rel);
    sgs_free(&e->alloc, e->pkg_bytes);
    for (size_t i = 0; i < e->pkg_nignore; i++)
        sgs_free(&e->alloc, e->pkg_ignore[i]);
    sgs_free(&e->alloc, e->pkg_ignore);
    EVP_PKEY_free(e->sign_key);
    X509_free(e->sign_cert);
    pthread_mutex_destroy(&e->sink_mu);
    const sgs_allocator a = e->alloc;
    sgs_free(&a, e->suffix);
    sgs_free(&a, e);
}
