/*
 * judge_pe.c - the Authenticode judge: a PE image carries its own signatures.
 */
#include "judge.h"

/* The Authenticode record fields from the signatures judged. */
static void
pe_record(worker *w, sgs_record *rec)
{
    size_t n = 0, d = 0;
    const sgs_ac_sig *const s = sgs_ac_sigs(w->ac, &n, &d);
    for (size_t i = 0; i < n; i++) {
        sgs_sig_line *const l = &w->lines[i];
        l->role = s[i].role;
        l->verdict = s[i].verdict;
        l->reason = s[i].reason;
        l->hash_alg = s[i].hash_alg;
        l->layout = s[i].layout;
        l->signer = s[i].signer;
        l->signing_time = s[i].signing_time;
        l->tsa = s[i].tsa;
    }
    rec->sigs = w->lines;
    rec->nsigs = n;
    if (n == 0)
        return;
    snprintf(w->image_hash, sizeof(w->image_hash), "%s%s%s", s[d].hash_alg,
             s[d].layout[0] ? " " : "", s[d].layout);
    rec->image_hash = w->image_hash;
    rec->signer_subject = s[d].signer;
    rec->signing_time = s[d].signing_time;
    rec->tsa = s[d].tsa;
    if (s[d].signer_fp[0] != '\0')
        rec->signer = s[d].signer_fp;
    snprintf(w->alg, sizeof(w->alg), "authenticode-%s", s[d].hash_alg[0] ? s[d].hash_alg : "?");
    rec->alg = w->alg;
}

/*
 * A PE image's embedded Authenticode signatures. Reads the headers, then the certificate
 * table (at the end: its signatures name the image-hash algorithms), then streams the whole
 * file once through the image hasher, which re-checks the headers and copies the table again:
 * a file that changed on the way (other headers, another table, other stat) is CHANGED.
 * Returns 0 when the file is not a PE image (nothing set), else 1 with *outcome.
 */
static int
pe_image(sgs_engine *e, worker *w, int fd, const struct stat *sb, sgs_record *rec,
         sgs_verdict *outcome)
{
    const uint64_t size = (uint64_t)sb->st_size;
    if ((w->pe == NULL && (w->pe = sgs_pe_hasher_new_alloc(&e->alloc)) == NULL) ||
        (w->ac == NULL && (w->ac = sgs_ac_file_new(&e->alloc, e->certsets)) == NULL) ||
        !sgs_worker_grow(e, &w->pe_head, &w->pe_head_cap, READ_BUF_SIZE)) {
        *outcome = SGS_V_IO_ERROR;
        sgs_say(w, "out of memory");
        return 1;
    }
    size_t have =
        sgs_pread_full(fd, w->pe_head, size < READ_BUF_SIZE ? (size_t)size : READ_BUF_SIZE, 0);
    if (have < 2 || w->pe_head[0] != 'M' || w->pe_head[1] != 'Z')
        return 0;
    sgs_pe_info info;
    memset(&info, 0, sizeof(info));
    char why[256] = "";
    sgs_pe_status st = SGS_PE_MALFORMED;
    for (int step = 0; step < 5; step++) {
        sgs_pe_info_free(&info);
        st = sgs_pe_parse_alloc(&e->alloc, w->pe_head, have, size, &info, why, sizeof(why));
        if (st != SGS_PE_NEED_MORE)
            break;
        const size_t need = (size_t)info.need;
        if (need <= have || info.need > size) {
            st = SGS_PE_MALFORMED;
            snprintf(why, sizeof(why), "headers need %llu bytes", (unsigned long long)info.need);
            break;
        }
        uint8_t *const keep = sgs_malloc(&e->alloc, need);
        if (keep == NULL) {
            sgs_pe_info_free(&info);
            *outcome = SGS_V_IO_ERROR;
            sgs_say(w, "out of memory");
            return 1;
        }
        memcpy(keep, w->pe_head, have);
        sgs_free(&e->alloc, w->pe_head);
        w->pe_head = keep;
        w->pe_head_cap = need;
        have += sgs_pread_full(fd, w->pe_head + have, need - have, have);
        if (have < need) {
            sgs_pe_info_free(&info);
            *outcome = SGS_V_CHANGED;
            sgs_say(w, "the file shrank while being read");
            return 1;
        }
    }
    if (st == SGS_PE_NOT_PE) {
        sgs_pe_info_free(&info);
        return 0;
    }
    rec->format = "authenticode";
    int done = 0;
    if (st != SGS_PE_OK) {
        *outcome = SGS_V_MALFORMED;
        sgs_say(w, "not a valid PE image: %s", why[0] ? why : "headers do not parse");
        done = 1;
    } else if (!info.has_table) {
        *outcome = SGS_V_NO_SIGNATURE;
        sgs_say(w, "a %s image without a certificate table (not signed)",
            info.pe32plus ? "PE32+" : "PE32");
        done = 1;
    } else if (info.cert_size > SGS_PE_MAX_TABLE ||
               !sgs_worker_grow(e, &w->pe_table, &w->pe_table_cap, info.cert_size)) {
        *outcome = SGS_V_UNSUPPORTED;
        sgs_say(w, "certificate table of %u bytes: too large", info.cert_size);
        done = 1;
    } else if ((uint64_t)info.cert_off + info.cert_size <= have) { /* read with the headers */
        memcpy(w->pe_table, w->pe_head + info.cert_off, info.cert_size);
    } else if (sgs_pread_full(fd, w->pe_table, info.cert_size, info.cert_off) != info.cert_size) {
        *outcome = SGS_V_CHANGED;
        sgs_say(w, "the file shrank while being read");
        done = 1;
    }
    const EVP_MD *mds[SGS_PE_MAX_MD];
    unsigned nmd = 0;
    if (!done && !sgs_ac_prepare(w->ac, w->pe_table, info.cert_size, mds, &nmd, outcome,
                                 w->reason, sizeof(w->reason)))
        done = 1;
    uint8_t flat[SGS_PE_MAX_MD][64], spec[SGS_PE_MAX_MD][64];
    unsigned mdlen[SGS_PE_MAX_MD] = {0};
    memset(flat, 0, sizeof(flat));
    memset(spec, 0, sizeof(spec));
    if (!done && nmd > 0) {
        const char *bad = NULL;
        if (!sgs_pe_hash_begin(w->pe, &info, mds, nmd, e->pe_policy.uefi, why, sizeof(why))) {
            *outcome = SGS_V_UNSUPPORTED;
            sgs_say(w, "cannot hash the image: %s", why);
            done = 1;
        } else if (!sgs_pe_hash_update(w->pe, 0, w->pe_head, have)) {
            bad = sgs_pe_hash_error(w->pe);
        }
        uint64_t off = have;
        while (!done && bad == NULL && off < size) {
            const size_t want = size - off < READ_BUF_SIZE ? (size_t)(size - off) : READ_BUF_SIZE;
            const size_t got = sgs_pread_full(fd, w->sig, want, off);
            if (got == 0) {
                bad = "the file shrank while being read";
                break;
            }
            if (!sgs_pe_hash_update(w->pe, off, w->sig, got))
                bad = sgs_pe_hash_error(w->pe);
            off += got;
        }
        const uint8_t *table = NULL;
        size_t tlen = 0;
        struct stat after;
        if (!done && bad == NULL &&
            !sgs_pe_hash_end(w->pe, flat, spec, mdlen, &table, &tlen))
            bad = sgs_pe_hash_error(w->pe);
        if (!done && bad == NULL &&
            (tlen != info.cert_size || memcmp(table, w->pe_table, tlen) != 0))
            bad = "the certificate table changed while being read";
        if (!done && bad == NULL &&
            (fstat(fd, &after) != 0 || after.st_size != sb->st_size ||
             after.st_mtim.tv_sec != sb->st_mtim.tv_sec ||
             after.st_mtim.tv_nsec != sb->st_mtim.tv_nsec ||
             after.st_ctim.tv_sec != sb->st_ctim.tv_sec ||
             after.st_ctim.tv_nsec != sb->st_ctim.tv_nsec))
            bad = "the file changed while being read";
        if (!done && bad != NULL) {
            *outcome = SGS_V_CHANGED;
            sgs_say(w, "%s", bad);
            done = 1;
        }
        if (!done)
            atomic_fetch_add_explicit(&e->bytes, size, memory_order_relaxed);
    }
    if (!done) {
        sgs_ac_judge(w->ac, &info, flat, sgs_pe_hash_has_spec(w->pe) ? spec : NULL, mdlen,
                     &e->pe_policy, &e->trust, &e->tsa, outcome, w->reason,
                     sizeof(w->reason));
        pe_record(w, rec);
        size_t count = 0, d = 0;
        const sgs_ac_sig *const sigs = sgs_ac_sigs(w->ac, &count, &d);
        for (unsigned k = 0; count > 0 && k < nmd; k++) { /* the deciding image hash */
            if (strcasecmp(OBJ_nid2sn(EVP_MD_get_type(mds[k])), sigs[d].hash_alg) == 0 &&
                (size_t)mdlen[k] * 2 < sizeof(w->digest_hex)) {
                sgs_hex(strcmp(sigs[d].layout, "section-sorted") == 0 ? spec[k] : flat[k],
                        mdlen[k], w->digest_hex);
                rec->digest = w->digest_hex;
            }
        }
    }
    rec->size = size;
    rec->has_size = 1;
    sgs_pe_info_free(&info);
    if (w->pe_table_cap > KEEP_RELEASE_ABOVE) { /* one huge table must not stay with the worker */
        sgs_free(&e->alloc, w->pe_table);
        w->pe_table = NULL;
        w->pe_table_cap = 0;
    }
    if (w->pe_head_cap > KEEP_RELEASE_ABOVE) {
        sgs_free(&e->alloc, w->pe_head);
        w->pe_head = NULL;
        w->pe_head_cap = 0;
    }
    /* judged: as long as its chains hold; not judged at all (no table, headers or table that
       do not parse): for good */
    if (!done)
        sgs_vstore_put_record(e, w, sb, NULL, sgs_ac_window(w->ac), *outcome, rec);
    else if (*outcome == SGS_V_NO_SIGNATURE || *outcome == SGS_V_MALFORMED)
        sgs_vstore_put_record(e, w, sb, NULL, &sgs_vstore_for_good, *outcome, rec);
    return 1;
}


/* No signature file beside F, and F is large enough to be a PE image (verify only). */
static int
pe_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)w;
    return e->cfg.op == SGS_OP_VERIFY && (uint64_t)in->sb->st_size >= 64;
}

/* A file that turns out not to be a PE image is an unsigned file. */
static sgs_verdict
judge_pe(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    sgs_verdict v = SGS_V_MALFORMED;
    if (!pe_image(e, w, in->fd, in->sb, rec, &v))
        return sgs_judge_unsigned.judge(e, w, in, rec);
    if (v != SGS_V_VALID)
        return v;
    return SGS_V_VALID;
}

const sgs_judge sgs_judge_pe = {"authenticode", SGS_SIGFILE_NONE, SGS_JUDGE_CACHE_RECORD,
                                pe_detect, judge_pe};
