/*
 * fileio.c - the one way sigsweep writes a file (reports, signatures, manifests, keys, exports,
 * trust-store entries), and the one way it opens an input it was given by name.
 *
 * DESIGN: the destination's directory is opened once and every step is relative to it, so a
 * directory renamed or swapped mid-write cannot redirect it. What is at the name decides how:
 *
 *     nothing, a symlink, a regular file ─► temporary file beside it, renamed over the name
 *                                            (readers see the old bytes or the new, never half;
 *                                            a link is replaced, never followed; a regular
 *                                            file keeps its mode and owner)
 *     a FIFO, a character device        ─► written into directly, like `dd of=` (renaming over
 *                                            /dev/null would replace the node for the whole
 *                                            host); refused with SGS_WFILE_REGULAR_ONLY
 *     a directory, socket, block device ─► refused
 *
 * The temporary name is unpredictable (getrandom) and created O_EXCL|O_NOFOLLOW, so another
 * user of a shared directory (/tmp) cannot plant it; it is made with the final mode, so the
 * bytes are never readable by more users than the result will be.
 */
#include "fileio.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct sgs_wfile {
    int dirfd;
    int fd;
    int replacing;   /* 1: fd is the temporary file tmp, renamed over base at commit */
    unsigned flags;
    char *base;      /* the destination's name in dirfd */
    char *shown;     /* the path as given, for messages */
    char tmp[NAME_MAX + 1];
};

static const char *
kind_name(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

static void
wfile_free(sgs_wfile *w)
{
    if (w->fd >= 0)
        (void)close(w->fd);
    if (w->dirfd >= 0)
        (void)close(w->dirfd);
    sgs_free(NULL, w->base);
    sgs_free(NULL, w->shown);
    sgs_free(NULL, w);
}

/* Writes into an existing FIFO or character device (never created, never replaced). */
static sgs_status
open_direct(sgs_wfile *w, const struct stat *was, char *err, size_t errlen)
{
    w->fd = openat(w->dirfd, w->base, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (w->fd < 0) {
        snprintf(err, errlen, "%s: %s", w->shown,
                 errno == ENXIO && S_ISFIFO(was->st_mode) ? "a FIFO with no reader"
                                                          : strerror(errno));
        return SGS_ERR_IO;
    }
    struct stat now;
    if (fstat(w->fd, &now) != 0 || now.st_dev != was->st_dev || now.st_ino != was->st_ino ||
        (now.st_mode & S_IFMT) != (was->st_mode & S_IFMT)) {
        snprintf(err, errlen, "%s: replaced while being opened", w->shown);
        return SGS_ERR_IO;
    }
    const int fl = fcntl(w->fd, F_GETFL);
    if (fl < 0 || fcntl(w->fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: %s", w->shown, strerror(errno));
        return SGS_ERR_IO;
    }
    w->replacing = 0;
    return SGS_OK;
}

/* Creates the temporary file beside the destination with the final mode (and owner). */
static sgs_status
open_temporary(sgs_wfile *w, mode_t mode, const struct stat *keep, char *err, size_t errlen)
{
    static const char hex[] = "0123456789abcdef";
    for (int attempt = 0; attempt < 16; attempt++) {
        uint8_t rnd[8];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            snprintf(err, errlen, "%s: no random bytes for a temporary name: %s", w->shown,
                     strerror(errno));
            return SGS_ERR_IO;
        }
        char suffix[2 * sizeof(rnd) + 1];
        for (size_t i = 0; i < sizeof(rnd); i++) {
            suffix[2 * i] = hex[rnd[i] >> 4];
            suffix[2 * i + 1] = hex[rnd[i] & 15];
        }
        suffix[sizeof(suffix) - 1] = '\0';
        /* ".<name>.<random>.tmp", or ".sgs.<random>.tmp" where the name is too long for it */
        const int n = strlen(w->base) + 2 * sizeof(rnd) + 7 <= NAME_MAX
                          ? snprintf(w->tmp, sizeof(w->tmp), ".%s.%s.tmp", w->base, suffix)
                          : snprintf(w->tmp, sizeof(w->tmp), ".sgs.%s.tmp", suffix);
        if (n < 0 || (size_t)n >= sizeof(w->tmp))
            return SGS_ERR_INVALID_ARG;
        w->fd = openat(w->dirfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       mode);
        if (w->fd >= 0)
            break;
        if (errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create a temporary file beside it: %s", w->shown,
                     strerror(errno));
            return SGS_ERR_IO;
        }
    }
    if (w->fd < 0) {
        snprintf(err, errlen, "%s: no free temporary name", w->shown);
        return SGS_ERR_IO;
    }
    w->replacing = 1;
    const int owner_ok = keep == NULL || (keep->st_uid == geteuid() && keep->st_gid == getegid())
                         || fchown(w->fd, keep->st_uid, keep->st_gid) == 0;
    if (fchmod(w->fd, mode) != 0 || !owner_ok) { /* the mode exactly: no umask */
        snprintf(err, errlen, "%s: cannot keep its %s: %s", w->shown,
                 owner_ok ? "mode" : "owner", strerror(errno));
        return SGS_ERR_IO;
    }
    return SGS_OK;
}

sgs_status
sgs_wfile_open(const char *path, unsigned flags, mode_t mode, sgs_wfile **out, char *err,
               size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return SGS_ERR_INVALID_ARG;
    const char *const slash = strrchr(path, '/');
    const char *const base = slash != NULL ? slash + 1 : path;
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        strlen(base) > NAME_MAX) {
        snprintf(err, errlen, "%s: not a file name", path);
        return SGS_ERR_IO;
    }
    sgs_wfile *const w = sgs_calloc(NULL, 1, sizeof(*w));
    if (w == NULL)
        return SGS_ERR_NOMEM;
    w->dirfd = -1;
    w->fd = -1;
    w->flags = flags;
    w->shown = sgs_strdup(NULL, path);
    w->base = sgs_strdup(NULL, base);
    char *const dir = slash == NULL ? sgs_strdup(NULL, ".") : sgs_strdup(NULL, path);
    sgs_status st = SGS_OK;
    if (w->shown == NULL || w->base == NULL || dir == NULL) {
        st = SGS_ERR_NOMEM;
        goto out;
    }
    if (slash != NULL)
        dir[slash == path ? 1 : (size_t)(slash - path)] = '\0'; /* "/x" -> "/" */
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0 && errno == EACCES)
        w->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC); /* search-only directory */
    if (w->dirfd < 0) {
        snprintf(err, errlen, "%s: cannot open its directory %s: %s", path, dir,
                 strerror(errno));
        st = SGS_ERR_IO;
        goto out;
    }
    struct stat sb;
    if (fstatat(w->dirfd, w->base, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            st = SGS_ERR_IO;
            goto out;
        }
        st = open_temporary(w, mode, NULL, err, errlen);
    } else if (flags & SGS_WFILE_NOREPLACE) {
        snprintf(err, errlen, "%s: exists (not overwritten)", path);
        st = SGS_ERR_IO;
        errno = EEXIST;
    } else if (S_ISLNK(sb.st_mode)) {
        st = open_temporary(w, mode, NULL, err, errlen); /* the link is replaced */
    } else if (S_ISREG(sb.st_mode) && (sb.st_uid == geteuid() || sb.st_uid == 0)) {
        st = open_temporary(w, sb.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID), &sb, err,
                            errlen);
    } else if (S_ISREG(sb.st_mode)) {
        /* another user's file (planted in a shared directory): the result is ours, and
           nobody else may write it; its read bits are kept */
        st = open_temporary(w, sb.st_mode & 0755, NULL, err, errlen);
    } else if ((S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)) &&
               !(flags & SGS_WFILE_REGULAR_ONLY)) {
        st = open_direct(w, &sb, err, errlen);
    } else {
        snprintf(err, errlen, "%s: is %s, not a regular file (not written)", path,
                 kind_name(sb.st_mode));
        st = SGS_ERR_IO;
    }
out:
    sgs_free(NULL, dir);
    if (st != SGS_OK) {
        const int saved = errno; /* EEXIST tells a taken name from other failures */
        sgs_wfile_abort(w);
        errno = saved;
        return st;
    }
    *out = w;
    return SGS_OK;
}

int
sgs_wfile_fd(const sgs_wfile *w)
{
    return w->fd;
}

const char *
sgs_wfile_temp_name(const sgs_wfile *w)
{
    return w->replacing ? w->tmp : NULL;
}

int
sgs_wfile_is_replacing(const sgs_wfile *w)
{
    return w->replacing;
}

sgs_status
sgs_wfile_write(sgs_wfile *w, const void *buf, size_t len, char *err, size_t errlen)
{
    const unsigned char *p = buf;
    while (len > 0) {
        const ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s", w->shown, n < 0 ? strerror(errno) : "short write");
            return SGS_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SGS_OK;
}

sgs_status
sgs_wfile_commit(sgs_wfile *w, char *err, size_t errlen)
{
    sgs_status st = SGS_OK;
    if ((w->flags & SGS_WFILE_SYNC) && w->replacing && fsync(w->fd) != 0) {
        snprintf(err, errlen, "%s: %s", w->shown, strerror(errno));
        st = SGS_ERR_IO;
    }
    const int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && st == SGS_OK) {
        snprintf(err, errlen, "%s: %s", w->shown, strerror(errno));
        st = SGS_ERR_IO;
    }
    if (st == SGS_OK && w->replacing) {
        const int moved = (w->flags & SGS_WFILE_NOREPLACE)
                              ? renameat2(w->dirfd, w->tmp, w->dirfd, w->base, RENAME_NOREPLACE)
                              : renameat(w->dirfd, w->tmp, w->dirfd, w->base);
        if (moved != 0) {
            snprintf(err, errlen, "%s: %s", w->shown,
                     errno == EEXIST ? "exists (not overwritten)" : strerror(errno));
            st = SGS_ERR_IO;
        } else {
            w->replacing = 0; /* nothing left to remove */
            if (w->flags & SGS_WFILE_SYNC)
                (void)fsync(w->dirfd); /* EBADF on a search-only directory: best effort */
        }
    }
    const int saved = errno;
    sgs_wfile_abort(w);
    errno = saved;
    return st;
}

void
sgs_wfile_abort(sgs_wfile *w)
{
    if (w == NULL)
        return;
    if (w->replacing && w->tmp[0] != '\0')
        (void)unlinkat(w->dirfd, w->tmp, 0);
    wfile_free(w);
}

/* open(2) with `how`, then only a regular file is kept (made blocking); -1 with err. */
static int
open_regular_as(const char *path, int how, int follow, char *err, size_t errlen)
{
    const int fd = open(path, how | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == ELOOP && !follow ? "is a symbolic link (not followed)"
                                           : strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        (void)close(fd);
        return -1;
    }
    const int fl = S_ISREG(sb.st_mode) ? fcntl(fd, F_GETFL) : -1;
    if (!S_ISREG(sb.st_mode) || fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        snprintf(err, errlen, "%s: is %s, not a regular file", path, kind_name(sb.st_mode));
        (void)close(fd);
        return -1;
    }
    return fd;
}

int
sgs_open_regular(const char *path, int follow, char *err, size_t errlen)
{
    return open_regular_as(path, O_RDONLY, follow, err, errlen);
}

sgs_status
sgs_wfile_put(const char *path, unsigned flags, mode_t mode, const void *buf, size_t len,
              char *err, size_t errlen)
{
    sgs_wfile *w = NULL;
    sgs_status st = sgs_wfile_open(path, flags, mode, &w, err, errlen);
    if (st == SGS_OK && (st = sgs_wfile_write(w, buf, len, err, errlen)) != SGS_OK) {
        sgs_wfile_abort(w);
        errno = EIO; /* never EEXIST: the name was free */
        return st;
    }
    return st == SGS_OK ? sgs_wfile_commit(w, err, errlen) : st;
}

int
sgs_wfile_open_append(const char *path, mode_t mode, const void *initial, size_t len, char *err,
                      size_t errlen)
{
    /* EEXIST: it was there, or another opener's came first */
    if (sgs_wfile_put(path, SGS_WFILE_NOREPLACE | SGS_WFILE_REGULAR_ONLY | SGS_WFILE_SYNC, mode,
                      initial, len, err, errlen) != SGS_OK && errno != EEXIST)
        return -1;
    return open_regular_as(path, O_RDWR | O_APPEND, 0, err, errlen); /* ours, or one that was */
}

/* Copies every byte of in (from its start) to out, in the kernel where it can. 0 or -1. */
static int
copy_all(int in, int out)
{
    off_t off = 0;
    for (;;) {
        const ssize_t n = copy_file_range(in, &off, out, NULL, 1u << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return -1;
        break; /* another file system or kernel: copy through a buffer */
    }
    char buf[64 * 1024];
    for (;;) {
        const ssize_t n = pread(in, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1;
        for (ssize_t done = 0; done < n;) {
            const ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -1;
            done += w;
        }
        off += n;
    }
}

sgs_status
sgs_wfile_prepend(sgs_wfile *w, const void *buf, size_t len, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    if (!w->replacing) {
        snprintf(err, errlen, "%s: written straight into, nothing to put before", w->shown);
        return SGS_ERR_INVALID_ARG;
    }
    struct stat was, in_st;
    const int in = openat(w->dirfd, w->tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0 || fstat(w->fd, &was) != 0 || fstat(in, &in_st) != 0 ||
        was.st_dev != in_st.st_dev || was.st_ino != in_st.st_ino) {
        snprintf(err, errlen, "%s: cannot read back its temporary file %s: %s", w->shown, w->tmp,
                 in < 0 ? strerror(errno) : "replaced meanwhile");
        if (in >= 0)
            close(in);
        return SGS_ERR_IO;
    }
    char old[sizeof(w->tmp)];
    memcpy(old, w->tmp, sizeof(old));
    const int oldfd = w->fd;
    w->fd = -1;
    /* the same mode and owner as the bytes so far: the new file is what the old one was */
    sgs_status st = open_temporary(w, was.st_mode & 07777, &was, err, errlen);
    if (st == SGS_OK)
        st = sgs_wfile_write(w, buf, len, err, errlen);
    if (st == SGS_OK && copy_all(in, w->fd) != 0) {
        snprintf(err, errlen, "%s: %s", w->shown, strerror(errno));
        st = SGS_ERR_IO;
    }
    if (st != SGS_OK && w->fd >= 0) {
        close(w->fd);
        (void)unlinkat(w->dirfd, w->tmp, 0);
    }
    close(in);
    if (st != SGS_OK) { /* as it was: the old temporary file, to be committed or aborted */
        w->fd = oldfd;
        memcpy(w->tmp, old, sizeof(old));
        w->replacing = 1;
        return st;
    }
    close(oldfd);
    (void)unlinkat(w->dirfd, old, 0);
    return SGS_OK;
}
