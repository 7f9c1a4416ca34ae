/*
 * keys.c - public keys (PEM/DER SPKI or X.509 certificate), private keys for signing, SPKI
 * SHA-256 fingerprints, and a key set without duplicates.
 *
 * DESIGN: all DER/PEM parsing is OpenSSL's (PEM_read_bio, d2i_PUBKEY, d2i_X509); this module
 * only decides which parser a block goes to and insists that DER input is consumed exactly.
 * Keys are parsed once when added; workers only read the set afterwards, which is safe for
 * EVP_PKEY in OpenSSL 3. A key is identified by the SHA-256 of its DER SubjectPublicKeyInfo,
 * the same fingerprint `openssl pkey -pubin -outform DER | sha256sum` gives.
 */
#include "keys.h"

#include "keycheck.h"

#include "alloc.h"
#include "digest.h"
#include "err.h"
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
sgs_keyset_init(sgs_keyset *ks, const sgs_allocator *alloc)
{
    memset(ks, 0, sizeof(*ks));
    ks->alloc = alloc;
    ks->min_bits = SGS_MIN_SECURITY_BITS_DEFAULT;
}

void
sgs_keyset_reset(sgs_keyset *ks)
{
    for (size_t i = 0; i < ks->count; i++)
        EVP_PKEY_free(ks->keys[i].pkey);
    sgs_free(ks->alloc, ks->keys);
    sgs_free(ks->alloc, ks->seen);
    const sgs_allocator *const a = ks->alloc;
    const int min_bits = ks->min_bits;
    sgs_keyset_init(ks, a);
    ks->min_bits = min_bits;
}

static sgs_status
read_file(const sgs_allocator *a, const char *path, size_t max, int follow, uint8_t **out,
          size_t *len, char *err, size_t errlen)
{
    sgs_status st = SGS_OK;
    uint8_t *buf = NULL;
    struct stat sb;
    if (errlen > 0)
        err[0] = '\0';
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == ELOOP ? "is a symbolic link (not followed)" : strerror(errno));
        return SGS_ERR_IO;
    }
    SGS_FAIL_IF(fstat(fd, &sb) != 0, SGS_ERR_IO);
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        st = SGS_ERR_IO;
        goto out;
    }
    if ((uint64_t)sb.st_size > max) {
        snprintf(err, errlen, "%s: %lld bytes, more than the %zu allowed", path,
                 (long long)sb.st_size, max);
        st = SGS_ERR_IO;
        goto out;
    }
    const size_t size = (size_t)sb.st_size;
    buf = sgs_malloc(a, size + 1);
    SGS_FAIL_IF(buf == NULL, SGS_ERR_NOMEM);
    size_t got = 0;
    while (got <= size) { /* read one byte past the size to notice growth */
        const ssize_t n = read(fd, buf + got, size + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            st = SGS_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        snprintf(err, errlen, "%s: changed while being read", path);
        st = SGS_ERR_IO;
        goto out;
    }
    *out = buf;
    *len = size;
    buf = NULL;
out:
    if (st != SGS_OK && err[0] == '\0') /* every failure says why, out of memory too */
        snprintf(err, errlen, "%s: %s", path,
                 st == SGS_ERR_NOMEM ? "out of memory" : strerror(errno));
    if (buf != NULL) {
        OPENSSL_cleanse(buf, (size_t)sb.st_size + 1);
        sgs_free(a, buf);
    }
    close(fd);
    return st;
}

void
sgs_key_describe_type(EVP_PKEY *pkey, sgs_key *out)
{
    memset(out, 0, sizeof(*out));
    out->curve = "";
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        out->type = SGS_KEY_RSA;
    } else if (EVP_PKEY_is_a(pkey, "RSA-PSS")) {
        out->type = SGS_KEY_RSA_PSS;
    } else if (EVP_PKEY_is_a(pkey, "ED25519")) {
        out->type = SGS_KEY_ED25519;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        out->type = SGS_KEY_EC;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), &glen) != 1)
            group[0] = '\0';
        if (strcmp(group, "prime256v1") == 0)
            out->curve = "p256";
        else if (strcmp(group, "secp384r1") == 0)
            out->curve = "p384";
        else if (strcmp(group, "secp521r1") == 0)
            out->curve = "p521";
        else
            out->type = SGS_KEY_OTHER;
    } else {
        out->type = SGS_KEY_OTHER;
    }
    out->bits = EVP_PKEY_get_bits(pkey);
    const int size = EVP_PKEY_get_size(pkey);
    out->sig_size = size > 0 ? (size_t)size : 0;
}

sgs_status
sgs_key_describe(EVP_PKEY *pkey, sgs_key *out)
{
    sgs_key_describe_type(pkey, out);
    unsigned char *der = NULL;
    const int n = i2d_PUBKEY(pkey, &der);
    unsigned int mdlen = 0;
    const int ok = n > 0 && EVP_Digest(der, (size_t)n, out->fp, &mdlen, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    if (!ok) {
        ERR_clear_error();
        return SGS_ERR_CRYPTO;
    }
    sgs_hex(out->fp, sizeof(out->fp), out->fp_hex);
    return SGS_OK;
}

sgs_status
sgs_cert_spki_fp(X509 *cert, char hex[SGS_FP_HEX_LEN])
{
    /* The certificate keeps its SubjectPublicKeyInfo as parsed: re-encoding that structure
       needs no provider encoder (i2d_PUBKEY on an EVP_PKEY costs ~100x more in OpenSSL 3.0). */
    unsigned char *der = NULL;
    uint8_t fp[32];
    unsigned int mdlen = 0;
    const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    const int ok = n > 0 && EVP_Digest(der, (size_t)n, fp, &mdlen, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    if (!ok) {
        ERR_clear_error();
        hex[0] = '\0';
        return SGS_ERR_CRYPTO;
    }
    sgs_hex(fp, sizeof(fp), hex);
    return SGS_OK;
}

sgs_status
sgs_read_small_file(const sgs_allocator *a, const char *path, size_t max, uint8_t **out,
                    size_t *len, char *err, size_t errlen)
{
    return read_file(a, path, max, 0, out, len, err, errlen);
}

sgs_status
sgs_read_small_file_follow(const sgs_allocator *a, const char *path, size_t max, uint8_t **out,
                           size_t *len, char *err, size_t errlen)
{
    return read_file(a, path, max, 1, out, len, err, errlen);
}

static const char *
key_type_problem(const sgs_key *k)
{
    if (k->type == SGS_KEY_OTHER)
        return "unsupported key type (supported: RSA, RSA-PSS, EC P-256/P-384/P-521, Ed25519)";
    return NULL;
}

/* Takes ownership of pkey: adds it (if new) or frees it. */
static sgs_status
keyset_take(sgs_keyset *ks, EVP_PKEY *pkey, char *err, size_t errlen)
{
    sgs_key k;
    sgs_status st = sgs_key_describe(pkey, &k);
    if (st != SGS_OK) {
        snprintf(err, errlen, "cannot encode the public key");
        EVP_PKEY_free(pkey);
        return st;
    }
    char weak[160];
    const char *problem = key_type_problem(&k);
    if (problem == NULL)
        problem = sgs_key_weakness(pkey, ks->min_bits, weak, sizeof(weak));
    if (problem != NULL) {
        snprintf(err, errlen, "%s", problem);
        EVP_PKEY_free(pkey);
        return SGS_ERR_KEY;
    }
    for (size_t i = 0; i < ks->count; i++) {
        if (memcmp(ks->keys[i].fp, k.fp, sizeof(k.fp)) == 0) {
            EVP_PKEY_free(pkey);
            return SGS_OK;
        }
    }
    if (ks->count == ks->cap) {
        const size_t cap = ks->cap ? ks->cap * 2 : 4;
        sgs_key *const keys = sgs_calloc(ks->alloc, cap, sizeof(*keys));
        if (keys == NULL) {
            EVP_PKEY_free(pkey);
            return SGS_ERR_NOMEM;
        }
        if (ks->count > 0)
            memcpy(keys, ks->keys, ks->count * sizeof(*keys));
        sgs_free(ks->alloc, ks->keys);
        ks->keys = keys;
        ks->cap = cap;
    }
    k.pkey = pkey;
    ks->keys[ks->count++] = k;
    return SGS_OK;
}

static int
is_private_block(const char *name)
{
    return strstr(name, "PRIVATE KEY") != NULL;
}

/* Parses one DER public key or certificate, consuming all of it. NULL if it is neither. */
static EVP_PKEY *
der_public(const uint8_t *der, size_t len, int cert_only)
{
    const unsigned char *p = der;
    if (!cert_only) {
        EVP_PKEY *const pk = d2i_PUBKEY(NULL, &p, (long)len);
        if (pk != NULL && p == der + len)
            return pk;
        EVP_PKEY_free(pk);
        p = der;
    }
    X509 *const x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *pk = NULL;
    if (x != NULL && p == der + len)
        pk = X509_get_pubkey(x);
    X509_free(x);
    ERR_clear_error();
    return pk;
}

static EVP_PKEY *
pem_block_public(const char *name, const uint8_t *data, size_t len, const char **why)
{
    const unsigned char *p = data;
    if (strcmp(name, "PUBLIC KEY") == 0 || strcmp(name, "CERTIFICATE") == 0 ||
        strcmp(name, "X509 CERTIFICATE") == 0) {
        EVP_PKEY *const pk = der_public(data, len, strcmp(name, "PUBLIC KEY") != 0);
        if (pk == NULL)
            *why = "PEM block does not decode to a public key or certificate";
        return pk;
    }
    if (strcmp(name, "TRUSTED CERTIFICATE") == 0) {
        X509 *const x = d2i_X509_AUX(NULL, &p, (long)len);
        EVP_PKEY *const pk = (x != NULL && p == data + len) ? X509_get_pubkey(x) : NULL;
        X509_free(x);
        if (pk == NULL)
            *why = "TRUSTED CERTIFICATE block does not decode";
        return pk;
    }
    if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        EVP_PKEY *const pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
        if (pk != NULL && p == data + len)
            return pk;
        EVP_PKEY_free(pk);
        *why = "RSA PUBLIC KEY block does not decode";
        return NULL;
    }
    *why = "unsupported PEM block";
    return NULL;
}

int
sgs_pem_present(const uint8_t *buf, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    const size_t n = sizeof(tag) - 1;
    for (size_t i = 0; i + n <= len; i++)
        if (buf[i] == '-' && memcmp(buf + i, tag, n) == 0)
            return 1;
    return 0;
}

sgs_status
sgs_pem_each(const uint8_t *buf, size_t len, sgs_pem_fn fn, void *opaque, const char *path,
             const char *none, char *err, size_t errlen)
{
    char cause[160];
    BIO *const bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL)
        return SGS_ERR_NOMEM;
    sgs_status st = SGS_OK;
    for (unsigned blocks = 0; st == SGS_OK;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
            const unsigned long e = ERR_peek_last_error();
            const int at_end = ERR_GET_LIB(e) == ERR_LIB_PEM &&
                               ERR_GET_REASON(e) == PEM_R_NO_START_LINE && blocks > 0;
            (void)sgs_crypto_error(cause, sizeof(cause));
            if (!at_end) {
                snprintf(err, errlen, "%s%sbad PEM: %s", path != NULL ? path : "",
                         path != NULL ? ": " : "", cause[0] ? cause : none);
                st = SGS_ERR_KEY;
            }
            break;
        }
        st = fn(opaque, ++blocks, name, data, dlen);
        if (data != NULL)
            OPENSSL_cleanse(data, (size_t)dlen);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    BIO_free(bio);
    return st;
}

static sgs_status add_buffer_parse(sgs_keyset *ks, const uint8_t *buf, size_t len, char *err,
                                   size_t errlen);

/* Was this exact buffer added before (successfully)? */
static int
seen_before(const sgs_keyset *ks, const uint8_t h[32])
{
    for (size_t i = 0; i < ks->nseen; i++)
        if (memcmp(ks->seen[i], h, 32) == 0)
            return 1;
    return 0;
}

/* Remembers a buffer whose keys were all added (best effort: no memory, no memo). */
static void
remember(sgs_keyset *ks, const uint8_t h[32])
{
    if (ks->nseen == ks->seen_cap) {
        const size_t cap = ks->seen_cap ? 2 * ks->seen_cap : 8;
        uint8_t(*const grown)[32] = sgs_calloc(ks->alloc, cap, 32);
        if (grown == NULL)
            return;
        if (ks->nseen > 0)
            memcpy(grown, ks->seen, ks->nseen * 32);
        sgs_free(ks->alloc, ks->seen);
        ks->seen = grown;
        ks->seen_cap = cap;
    }
    memcpy(ks->seen[ks->nseen++], h, 32);
}

sgs_status
sgs_keyset_add_buffer(sgs_keyset *ks, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    err[0] = '\0';
    uint8_t h[32];
    unsigned int hl = 0;
    const int hashed = len > 0 && len <= SGS_KEY_FILE_MAX &&
                       EVP_Digest(buf, len, h, &hl, EVP_sha256(), NULL) == 1;
    if (hashed && seen_before(ks, h))
        return SGS_OK; /* the same bytes again: the same keys, already in the set */
    const sgs_status st = add_buffer_parse(ks, buf, len, err, errlen);
    if (st == SGS_OK && hashed)
        remember(ks, h);
    return st;
}

typedef struct key_blocks {
    sgs_keyset *ks;
    unsigned found;
    char *err;
    size_t errlen;
} key_blocks;

/* One PEM block of a key file: a public key or certificate goes into the set. */
static sgs_status
key_block(void *opaque, unsigned index, const char *name, const unsigned char *data, long dlen)
{
    key_blocks *const kb = opaque;
    const char *why = NULL;
    EVP_PKEY *pk = NULL;
    if (is_private_block(name))
        why = "holds a private key; give the public key";
    else if (strcmp(name, "EC PARAMETERS") != 0)
        pk = pem_block_public(name, data, (size_t)dlen, &why);
    if (why != NULL) {
        snprintf(kb->err, kb->errlen, "PEM block %u (%s): %s", index, name, why);
        return SGS_ERR_KEY;
    }
    if (pk == NULL)
        return SGS_OK;
    kb->found++;
    return keyset_take(kb->ks, pk, kb->err, kb->errlen);
}

/* The parse behind sgs_keyset_add_buffer (all of a buffer or none of it). */
static sgs_status
add_buffer_parse(sgs_keyset *ks, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    const size_t count_before = ks->count;
    err[0] = '\0';
    if (len == 0) {
        snprintf(err, errlen, "empty file");
        return SGS_ERR_KEY;
    }
    if (len > SGS_KEY_FILE_MAX) {
        snprintf(err, errlen, "key file larger than %u bytes", SGS_KEY_FILE_MAX);
        return SGS_ERR_KEY;
    }
    if (!sgs_pem_present(buf, len)) {
        EVP_PKEY *const pk = der_public(buf, len, 0);
        if (pk != NULL)
            return keyset_take(ks, pk, err, errlen);
        const unsigned char *p = buf;
        EVP_PKEY *const priv = d2i_AutoPrivateKey(NULL, &p, (long)len);
        EVP_PKEY_free(priv);
        ERR_clear_error();
        snprintf(err, errlen, "%s", priv != NULL ? "holds a private key; give the public key"
                                                 : "not a PEM or DER public key or certificate");
        return SGS_ERR_KEY;
    }
    key_blocks kb = {ks, 0, err, errlen};
    sgs_status st = sgs_pem_each(buf, len, key_block, &kb, NULL, "no PEM block", err, errlen);
    if (st == SGS_OK && kb.found == 0) {
        snprintf(err, errlen, "no public key or certificate in the PEM blocks");
        st = SGS_ERR_KEY;
    }
    if (st != SGS_OK) {
        for (size_t i = count_before; i < ks->count; i++)
            EVP_PKEY_free(ks->keys[i].pkey);
        ks->count = count_before;
    }
    return st;
}

sgs_status
sgs_keyset_add_file(sgs_keyset *ks, const char *path, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[256] = "";
    sgs_status st = sgs_read_small_file(ks->alloc, path, SGS_KEY_FILE_MAX, &buf, &len, why,
                                        sizeof(why));
    if (st != SGS_OK) {
        snprintf(err, errlen, "%s", why);
        return st;
    }
    st = sgs_keyset_add_buffer(ks, buf, len, why, sizeof(why));
    if (st != SGS_OK)
        snprintf(err, errlen, "%s: %s", path, why);
    OPENSSL_cleanse(buf, len);
    sgs_free(ks->alloc, buf);
    return st;
}

/* Appends one line to the warnings in err (lines: what was skipped); one that does not fit is
   counted instead, and said at the end. */
typedef struct skipped {
    char *err;
    size_t errlen, used, untold, count;
} skipped;

/* "skipping PATH: WHAT (WHY)"; why NULL: without it. */
static void
skip(skipped *sk, const char *path, const char *what, const char *why)
{
    char line[512];
    const int n = snprintf(line, sizeof(line), "%sskipping %s: %s%s%s%s", sk->used ? "\n" : "",
                           path, what, why != NULL ? " (" : "", why != NULL ? why : "",
                           why != NULL ? ")" : "");
    sk->count++;
    /* room is kept for the last line, "and N more skipped" */
    if (n > 0 && sk->used + (size_t)n + 48 < sk->errlen) {
        memcpy(sk->err + sk->used, line, (size_t)n + 1);
        sk->used += (size_t)n;
    } else {
        sk->untold++;
    }
}

/* why, without the "path: " its reader put in front. */
static const char *
without_path(const char *why, const char *path)
{
    const size_t n = strlen(path);
    return strncmp(why, path, n) == 0 && why[n] == ':' && why[n + 1] == ' ' ? why + n + 2 : why;
}

sgs_status
sgs_keyset_add_dir(sgs_keyset *ks, const char *dir, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    err[0] = '\0';
    const int rc = sgs_list_dir(ks->alloc, dir, 1, 1, &names, &n);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(rc));
        return rc == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
    }
    struct file_id {
        dev_t dev;
        ino_t ino;
    } *const seen = sgs_calloc(ks->alloc, n > 0 ? n : 1, sizeof(*seen));
    size_t nseen = 0, with_keys = 0;
    skipped sk = {err, errlen, 0, 0, 0};
    sgs_status st = seen != NULL ? SGS_OK : SGS_ERR_NOMEM;
    for (size_t i = 0; i < n && st == SGS_OK; i++) {
        struct stat sb, lsb;
        if (stat(names[i], &sb) != 0) {
            const int e = errno;
            if (lstat(names[i], &lsb) == 0 && S_ISLNK(lsb.st_mode) && e == ENOENT)
                skip(&sk, names[i], "a link to nothing", NULL);
            else
                skip(&sk, names[i], "cannot be read", strerror(e));
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            skip(&sk, names[i], "a directory (not searched)", NULL);
            continue;
        }
        int again = 0; /* the same file by another name: a hash link to it, read once */
        for (size_t k = 0; k < nseen && !again; k++)
            again = seen[k].dev == sb.st_dev && seen[k].ino == sb.st_ino;
        if (again)
            continue;
        seen[nseen].dev = sb.st_dev;
        seen[nseen++].ino = sb.st_ino;
        uint8_t *buf = NULL;
        size_t len = 0;
        char why[256] = "";
        sgs_status fst = sgs_read_small_file_follow(ks->alloc, names[i], SGS_KEY_FILE_MAX, &buf,
                                                    &len, why, sizeof(why));
        if (fst == SGS_OK) {
            fst = sgs_keyset_add_buffer(ks, buf, len, why, sizeof(why));
            OPENSSL_cleanse(buf, len);
            sgs_free(ks->alloc, buf);
            if (fst == SGS_ERR_KEY)
                skip(&sk, names[i], "not a public key", why);
        } else if (fst == SGS_ERR_IO) {
            skip(&sk, names[i], "cannot be read", without_path(why, names[i]));
        }
        if (fst == SGS_OK)
            with_keys++;
        else if (fst != SGS_ERR_KEY && fst != SGS_ERR_IO)
            st = fst; /* out of memory: the run cannot go on */
    }
    if (st == SGS_OK && sk.untold > 0)
        snprintf(err + sk.used, errlen - sk.used, "%sand %zu more skipped in %s",
                 sk.used ? "\n" : "", sk.untold, dir);
    if (st == SGS_OK && with_keys == 0) { /* the verdict first, then what was skipped */
        char lines[1024];
        snprintf(lines, sizeof(lines), "%s", err);
        if (n == 0)
            snprintf(err, errlen, "%s: no key files in the directory", dir);
        else
            snprintf(err, errlen, "%s: no public key in the directory\n%s", dir, lines);
        st = SGS_ERR_KEY;
    }
    if (st == SGS_ERR_NOMEM)
        snprintf(err, errlen, "%s: out of memory", dir);
    sgs_free(ks->alloc, seen);
    sgs_list_free(ks->alloc, names, n);
    return st;
}

static int
fp_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

void
sgs_keyset_finalize(sgs_keyset *ks)
{
    uint8_t *const fps = sgs_calloc(ks->alloc, ks->count ? ks->count : 1, 32);
    unsigned int mdlen = 0;
    if (fps == NULL) {
        /* Fall back to insertion order: still a unique id for this set. */
        EVP_MD_CTX *const c = EVP_MD_CTX_new();
        if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
            for (size_t i = 0; i < ks->count; i++)
                (void)EVP_DigestUpdate(c, ks->keys[i].fp, 32);
            (void)EVP_DigestFinal_ex(c, ks->id, &mdlen);
        }
        EVP_MD_CTX_free(c);
        return;
    }
    for (size_t i = 0; i < ks->count; i++)
        memcpy(fps + 32 * i, ks->keys[i].fp, 32);
    qsort(fps, ks->count, 32, fp_cmp);
    (void)EVP_Digest(fps, 32 * ks->count, ks->id, &mdlen, EVP_sha256(), NULL);
    sgs_free(ks->alloc, fps);
}

static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* encrypted keys are refused rather than prompted for */
}

sgs_status
sgs_private_key_parse(const uint8_t *buf, size_t len, EVP_PKEY **out, char *err, size_t errlen)
{
    char cause[160];
    EVP_PKEY *pk = NULL;
    if (len == 0 || len > SGS_KEY_FILE_MAX) {
        snprintf(err, errlen, "%s", len == 0 ? "empty key file" : "key file too large");
        return SGS_ERR_KEY;
    }
    if (sgs_pem_present(buf, len)) {
        BIO *const bio = BIO_new_mem_buf(buf, (int)len);
        if (bio == NULL)
            return SGS_ERR_NOMEM;
        pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = buf;
        pk = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (pk != NULL && p != buf + len) {
            EVP_PKEY_free(pk);
            pk = NULL;
        }
    }
    (void)sgs_crypto_error(cause, sizeof(cause));
    if (pk == NULL) {
        snprintf(err, errlen, "not an unencrypted private key%s%s", cause[0] ? ": " : "",
                 cause);
        return SGS_ERR_KEY;
    }
    sgs_key k;
    char weak[160];
    const char *problem = sgs_key_describe(pk, &k) != SGS_OK ? "cannot encode the public key"
                                                             : key_type_problem(&k);
    if (problem == NULL) /* signing with a key no verifier here would accept helps nobody */
        problem = sgs_key_weakness(pk, SGS_MIN_SECURITY_BITS_DEFAULT, weak, sizeof(weak));
    if (problem != NULL) {
        snprintf(err, errlen, "%s", problem);
        EVP_PKEY_free(pk);
        return SGS_ERR_KEY;
    }
    *out = pk;
    return SGS_OK;
}
