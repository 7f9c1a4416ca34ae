/*
 * engine_bench.c - the whole engine end to end: sgs_engine_* with SGS_OP_VERIFY over a tree
 * of N small signed files (wall-clock time).
 *
 * DESIGN: on first use for a given N, a tree of N files of FILE_SIZE bytes (fixed fill
 * pattern, 16 subdirectories) is written under the temporary directory and signed by the
 * engine itself (SGS_OP_SIGN, RSA-2048 PKCS#1 v1.5 over SHA-256, a key made in-process; its
 * PEM file is deleted once the tree is signed). One iteration is a whole run as the CLI makes
 * it, minus the process: sgs_engine_create (default threads: online CPUs), add the public
 * key, submit the tree, finish, free. Records are counted in the callback.
 * Items/s are files per second, bytes/s file bytes per second (page cache warm).
 * Known answer before timing and after every iteration: N records, all VALID.
 */
#include "bench_util.h"

#include "sigsweep.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_SIZE 4096
#define SUBDIRS 16
#define NCOUNTS 2

static const int64_t counts[NCOUNTS] = {128, 4096};

typedef struct engine_tally {
    uint64_t records, valid;
    char first_bad[512]; /* path, verdict and reason of the first non-VALID record */
} engine_tally;

typedef struct engine_bench {
    sgs_bench_env *env;
    int made[NCOUNTS];
    char tree[NCOUNTS][SGS_BENCH_PATH_MAX];
    char pub[SGS_BENCH_PATH_MAX]; /* public key PEM; "" until made */
    char why[SGS_BENCH_PATH_MAX + 256];
} engine_bench;

static void
on_record(void *opaque, const sgs_record *rec)
{
    engine_tally *const t = opaque;
    t->records++;
    if (rec->verdict == SGS_V_VALID)
        t->valid++;
    else if (t->first_bad[0] == '\0')
        snprintf(t->first_bad, sizeof(t->first_bad), "%s: %s (%s)", rec->path,
                 sgs_verdict_name(rec->verdict), rec->reason);
}

/* One engine run of `op` over `tree`; key is the public (verify) or private (sign) key file.
   0 when every one of n records is VALID, else -1 with eb->why. */
static int
run_engine(engine_bench *eb, sgs_op op, const char *key, const char *tree, uint64_t n)
{
    engine_tally t;
    memset(&t, 0, sizeof(t));
    sgs_config cfg;
    sgs_config_init(&cfg);
    cfg.op = op;
    cfg.on_record = on_record;
    cfg.opaque = &t;
    sgs_engine *e = NULL;
    sgs_status st = sgs_engine_create(&cfg, &e);
    const char *step = "create";
    if (st == SGS_OK) {
        step = op == SGS_OP_SIGN ? "set_signing_key" : "add_key";
        st = op == SGS_OP_SIGN ? sgs_engine_set_signing_key(e, key) : sgs_engine_add_key(e, key);
    }
    if (st == SGS_OK) {
        step = "submit";
        st = sgs_engine_submit(e, tree);
    }
    if (st == SGS_OK) {
        step = "finish";
        st = sgs_engine_finish(e);
    }
    if (st != SGS_OK)
        snprintf(eb->why, sizeof(eb->why), "sgs_engine_%s: %s: %s", step, sgs_status_str(st),
                 e != NULL ? sgs_engine_error(e) : "");
    sgs_engine_free(e);
    if (st != SGS_OK)
        return -1;
    if (t.records != n || t.valid != n) {
        snprintf(eb->why, sizeof(eb->why), "%llu records, %llu VALID, %llu expected; %s",
                 (unsigned long long)t.records, (unsigned long long)t.valid, (unsigned long long)n,
                 t.first_bad);
        return -1;
    }
    return 0;
}

/* Writes the key pair's PEM files (once): the public key stays, the private one is returned
   in priv and deleted by the caller after signing. */
static int
write_keys(engine_bench *eb, char *priv, size_t n)
{
    char dir[SGS_BENCH_PATH_MAX - 32];
    if (sgs_bench_env_dir(eb->env, "engine-keys", dir, sizeof(dir)) != 0) {
        snprintf(eb->why, sizeof(eb->why), "%s", dir);
        return -1;
    }
    EVP_PKEY *const pkey = sgs_bench_env_key(eb->env, "rsa2048", eb->why, sizeof(eb->why));
    if (pkey == NULL)
        return -1;
    snprintf(priv, n, "%s/sign.pem", dir);
    snprintf(eb->pub, sizeof(eb->pub), "%s/pub.pem", dir);
    BIO *const bio = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long len = 0;
    int ok = bio != NULL && PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1 &&
             (len = BIO_get_mem_data(bio, &mem)) > 0 &&
             sgs_bench_write_file(priv, mem, (size_t)len, 0600) == 0;
    if (ok) {
        (void)BIO_reset(bio); /* a read-write memory BIO: empties it (and wipes nothing) */
        ok = PEM_write_bio_PUBKEY(bio, pkey) == 1 && (len = BIO_get_mem_data(bio, &mem)) > 0 &&
             sgs_bench_write_file(eb->pub, mem, (size_t)len, 0644) == 0;
    }
    BIO_free(bio);
    if (!ok) {
        char why[160];
        snprintf(eb->why, sizeof(eb->why), "writing the key files: %s",
                 errno != 0 ? strerror(errno) : sgs_bench_crypto_error(why, sizeof(why)));
        (void)unlink(priv);
        eb->pub[0] = '\0';
        return -1;
    }
    return 0;
}

/* The signed tree of counts[i] files (once). 0, or -1 with eb->why. */
static int
prepare(engine_bench *eb, int i)
{
    if (eb->made[i])
        return 0;
    char sub[64], dir[SGS_BENCH_PATH_MAX + 64], path[SGS_BENCH_PATH_MAX + 128];
    snprintf(sub, sizeof(sub), "engine-%lld", (long long)counts[i]);
    if (sgs_bench_env_dir(eb->env, sub, eb->tree[i], sizeof(eb->tree[i])) != 0) {
        snprintf(eb->why, sizeof(eb->why), "%s", eb->tree[i]);
        return -1;
    }
    uint8_t buf[FILE_SIZE];
    for (int64_t f = 0; f < counts[i]; f++) {
        snprintf(dir, sizeof(dir), "%s/d%02d", eb->tree[i], (int)(f % SUBDIRS));
        snprintf(path, sizeof(path), "%s/f%06lld.bin", dir, (long long)f);
        sgs_bench_fill(buf, sizeof(buf), (uint64_t)f);
        if ((f < SUBDIRS && mkdir(dir, 0700) != 0 && errno != EEXIST) ||
            sgs_bench_write_file(path, buf, sizeof(buf), 0644) != 0) {
            snprintf(eb->why, sizeof(eb->why), "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    char priv[SGS_BENCH_PATH_MAX + 16];
    errno = 0;
    if (write_keys(eb, priv, sizeof(priv)) != 0)
        return -1;
    const int signed_ok = run_engine(eb, SGS_OP_SIGN, priv, eb->tree[i], (uint64_t)counts[i]);
    (void)unlink(priv);
    if (signed_ok != 0)
        return -1;
    eb->made[i] = 1;
    return 0;
}

static int
count_index(int64_t n)
{
    for (int i = 0; i < NCOUNTS; i++)
        if (counts[i] == n)
            return i;
    return -1;
}

static void
bm_engine_verify(sgs_bench_state *st, void *arg)
{
    engine_bench *const eb = arg;
    const int i = count_index(sgs_bench_arg(st, 0));
    if (i < 0) {
        sgs_bench_skip(st, "no such file count");
        return;
    }
    const uint64_t n = (uint64_t)counts[i];
    if (prepare(eb, i) != 0 || run_engine(eb, SGS_OP_VERIFY, eb->pub, eb->tree[i], n) != 0) {
        sgs_bench_skip(st, eb->why);
        return;
    }
    while (sgs_bench_keep_running(st)) {
        if (run_engine(eb, SGS_OP_VERIFY, eb->pub, eb->tree[i], n) != 0)
            sgs_bench_skip(st, eb->why);
    }
    sgs_bench_set_items(st, sgs_bench_iterations(st) * counts[i]);
    sgs_bench_set_bytes(st, sgs_bench_iterations(st) * counts[i] * FILE_SIZE);
}

void *
sgs_engine_bench_register(sgs_bench_env *env)
{
    engine_bench *const eb = calloc(1, sizeof(*eb));
    if (eb == NULL)
        return NULL;
    eb->env = env;
    sgs_bench *const b = sgs_bench_register("engine/verify_4k", bm_engine_verify, eb);
    sgs_bench_set_arg_name(b, "files");
    for (int i = 0; i < NCOUNTS; i++)
        sgs_bench_add_arg(b, counts[i]);
    sgs_bench_use_real_time(b);
    sgs_bench_set_unit(b, SGS_BENCH_MS);
    return eb;
}

void
sgs_engine_bench_free(void *ctx)
{
    free(ctx); /* the trees and keys go with the env's temporary directory */
}
