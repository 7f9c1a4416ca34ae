/*
 * engine.h - the run's private state, shared by the engine's pipeline files: engine.c (config,
 * the walk, workers, the sink), enforce.c (the quarantine hold and the circuit breaker), job.c
 * (a job's files), vstore.c (the verdict store), judge_raw.c, judge_cms.c, judge_pe.c (one
 * judge per format), sign.c, job_agent.c and job_package.c (the other job kinds). Nothing
 * outside engine/src includes it.
 */
#ifndef SGS_ENGINE_H
#define SGS_ENGINE_H

#include "agents.h"
#include "alloc.h"
#include "authenticode.h"
#include "cache.h"
#include "cms.h"
#include "digest.h"
#include "edsig.h"
#include "err.h"
#include "keys.h"
#include "manifest.h"
#include "pcache.h"
#include "sink.h"
#include "pe.h"
#include "pool.h"
#include "journal.h"
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

typedef struct job {
    uint64_t seq; /* the sink's ticket: records leave in this order */
    sgs_scan_kind kind;
    int errno_value;
    const char *agent; /* SGS_OP_AGENTS: the agent id, in the same allocation; else NULL */
    const sgs_manifest_entry *listed; /* SGS_OP_PACKAGE: the manifest's entry for path (in the
                                         job's allocation); else NULL */
    char *sig_path; /* F<suffix>; points into path's allocation */
    char *p7s_path; /* F.p7s, or NULL when the suffix is ".p7s" itself */
    char *minisig_path; /* F.minisig (verify runs), or NULL; sig_path itself when the suffix is
                           ".minisig" */
    unsigned present; /* the walk saw F<suffix> (bit 0), F.p7s (bit 1), F.minisig (bit 2)
                         beside F; or
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
    /* compressed kernel modules (judge_kmod.c): the file as read, its payload */
    uint8_t *kmod_in, *kmod_out;
    size_t kmod_in_cap, kmod_out_cap;
    uint8_t *rec_buf; /* --cache: a record, as stored (SGS_PCACHE_RECORD_MAX bytes) */
    uint64_t max_file_size; /* cfg.max_file_size */
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
    sgs_edkeys minisign_keys; /* --minisign-key (judge_edsig.c) */
    sgs_edkeys signify_keys;  /* --signify-key (judge_edsig.c, signed checksum lists) */
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
    int pkg_manifest_fd;         /* opened once (set_package), read once (the judge) */
    uint64_t pkg_len;            /* the manifest's bytes as read */
    sgs_manifest *manifest;      /* its entries, sorted (the judge), handed out once (submit) */
    sgs_verdict pkg_verdict;
    char pkg_reason[1024];
    int pkg_checked;
    _Atomic int no_openat2;      /* the kernel lacks openat2: walk components instead */
    char **pkg_ignore;           /* copies of the --ignore patterns */
    size_t pkg_nignore;
    int trust_material; /* any sgs_engine_add_certs() or cfg.trust.system */
    EVP_PKEY *sign_key;
    sgs_key sign_desc;
    X509 *sign_cert; /* set: `sign` writes CMS (F.p7s) instead of a raw signature */
    sgs_cache *cache;
    sgs_pool *pool;
    int started, finished;
    int prepared; /* sgs_engine_prepare done */
    int guarded;  /* a guard judges with this engine: no run of its own */
    void *batch[128]; /* jobs found by the walk, queued together (controlling thread only) */
    size_t nbatch;
    sgs_sink sink; /* records out in queue order; enforcement's held records */
    char breaker[512]; /* why nothing was quarantined ("" when the renames went ahead) */
    char held_reason[REASON_MAX + 4096 + 512]; /* a held record's reason with its outcome */
    _Atomic uint64_t quarantine_refused;
    _Atomic uint64_t files, bytes, cache_hits, verifications, quarantined;
    _Atomic uint64_t signatures_kept; /* sign: existing signature files left as they were */
    _Atomic int cancelled; /* sgs_engine_cancel(): stop walking, drop queued jobs */
    sgs_journal *journal; /* --quarantine */
    sgs_pcache *pcache;   /* --cache */
    uint8_t answer_ctx[32]; /* what a raw verdict depends on besides the two files (set at start) */
    uint8_t trust_ctx[32]; /* what a PE or CMS judgement depends on besides the files */
    int trust_cacheable;   /* --cache, and no trust material outside sigsweep's sight */
    char notice[512];
    uint64_t (*quarantined_ids)[8]; /* files the journal says sigsweep quarantined and did
                                      not restore, as they were right after the rename (dev,
                                      ino, size, mtime, ctime, their directory's dev and ino,
                                      a hash of the name): sorted; only these are not judged
                                      again */
    size_t nquarantined_ids;
    struct {
        char name[256];
        uint64_t dev, ino;
    } excluded[8]; /* sgs_engine_exclude: the run's own report */
    size_t nexcluded;
    const char *walk_root; /* the path being submitted (sgs_engine_submit), for shards */
    char start_err[512]; /* why the journal or a required cache cannot be used (start() says) */
    int start_refused;   /* the journal could not be opened: start() refuses to run */
    _Atomic uint64_t verdicts[SGS_VERDICT_COUNT];
    char err[512];
};

/* The window of a judgement no time can change. */
extern const sgs_check_window sgs_vstore_for_good;

void sgs_say(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sgs_job_digest_problem(sgs_digest_result r, const sgs_digest_out *d, sgs_record *rec, worker *w);
#define SGS_JOB_SIGFILES_MAX 3
size_t sgs_job_signature_files(const job *j, const char *paths[SGS_JOB_SIGFILES_MAX],
                               unsigned kinds[SGS_JOB_SIGFILES_MAX], int *listed);
int sgs_job_lstat(const job *j, const char *full, struct stat *sb);
int sgs_job_open(const job *j, const char *full);
/* The role of a file that could not be opened, for sgs_job_open_failure(). */
typedef enum sgs_file_role {
    SGS_ROLE_INPUT,     /* F itself */
    SGS_ROLE_SIGNATURE, /* F's detached signature */
    SGS_ROLE_AGENT_KEY, /* an agent's key file */
    SGS_ROLE_LISTED     /* a file a package manifest lists */
} sgs_file_role;
/* The one errno -> verdict map: sets w->reason, returns the verdict. */
sgs_verdict sgs_job_open_failure(worker *w, sgs_file_role role, int err, const char *path);
/* When F has several signature files, the first decides (F.p7s, F.minisig, F<suffix>): the
   reason names the others that exist (w->reason). `judged`: the one read, or NULL (none). */
void sgs_job_note_precedence(const job *j, worker *w, const char *judged);
/* pread until n bytes, EOF or an error (EINTR retried); the bytes read. */
size_t sgs_pread_full(int fd, uint8_t *buf, size_t n, uint64_t off);
/* Grows a worker buffer to at least `need` bytes (contents not kept). 1 on success. */
int sgs_worker_grow(sgs_engine *e, uint8_t **buf, size_t *cap, size_t need);
int sgs_job_open_input(const job *j, worker *w, sgs_record *rec, struct stat *sb);
int sgs_job_stat_regular(int fd, worker *w, sgs_record *rec, struct stat *sb, const char *subject);
int sgs_vstore_warm(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec,
                    struct stat *fst, const char **sig_found);
sgs_status sgs_engine_start(sgs_engine *e);
/* The checks and contexts of a run without its workers (once): a guard's start. */
sgs_status sgs_engine_prepare(sgs_engine *e);
/* A worker's state outside the pool (the guard's threads); NULL when out of memory, not ok
   (w->ok 0) when part of it could not be made. NULL-safe free. */
worker *sgs_worker_create(sgs_engine *e);
void sgs_worker_free(sgs_engine *e, worker *w);
/* A job for `path` (F's name at path + name_at), its signature files beside it, looked up
   (nothing listed); owned by the caller: sgs_free(&e->alloc, j). NULL: out of memory. */
job *sgs_job_create(sgs_engine *e, const char *path, size_t name_at);
/* A record for path, not judged yet (verdict SGS_V_UNJUDGED), every string "". */
void sgs_record_start(sgs_record *rec, const char *path);
/* The guard's two steps for F open as fd (never opened again by its path: the path names
   only its signature files): what the verdict store knows (1: rec is that judgement), and a
   judgement through the descriptor. rec's strings live in w until its next use; *sb: F's
   fstat (lookup: made by the caller through fd, on entry; judge: made here). */
int sgs_engine_lookup_fd(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec,
                         struct stat *sb);
void sgs_engine_judge_fd(sgs_engine *e, worker *w, const job *j, int fd, sgs_record *rec,
                         struct stat *sb);
/* Before queueing: starts the workers on first use; SGS_ERR_STATE once finished (e->err). */
sgs_status sgs_engine_ready(sgs_engine *e);
size_t sgs_job_read_signature(const job *j, const char *sig_path, worker *w, sgs_record *rec, int *absent);
void sgs_agent_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec);
/* Every record goes out through here, with its job's ticket (job.seq). */
void sgs_engine_deliver(sgs_engine *e, uint64_t seq, const sgs_record *rec);
/* Queues a job found by a walk or a list: takes its ticket, batches it (flushes when full). */
void sgs_engine_queue(sgs_engine *e, job *j);
/* Hands the batched jobs to the workers. */
void sgs_engine_flush(sgs_engine *e);
void sgs_hash_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec);
void sgs_package_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec);
void sgs_say(worker *w, const char *fmt, ...);
void sgs_sign_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec);
void sgs_vstore_put_answer(const sgs_engine *e, const worker *w, const struct stat *sb,
                const sgs_pcache_verdict *pv, const uint8_t *md, size_t mdlen);
void sgs_vstore_put_record(sgs_engine *e, worker *w, const struct stat *sb, const struct stat *sig,
                const sgs_check_window *win, sgs_verdict v, const sgs_record *rec);
/* A record as delivered: an unjudged or out-of-range verdict becomes an internal error. */
const sgs_record *sgs_record_checked(const sgs_record *rec, sgs_record *fixed);
/* fleet.c: whether an input whose relative path (or agent id) is rel is in the run's shard */
int sgs_engine_in_shard(const sgs_engine *e, const char *rel);
/* fleet.c: a walked path relative to the path being submitted (walk_root); the path given
   itself (or a file a signature given names) is its own relative path */
const char *sgs_engine_shard_rel(const sgs_engine *e, const char *path);
/* enforce.c: the journal's quarantined identities (at create); 1 when path is one of them */
void sgs_enforce_load_journal(sgs_engine *e, const char *journal);
int sgs_enforce_own_quarantine(const sgs_engine *e, const sgs_scan_entry *ent);
/* 1: a verdict on the file's own contents, which quarantine renames (verify and guard):
   never a missing, skipped, unreadable or changed file. */
int sgs_quarantinable(sgs_verdict v);
/* Enforcement holds a quarantinable record until the run's end (1: held). */
int sgs_enforce_hold(sgs_engine *e, worker *w, const job *j, sgs_record *rec, const struct stat *sb);
/* At the run's end: the circuit breaker, then every held record out with its outcome. */
void sgs_enforce_decide(sgs_engine *e);
void sgs_vstore_raw_key(const sgs_engine *e, const uint8_t *digest, size_t dlen,
                 const uint8_t sighash[32], uint8_t key[32]);
void sgs_vstore_raw_key_sig(const sgs_engine *e, const worker *w, const uint8_t *digest, size_t dlen,
                   size_t siglen, uint8_t key[32]);

#endif
