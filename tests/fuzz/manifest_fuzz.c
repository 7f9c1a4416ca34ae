/*
 * manifest_fuzz.c - libFuzzer target for package manifests (manifest.c), the file a package
 * verify reads before anything else. Invariants of a manifest that parses: entries sorted by
 * path, each once, relative, normalised (no "." or ".." component, no "//", no NUL, not
 * empty), a digest of its algorithm's length, a line number within the input; each is found
 * by sgs_manifest_find; written back with sgs_manifest_write_line (coreutils' format) the
 * result parses to the same entries. A manifest that does not parse says why.
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
check(const sgs_manifest *m, unsigned long lines)
{
    for (size_t i = 0; i < m->count; i++) {
        const sgs_manifest_entry *const e = &m->entries[i];
        check_path(e->path);
        FUZZ_CHECK(e->line >= 1 && e->line <= lines);
        FUZZ_CHECK((e->md_nid == NID_sha256 && e->dlen == 32) ||
                   (e->md_nid == NID_sha384 && e->dlen == 48) ||
                   (e->md_nid == NID_sha512 && e->dlen == 64));
        if (i > 0)
            FUZZ_CHECK(strcmp(m->entries[i - 1].path, e->path) < 0);
        FUZZ_CHECK(sgs_manifest_find(m, e->path) == (long)i);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sgs_manifest m;
    char err[1024] = "";
    sgs_manifest_init(&m, NULL);
    const sgs_status st = sgs_manifest_parse(&m, data, size, err, sizeof(err));
    if (st != SGS_OK) {
        FUZZ_CHECK(st == SGS_ERR_FORMAT && err[0] != '\0');
        sgs_manifest_reset(&m);
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
    for (size_t i = 0; i < m.count; i++) {
        char hex[129];
        for (size_t j = 0; j < m.entries[i].dlen; j++)
            snprintf(hex + 2 * j, 3, "%02x", m.entries[i].digest[j]);
        FUZZ_CHECK(sgs_manifest_write_line(fp, hex, m.entries[i].path) == 0);
    }
    FUZZ_CHECK(fclose(fp) == 0);
    sgs_manifest again;
    sgs_manifest_init(&again, NULL);
    if (sgs_manifest_parse(&again, (const uint8_t *)text, len, err, sizeof(err)) != SGS_OK) {
        fprintf(stderr, "manifest_fuzz: written back, does not parse: %s\n", err);
        abort();
    }
    FUZZ_CHECK(again.count == m.count);
    for (size_t i = 0; i < m.count; i++) {
        FUZZ_CHECK(strcmp(again.entries[i].path, m.entries[i].path) == 0);
        FUZZ_CHECK(again.entries[i].dlen == m.entries[i].dlen &&
                   memcmp(again.entries[i].digest, m.entries[i].digest, m.entries[i].dlen) == 0);
    }
    free(text);
    sgs_manifest_reset(&again);
    sgs_manifest_reset(&m);
    return 0;
}
