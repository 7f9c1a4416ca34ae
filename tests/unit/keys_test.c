/*
 * keys_test.c - public keys from PEM/DER SPKI, certificates, bundles and "RSA PUBLIC KEY"
 * blocks; deduplication by SPKI fingerprint; refusal of private keys, garbage, empty,
 * truncated and trailing-byte inputs with nothing added; the fingerprint is SHA-256 of
 * i2d_PUBKEY; the key-set id does not depend on insertion order; private keys for signing
 * (PEM/DER, PKCS#8/traditional; encrypted ones refused without a prompt).
 */
#include "keys.h"

#include "digest.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>

static sgs_test_rng rng;

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static buf
bio_take(BIO *b)
{
    char *data = NULL;
    const long n = BIO_get_mem_data(b, &data);
    REQUIRE(n >= 0);
    buf out = {malloc((size_t)n + 1), (size_t)n};
    REQUIRE(out.p != NULL);
    memcpy(out.p, data, (size_t)n);
    BIO_free(b);
    return out;
}

static BIO *
mem(void)
{
    BIO *const b = BIO_new(BIO_s_mem());
    REQUIRE(b != NULL);
    return b;
}

static buf
pem_spki(EVP_PKEY *pk)
{
    BIO *const b = mem();
    REQUIRE(PEM_write_bio_PUBKEY(b, pk) == 1);
    return bio_take(b);
}

static buf
der_spki(EVP_PKEY *pk)
{
    unsigned char *der = NULL;
    const int n = i2d_PUBKEY(pk, &der);
    REQUIRE(n > 0);
    buf out = {malloc((size_t)n + 1), (size_t)n};
    REQUIRE(out.p != NULL);
    memcpy(out.p, der, (size_t)n);
    OPENSSL_free(der);
    return out;
}

static X509 *
make_cert(EVP_PKEY *pk)
{
    X509 *const x = X509_new();
    REQUIRE(x != NULL);
    REQUIRE(X509_set_version(x, 2) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) == 1);
    REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL);
    REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365) != NULL);
    REQUIRE(X509_set_pubkey(x, pk) == 1);
    X509_NAME *const name = X509_get_subject_name(x);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       (const unsigned char *)"sigsweep test", -1, -1, 0) == 1);
    REQUIRE(X509_set_issuer_name(x, name) == 1);
    const EVP_MD *const md = EVP_PKEY_is_a(pk, "ED25519") ? NULL : EVP_sha256();
    REQUIRE(X509_sign(x, pk, md) > 0);
    return x;
}

static buf
pem_cert(EVP_PKEY *pk)
{
    X509 *const x = make_cert(pk);
    BIO *const b = mem();
    REQUIRE(PEM_write_bio_X509(b, x) == 1);
    X509_free(x);
    return bio_take(b);
}

static buf
der_cert(EVP_PKEY *pk)
{
    X509 *const x = make_cert(pk);
    unsigned char *der = NULL;
    const int n = i2d_X509(x, &der);
    REQUIRE(n > 0);
    buf out = {malloc((size_t)n + 1), (size_t)n};
    REQUIRE(out.p != NULL);
    memcpy(out.p, der, (size_t)n);
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

/* PKCS#1 RSAPublicKey in a "RSA PUBLIC KEY" PEM block. */
static buf
pem_rsa_public(EVP_PKEY *pk)
{
    unsigned char *der = NULL;
    const int n = i2d_PublicKey(pk, &der);
    REQUIRE(n > 0);
    BIO *const b = mem();
    REQUIRE(PEM_write_bio(b, "RSA PUBLIC KEY", "", der, n) > 0);
    OPENSSL_free(der);
    return bio_take(b);
}

static buf
pem_private_pkcs8(EVP_PKEY *pk)
{
    BIO *const b = mem();
    REQUIRE(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1);
    return bio_take(b);
}

static buf
pem_private_traditional(EVP_PKEY *pk)
{
    BIO *const b = mem();
    REQUIRE(PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL, 0, NULL, NULL) == 1);
    return bio_take(b);
}

static buf
pem_private_encrypted(EVP_PKEY *pk, int pkcs8)
{
    BIO *const b = mem();
    static char pass[] = "secret";
    if (pkcs8)
        REQUIRE(PEM_write_bio_PKCS8PrivateKey(b, pk, EVP_aes_256_cbc(), NULL, 0, NULL, pass) == 1);
    else
        REQUIRE(PEM_write_bio_PrivateKey_traditional(b, pk, EVP_aes_256_cbc(),
                                                     (unsigned char *)pass, 6, NULL, NULL) == 1);
    return bio_take(b);
}

static buf
der_private_pkcs8(EVP_PKEY *pk)
{
    BIO *const b = mem();
    REQUIRE(i2d_PKCS8PrivateKey_bio(b, pk, NULL, NULL, 0, NULL, NULL) == 1);
    return bio_take(b);
}

static buf
der_private_traditional(EVP_PKEY *pk)
{
    unsigned char *der = NULL;
    const int n = i2d_PrivateKey(pk, &der);
    REQUIRE(n > 0);
    buf out = {malloc((size_t)n + 1), (size_t)n};
    REQUIRE(out.p != NULL);
    memcpy(out.p, der, (size_t)n);
    OPENSSL_free(der);
    return out;
}

static buf
cat(buf a, buf b)
{
    buf out = {malloc(a.n + b.n + 1), a.n + b.n};
    REQUIRE(out.p != NULL);
    memcpy(out.p, a.p, a.n);
    memcpy(out.p + a.n, b.p, b.n);
    return out;
}

static buf
text(const char *s)
{
    buf out = {(uint8_t *)strdup(s), strlen(s)};
    REQUIRE(out.p != NULL);
    return out;
}

static void
fingerprint(EVP_PKEY *pk, uint8_t fp[32])
{
    unsigned char *der = NULL;
    const int n = i2d_PUBKEY(pk, &der);
    REQUIRE(n > 0);
    unsigned len = 0;
    REQUIRE(EVP_Digest(der, (size_t)n, fp, &len, EVP_sha256(), NULL) == 1 && len == 32);
    OPENSSL_free(der);
}

/* Adds b and expects `st` and the given count afterwards; checks the queue is left empty. */
static sgs_status
add(sgs_keyset *ks, buf b, char *err, size_t errlen)
{
    err[0] = 'X';
    err[1] = '\0';
    ERR_clear_error();
    const sgs_status st = sgs_keyset_add_buffer(ks, b.p, b.n, err, errlen);
    if (ERR_peek_error() != 0) {
        fprintf(stderr, "keys_test: sgs_keyset_add_buffer left a libcrypto error queued "
                        "(status %d, err \"%s\")\n", (int)st, err);
        CHECK_EQ_INT(ERR_peek_error(), 0);
        ERR_clear_error();
    }
    return st;
}

#define CHECK_ADD(ks, b, want_st, want_count) \
    do { \
        char err_[256]; \
        const sgs_status st_ = add((ks), (b), err_, sizeof(err_)); \
        CHECK_EQ_INT(st_, (want_st)); \
        CHECK_EQ_INT((ks)->count, (want_count)); \
        if (st_ != SGS_OK) \
            CHECK(err_[0] != '\0' && strcmp(err_, "X") != 0); \
    } while (0)

/* A refused input whose reason must mention `word`. */
#define CHECK_REFUSED(ks, b, word) \
    do { \
        char err_[256]; \
        const size_t before_ = (ks)->count; \
        const sgs_status st_ = add((ks), (b), err_, sizeof(err_)); \
        CHECK_EQ_INT(st_, SGS_ERR_KEY); \
        CHECK_EQ_INT((ks)->count, before_); \
        if (strstr(err_, (word)) == NULL) { \
            fprintf(stderr, "keys_test: reason \"%s\" lacks \"%s\"\n", err_, (word)); \
            CHECK(strstr(err_, (word)) != NULL); \
        } \
    } while (0)

static EVP_PKEY *rsa, *rsa2, *ec, *ec384, *ed;

static void
check_key(const sgs_key *k, EVP_PKEY *pk, sgs_key_type type, int bits, size_t sig_size,
          const char *curve)
{
    uint8_t fp[32];
    char hex[SGS_FP_HEX_LEN];
    fingerprint(pk, fp);
    sgs_hex(fp, 32, hex);
    CHECK_EQ_INT(k->type, type);
    CHECK_EQ_INT(k->bits, bits);
    CHECK_EQ_INT(k->sig_size, sig_size);
    CHECK_EQ_STR(k->curve, curve);
    CHECK_EQ_MEM(k->fp, fp, 32);
    CHECK_EQ_STR(k->fp_hex, hex);
    CHECK(k->pkey != NULL && EVP_PKEY_eq(k->pkey, pk) == 1);
}

static void
test_public_forms(void)
{
    sgs_keyset ks;
    sgs_keyset_init(&ks, NULL);
    buf b = pem_spki(rsa);
    CHECK_ADD(&ks, b, SGS_OK, 1);
    free(b.p);
    REQUIRE(ks.count == 1);
    check_key(&ks.keys[0], rsa, SGS_KEY_RSA, 2048, 256, "");
    /* the same key as DER SPKI, PEM certificate, DER certificate, RSA PUBLIC KEY: kept once */
    b = der_spki(rsa);
    CHECK_ADD(&ks, b, SGS_OK, 1);
    free(b.p);
    b = pem_cert(rsa);
    CHECK_ADD(&ks, b, SGS_OK, 1);
    free(b.p);
    b = der_cert(rsa);
    CHECK_ADD(&ks, b, SGS_OK, 1);
    free(b.p);
    b = pem_rsa_public(rsa);
    CHECK_ADD(&ks, b, SGS_OK, 1);
    free(b.p);
    sgs_keyset_reset(&ks);
    CHECK_EQ_INT(ks.count, 0);

    /* each form on its own, into an empty set */
    buf (*const forms[])(EVP_PKEY *) = {pem_spki, der_spki, pem_cert, der_cert};
    for (size_t f = 0; f < 4; f++) {
        b = forms[f](ec);
        CHECK_ADD(&ks, b, SGS_OK, 1);
        free(b.p);
        if (ks.count == 1)
            check_key(&ks.keys[0], ec, SGS_KEY_EC, 256, (size_t)EVP_PKEY_get_size(ec), "p256");
        sgs_keyset_reset(&ks);
        b = forms[f](ed);
        CHECK_ADD(&ks, b, SGS_OK, 1);
        free(b.p);
        if (ks.count == 1)
            check_key(&ks.keys[0], ed, SGS_KEY_ED25519, 256, 64, "");
        sgs_keyset_reset(&ks);
        b = forms[f](ec384);
        CHECK_ADD(&ks, b, SGS_OK, 1);
        free(b.p);
        if (ks.count == 1)
            check_key(&ks.keys[0], ec384, SGS_KEY_EC, 384, (size_t)EVP_PKEY_get_size(ec384),
                      "p384");
        sgs_keyset_reset(&ks);
    }
    b = pem_rsa_public(rsa2);
    CHECK_ADD(&ks, b, SGS_OK, 1);
    free(b.p);
    if (ks.count == 1)
        check_key(&ks.keys[0], rsa2, SGS_KEY_RSA, 2048, 256, "");
    sgs_keyset_reset(&ks);
}

static void
test_bundle(void)
{
    sgs_keyset ks;
    sgs_keyset_init(&ks, NULL);
    /* comments around blocks (as in CA bundles), EC PARAMETERS, a duplicate as a cert */
    BIO *const pb = mem();
    REQUIRE(PEM_write_bio_Parameters(pb, ec) == 1);
    buf params = bio_take(pb);
    buf parts[] = {text("# first: rsa\n"), pem_spki(rsa),     text("subject=CN = x\n"),
                   pem_cert(ec),           params,            pem_spki(ed),
                   pem_cert(rsa),          pem_rsa_public(rsa2), text("trailing words\n")};
    buf all = text("");
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        buf next = cat(all, parts[i]);
        free(all.p);
        all = next;
    }
    CHECK_ADD(&ks, all, SGS_OK, 4);
    EVP_PKEY *const want[] = {rsa, ec, ed, rsa2};
    for (size_t i = 0; i < 4 && i < ks.count; i++)
        CHECK(EVP_PKEY_eq(ks.keys[i].pkey, want[i]) == 1);
    /* adding the bundle again adds nothing */
    CHECK_ADD(&ks, all, SGS_OK, 4);
    sgs_keyset_reset(&ks);

    /* a bundle that ends in a private key: refused as a whole, nothing added */
    buf priv = pem_private_pkcs8(ec384);
    buf bad = cat(all, priv);
    CHECK_REFUSED(&ks, bad, "private");
    CHECK_EQ_INT(ks.count, 0);
    /* a bundle whose second block is broken: refused, the first block not kept either */
    buf first = pem_spki(ec384);
    buf second = pem_spki(rsa2);
    memcpy(second.p + 40, "!!!!", 4); /* inside the base64 body */
    buf broken = cat(first, second);
    CHECK_ADD(&ks, first, SGS_OK, 1); /* then into a set that already has it */
    CHECK_ADD(&ks, broken, SGS_ERR_KEY, 1);
    sgs_keyset_reset(&ks);
    CHECK_ADD(&ks, broken, SGS_ERR_KEY, 0);
    /* only EC PARAMETERS: no key */
    BIO *const pb2 = mem();
    REQUIRE(PEM_write_bio_Parameters(pb2, ec) == 1);
    buf only_params = bio_take(pb2);
    CHECK_REFUSED(&ks, only_params, "no public key");
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        free(parts[i].p);
    free(all.p);
    free(priv.p);
    free(bad.p);
    free(first.p);
    free(second.p);
    free(broken.p);
    free(only_params.p);
    sgs_keyset_reset(&ks);
}

static void
test_refusals(void)
{
    sgs_keyset ks;
    sgs_keyset_init(&ks, NULL);
    buf b = pem_spki(ec);
    CHECK_ADD(&ks, b, SGS_OK, 1); /* refusals below must leave this one alone */
    free(b.p);

    EVP_PKEY *const privs[] = {rsa, ec, ed};
    for (size_t i = 0; i < 3; i++) {
        buf (*const forms[])(EVP_PKEY *) = {pem_private_pkcs8, pem_private_traditional,
                                             der_private_pkcs8, der_private_traditional};
        for (size_t f = 0; f < 4; f++) {
            if (f == 1 && privs[i] == ed)
                continue; /* Ed25519 has no traditional PEM form */
            b = forms[f](privs[i]);
            CHECK_REFUSED(&ks, b, "private");
            free(b.p);
        }
        b = pem_private_encrypted(privs[i], 1);
        CHECK_REFUSED(&ks, b, "private");
        free(b.p);
    }

    /* garbage, empty */
    uint8_t junk[700];
    sgs_test_fill(&rng, junk, sizeof(junk));
    junk[0] = 0x42; /* not a DER SEQUENCE */
    b = (buf){junk, sizeof(junk)};
    CHECK_ADD(&ks, b, SGS_ERR_KEY, 1);
    b = (buf){junk, 0};
    CHECK_REFUSED(&ks, b, "empty");
    b = text("hello, I am not a key\n");
    CHECK_ADD(&ks, b, SGS_ERR_KEY, 1);
    free(b.p);
    b = text("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n");
    CHECK_ADD(&ks, b, SGS_ERR_KEY, 1);
    free(b.p);
    b = text("-----BEGIN FOO-----\naGVsbG8=\n-----END FOO-----\n");
    CHECK_REFUSED(&ks, b, "unsupported");
    free(b.p);

    /* truncated PEM and DER, DER with a trailing byte (keys not in the set yet) */
    buf (*const pub_forms[])(EVP_PKEY *) = {pem_spki, pem_cert, der_spki, der_cert};
    EVP_PKEY *const pubs[] = {rsa, ec384, ed};
    for (size_t k = 0; k < 3; k++) {
        for (size_t f = 0; f < 4; f++) {
            buf full = pub_forms[f](pubs[k]);
            const size_t cuts[] = {full.n - 1, full.n - 2, full.n / 2, 10, 1};
            for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
                if (f < 2 && c < 2)
                    continue; /* PEM: dropping the final newline or dash is tolerated below */
                b = (buf){full.p, cuts[c]};
                CHECK_ADD(&ks, b, SGS_ERR_KEY, 1);
            }
            if (f >= 2) {
                buf more = {malloc(full.n + 1), full.n + 1};
                REQUIRE(more.p != NULL);
                memcpy(more.p, full.p, full.n);
                more.p[full.n] = 0x00;
                CHECK_ADD(&ks, more, SGS_ERR_KEY, 1);
                /* one flipped byte in the DER header */
                memcpy(more.p, full.p, full.n);
                more.p[1] ^= 0x01;
                more.n = full.n;
                CHECK_ADD(&ks, more, SGS_ERR_KEY, 1);
                free(more.p);
            } else {
                /* PEM cut inside the END line */
                const char *const end = strstr((const char *)full.p, "-----END");
                REQUIRE(end != NULL);
                b = (buf){full.p, (size_t)(end - (const char *)full.p) + 12};
                CHECK_ADD(&ks, b, SGS_ERR_KEY, 1);
            }
            free(full.p);
        }
    }

    /* unsupported key types and short RSA */
    EVP_PKEY *const ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    EVP_PKEY *const p224 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
    EVP_PKEY *const rsa512 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
    REQUIRE(ed448 != NULL && p224 != NULL);
    b = pem_spki(ed448);
    CHECK_REFUSED(&ks, b, "unsupported");
    free(b.p);
    b = pem_spki(p224);
    CHECK_REFUSED(&ks, b, "unsupported");
    free(b.p);
    if (rsa512 != NULL) {
        b = pem_spki(rsa512);
        CHECK_REFUSED(&ks, b, "RSA-512 key: 56-bit security, below the 112-bit floor");
        free(b.p);
    }
    /* issue 12: the floor is 112-bit security (RSA-2048), not 1024 bits */
    EVP_PKEY *const rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    REQUIRE(rsa1024 != NULL);
    b = pem_spki(rsa1024);
    CHECK_REFUSED(&ks, b, "RSA-1024 key: 80-bit security, below the 112-bit floor");
    free(b.p);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(ed448);
    EVP_PKEY_free(p224);
    EVP_PKEY_free(rsa512);
    ERR_clear_error();
    CHECK_EQ_INT(ks.count, 1);
    if (ks.count == 1)
        check_key(&ks.keys[0], ec, SGS_KEY_EC, 256, (size_t)EVP_PKEY_get_size(ec), "p256");
    sgs_keyset_reset(&ks);
}

static void
test_keyset_id(void)
{
    static const uint8_t empty_sha256[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    EVP_PKEY *const order1[] = {rsa, ec, ed, ec384};
    EVP_PKEY *const order2[] = {ec384, ed, rsa, ec};
    sgs_keyset a, b, c, z;
    sgs_keyset_init(&a, NULL);
    sgs_keyset_init(&b, NULL);
    sgs_keyset_init(&c, NULL);
    sgs_keyset_init(&z, NULL);
    for (size_t i = 0; i < 4; i++) {
        buf x = pem_spki(order1[i]);
        CHECK_ADD(&a, x, SGS_OK, i + 1);
        free(x.p);
        x = der_cert(order2[i]);
        CHECK_ADD(&b, x, SGS_OK, i + 1);
        free(x.p);
        if (i < 3) {
            x = pem_spki(order1[i]);
            CHECK_ADD(&c, x, SGS_OK, i + 1);
            free(x.p);
        }
    }
    sgs_keyset_finalize(&a);
    sgs_keyset_finalize(&b);
    sgs_keyset_finalize(&c);
    sgs_keyset_finalize(&z);
    CHECK_EQ_MEM(a.id, b.id, 32);
    CHECK(memcmp(a.id, c.id, 32) != 0);
    CHECK_EQ_MEM(z.id, empty_sha256, 32);
    /* the id is SHA-256 over the sorted fingerprints */
    uint8_t fps[4][32], id[32];
    for (size_t i = 0; i < 4; i++)
        memcpy(fps[i], a.keys[i].fp, 32);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = i + 1; j < 4; j++)
            if (memcmp(fps[i], fps[j], 32) > 0) {
                uint8_t t[32];
                memcpy(t, fps[i], 32);
                memcpy(fps[i], fps[j], 32);
                memcpy(fps[j], t, 32);
            }
    unsigned len = 0;
    REQUIRE(EVP_Digest(fps, sizeof(fps), id, &len, EVP_sha256(), NULL) == 1);
    CHECK_EQ_MEM(a.id, id, 32);
    sgs_keyset_reset(&a);
    sgs_keyset_reset(&b);
    sgs_keyset_reset(&c);
    sgs_keyset_reset(&z);
}

static void
test_files(void)
{
    char dir[512], p[PATH_MAX], q[PATH_MAX], err[512];
    sgs_test_tmpdir(dir, sizeof(dir), "keys");
    sgs_keyset ks;
    sgs_keyset_init(&ks, NULL);
    buf b = pem_cert(ec);
    snprintf(p, sizeof(p), "%s/ec.crt", dir);
    sgs_test_write(p, b.p, b.n);
    free(b.p);
    CHECK_EQ_INT(sgs_keyset_add_file(&ks, p, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(ks.count, 1);
    /* a symbolic link is not followed */
    snprintf(q, sizeof(q), "%s/link.crt", dir);
    REQUIRE(symlink(p, q) == 0);
    CHECK_EQ_INT(sgs_keyset_add_file(&ks, q, err, sizeof(err)), SGS_ERR_IO);
    CHECK(strstr(err, "symbolic link") != NULL);
    CHECK_EQ_INT(sgs_keyset_add_file(&ks, dir, err, sizeof(err)), SGS_ERR_IO);
    snprintf(q, sizeof(q), "%s/missing.pem", dir);
    CHECK_EQ_INT(sgs_keyset_add_file(&ks, q, err, sizeof(err)), SGS_ERR_IO);
    CHECK(strstr(err, "missing.pem") != NULL);
    /* over the size cap: refused without reading */
    snprintf(q, sizeof(q), "%s/huge.pem", dir);
    const int fd = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0 && ftruncate(fd, SGS_KEY_FILE_MAX + 1) == 0);
    close(fd);
    CHECK_EQ_INT(sgs_keyset_add_file(&ks, q, err, sizeof(err)), SGS_ERR_IO);
    /* a private key file: the reason names the file and says private */
    b = pem_private_pkcs8(rsa);
    snprintf(q, sizeof(q), "%s/rsa.key", dir);
    sgs_test_write(q, b.p, b.n);
    free(b.p);
    CHECK_EQ_INT(sgs_keyset_add_file(&ks, q, err, sizeof(err)), SGS_ERR_KEY);
    CHECK(strstr(err, "rsa.key") != NULL && strstr(err, "private") != NULL);
    CHECK_EQ_INT(ks.count, 1);
    /* sgs_read_small_file at its bounds */
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_EQ_INT(sgs_read_small_file(NULL, p, 100, &data, &len, err, sizeof(err)), SGS_ERR_IO);
    b = pem_cert(ec);
    sgs_test_write(p, b.p, b.n);
    CHECK_EQ_INT(sgs_read_small_file(NULL, p, b.n, &data, &len, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(len, b.n);
    if (data != NULL)
        CHECK_EQ_MEM(data, b.p, b.n);
    free(data);
    data = NULL;
    CHECK_EQ_INT(sgs_read_small_file(NULL, p, b.n - 1, &data, &len, err, sizeof(err)),
                 SGS_ERR_IO);
    CHECK(data == NULL);
    free(b.p);
    sgs_keyset_reset(&ks);
    sgs_test_rm_rf(dir);
}

/* Writes b (and frees it) as dir/name. */
static void
put_in(const char *dir, const char *name, buf b)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    sgs_test_write(p, b.p, b.n);
    free(b.p);
}

/* A key directory is read as a trust store is: the hash link `trust add` makes is followed and
   its file read once; every entry that gives no key is skipped and named, one line each; a
   directory without any key is an error. */
static void
test_key_dir(void)
{
    char dir[512], p[PATH_MAX], q[PATH_MAX], err[512];
    sgs_test_tmpdir(dir, sizeof(dir), "keydir");
    put_in(dir, "8967262cc444f00d.pem", pem_cert(ec));
    snprintf(q, sizeof(q), "%s/75e20e48.0", dir);
    REQUIRE(symlink("8967262cc444f00d.pem", q) == 0);
    put_in(dir, "ed.der", der_spki(ed));
    snprintf(p, sizeof(p), "%s/readme.txt", dir);
    sgs_test_write(p, "not a key\n", 10);
    snprintf(q, sizeof(q), "%s/aaaa.0", dir); /* a second name of readme.txt: said once */
    REQUIRE(symlink("readme.txt", q) == 0);
    put_in(dir, "server.key", pem_private_pkcs8(rsa));
    snprintf(p, sizeof(p), "%s/sub", dir);
    REQUIRE(mkdir(p, 0755) == 0);
    snprintf(q, sizeof(q), "%s/dangling.0", dir);
    REQUIRE(symlink("nowhere", q) == 0);
    sgs_keyset ks;
    sgs_keyset_init(&ks, NULL);
    snprintf(p, sizeof(p), "%s/", dir); /* as given with a slash: no "dir//x" */
    CHECK_EQ_INT(sgs_keyset_add_dir(&ks, p, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(ks.count, 2);
    CHECK(strstr(err, "//") == NULL);
    const char *const said[] = {"/aaaa.0: not a public key (", "/dangling.0: a link to nothing",
                                "/server.key: not a public key (", "/sub: a directory"};
    size_t lines = 1;
    for (const char *c = err; *c; c++)
        lines += *c == '\n';
    CHECK_EQ_INT(lines, 4);
    for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++) {
        char want[PATH_MAX + 64];
        snprintf(want, sizeof(want), "skipping %s%s", dir, said[i]);
        if (strstr(err, want) == NULL)
            fprintf(stderr, "keys_test: key dir: no '%s' in '%s'\n", want, err);
        CHECK(strstr(err, want) != NULL);
    }
    CHECK(strstr(err, "readme.txt") == NULL && strstr(err, "75e20e48") == NULL &&
          strstr(err, "8967262cc444f00d") == NULL && strstr(err, "ed.der") == NULL);
    sgs_keyset_reset(&ks);
    /* nothing but what is no key: an error, naming the directory and what was skipped */
    snprintf(p, sizeof(p), "%s/sub", dir);
    snprintf(q, sizeof(q), "%s/sub/readme.txt", dir);
    sgs_test_write(q, "still no key\n", 13);
    CHECK_EQ_INT(sgs_keyset_add_dir(&ks, p, err, sizeof(err)), SGS_ERR_KEY);
    CHECK(strstr(err, "no public key in the directory") != NULL &&
          strstr(err, "skipping ") != NULL && strstr(err, "/sub/readme.txt") != NULL);
    CHECK_EQ_INT(ks.count, 0);
    sgs_keyset_reset(&ks);
    sgs_test_rm_rf(dir);
}

/* ---- private keys for signing ------------------------------------------------------------ */

static sgs_status
parse_private(buf b, EVP_PKEY **out, char *err, size_t errlen)
{
    *out = NULL;
    ERR_clear_error();
    const sgs_status st = sgs_private_key_parse(b.p, b.n, out, err, errlen);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    ERR_clear_error();
    return st;
}

/* Encrypted keys are refused at once: run in a child without a terminal, under an alarm. */
static void
check_encrypted_no_prompt(buf b)
{
    fflush(NULL);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        (void)setsid(); /* no controlling terminal: a prompt could not be answered */
        const int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
        }
        alarm(10);
        EVP_PKEY *pk = NULL;
        char err[256] = "";
        const sgs_status st = sgs_private_key_parse(b.p, b.n, &pk, err, sizeof(err));
        EVP_PKEY_free(pk);
        _exit(st == SGS_ERR_KEY && pk == NULL ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (WIFSIGNALED(status))
        fprintf(stderr, "keys_test: encrypted key parse killed by signal %d (a prompt?)\n",
                WTERMSIG(status));
}

static void
test_private(void)
{
    EVP_PKEY *const keys[] = {rsa, ec, ed};
    buf (*const forms[])(EVP_PKEY *) = {pem_private_pkcs8, pem_private_traditional,
                                         der_private_pkcs8, der_private_traditional};
    char err[256];
    for (size_t k = 0; k < 3; k++) {
        for (size_t f = 0; f < 4; f++) {
            if (f == 1 && keys[k] == ed)
                continue;
            buf b = forms[f](keys[k]);
            if (f == 1)
                CHECK(strstr((const char *)b.p, keys[k] == rsa ? "BEGIN RSA PRIVATE KEY"
                                                               : "BEGIN EC PRIVATE KEY") != NULL);
            EVP_PKEY *pk = NULL;
            CHECK_EQ_INT(parse_private(b, &pk, err, sizeof(err)), SGS_OK);
            CHECK(pk != NULL && EVP_PKEY_eq(pk, keys[k]) == 1);
            EVP_PKEY_free(pk);
            if (f >= 2) {
                /* DER with a trailing byte, and truncated: refused */
                buf more = {malloc(b.n + 1), b.n + 1};
                REQUIRE(more.p != NULL);
                memcpy(more.p, b.p, b.n);
                more.p[b.n] = 0;
                CHECK_EQ_INT(parse_private(more, &pk, err, sizeof(err)), SGS_ERR_KEY);
                CHECK(pk == NULL);
                more.n = b.n - 1;
                CHECK_EQ_INT(parse_private(more, &pk, err, sizeof(err)), SGS_ERR_KEY);
                CHECK(pk == NULL);
                free(more.p);
            }
            free(b.p);
        }
        for (int pkcs8 = 1; pkcs8 >= (keys[k] == ed ? 1 : 0); pkcs8--) {
            buf b = pem_private_encrypted(keys[k], pkcs8);
            EVP_PKEY *pk = NULL;
            CHECK_EQ_INT(parse_private(b, &pk, err, sizeof(err)), SGS_ERR_KEY);
            CHECK(pk == NULL);
            check_encrypted_no_prompt(b);
            free(b.p);
        }
        /* a public key is not a private key */
        buf b = pem_spki(keys[k]);
        EVP_PKEY *pk = NULL;
        CHECK_EQ_INT(parse_private(b, &pk, err, sizeof(err)), SGS_ERR_KEY);
        CHECK(pk == NULL);
        free(b.p);
    }
    EVP_PKEY *pk = NULL;
    buf b = text("");
    CHECK_EQ_INT(parse_private(b, &pk, err, sizeof(err)), SGS_ERR_KEY);
    free(b.p);
    b = text("not a key at all");
    CHECK_EQ_INT(parse_private(b, &pk, err, sizeof(err)), SGS_ERR_KEY);
    free(b.p);
    /* a private key of an unsupported type is refused too */
    EVP_PKEY *const ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    REQUIRE(ed448 != NULL);
    b = pem_private_pkcs8(ed448);
    CHECK_EQ_INT(parse_private(b, &pk, err, sizeof(err)), SGS_ERR_KEY);
    CHECK(pk == NULL && strstr(err, "unsupported") != NULL);
    free(b.p);
    EVP_PKEY_free(ed448);
}

int
main(void)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0x6b657973u));
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    REQUIRE(rsa != NULL && rsa2 != NULL && ec != NULL && ec384 != NULL && ed != NULL);
    test_public_forms();
    test_bundle();
    test_refusals();
    test_keyset_id();
    test_files();
    test_key_dir();
    test_private();
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ec384);
    EVP_PKEY_free(ed);
    return sgs_test_done("keys_test");
}
