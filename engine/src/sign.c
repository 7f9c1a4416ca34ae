/*
 * sign.c - the sign job: raw signatures (F<suffix>) or detached CMS (F.p7s).
 *
 * DESIGN: a signature file that exists is kept unless cfg.sign_replace: F is then not read or
 * signed (SKIPPED, counted), and the write itself is RENAME_NOREPLACE, so one that appears
 * while F is signed is kept too. F itself is never written (a PE file gets a detached
 * signature like any other file, not an embedded one).
 */
#include "engine.h"
#include "fileio.h"

/* The file a job writes: F.p7s with a certificate (F<suffix> when the suffix is .p7s), else
   F<suffix>. */
static const char *
target_of(const sgs_engine *e, const job *j)
{
    return e->sign_cert != NULL && j->p7s_path != NULL ? j->p7s_path : j->sig_path;
}

/* A signature file that is there is kept (without sign_replace): 1 with rec's verdict set. */
static int
kept(sgs_engine *e, worker *w, const job *j, const char *target, sgs_record *rec)
{
    struct stat sb;
    if (e->cfg.sign_replace || sgs_job_lstat(j, target, &sb) != 0)
        return 0;
    atomic_fetch_add_explicit(&e->signatures_kept, 1, memory_order_relaxed);
    rec->verdict = SGS_V_SKIPPED;
    sgs_say(w, "%s exists: kept, not replaced; --force replaces it", target);
    return 1;
}

/* Writes bytes to target through a temporary file in the same directory and rename(2), so a
   reader sees the old signature or the new one, never half of one; without sign_replace, only
   if the name is still free (renameat2 RENAME_NOREPLACE). 1 on success. */
static int
write_atomically(sgs_engine *e, worker *w, const job *j, const char *target,
                 const uint8_t *bytes, size_t len, sgs_record *rec)
{
    char why[512] = "";
    /* a signature is a regular file: a FIFO or device at its name is refused, not fed */
    const unsigned flags = SGS_WFILE_REGULAR_ONLY | (e->cfg.sign_replace ? 0 : SGS_WFILE_NOREPLACE);
    const sgs_status st = sgs_wfile_put(target, flags, 0644, bytes, len, why, sizeof(why));
    if (st == SGS_OK)
        return 1;
    if (!kept(e, w, j, target, rec)) { /* not one that appeared meanwhile: an error */
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "%s", why[0] ? why : "out of memory");
    }
    return 0;
}

/* sign with a certificate: a detached CMS SignedData into F.p7s, the file read once.
   1 when written; else 0 with rec's verdict set. */
static int
sign_cms(sgs_engine *e, worker *w, const job *j, int fd, const struct stat *sb, sgs_record *rec)
{
    char why[256];
    sgs_cms_job cj;
    unsigned char *der = NULL;
    size_t derlen = 0;
    sgs_verdict v = SGS_V_UNSUPPORTED;
    if (!sgs_cms_sign_start(e->sign_cert, e->sign_key, e->trust.untrusted_sk, e->md,
                            e->cfg.pss, &cj, why, sizeof(why))) {
        sgs_say(w, "%s", why);
        rec->verdict = v;
        return 0;
    }
    int ok = 0;
    sgs_digest_out d;
    const sgs_digest_result dr = sgs_digest_fd_also(&w->dc, fd, e->md, sb, 0, cj.ctxs, cj.nctx, &d);
    if (sgs_job_digest_problem(dr, &d, rec, w) != NULL) {
        v = rec->verdict;
        goto out;
    }
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    if (!sgs_cms_sign_finish(&cj, &der, &derlen, why, sizeof(why))) {
        sgs_say(w, "%s", why);
        goto out;
    }
    if (!write_atomically(e, w, j, target_of(e, j), der, derlen, rec)) {
        v = rec->verdict;
        goto out;
    }
    rec->alg = "cms";
    rec->signer = e->sign_desc.fp_hex;
    sgs_say(w, "signed, wrote %s", target_of(e, j));
    ok = 1;
out:
    OPENSSL_free(der);
    sgs_cms_job_reset(&cj);
    if (!ok)
        rec->verdict = v;
    return ok;
}

/* sign with a key: a raw signature into F<suffix>, checked before it replaces anything.
   1 when written; else 0 with rec's verdict set. */
static int
sign_raw(sgs_engine *e, worker *w, const job *j, int fd, const struct stat *sb, sgs_record *rec)
{
    const sgs_key *const k = &e->sign_desc;
    const int whole = k->type == SGS_KEY_ED25519;
    sgs_digest_out d;
    const sgs_digest_result dr =
        sgs_digest_fd(&w->dc, fd, e->md, sb, whole ? e->cfg.max_whole_file : 0, &d);
    if (dr == SGS_DIGEST_TOO_LARGE) {
        rec->verdict = SGS_V_UNSUPPORTED;
        sgs_say(w, "Ed25519 signs the whole file, and files over %llu bytes are not supported",
            (unsigned long long)e->cfg.max_whole_file);
        return 0;
    }
    if (sgs_job_digest_problem(dr, &d, rec, w) != NULL)
        return 0;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    rec->alg = sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, w->alg, sizeof(w->alg));

    sgs_sig_params params;
    sgs_sig_params_init(&params, e->md, e->cfg.pss);
    size_t siglen = SIG_FILE_MAX;
    char why[160] = "";
    const int signed_ok =
        whole ? sgs_sign_message(e->sign_key, w->dc.keep, (size_t)d.bytes, w->sig, &siglen, why,
                                 sizeof(why))
              : sgs_sign_prehash(e->sign_key, &params, d.md, d.md_len, w->sig, &siglen, why,
                                 sizeof(why));
    if (!signed_ok) {
        rec->verdict = SGS_V_UNSUPPORTED;
        sgs_say(w, "signing failed: %s", why[0] ? why : "libcrypto error");
        return 0;
    }
    /* Check our own output before it replaces anything. */
    const int verified = whole ? sgs_verify_message(e->sign_key, w->dc.keep, (size_t)d.bytes,
                                                    w->sig, siglen)
                               : sgs_verify_prehash(e->sign_key, &params, d.md, d.md_len, w->sig,
                                                    siglen);
    if (!verified) {
        rec->verdict = SGS_V_BAD_SIGNATURE;
        sgs_say(w, "the new signature does not verify; nothing written");
        return 0;
    }
    if (!write_atomically(e, w, j, j->sig_path, w->sig, siglen, rec))
        return 0;
    rec->signer = k->fp_hex;
    sgs_say(w, "signed, wrote %s", j->sig_path);
    return 1;
}

void
sgs_sign_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    struct stat sb;
    if (j->kind == SGS_SCAN_FILE && kept(e, w, j, target_of(e, j), rec))
        return; /* F is not even read */
    const int fd = sgs_job_open_input(j, w, rec, &sb);
    if (fd < 0)
        return;
    const int written = e->sign_cert != NULL ? sign_cms(e, w, j, fd, &sb, rec)
                                             : sign_raw(e, w, j, fd, &sb, rec);
    close(fd);
    if (!written)
        return; /* rec's verdict says why */
    rec->verdict = SGS_V_VALID; /* the only such line: the signature was made and written */
}

