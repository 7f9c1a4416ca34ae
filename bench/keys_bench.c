/*
 * keys_bench.c - adding a public key to the key set: parsing fresh vs a key already present.
 *
 * DESIGN: the same PEM SubjectPublicKeyInfo each time (made in-process, per key type).
 *   keys/fresh/TYPE  a new key set per iteration: init, sgs_keyset_add_buffer, reset (the
 *                    whole cost of a first sighting: PEM decode, DER parse, SPKI fingerprint);
 *   keys/dup/TYPE    sgs_keyset_add_buffer into a set that already holds the key (a directory
 *                    of keys with duplicates, agents' copies of one server key): the set must
 *                    stay at one key.
 * dup/fresh near 1 means a duplicate costs a full parse (deduplication is by fingerprint,
 * after parsing); much below 1 means the set short-circuits known bytes.
 * Known answer before timing: one key, of the right type, whose fingerprint is SHA-256 of
 * i2d_PUBKEY computed here.
 */
#include "bench_util.h"

#include "keys.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct keys_type {
    const char *name;
    const char *key; /* sgs_bench_env_key spec */
    sgs_key_type type;
} keys_type;

static const keys_type types[] = {
    {"rsa2048", "rsa2048", SGS_KEY_RSA},
    {"p256", "p256", SGS_KEY_EC},
    {"ed25519", "ed25519", SGS_KEY_ED25519},
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

typedef struct keys_case {
    struct keys_bench *kb;
    const keys_type *type;
    int ready;
    char *pem; /* the PEM SubjectPublicKeyInfo (malloc) */
    size_t pem_len;
    uint8_t fp[32];
} keys_case;

typedef struct keys_bench {
    sgs_bench_env *env;
    keys_case cases[NTYPES];
    char why[256];
} keys_bench;

static int
prepare(keys_case *kc)
{
    keys_bench *const kb = kc->kb;
    if (kc->ready)
        return 0;
    EVP_PKEY *const pkey = sgs_bench_env_key(kb->env, kc->type->key, kb->why, sizeof(kb->why));
    if (pkey == NULL)
        return -1;
    unsigned char *der = NULL;
    const int der_len = i2d_PUBKEY(pkey, &der);
    unsigned int fp_len = 0;
    const int fp_ok =
        der_len > 0 && EVP_Digest(der, (size_t)der_len, kc->fp, &fp_len, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    BIO *const bio = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long n = 0;
    if (!fp_ok || bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1 ||
        (n = BIO_get_mem_data(bio, &mem)) <= 0 || (kc->pem = malloc((size_t)n)) == NULL) {
        char why[160];
        snprintf(kb->why, sizeof(kb->why), "%s: encoding failed: %s", kc->type->name,
                 sgs_bench_crypto_error(why, sizeof(why)));
        BIO_free(bio);
        return -1;
    }
    memcpy(kc->pem, mem, (size_t)n);
    kc->pem_len = (size_t)n;
    BIO_free(bio);
    kc->ready = 1;
    return 0;
}

static const char *
known_answer(const keys_case *kc, const sgs_keyset *ks)
{
    if (ks->count != 1)
        return "the key set does not hold exactly one key";
    if (ks->keys[0].type != kc->type->type)
        return "the key set parsed the wrong key type";
    if (memcmp(ks->keys[0].fp, kc->fp, 32) != 0)
        return "the key set's fingerprint differs from SHA-256(i2d_PUBKEY)";
    return NULL;
}

static void
bm_keys(sgs_bench_state *st, keys_case *kc, int dup)
{
    char err[256];
    sgs_keyset ks;
    if (prepare(kc) != 0) {
        sgs_bench_skip(st, kc->kb->why);
        return;
    }
    sgs_keyset_init(&ks, NULL);
    if (sgs_keyset_add_buffer(&ks, (const uint8_t *)kc->pem, kc->pem_len, err, sizeof(err)) !=
        SGS_OK) {
        sgs_bench_skip(st, err);
        return;
    }
    const char *wrong = known_answer(kc, &ks);
    if (wrong == NULL && dup) {
        if (sgs_keyset_add_buffer(&ks, (const uint8_t *)kc->pem, kc->pem_len, err, sizeof(err)) !=
            SGS_OK)
            wrong = "adding the key again failed";
        else
            wrong = known_answer(kc, &ks);
    }
    if (!dup)
        sgs_keyset_reset(&ks);
    if (wrong != NULL) {
        sgs_keyset_reset(&ks);
        sgs_bench_skip(st, wrong);
        return;
    }
    while (sgs_bench_keep_running(st)) {
        if (!dup)
            sgs_keyset_init(&ks, NULL);
        if (sgs_keyset_add_buffer(&ks, (const uint8_t *)kc->pem, kc->pem_len, err, sizeof(err)) !=
            SGS_OK)
            sgs_bench_skip(st, err);
        if (!dup)
            sgs_keyset_reset(&ks);
    }
    if (dup && ks.count != 1)
        sgs_bench_skip(st, "a duplicate key was added twice");
    sgs_keyset_reset(&ks);
    sgs_bench_set_items(st, sgs_bench_iterations(st));
}

static void
bm_keys_fresh(sgs_bench_state *st, void *arg)
{
    bm_keys(st, arg, 0);
}

static void
bm_keys_dup(sgs_bench_state *st, void *arg)
{
    bm_keys(st, arg, 1);
}

void *
sgs_keys_bench_register(sgs_bench_env *env)
{
    keys_bench *const kb = calloc(1, sizeof(*kb));
    if (kb == NULL)
        return NULL;
    kb->env = env;
    for (size_t i = 0; i < NTYPES; i++) {
        keys_case *const kc = &kb->cases[i];
        kc->kb = kb;
        kc->type = &types[i];
        char name[64];
        snprintf(name, sizeof(name), "keys/fresh/%s", types[i].name);
        sgs_bench_set_unit(sgs_bench_register(name, bm_keys_fresh, kc), SGS_BENCH_US);
        snprintf(name, sizeof(name), "keys/dup/%s", types[i].name);
        sgs_bench_set_unit(sgs_bench_register(name, bm_keys_dup, kc), SGS_BENCH_US);
    }
    return kb;
}

void
sgs_keys_bench_free(void *ctx)
{
    keys_bench *const kb = ctx;
    if (kb == NULL)
        return;
    for (size_t i = 0; i < NTYPES; i++)
        free(kb->cases[i].pem);
    free(kb);
}
