/*
 * journal_fuzz.c - libFuzzer target for the quarantine journal as restore and --journal read
 * it (journal.c, restore.c). The input is written to a journal file of the harness's own, then:
 *   sgs_journal_read: on success every entry has an original and a quarantined name (no NUL,
 *     not empty) and the count matches the Q lines; on failure err says why and nothing is
 *     returned;
 *   sgs_journal_next_seq: above every sequence number read (or 0: no more numbers);
 *   sgs_restore, dry run: a status of the documented set, a record per entry at most, and the
 *     journal's bytes unchanged;
 *   sgs_journal_open_fd (what a quarantining run does): a file without the header line is
 *     never modified; a journal loses at most its torn last line.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.journal_corpus).
 */
#include "journal.h"
#include "sigsweep.h"

#include "fuzz_check.h"
#include "fuzz_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
count_record(void *opaque, const sgs_restore_record *r)
{
    FUZZ_CHECK(r->original != NULL && r->quarantined != NULL && r->reason != NULL);
    FUZZ_CHECK(r->action == SGS_RESTORE_REFUSED || r->action == SGS_RESTORE_WOULD ||
               r->action == SGS_RESTORE_NOT_MOVED);
    ++*(size_t *)opaque;
}

/* The file's bytes now (malloc'd; *n its length). */
static uint8_t *
slurp(const char *path, size_t *n)
{
    struct stat sb;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0 && fstat(fd, &sb) == 0);
    uint8_t *const buf = malloc((size_t)sb.st_size + 1);
    FUZZ_CHECK(buf != NULL);
    FUZZ_CHECK(pread(fd, buf, (size_t)sb.st_size, 0) == (ssize_t)sb.st_size);
    close(fd);
    *n = (size_t)sb.st_size;
    return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512], err[1024] = "";
    fuzz_file("journal", data, size, path, sizeof(path));
    sgs_journal_entry *e = NULL;
    size_t n = 0;
    const int rc = sgs_journal_read(NULL, path, &e, &n, err, sizeof(err));
    size_t qlines = 0;
    for (size_t i = 0; i < size; i++)
        qlines += data[i] == 'Q' && (i == 0 || data[i - 1] == '\n');
    if (rc != 0) {
        FUZZ_CHECK(e == NULL && n == 0 && err[0] != '\0');
    } else {
        FUZZ_CHECK(n <= qlines);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(e[i].orig[0] != '\0' && e[i].quarantined[0] != '\0');
        const int fd = open(path, O_RDONLY | O_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
        uint64_t scanned = 0, max_seq = 0;
        const uint64_t next = sgs_journal_next_seq(fd, &scanned, &max_seq);
        close(fd);
        for (size_t i = 0; i < n && next != 0; i++)
            FUZZ_CHECK(next > e[i].seq);
    }
    sgs_journal_entries_free(NULL, e, n);

    size_t records = 0;
    sgs_restore_opts o;
    memset(&o, 0, sizeof(o));
    o.journal = path;
    o.dry_run = 1;
    err[0] = '\0';
    const sgs_status st = sgs_restore(&o, count_record, &records, err, sizeof(err));
    FUZZ_CHECK(st == SGS_OK || st == SGS_ERR_STATE || st == SGS_ERR_FORMAT || st == SGS_ERR_IO);
    FUZZ_CHECK(st != SGS_ERR_FORMAT || err[0] != '\0');
    FUZZ_CHECK(records <= n);
    size_t len = 0;
    uint8_t *now = slurp(path, &len);
    FUZZ_CHECK(len == size && memcmp(now, data, size) == 0); /* a dry run writes nothing */
    free(now);

    const int jfd = sgs_journal_open_fd(path, err, sizeof(err));
    now = slurp(path, &len);
    static const char header[] = SGS_JOURNAL_HEADER "\n";
    if (jfd < 0 || size < sizeof(header) - 1 || memcmp(data, header, sizeof(header) - 1) != 0) {
        FUZZ_CHECK(len == size && memcmp(now, data, size) == 0);
    } else {
        FUZZ_CHECK(len <= size && memcmp(now, data, len) == 0 && now[len - 1] == '\n' &&
                   memchr(data + len, '\n', size - len) == NULL);
    }
    if (jfd >= 0)
        close(jfd);
    free(now);
    return 0;
}
