/*
 * verify_test.c - raw signatures: keys made in-process (RSA-2048, EC P-256/384/521, Ed25519),
 * signed with the engine's sign functions and verified with its verify functions, each accept
 * with its reject twins (STYLE 40): a bit flipped in the digest or message, a byte flipped in
 * the signature (first, middle, last), the wrong key of the same type, truncated, a trailing
 * byte, empty; PKCS#1 vs PSS; a digest of another hash; strict-DER ECDSA detection. Oracle
 * (STYLE 43): signatures made by the `openssl` CLI verify with the engine, and engine signatures
 * verify with the CLI (skipped with a message when `openssl` is not on PATH).
 */
#include "verify.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>
#include <stdarg.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/wait.h>

#define SIG_MAX 1024

static sgs_test_rng rng;

/* The engine promises an empty error queue after every call. */
#define CHECK_QUEUE_EMPTY() CHECK_EQ_INT(ERR_peek_error(), 0)

typedef enum kind { K_RSA, K_EC, K_ED25519 } kind;

typedef struct keyspec {
    const char *name;
    kind kind;
    const char *param; /* EC curve */
    size_t rsa_bits;
} keyspec;

static const keyspec specs[] = {
    {"rsa2048", K_RSA, NULL, 2048},  {"p256", K_EC, "P-256", 0}, {"p384", K_EC, "P-384", 0},
    {"p521", K_EC, "P-521", 0},      {"ed25519", K_ED25519, NULL, 0},
};

static EVP_PKEY *
keygen(const keyspec *s)
{
    EVP_PKEY *pk = NULL;
    switch (s->kind) {
    case K_RSA:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", s->rsa_bits);
        break;
    case K_EC:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", s->param);
        break;
    case K_ED25519:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    }
    REQUIRE(pk != NULL);
    return pk;
}

static size_t
digest_of(const EVP_MD *md, const void *msg, size_t len, uint8_t *out)
{
    unsigned n = 0;
    REQUIRE(EVP_Digest(msg, len, out, &n, md, NULL) == 1);
    return n;
}

static size_t
sign_digest(EVP_PKEY *pk, const sgs_sig_params *p, const uint8_t *d, size_t dlen, uint8_t *sig)
{
    char err[160] = "";
    size_t siglen = SIG_MAX;
    const int ok = sgs_sign_prehash(pk, p, d, dlen, sig, &siglen, err, sizeof(err));
    if (!ok)
        fprintf(stderr, "sgs_sign_prehash: %s\n", err);
    REQUIRE(ok == 1);
    CHECK_QUEUE_EMPTY();
    return siglen;
}

static int
verify(EVP_PKEY *pk, const sgs_sig_params *p, const uint8_t *d, size_t dlen, const uint8_t *sig,
       size_t siglen)
{
    const int ok = sgs_verify_prehash(pk, p, d, dlen, sig, siglen);
    CHECK_QUEUE_EMPTY();
    return ok;
}

/* Every reject twin of (sig over d) with key pk: each must verify as 0. */
static void
prehash_twins(EVP_PKEY *pk, EVP_PKEY *other, const sgs_sig_params *p, const uint8_t *d,
              size_t dlen, const uint8_t *sig, size_t siglen)
{
    uint8_t d2[EVP_MAX_MD_SIZE], s2[SIG_MAX + 2];
    /* ECDSA uses only the leftmost bits of the digest, as many as the group order has (FIPS
       186-4 6.4): with SHA-512 on P-256 the last 32 bytes are not signed. Flip signed bits. */
    size_t used = dlen;
    if (EVP_PKEY_is_a(pk, "EC") && (size_t)(EVP_PKEY_get_bits(pk) + 7) / 8 < dlen)
        used = (size_t)EVP_PKEY_get_bits(pk) / 8;
    const size_t bits[] = {0, 7, used * 4, used * 8 - 1};
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        memcpy(d2, d, dlen);
        d2[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
        CHECK_EQ_INT(verify(pk, p, d2, dlen, sig, siglen), 0);
    }
    const size_t at[] = {0, siglen / 2, siglen - 1};
    for (size_t i = 0; i < 3; i++) {
        memcpy(s2, sig, siglen);
        s2[at[i]] ^= 0x01;
        CHECK_EQ_INT(verify(pk, p, d, dlen, s2, siglen), 0);
        s2[at[i]] ^= 0x81;
        CHECK_EQ_INT(verify(pk, p, d, dlen, s2, siglen), 0);
    }
    CHECK_EQ_INT(verify(other, p, d, dlen, sig, siglen), 0);
    CHECK_EQ_INT(verify(pk, p, d, dlen, sig, siglen - 1), 0);
    CHECK_EQ_INT(verify(pk, p, d, dlen, sig, siglen / 2), 0);
    memcpy(s2, sig, siglen);
    s2[siglen] = 0x00;
    CHECK_EQ_INT(verify(pk, p, d, dlen, s2, siglen + 1), 0);
    s2[siglen] = 0x5a;
    CHECK_EQ_INT(verify(pk, p, d, dlen, s2, siglen + 1), 0);
    s2[siglen + 1] = 0x00;
    CHECK_EQ_INT(verify(pk, p, d, dlen, s2, siglen + 2), 0);
    /* a leading zero byte: the same integer for RSA, not the same bytes */
    s2[0] = 0x00;
    memcpy(s2 + 1, sig, siglen);
    CHECK_EQ_INT(verify(pk, p, d, dlen, s2, siglen + 1), 0);
    CHECK_EQ_INT(verify(pk, p, d, dlen, sig, 0), 0);
    CHECK_EQ_INT(verify(pk, p, d, 0, sig, siglen), 0);
    CHECK_EQ_INT(verify(pk, p, d, dlen - 1, sig, siglen), 0);
    /* and the original still verifies: the twins did not pass by accident of a broken key */
    CHECK_EQ_INT(verify(pk, p, d, dlen, sig, siglen), 1);
}

/* Re-encodes an ECDSA DER signature with a long-form (BER) outer length. */
static size_t
ber_padded(const uint8_t *sig, size_t siglen, uint8_t *out)
{
    REQUIRE(sig[0] == 0x30 && sig[1] < 0x80); /* short form in strict DER (P-256/P-384) */
    out[0] = 0x30;
    out[1] = 0x81;
    out[2] = sig[1];
    memcpy(out + 3, sig + 2, siglen - 2);
    return siglen + 1;
}

/* Re-encodes with a needless leading 0x00 on r (non-minimal INTEGER). */
static size_t
padded_r(const uint8_t *sig, size_t siglen, uint8_t *out)
{
    const unsigned char *cur = sig;
    ECDSA_SIG *const s = d2i_ECDSA_SIG(NULL, &cur, (long)siglen);
    REQUIRE(s != NULL);
    const BIGNUM *r = NULL, *sv = NULL;
    ECDSA_SIG_get0(s, &r, &sv);
    uint8_t rb[80], sb[80];
    int rl = BN_bn2bin(r, rb + 1), sl = BN_bn2bin(sv, sb + 1);
    rb[0] = 0;
    sb[0] = 0;
    /* minimal: a 0x00 only when the top bit is set; add one more than minimal to r */
    const uint8_t *rp = rb, *sp = sb + 1;
    int rlen = rl + 1, slen = sl;
    if (sb[1] & 0x80) {
        sp = sb;
        slen = sl + 1;
    }
    uint8_t rr[82];
    if (rb[1] & 0x80) { /* minimal already has 0x00: make it two */
        rr[0] = 0;
        memcpy(rr + 1, rb, (size_t)rlen);
        rp = rr;
        rlen++;
    }
    size_t n = 0;
    const size_t body = (size_t)(2 + rlen + 2 + slen);
    REQUIRE(body < 128);
    out[n++] = 0x30;
    out[n++] = (uint8_t)body;
    out[n++] = 0x02;
    out[n++] = (uint8_t)rlen;
    memcpy(out + n, rp, (size_t)rlen);
    n += (size_t)rlen;
    out[n++] = 0x02;
    out[n++] = (uint8_t)slen;
    memcpy(out + n, sp, (size_t)slen);
    n += (size_t)slen;
    ECDSA_SIG_free(s);
    return n;
}

static void
test_prehash(const keyspec *s, EVP_PKEY *k1, EVP_PKEY *k2, const uint8_t *msg, size_t len)
{
    const EVP_MD *const mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    uint8_t d[EVP_MAX_MD_SIZE], d384[EVP_MAX_MD_SIZE], sig[SIG_MAX + 2], sig2[SIG_MAX + 2];
    for (size_t h = 0; h < 3; h++) {
        for (int pss = 0; pss <= (s->kind == K_RSA ? 1 : 0); pss++) {
            sgs_sig_params p;
            sgs_sig_params_init(&p, mds[h], pss);
            CHECK(p.md == mds[h] && p.pss == pss && p.mgf1 == NULL);
            CHECK_EQ_INT(p.saltlen, RSA_PSS_SALTLEN_AUTO);
            const size_t dlen = digest_of(mds[h], msg, len, d);
            const size_t siglen = sign_digest(k1, &p, d, dlen, sig);
            if (s->kind == K_RSA)
                CHECK_EQ_INT(siglen, (size_t)EVP_PKEY_get_size(k1));
            else
                CHECK(siglen <= (size_t)EVP_PKEY_get_size(k1));
            CHECK_EQ_INT(verify(k1, &p, d, dlen, sig, siglen), 1);
            prehash_twins(k1, k2, &p, d, dlen, sig, siglen);

            /* The digest of another hash with these params (length differs): rejected. */
            const EVP_MD *const other = mds[(h + 1) % 3];
            const size_t olen = digest_of(other, msg, len, d384);
            CHECK_EQ_INT(verify(k1, &p, d384, olen, sig, siglen), 0);
            /* The right digest bytes, but params naming another hash: rejected. */
            sgs_sig_params q;
            sgs_sig_params_init(&q, other, pss);
            CHECK_EQ_INT(verify(k1, &q, d, dlen, sig, siglen), 0);
            /* A signature made over the other hash does not verify as this one. */
            const size_t siglen2 = sign_digest(k1, &q, d384, olen, sig2);
            CHECK_EQ_INT(verify(k1, &q, d384, olen, sig2, siglen2), 1);
            CHECK_EQ_INT(verify(k1, &p, d, dlen, sig2, siglen2), 0);

            if (s->kind == K_RSA) {
                /* PKCS#1 v1.5 vs PSS: a signature of one padding never verifies as the other */
                sgs_sig_params flip;
                sgs_sig_params_init(&flip, mds[h], !pss);
                CHECK_EQ_INT(verify(k1, &flip, d, dlen, sig, siglen), 0);
                if (pss) {
                    /* signed with salt = hash length: explicit salt length used on verify */
                    sgs_sig_params ex = p;
                    ex.saltlen = (int)dlen;
                    CHECK_EQ_INT(verify(k1, &ex, d, dlen, sig, siglen), 1);
                    ex.saltlen = (int)dlen + 1;
                    CHECK_EQ_INT(verify(k1, &ex, d, dlen, sig, siglen), 0);
                    ex.saltlen = (int)dlen - 1;
                    CHECK_EQ_INT(verify(k1, &ex, d, dlen, sig, siglen), 0);
                    ex.saltlen = 0;
                    CHECK_EQ_INT(verify(k1, &ex, d, dlen, sig, siglen), 0);
                    /* another MGF1 hash */
                    ex = p;
                    ex.mgf1 = other;
                    CHECK_EQ_INT(verify(k1, &ex, d, dlen, sig, siglen), 0);
                    /* PSS is randomised: two signatures differ, both verify */
                    const size_t l2 = sign_digest(k1, &p, d, dlen, sig2);
                    CHECK(l2 == siglen && memcmp(sig, sig2, siglen) != 0);
                    CHECK_EQ_INT(verify(k1, &p, d, dlen, sig2, l2), 1);
                } else {
                    /* PKCS#1 v1.5 is deterministic */
                    const size_t l2 = sign_digest(k1, &p, d, dlen, sig2);
                    CHECK(l2 == siglen && memcmp(sig, sig2, siglen) == 0);
                }
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(sig, siglen), 0);
                CHECK_QUEUE_EMPTY();
            } else {
                uint8_t bad[SIG_MAX + 8];
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(sig, siglen), 1);
                CHECK_QUEUE_EMPTY();
                memcpy(bad, sig, siglen);
                bad[siglen] = 0;
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(bad, siglen + 1), 0);
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(sig, siglen - 1), 0);
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(sig, 0), 0);
                if (sig[1] < 0x80) {
                    const size_t bl = ber_padded(sig, siglen, bad);
                    CHECK_EQ_INT(sgs_sig_is_ecdsa_der(bad, bl), 0);
                    CHECK_EQ_INT(verify(k1, &p, d, dlen, bad, bl), 0);
                    const size_t pl = padded_r(sig, siglen, bad);
                    CHECK_EQ_INT(sgs_sig_is_ecdsa_der(bad, pl), 0);
                    CHECK_EQ_INT(verify(k1, &p, d, dlen, bad, pl), 0);
                }
                for (int i = 0; i < 32; i++) {
                    sgs_test_fill(&rng, bad, siglen);
                    CHECK_EQ_INT(sgs_sig_is_ecdsa_der(bad, siglen), 0);
                }
                /* raw r||s (P1363), the other common encoding: not DER, not accepted */
                const unsigned char *cur = sig;
                ECDSA_SIG *const es = d2i_ECDSA_SIG(NULL, &cur, (long)siglen);
                REQUIRE(es != NULL);
                const int nb = (EVP_PKEY_get_bits(k1) + 7) / 8;
                const BIGNUM *r = NULL, *sv = NULL;
                ECDSA_SIG_get0(es, &r, &sv);
                REQUIRE(BN_bn2binpad(r, bad, nb) == nb && BN_bn2binpad(sv, bad + nb, nb) == nb);
                ECDSA_SIG_free(es);
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(bad, (size_t)(2 * nb)), 0);
                CHECK_EQ_INT(verify(k1, &p, d, dlen, bad, (size_t)(2 * nb)), 0);
                /* ECDSA is randomised: a second signature differs and verifies */
                const size_t l2 = sign_digest(k1, &p, d, dlen, sig2);
                CHECK(l2 != siglen || memcmp(sig, sig2, siglen) != 0);
                CHECK_EQ_INT(verify(k1, &p, d, dlen, sig2, l2), 1);
                CHECK_EQ_INT(sgs_sig_is_ecdsa_der(sig2, l2), 1);
            }

            /* A reused verification context gives the same answers (the engine's path). */
            EVP_PKEY_CTX *const vctx = sgs_verifier_new(k1, &p);
            CHECK(vctx != NULL);
            CHECK_QUEUE_EMPTY();
            uint8_t s3[SIG_MAX];
            memcpy(s3, sig, siglen);
            s3[siglen - 1] ^= 1;
            CHECK_EQ_INT(sgs_verifier_check(vctx, d, dlen, sig, siglen), 1);
            CHECK_EQ_INT(sgs_verifier_check(vctx, d, dlen, s3, siglen), 0);
            CHECK_EQ_INT(sgs_verifier_check(vctx, d384, olen, sig, siglen), 0);
            CHECK_EQ_INT(sgs_verifier_check(vctx, d, dlen, sig, siglen + 1), 0);
            CHECK_EQ_INT(sgs_verifier_check(vctx, d, dlen, sig, 0), 0);
            CHECK_EQ_INT(sgs_verifier_check(vctx, d, dlen, sig, siglen), 1);
            CHECK_QUEUE_EMPTY();
            EVP_PKEY_CTX_free(vctx);
        }
    }
}

static void
test_ed25519(EVP_PKEY *k1, EVP_PKEY *k2, const uint8_t *msg, size_t len)
{
    uint8_t sig[SIG_MAX + 2], sig2[SIG_MAX], m2[4096];
    char err[160] = "";
    REQUIRE(len <= sizeof(m2));
    for (int empty = 0; empty <= 1; empty++) {
        const uint8_t *const mp = empty ? NULL : msg;
        const size_t ml = empty ? 0 : len;
        size_t siglen = SIG_MAX;
        REQUIRE(sgs_sign_message(k1, mp, ml, sig, &siglen, err, sizeof(err)) == 1);
        CHECK_QUEUE_EMPTY();
        CHECK_EQ_INT(siglen, 64);
        size_t l2 = SIG_MAX;
        REQUIRE(sgs_sign_message(k1, mp, ml, sig2, &l2, err, sizeof(err)) == 1);
        CHECK(l2 == 64 && memcmp(sig, sig2, 64) == 0); /* deterministic */
        CHECK_EQ_INT(sgs_verify_message(k1, mp, ml, sig, siglen), 1);
        CHECK_QUEUE_EMPTY();
        if (!empty) {
            const size_t bits[] = {0, len * 4 + 3, len * 8 - 1};
            for (size_t i = 0; i < 3; i++) {
                memcpy(m2, msg, len);
                m2[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
                CHECK_EQ_INT(sgs_verify_message(k1, m2, len, sig, siglen), 0);
            }
            CHECK_EQ_INT(sgs_verify_message(k1, msg, len - 1, sig, siglen), 0);
            CHECK_EQ_INT(sgs_verify_message(k1, NULL, 0, sig, siglen), 0);
        } else {
            CHECK_EQ_INT(sgs_verify_message(k1, (const uint8_t *)"", 1, sig, siglen), 0);
        }
        const size_t at[] = {0, 32, 63};
        for (size_t i = 0; i < 3; i++) {
            memcpy(sig2, sig, 64);
            sig2[at[i]] ^= 0x01;
            CHECK_EQ_INT(sgs_verify_message(k1, mp, ml, sig2, 64), 0);
        }
        CHECK_EQ_INT(sgs_verify_message(k2, mp, ml, sig, 64), 0);
        CHECK_EQ_INT(sgs_verify_message(k1, mp, ml, sig, 63), 0);
        sig[64] = 0;
        CHECK_EQ_INT(sgs_verify_message(k1, mp, ml, sig, 65), 0);
        CHECK_EQ_INT(sgs_verify_message(k1, mp, ml, sig, 0), 0);
        CHECK_EQ_INT(sgs_sig_is_ecdsa_der(sig, 64), 0);
        CHECK_QUEUE_EMPTY();
        CHECK_EQ_INT(sgs_verify_message(k1, mp, ml, sig, 64), 1);
    }
    /* Ed25519 keys have no prehash path: rejected, queue empty. */
    uint8_t d[32];
    const size_t dlen = digest_of(EVP_sha256(), msg, len, d);
    sgs_sig_params p;
    sgs_sig_params_init(&p, EVP_sha256(), 0);
    size_t siglen = SIG_MAX;
    REQUIRE(sgs_sign_message(k1, msg, len, sig, &siglen, err, sizeof(err)) == 1);
    CHECK_EQ_INT(verify(k1, &p, d, dlen, sig, siglen), 0);
    siglen = SIG_MAX;
    CHECK_EQ_INT(sgs_sign_prehash(k1, &p, d, dlen, sig, &siglen, err, sizeof(err)), 0);
    CHECK_QUEUE_EMPTY();
    CHECK(err[0] != '\0');
}

/* Signatures of one key type never verify with another type. */
static void
test_cross_type(EVP_PKEY *rsa, EVP_PKEY *p256, EVP_PKEY *ed, const uint8_t *msg, size_t len)
{
    uint8_t d[32], rs[SIG_MAX], es[SIG_MAX], edsig[SIG_MAX];
    char err[160];
    const size_t dlen = digest_of(EVP_sha256(), msg, len, d);
    sgs_sig_params p;
    sgs_sig_params_init(&p, EVP_sha256(), 0);
    const size_t rl = sign_digest(rsa, &p, d, dlen, rs);
    const size_t el = sign_digest(p256, &p, d, dlen, es);
    size_t edl = SIG_MAX;
    REQUIRE(sgs_sign_message(ed, msg, len, edsig, &edl, err, sizeof(err)) == 1);
    CHECK_EQ_INT(verify(p256, &p, d, dlen, rs, rl), 0);
    CHECK_EQ_INT(verify(rsa, &p, d, dlen, es, el), 0);
    CHECK_EQ_INT(verify(rsa, &p, d, dlen, edsig, edl), 0);
    CHECK_EQ_INT(verify(p256, &p, d, dlen, edsig, edl), 0);
    CHECK_EQ_INT(sgs_verify_message(ed, msg, len, es, el), 0);
    CHECK_EQ_INT(sgs_verify_message(ed, msg, len, rs, 64), 0);
    CHECK_QUEUE_EMPTY();
}

/*
 * An id-RSASSA-PSS key with parameters (hash SHA-256, MGF1 SHA-256, salt 32), as
 * `openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_pss_keygen_md:sha256 ...` makes.
 */
static EVP_PKEY *
restricted_pss_key(void)
{
    EVP_PKEY_CTX *const ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    EVP_PKEY *pk = NULL;
    REQUIRE(ctx != NULL && EVP_PKEY_keygen_init(ctx) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_keygen_md(ctx, EVP_sha256()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_keygen_mgf1_md(ctx, EVP_sha256()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_keygen_saltlen(ctx, 32) == 1);
    REQUIRE(EVP_PKEY_generate(ctx, &pk) == 1);
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

/* Keys that carry their own PSS parameters (keys.h SGS_KEY_RSA_PSS): sign and verify. */
static void
test_restricted_pss(const uint8_t *msg, size_t len)
{
    EVP_PKEY *const pk = restricted_pss_key();
    EVP_PKEY *const other = restricted_pss_key();
    ERR_clear_error();
    uint8_t d[32], sig[SIG_MAX + 2], cli[SIG_MAX];
    const size_t dlen = digest_of(EVP_sha256(), msg, len, d);
    /* a signature as `openssl dgst -sha256 -sign` makes it with such a key */
    EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
    size_t clilen = sizeof(cli);
    REQUIRE(mctx != NULL && EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
            EVP_DigestSign(mctx, cli, &clilen, msg, len) == 1);
    EVP_MD_CTX_free(mctx);

    sgs_sig_params p;
    sgs_sig_params_init(&p, EVP_sha256(), 1); /* as the engine passes it */
    const size_t siglen = sign_digest(pk, &p, d, dlen, sig);
    CHECK_EQ_INT(siglen, 256);
    sgs_sig_params ex = p;
    ex.saltlen = 32;
    CHECK_EQ_INT(verify(pk, &ex, d, dlen, sig, siglen), 1);  /* the signature is fine */
    CHECK_EQ_INT(verify(pk, &ex, d, dlen, cli, clilen), 1);
    /* the engine's call: salt auto-detected. ENGINE BUG (verify.c set_params): OpenSSL 3.0
       refuses RSA_PSS_SALTLEN_AUTO on keys with PSS parameters, so these return 0. */
    const int mine = verify(pk, &p, d, dlen, sig, siglen);
    const int theirs = verify(pk, &p, d, dlen, cli, clilen);
    if (!mine || !theirs)
        fprintf(stderr, "verify_test: ENGINE BUG: an RSA-PSS key with parameters verifies "
                        "nothing with the default (auto) salt length\n");
    CHECK_EQ_INT(mine, 1);
    CHECK_EQ_INT(theirs, 1);
    sgs_sig_params pk1;
    sgs_sig_params_init(&pk1, EVP_sha256(), 0); /* RSA-PSS keys are always PSS */
    CHECK_EQ_INT(verify(pk, &pk1, d, dlen, sig, siglen), mine);
    /* reject twins hold either way */
    prehash_twins(pk, other, &ex, d, dlen, sig, siglen);
    ex.saltlen = 20; /* below the key's minimum */
    CHECK_EQ_INT(verify(pk, &ex, d, dlen, sig, siglen), 0);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(other);
}

/* ---- oracle: the openssl CLI ------------------------------------------------------------ */

static char tmp[512];
static int oracle_runs;

static int
on_path(const char *prog)
{
    const char *const path = getenv("PATH");
    if (path == NULL)
        return 0;
    char *const copy = strdup(path);
    REQUIRE(copy != NULL);
    int found = 0;
    for (char *save = NULL, *d = strtok_r(copy, ":", &save); d != NULL && !found;
         d = strtok_r(NULL, ":", &save)) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", d[0] ? d : ".", prog);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

/* Runs a shell command in tmp; returns its exit status (-1 if it did not exit). */
static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
    char cmd[2048], full[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "cd '%s' && %s >oracle.log 2>&1", tmp, cmd);
    const int st = system(full);
    oracle_runs++;
    const int rc = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return rc;
}

static void
show_log(void)
{
    char p[PATH_MAX];
    size_t n = 0;
    snprintf(p, sizeof(p), "%s/oracle.log", tmp);
    unsigned char *const log = sgs_test_read(p, &n);
    if (log != NULL)
        fprintf(stderr, "openssl said: %s\n", (const char *)log);
    free(log);
}

#define CHECK_RUN(expect, ...) \
    do { \
        const int rc_ = run(__VA_ARGS__); \
        CHECK_EQ_INT(rc_ == 0, (expect) == 0); \
        if ((rc_ == 0) != ((expect) == 0)) \
            show_log(); \
    } while (0)

static void
write_keys(EVP_PKEY *pk, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s.key", tmp, name);
    FILE *f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    snprintf(p, sizeof(p), "%s/%s.pub", tmp, name);
    f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_PUBKEY(f, pk) == 1);
    fclose(f);
}

static uint8_t *
read_tmp(const char *name, size_t *len)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", tmp, name);
    uint8_t *const b = sgs_test_read(p, len);
    REQUIRE(b != NULL);
    return b;
}

static void
write_tmp(const char *name, const void *buf, size_t len)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", tmp, name);
    sgs_test_write(p, buf, len);
}

typedef struct oracle_case {
    const char *key;    /* file stem of the key pair */
    const char *hash;   /* openssl -HASH; NULL for Ed25519 */
    const EVP_MD *md;
    int pss;
    const char *sigopt; /* extra -sigopt for dgst -sign / -verify */
} oracle_case;

static void
test_oracle(EVP_PKEY *rsa, EVP_PKEY *p256, EVP_PKEY *p384, EVP_PKEY *ed, const uint8_t *msg,
            size_t len)
{
    if (!on_path("openssl")) {
        fprintf(stderr, "verify_test: openssl not on PATH, skipping the oracle tests\n");
        return;
    }
    sgs_test_tmpdir(tmp, sizeof(tmp), "oracle");
    write_keys(rsa, "rsa");
    write_keys(p256, "p256");
    write_keys(p384, "p384");
    write_keys(ed, "ed");
    write_tmp("data", msg, len);
    uint8_t *const flipped = malloc(len);
    REQUIRE(flipped != NULL);
    memcpy(flipped, msg, len);
    flipped[len / 3] ^= 0x10;
    write_tmp("flipped", flipped, len);

    static const char pss_sign[] = "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:";
    const oracle_case cases[] = {
        {"rsa", "sha256", EVP_sha256(), 0, ""},
        {"rsa", "sha512", EVP_sha512(), 0, ""},
        {"rsa", "sha256", EVP_sha256(), 1, "digest"},
        {"rsa", "sha256", EVP_sha256(), 1, "max"},
        {"rsa", "sha384", EVP_sha384(), 1, "20"},
        {"p256", "sha256", EVP_sha256(), 0, ""},
        {"p384", "sha384", EVP_sha384(), 0, ""},
        {"p384", "sha256", EVP_sha256(), 0, ""},
    };
    EVP_PKEY *const keys[] = {rsa, rsa, rsa, rsa, rsa, p256, p384, p384};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const oracle_case *const c = &cases[i];
        char opt[160] = "";
        if (c->pss)
            snprintf(opt, sizeof(opt), "%s%s", pss_sign, c->sigopt);
        /* openssl signs, the engine verifies */
        CHECK_RUN(0, "openssl dgst -%s -sign %s.key %s -out cli.sig data", c->hash, c->key, opt);
        size_t siglen = 0;
        uint8_t *const sig = read_tmp("cli.sig", &siglen);
        uint8_t d[EVP_MAX_MD_SIZE], fd[EVP_MAX_MD_SIZE];
        const size_t dlen = digest_of(c->md, msg, len, d);
        (void)digest_of(c->md, flipped, len, fd);
        sgs_sig_params p;
        sgs_sig_params_init(&p, c->md, c->pss);
        CHECK_EQ_INT(verify(keys[i], &p, d, dlen, sig, siglen), 1);
        CHECK_EQ_INT(verify(keys[i], &p, fd, dlen, sig, siglen), 0);
        free(sig);

        /* the engine signs, openssl verifies (PSS: salt auto-detected by the CLI) */
        uint8_t esig[SIG_MAX];
        const size_t el = sign_digest(keys[i], &p, d, dlen, esig);
        write_tmp("engine.sig", esig, el);
        char vopt[160] = "";
        if (c->pss)
            snprintf(vopt, sizeof(vopt), "%sauto", pss_sign);
        CHECK_RUN(0, "openssl dgst -%s -verify %s.pub %s -signature engine.sig data", c->hash,
                  c->key, vopt);
        CHECK_RUN(1, "openssl dgst -%s -verify %s.pub %s -signature engine.sig flipped", c->hash,
                  c->key, vopt);
    }

    /* Ed25519: pkeyutl -rawin both ways */
    CHECK_RUN(0, "openssl pkeyutl -sign -rawin -inkey ed.key -in data -out cli.sig");
    size_t siglen = 0;
    uint8_t *const sig = read_tmp("cli.sig", &siglen);
    CHECK_EQ_INT(siglen, 64);
    CHECK_EQ_INT(sgs_verify_message(ed, msg, len, sig, siglen), 1);
    CHECK_EQ_INT(sgs_verify_message(ed, flipped, len, sig, siglen), 0);
    free(sig);
    uint8_t esig[SIG_MAX];
    char err[160];
    size_t el = SIG_MAX;
    REQUIRE(sgs_sign_message(ed, msg, len, esig, &el, err, sizeof(err)) == 1);
    write_tmp("engine.sig", esig, el);
    CHECK_RUN(0, "openssl pkeyutl -verify -rawin -pubin -inkey ed.pub -sigfile engine.sig "
                 "-in data");
    CHECK_RUN(1, "openssl pkeyutl -verify -rawin -pubin -inkey ed.pub -sigfile engine.sig "
                 "-in flipped");
    free(flipped);
    sgs_test_rm_rf(tmp);
    fprintf(stderr, "verify_test: oracle: %d openssl runs\n", oracle_runs);
    CHECK_EQ_INT(oracle_runs, 8 * 3 + 3);
}

int
main(void)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0x7e51f1u));
    uint8_t msg[3001];
    sgs_test_fill(&rng, msg, sizeof(msg));
    EVP_PKEY *k1[sizeof(specs) / sizeof(specs[0])], *k2[sizeof(specs) / sizeof(specs[0])];
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        k1[i] = keygen(&specs[i]);
        k2[i] = keygen(&specs[i]);
        ERR_clear_error();
        fprintf(stderr, "verify_test: %s\n", specs[i].name);
        if (specs[i].kind == K_ED25519)
            test_ed25519(k1[i], k2[i], msg, sizeof(msg));
        else
            test_prehash(&specs[i], k1[i], k2[i], msg, sizeof(msg));
    }
    test_cross_type(k1[0], k1[1], k1[4], msg, sizeof(msg));
    test_restricted_pss(msg, sizeof(msg));
    test_oracle(k1[0], k1[1], k1[2], k1[4], msg, sizeof(msg));
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        EVP_PKEY_free(k1[i]);
        EVP_PKEY_free(k2[i]);
    }
    return sgs_test_done("verify_test");
}
