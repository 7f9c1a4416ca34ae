/* kmod.h - Linux kernel modules: the appended signature (struct module_signature + magic),
   compressed modules (xz, zstd, gzip), the PKCS#7 judged against the run's keys and
   certificates; and the certificates built into a kernel image (kernel-keys). */
#ifndef SGS_KMOD_H
#define SGS_KMOD_H

#include "cms.h"
#include "keys.h"
#include "sigsweep.h"
#include "trust.h"

#include <stddef.h>
#include <stdint.h>

/* The magic after the trailer: MODULE_SIG_STRING of the kernel's <linux/module_signature.h>. */
#define SGS_KMOD_MAGIC "~Module signature appended~\n"
#define SGS_KMOD_MAGIC_LEN 28u
/* struct module_signature { u8 algo, hash, id_type, signer_len, key_id_len, pad[3];
   __be32 sig_len; } then the magic */
#define SGS_KMOD_TRAILER_LEN (12u + SGS_KMOD_MAGIC_LEN)
/* The largest PKCS#7 a module may carry (sign-file's are ~0.5 KiB; RSA-16384 is 2 KiB). */
#define SGS_KMOD_SIG_MAX (64u * 1024u)

typedef enum sgs_kmod_trailer_status {
    SGS_KMOD_SIGNED,    /* *sig_off, *sig_len name the PKCS#7; the signed bytes are [0, sig_off) */
    SGS_KMOD_UNSIGNED,  /* no magic at the end */
    SGS_KMOD_BAD        /* the magic, and a trailer that is not one: why says how */
} sgs_kmod_trailer_status;

/*
 * Reads the trailer of a module of `size` bytes from its last SGS_KMOD_TRAILER_LEN bytes
 * (`tail`, `taillen` of them: fewer when the file is shorter). As the kernel's mod_check_sig:
 * id_type PKCS#7 (2), algo, hash, signer_len, key_id_len and pad zero, sig_len > 0 and within
 * the file; and at most SGS_KMOD_SIG_MAX.
 */
sgs_kmod_trailer_status sgs_kmod_trailer(const uint8_t *tail, size_t taillen, uint64_t size,
                                         uint64_t *sig_off, uint32_t *sig_len, char *why,
                                         size_t n);

typedef enum sgs_kmod_packing {
    SGS_KMOD_PLAIN = 0,
    SGS_KMOD_XZ,
    SGS_KMOD_ZSTD,
    SGS_KMOD_GZIP,
    SGS_KMOD_LZ4  /* the legacy frame `lz4 -l` makes (kernel images only) */
} sgs_kmod_packing;

/* The compression the first bytes announce (SGS_KMOD_PLAIN: none known). */
sgs_kmod_packing sgs_kmod_packing_of(const uint8_t *head, size_t n);
const char *sgs_kmod_packing_name(sgs_kmod_packing p);

typedef enum sgs_unpack_status {
    SGS_UNPACK_OK,
    SGS_UNPACK_NOT_ELF,   /* elf_only: the output does not begin with an ELF header (stopped) */
    SGS_UNPACK_TOO_LARGE, /* more than `limit` bytes of output (stopped there) */
    SGS_UNPACK_CORRUPT,   /* not a valid stream, truncated, or bytes after its end */
    SGS_UNPACK_NOMEM
} sgs_unpack_status;

/* sgs_kmod_unpack() flags */
enum {
    SGS_UNPACK_ELF_ONLY = 1u << 0,   /* stop as soon as the output is not an ELF file */
    SGS_UNPACK_TRAILING_OK = 1u << 1 /* bytes after the stream are ignored (a kernel image's
                                        payload ends with its size), not CORRUPT */
};

/*
 * Decompresses one whole stream (in, inlen) of `packing` into *out (grown with sgs_malloc as
 * needed, *cap its size; the caller frees it), at most `limit` bytes: the bound on a
 * decompression bomb (the decoders' own memory is bounded too: 64 MiB of xz dictionary, a
 * zstd window of 2^27). *outlen is the output's length; why says what went wrong.
 */
sgs_unpack_status sgs_kmod_unpack(const sgs_allocator *a, sgs_kmod_packing packing,
                                  const uint8_t *in, size_t inlen, uint64_t limit,
                                  unsigned flags, uint8_t **out, size_t *cap, size_t *outlen,
                                  char *why, size_t n);

/* A module signature being judged: the PKCS#7 parsed, its one signer, the digest to make. */
typedef struct sgs_kmod_sig {
    sgs_cms_job cj;
    CMS_SignerInfo *si;
    const EVP_MD *md;  /* the signer's digest algorithm */
    int ecdsa;         /* the signature algorithm: ECDSA (else RSA PKCS#1 v1.5) */
} sgs_kmod_sig;

/*
 * Parses the PKCS#7 of a module (DER, as sign-file writes it): SignedData, detached, id-data,
 * one signer, SHA-256/384/512 (SHA-1 and others refused: UNSUPPORTED), no signed attributes
 * (the kernel refuses module signatures with them), RSA PKCS#1 v1.5 or ECDSA. 0 with *v and
 * reason set (MALFORMED, UNSUPPORTED); 1: hash the signed bytes with s->md, then
 * sgs_kmod_sig_verify(); sgs_kmod_sig_reset() in both cases.
 */
int sgs_kmod_sig_parse(sgs_kmod_sig *s, const uint8_t *p7, size_t len, sgs_verdict *v,
                       char *reason, size_t n);

/* What a module's signer is judged against, and what the judgement found. */
typedef struct sgs_kmod_outcome {
    sgs_verdict verdict;
    char reason[640];
    char alg[64];                /* "kmod-rsa4096-pkcs1-sha512" once a key verified */
    char signer[SGS_FP_HEX_LEN]; /* that key's SPKI SHA-256 */
    uint64_t tried;              /* public-key operations */
} sgs_kmod_outcome;

/*
 * The kernel's rule: the signer is a key of the keyring, found by the signer's issuer and
 * serial number (or subject key id) among the certificates of trust->trusted; those are
 * trusted as they are (no chain, no validity dates: the kernel checks neither for its
 * built-in keys), but every key must clear min_bits. A signer none of those certificates is:
 * the --key keys (bare public keys have no issuer and serial) are tried in turn. VALID,
 * BAD_SIGNATURE (the signer's certificate, or a --key key that fits, does not verify the
 * digest), UNTRUSTED (no such certificate or key, or a refused key: the reason names the
 * signer's issuer and serial, or key id).
 */
void sgs_kmod_sig_verify(sgs_kmod_sig *s, const uint8_t *md, size_t mdlen, sgs_trust *trust,
                         const sgs_keyset *keys, sgs_kmod_outcome *o);

void sgs_kmod_sig_reset(sgs_kmod_sig *s);

/*
 * kernel-keys: the X.509 certificates built into a kernel image (buf, len): an x86 bzImage
 * (signed for EFI or not: its setup header names the compressed payload), an EFI zboot image
 * ("zimg"), a whole-file gzip/xz/zstd/lz4 stream (Image.gz), or an uncompressed vmlinux or
 * Image, searched for DER certificates that OpenSSL parses whole. fn gets each distinct one in
 * image order (a new reference, the callee's). Returns SGS_OK (possibly with none found),
 * SGS_ERR_KEY (the payload does not decompress: err says why), SGS_ERR_NOMEM.
 */
typedef sgs_status (*sgs_kmod_cert_fn)(void *opaque, X509 *x);
SGS_NODISCARD sgs_status sgs_kmod_image_certs(const sgs_allocator *a, const uint8_t *buf,
                                              size_t len, uint64_t limit, sgs_kmod_cert_fn fn,
                                              void *opaque, char *what, size_t whatlen,
                                              char *err, size_t errlen);

#endif
