/*
 * kmod_image.c - kernel-keys: the X.509 certificates built into a kernel image.
 *
 * DESIGN: a distribution kernel signs its modules with a key made for that build; its
 * certificate (with CONFIG_SYSTEM_TRUSTED_KEYS' others) is linked into the kernel itself, in
 * its system certificate list: DER certificates one after another. The image is unwrapped to
 * the kernel proper:
 *   x86 bzImage (an EFI-stub image signed for Secure Boot is one too: its Authenticode
 *   certificates are outside the payload and never looked at): the setup header ("HdrS" at
 *   0x202, protocol >= 2.08) names the compressed payload (payload_offset, payload_length
 *   from the protected-mode code at (setup_sects + 1) * 512);
 *   EFI zboot ("MZ", "zimg" at 4): payload offset and size at 8 and 12;
 *   a file that is one compressed stream (arm64 Image.gz);
 *   anything else (vmlinux, Image) as it is.
 * and searched for certificates: at every SEQUENCE with a two-byte length whose first element
 * is a SEQUENCE too, d2i_X509 must consume exactly that length. Distinct certificates are
 * reported in image order.
 */
#include "kmod.h"

#include "alloc.h"
#include "fileio.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define MAX_CERTS 256

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The compressed payload of a bzImage or zboot image: 1 with (*off, *len), else 0. */
static int
payload_of(const uint8_t *buf, size_t len, size_t *off, size_t *plen, const char **kind)
{
    if (len >= 0x250 && memcmp(buf + 0x202, "HdrS", 4) == 0 &&
        ((unsigned)buf[0x206] | (unsigned)buf[0x207] << 8) >= 0x0208) {
        const size_t sects = buf[0x1f1] != 0 ? buf[0x1f1] : 4;
        const uint64_t start = (uint64_t)(sects + 1) * 512 + le32(buf + 0x248);
        const uint32_t n = le32(buf + 0x24c);
        *kind = "bzImage";
        if (start > len || n > len - start)
            return -1;
        *off = (size_t)start;
        *plen = n;
        return 1;
    }
    if (len >= 64 && buf[0] == 'M' && buf[1] == 'Z' && memcmp(buf + 4, "zimg", 4) == 0) {
        const uint32_t start = le32(buf + 8), n = le32(buf + 12);
        *kind = "EFI zboot image";
        if (start > len || n > len - start)
            return -1;
        *off = start;
        *plen = n;
        return 1;
    }
    return 0;
}

typedef struct found {
    uint8_t sha[MAX_CERTS][32];
    size_t count;
} found;

/* Calls fn for each distinct certificate in (p, n), in order. */
static sgs_status
scan_certs(const uint8_t *p, size_t n, found *f, sgs_kmod_cert_fn fn, void *opaque)
{
    for (size_t i = 0; n >= 8 && i < n - 8; i++) {
        if (p[i] != 0x30 || p[i + 1] != 0x82 || p[i + 4] != 0x30 ||
            (p[i + 5] != 0x82 && p[i + 5] != 0x81))
            continue;
        const size_t total = ((size_t)p[i + 2] << 8 | p[i + 3]) + 4;
        if (total < 128 || total > n - i)
            continue;
        const unsigned char *q = p + i;
        X509 *const x = d2i_X509(NULL, &q, (long)total);
        if (x == NULL || q != p + i + total) {
            X509_free(x);
            continue;
        }
        uint8_t sha[32];
        unsigned int shalen = 0;
        int seen = EVP_Digest(p + i, total, sha, &shalen, EVP_sha256(), NULL) != 1;
        for (size_t k = 0; !seen && k < f->count; k++)
            seen = memcmp(f->sha[k], sha, sizeof(sha)) == 0;
        if (seen || f->count == MAX_CERTS) {
            X509_free(x);
        } else {
            memcpy(f->sha[f->count++], sha, sizeof(sha));
            const sgs_status st = fn(opaque, x);
            if (st != SGS_OK)
                return st;
        }
        i += total - 1;
    }
    return SGS_OK;
}

sgs_status
sgs_kmod_image_certs(const sgs_allocator *a, const uint8_t *buf, size_t len, uint64_t limit,
                     sgs_kmod_cert_fn fn, void *opaque, char *what, size_t whatlen, char *err,
                     size_t errlen)
{
    size_t off = 0, plen = len;
    const char *kind = "uncompressed kernel (vmlinux, Image)";
    const int wrapped = payload_of(buf, len, &off, &plen, &kind);
    err[0] = '\0';
    if (wrapped < 0) {
        snprintf(err, errlen, "a %s whose payload lies outside the file", kind);
        return SGS_ERR_KEY;
    }
    const sgs_kmod_packing packing = sgs_kmod_packing_of(buf + off, plen);
    if (wrapped && packing == SGS_KMOD_PLAIN) {
        snprintf(err, errlen, "a %s whose payload is compressed with a method not supported "
                              "(gzip, xz, zstd, lz4 are)", kind);
        return SGS_ERR_KEY;
    }
    if (!wrapped && packing != SGS_KMOD_PLAIN)
        kind = "compressed kernel";
    found *const f = sgs_calloc(a, 1, sizeof(*f));
    if (f == NULL)
        return SGS_ERR_NOMEM;
    sgs_status st = SGS_OK;
    if (packing == SGS_KMOD_PLAIN) {
        snprintf(what, whatlen, "%s", kind);
        st = scan_certs(buf, len, f, fn, opaque);
    } else {
        uint8_t *out = NULL;
        size_t cap = 0, outlen = 0;
        char why[256];
        const sgs_unpack_status us =
            sgs_kmod_unpack(a, packing, buf + off, plen, limit, SGS_UNPACK_TRAILING_OK, &out,
                            &cap, &outlen, why, sizeof(why));
        if (us == SGS_UNPACK_OK) {
            snprintf(what, whatlen, "%s, %s payload of %zu bytes, %zu bytes decompressed", kind,
                     sgs_kmod_packing_name(packing), plen, outlen);
            st = scan_certs(out, outlen, f, fn, opaque);
        } else {
            snprintf(err, errlen, "a %s: its %s payload: %s", kind,
                     sgs_kmod_packing_name(packing), why);
            st = us == SGS_UNPACK_NOMEM ? SGS_ERR_NOMEM : SGS_ERR_KEY;
        }
        sgs_free(a, out);
    }
    sgs_free(a, f);
    return st;
}

#define IMAGE_MAX (512u * 1024u * 1024u)

typedef struct keys_out {
    BIO *pem;
    sgs_cert_fn fn;
    void *opaque;
    const char *image;
    size_t count;
} keys_out;

static sgs_status
keep_cert(void *opaque, X509 *x)
{
    keys_out *const k = opaque;
    sgs_status st = SGS_OK;
    if (PEM_write_bio_X509(k->pem, x) != 1) {
        st = SGS_ERR_NOMEM;
    } else {
        k->count++;
        if (k->fn != NULL) {
            sgs_cert_text t;
            sgs_cert_info info;
            sgs_cert_describe(x, k->image, &t, &info);
            k->fn(k->opaque, &info);
        }
    }
    X509_free(x);
    return st;
}

sgs_status
sgs_kernel_keys(const char *image, const char *out, sgs_cert_fn fn, void *opaque, char *what,
                size_t whatlen, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char kind[256] = "";
    err[0] = '\0';
    if (what != NULL && whatlen > 0)
        what[0] = '\0';
    sgs_status st = sgs_read_small_file_follow(NULL, image, IMAGE_MAX, &buf, &len, err, errlen);
    if (st != SGS_OK)
        return st;
    keys_out k = {BIO_new(BIO_s_mem()), fn, opaque, image, 0};
    if (k.pem == NULL) {
        st = SGS_ERR_NOMEM;
    } else {
        char why[384];
        st = sgs_kmod_image_certs(NULL, buf, len, IMAGE_MAX, keep_cert, &k, kind, sizeof(kind),
                                  why, sizeof(why));
        if (st == SGS_ERR_KEY)
            snprintf(err, errlen, "%s: %s", image, why);
    }
    if (st == SGS_OK && k.count == 0) {
        snprintf(err, errlen, "%s: no certificate found in the %s (a kernel built without "
                              "module signing, or not a kernel)", image, kind);
        st = SGS_ERR_KEY;
    }
    if (st == SGS_OK) {
        char *data = NULL;
        const long n = BIO_get_mem_data(k.pem, &data);
        st = sgs_wfile_put(out, SGS_WFILE_NOREPLACE | SGS_WFILE_REGULAR_ONLY | SGS_WFILE_SYNC,
                           0644, data, n > 0 ? (size_t)n : 0, err, errlen);
    }
    if (st == SGS_ERR_NOMEM && err[0] == '\0')
        snprintf(err, errlen, "out of memory");
    if (what != NULL && whatlen > 0)
        snprintf(what, whatlen, "%s", kind);
    BIO_free(k.pem);
    sgs_free(NULL, buf);
    ERR_clear_error();
    return st;
}
