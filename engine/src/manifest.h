/* manifest.h - sha256sum-style manifests: parse (strictly, safely, streaming), sort by path in
   bounded memory, format lines. */
#ifndef SGS_MANIFEST_H
#define SGS_MANIFEST_H

#include "sigsweep.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SGS_MANIFEST_LINE_MAX (64u * 1024u)
/* Bytes of parsed entries a package verify keeps in memory; beyond them, sorted runs go to an
   unnamed temporary file ($TMPDIR, else /tmp). About 50 bytes an entry (SHA-256, short names). */
#define SGS_MANIFEST_MEMORY (8u * 1024u * 1024u)

typedef struct sgs_manifest_entry {
    const char *path;    /* normalised relative path (no "." components, no "//"); valid until
                            the next call on its manifest */
    int md_nid;          /* NID_sha256 / NID_sha384 / NID_sha512 */
    uint8_t dlen;
    uint8_t digest[64];
    uint32_t line;       /* 1-based line in the manifest */
} sgs_manifest_entry;

/* The entries of one manifest: fed in pieces, then read back sorted by path (byte order).
   THREAD SAFETY: one thread at a time. */
typedef struct sgs_manifest sgs_manifest;

/*
 * A manifest reader keeping at most `memory` bytes of entries in memory (>= 1 KiB; the line
 * buffer and the merge's read buffers, 72 KiB a sorted run, come on top). On success *out is
 * owned by the caller; release with sgs_manifest_free(). SGS_OK or SGS_ERR_NOMEM.
 */
SGS_NODISCARD sgs_status sgs_manifest_create(const sgs_allocator *a, size_t memory,
                                             sgs_manifest **out);
void sgs_manifest_free(sgs_manifest *m); /* NULL is a no-op; removes nothing: the runs' file
                                            has no name */

/*
 * Parses the next `len` bytes of a manifest written by sha256sum/sha384sum/sha512sum (text
 * "  " and binary " *" markers, "\"-escaped names), sha*sum --tag / BSD style ("SHA256 (name) =
 * hex", also OpenSSL's "SHA2-256(name)= hex") or `openssl dgst -r` ("hex *name"); pieces of
 * any size, lines may span them. Each line's hash comes from its tag or its hex length.
 * Refused, with the line number (sgs_manifest_error): absolute paths, ".." components, empty
 * names, NUL bytes, lines over SGS_MANIFEST_LINE_MAX, more than UINT32_MAX - 1 lines, anything
 * else that is not one of those forms. The first failure sticks: later pieces are ignored and
 * the same status returned. SGS_OK, SGS_ERR_FORMAT, SGS_ERR_NOMEM, SGS_ERR_IO (the temporary
 * file).
 */
SGS_NODISCARD sgs_status sgs_manifest_feed(sgs_manifest *m, const uint8_t *buf, size_t len);

/* After the last piece: the last line (without a newline), the sort, and the duplicate paths
   (after normalisation: "./a" and "a" are one path), refused with both line numbers. Then
   sgs_manifest_next() reads the entries. Statuses as sgs_manifest_feed. */
SGS_NODISCARD sgs_status sgs_manifest_finish(sgs_manifest *m);

/* The next entry in byte order of path (memcmp, never the locale's collation): 1, 0 after the
   last, -1 when the temporary file cannot be read back (sgs_manifest_error). */
int sgs_manifest_next(sgs_manifest *m, sgs_manifest_entry *out);

/* Entries parsed so far. */
size_t sgs_manifest_count(const sgs_manifest *m);

/* Why the last call failed ("line N: ..."), or "". Never NULL. */
const char *sgs_manifest_error(const sgs_manifest *m);

/* Writes one line exactly as coreutils sha256sum does: "hex  name", or "\hex  escaped" when the
   name holds a backslash, newline or carriage return. Returns 0, or -1 on a write error. */
int sgs_manifest_write_line(FILE *fp, const char *hex, const char *path);

#endif
