/* trust.h - trust store, intermediates, candidate CAs, CRLs; chain validation and diagnosis.
   Loading (sgs_trust_add, sgs_pki_parse*) is trust_load.c; the rest is trust.c. */
#ifndef SGS_TRUST_H
#define SGS_TRUST_H

#include "sigsweep.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Upper bound on one certificate or CRL file (a CA bundle is a few hundred KiB). */
#define SGS_CERT_FILE_MAX (16u * 1024u * 1024u)

typedef struct sgs_certref {
    X509 *cert;
    char *path; /* the file it came from */
} sgs_certref;

typedef struct sgs_certlist {
    sgs_certref *items;
    size_t count, cap;
} sgs_certlist;

typedef struct sgs_chain_cache sgs_chain_cache;

/* What the run trusts and how it validates. Filled on the controlling thread, then read-only
   (after sgs_trust_finalize) while workers validate. */
typedef struct sgs_trust {
    const sgs_allocator *alloc;
    sgs_certlist trusted, untrusted, search;
    STACK_OF(X509_CRL) *crls;
    sgs_trust_opts opts;  /* sgs_trust_set_opts(); system: also OpenSSL's default CA file and
                             directory; partial_chain, no_time_check, strict: the X509_V_FLAGs;
                             min_security_bits: every key of the chain and the signer */
    X509_STORE *store;             /* built by finalize */
    STACK_OF(X509) *untrusted_sk;  /* --untrusted, shared read-only */
    sgs_chain_cache *cache;
} sgs_trust;

/* Empty material; opts all 0 but min_security_bits (SGS_MIN_SECURITY_BITS_DEFAULT). */
void sgs_trust_init(sgs_trust *t, const sgs_allocator *a);
void sgs_trust_reset(sgs_trust *t);

/* The run's options, copied (flags as 0/1). Before finalize. */
void sgs_trust_set_opts(sgs_trust *t, const sgs_trust_opts *o);

/*
 * Loads certificates (or CRLs for SGS_MAT_CRL) from a file (PEM bundle or DER) or from every
 * file of a directory (plain or hashed; duplicates by content are kept once).
 * Returns SGS_OK, SGS_ERR_IO, SGS_ERR_KEY (nothing usable, or a file that is not a
 * certificate/CRL), SGS_ERR_NOMEM; err says which file and why.
 */
SGS_NODISCARD sgs_status sgs_trust_add(sgs_trust *t, sgs_material kind, const char *path,
                                       char *err, size_t errlen);

/* Builds the X509_STORE and the chain cache. Returns SGS_OK or SGS_ERR_NOMEM. */
SGS_NODISCARD sgs_status sgs_trust_finalize(sgs_trust *t, char *err, size_t errlen);

/* Feeds everything a judgement depends on into c: flags, time, every trusted, intermediate and
   --search certificate and every CRL, in order. For caches that outlive the run. 1 on
   success. */
int sgs_trust_fingerprint(const sgs_trust *t, EVP_MD_CTX *c);

/* True when there is anything to validate against. */
int sgs_trust_configured(const sgs_trust *t);

/*
 * Validates the chain of `signer` with the signature's own certificates `extra` (may be NULL)
 * and --untrusted, against the store. Sets *verdict (VALID, UNTRUSTED, EXPIRED, NOT_YET_VALID,
 * REVOKED) and a reason naming the certificate at fault and what would fix it (--search).
 * Results are cached per (signer, extra certificates). THREAD SAFETY: any thread after
 * finalize.
 */
void sgs_trust_check(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra, sgs_verdict *verdict,
                     char *reason, size_t n);

/* The same, also writing the chain OpenSSL built (DNs from the signer up, '\n'-separated; as
   far as it got when it failed) into chain. */
void sgs_trust_check_chain(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra,
                           sgs_verdict *verdict, char *reason, size_t n, char *chain,
                           size_t chainlen);

/*
 * What the run asks of a certificate again and again, computed once per certificate object:
 * the SHA-256 of its DER (chain-cache keys), its SPKI fingerprint and subject (records).
 * Remembered by address while the memo holds a reference. Returns 0 if the digest failed.
 * THREAD SAFETY: any thread after finalize.
 */
typedef struct sgs_cert_facts {
    uint8_t sha256[32];
    char spki_fp[SGS_FP_HEX_LEN];
    char subject[256];
} sgs_cert_facts;
int sgs_trust_cert_facts(sgs_trust *t, X509 *x, sgs_cert_facts *out);

/* One call's own time and usage, over the run's configuration: a timestamped signature is
   judged at its timestamp's time (unless the run fixed a time with --at), and Authenticode
   needs codeSigning whatever --purpose says. */
typedef struct sgs_check_opts {
    int has_at_time; /* judge at at_time, unless the run's options fix a time */
    int64_t at_time;
    int codesign;    /* require codeSigning, whatever the run's options say */
} sgs_check_opts;
/*
 * How long a result holds, for caches that outlive the run: one judged at a fixed time (--at,
 * a timestamp's time, --no-time-check) holds forever; one judged now holds while every
 * certificate of the chain built is valid (from..until, seconds since the epoch); cacheable is
 * 0 when a later time may change it in other ways (NOT_YET_VALID, REVOKED, CRL times, ...).
 */
typedef struct sgs_check_window {
    int64_t from, until;
    int cacheable;
} sgs_check_window;
/* into = the part of into that w allows too (the later from, the earlier until, cacheable
   only if both are). Start from {INT64_MIN, INT64_MAX, 1}. */
void sgs_check_window_narrow(sgs_check_window *into, const sgs_check_window *w);
/* win may be NULL. */
void sgs_trust_check_with(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra,
                          const sgs_check_opts *o, sgs_verdict *verdict, char *reason,
                          size_t n, char *chain, size_t chainlen, sgs_check_window *win);

/*
 * Parsed-object callback: receives a certificate (x) or a CRL (crl), owning it. Returns SGS_OK
 * to go on, or a status that stops the parse (err filled).
 */
typedef sgs_status (*sgs_pki_fn)(void *opaque, X509 *x, X509_CRL *crl, const char *path,
                                 char *err, size_t errlen);

/*
 * Parses every certificate and CRL in (buf, len): PEM (any number of CERTIFICATE, TRUSTED
 * CERTIFICATE, X509 CRL blocks; other public blocks are skipped, private keys refused) or one
 * DER certificate or CRL, consumed exactly. SGS_ERR_KEY when nothing usable is there.
 */
SGS_NODISCARD sgs_status sgs_pki_parse(const uint8_t *buf, size_t len, const char *path,
                                       sgs_pki_fn fn, void *opaque, char *err, size_t errlen);

/* Reads a file (following links, at most SGS_CERT_FILE_MAX bytes) and parses it. */
SGS_NODISCARD sgs_status sgs_pki_parse_file(const sgs_allocator *a, const char *path,
                                            sgs_pki_fn fn, void *opaque, char *err,
                                            size_t errlen);

/* A certificate as `trust list` shows it (truststore.c): info's strings point into t. */
typedef struct sgs_cert_text {
    char subject[512], issuer[512], nb[32], na[32], fp[65], kid[129];
} sgs_cert_text;
void sgs_cert_describe(X509 *x, const char *path, sgs_cert_text *t, sgs_cert_info *info);

/* Writes a DN as RFC 2253 text (UTF-8 kept) into buf. */
const char *sgs_dn(const X509_NAME *name, char *buf, size_t n);

#endif
