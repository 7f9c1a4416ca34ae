/*
 * cms_fuzz.c - libFuzzer target for detached CMS/PKCS#7 signatures, the way the CMS judge
 * (judge_cms.c) reads them: sgs_cms_detect, sgs_cms_prepare (with and without the run's
 * certificate-set cache), the fixed message fed to every digest context, sgs_cms_verify.
 * Invariants: a failure has a verdict other than VALID and a reason; with an empty trust store
 * nothing is VALID; with the harness's CA as the only anchor (fuzz_material.h), a VALID
 * signature must also pass OpenSSL's own CMS_verify of the same bytes over the same message
 * with the same anchor, so garbage is never VALID.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.cms_corpus).
 */
#include "cms.h"

#include "fuzz_check.h"
#include "fuzz_file.h"
#include "fuzz_material.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const sgs_allocator plain_alloc = {NULL, NULL, NULL};

/* OpenSSL's verdict on the same signature: CMS_verify, detached, binary, the CA as the only
   anchor, any purpose (sigsweep's checks are the stricter ones). */
static int
oracle(const uint8_t *data, size_t size)
{
    static X509_STORE *store;
    if (store == NULL) {
        BIO *const b = BIO_new_mem_buf(fuzz_ca_crt, -1);
        X509 *const x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        store = X509_STORE_new();
        FUZZ_CHECK(x != NULL && store != NULL && X509_STORE_add_cert(store, x) == 1 &&
                   X509_STORE_set_purpose(store, X509_PURPOSE_ANY) == 1);
        X509_free(x);
        BIO_free(b);
    }
    BIO *const in = BIO_new_mem_buf(data, (int)size);
    /* the content from a file, not a memory BIO: OpenSSL 3.0's CMS_verify copies a memory BIO
       and leaks the copy when it fails (an unknown digest algorithm) */
    static char content_path[512];
    if (content_path[0] == '\0')
        fuzz_file("message", (const uint8_t *)fuzz_message, sizeof(fuzz_message) - 1,
                  content_path, sizeof(content_path));
    BIO *const content = BIO_new_file(content_path, "rb");
    CMS_ContentInfo *cms = in != NULL ? d2i_CMS_bio(in, NULL) : NULL;
    if (cms == NULL && in != NULL && BIO_reset(in) == 1)
        cms = PEM_read_bio_CMS(in, NULL, NULL, NULL);
    int ok = cms != NULL && content != NULL &&
             CMS_verify(cms, NULL, store, content, NULL, CMS_BINARY) == 1;
    /* CMS_verify sets up a digest for every entry of SignedData.digestAlgorithms, a field no
       signature covers, and fails on one it does not know; sigsweep hashes with the signers'
       own algorithms. Such a refusal is OpenSSL's, not a disagreement on the signature. */
    for (unsigned long e; !ok && (e = ERR_get_error()) != 0;)
        ok = ERR_GET_LIB(e) == ERR_LIB_CMS && ERR_GET_REASON(e) == CMS_R_UNKNOWN_DIGEST_ALGORITHM;
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    BIO_free(content);
    ERR_clear_error();
    return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sgs_trust empty, ca;
    static sgs_certset_cache *certsets;
    static int ready;
    if (!ready) {
        char err[512], path[512];
        sgs_trust_init(&empty, &plain_alloc);
        sgs_trust_init(&ca, &plain_alloc);
        FUZZ_CHECK(sgs_trust_add(&ca, SGS_MAT_TRUST,
                                 fuzz_file("ca.crt", (const uint8_t *)fuzz_ca_crt,
                                           strlen(fuzz_ca_crt), path, sizeof(path)),
                                 err, sizeof(err)) == SGS_OK);
        FUZZ_CHECK(sgs_trust_finalize(&empty, err, sizeof(err)) == SGS_OK);
        FUZZ_CHECK(sgs_trust_finalize(&ca, err, sizeof(err)) == SGS_OK);
        certsets = sgs_certset_cache_create(&plain_alloc);
        FUZZ_CHECK(certsets != NULL);
        ready = 1;
    }
    (void)sgs_cms_detect(data, size); /* F<suffix>: CMS or raw; F.p7s is always read as CMS */
    for (int pass = 0; pass < 2; pass++) {
        sgs_cms_job job;
        sgs_verdict v = SGS_V_VALID;
        char reason[1024] = "", alg[64] = "", signer[SGS_FP_HEX_LEN] = "";
        if (!sgs_cms_prepare(data, size, pass == 0 ? certsets : NULL, &job, &v, reason,
                             sizeof(reason))) {
            FUZZ_CHECK(v != SGS_V_VALID && v != SGS_V_UNJUDGED && reason[0] != '\0');
            ERR_clear_error();
            return 0;
        }
        FUZZ_CHECK(job.nctx >= 1 && job.nctx <= SGS_CMS_MAX_MDS);
        for (size_t i = 0; i < job.nctx; i++)
            FUZZ_CHECK(EVP_DigestUpdate(job.ctxs[i], fuzz_message, sizeof(fuzz_message) - 1) ==
                       1);
        sgs_trust *const t = pass == 0 ? &ca : &empty;
        v = SGS_V_UNJUDGED;
        sgs_cms_verify(&job, t, &v, reason, sizeof(reason), alg, sizeof(alg), signer);
        FUZZ_CHECK(v != SGS_V_UNJUDGED && (unsigned)v < SGS_VERDICT_COUNT && reason[0] != '\0');
        if (v == SGS_V_VALID) {
            FUZZ_CHECK(t == &ca && strlen(signer) == SGS_FP_HEX_LEN - 1 && alg[0] != '\0');
            FUZZ_CHECK(oracle(data, size));
        }
        sgs_cms_job_reset(&job);
    }
    ERR_clear_error();
    return 0;
}
