/*
 * scan.c - turns the paths a user gives into inputs.
 *
 * DESIGN: directories are walked with fts(3) in physical mode (symbolic links are reported,
 * never followed; no chdir, so paths stay as the user wrote them plus the walked names), in
 * name order so that one thread gives a reproducible report. Entries are classified by the
 * walk's lstat, so FIFOs and devices are never opened; the worker's fstat after open is still
 * the check that counts (the entry may change in between). Names ending in the signature
 * suffix are the signatures of their neighbours, not inputs.
 */
#include "scan.h"

#include <errno.h>
#include <fts.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
has_suffix(const char *name, const char *suffix)
{
    if (suffix == NULL || suffix[0] == '\0')
        return 0;
    const size_t n = strlen(name), s = strlen(suffix);
    return n > s && memcmp(name + n - s, suffix, s) == 0;
}

static int
has_any_suffix(const char *name, const char *const *skip, size_t nskip)
{
    for (size_t i = 0; i < nskip; i++)
        if (has_suffix(name, skip[i]))
            return 1;
    return 0;
}

static int
by_name(const FTSENT **a, const FTSENT **b)
{
    return strcmp((*a)->fts_name, (*b)->fts_name);
}

int
sgs_scan_path(const char *path, const char *skip_suffix, sgs_scan_fn fn, void *opaque)
{
    return sgs_scan_path_skipping(path, &skip_suffix, 1, fn, opaque);
}

static int walk(const char *path, const char *const *skip, size_t nskip, int nostat,
                sgs_scan_fn fn, void *opaque);

int
sgs_scan_path_skipping(const char *path, const char *const *skip, size_t nskip, sgs_scan_fn fn,
                       void *opaque)
{
    return walk(path, skip, nskip, 0, fn, opaque);
}

int
sgs_scan_names(const char *path, sgs_scan_fn fn, void *opaque)
{
    return walk(path, NULL, 0, 1, fn, opaque);
}

static int
walk(const char *path, const char *const *skip, size_t nskip, int nostat, sgs_scan_fn fn,
     void *opaque)
{
    char *argv[2];
    char *const copy = strdup(path); /* fts wants char *const *; outside the engine heap on
                                        purpose: it is freed before returning */
    if (copy == NULL)
        return fn(opaque, path, SGS_SCAN_ERROR, ENOMEM);
    argv[0] = copy;
    argv[1] = NULL;
    FTS *const fts =
        fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR | (nostat ? FTS_NOSTAT : 0), by_name);
    if (fts == NULL) {
        const int e = errno;
        free(copy);
        return fn(opaque, path, SGS_SCAN_ERROR, e);
    }
    int rc = 0;
    FTSENT *ent;
    while (rc == 0 && (errno = 0, ent = fts_read(fts)) != NULL) {
        switch (ent->fts_info) {
        case FTS_D:
        case FTS_DP:
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_DC:
            rc = fn(opaque, ent->fts_path, SGS_SCAN_ERROR,
                    ent->fts_info == FTS_DC ? ELOOP : ent->fts_errno);
            break;
        case FTS_NS:
            rc = fn(opaque, ent->fts_path,
                    ent->fts_errno == ENOENT ? SGS_SCAN_MISSING : SGS_SCAN_ERROR,
                    ent->fts_errno);
            break;
        default:
            if (has_any_suffix(ent->fts_name, skip, nskip))
                break;
            if (ent->fts_info == FTS_SL || ent->fts_info == FTS_SLNONE)
                rc = fn(opaque, ent->fts_path, SGS_SCAN_SYMLINK, 0);
            else if (ent->fts_info == FTS_F || ent->fts_info == FTS_NSOK)
                rc = fn(opaque, ent->fts_path, SGS_SCAN_FILE, 0);
            else
                rc = fn(opaque, ent->fts_path, SGS_SCAN_SPECIAL, 0);
            break;
        }
    }
    if (rc == 0 && errno != 0) /* fts_read: NULL with errno 0 at the end, set on error */
        rc = fn(opaque, path, SGS_SCAN_ERROR, errno);
    fts_close(fts);
    free(copy);
    return rc;
}
