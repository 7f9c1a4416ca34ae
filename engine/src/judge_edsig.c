/*
 * judge_edsig.c - the minisign judge (F.minisig) and the signify judge (F<suffix> holding a
 * signify signature), both Ed25519 through OpenSSL, their files parsed by edsig.c.
 *
 * DESIGN: minisign, as `minisign -V` checks it:
 *   parse F.minisig (MALFORMED) -> a key given? (UNTRUSTED) -> the key with the signature's
 *   key id (KEY_MISMATCH, naming the id wanted) -> "ED": BLAKE2b-512 of F, streamed; "Ed":
 *   F's bytes, whole (at most cfg.max_whole_file, else UNSUPPORTED) -> the signature
 *   (BAD_SIGNATURE) -> the global signature over signature || trusted comment (BAD_SIGNATURE:
 *   the trusted comment changed) -> VALID.
 * signify, as `signify -V` checks it: parse, key number, F's bytes whole, the signature.
 * The untrusted comment is never looked at. A signify-looking F<suffix> is this judge's even
 * without --signify-key, so the reason can say what is missing (no raw or CMS signature begins
 * with "untrusted comment: "). Not cached (SGS_JUDGE_CACHE_NONE): the persistent cache's
 * answer context names the raw key set only; Ed25519 over a file is cheap next to reading it.
 */
#include "judge.h"

/* The trusted comment for a reason: printable ASCII, at most 96 bytes. */
static void
printable(const uint8_t *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap && i < 96; i++)
        out[o++] = (char)(s[i] == '\t' ? ' ' : s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
    if (n > 96 && o + 4 < cap)
        o += (size_t)snprintf(out + o, cap - o, "...");
    out[o] = '\0';
}

/* The key ids given, for a reason: "A, B" (at most four named). */
static void
key_ids(const sgs_edkeys *ks, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ks->count && i < 4 && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "", ks->keys[i].id_hex);
    if (ks->count > 4 && o < cap)
        (void)snprintf(out + o, cap - o, ", ...");
}

/* F's bytes (whole: keep_max > 0) or its digest by md; the message Ed25519 signed. NULL with
   the verdict set when F could not be read. */
static const uint8_t *
signed_message(sgs_engine *e, worker *w, const sgs_judge_input *in, const EVP_MD *md,
               int whole, sgs_record *rec, sgs_digest_out *d, size_t *len, sgs_verdict *v)
{
    const sgs_digest_result dr = sgs_digest_fd(&w->dc, in->fd, md, in->sb,
                                               whole ? e->cfg.max_whole_file : 0, d);
    if (dr == SGS_DIGEST_TOO_LARGE) {
        sgs_say(w, "Ed25519 signs the whole file, and files over %llu bytes are not supported",
                (unsigned long long)e->cfg.max_whole_file);
        *v = SGS_V_UNSUPPORTED;
        return NULL;
    }
    if (sgs_job_digest_problem(dr, d, rec, w) != NULL) {
        *v = rec->verdict;
        return NULL;
    }
    atomic_fetch_add_explicit(&e->bytes, d->bytes, memory_order_relaxed);
    sgs_hex(d->md, d->md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    *len = whole ? (size_t)d->bytes : d->md_len;
    return whole ? (w->dc.keep != NULL ? w->dc.keep : (const uint8_t *)"") : d->md;
}

/* The key given for the signature's key number: NULL with the verdict set (UNTRUSTED: no key
   of this tool given; KEY_MISMATCH, naming the key id the signature wants). */
static const sgs_edkey *
signer_key(worker *w, const sgs_edkeys *ks, const uint8_t keynum[8], const char *tool,
           const char *sig_path, char want[17], sgs_verdict *v)
{
    char ids[96];
    sgs_edsig_id_hex(keynum, want);
    if (ks->count == 0) {
        sgs_say(w, "%s is a %s signature (key id %s), but no %s key was given (--%s-key)",
                sig_path, tool, want, tool, tool);
        *v = SGS_V_UNTRUSTED;
        return NULL;
    }
    const sgs_edkey *const key = sgs_edkeys_find(ks, keynum);
    if (key == NULL) {
        key_ids(ks, ids, sizeof(ids));
        sgs_say(w, "%s signature %s wants key id %s; the %s key(s) given: %s", tool, sig_path,
                want, tool, ids);
        *v = SGS_V_KEY_MISMATCH;
    }
    return key;
}

static sgs_verdict
judge_minisign(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    sgs_minisig ms;
    char why[256], want[17];
    sgs_verdict v = SGS_V_MALFORMED;
    if (!sgs_minisig_parse(w->sig, in->siglen, &ms, why, sizeof(why))) {
        sgs_say(w, "minisign signature %s: %s", in->sig_path, why);
        return SGS_V_MALFORMED;
    }
    const sgs_edkey *const key = signer_key(w, &e->minisign_keys, ms.keynum, "minisign",
                                            in->sig_path, want, &v);
    if (key == NULL)
        return v;
    rec->alg = ms.prehashed ? "minisign-ed25519-blake2b512" : "minisign-ed25519";
    sgs_digest_out d;
    size_t len = 0;
    const uint8_t *const msg = signed_message(e, w, in, ms.prehashed ? EVP_blake2b512() : e->md,
                                              !ms.prehashed, rec, &d, &len, &v);
    if (msg == NULL)
        return v;
    atomic_fetch_add_explicit(&e->verifications, 1, memory_order_relaxed);
    if (!sgs_edsig_verify(key, ms.sig, msg, len)) {
        sgs_say(w, "minisign signature %s does not verify with key id %s (%s): the file changed "
                   "after it was signed", in->sig_path, want,
                ms.prehashed ? "Ed25519 over BLAKE2b-512" : "Ed25519, legacy");
        return SGS_V_BAD_SIGNATURE;
    }
    uint8_t global[64 + SGS_EDSIG_TRUSTED_MAX];
    assert(ms.trusted_len <= SGS_EDSIG_TRUSTED_MAX);
    memcpy(global, ms.sig, 64);
    memcpy(global + 64, ms.trusted, ms.trusted_len);
    atomic_fetch_add_explicit(&e->verifications, 1, memory_order_relaxed);
    if (!sgs_edsig_verify(key, ms.global_sig, global, 64 + ms.trusted_len)) {
        sgs_say(w, "minisign signature %s: the trusted comment was changed after signing (its "
                   "global signature does not verify with key id %s)", in->sig_path, want);
        return SGS_V_BAD_SIGNATURE;
    }
    char comment[128];
    printable(ms.trusted, ms.trusted_len, comment, sizeof(comment));
    rec->signer = key->fp_hex;
    sgs_say(w, "minisign signature verified (key id %s, %s; trusted comment: %s)", want,
            ms.prehashed ? "Ed25519 over BLAKE2b-512" : "Ed25519, legacy", comment);
    return SGS_V_VALID;
}

static int
minisign_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)e;
    (void)w;
    return in->sig_file == SGS_SIGFILE_MINISIG;
}

const sgs_judge sgs_judge_minisign = {"minisign", SGS_SIGFILE_MINISIG, SGS_JUDGE_CACHE_NONE,
                                      minisign_detect, judge_minisign};

static sgs_verdict
judge_signify(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    sgs_signify_sig ss;
    char why[256], want[17];
    sgs_verdict v = SGS_V_MALFORMED;
    if (!sgs_signify_parse(w->sig, in->siglen, 0, &ss, why, sizeof(why))) {
        sgs_say(w, "signify signature %s: %s", in->sig_path, why);
        return SGS_V_MALFORMED;
    }
    const sgs_edkey *const key = signer_key(w, &e->signify_keys, ss.keynum, "signify",
                                            in->sig_path, want, &v);
    if (key == NULL)
        return v;
    rec->alg = "signify-ed25519";
    sgs_digest_out d;
    size_t len = 0;
    const uint8_t *const msg = signed_message(e, w, in, e->md, 1, rec, &d, &len, &v);
    if (msg == NULL)
        return v;
    atomic_fetch_add_explicit(&e->verifications, 1, memory_order_relaxed);
    if (!sgs_edsig_verify(key, ss.sig, msg, len)) {
        sgs_say(w, "signify signature %s does not verify with key id %s: the file changed "
                   "after it was signed", in->sig_path, want);
        return SGS_V_BAD_SIGNATURE;
    }
    rec->signer = key->fp_hex;
    sgs_say(w, "signify signature verified (key id %s)", want);
    return SGS_V_VALID;
}

static int
signify_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)e;
    return sgs_edsig_looks_like(w->sig, in->siglen);
}

const sgs_judge sgs_judge_signify = {"signify", SGS_SIGFILE_SUFFIX, SGS_JUDGE_CACHE_NONE,
                                     signify_detect, judge_signify};
