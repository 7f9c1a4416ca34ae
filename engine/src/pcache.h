/* pcache.h - the persistent result cache (LMDB): file identity -> digest, content -> verdict. */
#ifndef SGS_PCACHE_H
#define SGS_PCACHE_H

#include "sigsweep.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct sgs_pcache sgs_pcache;

typedef struct sgs_pcache_verdict {
    uint8_t verdict;                 /* sgs_verdict */
    char signer[SGS_FP_HEX_LEN];
    char alg[48];
} sgs_pcache_verdict;

/*
 * Opens or creates the cache in directory dir (and the directory, with its parents). A cache
 * that is corrupt, truncated, of another format or not a cache at all is moved aside and
 * rebuilt; `notice` then says so (one line), otherwise it is "". NULL with err when the
 * directory cannot be used at all; *refused (when not NULL) is then set to 1 when the cache
 * was not used because the directory or one of its files is not owned by the invoking user
 * (euid), is writable by group or others, or is not a regular file / directory (StrictModes);
 * 0 for any other failure. A refused cache is never touched (never moved aside). EACCES, EPERM, EROFS and
 * ENOSPC are failures, never "corruption": nothing is moved aside for them.
 * THREAD SAFETY: the handle is shared by all workers; several processes may share one dir.
 */
sgs_pcache *sgs_pcache_open_checked(const sgs_allocator *a, const char *dir, int *refused,
                                    char *notice, size_t noticelen, char *err, size_t errlen);

/* Identity entries (digests, answers, records) older than `seconds` miss, so their files are
   re-hashed; 0 (the default): no limit. Call right after open, before any lookup. */
void sgs_pcache_set_max_age(sgs_pcache *c, int64_t seconds);

/* One line for the run's notice when the cache stopped being written or used during the run
   (e.g. "cache DIR: MDB_MAP_FULL...; results of this run are not cached"), else "". */
void sgs_pcache_warning(sgs_pcache *c, char *buf, size_t n);

/* A worker's read handle: one LMDB read transaction, reset and renewed per lookup (no reader
   table lock per lookup). NULL-safe free. THREAD SAFETY: one thread at a time. */
typedef struct sgs_pcache_reader sgs_pcache_reader;
sgs_pcache_reader *sgs_pcache_reader_new(sgs_pcache *c);
void sgs_pcache_reader_free(sgs_pcache_reader *r);

/* Commits the queued writes now (the cache commands; the guard, after each judgement). 0, or
   -1 with err when the cache stopped taking writes (full disk or map, an LMDB error:
   sgs_pcache_warning's line). */
int sgs_pcache_commit(sgs_pcache *c, char *err, size_t errlen);

/* Commits what is pending and closes. NULL is a no-op. */
void sgs_pcache_close(sgs_pcache *c);

/*
 * Identity (dev, ino, size, mtime, ctime) -> digest of hash `hash_tag`. A lookup returns 1 and
 * fills digest/dlen on a hit. A put is ignored for "racy" files (changed within the last
 * SGS_PCACHE_RACY_NS of the clock: their timestamps could not show a change in that tick).
 * Identity lookups (digest, answer, record) miss, and puts are ignored, for a file (or
 * signature file) that anyone but root or the invoking user can write, and for entries older
 * than the max age.
 */
#define SGS_PCACHE_RACY_NS 2000000000LL
int sgs_pcache_get_digest(sgs_pcache *c, sgs_pcache_reader *r, const struct stat *st,
                          int hash_tag, uint8_t *digest, size_t *dlen);
void sgs_pcache_put_digest(sgs_pcache *c, const struct stat *st, int hash_tag,
                           const uint8_t *digest, size_t dlen);

/* Content key -> verdict (the key already covers key set, hash, digest and signature). */
int sgs_pcache_get_verdict(sgs_pcache *c, sgs_pcache_reader *r, const uint8_t key[32],
                           sgs_pcache_verdict *out);
void sgs_pcache_put_verdict(sgs_pcache *c, const uint8_t key[32], const sgs_pcache_verdict *v);

/*
 * (file identity, signature identity, context) -> the whole answer of a raw-signature check
 * (verdict, signer, algorithm, the file's digest): a warm run needs two lstat's and this one
 * lookup per file. `ctx` names what else the verdict depends on (key set, hash, padding). Not
 * written when either file is racy; a hit counts as a digest and a verdict reused.
 */
typedef struct sgs_pcache_answer {
    sgs_pcache_verdict v;
    uint8_t md[64];
    size_t mdlen;
} sgs_pcache_answer;
int sgs_pcache_get_answer(sgs_pcache *c, sgs_pcache_reader *r, const struct stat *f,
                          const struct stat *s, const uint8_t ctx[32], sgs_pcache_answer *out);
void sgs_pcache_put_answer(sgs_pcache *c, const struct stat *f, const struct stat *s,
                           const uint8_t ctx[32], const sgs_pcache_answer *a);

/*
 * (file identity, signature file identity or none, context) -> a whole record, as bytes the
 * engine lays out (a PE file's Authenticode judgement, a CMS signature's: results that depend
 * on trust material named by `ctx`), valid for runs whose time is within from..until
 * (sgs_check_window). get: 1 and the bytes in buf[0, *len) when present and `now` is inside
 * the window; buf needs SGS_PCACHE_RECORD_MAX bytes. Not written when either file is racy or
 * for records over the maximum. A hit counts as a digest and a verdict reused.
 */
#define SGS_PCACHE_RECORD_MAX (64u * 1024u)
int sgs_pcache_get_record(sgs_pcache *c, sgs_pcache_reader *r, const struct stat *f,
                          const struct stat *sig, const uint8_t ctx[32], int64_t now,
                          uint8_t *buf, size_t cap, size_t *len);
void sgs_pcache_put_record(sgs_pcache *c, const struct stat *f, const struct stat *sig,
                           const uint8_t ctx[32], int64_t from, int64_t until,
                           const uint8_t *bytes, size_t len);

/* Counters of this process's use. */
typedef struct sgs_pcache_use {
    uint64_t digest_hits, digest_misses, verdict_hits, verdict_misses;
} sgs_pcache_use;
void sgs_pcache_usage(sgs_pcache *c, sgs_pcache_use *out);

#endif
