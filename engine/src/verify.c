/*
 * verify.c - raw detached signatures, exactly as the openssl CLI makes them.
 *
 * DESIGN: `openssl dgst -H -sign` hashes the file and signs the digest (RSA PKCS#1 v1.5 with a
 * DigestInfo, RSA-PSS, or ECDSA DER); `pkeyutl -sign -rawin` signs the whole message with pure
 * Ed25519. We verify the same way: the engine streams the file once into the prehash and calls
 * EVP_PKEY_verify() with the signature md set, so no byte is read twice. The signature is
 * passed with its full length: `dgst -verify` truncates to the key size, we do not (trailing
 * bytes are a forgery surface). Each call leaves the thread's error queue empty.
 */
#include "verify.h"

#include "err.h"
#include "keycheck.h"

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>

void
sgs_sig_params_init(sgs_sig_params *p, const EVP_MD *md, int pss)
{
    p->md = md;
    p->pss = pss;
    p->mgf1 = NULL;
    p->saltlen = RSA_PSS_SALTLEN_AUTO;
}

/* Sets hash and padding on a sign/verify context for the key's type. */
static int
set_params(EVP_PKEY_CTX *ctx, EVP_PKEY *pkey, const sgs_sig_params *p, int verifying)
{
    if (p->md == NULL || EVP_PKEY_CTX_set_signature_md(ctx, p->md) <= 0)
        return 0;
    const int is_rsa_pss_key = EVP_PKEY_is_a(pkey, "RSA-PSS");
    if (!EVP_PKEY_is_a(pkey, "RSA") && !is_rsa_pss_key)
        return 1;
    if (!p->pss && !is_rsa_pss_key)
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0)
        return 0;
    if (is_rsa_pss_key) {
        /* An id-RSASSA-PSS key carries its own MGF1 hash and minimum salt length, which
           OpenSSL applies by default (and refuses "auto" against): only explicit choices are
           passed on, and the key still enforces its restrictions. */
        if (p->mgf1 != NULL && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p->mgf1) <= 0)
            return 0;
        return p->saltlen == RSA_PSS_SALTLEN_AUTO ||
               EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, p->saltlen) > 0;
    }
    if (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p->mgf1 != NULL ? p->mgf1 : p->md) <= 0)
        return 0;
    int saltlen = p->saltlen;
    if (!verifying && saltlen == RSA_PSS_SALTLEN_AUTO)
        saltlen = RSA_PSS_SALTLEN_DIGEST; /* salt = hash length: the interoperable choice
                                             (RFC 8017 9.1 note); verifiers auto-detect */
    return EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) > 0;
}

EVP_PKEY_CTX *
sgs_verifier_new(EVP_PKEY *pkey, const sgs_sig_params *p)
{
    char why[128];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (ctx != NULL && (EVP_PKEY_verify_init(ctx) <= 0 || !set_params(ctx, pkey, p, 1))) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    (void)sgs_crypto_error(why, sizeof(why));
    return ctx;
}

int
sgs_verifier_check(EVP_PKEY_CTX *ctx, const uint8_t *digest, size_t dlen, const uint8_t *sig,
                   size_t siglen)
{
    char why[128];
    const EVP_MD *md = NULL;
    if (ctx == NULL || siglen == 0 || dlen == 0 || EVP_PKEY_CTX_get_signature_md(ctx, &md) <= 0 ||
        md == NULL || (size_t)EVP_MD_get_size(md) != dlen) {
        (void)sgs_crypto_error(why, sizeof(why));
        return 0;
    }
    const int ok = EVP_PKEY_verify(ctx, sig, siglen, digest, dlen) == 1;
    (void)sgs_crypto_error(why, sizeof(why));
    return ok;
}

int
sgs_verify_prehash(EVP_PKEY *pkey, const sgs_sig_params *p, const uint8_t *digest, size_t dlen,
                   const uint8_t *sig, size_t siglen)
{
    if (p->md == NULL || (size_t)EVP_MD_get_size(p->md) != dlen)
        return 0;
    EVP_PKEY_CTX *const ctx = sgs_verifier_new(pkey, p);
    const int ok = sgs_verifier_check(ctx, digest, dlen, sig, siglen);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

int
sgs_verify_message(EVP_PKEY *pkey, const uint8_t *msg, size_t len, const uint8_t *sig,
                   size_t siglen)
{
    char why[128];
    int ok = 0;
    static const uint8_t empty[1] = {0};
    EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
    if (mctx == NULL || siglen == 0)
        goto out;
    /* OpenSSL 3.0 checks S < L but not R: an R of small order is refused here (libsodium) */
    if (EVP_PKEY_is_a(pkey, "ED25519") && (siglen != 64 || !sgs_ed25519_sig_sane(sig)))
        goto out;
    if (EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) <= 0)
        goto out;
    ok = EVP_DigestVerify(mctx, sig, siglen, msg != NULL ? msg : empty, len) == 1;
out:
    EVP_MD_CTX_free(mctx);
    (void)sgs_crypto_error(why, sizeof(why));
    return ok;
}

int
sgs_sign_prehash(EVP_PKEY *pkey, const sgs_sig_params *p, const uint8_t *digest, size_t dlen,
                 uint8_t *sig, size_t *siglen, char *err, size_t errlen)
{
    int ok = 0;
    EVP_PKEY_CTX *const ctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (ctx == NULL)
        goto out;
    if (EVP_PKEY_sign_init(ctx) <= 0 || !set_params(ctx, pkey, p, 0))
        goto out;
    ok = EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) == 1;
out:
    EVP_PKEY_CTX_free(ctx);
    (void)sgs_crypto_error(err, errlen);
    return ok;
}

int
sgs_sign_message(EVP_PKEY *pkey, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen,
                 char *err, size_t errlen)
{
    int ok = 0;
    static const uint8_t empty[1] = {0};
    EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
    if (mctx == NULL)
        goto out;
    if (EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, pkey, NULL) <= 0)
        goto out;
    ok = EVP_DigestSign(mctx, sig, siglen, msg != NULL ? msg : empty, len) == 1;
out:
    EVP_MD_CTX_free(mctx);
    (void)sgs_crypto_error(err, errlen);
    return ok;
}

int
sgs_sig_is_ecdsa_der(const uint8_t *sig, size_t siglen)
{
    if (siglen == 0 || siglen > 1024)
        return 0;
    const unsigned char *cur = sig;
    ECDSA_SIG *const s = d2i_ECDSA_SIG(NULL, &cur, (long)siglen);
    int ok = 0;
    if (s != NULL && cur == sig + siglen) {
        /* Strict DER: the re-encoding must be the same bytes (no BER lengths, no padding). */
        unsigned char *der = NULL;
        const int n = i2d_ECDSA_SIG(s, &der);
        ok = n > 0 && (size_t)n == siglen && CRYPTO_memcmp(der, sig, siglen) == 0;
        OPENSSL_free(der);
    }
    ECDSA_SIG_free(s);
    ERR_clear_error();
    return ok;
}

/* ---- the detached verifier -------------------------------------------------------------- */

int
sgs_key_fits(const sgs_key *k, size_t siglen, int is_der)
{
    switch (k->type) {
    case SGS_KEY_RSA:
    case SGS_KEY_RSA_PSS:
        return siglen == k->sig_size;
    case SGS_KEY_ED25519:
        return siglen == 64;
    case SGS_KEY_EC:
        return is_der && siglen <= k->sig_size;
    case SGS_KEY_OTHER:
        break;
    }
    return 0;
}

size_t
sgs_detached_candidates(const sgs_keyset *ks, const uint8_t *sig, size_t siglen, size_t *last,
                        int *need_whole)
{
    const int is_der = sgs_sig_is_ecdsa_der(sig, siglen);
    size_t n = 0;
    *last = 0;
    *need_whole = 0;
    for (size_t i = 0; i < ks->count; i++) {
        if (sgs_key_fits(&ks->keys[i], siglen, is_der)) {
            n++;
            *last = i;
            *need_whole |= ks->keys[i].type == SGS_KEY_ED25519;
        }
    }
    return n;
}

int
sgs_detached_check_key(EVP_PKEY *pkey, const sgs_detached *d, EVP_PKEY_CTX **verifier)
{
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return (d->msg != NULL || d->msglen == 0) && /* an empty message may have no buffer */
               sgs_verify_message(pkey, d->msg, d->msglen, d->sig, d->siglen);
    if (d->mdlen == 0)
        return 0;
    if (verifier == NULL)
        return sgs_verify_prehash(pkey, &d->params, d->md, d->mdlen, d->sig, d->siglen);
    if (*verifier == NULL)
        *verifier = sgs_verifier_new(pkey, &d->params);
    return sgs_verifier_check(*verifier, d->md, d->mdlen, d->sig, d->siglen);
}

long
sgs_detached_verify(const sgs_keyset *ks, const sgs_detached *d, uint64_t *tried)
{
    const int is_der = sgs_sig_is_ecdsa_der(d->sig, d->siglen);
    for (size_t i = 0; i < ks->count; i++) {
        const sgs_key *const k = &ks->keys[i];
        if (!sgs_key_fits(k, d->siglen, is_der))
            continue;
        (*tried)++;
        if (sgs_detached_check_key(k->pkey, d, d->verifiers != NULL ? &d->verifiers[i] : NULL))
            return (long)i;
    }
    return -1;
}

/* The hash a PKCS#1 v1.5 signature names in its DigestInfo (NID_undef: not PKCS#1 v1.5 under
   this key); the signed digest into md/mdlen. */
static int
pkcs1_signed_hash(EVP_PKEY *pkey, const uint8_t *sig, size_t siglen, uint8_t *md, size_t *mdlen)
{
    int nid = NID_undef;
    uint8_t out[1024];
    size_t outlen = sizeof(out);
    /* OpenSSL 3.0 writes the whole recovered block whatever outlen says: only keys whose
       modulus fits the buffer are asked */
    const int size = EVP_PKEY_get_size(pkey);
    EVP_PKEY_CTX *const ctx =
        size > 0 && (size_t)size <= sizeof(out) ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
    if (ctx != NULL && EVP_PKEY_verify_recover_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_PKEY_verify_recover(ctx, out, &outlen, sig, siglen) == 1) {
        const unsigned char *cur = out;
        X509_SIG *const di = d2i_X509_SIG(NULL, &cur, (long)outlen);
        if (di != NULL && cur == out + outlen) {
            const X509_ALGOR *alg = NULL;
            const ASN1_OCTET_STRING *digest = NULL;
            X509_SIG_get0(di, &alg, &digest);
            const ASN1_OBJECT *obj = NULL;
            X509_ALGOR_get0(&obj, NULL, NULL, alg);
            nid = OBJ_obj2nid(obj);
            const int dl = ASN1_STRING_length(digest);
            *mdlen = dl > 0 && (size_t)dl <= EVP_MAX_MD_SIZE ? (size_t)dl : 0;
            if (*mdlen > 0)
                memcpy(md, ASN1_STRING_get0_data(digest), *mdlen);
        }
        X509_SIG_free(di);
    }
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return nid;
}

const char *
sgs_detached_hint(const sgs_keyset *ks, const sgs_detached *d, uint64_t *tried, char *buf,
                  size_t n)
{
    buf[0] = '\0';
    if (d->mdlen == 0 || d->params.md == NULL)
        return buf;
    for (size_t i = 0; i < ks->count && buf[0] == '\0'; i++) {
        const sgs_key *const k = &ks->keys[i];
        if (k->type != SGS_KEY_RSA || d->siglen != k->sig_size)
            continue;
        sgs_sig_params other = d->params;
        other.pss = !d->params.pss;
        (*tried)++;
        if (sgs_verify_prehash(k->pkey, &other, d->md, d->mdlen, d->sig, d->siglen)) {
            snprintf(buf, n, "it verifies as %s with key %.16s...: %s",
                     other.pss ? "RSA-PSS" : "RSA PKCS#1 v1.5", k->fp_hex,
                     other.pss ? "pass --pss" : "leave out --pss");
            break;
        }
        uint8_t signed_md[EVP_MAX_MD_SIZE];
        size_t signed_len = 0;
        (*tried)++;
        const int nid = pkcs1_signed_hash(k->pkey, d->sig, d->siglen, signed_md, &signed_len);
        if (nid == NID_undef)
            continue;
        const char *const pss_too = d->params.pss ? " and leave out --pss" : "";
        sgs_hash known;
        if (nid != EVP_MD_get_type(d->params.md) && OBJ_nid2ln(nid) != NULL &&
            sgs_hash_from_name(OBJ_nid2ln(nid), &known) == 0)
            snprintf(buf, n, "key %.16s... signed a %s digest: pass --hash %s%s", k->fp_hex,
                     OBJ_nid2sn(nid), OBJ_nid2ln(nid), pss_too);
        else if (nid != EVP_MD_get_type(d->params.md))
            snprintf(buf, n, "key %.16s... signed a %s digest, a hash sigsweep does not accept",
                     k->fp_hex, OBJ_nid2sn(nid) != NULL ? OBJ_nid2sn(nid) : "unknown");
        else if (signed_len != d->mdlen || CRYPTO_memcmp(signed_md, d->md, d->mdlen) != 0)
            snprintf(buf, n, "key %.16s... signed another %s digest%s: the file changed after "
                     "it was signed, or the signature is another file's", k->fp_hex, OBJ_nid2sn(nid),
                     d->params.pss ? " (as PKCS#1 v1.5: leave out --pss)" : "");
    }
    return buf;
}

const char *
sgs_key_alg_name(const sgs_key *k, const char *hash, int pss, char *buf, size_t n)
{
    switch (k->type) {
    case SGS_KEY_RSA:
        snprintf(buf, n, "rsa%d-%s-%s", k->bits, pss ? "pss" : "pkcs1", hash);
        break;
    case SGS_KEY_RSA_PSS:
        snprintf(buf, n, "rsa%d-pss-%s", k->bits, hash);
        break;
    case SGS_KEY_EC:
        snprintf(buf, n, "ecdsa-%s-%s", k->curve, hash);
        break;
    case SGS_KEY_ED25519:
        snprintf(buf, n, "ed25519");
        break;
    case SGS_KEY_OTHER:
        snprintf(buf, n, "unknown");
        break;
    }
    return buf;
}
