/*
 * trust.c - certificate chains: what is trusted, what may help build a chain, and why a chain
 * does not close.
 *
 * DESIGN: certificates come from files the admin names (--trust, --untrusted, --search, --crl),
 * each remembered with its file so a diagnosis can say where a fix would come from (loaded by
 * trust_load.c). Validation
 * is OpenSSL's X509_verify_cert over one shared X509_STORE (read-only after finalize); this
 * module only chooses flags and explains failures:
 *
 *   signer ─► X509_verify_cert(store, signer, signature certs + --untrusted)
 *     ok  ─► --purpose codesign? EKU check ─► VALID
 *     err ─► expired / not yet valid / revoked ─► that verdict, naming the cert and dates
 *         ─► issuer missing ─► name it (DN, authority key id, caIssuers URL)
 *                           ─► a trusted cert with that subject? say why it cannot issue
 *                           ─► --search: re-validate with candidates imported (up to 4 steps);
 *                                        VALID then = "would be VALID after importing ..."
 *
 * A guess from names is never reported as a fix: a candidate counts only when the re-run
 * validation passes. Results are cached per (signer, signature certificates): thousands of files
 * signed by one certificate validate its chain once.
 */
#include "trust.h"

#include "keycheck.h"

#include "alloc.h"
#include "digest.h"
#include "err.h"
#include "keys.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHAIN_CACHE_SLOTS 1024
#define SEARCH_DEPTH 4
#define SGS_CHAIN_DEPTH_MAX 32 /* intermediates allowed below the anchor; longer is refused */

typedef struct chain_slot {
    uint8_t key[32];
    int used;
    sgs_verdict verdict;
    sgs_check_window win;
    char *reason;
    char *chain;
} chain_slot;

/* Facts of a certificate object, remembered by its address. The slot holds a reference, so the
   object cannot be freed, and its address reused by another certificate, while remembered. */
#define FACTS_SLOTS 512
typedef struct facts_slot {
    X509 *cert;
    sgs_cert_facts facts;
} facts_slot;

struct sgs_chain_cache {
    pthread_mutex_t mu;
    chain_slot slots[CHAIN_CACHE_SLOTS];
    facts_slot facts[FACTS_SLOTS]; /* under mu too */
};

void
sgs_trust_init(sgs_trust *t, const sgs_allocator *a)
{
    memset(t, 0, sizeof(*t));
    t->alloc = a;
    t->opts.min_security_bits = SGS_MIN_SECURITY_BITS_DEFAULT;
}

void
sgs_trust_set_opts(sgs_trust *t, const sgs_trust_opts *o)
{
    t->opts = *o;
    t->opts.system = o->system != 0;
    t->opts.codesign = o->codesign != 0;
    t->opts.strict = o->strict != 0;
    t->opts.has_at_time = o->has_at_time != 0;
    t->opts.partial_chain = o->partial_chain != 0;
    t->opts.no_time_check = o->no_time_check != 0;
}

static void
list_reset(const sgs_allocator *a, sgs_certlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        X509_free(l->items[i].cert);
        sgs_free(a, l->items[i].path);
    }
    sgs_free(a, l->items);
    memset(l, 0, sizeof(*l));
}

void
sgs_trust_reset(sgs_trust *t)
{
    list_reset(t->alloc, &t->trusted);
    list_reset(t->alloc, &t->untrusted);
    list_reset(t->alloc, &t->search);
    sk_X509_CRL_pop_free(t->crls, X509_CRL_free);
    X509_STORE_free(t->store);
    sk_X509_free(t->untrusted_sk); /* references only: the lists own the certificates */
    if (t->cache != NULL) {
        for (size_t i = 0; i < CHAIN_CACHE_SLOTS; i++) {
            sgs_free(t->alloc, t->cache->slots[i].reason);
            sgs_free(t->alloc, t->cache->slots[i].chain);
        }
        for (size_t i = 0; i < FACTS_SLOTS; i++)
            X509_free(t->cache->facts[i].cert);
        pthread_mutex_destroy(&t->cache->mu);
        sgs_free(t->alloc, t->cache);
    }
    const sgs_allocator *const a = t->alloc;
    sgs_trust_init(t, a);
}

int
sgs_trust_configured(const sgs_trust *t)
{
    return t->trusted.count > 0 || t->opts.system;
}

const char *
sgs_dn(const X509_NAME *name, char *buf, size_t n)
{
    buf[0] = '\0';
    BIO *const b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return buf;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *data = NULL;
        const long len = BIO_get_mem_data(b, &data);
        snprintf(buf, n, "%.*s", (int)(len > 0 ? len : 0), data != NULL ? data : "");
    }
    BIO_free(b);
    return buf;
}

/* ---- store ---------------------------------------------------------------------------- */

static X509_STORE *
new_store(const sgs_trust *t, X509 *const *extra, size_t nextra)
{
    X509_STORE *const s = X509_STORE_new();
    if (s == NULL)
        return NULL;
    int ok = 1;
    for (size_t i = 0; ok && i < t->trusted.count; i++)
        ok = X509_STORE_add_cert(s, t->trusted.items[i].cert) == 1;
    for (size_t i = 0; ok && i < nextra; i++)
        ok = X509_STORE_add_cert(s, extra[i]) == 1;
    for (int i = 0; ok && i < sk_X509_CRL_num(t->crls); i++)
        ok = X509_STORE_add_crl(s, sk_X509_CRL_value(t->crls, i)) == 1;
    if (ok && t->opts.system)
        ok = X509_STORE_set_default_paths(s) == 1;
    if (!ok) {
        X509_STORE_free(s);
        ERR_clear_error();
        return NULL;
    }
    return s;
}

sgs_status
sgs_trust_finalize(sgs_trust *t, char *err, size_t errlen)
{
    /* OpenSSL fills a certificate's extension cache on first use; do it now, while one thread
       owns them: workers then only read (ThreadSanitizer saw two chain builds race on it). */
    const sgs_certlist *const lists[3] = {&t->trusted, &t->untrusted, &t->search};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < lists[l]->count; i++)
            (void)X509_check_purpose(lists[l]->items[i].cert, -1, 0);
    t->store = new_store(t, NULL, 0);
    t->untrusted_sk = sk_X509_new_null();
    t->cache = sgs_calloc(t->alloc, 1, sizeof(*t->cache));
    if (t->store == NULL || t->untrusted_sk == NULL || t->cache == NULL) {
        snprintf(err, errlen, "cannot build the trust store");
        return SGS_ERR_NOMEM;
    }
    pthread_mutex_init(&t->cache->mu, NULL);
    for (size_t i = 0; i < t->untrusted.count; i++)
        if (!sk_X509_push(t->untrusted_sk, t->untrusted.items[i].cert))
            return SGS_ERR_NOMEM;
    return SGS_OK;
}

/* ---- validation ---------------------------------------------------------------------- */

static int
ignore_missing_crl(int ok, X509_STORE_CTX *ctx)
{
    /* --crl is offline and partial: a CA without a CRL given is not a failure. */
    if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL)
        return 1;
    return ok;
}

typedef struct run_out {
    int ok;
    int error;
    X509 *at;      /* certificate at fault (owned, up-ref'd) */
    X509 *root;    /* top of the chain on success (owned) */
    char *chain;   /* when not NULL: the chain built, DNs from the leaf up, '\n'-separated */
    size_t chainlen;
    int64_t from, until; /* on success: when every certificate of the chain is valid */
} run_out;

static void
run_out_free(run_out *r)
{
    X509_free(r->at);
    X509_free(r->root);
    r->at = NULL;
    r->root = NULL;
}

/* OpenSSL's authentication level for a security floor in bits (SSL_CTX_set_security_level):
   each certificate's key, and each signature in the chain, must reach it. */
static int
auth_level(int bits)
{
    static const int floor[] = {80, 112, 128, 192, 256};
    int level = 0;
    while (level < 5 && bits >= floor[level])
        level++;
    return level;
}

/* One X509_verify_cert run. Returns 0 if it could not even start. */
static int
run_verify(const sgs_trust *t, X509_STORE *store, X509 *leaf, STACK_OF(X509) *chain_certs,
           run_out *out)
{
    char *const chain = out->chain;
    const size_t chainlen = out->chainlen;
    memset(out, 0, sizeof(*out));
    out->chain = chain;
    out->chainlen = chainlen;
    X509_STORE_CTX *const ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, store, leaf, chain_certs) != 1) {
        X509_STORE_CTX_free(ctx);
        ERR_clear_error();
        return 0;
    }
    X509_VERIFY_PARAM *const param = X509_STORE_CTX_get0_param(ctx);
    unsigned long flags = 0;
    if (t->opts.strict)
        flags |= X509_V_FLAG_X509_STRICT;
    if (sk_X509_CRL_num(t->crls) > 0)
        flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    if (t->opts.partial_chain)
        flags |= X509_V_FLAG_PARTIAL_CHAIN;
    if (t->opts.no_time_check)
        flags |= X509_V_FLAG_NO_CHECK_TIME;
    X509_VERIFY_PARAM_set_flags(param, flags);
    X509_VERIFY_PARAM_set_depth(param, SGS_CHAIN_DEPTH_MAX);
    X509_VERIFY_PARAM_set_auth_level(param, auth_level(t->opts.min_security_bits));
    if (t->opts.has_at_time)
        X509_VERIFY_PARAM_set_time(param, (time_t)t->opts.at_time);
    X509_STORE_CTX_set_verify_cb(ctx, ignore_missing_crl);
    out->ok = X509_verify_cert(ctx) == 1;
    out->error = X509_STORE_CTX_get_error(ctx);
    if (out->chain != NULL && out->chainlen > 0) {
        STACK_OF(X509) *const built = X509_STORE_CTX_get0_chain(ctx);
        out->chain[0] = '\0';
        for (int i = 0; i < sk_X509_num(built); i++) {
            char dn[512];
            sgs_appendf(out->chain, out->chainlen, "%s%s", i ? "\n" : "",
                        sgs_dn(X509_get_subject_name(sk_X509_value(built, i)), dn, sizeof(dn)));
        }
    }
    if (out->ok) {
        STACK_OF(X509) *const built = X509_STORE_CTX_get0_chain(ctx);
        X509 *const top = sk_X509_value(built, sk_X509_num(built) - 1);
        if (top != NULL && X509_up_ref(top))
            out->root = top;
        /* OpenSSL calls a certificate expired at its notAfter second itself: valid before */
        out->from = INT64_MIN;
        out->until = INT64_MAX;
        for (int i = 0; i < sk_X509_num(built); i++) {
            X509 *const x = sk_X509_value(built, i);
            struct tm tm;
            if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1 && timegm(&tm) > out->from)
                out->from = (int64_t)timegm(&tm);
            if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 && timegm(&tm) - 1 < out->until)
                out->until = (int64_t)timegm(&tm) - 1;
        }
    } else {
        X509 *const at = X509_STORE_CTX_get_current_cert(ctx);
        if (at != NULL && X509_up_ref(at))
            out->at = at;
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return 1;
}

static int
missing_issuer(int error)
{
    return error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           error == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
           error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

static const char *
date_str(const ASN1_TIME *t, char *buf, size_t n)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        snprintf(buf, n, "?");
    else
        strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

static void
describe_missing(X509 *cert, char *reason, size_t n)
{
    char dn[512], sub[512];
    const int self = X509_self_signed(cert, 0) == 1;
    sgs_dn(X509_get_subject_name(cert), sub, sizeof(sub));
    if (self) {
        sgs_appendf(reason, n, "self-signed certificate \"%s\" is not in the trust store", sub);
        return;
    }
    sgs_appendf(reason, n, "chain incomplete: no certificate for issuer \"%s\"",
                sgs_dn(X509_get_issuer_name(cert), dn, sizeof(dn)));
    const ASN1_OCTET_STRING *const akid = X509_get0_authority_key_id(cert);
    if (akid != NULL && ASN1_STRING_length(akid) > 0 && ASN1_STRING_length(akid) <= 64) {
        char hex[129];
        sgs_hex(ASN1_STRING_get0_data(akid), (size_t)ASN1_STRING_length(akid), hex);
        sgs_appendf(reason, n, " (authority key id %s)", hex);
    }
    sgs_appendf(reason, n, " of \"%s\"", sub);
    AUTHORITY_INFO_ACCESS *const aia = X509_get_ext_d2i(cert, NID_info_access, NULL, NULL);
    for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        const ACCESS_DESCRIPTION *const ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) == NID_ad_ca_issuers && ad->location->type == GEN_URI) {
            const ASN1_IA5STRING *const uri = ad->location->d.uniformResourceIdentifier;
            sgs_appendf(reason, n, "; caIssuers %.*s", ASN1_STRING_length(uri),
                        (const char *)ASN1_STRING_get0_data(uri));
            break;
        }
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    ERR_clear_error();
}

/* What keeps a certificate from acting as a CA, in words; NULL when nothing obvious does. */
static const char *
ca_defect(X509 *ca)
{
    const uint32_t flags = X509_get_extension_flags(ca);
    const char *why = NULL;
    if ((flags & EXFLAG_INVALID) != 0)
        why = "it has invalid or duplicate extensions";
    else if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0)
        why = "its key usage lacks keyCertSign"; /* (X509_check_ca says "not a CA" for this too) */
    else if (X509_check_ca(ca) == 0)
        why = "it is not a CA (basicConstraints CA:TRUE is missing)";
    ERR_clear_error();
    return why;
}

static const sgs_certref *
find_trusted(const sgs_trust *t, X509 *x)
{
    for (size_t i = 0; i < t->trusted.count; i++)
        if (X509_cmp(t->trusted.items[i].cert, x) == 0)
            return &t->trusted.items[i];
    return NULL;
}

/* Why a trusted certificate with the right subject did not serve as issuer of `cert`. */
static void
explain_trusted_namesakes(const sgs_trust *t, X509 *cert, char *reason, size_t n)
{
    const X509_NAME *const want = X509_get_issuer_name(cert);
    for (size_t i = 0; i < t->trusted.count; i++) {
        X509 *const ca = t->trusted.items[i].cert;
        if (X509_NAME_cmp(X509_get_subject_name(ca), want) != 0)
            continue;
        char dn[512];
        sgs_dn(X509_get_subject_name(ca), dn, sizeof(dn));
        const int code = X509_check_issued(ca, cert);
        const char *const defect = ca_defect(ca);
        sgs_appendf(reason, n, "; trust store holds \"%s\" (%s) but ", dn,
                    t->trusted.items[i].path);
        if (defect != NULL)
            sgs_appendf(reason, n, "%s", defect);
        else if (code != X509_V_OK)
            sgs_appendf(reason, n, "it cannot be the issuer: %s",
                        X509_verify_cert_error_string(code));
        else if (X509_self_signed(ca, 0) != 1)
            sgs_appendf(reason, n, "it is not self-signed, so it cannot anchor a chain");
        else
            sgs_appendf(reason, n, "it was not accepted");
        ERR_clear_error();
    }
}

/* Depth-first over --search candidates: import those whose subject is the missing issuer,
   re-validate, and follow a new missing issuer up to SEARCH_DEPTH imports. 1 when the chain
   closes (picked[0..*npicked) is the fix); otherwise the first failure is described in fail. */
static int
search_dfs(const sgs_trust *t, X509 *leaf, STACK_OF(X509) *chain_certs, X509 *missing_of,
           X509 **picked, size_t *npicked, char *fail, size_t failn)
{
    if (*npicked == SEARCH_DEPTH)
        return 0;
    const X509_NAME *const want = X509_get_issuer_name(missing_of);
    for (size_t i = 0; i < t->search.count; i++) {
        X509 *const c = t->search.items[i].cert;
        int used = 0;
        for (size_t k = 0; k < *npicked; k++)
            used |= picked[k] == c;
        if (used || X509_NAME_cmp(X509_get_subject_name(c), want) != 0)
            continue;
        picked[(*npicked)++] = c;
        X509_STORE *const s = new_store(t, picked, *npicked);
        run_out r;
        memset(&r, 0, sizeof(r)); /* no store (out of memory): nothing ran, nothing to free */
        const int ran = s != NULL && run_verify(t, s, leaf, chain_certs, &r);
        X509_STORE_free(s);
        if (ran && r.ok) {
            run_out_free(&r);
            return 1;
        }
        if (ran && fail[0] == '\0') {
            char dn[512];
            snprintf(fail, failn, "; \"%s\" from %s does not close the chain: %s",
                     sgs_dn(X509_get_subject_name(c), dn, sizeof(dn)), t->search.items[i].path,
                     X509_verify_cert_error_string(r.error));
            const char *const defect = ca_defect(c);
            const int code = X509_check_issued(c, missing_of);
            if (defect != NULL)
                sgs_appendf(fail, failn, " (%s)", defect);
            else if (code != X509_V_OK)
                sgs_appendf(fail, failn, " (%s)", X509_verify_cert_error_string(code));
        }
        const int deeper = ran && missing_issuer(r.error) && r.at != NULL && r.at != missing_of &&
                           X509_cmp(r.at, missing_of) != 0 &&
                           search_dfs(t, leaf, chain_certs, r.at, picked, npicked, fail, failn);
        run_out_free(&r);
        if (deeper)
            return 1;
        (*npicked)--;
        ERR_clear_error();
    }
    return 0;
}

/* Tries to close the chain with --search candidates; appends what it found. */
static void
search_fix(const sgs_trust *t, X509 *leaf, STACK_OF(X509) *chain_certs, X509 *at, char *reason,
           size_t n)
{
    X509 *picked[SEARCH_DEPTH];
    size_t npicked = 0;
    char fail[768] = "";
    if (search_dfs(t, leaf, chain_certs, at, picked, &npicked, fail, sizeof(fail))) {
        sgs_appendf(reason, n, "; would be VALID after importing");
        for (size_t k = 0; k < npicked; k++) {
            char dn[512];
            for (size_t i = 0; i < t->search.count; i++) {
                if (t->search.items[i].cert == picked[k]) {
                    sgs_appendf(reason, n, "%s \"%s\" from %s", k ? " and" : "",
                                sgs_dn(X509_get_subject_name(picked[k]), dn, sizeof(dn)),
                                t->search.items[i].path);
                    break;
                }
            }
        }
    } else if (fail[0] != '\0') {
        sgs_appendf(reason, n, "%s", fail);
    }
    ERR_clear_error();
}

static void
judge(sgs_trust *t, X509 *signer, STACK_OF(X509) *chain_certs, sgs_verdict *verdict,
      char *reason, size_t n, char *chain, size_t chainlen, sgs_check_window *win)
{
    run_out r;
    memset(&r, 0, sizeof(r));
    r.chain = chain;
    r.chainlen = chainlen;
    char dn[512], d1[40], d2[40];
    reason[0] = '\0';
    *verdict = SGS_V_UNTRUSTED;
    /* How long this result holds (sgs_check_window): judged at a fixed time, forever; at the
       current time, a closed chain only while all its certificates are valid, and results a
       later time could change not at all. */
    const int fixed_time = t->opts.has_at_time || t->opts.no_time_check;
    win->from = INT64_MIN;
    win->until = INT64_MAX;
    win->cacheable = 0;
    char weak[160];
    if (sgs_key_weakness(X509_get0_pubkey(signer), t->opts.min_security_bits, weak, sizeof(weak)) != NULL) {
        sgs_appendf(reason, n, "the signer's key is refused: %s", weak);
        win->cacheable = 1; /* a property of the certificate alone */
        return;
    }
    if (!sgs_trust_configured(t)) /* still diagnose: which issuer is missing, what would fix */
        sgs_appendf(reason, n,
                    "no trusted certificate (the trust store is empty or was not given); ");
    if (!run_verify(t, t->store, signer, chain_certs, &r)) {
        sgs_appendf(reason, n, "chain validation could not start");
        return;
    }
    if (r.ok) {
        win->cacheable = fixed_time || sk_X509_CRL_num(t->crls) <= 0; /* CRLs: own times */
        if (!fixed_time) {
            win->from = r.from;
            win->until = r.until;
        }
        if (t->opts.codesign) {
            const uint32_t flags = X509_get_extension_flags(signer);
            const uint32_t ku = X509_get_key_usage(signer);
            if ((flags & EXFLAG_XKUSAGE) == 0 ||
                (X509_get_extended_key_usage(signer) & XKU_CODE_SIGN) == 0) {
                sgs_appendf(reason, n,
                            "certificate \"%s\" lacks the codeSigning extended key usage "
                            "(1.3.6.1.5.5.7.3.3)",
                            sgs_dn(X509_get_subject_name(signer), dn, sizeof(dn)));
                goto out;
            }
            if ((ku & KU_DIGITAL_SIGNATURE) == 0) {
                sgs_appendf(reason, n, "certificate \"%s\" lacks the digitalSignature key usage",
                            sgs_dn(X509_get_subject_name(signer), dn, sizeof(dn)));
                goto out;
            }
        }
        sgs_appendf(reason, n, "chain to \"%s\"",
                    r.root != NULL ? sgs_dn(X509_get_subject_name(r.root), dn, sizeof(dn)) : "?");
        *verdict = SGS_V_VALID; /* the chain closed and every required usage is present */
        goto out;
    }
    X509 *const at = r.at != NULL ? r.at : signer;
    sgs_dn(X509_get_subject_name(at), dn, sizeof(dn));
    /* expired stays expired as time goes on; a chain that cannot be built does not depend on
       time (OpenSSL builds the chain before it checks any date) */
    win->cacheable =
        fixed_time || r.error == X509_V_ERR_CERT_HAS_EXPIRED || missing_issuer(r.error);
    if (sk_X509_CRL_num(t->crls) > 0 && !fixed_time)
        win->cacheable = 0; /* CRLs have their own times (nextUpdate) */
    switch (r.error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        *verdict = SGS_V_EXPIRED;
        sgs_appendf(reason, n, "certificate \"%s\" expired %s (valid %s to %s)", dn,
                    date_str(X509_get0_notAfter(at), d2, sizeof(d2)),
                    date_str(X509_get0_notBefore(at), d1, sizeof(d1)), d2);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        *verdict = SGS_V_NOT_YET_VALID;
        sgs_appendf(reason, n, "certificate \"%s\" is not valid before %s (valid %s to %s)", dn,
                    date_str(X509_get0_notBefore(at), d1, sizeof(d1)), d1,
                    date_str(X509_get0_notAfter(at), d2, sizeof(d2)));
        break;
    case X509_V_ERR_CERT_REVOKED: {
        *verdict = SGS_V_REVOKED;
        char serial[130] = "";
        const ASN1_INTEGER *const sn = X509_get0_serialNumber(at);
        if (sn != NULL && sn->length > 0 && sn->length <= 64)
            sgs_hex(sn->data, (size_t)sn->length, serial);
        sgs_appendf(reason, n, "certificate \"%s\" (serial %s) is revoked by a CRL of \"", dn,
                    serial);
        char idn[512];
        sgs_appendf(reason, n, "%s\"", sgs_dn(X509_get_issuer_name(at), idn, sizeof(idn)));
        break;
    }
    default:
        if (missing_issuer(r.error)) {
            describe_missing(at, reason, n);
            explain_trusted_namesakes(t, at, reason, n);
            const sgs_certref *const held = find_trusted(t, at);
            if (held != NULL) {
                const char *const defect = ca_defect(at);
                sgs_appendf(reason, n,
                            "; trust store holds \"%s\" (%s) but it is not self-signed, so "
                            "its issuer is needed too%s%s",
                            dn, held->path, defect ? ", and " : "", defect ? defect : "");
            }
            if (t->search.count > 0)
                search_fix(t, signer, chain_certs, at, reason, n);
        } else {
            sgs_appendf(reason, n, "certificate \"%s\": %s", dn,
                        X509_verify_cert_error_string(r.error));
            const int ca_problem = r.error == X509_V_ERR_INVALID_CA ||
                                   r.error == X509_V_ERR_KEYUSAGE_NO_CERTSIGN ||
                                   r.error == X509_V_ERR_PATH_LENGTH_EXCEEDED;
            const char *const defect = ca_problem ? ca_defect(at) : NULL;
            const sgs_certref *const held = ca_problem ? find_trusted(t, at) : NULL;
            if (held != NULL)
                sgs_appendf(reason, n, "; trust store holds \"%s\" (%s) but %s", dn, held->path,
                            defect != NULL ? defect : "it cannot issue certificates");
            else if (defect != NULL)
                sgs_appendf(reason, n, " (%s, yet it issued a certificate of the chain)", defect);
        }
        break;
    }
out:
    run_out_free(&r);
}

void
sgs_trust_check(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra, sgs_verdict *verdict,
                char *reason, size_t n)
{
    sgs_trust_check_chain(t, signer, extra, verdict, reason, n, NULL, 0);
}

static int
compute_facts(X509 *x, sgs_cert_facts *f)
{
    unsigned int len = 0;
    sgs_dn(X509_get_subject_name(x), f->subject, sizeof(f->subject));
    if (sgs_cert_spki_fp(x, f->spki_fp) != SGS_OK)
        f->spki_fp[0] = '\0';
    return X509_digest(x, EVP_sha256(), f->sha256, &len) == 1 && len == 32;
}

void
sgs_check_window_narrow(sgs_check_window *into, const sgs_check_window *w)
{
    if (w->from > into->from)
        into->from = w->from;
    if (w->until < into->until)
        into->until = w->until;
    into->cacheable &= w->cacheable;
}

int
sgs_trust_fingerprint(const sgs_trust *t, EVP_MD_CTX *c)
{
    const sgs_trust_opts *const o = &t->opts;
    const int64_t flags[9] = {o->system,        o->codesign,     o->strict,
                              o->has_at_time,   o->at_time,      o->partial_chain,
                              o->no_time_check, (int64_t)sk_X509_CRL_num(t->crls),
                              o->min_security_bits};
    int ok = EVP_DigestUpdate(c, flags, sizeof(flags)) == 1;
    const sgs_certlist *const lists[3] = {&t->trusted, &t->untrusted, &t->search};
    for (size_t l = 0; l < 3; l++) {
        const uint64_t count = lists[l]->count;
        ok = ok && EVP_DigestUpdate(c, &count, sizeof(count)) == 1;
        for (size_t i = 0; ok && i < lists[l]->count; i++) {
            unsigned char md[EVP_MAX_MD_SIZE];
            unsigned int mlen = 0;
            ok = X509_digest(lists[l]->items[i].cert, EVP_sha256(), md, &mlen) == 1 &&
                 EVP_DigestUpdate(c, md, mlen) == 1;
        }
    }
    for (int i = 0; ok && i < sk_X509_CRL_num(t->crls); i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        ok = X509_CRL_digest(sk_X509_CRL_value(t->crls, i), EVP_sha256(), md, &mlen) == 1 &&
             EVP_DigestUpdate(c, md, mlen) == 1;
    }
    ERR_clear_error();
    return ok;
}

int
sgs_trust_cert_facts(sgs_trust *t, X509 *x, sgs_cert_facts *out)
{
    if (t->cache == NULL)
        return compute_facts(x, out);
    const uintptr_t h = ((uintptr_t)x >> 4) * 0x9e3779b97f4a7c15u;
    facts_slot *const slot = &t->cache->facts[(h >> 20) % FACTS_SLOTS];
    pthread_mutex_lock(&t->cache->mu);
    const int hit = slot->cert == x;
    if (hit)
        *out = slot->facts;
    pthread_mutex_unlock(&t->cache->mu);
    if (hit)
        return 1;
    if (!compute_facts(x, out))
        return 0;
    if (!X509_up_ref(x))
        return 1;
    pthread_mutex_lock(&t->cache->mu);
    X509 *const old = slot->cert;
    slot->cert = x;
    slot->facts = *out;
    pthread_mutex_unlock(&t->cache->mu);
    X509_free(old);
    return 1;
}

static void check_chain(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra,
                        sgs_verdict *verdict, char *reason, size_t n, char *chain,
                        size_t chainlen, sgs_check_window *win);

void
sgs_trust_check_chain(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra, sgs_verdict *verdict,
                      char *reason, size_t n, char *chain, size_t chainlen)
{
    check_chain(t, signer, extra, verdict, reason, n, chain, chainlen, NULL);
}

void
sgs_trust_check_with(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra,
                     const sgs_check_opts *o, sgs_verdict *verdict, char *reason, size_t n,
                     char *chain, size_t chainlen, sgs_check_window *win)
{
    sgs_trust local = *t; /* the same store, cache and material; this call's time and usage */
    if (o->has_at_time && !t->opts.has_at_time) {
        local.opts.has_at_time = 1;
        local.opts.at_time = o->at_time;
    }
    local.opts.codesign |= o->codesign;
    check_chain(&local, signer, extra, verdict, reason, n, chain, chainlen, win);
}

static void
check_chain(sgs_trust *t, X509 *signer, STACK_OF(X509) *extra, sgs_verdict *verdict,
            char *reason, size_t n, char *chain, size_t chainlen, sgs_check_window *win)
{
    sgs_check_window unused;
    if (win == NULL)
        win = &unused;
    char chain_buf[2048] = "";
    /* cache key: SHA-256 over the call's time and usage, the signer and the signature's
       certificates, in order */
    uint8_t key[32];
    int keyed = 0;
    EVP_MD_CTX *const c = EVP_MD_CTX_new();
    if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1) {
        unsigned int klen = 0;
        sgs_cert_facts f;
        const int64_t when[3] = {t->opts.has_at_time, t->opts.has_at_time ? t->opts.at_time : 0,
                                 t->opts.codesign};
        int ok = EVP_DigestUpdate(c, when, sizeof(when)) == 1 &&
                 sgs_trust_cert_facts(t, signer, &f) &&
                 EVP_DigestUpdate(c, f.sha256, sizeof(f.sha256)) == 1;
        for (int i = 0; ok && i < sk_X509_num(extra); i++)
            ok = sgs_trust_cert_facts(t, sk_X509_value(extra, i), &f) &&
                 EVP_DigestUpdate(c, f.sha256, sizeof(f.sha256)) == 1;
        keyed = ok && EVP_DigestFinal_ex(c, key, &klen) == 1;
    }
    EVP_MD_CTX_free(c);
    ERR_clear_error();
    chain_slot *slot = NULL;
    if (keyed && t->cache != NULL) {
        uint64_t h;
        memcpy(&h, key, sizeof(h));
        slot = &t->cache->slots[h % CHAIN_CACHE_SLOTS];
        pthread_mutex_lock(&t->cache->mu);
        /* a result judged now holds only while its chain does: a long run outlives a leaf */
        const int64_t now = (int64_t)time(NULL);
        const int hit = slot->used && memcmp(slot->key, key, sizeof(key)) == 0 &&
                        now >= slot->win.from && now <= slot->win.until;
        if (hit) {
            *verdict = slot->verdict;
            *win = slot->win;
            snprintf(reason, n, "%s", slot->reason);
            if (chain != NULL && chainlen > 0)
                snprintf(chain, chainlen, "%s", slot->chain != NULL ? slot->chain : "");
        }
        pthread_mutex_unlock(&t->cache->mu);
        if (hit)
            return;
    }
    STACK_OF(X509) *const chain_certs =
        t->untrusted_sk != NULL ? sk_X509_dup(t->untrusted_sk) : sk_X509_new_null();
    for (int i = 0; chain_certs != NULL && i < sk_X509_num(extra); i++)
        (void)sk_X509_push(chain_certs, sk_X509_value(extra, i));
    char full[2048]; /* judged whole, so the cache never keeps a reason cut to a small buffer */
    judge(t, signer, chain_certs, verdict, full, sizeof(full), chain_buf, sizeof(chain_buf),
          win);
    sk_X509_free(chain_certs);
    snprintf(reason, n, "%s", full);
    if (chain != NULL && chainlen > 0)
        snprintf(chain, chainlen, "%s", chain_buf);
    if (slot != NULL) {
        char *const copy = sgs_strdup(t->alloc, full);
        char *const chain_copy = sgs_strdup(t->alloc, chain_buf);
        if (copy != NULL && chain_copy != NULL) {
            pthread_mutex_lock(&t->cache->mu);
            char *const old = slot->reason, *const old_chain = slot->chain;
            memcpy(slot->key, key, sizeof(key));
            slot->used = 1;
            slot->verdict = *verdict;
            slot->win = *win;
            slot->reason = copy;
            slot->chain = chain_copy;
            pthread_mutex_unlock(&t->cache->mu);
            sgs_free(t->alloc, old);
            sgs_free(t->alloc, old_chain);
        } else {
            sgs_free(t->alloc, copy);
            sgs_free(t->alloc, chain_copy);
        }
    }
}
