/*
 * agents.c - the fleet key audit: does each agent hold the server's public key?
 *
 * DESIGN: an agent rejects server commands when its copy of the server key is missing or
 * wrong. A copy is PEM or DER, a certificate or a SubjectPublicKeyInfo; it is compared with the
 * server's key by SPKI SHA-256 fingerprint. Thousands of agents hold a handful of distinct
 * files, so each distinct content (by SHA-256) is parsed and judged once, and every other agent
 * with that content gets the cached result. Order of findings for one content:
 *
 *   private key inside ─► PRIVATE_KEY_EXPOSED (a leak outranks everything)
 *   no key / several different keys / unparsable ─► MALFORMED
 *   unsupported key type ─► UNSUPPORTED
 *   self-issued certificate copy whose signature fails ─► MALFORMED (corrupt)
 *   other key ─► KEY_MISMATCH (naming a --known key it equals)
 *   certificate copy outside its validity ─► EXPIRED / NOT_YET_VALID
 *   --command: the agent's key must verify the server's real signature ─► else BAD_SIGNATURE
 *   ─► VALID
 *
 * The command is checked against the server's own key first, once it and the server key are
 * both set: a command signature that does not verify with it is the command's fault (another
 * key, another --hash or --pss, a changed message), an error before any agent is judged, not
 * a BAD_SIGNATURE on every agent that holds the right key.
 *
 * Parsing is OpenSSL's (PEM_read_bio, d2i_*). Private-key bytes found in agent files are wiped.
 */
#include "agents.h"

#include "alloc.h"
#include "cms.h"
#include "digest.h"
#include "err.h"
#include "keys.h"
#include "verify.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CONTENT_SLOTS 1024
#define KNOWN_MAX 64
#define COMMAND_MAX (64u * 1024u * 1024u)

typedef struct known_key {
    uint8_t fp[32];
    char label[256];
    EVP_PKEY *key; /* owned: does the command verify with it (when not with the server's)? */
} known_key;

typedef struct content_slot {
    uint8_t sha[32];
    int used;
    sgs_agent_result result;
} content_slot;

struct sgs_agents {
    const sgs_allocator *alloc;
    int has_server;
    uint8_t server_fp[32];
    char server_hex[SGS_FP_HEX_LEN];
    EVP_PKEY *server_key; /* owned: the command must verify with it */
    char server_path[256], command_sig_path[256]; /* as given, for the command's fault */
    known_key known[KNOWN_MAX];
    size_t nknown;
    int64_t at;
    /* --command */
    int has_command;
    uint8_t *message;
    size_t message_len;
    uint8_t *csig;
    size_t csig_len;
    sgs_sig_params params;
    uint8_t cmd_digest[EVP_MAX_MD_SIZE];
    size_t cmd_digest_len;
    int cms;             /* the command signature is CMS */
    int cms_ok;          /* ... and its signature verifies with its signer's key */
    char cms_signer[SGS_FP_HEX_LEN];
    char cms_reason[256];
    pthread_mutex_t mu;
    content_slot *slots;
};

sgs_agents *
sgs_agents_create(const sgs_allocator *a)
{
    sgs_agents *const g = sgs_calloc(a, 1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->alloc = a;
    g->at = (int64_t)time(NULL);
    g->slots = sgs_calloc(a, CONTENT_SLOTS, sizeof(content_slot));
    if (g->slots == NULL) {
        sgs_free(a, g);
        return NULL;
    }
    pthread_mutex_init(&g->mu, NULL);
    return g;
}

void
sgs_agents_free(sgs_agents *g)
{
    if (g == NULL)
        return;
    sgs_free(g->alloc, g->message);
    sgs_free(g->alloc, g->csig);
    EVP_PKEY_free(g->server_key);
    for (size_t i = 0; i < g->nknown; i++)
        EVP_PKEY_free(g->known[i].key);
    sgs_free(g->alloc, g->slots);
    pthread_mutex_destroy(&g->mu);
    sgs_free(g->alloc, g);
}

void
sgs_agents_set_time(sgs_agents *g, int64_t at)
{
    g->at = at;
}

size_t
sgs_agents_key_fps(const sgs_agents *g, const uint8_t **fps, size_t max)
{
    size_t n = 0;
    if (g->has_server && n < max)
        fps[n++] = g->server_fp;
    for (size_t i = 0; i < g->nknown && n < max; i++)
        fps[n++] = g->known[i].fp;
    return n;
}

int
sgs_agents_ready(const sgs_agents *g)
{
    return g->has_server;
}

/* ---- parsing a key file ------------------------------------------------------------------ */

typedef struct parsed {
    EVP_PKEY *key;     /* the (first) public key; owned */
    X509 *cert;        /* when the key came from a certificate; owned */
    int keys;          /* distinct public keys seen */
    int private_key;   /* a private key is in the file */
    uint8_t priv_fp[32];
    int priv_fp_known;
    uint8_t fp[32];
    char problem[160]; /* why nothing usable was found */
} parsed;

static int
spki_fp(EVP_PKEY *k, uint8_t fp[32])
{
    unsigned char *der = NULL;
    unsigned int len = 0;
    const int n = i2d_PUBKEY(k, &der);
    const int ok = n > 0 && EVP_Digest(der, (size_t)n, fp, &len, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

static void
take_key(parsed *p, EVP_PKEY *k, X509 *cert)
{
    uint8_t fp[32];
    if (k == NULL || !spki_fp(k, fp)) {
        EVP_PKEY_free(k);
        X509_free(cert);
        return;
    }
    if (p->key == NULL) {
        p->key = k;
        p->cert = cert;
        memcpy(p->fp, fp, 32);
        p->keys = 1;
        return;
    }
    if (memcmp(fp, p->fp, 32) != 0)
        p->keys++;
    EVP_PKEY_free(k);
    X509_free(cert);
}

static void
take_private(parsed *p, EVP_PKEY *priv)
{
    p->private_key = 1;
    if (priv != NULL && !p->priv_fp_known)
        p->priv_fp_known = spki_fp(priv, p->priv_fp);
    EVP_PKEY_free(priv); /* EVP_PKEY_free clears the key material */
}

static int
no_prompt(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static void
parse_pem(parsed *p, const uint8_t *buf, size_t len)
{
    BIO *const bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL)
        return;
    unsigned blocks = 0;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long dlen = 0;
        if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
            if (blocks == 0 || ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
                snprintf(p->problem, sizeof(p->problem), "%s",
                         blocks == 0 ? "no PEM block decodes" : "a PEM block does not decode");
            break;
        }
        blocks++;
        const unsigned char *q = data;
        if (strstr(name, "PRIVATE KEY") != NULL) {
            EVP_PKEY *priv = NULL;
            if (strcmp(name, "ENCRYPTED PRIVATE KEY") != 0) {
                BIO *const one = BIO_new(BIO_s_mem());
                if (one != NULL && PEM_write_bio(one, name, header, data, dlen) > 0)
                    priv = PEM_read_bio_PrivateKey(one, NULL, no_prompt, NULL);
                BIO_free(one);
            }
            take_private(p, priv);
        } else if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0 ||
                   strcmp(name, "TRUSTED CERTIFICATE") == 0) {
            X509 *const x = strcmp(name, "TRUSTED CERTIFICATE") == 0
                                ? d2i_X509_AUX(NULL, &q, dlen)
                                : d2i_X509(NULL, &q, dlen);
            if (x != NULL && q == data + dlen)
                take_key(p, X509_get_pubkey(x), x);
            else {
                X509_free(x);
                snprintf(p->problem, sizeof(p->problem), "a CERTIFICATE block does not decode");
            }
        } else if (strcmp(name, "PUBLIC KEY") == 0) {
            EVP_PKEY *const k = d2i_PUBKEY(NULL, &q, dlen);
            if (k != NULL && q == data + dlen)
                take_key(p, k, NULL);
            else {
                EVP_PKEY_free(k);
                snprintf(p->problem, sizeof(p->problem), "a PUBLIC KEY block does not decode");
            }
        } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
            EVP_PKEY *const k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &q, dlen);
            if (k != NULL && q == data + dlen)
                take_key(p, k, NULL);
            else {
                EVP_PKEY_free(k);
                snprintf(p->problem, sizeof(p->problem), "an RSA PUBLIC KEY block does not decode");
            }
        }
        if (data != NULL)
            OPENSSL_cleanse(data, (size_t)dlen);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    }
    BIO_free(bio);
    ERR_clear_error();
}

static void
parse_der(parsed *p, const uint8_t *buf, size_t len)
{
    const unsigned char *q = buf;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &q, (long)len);
    if (k != NULL && q == buf + len) {
        take_key(p, k, NULL);
        return;
    }
    EVP_PKEY_free(k);
    q = buf;
    X509 *const x = d2i_X509(NULL, &q, (long)len);
    if (x != NULL && q == buf + len) {
        take_key(p, X509_get_pubkey(x), x);
        return;
    }
    X509_free(x);
    q = buf;
    EVP_PKEY *const priv = d2i_AutoPrivateKey(NULL, &q, (long)len);
    if (priv != NULL && q == buf + len) {
        take_private(p, priv);
        return;
    }
    EVP_PKEY_free(priv);
    ERR_clear_error();
    snprintf(p->problem, sizeof(p->problem), "not a PEM or DER public key or certificate");
}

/* ---- setup ---------------------------------------------------------------------------------- */

/* The one public key of a file, its fingerprint in fp; with keep, the key in *keep (owned by
   the caller). */
static sgs_status
load_public(const sgs_allocator *a, const char *path, uint8_t fp[32], EVP_PKEY **keep, char *err,
            size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    sgs_status st = sgs_read_small_file_follow(a, path, SGS_AGENT_FILE_MAX, &buf, &len, err,
                                               errlen);
    if (st != SGS_OK)
        return st;
    parsed p;
    memset(&p, 0, sizeof(p));
    if (sgs_pem_present(buf, len))
        parse_pem(&p, buf, len);
    else
        parse_der(&p, buf, len);
    OPENSSL_cleanse(buf, len);
    sgs_free(a, buf);
    if (p.private_key)
        snprintf(err, errlen, "%s: holds a private key; give the certificate", path);
    else if (p.key == NULL)
        snprintf(err, errlen, "%s: %s", path, p.problem[0] ? p.problem : "no public key");
    else if (p.keys > 1)
        snprintf(err, errlen, "%s: holds %d different keys", path, p.keys);
    else
        memcpy(fp, p.fp, 32);
    st = p.private_key || p.key == NULL || p.keys > 1 ? SGS_ERR_KEY : SGS_OK;
    if (st == SGS_OK && keep != NULL) {
        *keep = p.key;
        p.key = NULL;
    }
    EVP_PKEY_free(p.key);
    X509_free(p.cert);
    return st;
}

static int accepts_command(const sgs_agents *g, EVP_PKEY *k, const char *fp_hex);

/*
 * The command's own check, once the server key and the command are both set: it must verify
 * with the server's key (CMS: signed by it, and its signature good), or no agent can accept
 * it and the fault is the command's. SGS_OK, or SGS_ERR_KEY with err saying so (and naming a
 * --known key it verifies with instead, if one does).
 */
static sgs_status
check_command(const sgs_agents *g, char *err, size_t errlen)
{
    if (!g->has_server || !g->has_command || accepts_command(g, g->server_key, g->server_hex))
        return SGS_OK;
    const char *instead = NULL;
    for (size_t i = 0; i < g->nknown && instead == NULL; i++) {
        char hex[SGS_FP_HEX_LEN];
        sgs_hex(g->known[i].fp, 32, hex);
        if (accepts_command(g, g->known[i].key, hex))
            instead = g->known[i].label;
    }
    char why[320] = "";
    if (instead != NULL)
        snprintf(why, sizeof(why), ": it verifies with the known key %s", instead);
    else if (g->cms && !g->cms_ok)
        snprintf(why, sizeof(why), ": %s", g->cms_reason);
    else if (g->cms)
        snprintf(why, sizeof(why), ": it is signed by key %s", g->cms_signer);
    else
        snprintf(why, sizeof(why), " (signed by another key, with another --hash or --pss, or "
                                   "the command changed)");
    snprintf(err, errlen, "the command signature %s does not verify with the server key %s%s; "
                          "the command is at fault: no agent judged",
             g->command_sig_path, g->server_path, why);
    return SGS_ERR_KEY;
}

sgs_status
sgs_agents_set_server(sgs_agents *g, const char *path, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    sgs_status st = load_public(g->alloc, path, g->server_fp, &key, err, errlen);
    if (st == SGS_OK) {
        EVP_PKEY_free(g->server_key);
        g->server_key = key;
        g->has_server = 1;
        sgs_hex(g->server_fp, 32, g->server_hex);
        snprintf(g->server_path, sizeof(g->server_path), "%s", path);
        if ((st = check_command(g, err, errlen)) != SGS_OK)
            g->has_server = 0;
    }
    return st;
}

sgs_status
sgs_agents_add_known(sgs_agents *g, const char *path, char *err, size_t errlen)
{
    if (g->nknown == KNOWN_MAX) {
        snprintf(err, errlen, "more than %d known keys", KNOWN_MAX);
        return SGS_ERR_INVALID_ARG;
    }
    known_key *const k = &g->known[g->nknown];
    const sgs_status st = load_public(g->alloc, path, k->fp, &k->key, err, errlen);
    if (st != SGS_OK)
        return st;
    const char *const slash = strrchr(path, '/');
    snprintf(k->label, sizeof(k->label), "%s", slash != NULL ? slash + 1 : path);
    g->nknown++;
    return SGS_OK;
}

sgs_status
sgs_agents_set_command(sgs_agents *g, const char *message, const char *signature,
                       const EVP_MD *md, int pss, char *err, size_t errlen)
{
    char why[256] = "";
    sgs_status st = sgs_read_small_file_follow(g->alloc, message, COMMAND_MAX, &g->message,
                                               &g->message_len, why, sizeof(why));
    if (st == SGS_OK)
        st = sgs_read_small_file_follow(g->alloc, signature, 1024u * 1024u, &g->csig,
                                        &g->csig_len, why, sizeof(why));
    if (st != SGS_OK) {
        snprintf(err, errlen, "%s", why);
        return st;
    }
    if (g->csig_len == 0) {
        snprintf(err, errlen, "%s: empty signature", signature);
        return SGS_ERR_KEY;
    }
    sgs_sig_params_init(&g->params, md, pss);
    unsigned int dlen = 0;
    if (EVP_Digest(g->message, g->message_len, g->cmd_digest, &dlen, md, NULL) != 1)
        return SGS_ERR_CRYPTO;
    g->cmd_digest_len = dlen;
    g->cms = sgs_cms_detect(g->csig, g->csig_len);
    if (g->cms) {
        /* CMS: check the signature once with its signer's key; agents then accept it when
           their key is that signer's. */
        sgs_cms_job job;
        sgs_verdict v = SGS_V_MALFORMED;
        if (!sgs_cms_prepare(g->csig, g->csig_len, NULL, &job, &v, g->cms_reason,
                             sizeof(g->cms_reason))) {
            snprintf(err, errlen, "%s: %s", signature, g->cms_reason);
            return SGS_ERR_KEY;
        }
        for (size_t i = 0; i < job.nctx; i++)
            (void)EVP_DigestUpdate(job.ctxs[i], g->message, g->message_len);
        char alg[48];
        sgs_cms_verify(&job, NULL, &v, g->cms_reason, sizeof(g->cms_reason), alg, sizeof(alg),
                       g->cms_signer);
        g->cms_ok = v == SGS_V_VALID;
        sgs_cms_job_reset(&job);
    }
    snprintf(g->command_sig_path, sizeof(g->command_sig_path), "%s", signature);
    g->has_command = 1;
    st = check_command(g, err, errlen);
    if (st != SGS_OK)
        g->has_command = 0;
    return st;
}

/* ---- judging -------------------------------------------------------------------------------- */

static const char *
key_alg(EVP_PKEY *k, char *buf, size_t n)
{
    sgs_key d;
    sgs_key_describe_type(k, &d);
    switch (d.type) {
    case SGS_KEY_RSA:
    case SGS_KEY_RSA_PSS:
        snprintf(buf, n, "rsa%d", d.bits);
        break;
    case SGS_KEY_EC:
        snprintf(buf, n, "ec-%s", d.curve);
        break;
    case SGS_KEY_ED25519:
        snprintf(buf, n, "ed25519");
        break;
    case SGS_KEY_OTHER:
        return NULL;
    }
    return buf;
}

/* Would this agent's key accept the server's command? */
static int
accepts_command(const sgs_agents *g, EVP_PKEY *k, const char *fp_hex)
{
    if (g->cms)
        return g->cms_ok && strcmp(fp_hex, g->cms_signer) == 0;
    const sgs_detached d = {g->csig,       g->csig_len,       g->message, g->message_len,
                            g->cmd_digest, g->cmd_digest_len, g->params,  NULL};
    return sgs_detached_check_key(k, &d, NULL);
}

static void
date_of(const ASN1_TIME *t, char *buf, size_t n)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        snprintf(buf, n, "?");
    else
        strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void
judge(const sgs_agents *g, const uint8_t *buf, size_t len, sgs_agent_result *r)
{
    parsed p;
    memset(&p, 0, sizeof(p));
    memset(r, 0, sizeof(*r));
    r->verdict = SGS_V_MALFORMED; /* until proven otherwise */
    if (len == 0) {
        snprintf(r->reason, sizeof(r->reason), "empty key file");
        return;
    }
    if (sgs_pem_present(buf, len))
        parse_pem(&p, buf, len);
    else
        parse_der(&p, buf, len);
    if (p.key != NULL)
        sgs_hex(p.fp, 32, r->key_fp);
    if (p.private_key) {
        r->verdict = SGS_V_PRIVATE_KEY_EXPOSED;
        const int server = p.priv_fp_known && memcmp(p.priv_fp, g->server_fp, 32) == 0;
        snprintf(r->reason, sizeof(r->reason), "the key file holds a private key%s; remove it "
                                               "and rotate that key",
                 server ? " (the server's own)" : "");
        goto out;
    }
    if (p.key == NULL) {
        snprintf(r->reason, sizeof(r->reason), "%s",
                 p.problem[0] ? p.problem : "no public key or certificate in the file");
        goto out;
    }
    if (p.keys > 1) {
        snprintf(r->reason, sizeof(r->reason), "the file holds %d different keys", p.keys);
        goto out;
    }
    if (key_alg(p.key, r->alg, sizeof(r->alg)) == NULL) {
        r->verdict = SGS_V_UNSUPPORTED;
        snprintf(r->reason, sizeof(r->reason), "unsupported key type %s (supported: RSA, EC "
                                               "P-256/P-384/P-521, Ed25519)",
                 OBJ_nid2sn(EVP_PKEY_get_base_id(p.key)));
        goto out;
    }
    if (memcmp(p.fp, g->server_fp, 32) != 0) {
        r->verdict = SGS_V_KEY_MISMATCH;
        const char *known = NULL;
        for (size_t i = 0; i < g->nknown && known == NULL; i++)
            if (memcmp(g->known[i].fp, p.fp, 32) == 0)
                known = g->known[i].label;
        snprintf(r->reason, sizeof(r->reason), "key %s differs from the server %s; %s%s%s",
                 r->key_fp, g->server_hex, known ? "matches known key " : "matches no known server key",
                 known ? known : "",
                 g->has_command ? (accepts_command(g, p.key, r->key_fp)
                                       ? "; accepts the server's command anyway"
                                       : "; would reject the server's command")
                                : "");
        goto out;
    }
    if (p.cert != NULL && X509_check_issued(p.cert, p.cert) == X509_V_OK &&
        X509_verify(p.cert, p.key) != 1) {
        /* a self-issued copy carries its own proof of integrity: use it */
        snprintf(r->reason, sizeof(r->reason), "the certificate copy is corrupt: its "
                                               "self-signature does not verify");
        goto out;
    }
    if (p.cert != NULL) {
        char d1[40], d2[40];
        time_t at = (time_t)g->at;
        date_of(X509_get0_notBefore(p.cert), d1, sizeof(d1));
        date_of(X509_get0_notAfter(p.cert), d2, sizeof(d2));
        if (X509_cmp_time(X509_get0_notBefore(p.cert), &at) > 0) {
            r->verdict = SGS_V_NOT_YET_VALID;
            snprintf(r->reason, sizeof(r->reason), "certificate copy matches the server key but "
                                                   "is not valid before %s (valid %s to %s)",
                     d1, d1, d2);
            goto out;
        }
        if (X509_cmp_time(X509_get0_notAfter(p.cert), &at) < 0) {
            r->verdict = SGS_V_EXPIRED;
            snprintf(r->reason, sizeof(r->reason), "certificate copy matches the server key but "
                                                   "expired %s (valid %s to %s)",
                     d2, d1, d2);
            goto out;
        }
    }
    if (g->has_command && !accepts_command(g, p.key, r->key_fp)) {
        r->verdict = SGS_V_BAD_SIGNATURE;
        snprintf(r->reason, sizeof(r->reason), "key matches the server, but the command signature "
                                               "does not verify with it%s%s",
                 g->cms && !g->cms_ok ? ": " : "", g->cms && !g->cms_ok ? g->cms_reason : "");
        goto out;
    }
    snprintf(r->reason, sizeof(r->reason), "key matches the server (%s)%s", g->server_hex,
             g->has_command ? "; accepts the server's command" : "");
    r->verdict = SGS_V_VALID; /* the only such line: the key is the server's, and usable */
out:
    EVP_PKEY_free(p.key);
    X509_free(p.cert);
    ERR_clear_error();
}

void
sgs_agents_judge(sgs_agents *g, const uint8_t *buf, size_t len, sgs_agent_result *out)
{
    uint8_t sha[32];
    unsigned int slen = 0;
    const int keyed = EVP_Digest(buf, len, sha, &slen, EVP_sha256(), NULL) == 1;
    content_slot *slot = NULL;
    if (keyed) {
        uint64_t h;
        memcpy(&h, sha, sizeof(h));
        slot = &g->slots[h % CONTENT_SLOTS];
        pthread_mutex_lock(&g->mu);
        const int hit = slot->used && memcmp(slot->sha, sha, 32) == 0;
        if (hit)
            *out = slot->result;
        pthread_mutex_unlock(&g->mu);
        if (hit)
            return;
    }
    judge(g, buf, len, out);
    if (slot != NULL) {
        pthread_mutex_lock(&g->mu);
        memcpy(slot->sha, sha, 32);
        slot->used = 1;
        slot->result = *out;
        pthread_mutex_unlock(&g->mu);
    }
}
