/* edsig.h - minisign and signify: their key, signature and signed-message files, and keys. */
#ifndef SGS_EDSIG_H
#define SGS_EDSIG_H

#include "keys.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Line limits, as the tools have them (minisign COMMENTMAXBYTES, TRUSTEDCOMMENTMAXBYTES;
   signify COMMENTMAXLEN): a longer line is MALFORMED, never cut. */
#define SGS_EDSIG_COMMENT_MAX 1024u
#define SGS_EDSIG_TRUSTED_MAX 8192u
#define SGS_EDSIG_B64_LINE_MAX 128u /* the longest base64 line of either format is 100 */

/* A minisign or signify public key: "Ed", an 8-byte key number and the Ed25519 point. */
typedef struct sgs_edkey {
    uint8_t keynum[8];
    EVP_PKEY *pkey;           /* owned */
    char id_hex[17];          /* the key id as minisign prints it (%llX, little-endian) */
    char fp_hex[SGS_FP_HEX_LEN]; /* SPKI SHA-256, as the other keys' fingerprints */
} sgs_edkey;

/* A set of such keys (one per tool). Caller-owned struct. THREAD SAFETY: read-only once the
   run starts; any thread. */
typedef struct sgs_edkeys {
    sgs_edkey *keys;
    size_t count, cap;
    const sgs_allocator *alloc;
} sgs_edkeys;

void sgs_edkeys_init(sgs_edkeys *ks, const sgs_allocator *a);
void sgs_edkeys_reset(sgs_edkeys *ks);

/*
 * Adds a key from a public key file's bytes ("untrusted comment: ..." then the base64 line,
 * as minisign -G and signify -G write them) or from the bare base64 string (minisign -P).
 * Refused: anything else, a key of another algorithm, an Ed25519 key of small order or not
 * canonically encoded (keycheck.c), below min_bits. A key already in the set is kept once.
 * Returns SGS_OK, SGS_ERR_KEY (err says why), SGS_ERR_NOMEM.
 */
SGS_NODISCARD sgs_status sgs_edkeys_add(sgs_edkeys *ks, const uint8_t *buf, size_t len,
                                        int min_bits, char *err, size_t errlen);

/* The key with this key number, or NULL. */
const sgs_edkey *sgs_edkeys_find(const sgs_edkeys *ks, const uint8_t keynum[8]);

/* The key id of a key number as minisign prints it (17 bytes with the NUL). */
void sgs_edsig_id_hex(const uint8_t keynum[8], char out[17]);

/* A minisign signature file (F.minisig): four lines. Pointers go into the parsed buffer. */
typedef struct sgs_minisig {
    int prehashed;              /* "ED": Ed25519 over BLAKE2b-512 of the file; "Ed": the file */
    uint8_t keynum[8];
    uint8_t sig[64];
    const uint8_t *trusted;     /* the trusted comment's text, after "trusted comment: " */
    size_t trusted_len;
    uint8_t global_sig[64];     /* Ed25519 over sig || trusted comment */
} sgs_minisig;

/*
 * Parses a minisign signature: "untrusted comment: ..." (ignored), base64 of the algorithm,
 * key number and signature, "trusted comment: ...", base64 of the global signature; lines end
 * in LF (a CR before it is dropped, as minisign does); nothing after the fourth line. Base64
 * must be canonical (strict length, padding, no stray bits or spaces). Returns 1, or 0 with
 * why (n bytes) saying what is wrong.
 */
int sgs_minisig_parse(const uint8_t *buf, size_t len, sgs_minisig *out, char *why, size_t n);

/* A signify signature: detached (F.sig) or with the message embedded after it (signify -S -e). */
typedef struct sgs_signify_sig {
    uint8_t keynum[8];
    uint8_t sig[64];
    const uint8_t *msg; /* embedded: the signed message (the rest of the file); else NULL */
    size_t msglen;
} sgs_signify_sig;

/*
 * Parses a signify signature: "untrusted comment: ...\n", the base64 line of "Ed", key number
 * and signature, "\n"; detached, nothing may follow; embedded, what follows is the message.
 * Returns 1, or 0 with why.
 */
int sgs_signify_parse(const uint8_t *buf, size_t len, int embedded, sgs_signify_sig *out,
                      char *why, size_t n);

/* Whether buf begins as both formats' files do ("untrusted comment: "): cheap, for detect. */
int sgs_edsig_looks_like(const uint8_t *buf, size_t len);

/* Whether a minisign-shaped file (a "trusted comment: " third line) is what buf holds. */
int sgs_edsig_has_trusted_comment(const uint8_t *buf, size_t len);

/* Ed25519 verification of msg by key (OpenSSL), after refusing a signature that is not sane
   (keycheck.c sgs_ed25519_sig_sane). 1 verified, 0 not. THREAD SAFETY: any thread. */
int sgs_edsig_verify(const sgs_edkey *key, const uint8_t sig[64], const uint8_t *msg, size_t len);

/*
 * Strict base64 (RFC 4648, with padding): len a multiple of 4, only the alphabet, '=' only as
 * the last one or two characters, unused bits zero (the encoding re-encodes to the input).
 * Returns the decoded length, or -1; at most cap bytes are written.
 */
long sgs_b64_decode_strict(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
