/* manifest.h - sha256sum-style manifests: parse (strictly, safely) and format lines. */
#ifndef SGS_MANIFEST_H
#define SGS_MANIFEST_H

#include "sigsweep.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SGS_MANIFEST_LINE_MAX (64u * 1024u)

typedef struct sgs_manifest_entry {
    char *path;          /* normalised relative path (no "." components, no "//") */
    int md_nid;          /* NID_sha256 / NID_sha384 / NID_sha512 */
    uint8_t dlen;
    uint8_t digest[64];
    uint32_t line;       /* 1-based line in the manifest */
} sgs_manifest_entry;

typedef struct sgs_manifest {
    sgs_manifest_entry *entries; /* sorted by path after a successful parse */
    size_t count, cap;
    const sgs_allocator *alloc;
} sgs_manifest;

void sgs_manifest_init(sgs_manifest *m, const sgs_allocator *a);
void sgs_manifest_reset(sgs_manifest *m);

/*
 * Parses a manifest written by sha256sum/sha384sum/sha512sum (text "  " and binary " *"
 * markers, "\"-escaped names), sha*sum --tag / BSD style ("SHA256 (name) = hex", also
 * OpenSSL's "SHA2-256(name)= hex") or `openssl dgst -r` ("hex *name"). Each line's hash comes
 * from its tag or its hex length. Refused, with the line number in err: absolute paths, ".."
 * components, empty names, NUL bytes, duplicate paths, lines over SGS_MANIFEST_LINE_MAX,
 * anything else that is not one of those forms. Returns SGS_OK, SGS_ERR_FORMAT, SGS_ERR_NOMEM.
 */
SGS_NODISCARD sgs_status sgs_manifest_parse(sgs_manifest *m, const uint8_t *buf, size_t len,
                                            char *err, size_t errlen);

/* Index of the entry for a normalised relative path, or -1. */
long sgs_manifest_find(const sgs_manifest *m, const char *path);

/* Writes one line exactly as coreutils sha256sum does: "hex  name", or "\hex  escaped" when the
   name holds a backslash, newline or carriage return. Returns 0, or -1 on a write error. */
int sgs_manifest_write_line(FILE *fp, const char *hex, const char *path);

#endif
