/*
 * edsig.c - minisign and signify: parsing their files, their keys, Ed25519 through OpenSSL.
 *
 * DESIGN: both tools write the same shapes. A public key file is
 *     untrusted comment: <text>\n
 *     base64("Ed" || keynum[8] || ed25519_pk[32])\n
 * (minisign -P prints the base64 line alone). A signature is
 *     untrusted comment: <text>\n
 *     base64(alg[2] || keynum[8] || ed25519_sig[64])\n
 * then, for minisign only (F.minisig):
 *     trusted comment: <text>\n
 *     base64(ed25519_sig(sig[64] || text))\n
 * and for signify -e the signed message after the second line. minisign's alg "Ed" signs
 * the file's bytes, "ED" its BLAKE2b-512; signify's "Ed" signs the bytes.
 * Everything here is a parser over (pointer, length) with a limit per line; base64 is
 * accepted only in its one canonical encoding, so a signature file has one reading. No
 * verdicts here: the judges (judge_edsig.c, job_package.c) decide.
 */
#include "edsig.h"

#include "alloc.h"
#include "keycheck.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

static const char untrusted_prefix[] = "untrusted comment: ";
static const char trusted_prefix[] = "trusted comment: ";
#define PREFIX_LEN(p) (sizeof(p) - 1)

#define B64_DECODE_MAX 512u /* characters: far more than any line of these formats */

long
sgs_b64_decode_strict(const char *in, size_t len, uint8_t *out, size_t cap)
{
    uint8_t raw[B64_DECODE_MAX / 4 * 3];
    char again[B64_DECODE_MAX + 1];
    if (len == 0 || len % 4 != 0 || len > B64_DECODE_MAX)
        return -1;
    size_t pad = 0;
    while (pad < 2 && in[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++) {
        const char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return -1;
    }
    const size_t full = len / 4 * 3;
    if (EVP_DecodeBlock(raw, (const unsigned char *)in, (int)len) != (int)full)
        return -1;
    const size_t got = full - pad;
    /* canonical: the bits padding leaves over are zero, so re-encoding gives the input back */
    if (got > cap || EVP_EncodeBlock((unsigned char *)again, raw, (int)got) != (int)len ||
        memcmp(again, in, len) != 0)
        return -1;
    memcpy(out, raw, got);
    return (long)got;
}

/* The line at *at: its bytes without the LF (and one CR before it) in *line and *n; *lf says
   whether it ended in LF. 0 at the end of the buffer. */
static int
next_line(const uint8_t *buf, size_t len, size_t *at, const uint8_t **line, size_t *n, int *lf)
{
    if (*at >= len)
        return 0;
    const uint8_t *const start = buf + *at;
    const uint8_t *const nl = memchr(start, '\n', len - *at);
    size_t l = nl != NULL ? (size_t)(nl - start) : len - *at;
    *lf = nl != NULL;
    *at += l + (nl != NULL);
    if (l > 0 && start[l - 1] == '\r')
        l--;
    *line = start;
    *n = l;
    return 1;
}

/* Line `no` (1-based, for the reason) must begin with prefix and fit max bytes. */
static int
comment_line(const uint8_t *line, size_t n, const char *prefix, size_t plen, size_t max,
             unsigned no, char *why, size_t wn)
{
    if (n > max) {
        snprintf(why, wn, "line %u is longer than %zu bytes", no, max);
        return 0;
    }
    if (n < plen || memcmp(line, prefix, plen) != 0) {
        snprintf(why, wn, "line %u does not begin with \"%.*s\"", no, (int)plen - 1, prefix);
        return 0;
    }
    if (memchr(line, '\0', n) != NULL) {
        snprintf(why, wn, "line %u holds a NUL byte", no);
        return 0;
    }
    return 1;
}

/* A base64 line that must decode to exactly `want` bytes. */
static int
b64_line(const uint8_t *line, size_t n, uint8_t *out, size_t want, unsigned no, char *why,
         size_t wn)
{
    if (n > SGS_EDSIG_B64_LINE_MAX) {
        snprintf(why, wn, "line %u is longer than %u bytes", no, SGS_EDSIG_B64_LINE_MAX);
        return 0;
    }
    const long got = sgs_b64_decode_strict((const char *)line, n, out, want);
    if (got != (long)want) {
        snprintf(why, wn, "line %u is not the base64 of %zu bytes", no, want);
        return 0;
    }
    return 1;
}

int
sgs_edsig_looks_like(const uint8_t *buf, size_t len)
{
    return len >= PREFIX_LEN(untrusted_prefix) &&
           memcmp(buf, untrusted_prefix, PREFIX_LEN(untrusted_prefix)) == 0;
}

int
sgs_edsig_has_trusted_comment(const uint8_t *buf, size_t len)
{
    size_t at = 0, n = 0;
    const uint8_t *line = NULL;
    int lf = 0;
    for (int i = 0; i < 3; i++)
        if (!next_line(buf, len, &at, &line, &n, &lf))
            return 0;
    return n >= PREFIX_LEN(trusted_prefix) &&
           memcmp(line, trusted_prefix, PREFIX_LEN(trusted_prefix)) == 0;
}

void
sgs_edsig_id_hex(const uint8_t keynum[8], char out[17])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) { /* little-endian, most significant first, as %llX */
        const unsigned nib = (unsigned)(i % 2 == 0 ? keynum[7 - i / 2] >> 4 : keynum[7 - i / 2] & 15);
        if (nib != 0 || o > 0 || i == 15)
            out[o++] = hex[nib];
    }
    out[o] = '\0';
}

/* The two lines both formats' signatures begin with: the untrusted comment (ignored) and the
   base64 of alg[2] || keynum[8] || sig[64] into sig; *at moves past them. */
static int
signature_head(const uint8_t *buf, size_t len, size_t *at, uint8_t sig[74], int *lf, char *why,
               size_t wn)
{
    const uint8_t *line = NULL;
    size_t n = 0;
    if (!next_line(buf, len, at, &line, &n, lf)) {
        snprintf(why, wn, "it is empty");
        return 0;
    }
    if (!comment_line(line, n, untrusted_prefix, PREFIX_LEN(untrusted_prefix),
                      SGS_EDSIG_COMMENT_MAX, 1, why, wn))
        return 0;
    if (!next_line(buf, len, at, &line, &n, lf)) {
        snprintf(why, wn, "it ends after the untrusted comment (no signature line)");
        return 0;
    }
    return b64_line(line, n, sig, 74, 2, why, wn);
}

int
sgs_minisig_parse(const uint8_t *buf, size_t len, sgs_minisig *out, char *why, size_t wn)
{
    const uint8_t *line = NULL;
    size_t at = 0, n = 0;
    int lf = 0;
    uint8_t sig[74];
    memset(out, 0, sizeof(*out));
    if (!signature_head(buf, len, &at, sig, &lf, why, wn))
        return 0;
    if (memcmp(sig, "Ed", 2) != 0 && memcmp(sig, "ED", 2) != 0) {
        snprintf(why, wn, "signature algorithm 0x%02x%02x is neither Ed (Ed25519) nor ED "
                          "(Ed25519 over BLAKE2b-512)", sig[0], sig[1]);
        return 0;
    }
    out->prehashed = sig[1] == 'D';
    memcpy(out->keynum, sig + 2, 8);
    memcpy(out->sig, sig + 10, 64);
    if (!next_line(buf, len, &at, &line, &n, &lf)) {
        snprintf(why, wn, "no trusted comment (line 3): a signify signature? name it F.sig "
                          "and give --signify-key");
        return 0;
    }
    if (!comment_line(line, n, trusted_prefix, PREFIX_LEN(trusted_prefix), SGS_EDSIG_TRUSTED_MAX,
                      3, why, wn))
        return 0;
    out->trusted = line + PREFIX_LEN(trusted_prefix);
    out->trusted_len = n - PREFIX_LEN(trusted_prefix);
    if (!next_line(buf, len, &at, &line, &n, &lf)) {
        snprintf(why, wn, "no global signature (line 4)");
        return 0;
    }
    if (!b64_line(line, n, out->global_sig, 64, 4, why, wn))
        return 0;
    if (at != len) {
        snprintf(why, wn, "%zu bytes after the global signature (line 4)", len - at);
        return 0;
    }
    return 1;
}

int
sgs_signify_parse(const uint8_t *buf, size_t len, int embedded, sgs_signify_sig *out, char *why,
                  size_t wn)
{
    size_t at = 0;
    int lf = 0;
    uint8_t sig[74];
    memset(out, 0, sizeof(*out));
    if (!signature_head(buf, len, &at, sig, &lf, why, wn))
        return 0;
    if (!lf) { /* signify ends the line; an embedded message begins after it */
        snprintf(why, wn, "the signature line does not end with a newline");
        return 0;
    }
    if (memcmp(sig, "Ed", 2) != 0) {
        snprintf(why, wn, "signature algorithm 0x%02x%02x is not Ed (Ed25519)%s", sig[0], sig[1],
                 memcmp(sig, "ED", 2) == 0 ? ": a minisign prehashed signature" : "");
        return 0;
    }
    memcpy(out->keynum, sig + 2, 8);
    memcpy(out->sig, sig + 10, 64);
    if (embedded) {
        out->msg = buf + at;
        out->msglen = len - at;
    } else if (at != len) {
        if (sgs_edsig_has_trusted_comment(buf, len))
            snprintf(why, wn, "a minisign signature (it has a trusted comment): name it "
                              "F.minisig and give --minisign-key");
        else
            snprintf(why, wn, "%zu bytes after the signature line", len - at);
        return 0;
    }
    return 1;
}

void
sgs_edkeys_init(sgs_edkeys *ks, const sgs_allocator *a)
{
    memset(ks, 0, sizeof(*ks));
    ks->alloc = a;
}

void
sgs_edkeys_reset(sgs_edkeys *ks)
{
    for (size_t i = 0; i < ks->count; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    sgs_free(ks->alloc, ks->keys);
    ks->keys = NULL;
    ks->count = ks->cap = 0;
}

const sgs_edkey *
sgs_edkeys_find(const sgs_edkeys *ks, const uint8_t keynum[8])
{
    for (size_t i = 0; i < ks->count; i++)
        if (memcmp(ks->keys[i].keynum, keynum, 8) == 0)
            return &ks->keys[i];
    return NULL;
}

sgs_status
sgs_edkeys_add(sgs_edkeys *ks, const uint8_t *buf, size_t len, int min_bits, char *err,
               size_t errlen)
{
    uint8_t raw[42];
    const uint8_t *line = NULL;
    size_t at = 0, n = 0;
    int lf = 0;
    char why[256];
    /* the bare base64 of minisign -P, or the file: a comment line, then the key line */
    if (sgs_edsig_looks_like(buf, len)) {
        if (!next_line(buf, len, &at, &line, &n, &lf) ||
            !comment_line(line, n, untrusted_prefix, PREFIX_LEN(untrusted_prefix),
                          SGS_EDSIG_COMMENT_MAX, 1, why, sizeof(why))) {
            snprintf(err, errlen, "not a minisign/signify public key: %s", why);
            return SGS_ERR_KEY;
        }
        if (!next_line(buf, len, &at, &line, &n, &lf)) {
            snprintf(err, errlen, "not a minisign/signify public key: no key line");
            return SGS_ERR_KEY;
        }
        while (at < len && (buf[at] == '\n' || buf[at] == '\r'))
            at++; /* empty lines at the end */
        if (at != len) {
            snprintf(err, errlen, "not a minisign/signify public key: data after the key line");
            return SGS_ERR_KEY;
        }
    } else {
        line = buf;
        n = len;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
    }
    if (n > SGS_EDSIG_B64_LINE_MAX ||
        sgs_b64_decode_strict((const char *)line, n, raw, sizeof(raw)) != (long)sizeof(raw)) {
        snprintf(err, errlen, "not a minisign/signify public key: the key is not the base64 of "
                              "42 bytes");
        return SGS_ERR_KEY;
    }
    if (memcmp(raw, "Ed", 2) != 0) {
        snprintf(err, errlen, "not an Ed25519 minisign/signify public key (algorithm 0x%02x%02x)",
                 raw[0], raw[1]);
        return SGS_ERR_KEY;
    }
    if (sgs_edkeys_find(ks, raw + 2) != NULL) {
        for (size_t i = 0; i < ks->count; i++) { /* the same key given twice: kept once */
            uint8_t pk[32];
            size_t pl = sizeof(pk);
            if (memcmp(ks->keys[i].keynum, raw + 2, 8) == 0 &&
                EVP_PKEY_get_raw_public_key(ks->keys[i].pkey, pk, &pl) == 1 &&
                memcmp(pk, raw + 10, 32) == 0)
                return SGS_OK;
        }
        char id[17];
        sgs_edsig_id_hex(raw + 2, id);
        snprintf(err, errlen, "two different keys with the key id %s", id);
        ERR_clear_error();
        return SGS_ERR_KEY;
    }
    EVP_PKEY *const pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 10, 32);
    if (pkey == NULL) {
        ERR_clear_error();
        snprintf(err, errlen, "not a usable Ed25519 public key");
        return SGS_ERR_KEY;
    }
    const char *const weak = sgs_key_weakness(pkey, min_bits, why, sizeof(why));
    if (weak != NULL) {
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "refused: %s", weak);
        return SGS_ERR_KEY;
    }
    sgs_key desc;
    if (sgs_key_describe(pkey, &desc) != SGS_OK) {
        EVP_PKEY_free(pkey);
        snprintf(err, errlen, "cannot describe the Ed25519 public key");
        return SGS_ERR_KEY;
    }
    if (ks->count == ks->cap) {
        const size_t cap = ks->cap ? ks->cap * 2 : 4;
        sgs_edkey *const k2 = sgs_calloc(ks->alloc, cap, sizeof(*k2));
        if (k2 == NULL) {
            EVP_PKEY_free(pkey);
            return SGS_ERR_NOMEM;
        }
        if (ks->count > 0)
            memcpy(k2, ks->keys, ks->count * sizeof(*k2));
        sgs_free(ks->alloc, ks->keys);
        ks->keys = k2;
        ks->cap = cap;
    }
    sgs_edkey *const k = &ks->keys[ks->count++];
    memcpy(k->keynum, raw + 2, 8);
    k->pkey = pkey;
    sgs_edsig_id_hex(k->keynum, k->id_hex);
    memcpy(k->fp_hex, desc.fp_hex, sizeof(k->fp_hex));
    return SGS_OK;
}

int
sgs_edsig_verify(const sgs_edkey *key, const uint8_t sig[64], const uint8_t *msg, size_t len)
{
    if (!sgs_ed25519_sig_sane(sig))
        return 0;
    EVP_MD_CTX *const c = EVP_MD_CTX_new();
    const int ok = c != NULL &&
                   EVP_DigestVerifyInit_ex(c, NULL, NULL, NULL, NULL, key->pkey, NULL) == 1 &&
                   EVP_DigestVerify(c, sig, 64, msg != NULL ? msg : (const uint8_t *)"", len) == 1;
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    return ok;
}
