/*
 * agents_test.c - the fleet key audit's judgement of one key-file content (agents.c) and the
 * installer files (keygen.c): every verdict, each with the content shapes found in the field.
 */
#include "agents.h"
#include "keys.h"
#include "sgs_test.h"
#include "sgs_test_util.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>

static char dir[512];

static void
path_of(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

/* Serialises with a BIO writer into a malloc'd buffer. */
static unsigned char *
bio_bytes(BIO *b, size_t *len)
{
    char *data = NULL;
    const long n = BIO_get_mem_data(b, &data);
    unsigned char *const out = malloc((size_t)n + 1);
    REQUIRE(out != NULL);
    memcpy(out, data, (size_t)n);
    *len = (size_t)n;
    return out;
}

static X509 *
make_cert(EVP_PKEY *key, long from_days, long to_days)
{
    X509 *const x = X509_new();
    X509_NAME *const name = X509_NAME_new();
    REQUIRE(x != NULL && name != NULL);
    REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"srv",
                                       -1, -1, 0) == 1);
    REQUIRE(X509_set_version(x, X509_VERSION_3) == 1);
    REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1);
    REQUIRE(X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1);
    REQUIRE(X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400L) != NULL);
    REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400L) != NULL);
    REQUIRE(X509_set_pubkey(x, key) == 1);
    REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return x;
}

typedef enum shape { PEM_SPKI, DER_SPKI, PEM_CERT, DER_CERT } shape;

static unsigned char *
encode(EVP_PKEY *key, X509 *cert, shape s, size_t *len)
{
    BIO *const b = BIO_new(BIO_s_mem());
    REQUIRE(b != NULL);
    int ok = 0;
    switch (s) {
    case PEM_SPKI:
        ok = PEM_write_bio_PUBKEY(b, key);
        break;
    case DER_SPKI:
        ok = i2d_PUBKEY_bio(b, key);
        break;
    case PEM_CERT:
        ok = PEM_write_bio_X509(b, cert);
        break;
    case DER_CERT:
        ok = i2d_X509_bio(b, cert);
        break;
    }
    REQUIRE(ok == 1);
    unsigned char *const out = bio_bytes(b, len);
    BIO_free(b);
    return out;
}

static void
judge(sgs_agents *g, const void *buf, size_t len, sgs_verdict want, const char *needle)
{
    sgs_agent_result r;
    sgs_agents_judge(g, buf, len, &r);
    CHECK_EQ_STR(sgs_verdict_name(r.verdict), sgs_verdict_name(want));
    if (needle != NULL && strstr(r.reason, needle) == NULL) {
        CHECK(strstr(r.reason, needle) != NULL);
        fprintf(stderr, "  reason: %s\n  wanted: %s\n", r.reason, needle);
    }
}

static void
write_pem_cert(const char *name, X509 *x)
{
    char p[600];
    path_of(p, sizeof(p), name);
    FILE *const f = fopen(p, "w");
    REQUIRE(f != NULL && PEM_write_X509(f, x) == 1);
    fclose(f);
}

int
main(void)
{
    char p[800], err[512];
    sgs_test_tmpdir(dir, sizeof(dir), "agents");
    EVP_PKEY *const server = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *const old = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *const other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *const ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    REQUIRE(server != NULL && old != NULL && other != NULL && ed448 != NULL);
    X509 *const cert = make_cert(server, -1, 365);
    X509 *const expired = make_cert(server, -30, -1);
    X509 *const future = make_cert(server, 10, 20);
    X509 *const old_cert = make_cert(old, -1, 365);
    write_pem_cert("server.crt", cert);
    write_pem_cert("old.crt", old_cert);

    sgs_agents *const g = sgs_agents_create(NULL);
    REQUIRE(g != NULL);
    CHECK(!sgs_agents_ready(g));
    path_of(p, sizeof(p), "missing.crt");
    CHECK_EQ_INT(sgs_agents_set_server(g, p, err, sizeof(err)), SGS_ERR_IO);
    path_of(p, sizeof(p), "server.crt");
    REQUIRE(sgs_agents_set_server(g, p, err, sizeof(err)) == SGS_OK);
    path_of(p, sizeof(p), "old.crt");
    REQUIRE(sgs_agents_add_known(g, p, err, sizeof(err)) == SGS_OK);
    CHECK(sgs_agents_ready(g));

    /* VALID in every format the field uses */
    for (int s = PEM_SPKI; s <= DER_CERT; s++) {
        size_t len = 0;
        unsigned char *const b = encode(server, cert, (shape)s, &len);
        judge(g, b, len, SGS_V_VALID, "matches the server");
        /* reject twins: truncated, one byte flipped in the key/cert body, trailing garbage */
        judge(g, b, len / 2, SGS_V_MALFORMED, NULL);
        unsigned char *const flipped = malloc(len + 1);
        REQUIRE(flipped != NULL);
        memcpy(flipped, b, len);
        flipped[len - (s == PEM_SPKI || s == PEM_CERT ? 40 : 5)] ^= 0x01;
        sgs_agent_result r;
        sgs_agents_judge(g, flipped, len, &r);
        CHECK(r.verdict != SGS_V_VALID);
        memcpy(flipped, b, len);
        flipped[len] = 0x00;
        if (s == DER_SPKI || s == DER_CERT)
            judge(g, flipped, len + 1, SGS_V_MALFORMED, NULL);
        free(flipped);
        free(b);
    }
    /* mismatches: the old server's key (named), an unknown one */
    size_t len = 0;
    unsigned char *b = encode(old, NULL, DER_SPKI, &len);
    judge(g, b, len, SGS_V_KEY_MISMATCH, "matches known key old.crt");
    free(b);
    b = encode(other, NULL, PEM_SPKI, &len);
    judge(g, b, len, SGS_V_KEY_MISMATCH, "matches no known server key");
    free(b);
    /* validity of certificate copies */
    b = encode(server, expired, PEM_CERT, &len);
    judge(g, b, len, SGS_V_EXPIRED, "expired");
    free(b);
    b = encode(server, future, DER_CERT, &len);
    judge(g, b, len, SGS_V_NOT_YET_VALID, "not valid before");
    free(b);
    /* unsupported key type */
    b = encode(ed448, NULL, PEM_SPKI, &len);
    judge(g, b, len, SGS_V_UNSUPPORTED, "unsupported key type");
    free(b);
    /* private keys, PEM and DER, the server's own named */
    BIO *const pb = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PrivateKey(pb, server, NULL, NULL, 0, NULL, NULL) == 1);
    b = bio_bytes(pb, &len);
    judge(g, b, len, SGS_V_PRIVATE_KEY_EXPOSED, "(the server's own)");
    free(b);
    BIO_free(pb);
    BIO *const db = BIO_new(BIO_s_mem());
    REQUIRE(i2d_PrivateKey_bio(db, old) == 1);
    b = bio_bytes(db, &len);
    judge(g, b, len, SGS_V_PRIVATE_KEY_EXPOSED, "private key");
    free(b);
    BIO_free(db);
    /* a certificate followed by its private key: still a leak */
    BIO *const mix = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_X509(mix, cert) == 1 &&
            PEM_write_bio_PrivateKey(mix, server, NULL, NULL, 0, NULL, NULL) == 1);
    b = bio_bytes(mix, &len);
    judge(g, b, len, SGS_V_PRIVATE_KEY_EXPOSED, NULL);
    free(b);
    BIO_free(mix);
    /* two different keys in one file; the same key twice is fine */
    BIO *const two = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(two, server) == 1 && PEM_write_bio_PUBKEY(two, old) == 1);
    b = bio_bytes(two, &len);
    judge(g, b, len, SGS_V_MALFORMED, "2 different keys");
    free(b);
    BIO_free(two);
    BIO *const same = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_PUBKEY(same, server) == 1 && PEM_write_bio_X509(same, cert) == 1);
    b = bio_bytes(same, &len);
    judge(g, b, len, SGS_V_VALID, NULL);
    free(b);
    BIO_free(same);
    /* garbage and empty */
    judge(g, "hello", 5, SGS_V_MALFORMED, "not a PEM or DER");
    judge(g, "", 0, SGS_V_MALFORMED, "empty");
    judge(g, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 57,
          SGS_V_MALFORMED, NULL);
    /* the cache returns what a fresh judgement gives */
    b = encode(old, NULL, DER_SPKI, &len);
    sgs_agent_result r1, r2;
    sgs_agents_judge(g, b, len, &r1);
    sgs_agents_judge(g, b, len, &r2);
    CHECK_EQ_INT(r1.verdict, r2.verdict);
    CHECK_EQ_STR(r1.reason, r2.reason);
    CHECK_EQ_STR(r1.key_fp, r2.key_fp);
    CHECK_EQ_INT(strlen(r1.key_fp), 64);
    free(b);
    sgs_agents_free(g);

    /* --command: a raw signature by the server key; agents with its key accept, others not */
    sgs_agents *const gc = sgs_agents_create(NULL);
    path_of(p, sizeof(p), "server.crt");
    REQUIRE(sgs_agents_set_server(gc, p, err, sizeof(err)) == SGS_OK);
    static const char msg[] = "apply policy 42\n";
    char mp[600], sp[600];
    path_of(mp, sizeof(mp), "cmd.txt");
    sgs_test_write(mp, msg, sizeof(msg) - 1);
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *const mctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL, server) == 1 &&
            EVP_DigestSign(mctx, sig, &siglen, (const unsigned char *)msg, sizeof(msg) - 1) == 1);
    EVP_MD_CTX_free(mctx);
    path_of(sp, sizeof(sp), "cmd.sig");
    sgs_test_write(sp, sig, siglen);
    REQUIRE(sgs_agents_set_command(gc, mp, sp, EVP_sha256(), 0, err, sizeof(err)) == SGS_OK);
    b = encode(server, cert, PEM_CERT, &len);
    judge(gc, b, len, SGS_V_VALID, "accepts the server's command");
    free(b);
    b = encode(old, NULL, DER_SPKI, &len);
    judge(gc, b, len, SGS_V_KEY_MISMATCH, "would reject the server's command");
    free(b);
    sgs_agents_free(gc);
    /* a signature that the server key does not verify: the command's fault, an error before
       any agent is judged (issue 17i), whichever of the two is set first */
    sgs_agents *const gb = sgs_agents_create(NULL);
    path_of(p, sizeof(p), "server.crt");
    REQUIRE(sgs_agents_set_server(gb, p, err, sizeof(err)) == SGS_OK);
    sig[siglen / 2] ^= 0x01;
    sgs_test_write(sp, sig, siglen);
    CHECK_EQ_INT(sgs_agents_set_command(gb, mp, sp, EVP_sha256(), 0, err, sizeof(err)),
                 SGS_ERR_KEY);
    CHECK(strstr(err, "cmd.sig does not verify with the server key") != NULL &&
          strstr(err, "server.crt") != NULL);
    sgs_agents_free(gb);
    sgs_agents *const gr = sgs_agents_create(NULL);
    REQUIRE(sgs_agents_set_command(gr, mp, sp, EVP_sha256(), 0, err, sizeof(err)) == SGS_OK);
    CHECK_EQ_INT(sgs_agents_set_server(gr, p, err, sizeof(err)), SGS_ERR_KEY);
    CHECK(strstr(err, "does not verify with the server key") != NULL);
    CHECK(!sgs_agents_ready(gr));
    sgs_agents_free(gr);
    /* signed by the old server's key: the known key it verifies with is named */
    sgs_agents *const go = sgs_agents_create(NULL);
    REQUIRE(sgs_agents_set_server(go, p, err, sizeof(err)) == SGS_OK);
    path_of(p, sizeof(p), "old.crt");
    REQUIRE(sgs_agents_add_known(go, p, err, sizeof(err)) == SGS_OK);
    siglen = sizeof(sig);
    EVP_MD_CTX *const octx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(octx, NULL, EVP_sha256(), NULL, old) == 1 &&
            EVP_DigestSign(octx, sig, &siglen, (const unsigned char *)msg, sizeof(msg) - 1) == 1);
    EVP_MD_CTX_free(octx);
    sgs_test_write(sp, sig, siglen);
    CHECK_EQ_INT(sgs_agents_set_command(go, mp, sp, EVP_sha256(), 0, err, sizeof(err)),
                 SGS_ERR_KEY);
    CHECK(strstr(err, "it verifies with the known key old.crt") != NULL);
    sgs_agents_free(go);

    /* keygen: three files, never overwriting; the agent file is the certificate's key */
    char kd[600];
    path_of(kd, sizeof(kd), "install");
    CHECK_EQ_INT(sgs_keygen("rsa1024", kd, "OfcNTCer.dat", err, sizeof(err)), SGS_ERR_INVALID_ARG);
    REQUIRE(sgs_keygen("ec-p256", kd, "OfcNTCer.dat", err, sizeof(err)) == SGS_OK);
    CHECK_EQ_INT(sgs_keygen("ec-p256", kd, "OfcNTCer.dat", err, sizeof(err)), SGS_ERR_IO);
    struct stat sb;
    snprintf(p, sizeof(p), "%s/server.key", kd);
    REQUIRE(stat(p, &sb) == 0);
    CHECK_EQ_INT(sb.st_mode & 0777, 0600);
    sgs_agents *const gk = sgs_agents_create(NULL);
    snprintf(p, sizeof(p), "%s/server.crt", kd);
    REQUIRE(sgs_agents_set_server(gk, p, err, sizeof(err)) == SGS_OK);
    snprintf(p, sizeof(p), "%s/OfcNTCer.dat", kd);
    unsigned char *const agent_file = sgs_test_read(p, &len);
    judge(gk, agent_file, len, SGS_V_VALID, NULL);
    free(agent_file);
    /* export: same bytes as keygen's agent file; never overwrites */
    char ex[800], crt[800];
    snprintf(crt, sizeof(crt), "%s/server.crt", kd);
    path_of(ex, sizeof(ex), "export.der");
    REQUIRE(sgs_export_public_key(crt, ex, 0, err, sizeof(err)) == SGS_OK);
    size_t l1 = 0, l2 = 0;
    unsigned char *const a1 = sgs_test_read(ex, &l1);
    unsigned char *const a2 = sgs_test_read(p, &l2);
    CHECK(l1 == l2 && memcmp(a1, a2, l1) == 0);
    free(a1);
    free(a2);
    CHECK_EQ_INT(sgs_export_public_key(crt, ex, 1, err, sizeof(err)), SGS_ERR_IO);
    sgs_agents_free(gk);

    X509_free(cert);
    X509_free(expired);
    X509_free(future);
    X509_free(old_cert);
    EVP_PKEY_free(server);
    EVP_PKEY_free(old);
    EVP_PKEY_free(other);
    EVP_PKEY_free(ed448);
    sgs_test_rm_rf(dir);
    return sgs_test_done("agents_test");
}
