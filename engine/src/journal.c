/*
 * journal.c - reading and writing the quarantine journal (format in quarantine.c). Paths are
 * hex-encoded, so any byte a file name may hold survives a line-oriented text file. Each
 * record is written with one write(2) and fdatasync'd before the action it announces.
 */
#include "journal.h"

#include "alloc.h"
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
sgs_journal_prepare(const char *path, uint64_t *last_seq, char *err, size_t errlen)
{
    *last_seq = 0;
    if (mkdir_parents(path) != 0) {
        snprintf(err, errlen, "%s: cannot create its directory: %s", path, strerror(errno));
        return -1;
    }
    const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        static const char header[] = SGS_JOURNAL_HEADER "\n";
        const int ok = write(fd, header, sizeof(header) - 1) == (ssize_t)(sizeof(header) - 1) &&
                       fsync(fd) == 0;
        close(fd);
        if (!ok) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* A crash while appending can leave a torn last line; its action never happened (records
       are complete and synced before their action), so cut it off before appending more. */
    const int rw = open(path, O_RDWR | O_CLOEXEC);
    struct stat sb;
    if (rw >= 0 && fstat(rw, &sb) == 0 && sb.st_size > 0) {
        off_t end = sb.st_size;
        char c = 0;
        while (end > 0 && pread(rw, &c, 1, end - 1) == 1 && c != '\n')
            end--;
        if (end != sb.st_size && end > 0 && ftruncate(rw, end) != 0) {
            snprintf(err, errlen, "%s: cannot cut a torn last record: %s", path, strerror(errno));
            close(rw);
            return -1;
        }
    }
    if (rw >= 0)
        close(rw);
    sgs_journal_entry *e = NULL;
    size_t n = 0;
    if (sgs_journal_read(path, &e, &n, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (e[i].seq > *last_seq)
            *last_seq = e[i].seq;
    sgs_journal_entries_free(e, n);
    return 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        const ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return fdatasync(fd);
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
    const int rc = write_all(fd, line, (size_t)off);
    sgs_free(NULL, line);
    return rc;
}

int
sgs_journal_append_mark(int fd, char kind, uint64_t seq)
{
    char line[64];
    const int n = snprintf(line, sizeof(line), "%c %" PRIu64 "\n", kind, seq);
    return write_all(fd, line, (size_t)n);
}

static char *
unhex_path(const char *hex)
{
    const size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0)
        return NULL;
    char *const out = sgs_malloc(NULL, n / 2 + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0) {
            sgs_free(NULL, out);
            return NULL;
        }
        out[i] = (char)v;
    }
    out[n / 2] = '\0';
    return out;
}

void
sgs_journal_entries_free(sgs_journal_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sgs_free(NULL, e[i].orig);
        sgs_free(NULL, e[i].quarantined);
    }
    sgs_free(NULL, e);
}

int
sgs_journal_read(const char *path, sgs_journal_entry **out, size_t *count, char *err,
                 size_t errlen)
{
    *out = NULL;
    *count = 0;
    FILE *const fp = fopen(path, "re");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
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
        char kind = 0;
        uint64_t seq = 0, dev = 0, ino = 0, size = 0, mt = 0;
        char *ohex = NULL, *nhex = NULL;
        if (line[0] == 'Q') {
            ohex = sgs_malloc(NULL, (size_t)len + 1);
            nhex = sgs_malloc(NULL, (size_t)len + 1);
            if (ohex == NULL || nhex == NULL ||
                sscanf(line, "Q %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %s %s",
                       &seq, &dev, &ino, &size, &mt, ohex, nhex) != 7) {
                sgs_free(NULL, ohex);
                sgs_free(NULL, nhex);
                snprintf(err, errlen, "%s:%lu: malformed journal record", path, lineno);
                rc = -1;
                break;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                sgs_journal_entry *const g = sgs_calloc(NULL, cap, sizeof(*g));
                if (g == NULL) {
                    sgs_free(NULL, ohex);
                    sgs_free(NULL, nhex);
                    rc = -1;
                    snprintf(err, errlen, "out of memory");
                    break;
                }
                if (n > 0)
                    memcpy(g, e, n * sizeof(*g));
                sgs_free(NULL, e);
                e = g;
            }
            sgs_journal_entry *const q = &e[n];
            memset(q, 0, sizeof(*q));
            q->seq = seq;
            q->dev = dev;
            q->ino = ino;
            q->size = size;
            q->mtime_ns = mt;
            q->orig = unhex_path(ohex);
            q->quarantined = unhex_path(nhex);
            sgs_free(NULL, ohex);
            sgs_free(NULL, nhex);
            if (q->orig == NULL || q->quarantined == NULL) {
                sgs_free(NULL, q->orig);
                sgs_free(NULL, q->quarantined);
                snprintf(err, errlen, "%s:%lu: malformed path in journal record", path, lineno);
                rc = -1;
                break;
            }
            n++;
        } else if (sscanf(line, "%c %" SCNu64, &kind, &seq) == 2 && (kind == 'D' || kind == 'R')) {
            int found = 0;
            for (size_t i = n; i-- > 0 && !found;) {
                if (e[i].seq == seq) {
                    if (kind == 'D')
                        e[i].done = 1;
                    else
                        e[i].restored = 1;
                    found = 1;
                }
            }
            if (!found) {
                snprintf(err, errlen, "%s:%lu: %c record for unknown entry %" PRIu64, path, lineno,
                         kind, seq);
                rc = -1;
                break;
            }
        } else {
            snprintf(err, errlen, "%s:%lu: malformed journal record", path, lineno);
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
        sgs_journal_entries_free(e, n);
        return -1;
    }
    *out = e;
    *count = n;
    return 0;
}
