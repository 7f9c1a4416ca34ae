/*
 * sgs_test_util.h - helpers shared by the unit tests: a seeded PRNG, temporary directories,
 * whole-file I/O, hex decoding and an allocator that counts and fails the Nth allocation.
 * Header-only (static functions); include after sgs_test.h.
 */
#ifndef SGS_TEST_UTIL_H
#define SGS_TEST_UTIL_H

#include "sgs_test.h"
#include "sigsweep.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* xorshift64*: deterministic from the printed seed (STYLE 46). */
typedef struct sgs_test_rng {
    uint64_t s;
} sgs_test_rng;

static inline void
sgs_test_rng_init(sgs_test_rng *r, unsigned long seed)
{
    r->s = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (r->s == 0)
        r->s = 1;
}

static inline uint64_t
sgs_test_rand(sgs_test_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

static inline void
sgs_test_fill(sgs_test_rng *r, void *buf, size_t n)
{
    unsigned char *const p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(sgs_test_rand(r) >> 56);
}

/* Creates a fresh directory under $TMPDIR (or /tmp) into buf; exits on failure. */
static inline void
sgs_test_tmpdir(char *buf, size_t n, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    snprintf(buf, n, "%s/sgs-%s-XXXXXX", base, tag);
    REQUIRE(mkdtemp(buf) != NULL);
}

static inline int
sgs_test_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D)
        (void)rmdir(path);
    else
        (void)unlink(path);
    return 0;
}

/* rm -rf (does not follow symbolic links). */
static inline void
sgs_test_rm_rf(const char *path)
{
    (void)nftw(path, sgs_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void
sgs_test_write(const char *path, const void *buf, size_t len)
{
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    size_t done = 0;
    while (done < len) {
        const ssize_t w = write(fd, (const char *)buf + done, len - done);
        REQUIRE(w > 0);
        done += (size_t)w;
    }
    REQUIRE(close(fd) == 0);
}

/* Reads a whole file into a malloc'd buffer (NUL appended, not counted). NULL if absent. */
static inline unsigned char *
sgs_test_read(const char *path, size_t *len)
{
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    REQUIRE(buf != NULL);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            REQUIRE(buf != NULL);
        }
        const ssize_t r = read(fd, buf + n, cap - n);
        REQUIRE(r >= 0);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

static inline int
sgs_test_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex ("-" = empty) into a malloc'd buffer. Returns NULL on bad hex. */
static inline unsigned char *
sgs_test_unhex(const char *hex, size_t *len)
{
    if (strcmp(hex, "-") == 0)
        hex = "";
    const size_t n = strlen(hex);
    if (n % 2 != 0)
        return NULL;
    unsigned char *const out = malloc(n / 2 + 1);
    REQUIRE(out != NULL);
    for (size_t i = 0; i < n / 2; i++) {
        const int hi = sgs_test_hexval(hex[2 * i]), lo = sgs_test_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return out;
}

/*
 * An sgs_allocator that counts calls and live blocks and fails allocation number fail_at
 * (1-based; 0 = never) and, with fail_after set, every allocation after it too.
 */
typedef struct sgs_test_alloc {
    atomic_long calls;
    atomic_long live;
    atomic_long failed;
    long fail_at;
    int fail_after;
} sgs_test_alloc;

static inline void *
sgs_test_alloc_malloc(void *opaque, size_t size)
{
    sgs_test_alloc *const t = opaque;
    const long n = atomic_fetch_add(&t->calls, 1) + 1;
    if (t->fail_at > 0 && (n == t->fail_at || (t->fail_after && n > t->fail_at))) {
        atomic_fetch_add(&t->failed, 1);
        return NULL;
    }
    void *const p = malloc(size);
    if (p != NULL)
        atomic_fetch_add(&t->live, 1);
    return p;
}

static inline void
sgs_test_alloc_free(void *opaque, void *ptr)
{
    sgs_test_alloc *const t = opaque;
    if (ptr != NULL)
        atomic_fetch_sub(&t->live, 1);
    free(ptr);
}

static inline void
sgs_test_alloc_init(sgs_test_alloc *t, long fail_at, int fail_after)
{
    atomic_init(&t->calls, 0);
    atomic_init(&t->live, 0);
    atomic_init(&t->failed, 0);
    t->fail_at = fail_at;
    t->fail_after = fail_after;
}

/* The sgs_allocator view of t (t must outlive every use). */
static inline sgs_allocator
sgs_test_allocator(sgs_test_alloc *t)
{
    sgs_allocator a;
    a.malloc_fn = sgs_test_alloc_malloc;
    a.free_fn = sgs_test_alloc_free;
    a.opaque = t;
    return a;
}

#endif
