/* verify.h - raw signatures over a prehash (RSA, ECDSA) or the whole message (Ed25519). */
#ifndef SGS_VERIFY_H
#define SGS_VERIFY_H

#include "keys.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* How an RSA/ECDSA signature was made. md is required for everything but Ed25519. */
typedef struct sgs_sig_params {
    const EVP_MD *md;   /* the prehash */
    int pss;            /* RSA: 1 = PSS, 0 = PKCS#1 v1.5 (RSA-PSS keys are always PSS) */
    const EVP_MD *mgf1; /* PSS MGF1 hash; NULL = md */
    int saltlen;        /* PSS salt length; RSA_PSS_SALTLEN_AUTO (-2) on verify = detect */
} sgs_sig_params;

void sgs_sig_params_init(sgs_sig_params *p, const EVP_MD *md, int pss);

/*
 * Verifies sig (its full length: nothing is truncated or padded) over a digest made with
 * p->md. Returns 1 only when the signature verifies, 0 for every other outcome. The thread's
 * libcrypto error queue is left empty.
 */
int sgs_verify_prehash(EVP_PKEY *pkey, const sgs_sig_params *p, const uint8_t *digest,
                       size_t dlen, const uint8_t *sig, size_t siglen);

/*
 * A verification context bound to one key and one set of parameters, reused by one thread
 * for many signatures (saves the per-call provider fetch). NULL on failure. Free with
 * EVP_PKEY_CTX_free(). THREAD SAFETY: one thread at a time.
 */
EVP_PKEY_CTX *sgs_verifier_new(EVP_PKEY *pkey, const sgs_sig_params *p);

/* Verifies sig over digest with a context from sgs_verifier_new(). Same rules and result as
   sgs_verify_prehash(). */
int sgs_verifier_check(EVP_PKEY_CTX *ctx, const uint8_t *digest, size_t dlen, const uint8_t *sig,
                       size_t siglen);

/* Verifies a pure Ed25519 signature over msg. Returns 1 only when it verifies. */
int sgs_verify_message(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t *sig,
                       size_t siglen);

/*
 * Signs a digest (RSA/ECDSA) exactly as `openssl dgst -HASH -sign` does. On entry *siglen is
 * the size of sig; on success it is the signature length. Returns 1 on success, 0 on failure
 * (reason in err).
 */
int sgs_sign_prehash(EVP_PKEY *pkey, const sgs_sig_params *p, const uint8_t *digest,
                     size_t dlen, uint8_t *sig, size_t *siglen, char *err, size_t errlen);

/* Signs msg with pure Ed25519 as `openssl pkeyutl -sign -rawin` does. 1 on success. */
int sgs_sign_message(EVP_PKEY *pkey, const uint8_t *msg, size_t len, uint8_t *sig,
                     size_t *siglen, char *err, size_t errlen);

/*
 * True when sig is a strict-DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs, nothing after):
 * only such signatures are offered to EC keys.
 */
int sgs_sig_is_ecdsa_der(const uint8_t *sig, size_t siglen);

/*
 * The one detached-signature verifier (files, manifests, agent commands). A detached raw
 * signature is checked against a key set: only keys whose signature shape fits are tried (RSA:
 * the modulus size; Ed25519: 64 bytes; ECDSA: strict DER), a signature no key could have made
 * is MALFORMED rather than BAD_SIGNATURE. Ed25519 signs the whole message (`msg`), the others
 * the prehash `md` made with params->md.
 */
typedef struct sgs_detached {
    const uint8_t *sig; /* the signature, its full length */
    size_t siglen;
    const uint8_t *msg; /* the whole message (Ed25519); may be NULL when no Ed25519 key fits */
    size_t msglen;
    const uint8_t *md;  /* its prehash with params.md (RSA, ECDSA) */
    size_t mdlen;
    sgs_sig_params params;
    EVP_PKEY_CTX **verifiers; /* optional per-key contexts (one thread), made on first use */
} sgs_detached;

/* Does key k accept a signature of this length and shape (is_der: sgs_sig_is_ecdsa_der)? */
int sgs_key_fits(const sgs_key *k, size_t siglen, int is_der);

/* Counts the keys of ks that fit sig; *last is the index of the last one, *need_whole is set
   when one of them is Ed25519 (the whole message is needed). */
size_t sgs_detached_candidates(const sgs_keyset *ks, const uint8_t *sig, size_t siglen,
                               size_t *last, int *need_whole);

/* One key against d: 1 only when the signature verifies. */
int sgs_detached_check_key(EVP_PKEY *pkey, const sgs_detached *d, EVP_PKEY_CTX **verifier);

/* The index of the first fitting key of ks that verifies d, or -1. *tried counts the
   public-key operations performed. */
long sgs_detached_verify(const sgs_keyset *ks, const sgs_detached *d, uint64_t *tried);

/*
 * After no key verified d: would an RSA key of its size verify it with the other padding, or
 * was it made over another hash (PKCS#1 v1.5 names its hash)? Writes a hint for the reason
 * ("it verifies as RSA-PSS: pass --pss") into buf, or "" when there is none. Never a verdict:
 * the signature stays BAD_SIGNATURE. *tried counts the operations.
 */
const char *sgs_detached_hint(const sgs_keyset *ks, const sgs_detached *d, uint64_t *tried,
                              char *buf, size_t n);

/* "rsa2048-pkcs1-sha256", "ecdsa-p256-sha256", "ed25519": how key k signs with hash/pss. */
const char *sgs_key_alg_name(const sgs_key *k, const char *hash, int pss, char *buf, size_t n);

#endif
