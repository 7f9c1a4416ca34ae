/* journal.h - the quarantine journal's record format, shared by quarantine.c and restore.c. */
#ifndef SGS_JOURNAL_H
#define SGS_JOURNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SGS_JOURNAL_HEADER "sigsweep-journal 1"

/*
 * Opens the journal for appending: creates it (and its directory) with the header if absent;
 * an existing file must be a regular file (not a link: O_NOFOLLOW; not a FIFO or device: it is
 * opened non-blocking) whose first line is a journal header, checked BEFORE anything is
 * written: a file that is not a journal is never modified. A torn last line (a crash while
 * appending) is cut off under the journal lock. Returns the O_APPEND descriptor, or -1 with
 * err.
 */
int sgs_journal_open_fd(const char *path, char *err, size_t errlen);
/* A journal decides what is renamed back and which _invalid names are skipped: only one owned
   by this user or root and not writable by group or others is used. 1: trusted; 0: err says
   why. */
struct stat;
int sgs_journal_trusted(const struct stat *sb, const char *path, char *err, size_t errlen);

/* The same for the journal's place: every directory from the one holding the open journal fd
   up to / is owned by this user or root and not writable by group or others (unless sticky):
   else someone could swap in another journal between runs. 1: trusted; 0: err says why. */
int sgs_journal_place_trusted(int fd, const char *path, char *err, size_t errlen);

/* The next sequence number, unique in the journal across runs sharing it: called with the
   journal lock held, it reads what was appended since *scanned (any run's records) and returns
   one more than the largest Q sequence number seen (kept in *max_seq). 0 on a read error. */
uint64_t sgs_journal_next_seq(int fd, uint64_t *scanned, uint64_t *max_seq);

/* The journal lock between processes: flock(LOCK_EX) on the journal's descriptor. Quarantine
   holds it from its Q record to its D (or U) record, restore for its whole run, so restore
   sees every rename either not begun or finished. Waited for by polling, up to wait_s
   seconds (ETIMEDOUT) or until *cancel is set (ECANCELED; cancel may be NULL). 0, or -1
   (errno; sgs_journal_lock_error words it). */
int sgs_journal_lock(int fd, const atomic_int *cancel, unsigned wait_s);
const char *sgs_journal_lock_error(int err);
void sgs_journal_unlock(int fd);
/* How long a quarantine step or a restore waits for another's lock. */
#define SGS_JOURNAL_LOCK_WAIT_S 60u

/* Appends and fdatasync's a Q record. 0, or -1 (errno). */
int sgs_journal_append_q(int fd, uint64_t seq, const struct stat *st, const char *orig,
                         const char *newpath);

/* Appends and fdatasync's an R (restored) or U (undone: the renamed inode was not the judged
   one and was renamed back; or nothing was moved) record. Every append runs with the lock held;
   a torn tail is cut first and a failed write is cut back off (no record shares a line). */
int sgs_journal_append_mark(int fd, char kind, uint64_t seq);
/* Appends and fdatasync's a D (done) record with the ctime the renamed file has after its
   rename (`D <seq> <ctime_ns>`; older journals' `D <seq>` read with ctime 0): any later
   change to that inode (write, chmod, touch, a new link or name) changes its ctime. */
int sgs_journal_append_done(int fd, uint64_t seq, const struct stat *moved);

/* The quarantine name of a file named base, attempt n (0: "_invalid", else "_invalid.<n>",
   n <= 999); over-long names are shortened reversibly (a hash of base; the journal holds the
   original). 0, or -1. */
int sgs_journal_quarantine_name(const char *base, unsigned n, char *out, size_t outlen);

/* Is the last name of path shaped as a quarantine name ("<name>_invalid" or
   "<name>_invalid.<digits>"), whoever made it? 1 or 0. */
int sgs_journal_quarantine_shaped(const char *path);

/* Is q_base a name sgs_journal_quarantine_name gives orig_base (any attempt)? 1 or 0. */
int sgs_journal_is_quarantine_name(const char *orig_base, const char *q_base);

/* One Q record as read back, with what later records said of it. */
typedef struct sgs_journal_entry {
    uint64_t seq;
    uint64_t dev, ino, size, mtime_ns;
    uint64_t ctime_ns; /* from the D record; 0: not recorded (an older journal) */
    char *orig, *quarantined; /* owned */
    int done, restored;
} sgs_journal_entry;

/* One record as written: kind 'Q' (seq, dev, ino, size, mtime_ns, orig, quarantined), 'D'
   (seq, ctime_ns: 0 when not recorded), 'R' or 'U' (seq). */
typedef struct sgs_journal_line {
    char kind;
    uint64_t seq, dev, ino, size, mtime_ns, ctime_ns;
    char *orig, *quarantined; /* a Q's, owned by whoever took them (else freed after fn) */
} sgs_journal_line;
struct sgs_allocator;
void sgs_journal_line_free(const struct sgs_allocator *a, sgs_journal_line *r);

/* Follows a journal: the complete records appended since *scanned (0: from the start; the
   header is skipped), read strictly, each handed to fn (which may take a Q's paths, setting
   them NULL); *scanned moves past them, a torn last line is left for later. The caller holds
   the lock. 0; -1 (a read error, or a malformed record); -2 out of memory; or what fn
   returned when not 0. */
int sgs_journal_follow(const struct sgs_allocator *a, int fd, uint64_t *scanned,
                       int (*fn)(void *opaque, sgs_journal_line *r), void *opaque);

/* Reads a whole journal (the caller holds the lock, or accepts a snapshot), allocating with a
   (NULL: malloc). On success *out (free with sgs_journal_entries_free and the same a) and *n.
   A file without the header, or with a malformed line, is refused (-1 with err, naming the
   line); -2 with err when an allocation failed. */
struct sgs_allocator;
int sgs_journal_read(const struct sgs_allocator *a, const char *path, sgs_journal_entry **out,
                     size_t *n, char *err, size_t errlen);
/* The same through an open descriptor (readable; its offset is left alone): the journal whose
   ownership was checked and whose lock is held, not whatever `path` names meanwhile (path only
   words the errors). */
int sgs_journal_read_fd(const struct sgs_allocator *a, int fd, const char *path,
                        sgs_journal_entry **out, size_t *n, char *err, size_t errlen);
void sgs_journal_entries_free(const struct sgs_allocator *a, sgs_journal_entry *e, size_t n);

#endif
