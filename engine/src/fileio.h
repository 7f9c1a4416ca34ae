/* fileio.h - the one way sigsweep writes a file (never through a link, never over a device)
   and opens an input it is given (never blocking on a FIFO, regular files only). */
#ifndef SGS_FILEIO_H
#define SGS_FILEIO_H

#include "sigsweep.h"

#include <stddef.h>
#include <sys/types.h>

/* Flags of sgs_wfile_open. */
#define SGS_WFILE_NOREPLACE 1u    /* an existing destination (of any kind) is refused */
#define SGS_WFILE_REGULAR_ONLY 2u /* a FIFO or character device is refused, not written into */
#define SGS_WFILE_SYNC 4u         /* fsync the file, and its directory after the rename */

typedef struct sgs_wfile sgs_wfile;

/*
 * Starts writing `path`. Where the destination is (or will be) a regular file, the bytes go
 * to a new temporary file beside it (O_CREAT|O_EXCL|O_NOFOLLOW, an unpredictable name, the
 * final mode) that sgs_wfile_commit() renames over it; a symbolic link at `path` is replaced,
 * never written through; an existing regular file's mode and owner are kept. A FIFO or a
 * character device (/dev/null, a terminal) is written into directly, as `dd of=` does (a FIFO
 * without a reader is an error, not a hang), unless SGS_WFILE_REGULAR_ONLY. A directory,
 * socket or block device is refused. `mode` is the mode of a new file (umask not applied).
 * On success *out is owned by the caller: release it with sgs_wfile_commit() or
 * sgs_wfile_abort(). On failure err says why, naming the path.
 * Returns SGS_OK, SGS_ERR_IO (err says why), SGS_ERR_NOMEM, SGS_ERR_INVALID_ARG.
 * THREAD SAFETY: a handle is used by one thread at a time.
 */
SGS_NODISCARD sgs_status sgs_wfile_open(const char *path, unsigned flags, mode_t mode,
                                        sgs_wfile **out, char *err, size_t errlen);

/* The descriptor to write to (blocking). Owned by the handle. */
int sgs_wfile_fd(const sgs_wfile *w);

/* Writes all of (buf, len), retrying short writes. SGS_OK or SGS_ERR_IO (err says why). */
SGS_NODISCARD sgs_status sgs_wfile_write(sgs_wfile *w, const void *buf, size_t len, char *err,
                                         size_t errlen);

/* Whether the bytes go to a temporary file (1) or straight into a FIFO or device (0). */
int sgs_wfile_is_replacing(const sgs_wfile *w);

/*
 * Finishes: closes the file and renames the temporary file over the destination (with
 * SGS_WFILE_NOREPLACE, only if the name is still free). Frees w in every case; on failure the
 * temporary file is removed and the destination is as it was. SGS_OK or SGS_ERR_IO.
 */
SGS_NODISCARD sgs_status sgs_wfile_commit(sgs_wfile *w, char *err, size_t errlen);

/* Abandons: removes the temporary file, leaves the destination as it was, frees w. NULL-safe. */
void sgs_wfile_abort(sgs_wfile *w);

/*
 * Opens an input sigsweep was given (a list, journal, policy, manifest, key or certificate
 * file) for reading: O_NONBLOCK, so a FIFO without a writer cannot hang the open, then
 * fstat: only a regular file is accepted (a FIFO, socket, device or directory is refused with
 * err naming the path and what it is). `follow`: 0 refuses a symbolic link as the last
 * component. Returns a blocking descriptor the caller closes, or -1 with err.
 */
int sgs_open_regular(const char *path, int follow, char *err, size_t errlen);

#endif
