/*
 * quarantine.c - enforcement: failing program files are renamed <name>_invalid, and every
 * rename can be undone exactly, even after a crash in the middle of a run.
 *
 * DESIGN: the journal is an append-only text file. Before a rename, a "Q" record with the
 * file's identity (dev, inode, size, mtime) and both names is written and fsync'd; after it, a
 * "D" record; `restore` appends "R". A crash between Q and the rename leaves a Q whose file is
 * still at its original name with the same identity: restore recognises it as "not moved". The
 * rename itself is renameat2(RENAME_NOREPLACE), so a name that exists is never replaced; and it
 * happens only if lstat still shows the very file that was judged, and the inode it moved is
 * checked AFTER the rename: if a file was swapped in between, it is renamed back at once (U),
 * so no other inode than the judged one can stay quarantined (issue 12). Each step holds the
 * journal lock (journal.c) from Q to D/U. A file that cannot be quarantined (no name, EXDEV,
 * permissions, journal) is SGS_QUARANTINE_FAILED and counted (sgs_journal_failures); one that
 * is no longer the judged file is SGS_QUARANTINE_NOT_THE_FILE. A name too long for the suffix
 * gets a shortened name with a hash of the original (journal.c), recorded in the journal.
 *
 *   sigsweep-journal 1
 *   Q <seq> <dev> <ino> <size> <mtime_ns> <orig hex> <new hex>
 *   D <seq> <ctime_ns>   renamed; the file's ctime after the rename (an older journal: no ctime)
 *   U <seq>     a swapped-in inode was renamed back (nothing quarantined)
 *   R <seq>     restored
 *
 * <seq> is unique in the journal, also across runs sharing it (drawn under the lock).
 */
#include "quarantine.h"

#include "alloc.h"
#include "digest.h"
#include "journal.h"
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

struct sgs_journal {
    const sgs_allocator *alloc;
    int fd;
    file_id protect[8]; /* never quarantined: the journal itself, the cache's files */
    size_t protect_count;
    uint64_t scanned, max_seq; /* how far the journal was read for sequence numbers */
    const atomic_int *cancel;  /* set: stop waiting for the lock (the run was stopped) */
    int lock_gave_up;          /* a wait for the lock timed out: the next steps do not wait */
    /* the journal's quarantines as followed so far (any run's), for "not again": read only
       when a quarantine-shaped name is about to be renamed, then only what was appended */
    uint64_t followed;
    struct quarantined {
        uint64_t seq, dev, ino;
        char *at; /* the journalled quarantine path */
        int over; /* R or U: no longer quarantined */
    } *recs;
    size_t nrecs, caprecs;
    _Atomic uint64_t failures;        /* judged files that could not be quarantined */
    pthread_mutex_t mu;
};

sgs_journal *
sgs_journal_open(const sgs_allocator *a, const char *path, char *err, size_t errlen)
{
    const int fd = sgs_journal_open_fd(path, err, errlen);
    if (fd < 0)
        return NULL;
    sgs_journal *const j = sgs_calloc(a, 1, sizeof(*j));
    if (j == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->alloc = a;
    j->fd = fd;
    struct stat self;
    if (fstat(fd, &self) == 0) {
        j->protect[0].dev = self.st_dev;
        j->protect[0].ino = self.st_ino;
        j->protect_count = 1;
    }
    pthread_mutex_init(&j->mu, NULL);
    return j;
}

int
sgs_journal_fd(const sgs_journal *j)
{
    return j->fd;
}

void
sgs_journal_set_cancel(sgs_journal *j, const atomic_int *cancel)
{
    j->cancel = cancel;
}

void
sgs_journal_close(sgs_journal *j)
{
    if (j == NULL)
        return;
    (void)fsync(j->fd);
    close(j->fd);
    for (size_t i = 0; i < j->nrecs; i++)
        sgs_free(j->alloc, j->recs[i].at);
    sgs_free(j->alloc, j->recs);
    pthread_mutex_destroy(&j->mu);
    sgs_free(j->alloc, j);
}

uint64_t
sgs_journal_failures(sgs_journal *j)
{
    return j != NULL ? atomic_load(&j->failures) : 0;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Before the rename: also the ctime, which a rewrite with its mtime put back (or a chmod, a
   new link) changes; after the rename it cannot be asked (the rename itself changes it). */
static int
unchanged(const struct stat *now, const struct stat *judged)
{
    return same_file(now, judged) && now->st_ctim.tv_sec == judged->st_ctim.tv_sec &&
           now->st_ctim.tv_nsec == judged->st_ctim.tv_nsec;
}

/* Why a file is not at its name as judged, said plainly: already quarantined (the judged
   inode under one of its quarantine names: a concurrent run sharing the journal did it), or
   renamed or removed by someone. */
static sgs_quarantine_result
gone(int dfd, const char *given, const char *base, const struct stat *judged, int err, char *why,
     size_t whylen)
{
    if (err != ENOENT) {
        snprintf(why, whylen, "not quarantined: %s: %s", given, strerror(err));
        return SGS_QUARANTINE_FAILED;
    }
    for (unsigned n = 0; n <= 999; n++) {
        char qname[NAME_MAX + 1];
        struct stat qs;
        if (sgs_journal_quarantine_name(base, n, qname, sizeof(qname)) != 0 ||
            fstatat(dfd, qname, &qs, AT_SYMLINK_NOFOLLOW) != 0)
            break;
        if (same_file(&qs, judged)) {
            snprintf(why, whylen, "not quarantined here: it is already under the quarantine "
                                  "name %s (renamed by another run sharing the journal, or by "
                                  "someone else)", qname);
            return SGS_QUARANTINE_NOT_THE_FILE;
        }
    }
    snprintf(why, whylen, "not quarantined: %s is no longer there (renamed or removed since it "
                          "was judged)", given);
    return SGS_QUARANTINE_NOT_THE_FILE;
}

static int
on_followed(void *opaque, sgs_journal_line *r)
{
    sgs_journal *const j = opaque;
    if (r->kind == 'R' || r->kind == 'U') {
        for (size_t i = j->nrecs; i-- > 0;)
            if (j->recs[i].seq == r->seq) {
                j->recs[i].over = 1;
                break;
            }
        return 0;
    }
    if (r->kind != 'Q')
        return 0; /* D: a Q counts without it (its rename may have happened, the D not) */
    if (j->nrecs == j->caprecs) {
        const size_t cap = j->caprecs ? 2 * j->caprecs : 64;
        struct quarantined *const g = sgs_calloc(j->alloc, cap, sizeof(*g));
        if (g == NULL)
            return -2;
        if (j->nrecs > 0)
            memcpy(g, j->recs, j->nrecs * sizeof(*g));
        sgs_free(j->alloc, j->recs);
        j->recs = g;
        j->caprecs = cap;
    }
    struct quarantined *const q = &j->recs[j->nrecs++];
    q->seq = r->seq;
    q->dev = r->dev;
    q->ino = r->ino;
    q->at = r->quarantined; /* taken */
    q->over = 0;
    r->quarantined = NULL;
    return 0;
}

/* Under the lock: is the file now at `path` (absolute, as journalled) one the journal records
   as quarantined there (any run, not restored or undone)? NOT_THE_FILE with why when it is,
   DONE when it is not (go on), FAILED when the journal cannot be read. Only the records
   appended since the last call are read. */
static sgs_quarantine_result
already_ours(sgs_journal *j, const struct stat *now, const char *path, char *why, size_t whylen)
{
    const int rc = sgs_journal_follow(j->alloc, j->fd, &j->followed, on_followed, j);
    if (rc != 0) {
        snprintf(why, whylen, "not quarantined: cannot read the journal: %s",
                 rc == -2 ? "out of memory" : "a read error or a malformed record");
        return SGS_QUARANTINE_FAILED;
    }
    for (size_t i = 0; i < j->nrecs; i++) {
        const struct quarantined *const q = &j->recs[i];
        if (!q->over && q->dev == (uint64_t)now->st_dev && q->ino == (uint64_t)now->st_ino &&
            strcmp(q->at, path) == 0) {
            snprintf(why, whylen, "not quarantined again: it is sigsweep's quarantine already "
                     "(journal record %" PRIu64 "); `sigsweep restore` puts it back", q->seq);
            return SGS_QUARANTINE_NOT_THE_FILE;
        }
    }
    return SGS_QUARANTINE_DONE;
}

/*
 * One quarantine step, under the journal's mutex (threads) and lock (processes), within the
 * held directory descriptor: Q record (synced), renameat2(NOREPLACE), then the renamed inode is
 * checked against the judged one. The check after the rename is what makes a swap between
 * "check" and "rename" harmless: whatever inode the rename moved, a wrong one is renamed back
 * at once (U record), so only the judged inode can stay quarantined.
 */
static sgs_quarantine_result
rename_checked(sgs_journal *j, int dfd, const char *given, const char *path, const char *dir,
               const char *base, const struct stat *judged, const char *shown_dir,
               char *newpath, size_t newlen, char *why, size_t whylen)
{
    char journalled[PATH_MAX + NAME_MAX + 2]; /* the new name, absolute, for restore */
    sgs_quarantine_result res = SGS_QUARANTINE_FAILED;
    pthread_mutex_lock(&j->mu);
    /* one wait per run, not one per file: once timed out, the lock is only tried */
    if (sgs_journal_lock(j->fd, j->cancel, j->lock_gave_up ? 0 : SGS_JOURNAL_LOCK_WAIT_S) != 0) {
        const int err = errno;
        j->lock_gave_up |= err == ETIMEDOUT;
        pthread_mutex_unlock(&j->mu);
        snprintf(why, whylen, "not quarantined: cannot lock the journal: %s",
                 sgs_journal_lock_error(err));
        return res;
    }
    why[0] = '\0';
    /* checked again under the lock: another run sharing the journal may have quarantined (or
       someone removed) it since the caller looked; that is said, not tried and failed */
    struct stat now;
    if (fstatat(dfd, base, &now, AT_SYMLINK_NOFOLLOW) != 0) {
        res = gone(dfd, given, base, judged, errno, why, whylen);
        goto out;
    }
    if (!S_ISREG(now.st_mode) || !unchanged(&now, judged)) {
        res = SGS_QUARANTINE_NOT_THE_FILE;
        snprintf(why, whylen, "not quarantined: the file changed or was replaced since it was "
                              "judged");
        goto out;
    }
    /* sigsweep's own quarantine (this journal, any run, read now under the lock) is judged
       when it is not as it was left, but never renamed again */
    if (sgs_journal_quarantine_shaped(base)) {
        res = already_ours(j, &now, path, why, whylen);
        if (res != SGS_QUARANTINE_DONE)
            goto out;
        res = SGS_QUARANTINE_FAILED;
    }
    for (unsigned n = 0; n <= 999; n++) {
        char newbase[NAME_MAX + 1];
        struct stat taken, moved;
        if (sgs_journal_quarantine_name(base, n, newbase, sizeof(newbase)) != 0) {
            snprintf(why, whylen, "not quarantined: no quarantine name for it");
            break;
        }
        if (fstatat(dfd, newbase, &taken, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        const int w = snprintf(journalled, sizeof(journalled), "%s/%s",
                               strcmp(dir, "/") == 0 ? "" : dir, newbase);
        const int shown = snprintf(newpath, newlen, "%s%s", shown_dir, newbase);
        if (w < 0 || (size_t)w >= sizeof(journalled) || shown < 0 || (size_t)shown >= newlen) {
            /* the journal must hold the whole name */
            snprintf(why, whylen, "not quarantined: its path is too long to be journalled");
            break;
        }
        const uint64_t seq = sgs_journal_next_seq(j->fd, &j->scanned, &j->max_seq);
        if (seq == 0 || sgs_journal_append_q(j->fd, seq, judged, path, journalled) != 0) {
            snprintf(why, whylen, "not quarantined: cannot write the journal: %s",
                     strerror(errno));
            break;
        }
        if (renameat2(dfd, base, dfd, newbase, RENAME_NOREPLACE) != 0) {
            const int err = errno;
            if (err == EEXIST)
                continue; /* the name appeared meanwhile; its Q is "not moved" for restore */
            if (err == ENOENT) { /* removed or renamed by someone not holding the lock */
                (void)sgs_journal_append_mark(j->fd, 'U', seq); /* nothing moved */
                res = gone(dfd, given, base, judged, err, why, whylen);
                break;
            }
            snprintf(why, whylen, "not quarantined: rename to %s: %s", newbase, strerror(err));
            break;
        }
        if (fstatat(dfd, newbase, &moved, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&moved, judged)) {
            (void)sgs_journal_append_done(j->fd, seq, &moved);
            res = SGS_QUARANTINE_DONE;
            break;
        }
        /* another inode was swapped in under the name between the check and the rename: put
           it back; the judged file is not at its name any more (moved by someone) */
        if (renameat2(dfd, newbase, dfd, base, RENAME_NOREPLACE) == 0) {
            (void)sgs_journal_append_mark(j->fd, 'U', seq);
            res = SGS_QUARANTINE_NOT_THE_FILE;
            snprintf(why, whylen, "not quarantined: another file was put in its place while it "
                                  "was being quarantined (renamed back)");
        } else {
            snprintf(why, whylen, "not quarantined: another file was put in its place while it "
                                  "was being quarantined; it is now %s and could not be renamed "
                                  "back (%s): `restore` refuses it as changed", newpath,
                     strerror(errno));
        }
        break;
    }
    if (res == SGS_QUARANTINE_FAILED && why[0] == '\0')
        snprintf(why, whylen, "not quarantined: no free _invalid name");
out:
    sgs_journal_unlock(j->fd);
    pthread_mutex_unlock(&j->mu);
    return res;
}

/* The absolute path of the directory open as dfd: the kernel's name for it. */
static int
dir_path_of(int dfd, char *out, size_t outlen)
{
    char fdlink[64];
    snprintf(fdlink, sizeof(fdlink), "/proc/self/fd/%d", dfd);
    const ssize_t n = readlink(fdlink, out, outlen - 1);
    if (n <= 0 || (size_t)n >= outlen - 1 || out[0] != '/')
        return -1;
    out[n] = '\0';
    return 0;
}

sgs_quarantine_result
sgs_quarantine_file_ex(sgs_journal *j, const char *given, const struct stat *judged, dev_t dir_dev,
                       ino_t dir_ino, char *newpath, size_t newlen, char *why, size_t whylen)
{
    newpath[0] = '\0';
    /* The new name is said as the file was given: "dir/x" becomes "dir/x_invalid" (relative
       stays relative); only the journal holds the absolute paths. */
    char shown_dir[PATH_MAX];
    const char *const given_slash = strrchr(given, '/');
    const int sd = snprintf(shown_dir, sizeof(shown_dir), "%.*s",
                            given_slash != NULL ? (int)(given_slash - given) + 1 : 0, given);
    if (sd < 0 || (size_t)sd >= sizeof(shown_dir)) {
        snprintf(why, whylen, "not quarantined: its path is too long to be journalled");
        atomic_fetch_add(&j->failures, 1);
        return SGS_QUARANTINE_FAILED;
    }
    /* The directory is opened from the path as given without following a link in any of its
       components, and must be the very directory the file was judged in (dir_dev, dir_ino):
       a directory of the path moved away and replaced by a link (or by another directory)
       since then cannot send the rename elsewhere, outside the tree (issue 18). */
    const char *const base = given_slash != NULL ? given_slash + 1 : given;
    const int dfd = sgs_open_parent_nofollow(given);
    const int open_err = errno;
    /* the journal holds the directory's absolute path (restore works from any working
       directory): the kernel's name for the descriptor opened, not a second lookup */
    char dir[PATH_MAX];
    const int dir_known = dfd >= 0 && dir_path_of(dfd, dir, sizeof(dir)) == 0;
    struct stat ds;
    sgs_quarantine_result res = SGS_QUARANTINE_FAILED;
    if (dfd < 0 && (open_err == ELOOP || open_err == ENOENT || open_err == ENOTDIR)) {
        res = SGS_QUARANTINE_NOT_THE_FILE;
        snprintf(why, whylen, "not quarantined: %s", open_err == ELOOP
                     ? "a directory of its path is now a symbolic link (moved or replaced "
                       "since it was judged; not followed)"
                     : "its directory is no longer there (moved or removed since it was judged)");
    } else if (dfd < 0 || fstat(dfd, &ds) != 0) {
        snprintf(why, whylen, "not quarantined: its directory: %s",
                 strerror(dfd < 0 ? open_err : errno));
    } else if (!dir_known) {
        snprintf(why, whylen, "not quarantined: the absolute path of its directory is unknown "
                              "(/proc/self/fd cannot be read)");
    } else if (dir_ino != 0 && (ds.st_dev != dir_dev || ds.st_ino != dir_ino)) {
        res = SGS_QUARANTINE_NOT_THE_FILE;
        snprintf(why, whylen, "not quarantined: its directory is not the one it was judged in "
                              "(moved or replaced since)");
    } else {
        /* the judged identity (the file at the name is checked against it under the lock) */
        int own = 0;
        for (size_t i = 0; i < j->protect_count; i++)
            own |= j->protect[i].dev == judged->st_dev && j->protect[i].ino == judged->st_ino;
        if (own) {
            res = SGS_QUARANTINE_NOT_THE_FILE;
            snprintf(why, whylen, "not quarantined: it is one of sigsweep's own files");
        } else {
            char orig[PATH_MAX + NAME_MAX + 2];
            snprintf(orig, sizeof(orig), "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, base);
            res = rename_checked(j, dfd, given, orig, dir, base, judged, shown_dir, newpath,
                                 newlen, why, whylen);
        }
    }
    if (res == SGS_QUARANTINE_FAILED)
        atomic_fetch_add(&j->failures, 1);
    if (dfd >= 0)
        close(dfd);
    return res;
}

int
sgs_quarantine_file(sgs_journal *j, const char *given, const struct stat *judged, dev_t dir_dev,
                    ino_t dir_ino, char *newpath, size_t newlen, char *why, size_t whylen)
{
    return sgs_quarantine_file_ex(j, given, judged, dir_dev, dir_ino, newpath, newlen, why,
                                  whylen) == SGS_QUARANTINE_DONE;
}

void
sgs_journal_protect(sgs_journal *j, const char *path)
{
    struct stat sb;
    if (j == NULL || j->protect_count == sizeof(j->protect) / sizeof(j->protect[0]) ||
        stat(path, &sb) != 0)
        return;
    j->protect[j->protect_count].dev = sb.st_dev;
    j->protect[j->protect_count].ino = sb.st_ino;
    j->protect_count++;
}
