/* keys.h - public and private keys from PEM/DER files; SPKI fingerprints; a deduplicated set. */
#ifndef SGS_KEYS_H
#define SGS_KEYS_H

#include "sigsweep.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound on a key or certificate file; larger files are refused, not read. */
#define SGS_KEY_FILE_MAX (1024u * 1024u)

typedef enum sgs_key_type {
    SGS_KEY_RSA = 0,
    SGS_KEY_RSA_PSS, /* id-RSASSA-PSS SPKI: PSS only, with the key's own restrictions */
    SGS_KEY_EC,
    SGS_KEY_ED25519,
    SGS_KEY_OTHER
} sgs_key_type;

typedef struct sgs_key {
    EVP_PKEY *pkey;           /* owned */
    sgs_key_type type;
    int bits;
    size_t sig_size;          /* RSA: modulus bytes (exact signature length); Ed25519: 64;
                                 ECDSA: maximum DER length */
    const char *curve;        /* "p256", "p384", "p521" for EC; "" otherwise */
    uint8_t fp[32];           /* SHA-256 of the DER SubjectPublicKeyInfo */
    char fp_hex[SGS_FP_HEX_LEN];
} sgs_key;

/* A growing set of distinct public keys (by SPKI fingerprint). Caller-owned struct. */
typedef struct sgs_keyset {
    sgs_key *keys;
    size_t count, cap;
    uint8_t id[32]; /* SHA-256 over the sorted fingerprints: identifies the whole set */
    uint8_t (*seen)[32]; /* SHA-256 of every buffer already parsed: parse each distinct one once */
    size_t nseen, seen_cap;
    const sgs_allocator *alloc;
    int min_bits; /* keys below this security level (or degenerate) are refused at add */
} sgs_keyset;

/* Empty set, floor SGS_MIN_SECURITY_BITS_DEFAULT (set ks->min_bits before adding to change). */
void sgs_keyset_init(sgs_keyset *ks, const sgs_allocator *alloc);
void sgs_keyset_reset(sgs_keyset *ks); /* frees the keys; the struct can be reused */

/*
 * Parses every public key in (buf, len): PEM (any number of PUBLIC KEY, RSA PUBLIC KEY,
 * CERTIFICATE blocks) or one DER SubjectPublicKeyInfo or certificate, and adds the new ones.
 * Private keys are refused. On failure writes a reason into err and adds nothing.
 * Returns SGS_OK, SGS_ERR_KEY, SGS_ERR_NOMEM.
 */
SGS_NODISCARD sgs_status sgs_keyset_add_buffer(sgs_keyset *ks, const uint8_t *buf, size_t len,
                                               char *err, size_t errlen);

/* Reads a file (at most SGS_KEY_FILE_MAX bytes, no symlink following) and adds its keys. */
SGS_NODISCARD sgs_status sgs_keyset_add_file(sgs_keyset *ks, const char *path, char *err,
                                             size_t errlen);

/*
 * Adds the keys of every entry of dir (not recursive, hidden names too), in name order, as a
 * trust store directory is read: links are followed (`trust add` links <hash>.0 to its
 * certificate file) and each file is read once, by identity. An entry that gives no usable
 * public key (no key, a private key, a weak key, a directory, unreadable, a dangling link) is
 * skipped, and named: err then holds one line per skipped entry, "skipping DIR/x: not a public
 * key (why)" ("" when none), with SGS_OK as long as one file gave keys. Returns SGS_OK,
 * SGS_ERR_KEY (no key at all in dir; err says so), SGS_ERR_IO (dir cannot be listed),
 * SGS_ERR_NOMEM.
 */
SGS_NODISCARD sgs_status sgs_keyset_add_dir(sgs_keyset *ks, const char *dir, char *err,
                                            size_t errlen);

/* Recomputes ks->id; call after the last add. */
void sgs_keyset_finalize(sgs_keyset *ks);

/* Fills type, bits, sig_size, curve and fingerprint of a key from its EVP_PKEY (not owned). */
SGS_NODISCARD sgs_status sgs_key_describe(EVP_PKEY *pkey, sgs_key *out);

/* Only type, bits, sig_size and curve (no fingerprint: cheap). */
void sgs_key_describe_type(EVP_PKEY *pkey, sgs_key *out);

/* SPKI SHA-256 fingerprint (hex) of a certificate's key, from the certificate's own encoding. */
SGS_NODISCARD sgs_status sgs_cert_spki_fp(X509 *cert, char hex[SGS_FP_HEX_LEN]);

/*
 * Parses an unencrypted private key (PEM or DER; PKCS#8 or traditional). On success *out is
 * owned by the caller (EVP_PKEY_free). The caller wipes buf.
 */
SGS_NODISCARD sgs_status sgs_private_key_parse(const uint8_t *buf, size_t len, EVP_PKEY **out,
                                               char *err, size_t errlen);

/*
 * Reads a whole small file into a new buffer: open without following symlinks, regular files
 * only, at most `max` bytes. On success *out (owned by caller, sgs_free) and *len are set.
 * On failure returns SGS_ERR_IO or SGS_ERR_NOMEM and writes the reason into err.
 */
SGS_NODISCARD sgs_status sgs_read_small_file(const sgs_allocator *a, const char *path,
                                             size_t max, uint8_t **out, size_t *len,
                                             char *err, size_t errlen);

/* The same, following symbolic links (trust material: hashed CA directories are links). */
SGS_NODISCARD sgs_status sgs_read_small_file_follow(const sgs_allocator *a, const char *path,
                                                    size_t max, uint8_t **out, size_t *len,
                                                    char *err, size_t errlen);

/* The one PEM reader. 1 when buf holds a "-----BEGIN " line (then it is read as PEM). */
int sgs_pem_present(const uint8_t *buf, size_t len);

/* One PEM block: its type name and its decoded bytes (wiped and freed after the call).
   Return SGS_OK for the next block; anything else stops the walk and is returned. */
typedef sgs_status (*sgs_pem_fn)(void *opaque, unsigned index, const char *name,
                                 const unsigned char *data, long dlen);

/* Calls fn for each PEM block of buf in order (index from 1). Returns SGS_OK after the last
   block, SGS_ERR_NOMEM, fn's status, or SGS_ERR_KEY when the first block, or the bytes after a
   block, do not parse: then err says "[<path>: ]bad PEM: <OpenSSL's reason, else none>". */
sgs_status sgs_pem_each(const uint8_t *buf, size_t len, sgs_pem_fn fn, void *opaque,
                        const char *path, const char *none, char *err, size_t errlen);

#endif
