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

#include "alloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
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

static int
by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
sgs_list_free(const sgs_allocator *a, char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sgs_free(a, names[i]);
    sgs_free(a, names);
}

int
sgs_list_dir(const sgs_allocator *a, const char *dir, int full, int hidden, char ***out,
             size_t *count)
{
    *out = NULL;
    *count = 0;
    DIR *const d = opendir(dir);
    if (d == NULL)
        return errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    const struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (!hidden && de->d_name[0] == '.'))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **const grown = sgs_calloc(a, cap, sizeof(char *));
            if (grown == NULL) {
                rc = ENOMEM;
                break;
            }
            if (n > 0)
                memcpy(grown, names, n * sizeof(char *));
            sgs_free(a, names);
            names = grown;
        }
        const size_t len = (full ? strlen(dir) + 1 : 0) + strlen(de->d_name) + 1;
        if ((names[n] = sgs_malloc(a, len)) == NULL) {
            rc = ENOMEM;
            break;
        }
        if (full)
            snprintf(names[n], len, "%s/%s", dir, de->d_name);
        else
            memcpy(names[n], de->d_name, len);
        n++;
    }
    closedir(d);
    if (rc != 0) {
        sgs_list_free(a, names, n);
        return rc;
    }
    if (n > 0)
        qsort(names, n, sizeof(char *), by_string);
    *out = names;
    *count = n;
    return 0;
}
