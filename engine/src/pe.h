/*
 * pe.h - bounds-checked PE/COFF reader for Authenticode: header walk, image-hash ranges,
 * WIN_CERTIFICATE walk (pe.c); the streaming image hasher (pe_hash.c). No I/O, no OpenSSL
 * except EVP digests in the hasher and ASN1_get_object in sgs_pe_der_span().
 *
 * Outcomes of sgs_pe_parse() (a bad file is data, not an error):
 *   SGS_PE_NOT_PE     not a PE image: no "MZ", an MZ file too short to hold e_lfanew (< 64
 *                     bytes), or no "PE\0\0" at e_lfanew. A plain file, not an error.
 *   SGS_PE_NEED_MORE  the headers (through the section table) end past `len`: call again with
 *                     at least info->need bytes of the file's start (it may ask again, at most
 *                     three steps; never more than SGS_PE_MAX_HEADERS bytes).
 *   SGS_PE_MALFORMED  nothing can be located safely; `why` says what. The cases:
 *                     e_lfanew past EOF or past SGS_PE_MAX_HEADERS; COFF or optional header cut
 *                     off by EOF; optional magic not 0x10B/0x20B (0x107 ROM included);
 *                     SizeOfOptionalHeader too small to hold data directories 0..4 or the
 *                     NumberOfRvaAndSizes (capped at 16) it claims; NumberOfSections >
 *                     SGS_PE_MAX_SECTIONS; section table past EOF or ending past
 *                     SGS_PE_MAX_HEADERS; certificate table offset+size past EOF (computed in
 *                     64 bits: 0xFFFFFFF8 + 16 does not wrap); certificate table starting
 *                     inside the parsed header structures [0, headers_end).
 *   SGS_PE_OK         located; `anomalies` lists what is odd but still locatable (below).
 *
 * Anomalies (bits of sgs_pe_info.anomalies, and of sgs_pe_certs()'s *anomalies): the
 * signature can still be found and hashed, and the caller decides the policy. Text for each
 * bit: sgs_pe_anomaly_text().
 */
#ifndef SGS_PE_H
#define SGS_PE_H

#include "sigsweep.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Parsed headers (e_lfanew through the section table) may not end past this: 16 MiB. */
#define SGS_PE_MAX_HEADERS (16u << 20)
/* The format allows 65535 sections and Windows documents a loader limit of 96; more than
   this many is MALFORMED, which bounds the spec-range allocation to ~64 KiB. */
#define SGS_PE_MAX_SECTIONS 4096u
/* sgs_pe_hash_begin() refuses certificate tables larger than this: 64 MiB. */
#define SGS_PE_MAX_TABLE (64u << 20)
/* The spec hash's re-hashed tail after section gaps (see sgs_pe_info.spec) is buffered by the
   hasher; layouts needing more than this have spec_ok = 0: 16 MiB. */
#define SGS_PE_MAX_REPLAY (16u << 20)
/* sgs_pe_hash_begin() takes at most this many digests. */
#define SGS_PE_MAX_MD 4u

/* Anomaly bits. */
/* the table's offset is not a multiple of 8 */
#define SGS_PE_A_UNALIGNED 0x001u
/* bytes after the table (info->trailing of them), covered by no signature */
#define SGS_PE_A_TRAILING 0x002u
/* the table starts inside SizeOfHeaders, after the section table (inside it: MALFORMED) */
#define SGS_PE_A_OVERLAP_HEADERS 0x004u
/* the table overlaps a section's raw data */
#define SGS_PE_A_OVERLAP_SECTION 0x008u
/* NumberOfRvaAndSizes < 5 but entry 4 is set; the entry is used */
#define SGS_PE_A_FEW_RVAS 0x010u
/* entry 4 has an offset but size 0: treated as no table */
#define SGS_PE_A_EMPTY_ENTRY 0x020u
/* sgs_pe_certs: the rounded dwLengths do not add up to the table size (the last entry's
   padding missing, or only zeros after the last entry) */
#define SGS_PE_A_CERT_SUM 0x040u
/* sgs_pe_certs: non-zero bytes in an entry's alignment padding */
#define SGS_PE_A_CERT_PADDING 0x080u
/* sgs_pe_certs: more entries than `max` */
#define SGS_PE_A_CERT_MANY 0x100u

typedef enum sgs_pe_status {
    SGS_PE_OK,
    SGS_PE_NOT_PE,
    SGS_PE_NEED_MORE,
    SGS_PE_MALFORMED
} sgs_pe_status;

/* A byte range of the file: [off, off + len). */
typedef struct sgs_pe_range {
    uint64_t off, len;
} sgs_pe_range;

/*
 * What sgs_pe_parse() found. Filled by the parser, read-only to the caller; `spec` is owned by
 * the struct: release with sgs_pe_info_free(). THREAD SAFETY: a plain value; one thread at a
 * time.
 */
typedef struct sgs_pe_info {
    int pe32plus; /* 0 = PE32 (0x10B), 1 = PE32+ (0x20B) */
    uint16_t machine, nsections;
    uint32_t checksum;            /* as stored */
    uint32_t nrva;                /* NumberOfRvaAndSizes as stored */
    uint64_t checksum_off;        /* file offset of the 4-byte CheckSum */
    uint64_t certdir_off;         /* file offset of the 8-byte certificate-table entry (index 4) */
    uint32_t cert_off, cert_size; /* that entry's values (a FILE offset); 0,0 = no table */
    int has_table;                /* cert_size != 0 (an offset with size 0 is no table) */
    uint64_t size_of_headers;     /* SizeOfHeaders as stored */
    uint64_t headers_end;         /* end of the section table: the bytes parsed */
    uint64_t file_size;
    uint64_t trailing; /* with SGS_PE_A_TRAILING: bytes after the table */
    uint64_t need;     /* with SGS_PE_NEED_MORE: bytes of the file's start needed */
    /* Zero bytes both image hashes end with when there is no table: a signer pads the file
       to a multiple of 8 before signing (osslsigncode, sbsign), so that is the hash a signature
       of this file would carry. 0 with a table. The hasher appends them; set it to 0 before
       sgs_pe_hash_begin() for the unpadded hash. */
    unsigned pad;
    /* Flat (file-order, osslsigncode/signify) ranges: everything in [0, end) except the
       checksum, the directory entry and the table, where end = cert_off with a table, else
       file_size. Sorted, disjoint, non-empty, at most 3. */
    sgs_pe_range flat[4];
    unsigned nflat;
    /* Spec (Authenticode PE spec, EDK2, shim, sbsign) ranges in hashing order: headers to
       SizeOfHeaders without the two fields, then each section's raw data sorted by
       PointerToRawData, then the "extra data" [SUM_OF_BYTES_HASHED, end). When the sections
       have gaps, that extra data starts before the last section's end: exactly one range
       (the "replay", at most SGS_PE_MAX_REPLAY bytes) then starts before the end of the one
       before it and re-hashes bytes already passed, ending at that end; every other range
       starts at or after the end of the previous one. Adjacent ranges are merged.
       spec_ok = 0 (spec NULL, nspec 0, spec_why says why) when the layout cannot be hashed
       that way: SizeOfHeaders inside the section table or past the image data, sections
       overlapping each other or the headers, raw data past the table or EOF, a table not at
       EOF, or a replay over SGS_PE_MAX_REPLAY. */
    sgs_pe_range *spec;
    unsigned nspec;
    int spec_ok;
    char spec_why[128];
    unsigned anomalies;         /* SGS_PE_A_* bits */
    const sgs_allocator *alloc; /* what `spec` came from */
} sgs_pe_info;

/*
 * Parses the PE headers from the file's first `len` bytes (`buf`) given the whole file's size
 * (`len` beyond file_size is ignored). Reads nothing outside buf[0, min(len, file_size)); all
 * arithmetic in 64 bits. Fills *info (overwritten without freeing: call sgs_pe_info_free()
 * between parses) and, for MALFORMED and NOT_PE, `why`. Allocates info->spec with `a` (NULL =
 * malloc); on allocation failure returns SGS_PE_OK with spec_ok = 0 and spec_why "out of
 * memory". Statuses: see the top of this file. THREAD SAFETY: reentrant.
 */
SGS_NODISCARD sgs_pe_status sgs_pe_parse(const uint8_t *buf, size_t len, uint64_t file_size,
                                         sgs_pe_info *info, char *why, size_t whylen);
SGS_NODISCARD sgs_pe_status sgs_pe_parse_alloc(const sgs_allocator *a, const uint8_t *buf,
                                               size_t len, uint64_t file_size, sgs_pe_info *info,
                                               char *why, size_t whylen);
/* Frees info->spec (the rest is plain data). A zeroed info is fine. */
void sgs_pe_info_free(sgs_pe_info *info);
/* Human text for one SGS_PE_A_* bit; never NULL. */
const char *sgs_pe_anomaly_text(unsigned bit);

/*
 * The spec hash's uncovered bytes (for a "the signature does not cover ..." warning): the
 * gaps in [0, end) (end = cert_off with a table, else file_size) covered by no spec range,
 * the checksum and the directory entry not counted. Writes the first `max` gaps in file order
 * to out and returns how many there are (0 when spec_ok = 0).
 */
size_t sgs_pe_spec_gaps(const sgs_pe_info *info, sgs_pe_range *out, size_t max);

/*
 * Streaming image hasher. Fed the WHOLE file in order, in chunks of any size (the caller reads
 * the file once), it hashes the flat ranges with each of up to SGS_PE_MAX_MD EVP_MDs and, when
 * info->spec_ok and want_spec, the spec ranges with the same MDs; it copies the certificate
 * table into an owned buffer. Flat and spec share one EVP context until their byte streams
 * diverge (a normal layout never does), so the spec hash is nearly free. Pitfall 10: the
 * hasher re-parses the header bytes it is fed and fails if they do not give the same ranges as
 * `info` (the file changed between parse and hash, or info came from other bytes).
 * Reusable across files (reset on begin; EVP contexts and buffers kept). THREAD SAFETY: one
 * per worker; never shared.
 */
typedef struct sgs_pe_hasher sgs_pe_hasher;

/* NULL on allocation failure. On success owned by the caller: sgs_pe_hasher_free(). */
sgs_pe_hasher *sgs_pe_hasher_new(void);
sgs_pe_hasher *sgs_pe_hasher_new_alloc(const sgs_allocator *a);
/* NULL is a no-op. */
void sgs_pe_hasher_free(sgs_pe_hasher *h);

/*
 * Starts a file: `info` from a successful parse (only read here; it may be freed after),
 * `mds[0..nmd)` with 1 <= nmd <= SGS_PE_MAX_MD. Returns 1, or 0 with `why` (nmd out of range,
 * a table over SGS_PE_MAX_TABLE, out of memory, an EVP failure).
 */
SGS_NODISCARD int sgs_pe_hash_begin(sgs_pe_hasher *h, const sgs_pe_info *info,
                                    const EVP_MD *const *mds, unsigned nmd, int want_spec,
                                    char *why, size_t whylen);
/*
 * Feeds file bytes [file_off, file_off + n). Chunks must be contiguous from 0 and stay within
 * file_size. Returns 1, or 0 on misuse, an EVP failure or changed headers; then the file is
 * done for and sgs_pe_hash_error() says why.
 */
SGS_NODISCARD int sgs_pe_hash_update(sgs_pe_hasher *h, uint64_t file_off, const uint8_t *p,
                                     size_t n);
/*
 * Finishes: requires every byte of the file fed. Writes for each md i its flat digest to
 * flat_md[i], its spec digest to spec_md[i] (when spec was hashed; else zero-filled; spec_md
 * may be NULL) and its length to mdlen[i]. *table / *table_len get the copied certificate
 * table (NULL, 0 without one), owned by the hasher and valid until the next begin or free.
 * Returns 1, or 0 with sgs_pe_hash_error().
 */
SGS_NODISCARD int sgs_pe_hash_end(sgs_pe_hasher *h, uint8_t flat_md[][64], uint8_t spec_md[][64],
                                  unsigned *mdlen, const uint8_t **table, size_t *table_len);
/* 1 when the last begin asked for the spec hash and info->spec_ok allowed it. */
int sgs_pe_hash_has_spec(const sgs_pe_hasher *h);
/* Why the last update/end failed ("" if it did not); never NULL. */
const char *sgs_pe_hash_error(const sgs_pe_hasher *h);

/* One WIN_CERTIFICATE entry; `data` points into the table passed to sgs_pe_certs(). */
typedef struct sgs_pe_cert {
    uint64_t off;      /* offset within the table */
    uint32_t length;   /* dwLength, header included */
    uint16_t revision; /* wRevision: 0x0200 (0x0100 legacy) */
    uint16_t type;     /* wCertificateType: 0x0002 = PKCS#7 SignedData */
    const uint8_t *data;
    size_t data_len; /* bCertificate: length - 8 bytes */
} sgs_pe_cert;

/*
 * Walks the table bytes: entries at 8-aligned offsets, each dwLength >= 8 and within the
 * table. Stores the first `max` entries in out and sets *n to the number seen (> max: also
 * SGS_PE_A_CERT_MANY). ORs anomalies into *anomalies: SGS_PE_A_CERT_SUM (last entry's padding
 * missing, or only zero bytes after the last entry), SGS_PE_A_CERT_PADDING. Returns 1, or 0
 * (MALFORMED) with `why`: table shorter than 8 bytes, a dwLength < 8 (unless the rest of the
 * table is zeros), a dwLength past the table.
 */
SGS_NODISCARD int sgs_pe_certs(const uint8_t *table, size_t len, sgs_pe_cert *out, size_t max,
                               size_t *n, unsigned *anomalies, char *why, size_t whylen);

/*
 * How many bytes the outer DER TLV at p[0, n) spans (header + definite length), read with
 * ASN1_get_object; a span < n inside bCertificate means bytes stuffed after the PKCS#7
 * (CVE-2013-3900). Returns 1 with *span, or 0 with `why` (bad or truncated header, length past
 * n, indefinite length). Empties the thread's libcrypto error queue.
 */
SGS_NODISCARD int sgs_pe_der_span(const uint8_t *p, size_t n, size_t *span, char *why,
                                  size_t whylen);

/*
 * Whether bCertificate holds bytes after its DER (`span` from sgs_pe_der_span) that are not
 * alignment: osslsigncode counts up to 7 zero bytes of padding inside dwLength (which is then
 * a multiple of 8), signtool leaves them outside it; anything else after the DER is stuffing
 * (CVE-2013-3900). Returns 1 for stuffing, 0 for none or alignment only.
 */
SGS_NODISCARD int sgs_pe_cert_stuffed(const sgs_pe_cert *c, size_t span);

#endif
