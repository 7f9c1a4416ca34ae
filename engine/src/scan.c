/*
 * scan.c - turns the paths a user gives into inputs.
 *
 * DESIGN: directories are walked physically (symbolic links are reported, never followed;
 * every directory is opened beneath its parent's descriptor with O_NOFOLLOW | O_DIRECTORY, so
 * one swapped for a link during the walk is not entered), each listed whole, then its entries
 * visited in byte order, so that one
 * thread gives a reproducible report. Entries are classified by the kernel's d_type, without a
 * stat (an lstat only where the file system does not say): FIFOs and devices are never opened,
 * and the walking thread stays cheap; the worker's fstat after open is the check that counts
 * (the entry may change in between). Names ending in a skipped suffix are the signatures of
 * their neighbours, not inputs; the walk tells each input which of them it saw beside it, so a
 * worker need not look for signatures that are not there. A directory met again below itself
 * (a bind mount) is reported as an error (ELOOP), not walked again.
 */
#include "scan.h"

#include "alloc.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

static int
has_suffix(const char *name, size_t n, const char *suffix)
{
    if (suffix == NULL || suffix[0] == '\0')
        return 0;
    const size_t s = strlen(suffix);
    return n > s && memcmp(name + n - s, suffix, s) == 0;
}

static int
has_any_suffix(const char *name, const char *const *skip, size_t nskip)
{
    const size_t n = strlen(name);
    for (size_t i = 0; i < nskip; i++)
        if (has_suffix(name, n, skip[i]))
            return 1;
    return 0;
}

/* A path as given, without repeated slashes ("dir//sub/" -> "dir/sub/"): what is printed and
   what children are joined to. A trailing slash stays (it makes lstat follow a link to a
   directory, and fail on a file, as given). A new string (free), or NULL. */
static char *
tidy_path(const char *path)
{
    char *const out = malloc(strlen(path) + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (const char *p = path; *p; p++)
        if (*p != '/' || n == 0 || out[n - 1] != '/')
            out[n++] = *p;
    out[n] = '\0';
    return out;
}

static sgs_scan_kind
kind_of_mode(mode_t m)
{
    return S_ISREG(m) ? SGS_SCAN_FILE : S_ISLNK(m) ? SGS_SCAN_SYMLINK : SGS_SCAN_SPECIAL;
}

struct sgs_scan_dir {
    int fd;
    atomic_uint refs;
};

sgs_scan_dir *
sgs_scan_dir_retain(sgs_scan_dir *d)
{
    if (d != NULL)
        atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
    return d;
}

void
sgs_scan_dir_release(sgs_scan_dir *d)
{
    if (d != NULL && atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1) {
        close(d->fd);
        free(d);
    }
}

int
sgs_scan_dir_fd(const sgs_scan_dir *d)
{
    return d->fd;
}

typedef struct walker {
    int path_order;        /* entries in byte order of their whole paths (sgs_scan_fd) */
    const char *const *skip;
    size_t nskip, longest; /* longest skip suffix */
    int share_below;       /* descriptors numbered below this may be shared (half the limit) */
    sgs_scan_entry_fn fn;
    void *opaque;
    struct ancestor {
        dev_t dev;
        ino_t ino;
    } *up; /* the directories being walked, outermost first */
    size_t nup, capup;
} walker;

typedef struct dirent_copy {
    const char *name; /* set once the arena no longer moves */
    size_t off;       /* of the name in the arena */
    unsigned char type; /* DT_* */
} dirent_copy;

static int
by_entry_name(const void *a, const void *b)
{
    return strcmp(((const dirent_copy *)a)->name, ((const dirent_copy *)b)->name);
}

/* Byte order of the paths the names make: a directory's entries follow it as "name/..." */
static int
by_path_key(const void *a, const void *b)
{
    const dirent_copy *const x = a, *const y = b;
    const unsigned char *p = (const unsigned char *)x->name, *q = (const unsigned char *)y->name;
    while (*p != '\0' && *p == *q)
        p++, q++;
    const int cp = *p != '\0' ? *p : x->type == DT_DIR ? '/' : 0;
    const int cq = *q != '\0' ? *q : y->type == DT_DIR ? '/' : 0;
    return cp - cq;
}

static int
report_in(walker *w, const char *path, sgs_scan_kind kind, int err, unsigned present,
          const struct stat *dir, sgs_scan_dir *handle, const char *name)
{
    const sgs_scan_entry ent = {path,
                                kind,
                                err,
                                present,
                                dir != NULL ? dir->st_dev : 0,
                                dir != NULL ? dir->st_ino : 0,
                                handle,
                                name != NULL ? name : path,
                                w->nup == 0};
    return w->fn(w->opaque, &ent);
}

static int
report(walker *w, const char *path, sgs_scan_kind kind, int err, unsigned present)
{
    return report_in(w, path, kind, err, present, NULL, NULL, NULL);
}

/* Is name + suffix among the sorted entries? */
static int
listed(const dirent_copy *ents, size_t n, const char *name, const char *suffix, char *buf,
       size_t buflen)
{
    if (suffix == NULL || suffix[0] == '\0' ||
        (size_t)snprintf(buf, buflen, "%s%s", name, suffix) >= buflen)
        return 0;
    const dirent_copy key = {buf, 0, 0};
    return bsearch(&key, ents, n, sizeof(*ents), by_entry_name) != NULL;
}

/*
 * Whether `name` is the detached signature of a regular file listed beside it (name = F +
 * a signature suffix): only then is it consumed by F's judgement. A signature-named file with
 * no regular F beside it (absent, a directory, a link, a FIFO) is a file like any other.
 */
static int
signs_a_file(const dirent_copy *ents, size_t n, int fd, const char *name,
             const char *const *skip, size_t nskip)
{
    const size_t len = strlen(name);
    char buf[NAME_MAX + 1];
    for (size_t s = 0; s < nskip; s++) {
        if (!has_suffix(name, len, skip[s]))
            continue;
        const size_t base = len - strlen(skip[s]);
        if (base + 1 > sizeof(buf))
            continue;
        memcpy(buf, name, base);
        buf[base] = '\0';
        const dirent_copy key = {buf, 0, 0};
        const dirent_copy *const f = bsearch(&key, ents, n, sizeof(*ents), by_entry_name);
        if (f == NULL)
            continue;
        unsigned char type = f->type;
        struct stat fs;
        if (type == DT_UNKNOWN && fstatat(fd, f->name, &fs, AT_SYMLINK_NOFOLLOW) == 0)
            type = S_ISREG(fs.st_mode) ? DT_REG : DT_UNKNOWN;
        /* F.sig.sig is consumed only if F.sig is judged, i.e. not itself consumed by F */
        if (type == DT_REG && !signs_a_file(ents, n, fd, f->name, skip, nskip))
            return 1;
    }
    return 0;
}

/* The same for a path given by name: F + suffix where F is a regular file. F's length, or 0. */
static size_t
signs_a_path(const char *path, const char *const *skip, size_t nskip)
{
    const size_t len = strlen(path);
    char *const buf = malloc(len + 1);
    size_t subject = 0;
    for (size_t s = 0; buf != NULL && subject == 0 && s < nskip; s++) {
        struct stat st;
        if (!has_suffix(path, len, skip[s]))
            continue;
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): has_suffix is 0 for NULL */
        const size_t flen = len - strlen(skip[s]);
        memcpy(buf, path, flen);
        buf[flen] = '\0';
        if (buf[flen - 1] != '/' && lstat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
            signs_a_path(buf, skip, nskip) == 0) /* F.sig.sig: only if F.sig is judged */
            subject = flen;
    }
    free(buf);
    return subject;
}

size_t
sgs_signature_subject(const char *path, const char *sig_suffix, int p7s)
{
    const char *const skip[3] = {sig_suffix != NULL ? sig_suffix : ".sig", p7s ? ".p7s" : NULL,
                                 p7s ? ".minisig" : NULL};
    struct stat st; /* as sgs_scan_inputs: what is not there is missing, a directory walked */
    char *const tidy = tidy_path(path);
    const size_t n = tidy != NULL && lstat(tidy, &st) == 0 && !S_ISDIR(st.st_mode)
                         ? signs_a_path(tidy, skip, 3)
                         : 0;
    /* F's length in path as given: tidying only removed repeated slashes before F's end */
    size_t at = 0;
    for (size_t i = 0; n > 0 && i < n; i++, at++)
        while (path[at] == '/' && path[at + 1] == '/')
            at++;
    free(tidy);
    return n > 0 ? at : 0;
}

/* The component walk of sgs_open_nofollow: each directory opened beneath the last with
   O_NOFOLLOW, so any link is refused (ELOOP), whatever the path's length. */
static int
open_components(int at, const char *path, int flags)
{
    const char *p = path;
    int dirfd = *p == '/' ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : at;
    if (*p == '/' && dirfd < 0)
        return -1;
    char *const comp = malloc(strlen(path) + 2); /* any component, or "." */
    if (comp == NULL) {
        if (dirfd != at)
            close(dirfd);
        errno = ENOMEM;
        return -1;
    }
    int fd = -1;
    for (;;) {
        while (*p == '/')
            p++;
        const char *const slash = strchr(p, '/');
        const size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
        const int last = slash == NULL || slash[strspn(slash, "/")] == '\0';
        memcpy(comp, p, len);
        comp[len] = '\0';
        if (len == 0) /* the path was "/" */
            comp[0] = '.', comp[1] = '\0';
        fd = openat(dirfd, comp, last ? flags | O_NOFOLLOW
                                       : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat ls;
        if (fd < 0 && (!last || (flags & O_DIRECTORY)) && errno == ENOTDIR &&
            fstatat(dirfd, comp, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode))
            errno = ELOOP; /* O_PATH | O_NOFOLLOW reaches the link itself: not a directory */
        const int saved = errno;
        if (dirfd != at)
            close(dirfd);
        errno = saved;
        if (fd < 0 || last)
            break;
        dirfd = fd;
        p = slash;
    }
    free(comp);
    return fd;
}

int
sgs_open_nofollow(int at, const char *path, int flags)
{
    static atomic_int no_openat2;
    if (path[0] == '\0') {
        errno = ENOENT;
        return -1;
    }
    if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        /* (O_PATH | O_NOFOLLOW would open a final link itself: without O_NOFOLLOW,
           RESOLVE_NO_SYMLINKS refuses it with ELOOP like any other) */
        how.flags = (uint64_t)(flags | ((flags & O_PATH) ? 0 : O_NOFOLLOW) | O_CLOEXEC);
        how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        const long fd = syscall(SYS_openat2, at, path, &how, sizeof(how));
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != ENAMETOOLONG))
            return (int)fd;
        if (errno != ENAMETOOLONG) /* not this kernel, or a filter forbids it */
            atomic_store_explicit(&no_openat2, 1, memory_order_relaxed);
    }
    return open_components(at, path, flags | O_CLOEXEC);
}

int
sgs_open_parent_nofollow(const char *path)
{
    const char *const slash = strrchr(path, '/');
    if (slash == NULL)
        return open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (slash == path)
        return open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    char *const dir = malloc((size_t)(slash - path) + 1);
    if (dir == NULL) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    const int fd = sgs_open_nofollow(AT_FDCWD, dir, O_PATH | O_DIRECTORY);
    const int saved = errno;
    free(dir);
    errno = saved;
    return fd;
}

static int walk_dir(walker *w, const char *path, int parent, const char *name);

/*
 * One directory: opened beneath its parent's descriptor (parent < 0: by path, the root), so a
 * directory swapped for a link during the walk is not followed; listed whole (names in one
 * arena), then its entries visited while its descriptor stays open for theirs.
 */
static int
walk_dir(walker *w, const char *path, int parent, const char *name)
{
    const int fd = parent >= 0 ? openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                                          O_CLOEXEC)
                               : open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        const int err = errno;
        if (fd >= 0)
            close(fd);
        return report(w, path, SGS_SCAN_ERROR, err, 0);
    }
    if (w->nup >= SGS_SCAN_MAX_DEPTH) { /* the walk recurses: its stack bounds the depth */
        close(fd);
        return report(w, path, SGS_SCAN_TOO_DEEP, 0, 0);
    }
    for (size_t i = 0; i < w->nup; i++) {
        if (w->up[i].dev == st.st_dev && w->up[i].ino == st.st_ino) {
            close(fd);
            return report(w, path, SGS_SCAN_ERROR, ELOOP, 0);
        }
    }
    const int lfd = dup(fd); /* fdopendir takes it; fd stays for the entries */
    DIR *const d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (d == NULL) {
        const int err = errno;
        if (lfd >= 0)
            close(lfd);
        close(fd);
        return report(w, path, SGS_SCAN_ERROR, err, 0);
    }
    dirent_copy *ents = NULL;
    char *arena = NULL;
    size_t n = 0, cap = 0, used = 0, acap = 0;
    int rc = 0, err = 0;
    const struct dirent *de;
    while ((errno = 0, de = readdir(d)) != NULL) {
        const char *const nm = de->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
            continue;
        const size_t len = strlen(nm) + 1;
        if (n == cap || used + len > acap) {
            const size_t ncap = n == cap ? (cap ? 2 * cap : 64) : cap;
            const size_t nacap = used + len > acap ? (acap ? 2 * acap : 4096) + len : acap;
            dirent_copy *const e2 = ncap != cap ? realloc(ents, ncap * sizeof(*ents)) : ents;
            if (e2 == NULL) {
                err = ENOMEM;
                break;
            }
            ents = e2;
            cap = ncap;
            if (nacap != acap) {
                char *const a2 = realloc(arena, nacap);
                if (a2 == NULL) {
                    err = ENOMEM;
                    break;
                }
                arena = a2;
                acap = nacap;
            }
        }
        memcpy(arena + used, nm, len);
        ents[n].off = used;
        ents[n].type = de->d_type;
        used += len;
        n++;
    }
    if (err == 0)
        err = errno; /* readdir: NULL with errno 0 at the end */
    closedir(d);
    if (err != 0) {
        free(ents);
        free(arena);
        close(fd);
        return report(w, path, SGS_SCAN_ERROR, err, 0);
    }
    for (size_t i = 0; i < n; i++) {
        ents[i].name = arena + ents[i].off;
        struct stat ts; /* where the file system does not say: a directory sorts as "name/" */
        if (w->path_order && ents[i].type == DT_UNKNOWN &&
            fstatat(fd, ents[i].name, &ts, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(ts.st_mode))
            ents[i].type = DT_DIR;
    }
    if (n > 1)
        qsort(ents, n, sizeof(*ents), w->path_order ? by_path_key : by_entry_name);

    if (w->nup == w->capup) {
        const size_t c2 = w->capup ? 2 * w->capup : 16;
        struct ancestor *const u2 = realloc(w->up, c2 * sizeof(*u2));
        if (u2 == NULL) {
            free(ents);
            free(arena);
            close(fd);
            return report(w, path, SGS_SCAN_ERROR, ENOMEM, 0);
        }
        w->up = u2;
        w->capup = c2;
    }
    w->up[w->nup].dev = st.st_dev;
    w->up[w->nup].ino = st.st_ino;
    w->nup++;
    /* the descriptor, shared with the consumers that keep entries (NULL: they use paths).
       Descriptors are numbered lowest first, so a high number means many are open: past
       half the limit, directories are not shared (queued entries would hold them all). */
    sgs_scan_dir *const handle = fd < w->share_below ? malloc(sizeof(*handle)) : NULL;
    if (handle != NULL) {
        handle->fd = fd;
        atomic_init(&handle->refs, 1);
    }

    const size_t plen = strlen(path);
    const int slash = plen > 0 && path[plen - 1] == '/';
    char *child = NULL, *probe = NULL;
    size_t childcap = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const size_t nlen = strlen(ents[i].name);
        const size_t need = plen + 1 + nlen + 1;
        if (need > childcap) {
            char *const c2 = realloc(child, need);
            char *const p2 = c2 != NULL ? realloc(probe, nlen + w->longest + 1) : NULL;
            if (p2 == NULL) {
                free(c2 != NULL ? c2 : child);
                child = NULL;
                rc = report(w, path, SGS_SCAN_ERROR, ENOMEM, 0);
                break;
            }
            child = c2;
            probe = p2;
            childcap = need;
        }
        /* need >= 2 > childcap = 0 at the first entry, so child was allocated above */
        memcpy(child, path, plen); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
        size_t at = plen;
        if (!slash)
            child[at++] = '/';
        memcpy(child + at, ents[i].name, nlen + 1);
        unsigned char type = ents[i].type;
        if (type == DT_UNKNOWN) { /* the file system does not say: ask */
            struct stat cs;
            if (fstatat(fd, ents[i].name, &cs, AT_SYMLINK_NOFOLLOW) != 0) {
                rc = report(w, child, errno == ENOENT ? SGS_SCAN_MISSING : SGS_SCAN_ERROR,
                            errno, 0);
                continue;
            }
            type = S_ISDIR(cs.st_mode) ? DT_DIR : S_ISREG(cs.st_mode) ? DT_REG
                   : S_ISLNK(cs.st_mode)                              ? DT_LNK
                                                                      : DT_FIFO;
        }
        if (type == DT_DIR) {
            rc = walk_dir(w, child, fd, ents[i].name);
            continue;
        }
        if (has_any_suffix(ents[i].name, w->skip, w->nskip) &&
            signs_a_file(ents, n, fd, ents[i].name, w->skip, w->nskip))
            continue;
        unsigned present = 0;
        for (size_t s = 0; s < w->nskip && s < 8; s++)
            if (listed(ents, n, ents[i].name, w->skip[s], probe, nlen + w->longest + 1))
                present |= 1u << s;
        rc = report_in(w, child,
                       type == DT_REG   ? SGS_SCAN_FILE
                       : type == DT_LNK ? SGS_SCAN_SYMLINK
                                        : SGS_SCAN_SPECIAL,
                       0, present, &st, handle, child + at);
    }
    w->nup--;
    if (handle != NULL)
        sgs_scan_dir_release(handle); /* closes fd once no consumer keeps an entry */
    else
        close(fd);
    free(child);
    free(probe);
    free(ents);
    free(arena);
    return rc;
}

static walker
walker_for(const char *const *skip, size_t nskip, sgs_scan_entry_fn fn, void *opaque)
{
    struct rlimit lim;
    const int share_below = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 2048
                                ? (int)(lim.rlim_cur / 2)
                                : 1024;
    walker w = {0, skip, nskip, 0, share_below, fn, opaque, NULL, 0, 0};
    for (size_t i = 0; i < nskip; i++)
        if (skip[i] != NULL && strlen(skip[i]) > w.longest)
            w.longest = strlen(skip[i]);
    return w;
}

int
sgs_scan_inputs(const char *given, const char *const *skip, size_t nskip, sgs_scan_entry_fn fn,
                void *opaque)
{
    walker w = walker_for(skip, nskip, fn, opaque);
    char *const tidy = tidy_path(given);
    if (tidy == NULL)
        return report(&w, given, SGS_SCAN_ERROR, ENOMEM, 0);
    const char *const path = tidy;
    /* The path as given is resolved without following a link in any directory of it (issue
       18): a directory swapped for a link after a list was made cannot lead elsewhere. Its
       last component is looked at through that directory, like a walked entry's; a trailing
       slash ("link/") still asks for the directory a link leads to. */
    size_t end = strlen(tidy);
    while (end > 1 && tidy[end - 1] == '/')
        end--;
    const int trailing = tidy[end] == '/';
    tidy[end] = '\0';
    const char *const slash = strrchr(tidy, '/');
    const char *name = slash != NULL ? slash + 1 : tidy;
    const int whole = name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
    const int pfd = whole ? sgs_open_nofollow(AT_FDCWD, tidy, O_PATH | O_DIRECTORY)
                          : sgs_open_parent_nofollow(tidy);
    if (whole)
        name = ".";
    if (trailing)
        tidy[end] = '/'; /* the path as given, and the name "link/" follows the last link */
    struct stat st, pst;
    size_t subject;
    int rc;
    if (pfd < 0 || fstat(pfd, &pst) != 0)
        rc = report(&w, path,
                    errno == ENOENT  ? SGS_SCAN_MISSING
                    : errno == ELOOP ? SGS_SCAN_LINKED_PATH
                                     : SGS_SCAN_ERROR,
                    errno, 0);
    else if (fstatat(pfd, name, &st, trailing ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
        rc = report(&w, path, errno == ENOENT ? SGS_SCAN_MISSING : SGS_SCAN_ERROR, errno, 0);
    else if (S_ISDIR(st.st_mode))
        rc = walk_dir(&w, path, pfd, name); /* "name/" when given so: followed */
    else {
        sgs_scan_dir *const handle = pfd < w.share_below ? malloc(sizeof(*handle)) : NULL;
        if (handle != NULL) {
            handle->fd = pfd;
            atomic_init(&handle->refs, 1); /* this call's (a consumer retains its own) */
        }
        if (has_any_suffix(path, skip, nskip) && (subject = signs_a_path(path, skip, nskip)) > 0) {
            tidy[subject] = '\0'; /* the signature of F beside it: F is what is judged */
            name = strrchr(tidy, '/') != NULL ? strrchr(tidy, '/') + 1 : tidy;
            rc = report_in(&w, path, SGS_SCAN_FILE, 0, SGS_SCAN_PRESENT_UNKNOWN, &pst, handle,
                           name);
        } else
            rc = report_in(&w, path, kind_of_mode(st.st_mode), 0, SGS_SCAN_PRESENT_UNKNOWN, &pst,
                           handle, name);
        if (handle != NULL)
            sgs_scan_dir_release(handle);
        else
            close(pfd);
        free(w.up);
        free(tidy);
        return rc;
    }
    if (pfd >= 0)
        close(pfd);
    free(w.up);
    free(tidy);
    return rc;
}

typedef struct adapter {
    sgs_scan_fn fn;
    void *opaque;
} adapter;

static int
adapt(void *opaque, const sgs_scan_entry *ent)
{
    const adapter *const a = opaque;
    return a->fn(a->opaque, ent->path, ent->kind, ent->errno_value);
}

int
sgs_scan_path_skipping(const char *path, const char *const *skip, size_t nskip, sgs_scan_fn fn,
                       void *opaque)
{
    adapter a = {fn, opaque};
    return sgs_scan_inputs(path, skip, nskip, adapt, &a);
}

int
sgs_scan_fd(int dirfd, const char *path, sgs_scan_fn fn, void *opaque)
{
    adapter a = {fn, opaque};
    walker w = walker_for(NULL, 0, adapt, &a);
    w.path_order = 1;
    const int rc = walk_dir(&w, path, dirfd, ".");
    free(w.up);
    return rc;
}

int
sgs_scan_path(const char *path, const char *skip_suffix, sgs_scan_fn fn, void *opaque)
{
    return sgs_scan_path_skipping(path, &skip_suffix, 1, fn, opaque);
}

static int
by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
sgs_list_free(const sgs_allocator *a, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sgs_free(a, names[i]);
    sgs_free(a, names);
}

int
sgs_list_dir(const sgs_allocator *a, const char *dir, int full, int hidden, char ***out,
             size_t *count)
{
    *out = NULL;
    *count = 0;
    char *const shown = full ? tidy_path(dir) : NULL;
    if (full && shown == NULL)
        return ENOMEM;
    const char *const sep = full && shown[0] != '\0' && shown[strlen(shown) - 1] == '/' ? "" : "/";
    DIR *const d = opendir(dir);
    if (d == NULL) {
        const int err = errno;
        free(shown);
        return err;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (!hidden && de->d_name[0] == '.'))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **const grown = sgs_calloc(a, cap, sizeof(char *));
            if (grown == NULL) {
                rc = ENOMEM;
                break;
            }
            if (n > 0)
                memcpy(grown, names, n * sizeof(char *));
            sgs_free(a, names);
            names = grown;
        }
        const size_t len = (full ? strlen(dir) + 1 : 0) + strlen(de->d_name) + 1;
        if ((names[n] = sgs_malloc(a, len)) == NULL) {
            rc = ENOMEM;
            break;
        }
        if (full) /* "dir/name" as the directory was given, one slash between */
            snprintf(names[n], len, "%s%s%s", shown, sep, de->d_name);
        else
            memcpy(names[n], de->d_name, len);
        n++;
    }
    closedir(d);
    free(shown);
    if (rc != 0) {
        sgs_list_free(a, names, n);
        return rc;
    }
    if (n > 0)
        qsort(names, n, sizeof(char *), by_string);
    *out = names;
    *count = n;
    return 0;
}
