/*
 * judge_cms.c - the detached CMS judge (F.p7s, or CMS in F<suffix>), and the
 * certificate judge of trust diagnose.
 */
#include "judge.h"

/* CMS SignedData: parse first (it names the digests), hash once into them, verify, chain. */

/* A CMS signature (F.p7s, or F<suffix> holding CMS; w->sig_st its stat) over the file: its
   judgement is remembered under both files' identities. */
static sgs_verdict
judge_cms(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    const int fd = in->fd;
    const struct stat *const sb = in->sb;
    const size_t siglen = in->siglen;
    sgs_cms_job cj;
    sgs_verdict v = SGS_V_MALFORMED;
    if (!sgs_cms_prepare(w->sig, siglen, e->certsets, &cj, &v, w->reason, sizeof(w->reason)))
        return v;
    sgs_digest_out d;
    const sgs_digest_result dr =
        sgs_digest_fd_also(&w->dc, fd, e->md, sb, 0, cj.ctxs, cj.nctx, &d);
    if (sgs_job_digest_problem(dr, &d, rec, w) != NULL) {
        sgs_cms_job_reset(&cj);
        return rec->verdict;
    }
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->verifications, 1, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    w->signer_hex[0] = '\0';
    w->alg[0] = '\0';
    sgs_cms_verify(&cj, &e->trust, &v, w->reason, sizeof(w->reason), w->alg, sizeof(w->alg),
                   w->signer_hex);
    memcpy(w->chain, cj.chain_dns, sizeof(w->chain));
    rec->chain = w->chain;
    rec->alg = w->alg; /* set once the signature verified, even if its chain did not */
    rec->signer = w->signer_hex;
    if (w->sig_st_valid && e->cfg.op == SGS_OP_VERIFY)
        sgs_vstore_put_record(e, w, sb, &w->sig_st, &cj.win, v, rec);
    sgs_cms_job_reset(&cj);
    if (v != SGS_V_VALID)
        return v;
    return SGS_V_VALID;
}

/* F.p7s is always CMS; F<suffix> is when its bytes say so (else it is raw). */
static int
cms_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)e;
    return in->sig_file == SGS_SIGFILE_P7S || sgs_cms_detect(w->sig, in->siglen);
}

const sgs_judge sgs_judge_cms = {"cms", SGS_SIGFILE_P7S | SGS_SIGFILE_SUFFIX,
                                 SGS_JUDGE_CACHE_RECORD, cms_detect, judge_cms};

typedef struct cert_collect {
    X509 *leaf;
    STACK_OF(X509) *rest;
} cert_collect;

static sgs_status
collect_cert(void *opaque, X509 *x, X509_CRL *crl, const char *path, char *err, size_t errlen)
{
    cert_collect *const c = opaque;
    (void)path;
    (void)err;
    (void)errlen;
    X509_CRL_free(crl);
    if (x == NULL)
        return SGS_OK;
    if (c->leaf == NULL) {
        c->leaf = x;
        return SGS_OK;
    }
    if (c->rest == NULL && (c->rest = sk_X509_new_null()) == NULL) {
        X509_free(x);
        return SGS_ERR_NOMEM;
    }
    if (!sk_X509_push(c->rest, x)) {
        X509_free(x);
        return SGS_ERR_NOMEM;
    }
    return SGS_OK;
}

/* trust diagnose: a file without a signature that is a certificate (PEM/DER; the first one is
   the leaf, the others help build its chain) is judged as that certificate's chain.
   Returns 0 when the file is not a certificate. */
static int
cert_chain(sgs_engine *e, worker *w, const job *j, sgs_record *rec, sgs_verdict *outcome)
{
    cert_collect c = {NULL, NULL};
    char why[256];
    if (sgs_pki_parse_file(&e->alloc, j->path, collect_cert, &c, why, sizeof(why)) != SGS_OK ||
        c.leaf == NULL) {
        X509_free(c.leaf);
        sk_X509_pop_free(c.rest, X509_free);
        return 0;
    }
    sgs_verdict v = SGS_V_UNTRUSTED;
    sgs_trust_check_chain(&e->trust, c.leaf, c.rest, &v, w->reason, sizeof(w->reason), w->chain,
                          sizeof(w->chain));
    if (sgs_cert_spki_fp(c.leaf, w->signer_hex) == SGS_OK)
        rec->signer = w->signer_hex;
    rec->alg = "x509-certificate";
    rec->chain = w->chain;
    X509_free(c.leaf);
    sk_X509_pop_free(c.rest, X509_free);
    *outcome = v;
    return 1;
}


/* trust diagnose, no signature file, and F has the size of a certificate file. */
static int
cert_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)w;
    return e->cfg.op == SGS_OP_DIAGNOSE && in->sb->st_size > 0 &&
           (uint64_t)in->sb->st_size <= SGS_CERT_FILE_MAX;
}

/* F is judged as the certificate it holds; a file that holds none is an unsigned file. */
static sgs_verdict
judge_cert(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    sgs_verdict v = SGS_V_UNTRUSTED;
    if (!cert_chain(e, w, in->j, rec, &v))
        return sgs_judge_unsigned.judge(e, w, in, rec);
    if (v != SGS_V_VALID)
        return v;
    return SGS_V_VALID;
}

const sgs_judge sgs_judge_cert = {"certificate", SGS_SIGFILE_NONE, SGS_JUDGE_CACHE_NONE,
                                  cert_detect, judge_cert};
