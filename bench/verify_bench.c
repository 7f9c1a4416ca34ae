/*
 * verify_bench.c - signature verifications per second, per algorithm: the engine's calls next
 * to the raw EVP calls a program without the engine would make for each file.
 *
 * DESIGN: one case per algorithm; its key is generated in-process on first use, and the
 * signature is made with plain EVP (not with the engine), so the known-answer check before
 * timing is a cross-check: the engine and raw EVP both accept it, and both reject it with one
 * byte flipped.
 *   verify/engine/ALG  RSA, ECDSA: sgs_verifier_check() on a context from sgs_verifier_new()
 *                      made once, as each worker keeps one per key; Ed25519:
 *                      sgs_verify_message() (pure Ed25519 has no reusable context).
 *   verify/evp/ALG     RSA, ECDSA: a fresh EVP_PKEY_CTX per signature (new, verify_init,
 *                      signature md, padding, EVP_PKEY_verify, free), as `openssl dgst -verify`
 *                      does once per file; Ed25519: EVP_DigestVerifyInit_ex + EVP_DigestVerify.
 * RSA and P-256 sign a SHA-256 digest, P-384 a SHA-384 one; Ed25519 a 64-byte message.
 * Items/s = verifications per second on one thread.
 */
#include "bench_util.h"

#include "verify.h"

#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct verify_alg {
    const char *name; /* benchmark name suffix */
    const char *key;  /* sgs_bench_env_key spec */
    const char *hash; /* prehash; NULL: pure Ed25519 */
    int pss;
} verify_alg;

static const verify_alg algs[] = {
    {"rsa2048-pkcs1", "rsa2048", "SHA256", 0}, {"rsa2048-pss", "rsa2048", "SHA256", 1},
    {"rsa3072-pkcs1", "rsa3072", "SHA256", 0}, {"rsa3072-pss", "rsa3072", "SHA256", 1},
    {"rsa4096-pkcs1", "rsa4096", "SHA256", 0}, {"rsa4096-pss", "rsa4096", "SHA256", 1},
    {"ecdsa-p256", "p256", "SHA256", 0},       {"ecdsa-p384", "p384", "SHA384", 0},
    {"ed25519", "ed25519", NULL, 0},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

typedef struct verify_case {
    struct verify_bench *vb;
    const verify_alg *alg;
    int ready;
    EVP_PKEY *pkey; /* owned by the env */
    EVP_MD *md;     /* fetched; NULL for Ed25519 */
    uint8_t msg[64];
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t dlen;
    uint8_t sig[1024];
    size_t siglen;
} verify_case;

typedef struct verify_bench {
    sgs_bench_env *env;
    verify_case cases[NALGS];
    char why[256];
} verify_bench;

/* Hash, padding and (PSS) MGF1 and salt on a verify or sign context, as the openssl CLI sets
   them; salt: the hash length when signing, auto-detected when verifying. */
static int
set_raw_params(EVP_PKEY_CTX *ctx, const verify_case *vc, int verifying)
{
    if (EVP_PKEY_CTX_set_signature_md(ctx, vc->md) <= 0)
        return 0;
    if (!EVP_PKEY_is_a(vc->pkey, "RSA"))
        return 1;
    if (!vc->alg->pss)
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, vc->md) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, verifying ? RSA_PSS_SALTLEN_AUTO
                                                           : RSA_PSS_SALTLEN_DIGEST) > 0;
}

/* The raw path, one whole verification. 1 only when sig verifies. */
static int
raw_verify(const verify_case *vc, const uint8_t *sig, size_t siglen)
{
    int ok = 0;
    if (vc->md == NULL) {
        EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
        ok = mctx != NULL &&
             EVP_DigestVerifyInit_ex(mctx, NULL, NULL, NULL, NULL, vc->pkey, NULL) == 1 &&
             EVP_DigestVerify(mctx, sig, siglen, vc->msg, sizeof(vc->msg)) == 1;
        EVP_MD_CTX_free(mctx);
    } else {
        EVP_PKEY_CTX *const ctx = EVP_PKEY_CTX_new(vc->pkey, NULL);
        ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 && set_raw_params(ctx, vc, 1) &&
             EVP_PKEY_verify(ctx, sig, siglen, vc->digest, vc->dlen) == 1;
        EVP_PKEY_CTX_free(ctx);
    }
    return ok;
}

/* Key, message, digest and a signature made with plain EVP (once). 0, or -1 with vb->why. */
static int
prepare(verify_case *vc)
{
    verify_bench *const vb = vc->vb;
    char why[160];
    if (vc->ready)
        return 0;
    vc->pkey = sgs_bench_env_key(vb->env, vc->alg->key, vb->why, sizeof(vb->why));
    if (vc->pkey == NULL)
        return -1;
    sgs_bench_fill(vc->msg, sizeof(vc->msg), 7);
    vc->siglen = sizeof(vc->sig);
    int ok = 0;
    if (vc->alg->hash == NULL) {
        EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
        ok = mctx != NULL &&
             EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, vc->pkey, NULL) == 1 &&
             EVP_DigestSign(mctx, vc->sig, &vc->siglen, vc->msg, sizeof(vc->msg)) == 1;
        EVP_MD_CTX_free(mctx);
    } else {
        unsigned int dlen = 0;
        vc->md = EVP_MD_fetch(NULL, vc->alg->hash, NULL);
        ok = vc->md != NULL &&
             EVP_Digest(vc->msg, sizeof(vc->msg), vc->digest, &dlen, vc->md, NULL) == 1;
        vc->dlen = dlen;
        EVP_PKEY_CTX *const ctx = ok ? EVP_PKEY_CTX_new(vc->pkey, NULL) : NULL;
        ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 && set_raw_params(ctx, vc, 0) &&
             EVP_PKEY_sign(ctx, vc->sig, &vc->siglen, vc->digest, vc->dlen) == 1;
        EVP_PKEY_CTX_free(ctx);
    }
    if (!ok) {
        snprintf(vb->why, sizeof(vb->why), "%s: signing failed: %s", vc->alg->name,
                 sgs_bench_crypto_error(why, sizeof(why)));
        return -1;
    }
    vc->ready = 1;
    return 0;
}

/* The engine's path for this case with a context from sgs_verifier_new() (NULL: Ed25519). */
static int
engine_verify(const verify_case *vc, EVP_PKEY_CTX *ctx, const uint8_t *sig, size_t siglen)
{
    if (vc->md == NULL)
        return sgs_verify_message(vc->pkey, vc->msg, sizeof(vc->msg), sig, siglen);
    return sgs_verifier_check(ctx, vc->digest, vc->dlen, sig, siglen);
}

/* Known answer: both paths accept the signature and reject it with its middle byte flipped. */
static const char *
known_answer(verify_case *vc, EVP_PKEY_CTX *ctx)
{
    uint8_t bad[sizeof(vc->sig)];
    memcpy(bad, vc->sig, vc->siglen);
    bad[vc->siglen / 2] ^= 0x01;
    if (!engine_verify(vc, ctx, vc->sig, vc->siglen))
        return "the engine rejects a good signature";
    if (!raw_verify(vc, vc->sig, vc->siglen))
        return "raw EVP rejects a good signature";
    if (engine_verify(vc, ctx, bad, vc->siglen))
        return "the engine accepts a flipped signature";
    if (raw_verify(vc, bad, vc->siglen))
        return "raw EVP accepts a flipped signature";
    return NULL;
}

static void
bm_verify_engine(sgs_bench_state *st, void *arg)
{
    verify_case *const vc = arg;
    if (prepare(vc) != 0) {
        sgs_bench_skip(st, vc->vb->why);
        return;
    }
    EVP_PKEY_CTX *ctx = NULL;
    if (vc->md != NULL) {
        sgs_sig_params p;
        sgs_sig_params_init(&p, vc->md, vc->alg->pss);
        ctx = sgs_verifier_new(vc->pkey, &p);
        if (ctx == NULL) {
            sgs_bench_skip(st, "sgs_verifier_new failed");
            return;
        }
    }
    const char *const wrong = known_answer(vc, ctx);
    if (wrong != NULL) {
        sgs_bench_skip(st, wrong);
        EVP_PKEY_CTX_free(ctx);
        return;
    }
    while (sgs_bench_keep_running(st)) {
        if (!engine_verify(vc, ctx, vc->sig, vc->siglen))
            sgs_bench_skip(st, "the engine rejected a good signature");
    }
    sgs_bench_set_items(st, sgs_bench_iterations(st));
    EVP_PKEY_CTX_free(ctx);
}

static void
bm_verify_evp(sgs_bench_state *st, void *arg)
{
    verify_case *const vc = arg;
    if (prepare(vc) != 0) {
        sgs_bench_skip(st, vc->vb->why);
        return;
    }
    while (sgs_bench_keep_running(st)) {
        if (!raw_verify(vc, vc->sig, vc->siglen))
            sgs_bench_skip(st, "raw EVP rejected a good signature");
    }
    sgs_bench_set_items(st, sgs_bench_iterations(st));
}

void *
sgs_verify_bench_register(sgs_bench_env *env)
{
    verify_bench *const vb = calloc(1, sizeof(*vb));
    if (vb == NULL)
        return NULL;
    vb->env = env;
    /* Engine and EVP of one algorithm side by side in the output. */
    for (size_t i = 0; i < NALGS; i++) {
        verify_case *const vc = &vb->cases[i];
        vc->vb = vb;
        vc->alg = &algs[i];
        char name[64];
        snprintf(name, sizeof(name), "verify/engine/%s", algs[i].name);
        sgs_bench_set_unit(sgs_bench_register(name, bm_verify_engine, vc), SGS_BENCH_US);
        snprintf(name, sizeof(name), "verify/evp/%s", algs[i].name);
        sgs_bench_set_unit(sgs_bench_register(name, bm_verify_evp, vc), SGS_BENCH_US);
    }
    return vb;
}

void
sgs_verify_bench_free(void *ctx)
{
    verify_bench *const vb = ctx;
    if (vb == NULL)
        return;
    for (size_t i = 0; i < NALGS; i++)
        EVP_MD_free(vb->cases[i].md);
    free(vb);
}
