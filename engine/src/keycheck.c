/*
 * keycheck.c - the floor every key that can make a file VALID must clear.
 *
 * DESIGN: one place decides whether a public key is strong and sound enough, for every
 * format: raw keys, agent keys, CMS and Authenticode signers (the chains are held to the same
 * floor through OpenSSL's authentication level, see trust.c). Degenerate keys are refused
 * because they make forgeries trivial, whatever the hash: an RSA key with e = 1 "verifies"
 * the padded digest itself; an Ed25519 key of small order (the identity, the points of order
 * 2, 4 and 8) verifies one fixed signature for every message. OpenSSL 3.0 loads and uses both.
 * The small-order list is the one libsodium refuses (the eight torsion points, compared with
 * the sign bit cleared, plus the non-canonical encodings p and p + 1 of 0 and 1); it is data,
 * not arithmetic: no curve operation is done here.
 */
#include "keycheck.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

/* Encodings (sign bit cleared) of the points of order 1, 2, 4 and 8 on edwards25519. */
static const uint8_t small_order[][32] = {
    /* y = 0 (order 4) */
    {0},
    /* y = 1: the identity (order 1) */
    {0x01},
    /* order 8 */
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
     0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
     0xfc, 0x05},
    /* order 8 */
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
     0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
     0x03, 0x7a},
    /* y = p - 1 (order 2) */
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0x7f},
};

/* y >= p = 2^255 - 19 (sign bit ignored): a non-canonical encoding. */
static int
ed25519_noncanonical(const uint8_t enc[32])
{
    if ((enc[31] & 0x7f) != 0x7f)
        return 0;
    for (int i = 30; i > 0; i--)
        if (enc[i] != 0xff)
            return 0;
    return enc[0] >= 0xed;
}

static int
ed25519_small_order(const uint8_t enc[32])
{
    for (size_t k = 0; k < sizeof(small_order) / sizeof(small_order[0]); k++) {
        if (memcmp(enc, small_order[k], 31) == 0 && (enc[31] & 0x7f) == small_order[k][31])
            return 1;
    }
    return 0;
}

/* S < L = 2^252 + 27742317777372353535851937790883648493 (little-endian). */
static int
ed25519_scalar_reduced(const uint8_t s[32])
{
    static const uint8_t order[32] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10};
    for (int i = 31; i >= 0; i--) {
        if (s[i] != order[i])
            return s[i] < order[i];
    }
    return 0; /* S == L */
}

int
sgs_ed25519_sig_sane(const uint8_t sig[64])
{
    return !ed25519_small_order(sig) && ed25519_scalar_reduced(sig + 32);
}

static const char *
rsa_exponent_problem(const EVP_PKEY *pkey, char *buf, size_t n)
{
    BIGNUM *e = NULL;
    const char *why = NULL;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || e == NULL) {
        ERR_clear_error();
        snprintf(buf, n, "RSA key without a readable public exponent");
        return buf;
    }
    if (!BN_is_odd(e) || BN_cmp(e, BN_value_one()) <= 0) {
        char *const dec = BN_bn2dec(e);
        snprintf(buf, n, "degenerate RSA key: public exponent e = %s (must be odd and >= 3)",
                 dec != NULL ? dec : "?");
        OPENSSL_free(dec);
        why = buf;
    }
    BN_free(e);
    return why;
}

const char *
sgs_key_weakness(const EVP_PKEY *pkey, int min_bits, char *buf, size_t n)
{
    if (pkey == NULL) {
        snprintf(buf, n, "no public key");
        return buf;
    }
    const int is_rsa = EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS");
    if (is_rsa && rsa_exponent_problem(pkey, buf, n) != NULL)
        return buf;
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        uint8_t raw[32];
        size_t len = sizeof(raw);
        if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof(raw)) {
            ERR_clear_error();
            snprintf(buf, n, "Ed25519 key without a 32-byte public value");
            return buf;
        }
        if (ed25519_noncanonical(raw)) {
            snprintf(buf, n, "degenerate Ed25519 key: non-canonical point encoding");
            return buf;
        }
        if (ed25519_small_order(raw)) {
            snprintf(buf, n, "degenerate Ed25519 key: a point of small order (one signature "
                             "would verify every message)");
            return buf;
        }
    }
    const int bits = EVP_PKEY_get_security_bits(pkey);
    if (bits < min_bits) {
        if (is_rsa)
            snprintf(buf, n, "RSA-%d key: %d-bit security, below the %d-bit floor",
                     EVP_PKEY_get_bits(pkey), bits, min_bits);
        else
            snprintf(buf, n, "%s key: %d-bit security, below the %d-bit floor",
                     EVP_PKEY_get0_type_name(pkey), bits, min_bits);
        return buf;
    }
    return NULL;
}
