/* scan.h - walks paths: directories recursively, no symlink following, signatures skipped. */
#ifndef SGS_SCAN_H
#define SGS_SCAN_H

#include "sigsweep.h"

#include <stddef.h>
#include <sys/types.h>

/* How the walker saw an entry, so the worker can skip obvious non-files without opening. */
typedef enum sgs_scan_kind {
    SGS_SCAN_FILE = 0,    /* regular file, or not known yet (worker checks after open) */
    SGS_SCAN_SYMLINK,     /* not followed */
    SGS_SCAN_SPECIAL,     /* FIFO, socket, device */
    SGS_SCAN_MISSING,     /* does not exist (command-line path) */
    SGS_SCAN_ERROR,       /* could not be examined or a directory could not be read */
    SGS_SCAN_LINKED_PATH, /* a directory of the path given is a symbolic link (not followed) */
    SGS_SCAN_TOO_DEEP     /* a directory nested deeper than SGS_SCAN_MAX_DEPTH: not walked */
} sgs_scan_kind;

/* Directories nested deeper below a path given are reported (SGS_SCAN_TOO_DEEP), not walked:
   the walk recurses, one frame per level. */
#define SGS_SCAN_MAX_DEPTH 4096

/* Called for each input found; returns 0 to go on, non-zero to stop the walk. */
typedef int (*sgs_scan_fn)(void *opaque, const char *path, sgs_scan_kind kind, int errno_value);

/*
 * A directory the walk listed, kept open for its entries: a consumer opens and stats them
 * through it (openat, name relative), so a directory of the path replaced by a link meanwhile
 * cannot redirect it, and no path is walked again. Reference-counted: the walk holds one
 * reference while it lists; a consumer that keeps an entry takes one (retain) and gives it
 * back when done (release; the last closes the descriptor). THREAD SAFETY: any thread.
 */
typedef struct sgs_scan_dir sgs_scan_dir;
sgs_scan_dir *sgs_scan_dir_retain(sgs_scan_dir *d);
void sgs_scan_dir_release(sgs_scan_dir *d); /* NULL is a no-op */
int sgs_scan_dir_fd(const sgs_scan_dir *d);

/* An input with what the walk saw beside it: bit i of `present` is set when the entry's name
   followed by skip[i] is listed in the same directory (the first 8 suffixes);
   SGS_SCAN_PRESENT_UNKNOWN when nothing was listed (a path given directly). */
#define SGS_SCAN_PRESENT_UNKNOWN 0x80000000u
typedef struct sgs_scan_entry {
    const char *path;
    sgs_scan_kind kind;
    int errno_value;
    unsigned present;
    dev_t dir_dev; /* the directory the entry was listed in or, for a path given, the one
                      its last name was looked up in; 0, 0 when unknown */
    ino_t dir_ino;
    sgs_scan_dir *dir; /* that directory, open (borrowed: retain to keep); NULL for a path
                          given, or when it could not be kept */
    const char *name;  /* the entry's name in it (the end of path) */
    int given;         /* 1: the path itself was given (not found by a walk) */
} sgs_scan_entry;
typedef int (*sgs_scan_entry_fn)(void *opaque, const sgs_scan_entry *entry);

/*
 * Walks `path`: a directory is walked recursively (physical: links are reported, not
 * followed; kinds from d_type, no stat per entry); any other path is reported as one entry.
 * Names ending in one of the `skip` suffixes (NULL or empty entries are ignored) are not
 * reported when they are the signature of a regular file beside them; a path given that is
 * such a signature is reported as that file (sgs_signature_subject). Paths are reported
 * without repeated slashes. Returns 0, or the non-zero value a callback returned.
 */
int sgs_scan_inputs(const char *path, const char *const *skip, size_t nskip, sgs_scan_entry_fn fn,
                    void *opaque);

/*
 * Opens `path` (relative to `at`, or absolute) following no symbolic link in any of its
 * components, the last included: openat2(RESOLVE_NO_SYMLINKS) where the kernel has it, else
 * component by component with O_NOFOLLOW. `flags` are open(2)'s (O_PATH | O_DIRECTORY for a
 * directory). Returns the descriptor, or -1 with errno (ELOOP: a component is a link).
 */
int sgs_open_nofollow(int at, const char *path, int flags);
/* The directory that holds path's last component (".", "/" or the part before the last
   slash; path has no trailing slash), opened O_PATH the same way. */
int sgs_open_parent_nofollow(const char *path);

/* The same, with the plain callback: one suffix, or several. */
int sgs_scan_path(const char *path, const char *skip_suffix, sgs_scan_fn fn, void *opaque);
int sgs_scan_path_skipping(const char *path, const char *const *skip, size_t nskip, sgs_scan_fn fn,
                           void *opaque);
/* The same for the directory open as dirfd (kept open: the caller's), its entries reported as
   "path/name": the tree that descriptor holds, whatever its path leads to meanwhile; no name
   is skipped, and entries come in byte order of their whole paths, as `LC_ALL=C sort` orders
   them ("a.txt" before "a/b", both before "a0"), so a sorted list can be merged with the walk. */
int sgs_scan_fd(int dirfd, const char *path, sgs_scan_fn fn, void *opaque);

/*
 * The entries of one directory (not "." and ".."; with `hidden` 0 also no other dot-names), in
 * byte order, as "dir/name" paths (full) or bare names. On success *out holds *n strings;
 * release with sgs_list_free(). Returns 0, or an errno value (the directory cannot be read,
 * ENOMEM).
 */
int sgs_list_dir(const sgs_allocator *a, const char *dir, int full, int hidden, char ***out,
                 size_t *n);
void sgs_list_free(const sgs_allocator *a, char **names, size_t n);

#endif
