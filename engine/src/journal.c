/*
 * journal.c - reading and writing the quarantine journal (format in quarantine.c). Paths are
 * hex-encoded, so any byte a file name may hold survives a line-oriented text file. Each
 * record is written with one write(2) and fdatasync'd before the action it announces.
 *
 * Runs may share a journal: sequence numbers are drawn under the journal lock from what the
 * journal holds (sgs_journal_next_seq reads what any run appended since), so a seq is unique
 * in the journal across runs (the record format is unchanged); flock(LOCK_EX) on the journal serialises a quarantine step
 * (Q, rename, D) against another run's and against restore (which holds it for its whole run).
 * The lock is per step, not per run: two enforcing runs on one journal both progress, and a
 * restore waits only for the rename in flight. flock, not fcntl locks: it belongs to the open
 * file description, so closing another descriptor of the file in the process cannot drop it.
 */
#include "journal.h"

#include "alloc.h"
#include "digest.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
mkdir_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

/* Reads the first line (up to the header's length + 1) at offset 0: is it a journal header? */
static int
has_header(int fd)
{
    char buf[sizeof(SGS_JOURNAL_HEADER) + 1];
    const ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n < (ssize_t)sizeof(SGS_JOURNAL_HEADER))
        return 0;
    buf[n] = '\0';
    const size_t h = sizeof(SGS_JOURNAL_HEADER) - 1;
    return buf[h] == '\n' && memcmp(buf, SGS_JOURNAL_HEADER, h) == 0;
}

int
sgs_journal_lock(int fd, const atomic_int *cancel, unsigned wait_s)
{
    /* polled, not a blocking flock: a blocking one restarts after a stop signal (SA_RESTART)
       and could wait for ever on a holder that never lets go */
    const struct timespec nap = {0, 5 * 1000 * 1000};
    const unsigned long tries = (unsigned long)wait_s * 200u;
    for (unsigned long i = 0;; i++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (cancel != NULL && atomic_load_explicit(cancel, memory_order_relaxed)) {
            errno = ECANCELED;
            return -1;
        }
        if (i >= tries) {
            errno = ETIMEDOUT;
            return -1;
        }
        (void)nanosleep(&nap, NULL);
    }
}

const char *
sgs_journal_lock_error(int err)
{
    switch (err) {
    case ECANCELED:
        return "the run was stopped while waiting for the journal lock";
    case ETIMEDOUT:
        return "another process has held the journal lock for too long (a restore in "
               "progress, or a stuck run)";
    default:
        return strerror(err);
    }
}

void
sgs_journal_unlock(int fd)
{
    (void)flock(fd, LOCK_UN);
}

/* A torn last line (a crash, or a write cut short by a full disk, in whichever run) never took
   effect: it is cut off, back to the last complete record, so the next record starts a line
   of its own. The caller holds the lock. 0, or -1 (errno). */
static int
cut_torn_tail(int fd)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return -1;
    off_t end = sb.st_size;
    char c = 0;
    while (end > 0 && pread(fd, &c, 1, end - 1) == 1 && c != '\n')
        end--;
    return end != sb.st_size && end > 0 ? ftruncate(fd, end) : 0;
}

uint64_t
sgs_journal_next_seq(int fd, uint64_t *scanned, uint64_t *max_seq)
{
    char buf[65536];
    size_t have = 0; /* bytes of a line carried over from the previous read */
    for (;;) {
        const ssize_t r = pread(fd, buf + have, sizeof(buf) - have, (off_t)(*scanned + have));
        if (r < 0)
            return 0;
        if (r == 0)
            break;
        const size_t len = have + (size_t)r;
        size_t start = 0;
        for (size_t i = 0; i < len; i++) {
            if (buf[i] != '\n')
                continue;
            if (buf[start] == 'Q' && i > start + 2) {
                const uint64_t seq = strtoull(buf + start + 2, NULL, 10);
                if (seq > *max_seq)
                    *max_seq = seq;
            }
            start = i + 1;
        }
        *scanned += start;
        have = len - start;
        if (start == 0 && have == sizeof(buf)) { /* a line longer than the buffer: skip it */
            *scanned += have;
            have = 0;
        } else {
            memmove(buf, buf + start, have);
        }
    }
    return *max_seq + 1;
}

static int parent_trusted(const char *path, char *err, size_t errlen);

int
sgs_journal_open_fd(const char *path, char *err, size_t errlen)
{
    if (mkdir_parents(path) != 0) {
        snprintf(err, errlen, "%s: cannot create its directory: %s", path, strerror(errno));
        return -1;
    }
    /* created with its header in one step (fileio.c), so a concurrent run never sees it empty
       (and takes it for "not a journal"); a symlink, FIFO or device there is refused */
    static const char header[] = SGS_JOURNAL_HEADER "\n";
    if (!parent_trusted(path, err, errlen))
        return -1; /* nothing created where someone else could swap it */
    const int fd = sgs_wfile_open_append(path, 0600, header, sizeof(header) - 1, err, errlen);
    struct stat sb;
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* the header is checked before anything is written: a file that is not a journal is never
       modified */
    if (!has_header(fd)) {
        snprintf(err, errlen, "%s: %s", path,
                 "not a sigsweep journal (no \"" SGS_JOURNAL_HEADER "\" header); not touched");
        close(fd);
        return -1;
    }
    if (!sgs_journal_trusted(&sb, path, err, errlen) ||
        !sgs_journal_place_trusted(fd, path, err, errlen)) {
        close(fd);
        return -1;
    }
    /* A crash while appending can leave a torn last line; its action never happened (records
       are complete and synced before their action), so cut it off before appending more. The
       lock keeps a concurrent run's half-written record from being taken for a torn one; when
       another run holds it, the cut is left to the next append (append_record cuts too). */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        const int cut = cut_torn_tail(fd);
        const int saved = errno;
        sgs_journal_unlock(fd);
        if (cut != 0) {
            snprintf(err, errlen, "%s: cannot cut a torn last record: %s", path,
                     strerror(saved));
            close(fd);
            return -1;
        }
    }
    return fd;
}

int
sgs_journal_trusted(const struct stat *sb, const char *path, char *err, size_t errlen)
{
    const uid_t euid = geteuid();
    if (sb->st_uid != euid && sb->st_uid != 0) {
        snprintf(err, errlen, "%s: owned by uid %lu, not by this user or root: not trusted as a "
                 "journal (its entries decide what is renamed back)", path,
                 (unsigned long)sb->st_uid);
        return 0;
    }
    if ((sb->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(err, errlen, "%s: writable by %s: not trusted as a journal (chmod go-w)", path,
                 (sb->st_mode & S_IWOTH) != 0 ? "others" : "its group");
        return 0;
    }
    /* whoever can open it can flock it, and hold every quarantine and restore on it */
    if ((sb->st_mode & (S_IRGRP | S_IROTH)) != 0) {
        snprintf(err, errlen, "%s: readable by %s: not trusted as a journal (anyone who can "
                 "open it can lock it and stall quarantine and restore; chmod go-rw)", path,
                 (sb->st_mode & S_IROTH) != 0 ? "others" : "its group");
        return 0;
    }
    return 1;
}

/* The place check of sgs_journal_place_trusted from the kernel's name of fd: fd is the
   journal (its directories checked) or, is_dir, the directory it is to be created in. */
static int
place_trusted(int fd, int is_dir, const char *path, char *err, size_t errlen)
{
    char link[64], dir[PATH_MAX + 2];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, dir, PATH_MAX);
    if (n <= 0 || n >= PATH_MAX || dir[0] != '/') {
        snprintf(err, errlen, "%s: cannot tell which directory holds it (/proc/self/fd)", path);
        return 0;
    }
    dir[n] = '\0';
    if (is_dir && n > 1)
        memcpy(dir + n, "/x", 3); /* its own check first: as if for a file in it */
    const uid_t euid = geteuid();
    /* every directory from the journal's up to /: whoever may rename entries in one of them
       can put another (an older) journal in its place */
    for (char *slash = strrchr(dir, '/'); slash != NULL; slash = strrchr(dir, '/')) {
        if (slash == dir)
            slash[1] = '\0'; /* "/" itself, last */
        else
            *slash = '\0';
        struct stat ds;
        if (lstat(dir, &ds) != 0) {
            snprintf(err, errlen, "%s: its directory %s: %s", path, dir, strerror(errno));
            return 0;
        }
        if (ds.st_uid != euid && ds.st_uid != 0) {
            snprintf(err, errlen, "%s: its directory %s is owned by uid %lu, not by this user or "
                     "root: not trusted as a journal's place (its owner could swap the journal)",
                     path, dir, (unsigned long)ds.st_uid);
            return 0;
        }
        if ((ds.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (ds.st_mode & S_ISVTX) == 0) {
            snprintf(err, errlen, "%s: its directory %s is writable by %s: not trusted as a "
                     "journal's place (anyone could swap the journal; chmod go-w, or the sticky "
                     "bit)", path, dir, (ds.st_mode & S_IWOTH) != 0 ? "others" : "its group");
            return 0;
        }
        if (strcmp(dir, "/") == 0)
            break;
    }
    return 1;
}

int
sgs_journal_place_trusted(int fd, const char *path, char *err, size_t errlen)
{
    return place_trusted(fd, 0, path, err, errlen);
}

/* Before the journal is created or opened: the directory it is in, by its path as given. */
static int
parent_trusted(const char *path, char *err, size_t errlen)
{
    const char *const slash = strrchr(path, '/');
    char dir[PATH_MAX];
    const int w = slash == NULL ? snprintf(dir, sizeof(dir), ".")
                  : slash == path ? snprintf(dir, sizeof(dir), "/")
                                  : snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    if (w < 0 || (size_t)w >= sizeof(dir)) {
        snprintf(err, errlen, "%s: path too long", path);
        return 0;
    }
    const int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "%s: its directory: %s", path, strerror(errno));
        return 0;
    }
    const int ok = place_trusted(dfd, 1, path, err, errlen);
    close(dfd);
    return ok;
}

/* "<base>_invalid" (n 0) or "<base>_invalid.<n>"; a name over NAME_MAX keeps the first bytes
   of base and adds "~" and 16 hex digits of SHA-256(base), so it stays unique and restore can
   tell it from the recorded original. 0, or -1 (n out of range, out too small). */
#define KEEP (NAME_MAX - 1 - 16 - (sizeof("_invalid.999") - 1))
int
sgs_journal_quarantine_name(const char *base, unsigned n, char *out, size_t outlen)
{
    char suffix[32];
    if (n > 999)
        return -1;
    if (n == 0)
        snprintf(suffix, sizeof(suffix), "_invalid");
    else
        snprintf(suffix, sizeof(suffix), "_invalid.%u", n);
    const size_t blen = strlen(base);
    int w;
    if (blen + strlen(suffix) <= NAME_MAX) {
        w = snprintf(out, outlen, "%s%s", base, suffix);
    } else {
        uint8_t md[32];
        char hex[65];
        unsigned mdlen = 0;
        if (EVP_Digest(base, blen, md, &mdlen, EVP_sha256(), NULL) != 1)
            return -1;
        sgs_hex(md, 8, hex);
        hex[16] = '\0';
        w = snprintf(out, outlen, "%.*s~%s%s", (int)KEEP, base, hex, suffix);
    }
    return w > 0 && (size_t)w < outlen ? 0 : -1;
}

int
sgs_journal_quarantine_shaped(const char *path)
{
    const char *const base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    const char *const mark = strstr(base, "_invalid");
    if (mark == NULL || mark == base)
        return 0;
    const char *last = mark, *next;
    while ((next = strstr(last + 1, "_invalid")) != NULL)
        last = next;
    const char *tail = last + strlen("_invalid");
    if (*tail == '.' && tail[1] != '\0') {
        tail++;
        while (*tail >= '0' && *tail <= '9')
            tail++;
    }
    return *tail == '\0';
}

int
sgs_journal_is_quarantine_name(const char *orig_base, const char *q_base)
{
    char want[NAME_MAX + 1];
    unsigned n = 0;
    const char *const dot = strrchr(q_base, '.');
    if (dot != NULL && dot[1] >= '1' && dot[1] <= '9' && strlen(dot + 1) <= 3 &&
        strspn(dot + 1, "0123456789") == strlen(dot + 1))
        n = (unsigned)strtoul(dot + 1, NULL, 10); /* 1 to 3 digits */
    return (sgs_journal_quarantine_name(orig_base, n, want, sizeof(want)) == 0 &&
            strcmp(want, q_base) == 0) ||
           (n != 0 && sgs_journal_quarantine_name(orig_base, 0, want, sizeof(want)) == 0 &&
            strcmp(want, q_base) == 0);
}

/* One record appended and synced, with the lock held: a torn tail before it is cut first, and
   a write that fails part-way (ENOSPC, EIO) is cut back off, so no record ever shares a line
   with another and a full disk leaves the journal readable. 0, or -1 (errno). */
static int
append_record(int fd, const char *buf, size_t len)
{
    struct stat sb;
    if (cut_torn_tail(fd) != 0 || fstat(fd, &sb) != 0)
        return -1;
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        const ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            rc = -1;
            break;
        }
        done += (size_t)w;
    }
    if (rc == 0)
        rc = fdatasync(fd);
    if (rc != 0) {
        const int saved = errno;
        if (ftruncate(fd, sb.st_size) != 0) {
            /* left torn: the next append (or open) cuts it; its action never happens */
        }
        errno = saved;
    }
    return rc;
}

int
sgs_journal_append_q(int fd, uint64_t seq, const struct stat *st, const char *orig,
                     const char *newpath)
{
    const size_t olen = strlen(orig), nlen = strlen(newpath);
    const size_t cap = 128 + 2 * olen + 2 * nlen;
    char *const line = sgs_malloc(NULL, cap);
    if (line == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int off = snprintf(line, cap, "Q %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " ",
                       seq, (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                       (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec);
    sgs_hex((const uint8_t *)orig, olen, line + off);
    off += (int)(2 * olen);
    line[off++] = ' ';
    sgs_hex((const uint8_t *)newpath, nlen, line + off);
    off += (int)(2 * nlen);
    line[off++] = '\n';
    const int rc = append_record(fd, line, (size_t)off);
    sgs_free(NULL, line);
    return rc;
}

int
sgs_journal_append_mark(int fd, char kind, uint64_t seq)
{
    char line[64];
    const int n = snprintf(line, sizeof(line), "%c %" PRIu64 "\n", kind, seq);
    return append_record(fd, line, (size_t)n);
}

int
sgs_journal_append_done(int fd, uint64_t seq, const struct stat *moved)
{
    char line[64];
    const int n = snprintf(line, sizeof(line), "D %" PRIu64 " %" PRIu64 "\n", seq,
                           (uint64_t)moved->st_ctim.tv_sec * 1000000000u +
                               (uint64_t)moved->st_ctim.tv_nsec);
    return append_record(fd, line, (size_t)n);
}

static int
nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The journal is input (a forged one is an attack): its fields are read strictly, as written:
   lowercase hex without sign or space; decimals of digits only, without overflow. */
/* The path a record's hex names, or NULL: malformed, or (*oom set) out of memory. */
static char *
unhex_path(const sgs_allocator *a, const char *hex, int *oom)
{
    const size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0)
        return NULL;
    char *const out = sgs_malloc(a, n / 2 + 1);
    if (out == NULL) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n / 2; i++) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            sgs_free(a, out);
            return NULL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    return out;
}

/* A decimal at *p, then `end` (' ', or '\0' for the end of the line); *p moves past both. */
static int
take_u64(const char **p, char end, uint64_t *out)
{
    const char *d = *p;
    uint64_t v = 0;
    if (*d < '0' || *d > '9' || (d[0] == '0' && d[1] >= '0' && d[1] <= '9'))
        return -1; /* no sign, no space, no leading zero: as the writer writes */
    for (; *d >= '0' && *d <= '9'; d++) {
        if (v > (UINT64_MAX - (uint64_t)(*d - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*d - '0');
    }
    if (*d != end)
        return -1;
    *out = v;
    *p = end != '\0' ? d + 1 : d;
    return 0;
}

/* A word of one or more bytes at *p into out (room for the line), then `end`, as take_u64. */
static int
take_word(const char **p, char end, char *out)
{
    const size_t w = strcspn(*p, " ");
    if (w == 0 || (*p)[w] != end)
        return -1;
    memcpy(out, *p, w);
    out[w] = '\0';
    *p += end != '\0' ? w + 1 : w;
    return 0;
}

void
sgs_journal_line_free(const sgs_allocator *a, sgs_journal_line *r)
{
    sgs_free(a, r->orig);
    sgs_free(a, r->quarantined);
    r->orig = r->quarantined = NULL;
}

/* One record (line without its newline, len bytes), read strictly. 0; -1 malformed; -3 a
   malformed path; -2 out of memory. A Q's paths are allocated with a (the caller frees them:
   sgs_journal_line_free). */
static int
parse_record(const sgs_allocator *a, const char *line, size_t len, sgs_journal_line *r)
{
    memset(r, 0, sizeof(*r));
    const char *p = line + 2; /* "Q <seq> <dev> <ino> <size> <mtime> <hex> <hex>" */
    if (len < 3 || line[1] != ' ')
        return -1;
    r->kind = line[0];
    if (r->kind == 'D' || r->kind == 'R' || r->kind == 'U')
        return take_u64(&p, '\0', &r->seq) == 0 ||
                       /* "D <seq> <ctime_ns>": the quarantined file's ctime after its rename */
                       (r->kind == 'D' && take_u64(&p, ' ', &r->seq) == 0 &&
                        take_u64(&p, '\0', &r->ctime_ns) == 0)
                   ? 0
                   : -1;
    if (r->kind != 'Q')
        return -1;
    char *const ohex = sgs_malloc(a, len + 1), *const nhex = sgs_malloc(a, len + 1);
    int rc = 0;
    if (ohex == NULL || nhex == NULL)
        rc = -2;
    else if (take_u64(&p, ' ', &r->seq) != 0 || take_u64(&p, ' ', &r->dev) != 0 ||
             take_u64(&p, ' ', &r->ino) != 0 || take_u64(&p, ' ', &r->size) != 0 ||
             take_u64(&p, ' ', &r->mtime_ns) != 0 || take_word(&p, ' ', ohex) != 0 ||
             take_word(&p, '\0', nhex) != 0)
        rc = -1;
    else {
        int oom = 0;
        r->orig = unhex_path(a, ohex, &oom);
        r->quarantined = unhex_path(a, nhex, &oom);
        if (r->orig == NULL || r->quarantined == NULL) {
            sgs_journal_line_free(a, r);
            rc = oom ? -2 : -3;
        }
    }
    sgs_free(a, ohex);
    sgs_free(a, nhex);
    return rc;
}

int
sgs_journal_follow(const sgs_allocator *a, int fd, uint64_t *scanned,
                   int (*fn)(void *opaque, sgs_journal_line *r), void *opaque)
{
    char *buf = NULL;
    size_t cap = 0, have = 0; /* bytes of a line carried over from the previous read */
    int rc = 0;
    for (;;) {
        if (cap - have < 65536) {
            char *const g = sgs_malloc(a, cap + 65536);
            if (g == NULL) {
                rc = -2;
                break;
            }
            if (have > 0)
                memcpy(g, buf, have);
            sgs_free(a, buf);
            buf = g;
            cap += 65536;
        }
        const ssize_t got = pread(fd, buf + have, cap - have, (off_t)(*scanned + have));
        if (got <= 0) {
            rc = got < 0 ? -1 : 0;
            break;
        }
        const size_t len = have + (size_t)got;
        size_t start = 0;
        for (size_t i = 0; i < len && rc == 0; i++) {
            if (buf[i] != '\n')
                continue;
            buf[i] = '\0';
            if (*scanned + start > 0) { /* not the header */
                sgs_journal_line r;
                rc = parse_record(a, buf + start, i - start, &r);
                if (rc == 0)
                    rc = fn(opaque, &r);
                sgs_journal_line_free(a, &r);
            }
            start = i + 1;
        }
        if (rc != 0)
            break;
        *scanned += start;
        have = len - start;
        if (start > 0 && have > 0)
            memmove(buf, buf + start, have);
    }
    sgs_free(a, buf);
    return rc;
}

void
sgs_journal_entries_free(const sgs_allocator *a, sgs_journal_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sgs_free(a, e[i].orig);
        sgs_free(a, e[i].quarantined);
    }
    sgs_free(a, e);
}

int
sgs_journal_read(const sgs_allocator *a, const char *path, sgs_journal_entry **out, size_t *count,
                 char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    const int rc = sgs_journal_read_fd(a, fd, path, out, count, err, errlen);
    close(fd);
    return rc;
}

int
sgs_journal_read_fd(const sgs_allocator *a, int jfd, const char *path, sgs_journal_entry **out,
                    size_t *count, char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    /* a descriptor of its own, read from the start (appends go to the end whatever its offset) */
    const int fd = fcntl(jfd, F_DUPFD_CLOEXEC, 0);
    struct stat sb;
    const int regular = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    const int saved = errno;
    FILE *const fp = regular && lseek(fd, 0, SEEK_SET) == 0 ? fdopen(fd, "r") : NULL;
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path,
                 fd >= 0 && !regular ? "not a regular file, not a journal" : strerror(saved));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    sgs_journal_entry *e = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &lcap, fp)) != -1) {
        lineno++;
        const int complete = len > 0 && line[len - 1] == '\n';
        if (complete)
            line[--len] = '\0';
        if (lineno == 1) {
            if (strcmp(line, SGS_JOURNAL_HEADER) != 0) {
                snprintf(err, errlen, "%s: not a sigsweep journal (no \"%s\" header)", path,
                         SGS_JOURNAL_HEADER);
                rc = -1;
                break;
            }
            continue;
        }
        if (!complete)
            break; /* a crash while appending: the torn last line never took effect */
        sgs_journal_line r;
        const int pr = parse_record(a, line, (size_t)len, &r);
        if (pr != 0) {
            if (pr == -2)
                snprintf(err, errlen, "%s: out of memory", path);
            else
                snprintf(err, errlen, "%s:%lu: malformed %sjournal record", path, lineno,
                         pr == -3 ? "path in " : "");
            rc = pr == -2 ? -2 : -1;
            break;
        }
        if (r.kind == 'Q') {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                sgs_journal_entry *const g = sgs_calloc(a, cap, sizeof(*g));
                if (g == NULL) {
                    sgs_journal_line_free(a, &r);
                    rc = -2;
                    snprintf(err, errlen, "%s: out of memory", path);
                    break;
                }
                if (n > 0)
                    memcpy(g, e, n * sizeof(*g));
                sgs_free(a, e);
                e = g;
            }
            sgs_journal_entry *const q = &e[n++];
            memset(q, 0, sizeof(*q));
            q->seq = r.seq;
            q->dev = r.dev;
            q->ino = r.ino;
            q->size = r.size;
            q->mtime_ns = r.mtime_ns;
            q->orig = r.orig; /* owned by the entry now */
            q->quarantined = r.quarantined;
            continue;
        }
        int found = 0;
        for (size_t i = n; i-- > 0 && !found;) {
            if (e[i].seq == r.seq) {
                if (r.kind == 'D') {
                    e[i].done = 1;
                    e[i].ctime_ns = r.ctime_ns;
                } else {
                    e[i].restored = 1; /* R, or U: renamed back at once */
                }
                found = 1;
            }
        }
        if (!found) {
            snprintf(err, errlen, "%s:%lu: %c record for unknown entry %" PRIu64, path, lineno,
                     r.kind, r.seq);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && lineno == 0) {
        snprintf(err, errlen, "%s: empty file, not a sigsweep journal", path);
        rc = -1;
    }
    free(line);
    fclose(fp);
    if (rc != 0) {
        sgs_journal_entries_free(a, e, n);
        return rc;
    }
    *out = e;
    *count = n;
    return 0;
}
