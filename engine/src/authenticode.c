/*
 * authenticode.c - Authenticode signatures of PE images.
 *
 * DESIGN (see ../shared/notes/authenticode.md): each WIN_CERTIFICATE entry of type PKCS#7
 * holds a SignedData whose content is SpcIndirectDataContent (IDC): the image-hash algorithm
 * and value. A signature is VALID when (1) the image hash the engine computed in its one read
 * of the file equals the signed one, (2) the SignerInfo's signature and messageDigest verify
 * over the IDC's value octets (RFC 2315 9.3: without its tag and length; OpenSSL's PKCS7_verify
 * is fed exactly those bytes, as osslsigncode does), and (3) the signer's chain validates with
 * codeSigning, at the time of a verified RFC 3161 timestamp or else now. Nested signatures
 * (1.3.6.1.4.1.311.2.4.1) and further entries are judged the same way, each on its own line;
 * the policy picks the one that decides. Every structure comes from OpenSSL's DER decoders
 * (d2i_PKCS7, d2i_ASN1_SEQUENCE_ANY, d2i_X509_SIG, d2i_CMS_ContentInfo, d2i_TS_TST_INFO); the
 * only bytes read by hand are the PE's, in pe.c.
 */
#include "authenticode.h"

#include "alloc.h"
#include "cms.h"
#include "digest.h"
#include "err.h"
#include "keys.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Microsoft's OIDs (unknown to OpenSSL), as the content octets of their DER encoding: compared
   as bytes, no text formatting per file. */
typedef struct oid {
    const char *dotted;
    unsigned char der[10];
} oid;
static const oid OID_SPC_INDIRECT = {"1.3.6.1.4.1.311.2.1.4",
                                     {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04}};
/* The data types real signers write in SpcIndirectDataContent for a PE image hash. UEFI
   firmware (EDK2's AuthenticodeVerify, so shim) checks only the content type and the digest
   at the end of the content, never this type; Windows writes SPC_PE_IMAGE_DATA. Debian's
   signed fwupd EFI binaries name SPC_INDIVIDUAL_SP_KEY_PURPOSE (2.1.21, the statement-type
   value) instead. The digest is still the PE image hash this file is checked against; any
   other type (CAB 2.1.25, SIP info 2.1.30: hashes of other formats) stays UNSUPPORTED. */
static const struct pe_data_type {
    oid id;
    const char *note; /* said in the reason; NULL for the standard type */
} pe_data_types[] = {
    {{"1.3.6.1.4.1.311.2.1.15", {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0f}},
     NULL},
    {{"1.3.6.1.4.1.311.2.1.21", {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x15}},
     "data type 1.3.6.1.4.1.311.2.1.21 (SPC_INDIVIDUAL_SP_KEY_PURPOSE, as UEFI firmware "
     "accepts it)"},
};
static const oid OID_SPC_NESTED = {"1.3.6.1.4.1.311.2.4.1",
                                   {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01}};
static const oid OID_RFC3161 = {"1.3.6.1.4.1.311.3.3.1",
                                {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01}};

typedef struct parsed {
    PKCS7 *p7; /* owned */
    int entry; /* a WIN_CERTIFICATE entry of its own (not a nested signature) */
    char role[24];
    sgs_verdict pre; /* SGS_V_VALID: nothing found wrong while parsing */
    char pre_reason[256];
    const uint8_t *idc; /* the IDC's value octets, inside p7 */
    size_t idc_len;
    int md_nid;
    unsigned md_index; /* into f->mds */
    uint8_t want[64];  /* the signed image hash */
    size_t want_len;
    const char *data_type_note; /* a PE data type other than SPC_PE_IMAGE_DATA, or NULL */
} parsed;

struct sgs_ac_file {
    const sgs_allocator *alloc;
    sgs_certset_cache *certsets; /* may be NULL */
    parsed sig[SGS_AC_MAX_SIGS];
    size_t nsig, dropped; /* dropped: signatures beyond SGS_AC_MAX_SIGS */
    size_t deeper;        /* nested signatures inside nested ones (not judged) */
    sgs_ac_sig out[SGS_AC_MAX_SIGS];
    size_t decisive;
    const EVP_MD *mds[SGS_PE_MAX_MD];
    int md_nids[SGS_PE_MAX_MD];
    unsigned nmd;
    EVP_MD *fetched[4]; /* by md_nids */
    unsigned anomalies; /* from the WIN_CERTIFICATE walk */
    size_t stuffed;     /* bytes after a PKCS#7 inside its entry, beyond the 8-byte padding */
    sgs_check_window win; /* how long the last judgement holds (every chain check of it) */
    size_t other;       /* entries of other types/revisions */
};

/* A reason of several parts (signer, chain check, timestamp note) may exceed its buffer: then
   its end says so instead of stopping mid-word. The cut backs off to a UTF-8 character start
   (subjects are UTF-8). */
static void reason_setf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reason_setf(char *buf, size_t n, const char *fmt, ...)
{
    static const char mark[] = " ... (shortened)";
    va_list ap;
    va_start(ap, fmt);
    const int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (len >= 0 && (size_t)len < n)
        return;
    if (n < sizeof(mark) + 1) /* too small to say more */
        return;
    size_t at = n - sizeof(mark);
    while (at > 0 && ((unsigned char)buf[at] & 0xC0) == 0x80)
        at--;
    memcpy(buf + at, mark, sizeof(mark));
}

static int
oid_is(const ASN1_OBJECT *o, const oid *want)
{
    return o != NULL && OBJ_length(o) == sizeof(want->der) &&
           memcmp(OBJ_get0_data(o), want->der, sizeof(want->der)) == 0;
}

static const char *
hash_name(int nid)
{
    switch (nid) {
    case NID_sha1:
        return "sha1";
    case NID_sha256:
        return "sha256";
    case NID_sha384:
        return "sha384";
    case NID_sha512:
        return "sha512";
    case NID_md5:
        return "md5";
    default:
        return "unknown";
    }
}

/* The image-hash digests, fetched once per file object: a legacy EVP_MD (EVP_sha256()) costs a
   provider fetch, with its global locks, at every EVP_DigestInit_ex. */
static const int md_nids[4] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512};

static const EVP_MD *
md_of(const sgs_ac_file *f, int nid)
{
    for (size_t i = 0; i < 4; i++)
        if (md_nids[i] == nid)
            return f->fetched[i] != NULL ? f->fetched[i] : EVP_get_digestbynid(nid);
    return NULL;
}

/* The next unauthenticated attribute of type `want` after *lastpos, or NULL. */
static X509_ATTRIBUTE *
unauth_attr(PKCS7_SIGNER_INFO *si, const oid *want, int *lastpos)
{
    for (int i = *lastpos + 1; i < X509at_get_attr_count(si->unauth_attr); i++) {
        X509_ATTRIBUTE *const a = X509at_get_attr(si->unauth_attr, i);
        if (oid_is(X509_ATTRIBUTE_get0_object(a), want)) {
            *lastpos = i;
            return a;
        }
    }
    *lastpos = -1;
    return NULL;
}

/*
 * The bytes a PKCS7_verify() checks, as a BIO chain with a buffer on top: OpenSSL 3.0's
 * PKCS7_verify makes its own copy of a memory BIO given directly and leaks it when
 * PKCS7_dataInit fails (an unknown digest algorithm does it; found by fuzzing). Free with
 * BIO_free_all(). NULL on allocation failure.
 */
static BIO *
content_bio(const void *p, size_t n)
{
    if (n > 0x7fffffff)
        return NULL;
    BIO *const mem = BIO_new_mem_buf(p, (int)n);
    BIO *const buf = BIO_new(BIO_f_buffer());
    if (mem == NULL || buf == NULL) {
        BIO_free(mem);
        BIO_free(buf);
        return NULL;
    }
    return BIO_push(buf, mem);
}

static PKCS7_SIGNER_INFO *
only_signer_info(PKCS7 *p7)
{
    STACK_OF(PKCS7_SIGNER_INFO) *const sis = PKCS7_get_signer_info(p7);
    return sk_PKCS7_SIGNER_INFO_num(sis) == 1 ? sk_PKCS7_SIGNER_INFO_value(sis, 0) : NULL;
}

static void
set_pre(parsed *s, sgs_verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
set_pre(parsed *s, sgs_verdict v, const char *fmt, ...)
{
    s->pre = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->pre_reason, sizeof(s->pre_reason), fmt, ap);
    va_end(ap);
}

/* SpcIndirectDataContent: { { type SPC_PE_IMAGE_DATA, value }, DigestInfo }. */
static void
parse_idc(const sgs_ac_file *f, parsed *s, const unsigned char *der, long len)
{
    const unsigned char *p = der;
    STACK_OF(ASN1_TYPE) *const seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
    STACK_OF(ASN1_TYPE) *data = NULL;
    X509_SIG *di = NULL;
    if (seq == NULL || p != der + len || sk_ASN1_TYPE_num(seq) != 2 ||
        sk_ASN1_TYPE_value(seq, 0)->type != V_ASN1_SEQUENCE ||
        sk_ASN1_TYPE_value(seq, 1)->type != V_ASN1_SEQUENCE) {
        set_pre(s, SGS_V_MALFORMED, "SpcIndirectDataContent is not two SEQUENCEs");
        goto out;
    }
    const ASN1_STRING *const d0 = sk_ASN1_TYPE_value(seq, 0)->value.sequence;
    const unsigned char *q = d0->data;
    data = d2i_ASN1_SEQUENCE_ANY(NULL, &q, d0->length);
    if (data == NULL || sk_ASN1_TYPE_num(data) < 1 ||
        sk_ASN1_TYPE_value(data, 0)->type != V_ASN1_OBJECT) {
        set_pre(s, SGS_V_MALFORMED, "SpcIndirectDataContent has no data type");
        goto out;
    }
    size_t type = 0;
    while (type < sizeof(pe_data_types) / sizeof(pe_data_types[0]) &&
           !oid_is(sk_ASN1_TYPE_value(data, 0)->value.object, &pe_data_types[type].id))
        type++;
    if (type == sizeof(pe_data_types) / sizeof(pe_data_types[0])) {
        char t[80] = "?";
        OBJ_obj2txt(t, sizeof(t), sk_ASN1_TYPE_value(data, 0)->value.object, 1);
        set_pre(s, SGS_V_UNSUPPORTED, "the signed data is of type %s, not a PE image (%s or %s)",
                t, pe_data_types[0].id.dotted, pe_data_types[1].id.dotted);
        goto out;
    }
    s->data_type_note = pe_data_types[type].note;
    const ASN1_STRING *const d1 = sk_ASN1_TYPE_value(seq, 1)->value.sequence;
    q = d1->data;
    di = d2i_X509_SIG(NULL, &q, d1->length);
    const X509_ALGOR *alg = NULL;
    const ASN1_OCTET_STRING *dig = NULL;
    if (di != NULL)
        X509_SIG_get0(di, &alg, &dig);
    if (di == NULL || q != d1->data + d1->length || alg == NULL || dig == NULL) {
        set_pre(s, SGS_V_MALFORMED, "the image hash (DigestInfo) does not parse");
        goto out;
    }
    s->md_nid = OBJ_obj2nid(alg->algorithm);
    const EVP_MD *const md = md_of(f, s->md_nid);
    if (md == NULL) {
        char t[80] = "?";
        OBJ_obj2txt(t, sizeof(t), alg->algorithm, 0);
        set_pre(s, SGS_V_UNSUPPORTED, "image hash algorithm %s is %s", t,
                s->md_nid == NID_md5 ? "refused (MD5 is broken)" : "not supported");
        goto out;
    }
    if (dig->length != EVP_MD_get_size(md)) {
        set_pre(s, SGS_V_MALFORMED, "the signed %s image hash is %d bytes long",
                hash_name(s->md_nid), dig->length);
        goto out;
    }
    memcpy(s->want, dig->data, (size_t)dig->length);
    s->want_len = (size_t)dig->length;
out:
    X509_SIG_free(di);
    sk_ASN1_TYPE_pop_free(data, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
}

static void add_sig(sgs_ac_file *f, const uint8_t *der, size_t len, const char *role,
                    int nest_ok);

/* The nested signatures of s (unauthenticated attribute 1.3.6.1.4.1.311.2.4.1, any values). */
static void
add_nested(sgs_ac_file *f, PKCS7_SIGNER_INFO *si, const char *role)
{
    int pos = -1, k = 0;
    X509_ATTRIBUTE *a;
    while ((a = unauth_attr(si, &OID_SPC_NESTED, &pos)) != NULL) {
        for (int i = 0; i < X509_ATTRIBUTE_count(a); i++) {
            const ASN1_TYPE *const t = X509_ATTRIBUTE_get0_type(a, i);
            char r[24];
            k++;
            snprintf(r, sizeof(r), "%s%snested %d", strcmp(role, "primary") ? role : "",
                     strcmp(role, "primary") ? " " : "", k);
            if (t != NULL && t->type == V_ASN1_SEQUENCE)
                add_sig(f, t->value.sequence->data, (size_t)t->value.sequence->length, r, 0);
            else
                add_sig(f, NULL, 0, r, 0);
        }
    }
}

static void
add_sig(sgs_ac_file *f, const uint8_t *der, size_t len, const char *role, int nest_ok)
{
    if (f->nsig == SGS_AC_MAX_SIGS) {
        f->dropped++;
        return;
    }
    parsed *const s = &f->sig[f->nsig++];
    memset(s, 0, sizeof(*s));
    snprintf(s->role, sizeof(s->role), "%s", role);
    s->pre = SGS_V_VALID;
    if (der == NULL || len == 0 || len > 0x7fffffff) {
        set_pre(s, SGS_V_MALFORMED, "not a PKCS#7 structure");
        return;
    }
    /* Every file of one signer embeds the same certificates, and OpenSSL 3.0 spends most of a
       parse on them: take them from the run's certificate-set cache (see cms.h). */
    STACK_OF(X509) *certs = NULL;
    size_t slen = 0;
    unsigned char *const split =
        f->certsets != NULL ? sgs_certset_split(f->certsets, der, len, &slen, &certs) : NULL;
    const unsigned char *p = split != NULL ? split : der;
    s->p7 = d2i_PKCS7(NULL, &p, (long)(split != NULL ? slen : len));
    OPENSSL_free(split);
    if (s->p7 != NULL && certs != NULL && PKCS7_type_is_signed(s->p7) &&
        s->p7->d.sign != NULL && s->p7->d.sign->cert == NULL) {
        s->p7->d.sign->cert = certs; /* owned by p7 now */
        certs = NULL;
    }
    sk_X509_pop_free(certs, X509_free);
    if (s->p7 == NULL) {
        set_pre(s, SGS_V_MALFORMED, "not a PKCS#7 structure");
        ERR_clear_error();
        return;
    }
    if (!PKCS7_type_is_signed(s->p7) || s->p7->d.sign == NULL) {
        set_pre(s, SGS_V_MALFORMED, "the PKCS#7 structure is not SignedData");
        return;
    }
    PKCS7 *const c = s->p7->d.sign->contents;
    if (c == NULL || !oid_is(c->type, &OID_SPC_INDIRECT)) {
        set_pre(s, SGS_V_MALFORMED, "the SignedData content is not SpcIndirectDataContent");
        return;
    }
    const ASN1_TYPE *const other = c->d.other;
    if (other == NULL || other->type != V_ASN1_SEQUENCE || other->value.sequence == NULL) {
        set_pre(s, SGS_V_MALFORMED, "SpcIndirectDataContent is not a SEQUENCE");
        return;
    }
    /* The SEQUENCE's value octets: what the messageDigest covers (RFC 2315 9.3). */
    const unsigned char *const whole = other->value.sequence->data;
    const long wlen = other->value.sequence->length;
    const unsigned char *v = whole;
    long vlen = 0;
    int tag = 0, xclass = 0;
    const int r = ASN1_get_object(&v, &vlen, &tag, &xclass, wlen);
    if ((r & 0x80) != 0 || r == 0x21 || tag != V_ASN1_SEQUENCE || v + vlen != whole + wlen) {
        ERR_clear_error();
        set_pre(s, SGS_V_MALFORMED, "SpcIndirectDataContent has a bad DER header");
        return;
    }
    s->idc = v;
    s->idc_len = (size_t)vlen;
    parse_idc(f, s, whole, wlen);
    PKCS7_SIGNER_INFO *const si = only_signer_info(s->p7);
    if (si == NULL && s->pre == SGS_V_VALID)
        set_pre(s, SGS_V_MALFORMED, "%d SignerInfos (Authenticode has exactly one)",
                sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(s->p7)));
    if (si != NULL && nest_ok) {
        add_nested(f, si, role);
    } else if (si != NULL) {
        int pos = -1;
        while (unauth_attr(si, &OID_SPC_NESTED, &pos) != NULL)
            f->deeper++;
    }
    ERR_clear_error();
}

static void
reset(sgs_ac_file *f)
{
    for (size_t i = 0; i < f->nsig; i++)
        PKCS7_free(f->sig[i].p7);
    f->nsig = f->dropped = f->deeper = f->decisive = f->stuffed = f->other = 0;
    f->nmd = 0;
    f->anomalies = 0;
}

sgs_ac_file *
sgs_ac_file_new(const sgs_allocator *a, sgs_certset_cache *certsets)
{
    sgs_ac_file *const f = sgs_calloc(a, 1, sizeof(*f));
    if (f != NULL) {
        static const char *const names[4] = {"SHA1", "SHA2-256", "SHA2-384", "SHA2-512"};
        f->alloc = a;
        f->certsets = certsets;
        for (size_t i = 0; i < 4; i++)
            f->fetched[i] = EVP_MD_fetch(NULL, names[i], NULL);
        ERR_clear_error();
    }
    return f;
}

void
sgs_ac_file_free(sgs_ac_file *f)
{
    if (f == NULL)
        return;
    reset(f);
    for (size_t i = 0; i < 4; i++)
        EVP_MD_free(f->fetched[i]);
    sgs_free(f->alloc, f);
}

int
sgs_ac_prepare(sgs_ac_file *f, const uint8_t *table, size_t len, const EVP_MD **mds,
               unsigned *nmd, sgs_verdict *verdict, char *reason, size_t n)
{
    reset(f);
    *nmd = 0;
    sgs_pe_cert ents[SGS_AC_MAX_ENTRIES];
    size_t ne = 0;
    char why[160] = "";
    if (!sgs_pe_certs(table, len, ents, SGS_AC_MAX_ENTRIES, &ne, &f->anomalies, why,
                      sizeof(why))) {
        *verdict = SGS_V_MALFORMED;
        snprintf(reason, n, "certificate table: %s", why);
        return 0;
    }
    size_t pkcs7 = 0;
    for (size_t i = 0; i < ne && i < SGS_AC_MAX_ENTRIES; i++) {
        const sgs_pe_cert *const c = &ents[i];
        if (c->revision != 0x0200 || c->type != 0x0002) {
            f->other++;
            continue;
        }
        char role[24];
        snprintf(role, sizeof(role), pkcs7 == 0 ? "primary" : "entry %zu", pkcs7 + 1);
        pkcs7++;
        size_t span = 0;
        const size_t at = f->nsig;
        if (!sgs_pe_der_span(c->data, c->data_len, &span, why, sizeof(why))) {
            add_sig(f, NULL, 0, role, 0);
            if (f->nsig > at)
                set_pre(&f->sig[at], SGS_V_MALFORMED, "PKCS#7: %s", why);
        } else {
            if (sgs_pe_cert_stuffed(c, span)) /* not just alignment: put there after signing */
                f->stuffed += c->data_len - span;
            add_sig(f, c->data, span, role, 1);
        }
        if (f->nsig > at)
            f->sig[at].entry = 1;
    }
    if (f->nsig == 0) {
        *verdict = f->other > 0 ? SGS_V_UNSUPPORTED : SGS_V_NO_SIGNATURE;
        snprintf(reason, n, f->other > 0 ? "the certificate table holds no Authenticode "
                                           "(revision 2.0 PKCS#7 SignedData) entry"
                                         : "the certificate table is empty");
        return 0;
    }
    for (size_t i = 0; i < f->nsig; i++) {
        parsed *const s = &f->sig[i];
        if (s->pre != SGS_V_VALID)
            continue;
        unsigned k = 0;
        while (k < f->nmd && f->md_nids[k] != s->md_nid)
            k++;
        if (k == f->nmd) {
            f->md_nids[k] = s->md_nid;
            f->mds[k] = md_of(f, s->md_nid);
            f->nmd++;
        }
        s->md_index = k;
    }
    for (unsigned k = 0; k < f->nmd; k++)
        mds[k] = f->mds[k];
    *nmd = f->nmd;
    return 1;
}

static int64_t
time_of(const ASN1_TIME *t, int *ok)
{
    struct tm tm;
    *ok = t != NULL && ASN1_TIME_to_tm(t, &tm) == 1;
    return *ok ? (int64_t)timegm(&tm) : 0;
}

static void
iso_time(int64_t t, char *buf, size_t n)
{
    const time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "?");
}

/*
 * A timestamp whose own signature verified: may it date the signature? Its signer must chain
 * to --tsa-trust at the timestamp's time and carry the timeStamping usage. Returns 1 with
 * *when and the record's time; otherwise 0 with a note saying why not.
 */
static int
tsa_dates(sgs_check_window *fw, sgs_trust *tsa, X509 *ts_signer, STACK_OF(X509) *certs,
          int64_t gen, sgs_ac_sig *o, int64_t *when, char *note, size_t nn)
{
    char when_s[32];
    iso_time(gen, when_s, sizeof(when_s));
    sgs_dn(X509_get_subject_name(ts_signer), o->tsa, sizeof(o->tsa));
    if (tsa == NULL || !sgs_trust_configured(tsa)) {
        sgs_appendf(note, nn,
                    "; timestamp %s by \"%s\" not used: no timestamp authority is trusted "
                    "(--tsa-trust)",
                    when_s, o->tsa);
        return 0;
    }
    const sgs_check_opts co = {1, gen, 0};
    sgs_verdict tv = SGS_V_UNTRUSTED;
    char why[512] = "";
    sgs_check_window w;
    sgs_trust_check_with(tsa, ts_signer, certs, &co, &tv, why, sizeof(why), NULL, 0, &w);
    sgs_check_window_narrow(fw, &w);
    if (tv == SGS_V_VALID && (X509_get_extension_flags(ts_signer) & EXFLAG_XKUSAGE) != 0 &&
        (X509_get_extended_key_usage(ts_signer) & XKU_TIMESTAMP) != 0) {
        *when = gen;
        snprintf(o->signing_time, sizeof(o->signing_time), "%s", when_s);
        return 1;
    }
    if (tv == SGS_V_VALID)
        sgs_appendf(note, nn,
                    "; timestamp by \"%s\" not used: its certificate lacks the timeStamping "
                    "extended key usage",
                    o->tsa);
    else
        sgs_appendf(note, nn, "; timestamp %s not used: %s", when_s, why);
    return 0;
}

/*
 * The legacy Authenticode timestamp: a PKCS#9 countersignature (a SignerInfo in si's
 * unsigned attributes) whose messageDigest is the hash of si's signature value, signed by a
 * certificate of the outer SignedData's bag. OpenSSL checks it inside a SignedData made for
 * the purpose (detached content: si's signature value), as osslsigncode does; the signing
 * time is its signed signingTime attribute.
 */
static int
countersignature(sgs_check_window *fw, const ASN1_TYPE *t, PKCS7 *outer, PKCS7_SIGNER_INFO *si,
                 sgs_trust *tsa, sgs_ac_sig *o, int64_t *when, char *note, size_t nn)
{
    int used = 0;
    PKCS7 *p7 = NULL;
    BIO *content = NULL;
    const unsigned char *p = t->type == V_ASN1_SEQUENCE ? t->value.sequence->data : NULL;
    PKCS7_SIGNER_INFO *csi =
        p != NULL ? d2i_PKCS7_SIGNER_INFO(NULL, &p, t->value.sequence->length) : NULL;
    X509 *const cert = csi != NULL && csi->issuer_and_serial != NULL
                           ? X509_find_by_issuer_and_serial(outer->d.sign->cert,
                                                            csi->issuer_and_serial->issuer,
                                                            csi->issuer_and_serial->serial)
                           : NULL;
    const ASN1_TYPE *const st =
        csi != NULL ? PKCS7_get_signed_attribute(csi, NID_pkcs9_signingTime) : NULL;
    int ok = 0;
    const int64_t gen = st != NULL && (st->type == V_ASN1_UTCTIME ||
                                       st->type == V_ASN1_GENERALIZEDTIME)
                            ? time_of((const ASN1_TIME *)st->value.asn1_string, &ok)
                            : 0;
    if (csi == NULL || cert == NULL || !ok || si->enc_digest == NULL) {
        sgs_appendf(note, nn, "; the legacy countersignature timestamp %s",
                    csi == NULL    ? "does not parse"
                    : cert == NULL ? "names a certificate the signature does not carry"
                                   : "has no signing time");
        goto out;
    }
    p7 = PKCS7_new();
    content = content_bio(si->enc_digest->data, (size_t)si->enc_digest->length);
    if (p7 == NULL || content == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
        PKCS7_content_new(p7, NID_pkcs7_data) != 1 || PKCS7_add_signer(p7, csi) != 1) {
        sgs_appendf(note, nn, "; the legacy countersignature timestamp could not be checked");
        goto out;
    }
    csi = NULL; /* p7 owns it */
    PKCS7_set_detached(p7, 1);
    if (PKCS7_add_certificate(p7, cert) != 1 ||
        PKCS7_verify(p7, NULL, NULL, content, NULL, PKCS7_BINARY | PKCS7_NOVERIFY) != 1) {
        sgs_appendf(note, nn, "; the legacy countersignature timestamp does not verify");
        goto out;
    }
    used = tsa_dates(fw, tsa, cert, outer->d.sign->cert, gen, o, when, note, nn);
out:
    PKCS7_SIGNER_INFO_free(csi);
    PKCS7_free(p7);
    BIO_free_all(content);
    ERR_clear_error();
    return used;
}

/*
 * The timestamp of si, if any: RFC 3161 (verified: TSA signature, imprint = hash of si's
 * signature value), else a legacy countersignature; then tsa_dates(). Returns 1 with *when
 * when it may date the signature; otherwise 0 with a note saying why not (none when absent).
 */
static int
timestamp(sgs_ac_file *f, PKCS7 *outer, PKCS7_SIGNER_INFO *si, sgs_trust *tsa,
          sgs_ac_sig *o, int64_t *when, char *note, size_t nn)
{
    int pos = -1;
    X509_ATTRIBUTE *const a = unauth_attr(si, &OID_RFC3161, &pos);
    if (a == NULL) {
        const ASN1_TYPE *const cs = PKCS7_get_attribute(si, NID_pkcs9_countersignature);
        return cs != NULL && countersignature(&f->win, cs, outer, si, tsa, o, when, note, nn);
    }
    const ASN1_TYPE *const t = X509_ATTRIBUTE_get0_type(a, 0);
    if (t == NULL || t->type != V_ASN1_SEQUENCE) {
        sgs_appendf(note, nn, "; the timestamp attribute holds no token");
        return 0;
    }
    int used = 0;
    const unsigned char *p = t->value.sequence->data;
    CMS_ContentInfo *const cms = d2i_CMS_ContentInfo(NULL, &p, t->value.sequence->length);
    BIO *const out = BIO_new(BIO_s_mem());
    TS_TST_INFO *tst = NULL;
    STACK_OF(X509) *certs = NULL;
    if (cms == NULL || out == NULL ||
        OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo) {
        sgs_appendf(note, nn, "; the timestamp is not an RFC 3161 token");
        goto done;
    }
    if (CMS_verify(cms, NULL, NULL, NULL, out, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
        sgs_appendf(note, nn, "; the timestamp's signature does not verify");
        goto done;
    }
    BUF_MEM *bm = NULL;
    BIO_get_mem_ptr(out, &bm);
    const unsigned char *tp = bm != NULL ? (const unsigned char *)bm->data : NULL;
    tst = tp != NULL ? d2i_TS_TST_INFO(NULL, &tp, (long)bm->length) : NULL;
    if (tst == NULL) {
        sgs_appendf(note, nn, "; the timestamp's TSTInfo does not parse");
        goto done;
    }
    TS_MSG_IMPRINT *const mi = TS_TST_INFO_get_msg_imprint(tst);
    const X509_ALGOR *const ialg = mi != NULL ? TS_MSG_IMPRINT_get_algo(mi) : NULL;
    const ASN1_OCTET_STRING *const imsg = mi != NULL ? TS_MSG_IMPRINT_get_msg(mi) : NULL;
    const EVP_MD *const imd = ialg != NULL ? md_of(f, OBJ_obj2nid(ialg->algorithm)) : NULL;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    if (imd == NULL || imsg == NULL || si->enc_digest == NULL ||
        EVP_Digest(si->enc_digest->data, (size_t)si->enc_digest->length, h, &hl, imd, NULL) != 1 ||
        (int)hl != imsg->length || CRYPTO_memcmp(h, imsg->data, hl) != 0) {
        sgs_appendf(note, nn, "; the timestamp is not over this signature");
        goto done;
    }
    int ok = 0;
    const int64_t gen = time_of(TS_TST_INFO_get_time(tst), &ok);
    STACK_OF(X509) *const signers = CMS_get0_signers(cms);
    X509 *const ts_signer = sk_X509_value(signers, 0);
    sk_X509_free(signers);
    if (!ok || ts_signer == NULL) {
        sgs_appendf(note, nn, "; the timestamp has no time or no signer certificate");
        goto done;
    }
    certs = CMS_get1_certs(cms);
    used = tsa_dates(&f->win, tsa, ts_signer, certs, gen, o, when, note, nn);
done:
    sk_X509_pop_free(certs, X509_free);
    TS_TST_INFO_free(tst);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return used;
}

static void
judge_one(sgs_ac_file *f, parsed *s, sgs_ac_sig *o, const sgs_pe_info *info, uint8_t flat[][64],
          uint8_t spec[][64], const unsigned *mdlen, const sgs_ac_policy *policy,
          sgs_trust *trust, sgs_trust *tsa)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->role, sizeof(o->role), "%s", s->role);
    if (s->pre != SGS_V_VALID) {
        o->verdict = s->pre;
        snprintf(o->reason, sizeof(o->reason), "%s", s->pre_reason);
        return;
    }
    snprintf(o->hash_alg, sizeof(o->hash_alg), "%s", hash_name(s->md_nid));
    const unsigned i = s->md_index;
    char note[640] = "";
    if (mdlen[i] == s->want_len && CRYPTO_memcmp(flat[i], s->want, s->want_len) == 0) {
        snprintf(o->layout, sizeof(o->layout), "file-order");
    } else if (policy->uefi && spec != NULL && mdlen[i] == s->want_len &&
               CRYPTO_memcmp(spec[i], s->want, s->want_len) == 0) {
        snprintf(o->layout, sizeof(o->layout), "section-sorted");
        sgs_pe_range gaps[4];
        const size_t ng = sgs_pe_spec_gaps(info, gaps, 4);
        if (ng > 0) {
            sgs_appendf(note, sizeof(note), "; the signature does not cover");
            for (size_t g = 0; g < ng && g < 4; g++)
                sgs_appendf(note, sizeof(note), "%s bytes %llu-%llu", g ? "," : "",
                            (unsigned long long)gaps[g].off,
                            (unsigned long long)(gaps[g].off + gaps[g].len - 1));
            if (ng > 4)
                sgs_appendf(note, sizeof(note), " and %zu more ranges", ng - 4);
        }
    } else {
        o->verdict = SGS_V_BAD_SIGNATURE;
        snprintf(o->reason, sizeof(o->reason),
                 "the %s image hash does not match the signed one: the file changed after "
                 "signing, or the signature is another file's",
                 o->hash_alg);
        return;
    }
    PKCS7_SIGNER_INFO *const si = only_signer_info(s->p7);
    STACK_OF(X509) *const signers = PKCS7_get0_signers(s->p7, NULL, 0);
    X509 *const signer = sk_X509_value(signers, 0);
    sk_X509_free(signers);
    ERR_clear_error();
    if (signer == NULL) {
        o->verdict = SGS_V_UNTRUSTED;
        snprintf(o->reason, sizeof(o->reason), "the signer's certificate is not in the signature");
        return;
    }
    sgs_cert_facts facts;
    if (sgs_trust_cert_facts(trust, signer, &facts)) {
        memcpy(o->signer, facts.subject, sizeof(o->signer));
        memcpy(o->signer_fp, facts.spki_fp, sizeof(o->signer_fp));
    }
    const ASN1_TYPE *const ct = PKCS7_get_signed_attribute(si, NID_pkcs9_contentType);
    if (sk_X509_ATTRIBUTE_num(si->auth_attr) == 0 || ct == NULL || ct->type != V_ASN1_OBJECT ||
        !oid_is(ct->value.object, &OID_SPC_INDIRECT)) {
        o->verdict = SGS_V_MALFORMED;
        snprintf(o->reason, sizeof(o->reason), "the SignerInfo lacks the signed contentType "
                                                "SpcIndirectDataContent");
        return;
    }
    const int sdig = OBJ_obj2nid(si->digest_alg != NULL ? si->digest_alg->algorithm : NULL);
    if (sdig == NID_md5 || sdig == NID_md4 || sdig == NID_md2 || sdig == NID_undef) {
        o->verdict = SGS_V_UNSUPPORTED;
        snprintf(o->reason, sizeof(o->reason), "the signer's digest algorithm %s is refused",
                 sdig == NID_undef ? "(unknown)" : OBJ_nid2sn(sdig));
        return;
    }
    BIO *const content = content_bio(s->idc, s->idc_len);
    const int sig_ok = content != NULL && PKCS7_verify(s->p7, NULL, NULL, content, NULL,
                                                      PKCS7_BINARY | PKCS7_NOVERIFY) == 1;
    BIO_free_all(content);
    if (!sig_ok) {
        char e[200] = "";
        ERR_error_string_n(ERR_peek_last_error(), e, sizeof(e));
        ERR_clear_error();
        o->verdict = SGS_V_BAD_SIGNATURE;
        snprintf(o->reason, sizeof(o->reason), "the signature by \"%s\" does not verify (%s)",
                 o->signer, e[0] ? e : "libcrypto");
        return;
    }
    int64_t when = 0;
    const int dated = timestamp(f, s->p7, si, tsa, o, &when, note, sizeof(note));
    const sgs_check_opts co = {dated, when, 1};
    char why[512] = "";
    sgs_verdict v = SGS_V_UNTRUSTED;
    sgs_check_window w;
    sgs_trust_check_with(trust, signer, s->p7->d.sign->cert, &co, &v, why, sizeof(why), NULL, 0,
                         &w);
    sgs_check_window_narrow(&f->win, &w);
    o->verdict = v;
    const int legacy = v == SGS_V_VALID && s->md_nid == NID_sha1;
    reason_setf(o->reason, sizeof(o->reason), "%s image hash (%s) signed by \"%s\"%s%s: %s%s%s%s%s",
                o->hash_alg, o->layout, o->signer, dated ? ", timestamped " : "",
                dated ? o->signing_time : "", why, note,
                legacy ? "; SHA-1 image hash (legacy)" : "",
                s->data_type_note != NULL ? "; " : "",
                s->data_type_note != NULL ? s->data_type_note : "");
}

/* Layout problems: not VALID unless --lenient. Bytes in the certificate table that no
   signature covers count: other entry types, entries that are not even a signature. */
static void
layout_problems(const sgs_ac_file *f, const sgs_pe_info *info, const sgs_ac_policy *policy,
                char *buf, size_t n)
{
    static const unsigned bits[] = {SGS_PE_A_TRAILING, SGS_PE_A_UNALIGNED,
                                    SGS_PE_A_OVERLAP_HEADERS, SGS_PE_A_OVERLAP_SECTION,
                                    SGS_PE_A_FEW_RVAS, SGS_PE_A_CERT_SUM,
                                    SGS_PE_A_CERT_PADDING, SGS_PE_A_CERT_MANY};
    const unsigned all = info->anomalies | f->anomalies;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if ((all & bits[i]) == 0)
            continue;
        if (bits[i] == SGS_PE_A_TRAILING)
            sgs_appendf(buf, n, "%s%llu bytes of data after the signature (not covered by it)",
                        buf[0] ? "; " : "", (unsigned long long)info->trailing);
        else
            sgs_appendf(buf, n, "%s%s", buf[0] ? "; " : "", sgs_pe_anomaly_text(bits[i]));
    }
    if (f->stuffed > 0)
        sgs_appendf(buf, n, "%s%zu bytes after the signature inside the certificate table",
                    buf[0] ? "; " : "", f->stuffed);
    if (f->dropped > 0)
        sgs_appendf(buf, n, "%smore than %d signatures (%zu not judged)", buf[0] ? "; " : "",
                    SGS_AC_MAX_SIGS, f->dropped);
    if (f->other > 0)
        sgs_appendf(buf, n, "%s%zu certificate-table entr%s of another type or revision (not "
                    "an Authenticode signature, covered by none)", buf[0] ? "; " : "", f->other,
                    f->other == 1 ? "y" : "ies");
    size_t junk = 0;
    for (size_t i = 0; i < f->nsig; i++)
        junk += f->sig[i].entry && f->sig[i].pre == SGS_V_MALFORMED;
    if (junk > 0)
        sgs_appendf(buf, n, "%s%zu certificate-table entr%s that %s no signature (covered by "
                    "none)", buf[0] ? "; " : "", junk, junk == 1 ? "y" : "ies",
                    junk == 1 ? "is" : "are");
    if (policy->require_all && f->deeper > 0)
        sgs_appendf(buf, n, "%s%zu nested signature%s inside nested ones (not judged)",
                    buf[0] ? "; " : "", f->deeper, f->deeper == 1 ? "" : "s");
}

void
sgs_ac_judge(sgs_ac_file *f, const sgs_pe_info *info, uint8_t flat[][64], uint8_t spec[][64],
             const unsigned *mdlen, const sgs_ac_policy *policy, sgs_trust *trust,
             sgs_trust *tsa, sgs_verdict *verdict, char *reason, size_t n)
{
    f->win.from = INT64_MIN;
    f->win.until = INT64_MAX;
    f->win.cacheable = 1;
    for (size_t i = 0; i < f->nsig; i++)
        judge_one(f, &f->sig[i], &f->out[i], info, flat, spec, mdlen, policy, trust, tsa);
    size_t d = 0;
    if (policy->uefi) { /* firmware: any signature that verifies */
        for (size_t i = 0; i < f->nsig; i++) {
            if (f->out[i].verdict == SGS_V_VALID) {
                d = i;
                break;
            }
        }
    } else if (policy->require_all) {
        for (size_t i = 0; i < f->nsig; i++) {
            if (f->out[i].verdict != SGS_V_VALID) {
                d = i;
                break;
            }
        }
    }
    f->decisive = d;
    const sgs_ac_sig *const o = &f->out[d];
    snprintf(reason, n, "%s: %s", o->role, o->reason);
    if (f->nsig > 1) {
        sgs_appendf(reason, n, " [%zu signatures:", f->nsig);
        for (size_t i = 0; i < f->nsig; i++)
            sgs_appendf(reason, n, "%s %s %s", i ? "," : "", f->out[i].role,
                        sgs_verdict_name(f->out[i].verdict));
        sgs_appendf(reason, n, "%s]",
                    policy->uefi          ? "; any may decide (--uefi)"
                    : policy->require_all ? "; all must be valid (--require-all)"
                                          : "; the primary decides");
    }
    char problems[512];
    layout_problems(f, info, policy, problems, sizeof(problems));
    if (problems[0] != '\0' && !policy->lenient && o->verdict == SGS_V_VALID) {
        *verdict = SGS_V_MALFORMED;
        sgs_appendf(reason, n, "; but %s (--lenient accepts this)", problems);
        return;
    }
    if (problems[0] != '\0')
        sgs_appendf(reason, n, "; warning: %s", problems);
    *verdict = o->verdict;
}

const sgs_check_window *
sgs_ac_window(const sgs_ac_file *f)
{
    return &f->win;
}

const sgs_ac_sig *
sgs_ac_sigs(const sgs_ac_file *f, size_t *count, size_t *decisive)
{
    *count = f->nsig;
    *decisive = f->decisive;
    return f->out;
}
