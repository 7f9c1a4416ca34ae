/*
 * kmod.c - Linux kernel modules: the appended signature, compressed modules, the PKCS#7.
 *
 * DESIGN: a signed module is
 *     [ module bytes ][ PKCS#7 SignedData, sig_len bytes ][ struct module_signature ][ magic ]
 * and the PKCS#7 signs the module bytes (detached, no certificates, the signer named by issuer
 * and serial or by subject key id, no signed attributes: sign-file's CMS_NOCERTS | CMS_BINARY
 * | CMS_NOATTR | CMS_DETACHED). The trailer is checked as the kernel's mod_check_sig() checks
 * it; the PKCS#7 is parsed by OpenSSL (cms.c) and its one signature verified over the digest
 * of the module bytes with OpenSSL's EVP verifiers (verify.c), against the key the kernel
 * would use: a built-in certificate found by the signer's identifier. A compressed module
 * (.ko.xz, .ko.zst, .ko.gz) carries all of this inside its payload: liblzma, libzstd and zlib
 * decompress it into memory, never more than the caller's limit.
 */
#include "kmod.h"

#include "alloc.h"
#include "digest.h"
#include "err.h"
#include "keycheck.h"
#include "verify.h"

#include <lz4.h>
#include <lzma.h>
#include <openssl/cms.h>
#include <ctype.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define PKEY_ID_PKCS7 2u

sgs_kmod_trailer_status
sgs_kmod_trailer(const uint8_t *tail, size_t taillen, uint64_t size, uint64_t *sig_off,
                 uint32_t *sig_len, char *why, size_t n)
{
    *sig_off = 0;
    *sig_len = 0;
    if (taillen < SGS_KMOD_MAGIC_LEN || size < SGS_KMOD_MAGIC_LEN ||
        memcmp(tail + taillen - SGS_KMOD_MAGIC_LEN, SGS_KMOD_MAGIC, SGS_KMOD_MAGIC_LEN) != 0)
        return SGS_KMOD_UNSIGNED;
    if (taillen < SGS_KMOD_TRAILER_LEN || size < SGS_KMOD_TRAILER_LEN) {
        snprintf(why, n, "the module signature's trailer is truncated (%llu bytes before the "
                         "magic, 12 needed)",
                 (unsigned long long)(size - SGS_KMOD_MAGIC_LEN));
        return SGS_KMOD_BAD;
    }
    const uint8_t *const ms = tail + taillen - SGS_KMOD_TRAILER_LEN;
    const uint32_t len = (uint32_t)ms[8] << 24 | (uint32_t)ms[9] << 16 |
                         (uint32_t)ms[10] << 8 | (uint32_t)ms[11];
    if (ms[2] != PKEY_ID_PKCS7) {
        snprintf(why, n, "the module signature is of type %u (%s), not PKCS#7 (2)", ms[2],
                 ms[2] == 0 ? "PGP" : ms[2] == 1 ? "X.509" : "unknown");
        return SGS_KMOD_BAD;
    }
    if ((ms[0] | ms[1] | ms[3] | ms[4] | ms[5] | ms[6] | ms[7]) != 0) {
        snprintf(why, n, "the module signature's trailer has non-zero fields besides id_type "
                         "and sig_len (algo %u, hash %u, signer_len %u, key_id_len %u)",
                 ms[0], ms[1], ms[3], ms[4]);
        return SGS_KMOD_BAD;
    }
    const uint64_t room = size - SGS_KMOD_TRAILER_LEN;
    if (len == 0 || len > room) {
        snprintf(why, n, "the module signature's length %u %s", len,
                 len == 0 ? "is zero" : "exceeds the bytes before the trailer");
        return SGS_KMOD_BAD;
    }
    if (len > SGS_KMOD_SIG_MAX) {
        snprintf(why, n, "the module signature's length %u is over the limit of %u bytes", len,
                 SGS_KMOD_SIG_MAX);
        return SGS_KMOD_BAD;
    }
    *sig_off = room - len;
    *sig_len = len;
    return SGS_KMOD_SIGNED;
}

sgs_kmod_packing
sgs_kmod_packing_of(const uint8_t *head, size_t n)
{
    static const uint8_t xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    static const uint8_t zst[4] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t gz[3] = {0x1f, 0x8b, 0x08};
    static const uint8_t lz4[4] = {0x02, 0x21, 0x4c, 0x18};
    if (n >= sizeof(xz) && memcmp(head, xz, sizeof(xz)) == 0)
        return SGS_KMOD_XZ;
    if (n >= sizeof(zst) && memcmp(head, zst, sizeof(zst)) == 0)
        return SGS_KMOD_ZSTD;
    if (n >= sizeof(gz) && memcmp(head, gz, sizeof(gz)) == 0)
        return SGS_KMOD_GZIP;
    if (n >= sizeof(lz4) && memcmp(head, lz4, sizeof(lz4)) == 0)
        return SGS_KMOD_LZ4;
    return SGS_KMOD_PLAIN;
}

const char *
sgs_kmod_packing_name(sgs_kmod_packing p)
{
    static const char *const names[] = {"uncompressed", "xz", "zstd", "gzip", "lz4"};
    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

/* ---- decompression ---------------------------------------------------------------------- */

typedef struct outbuf {
    const sgs_allocator *a;
    uint8_t **buf;
    size_t *cap;
    size_t len;
    uint64_t limit;
    unsigned flags;
} outbuf;

/* Room for at least `want` more bytes (never past limit + 1: one byte over says "too
   large"). 0 when there is no room (then *st says why). */
static int
out_room(outbuf *o, size_t want, sgs_unpack_status *st)
{
    const uint64_t most = o->limit + 1;
    if (o->len >= most) {
        *st = SGS_UNPACK_TOO_LARGE;
        return 0;
    }
    if (*o->cap - o->len >= want || *o->cap >= most)
        return 1;
    uint64_t need = (uint64_t)*o->cap * 2;
    if (need < o->len + want)
        need = o->len + want;
    if (need < 1024u * 1024u)
        need = 1024u * 1024u;
    if (need > most)
        need = most;
    uint8_t *const grown = sgs_malloc(o->a, (size_t)need);
    if (grown == NULL) {
        *st = SGS_UNPACK_NOMEM;
        return 0;
    }
    if (o->len > 0)
        memcpy(grown, *o->buf, o->len);
    sgs_free(o->a, *o->buf);
    *o->buf = grown;
    *o->cap = (size_t)need;
    return 1;
}

/* After output grew: over the limit, or (ELF_ONLY) known not to be ELF? */
static int
out_stop(const outbuf *o, sgs_unpack_status *st)
{
    if (o->len > o->limit) {
        *st = SGS_UNPACK_TOO_LARGE;
        return 1;
    }
    if ((o->flags & SGS_UNPACK_ELF_ONLY) != 0 && o->len >= 4 &&
        memcmp(*o->buf, "\177ELF", 4) != 0) {
        *st = SGS_UNPACK_NOT_ELF;
        return 1;
    }
    return 0;
}

static sgs_unpack_status
unpack_xz(outbuf *o, const uint8_t *in, size_t inlen, char *why, size_t n)
{
    lzma_stream s = LZMA_STREAM_INIT;
    sgs_unpack_status st = SGS_UNPACK_CORRUPT;
    if (lzma_stream_decoder(&s, 64u * 1024u * 1024u, 0) != LZMA_OK)
        return SGS_UNPACK_NOMEM;
    s.next_in = in;
    s.avail_in = inlen;
    lzma_ret r = LZMA_OK;
    while (r == LZMA_OK) {
        if (!out_room(o, 64u * 1024u, &st))
            goto out;
        s.next_out = *o->buf + o->len;
        s.avail_out = *o->cap - o->len;
        r = lzma_code(&s, LZMA_FINISH);
        o->len = *o->cap - s.avail_out;
        if (out_stop(o, &st))
            goto out;
    }
    if (r != LZMA_STREAM_END) {
        snprintf(why, n, "the xz stream does not decompress (liblzma error %d)", (int)r);
        goto out;
    }
    st = SGS_UNPACK_OK;
    if (s.avail_in > 0 && (o->flags & SGS_UNPACK_TRAILING_OK) == 0) {
        snprintf(why, n, "%zu bytes after the end of the xz stream", s.avail_in);
        st = SGS_UNPACK_CORRUPT;
    }
out:
    lzma_end(&s);
    return st;
}

static sgs_unpack_status
unpack_zstd(outbuf *o, const uint8_t *in, size_t inlen, char *why, size_t n)
{
    ZSTD_DStream *const d = ZSTD_createDStream();
    sgs_unpack_status st = SGS_UNPACK_CORRUPT;
    if (d == NULL || ZSTD_isError(ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 27))) {
        ZSTD_freeDStream(d);
        return SGS_UNPACK_NOMEM;
    }
    ZSTD_inBuffer ib = {in, inlen, 0};
    size_t r = 1;
    while (r != 0) {
        if (!out_room(o, 64u * 1024u, &st))
            goto out;
        ZSTD_outBuffer ob = {*o->buf + o->len, *o->cap - o->len, 0};
        const size_t before = ib.pos;
        r = ZSTD_decompressStream(d, &ob, &ib);
        o->len += ob.pos;
        if (ZSTD_isError(r)) {
            snprintf(why, n, "the zstd stream does not decompress: %s", ZSTD_getErrorName(r));
            goto out;
        }
        if (out_stop(o, &st))
            goto out;
        if (r != 0 && ib.pos == inlen && ib.pos == before && ob.pos == 0) {
            snprintf(why, n, "the zstd stream is truncated");
            goto out;
        }
    }
    st = SGS_UNPACK_OK;
    if (ib.pos < inlen && (o->flags & SGS_UNPACK_TRAILING_OK) == 0) {
        snprintf(why, n, "%zu bytes after the end of the zstd frame", inlen - ib.pos);
        st = SGS_UNPACK_CORRUPT;
    }
out:
    ZSTD_freeDStream(d);
    return st;
}

static sgs_unpack_status
unpack_gzip(outbuf *o, const uint8_t *in, size_t inlen, char *why, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return SGS_UNPACK_NOMEM;
    sgs_unpack_status st = SGS_UNPACK_CORRUPT;
    size_t used = 0;
    int r = Z_OK;
    while (r == Z_OK) {
        if (!out_room(o, 64u * 1024u, &st))
            goto out;
        const size_t give = inlen - used > UINT32_MAX ? UINT32_MAX : inlen - used;
        const size_t room = *o->cap - o->len > UINT32_MAX ? UINT32_MAX : *o->cap - o->len;
        z.next_in = (Bytef *)(uintptr_t)(in + used);
        z.avail_in = (uInt)give;
        z.next_out = *o->buf + o->len;
        z.avail_out = (uInt)room;
        r = inflate(&z, Z_NO_FLUSH);
        used += give - z.avail_in;
        o->len += room - z.avail_out;
        if (out_stop(o, &st))
            goto out;
        if (r == Z_BUF_ERROR && used == inlen) {
            snprintf(why, n, "the gzip stream is truncated");
            goto out;
        }
        if (r == Z_BUF_ERROR)
            r = Z_OK; /* output full: more room next turn */
    }
    if (r != Z_STREAM_END) {
        snprintf(why, n, "the gzip stream does not decompress: %s",
                 z.msg != NULL ? z.msg : "zlib error");
        goto out;
    }
    st = SGS_UNPACK_OK;
    if (used < inlen && (o->flags & SGS_UNPACK_TRAILING_OK) == 0) {
        snprintf(why, n, "%zu bytes after the end of the gzip stream", inlen - used);
        st = SGS_UNPACK_CORRUPT;
    }
out:
    inflateEnd(&z);
    return st;
}

/* lz4's legacy frame: the magic, then blocks of (LE32 compressed size, data), each at most
   8 MiB decompressed; it ends at the input's end or at a size that is not a block's. */
static sgs_unpack_status
unpack_lz4(outbuf *o, const uint8_t *in, size_t inlen, char *why, size_t n)
{
    enum { BLOCK_MAX = 8 * 1024 * 1024 };
    sgs_unpack_status st = SGS_UNPACK_CORRUPT;
    size_t at = 4;
    while (inlen - at >= 4) {
        const uint32_t blen = (uint32_t)in[at] | (uint32_t)in[at + 1] << 8 |
                              (uint32_t)in[at + 2] << 16 | (uint32_t)in[at + 3] << 24;
        if (blen == 0x184c2102u) { /* another legacy frame follows */
            at += 4;
            continue;
        }
        if (blen > (uint32_t)LZ4_compressBound(BLOCK_MAX) || blen > inlen - at - 4)
            break; /* not a block: the end (a kernel image's payload ends with its size) */
        if (!out_room(o, BLOCK_MAX, &st))
            return st;
        const size_t room = *o->cap - o->len < BLOCK_MAX ? *o->cap - o->len : BLOCK_MAX;
        const int got = LZ4_decompress_safe((const char *)in + at + 4, (char *)*o->buf + o->len,
                                            (int)blen, (int)room);
        if (got < 0) {
            snprintf(why, n, "an lz4 block at offset %zu does not decompress", at);
            return SGS_UNPACK_CORRUPT;
        }
        o->len += (size_t)got;
        if (out_stop(o, &st))
            return st;
        at += 4 + blen;
    }
    if (o->len == 0) {
        snprintf(why, n, "the lz4 stream holds no block");
        return SGS_UNPACK_CORRUPT;
    }
    if (at < inlen && (o->flags & SGS_UNPACK_TRAILING_OK) == 0) {
        snprintf(why, n, "%zu bytes after the last lz4 block", inlen - at);
        return SGS_UNPACK_CORRUPT;
    }
    return SGS_UNPACK_OK;
}

sgs_unpack_status
sgs_kmod_unpack(const sgs_allocator *a, sgs_kmod_packing packing, const uint8_t *in,
                size_t inlen, uint64_t limit, unsigned flags, uint8_t **out, size_t *cap,
                size_t *outlen, char *why, size_t n)
{
    outbuf o = {a, out, cap, 0, limit, flags};
    sgs_unpack_status st = SGS_UNPACK_CORRUPT;
    why[0] = '\0';
    switch (packing) {
    case SGS_KMOD_XZ:
        st = unpack_xz(&o, in, inlen, why, n);
        break;
    case SGS_KMOD_ZSTD:
        st = unpack_zstd(&o, in, inlen, why, n);
        break;
    case SGS_KMOD_GZIP:
        st = unpack_gzip(&o, in, inlen, why, n);
        break;
    case SGS_KMOD_LZ4:
        st = unpack_lz4(&o, in, inlen, why, n);
        break;
    case SGS_KMOD_PLAIN:
        snprintf(why, n, "not compressed");
        break;
    }
    *outlen = o.len > limit ? (size_t)limit : o.len;
    if (st == SGS_UNPACK_TOO_LARGE)
        snprintf(why, n, "decompresses to more than %llu bytes", (unsigned long long)limit);
    else if (st == SGS_UNPACK_NOMEM)
        snprintf(why, n, "out of memory");
    else if (st == SGS_UNPACK_NOT_ELF)
        snprintf(why, n, "the %s stream does not hold an ELF file",
                 sgs_kmod_packing_name(packing));
    return st;
}

/* ---- the PKCS#7 ------------------------------------------------------------------------- */

void
sgs_kmod_sig_reset(sgs_kmod_sig *s)
{
    sgs_cms_job_reset(&s->cj);
    memset(s, 0, sizeof(*s));
}

int
sgs_kmod_sig_parse(sgs_kmod_sig *s, const uint8_t *p7, size_t len, sgs_verdict *v,
                   char *reason, size_t n)
{
    memset(s, 0, sizeof(*s));
    *v = SGS_V_MALFORMED;
    if (len == 0 || p7[0] != 0x30) { /* DER only: sgs_cms_prepare would read PEM too */
        snprintf(reason, n, "the module signature is not a DER PKCS#7");
        return 0;
    }
    if (!sgs_cms_prepare(p7, len, NULL, &s->cj, v, reason, n))
        return 0;
    STACK_OF(CMS_SignerInfo) *const sis = CMS_get0_SignerInfos(s->cj.cms);
    if (sk_CMS_SignerInfo_num(sis) != 1) {
        *v = SGS_V_UNSUPPORTED;
        snprintf(reason, n, "the module signature has %d signers; sign-file makes one",
                 sk_CMS_SignerInfo_num(sis));
        return 0;
    }
    s->si = sk_CMS_SignerInfo_value(sis, 0);
    if (CMS_signed_get_attr_count(s->si) >= 0) {
        *v = SGS_V_MALFORMED;
        snprintf(reason, n, "the module signature has signed attributes (the kernel refuses "
                            "them in module signatures)");
        return 0;
    }
    X509_ALGOR *dig = NULL, *sig = NULL;
    CMS_SignerInfo_get0_algs(s->si, NULL, NULL, &dig, &sig);
    const ASN1_OBJECT *dobj = NULL, *sobj = NULL;
    X509_ALGOR_get0(&dobj, NULL, NULL, dig);
    X509_ALGOR_get0(&sobj, NULL, NULL, sig);
    const int dnid = OBJ_obj2nid(dobj), snid = OBJ_obj2nid(sobj);
    s->md = EVP_get_digestbynid(dnid); /* sgs_cms_prepare allowed SHA-256/384/512 only */
    int md_of_sig = NID_undef, pk = NID_undef;
    if (snid == NID_rsaEncryption || snid == NID_X9_62_id_ecPublicKey) {
        md_of_sig = dnid;
        pk = snid == NID_rsaEncryption ? EVP_PKEY_RSA : EVP_PKEY_EC;
    } else if (!OBJ_find_sigid_algs(snid, &md_of_sig, &pk)) {
        md_of_sig = NID_undef;
    }
    if (s->md == NULL || (pk != EVP_PKEY_RSA && pk != EVP_PKEY_EC) || md_of_sig != dnid) {
        *v = SGS_V_UNSUPPORTED;
        snprintf(reason, n, "the module signature's algorithm %s with digest %s is not "
                            "supported (RSA PKCS#1 v1.5, ECDSA)",
                 OBJ_nid2sn(snid), OBJ_nid2sn(dnid));
        return 0;
    }
    s->ecdsa = pk == EVP_PKEY_EC;
    return 1;
}

/* The signer's identifier for a reason: issuer and serial, or key id. */
static void
signer_id(CMS_SignerInfo *si, char *out, size_t n)
{
    ASN1_OCTET_STRING *keyid = NULL;
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *sno = NULL;
    out[0] = '\0';
    if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &sno) != 1) {
        snprintf(out, n, "an unnamed signer");
        return;
    }
    if (keyid != NULL) {
        char hex[2 * 32 + 1];
        const int kl = ASN1_STRING_length(keyid);
        sgs_hex(ASN1_STRING_get0_data(keyid), kl > 32 ? 32 : (size_t)kl, hex);
        snprintf(out, n, "the signer with key id %s", hex);
        return;
    }
    char dn[256], serial[2 * 20 + 1] = "?";
    sgs_dn(issuer, dn, sizeof(dn));
    BIGNUM *const bn = sno != NULL ? ASN1_INTEGER_to_BN(sno, NULL) : NULL;
    char *const hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex != NULL)
        snprintf(serial, sizeof(serial), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    snprintf(out, n, "the signer issued by \"%s\" with serial %s", dn, serial);
}

/* "sha256", as the other records name hashes. */
static const char *
md_name(const EVP_MD *md, char buf[16])
{
    const char *const sn = OBJ_nid2sn(EVP_MD_get_type(md));
    size_t i = 0;
    for (; i < 15 && sn[i] != '\0'; i++)
        buf[i] = (char)tolower((unsigned char)sn[i]);
    buf[i] = '\0';
    return buf;
}

static void
name_alg(EVP_PKEY *pkey, const EVP_MD *md, char *alg, size_t n)
{
    sgs_key k;
    char name[48], mdn[16];
    sgs_key_describe_type(pkey, &k);
    snprintf(alg, n, "kmod-%s", sgs_key_alg_name(&k, md_name(md, mdn), 0, name, sizeof(name)));
}

void
sgs_kmod_sig_verify(sgs_kmod_sig *s, const uint8_t *md, size_t mdlen, sgs_trust *trust,
                    const sgs_keyset *keys, sgs_kmod_outcome *o)
{
    char who[384], weak[160], mdn[16];
    o->verdict = SGS_V_UNTRUSTED;
    o->alg[0] = o->signer[0] = '\0';
    const ASN1_OCTET_STRING *const sigv = CMS_SignerInfo_get0_signature(s->si);
    const uint8_t *const sig = ASN1_STRING_get0_data(sigv);
    const size_t siglen = (size_t)ASN1_STRING_length(sigv);
    sgs_sig_params params;
    sgs_sig_params_init(&params, s->md, 0);
    signer_id(s->si, who, sizeof(who));
    for (size_t i = 0; i < trust->trusted.count; i++) {
        X509 *const cert = trust->trusted.items[i].cert;
        if (CMS_SignerInfo_cert_cmp(s->si, cert) != 0)
            continue;
        EVP_PKEY *const pkey = X509_get0_pubkey(cert);
        sgs_cert_facts facts;
        if (pkey == NULL || !sgs_trust_cert_facts(trust, cert, &facts)) {
            snprintf(o->reason, sizeof(o->reason), "%s: its certificate has no usable key",
                     who);
            return;
        }
        if (sgs_key_weakness(pkey, trust->opts.min_security_bits, weak, sizeof(weak)) != NULL) {
            snprintf(o->reason, sizeof(o->reason), "%s (\"%s\"): the key is refused: %s", who,
                     facts.subject, weak);
            return;
        }
        o->tried++;
        if (sgs_verify_prehash(pkey, &params, md, mdlen, sig, siglen) != 1) {
            o->verdict = SGS_V_BAD_SIGNATURE;
            snprintf(o->reason, sizeof(o->reason),
                     "the signature of \"%s\" does not verify over the module's bytes",
                     facts.subject);
            return;
        }
        name_alg(pkey, s->md, o->alg, sizeof(o->alg));
        memcpy(o->signer, facts.spki_fp, sizeof(o->signer));
        snprintf(o->reason, sizeof(o->reason), "module signed by \"%s\" (%s)", facts.subject,
                 md_name(s->md, mdn));
        o->verdict = SGS_V_VALID;
        return;
    }
    if (keys->count == 0) {
        snprintf(o->reason, sizeof(o->reason), "%s is none of the %zu certificates given "
                 "(--trust; kernel-keys extracts a kernel's)", who, trust->trusted.count);
        return;
    }
    /* only keys of the signature's kind and size (an Ed25519 key would want the whole
       message, which a module signature never signs) */
    sgs_detached d;
    memset(&d, 0, sizeof(d));
    d.sig = sig;
    d.siglen = siglen;
    d.md = md;
    d.mdlen = mdlen;
    d.params = params;
    const int is_der = s->ecdsa && sgs_sig_is_ecdsa_der(sig, siglen);
    size_t fit = 0;
    long k = -1;
    for (size_t i = 0; i < keys->count && k < 0; i++) {
        const sgs_key *const key = &keys->keys[i];
        if (key->type != (s->ecdsa ? SGS_KEY_EC : SGS_KEY_RSA) ||
            !sgs_key_fits(key, siglen, is_der))
            continue;
        fit++;
        o->tried++;
        /* no per-worker verifier: those are bound to the run's hash, not the signer's */
        if (sgs_detached_check_key(key->pkey, &d, NULL))
            k = (long)i;
    }
    if (k < 0) {
        o->verdict = fit > 0 ? SGS_V_BAD_SIGNATURE : SGS_V_UNTRUSTED;
        snprintf(o->reason, sizeof(o->reason),
                 "%s is none of the %zu certificates given (--trust), and the signature "
                 "verifies with none of the %zu --key keys%s",
                 who, trust->trusted.count, keys->count,
                 fit > 0 ? " of its kind and size (another signer's key, or changed bytes)"
                         : "");
        return;
    }
    const sgs_key *const key = &keys->keys[k];
    name_alg(key->pkey, s->md, o->alg, sizeof(o->alg));
    memcpy(o->signer, key->fp_hex, sizeof(o->signer));
    snprintf(o->reason, sizeof(o->reason), "module signed by the --key key %.16s... (%s)",
             key->fp_hex, md_name(s->md, mdn));
    o->verdict = SGS_V_VALID;
}
