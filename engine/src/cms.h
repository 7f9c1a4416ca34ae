/* cms.h - detached CMS/PKCS#7 SignedData over a file hashed once by the engine. */
#ifndef SGS_CMS_H
#define SGS_CMS_H

#include "sigsweep.h"
#include "trust.h"

#include <openssl/bio.h>
#include <openssl/pem.h> /* before cms.h: it declares PEM_read_bio_CMS only then */
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define SGS_CMS_MAX_MDS 4

/* True when the bytes look like CMS SignedData (PEM "PKCS7"/"CMS" block, or DER whose
   contentType is id-signedData), as opposed to a raw signature. */
int sgs_cms_detect(const uint8_t *buf, size_t len);

/*
 * Parsed `certificates` fields, keyed by their exact bytes. OpenSSL 3.0 spends ~100 us
 * building a provider decoder for every certificate it parses, and every file signed by one
 * signer embeds the same certificates: parsing them once per run is most of CMS throughput.
 * THREAD SAFETY: any thread.
 */
typedef struct sgs_certset_cache sgs_certset_cache;
sgs_certset_cache *sgs_certset_cache_create(const sgs_allocator *a);
void sgs_certset_cache_free(sgs_certset_cache *c);

/*
 * ContentInfo ::= SEQUENCE { contentType signedData, [0] EXPLICIT SignedData } (CMS or PKCS#7:
 * the same shape): takes the SignedData's [0] certificates element out, parsed once per
 * distinct byte string (from the cache), and re-encodes the rest with OpenSSL's generic codec.
 * Returns the new DER (OPENSSL_malloc'd) and *certs (new references, the caller's), or NULL
 * (*certs NULL) when the signature is not shaped so: the caller then parses it whole.
 */
unsigned char *sgs_certset_split(sgs_certset_cache *c, const uint8_t *buf, size_t len,
                                 size_t *outlen, STACK_OF(X509) **certs);

/* A parsed signature and the digest BIOs the file must be fed into. */
typedef struct sgs_cms_job {
    CMS_ContentInfo *cms;
    STACK_OF(X509) *certs; /* the signature's certificates when taken from the cache (owned);
                              NULL: they are inside cms */
    BIO *chain;                         /* BIO_f_md per digest algorithm, pushed together */
    EVP_MD_CTX *ctxs[SGS_CMS_MAX_MDS];  /* their contexts (owned by the BIOs) */
    size_t nctx;
    char chain_dns[2048]; /* set by sgs_cms_verify: the chain of the signer judged last (DNs,
                         '\n'-separated) */
    sgs_check_window win; /* set by sgs_cms_verify: how long its outcome holds */
} sgs_cms_job;

/*
 * Parses a detached CMS SignedData (DER or PEM) and prepares one digest context per signer
 * digest algorithm. With certsets (may be NULL), a DER signature's certificates are taken from
 * that cache: the SignedData is split with OpenSSL's generic ASN.1 codec (d2i/i2d of
 * SEQUENCE OF ANY), the certificates field is parsed once per distinct byte string, and the
 * rest is parsed by OpenSSL's CMS parser as usual. On failure sets *verdict (MALFORMED or UNSUPPORTED) and the reason and
 * returns 0; on success returns 1 and the caller feeds the file's bytes to job->ctxs, then
 * calls sgs_cms_verify(), then sgs_cms_job_reset().
 */
int sgs_cms_prepare(const uint8_t *buf, size_t len, sgs_certset_cache *certsets,
                    sgs_cms_job *job, sgs_verdict *verdict, char *reason, size_t n);

/*
 * Verifies every SignerInfo against the hashed content (messageDigest and signature over the
 * signed attributes, or the signature over the content when there are none), then the chain
 * of each signer via trust (NULL: signatures only, no chain). Sets verdict and reason; on VALID also alg and signer_hex (SPKI
 * SHA-256 of the first signer's key).
 */
void sgs_cms_verify(sgs_cms_job *job, sgs_trust *trust, sgs_verdict *verdict, char *reason,
                    size_t n, char *alg, size_t alglen, char *signer_hex);

void sgs_cms_job_reset(sgs_cms_job *job);

/*
 * Starts a detached CMS signature (signed attributes, as `openssl cms -sign -binary` makes)
 * by cert/pkey with digest md (RSA keys: PSS when pss), embedding cert and `extra`. The caller
 * feeds the content to job->ctxs, then calls sgs_cms_sign_finish(). Returns 1, or 0 with err.
 */
int sgs_cms_sign_start(X509 *cert, EVP_PKEY *pkey, STACK_OF(X509) *extra, const EVP_MD *md,
                       int pss, sgs_cms_job *job, char *err, size_t n);

/* Computes the signature and encodes the ContentInfo as DER into a new buffer (*out, release
   with OPENSSL_free). Returns 1, or 0 with err. The job still needs sgs_cms_job_reset(). */
/* Signs empty content once and throws the signature away: 1 when this key, certificate, hash
   and padding can make a CMS signature here, else 0 with err (OpenSSL 3.0 cannot sign CMS with
   an Ed25519 or Ed448 key, for one). */
int sgs_cms_sign_probe(X509 *cert, EVP_PKEY *pkey, STACK_OF(X509) *extra, const EVP_MD *md,
                       int pss, char *err, size_t n);
int sgs_cms_sign_finish(sgs_cms_job *job, unsigned char **out, size_t *outlen, char *err,
                        size_t n);

#endif
