/*
 * edsig_test.c - minisign and signify files (edsig.c): strict base64, key files, signatures
 * made here with OpenSSL in both tools' formats. Every accept has its reject twins: one byte
 * changed in the message, the signature, the trusted comment, the key; every truncation;
 * trailing bytes; the other tool's format where one is expected.
 */
#include "edsig.h"
#include "sgs_test.h"

#include <openssl/evp.h>
#include <string.h>

static sgs_allocator alloc;

static void
b64(const uint8_t *in, size_t n, char *out)
{
    REQUIRE(EVP_EncodeBlock((unsigned char *)out, in, (int)n) > 0);
}

static EVP_PKEY *
gen_key(uint8_t pk[32])
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *const c = EVP_PKEY_CTX_new_from_name(NULL, "ED25519", NULL);
    REQUIRE(c != NULL && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_generate(c, &k) == 1);
    EVP_PKEY_CTX_free(c);
    size_t len = 32;
    REQUIRE(EVP_PKEY_get_raw_public_key(k, pk, &len) == 1 && len == 32);
    return k;
}

static void
ed_sign(EVP_PKEY *k, const uint8_t *msg, size_t n, uint8_t sig[64])
{
    EVP_MD_CTX *const c = EVP_MD_CTX_new();
    size_t len = 64;
    REQUIRE(c != NULL && EVP_DigestSignInit_ex(c, NULL, NULL, NULL, NULL, k, NULL) == 1 &&
            EVP_DigestSign(c, sig, &len, msg, n) == 1 && len == 64);
    EVP_MD_CTX_free(c);
}

/* The public key file of minisign -G / signify -G. */
static size_t
key_file(const uint8_t id[8], const uint8_t pk[32], char *out)
{
    uint8_t raw[42];
    char line[64];
    memcpy(raw, "Ed", 2);
    memcpy(raw + 2, id, 8);
    memcpy(raw + 10, pk, 32);
    b64(raw, sizeof(raw), line);
    return (size_t)sprintf(out, "untrusted comment: minisign public key\n%s\n", line);
}

/* A minisign signature file of msg ("ED": prehashed). */
static size_t
minisig_file(EVP_PKEY *k, const uint8_t id[8], int prehashed, const uint8_t *msg, size_t n,
             const char *trusted, char *out)
{
    uint8_t raw[74], h[64], gmsg[64 + 256], global[64];
    char l2[128], l4[128];
    memcpy(raw, prehashed ? "ED" : "Ed", 2);
    memcpy(raw + 2, id, 8);
    if (prehashed) {
        unsigned hl = 0;
        REQUIRE(EVP_Digest(msg, n, h, &hl, EVP_blake2b512(), NULL) == 1 && hl == 64);
        ed_sign(k, h, 64, raw + 10);
    } else {
        ed_sign(k, msg, n, raw + 10);
    }
    memcpy(gmsg, raw + 10, 64);
    memcpy(gmsg + 64, trusted, strlen(trusted));
    ed_sign(k, gmsg, 64 + strlen(trusted), global);
    b64(raw, sizeof(raw), l2);
    b64(global, 64, l4);
    return (size_t)sprintf(out, "untrusted comment: signature from minisign secret key\n%s\n"
                                "trusted comment: %s\n%s\n", l2, trusted, l4);
}

/* What minisign -V checks, on (pointer, length): 1 when everything verifies. */
static int
minisign_ok(const sgs_edkeys *ks, const char *sig, size_t siglen, const uint8_t *msg, size_t n)
{
    sgs_minisig ms;
    char why[256];
    if (!sgs_minisig_parse((const uint8_t *)sig, siglen, &ms, why, sizeof(why)))
        return 0;
    const sgs_edkey *const k = sgs_edkeys_find(ks, ms.keynum);
    if (k == NULL)
        return 0;
    uint8_t h[64], g[64 + SGS_EDSIG_TRUSTED_MAX];
    unsigned hl = 0;
    if (ms.prehashed)
        REQUIRE(EVP_Digest(msg, n, h, &hl, EVP_blake2b512(), NULL) == 1);
    memcpy(g, ms.sig, 64);
    memcpy(g + 64, ms.trusted, ms.trusted_len);
    return sgs_edsig_verify(k, ms.sig, ms.prehashed ? h : msg, ms.prehashed ? 64 : n) &&
           sgs_edsig_verify(k, ms.global_sig, g, 64 + ms.trusted_len);
}

static void
test_base64(void)
{
    uint8_t out[8];
    CHECK_EQ_INT(sgs_b64_decode_strict("QQ==", 4, out, sizeof(out)), 1);
    CHECK_EQ_INT(out[0], 'A');
    CHECK_EQ_INT(sgs_b64_decode_strict("QUI=", 4, out, sizeof(out)), 2);
    CHECK_EQ_INT(sgs_b64_decode_strict("QUJD", 4, out, sizeof(out)), 3);
    static const char *const bad[] = {"QR==", "QUJ=", "QQ=", "QQ", "Q===", "=QQ=", " QQ=",
                                      "QQ=\n", "QQ==\n", "Q Q=", "QQ-_", "QQ=A", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ_INT(sgs_b64_decode_strict(bad[i], strlen(bad[i]), out, sizeof(out)), -1);
    CHECK_EQ_INT(sgs_b64_decode_strict("QUJD", 4, out, 2), -1); /* more than cap */
}

static void
test_keys(void)
{
    uint8_t pk[32], id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char file[256], err[256];
    EVP_PKEY *const k = gen_key(pk);
    const size_t n = key_file(id, pk, file);
    sgs_edkeys ks;
    sgs_edkeys_init(&ks, &alloc);
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)file, n, 112, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)file, n, 112, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(ks.count, 1); /* the same key twice: once */
    CHECK_EQ_STR(ks.keys[0].id_hex, "807060504030201");
    const char *const bare = strchr(file, '\n') + 1; /* minisign -P's string */
    sgs_edkeys ks2;
    sgs_edkeys_init(&ks2, &alloc);
    CHECK_EQ_INT(sgs_edkeys_add(&ks2, (const uint8_t *)bare, 56, 112, err, sizeof(err)), SGS_OK);
    CHECK(ks2.count == 1 && memcmp(ks2.keys[0].keynum, id, 8) == 0);
    sgs_edkeys_reset(&ks2);

    char twin[256];
    uint8_t pk2[32];
    EVP_PKEY *const k2 = gen_key(pk2);
    size_t tn = key_file(id, pk2, twin); /* another key, the same id */
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)twin, tn, 112, err, sizeof(err)), SGS_ERR_KEY);
    const uint8_t zero[32] = {0}; /* a point of small order: refused at load */
    tn = key_file((const uint8_t *)"smallord", zero, twin);
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)twin, tn, 112, err, sizeof(err)), SGS_ERR_KEY);
    CHECK(strstr(err, "order") != NULL);
    uint8_t noncanon[32];
    memset(noncanon, 0xff, 32); /* y >= p */
    noncanon[31] = 0x7f;
    tn = key_file((const uint8_t *)"noncanon", noncanon, twin);
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)twin, tn, 112, err, sizeof(err)), SGS_ERR_KEY);
    memcpy(twin, file, n); /* trailing data, another algorithm, a broken line */
    memcpy(twin + n, "x\n", 3);
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)twin, n + 2, 112, err, sizeof(err)),
                 SGS_ERR_KEY);
    memcpy(twin, file, n);
    twin[strchr(file, '\n') - file + 1] = 'X';
    CHECK_EQ_INT(sgs_edkeys_add(&ks, (const uint8_t *)twin, n, 112, err, sizeof(err)), SGS_ERR_KEY);
    for (size_t cut = 0; cut + 1 < n; cut++) /* every truncation but the final newline's */
        CHECK_EQ_INT(sgs_edkeys_add(&ks2, (const uint8_t *)file, cut, 112, err, sizeof(err)),
                     SGS_ERR_KEY);
    CHECK_EQ_INT(ks.count, 1);
    sgs_edkeys_reset(&ks);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

static void
test_minisign(void)
{
    uint8_t pk[32], pk2[32], id[8] = {9, 8, 7, 6, 5, 4, 3, 2};
    char file[256], err[256], sig[1024], bad[1024];
    EVP_PKEY *const k = gen_key(pk);
    EVP_PKEY *const k2 = gen_key(pk2);
    sgs_edkeys ks, other;
    sgs_edkeys_init(&ks, &alloc);
    sgs_edkeys_init(&other, &alloc);
    size_t n = key_file(id, pk, file);
    REQUIRE(sgs_edkeys_add(&ks, (const uint8_t *)file, n, 112, err, sizeof(err)) == SGS_OK);
    n = key_file(id, pk2, file); /* the same id, the wrong key */
    REQUIRE(sgs_edkeys_add(&other, (const uint8_t *)file, n, 112, err, sizeof(err)) == SGS_OK);
    uint8_t msg[1000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    for (int pre = 0; pre <= 1; pre++) {
        const size_t sl = minisig_file(k, id, pre, msg, sizeof(msg), "timestamp:1\tfile:m", sig);
        sgs_minisig ms;
        CHECK(sgs_minisig_parse((const uint8_t *)sig, sl, &ms, err, sizeof(err)));
        CHECK_EQ_INT(ms.prehashed, pre);
        CHECK(ms.trusted_len == 18 && memcmp(ms.trusted, "timestamp:1\tfile:m", 18) == 0);
        CHECK(minisign_ok(&ks, sig, sl, msg, sizeof(msg)));
        CHECK(!minisign_ok(&other, sig, sl, msg, sizeof(msg)));         /* wrong key */
        msg[500] ^= 1;
        CHECK(!minisign_ok(&ks, sig, sl, msg, sizeof(msg)));            /* the file changed */
        msg[500] ^= 1;
        CHECK(!minisign_ok(&ks, sig, sl, msg, sizeof(msg) - 1));
        memcpy(bad, sig, sl); /* the untrusted comment changed: still verifies (ignored) */
        bad[25] ^= 0x20;
        CHECK(minisign_ok(&ks, bad, sl, msg, sizeof(msg)));
        memcpy(bad, sig, sl);                                           /* trusted comment */
        char *const tc = strstr(bad, "file:m");
        tc[5] = 'n';
        CHECK(sgs_minisig_parse((const uint8_t *)bad, sl, &ms, err, sizeof(err)));
        CHECK(!minisign_ok(&ks, bad, sl, msg, sizeof(msg)));
        const size_t untrusted_end = (size_t)(strchr(sig, '\n') - sig);
        for (size_t i = 0; i < sl; i++) { /* every byte flipped but the ignored comment's */
            if (i >= 19 && i < untrusted_end)
                continue;
            memcpy(bad, sig, sl);
            bad[i] ^= 0x01;
            if (minisign_ok(&ks, bad, sl, msg, sizeof(msg)))
                fprintf(stderr, "  accepted with byte %zu flipped\n", i);
            CHECK(!minisign_ok(&ks, bad, sl, msg, sizeof(msg)));
        }
        for (size_t cut = 0; cut + 1 < sl; cut++) /* every truncation: malformed */
            CHECK(!sgs_minisig_parse((const uint8_t *)sig, cut, &ms, err, sizeof(err)));
        CHECK(sgs_minisig_parse((const uint8_t *)sig, sl - 1, &ms, err, sizeof(err)));
        memcpy(bad, sig, sl);
        memcpy(bad + sl, "\n", 2);                                      /* trailing bytes */
        CHECK(!sgs_minisig_parse((const uint8_t *)bad, sl + 1, &ms, err, sizeof(err)));
        CHECK(strstr(err, "after the global signature") != NULL);
        sgs_signify_sig ss; /* a minisign signature is not signify's */
        CHECK(!sgs_signify_parse((const uint8_t *)sig, sl, 0, &ss, err, sizeof(err)));
        CHECK(strstr(err, pre ? "minisign prehashed" : "F.minisig") != NULL);
    }
    /* CRLF line ends (minisign trims them): the same signature */
    const size_t sl = minisig_file(k, id, 1, msg, sizeof(msg), "t", sig);
    size_t o = 0;
    for (size_t i = 0; i < sl; i++) {
        if (sig[i] == '\n')
            bad[o++] = '\r';
        bad[o++] = sig[i];
    }
    CHECK(minisign_ok(&ks, bad, o, msg, sizeof(msg)));
    /* a NUL in the trusted comment, an unknown algorithm: malformed, with a reason */
    sgs_minisig ms;
    memcpy(bad, sig, sl);
    strstr(bad, "\ntrusted comment: t")[18] = '\0';
    CHECK(!sgs_minisig_parse((const uint8_t *)bad, sl, &ms, err, sizeof(err)));
    CHECK(strstr(err, "line 3") != NULL);
    sgs_edkeys_reset(&ks);
    sgs_edkeys_reset(&other);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

static void
test_signify(void)
{
    uint8_t pk[32], id[8] = {0xaa, 0xbb, 0, 0, 0, 0, 0, 1}, raw[74];
    char file[256], err[256], sig[512], l2[128];
    EVP_PKEY *const k = gen_key(pk);
    sgs_edkeys ks;
    sgs_edkeys_init(&ks, &alloc);
    const size_t kn = key_file(id, pk, file);
    REQUIRE(sgs_edkeys_add(&ks, (const uint8_t *)file, kn, 112, err, sizeof(err)) == SGS_OK);
    static const char list[] = "SHA256 (a) = 00\n";
    memcpy(raw, "Ed", 2);
    memcpy(raw + 2, id, 8);
    ed_sign(k, (const uint8_t *)list, strlen(list), raw + 10);
    b64(raw, sizeof(raw), l2);
    const int n = sprintf(sig, "untrusted comment: verify with k.pub\n%s\n%s", l2, list);
    sgs_signify_sig ss;
    CHECK(sgs_signify_parse((const uint8_t *)sig, (size_t)n, 1, &ss, err, sizeof(err)));
    CHECK(ss.msglen == strlen(list) && memcmp(ss.msg, list, ss.msglen) == 0);
    const sgs_edkey *const key = sgs_edkeys_find(&ks, ss.keynum);
    CHECK(key != NULL && sgs_edsig_verify(key, ss.sig, ss.msg, ss.msglen));
    CHECK(!sgs_edsig_verify(key, ss.sig, ss.msg, ss.msglen - 1));
    const size_t head = (size_t)n - strlen(list);
    CHECK(sgs_signify_parse((const uint8_t *)sig, head, 0, &ss, err, sizeof(err))); /* detached */
    CHECK(!sgs_signify_parse((const uint8_t *)sig, (size_t)n, 0, &ss, err, sizeof(err)));
    CHECK(!sgs_signify_parse((const uint8_t *)sig, head - 1, 0, &ss, err, sizeof(err)));
    CHECK(strstr(err, "newline") != NULL);
    sig[head - 2] = '\0'; /* a NUL inside the base64 line */
    CHECK(!sgs_signify_parse((const uint8_t *)sig, head, 0, &ss, err, sizeof(err)));
    sgs_edkeys_reset(&ks);
    EVP_PKEY_free(k);
}

int
main(void)
{
    test_base64();
    test_keys();
    test_minisign();
    test_signify();
    return sgs_test_done("edsig_test");
}
