/*
 * digest_test.c - streaming file digest: chunked equals one-shot EVP_Digest at every buffer
 * boundary, for SHA-256/384/512, with and without keeping the bytes (kept bytes equal the
 * file); TOO_LARGE at the keep cap (+-1); CHANGED when the `before` stat differs in size, mtime,
 * ctime or identity, or when the file grows between fstat and read; IO_ERROR; sgs_hex.
 */
#include "digest.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>

static char dir[512];
static sgs_test_rng rng;

/* Writes `size` random bytes to a fresh file; returns the bytes (caller frees). */
static unsigned char *
make_file(const char *path, size_t size)
{
    unsigned char *const data = malloc(size + 1);
    REQUIRE(data != NULL);
    sgs_test_fill(&rng, data, size);
    sgs_test_write(path, data, size);
    return data;
}

static void
one_shot(const EVP_MD *md, const unsigned char *data, size_t size, unsigned char *out,
         unsigned *outlen)
{
    REQUIRE(EVP_Digest(data, size, out, outlen, md, NULL) == 1);
}

static void
test_chunked_equals_one_shot(void)
{
    static const size_t bufsizes[] = {1000, 4096, 65536};
    const EVP_MD *const mds[] = {EVP_sha256(), EVP_sha384(), EVP_sha512()};
    const sgs_hash ids[] = {SGS_HASH_SHA256, SGS_HASH_SHA384, SGS_HASH_SHA512};
    size_t cases = 0;
    for (size_t b = 0; b < sizeof(bufsizes) / sizeof(bufsizes[0]); b++) {
        const size_t bs = bufsizes[b];
        /* 65535/65536/65537 and 131071..131073 straddle the keep buffer's own growth steps */
        const size_t sizes[] = {0,       1,       4095,    4096,   4097,     bs - 1,
                                bs,      bs + 1,  2 * bs,  65535,  65536,    65537,
                                131071,  131072,  131073,  (1u << 20) + 7};
        sgs_digest_ctx c;
        REQUIRE(sgs_digest_ctx_init(&c, NULL, bs) == SGS_OK);
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            const size_t size = sizes[s];
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/f%zu_%zu", dir, bs, size);
            unsigned char *const data = make_file(path, size);
            for (size_t h = 0; h < 3; h++) {
                CHECK(sgs_hash_md(ids[h]) == mds[h]);
                unsigned char want[EVP_MAX_MD_SIZE];
                unsigned wantlen = 0;
                one_shot(mds[h], data, size, want, &wantlen);
                for (int keep = 0; keep <= 1; keep++) {
                    const int fd = open(path, O_RDONLY | O_CLOEXEC);
                    REQUIRE(fd >= 0);
                    struct stat before;
                    REQUIRE(fstat(fd, &before) == 0);
                    sgs_digest_out out;
                    /* keep_max == size: exactly at the cap is allowed */
                    const uint64_t keep_max = keep ? (size > 0 ? size : 1) : 0;
                    const sgs_digest_result r =
                        sgs_digest_fd(&c, fd, mds[h], &before, keep_max, &out);
                    close(fd);
                    cases++;
                    CHECK_EQ_INT(r, SGS_DIGEST_OK);
                    CHECK_EQ_INT(out.md_len, wantlen);
                    CHECK_EQ_INT(out.bytes, size);
                    CHECK_EQ_MEM(out.md, want, wantlen);
                    CHECK(out.change == NULL);
                    if (keep && size > 0) { /* an empty file needs no kept copy */
                        REQUIRE(c.keep != NULL);
                        CHECK(c.keep_cap >= size);
                        CHECK_EQ_MEM(c.keep, data, size);
                    }
                }
            }
            free(data);
            unlink(path);
        }
        sgs_digest_ctx_reset(&c);
        CHECK(c.buf == NULL && c.keep == NULL && c.mdctx == NULL);
    }
    CHECK_EQ_INT(cases, 3 * 16 * 3 * 2);
}

/* Opens path, fstat's it and hashes it with SHA-256 after `mutate` edits the stat. */
static sgs_digest_result
digest_with(sgs_digest_ctx *c, const char *path, void (*mutate)(struct stat *), uint64_t keep,
            sgs_digest_out *out)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    struct stat before;
    REQUIRE(fstat(fd, &before) == 0);
    if (mutate != NULL)
        mutate(&before);
    const sgs_digest_result r = sgs_digest_fd(c, fd, EVP_sha256(), &before, keep, out);
    close(fd);
    return r;
}

static void
bigger(struct stat *sb)
{
    sb->st_size += 1;
}

static void
smaller(struct stat *sb)
{
    sb->st_size -= 1;
}

static void
older_mtime(struct stat *sb)
{
    sb->st_mtim.tv_nsec = (sb->st_mtim.tv_nsec + 1) % 1000000000L;
}

static void
older_mtime_sec(struct stat *sb)
{
    sb->st_mtim.tv_sec -= 1;
}

static void
other_ctime(struct stat *sb)
{
    sb->st_ctim.tv_sec -= 5;
}

static void
other_ino(struct stat *sb)
{
    sb->st_ino += 1;
}

static void
other_dev(struct stat *sb)
{
    sb->st_dev += 1;
}

static void
test_changed(void)
{
    sgs_digest_ctx c;
    REQUIRE(sgs_digest_ctx_init(&c, NULL, 4096) == SGS_OK);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/changing", dir);
    free(make_file(path, 10000));
    sgs_digest_out out;
    static const struct {
        void (*mutate)(struct stat *);
        const char *word;
    } cases[] = {
        {bigger, "size"},           {smaller, "size"}, {older_mtime, "modification"},
        {older_mtime_sec, "modification"}, {other_ctime, "status change"},
        {other_ino, "replaced"},    {other_dev, "replaced"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (uint64_t keep = 0; keep <= 20000; keep += 20000) {
            const sgs_digest_result r = digest_with(&c, path, cases[i].mutate, keep, &out);
            CHECK_EQ_INT(r, SGS_DIGEST_CHANGED);
            CHECK(out.change != NULL && strstr(out.change, cases[i].word) != NULL);
        }
    }
    /* The unchanged twin is OK. */
    CHECK_EQ_INT(digest_with(&c, path, NULL, 0, &out), SGS_DIGEST_OK);
    CHECK(out.change == NULL);

    /* Really changed: the file grows after the fstat, before the read. */
    for (int keep = 0; keep <= 1; keep++) {
        const int fd = open(path, O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        struct stat before;
        REQUIRE(fstat(fd, &before) == 0);
        const int wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        REQUIRE(wfd >= 0);
        REQUIRE(write(wfd, "grown", 5) == 5);
        close(wfd);
        const sgs_digest_result r =
            sgs_digest_fd(&c, fd, EVP_sha256(), &before, keep ? 1u << 20 : 0, &out);
        close(fd);
        CHECK_EQ_INT(r, SGS_DIGEST_CHANGED);
        CHECK(out.change != NULL);
    }
    /* Really changed: truncated after the fstat. */
    {
        const int fd = open(path, O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        struct stat before;
        REQUIRE(fstat(fd, &before) == 0);
        REQUIRE(truncate(path, 100) == 0);
        const sgs_digest_result r = sgs_digest_fd(&c, fd, EVP_sha256(), &before, 0, &out);
        close(fd);
        CHECK_EQ_INT(r, SGS_DIGEST_CHANGED);
        CHECK_EQ_INT(out.bytes, 100);
    }
    /* Grown beyond the kept buffer's capacity while being kept: CHANGED, no overflow. */
    {
        free(make_file(path, 1000));
        const int fd = open(path, O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        struct stat before;
        REQUIRE(fstat(fd, &before) == 0);
        unsigned char *const more = malloc(300000);
        REQUIRE(more != NULL);
        sgs_test_fill(&rng, more, 300000);
        const int wfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        REQUIRE(wfd >= 0);
        REQUIRE(write(wfd, more, 300000) == 300000);
        close(wfd);
        free(more);
        sgs_digest_ctx fresh;
        REQUIRE(sgs_digest_ctx_init(&fresh, NULL, 4096) == SGS_OK);
        const sgs_digest_result r = sgs_digest_fd(&fresh, fd, EVP_sha256(), &before, 2000, &out);
        close(fd);
        CHECK_EQ_INT(r, SGS_DIGEST_CHANGED);
        CHECK(fresh.keep_cap < 300000);
        sgs_digest_ctx_reset(&fresh);
    }
    unlink(path);
    sgs_digest_ctx_reset(&c);
}

static void
test_too_large(void)
{
    sgs_digest_ctx c;
    REQUIRE(sgs_digest_ctx_init(&c, NULL, 4096) == SGS_OK);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/large", dir);
    const size_t size = 70000;
    unsigned char *const data = make_file(path, size);
    sgs_digest_out out;
    CHECK_EQ_INT(digest_with(&c, path, NULL, size - 1, &out), SGS_DIGEST_TOO_LARGE);
    CHECK_EQ_INT(digest_with(&c, path, NULL, 1, &out), SGS_DIGEST_TOO_LARGE);
    CHECK_EQ_INT(digest_with(&c, path, NULL, size, &out), SGS_DIGEST_OK);
    CHECK_EQ_MEM(c.keep, data, size);
    CHECK_EQ_INT(digest_with(&c, path, NULL, size + 1, &out), SGS_DIGEST_OK);
    CHECK_EQ_INT(digest_with(&c, path, NULL, 0, &out), SGS_DIGEST_OK); /* 0: no keep, no cap */
    CHECK_EQ_INT(out.bytes, size);
    free(data);
    unlink(path);
    sgs_digest_ctx_reset(&c);
}

static void
test_io_error(void)
{
    sgs_digest_ctx c;
    REQUIRE(sgs_digest_ctx_init(&c, NULL, 4096) == SGS_OK);
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    struct stat before;
    REQUIRE(fstat(fd, &before) == 0);
    sgs_digest_out out;
    CHECK_EQ_INT(sgs_digest_fd(&c, fd, EVP_sha256(), &before, 0, &out), SGS_DIGEST_IO_ERROR);
    CHECK_EQ_INT(out.errno_value, EISDIR);
    close(fd);
    sgs_digest_ctx_reset(&c);
}

static void
test_alloc_failure(void)
{
    for (long n = 1; n <= 2; n++) {
        sgs_test_alloc ta;
        sgs_test_alloc_init(&ta, n, 0);
        const sgs_allocator a = sgs_test_allocator(&ta);
        sgs_digest_ctx c;
        CHECK_EQ_INT(sgs_digest_ctx_init(&c, &a, 4096), n == 1 ? SGS_ERR_NOMEM : SGS_OK);
        if (n == 2) {
            /* the keep buffer is allocation 2: NOMEM, and the context stays usable */
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/nomem", dir);
            free(make_file(path, 100));
            sgs_digest_out out;
            CHECK_EQ_INT(digest_with(&c, path, NULL, 1000, &out), SGS_DIGEST_NOMEM);
            CHECK_EQ_INT(digest_with(&c, path, NULL, 0, &out), SGS_DIGEST_OK);
            CHECK_EQ_INT(digest_with(&c, path, NULL, 1000, &out), SGS_DIGEST_OK);
            unlink(path);
        }
        sgs_digest_ctx_reset(&c);
        CHECK_EQ_INT(atomic_load(&ta.live), 0);
    }
}

static void
test_hex(void)
{
    static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char out[2 * sizeof(in) + 1];
    memset(out, 'X', sizeof(out));
    sgs_hex(in, sizeof(in), out);
    CHECK_EQ_STR(out, "00017f80abcdefff");
    memset(out, 'X', sizeof(out));
    sgs_hex(in, 0, out);
    CHECK_EQ_STR(out, "");
    sgs_hex(in + 7, 1, out);
    CHECK_EQ_STR(out, "ff");
    /* sha256("abc") through the engine's table */
    unsigned char md[32];
    unsigned mdlen = 0;
    REQUIRE(EVP_Digest("abc", 3, md, &mdlen, sgs_hash_md(SGS_HASH_SHA256), NULL) == 1);
    char hex[SGS_DIGEST_HEX_MAX];
    sgs_hex(md, mdlen, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sgs_hash_md(SGS_HASH_COUNT) == NULL);
}

int
main(void)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0x5eed0d16u));
    sgs_test_tmpdir(dir, sizeof(dir), "digest");
    test_hex();
    test_chunked_equals_one_shot();
    test_too_large();
    test_changed();
    test_io_error();
    test_alloc_failure();
    sgs_test_rm_rf(dir);
    return sgs_test_done("digest_test");
}
