/* digest.h - streaming file digest with fstat before/after: one read of every byte. */
#ifndef SGS_DIGEST_H
#define SGS_DIGEST_H

#include "sigsweep.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SGS_DIGEST_MAX 64

/* Per-thread digest state: never shared between threads. */
typedef struct sgs_digest_ctx {
    EVP_MD_CTX *mdctx;
    uint8_t *buf;      /* read buffer */
    size_t bufsize;
    uint8_t *keep;     /* whole-file copy when asked for (Ed25519), grown on demand */
    size_t keep_cap;
    const sgs_allocator *alloc;
    const _Atomic int *cancel; /* set: a read loop stops when it becomes non-zero (EINTR) */
} sgs_digest_ctx;

typedef enum sgs_digest_result {
    SGS_DIGEST_OK = 0,
    SGS_DIGEST_IO_ERROR,  /* read failed: errno_value says why */
    SGS_DIGEST_CHANGED,   /* size, times or identity differ after reading */
    SGS_DIGEST_TOO_LARGE, /* keep requested and the file exceeds the cap */
    SGS_DIGEST_NOMEM,
    SGS_DIGEST_CRYPTO
} sgs_digest_result;

typedef struct sgs_digest_out {
    uint8_t md[SGS_DIGEST_MAX];
    size_t md_len;
    uint64_t bytes;      /* bytes read */
    int errno_value;     /* for SGS_DIGEST_IO_ERROR */
    const char *change;  /* for SGS_DIGEST_CHANGED: what differed */
} sgs_digest_out;

SGS_NODISCARD sgs_status sgs_digest_ctx_init(sgs_digest_ctx *c, const sgs_allocator *a,
                                             size_t bufsize);
void sgs_digest_ctx_reset(sgs_digest_ctx *c);

/* EVP_MD for a hash id (never NULL for valid ids). */
const EVP_MD *sgs_hash_md(sgs_hash h);

/*
 * Hashes an open regular file from its start to EOF with md. `before` is the fstat taken after
 * open; the file is fstat'ed again at EOF and must match in dev, ino, size, mtime and ctime,
 * and the bytes read must equal the size: otherwise SGS_DIGEST_CHANGED. With keep_max > 0 the
 * bytes are also kept in c->keep (files larger than keep_max: SGS_DIGEST_TOO_LARGE).
 */
SGS_NODISCARD sgs_digest_result sgs_digest_fd(sgs_digest_ctx *c, int fd, const EVP_MD *md,
                                              const struct stat *before, uint64_t keep_max,
                                              sgs_digest_out *out);

/* The same, also feeding every byte to `also` (initialised contexts the caller finalises,
   e.g. the digest BIOs of a CMS signature), in the same single read. */
SGS_NODISCARD sgs_digest_result sgs_digest_fd_also(sgs_digest_ctx *c, int fd, const EVP_MD *md,
                                                   const struct stat *before, uint64_t keep_max,
                                                   EVP_MD_CTX *const *also, size_t nalso,
                                                   sgs_digest_out *out);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void sgs_hex(const uint8_t *in, size_t n, char *out);

#endif
