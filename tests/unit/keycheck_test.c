/*
 * keycheck_test.c - the key floor: strength, degenerate RSA exponents, Ed25519 keys and
 * signatures of small order. Each refusal is paired with what OpenSSL alone would accept, so
 * the test fails if the check that makes the difference goes.
 */
#include "keycheck.h"
#include "sgs_test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

static EVP_PKEY *
gen(const char *alg, const char *param, const char *value)
{
    EVP_PKEY_CTX *const ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    EVP_PKEY *k = NULL;
    REQUIRE(ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1);
    if (param != NULL)
        REQUIRE(EVP_PKEY_CTX_ctrl_str(ctx, param, value) == 1);
    REQUIRE(EVP_PKEY_generate(ctx, &k) == 1);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* An RSA public key with the modulus of `like` and exponent e. */
static EVP_PKEY *
rsa_with_e(const EVP_PKEY *like, unsigned long e_word)
{
    BIGNUM *n = NULL, *e = BN_new();
    REQUIRE(e != NULL && BN_set_word(e, e_word) == 1);
    REQUIRE(EVP_PKEY_get_bn_param(like, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
    OSSL_PARAM_BLD *const bld = OSSL_PARAM_BLD_new();
    REQUIRE(bld != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1);
    OSSL_PARAM *const params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *const ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;
    REQUIRE(ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return k;
}

static EVP_PKEY *
ed25519_raw(const char *hex)
{
    uint8_t raw[32];
    for (int i = 0; i < 32; i++)
        REQUIRE(sscanf(hex + 2 * i, "%2hhx", &raw[i]) == 1);
    EVP_PKEY *const k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
    REQUIRE(k != NULL);
    return k;
}

static int
refused(const EVP_PKEY *k, int floor, const char *needle)
{
    char why[256];
    const char *const r = sgs_key_weakness(k, floor, why, sizeof(why));
    if (r == NULL)
        return 0;
    if (needle != NULL && strstr(r, needle) == NULL) {
        fprintf(stderr, "reason \"%s\" lacks \"%s\"\n", r, needle);
        return 0;
    }
    return 1;
}

static void
test_rsa(void)
{
    EVP_PKEY *const k2048 = gen("RSA", "rsa_keygen_bits", "2048");
    EVP_PKEY *const k1024 = gen("RSA", "rsa_keygen_bits", "1024");
    CHECK(!refused(k2048, SGS_MIN_SECURITY_BITS_DEFAULT, NULL));
    CHECK(refused(k1024, SGS_MIN_SECURITY_BITS_DEFAULT, "RSA-1024 key: 80-bit security"));
    CHECK(!refused(k1024, 80, NULL)); /* an explicit lower floor */
    static const unsigned long bad_e[] = {0, 1, 2, 4, 65536};
    for (size_t i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++) {
        EVP_PKEY *const k = rsa_with_e(k2048, bad_e[i]);
        CHECK(refused(k, SGS_MIN_SECURITY_BITS_DEFAULT, "public exponent"));
        CHECK(refused(k, 0, "degenerate RSA key")); /* whatever the floor */
        EVP_PKEY_free(k);
    }
    EVP_PKEY *const k3 = rsa_with_e(k2048, 3);
    CHECK(!refused(k3, SGS_MIN_SECURITY_BITS_DEFAULT, NULL));
    EVP_PKEY_free(k3);
    EVP_PKEY *const pss = gen("RSA-PSS", "rsa_keygen_bits", "2048");
    CHECK(!refused(pss, SGS_MIN_SECURITY_BITS_DEFAULT, NULL));
    EVP_PKEY_free(pss);
    EVP_PKEY_free(k2048);
    EVP_PKEY_free(k1024);
}

static void
test_ec(void)
{
    EVP_PKEY *const p256 = gen("EC", "group", "P-256");
    EVP_PKEY *const p192 = gen("EC", "group", "P-192");
    CHECK(!refused(p256, SGS_MIN_SECURITY_BITS_DEFAULT, NULL));
    CHECK(refused(p192, SGS_MIN_SECURITY_BITS_DEFAULT, "below the 112-bit floor"));
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p192);
}

/* The torsion points (both signs), and non-canonical encodings. */
static const char *const bad_ed25519[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p */
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p + 1 */
    "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void
test_ed25519(void)
{
    EVP_PKEY *const good = gen("ED25519", NULL, NULL);
    CHECK(!refused(good, SGS_MIN_SECURITY_BITS_DEFAULT, NULL));
    for (size_t i = 0; i < sizeof(bad_ed25519) / sizeof(bad_ed25519[0]); i++) {
        EVP_PKEY *const k = ed25519_raw(bad_ed25519[i]);
        if (!refused(k, 0, "degenerate Ed25519 key"))
            fprintf(stderr, "accepted: %s\n", bad_ed25519[i]);
        CHECK(refused(k, 0, "degenerate Ed25519 key"));
        EVP_PKEY_free(k);
    }

    /* Why: OpenSSL verifies R = identity, S = 0 under the identity key for any message. */
    EVP_PKEY *const id = ed25519_raw(bad_ed25519[2]);
    uint8_t sig[64] = {0x01};
    static const uint8_t msg[] = "any file at all";
    EVP_MD_CTX *const md = EVP_MD_CTX_new();
    REQUIRE(md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, id) == 1);
    CHECK_EQ_INT(EVP_DigestVerify(md, sig, sizeof(sig), msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(id);
    CHECK(!sgs_ed25519_sig_sane(sig));

    /* R of small order, S reduced or not */
    for (size_t i = 0; i < sizeof(bad_ed25519) / sizeof(bad_ed25519[0]) - 4; i++) {
        for (int b = 0; b < 32; b++)
            REQUIRE(sscanf(bad_ed25519[i] + 2 * b, "%2hhx", &sig[b]) == 1);
        memset(sig + 32, 0x11, 31);
        sig[63] = 0x01;
        CHECK(!sgs_ed25519_sig_sane(sig));
    }

    /* a real signature is sane; S = L and S = L + 1 are not, S = L - 1 is */
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *const sc = EVP_MD_CTX_new();
    EVP_PKEY *const priv = gen("ED25519", NULL, NULL);
    REQUIRE(sc != NULL && EVP_DigestSignInit(sc, NULL, NULL, NULL, priv) == 1 &&
            EVP_DigestSign(sc, sig, &siglen, msg, sizeof(msg)) == 1 && siglen == 64);
    EVP_MD_CTX_free(sc);
    EVP_PKEY_free(priv);
    CHECK(sgs_ed25519_sig_sane(sig));
    static const uint8_t order[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10};
    memcpy(sig + 32, order, 32);
    CHECK(!sgs_ed25519_sig_sane(sig));
    sig[32] = 0xee;
    CHECK(!sgs_ed25519_sig_sane(sig));
    sig[32] = 0xec;
    CHECK(sgs_ed25519_sig_sane(sig));
    memset(sig + 32, 0xff, 32);
    CHECK(!sgs_ed25519_sig_sane(sig));
    EVP_PKEY_free(good);
}

int
main(void)
{
    test_rsa();
    test_ec();
    test_ed25519();
    return sgs_test_done("keycheck_test");
}
