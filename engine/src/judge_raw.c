/*
 * judge_raw.c - the raw detached signature judge (openssl dgst / pkeyutl -rawin).
 */
#include "judge.h"

/* The answer the raw judge stored (it stores VALID or BAD_SIGNATURE; an imported entry could
   hold another verdict, which stands as it is). */
sgs_verdict
sgs_judge_raw_stored(worker *w, sgs_record *rec, const sgs_pcache_verdict *pv,
                     const char *sig_path)
{
    snprintf(w->alg, sizeof(w->alg), "%s", pv->alg);
    rec->alg = w->alg;
    if (pv->verdict != SGS_V_VALID) {
        sgs_say(w, "signature %s does not verify (persistent cache)", sig_path);
        return (sgs_verdict)pv->verdict;
    }
    memcpy(w->signer_hex, pv->signer, sizeof(w->signer_hex));
    rec->signer = w->signer_hex;
    sgs_say(w, "signature verified (%s; persistent cache)", pv->alg);
    return SGS_V_VALID;
}

#define REHASH_HINT_MAX (64u * 1024u * 1024u) /* a hint re-reads at most this much, twice */

/* After a miss that named no cause: would the signature verify over another hash of the file
   (ECDSA and RSA-PSS do not name their hash)? Re-reads F once per other hash, only for files
   up to REHASH_HINT_MAX; writes the hint or leaves it "". */
static void
other_hash_hint(sgs_engine *e, worker *w, int fd, const struct stat *sb, size_t siglen,
                uint64_t *tried, char *hint, size_t n)
{
    if ((uint64_t)sb->st_size > REHASH_HINT_MAX)
        return;
    int rsa = 0; /* only RSA keys have a padding to try both of */
    for (size_t i = 0; i < e->keys.count; i++)
        rsa |= e->keys.keys[i].type == SGS_KEY_RSA;
    for (unsigned h = 0; h < SGS_HASH_COUNT && hint[0] == '\0'; h++) {
        const EVP_MD *const md = e->fetched[h] != NULL ? e->fetched[h] : sgs_hash_md((sgs_hash)h);
        sgs_digest_out d;
        if ((sgs_hash)h == e->cfg.hash || md == NULL || lseek(fd, 0, SEEK_SET) != 0 ||
            sgs_digest_fd(&w->dc, fd, md, sb, 0, &d) != SGS_DIGEST_OK)
            continue;
        for (int pss = 0; pss <= rsa && hint[0] == '\0'; pss++) {
            sgs_detached dv = {w->sig, siglen, NULL, 0, d.md, d.md_len, {NULL, 0, NULL, 0}, NULL};
            sgs_sig_params_init(&dv.params, md, pss);
            const long k = sgs_detached_verify(&e->keys, &dv, tried);
            if (k >= 0 && e->keys.keys[k].type != SGS_KEY_ED25519)
                snprintf(hint, n, "it verifies over the file's %s digest with key %.16s...: pass "
                         "--hash %s%s",
                         sgs_hash_name((sgs_hash)h), e->keys.keys[k].fp_hex,
                         sgs_hash_name((sgs_hash)h),
                         e->keys.keys[k].type != SGS_KEY_RSA ? ""
                         : pss != e->cfg.pss ? (pss ? " --pss" : " and leave out --pss") : "");
        }
    }
}

/* Raw signature (openssl dgst / pkeyutl): candidate keys by shape, hash once, cache, verify. */
static sgs_verdict
judge_raw(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    const int fd = in->fd;
    const struct stat *const sb = in->sb;
    const char *const sig_path = in->sig_path;
    const size_t siglen = in->siglen;
    if (e->keys.count == 0) {
        sgs_say(w, "%s is a raw signature, but no public key was given (--key)", sig_path);
        return SGS_V_UNTRUSTED;
    }
    /* Candidate keys: those whose signature shape matches (RSA: modulus size; Ed25519: 64
       bytes; ECDSA: strict DER). A signature no key could have made is malformed, not bad. */
    size_t last = 0;
    int need_whole = 0;
    const size_t candidates = sgs_detached_candidates(&e->keys, w->sig, siglen, &last,
                                                      &need_whole);
    if (candidates == 0) {
        sgs_say(w, "signature %s (%zu bytes) has the shape of no signature the %zu key(s) make",
            sig_path, siglen, e->keys.count);
        return SGS_V_MALFORMED;
    }
    if (candidates == 1)
        rec->alg = sgs_key_alg_name(&e->keys.keys[last], sgs_hash_name(e->cfg.hash), e->cfg.pss, w->alg,
                            sizeof(w->alg));

    /* Persistent cache: the stat tuple names the digest (no read), and the content key names
       the verdict. Only a verdict hit avoids reading the file: a verification needs its bytes
       (Ed25519) or at least the digest we then have. */
    uint8_t vkey[32];
    const int pc = e->pcache != NULL;
    if (pc && !e->cfg.paranoid) {
        sgs_digest_out cd;
        sgs_pcache_verdict pv;
        if (sgs_pcache_get_digest(e->pcache, w->reader, sb, e->md_nid, cd.md, &cd.md_len) &&
            (sgs_vstore_raw_key_sig(e, w, cd.md, cd.md_len, siglen, vkey),
             sgs_pcache_get_verdict(e->pcache, w->reader, vkey, &pv))) {
            sgs_hex(cd.md, cd.md_len, w->digest_hex);
            rec->digest = w->digest_hex;
            sgs_vstore_put_answer(e, w, sb, &pv, cd.md, cd.md_len);
            return sgs_judge_raw_stored(w, rec, &pv, sig_path);
        }
    }
    sgs_digest_out d;
    const uint64_t keep_max = need_whole ? e->cfg.max_whole_file : 0;
    const sgs_digest_result dr = sgs_digest_fd(&w->dc, fd, e->md, sb, keep_max, &d);
    if (dr == SGS_DIGEST_TOO_LARGE) {
        sgs_say(w, "Ed25519 signs the whole file, and files over %llu bytes are not supported",
            (unsigned long long)e->cfg.max_whole_file);
        return SGS_V_UNSUPPORTED;
    }
    if (sgs_job_digest_problem(dr, &d, rec, w) != NULL)
        return rec->verdict;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;

    if (pc && !e->cfg.paranoid) { /* the file had to be read, but its verdict may be known */
        sgs_pcache_verdict pv;
        sgs_vstore_raw_key_sig(e, w, d.md, d.md_len, siglen, vkey);
        if (sgs_pcache_get_verdict(e->pcache, w->reader, vkey, &pv)) {
            sgs_pcache_put_digest(e->pcache, sb, e->md_nid, d.md, d.md_len);
            sgs_vstore_put_answer(e, w, sb, &pv, d.md, d.md_len);
            return sgs_judge_raw_stored(w, rec, &pv, sig_path);
        }
    }
    sgs_cache_value cv = {SGS_V_BAD_SIGNATURE, -1};
    int verified_now = 0; /* a cache hit gives no hint: its verification was paid for once */
    if (e->cache != NULL &&
        sgs_cache_lookup(e->cache, e->keys.id, e->md_nid, d.md, d.md_len, w->sig, siglen, &cv)) {
        atomic_fetch_add_explicit(&e->cache_hits, 1, memory_order_relaxed);
    } else {
        sgs_detached dv = {w->sig, siglen, w->dc.keep, (size_t)d.bytes, d.md, d.md_len,
                           {NULL, 0, NULL, 0}, w->verifiers};
        sgs_sig_params_init(&dv.params, e->md, e->cfg.pss);
        uint64_t tried = 0;
        verified_now = 1;
        cv.key_index = (int32_t)sgs_detached_verify(&e->keys, &dv, &tried);
        /* the in-run cache keeps the verifying key's index; its verdict field holds only
           an objection (none when a key verified) */
        cv.verdict = cv.key_index >= 0 ? SGS_V_UNJUDGED : SGS_V_BAD_SIGNATURE;
        atomic_fetch_add_explicit(&e->verifications, tried, memory_order_relaxed);
        if (e->cache != NULL)
            sgs_cache_insert(e->cache, e->keys.id, e->md_nid, d.md, d.md_len, w->sig, siglen, &cv);
    }
    if (pc) {
        sgs_pcache_put_digest(e->pcache, sb, e->md_nid, d.md, d.md_len);
        sgs_pcache_verdict pv;
        memset(&pv, 0, sizeof(pv));
        /* the stored answer's encoding (pcache): VALID names a verifying key */
        pv.verdict = cv.key_index >= 0 ? SGS_V_VALID : SGS_V_BAD_SIGNATURE;
        if (cv.key_index >= 0) {
            const sgs_key *const k = &e->keys.keys[cv.key_index];
            memcpy(pv.signer, k->fp_hex, sizeof(pv.signer));
            sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, pv.alg, sizeof(pv.alg));
        }
        sgs_vstore_raw_key_sig(e, w, d.md, d.md_len, siglen, vkey);
        sgs_pcache_put_verdict(e->pcache, vkey, &pv);
        sgs_vstore_put_answer(e, w, sb, &pv, d.md, d.md_len);
    }
    if (cv.key_index < 0) {
        char hint[256] = "";
        uint64_t tried = 0;
        sgs_detached dv = {w->sig, siglen, w->dc.keep, (size_t)d.bytes, d.md, d.md_len,
                           {NULL, 0, NULL, 0}, NULL};
        sgs_sig_params_init(&dv.params, e->md, e->cfg.pss);
        if (verified_now)
            sgs_detached_hint(&e->keys, &dv, &tried, hint, sizeof(hint));
        if (verified_now && hint[0] == '\0')
            other_hash_hint(e, w, fd, sb, siglen, &tried, hint, sizeof(hint));
        (void)tried; /* diagnostics: not counted as the run's verifications */
        sgs_say(w, "signature %s does not verify with %s%s%s", sig_path,
                candidates == 1 ? "the key of its shape" : "any of the keys of its shape",
                hint[0] != '\0' ? "; " : "", hint);
        return SGS_V_BAD_SIGNATURE;
    }
    const sgs_key *const signer = &e->keys.keys[cv.key_index];
    rec->alg = sgs_key_alg_name(signer, sgs_hash_name(e->cfg.hash), e->cfg.pss, w->alg, sizeof(w->alg));
    rec->signer = signer->fp_hex;
    sgs_say(w, "signature verified (%s)", rec->alg);
    return SGS_V_VALID;
}

/* Any signature file CMS did not claim: the table's last judge. */
static int
raw_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)e;
    (void)w;
    return in->siglen > 0;
}

const sgs_judge sgs_judge_raw = {"raw", SGS_SIGFILE_SUFFIX, SGS_JUDGE_CACHE_ANSWER, raw_detect,
                                 judge_raw};

