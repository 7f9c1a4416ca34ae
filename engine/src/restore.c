/*
 * restore.c - undo quarantine exactly, from the journal (and, on request, from stray
 * *_invalid files found on disk).
 *
 * DESIGN: for each journal entry not yet restored, three states are possible after any crash:
 * the file still sits at its original name with the journalled identity (the rename never
 * happened: "not moved"), it sits at the quarantine name with that identity (rename it back,
 * RENAME_NOREPLACE), or something else is there (refuse, saying what: the original name was
 * re-used, or the quarantined file changed or vanished). Identity is (dev, inode, size, mtime).
 * Each successful restore is journalled ("R") before the next one starts. A journal is input:
 * restore only renames, inside the directory holding the quarantined file (opened following no
 * link, renameat2 within its descriptor, RENAME_NOREPLACE), a name quarantine gives the
 * recorded original back to that original name; any other record is refused and reported. The
 * journal lock is held for the whole restore (see journal.c). SGS_OK only when every record
 * asked about was restored or accounted for (never moved, or already restored).
 */
#include "alloc.h"
#include "journal.h"
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
matches(const struct stat *st, const sgs_journal_entry *q)
{
    return S_ISREG(st->st_mode) && (uint64_t)st->st_dev == q->dev && (uint64_t)st->st_ino == q->ino &&
           (uint64_t)st->st_size == q->size &&
           (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec == q->mtime_ns;
}

/* Opens directory dir following no symbolic link in any component (from / for an absolute
   path, else from the working directory): O_PATH descriptors, good for the *at calls. */
static int
open_dir_nofollow(const char *dir)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(buf[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (char *p = buf, *save = NULL, *c; fd >= 0 && (c = strtok_r(p, "/", &save)) != NULL;
         p = NULL) {
        const int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const int saved = errno;
        close(fd);
        fd = next;
        errno = saved;
    }
    return fd;
}

/* Splits path into its directory (in dir) and base name; -1 when either is unusable. */
static int
split(const char *path, char *dir, size_t n, const char **base)
{
    const char *const slash = strrchr(path, '/');
    *base = slash != NULL ? slash + 1 : path;
    if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
        return -1;
    const size_t dlen = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (dlen >= n)
        return -1;
    memcpy(dir, slash == NULL ? "." : slash == path ? "/" : path, dlen);
    dir[dlen] = '\0';
    return 0;
}

/*
 * The only rename restore makes: inside the directory holding the quarantined file (opened
 * following no link), from a name sigsweep's quarantine gives the recorded original's base name
 * back to that base name, RENAME_NOREPLACE. A journal record that asks for anything else (other
 * directories, other names) is refused: a journal is input, and must not move files elsewhere.
 */
typedef struct confined {
    int dfd;
    const char *obase, *qbase;
} confined;

static const char *
confine(const char *orig, const char *quarantined, confined *c)
{
    char odir[PATH_MAX], qdir[PATH_MAX];
    c->dfd = -1;
    if (split(orig, odir, sizeof(odir), &c->obase) != 0 ||
        split(quarantined, qdir, sizeof(qdir), &c->qbase) != 0 || strcmp(odir, qdir) != 0 ||
        !sgs_journal_is_quarantine_name(c->obase, c->qbase))
        return "not a quarantine rename sigsweep makes (other directory or name): refused";
    c->dfd = open_dir_nofollow(odir);
    if (c->dfd < 0)
        return "its directory cannot be opened without following a link: refused";
    return NULL;
}

/* Is path (absolute, as journalled) at or under one of the filters? Filters are resolved
   to absolute paths; one that no longer resolves (the file is quarantined) is made absolute
   through its directory. */
static int
under(const char *path, const char *const *paths, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        char *abs = realpath(paths[i], NULL);
        if (abs == NULL) {
            char dir[4096];
            snprintf(dir, sizeof(dir), "%s", paths[i]);
            char *const slash = strrchr(dir, '/');
            const char *const base = slash != NULL ? slash + 1 : paths[i];
            if (slash != NULL)
                *slash = '\0';
            char *const d = realpath(slash != NULL ? (dir[0] ? dir : "/") : ".", NULL);
            if (d != NULL) {
                const size_t len = strlen(d) + strlen(base) + 2;
                abs = malloc(len);
                if (abs != NULL)
                    snprintf(abs, len, "%s/%s", strcmp(d, "/") == 0 ? "" : d, base);
                free(d);
            }
        }
        const char *const f = abs != NULL ? abs : paths[i];
        size_t len = strlen(f);
        while (len > 1 && f[len - 1] == '/')
            len--;
        const int hit = strncmp(path, f, len) == 0 && (path[len] == '\0' || path[len] == '/');
        free(abs);
        if (hit)
            return 1;
    }
    return 0;
}

static void
report(sgs_restore_fn fn, void *opaque, const char *orig, const char *q, sgs_restore_action a,
       const char *reason, unsigned *refused)
{
    sgs_restore_record r = {orig, q, a, reason};
    if (a == SGS_RESTORE_REFUSED)
        (*refused)++;
    fn(opaque, &r);
}

/* The name a stray quarantined file had: strip "_invalid" or "_invalid.N". NULL if none. */
static char *
original_of(const char *path)
{
    const char *const mark = strstr(path, "_invalid");
    if (mark == NULL)
        return NULL;
    const char *last = mark, *next;
    while ((next = strstr(last + 1, "_invalid")) != NULL)
        last = next;
    const char *tail = last + strlen("_invalid");
    if (*tail == '.') {
        tail++;
        if (*tail == '\0')
            return NULL;
        while (*tail >= '0' && *tail <= '9')
            tail++;
    }
    if (*tail != '\0' || last == path || last[-1] == '/')
        return NULL;
    const size_t n = (size_t)(last - path);
    char *const out = sgs_malloc(NULL, n + 1);
    if (out != NULL) {
        memcpy(out, path, n);
        out[n] = '\0';
    }
    return out;
}

typedef struct scan_ctx {
    const sgs_journal_entry *entries;
    size_t n;
    int dry_run;
    sgs_restore_fn fn;
    void *opaque;
    unsigned *refused, *restored;
} scan_ctx;

static int
on_stray(void *opaque, const char *path, sgs_scan_kind kind, int errno_value)
{
    scan_ctx *const c = opaque;
    (void)errno_value;
    if (kind != SGS_SCAN_FILE)
        return 0;
    char *const orig = original_of(path);
    if (orig == NULL)
        return 0;
    for (size_t i = 0; i < c->n; i++) { /* the journal's own entries are handled there */
        if (strcmp(c->entries[i].quarantined, path) == 0) {
            sgs_free(NULL, orig);
            return 0;
        }
    }
    struct stat st;
    confined cf;
    const char *const bad = confine(orig, path, &cf);
    if (bad != NULL) {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_REFUSED, bad, c->refused);
    } else if (fstatat(cf.dfd, cf.obase, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_REFUSED,
               "the original name is in use again", c->refused);
    } else if (c->dry_run) {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_WOULD, "stray quarantined file",
               c->refused);
    } else if (renameat2(cf.dfd, cf.qbase, cf.dfd, cf.obase, RENAME_NOREPLACE) == 0) {
        (*c->restored)++;
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_DONE, "stray quarantined file",
               c->refused);
    } else {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_REFUSED, strerror(errno), c->refused);
    }
    if (cf.dfd >= 0)
        close(cf.dfd);
    sgs_free(NULL, orig);
    return 0;
}

sgs_status
sgs_restore(const sgs_restore_opts *o, sgs_restore_fn fn, void *opaque, char *err,
            size_t errlen)
{
    sgs_journal_entry *e = NULL;
    size_t n = 0;
    unsigned refused = 0, restored = 0;
    err[0] = '\0';
    struct stat jst;
    const int have_journal = o->journal != NULL && lstat(o->journal, &jst) == 0;
    if (o->journal != NULL && !have_journal && o->nscan == 0) {
        snprintf(err, errlen, "%s: %s", o->journal, strerror(errno));
        return SGS_ERR_IO;
    }
    /* The journal lock is held for the whole restore: a concurrent `verify --quarantine`
       finishes the rename in flight first, and starts none until restore is done, so every
       record is seen with its final state. Not a FIFO or device (non-blocking, regular). */
    const int fd = have_journal ? open(o->journal, (o->dry_run ? O_RDONLY : O_WRONLY | O_APPEND) |
                                                       O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                                : -1;
    if (have_journal && (fd < 0 || fstat(fd, &jst) != 0 || !S_ISREG(jst.st_mode) ||
                         sgs_journal_lock(fd) != 0)) {
        snprintf(err, errlen, "%s: %s", o->journal,
                 fd >= 0 && !S_ISREG(jst.st_mode) ? "not a regular file, not a journal"
                                                  : strerror(errno));
        if (fd >= 0)
            close(fd);
        return fd >= 0 && !S_ISREG(jst.st_mode) ? SGS_ERR_FORMAT : SGS_ERR_IO;
    }
    if (have_journal && sgs_journal_read(o->journal, &e, &n, err, errlen) != 0) {
        close(fd);
        return SGS_ERR_FORMAT;
    }
    /* newest first: a file quarantined twice is walked back through its names in order */
    for (size_t k = n; k-- > 0;) {
        sgs_journal_entry *const q = &e[k];
        if (q->restored || !under(q->orig, o->paths, o->npaths))
            continue;
        confined cf;
        const char *const bad = confine(q->orig, q->quarantined, &cf);
        if (bad != NULL) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED, bad, &refused);
            if (cf.dfd >= 0)
                close(cf.dfd);
            continue;
        }
        struct stat at_orig, at_q;
        const int orig_there = fstatat(cf.dfd, cf.obase, &at_orig, AT_SYMLINK_NOFOLLOW) == 0;
        const int q_there = fstatat(cf.dfd, cf.qbase, &at_q, AT_SYMLINK_NOFOLLOW) == 0;
        if (orig_there && matches(&at_orig, q)) {
            if (!o->dry_run && sgs_journal_append_mark(fd, 'R', q->seq) == 0)
                q->restored = 1;
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_NOT_MOVED,
                   "the rename never happened", &refused);
        } else if (orig_there) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED,
                   "the original name is in use again", &refused);
        } else if (!q_there || !matches(&at_q, q)) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED,
                   q_there ? "the quarantined file changed since it was quarantined"
                           : "the quarantined file is gone",
                   &refused);
        } else if (o->dry_run) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_WOULD, "", &refused);
        } else if (renameat2(cf.dfd, cf.qbase, cf.dfd, cf.obase, RENAME_NOREPLACE) != 0) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED, strerror(errno),
                   &refused);
        } else {
            if (sgs_journal_append_mark(fd, 'R', q->seq) != 0)
                refused++; /* restored, but the journal does not say so: not a clean exit */
            q->restored = 1;
            restored++;
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_DONE, "", &refused);
        }
        close(cf.dfd);
    }
    scan_ctx c = {e, n, o->dry_run, fn, opaque, &refused, &restored};
    for (size_t i = 0; i < o->nscan; i++)
        (void)sgs_scan_path_skipping(o->scan[i], NULL, 0, on_stray, &c);
    if (fd >= 0) {
        sgs_journal_unlock(fd);
        close(fd);
    }
    sgs_journal_entries_free(e, n);
    (void)restored;
    return refused > 0 ? SGS_ERR_STATE : SGS_OK;
}

const char *
sgs_default_journal(char *buf, size_t n)
{
    const char *const state = getenv("XDG_STATE_HOME");
    const char *const home = getenv("HOME");
    if (state != NULL && state[0] == '/')
        snprintf(buf, n, "%s/sigsweep/quarantine.journal", state);
    else
        snprintf(buf, n, "%s/.local/state/sigsweep/quarantine.journal",
                 home != NULL && home[0] ? home : ".");
    return buf;
}
