/* quarantine.h - rename failing files to <name>_invalid with a journal that makes it undoable. */
#ifndef SGS_QUARANTINE_H
#define SGS_QUARANTINE_H

#include "sigsweep.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct sgs_journal sgs_journal;

/*
 * Opens (creating it and its directory if needed) an append-only journal. An existing file
 * must start with the header line; the next sequence number continues after its last record.
 * Returns NULL with err on failure.
 */
sgs_journal *sgs_journal_open(const sgs_allocator *a, const char *path, char *err, size_t errlen);
void sgs_journal_close(sgs_journal *j);
/* A quarantine step waiting for another process's journal lock gives up when *cancel is set
   (the engine's stop flag: SIGTERM, --time-limit), and after SGS_JOURNAL_LOCK_WAIT_S. */
void sgs_journal_set_cancel(sgs_journal *j, const atomic_int *cancel);
/* The open journal's descriptor (read and append; owned by j). */
int sgs_journal_fd(const sgs_journal *j);

/* Never quarantine this file (the engine's own: journal, cache). Call before judging. */
void sgs_journal_protect(sgs_journal *j, const char *path);

/*
 * Renames `path` to path_invalid (or _invalid.N, never replacing anything) if it is still the
 * file `judged` describes (dev, ino, size, mtime), inside the directory (dir_dev, dir_ino) the
 * walk listed it in (0, 0: a path given, not walked): the rename goes through that directory's
 * descriptor. The intent is appended to the journal and fsync'd before the rename; completion
 * after. Returns 1 with the new name in newpath, said as path was given (its directory part
 * and the new base name: relative stays relative; the journal holds absolute paths), or 0 with
 * why. THREAD SAFETY: any thread (the journal is locked).
 */
/* What a quarantine attempt did: DONE (renamed), NOT_THE_FILE (it is no longer the judged
   file at that name: changed, replaced, gone, e.g. quarantined by a concurrent run; nothing
   renamed), FAILED (the judged file is there but could not be quarantined: name, EXDEV,
   permissions, journal; an error for the run). */
typedef enum sgs_quarantine_result {
    SGS_QUARANTINE_FAILED = -1,
    SGS_QUARANTINE_NOT_THE_FILE = 0,
    SGS_QUARANTINE_DONE = 1
} sgs_quarantine_result;

sgs_quarantine_result sgs_quarantine_file_ex(sgs_journal *j, const char *path,
                                             const struct stat *judged, dev_t dir_dev,
                                             ino_t dir_ino, char *newpath, size_t newlen,
                                             char *why, size_t whylen);

/* How many files this run could not quarantine (SGS_QUARANTINE_FAILED). */
uint64_t sgs_journal_failures(sgs_journal *j);

/* As sgs_quarantine_file_ex; 1 for DONE, else 0 (kept for the engine's current call). */
int sgs_quarantine_file(sgs_journal *j, const char *path, const struct stat *judged,
                        dev_t dir_dev, ino_t dir_ino, char *newpath, size_t newlen, char *why,
                        size_t whylen);

#endif
