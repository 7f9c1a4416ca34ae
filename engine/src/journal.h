/* journal.h - the quarantine journal's record format, shared by quarantine.c and restore.c. */
#ifndef SGS_JOURNAL_H
#define SGS_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SGS_JOURNAL_HEADER "sigsweep-journal 1"

/* Creates the journal (and its directory) with the header if absent, or checks the header of
   an existing one and finds its last sequence number. 0, or -1 with err. */
int sgs_journal_prepare(const char *path, uint64_t *last_seq, char *err, size_t errlen);

/* Appends and fdatasync's a Q record. 0, or -1 (errno). */
int sgs_journal_append_q(int fd, uint64_t seq, const struct stat *st, const char *orig,
                         const char *newpath);

/* Appends and fdatasync's a D or R record. */
int sgs_journal_append_mark(int fd, char kind, uint64_t seq);

/* One Q record as read back, with what later records said of it. */
typedef struct sgs_journal_entry {
    uint64_t seq;
    uint64_t dev, ino, size, mtime_ns;
    char *orig, *quarantined; /* owned */
    int done, restored;
} sgs_journal_entry;

/* Reads a whole journal. On success *out (free with sgs_journal_entries_free) and *n. A file
   without the header, or with a malformed line, is refused (-1 with err, naming the line). */
int sgs_journal_read(const char *path, sgs_journal_entry **out, size_t *n, char *err,
                     size_t errlen);
void sgs_journal_entries_free(sgs_journal_entry *e, size_t n);

#endif
