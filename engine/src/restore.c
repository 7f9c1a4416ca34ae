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
 *
 * A dry run takes every decision the real run takes, in the same order, through the same
 * code: only the rename itself is replaced by a note of the names it would free and take
 * (`names`), which later lookups consult before the disk. So `--dry-run` predicts the list,
 * the actions and the reasons exactly (a file quarantined twice, two strays of one name, a
 * stray of a name a journal entry gives back). The stray walk skips the journal's files, by
 * their absolute names: its quarantined names, and the originals this run gives back.
 * Paths are said as the user gave them: a journal entry under a PATH or --scan DIR given is
 * named through it (relative stays relative); others by the journal's absolute path.
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

/* A PATH or --scan DIR as the user gave it, and resolved to an absolute path. */
typedef struct given {
    const char *shown; /* as given */
    size_t shown_len;  /* without trailing slashes ("/" stays) */
    char *abs;         /* absolute; NULL when it cannot be resolved */
    size_t abs_len;    /* likewise */
} given;

/* Without trailing slashes; "/" stays "/". */
static size_t
trimmed_len(const char *p)
{
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        len--;
    return len;
}

/* The absolute form of a path the user gave; one that no longer resolves (the file is
   quarantined) is made absolute through its directory. NULL when neither works. */
static char *
resolve(const char *path)
{
    char *abs = realpath(path, NULL);
    if (abs != NULL)
        return abs;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *const slash = strrchr(dir, '/');
    const char *const base = slash != NULL ? slash + 1 : path;
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
    return abs;
}

/* Is path (absolute) at or under g? Then the length of g's absolute part in it, else 0. */
static size_t
at_or_under(const char *path, const given *g)
{
    const char *const f = g->abs != NULL ? g->abs : g->shown;
    const size_t len = g->abs != NULL ? g->abs_len : g->shown_len;
    if (len == 1 && f[0] == '/')
        return path[0] == '/' ? 1 : 0;
    return strncmp(path, f, len) == 0 && (path[len] == '\0' || path[len] == '/') ? len : 0;
}

/* Is path (absolute, as journalled) at or under one of the n filters (none: everything)? */
static int
under(const char *path, const given *filters, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (at_or_under(path, &filters[i]) > 0)
            return 1;
    return 0;
}

/* path (absolute, as journalled) as the user would name it: through the given PATH or DIR
   it lies under (the longest), else as it is. A pointer to path or into buf. */
static const char *
shown_as_given(const char *path, const given *g, size_t n, char *buf, size_t buflen)
{
    const given *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t len = at_or_under(path, &g[i]);
        if (len > best_len) {
            best = &g[i];
            best_len = len;
        }
    }
    if (best == NULL)
        return path;
    const char *rest = path + best_len;
    const int slash_given = best->shown[best->shown_len - 1] == '/';
    if (slash_given && *rest == '/')
        rest++; /* "/" given: "/x", not "//x" */
    const int w = snprintf(buf, buflen, "%.*s%s", (int)best->shown_len, best->shown, rest);
    return w > 0 && (size_t)w < buflen ? buf : path;
}

/* ---- the names a dry run would free and take ------------------------------------------- */

/* What a name in a directory would be after the renames before it: there (with the file's
   stat) or not. A real run notes nothing: the disk answers. */
typedef struct noted_name {
    dev_t dev;
    ino_t ino; /* of the directory */
    char *base;
    int there;
    struct stat st;
} noted_name;

typedef struct names {
    noted_name *v;
    size_t n, cap;
    int dry_run;
    const sgs_allocator *alloc; /* the run's allocations */
} names;

static noted_name *
noted(const names *nm, const struct stat *dir, const char *base)
{
    for (size_t i = nm->n; i-- > 0;)
        if (nm->v[i].dev == dir->st_dev && nm->v[i].ino == dir->st_ino &&
            strcmp(nm->v[i].base, base) == 0)
            return &nm->v[i];
    return NULL;
}

/* Is base in the directory (as the renames before this one left it)? 1 with *st, or 0. */
static int
look(const names *nm, int dfd, const char *base, struct stat *st)
{
    struct stat dir;
    const noted_name *const n = nm->n > 0 && fstat(dfd, &dir) == 0 ? noted(nm, &dir, base) : NULL;
    if (n != NULL) {
        *st = n->st;
        return n->there;
    }
    return fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
note(names *nm, const struct stat *dir, const char *base, int there, const struct stat *st)
{
    noted_name *n = noted(nm, dir, base);
    if (n == NULL) {
        if (nm->n == nm->cap) {
            const size_t cap = nm->cap ? 2 * nm->cap : 16;
            noted_name *const grown = sgs_calloc(nm->alloc, cap, sizeof(*grown));
            if (grown == NULL)
                return -1;
            if (nm->n > 0)
                memcpy(grown, nm->v, nm->n * sizeof(*grown));
            sgs_free(nm->alloc, nm->v);
            nm->v = grown;
            nm->cap = cap;
        }
        char *const copy = sgs_malloc(nm->alloc, strlen(base) + 1);
        if (copy == NULL)
            return -1;
        memcpy(copy, base, strlen(base) + 1);
        n = &nm->v[nm->n++];
        n->dev = dir->st_dev;
        n->ino = dir->st_ino;
        n->base = copy;
    }
    n->there = there;
    n->st = *st;
    return 0;
}

static void
names_free(names *nm)
{
    for (size_t i = 0; i < nm->n; i++)
        sgs_free(nm->alloc, nm->v[i].base);
    sgs_free(nm->alloc, nm->v);
}

/* What rename_back returns besides 0 and errno values: another inode was put under the
   quarantine name between the look and the rename; it was renamed back (SWAPPED), or could
   not be (SWAPPED_STUCK: it is at the original name now). */
enum { SWAPPED = -1, SWAPPED_STUCK = -2 };

static const char *
rename_back_error(int e)
{
    return e == SWAPPED ? "another file was put in its place while it was being restored "
                          "(renamed back; nothing restored)"
           : e == SWAPPED_STUCK ? "another file was put in its place while it was being "
                                  "restored, and is now at the original name (could not be "
                                  "renamed back): check it by hand"
                                : strerror(e);
}

/* The one rename back, qbase -> obase in the confined directory (RENAME_NOREPLACE), and the
   inode moved checked AFTER it against the one looked at (moving): a swap in between is
   renamed back at once, as quarantine does. A dry run notes it instead. 0, an errno value,
   SWAPPED or SWAPPED_STUCK. */
static int
rename_back(names *nm, const confined *cf, const struct stat *moving)
{
    if (!nm->dry_run) {
        if (renameat2(cf->dfd, cf->qbase, cf->dfd, cf->obase, RENAME_NOREPLACE) != 0)
            return errno;
        struct stat moved;
        if (fstatat(cf->dfd, cf->obase, &moved, AT_SYMLINK_NOFOLLOW) == 0 &&
            moved.st_dev == moving->st_dev && moved.st_ino == moving->st_ino &&
            moved.st_size == moving->st_size &&
            moved.st_mtim.tv_sec == moving->st_mtim.tv_sec &&
            moved.st_mtim.tv_nsec == moving->st_mtim.tv_nsec)
            return 0;
        return renameat2(cf->dfd, cf->obase, cf->dfd, cf->qbase, RENAME_NOREPLACE) == 0
                   ? SWAPPED
                   : SWAPPED_STUCK;
    }
    struct stat dir;
    if (fstat(cf->dfd, &dir) != 0)
        return errno;
    if (note(nm, &dir, cf->obase, 1, moving) != 0 || note(nm, &dir, cf->qbase, 0, moving) != 0)
        return ENOMEM;
    return 0;
}

/* ---- reporting ------------------------------------------------------------------------- */

typedef struct reporter {
    sgs_restore_fn fn;
    void *opaque;
    const given *givens; /* PATHs and --scan DIRs, for the names shown */
    size_t ngivens;
    unsigned refused;
} reporter;

/* One record; journalled paths (absolute) are shown as given (journalled = 1). */
static void
report(reporter *rp, const char *orig, const char *q, int journalled, sgs_restore_action a,
       const char *reason)
{
    char ob[PATH_MAX + NAME_MAX + 2], qb[PATH_MAX + NAME_MAX + 2];
    const sgs_restore_record r = {
        journalled ? shown_as_given(orig, rp->givens, rp->ngivens, ob, sizeof(ob)) : orig,
        journalled ? shown_as_given(q, rp->givens, rp->ngivens, qb, sizeof(qb)) : q, a, reason};
    if (a == SGS_RESTORE_REFUSED)
        rp->refused++;
    rp->fn(rp->opaque, &r);
}

/* The name a stray quarantined file had: strip "_invalid" or "_invalid.N". NULL if none, or
   (*oom set) out of memory. */
static char *
original_of(const sgs_allocator *a, const char *path, int *oom)
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
    char *const out = sgs_malloc(a, n + 1);
    if (out != NULL) {
        memcpy(out, path, n);
        out[n] = '\0';
    }
    *oom = out == NULL;
    return out;
}

typedef struct scan_ctx {
    const sgs_journal_entry *entries;
    const unsigned char *handled; /* entries this run put back or found never moved */
    size_t n;
    names *names;
    reporter *rp;
} scan_ctx;

/* A file of the journal's: one of its quarantined names, or an original this run handled
   (the real run put it back; a dry run's walk does not see it, the disk still has it
   quarantined). */
static int
journals(const scan_ctx *c, const char *path)
{
    char *const abs = realpath(path, NULL); /* a regular file: only its directories resolve */
    if (abs == NULL)
        return 0;
    int hit = 0;
    for (size_t i = 0; i < c->n && !hit; i++)
        hit = strcmp(c->entries[i].quarantined, abs) == 0 ||
              (c->handled[i] && strcmp(c->entries[i].orig, abs) == 0);
    free(abs);
    return hit;
}

static int
on_stray(void *opaque, const char *path, sgs_scan_kind kind, int errno_value)
{
    scan_ctx *const c = opaque;
    (void)errno_value;
    if (kind != SGS_SCAN_FILE)
        return 0;
    int oom = 0;
    char *const orig = original_of(c->names->alloc, path, &oom);
    if (orig == NULL) {
        if (oom) /* a stray left where it is is said, never skipped quietly */
            report(c->rp, path, path, 0, SGS_RESTORE_REFUSED, "out of memory");
        return 0;
    }
    if (journals(c, path)) { /* the journal's own entries are handled there */
        sgs_free(c->names->alloc, orig);
        return 0;
    }
    struct stat st, at_q;
    confined cf;
    const char *const bad = confine(orig, path, &cf);
    if (bad != NULL) {
        report(c->rp, orig, path, 0, SGS_RESTORE_REFUSED, bad);
    } else if (look(c->names, cf.dfd, cf.obase, &st)) {
        report(c->rp, orig, path, 0, SGS_RESTORE_REFUSED, "the original name is in use again");
    } else if (!look(c->names, cf.dfd, cf.qbase, &at_q)) {
        report(c->rp, orig, path, 0, SGS_RESTORE_REFUSED, "the quarantined file is gone");
    } else {
        const int e = rename_back(c->names, &cf, &at_q);
        report(c->rp, orig, path, 0,
               e != 0               ? SGS_RESTORE_REFUSED
               : c->names->dry_run ? SGS_RESTORE_WOULD
                                   : SGS_RESTORE_DONE,
               e != 0 ? rename_back_error(e) : "stray quarantined file");
    }
    if (cf.dfd >= 0)
        close(cf.dfd);
    sgs_free(c->names->alloc, orig);
    return 0;
}

/* Each journal entry not restored yet and under the filters, newest first (a file quarantined
   twice is walked back through its names in order): the same decisions in a dry run. */
static void
restore_entries(sgs_journal_entry *e, size_t n, const given *filters, size_t nfilters, int fd,
                names *nm, unsigned char *handled, reporter *rp)
{
    for (size_t k = n; k-- > 0;) {
        sgs_journal_entry *const q = &e[k];
        if (q->restored || !under(q->orig, filters, nfilters))
            continue;
        confined cf;
        const char *const bad = confine(q->orig, q->quarantined, &cf);
        if (bad != NULL) {
            report(rp, q->orig, q->quarantined, 1, SGS_RESTORE_REFUSED, bad);
            if (cf.dfd >= 0)
                close(cf.dfd);
            continue;
        }
        struct stat at_orig, at_q;
        const int orig_there = look(nm, cf.dfd, cf.obase, &at_orig);
        const int q_there = look(nm, cf.dfd, cf.qbase, &at_q);
        if (orig_there && matches(&at_orig, q)) {
            if (!nm->dry_run && sgs_journal_append_mark(fd, 'R', q->seq) == 0)
                q->restored = 1;
            handled[k] = 1;
            /* done: renamed, then put back by a restore that could not record it (a full
               disk); else the run stopped between its record and its rename */
            report(rp, q->orig, q->quarantined, 1, SGS_RESTORE_NOT_MOVED,
                   q->done ? "already back at its name (restored before; the journal did not "
                             "record it)"
                           : "the rename never happened");
        } else if (orig_there) {
            report(rp, q->orig, q->quarantined, 1, SGS_RESTORE_REFUSED,
                   "the original name is in use again");
        } else if (!q_there || !matches(&at_q, q)) {
            report(rp, q->orig, q->quarantined, 1, SGS_RESTORE_REFUSED,
                   q_there ? "the quarantined file changed since it was quarantined"
                           : "the quarantined file is gone");
        } else {
            const int err = rename_back(nm, &cf, &at_q);
            if (err != 0) {
                report(rp, q->orig, q->quarantined, 1, SGS_RESTORE_REFUSED,
                       rename_back_error(err));
            } else {
                char why[160] = "";
                if (!nm->dry_run && sgs_journal_append_mark(fd, 'R', q->seq) != 0) {
                    rp->refused++; /* restored, but the journal does not say so: not clean */
                    snprintf(why, sizeof(why), "renamed back, but the journal could not record "
                             "it: %s", strerror(errno));
                }
                q->restored = !nm->dry_run;
                handled[k] = 1;
                report(rp, q->orig, q->quarantined, 1,
                       nm->dry_run ? SGS_RESTORE_WOULD : SGS_RESTORE_DONE, why);
            }
        }
        close(cf.dfd);
    }
}

/* The PATH filters and --scan directories, resolved once. NULL when out of memory. */
static given *
resolve_givens(const sgs_restore_opts *o)
{
    const size_t n = o->npaths + o->nscan;
    given *const g = sgs_calloc(&o->alloc, n > 0 ? n : 1, sizeof(*g));
    for (size_t i = 0; g != NULL && i < n; i++) {
        const char *const p = i < o->npaths ? o->paths[i] : o->scan[i - o->npaths];
        g[i].shown = p;
        g[i].shown_len = trimmed_len(p);
        g[i].abs = resolve(p);
        g[i].abs_len = g[i].abs != NULL ? trimmed_len(g[i].abs) : 0;
    }
    return g;
}

static void
givens_free(const sgs_allocator *a, given *g, size_t n)
{
    for (size_t i = 0; g != NULL && i < n; i++)
        free(g[i].abs); /* realpath's */
    sgs_free(a, g);
}

sgs_status
sgs_restore(const sgs_restore_opts *o, sgs_restore_fn fn, void *opaque, char *err,
            size_t errlen)
{
    sgs_journal_entry *e = NULL;
    size_t n = 0;
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
    const int fd = have_journal ? open(o->journal, (o->dry_run ? O_RDONLY : O_RDWR | O_APPEND) |
                                                       O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                                : -1;
    if (have_journal && (fd < 0 || fstat(fd, &jst) != 0 || !S_ISREG(jst.st_mode))) {
        snprintf(err, errlen, "%s: %s", o->journal,
                 fd >= 0 && !S_ISREG(jst.st_mode) ? "not a regular file, not a journal"
                                                  : strerror(errno));
        if (fd >= 0)
            close(fd);
        return fd >= 0 && !S_ISREG(jst.st_mode) ? SGS_ERR_FORMAT : SGS_ERR_IO;
    }
    /* the same trust as a quarantining run's journal open: its entries decide what is renamed
       back, so one another user owns or others can write (or read, and so lock) is refused
       (in a dry run too), before it is locked */
    if (have_journal && (!sgs_journal_trusted(&jst, o->journal, err, errlen) ||
                         !sgs_journal_place_trusted(fd, o->journal, err, errlen))) {
        close(fd);
        return SGS_ERR_IO;
    }
    if (have_journal && sgs_journal_lock(fd, NULL, SGS_JOURNAL_LOCK_WAIT_S) != 0) {
        snprintf(err, errlen, "%s: cannot lock: %s", o->journal, sgs_journal_lock_error(errno));
        close(fd);
        return SGS_ERR_IO;
    }
    const int rd =
        have_journal ? sgs_journal_read_fd(&o->alloc, fd, o->journal, &e, &n, err, errlen) : 0;
    if (rd != 0) {
        close(fd);
        return rd == -2 ? SGS_ERR_NOMEM : SGS_ERR_FORMAT;
    }
    sgs_status st = SGS_ERR_NOMEM;
    given *const g = resolve_givens(o);
    unsigned char *const handled = sgs_calloc(&o->alloc, n > 0 ? n : 1, 1);
    names nm = {NULL, 0, 0, o->dry_run, &o->alloc};
    reporter rp = {fn, opaque, g, o->npaths + o->nscan, 0};
    if (g == NULL || handled == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    restore_entries(e, n, g, o->npaths, fd, &nm, handled, &rp);
    scan_ctx c = {e, handled, n, &nm, &rp};
    for (size_t i = 0; i < o->nscan; i++)
        (void)sgs_scan_path_skipping(o->scan[i], NULL, 0, on_stray, &c);
    st = rp.refused > 0 ? SGS_ERR_STATE : SGS_OK;
out:
    if (fd >= 0) {
        sgs_journal_unlock(fd);
        close(fd);
    }
    names_free(&nm);
    sgs_free(&o->alloc, handled);
    givens_free(&o->alloc, g, o->npaths + o->nscan);
    sgs_journal_entries_free(&o->alloc, e, n);
    return st;
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
