/*
 * manifest_fuzz.c - libFuzzer target for package manifests (manifest.c), the file a package
 * verify reads before anything else. Invariants of a manifest that parses: entries sorted by
 * path (byte order), each once, relative, normalised (no "." or ".." component, no "//", no
 * NUL, not empty), a digest of its algorithm's length, a line number within the input;
 * written back with sgs_manifest_write_line (coreutils' format) the result parses to the same
 * entries. A manifest that does not parse says why. The outcome does not depend on how the
 * bytes arrive (whole, or in pieces of 1 to 7 bytes) nor on the memory given: with 1 KiB
 * (sorted runs in a temporary file, merged) it is the same status, reason and entries as in
 * memory.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.manifest_corpus).
 */
#include "manifest.h"

#include "fuzz_check.h"

#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct parsed {
    sgs_status st;
    char err[400];
    size_t n, cap;
    sgs_manifest_entry *e; /* paths copied (free) */
} parsed;

/* Parses data with `memory` bytes for entries, in pieces of 1..7 bytes when `pieces`. */
static void
parse(const uint8_t *data, size_t size, size_t memory, int pieces, parsed *out)
{
    memset(out, 0, sizeof(*out));
    sgs_manifest *m = NULL;
    FUZZ_CHECK(sgs_manifest_create(NULL, memory, &m) == SGS_OK);
    sgs_status st = SGS_OK;
    for (size_t at = 0, k = 0; at < size && st == SGS_OK; k++) {
        const size_t len = pieces ? (k % 7) + 1 < size - at ? (k % 7) + 1 : size - at
                                  : size;
        st = sgs_manifest_feed(m, data + at, len);
        at += len;
    }
    if (st == SGS_OK)
        st = sgs_manifest_finish(m);
    out->st = st;
    snprintf(out->err, sizeof(out->err), "%s", sgs_manifest_error(m));
    sgs_manifest_entry e;
    int r;
    while (st == SGS_OK && (r = sgs_manifest_next(m, &e)) == 1) {
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 16;
            out->e = realloc(out->e, out->cap * sizeof(*out->e));
            FUZZ_CHECK(out->e != NULL);
        }
        out->e[out->n] = e;
        out->e[out->n].path = strdup(e.path);
        FUZZ_CHECK(out->e[out->n].path != NULL);
        out->n++;
    }
    FUZZ_CHECK(st != SGS_OK || out->n == sgs_manifest_count(m));
    sgs_manifest_free(m);
}

static void
parsed_free(parsed *p)
{
    for (size_t i = 0; i < p->n; i++)
        free((char *)(uintptr_t)p->e[i].path);
    free(p->e);
}

static void
same(const parsed *a, const parsed *b)
{
    FUZZ_CHECK(a->st == b->st && strcmp(a->err, b->err) == 0 && a->n == b->n);
    for (size_t i = 0; i < a->n; i++)
        FUZZ_CHECK(strcmp(a->e[i].path, b->e[i].path) == 0 && a->e[i].line == b->e[i].line &&
                   a->e[i].md_nid == b->e[i].md_nid && a->e[i].dlen == b->e[i].dlen &&
                   memcmp(a->e[i].digest, b->e[i].digest, a->e[i].dlen) == 0);
}

static void
check_path(const char *p)
{
    FUZZ_CHECK(p[0] != '\0' && p[0] != '/' && strstr(p, "//") == NULL);
    const size_t n = strlen(p);
    FUZZ_CHECK(p[n - 1] != '/');
    for (const char *c = p; c != NULL; c = strchr(c, '/')) {
        if (*c == '/')
            c++;
        const size_t len = strcspn(c, "/");
        FUZZ_CHECK(!(len == 1 && c[0] == '.') && !(len == 2 && c[0] == '.' && c[1] == '.'));
    }
}

static void
check(const parsed *m, unsigned long lines)
{
    for (size_t i = 0; i < m->n; i++) {
        const sgs_manifest_entry *const e = &m->e[i];
        check_path(e->path);
        FUZZ_CHECK(e->line >= 1 && e->line <= lines);
        FUZZ_CHECK((e->md_nid == NID_sha256 && e->dlen == 32) ||
                   (e->md_nid == NID_sha384 && e->dlen == 48) ||
                   (e->md_nid == NID_sha512 && e->dlen == 64));
        if (i > 0)
            FUZZ_CHECK(strcmp(m->e[i - 1].path, e->path) < 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parsed m, pieces, spilled;
    parse(data, size, SGS_MANIFEST_MEMORY, 0, &m);
    parse(data, size, SGS_MANIFEST_MEMORY, 1, &pieces);
    parse(data, size, 1024, 1, &spilled);
    same(&m, &pieces);
    same(&m, &spilled);
    parsed_free(&pieces);
    parsed_free(&spilled);
    if (m.st != SGS_OK) {
        FUZZ_CHECK(m.st == SGS_ERR_FORMAT && m.err[0] != '\0');
        parsed_free(&m);
        return 0;
    }
    unsigned long lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    check(&m, lines);
    /* the round trip: coreutils' lines, read again */
    char *text = NULL;
    size_t len = 0;
    FILE *const fp = open_memstream(&text, &len);
    FUZZ_CHECK(fp != NULL);
    for (size_t i = 0; i < m.n; i++) {
        char hex[129];
        for (size_t j = 0; j < m.e[i].dlen; j++)
            snprintf(hex + 2 * j, 3, "%02x", m.e[i].digest[j]);
        FUZZ_CHECK(sgs_manifest_write_line(fp, hex, m.e[i].path) == 0);
    }
    FUZZ_CHECK(fclose(fp) == 0);
    parsed again;
    parse((const uint8_t *)text, len, SGS_MANIFEST_MEMORY, 0, &again);
    if (again.st != SGS_OK) {
        fprintf(stderr, "manifest_fuzz: written back, does not parse: %s\n", again.err);
        abort();
    }
    FUZZ_CHECK(again.n == m.n);
    for (size_t i = 0; i < m.n; i++) {
        FUZZ_CHECK(strcmp(again.e[i].path, m.e[i].path) == 0);
        FUZZ_CHECK(again.e[i].dlen == m.e[i].dlen &&
                   memcmp(again.e[i].digest, m.e[i].digest, m.e[i].dlen) == 0);
    }
    free(text);
    parsed_free(&again);
    parsed_free(&m);
    return 0;
}
