/*
 * keygen.c - what an installer makes: the server key pair, a self-signed server certificate,
 * and the public-key file deployed to every agent; and exporting that file from a certificate.
 *
 * DESIGN: files are written whole through the one writer (fileio.c), never overwriting
 * anything at their name (a file, a link, a FIFO or a device); the
 * private key file is mode 0600 from its creation, in a directory made as `mkdir -p` makes
 * it (missing parents 0755 less the umask; the key directory itself, when new, 0700). Key
 * material in memory is OpenSSL's and is cleared when the EVP_PKEY is freed; the PEM text of
 * the private key is written straight from a memory BIO that is cleansed before it is freed.
 */
#include "alloc.h"
#include "digest.h"
#include "err.h"
#include "fileio.h"
#include "keys.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes the contents of a memory BIO to a new file through the one writer (fileio.c): never
   replacing anything at the name (a file, a link, a FIFO, a device), created with exactly
   `mode`, synced. SGS_OK, or SGS_ERR_IO with err naming the path. */
static sgs_status
write_new(const char *path, BIO *mem, mode_t mode, char *err, size_t errlen)
{
    char *data = NULL;
    const long len = BIO_get_mem_data(mem, &data);
    return sgs_wfile_put(path, SGS_WFILE_NOREPLACE | SGS_WFILE_REGULAR_ONLY | SGS_WFILE_SYNC,
                         mode, data, len > 0 ? (size_t)len : 0, err, errlen);
}

/*
 * The key directory, as `mkdir -p` makes it: each missing parent 0755 (less the umask), the
 * directory itself 0700 when it is new (it holds the private key); existing ones are used as
 * they are. 0, or -1 with err naming the component in the way.
 */
static int
make_key_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    const size_t len = strlen(dir);
    if (len == 0 || len >= sizeof(path)) {
        snprintf(err, errlen, "%s: %s", dir, strerror(len == 0 ? ENOENT : ENAMETOOLONG));
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        if (path[i - 1] == '/')
            continue; /* "a//b", "a/": the component ended at the first slash */
        size_t next = i;
        while (path[next] == '/')
            next++;
        const int last = path[next] == '\0';
        const char saved = path[i];
        path[i] = '\0';
        struct stat sb;
        int e = mkdir(path, last ? 0700 : 0755) == 0 ? 0 : errno;
        if (e == EEXIST) /* followed, as mkdir -p follows a link to a directory */
            e = stat(path, &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
        if (e != 0) {
            snprintf(err, errlen, "%s: %s", path,
                     e == ENOTDIR ? "exists and is not a directory" : strerror(e));
            return -1;
        }
        path[i] = saved;
        if (last)
            break;
    }
    return 0;
}

static EVP_PKEY *
generate(const char *type)
{
    if (strcmp(type, "rsa2048") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (strcmp(type, "rsa3072") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    if (strcmp(type, "ec-p256") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (strcmp(type, "ed25519") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return NULL;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *const ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    const int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static X509 *
self_signed(EVP_PKEY *key)
{
    X509 *const x = X509_new();
    X509_NAME *const name = X509_NAME_new();
    ASN1_INTEGER *const serial = ASN1_INTEGER_new();
    uint8_t rnd[16];
    BIGNUM *const bn = BN_new();
    int ok = x != NULL && name != NULL && serial != NULL && bn != NULL &&
             RAND_bytes(rnd, sizeof(rnd)) == 1;
    if (ok) {
        rnd[0] &= 0x7f; /* positive */
        ok = BN_bin2bn(rnd, sizeof(rnd), bn) != NULL && BN_to_ASN1_INTEGER(bn, serial) != NULL &&
             X509_set_version(x, X509_VERSION_3) == 1 && X509_set_serialNumber(x, serial) == 1 &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        (const unsigned char *)"sigsweep", -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        (const unsigned char *)"sigsweep server", -1, -1, 0) == 1 &&
             X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) != NULL &&
             X509_set_pubkey(x, key) == 1 &&
             add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, NID_subject_key_identifier, "hash") &&
             X509_sign(x, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) > 0;
    }
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

sgs_status
sgs_keygen(const char *type, const char *dir, const char *agent_file, char *err, size_t errlen)
{
    char why[160], path_key[4096], path_crt[4096], path_agent[4096];
    sgs_status st = SGS_ERR_CRYPTO;
    X509 *cert = NULL;
    BIO *kmem = NULL, *cmem = NULL, *amem = NULL;
    err[0] = '\0';
    if (agent_file == NULL || agent_file[0] == '\0' || strchr(agent_file, '/') != NULL) {
        snprintf(err, errlen, "bad agent file name");
        return SGS_ERR_INVALID_ARG;
    }
    EVP_PKEY *const key = generate(type);
    if (key == NULL) {
        snprintf(err, errlen, "unknown key type '%s' (rsa2048, rsa3072, ec-p256, ed25519)%s%s",
                 type, ERR_peek_error() ? ": " : "", sgs_crypto_error(why, sizeof(why)));
        return ERR_peek_error() ? SGS_ERR_CRYPTO : SGS_ERR_INVALID_ARG;
    }
    /* "out/" names out/server.key, not out//server.key */
    int dlen = (int)strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    const char *const sep = dlen == 1 && dir[0] == '/' ? "" : "/";
    snprintf(path_key, sizeof(path_key), "%.*s%sserver.key", dlen, dir, sep);
    snprintf(path_crt, sizeof(path_crt), "%.*s%sserver.crt", dlen, dir, sep);
    snprintf(path_agent, sizeof(path_agent), "%.*s%s%s", dlen, dir, sep, agent_file);
    const char *const paths[3] = {path_key, path_crt, path_agent};
    if (make_key_dir(dir, err, errlen) != 0) {
        st = SGS_ERR_IO;
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        struct stat sb;
        if (lstat(paths[i], &sb) == 0) {
            snprintf(err, errlen, "%s exists; not overwritten", paths[i]);
            st = SGS_ERR_IO;
            goto out;
        }
    }
    cert = self_signed(key);
    kmem = BIO_new(BIO_s_mem());
    cmem = BIO_new(BIO_s_mem());
    amem = BIO_new(BIO_s_mem());
    if (cert == NULL || kmem == NULL || cmem == NULL || amem == NULL ||
        PEM_write_bio_PrivateKey(kmem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_X509(cmem, cert) != 1 || i2d_PUBKEY_bio(amem, key) != 1) {
        snprintf(err, errlen, "cannot make the key pair: %s", sgs_crypto_error(why, sizeof(why)));
        goto out;
    }
    BIO *const mems[3] = {kmem, cmem, amem};
    const mode_t modes[3] = {0600, 0644, 0644};
    for (int i = 0; i < 3; i++) {
        if (write_new(paths[i], mems[i], modes[i], err, errlen) != SGS_OK) {
            for (int k = 0; k < i; k++)
                (void)unlink(paths[k]); /* all three or none */
            st = SGS_ERR_IO;
            goto out;
        }
    }
    st = SGS_OK;
out:
    if (kmem != NULL) {
        char *data = NULL;
        const long len = BIO_get_mem_data(kmem, &data);
        if (data != NULL && len > 0)
            OPENSSL_cleanse(data, (size_t)len);
    }
    BIO_free(kmem);
    BIO_free(cmem);
    BIO_free(amem);
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return st;
}

typedef struct first_key {
    EVP_PKEY *key;
} first_key;

static sgs_status
keep_cert_key(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    first_key *const f = opaque;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (x != NULL && f->key == NULL)
        f->key = X509_get_pubkey(x);
    X509_free(x);
    return SGS_OK;
}

sgs_status
sgs_export_public_key(const char *cert, const char *out, int pem, char *err, size_t errlen)
{
    char why[160];
    first_key f = {NULL};
    err[0] = '\0';
    sgs_status st = sgs_pki_parse_file(NULL, cert, keep_cert_key, &f, err, errlen);
    if (st != SGS_OK || f.key == NULL) {
        /* not a certificate: maybe a public key */
        sgs_keyset ks;
        sgs_keyset_init(&ks, NULL);
        st = sgs_keyset_add_file(&ks, cert, err, errlen);
        if (st == SGS_OK && ks.count == 1) {
            f.key = ks.keys[0].pkey;
            ks.keys[0].pkey = NULL;
            ks.count = 0;
        } else if (st == SGS_OK) {
            snprintf(err, errlen, "%s: holds %zu keys", cert, ks.count);
            st = SGS_ERR_KEY;
        }
        sgs_keyset_reset(&ks);
        if (st != SGS_OK)
            return st;
    }
    BIO *const mem = BIO_new(BIO_s_mem());
    const int ok = mem != NULL && (pem ? PEM_write_bio_PUBKEY(mem, f.key) : i2d_PUBKEY_bio(mem, f.key)) == 1;
    if (!ok) {
        snprintf(err, errlen, "cannot encode the public key: %s",
                 sgs_crypto_error(why, sizeof(why)));
        st = SGS_ERR_CRYPTO;
    } else {
        st = write_new(out, mem, 0644, err, errlen);
    }
    BIO_free(mem);
    EVP_PKEY_free(f.key);
    ERR_clear_error();
    return st;
}
