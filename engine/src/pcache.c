/*
 * pcache.c - the persistent result cache, on LMDB.
 *
 * DESIGN: nightly audits repeat over trees that barely change. Two tables make a re-audit
 * nearly free (the files table holds two kinds of entries, told apart by key length):
 *
 *   files:    (dev, ino, size, mtime_ns, ctime_ns, hash) -> digest   stat-based, like git/make
 *             XXH3-128(file identity, signature identity, context) -> the whole answer (both
 *             identities and the context stored and compared on a hit): a warm run's one lookup
 *             'R' XXH3-128(file and signature identity, context)  -> a whole record (PE files,
 *             CMS), with the time range it holds for (identities and context compared on a hit)
 *   verdicts: SHA-256(key set id, hash/padding, digest, signature)  -> verdict, signer, alg
 *
 * The verdict key covers everything the verdict depends on for a raw signature, so a changed
 * key set can never reuse an old verdict, and the table is portable between machines (export/
 * import). The files table trusts the stat tuple (see README, threat model); entries for files
 * changed within the last 2 s are never written (racy: a change in the same clock tick would
 * not show), and --paranoid re-hashes everything.
 *
 * Trust (issue 12): the cache trusts only itself. Its directory and files must be owned by the
 * invoking user (euid) and writable by nobody else (OpenSSH's StrictModes), else the cache is
 * not used (sgs_pcache_open_checked says "refused" so a caller requiring the cache can fail).
 * The directory is opened without following a link and used only through that descriptor.
 * The identity entries (digests, answers, records) are used only for files nobody but root or
 * the invoking user can write (a writer with a shared writable mapping changes bytes without
 * changing mtime/ctime), and only while younger than max_age (sgs_pcache_set_max_age).
 *
 * Export: a text listing of the verdicts for people and scripts to read, never read back. An
 * export is a file anyone can write and it is not signed, so no verdict of it may decide a file:
 * a VALID line would make a forged signature VALID, and a BAD_SIGNATURE line is as bad the other
 * way (a content key is computed from public things: the key set, the file's digest, the
 * signature), failing and quarantining a good file without the judge ever verifying. So there
 * is no import: each machine's cache learns its own verdicts. Identity -> digest entries are
 * never exported (file identities are machine-local).
 *
 * Full disk (issue 18): no MDB_WRITEMAP (its sparse map raises SIGBUS on a full file system);
 * MDB_MAP_FULL/ENOSPC on commit stop the writes for the rest of the run with one warning
 * (sgs_pcache_warning); what was committed before stays a consistent cache. Only corruption
 * (MDB_INVALID, MDB_CORRUPTED, ...) moves a cache aside: never EACCES/EPERM/EROFS/ENOSPC.
 *
 * Writes are queued and committed in batches (one LMDB write transaction per batch; LMDB
 * serialises writers across processes, and readers never block). A run's cache that cannot be
 * opened for corruption, has another format, or reports corruption in use is moved aside and
 * rebuilt: a cache only ever costs speed, never a verdict. The cache commands
 * (pcache_admin.c) open it as they need (sgs_pcache_open_as): only `clear` repairs, only
 * `import` creates; the others report a missing or unusable cache and change nothing.
 */
#include "pcache_impl.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <xxhash.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FORMAT "sigsweep-cache 3" /* 3: files-table values start with their write time */
#define MAP_SIZE ((size_t)4 << 30) /* sparse: only what is used takes disk */
#define BATCH 8192

typedef struct pending {
    int table; /* 0 files, 1 verdicts */
    uint8_t key[48];
    size_t klen;
    uint8_t val[320];
    uint8_t *big; /* values longer than val (records), allocated */
    size_t vlen;
} pending;

struct sgs_pcache {
    const sgs_allocator *alloc;
    MDB_env *env;
    MDB_dbi files, verdicts, meta;
    pthread_mutex_t mu;
    pending *queue;
    size_t nqueue;
    int broken;  /* an error in use: stop using it */
    int corrupt; /* ... and it was corruption: moved aside (rebuilt) on close, if repair */
    int repair;  /* opened with SGS_PCACHE_REPAIR */
    int full;    /* the disk or the map filled up: no more writes this run */
    int64_t max_age; /* seconds; 0: none. Older identity entries miss (re-hash) */
    uid_t euid;
    int dirfd;   /* the checked cache directory; LMDB opens it through /proc/self/fd */
    char warning[256]; /* one line for the run's notice, set in use (e.g. the disk filled) */
    char dir[4096];
    _Atomic uint64_t digest_hits, digest_misses, verdict_hits, verdict_misses;
};

static int
mkdirs(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Moves the cache files aside (kept for inspection) so a fresh one can be made; within the
   checked directory's descriptor, so only our own directory is ever touched. */
static void
move_aside(int dirfd)
{
    char to[64];
    snprintf(to, sizeof(to), "data.mdb.broken-%ld", (long)time(NULL));
    (void)renameat(dirfd, "data.mdb", dirfd, to);
    (void)unlinkat(dirfd, "lock.mdb", 0);
}

/* Only corrupt or foreign data is moved aside: a permission error, a read-only or full file
   system, a lack of memory or reader slots says nothing about the data, and moving another
   user's cache aside (then planting ours) is exactly what must never happen. */
static int
is_corruption(int rc)
{
    return rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
           rc == MDB_VERSION_MISMATCH || rc == MDB_INCOMPATIBLE;
}

/* StrictModes: the cache trusts only itself. Owned by the invoking user (euid), writable by
   nobody else (no group/other write bit; a POSIX ACL granting write shows in the group bits). */
static int
owned_strictly(const struct stat *sb, uid_t euid)
{
    return sb->st_uid == euid && (sb->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* 0, or -1 with err (and *refused set when the reason is ownership or mode). */
static int
check_cache_file(int dirfd, const char *dir, const char *name, uid_t euid, int *refused,
                 char *err, size_t errlen)
{
    struct stat sb;
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "cache %s/%s: %s", dir, name,
                                               strerror(errno)), -1);
    if (!S_ISREG(sb.st_mode) || !owned_strictly(&sb, euid)) {
        *refused = 1;
        snprintf(err, errlen, "cache %s/%s is not used: %s", dir, name,
                 !S_ISREG(sb.st_mode) ? "not a regular file"
                 : sb.st_uid != euid  ? "owned by another user"
                                      : "writable by group or others");
        return -1;
    }
    return 0;
}

/* 0 ok; MDB error otherwise. On success the env is open with the tables and the format key. */
static int
open_env(sgs_pcache *c, const char *dir)
{
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&c->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(c->env, 4);
    if (rc == 0)
        rc = mdb_env_set_mapsize(c->env, MAP_SIZE);
    /* No MDB_WRITEMAP: a writable map of a sparse file raises SIGBUS when the disk fills up
       (issue 18); with plain writes a full disk is an error from the commit. No MDB_NOSYNC:
       data pages are synced before the meta page, so a crash never leaves a corrupt cache. */
    if (rc == 0)
        rc = mdb_env_open(c->env, dir, MDB_NOTLS | MDB_NOMETASYNC, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &c->meta);
    char fkey[] = "format", fval[] = FORMAT; /* MDB_val wants non-const pointers */
    if (rc == 0) {
        MDB_val k = {7, fkey}, v;
        rc = mdb_get(txn, c->meta, &k, &v);
        if (rc == MDB_NOTFOUND) {
            /* new, or someone else's LMDB: a non-empty main table means foreign */
            MDB_stat st;
            MDB_dbi main_dbi;
            rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
            if (rc == 0)
                rc = mdb_stat(txn, main_dbi, &st);
            if (rc == 0 && st.ms_entries > 1)
                rc = MDB_INCOMPATIBLE;
            if (rc == 0) {
                MDB_val fv = {strlen(fval), fval};
                rc = mdb_put(txn, c->meta, &k, &fv, 0);
            }
        } else if (rc == 0 &&
                   (v.mv_size != strlen(FORMAT) || memcmp(v.mv_data, FORMAT, v.mv_size) != 0)) {
            rc = MDB_VERSION_MISMATCH;
        }
    }
    if (rc == 0)
        rc = mdb_dbi_open(txn, "files", MDB_CREATE, &c->files);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "verdicts", MDB_CREATE, &c->verdicts);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0 && c->env != NULL) {
        mdb_env_close(c->env);
        c->env = NULL;
    }
    return rc;
}

/* Opens dir (made first, with its parents, when `create`) without following a link in its last
   component and checks it and the files in it (StrictModes). The directory is then used only
   through this descriptor (LMDB through /proc/self/fd/N), so a parent swapped after the check
   cannot redirect the cache. */
static int
open_checked_dir(const char *dir, int create, uid_t euid, int *refused, char *err, size_t errlen)
{
    if (create && mkdirs(dir) != 0) {
        snprintf(err, errlen, "cache directory %s: %s", dir, strerror(errno));
        return -1;
    }
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 && errno == ENOENT && !create) {
        snprintf(err, errlen, "no cache at %s: the directory does not exist", dir);
        return -1;
    }
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "cache directory %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!owned_strictly(&sb, euid)) {
        *refused = 1;
        snprintf(err, errlen, "cache directory %s is not used: %s", dir,
                 sb.st_uid != euid ? "owned by another user" : "writable by group or others");
        close(fd);
        return -1;
    }
    if (check_cache_file(fd, dir, "data.mdb", euid, refused, err, errlen) != 0 ||
        check_cache_file(fd, dir, "lock.mdb", euid, refused, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* LMDB maps its lock file (the reader table) shared and writable after growing it with
   ftruncate: on a full file system the first touch of a page that was never allocated raises
   SIGBUS (issue 18). The pages are allocated here, before LMDB maps them; LMDB keeps a lock
   file that is already large enough. 0, or an errno (ENOSPC: run without the cache). */
#define LOCK_BYTES 8192 /* LMDB's own size for its default 126 readers, rounded to a page */
static int
preallocate_lock(int dirfd)
{
    const int fd = openat(dirfd, "lock.mdb", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        const int e = errno;
        if (fd >= 0)
            close(fd);
        return e;
    }
    const off_t size = sb.st_size > LOCK_BYTES ? sb.st_size : LOCK_BYTES;
    const int rc = posix_fallocate(fd, 0, size);
    close(fd);
    return rc;
}

sgs_pcache *
sgs_pcache_open_as(const sgs_allocator *a, const char *dir, unsigned how, int *refused,
                   char *notice, size_t noticelen, char *err, size_t errlen)
{
    int refused_local = 0;
    int *const ref = refused != NULL ? refused : &refused_local;
    *ref = 0;
    notice[0] = '\0';
    const uid_t euid = geteuid();
    const int create = (how & SGS_PCACHE_CREATE) != 0;
    const int dirfd = open_checked_dir(dir, create, euid, ref, err, errlen);
    if (dirfd < 0)
        return NULL;
    struct stat before;
    const int existed = fstatat(dirfd, "data.mdb", &before, AT_SYMLINK_NOFOLLOW) == 0;
    if (!existed && !create) {
        snprintf(err, errlen, "no cache at %s: the directory holds no data.mdb", dir);
        close(dirfd);
        return NULL;
    }
    sgs_pcache *const c = sgs_calloc(a, 1, sizeof(*c));
    if (c == NULL) {
        close(dirfd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->alloc = a;
    c->euid = euid;
    c->dirfd = dirfd;
    c->repair = (how & SGS_PCACHE_REPAIR) != 0;
    snprintf(c->dir, sizeof(c->dir), "%s", dir);
    c->queue = sgs_calloc(a, BATCH, sizeof(pending));
    if (c->queue == NULL) {
        close(dirfd);
        sgs_free(a, c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    char via[64];
    snprintf(via, sizeof(via), "/proc/self/fd/%d", dirfd);
    int rc = preallocate_lock(dirfd);
    const int lock_failed = rc != 0;
    if (lock_failed)
        snprintf(err, errlen, "cache %s/lock.mdb: %s", dir, strerror(rc));
    else
        rc = open_env(c, via);
    if (is_corruption(rc) && c->repair) {
        snprintf(notice, noticelen, "cache %s is unusable (%s): moved aside and rebuilt", dir,
                 mdb_strerror(rc));
        move_aside(dirfd);
        rc = open_env(c, via);
    }
    /* files LMDB created are checked too (a umask cannot make them group-writable: 0600) */
    if (rc == 0 && (check_cache_file(dirfd, dir, "data.mdb", euid, ref, err, errlen) != 0 ||
                    check_cache_file(dirfd, dir, "lock.mdb", euid, ref, err, errlen) != 0)) {
        mdb_env_close(c->env);
        c->env = NULL;
        rc = -1;
    } else if (is_corruption(rc)) {
        snprintf(err, errlen,
                 "cache %s is unusable (%s): a verify run with --cache-dir rebuilds it, or "
                 "`sigsweep cache clear`",
                 dir, mdb_strerror(rc));
    } else if (rc != 0 && !lock_failed) {
        snprintf(err, errlen, "cache %s: %s", dir, mdb_strerror(rc));
    }
    if (rc != 0 && !existed && !*ref) /* half made by us (e.g. disk full): leave nothing */
        (void)unlinkat(dirfd, "data.mdb", 0);
    if (rc != 0) {
        pthread_mutex_destroy(&c->mu);
        close(dirfd);
        sgs_free(a, c->queue);
        sgs_free(a, c);
        return NULL;
    }
    return c;
}

sgs_pcache *
sgs_pcache_open_checked(const sgs_allocator *a, const char *dir, int *refused, char *notice,
                        size_t noticelen, char *err, size_t errlen)
{
    return sgs_pcache_open_as(a, dir, SGS_PCACHE_CREATE | SGS_PCACHE_REPAIR, refused, notice,
                              noticelen, err, errlen);
}

void
sgs_pcache_set_max_age(sgs_pcache *c, int64_t seconds)
{
    if (c != NULL)
        c->max_age = seconds > 0 ? seconds : 0;
}

void
sgs_pcache_warning(sgs_pcache *c, char *buf, size_t n)
{
    buf[0] = '\0';
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    snprintf(buf, n, "%s", c->warning);
    pthread_mutex_unlock(&c->mu);
}

/* Called with c->mu held. */
static void
flush_locked(sgs_pcache *c)
{
    if (c->nqueue == 0 || c->broken || c->full) {
        for (size_t i = 0; i < c->nqueue; i++) {
            sgs_free(c->alloc, c->queue[i].big);
            c->queue[i].big = NULL;
        }
        c->nqueue = 0;
        return;
    }
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(c->env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < c->nqueue; i++) {
        pending *const p = &c->queue[i];
        MDB_val k = {p->klen, p->key}, v = {p->vlen, p->big != NULL ? p->big : p->val};
        rc = mdb_put(txn, p->table ? c->verdicts : c->files, &k, &v, 0);
    }
    for (size_t i = 0; i < c->nqueue; i++) {
        sgs_free(c->alloc, c->queue[i].big);
        c->queue[i].big = NULL;
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
        /* full: stop adding, keep reading; what was committed before stays consistent */
        c->full = 1;
        snprintf(c->warning, sizeof(c->warning),
                 "cache %.200s: %s; results of this run are not cached", c->dir, mdb_strerror(rc));
    } else if (rc != 0) {
        c->broken = 1;
        c->corrupt = is_corruption(rc);
        snprintf(c->warning, sizeof(c->warning), "cache %.200s: %s; no longer used in this run",
                 c->dir, mdb_strerror(rc));
    }
    c->nqueue = 0;
}

void
sgs_pcache_close(sgs_pcache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    flush_locked(c);
    pthread_mutex_unlock(&c->mu);
    if (c->env != NULL) {
        (void)mdb_env_sync(c->env, 1);
        mdb_env_close(c->env);
    }
    if (c->corrupt && c->repair)
        move_aside(c->dirfd); /* rebuilt by the next run */
    close(c->dirfd);
    pthread_mutex_destroy(&c->mu);
    sgs_free(c->alloc, c->queue);
    sgs_free(c->alloc, c);
}

static void
enqueue(sgs_pcache *c, int table, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    uint8_t *big = NULL;
    if (vlen > sizeof(c->queue[0].val) && (big = sgs_malloc(c->alloc, vlen)) == NULL)
        return; /* a cache only ever costs speed: not remembered */
    if (big != NULL)
        memcpy(big, val, vlen);
    pthread_mutex_lock(&c->mu);
    if (!c->broken && !c->full && klen <= sizeof(c->queue[0].key)) {
        pending *const p = &c->queue[c->nqueue++];
        p->table = table;
        memcpy(p->key, key, klen);
        p->klen = klen;
        if (big == NULL)
            memcpy(p->val, val, vlen);
        p->big = big;
        big = NULL;
        p->vlen = vlen;
        if (c->nqueue == BATCH)
            flush_locked(c);
    }
    pthread_mutex_unlock(&c->mu);
    sgs_free(c->alloc, big);
}

struct sgs_pcache_reader {
    sgs_pcache *c;
    MDB_txn *txn; /* reset between lookups */
};

sgs_pcache_reader *
sgs_pcache_reader_new(sgs_pcache *c)
{
    sgs_pcache_reader *const r = sgs_calloc(c->alloc, 1, sizeof(*r));
    if (r != NULL)
        r->c = c;
    return r;
}

void
sgs_pcache_reader_free(sgs_pcache_reader *r)
{
    if (r == NULL)
        return;
    if (r->txn != NULL)
        mdb_txn_abort(r->txn);
    sgs_free(r->c->alloc, r);
}

/* 1 hit (value copied), 0 miss; an error marks the cache broken (and misses). */
static int
lookup(sgs_pcache *c, sgs_pcache_reader *r, MDB_dbi dbi, const uint8_t *key, size_t klen,
       uint8_t *val, size_t *vlen, size_t cap)
{
    if (c->broken)
        return 0;
    MDB_txn *txn = NULL;
    int rc;
    if (r != NULL && r->txn != NULL) {
        rc = mdb_txn_renew(r->txn);
        txn = r->txn;
    } else {
        rc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn);
        if (rc == 0 && r != NULL)
            r->txn = txn;
    }
    int hit = 0;
    if (rc == 0) {
        uint8_t kbuf[48];
        memcpy(kbuf, key, klen < sizeof(kbuf) ? klen : sizeof(kbuf));
        MDB_val k = {klen < sizeof(kbuf) ? klen : sizeof(kbuf), kbuf}, v;
        rc = mdb_get(txn, dbi, &k, &v);
        if (rc == 0 && v.mv_size <= cap) {
            memcpy(val, v.mv_data, v.mv_size);
            *vlen = v.mv_size;
            hit = 1;
        }
        if (r != NULL)
            mdb_txn_reset(txn); /* keeps the reader slot; the next lookup renews it */
        else
            mdb_txn_abort(txn);
    } else if (r != NULL && r->txn != NULL && txn == r->txn) {
        mdb_txn_abort(r->txn);
        r->txn = NULL;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        pthread_mutex_lock(&c->mu);
        c->broken = 1;
        c->corrupt = is_corruption(rc);
        pthread_mutex_unlock(&c->mu);
    }
    return hit;
}

static size_t
identity_key(const struct stat *st, int hash_tag, uint8_t key[48])
{
    const uint64_t f[6] = {
        (uint64_t)st->st_dev,
        (uint64_t)st->st_ino,
        (uint64_t)st->st_size,
        (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec,
        (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec,
        (uint64_t)hash_tag};
    memcpy(key, f, sizeof(f));
    return sizeof(f);
}

/*
 * The identity fast path trusts that a file whose (dev, ino, size, mtime, ctime) did not change
 * has the same bytes. That holds only against writers who cannot change content without the
 * times: a shared writable mapping can. So it is used only for files nobody but root or the
 * invoking user can write (owner 0 or euid, no group/other write bit); for any other file a
 * lookup misses (the file is re-hashed) and nothing is stored.
 */
static int
only_trusted_writers(const sgs_pcache *c, const struct stat *st)
{
    return st != NULL && (st->st_uid == 0 || st->st_uid == c->euid) &&
           (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static int64_t
now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec;
}

/* Every files-table value starts with the time it was written (8 bytes): entries older than
   max_age, or from the future (a clock set back), miss. */
#define STAMP 8
static int
fresh(const sgs_pcache *c, const uint8_t *stamp)
{
    int64_t written;
    memcpy(&written, stamp, 8);
    const int64_t now = now_seconds();
    return written <= now + 1 && (c->max_age == 0 || now - written <= c->max_age);
}

static void
put_stamp(uint8_t *stamp)
{
    const int64_t now = now_seconds();
    memcpy(stamp, &now, 8);
}

int
sgs_pcache_get_digest(sgs_pcache *c, sgs_pcache_reader *r, const struct stat *st, int hash_tag,
                      uint8_t *digest, size_t *dlen)
{
    uint8_t key[48], val[STAMP + 64];
    size_t vlen = 0;
    const size_t klen = identity_key(st, hash_tag, key);
    const int hit = only_trusted_writers(c, st) &&
                    lookup(c, r, c->files, key, klen, val, &vlen, sizeof(val)) &&
                    vlen > STAMP && fresh(c, val);
    if (hit) {
        *dlen = vlen - STAMP;
        memcpy(digest, val + STAMP, *dlen);
    }
    atomic_fetch_add_explicit(hit ? &c->digest_hits : &c->digest_misses, 1, memory_order_relaxed);
    return hit;
}

static int
racy(const struct stat *st)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const long long now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    const long long m = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    const long long ch = (long long)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
    return now_ns - (m > ch ? m : ch) < SGS_PCACHE_RACY_NS;
}

void
sgs_pcache_put_digest(sgs_pcache *c, const struct stat *st, int hash_tag, const uint8_t *digest,
                      size_t dlen)
{
    if (racy(st) || !only_trusted_writers(c, st) || dlen > 64)
        return; /* racy: a change within this tick would leave the same timestamps */
    uint8_t key[48], val[STAMP + 64];
    const size_t klen = identity_key(st, hash_tag, key);
    put_stamp(val);
    memcpy(val + STAMP, digest, dlen);
    enqueue(c, 0, key, klen, val, STAMP + dlen);
}

/* The material of answers and records: the file's identity, the signature file's (zeros for
   none) and the context, 112 bytes, stored with the entry and compared whole on a hit; the
   entry's key is its XXH3-128, after an optional one-byte tag. Returns the key's length. */
#define PAIR_MATERIAL (40 + 40 + 32)
static size_t
pair_key(const struct stat *f, const struct stat *sig, const uint8_t ctx[32], uint8_t tag,
         uint8_t material[PAIR_MATERIAL], uint8_t key[17])
{
    uint8_t id[48];
    identity_key(f, 0, id);
    memcpy(material, id, 40);
    memset(material + 40, 0, 40);
    if (sig != NULL) {
        identity_key(sig, 0, id);
        memcpy(material + 40, id, 40);
    }
    memcpy(material + 80, ctx, 32);
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits(material, PAIR_MATERIAL));
    size_t n = 0;
    if (tag != 0)
        key[n++] = tag;
    memcpy(key + n, canon.digest, 16);
    return n + 16;
}

/* The answers' material: both identities and the context, compared whole on a hit (the key is
   only its XXH3-128, 16 bytes long, so it never meets a 48-byte identity key). */
#define ANSWER_MATERIAL PAIR_MATERIAL
#define ANSWER_VALUE (ANSWER_MATERIAL + 1 + 64 + 48 + 1 + 64 + STAMP) /* stamp last */

int
sgs_pcache_get_answer(sgs_pcache *c, sgs_pcache_reader *r, const struct stat *f,
                      const struct stat *s, const uint8_t ctx[32], sgs_pcache_answer *out)
{
    uint8_t material[ANSWER_MATERIAL], key[17], val[ANSWER_VALUE];
    size_t vlen = 0;
    const size_t klen = pair_key(f, s, ctx, 0, material, key);
    const uint8_t *const v = val + ANSWER_MATERIAL;
    int hit = only_trusted_writers(c, f) && only_trusted_writers(c, s) &&
              lookup(c, r, c->files, key, klen, val, &vlen, sizeof(val)) &&
              vlen == ANSWER_VALUE && memcmp(val, material, ANSWER_MATERIAL) == 0 &&
              v[0] < SGS_VERDICT_COUNT && v[1 + 64 + 48] <= 64 &&
              fresh(c, val + ANSWER_VALUE - STAMP);
    if (hit) {
        out->v.verdict = v[0];
        memcpy(out->v.signer, v + 1, 64);
        out->v.signer[64] = '\0';
        memcpy(out->v.alg, v + 65, 48);
        out->v.alg[47] = '\0';
        out->mdlen = v[113];
        memcpy(out->md, v + 114, out->mdlen);
        if (strspn(out->v.signer, "0123456789abcdef") != 64 && out->v.signer[0] != '\0')
            hit = 0;
    }
    if (hit) { /* neither file read, the verdict reused */
        atomic_fetch_add_explicit(&c->digest_hits, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->verdict_hits, 1, memory_order_relaxed);
    }
    return hit;
}

void
sgs_pcache_put_answer(sgs_pcache *c, const struct stat *f, const struct stat *s,
                      const uint8_t ctx[32], const sgs_pcache_answer *a)
{
    if (racy(f) || racy(s) || a->mdlen > 64 || !only_trusted_writers(c, f) ||
        !only_trusted_writers(c, s))
        return;
    uint8_t material[ANSWER_MATERIAL], key[17], val[ANSWER_VALUE];
    const size_t klen = pair_key(f, s, ctx, 0, material, key);
    memset(val, 0, sizeof(val));
    memcpy(val, material, ANSWER_MATERIAL);
    uint8_t *const v = val + ANSWER_MATERIAL;
    v[0] = a->v.verdict;
    memcpy(v + 1, a->v.signer, strnlen(a->v.signer, 64));
    memcpy(v + 65, a->v.alg, strnlen(a->v.alg, 47));
    v[113] = (uint8_t)a->mdlen;
    memcpy(v + 114, a->md, a->mdlen);
    put_stamp(val + ANSWER_VALUE - STAMP);
    enqueue(c, 0, key, klen, val, sizeof(val));
}

/* Records: 'R' + XXH3-128(file identity, signature identity or zeros, context); the value
   starts with all three, compared whole, then the window, then the engine's bytes. */
#define RECORD_MATERIAL PAIR_MATERIAL
#define RECORD_HEAD (RECORD_MATERIAL + 8 + 8 + STAMP)

int
sgs_pcache_get_record(sgs_pcache *c, sgs_pcache_reader *r, const struct stat *f,
                      const struct stat *sig, const uint8_t ctx[32], int64_t now, uint8_t *buf,
                      size_t cap, size_t *len)
{
    uint8_t material[RECORD_MATERIAL], key[17];
    pair_key(f, sig, ctx, 'R', material, key);
    size_t vlen = 0;
    if (cap < RECORD_HEAD || !only_trusted_writers(c, f) ||
        (sig != NULL && !only_trusted_writers(c, sig)) ||
        !lookup(c, r, c->files, key, sizeof(key), buf, &vlen, cap) || vlen < RECORD_HEAD ||
        memcmp(buf, material, sizeof(material)) != 0 || !fresh(c, buf + RECORD_MATERIAL + 16))
        return 0;
    int64_t from, until;
    memcpy(&from, buf + RECORD_MATERIAL, 8);
    memcpy(&until, buf + RECORD_MATERIAL + 8, 8);
    if (now < from || now > until)
        return 0; /* judged for another time: a certificate expired or was not yet valid */
    memmove(buf, buf + RECORD_HEAD, vlen - RECORD_HEAD);
    *len = vlen - RECORD_HEAD;
    atomic_fetch_add_explicit(&c->digest_hits, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->verdict_hits, 1, memory_order_relaxed);
    return 1;
}

void
sgs_pcache_put_record(sgs_pcache *c, const struct stat *f, const struct stat *sig,
                      const uint8_t ctx[32], int64_t from, int64_t until, const uint8_t *bytes,
                      size_t len)
{
    if (racy(f) || (sig != NULL && racy(sig)) || len > SGS_PCACHE_RECORD_MAX - RECORD_HEAD ||
        !only_trusted_writers(c, f) || (sig != NULL && !only_trusted_writers(c, sig)))
        return;
    uint8_t material[RECORD_MATERIAL], key[17];
    pair_key(f, sig, ctx, 'R', material, key);
    uint8_t *const val = sgs_malloc(c->alloc, RECORD_HEAD + len);
    if (val == NULL)
        return;
    memcpy(val, material, sizeof(material));
    memcpy(val + RECORD_MATERIAL, &from, 8);
    memcpy(val + RECORD_MATERIAL + 8, &until, 8);
    put_stamp(val + RECORD_MATERIAL + 16);
    memcpy(val + RECORD_HEAD, bytes, len);
    enqueue(c, 0, key, sizeof(key), val, RECORD_HEAD + len);
    sgs_free(c->alloc, val);
}

int
sgs_pcache_get_verdict(sgs_pcache *c, sgs_pcache_reader *r, const uint8_t key[32],
                       sgs_pcache_verdict *out)
{
    uint8_t val[128];
    size_t vlen = 0;
    int hit = lookup(c, r, c->verdicts, key, 32, val, &vlen, sizeof(val));
    if (hit && (vlen != 1 + 64 + 48 || val[0] >= SGS_VERDICT_COUNT))
        hit = 0; /* not ours: ignore it */
    if (hit) {
        out->verdict = val[0];
        memcpy(out->signer, val + 1, 64);
        out->signer[64] = '\0';
        memcpy(out->alg, val + 65, 48);
        out->alg[47] = '\0';
        if (strspn(out->signer, "0123456789abcdef") != 64 && out->signer[0] != '\0')
            hit = 0;
    }
    atomic_fetch_add_explicit(hit ? &c->verdict_hits : &c->verdict_misses, 1, memory_order_relaxed);
    return hit;
}

void
sgs_pcache_put_verdict(sgs_pcache *c, const uint8_t key[32], const sgs_pcache_verdict *v)
{
    uint8_t val[1 + 64 + 48];
    memset(val, 0, sizeof(val));
    val[0] = v->verdict;
    memcpy(val + 1, v->signer, strnlen(v->signer, 64));
    memcpy(val + 65, v->alg, strnlen(v->alg, 47));
    enqueue(c, 1, key, 32, val, sizeof(val));
}

void
sgs_pcache_usage(sgs_pcache *c, sgs_pcache_use *out)
{
    out->digest_hits = atomic_load_explicit(&c->digest_hits, memory_order_relaxed);
    out->digest_misses = atomic_load_explicit(&c->digest_misses, memory_order_relaxed);
    out->verdict_hits = atomic_load_explicit(&c->verdict_hits, memory_order_relaxed);
    out->verdict_misses = atomic_load_explicit(&c->verdict_misses, memory_order_relaxed);
}

MDB_env *
sgs_pcache_env(const sgs_pcache *c, MDB_dbi *files, MDB_dbi *verdicts)
{
    *files = c->files;
    *verdicts = c->verdicts;
    return c->env;
}

int
sgs_pcache_commit(sgs_pcache *c, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->mu);
    flush_locked(c);
    const int failed = c->broken || c->full;
    if (failed)
        snprintf(err, errlen, "%s", c->warning);
    pthread_mutex_unlock(&c->mu);
    return failed ? -1 : 0;
}
