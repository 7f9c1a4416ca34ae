/*
 * keys_fuzz.c - libFuzzer target for key and signature loading: the bytes of a --key file, a
 * certificate or CRL file (--trust, --untrusted, --crl), a private key file (sign), and a raw
 * detached signature. The first byte picks the reader, the rest is its input:
 *   0  sgs_keyset_add_buffer (PEM/DER public keys and certificates): every key taken has a
 *      type, a size, a signature shape and the SPKI SHA-256 fingerprint of its own encoding,
 *      and clears the floor (sgs_key_weakness); on failure nothing is added and err says why
 *   1  sgs_pki_parse (certificates and CRLs): each object handed over is owned (freed here)
 *   2  sgs_private_key_parse
 *   3  a raw signature against three fixed keys (RSA-2048, P-256, Ed25519; fuzz_material.h)
 *      over a fixed message, as the raw judge checks it (candidates by shape, PKCS#1 v1.5 and
 *      PSS, the hint): a key that sigsweep says verifies must verify with OpenSSL's own
 *      EVP_DigestVerify too, so garbage is never VALID.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.keys_corpus).
 */
#include "keycheck.h"
#include "keys.h"
#include "trust.h"
#include "verify.h"

#include "fuzz_check.h"
#include "fuzz_material.h"

#include <openssl/err.h>
#include <openssl/sha.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_key(const sgs_key *k)
{
    FUZZ_CHECK(k->pkey != NULL && k->type != SGS_KEY_OTHER && k->bits > 0 && k->sig_size > 0);
    unsigned char *der = NULL;
    const int len = i2d_PUBKEY(k->pkey, &der);
    FUZZ_CHECK(len > 0);
    uint8_t fp[32];
    SHA256(der, (size_t)len, fp);
    OPENSSL_free(der);
    FUZZ_CHECK(memcmp(fp, k->fp, 32) == 0);
    char hex[SGS_FP_HEX_LEN];
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", fp[i]);
    FUZZ_CHECK(strcmp(hex, k->fp_hex) == 0);
    char why[256];
    FUZZ_CHECK(sgs_key_weakness(k->pkey, SGS_MIN_SECURITY_BITS_DEFAULT, why, sizeof(why)) == NULL);
}

static void
public_keys(const uint8_t *data, size_t size)
{
    sgs_keyset ks;
    char err[1024] = "";
    sgs_keyset_init(&ks, NULL);
    const sgs_status st = sgs_keyset_add_buffer(&ks, data, size, err, sizeof(err));
    if (st != SGS_OK) {
        FUZZ_CHECK(ks.count == 0 && err[0] != '\0');
    } else {
        FUZZ_CHECK(ks.count > 0);
        for (size_t i = 0; i < ks.count; i++) {
            check_key(&ks.keys[i]);
            for (size_t j = 0; j < i; j++) /* a set: each key once */
                FUZZ_CHECK(memcmp(ks.keys[i].fp, ks.keys[j].fp, 32) != 0);
        }
        /* the same bytes again add nothing */
        const size_t n = ks.count;
        FUZZ_CHECK(sgs_keyset_add_buffer(&ks, data, size, err, sizeof(err)) == SGS_OK);
        FUZZ_CHECK(ks.count == n);
        sgs_keyset_finalize(&ks);
    }
    sgs_keyset_reset(&ks);
}

static sgs_status
take_object(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    (void)path;
    (void)err;
    (void)errlen;
    FUZZ_CHECK((x != NULL) != (crl != NULL));
    ++*(size_t *)opaque;
    X509_free(x);
    X509_CRL_free(crl);
    return SGS_OK;
}

static void
pki(const uint8_t *data, size_t size)
{
    size_t n = 0;
    char err[1024] = "";
    const sgs_status st = sgs_pki_parse(data, size, "fuzz", take_object, &n, err, sizeof(err));
    FUZZ_CHECK(st == SGS_OK ? n > 0 : err[0] != '\0');
}

static void
private_key(const uint8_t *data, size_t size)
{
    EVP_PKEY *k = NULL;
    char err[1024] = "";
    const sgs_status st = sgs_private_key_parse(data, size, &k, err, sizeof(err));
    FUZZ_CHECK(st == SGS_OK ? k != NULL : k == NULL && err[0] != '\0');
    EVP_PKEY_free(k);
}

/* OpenSSL's own answer: does key k verify sig over the message (Ed25519) or its SHA-256? */
static int
oracle(const sgs_key *k, int pss, const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *const c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    const int ed = k->type == SGS_KEY_ED25519;
    int ok = c != NULL && EVP_DigestVerifyInit(c, &pc, ed ? NULL : EVP_sha256(), NULL,
                                               k->pkey) == 1;
    if (ok && pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_AUTO) == 1;
    ok = ok && EVP_DigestVerify(c, sig, siglen, (const uint8_t *)fuzz_message,
                                sizeof(fuzz_message) - 1) == 1;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return ok;
}

static void
raw_signature(const uint8_t *sig, size_t siglen)
{
    static sgs_keyset ks;
    static int ready;
    if (!ready) {
        char err[256];
        const char *const pems[] = {fuzz_rsa_pub, fuzz_ec_pub, fuzz_ed_pub};
        sgs_keyset_init(&ks, NULL);
        for (size_t i = 0; i < 3; i++)
            FUZZ_CHECK(sgs_keyset_add_buffer(&ks, (const uint8_t *)pems[i], strlen(pems[i]), err,
                                             sizeof(err)) == SGS_OK);
        sgs_keyset_finalize(&ks);
        FUZZ_CHECK(ks.count == 3);
        ready = 1;
    }
    uint8_t md[32];
    SHA256((const uint8_t *)fuzz_message, sizeof(fuzz_message) - 1, md);
    size_t last = 0;
    int need_whole = 0;
    const size_t cand = sgs_detached_candidates(&ks, sig, siglen, &last, &need_whole);
    FUZZ_CHECK(cand <= ks.count && (cand == 0 || last < ks.count));
    for (int pss = 0; pss <= 1; pss++) {
        sgs_detached d = {sig, siglen, (const uint8_t *)fuzz_message, sizeof(fuzz_message) - 1,
                          md, sizeof(md), {NULL, 0, NULL, 0}, NULL};
        sgs_sig_params_init(&d.params, EVP_sha256(), pss);
        uint64_t tried = 0;
        const long k = sgs_detached_verify(&ks, &d, &tried);
        FUZZ_CHECK(k < (long)ks.count && tried <= ks.count);
        if (k >= 0) {
            FUZZ_CHECK(cand > 0 && sgs_key_fits(&ks.keys[k], siglen, sgs_sig_is_ecdsa_der(sig,
                                                                                     siglen)));
            FUZZ_CHECK(oracle(&ks.keys[k], pss && ks.keys[k].type == SGS_KEY_RSA, sig, siglen));
        } else {
            char hint[256];
            (void)sgs_detached_hint(&ks, &d, &tried, hint, sizeof(hint));
            FUZZ_CHECK(strlen(hint) < sizeof(hint));
        }
    }
    FUZZ_CHECK(ERR_peek_error() == 0); /* the wrappers leave the thread's queue empty */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *const in = data + 1;
    const size_t n = size - 1;
    switch (data[0] & 3) {
    case 0:
        public_keys(in, n);
        break;
    case 1:
        pki(in, n);
        break;
    case 2:
        private_key(in, n);
        break;
    default:
        raw_signature(in, n);
        break;
    }
    ERR_clear_error();
    return 0;
}
