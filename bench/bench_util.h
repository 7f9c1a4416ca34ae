/*
 * bench_util.h - what the benchmark suites share: a lazily made temporary directory, a fixed
 * fill pattern, file writing, and a cache of keys generated in-process (so that a filtered run
 * pays only for the keys it uses). Each suite registers its benchmarks with the shim and hands
 * back a context freed after the run.
 */
#ifndef SGS_BENCH_UTIL_H
#define SGS_BENCH_UTIL_H

#include "bench_shim.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define SGS_BENCH_PATH_MAX 4096
#define SGS_BENCH_KEYS_MAX 16

/* State shared by the suites. THREAD SAFETY: used only from benchmark set-up, which runs on one
   thread at a time (thread 0 of a run; runs are sequential). */
typedef struct sgs_bench_env {
    char root[SGS_BENCH_PATH_MAX]; /* $TMPDIR/sgs-bench-XXXXXX, "" until first needed */
    struct {
        char spec[16];
        EVP_PKEY *pkey;
    } keys[SGS_BENCH_KEYS_MAX];
    size_t nkeys;
} sgs_bench_env;

void sgs_bench_env_init(sgs_bench_env *env);
/* Removes the temporary directory and frees the keys. */
void sgs_bench_env_reset(sgs_bench_env *env);

/*
 * Makes (once) and returns the directory root/sub in out. Returns 0, or -1 with the reason in
 * out.
 */
int sgs_bench_env_dir(sgs_bench_env *env, const char *sub, char *out, size_t n);

/*
 * A key pair generated in-process on first request and kept for the run: spec is "rsa2048",
 * "rsa3072", "rsa4096", "p256", "p384" or "ed25519". Owned by env. NULL on failure (reason in
 * err).
 */
EVP_PKEY *sgs_bench_env_key(sgs_bench_env *env, const char *spec, char *err, size_t errlen);

/* Fills buf with the fixed pattern (xorshift64* from `seed`): the same bytes on every run. */
void sgs_bench_fill(void *buf, size_t n, uint64_t seed);

/* Writes a whole file (created with `mode`, truncated). Returns 0, or -1 with errno set. */
int sgs_bench_write_file(const char *path, const void *buf, size_t len, unsigned mode);

/* rm -rf, without following symbolic links. */
void sgs_bench_rm_rf(const char *path);

/* Libcrypto's last error as text, and the thread's queue emptied. Returns buf. */
const char *sgs_bench_crypto_error(char *buf, size_t n);

/* The suites: each registers its benchmarks and returns a context for its _free (NULL if it
   could not allocate one; it then registers nothing). */
void *sgs_digest_bench_register(sgs_bench_env *env);
void sgs_digest_bench_free(void *ctx);
void *sgs_verify_bench_register(sgs_bench_env *env);
void sgs_verify_bench_free(void *ctx);
void *sgs_keys_bench_register(sgs_bench_env *env);
void sgs_keys_bench_free(void *ctx);
void *sgs_cache_bench_register(sgs_bench_env *env);
void sgs_cache_bench_free(void *ctx);
void *sgs_pool_bench_register(sgs_bench_env *env);
void sgs_pool_bench_free(void *ctx);
void *sgs_engine_bench_register(sgs_bench_env *env);
void sgs_engine_bench_free(void *ctx);

#endif
