/*
 * cms.c - detached CMS / PKCS#7 SignedData (`openssl cms -sign -binary`, `openssl smime -sign
 * -binary`), verified over the file the engine reads once.
 *
 * DESIGN: the signature names its digest algorithms before the file is read, so prepare()
 * parses it first and hands the engine one digest context per algorithm (BIO_f_md, the form
 * OpenSSL's CMS_SignerInfo_verify_content() looks for); the engine feeds the file's bytes to
 * them in its single read pass. verify() then lets OpenSSL check, per SignerInfo, the
 * messageDigest attribute and the signature over the signed attributes (or, without attributes,
 * the signature over the content digest, PSS parameters included), and the chain via trust.c.
 * All parsing is OpenSSL's. Every signer must verify; the first failure decides the verdict.
 */
#include "cms.h"

#include "alloc.h"
#include "digest.h"
#include "err.h"
#include "keys.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int
sgs_cms_detect(const uint8_t *buf, size_t len)
{
    static const uint8_t signed_data_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                              0xf7, 0x0d, 0x01, 0x07, 0x02};
    static const char *const pem_tags[] = {"-----BEGIN PKCS7-----", "-----BEGIN CMS-----"};
    const size_t head = len < 128 ? len : 128;
    for (size_t t = 0; t < 2; t++) {
        const size_t tl = strlen(pem_tags[t]);
        for (size_t i = 0; i + tl <= head; i++)
            if (memcmp(buf + i, pem_tags[t], tl) == 0)
                return 1;
    }
    /* DER ContentInfo: SEQUENCE { contentType OBJECT IDENTIFIER signedData, ... } */
    if (len < 16 || buf[0] != 0x30)
        return 0;
    const size_t scan = len < 24 ? len : 24;
    for (size_t i = 1; i + sizeof(signed_data_oid) <= scan; i++)
        if (memcmp(buf + i, signed_data_oid, sizeof(signed_data_oid)) == 0)
            return 1;
    return 0;
}

/* Bytes of (buf, len) outside one "-----BEGIN X-----" ... "-----END X-----" block (only white
   space may follow it); len when there is no such block. */
static size_t
pem_outside_bytes(const uint8_t *buf, size_t len)
{
    static const char begin[] = "-----BEGIN ", end[] = "-----END ";
    if (len < sizeof(begin) - 1 || memcmp(buf, begin, sizeof(begin) - 1) != 0) {
        size_t lead = 0;
        while (lead + sizeof(begin) - 1 <= len && memcmp(buf + lead, begin, sizeof(begin) - 1) != 0)
            lead++;
        return lead > 0 ? lead : len;
    }
    const uint8_t *const e = memmem(buf, len, end, sizeof(end) - 1);
    if (e == NULL)
        return len;
    const size_t after_end = (size_t)(e - buf) + sizeof(end) - 1;
    const uint8_t *const dashes = memmem(buf + after_end, len - after_end, "-----", 5);
    if (dashes == NULL)
        return len;
    size_t extra = 0;
    for (size_t i = (size_t)(dashes - buf) + 5; i < len; i++)
        extra += buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t';
    if (memmem(buf + after_end, len - after_end, begin, sizeof(begin) - 1) != NULL)
        extra += 1; /* a second block */
    return extra;
}

/* ---- certificate-set cache ------------------------------------------------------------ */

#define CERTSET_SLOTS 64
#define CERTSET_MAX_BYTES (256u * 1024u)

typedef struct certset {
    uint8_t *bytes; /* the [0] certificates TLV, owned */
    size_t len;
    uint64_t stamp;
    STACK_OF(X509) *certs;
} certset;

struct sgs_certset_cache {
    const sgs_allocator *alloc;
    pthread_mutex_t mu;
    uint64_t clock;
    certset slots[CERTSET_SLOTS];
};

sgs_certset_cache *
sgs_certset_cache_create(const sgs_allocator *a)
{
    sgs_certset_cache *const c = sgs_calloc(a, 1, sizeof(*c));
    if (c != NULL) {
        c->alloc = a;
        pthread_mutex_init(&c->mu, NULL);
    }
    return c;
}

void
sgs_certset_cache_free(sgs_certset_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CERTSET_SLOTS; i++) {
        sgs_free(c->alloc, c->slots[i].bytes);
        sk_X509_pop_free(c->slots[i].certs, X509_free);
    }
    pthread_mutex_destroy(&c->mu);
    sgs_free(c->alloc, c);
}

/* A new stack holding new references to the certificates. */
static STACK_OF(X509) *
dup_certs(STACK_OF(X509) *in)
{
    STACK_OF(X509) *const out = sk_X509_new_reserve(NULL, sk_X509_num(in));
    for (int i = 0; out != NULL && i < sk_X509_num(in); i++) {
        X509 *const x = sk_X509_value(in, i);
        if (!X509_up_ref(x)) {
            sk_X509_pop_free(out, X509_free);
            return NULL;
        }
        sk_X509_push(out, x);
    }
    return out;
}

/* Parses a [0] IMPLICIT SET OF Certificate TLV: every element must be an X.509 certificate. */
static STACK_OF(X509) *
parse_certset(const uint8_t *tlv, size_t len)
{
    const unsigned char *p = tlv;
    long clen = 0;
    int tag = 0, cls = 0;
    const int r = ASN1_get_object(&p, &clen, &tag, &cls, (long)len);
    if ((r & 0x80) != 0 || r != V_ASN1_CONSTRUCTED || tag != 0 ||
        cls != V_ASN1_CONTEXT_SPECIFIC || p + clen != tlv + len)
        return NULL;
    const unsigned char *const end = p + clen;
    STACK_OF(X509) *const certs = sk_X509_new_null();
    while (certs != NULL && p < end) {
        X509 *const x = d2i_X509(NULL, &p, (long)(end - p));
        /* OpenSSL fills a certificate's extension cache on first use; do it now, before the
           certificate is shared between workers (ThreadSanitizer saw two chain builds race
           on it otherwise). */
        if (x != NULL)
            (void)X509_check_purpose(x, -1, 0);
        if (x == NULL || !sk_X509_push(certs, x)) {
            X509_free(x);
            sk_X509_pop_free(certs, X509_free);
            return NULL;
        }
    }
    return certs;
}

static STACK_OF(X509) *
certset_get(sgs_certset_cache *c, const uint8_t *tlv, size_t len)
{
    if (len > CERTSET_MAX_BYTES)
        return NULL;
    STACK_OF(X509) *out = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < CERTSET_SLOTS && out == NULL; i++) {
        certset *const s = &c->slots[i];
        if (s->bytes != NULL && s->len == len && memcmp(s->bytes, tlv, len) == 0) {
            s->stamp = ++c->clock;
            out = dup_certs(s->certs);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (out != NULL)
        return out;
    STACK_OF(X509) *const parsed = parse_certset(tlv, len);
    uint8_t *const copy = parsed != NULL ? sgs_malloc(c->alloc, len) : NULL;
    if (parsed == NULL || copy == NULL) {
        sk_X509_pop_free(parsed, X509_free);
        return NULL;
    }
    memcpy(copy, tlv, len);
    out = dup_certs(parsed);
    pthread_mutex_lock(&c->mu);
    certset *victim = &c->slots[0]; /* an empty slot, else the least recently used */
    for (size_t i = 1; i < CERTSET_SLOTS && victim->bytes != NULL; i++)
        if (c->slots[i].bytes == NULL || c->slots[i].stamp < victim->stamp)
            victim = &c->slots[i];
    uint8_t *const old_bytes = victim->bytes;
    STACK_OF(X509) *const old_certs = victim->certs;
    victim->bytes = copy;
    victim->len = len;
    victim->certs = parsed;
    victim->stamp = ++c->clock;
    pthread_mutex_unlock(&c->mu);
    sgs_free(c->alloc, old_bytes);
    sk_X509_pop_free(old_certs, X509_free);
    return out;
}

/*
 * ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT SignedData }. With OpenSSL's generic
 * codec, take the SignedData's [0] certificates element out (from the cache), re-encode the
 * rest, and return the new DER (OPENSSL_malloc'd). NULL when the signature is not shaped so
 * (then the caller parses it whole, as OpenSSL always would).
 */
/* Whether seq encodes back to exactly (der, len): the generic codec takes encodings OpenSSL's
   CMS parser refuses (a SEQUENCE tagged primitive), and re-encoding would repair them, so that
   the same bytes were MALFORMED parsed whole and VALID split (found by cms_fuzz). */
static int
encodes_as(ASN1_SEQUENCE_ANY *seq, const unsigned char *der, long len)
{
    unsigned char *again = NULL;
    const int n = i2d_ASN1_SEQUENCE_ANY(seq, &again);
    const int same = n == len && memcmp(again, der, (size_t)len) == 0;
    OPENSSL_free(again);
    return same;
}

unsigned char *
sgs_certset_split(sgs_certset_cache *c, const uint8_t *buf, size_t len, size_t *outlen,
                  STACK_OF(X509) **certs)
{
    unsigned char *out = NULL, *sd_der = NULL, *wrapped = NULL;
    ASN1_SEQUENCE_ANY *top = NULL, *sd = NULL;
    const unsigned char *p = buf;
    *certs = NULL;
    top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
    if (top == NULL || p != buf + len || sk_ASN1_TYPE_num(top) != 2 ||
        !encodes_as(top, buf, (long)len))
        goto out;
    const ASN1_TYPE *const oid = sk_ASN1_TYPE_value(top, 0);
    ASN1_TYPE *const body = sk_ASN1_TYPE_value(top, 1);
    if (oid->type != V_ASN1_OBJECT || OBJ_obj2nid(oid->value.object) != NID_pkcs7_signed ||
        body->type != V_ASN1_OTHER)
        goto out;
    const unsigned char *q = ASN1_STRING_get0_data(body->value.asn1_string);
    const long blen = ASN1_STRING_length(body->value.asn1_string);
    const unsigned char *const bstart = q;
    long clen = 0;
    int tag = 0, cls = 0;
    const int r = ASN1_get_object(&q, &clen, &tag, &cls, blen);
    if ((r & 0x80) != 0 || r != V_ASN1_CONSTRUCTED || tag != 0 ||
        cls != V_ASN1_CONTEXT_SPECIFIC || q + clen != bstart + blen)
        goto out;
    const unsigned char *const sd_start = q;
    sd = d2i_ASN1_SEQUENCE_ANY(NULL, &q, clen);
    if (sd == NULL || q != sd_start + clen || !encodes_as(sd, sd_start, clen))
        goto out;
    int at = -1;
    for (int i = 0; i < sk_ASN1_TYPE_num(sd); i++) {
        const ASN1_TYPE *const t = sk_ASN1_TYPE_value(sd, i);
        if (t->type == V_ASN1_OTHER && ASN1_STRING_length(t->value.asn1_string) > 0 &&
            ASN1_STRING_get0_data(t->value.asn1_string)[0] == 0xa0) {
            at = i;
            break;
        }
    }
    if (at < 0)
        goto out;
    const ASN1_STRING *const cs = sk_ASN1_TYPE_value(sd, at)->value.asn1_string;
    *certs = certset_get(c, ASN1_STRING_get0_data(cs), (size_t)ASN1_STRING_length(cs));
    if (*certs == NULL)
        goto out;
    ASN1_TYPE_free(sk_ASN1_TYPE_delete(sd, at));
    const int sdlen = i2d_ASN1_SEQUENCE_ANY(sd, &sd_der);
    if (sdlen <= 0)
        goto out;
    const int wlen = ASN1_object_size(1, sdlen, 0);
    if (wlen <= 0 || (wrapped = OPENSSL_malloc((size_t)wlen)) == NULL)
        goto out;
    unsigned char *w = wrapped;
    ASN1_put_object(&w, 1, sdlen, 0, V_ASN1_CONTEXT_SPECIFIC);
    memcpy(w, sd_der, (size_t)sdlen);
    if (ASN1_STRING_set(body->value.asn1_string, wrapped, wlen) != 1)
        goto out;
    const int olen = i2d_ASN1_SEQUENCE_ANY(top, &out);
    if (olen <= 0) {
        OPENSSL_free(out);
        out = NULL;
        goto out;
    }
    *outlen = (size_t)olen;
out:
    if (out == NULL) {
        sk_X509_pop_free(*certs, X509_free);
        *certs = NULL;
    }
    OPENSSL_free(sd_der);
    OPENSSL_free(wrapped);
    sk_ASN1_TYPE_pop_free(sd, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
    ERR_clear_error();
    return out;
}

void
sgs_cms_job_reset(sgs_cms_job *job)
{
    sk_X509_pop_free(job->certs, X509_free);
    CMS_ContentInfo_free(job->cms);
    BIO_free_all(job->chain);
    memset(job, 0, sizeof(*job));
}

static int
supported_md(int nid)
{
    return nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

int
sgs_cms_prepare(const uint8_t *buf, size_t len, sgs_certset_cache *certsets, sgs_cms_job *job,
                sgs_verdict *verdict, char *reason, size_t n)
{
    char why[160];
    memset(job, 0, sizeof(*job));
    *verdict = SGS_V_MALFORMED;
    if (len == 0) {
        snprintf(reason, n, "CMS signature is empty");
        return 0;
    }
    size_t slen = 0;
    unsigned char *const split =
        certsets != NULL && buf[0] == 0x30 ? sgs_certset_split(certsets, buf, len, &slen, &job->certs)
                                           : NULL;
    if (split != NULL) {
        const unsigned char *p = split;
        job->cms = d2i_CMS_ContentInfo(NULL, &p, (long)slen);
        const int whole = job->cms != NULL && p == split + slen;
        OPENSSL_free(split);
        if (!whole) { /* parse the original, so the reason is about what the file holds */
            CMS_ContentInfo_free(job->cms);
            job->cms = NULL;
            sk_X509_pop_free(job->certs, X509_free);
            job->certs = NULL;
        }
    }
    if (job->cms == NULL && buf[0] == 0x30) {
        const unsigned char *p = buf;
        job->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
        if (job->cms != NULL && p != buf + len) {
            snprintf(reason, n, "CMS signature has %zu bytes after its end",
                     len - (size_t)(p - buf));
            goto fail;
        }
    } else if (job->cms == NULL) {
        /* one PEM block and nothing else, as DER is held to its end: bytes before or after
           the block (a script with a signature appended) would ride along unjudged */
        const size_t extra = pem_outside_bytes(buf, len);
        if (extra > 0) {
            snprintf(reason, n, "CMS signature (PEM) has %zu bytes outside its one block",
                     extra);
            goto fail;
        }
        BIO *const bio = BIO_new_mem_buf(buf, (int)len);
        if (bio != NULL)
            job->cms = PEM_read_bio_CMS(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    if (job->cms == NULL) {
        snprintf(reason, n, "CMS signature does not parse: %s",
                 sgs_crypto_error(why, sizeof(why)));
        goto fail;
    }
    if (OBJ_obj2nid(CMS_get0_type(job->cms)) != NID_pkcs7_signed) {
        snprintf(reason, n, "CMS content is not SignedData");
        goto fail;
    }
    if (CMS_is_detached(job->cms) != 1) {
        *verdict = SGS_V_UNSUPPORTED;
        snprintf(reason, n, "CMS signature embeds its content; only detached signatures are "
                            "judged against a file");
        goto fail;
    }
    if (OBJ_obj2nid(CMS_get0_eContentType(job->cms)) != NID_pkcs7_data) {
        *verdict = SGS_V_UNSUPPORTED;
        snprintf(reason, n, "CMS signs content of a type other than id-data");
        goto fail;
    }
    STACK_OF(CMS_SignerInfo) *const sis = CMS_get0_SignerInfos(job->cms);
    if (sk_CMS_SignerInfo_num(sis) <= 0) {
        snprintf(reason, n, "CMS SignedData has no signers");
        goto fail;
    }
    for (int i = 0; i < sk_CMS_SignerInfo_num(sis); i++) {
        X509_ALGOR *dig = NULL;
        CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, i), NULL, NULL, &dig, NULL);
        const ASN1_OBJECT *obj = NULL;
        if (dig != NULL)
            X509_ALGOR_get0(&obj, NULL, NULL, dig);
        const int nid = obj != NULL ? OBJ_obj2nid(obj) : NID_undef;
        if (!supported_md(nid)) {
            *verdict = SGS_V_UNSUPPORTED;
            snprintf(reason, n, "CMS signer %d uses digest %s (supported: SHA-256/384/512)",
                     i + 1, nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
            goto fail;
        }
        int seen = 0;
        for (size_t k = 0; k < job->nctx; k++)
            seen |= EVP_MD_CTX_get_type(job->ctxs[k]) == nid;
        if (seen)
            continue;
        if (job->nctx == SGS_CMS_MAX_MDS) {
            *verdict = SGS_V_UNSUPPORTED;
            snprintf(reason, n, "CMS uses more than %d digest algorithms", SGS_CMS_MAX_MDS);
            goto fail;
        }
        BIO *const b = BIO_new(BIO_f_md());
        EVP_MD_CTX *ctx = NULL;
        /* a fetched (non-const) EVP_MD: BIO_set_md's macro casts its argument to char * */
        EVP_MD *const md = EVP_MD_fetch(NULL, OBJ_nid2sn(nid), NULL);
        const int set = b != NULL && md != NULL && BIO_set_md(b, md) == 1;
        EVP_MD_free(md); /* the BIO's context holds its own reference */
        if (!set || BIO_get_md_ctx(b, &ctx) != 1 || ctx == NULL) {
            BIO_free(b);
            *verdict = SGS_V_IO_ERROR;
            snprintf(reason, n, "cannot set up the CMS digest: %s",
                     sgs_crypto_error(why, sizeof(why)));
            goto fail;
        }
        job->chain = job->chain == NULL ? b : BIO_push(b, job->chain);
        job->ctxs[job->nctx++] = ctx;
    }
    ERR_clear_error();
    return 1;
fail:
    ERR_clear_error();
    sgs_cms_job_reset(job);
    return 0;
}

static void
signer_alg(X509 *signer, const X509_ALGOR *sig_alg, int md_nid, char *alg, size_t n)
{
    sgs_key k;
    const ASN1_OBJECT *obj = NULL;
    if (sig_alg != NULL)
        X509_ALGOR_get0(&obj, NULL, NULL, sig_alg);
    const int pss = obj != NULL && OBJ_obj2nid(obj) == NID_rsassaPss;
    const char *const md = md_nid == NID_sha256 ? "sha256" : md_nid == NID_sha384 ? "sha384"
                                                                                 : "sha512";
    sgs_key_describe_type(X509_get0_pubkey(signer), &k);
    switch (k.type) {
    case SGS_KEY_RSA:
    case SGS_KEY_RSA_PSS:
        snprintf(alg, n, "cms-rsa%d-%s-%s", k.bits, pss || k.type == SGS_KEY_RSA_PSS ? "pss"
                                                                                   : "pkcs1",
                 md);
        break;
    case SGS_KEY_EC:
        snprintf(alg, n, "cms-ecdsa-%s-%s", k.curve, md);
        break;
    case SGS_KEY_ED25519:
        snprintf(alg, n, "cms-ed25519");
        break;
    case SGS_KEY_OTHER:
        snprintf(alg, n, "cms-%s", md);
        break;
    }
}

void
sgs_cms_verify(sgs_cms_job *job, sgs_trust *trust, sgs_verdict *verdict, char *reason, size_t n,
               char *alg, size_t alglen, char *signer_hex)
{
    char why[160], dn[512], chain_reason[1024];
    *verdict = SGS_V_BAD_SIGNATURE;
    reason[0] = '\0';
    job->chain_dns[0] = '\0';
    job->win.from = INT64_MIN;
    job->win.until = INT64_MAX;
    job->win.cacheable = 1;
    /* the signature's certificates (its own, or the cached parse of the same bytes) */
    STACK_OF(X509) *const certs =
        job->certs != NULL ? dup_certs(job->certs) : CMS_get1_certs(job->cms);
    STACK_OF(X509) *const candidates =
        trust != NULL ? sk_X509_dup(trust->untrusted_sk) : sk_X509_new_null();
    for (int i = 0; candidates != NULL && i < sk_X509_num(certs); i++)
        (void)sk_X509_push(candidates, sk_X509_value(certs, i));
    (void)CMS_set1_signers_certs(job->cms, candidates, 0);
    sk_X509_free(candidates);
    ERR_clear_error();
    STACK_OF(CMS_SignerInfo) *const sis = CMS_get0_SignerInfos(job->cms);
    const int count = sk_CMS_SignerInfo_num(sis);
    int valid = 0;
    for (int i = 0; i < count; i++) {
        CMS_SignerInfo *const si = sk_CMS_SignerInfo_value(sis, i);
        EVP_PKEY *pk = NULL;
        X509 *signer = NULL;
        X509_ALGOR *dig = NULL, *sig = NULL;
        CMS_SignerInfo_get0_algs(si, &pk, &signer, &dig, &sig);
        if (signer == NULL || pk == NULL) {
            *verdict = SGS_V_UNTRUSTED;
            snprintf(reason, n, "signer %d's certificate is neither in the signature nor in "
                                "--untrusted", i + 1);
            goto out;
        }
        sgs_dn(X509_get_subject_name(signer), dn, sizeof(dn));
        if (EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk, "ED448")) {
            *verdict = SGS_V_UNSUPPORTED;
            snprintf(reason, n, "signer \"%s\" uses EdDSA, which OpenSSL 3.0's CMS cannot verify",
                     dn);
            goto out;
        }
        const int has_attrs = CMS_signed_get_attr_count(si) >= 0;
        if (has_attrs && CMS_SignerInfo_verify(si) != 1) {
            *verdict = SGS_V_BAD_SIGNATURE;
            snprintf(reason, n, "signature of \"%s\" over the signed attributes does not "
                                "verify (%s)",
                     dn, sgs_crypto_error(why, sizeof(why)));
            goto out;
        }
        if (CMS_SignerInfo_verify_content(si, job->chain) != 1) {
            *verdict = SGS_V_BAD_SIGNATURE;
            snprintf(reason, n, "%s \"%s\" (%s)",
                     has_attrs ? "the file's digest differs from the messageDigest signed by"
                               : "the signature over the file's digest does not verify for",
                     dn, sgs_crypto_error(why, sizeof(why)));
            goto out;
        }
        ERR_clear_error();
        if (i == 0) { /* the signature verified: name its algorithm and signer, chain or not */
            const ASN1_OBJECT *obj = NULL;
            X509_ALGOR_get0(&obj, NULL, NULL, dig);
            signer_alg(signer, sig, OBJ_obj2nid(obj), alg, alglen);
            if (sgs_cert_spki_fp(signer, signer_hex) != SGS_OK)
                signer_hex[0] = '\0';
        }
        sgs_verdict chain = SGS_V_VALID;
        snprintf(chain_reason, sizeof(chain_reason), "signature only (no chain check)");
        if (trust != NULL) { /* NULL: the caller trusts a key, not a CA (agents' --command) */
            static const sgs_check_opts as_configured = {0, 0, 0};
            sgs_check_window w;
            sgs_trust_check_with(trust, signer, certs, &as_configured, &chain, chain_reason,
                                 sizeof(chain_reason), job->chain_dns, sizeof(job->chain_dns),
                                 &w);
            sgs_check_window_narrow(&job->win, &w);
        }
        if (chain != SGS_V_VALID) {
            *verdict = chain;
            snprintf(reason, n, "signature by \"%s\" verifies, but: %s", dn, chain_reason);
            goto out;
        }
        if (i == 0)
            snprintf(reason, n, "signed by \"%s\", %s", dn, chain_reason);
        valid++;
    }
    if (valid == count && count > 0) {
        if (count > 1) {
            const size_t used = strlen(reason);
            snprintf(reason + used, n - used, " (all %d signers verified)", count);
        }
        *verdict = SGS_V_VALID; /* every signer: signature, content digest and chain */
    }
out:
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
}

int
sgs_cms_sign_start(X509 *cert, EVP_PKEY *pkey, STACK_OF(X509) *extra, const EVP_MD *md, int pss,
                   sgs_cms_job *job, char *err, size_t n)
{
    memset(job, 0, sizeof(*job));
    const unsigned int flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
    job->cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    CMS_SignerInfo *const si =
        job->cms != NULL
            ? CMS_add1_signer(job->cms, cert, pkey, md, flags | (pss ? CMS_KEY_PARAM : 0))
            : NULL;
    if (si == NULL)
        goto fail;
    if (pss) {
        EVP_PKEY_CTX *const pctx = CMS_SignerInfo_get0_pkey_ctx(si);
        if (pctx == NULL || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
            goto fail;
    }
    for (int i = 0; i < sk_X509_num(extra); i++)
        if (CMS_add1_cert(job->cms, sk_X509_value(extra, i)) != 1)
            goto fail;
    /* The content BIO chain: one digest BIO per algorithm over a null sink (detached). The
       engine feeds their contexts directly in its single read of the file. */
    job->chain = CMS_dataInit(job->cms, NULL);
    if (job->chain == NULL)
        goto fail;
    for (BIO *b = BIO_find_type(job->chain, BIO_TYPE_MD); b != NULL && job->nctx < SGS_CMS_MAX_MDS;
         b = BIO_find_type(BIO_next(b), BIO_TYPE_MD)) {
        EVP_MD_CTX *ctx = NULL;
        if (BIO_get_md_ctx(b, &ctx) != 1 || ctx == NULL)
            goto fail;
        job->ctxs[job->nctx++] = ctx;
    }
    if (job->nctx == 0)
        goto fail;
    ERR_clear_error();
    return 1;
fail:;
    char why[160];
    snprintf(err, n, "cannot start the CMS signature: %s", sgs_crypto_error(why, sizeof(why)));
    sgs_cms_job_reset(job);
    return 0;
}

int
sgs_cms_sign_probe(X509 *cert, EVP_PKEY *pkey, STACK_OF(X509) *extra, const EVP_MD *md, int pss,
                   char *err, size_t n)
{
    sgs_cms_job job;
    unsigned char *der = NULL;
    size_t len = 0;
    const int ok = sgs_cms_sign_start(cert, pkey, extra, md, pss, &job, err, n) &&
                   sgs_cms_sign_finish(&job, &der, &len, err, n);
    OPENSSL_free(der);
    sgs_cms_job_reset(&job);
    return ok;
}

int
sgs_cms_sign_finish(sgs_cms_job *job, unsigned char **out, size_t *outlen, char *err, size_t n)
{
    char why[160];
    *out = NULL;
    if (CMS_dataFinal(job->cms, job->chain) != 1) {
        snprintf(err, n, "CMS signing failed: %s", sgs_crypto_error(why, sizeof(why)));
        return 0;
    }
    const int len = i2d_CMS_ContentInfo(job->cms, out);
    if (len <= 0) {
        snprintf(err, n, "cannot encode the CMS signature: %s",
                 sgs_crypto_error(why, sizeof(why)));
        return 0;
    }
    *outlen = (size_t)len;
    return 1;
}
