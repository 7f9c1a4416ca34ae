/*
 * restore.c - undo quarantine exactly, from the journal (and, on request, from stray
 * *_invalid files found on disk).
 *
 * DESIGN: for each journal entry not yet restored, three states are possible after any crash:
 * the file still sits at its original name with the journalled identity (the rename never
 * happened: "not moved"), it sits at the quarantine name with that identity (rename it back,
 * RENAME_NOREPLACE), or something else is there (refuse, saying what: the original name was
 * re-used, or the quarantined file changed or vanished). Identity is (dev, inode, size, mtime).
 * Each successful restore is journalled ("R") before the next one starts.
 */
#include "alloc.h"
#include "journal.h"
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
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
    if (lstat(orig, &st) == 0) {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_REFUSED,
               "the original name is in use again", c->refused);
    } else if (c->dry_run) {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_WOULD, "stray quarantined file",
               c->refused);
    } else if (renameat2(AT_FDCWD, path, AT_FDCWD, orig, RENAME_NOREPLACE) == 0) {
        (*c->restored)++;
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_DONE, "stray quarantined file",
               c->refused);
    } else {
        report(c->fn, c->opaque, orig, path, SGS_RESTORE_REFUSED, strerror(errno), c->refused);
    }
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
    const int have_journal = o->journal != NULL && stat(o->journal, &jst) == 0;
    if (o->journal != NULL && !have_journal && o->nscan == 0) {
        snprintf(err, errlen, "%s: %s", o->journal, strerror(errno));
        return SGS_ERR_IO;
    }
    if (have_journal && sgs_journal_read(o->journal, &e, &n, err, errlen) != 0)
        return SGS_ERR_FORMAT;
    const int fd = have_journal && !o->dry_run ? open(o->journal, O_WRONLY | O_APPEND | O_CLOEXEC)
                                               : -1;
    if (have_journal && !o->dry_run && fd < 0) {
        snprintf(err, errlen, "%s: %s", o->journal, strerror(errno));
        sgs_journal_entries_free(e, n);
        return SGS_ERR_IO;
    }
    /* newest first: a file quarantined twice is walked back through its names in order */
    for (size_t k = n; k-- > 0;) {
        sgs_journal_entry *const q = &e[k];
        if (q->restored || !under(q->orig, o->paths, o->npaths))
            continue;
        struct stat at_orig, at_q;
        const int orig_there = lstat(q->orig, &at_orig) == 0;
        const int q_there = lstat(q->quarantined, &at_q) == 0;
        if (orig_there && matches(&at_orig, q)) {
            if (!o->dry_run && sgs_journal_append_mark(fd, 'R', q->seq) == 0)
                q->restored = 1;
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_NOT_MOVED,
                   "the rename never happened", &refused);
            continue;
        }
        if (orig_there) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED,
                   "the original name is in use again", &refused);
            continue;
        }
        if (!q_there || !matches(&at_q, q)) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED,
                   q_there ? "the quarantined file changed since it was quarantined"
                           : "the quarantined file is gone",
                   &refused);
            continue;
        }
        if (o->dry_run) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_WOULD, "", &refused);
            continue;
        }
        if (renameat2(AT_FDCWD, q->quarantined, AT_FDCWD, q->orig, RENAME_NOREPLACE) != 0) {
            report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_REFUSED, strerror(errno),
                   &refused);
            continue;
        }
        (void)sgs_journal_append_mark(fd, 'R', q->seq);
        q->restored = 1;
        restored++;
        report(fn, opaque, q->orig, q->quarantined, SGS_RESTORE_DONE, "", &refused);
    }
    scan_ctx c = {e, n, o->dry_run, fn, opaque, &refused, &restored};
    for (size_t i = 0; i < o->nscan; i++)
        (void)sgs_scan_path_skipping(o->scan[i], NULL, 0, on_stray, &c);
    if (fd >= 0)
        close(fd);
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
