/*
 * digest_bench.c - file digest throughput by size: the engine's per-file path next to the
 * limit, a one-shot EVP_Digest over the same bytes already in memory.
 *
 * DESIGN: one file per size (1 KiB .. 64 MiB) holding the fixed fill pattern, written on
 * first use, so it sits in the page cache (warm: this measures CPU, not the disk).
 *   digest/file/N  what a worker does per file: open (O_NOFOLLOW|O_NONBLOCK), fstat,
 *                  sgs_digest_fd (64 KiB reads into EVP, fstat again), close;
 *   digest/evp/N   EVP_Digest over the pattern in memory, same fetched SHA-256.
 * Both report bytes/s; file/evp is the engine's share of the limit. Known answer before timing:
 * the file's digest equals EVP_Digest's, and EVP's SHA-256 of "abc" is FIPS 180-2's.
 */
#include "bench_util.h"

#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The engine's worker read buffer (engine.c READ_BUF_SIZE). */
#define DIGEST_BUF_SIZE (64u * 1024u)
#define NSIZES 5
#define PATTERN_SEED 251u

static const int64_t sizes[NSIZES] = {1024, 64 * 1024, 1024 * 1024, 8 * 1024 * 1024,
                                      64 * 1024 * 1024};

typedef struct digest_bench {
    sgs_bench_env *env;
    EVP_MD *md;    /* fetched once, as the engine does */
    uint8_t *data; /* the pattern, data_len bytes (the largest size asked for so far) */
    size_t data_len;
    int made[NSIZES];
    char path[NSIZES][SGS_BENCH_PATH_MAX];
    uint8_t expect[NSIZES][32];
    char why[SGS_BENCH_PATH_MAX + 128];
} digest_bench;

static int
size_index(int64_t size)
{
    for (int i = 0; i < NSIZES; i++)
        if (sizes[i] == size)
            return i;
    return -1;
}

/* Makes the pattern, the file of this size and its expected digest (once). 0 or -1 (why). */
static int
prepare(digest_bench *db, int i)
{
    if (db->made[i])
        return 0;
    const size_t size = (size_t)sizes[i];
    if (db->data_len < size) {
        free(db->data);
        db->data = malloc(size);
        db->data_len = 0;
        if (db->data == NULL) {
            snprintf(db->why, sizeof(db->why), "out of memory");
            return -1;
        }
        sgs_bench_fill(db->data, size, PATTERN_SEED);
        db->data_len = size;
    }
    char dir[SGS_BENCH_PATH_MAX - 32];
    if (sgs_bench_env_dir(db->env, "digest", dir, sizeof(dir)) != 0) {
        snprintf(db->why, sizeof(db->why), "%s", dir);
        return -1;
    }
    snprintf(db->path[i], sizeof(db->path[i]), "%s/%lld.bin", dir, (long long)size);
    if (sgs_bench_write_file(db->path[i], db->data, size, 0600) != 0) {
        snprintf(db->why, sizeof(db->why), "write %s: %s", db->path[i], strerror(errno));
        return -1;
    }
    unsigned int len = 0;
    if (EVP_Digest(db->data, size, db->expect[i], &len, db->md, NULL) != 1 || len != 32) {
        snprintf(db->why, sizeof(db->why), "EVP_Digest failed");
        return -1;
    }
    db->made[i] = 1;
    return 0;
}

/* One file as a worker hashes it. Returns SGS_DIGEST_OK or the failure (why is filled). */
static sgs_digest_result
digest_file(digest_bench *db, sgs_digest_ctx *dc, const char *path, sgs_digest_out *out)
{
    const int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(db->why, sizeof(db->why), "open %s: %s", path, strerror(errno));
        if (fd >= 0)
            (void)close(fd);
        return SGS_DIGEST_IO_ERROR;
    }
    const sgs_digest_result r = sgs_digest_fd(dc, fd, db->md, &sb, 0, out);
    (void)close(fd);
    if (r != SGS_DIGEST_OK)
        snprintf(db->why, sizeof(db->why), "sgs_digest_fd %s: result %d", path, (int)r);
    return r;
}

static void
bm_digest_file(sgs_bench_state *st, void *arg)
{
    digest_bench *const db = arg;
    const int i = size_index(sgs_bench_arg(st, 0));
    sgs_digest_ctx dc;
    sgs_digest_out out;
    if (i < 0 || prepare(db, i) != 0) {
        sgs_bench_skip(st, i < 0 ? "no such size" : db->why);
        return;
    }
    if (sgs_digest_ctx_init(&dc, NULL, DIGEST_BUF_SIZE) != SGS_OK) {
        sgs_bench_skip(st, "sgs_digest_ctx_init failed");
        return;
    }
    /* Known answer: the engine's digest of the file is EVP's of the same bytes. */
    db->why[0] = '\0';
    if (digest_file(db, &dc, db->path[i], &out) != SGS_DIGEST_OK || out.md_len != 32 ||
        out.bytes != (uint64_t)sizes[i] || memcmp(out.md, db->expect[i], 32) != 0) {
        sgs_bench_skip(st, db->why[0] ? db->why : "sgs_digest_fd: wrong digest");
        sgs_digest_ctx_reset(&dc);
        return;
    }
    while (sgs_bench_keep_running(st)) {
        if (digest_file(db, &dc, db->path[i], &out) != SGS_DIGEST_OK)
            sgs_bench_skip(st, db->why);
    }
    sgs_bench_set_bytes(st, sgs_bench_iterations(st) * sizes[i]);
    sgs_digest_ctx_reset(&dc);
}

static void
bm_digest_evp(sgs_bench_state *st, void *arg)
{
    digest_bench *const db = arg;
    const int i = size_index(sgs_bench_arg(st, 0));
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (i < 0 || prepare(db, i) != 0) {
        sgs_bench_skip(st, i < 0 ? "no such size" : db->why);
        return;
    }
    /* Known answer: SHA-256("abc") (FIPS 180-2, B.1), so the limit is the right hash. */
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    if (EVP_Digest("abc", 3, md, &len, db->md, NULL) != 1 || len != 32 ||
        memcmp(md, abc, 32) != 0) {
        sgs_bench_skip(st, "EVP SHA-256 known answer failed");
        return;
    }
    const size_t size = (size_t)sizes[i];
    while (sgs_bench_keep_running(st)) {
        if (EVP_Digest(db->data, size, md, &len, db->md, NULL) != 1)
            sgs_bench_skip(st, "EVP_Digest failed");
    }
    if (memcmp(md, db->expect[i], 32) != 0)
        sgs_bench_skip(st, "EVP_Digest: wrong digest");
    sgs_bench_set_bytes(st, sgs_bench_iterations(st) * sizes[i]);
}

void *
sgs_digest_bench_register(sgs_bench_env *env)
{
    digest_bench *const db = calloc(1, sizeof(*db));
    if (db == NULL)
        return NULL;
    db->env = env;
    db->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (db->md == NULL) {
        free(db);
        return NULL;
    }
    static const struct {
        const char *name;
        sgs_bench_fn fn;
    } kinds[] = {{"digest/file", bm_digest_file}, {"digest/evp", bm_digest_evp}};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        sgs_bench *const b = sgs_bench_register(kinds[k].name, kinds[k].fn, db);
        for (int i = 0; i < NSIZES; i++)
            sgs_bench_add_arg(b, sizes[i]);
        sgs_bench_set_unit(b, SGS_BENCH_US);
    }
    return db;
}

void
sgs_digest_bench_free(void *ctx)
{
    digest_bench *const db = ctx;
    if (db == NULL)
        return;
    for (int i = 0; i < NSIZES; i++)
        if (db->made[i])
            (void)unlink(db->path[i]);
    EVP_MD_free(db->md);
    free(db->data);
    free(db);
}
