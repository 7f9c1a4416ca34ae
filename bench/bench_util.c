/*
 * bench_util.c - temporary directory, fill pattern, files and in-process keys for the suites.
 *
 * DESIGN: nothing is made at start-up; a run filtered to one benchmark creates only the files
 * and keys that benchmark asks for (an RSA-4096 key takes a second to generate, the digest
 * files reach 64 MiB). Everything lives under one temporary directory, removed at exit.
 */
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
sgs_bench_env_init(sgs_bench_env *env)
{
    memset(env, 0, sizeof(*env));
}

void
sgs_bench_env_reset(sgs_bench_env *env)
{
    if (env->root[0] != '\0')
        sgs_bench_rm_rf(env->root);
    for (size_t i = 0; i < env->nkeys; i++)
        EVP_PKEY_free(env->keys[i].pkey);
    sgs_bench_env_init(env);
}

int
sgs_bench_env_dir(sgs_bench_env *env, const char *sub, char *out, size_t n)
{
    if (env->root[0] == '\0') {
        const char *base = getenv("TMPDIR");
        if (base == NULL || base[0] == '\0')
            base = "/tmp";
        char tmpl[SGS_BENCH_PATH_MAX];
        snprintf(tmpl, sizeof(tmpl), "%s/sgs-bench-XXXXXX", base);
        if (mkdtemp(tmpl) == NULL) {
            snprintf(out, n, "mkdtemp %s: %s", tmpl, strerror(errno));
            return -1;
        }
        memcpy(env->root, tmpl, sizeof(tmpl));
    }
    const int len = snprintf(out, n, "%s/%s", env->root, sub);
    if (len < 0 || (size_t)len >= n) {
        snprintf(out, n, "path too long");
        return -1;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        const int e = errno;
        char path[SGS_BENCH_PATH_MAX];
        snprintf(path, sizeof(path), "%s", out);
        snprintf(out, n, "mkdir %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

const char *
sgs_bench_crypto_error(char *buf, size_t n)
{
    const unsigned long e = ERR_peek_last_error();
    if (e == 0)
        snprintf(buf, n, "no libcrypto error");
    else
        ERR_error_string_n(e, buf, n);
    ERR_clear_error();
    return buf;
}

EVP_PKEY *
sgs_bench_env_key(sgs_bench_env *env, const char *spec, char *err, size_t errlen)
{
    for (size_t i = 0; i < env->nkeys; i++)
        if (strcmp(env->keys[i].spec, spec) == 0)
            return env->keys[i].pkey;
    if (env->nkeys == SGS_BENCH_KEYS_MAX) {
        snprintf(err, errlen, "too many keys");
        return NULL;
    }
    EVP_PKEY *pkey = NULL;
    if (strncmp(spec, "rsa", 3) == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)strtoul(spec + 3, NULL, 10));
    else if (strcmp(spec, "p256") == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (strcmp(spec, "p384") == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    else if (strcmp(spec, "ed25519") == 0)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else {
        snprintf(err, errlen, "unknown key spec %s", spec);
        return NULL;
    }
    if (pkey == NULL) {
        char why[160];
        snprintf(err, errlen, "%s keygen: %s", spec, sgs_bench_crypto_error(why, sizeof(why)));
        return NULL;
    }
    snprintf(env->keys[env->nkeys].spec, sizeof(env->keys[0].spec), "%s", spec);
    env->keys[env->nkeys].pkey = pkey;
    env->nkeys++;
    return pkey;
}

void
sgs_bench_fill(void *buf, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    unsigned char *const p = buf;
    size_t i = 0;
    while (i < n) {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        uint64_t r = s * 0x2545F4914F6CDD1Dull;
        for (int k = 0; k < 8 && i < n; k++, i++) {
            p[i] = (unsigned char)r;
            r >>= 8;
        }
    }
}

int
sgs_bench_write_file(const char *path, const void *buf, size_t len, unsigned mode)
{
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        const ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            const int e = w < 0 ? errno : EIO;
            (void)close(fd);
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

static int
rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D)
        (void)rmdir(path);
    else
        (void)unlink(path);
    return 0;
}

void
sgs_bench_rm_rf(const char *path)
{
    (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
