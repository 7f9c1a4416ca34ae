/*
 * signkey_test.c - sgs_engine_set_signing_key() after sgs_engine_set_signing_cert(): a key
 * that fails after it was parsed (the public key cannot be derived) must leave the
 * certificate to the engine, which frees it once at teardown. libcrypto's allocations are
 * failed one by one (CRYPTO_set_mem_functions) until the key is accepted, so every failure
 * path of the call runs with a certificate set; the old code freed the certificate without
 * clearing it, and sgs_engine_free() then freed it again (a crash, or an ASan report).
 */
#include "sgs_test_util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>

static long fail_after = -1; /* -1: never; n: the (n+1)th allocation from now fails */

/* 1 when this allocation may happen, 0 when it is the one to fail. */
static int
may_allocate(void)
{
    if (fail_after == 0)
        return 0;
    if (fail_after > 0)
        fail_after--;
    return 1;
}

static void *
test_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return may_allocate() ? malloc(n) : NULL;
}

static void *
test_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return may_allocate() ? realloc(p, n) : NULL;
}

static void
test_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* OpenSSL may leak on its own allocation-failure paths; those are not what this test checks. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "detect_leaks=0";
}

static void
on_record(void *opaque, const sgs_record *rec)
{
    (void)opaque;
    (void)rec;
}

/* An Ed25519 key (PKCS#8 PEM) and a self-signed certificate for it. */
static void
make_key_and_cert(const char *key_path, const char *cert_path)
{
    EVP_PKEY *const k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *const x = X509_new();
    REQUIRE(k != NULL && x != NULL);
    REQUIRE(X509_set_version(x, 2) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1);
    REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL);
    REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL);
    X509_NAME *const name = X509_get_subject_name(x);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       (const unsigned char *)"signkey test", -1, -1, 0) == 1);
    REQUIRE(X509_set_issuer_name(x, name) == 1);
    REQUIRE(X509_set_pubkey(x, k) == 1);
    REQUIRE(X509_sign(x, k, NULL) > 0);
    FILE *f = fopen(key_path, "w");
    REQUIRE(f != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    f = fopen(cert_path, "w");
    REQUIRE(f != NULL && PEM_write_X509(f, x) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

int
main(void)
{
    /* before libcrypto allocates anything */
    REQUIRE(CRYPTO_set_mem_functions(test_malloc, test_realloc, test_free) == 1);
    char dir[512], key[600], cert[600];
    sgs_test_tmpdir(dir, sizeof(dir), "signkey");
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    make_key_and_cert(key, cert);

    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.op = SGS_OP_SIGN;
    cfg.on_record = on_record;
    int accepted = 0, derive_failures = 0;
    for (long n = 0; n < 20000 && !accepted; n++) {
        sgs_engine *e = NULL;
        REQUIRE(sgs_engine_create(&cfg, &e) == SGS_OK);
        REQUIRE(sgs_engine_set_signing_cert(e, cert) == SGS_OK);
        fail_after = n;
        const sgs_status st = sgs_engine_set_signing_key(e, key);
        fail_after = -1;
        if (st == SGS_OK)
            accepted = 1;
        else if (strstr(sgs_engine_error(e), "cannot derive the public key") != NULL)
            derive_failures++;
        sgs_engine_free(e); /* frees the certificate exactly once */
    }
    CHECK(accepted);
    CHECK(derive_failures > 0); /* the path that freed the certificate did run */
    sgs_test_rm_rf(dir);
    return sgs_test_done("signkey_test");
}
