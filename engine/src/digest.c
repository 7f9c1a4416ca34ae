/*
 * digest.c - streaming file digest: every byte read once, into a per-thread buffer.
 *
 * DESIGN: the caller opens the file (O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC) and fstat's it; here we
 * read to EOF feeding EVP, then fstat again. A VALID verdict may only rest on bytes that are the
 * file: if identity (dev, ino), size, mtime or ctime moved, or we read a different number of
 * bytes than the size said, the result is CHANGED. Ed25519 signs the whole message, not a
 * prehash, so on request the same pass also keeps the bytes (bounded by a cap).
 *
 *   open ─► fstat(before) ─► read/EVP_DigestUpdate … EOF ─► fstat(after) ─► compare ─► digest
 */
#include "digest.h"

#include <stdatomic.h>

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

sgs_status
sgs_digest_ctx_init(sgs_digest_ctx *c, const sgs_allocator *a, size_t bufsize)
{
    memset(c, 0, sizeof(*c));
    c->alloc = a;
    c->bufsize = bufsize;
    c->buf = sgs_malloc(a, bufsize);
    c->mdctx = EVP_MD_CTX_new();
    if (c->buf == NULL || c->mdctx == NULL) {
        sgs_digest_ctx_reset(c);
        return SGS_ERR_NOMEM;
    }
    return SGS_OK;
}

void
sgs_digest_ctx_reset(sgs_digest_ctx *c)
{
    EVP_MD_CTX_free(c->mdctx);
    sgs_free(c->alloc, c->buf);
    sgs_free(c->alloc, c->keep);
    const sgs_allocator *const a = c->alloc;
    memset(c, 0, sizeof(*c));
    c->alloc = a;
}

const EVP_MD *
sgs_hash_md(sgs_hash h)
{
    switch (h) {
    case SGS_HASH_SHA256:
        return EVP_sha256();
    case SGS_HASH_SHA384:
        return EVP_sha384();
    case SGS_HASH_SHA512:
        return EVP_sha512();
    case SGS_HASH_COUNT:
        break;
    }
    return NULL;
}

void
sgs_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
reserve_keep(sgs_digest_ctx *c, size_t need)
{
    if (need <= c->keep_cap)
        return 1;
    const size_t cap = (need + 65535u) & ~(size_t)65535u; /* exact-ish: a 64 MiB file must
                                                            not cost 128 MiB */
    uint8_t *const p = sgs_malloc(c->alloc, cap);
    if (p == NULL)
        return 0;
    sgs_free(c->alloc, c->keep); /* contents are not needed across files */
    c->keep = p;
    c->keep_cap = cap;
    return 1;
}

static const char *
compare_stat(const struct stat *a, const struct stat *b, uint64_t bytes)
{
    if (a->st_dev != b->st_dev || a->st_ino != b->st_ino)
        return "file was replaced while being read";
    if (a->st_size != b->st_size || (uint64_t)b->st_size != bytes)
        return "size changed while being read";
    if (a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
        return "modification time changed while being read";
    if (a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec)
        return "status change time changed while being read";
    return NULL;
}

sgs_digest_result
sgs_digest_fd(sgs_digest_ctx *c, int fd, const EVP_MD *md, const struct stat *before,
              uint64_t keep_max, sgs_digest_out *out)
{
    return sgs_digest_fd_also(c, fd, md, before, keep_max, NULL, 0, out);
}

sgs_digest_result
sgs_digest_fd_also(sgs_digest_ctx *c, int fd, const EVP_MD *md, const struct stat *before,
                   uint64_t keep_max, EVP_MD_CTX *const *also, size_t nalso, sgs_digest_out *out)
{
    memset(out, 0, sizeof(*out));
    const uint64_t size = (uint64_t)before->st_size;
    if (keep_max > 0) {
        if (size > keep_max)
            return SGS_DIGEST_TOO_LARGE;
        if (!reserve_keep(c, (size_t)size))
            return SGS_DIGEST_NOMEM;
    }
    if (EVP_DigestInit_ex(c->mdctx, md, NULL) != 1)
        return SGS_DIGEST_CRYPTO;
    if (size > c->bufsize)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    /* Read exactly the size fstat gave: a file that grew or shrank meanwhile shows in the
       second fstat (size) or in a short count, so no extra read for EOF is needed. */
    uint64_t total = 0;
    while (total < size) {
        const uint64_t left = size - total;
        const size_t want = left < c->bufsize ? (size_t)left : c->bufsize;
        uint8_t *const dst = keep_max > 0 ? c->keep + total : c->buf;
        if (c->cancel != NULL && atomic_load_explicit(c->cancel, memory_order_relaxed)) {
            out->errno_value = EINTR; /* the run was stopped: the file is abandoned */
            return SGS_DIGEST_IO_ERROR;
        }
        const ssize_t n = read(fd, dst, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            out->errno_value = errno;
            return SGS_DIGEST_IO_ERROR;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(c->mdctx, dst, (size_t)n) != 1)
            return SGS_DIGEST_CRYPTO;
        for (size_t k = 0; k < nalso; k++)
            if (EVP_DigestUpdate(also[k], dst, (size_t)n) != 1)
                return SGS_DIGEST_CRYPTO;
        total += (uint64_t)n;
    }
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(c->mdctx, out->md, &mdlen) != 1)
        return SGS_DIGEST_CRYPTO;
    out->md_len = mdlen;
    out->bytes = total;
    struct stat after;
    if (fstat(fd, &after) != 0) {
        out->errno_value = errno;
        return SGS_DIGEST_IO_ERROR;
    }
    out->change = compare_stat(before, &after, total);
    return out->change != NULL ? SGS_DIGEST_CHANGED : SGS_DIGEST_OK;
}
