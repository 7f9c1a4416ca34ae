/* authenticode.h - Authenticode signatures of PE images: the certificate table's PKCS#7
   SignedData (SpcIndirectDataContent), nested signatures, RFC 3161 timestamps, policy. */
#ifndef SGS_AUTHENTICODE_H
#define SGS_AUTHENTICODE_H

#include "pe.h"
#include "sigsweep.h"
#include "trust.h"

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <stddef.h>
#include <stdint.h>

/* Signatures judged per file: certificate-table entries and nested signatures together. */
#define SGS_AC_MAX_SIGS 16
/* WIN_CERTIFICATE entries looked at. */
#define SGS_AC_MAX_ENTRIES 8

/* How a run judges PE files (the CLI's --uefi, --require-all, --lenient). */
typedef struct sgs_ac_policy {
    int uefi;        /* any signature that verifies decides; the section-sorted hash is
                        accepted too (with a warning naming the bytes it does not cover) */
    int require_all; /* every signature must be VALID */
    int lenient;     /* layout anomalies (data after the table, bytes stuffed inside it, a
                        directory size that disagrees with the entries) are warnings */
} sgs_ac_policy;

/* One signature's outcome, for the record's per-signature list. */
typedef struct sgs_ac_sig {
    char role[24];          /* "primary", "nested 1", "entry 2", "entry 2 nested 1" */
    sgs_verdict verdict;
    char reason[768];
    char hash_alg[12];      /* the image hash algorithm it signs: "sha256", ... */
    char layout[16];        /* "file-order" or "section-sorted" (the one that matched) */
    char signer[256];       /* the signer certificate's subject (RFC 2253) */
    char signer_fp[SGS_FP_HEX_LEN];
    char signing_time[32];  /* from a verified timestamp ("2020-06-01T00:00:00Z"), or "" */
    char tsa[256];          /* the timestamp authority's subject, or "" */
} sgs_ac_sig;

/* The signatures of one file, parsed from its certificate table. Reusable per worker.
   certsets (may be NULL): the run's cache of parsed embedded certificate sets (cms.h). */
typedef struct sgs_ac_file sgs_ac_file;
typedef struct sgs_certset_cache sgs_certset_cache;
sgs_ac_file *sgs_ac_file_new(const sgs_allocator *a, sgs_certset_cache *certsets);
void sgs_ac_file_free(sgs_ac_file *f);

/*
 * Parses the certificate table (the bytes the PE's directory entry names): its entries, each
 * PKCS#7 SignedData, the SpcIndirectDataContent and image-hash algorithm of each, nested
 * signatures. Per-signature problems are kept for judge(); the return is 0 only when the table
 * itself is unusable (*verdict and reason set: MALFORMED, NO_SIGNATURE, UNSUPPORTED).
 * Appends layout anomalies (SGS_PE_A_* bits, and *stuffed for bytes after a PKCS#7 inside its
 * entry) for judge(). On success *mds / *nmd are the digests the image must be hashed with.
 */
int sgs_ac_prepare(sgs_ac_file *f, const uint8_t *table, size_t len, const EVP_MD **mds,
                   unsigned *nmd, sgs_verdict *verdict, char *reason, size_t n);

/*
 * Judges every signature against the image hashes (flat[i] / spec[i] per mds[i] of prepare;
 * spec NULL when not computed), then the file by `policy`: the primary signature decides by
 * default. `anomalies` are the PE's layout anomalies. trust validates signers (codeSigning
 * required), tsa validates timestamp authorities (may be NULL: timestamps are then reported,
 * not used). Fills the verdict, a reason, and the signature list (f owns it until the next
 * prepare). THREAD SAFETY: one file per thread; trust and tsa shared read-only.
 */
void sgs_ac_judge(sgs_ac_file *f, const sgs_pe_info *info, uint8_t flat[][64],
                  uint8_t spec[][64], const unsigned *mdlen, const sgs_ac_policy *policy,
                  sgs_trust *trust, sgs_trust *tsa, sgs_verdict *verdict, char *reason,
                  size_t n);

/* After judge: how long its outcome holds (every chain check of it narrowed this). */
const sgs_check_window *sgs_ac_window(const sgs_ac_file *f);

/* After judge: the signatures (primary first) and the index of the one the verdict names. */
const sgs_ac_sig *sgs_ac_sigs(const sgs_ac_file *f, size_t *count, size_t *decisive);

#endif
