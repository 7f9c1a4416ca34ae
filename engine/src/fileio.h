/* fileio.h - the one way sigsweep writes a file (never through a link, never over a device)
   and opens an input it is given (never blocking on a FIFO, regular files only). The
   functions are public (sigsweep.h, "Files"): the CLI writes its report through them too. */
#ifndef SGS_FILEIO_H
#define SGS_FILEIO_H

#include "sigsweep.h"

/*
 * Writes (buf, len) as the whole of `path`: sgs_wfile_open with flags and mode, write, commit.
 * SGS_OK, or the first failure with err naming the path; with SGS_WFILE_NOREPLACE, errno is
 * EEXIST when the name was taken (before the open or by the time of the rename).
 */
SGS_NODISCARD sgs_status sgs_wfile_put(const char *path, unsigned flags, mode_t mode,
                                       const void *buf, size_t len, char *err, size_t errlen);

/*
 * Opens an append-only log (the quarantine journal) for reading and appending, creating it
 * when missing: `initial` (its header) is written by sgs_wfile_put with
 * SGS_WFILE_NOREPLACE | SGS_WFILE_REGULAR_ONLY | SGS_WFILE_SYNC, so it appears under its name
 * whole (a concurrent opener never sees it empty) with exactly `mode`, and an existing one is
 * never replaced. Whatever is at `path` then must be a regular file: a symbolic link, FIFO,
 * device or directory is refused, neither written through nor replaced (replacing a link
 * would start a second log beside the one it names). Returns a blocking O_RDWR|O_APPEND
 * descriptor the caller closes, or -1 with err naming the path (errno set).
 * THREAD SAFETY: any thread; two openers of one missing path both get the one file.
 */
int sgs_wfile_open_append(const char *path, mode_t mode, const void *initial, size_t len,
                          char *err, size_t errlen);

#endif
