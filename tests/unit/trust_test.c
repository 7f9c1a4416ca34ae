/*
 * trust_test.c - chain validation and its diagnosis over a PKI built in-process with the
 * OpenSSL X509 API (EC P-256 keys; root, intermediate, leaves, namesakes, CRLs), written to a
 * temporary directory as PEM, DER, a two-certificate bundle and a hashed directory:
 * VALID leaf->intermediate->root; the missing intermediate named with DN, authority key id and
 * caIssuers URL; --search fixes (one and two steps) and candidates that do not close the chain;
 * a trusted namesake that cannot issue; EXPIRED / NOT_YET_VALID with ±1 s at_time boundaries;
 * REVOKED by a CRL and unaffected by another CA's CRL; the codeSigning EKU; X509_STRICT
 * (non-critical basicConstraints, missing subject key id); loading errors (not a certificate,
 * missing path, private keys, empty and hashed directories, CRL/cert mix-ups, truncated and
 * trailing-byte DER); the chain cache (hit equals miss, per signer and per extra certificates);
 * RFC 2253 DNs; failing every allocation in turn leaks nothing.
 */
#include "trust.h"

#include "digest.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <time.h>

#define DAY (24L * 3600L)
#define REASON_MAX 2048

/* The engine promises an empty error queue after every call. */
#define CHECK_QUEUE_EMPTY() CHECK_EQ_INT(ERR_peek_error(), 0)

/* Checks that the reason contains (or lacks) a substring, printing the reason if not. */
#define CHECK_HAS(reason, sub) \
    do { \
        sgs_test_checks++; \
        if (strstr((reason), (sub)) == NULL) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: reason contains \"%s\"\n  reason: %s\n", \
                    __FILE__, __LINE__, (sub), (reason)); \
        } \
    } while (0)
#define CHECK_LACKS(reason, sub) \
    do { \
        sgs_test_checks++; \
        if (strstr((reason), (sub)) != NULL) { \
            sgs_test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: reason lacks \"%s\"\n  reason: %s\n", \
                    __FILE__, __LINE__, (sub), (reason)); \
        } \
    } while (0)

static sgs_test_rng rng;
static char dir[512];
static time_t now;
static sgs_test_alloc counting;
static sgs_allocator alloc;

/* ---- building certificates ----------------------------------------------------------- */

typedef struct spec {
    const char *cn;     /* subject: CN=<cn>,O=Sigsweep Test */
    EVP_PKEY *key;      /* subject key */
    X509 *issuer;       /* NULL: self-signed */
    EVP_PKEY *issuer_key;
    long serial;
    long nb, na;        /* notBefore / notAfter as offsets from now (seconds) */
    int ca;             /* 0: CA:FALSE, 1: CA:TRUE, -1: no basicConstraints */
    int bc_noncritical; /* basicConstraints not marked critical */
    const char *ku;     /* keyUsage value (critical); NULL: none */
    const char *eku;    /* extendedKeyUsage value; NULL: none */
    int no_skid;
    const char *akid;   /* authorityKeyIdentifier value; NULL: "keyid:always"; "": none;
                           "computed": keyid = SHA-1 of the issuer key (issuer without SKID) */
    const char *aia;    /* caIssuers URI; NULL: none */
} spec;

static void
add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *const ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    REQUIRE(ext != NULL);
    REQUIRE(X509_add_ext(x, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

static X509_NAME *
make_name(const char *cn)
{
    X509_NAME *const n = X509_NAME_new();
    REQUIRE(n != NULL);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                       (const unsigned char *)"Sigsweep Test", -1, -1, 0) == 1);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                       -1, 0) == 1);
    return n;
}

/* The RFC 2253 form of make_name(cn). */
static const char *
dn_of(const char *cn, char *buf, size_t n)
{
    snprintf(buf, n, "CN=%s,O=Sigsweep Test", cn);
    return buf;
}

static X509 *
make_cert(const spec *s)
{
    X509 *const x = X509_new();
    REQUIRE(x != NULL);
    REQUIRE(X509_set_version(x, 2) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), s->serial) == 1);
    REQUIRE(ASN1_TIME_set(X509_getm_notBefore(x), now + s->nb) != NULL);
    REQUIRE(ASN1_TIME_set(X509_getm_notAfter(x), now + s->na) != NULL);
    X509_NAME *const name = make_name(s->cn);
    REQUIRE(X509_set_subject_name(x, name) == 1);
    REQUIRE(X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : name) == 1);
    X509_NAME_free(name);
    REQUIRE(X509_set_pubkey(x, s->key) == 1);

    if (s->ca >= 0) {
        BASIC_CONSTRAINTS *const bc = BASIC_CONSTRAINTS_new();
        REQUIRE(bc != NULL);
        bc->ca = s->ca ? 0xFF : 0;
        REQUIRE(X509_add1_ext_i2d(x, NID_basic_constraints, bc, s->bc_noncritical ? 0 : 1,
                                  X509V3_ADD_DEFAULT) == 1);
        BASIC_CONSTRAINTS_free(bc);
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, s->issuer ? s->issuer : x, x, NULL, NULL, 0);
    if (s->issuer == NULL)
        REQUIRE(X509V3_set_issuer_pkey(&ctx, s->key) == 1);
    if (s->ku != NULL) {
        char v[200];
        snprintf(v, sizeof(v), "critical,%s", s->ku);
        add_conf_ext(x, &ctx, NID_key_usage, v);
    }
    if (s->eku != NULL)
        add_conf_ext(x, &ctx, NID_ext_key_usage, s->eku);
    if (!s->no_skid)
        add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (s->akid != NULL && strcmp(s->akid, "computed") == 0) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        REQUIRE(X509_pubkey_digest(s->issuer, EVP_sha1(), md, &mdlen) == 1);
        AUTHORITY_KEYID *const ak = AUTHORITY_KEYID_new();
        REQUIRE(ak != NULL && (ak->keyid = ASN1_OCTET_STRING_new()) != NULL);
        REQUIRE(ASN1_OCTET_STRING_set(ak->keyid, md, (int)mdlen) == 1);
        REQUIRE(X509_add1_ext_i2d(x, NID_authority_key_identifier, ak, 0, X509V3_ADD_DEFAULT) ==
                1);
        AUTHORITY_KEYID_free(ak);
    } else if (s->akid == NULL)
        add_conf_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    else if (s->akid[0] != '\0')
        add_conf_ext(x, &ctx, NID_authority_key_identifier, s->akid);
    if (s->aia != NULL) {
        char v[300];
        snprintf(v, sizeof(v), "caIssuers;URI:%s", s->aia);
        add_conf_ext(x, &ctx, NID_info_access, v);
    }
    REQUIRE(X509_sign(x, s->issuer_key ? s->issuer_key : s->key, EVP_sha256()) > 0);
    return x;
}

static EVP_PKEY *
ec_key(void)
{
    EVP_PKEY *const k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    REQUIRE(k != NULL);
    return k;
}

static X509_CRL *
make_crl(X509 *issuer, EVP_PKEY *key, X509 *revoked)
{
    X509_CRL *const crl = X509_CRL_new();
    REQUIRE(crl != NULL);
    REQUIRE(X509_CRL_set_version(crl, 1) == 1);
    REQUIRE(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) == 1);
    ASN1_TIME *const last = ASN1_TIME_set(NULL, now - 3600);
    ASN1_TIME *const next = ASN1_TIME_set(NULL, now + 30 * DAY);
    REQUIRE(last != NULL && next != NULL);
    REQUIRE(X509_CRL_set1_lastUpdate(crl, last) == 1);
    REQUIRE(X509_CRL_set1_nextUpdate(crl, next) == 1);
    if (revoked != NULL) {
        X509_REVOKED *const r = X509_REVOKED_new();
        REQUIRE(r != NULL);
        REQUIRE(X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked)) == 1);
        REQUIRE(X509_REVOKED_set_revocationDate(r, last) == 1);
        REQUIRE(X509_CRL_add0_revoked(crl, r) == 1);
    }
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    X509_EXTENSION *const ext =
        X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    REQUIRE(ext != NULL);
    REQUIRE(X509_CRL_add_ext(crl, ext, -1) == 1);
    X509_EXTENSION_free(ext);
    REQUIRE(X509_CRL_sort(crl) == 1);
    REQUIRE(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    return crl;
}

/* ---- files ------------------------------------------------------------------------------ */

#define MAX_PATHS 48
static char paths[MAX_PATHS][600];
static int npaths;

static const char *
new_path(const char *name)
{
    REQUIRE(npaths < MAX_PATHS);
    char *const p = paths[npaths++];
    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static void
bio_to_file(BIO *b, const char *path)
{
    char *data = NULL;
    const long n = BIO_get_mem_data(b, &data);
    REQUIRE(n >= 0);
    sgs_test_write(path, data, (size_t)n);
    BIO_free(b);
}

static BIO *
mem(void)
{
    BIO *const b = BIO_new(BIO_s_mem());
    REQUIRE(b != NULL);
    return b;
}

/* PEM of one or two certificates. */
static const char *
write_pem(const char *name, X509 *a, X509 *b)
{
    const char *const p = new_path(name);
    BIO *const bio = mem();
    REQUIRE(PEM_write_bio_X509(bio, a) == 1);
    if (b != NULL)
        REQUIRE(PEM_write_bio_X509(bio, b) == 1);
    bio_to_file(bio, p);
    return p;
}

static const char *
write_der(const char *name, X509 *x)
{
    const char *const p = new_path(name);
    unsigned char *der = NULL;
    const int n = i2d_X509(x, &der);
    REQUIRE(n > 0);
    sgs_test_write(p, der, (size_t)n);
    OPENSSL_free(der);
    return p;
}

static const char *
write_crl(const char *name, X509_CRL *crl)
{
    const char *const p = new_path(name);
    BIO *const bio = mem();
    REQUIRE(PEM_write_bio_X509_CRL(bio, crl) == 1);
    bio_to_file(bio, p);
    return p;
}

/* ---- the PKI ------------------------------------------------------------------------------ */

static EVP_PKEY *k_root, *k_int, *k_leaf, *k_other, *k_namesake, *k_lax;
static X509 *root, *inter, *leaf, *leaf2, *leaf_noeku, *leaf_server, *leaf_noku, *leaf_expired,
    *leaf_future, *int_notca, *int_nocertsign, *namesake, *other_root, *int_laxbc, *leaf_laxbc,
    *int_noskid, *leaf_noskid, *int_expired, *leaf_of_expired, *leaf_forged;
static const char *p_root, *p_int, *p_int_der, *p_bundle, *p_other, *p_int_notca,
    *p_int_nocertsign, *p_namesake, *p_int_laxbc, *p_int_noskid, *p_int_expired, *p_crl_leaf,
    *p_crl_other, *p_crl_int, *p_key, *p_key_bundle, *p_garbage, *p_text, *p_der_trunc,
    *p_der_trailing, *p_pem_trunc, *p_pubkey_only, *p_pubkey_and_cert;
static char d_root[128], d_int[128], d_leaf[128], d_other[128];
static char akid_int_hex[129]; /* the leaf's authority key id = the intermediate's SKID */

#define URL_INT "http://pki.example/sigsweep/intermediate.crt"
#define URL_ROOT "http://pki.example/sigsweep/root.crt"
#define KU_CA "keyCertSign,cRLSign"
#define KU_LEAF "digitalSignature"
#define EKU_CODE "codeSigning"

static X509 *
leaf_spec(const char *cn, long serial, long nb, long na, const char *ku, const char *eku)
{
    const spec s = {.cn = cn, .key = k_leaf, .issuer = inter, .issuer_key = k_int,
                    .serial = serial, .nb = nb, .na = na, .ca = 0, .ku = ku, .eku = eku,
                    .aia = URL_INT};
    return make_cert(&s);
}

static void
build_pki(void)
{
    k_root = ec_key();
    k_int = ec_key();
    k_leaf = ec_key();
    k_other = ec_key();
    k_namesake = ec_key();
    k_lax = ec_key();
    dn_of("Test Root", d_root, sizeof(d_root));
    dn_of("Test Intermediate", d_int, sizeof(d_int));
    dn_of("Test Leaf", d_leaf, sizeof(d_leaf));
    dn_of("Other Root", d_other, sizeof(d_other));

    root = make_cert(&(spec){.cn = "Test Root", .key = k_root, .serial = 1, .nb = -30 * DAY,
                             .na = 3650 * DAY, .ca = 1, .ku = KU_CA});
    inter = make_cert(&(spec){.cn = "Test Intermediate", .key = k_int, .issuer = root,
                              .issuer_key = k_root, .serial = 2, .nb = -30 * DAY,
                              .na = 3650 * DAY, .ca = 1, .ku = KU_CA, .aia = URL_ROOT});
    leaf = leaf_spec("Test Leaf", 100, -DAY, 365 * DAY, KU_LEAF, EKU_CODE);
    leaf2 = leaf_spec("Test Leaf 2", 101, -DAY, 365 * DAY, KU_LEAF, EKU_CODE);
    leaf_noeku = leaf_spec("Leaf Without EKU", 102, -DAY, 365 * DAY, KU_LEAF, NULL);
    leaf_server = leaf_spec("Leaf serverAuth", 103, -DAY, 365 * DAY, KU_LEAF, "serverAuth");
    leaf_noku = leaf_spec("Leaf keyEncipherment", 104, -DAY, 365 * DAY, "keyEncipherment",
                          EKU_CODE);
    leaf_expired = leaf_spec("Expired Leaf", 105, -20 * DAY, -10 * DAY, KU_LEAF, EKU_CODE);
    leaf_future = leaf_spec("Future Leaf", 106, 10 * DAY, 20 * DAY, KU_LEAF, EKU_CODE);
    /* names the intermediate (DN and key id) as issuer, but signed by another key */
    leaf_forged = make_cert(&(spec){.cn = "Forged Leaf", .key = k_leaf, .issuer = inter,
                                    .issuer_key = k_other, .serial = 107, .nb = -DAY,
                                    .na = 365 * DAY, .ca = 0, .ku = KU_LEAF, .eku = EKU_CODE});

    /* namesakes of the intermediate: same key but not a CA / no keyCertSign; another key */
    int_notca = make_cert(&(spec){.cn = "Test Intermediate", .key = k_int, .issuer = root,
                                  .issuer_key = k_root, .serial = 3, .nb = -30 * DAY,
                                  .na = 3650 * DAY, .ca = 0});
    int_nocertsign = make_cert(&(spec){.cn = "Test Intermediate", .key = k_int, .issuer = root,
                                       .issuer_key = k_root, .serial = 4, .nb = -30 * DAY,
                                       .na = 3650 * DAY, .ca = 1, .ku = "digitalSignature"});
    namesake = make_cert(&(spec){.cn = "Test Intermediate", .key = k_namesake, .serial = 5,
                                 .nb = -30 * DAY, .na = 3650 * DAY, .ca = 1, .ku = KU_CA});
    other_root = make_cert(&(spec){.cn = "Other Root", .key = k_other, .serial = 6,
                                   .nb = -30 * DAY, .na = 3650 * DAY, .ca = 1, .ku = KU_CA});

    /* what X509_V_FLAG_X509_STRICT rejects: a CA whose basicConstraints is not critical, and
       a CA without a subject key identifier (its leaf names it by issuer and serial) */
    int_laxbc = make_cert(&(spec){.cn = "Lax BC Intermediate", .key = k_lax, .issuer = root,
                                  .issuer_key = k_root, .serial = 7, .nb = -30 * DAY,
                                  .na = 3650 * DAY, .ca = 1, .bc_noncritical = 1, .ku = KU_CA});
    leaf_laxbc = make_cert(&(spec){.cn = "Leaf Under Lax BC", .key = k_leaf, .issuer = int_laxbc,
                                   .issuer_key = k_lax, .serial = 200, .nb = -DAY,
                                   .na = 365 * DAY, .ca = 0, .ku = KU_LEAF, .eku = EKU_CODE});
    int_noskid = make_cert(&(spec){.cn = "No SKID Intermediate", .key = k_lax, .issuer = root,
                                   .issuer_key = k_root, .serial = 8, .nb = -30 * DAY,
                                   .na = 3650 * DAY, .ca = 1, .ku = KU_CA, .no_skid = 1});
    leaf_noskid = make_cert(&(spec){.cn = "Leaf Under No SKID", .key = k_leaf,
                                    .issuer = int_noskid, .issuer_key = k_lax, .serial = 201,
                                    .nb = -DAY, .na = 365 * DAY, .ca = 0, .ku = KU_LEAF,
                                    .eku = EKU_CODE, .akid = "computed"});
    int_expired = make_cert(&(spec){.cn = "Expired Intermediate", .key = k_lax, .issuer = root,
                                    .issuer_key = k_root, .serial = 9, .nb = -30 * DAY,
                                    .na = -2 * DAY, .ca = 1, .ku = KU_CA});
    leaf_of_expired = make_cert(&(spec){.cn = "Leaf Under Expired", .key = k_leaf,
                                        .issuer = int_expired, .issuer_key = k_lax,
                                        .serial = 202, .nb = -DAY, .na = 365 * DAY, .ca = 0,
                                        .ku = KU_LEAF, .eku = EKU_CODE});

    const ASN1_OCTET_STRING *const skid = X509_get0_subject_key_id(inter);
    REQUIRE(skid != NULL && ASN1_STRING_length(skid) <= 64);
    sgs_hex(ASN1_STRING_get0_data(skid), (size_t)ASN1_STRING_length(skid), akid_int_hex);

    p_root = write_pem("root.pem", root, NULL);
    p_int = write_pem("intermediate.pem", inter, NULL);
    p_int_der = write_der("intermediate.der", inter);
    p_bundle = write_pem("bundle.pem", inter, root);
    p_other = write_pem("other-root.pem", other_root, NULL);
    p_int_notca = write_pem("intermediate-notca.pem", int_notca, NULL);
    p_int_nocertsign = write_pem("intermediate-nocertsign.pem", int_nocertsign, NULL);
    p_namesake = write_pem("namesake.pem", namesake, NULL);
    p_int_laxbc = write_pem("int-laxbc.pem", int_laxbc, NULL);
    p_int_noskid = write_pem("int-noskid.pem", int_noskid, NULL);
    p_int_expired = write_pem("int-expired.pem", int_expired, NULL);

    X509_CRL *crl = make_crl(inter, k_int, leaf);
    p_crl_leaf = write_crl("int-revokes-leaf.crl", crl);
    X509_CRL_free(crl);
    crl = make_crl(other_root, k_other, leaf); /* same serial, another CA: must not matter */
    p_crl_other = write_crl("other.crl", crl);
    X509_CRL_free(crl);
    crl = make_crl(root, k_root, inter);
    p_crl_int = write_crl("root-revokes-int.crl", crl);
    X509_CRL_free(crl);

    /* not certificates */
    BIO *b = mem();
    REQUIRE(PEM_write_bio_PrivateKey(b, k_leaf, NULL, NULL, 0, NULL, NULL) == 1);
    bio_to_file(b, p_key = new_path("leaf.key"));
    b = mem();
    REQUIRE(PEM_write_bio_X509(b, root) == 1);
    REQUIRE(PEM_write_bio_PrivateKey(b, k_leaf, NULL, NULL, 0, NULL, NULL) == 1);
    bio_to_file(b, p_key_bundle = new_path("cert-and-key.pem"));
    b = mem();
    REQUIRE(PEM_write_bio_PUBKEY(b, k_leaf) == 1);
    bio_to_file(b, p_pubkey_only = new_path("pubkey.pem"));
    b = mem();
    REQUIRE(PEM_write_bio_PUBKEY(b, k_leaf) == 1);
    REQUIRE(PEM_write_bio_X509(b, root) == 1);
    bio_to_file(b, p_pubkey_and_cert = new_path("pubkey-and-root.pem"));

    uint8_t garbage[300];
    sgs_test_fill(&rng, garbage, sizeof(garbage));
    garbage[0] = 0x30; /* looks like DER, is not */
    sgs_test_write(p_garbage = new_path("garbage.bin"), garbage, sizeof(garbage));
    sgs_test_write(p_text = new_path("readme.txt"), "not a certificate\n", 18);

    unsigned char *der = NULL;
    const int n = i2d_X509(root, &der);
    REQUIRE(n > 10);
    sgs_test_write(p_der_trunc = new_path("root-truncated.der"), der, (size_t)n - 1);
    unsigned char *const longer = malloc((size_t)n + 1);
    REQUIRE(longer != NULL);
    memcpy(longer, der, (size_t)n);
    longer[n] = 0;
    sgs_test_write(p_der_trailing = new_path("root-trailing.der"), longer, (size_t)n + 1);
    free(longer);
    OPENSSL_free(der);

    size_t plen = 0;
    unsigned char *const pem = sgs_test_read(p_root, &plen);
    REQUIRE(pem != NULL && plen > 100);
    sgs_test_write(p_pem_trunc = new_path("root-truncated.pem"), pem, plen / 2);
    free(pem);
}

/* ---- running ------------------------------------------------------------------------------ */

typedef struct setup {
    const char *trust[4], *untrusted[4], *search[4], *crl[4];
    int codesign, strict, has_time;
    int64_t at;
} setup;

static void
load(sgs_trust *t, const setup *s)
{
    char err[512];
    const char *const *lists[4] = {s->trust, s->untrusted, s->search, s->crl};
    const sgs_material kinds[4] = {SGS_MAT_TRUST, SGS_MAT_UNTRUSTED, SGS_MAT_SEARCH,
                                   SGS_MAT_CRL};
    sgs_trust_init(t, &alloc);
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 4 && lists[k][i] != NULL; i++) {
            const sgs_status st = sgs_trust_add(t, kinds[k], lists[k][i], err, sizeof(err));
            if (st != SGS_OK)
                fprintf(stderr, "load %s: %s\n", lists[k][i], err);
            REQUIRE(st == SGS_OK);
        }
    }
    t->opts.codesign = s->codesign;
    t->opts.strict = s->strict;
    t->opts.has_at_time = s->has_time;
    t->opts.at_time = s->at;
    REQUIRE(sgs_trust_finalize(t, err, sizeof(err)) == SGS_OK);
    CHECK_QUEUE_EMPTY();
}

/* Resets t and checks that every engine allocation was released (line: the caller's). */
static void
unload_at(sgs_trust *t, int line)
{
    sgs_trust_reset(t);
    const long live = atomic_load(&counting.live);
    if (live != 0)
        fprintf(stderr, "%s:%d: %ld engine allocations still live after sgs_trust_reset\n",
                __FILE__, line, live);
    CHECK_EQ_INT(live, 0);
}
#define unload(t) unload_at((t), __LINE__)

/* One fresh trust configuration, one check. */
static sgs_verdict
run(const setup *s, X509 *signer, STACK_OF(X509) *extra, char *reason)
{
    sgs_trust t;
    load(&t, s);
    sgs_verdict v = SGS_V_MALFORMED;
    reason[0] = '\0';
    sgs_trust_check(&t, signer, extra, &v, reason, REASON_MAX);
    CHECK_QUEUE_EMPTY();
    unload(&t);
    return v;
}

#define CHECK_VERDICT(v, want, reason) \
    do { \
        const sgs_verdict v_ = (v); \
        CHECK_EQ_INT(v_, (want)); \
        if (v_ != (want)) \
            fprintf(stderr, "  reason: %s\n", (reason)); \
    } while (0)

/* ---- tests -------------------------------------------------------------------------------- */

static void
test_valid_chain(void)
{
    char reason[REASON_MAX], want[300];
    sgs_verdict v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    snprintf(want, sizeof(want), "chain to \"%s\"", d_root);
    CHECK_HAS(reason, want);

    /* the intermediate from the signature's own certificates instead of --untrusted */
    STACK_OF(X509) *const extra = sk_X509_new_null();
    REQUIRE(extra != NULL && sk_X509_push(extra, inter) > 0);
    v = run(&(setup){.trust = {p_root}}, leaf, extra, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    sk_X509_free(extra);

    /* DER intermediate, and a bundle holding intermediate and root as trust */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int_der}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    v = run(&(setup){.trust = {p_bundle}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    CHECK_HAS(reason, want);

    /* a leaf whose signature does not verify under the intermediate: named, and not called
       a CA that issued something */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}}, leaf_forged, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, "Forged Leaf");
    CHECK_HAS(reason, X509_verify_cert_error_string(X509_V_ERR_CERT_SIGNATURE_FAILURE));
    CHECK_LACKS(reason, "it is not a CA");

    /* nothing to validate against */
    sgs_trust t;
    sgs_trust_init(&t, &alloc);
    CHECK(!sgs_trust_configured(&t));
    char err[256];
    REQUIRE(sgs_trust_finalize(&t, err, sizeof(err)) == SGS_OK);
    sgs_trust_check(&t, leaf, NULL, &v, reason, sizeof(reason));
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, "trust store is empty");
    unload(&t);
}

static void
test_missing_issuer(void)
{
    char reason[REASON_MAX], want[400];
    sgs_verdict v = run(&(setup){.trust = {p_root}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "no certificate for issuer \"%s\"", d_int);
    CHECK_HAS(reason, want);
    CHECK_HAS(reason, akid_int_hex);
    CHECK_HAS(reason, "caIssuers " URL_INT);
    CHECK_LACKS(reason, "would be VALID");

    /* the root missing: the intermediate's issuer is named, with its own caIssuers */
    v = run(&(setup){.trust = {p_other}, .untrusted = {p_int}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "no certificate for issuer \"%s\"", d_root);
    CHECK_HAS(reason, want);
    CHECK_HAS(reason, "caIssuers " URL_ROOT);

    /* the intermediate trusted alone: not self-signed, so its issuer is needed too */
    v = run(&(setup){.trust = {p_int}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "trust store holds \"%s\" (%s)", d_int, p_int);
    CHECK_HAS(reason, want);
    CHECK_HAS(reason, "not self-signed, so its issuer is needed");

    /* a self-signed certificate that is not trusted */
    v = run(&(setup){.trust = {p_other}}, root, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "self-signed certificate \"%s\" is not in the trust store",
             d_root);
    CHECK_HAS(reason, want);
}

static void
test_search(void)
{
    char reason[REASON_MAX], want[1200];
    /* one step */
    sgs_verdict v = run(&(setup){.trust = {p_root}, .search = {p_int}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "would be VALID after importing \"%s\" from %s", d_int, p_int);
    CHECK_HAS(reason, want);

    /* two steps: neither the intermediate nor the root is at hand; trust holds another root */
    v = run(&(setup){.trust = {p_other}, .search = {p_int, p_root}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "would be VALID after importing \"%s\" from %s and \"%s\" from %s",
             d_int, p_int, d_root, p_root);
    CHECK_HAS(reason, want);
    /* the same with the search list in the other order */
    v = run(&(setup){.trust = {p_other}, .search = {p_root, p_int}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, want);

    /* the root alone in search while the intermediate is --untrusted */
    v = run(&(setup){.trust = {p_other}, .untrusted = {p_int}, .search = {p_root}}, leaf, NULL,
            reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "would be VALID after importing \"%s\" from %s", d_root, p_root);
    CHECK_HAS(reason, want);

    /* right subject, but not a CA */
    v = run(&(setup){.trust = {p_root}, .search = {p_int_notca}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "\"%s\" from %s does not close the chain", d_int, p_int_notca);
    CHECK_HAS(reason, want);
    CHECK_HAS(reason, "not a CA");
    CHECK_LACKS(reason, "would be VALID");

    /* right subject, a CA, but without keyCertSign */
    v = run(&(setup){.trust = {p_root}, .search = {p_int_nocertsign}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "\"%s\" from %s does not close the chain", d_int,
             p_int_nocertsign);
    CHECK_HAS(reason, want);
    /* named for what it lacks: keyCertSign, not basicConstraints (it is CA:TRUE) */
    CHECK(strstr(reason, "keyCertSign") != NULL ||
          strstr(reason, X509_verify_cert_error_string(X509_V_ERR_KEYUSAGE_NO_CERTSIGN)) != NULL);
    CHECK_LACKS(reason, "CA:TRUE is missing");
    CHECK_LACKS(reason, "would be VALID");

    /* a namesake that cannot issue next to the real intermediate: the fix is the real one,
       whichever comes first, and the useless candidate is not named as an import */
    const char *const pairs[2][2] = {{p_int_notca, p_int}, {p_int_nocertsign, p_int}};
    for (int i = 0; i < 2; i++) {
        v = run(&(setup){.trust = {p_root}, .search = {pairs[i][0], pairs[i][1]}}, leaf, NULL,
                reason);
        CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
        snprintf(want, sizeof(want), "would be VALID after importing \"%s\" from %s", d_int,
                 p_int);
        CHECK_HAS(reason, want);
        snprintf(want, sizeof(want), "importing \"%s\" from %s", d_int, pairs[i][0]);
        CHECK_LACKS(reason, want);
    }
}

static void
test_trusted_namesake(void)
{
    char reason[REASON_MAX], want[600];
    sgs_verdict v = run(&(setup){.trust = {p_root, p_namesake}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "trust store holds \"%s\" (%s) but it cannot be the issuer",
             d_int, p_namesake);
    CHECK_HAS(reason, want);
    snprintf(want, sizeof(want), "no certificate for issuer \"%s\"", d_int);
    CHECK_HAS(reason, want);

    /* trusted namesakes with the intermediate's own key that cannot act as a CA: each is
       named with what it lacks */
    v = run(&(setup){.trust = {p_root, p_int_notca}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "trust store holds \"%s\" (%s) but", d_int, p_int_notca);
    CHECK_HAS(reason, want);
    CHECK_HAS(reason, "not a CA");
    v = run(&(setup){.trust = {p_root, p_int_nocertsign}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    snprintf(want, sizeof(want), "trust store holds \"%s\" (%s) but", d_int, p_int_nocertsign);
    CHECK_HAS(reason, want);
    CHECK(strstr(reason, "keyCertSign") != NULL ||
          strstr(reason, X509_verify_cert_error_string(X509_V_ERR_KEYUSAGE_NO_CERTSIGN)) != NULL);
    CHECK_LACKS(reason, "CA:TRUE is missing");
}

static void
date_of(const ASN1_TIME *t, char *buf, size_t n)
{
    struct tm tm;
    REQUIRE(ASN1_TIME_to_tm(t, &tm) == 1);
    strftime(buf, n, "%Y-%m-%d", &tm);
}

static int64_t
time_of(const ASN1_TIME *t)
{
    struct tm tm;
    REQUIRE(ASN1_TIME_to_tm(t, &tm) == 1);
    return (int64_t)timegm(&tm);
}

static void
test_validity(void)
{
    char reason[REASON_MAX], day[16], want[300];
    sgs_verdict v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}}, leaf_expired, NULL,
                        reason);
    CHECK_VERDICT(v, SGS_V_EXPIRED, reason);
    date_of(X509_get0_notAfter(leaf_expired), day, sizeof(day));
    snprintf(want, sizeof(want), "expired %s", day);
    CHECK_HAS(reason, want);
    CHECK_HAS(reason, "Expired Leaf");

    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}}, leaf_future, NULL, reason);
    CHECK_VERDICT(v, SGS_V_NOT_YET_VALID, reason);
    date_of(X509_get0_notBefore(leaf_future), day, sizeof(day));
    snprintf(want, sizeof(want), "not valid before %s", day);
    CHECK_HAS(reason, want);

    /* an expired intermediate: named, not the leaf */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int_expired}}, leaf_of_expired, NULL,
            reason);
    CHECK_VERDICT(v, SGS_V_EXPIRED, reason);
    CHECK_HAS(reason, "Expired Intermediate");

    /* at_time: ±1 s around notAfter of the expired leaf. RFC 5280 makes notAfter inclusive,
       but OpenSSL 3.0's X509_cmp_time() treats "notAfter <= t" as expired, so validity is
       [notBefore, notAfter): at notAfter exactly the verdict is EXPIRED. Pinned here so a
       change (OpenSSL upgrade or an engine-side correction) is noticed. */
    const int64_t na = time_of(X509_get0_notAfter(leaf_expired));
    const struct {
        int64_t at;
        sgs_verdict want;
    } na_cases[] = {{na - DAY, SGS_V_VALID},
                    {na - 1, SGS_V_VALID},
                    {na, SGS_V_EXPIRED},
                    {na + 1, SGS_V_EXPIRED},
                    {(int64_t)now, SGS_V_EXPIRED}};
    for (size_t i = 0; i < sizeof(na_cases) / sizeof(na_cases[0]); i++) {
        v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .has_time = 1,
                         .at = na_cases[i].at},
                leaf_expired, NULL, reason);
        if (v != na_cases[i].want)
            fprintf(stderr, "notAfter%+lld s:\n", (long long)(na_cases[i].at - na));
        CHECK_VERDICT(v, na_cases[i].want, reason);
    }
    /* and around notBefore of the not-yet-valid leaf (inclusive) */
    const int64_t nb = time_of(X509_get0_notBefore(leaf_future));
    const struct {
        int64_t at;
        sgs_verdict want;
    } nb_cases[] = {{nb - 1, SGS_V_NOT_YET_VALID}, {nb, SGS_V_VALID}, {nb + 1, SGS_V_VALID}};
    for (size_t i = 0; i < sizeof(nb_cases) / sizeof(nb_cases[0]); i++) {
        v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .has_time = 1,
                         .at = nb_cases[i].at},
                leaf_future, NULL, reason);
        if (v != nb_cases[i].want)
            fprintf(stderr, "notBefore%+lld s:\n", (long long)(nb_cases[i].at - nb));
        CHECK_VERDICT(v, nb_cases[i].want, reason);
    }
    /* at_time before the root's notBefore: the root is the one not yet valid */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .has_time = 1,
                     .at = (int64_t)now - 40 * DAY},
            leaf_expired, NULL, reason);
    CHECK_VERDICT(v, SGS_V_NOT_YET_VALID, reason);
}

static void
test_crl(void)
{
    char reason[REASON_MAX], want[300];
    sgs_verdict v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .crl = {p_crl_leaf}},
                        leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_REVOKED, reason);
    snprintf(want, sizeof(want), "\"%s\" (serial 64) is revoked by a CRL of \"%s\"", d_leaf,
             d_int);
    CHECK_HAS(reason, want);
    /* the same CRL does not touch another leaf of the same CA */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .crl = {p_crl_leaf}}, leaf2, NULL,
            reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    /* another CA's CRL only (listing the same serial): missing CRLs are not failures */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .crl = {p_crl_other}}, leaf, NULL,
            reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    /* the intermediate revoked by the root */
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .crl = {p_crl_int}}, leaf2, NULL,
            reason);
    CHECK_VERDICT(v, SGS_V_REVOKED, reason);
    CHECK_HAS(reason, d_int);
}

static void
test_codesign(void)
{
    char reason[REASON_MAX];
    const setup cs = {.trust = {p_root}, .untrusted = {p_int}, .codesign = 1};
    sgs_verdict v = run(&cs, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    v = run(&cs, leaf_noeku, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, "codeSigning");
    v = run(&cs, leaf_server, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, "codeSigning");
    v = run(&cs, leaf_noku, NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, "digitalSignature");
    /* without the requirement the same leaves are VALID */
    const setup plain = {.trust = {p_root}, .untrusted = {p_int}};
    v = run(&plain, leaf_noeku, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    v = run(&plain, leaf_server, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
}

static void
test_strict(void)
{
    char reason[REASON_MAX];
    /* the well-formed chain passes strict checking */
    sgs_verdict v = run(&(setup){.trust = {p_root}, .untrusted = {p_int}, .strict = 1}, leaf,
                        NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);

    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int_laxbc}}, leaf_laxbc, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int_laxbc}, .strict = 1}, leaf_laxbc,
            NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, X509_verify_cert_error_string(X509_V_ERR_CA_BCONS_NOT_CRITICAL));
    CHECK_HAS(reason, "Lax BC Intermediate");

    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int_noskid}}, leaf_noskid, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);
    v = run(&(setup){.trust = {p_root}, .untrusted = {p_int_noskid}, .strict = 1}, leaf_noskid,
            NULL, reason);
    CHECK_VERDICT(v, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, X509_verify_cert_error_string(X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER));
    CHECK_HAS(reason, "No SKID Intermediate");
}

static sgs_status
add_one(sgs_material kind, const char *path, size_t *count, char *err, size_t errlen)
{
    sgs_trust t;
    sgs_trust_init(&t, &alloc);
    const sgs_status st = sgs_trust_add(&t, kind, path, err, errlen);
    CHECK_QUEUE_EMPTY();
    *count = kind == SGS_MAT_CRL ? (size_t)sk_X509_CRL_num(t.crls)
                                 : kind == SGS_MAT_TRUST ? t.trusted.count
                                 : kind == SGS_MAT_UNTRUSTED ? t.untrusted.count
                                                            : t.search.count;
    if (kind == SGS_MAT_CRL && t.crls == NULL)
        *count = 0;
    unload(&t);
    return st;
}

static void
test_loading(void)
{
    char err[1024];
    size_t count = 99;
    /* files that load */
    CHECK_EQ_INT(add_one(SGS_MAT_TRUST, p_root, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(add_one(SGS_MAT_UNTRUSTED, p_int_der, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(add_one(SGS_MAT_SEARCH, p_bundle, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_INT(add_one(SGS_MAT_CRL, p_crl_leaf, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 1);
    /* an unrelated PEM block next to a certificate is skipped */
    CHECK_EQ_INT(add_one(SGS_MAT_TRUST, p_pubkey_and_cert, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 1);

    /* files that do not */
    const struct {
        sgs_material kind;
        const char *path;
        sgs_status want;
        const char *why;
    } bad[] = {
        {SGS_MAT_TRUST, p_garbage, SGS_ERR_KEY, "not a PEM or DER"},
        {SGS_MAT_TRUST, p_text, SGS_ERR_KEY, p_text},
        {SGS_MAT_TRUST, p_key, SGS_ERR_KEY, "private key"},
        {SGS_MAT_TRUST, p_key_bundle, SGS_ERR_KEY, "private key"},
        {SGS_MAT_TRUST, p_pubkey_only, SGS_ERR_KEY, "no certificate"},
        {SGS_MAT_TRUST, p_der_trunc, SGS_ERR_KEY, p_der_trunc},
        {SGS_MAT_TRUST, p_der_trailing, SGS_ERR_KEY, p_der_trailing},
        {SGS_MAT_TRUST, p_pem_trunc, SGS_ERR_KEY, p_pem_trunc},
        {SGS_MAT_TRUST, p_crl_leaf, SGS_ERR_KEY, "a CRL where a certificate"},
        {SGS_MAT_CRL, p_root, SGS_ERR_KEY, "a certificate where a CRL"},
        {SGS_MAT_TRUST, "/nonexistent/sigsweep/ca.pem", SGS_ERR_IO, "/nonexistent/sigsweep"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        const sgs_status st = add_one(bad[i].kind, bad[i].path, &count, err, sizeof(err));
        if (st != bad[i].want)
            fprintf(stderr, "case %zu: %s\n", i, bad[i].path);
        CHECK_EQ_INT(st, bad[i].want);
        /* not atomic: a certificate before the private key stays loaded (the CLI stops on
           the error, so nothing is trusted from the file in practice) */
        if (bad[i].path != p_key_bundle)
            CHECK_EQ_INT(count, 0);
        CHECK_HAS(err, bad[i].why);
    }

    /* a hashed directory: files plus <hash>.0 links, each certificate kept once */
    char hashed[700], sub[760], link_path[760], target[760];
    snprintf(hashed, sizeof(hashed), "%s/hashed", dir);
    REQUIRE(mkdir(hashed, 0755) == 0);
    X509 *const certs[2] = {root, inter};
    const char *const names[2] = {"root.pem", "intermediate.pem"};
    for (int i = 0; i < 2; i++) {
        snprintf(target, sizeof(target), "%s/%s", hashed, names[i]);
        BIO *const b = mem();
        REQUIRE(PEM_write_bio_X509(b, certs[i]) == 1);
        bio_to_file(b, target);
        snprintf(link_path, sizeof(link_path), "%s/%08lx.0", hashed,
                 X509_subject_name_hash(certs[i]));
        REQUIRE(symlink(names[i], link_path) == 0);
    }
    snprintf(sub, sizeof(sub), "%s/subdir", hashed); /* not a file: ignored */
    REQUIRE(mkdir(sub, 0755) == 0);
    CHECK_EQ_INT(add_one(SGS_MAT_TRUST, hashed, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 2);
    char reason[REASON_MAX], want[300];
    sgs_verdict v = run(&(setup){.trust = {hashed}}, leaf, NULL, reason);
    CHECK_VERDICT(v, SGS_V_VALID, reason);

    /* a directory of links only (to files elsewhere) */
    char links[700];
    snprintf(links, sizeof(links), "%s/links", dir);
    REQUIRE(mkdir(links, 0755) == 0);
    snprintf(link_path, sizeof(link_path), "%s/%08lx.0", links, X509_subject_name_hash(root));
    REQUIRE(symlink(p_root, link_path) == 0);
    CHECK_EQ_INT(add_one(SGS_MAT_TRUST, links, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 1);

    /* an empty directory loads nothing and is not an error (trust.c: an empty store is
       reported per file as UNTRUSTED), and one holding a non-certificate is an error */
    char empty[700];
    snprintf(empty, sizeof(empty), "%s/empty", dir);
    REQUIRE(mkdir(empty, 0755) == 0);
    CHECK_EQ_INT(add_one(SGS_MAT_TRUST, empty, &count, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(count, 0);
    sgs_verdict v2 = run(&(setup){.trust = {empty}, .untrusted = {p_int}}, leaf, NULL, reason);
    CHECK_VERDICT(v2, SGS_V_UNTRUSTED, reason);
    CHECK_HAS(reason, "trust store is empty");
    char mixed[700], mixed_file[760];
    snprintf(mixed, sizeof(mixed), "%s/mixed", dir);
    REQUIRE(mkdir(mixed, 0755) == 0);
    snprintf(mixed_file, sizeof(mixed_file), "%s/a.pem", mixed);
    REQUIRE(symlink(p_root, mixed_file) == 0);
    snprintf(mixed_file, sizeof(mixed_file), "%s/b.txt", mixed);
    sgs_test_write(mixed_file, "notes\n", 6);
    CHECK_EQ_INT(add_one(SGS_MAT_TRUST, mixed, &count, err, sizeof(err)), SGS_ERR_KEY);
    CHECK_HAS(err, "b.txt");

    /* the same file twice, and the same certificate from two files: kept once */
    sgs_trust t;
    sgs_trust_init(&t, &alloc);
    CHECK_EQ_INT(sgs_trust_add(&t, SGS_MAT_TRUST, p_root, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(sgs_trust_add(&t, SGS_MAT_TRUST, p_root, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(sgs_trust_add(&t, SGS_MAT_TRUST, p_bundle, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(t.trusted.count, 2);
    CHECK_EQ_STR(t.trusted.items[0].path, p_root);
    CHECK(sgs_trust_configured(&t));
    unload(&t);
    (void)want;
}

static void
test_cache(void)
{
    char err[256], r1[REASON_MAX], r2[REASON_MAX], r3[REASON_MAX], fresh[REASON_MAX];
    /* the answer of a configuration that has never seen the signer (a cache miss) */
    CHECK_EQ_INT(run(&(setup){.trust = {p_root}, .untrusted = {p_int}}, leaf_expired, NULL,
                     fresh),
                 SGS_V_EXPIRED);
    sgs_trust t;
    load(&t, &(setup){.trust = {p_root}, .untrusted = {p_int}});
    sgs_verdict v1 = SGS_V_MALFORMED, v2 = SGS_V_MALFORMED, v3 = SGS_V_MALFORMED;
    sgs_trust_check(&t, leaf, NULL, &v1, r1, sizeof(r1));
    sgs_trust_check(&t, leaf, NULL, &v2, r2, sizeof(r2));
    CHECK_EQ_INT(v1, SGS_V_VALID);
    CHECK_EQ_INT(v2, v1);
    CHECK_EQ_STR(r2, r1);
    /* a second signer in between does not disturb the first */
    sgs_trust_check(&t, leaf_expired, NULL, &v3, r3, sizeof(r3));
    CHECK_EQ_INT(v3, SGS_V_EXPIRED);
    sgs_trust_check(&t, leaf, NULL, &v2, r2, sizeof(r2));
    CHECK_EQ_INT(v2, SGS_V_VALID);
    CHECK_EQ_STR(r2, r1);
    sgs_trust_check(&t, leaf_expired, NULL, &v2, r2, sizeof(r2));
    CHECK_EQ_INT(v2, SGS_V_EXPIRED);
    CHECK_EQ_STR(r2, r3);
    /* cache hit equals miss */
    CHECK_EQ_STR(fresh, r3);
    /* a small reason buffer is filled, terminated, and does not shorten later answers */
    char small[8];
    sgs_trust_check(&t, leaf2, NULL, &v2, small, sizeof(small));
    CHECK_EQ_INT(v2, SGS_V_VALID);
    CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
    sgs_trust_check(&t, leaf2, NULL, &v2, r2, sizeof(r2));
    CHECK_EQ_INT(v2, SGS_V_VALID);
    CHECK_EQ_STR(r2, r1);
    unload(&t);

    /* the signature's own certificates are part of the key */
    load(&t, &(setup){.trust = {p_root}});
    STACK_OF(X509) *const extra = sk_X509_new_null();
    REQUIRE(extra != NULL && sk_X509_push(extra, inter) > 0);
    for (int round = 0; round < 2; round++) {
        sgs_trust_check(&t, leaf, NULL, &v1, r1, sizeof(r1));
        CHECK_EQ_INT(v1, SGS_V_UNTRUSTED);
        sgs_trust_check(&t, leaf, extra, &v2, r2, sizeof(r2));
        CHECK_EQ_INT(v2, SGS_V_VALID);
    }
    sk_X509_free(extra);
    unload(&t);
    (void)err;
}

static void
test_dn(void)
{
    char buf[256];
    X509_NAME *n = X509_NAME_new();
    REQUIRE(n != NULL);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"y", -1, -1,
                                       0) == 1);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"x", -1,
                                       -1, 0) == 1);
    CHECK_EQ_STR(sgs_dn(n, buf, sizeof(buf)), "CN=x,O=y");
    X509_NAME_free(n);

    n = X509_NAME_new();
    REQUIRE(n != NULL);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "C", MBSTRING_UTF8, (const unsigned char *)"DE", -1,
                                       -1, 0) == 1);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                       (const unsigned char *)"Acme, Inc.", -1, -1, 0) == 1);
    REQUIRE(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                       (const unsigned char *)"Zo\xc3\xab", -1, -1, 0) == 1);
    /* reversed order, the comma escaped, UTF-8 kept as UTF-8 */
    CHECK_EQ_STR(sgs_dn(n, buf, sizeof(buf)), "CN=Zo\xc3\xab,O=Acme\\, Inc.,C=DE");
    /* a short buffer is truncated and terminated */
    char tiny[5];
    CHECK_EQ_STR(sgs_dn(n, tiny, sizeof(tiny)), "CN=Z");
    X509_NAME_free(n);

    CHECK_EQ_STR(sgs_dn(X509_get_subject_name(leaf), buf, sizeof(buf)), d_leaf);
    CHECK_QUEUE_EMPTY();
}

/* Fails each allocation in turn: every call returns OK or NOMEM and nothing leaks. */
static void
test_alloc_failures(void)
{
    for (long k = 1; k < 200; k++) {
        sgs_test_alloc fa;
        sgs_test_alloc_init(&fa, k, 0);
        const sgs_allocator a = sgs_test_allocator(&fa);
        sgs_trust t;
        char err[256], reason[REASON_MAX];
        sgs_trust_init(&t, &a);
        sgs_status st = sgs_trust_add(&t, SGS_MAT_TRUST, p_root, err, sizeof(err));
        if (st == SGS_OK)
            st = sgs_trust_add(&t, SGS_MAT_UNTRUSTED, p_bundle, err, sizeof(err));
        if (st == SGS_OK)
            st = sgs_trust_add(&t, SGS_MAT_CRL, p_crl_other, err, sizeof(err));
        if (st == SGS_OK)
            st = sgs_trust_finalize(&t, err, sizeof(err));
        CHECK(st == SGS_OK || st == SGS_ERR_NOMEM);
        if (st == SGS_OK) {
            sgs_verdict v = SGS_V_MALFORMED;
            sgs_trust_check(&t, leaf, NULL, &v, reason, sizeof(reason));
            CHECK_EQ_INT(v, SGS_V_VALID);
            sgs_trust_check(&t, leaf, NULL, &v, reason, sizeof(reason));
            CHECK_EQ_INT(v, SGS_V_VALID);
        }
        sgs_trust_reset(&t);
        CHECK_EQ_INT(atomic_load(&fa.live), 0);
        if (atomic_load(&fa.failed) == 0)
            break; /* every allocation of the sequence has been failed once */
    }
    ERR_clear_error();
}

int
main(void)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0x74727374u));
    sgs_test_alloc_init(&counting, 0, 0);
    alloc = sgs_test_allocator(&counting);
    now = time(NULL);
    sgs_test_tmpdir(dir, sizeof(dir), "trust");
    build_pki();
    test_valid_chain();
    test_missing_issuer();
    test_search();
    test_trusted_namesake();
    test_validity();
    test_crl();
    test_codesign();
    test_strict();
    test_loading();
    test_cache();
    test_dn();
    test_alloc_failures();

    X509 *const all[] = {root, inter, leaf, leaf2, leaf_noeku, leaf_server, leaf_noku,
                         leaf_expired, leaf_future, int_notca, int_nocertsign, namesake,
                         other_root, int_laxbc, leaf_laxbc, int_noskid, leaf_noskid,
                         int_expired, leaf_of_expired, leaf_forged};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        X509_free(all[i]);
    EVP_PKEY *const keys[] = {k_root, k_int, k_leaf, k_other, k_namesake, k_lax};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    sgs_test_rm_rf(dir);
    return sgs_test_done("trust_test");
}
