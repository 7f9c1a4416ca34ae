/*
 * quarantine.c - enforcement: failing program files are renamed <name>_invalid, and every
 * rename can be undone exactly, even after a crash in the middle of a run.
 *
 * DESIGN: the journal is an append-only text file. Before a rename, a "Q" record with the
 * file's identity (dev, inode, size, mtime) and both names is written and fsync'd; after it, a
 * "D" record; `restore` appends "R". A crash between Q and the rename leaves a Q whose file is
 * still at its original name with the same identity: restore recognises it as "not moved". The
 * rename itself is renameat2(RENAME_NOREPLACE), so a name that exists is never replaced; and it
 * happens only if lstat still shows the very file that was judged.
 *
 *   sigsweep-journal 1
 *   Q <seq> <dev> <ino> <size> <mtime_ns> <orig hex> <new hex>
 *   D <seq>
 *   R <seq>
 */
#include "quarantine.h"

#include "alloc.h"
#include "digest.h"
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
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
    uint64_t next_seq;
    pthread_mutex_t mu;
};

sgs_journal *
sgs_journal_open(const sgs_allocator *a, const char *path, char *err, size_t errlen)
{
    uint64_t last = 0;
    if (sgs_journal_prepare(path, &last, err, errlen) != 0)
        return NULL;
    const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
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
    j->next_seq = last + 1;
    pthread_mutex_init(&j->mu, NULL);
    return j;
}

void
sgs_journal_close(sgs_journal *j)
{
    if (j == NULL)
        return;
    (void)fsync(j->fd);
    close(j->fd);
    pthread_mutex_destroy(&j->mu);
    sgs_free(j->alloc, j);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int
sgs_quarantine_file(sgs_journal *j, const char *given, const struct stat *judged,
                    dev_t dir_dev, ino_t dir_ino, char *newpath, size_t newlen, char *why,
                    size_t whylen)
{
    struct stat now;
    /* The journal holds absolute paths: restore must work from any working directory. The
       final component is a regular file (checked below), so realpath resolves only its
       directories. */
    char *const path = realpath(given, NULL);
    if (path == NULL || lstat(path, &now) != 0 || !S_ISREG(now.st_mode) ||
        !same_file(&now, judged) || lstat(given, &now) != 0 || !same_file(&now, judged)) {
        free(path);
        snprintf(why, whylen, "not quarantined: the file changed or moved since it was judged");
        return 0;
    }
    /* The rename happens in the directory the walk listed the file in, through its
       descriptor: a directory of the path swapped for a link since then cannot send it
       elsewhere (outside the tree). */
    char *const slash = strrchr(path, '/');
    const char *const base = slash + 1;
    *slash = '\0';
    const int dfd = open(slash == path ? "/" : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    struct stat ds, fs;
    if (dfd < 0 || fstat(dfd, &ds) != 0 || (dir_ino != 0 && (ds.st_dev != dir_dev ||
                                                              ds.st_ino != dir_ino)) ||
        fstatat(dfd, base, &fs, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(&fs, judged)) {
        if (dfd >= 0)
            close(dfd);
        free(path);
        snprintf(why, whylen, "not quarantined: its directory is not the one walked (a "
                              "directory of the path was replaced?)");
        return 0;
    }
    if (j->protect_count > 0) {
        for (size_t i = 0; i < j->protect_count; i++) {
            if (j->protect[i].dev == now.st_dev && j->protect[i].ino == now.st_ino) {
                free(path);
                snprintf(why, whylen, "not quarantined: it is one of sigsweep's own files");
                return 0;
            }
        }
    }
    int ok = 0;
    pthread_mutex_lock(&j->mu);
    for (unsigned n = 0; n < 1000 && !ok; n++) {
        char newbase[512];
        if (n == 0)
            snprintf(newbase, sizeof(newbase), "%s_invalid", base);
        else
            snprintf(newbase, sizeof(newbase), "%s_invalid.%u", base, n);
        snprintf(newpath, newlen, "%.*s/%s", (int)(base - 1 - path), path, newbase);
        struct stat taken;
        if (fstatat(dfd, newbase, &taken, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        const uint64_t seq = j->next_seq++;
        if (sgs_journal_append_q(j->fd, seq, judged, path, newpath) != 0) {
            snprintf(why, whylen, "not quarantined: cannot write the journal: %s",
                     strerror(errno));
            break;
        }
        if (renameat2(dfd, base, dfd, newbase, RENAME_NOREPLACE) == 0) {
            (void)sgs_journal_append_mark(j->fd, 'D', seq);
            ok = 1;
        } else if (errno != EEXIST) {
            snprintf(why, whylen, "not quarantined: rename: %s", strerror(errno));
            break;
        } /* EEXIST: the name appeared meanwhile; its Q is "not moved" for restore */
    }
    pthread_mutex_unlock(&j->mu);
    close(dfd);
    free(path);
    if (!ok && why[0] == '\0')
        snprintf(why, whylen, "not quarantined: no free _invalid name");
    return ok;
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
