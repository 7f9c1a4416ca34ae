/*
 * cms_test.c - detached CMS SignedData made in-process with CMS_sign / CMS_add1_signer /
 * CMS_final (CMS_BINARY|CMS_DETACHED, with and without signed attributes; SHA-256/384/512;
 * RSA PKCS#1 v1.5, RSA-PSS, ECDSA P-256; DER, PEM "CMS" and PEM "PKCS7") over a PKI built with
 * the X509 API, then detected (sgs_cms_detect), prepared (sgs_cms_prepare), hashed through
 * job.ctxs and verified (sgs_cms_verify) against a trust store holding the root. Each accept
 * has its reject twins (STYLE 40): content with a byte flipped (first, middle, last), truncated
 * or with a byte appended; the signature value or the signed messageDigest with a byte flipped;
 * the signature truncated or with a trailing byte; the signer certificate absent, or an impostor
 * with the same issuer and serial but another key; two signers with one bad or untrusted.
 * Refusals: garbage, not SignedData, attached content, MD5/SHA-1 digests.
 */
#include "cms.h"

#include "digest.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <time.h>

#define DAY (24L * 3600L)
#define REASON_MAX 2048
#define ALG_MAX 64

/* The engine promises an empty error queue after every call. */
#define CHECK_QUEUE_EMPTY() CHECK_EQ_INT(ERR_peek_error(), 0)

#define CHECK_HAS(reason, sub) \
    do { \
        sgs_test_checks++; \
        if (strstr((reason), (sub)) == NULL) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: reason contains \"%s\"\n  reason: %s\n", \
                    __FILE__, __LINE__, (sub), (reason)); \
        } \
    } while (0)

/* Checks a verdict; on a mismatch prints the case and the reason. */
#define CHECK_VERDICT(v, want, what, reason) \
    do { \
        const sgs_verdict v_ = (v); \
        CHECK_EQ_INT(v_, (want)); \
        if (v_ != (want)) \
            fprintf(stderr, "  case: %s\n  reason: %s\n", (what), (reason)); \
    } while (0)

static sgs_test_rng rng;
static char dir[512];
static time_t now;

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static buf
buf_copy(const void *p, size_t n)
{
    buf b = {malloc(n + 1), n};
    REQUIRE(b.p != NULL);
    if (n > 0)
        memcpy(b.p, p, n);
    return b;
}

/* ---- PKI ------------------------------------------------------------------------------------ */

static EVP_PKEY *k_root, *k_int, *k_ec, *k_rsa, *k_other, *k_imp;
static X509 *root, *inter, *leaf_ec, *leaf_rsa, *other_root, *leaf_other, *impostor,
    *leaf_expired;
static char fp_ec[SGS_FP_HEX_LEN], fp_rsa[SGS_FP_HEX_LEN];

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *const ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    REQUIRE(ext != NULL);
    REQUIRE(X509_add_ext(x, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, long serial,
          long nb, long na, int ca)
{
    X509 *const x = X509_new();
    REQUIRE(x != NULL);
    REQUIRE(X509_set_version(x, 2) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1);
    REQUIRE(ASN1_TIME_set(X509_getm_notBefore(x), now + nb) != NULL);
    REQUIRE(ASN1_TIME_set(X509_getm_notAfter(x), now + na) != NULL);
    X509_NAME *const name = X509_NAME_new();
    REQUIRE(name != NULL);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                       (const unsigned char *)"Sigsweep Test", -1, -1, 0) == 1);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                       -1, -1, 0) == 1);
    REQUIRE(X509_set_subject_name(x, name) == 1);
    REQUIRE(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1);
    X509_NAME_free(name);
    REQUIRE(X509_set_pubkey(x, key) == 1);
    X509 *const iss = issuer ? issuer : x;
    add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, iss, NID_key_usage,
            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (!ca)
        add_ext(x, iss, NID_ext_key_usage, "codeSigning");
    add_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer != NULL)
        add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    REQUIRE(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

/* SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex. */
static void
spki_fp(EVP_PKEY *k, char *hex)
{
    unsigned char *der = NULL;
    const int n = i2d_PUBKEY(k, &der);
    REQUIRE(n > 0);
    uint8_t md[32];
    REQUIRE(EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) == 1);
    OPENSSL_free(der);
    sgs_hex(md, sizeof(md), hex);
}

static void
build_pki(void)
{
    k_root = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_int = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k_imp = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    REQUIRE(k_root && k_int && k_ec && k_rsa && k_other && k_imp);
    root = make_cert("CMS Root", k_root, NULL, NULL, 1, -30 * DAY, 3650 * DAY, 1);
    inter = make_cert("CMS Intermediate", k_int, root, k_root, 2, -30 * DAY, 3650 * DAY, 1);
    leaf_ec = make_cert("CMS Signer EC", k_ec, inter, k_int, 10, -DAY, 365 * DAY, 0);
    leaf_rsa = make_cert("CMS Signer RSA", k_rsa, inter, k_int, 11, -DAY, 365 * DAY, 0);
    leaf_expired = make_cert("CMS Signer Expired", k_ec, inter, k_int, 12, -20 * DAY,
                             -10 * DAY, 0);
    /* the same issuer and serial as leaf_ec, another key: CMS names its signer by these */
    impostor = make_cert("CMS Signer EC", k_imp, inter, k_int, 10, -DAY, 365 * DAY, 0);
    other_root = make_cert("Other CMS Root", k_other, NULL, NULL, 3, -30 * DAY, 3650 * DAY, 1);
    leaf_other = make_cert("Other Signer", k_imp, other_root, k_other, 13, -DAY, 365 * DAY, 0);
    spki_fp(k_ec, fp_ec);
    spki_fp(k_rsa, fp_rsa);
}

static const char *
write_pem(const char *name, X509 *a, X509 *b, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, name);
    BIO *const bio = BIO_new(BIO_s_mem());
    REQUIRE(bio != NULL && PEM_write_bio_X509(bio, a) == 1);
    if (b != NULL)
        REQUIRE(PEM_write_bio_X509(bio, b) == 1);
    char *data = NULL;
    const long len = BIO_get_mem_data(bio, &data);
    REQUIRE(len > 0);
    sgs_test_write(path, data, (size_t)len);
    BIO_free(bio);
    return path;
}

/* trust: the root; trust_untr: the root, with signer and intermediate as --untrusted;
   trust_imp: the root, with the impostor and the intermediate as --untrusted */
static sgs_trust trust, trust_untr, trust_imp;

static void
trust_setup(sgs_trust *t, const char *root_path, const char *untrusted_path)
{
    char err[512];
    sgs_trust_init(t, NULL);
    REQUIRE(sgs_trust_add(t, SGS_MAT_TRUST, root_path, err, sizeof(err)) == SGS_OK);
    if (untrusted_path != NULL)
        REQUIRE(sgs_trust_add(t, SGS_MAT_UNTRUSTED, untrusted_path, err, sizeof(err)) == SGS_OK);
    REQUIRE(sgs_trust_finalize(t, err, sizeof(err)) == SGS_OK);
}

/* ---- signing ---------------------------------------------------------------------------------- */

typedef struct signer {
    X509 *cert;
    EVP_PKEY *key;
    const EVP_MD *md;
    int pss;
} signer;

typedef struct sign_opts {
    signer s[2];
    int nsigners;
    int noattr, attached, nocerts, keyid;
} sign_opts;

static CMS_ContentInfo *
cms_make(const uint8_t *content, size_t len, const sign_opts *o)
{
    unsigned int flags = CMS_BINARY | CMS_PARTIAL;
    if (!o->attached)
        flags |= CMS_DETACHED;
    if (o->noattr)
        flags |= CMS_NOATTR;
    if (o->nocerts)
        flags |= CMS_NOCERTS;
    if (o->keyid)
        flags |= CMS_USE_KEYID;
    STACK_OF(X509) *const certs = sk_X509_new_null();
    REQUIRE(certs != NULL);
    if (!o->nocerts)
        REQUIRE(sk_X509_push(certs, inter) > 0);
    CMS_ContentInfo *const cms = CMS_sign(NULL, NULL, certs, NULL, flags);
    REQUIRE(cms != NULL);
    sk_X509_free(certs);
    for (int i = 0; i < o->nsigners; i++) {
        const signer *const s = &o->s[i];
        CMS_SignerInfo *const si =
            CMS_add1_signer(cms, s->cert, s->key, s->md, flags | (s->pss ? CMS_KEY_PARAM : 0));
        REQUIRE(si != NULL);
        if (s->pss) {
            EVP_PKEY_CTX *const pctx = CMS_SignerInfo_get0_pkey_ctx(si);
            REQUIRE(pctx != NULL);
            REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
        }
    }
    BIO *const in = BIO_new_mem_buf(len > 0 ? content : (const uint8_t *)"", (int)len);
    REQUIRE(in != NULL);
    REQUIRE(CMS_final(cms, in, NULL, flags & ~(unsigned int)CMS_PARTIAL) == 1);
    BIO_free(in);
    return cms;
}

static buf
der_of(CMS_ContentInfo *cms)
{
    unsigned char *der = NULL;
    const int n = i2d_CMS_ContentInfo(cms, &der);
    REQUIRE(n > 0);
    const buf b = buf_copy(der, (size_t)n);
    OPENSSL_free(der);
    return b;
}

static buf
cms_sign_der(const uint8_t *content, size_t len, const sign_opts *o)
{
    CMS_ContentInfo *const cms = cms_make(content, len, o);
    const buf b = der_of(cms);
    CMS_ContentInfo_free(cms);
    return b;
}

/* PEM with the given label ("CMS" or "PKCS7") around the DER. */
static buf
pem_of(const buf *der, const char *label)
{
    BIO *const bio = BIO_new(BIO_s_mem());
    REQUIRE(bio != NULL);
    REQUIRE(PEM_write_bio(bio, label, "", der->p, (long)der->n) > 0);
    char *data = NULL;
    const long n = BIO_get_mem_data(bio, &data);
    REQUIRE(n > 0);
    const buf b = buf_copy(data, (size_t)n);
    BIO_free(bio);
    return b;
}

/* Offset in der of signer i's signature value (the OCTET STRING contents). */
static size_t
sig_value_at(const buf *der, int i, size_t *len)
{
    const unsigned char *p = der->p;
    CMS_ContentInfo *const cms = d2i_CMS_ContentInfo(NULL, &p, (long)der->n);
    REQUIRE(cms != NULL);
    CMS_SignerInfo *const si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), i);
    REQUIRE(si != NULL);
    const ASN1_OCTET_STRING *const sig = CMS_SignerInfo_get0_signature(si);
    REQUIRE(sig != NULL && ASN1_STRING_length(sig) > 8);
    const size_t n = (size_t)ASN1_STRING_length(sig);
    const uint8_t *const hit = memmem(der->p, der->n, ASN1_STRING_get0_data(sig), n);
    REQUIRE(hit != NULL);
    CMS_ContentInfo_free(cms);
    *len = n;
    return (size_t)(hit - der->p);
}

/* ---- verifying ------------------------------------------------------------------------------ */

typedef struct outcome {
    sgs_verdict v;
    char reason[REASON_MAX];
    char alg[ALG_MAX];
    char signer[SGS_FP_HEX_LEN];
    size_t nctx;
} outcome;

/* The engine's certificate-set cache, shared by every run like the engine shares it. */
static sgs_certset_cache *certsets;
static sgs_test_alloc counting;
static sgs_allocator alloc;

/* prepare (with or without the certificate-set cache), feed the content to every context in
   two pieces split at `split`, verify. */
static void
run_mode(const uint8_t *sig, size_t siglen, const uint8_t *content, size_t len, sgs_trust *t,
         sgs_certset_cache *cs, size_t split, outcome *o)
{
    sgs_cms_job job;
    memset(o, 0, sizeof(*o));
    o->v = SGS_V_SKIPPED;
    if (!sgs_cms_prepare(sig, siglen, cs, &job, &o->v, o->reason, sizeof(o->reason))) {
        CHECK_QUEUE_EMPTY();
        CHECK(job.cms == NULL && job.chain == NULL && job.nctx == 0 && job.certs == NULL);
        return;
    }
    CHECK_QUEUE_EMPTY();
    o->nctx = job.nctx;
    for (size_t k = 0; k < job.nctx; k++) {
        REQUIRE(EVP_DigestUpdate(job.ctxs[k], content, split) == 1);
        REQUIRE(EVP_DigestUpdate(job.ctxs[k], content + split, len - split) == 1);
    }
    o->v = SGS_V_SKIPPED;
    sgs_cms_verify(&job, t, &o->v, o->reason, sizeof(o->reason), o->alg, sizeof(o->alg),
                   o->signer);
    CHECK_QUEUE_EMPTY();
    sgs_cms_job_reset(&job);
}

/* Runs a case without and with the certificate-set cache: a hit or a miss there must not
   change anything (STYLE 44). Returns the verdict. */
static sgs_verdict
run(const uint8_t *sig, size_t siglen, const uint8_t *content, size_t len, sgs_trust *t,
    outcome *o)
{
    const size_t split = len > 0 ? (size_t)(sgs_test_rand(&rng) % (len + 1)) : 0;
    static outcome cached;
    run_mode(sig, siglen, content, len, t, NULL, split, o);
    run_mode(sig, siglen, content, len, t, certsets, split, &cached);
    const int same = o->v == cached.v && strcmp(o->reason, cached.reason) == 0 &&
                     strcmp(o->alg, cached.alg) == 0 && strcmp(o->signer, cached.signer) == 0 &&
                     o->nctx == cached.nctx;
    CHECK(same);
    if (!same)
        fprintf(stderr, "  without the certificate-set cache: %d %s\n"
                        "  with it:                           %d %s\n",
                (int)o->v, o->reason, (int)cached.v, cached.reason);
    return o->v;
}

static sgs_verdict
run_buf(const buf *sig, const uint8_t *content, size_t len, sgs_trust *t, outcome *o)
{
    return run(sig->p, sig->n, content, len, t, o);
}

/*
 * One accepted signature and its reject twins: the content with a byte flipped (first,
 * middle, last), truncated, with a byte appended; the signature value with a byte flipped
 * (first, middle, last and a few seeded positions); the DER truncated and with a trailing byte.
 */
static void
accept_with_twins(const char *what, const buf *der, const uint8_t *content, size_t len,
                  const char *want_alg, const char *want_fp)
{
    outcome o;
    char label[200];
    CHECK(sgs_cms_detect(der->p, der->n));
    CHECK_VERDICT(run_buf(der, content, len, &trust, &o), SGS_V_VALID, what, o.reason);
    CHECK(strncmp(o.alg, "cms-", 4) == 0);
    if (want_alg != NULL)
        CHECK_EQ_STR(o.alg, want_alg);
    CHECK_EQ_STR(o.signer, want_fp);
    CHECK_HAS(o.reason, "signed by \"CN=");
    CHECK_HAS(o.reason, "chain to \"CN=CMS Root,O=Sigsweep Test\"");

    /* the content */
    uint8_t *const c = malloc(len + 2);
    REQUIRE(c != NULL);
    if (len > 0) {
        const size_t at[3] = {0, len / 2, len - 1};
        for (int i = 0; i < 3; i++) {
            memcpy(c, content, len);
            c[at[i]] ^= (uint8_t)(1u << (sgs_test_rand(&rng) % 8));
            snprintf(label, sizeof(label), "%s: content byte %zu flipped", what, at[i]);
            CHECK_VERDICT(run_buf(der, c, len, &trust, &o), SGS_V_BAD_SIGNATURE, label,
                          o.reason);
        }
        snprintf(label, sizeof(label), "%s: content truncated", what);
        CHECK_VERDICT(run_buf(der, content, len - 1, &trust, &o), SGS_V_BAD_SIGNATURE, label,
                      o.reason);
        snprintf(label, sizeof(label), "%s: content empty", what);
        CHECK_VERDICT(run_buf(der, content, 0, &trust, &o), SGS_V_BAD_SIGNATURE, label,
                      o.reason);
    }
    if (len > 0)
        memcpy(c, content, len);
    c[len] = (uint8_t)sgs_test_rand(&rng);
    snprintf(label, sizeof(label), "%s: content + 1 byte", what);
    CHECK_VERDICT(run_buf(der, c, len + 1, &trust, &o), SGS_V_BAD_SIGNATURE, label, o.reason);
    free(c);

    /* the signature value: inside an OCTET STRING, so the structure still parses and the
       verdict is BAD_SIGNATURE (also for ECDSA, where the value is itself DER) */
    size_t slen = 0;
    const size_t soff = sig_value_at(der, 0, &slen);
    buf s = buf_copy(der->p, der->n);
    size_t at[6] = {0, slen / 2, slen - 1, 0, 0, 0};
    for (int i = 3; i < 6; i++)
        at[i] = (size_t)(sgs_test_rand(&rng) % slen);
    for (int i = 0; i < 6; i++) {
        memcpy(s.p, der->p, der->n);
        s.p[soff + at[i]] ^= (uint8_t)(1u + sgs_test_rand(&rng) % 255);
        snprintf(label, sizeof(label), "%s: signature value byte %zu of %zu flipped", what,
                 at[i], slen);
        CHECK_VERDICT(run_buf(&s, content, len, &trust, &o), SGS_V_BAD_SIGNATURE, label,
                      o.reason);
    }
    /* the encoding: truncated or with a trailing byte is MALFORMED */
    snprintf(label, sizeof(label), "%s: signature truncated", what);
    CHECK_VERDICT(run(der->p, der->n - 1, content, len, &trust, &o), SGS_V_MALFORMED, label,
                  o.reason);
    free(s.p);
    s = buf_copy(der->p, der->n + 1);
    s.p[der->n] = 0;
    snprintf(label, sizeof(label), "%s: signature + 1 byte", what);
    CHECK_VERDICT(run_buf(&s, content, len, &trust, &o), SGS_V_MALFORMED, label, o.reason);
    CHECK_HAS(o.reason, "after its end");
    free(s.p);
}

/* ---- tests -------------------------------------------------------------------------------- */

static uint8_t *content;
static size_t content_len;

static void
test_accept_matrix(void)
{
    static const struct {
        const char *name;
        int rsa, pss, noattr, keyid;
        const char *md;
        const char *alg;
    } cases[] = {
        {"ecdsa-sha256", 0, 0, 0, 0, "SHA256", "cms-ecdsa-p256-sha256"},
        {"ecdsa-sha384", 0, 0, 0, 0, "SHA384", "cms-ecdsa-p256-sha384"},
        {"ecdsa-sha512", 0, 0, 0, 0, "SHA512", "cms-ecdsa-p256-sha512"},
        {"ecdsa-sha256-noattr", 0, 0, 1, 0, "SHA256", "cms-ecdsa-p256-sha256"},
        {"ecdsa-sha512-noattr", 0, 0, 1, 0, "SHA512", "cms-ecdsa-p256-sha512"},
        {"rsa-sha256", 1, 0, 0, 0, "SHA256", "cms-rsa2048-pkcs1-sha256"},
        {"rsa-sha384", 1, 0, 0, 0, "SHA384", "cms-rsa2048-pkcs1-sha384"},
        {"rsa-sha512", 1, 0, 0, 0, "SHA512", "cms-rsa2048-pkcs1-sha512"},
        {"rsa-sha256-noattr", 1, 0, 1, 0, "SHA256", "cms-rsa2048-pkcs1-sha256"},
        {"rsa-sha384-noattr", 1, 0, 1, 0, "SHA384", "cms-rsa2048-pkcs1-sha384"},
        {"rsa-pss-sha256", 1, 1, 0, 0, "SHA256", "cms-rsa2048-pss-sha256"},
        {"rsa-pss-sha512", 1, 1, 0, 0, "SHA512", "cms-rsa2048-pss-sha512"},
        /* the signer named by subject key identifier instead of issuer and serial */
        {"ecdsa-sha256-keyid", 0, 0, 0, 1, "SHA256", "cms-ecdsa-p256-sha256"},
        {"rsa-sha256-keyid-noattr", 1, 0, 1, 1, "SHA256", "cms-rsa2048-pkcs1-sha256"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const sign_opts o = {.s = {{cases[i].rsa ? leaf_rsa : leaf_ec,
                                    cases[i].rsa ? k_rsa : k_ec, EVP_get_digestbyname(cases[i].md),
                                    cases[i].pss}},
                             .nsigners = 1,
                             .noattr = cases[i].noattr,
                             .keyid = cases[i].keyid};
        REQUIRE(o.s[0].md != NULL);
        CMS_ContentInfo *const cms = cms_make(content, content_len, &o);
        /* what was made is what the case says */
        CMS_SignerInfo *const si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
        X509_ALGOR *sigalg = NULL;
        CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &sigalg);
        const ASN1_OBJECT *obj = NULL;
        X509_ALGOR_get0(&obj, NULL, NULL, sigalg);
        REQUIRE((OBJ_obj2nid(obj) == NID_rsassaPss) == (cases[i].pss != 0));
        REQUIRE((CMS_signed_get_attr_count(si) > 0) == !cases[i].noattr);
        const buf der = der_of(cms);
        CMS_ContentInfo_free(cms);
        accept_with_twins(cases[i].name, &der, content, content_len, cases[i].alg,
                          cases[i].rsa ? fp_rsa : fp_ec);

        /* the same signature as PEM, labelled "CMS" and "PKCS7" */
        const char *const labels[2] = {"CMS", "PKCS7"};
        for (int l = 0; l < 2; l++) {
            const buf pem = pem_of(&der, labels[l]);
            outcome out;
            char what[120];
            snprintf(what, sizeof(what), "%s as PEM %s", cases[i].name, labels[l]);
            CHECK(sgs_cms_detect(pem.p, pem.n));
            CHECK_VERDICT(run_buf(&pem, content, content_len, &trust, &out), SGS_V_VALID, what,
                          out.reason);
            CHECK_EQ_STR(out.alg, cases[i].alg);
            free(pem.p);
        }
        free(der.p);
    }

    /* empty content */
    const sign_opts o = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}}, .nsigners = 1};
    const buf der = cms_sign_der((const uint8_t *)"", 0, &o);
    accept_with_twins("empty content", &der, (const uint8_t *)"", 0, "cms-ecdsa-p256-sha256",
                      fp_ec);
    free(der.p);
}

static void
test_detect(void)
{
    const sign_opts o = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}}, .nsigners = 1};
    const buf der = cms_sign_der(content, content_len, &o);
    CHECK(sgs_cms_detect(der.p, der.n));
    buf pem = pem_of(&der, "CMS");
    CHECK(sgs_cms_detect(pem.p, pem.n));
    free(pem.p);
    pem = pem_of(&der, "PKCS7");
    CHECK(sgs_cms_detect(pem.p, pem.n));
    free(pem.p);

    /* raw signatures are not CMS: RSA (PKCS#1 v1.5) and ECDSA (DER SEQUENCE of r, s) */
    EVP_PKEY *const keys[2] = {k_rsa, k_ec};
    for (int i = 0; i < 2; i++) {
        EVP_MD_CTX *const c = EVP_MD_CTX_new();
        REQUIRE(c != NULL);
        REQUIRE(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, keys[i]) == 1);
        uint8_t sig[512];
        size_t slen = sizeof(sig);
        REQUIRE(EVP_DigestSign(c, sig, &slen, content, content_len) == 1);
        EVP_MD_CTX_free(c);
        CHECK(!sgs_cms_detect(sig, slen));
        if (i == 1)
            CHECK_EQ_INT(sig[0], 0x30);
    }
    /* a DER certificate, empty and tiny inputs, random bytes */
    unsigned char *cder = NULL;
    const int cn = i2d_X509(leaf_ec, &cder);
    REQUIRE(cn > 0);
    CHECK(!sgs_cms_detect(cder, (size_t)cn));
    OPENSSL_free(cder);
    CHECK(!sgs_cms_detect((const uint8_t *)"", 0));
    CHECK(!sgs_cms_detect(der.p, 15));
    uint8_t rnd[256];
    sgs_test_fill(&rng, rnd, sizeof(rnd));
    rnd[0] = 0x30;
    CHECK(!sgs_cms_detect(rnd, sizeof(rnd)));
    free(der.p);
}

static void
test_prepare_refusals(void)
{
    outcome o;
    uint8_t junk[300];
    sgs_test_fill(&rng, junk, sizeof(junk));
    junk[0] = 0x30;
    CHECK_VERDICT(run(junk, sizeof(junk), content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "garbage (DER-looking)", o.reason);
    junk[0] = 'x';
    CHECK_VERDICT(run(junk, sizeof(junk), content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "garbage", o.reason);
    const char *const bad_pem = "-----BEGIN CMS-----\nAAAA\n-----END CMS-----\n";
    CHECK_VERDICT(run((const uint8_t *)bad_pem, strlen(bad_pem), content, content_len, &trust,
                      &o),
                  SGS_V_MALFORMED, "bad PEM", o.reason);

    /* not SignedData: a CMS id-data ContentInfo */
    BIO *const in = BIO_new_mem_buf(content, (int)content_len);
    REQUIRE(in != NULL);
    CMS_ContentInfo *const data = CMS_data_create(in, CMS_BINARY);
    REQUIRE(data != NULL);
    BIO_free(in);
    buf b = der_of(data);
    CMS_ContentInfo_free(data);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "not SignedData", o.reason);
    CHECK_HAS(o.reason, "not SignedData");
    free(b.p);

    /* attached content */
    sign_opts so = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}}, .nsigners = 1, .attached = 1};
    b = cms_sign_der(content, content_len, &so);
    CHECK(sgs_cms_detect(b.p, b.n));
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_UNSUPPORTED, "attached",
                  o.reason);
    CHECK_HAS(o.reason, "detached");
    free(b.p);

    /* weak digests, with and without signed attributes; also as the second signer */
    const EVP_MD *const weak[2] = {EVP_md5(), EVP_sha1()};
    const char *const weak_name[2] = {"md5", "sha1"};
    for (int i = 0; i < 2; i++) {
        for (int noattr = 0; noattr < 2; noattr++) {
            so = (sign_opts){.s = {{leaf_rsa, k_rsa, weak[i], 0}}, .nsigners = 1,
                             .noattr = noattr};
            b = cms_sign_der(content, content_len, &so);
            char what[64];
            snprintf(what, sizeof(what), "%s%s", weak_name[i], noattr ? " noattr" : "");
            CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_UNSUPPORTED,
                          what, o.reason);
            CHECK_HAS(o.reason, "SHA-256/384/512");
            free(b.p);
        }
        so = (sign_opts){.s = {{leaf_ec, k_ec, EVP_sha256(), 0}, {leaf_rsa, k_rsa, weak[i], 0}},
                         .nsigners = 2};
        b = cms_sign_der(content, content_len, &so);
        CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_UNSUPPORTED,
                      weak_name[i], o.reason);
        CHECK_HAS(o.reason, "signer 2");
        free(b.p);
    }
}

static void
test_tampering(void)
{
    outcome o;
    const sign_opts so = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}}, .nsigners = 1};
    const buf der = cms_sign_der(content, content_len, &so);

    /* the signed messageDigest attribute (the content's SHA-256, stored in the signature) */
    uint8_t md[32];
    REQUIRE(EVP_Digest(content, content_len, md, NULL, EVP_sha256(), NULL) == 1);
    uint8_t *const hit = memmem(der.p, der.n, md, sizeof(md));
    REQUIRE(hit != NULL);
    buf s = buf_copy(der.p, der.n);
    s.p[(size_t)(hit - der.p) + 5] ^= 0x01;
    CHECK_VERDICT(run_buf(&s, content, content_len, &trust, &o), SGS_V_BAD_SIGNATURE,
                  "messageDigest flipped", o.reason);
    CHECK_HAS(o.reason, "signed attributes");
    /* the embedded intermediate certificate: its signature (last byte) or its tag */
    unsigned char *ider = NULL;
    const int ilen = i2d_X509(inter, &ider);
    REQUIRE(ilen > 0);
    uint8_t *const ihit = memmem(der.p, der.n, ider, (size_t)ilen);
    REQUIRE(ihit != NULL);
    const size_t ioff = (size_t)(ihit - der.p);
    OPENSSL_free(ider);
    memcpy(s.p, der.p, der.n);
    s.p[ioff + (size_t)ilen - 1] ^= 0x01;
    CHECK_VERDICT(run_buf(&s, content, content_len, &trust, &o), SGS_V_UNTRUSTED,
                  "intermediate's signature flipped", o.reason);
    CHECK_HAS(o.reason, "CMS Intermediate");
    memcpy(s.p, der.p, der.n);
    s.p[ioff] ^= 0x01;
    CHECK_VERDICT(run_buf(&s, content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "intermediate's tag flipped", o.reason);
    /* and the untouched signature once more, after the cache has seen the damaged sets */
    CHECK_VERDICT(run_buf(&der, content, content_len, &trust, &o), SGS_V_VALID,
                  "untouched after damaged", o.reason);
    /* the outer SEQUENCE tag: no longer DER of a ContentInfo */
    memcpy(s.p, der.p, der.n);
    s.p[0] ^= 0x01;
    CHECK_VERDICT(run_buf(&s, content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "outer tag flipped", o.reason);
    free(s.p);
    free(der.p);
}

static void
test_signer_certificates(void)
{
    outcome o;
    /* no certificates in the signature and none given: the signer cannot be found */
    sign_opts so = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}}, .nsigners = 1, .nocerts = 1};
    buf b = cms_sign_der(content, content_len, &so);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_UNTRUSTED, "nocerts",
                  o.reason);
    CHECK_HAS(o.reason, "--untrusted");
    /* the same with signer and intermediate given as --untrusted */
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust_untr, &o), SGS_V_VALID,
                  "nocerts + untrusted", o.reason);
    CHECK_EQ_STR(o.signer, fp_ec);
    /* an impostor with the signer's issuer and serial but another key (wrong key) */
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust_imp, &o), SGS_V_BAD_SIGNATURE,
                  "impostor certificate", o.reason);
    free(b.p);

    /* an expired signer: the chain verdict is passed on */
    so = (sign_opts){.s = {{leaf_expired, k_ec, EVP_sha256(), 0}}, .nsigners = 1};
    b = cms_sign_der(content, content_len, &so);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_EXPIRED, "expired",
                  o.reason);
    CHECK_HAS(o.reason, "CMS Signer Expired");
    free(b.p);

    /* a signer from a CA that is not trusted */
    so = (sign_opts){.s = {{leaf_other, k_imp, EVP_sha256(), 0}}, .nsigners = 1};
    b = cms_sign_der(content, content_len, &so);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_UNTRUSTED, "other CA",
                  o.reason);
    CHECK_HAS(o.reason, "Other CMS Root");
    free(b.p);
}

static void
test_two_signers(void)
{
    outcome o;
    /* both good, two digest algorithms */
    sign_opts so = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}, {leaf_rsa, k_rsa, EVP_sha384(), 0}},
                    .nsigners = 2};
    buf b = cms_sign_der(content, content_len, &so);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_VALID, "two signers",
                  o.reason);
    CHECK_EQ_INT(o.nctx, 2);
    CHECK_HAS(o.reason, "all 2 signers");
    CHECK_EQ_STR(o.alg, "cms-ecdsa-p256-sha256");
    CHECK_EQ_STR(o.signer, fp_ec);
    /* either signature value damaged: not VALID */
    for (int i = 0; i < 2; i++) {
        size_t slen = 0;
        const size_t off = sig_value_at(&b, i, &slen);
        buf s = buf_copy(b.p, b.n);
        s.p[off + slen / 2] ^= 0x40;
        char what[64];
        snprintf(what, sizeof(what), "signer %d of 2 damaged", i + 1);
        CHECK_VERDICT(run_buf(&s, content, content_len, &trust, &o), SGS_V_BAD_SIGNATURE, what,
                      o.reason);
        free(s.p);
    }
    /* the content changed: both fail, the first decides */
    uint8_t *const c = malloc(content_len);
    REQUIRE(c != NULL);
    memcpy(c, content, content_len);
    c[content_len / 3] ^= 0x80;
    CHECK_VERDICT(run_buf(&b, c, content_len, &trust, &o), SGS_V_BAD_SIGNATURE,
                  "two signers, content changed", o.reason);
    free(c);
    free(b.p);

    /* one digest algorithm shared by both: one context */
    so.s[1].md = EVP_sha256();
    b = cms_sign_der(content, content_len, &so);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_VALID,
                  "two signers, one digest", o.reason);
    CHECK_EQ_INT(o.nctx, 1);
    free(b.p);

    /* the second signer chains to an untrusted CA */
    so = (sign_opts){.s = {{leaf_ec, k_ec, EVP_sha256(), 0}, {leaf_other, k_imp, EVP_sha512(), 0}},
                     .nsigners = 2};
    b = cms_sign_der(content, content_len, &so);
    CHECK_VERDICT(run_buf(&b, content, content_len, &trust, &o), SGS_V_UNTRUSTED,
                  "second signer untrusted", o.reason);
    free(b.p);
}

/* Content of the TLV at *p (advances *p past its header); REQUIRE'd to be constructed. */
static size_t
tlv_enter(const unsigned char **p, size_t avail)
{
    long len = 0;
    int tag = 0, cls = 0;
    const int r = ASN1_get_object(p, &len, &tag, &cls, (long)avail);
    REQUIRE((r & 0x80) == 0 && (r & V_ASN1_CONSTRUCTED) != 0);
    return (size_t)len;
}

/*
 * The same signature with its three outer layers (ContentInfo SEQUENCE, [0] EXPLICIT,
 * SignedData SEQUENCE) in BER indefinite-length form, as streaming encoders write them.
 */
static buf
to_ber(const buf *der)
{
    const unsigned char *p = der->p;
    (void)tlv_enter(&p, der->n);
    const unsigned char *const oid = p;
    long olen = 0;
    int tag = 0, cls = 0;
    REQUIRE(ASN1_get_object(&p, &olen, &tag, &cls, (long)(der->n - (size_t)(p - der->p))) == 0);
    p += olen;
    const size_t oid_tlv = (size_t)(p - oid);
    (void)tlv_enter(&p, der->n - (size_t)(p - der->p));
    const size_t sd_len = tlv_enter(&p, der->n - (size_t)(p - der->p));
    REQUIRE(p + sd_len == der->p + der->n);
    buf b = {malloc(der->n + 12), 0};
    REQUIRE(b.p != NULL);
    static const uint8_t head[2] = {0x30, 0x80}, ctx0[2] = {0xa0, 0x80};
    memcpy(b.p + b.n, head, 2);
    b.n += 2;
    memcpy(b.p + b.n, oid, oid_tlv);
    b.n += oid_tlv;
    memcpy(b.p + b.n, ctx0, 2);
    b.n += 2;
    memcpy(b.p + b.n, head, 2);
    b.n += 2;
    memcpy(b.p + b.n, p, sd_len);
    b.n += sd_len;
    memset(b.p + b.n, 0, 6); /* three end-of-contents octet pairs */
    b.n += 6;
    return b;
}

/* BER (indefinite lengths) is valid CMS: it verifies like the DER it came from, with or without
   the certificate-set cache. */
static void
test_ber(void)
{
    outcome o;
    const sign_opts so = {.s = {{leaf_ec, k_ec, EVP_sha256(), 0}}, .nsigners = 1};
    const buf der = cms_sign_der(content, content_len, &so);
    buf ber = to_ber(&der);
    free(der.p);
    REQUIRE(ber.p[0] == 0x30 && ber.p[1] == 0x80);
    CHECK(sgs_cms_detect(ber.p, ber.n));
    CHECK_VERDICT(run_buf(&ber, content, content_len, &trust, &o), SGS_V_VALID, "BER", o.reason);
    CHECK_EQ_STR(o.signer, fp_ec);
    /* a trailing byte after the end-of-contents octets */
    uint8_t *const longer = realloc(ber.p, ber.n + 1);
    REQUIRE(longer != NULL);
    ber.p = longer;
    ber.p[ber.n] = 0;
    CHECK_VERDICT(run(ber.p, ber.n + 1, content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "BER + 1 byte", o.reason);
    /* one end-of-contents pair missing */
    CHECK_VERDICT(run(ber.p, ber.n - 2, content, content_len, &trust, &o), SGS_V_MALFORMED,
                  "BER truncated", o.reason);
    /* the content changed */
    content[0] ^= 0x01;
    CHECK_VERDICT(run_buf(&ber, content, content_len, &trust, &o), SGS_V_BAD_SIGNATURE,
                  "BER, content changed", o.reason);
    content[0] ^= 0x01;
    free(ber.p);
}

int
main(void)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0x636d7321u));
    now = time(NULL);
    sgs_test_alloc_init(&counting, 0, 0);
    alloc = sgs_test_allocator(&counting);
    certsets = sgs_certset_cache_create(&alloc);
    REQUIRE(certsets != NULL);
    sgs_test_tmpdir(dir, sizeof(dir), "cms");
    build_pki();
    char p_root[600], p_untr[600], p_imp[600];
    write_pem("root.pem", root, NULL, p_root, sizeof(p_root));
    write_pem("untrusted.pem", leaf_ec, inter, p_untr, sizeof(p_untr));
    write_pem("impostor.pem", impostor, inter, p_imp, sizeof(p_imp));
    trust_setup(&trust, p_root, NULL);
    trust_setup(&trust_untr, p_root, p_untr);
    trust_setup(&trust_imp, p_root, p_imp);

    content_len = 1 + (size_t)(sgs_test_rand(&rng) % 5000);
    content = malloc(content_len);
    REQUIRE(content != NULL);
    sgs_test_fill(&rng, content, content_len);

    test_detect();
    test_prepare_refusals();
    test_accept_matrix();
    test_tampering();
    test_signer_certificates();
    test_two_signers();
    test_ber();

    free(content);
    CHECK(atomic_load(&counting.calls) > 1); /* the cache did store certificate sets */
    sgs_certset_cache_free(certsets);
    CHECK_EQ_INT(atomic_load(&counting.live), 0);
    sgs_trust_reset(&trust);
    sgs_trust_reset(&trust_untr);
    sgs_trust_reset(&trust_imp);
    X509 *const certs[] = {root, inter, leaf_ec, leaf_rsa, other_root, leaf_other, impostor,
                           leaf_expired};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    EVP_PKEY *const keys[] = {k_root, k_int, k_ec, k_rsa, k_other, k_imp};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    sgs_test_rm_rf(dir);
    return sgs_test_done("cms_test");
}
