/*
 * pcache_admin.c - `sigsweep cache stats|clear|export`: the persistent cache (pcache.c)
 * seen from outside a run.
 *
 * DESIGN: each call opens the cache, does one thing in one LMDB transaction (or one read of
 * the verdicts table) and closes it. Export writes one versioned text format, a header line and
 * one line per content-keyed verdict:
 *
 *     sigsweep-cache-export 1
 *     V <64 hex: content key> <verdict token> <signer fingerprint or -> <algorithm or ->
 *
 * Only the verdicts table is listed (content keys are portable; file identities are not), and
 * never a VALID verdict. There is no import: see "Export" in pcache.c.
 */
#include "pcache_impl.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
sgs_default_cache_dir(char *buf, size_t n)
{
    const char *const xdg = getenv("XDG_CACHE_HOME");
    const char *const home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, n, "%s/sigsweep", xdg);
    else
        snprintf(buf, n, "%s/.cache/sigsweep", home != NULL && home[0] ? home : ".");
    return buf;
}

/* An open cache and its tables, for one command. */
typedef struct admin {
    sgs_pcache *c;
    MDB_env *env;
    MDB_dbi files, verdicts;
    char notice[512]; /* with SGS_PCACHE_REPAIR: what was repaired, else "" */
} admin;

/* Opens dir's cache as `how` says (SGS_PCACHE_CREATE, SGS_PCACHE_REPAIR; 0: only an existing,
   usable cache). err is "" after, or says why not (-1). */
static int
admin_open(admin *a, const char *dir, unsigned how, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    a->c = sgs_pcache_open_as(NULL, dir, how, NULL, a->notice, sizeof(a->notice), err, errlen);
    if (a->c == NULL)
        return -1;
    a->env = sgs_pcache_env(a->c, &a->files, &a->verdicts);
    return 0;
}

sgs_status
sgs_cache_stats(const char *dir, sgs_cache_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    admin a;
    if (admin_open(&a, dir, 0, err, errlen) != 0)
        return SGS_ERR_IO;
    MDB_txn *txn = NULL;
    MDB_stat fs, vs;
    int rc = mdb_txn_begin(a.env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_stat(txn, a.files, &fs);
    if (rc == 0)
        rc = mdb_stat(txn, a.verdicts, &vs);
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc == 0) {
        out->files = fs.ms_entries;
        out->verdicts = vs.ms_entries;
        char path[4200];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/data.mdb", dir);
        if (stat(path, &sb) == 0)
            out->bytes = (uint64_t)sb.st_blocks * 512u;
    } else {
        snprintf(err, errlen, "cache %s: %s", dir, mdb_strerror(rc));
    }
    sgs_pcache_close(a.c);
    return rc == 0 ? SGS_OK : SGS_ERR_IO;
}

sgs_status
sgs_cache_clear(const char *dir, char *err, size_t errlen)
{
    admin a;
    if (admin_open(&a, dir, SGS_PCACHE_REPAIR, err, errlen) != 0)
        return SGS_ERR_IO;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(a.env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_drop(txn, a.files, 0);
    if (rc == 0)
        rc = mdb_drop(txn, a.verdicts, 0);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0)
        snprintf(err, errlen, "cache %s: %s", dir, mdb_strerror(rc));
    else
        snprintf(err, errlen, "%s", a.notice); /* a corrupt cache: moved aside, then cleared */
    sgs_pcache_close(a.c);
    return rc == 0 ? SGS_OK : SGS_ERR_IO;
}

#define EXPORT_HEADER "sigsweep-cache-export 1"

sgs_status
sgs_cache_export(const char *dir, const char *file, uint64_t *count, char *err, size_t errlen)
{
    *count = 0;
    admin a;
    if (admin_open(&a, dir, 0, err, errlen) != 0)
        return SGS_ERR_IO;
    sgs_wfile *wf = NULL; /* the one writer: a FIFO or device is written into, never replaced */
    const sgs_status ost = sgs_wfile_open(file, SGS_WFILE_SYNC, 0600, &wf, err, errlen);
    const int fd = ost == SGS_OK ? dup(sgs_wfile_fd(wf)) : -1;
    FILE *const fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fp == NULL) {
        if (ost == SGS_OK)
            snprintf(err, errlen, "%s: %s", file, strerror(errno));
        if (fd >= 0)
            close(fd);
        sgs_wfile_abort(wf);
        sgs_pcache_close(a.c);
        return SGS_ERR_IO;
    }
    fprintf(fp, "%s\n", EXPORT_HEADER);
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(a.env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, a.verdicts, &cur);
    MDB_val k, v;
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op);
        if (rc != 0)
            break;
        if (k.mv_size != 32 || v.mv_size != 1 + 64 + 48 ||
            ((const uint8_t *)v.mv_data)[0] == SGS_V_VALID)
            continue; /* an unsigned export carries no VALID verdict */
        const uint8_t *const val = v.mv_data;
        char khex[65], signer[65], alg[49];
        for (size_t i = 0; i < 32; i++)
            snprintf(khex + 2 * i, 3, "%02x", ((const uint8_t *)k.mv_data)[i]);
        memcpy(signer, val + 1, 64);
        signer[64] = '\0';
        memcpy(alg, val + 65, 48);
        alg[48] = '\0';
        fprintf(fp, "V %s %s %s %s\n", khex, sgs_verdict_name((sgs_verdict)val[0]),
                signer[0] ? signer : "-", alg[0] ? alg : "-");
        (*count)++;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        mdb_txn_abort(txn);
    const int bad = fflush(fp) != 0;
    if (fclose(fp) != 0 || bad || rc != 0) {
        snprintf(err, errlen, "%s: %s", file, rc != 0 ? mdb_strerror(rc) : strerror(errno));
        sgs_wfile_abort(wf);
        sgs_pcache_close(a.c);
        return SGS_ERR_IO;
    }
    if (sgs_wfile_commit(wf, err, errlen) != SGS_OK) {
        sgs_pcache_close(a.c);
        return SGS_ERR_IO;
    }
    sgs_pcache_close(a.c);
    return SGS_OK;
}
