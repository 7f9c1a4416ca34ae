/*
 * package.c - `package create`: the manifest of a directory, hashed in parallel by an engine
 * of its own (SGS_OP_HASH), sorted by path, written in sha256sum's own format and renamed into
 * place, so a reader sees the old manifest or the new one, never half of one.
 */
#include "fileio.h"
#include "alloc.h"
#include "manifest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct line {
    char *rel;
    char hex[SGS_DIGEST_HEX_MAX];
} line;

typedef struct collect {
    const char *root;
    size_t rootlen;
    const char *skip_rel; /* the output manifest's own path under the root, or NULL */
    line *lines;
    size_t count, cap;
    int failed;           /* a file could not be hashed, or out of memory */
    char err[512];
} collect;

static void
on_record(void *opaque, const sgs_record *rec)
{
    collect *const c = opaque;
    const char *rel = rec->path;
    if (strncmp(rel, c->root, c->rootlen) == 0 && rel[c->rootlen] == '/')
        rel += c->rootlen + 1;
    if (c->skip_rel != NULL && strcmp(rel, c->skip_rel) == 0)
        return;
    if (rec->verdict == SGS_V_SKIPPED) /* links and special files are not package content */
        return;
    if (rec->verdict != SGS_V_VALID) {
        if (!c->failed)
            snprintf(c->err, sizeof(c->err), "%s: %s: %s", rec->path,
                     sgs_verdict_name(rec->verdict), rec->reason);
        c->failed = 1;
        return;
    }
    if (c->count == c->cap) {
        const size_t cap = c->cap ? 2 * c->cap : 1024;
        line *const grown = sgs_calloc(NULL, cap, sizeof(*grown));
        if (grown == NULL) {
            c->failed = 1;
            snprintf(c->err, sizeof(c->err), "out of memory");
            return;
        }
        if (c->count > 0)
            memcpy(grown, c->lines, c->count * sizeof(*grown));
        sgs_free(NULL, c->lines);
        c->lines = grown;
        c->cap = cap;
    }
    line *const l = &c->lines[c->count];
    if ((l->rel = sgs_strdup(NULL, rel)) == NULL) {
        c->failed = 1;
        snprintf(c->err, sizeof(c->err), "out of memory");
        return;
    }
    snprintf(l->hex, sizeof(l->hex), "%s", rec->digest);
    c->count++;
}

static int
by_rel(const void *a, const void *b)
{
    return strcmp(((const line *)a)->rel, ((const line *)b)->rel);
}

/* The output's path relative to dir when it lies under it (resolved), else NULL. */
static char *
relative_to(const char *dir, const char *out)
{
    char *const rdir = realpath(dir, NULL);
    char *const copy = sgs_strdup(NULL, out);
    char *result = NULL;
    if (rdir != NULL && copy != NULL) {
        char *const slash = strrchr(copy, '/');
        const char *const base = slash != NULL ? slash + 1 : copy;
        if (slash != NULL)
            *slash = '\0';
        char *const rparent = realpath(slash != NULL ? (copy[0] ? copy : "/") : ".", NULL);
        const size_t n = strlen(rdir);
        if (rparent != NULL && strncmp(rparent, rdir, n) == 0 &&
            (rparent[n] == '\0' || rparent[n] == '/')) {
            const char *const sub = rparent[n] == '/' ? rparent + n + 1 : "";
            const size_t len = strlen(sub) + strlen(base) + 2;
            if ((result = sgs_malloc(NULL, len)) != NULL)
                snprintf(result, len, "%s%s%s", sub, sub[0] ? "/" : "", base);
        }
        free(rparent);
    }
    free(rdir);
    sgs_free(NULL, copy);
    return result;
}

sgs_status
sgs_package_create(const char *dir, const char *out, sgs_hash hash, unsigned threads, char *err,
                   size_t errlen)
{
    collect c;
    memset(&c, 0, sizeof(c));
    size_t rlen = strlen(dir);
    while (rlen > 1 && dir[rlen - 1] == '/')
        rlen--;
    char *const root = sgs_malloc(NULL, rlen + 1);
    if (root == NULL)
        return SGS_ERR_NOMEM;
    memcpy(root, dir, rlen);
    root[rlen] = '\0';
    c.root = root;
    c.rootlen = rlen;
    char *const skip = relative_to(root, out);
    c.skip_rel = skip;
    struct stat sb;
    sgs_status st = SGS_OK;
    sgs_wfile *wf = NULL;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: %s", dir, errno ? strerror(errno) : "not a directory");
        st = SGS_ERR_IO;
        goto out;
    }
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.op = SGS_OP_HASH;
    cfg.hash = hash;
    cfg.threads = threads;
    cfg.on_record = on_record;
    cfg.opaque = &c;
    sgs_engine *e = NULL;
    st = sgs_engine_create(&cfg, &e);
    if (st == SGS_OK)
        st = sgs_engine_submit(e, root);
    if (st == SGS_OK)
        st = sgs_engine_finish(e);
    if (st != SGS_OK)
        snprintf(err, errlen, "%s", e != NULL ? sgs_engine_error(e) : sgs_status_str(st));
    sgs_engine_free(e);
    if (st == SGS_OK && c.failed) {
        snprintf(err, errlen, "%s", c.err);
        st = SGS_ERR_IO;
    }
    if (st != SGS_OK)
        goto out;
    qsort(c.lines, c.count, sizeof(*c.lines), by_rel);
    st = sgs_wfile_open(out, SGS_WFILE_REGULAR_ONLY | SGS_WFILE_SYNC, 0644, &wf, err, errlen);
    if (st != SGS_OK)
        goto out;
    const int fd = dup(sgs_wfile_fd(wf));
    FILE *const fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fp == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", out, strerror(errno));
        if (fd >= 0)
            close(fd);
        st = SGS_ERR_IO;
        goto out;
    }
    int bad = 0;
    for (size_t i = 0; i < c.count && !bad; i++)
        bad = sgs_manifest_write_line(fp, c.lines[i].hex, c.lines[i].rel) != 0;
    bad |= fflush(fp) != 0;
    bad |= fclose(fp) != 0;
    if (bad) {
        snprintf(err, errlen, "cannot write %s: %s", out, strerror(errno));
        st = SGS_ERR_IO;
        goto out;
    }
    sgs_wfile *const done = wf;
    wf = NULL;
    st = sgs_wfile_commit(done, err, errlen);
out:
    sgs_wfile_abort(wf); /* NULL once committed */
    for (size_t i = 0; i < c.count; i++)
        sgs_free(NULL, c.lines[i].rel);
    sgs_free(NULL, c.lines);
    sgs_free(NULL, skip);
    sgs_free(NULL, root);
    return st;
}
