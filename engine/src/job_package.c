/*
 * job_package.c - the package job kind: the manifest's signature and syntax, each
 * listed file against its digest, the walk for unlisted files; and SGS_OP_HASH.
 */
#include "engine.h"

/* The engine's fetched EVP_MD for a SHA-2 nid (falls back to the legacy one). */
static const EVP_MD *
engine_md(const sgs_engine *e, int nid)
{
    const unsigned i = nid == NID_sha256 ? SGS_HASH_SHA256
                       : nid == NID_sha384 ? SGS_HASH_SHA384
                                           : SGS_HASH_SHA512;
    return e->fetched[i] != NULL ? e->fetched[i] : EVP_get_digestbynid(nid);
}

/* ---- packages ------------------------------------------------------------------------ */

sgs_status
sgs_engine_set_package(sgs_engine *e, const char *root, const char *manifest)
{
    char why[512] = "";
    e->err[0] = '\0';
    if (e->cfg.op != SGS_OP_PACKAGE || e->started || e->pkg_root != NULL) {
        snprintf(e->err, sizeof(e->err), "the package is set once, before the first submit, on "
                                         "an SGS_OP_PACKAGE engine");
        return SGS_ERR_STATE;
    }
    size_t rlen = strlen(root);
    while (rlen > 1 && root[rlen - 1] == '/')
        rlen--;
    e->pkg_root = sgs_malloc(&e->alloc, rlen + 1);
    e->pkg_manifest = sgs_strdup(&e->alloc, manifest);
    if (e->pkg_root == NULL || e->pkg_manifest == NULL)
        return SGS_ERR_NOMEM;
    memcpy(e->pkg_root, root, rlen);
    e->pkg_root[rlen] = '\0';
    e->pkg_rootfd = open(e->pkg_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (e->pkg_rootfd < 0) {
        snprintf(e->err, sizeof(e->err), "%s: %s", root, strerror(errno));
        return SGS_ERR_IO;
    }
    const sgs_status st = sgs_read_small_file(&e->alloc, manifest, 256u * 1024u * 1024u,
                                              &e->pkg_bytes, &e->pkg_len, why, sizeof(why));
    if (st != SGS_OK) {
        snprintf(e->err, sizeof(e->err), "%s", why);
        return st;
    }
    /* the manifest (and its signature) may live inside the package: never "extra" */
    char *const rroot = realpath(e->pkg_root, NULL), *const rman = realpath(manifest, NULL);
    if (rroot != NULL && rman != NULL) {
        const size_t n = strlen(rroot);
        if (strncmp(rman, rroot, n) == 0 && rman[n] == '/')
            e->pkg_manifest_rel = sgs_strdup(&e->alloc, rman + n + 1);
    }
    free(rroot);
    free(rman);
    return SGS_OK;
}

sgs_verdict
sgs_engine_manifest_verdict(const sgs_engine *e, const char **reason)
{
    if (reason != NULL)
        *reason = e->pkg_reason;
    return e->pkg_verdict;
}

/* A signify signature (signify -S): over msg (detached, `sig` its file's bytes), or over the
   message embedded after it (signify -S -e: `sig` is the manifest itself, msg NULL; *msg_at
   says where the message begins). 1 when a --signify-key verified it; else 0 with *v. */
static int
signify_signed(const sgs_engine *e, const uint8_t *sig, size_t siglen, const uint8_t *msg,
               size_t msglen, const char *sig_path, size_t *msg_at, char *reason, size_t n,
               sgs_verdict *v)
{
    sgs_signify_sig ss;
    char why[256], id[17];
    if (!sgs_signify_parse(sig, siglen, msg == NULL, &ss, why, sizeof(why))) {
        snprintf(reason, n, "signify signature %.512s: %s", sig_path, why);
        *v = SGS_V_MALFORMED;
        return 0;
    }
    sgs_edsig_id_hex(ss.keynum, id);
    const sgs_edkey *const key = sgs_edkeys_find(&e->signify_keys, ss.keynum);
    if (e->signify_keys.count == 0 || key == NULL) {
        snprintf(reason, n, "%.512s is signed by signify key id %s, but %s", sig_path, id,
                 e->signify_keys.count == 0 ? "no signify key was given (--signify-key)"
                                            : "no --signify-key has that key id");
        *v = e->signify_keys.count == 0 ? SGS_V_UNTRUSTED : SGS_V_KEY_MISMATCH;
        return 0;
    }
    if (msg == NULL) {
        msg = ss.msg;
        msglen = ss.msglen;
        *msg_at = (size_t)(ss.msg - sig);
    }
    if (!sgs_edsig_verify(key, ss.sig, msg, msglen)) {
        snprintf(reason, n, "the manifest's signify signature %.512s does not verify with key id "
                            "%s", sig_path, id);
        *v = SGS_V_BAD_SIGNATURE;
        return 0;
    }
    snprintf(reason, n, "manifest signature verified (signify-ed25519, key id %s, signer %s)", id,
             key->fp_hex);
    return 1;
}

/* The manifest's signature over the bytes read in set_package (or, for a signify-signed list,
   inside them: *msg_at is where the list begins). 1 when it verified; else 0 with *objection
   (and the reason) set. */
static int
manifest_signed(sgs_engine *e, char *reason, size_t n, sgs_verdict *objection, size_t *msg_at)
{
    int verified = 0;
    char why[512] = "", sig_path[4096];
    uint8_t *sig = NULL;
    size_t siglen = 0;
    sgs_verdict v = SGS_V_NO_SIGNATURE;
    int is_p7s = 1;
    *msg_at = 0;
    if (sgs_edsig_looks_like(e->pkg_bytes, e->pkg_len)) /* signify -S -e: the list is inside */
        return signify_signed(e, e->pkg_bytes, e->pkg_len, NULL, 0, e->pkg_manifest, msg_at,
                              reason, n, objection);
    snprintf(sig_path, sizeof(sig_path), "%s.p7s", e->pkg_manifest);
    sgs_status st = sgs_read_small_file(&e->alloc, sig_path, SIG_FILE_MAX, &sig, &siglen, why,
                                        sizeof(why));
    if (st != SGS_OK && access(sig_path, F_OK) != 0) {
        is_p7s = 0;
        snprintf(sig_path, sizeof(sig_path), "%s%s", e->pkg_manifest, e->suffix);
        st = sgs_read_small_file(&e->alloc, sig_path, SIG_FILE_MAX, &sig, &siglen, why,
                                 sizeof(why));
        if (st != SGS_OK && access(sig_path, F_OK) != 0) {
            snprintf(reason, n, "no signature %.400s.p7s or %.400s", e->pkg_manifest, sig_path);
            *objection = SGS_V_NO_SIGNATURE;
            return 0;
        }
    }
    if (st != SGS_OK) {
        snprintf(reason, n, "%.900s", why);
        *objection = SGS_V_IO_ERROR;
        return 0;
    }
    if (siglen == 0) {
        snprintf(reason, n, "signature %.512s is empty", sig_path);
        v = SGS_V_MALFORMED;
    } else if (is_p7s || sgs_cms_detect(sig, siglen)) {
        sgs_cms_job cj;
        char alg[48], signer[SGS_FP_HEX_LEN];
        if (sgs_cms_prepare(sig, siglen, NULL, &cj, &v, reason, n)) {
            for (size_t i = 0; i < cj.nctx; i++)
                (void)EVP_DigestUpdate(cj.ctxs[i], e->pkg_bytes, e->pkg_len);
            sgs_cms_verify(&cj, &e->trust, &v, reason, n, alg, sizeof(alg), signer);
            sgs_cms_job_reset(&cj);
            verified = v == SGS_V_VALID;
        }
    } else if (sgs_edsig_looks_like(sig, siglen)) {
        size_t unused = 0;
        verified = signify_signed(e, sig, siglen, e->pkg_bytes, e->pkg_len, sig_path, &unused,
                                  reason, n, &v);
    } else if (e->keys.count == 0) {
        snprintf(reason, n, "%.512s is a raw signature, but no public key was given (--key)",
                 sig_path);
        v = SGS_V_UNTRUSTED;
    } else {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        size_t last = 0;
        int need_whole = 0;
        const size_t fits = sgs_detached_candidates(&e->keys, sig, siglen, &last, &need_whole);
        if (EVP_Digest(e->pkg_bytes, e->pkg_len, md, &mdlen, e->md, NULL) != 1)
            mdlen = 0;
        sgs_detached dv = {sig, siglen, e->pkg_bytes, e->pkg_len, md, mdlen,
                           {NULL, 0, NULL, 0}, NULL};
        sgs_sig_params_init(&dv.params, e->md, e->cfg.pss);
        uint64_t tried = 0;
        const long signer = fits > 0 ? sgs_detached_verify(&e->keys, &dv, &tried) : -1;
        if (fits == 0) {
            snprintf(reason, n, "signature %.512s (%zu bytes) has the shape of no signature the %zu "
                                "key(s) make", sig_path, siglen, e->keys.count);
            v = SGS_V_MALFORMED;
        } else if (signer < 0) {
            snprintf(reason, n, "the manifest's signature %.512s does not verify with %s", sig_path,
                     fits == 1 ? "the key of its shape" : "any of the keys of its shape");
            v = SGS_V_BAD_SIGNATURE;
        } else {
            const sgs_key *const k = &e->keys.keys[signer];
            char alg[64];
            snprintf(reason, n, "manifest signature verified (%s, signer %s)",
                     sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, alg,
                                      sizeof(alg)),
                     k->fp_hex);
            verified = 1; /* a key of the set verified it */
        }
    }
    sgs_free(&e->alloc, sig);
    *objection = v;
    return verified;
}

/* The manifest judge. Signature first, then syntax: a manifest nobody signed is not even
   parsed for the report. */
static sgs_verdict
judge_manifest(sgs_engine *e)
{
    char why[768];
    sgs_verdict objection = SGS_V_MALFORMED;
    size_t at = 0;
    if (!manifest_signed(e, e->pkg_reason, sizeof(e->pkg_reason), &objection, &at))
        return objection;
    const sgs_status st = sgs_manifest_parse(&e->manifest, e->pkg_bytes + at, e->pkg_len - at,
                                             why, sizeof(why));
    if (st != SGS_OK) {
        snprintf(e->pkg_reason, sizeof(e->pkg_reason), "manifest %s: %s", e->pkg_manifest,
                 st == SGS_ERR_NOMEM ? "out of memory" : why);
        return st == SGS_ERR_NOMEM ? SGS_V_IO_ERROR : SGS_V_MALFORMED;
    }
    return SGS_V_VALID; /* the manifest judge's one VALID: signed, every line parsed and passed
                           the path rules */
}

static void
check_manifest(sgs_engine *e)
{
    e->pkg_checked = 1;
    e->pkg_verdict = judge_manifest(e);
}

typedef struct extra_walk {
    sgs_engine *e;
    const char *const *ignore;
    size_t nignore;
    uint64_t seq; /* the walk job's ticket */
} extra_walk;

static int
is_ignored(const extra_walk *x, const char *rel)
{
    const char *const base = strrchr(rel, '/') != NULL ? strrchr(rel, '/') + 1 : rel;
    for (size_t i = 0; i < x->nignore; i++)
        if (fnmatch(x->ignore[i], rel, 0) == 0 || fnmatch(x->ignore[i], base, 0) == 0)
            return 1;
    const char *const m = x->e->pkg_manifest_rel;
    if (m != NULL) {
        const size_t n = strlen(m);
        if (strncmp(rel, m, n) == 0 &&
            (rel[n] == '\0' || strcmp(rel + n, ".p7s") == 0 || strcmp(rel + n, x->e->suffix) == 0))
            return 1;
    }
    return 0;
}

static int
on_package_entry(void *opaque, const char *path, sgs_scan_kind kind, int errno_value)
{
    extra_walk *const x = opaque;
    sgs_engine *const e = x->e;
    const size_t rlen = strlen(e->pkg_root);
    const char *const rel = strncmp(path, e->pkg_root, rlen) == 0 && path[rlen] == '/'
                                ? path + rlen + 1
                                : path;
    if (!sgs_engine_in_shard(e, rel))
        return 0; /* another shard's (fleet.c) */
    if (kind == SGS_SCAN_FILE || kind == SGS_SCAN_SYMLINK || kind == SGS_SCAN_SPECIAL) {
        if (sgs_manifest_find(&e->manifest, rel) >= 0 || is_ignored(x, rel))
            return 0;
        sgs_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.path = rel;
        rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
        rec.verdict = SGS_V_EXTRA_FILE;
        rec.reason = kind == SGS_SCAN_FILE      ? "present, but not listed in the manifest"
                     : kind == SGS_SCAN_SYMLINK ? "a symbolic link, not listed in the manifest"
                                                : "a special file, not listed in the manifest";
        sgs_engine_deliver(e, x->seq, &rec);
        return 0;
    }
    if (kind == SGS_SCAN_ERROR || kind == SGS_SCAN_TOO_DEEP) {
        char reason[256];
        sgs_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.path = rel;
        rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
        rec.verdict = SGS_V_IO_ERROR;
        if (kind == SGS_SCAN_TOO_DEEP)
            snprintf(reason, sizeof(reason), "cannot read this part of the package: nested "
                     "more than %d levels deep", SGS_SCAN_MAX_DEPTH);
        else
            snprintf(reason, sizeof(reason), "cannot read this part of the package: %s",
                     strerror(errno_value));
        rec.reason = reason;
        sgs_engine_deliver(e, x->seq, &rec);
    }
    return 0;
}

sgs_status
sgs_engine_submit_package(sgs_engine *e, const char *const *ignore, size_t nignore)
{
    e->err[0] = '\0';
    if (e->cfg.op != SGS_OP_PACKAGE || e->pkg_root == NULL) {
        snprintf(e->err, sizeof(e->err), "no package set (sgs_engine_set_package)");
        return SGS_ERR_STATE;
    }
    if (!e->started)
        SGS_TRY(sgs_engine_start(e));
    if (!e->pkg_checked)
        check_manifest(e);
    if (e->pkg_verdict != SGS_V_VALID) {
        if (!sgs_engine_in_shard(e, e->pkg_manifest))
            return SGS_OK; /* the manifest's record is one shard's; the verdict is every one's */
        sgs_record rec;
        memset(&rec, 0, sizeof(rec));
        rec.path = e->pkg_manifest;
        rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
        rec.verdict = e->pkg_verdict;
        rec.reason = e->pkg_reason;
        rec.size = e->pkg_len;
        rec.has_size = 1;
        const uint64_t seq = sgs_sink_ticket(&e->sink); /* a record of no job: its own ticket */
        sgs_engine_deliver(e, seq, &rec);
        sgs_sink_done(&e->sink, seq);
        return SGS_OK;
    }
    if (nignore > 0) {
        e->pkg_ignore = sgs_calloc(&e->alloc, nignore, sizeof(char *));
        if (e->pkg_ignore == NULL)
            return SGS_ERR_NOMEM;
        for (size_t i = 0; i < nignore; i++)
            if ((e->pkg_ignore[e->pkg_nignore++] = sgs_strdup(&e->alloc, ignore[i])) == NULL)
                return SGS_ERR_NOMEM;
    }
    /* first job: the walk for unlisted files, so a worker does it while the others hash */
    job *const walk = sgs_malloc(&e->alloc, sizeof(job) + 1);
    if (walk == NULL)
        return SGS_ERR_NOMEM;
    memset(walk, 0, sizeof(*walk) + 1);
    walk->sig_path = walk->path;
    walk->entry = PACKAGE_WALK;
    sgs_engine_queue(e, walk);
    for (size_t i = 0; i < e->manifest.count; i++) {
        const char *const rel = e->manifest.entries[i].path;
        if (!sgs_engine_in_shard(e, rel))
            continue; /* another shard's (fleet.c) */
        const size_t plen = strlen(rel);
        job *const j = sgs_malloc(&e->alloc, sizeof(job) + plen + 1);
        if (j == NULL) {
            snprintf(e->err, sizeof(e->err), "out of memory while queueing");
            sgs_engine_flush(e); /* what is queued runs (and is freed), as submit does */
            return SGS_ERR_NOMEM;
        }
        memset(j, 0, sizeof(*j));
        memcpy(j->path, rel, plen + 1);
        j->sig_path = j->path + plen;
        j->kind = SGS_SCAN_FILE;
        j->entry = (long)i;
        sgs_engine_queue(e, j);
    }
    sgs_engine_flush(e);
    return SGS_OK;
}

/* Opens rel beneath the package root and nowhere else. On failure returns -1 with errno
   (EXDEV: the path would leave the root; ELOOP: the file is a link). */
static int
open_beneath(sgs_engine *e, const char *rel)
{
    if (!atomic_load_explicit(&e->no_openat2, memory_order_relaxed)) {
        struct open_how how;
        memset(&how, 0, sizeof(how));
        how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        const long fd = syscall(SYS_openat2, e->pkg_rootfd, rel, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return (int)fd;
        atomic_store_explicit(&e->no_openat2, 1, memory_order_relaxed);
    }
    /* No openat2: walk the components, following no link at all (stricter than needed). */
    char comp[4096];
    int dirfd = e->pkg_rootfd;
    const char *p = rel;
    for (;;) {
        const char *const slash = strchr(p, '/');
        const size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len >= sizeof(comp)) {
            if (dirfd != e->pkg_rootfd)
                close(dirfd);
            errno = ENOENT;
            return -1;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        const int flags = slash != NULL ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                                        : O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
        const int fd = openat(dirfd, comp, flags);
        const int saved = errno;
        if (dirfd != e->pkg_rootfd)
            close(dirfd);
        if (fd < 0 || slash == NULL) {
            errno = saved;
            return fd;
        }
        dirfd = fd;
        p = slash + 1;
    }
}

static int on_package_entry(void *opaque, const char *path, sgs_scan_kind kind, int errno_value);

void
sgs_package_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    if (j->entry == PACKAGE_WALK) { /* the walk for unlisted files, run beside the hashing */
        extra_walk x = {e, (const char *const *)e->pkg_ignore, e->pkg_nignore, j->seq};
        (void)sgs_scan_fd(e->pkg_rootfd, e->pkg_root, NULL, 0, on_package_entry, &x); /* the tree hashed */
        rec->verdict = SGS_V_SKIPPED; /* not a record: see worker_run */
        return;
    }
    const sgs_manifest_entry *const me = &e->manifest.entries[j->entry];
    const int fd = open_beneath(e, j->path);
    if (fd < 0) {
        rec->verdict = sgs_job_open_failure(w, SGS_ROLE_LISTED, errno, j->path);
        return;
    }
    struct stat sb;
    if (!sgs_job_stat_regular(fd, w, rec, &sb, NULL))
        return;
    sgs_digest_out d;
    const sgs_digest_result dr =
        sgs_digest_fd(&w->dc, fd, engine_md(e, me->md_nid), &sb, 0, &d);
    close(fd);
    if (sgs_job_digest_problem(dr, &d, rec, w) != NULL)
        return;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    rec->alg = me->md_nid == NID_sha256 ? "sha256" : me->md_nid == NID_sha384 ? "sha384" : "sha512";
    if (d.md_len != me->dlen || CRYPTO_memcmp(d.md, me->digest, me->dlen) != 0) {
        char want[SGS_DIGEST_HEX_MAX];
        sgs_hex(me->digest, me->dlen, want);
        rec->verdict = SGS_V_DIGEST_MISMATCH;
        sgs_say(w, "modified: manifest line %u expected %s, got %s", me->line, want, w->digest_hex);
        return;
    }
    sgs_say(w, "matches manifest line %u", me->line);
    rec->verdict = SGS_V_VALID; /* the bytes read hash to the signed manifest's digest */
}

/* SGS_OP_HASH: the digest of every file (manifest creation). */
void
sgs_hash_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    struct stat sb;
    const int fd = sgs_job_open_input(j, w, rec, &sb);
    if (fd < 0)
        return;
    sgs_digest_out d;
    const sgs_digest_result dr = sgs_digest_fd(&w->dc, fd, e->md, &sb, 0, &d);
    close(fd);
    if (sgs_job_digest_problem(dr, &d, rec, w) != NULL)
        return;
    atomic_fetch_add_explicit(&e->bytes, d.bytes, memory_order_relaxed);
    sgs_hex(d.md, d.md_len, w->digest_hex);
    rec->digest = w->digest_hex;
    rec->alg = sgs_hash_name(e->cfg.hash);
    sgs_say(w, "hashed");
    rec->verdict = SGS_V_VALID; /* read whole and unchanged: the digest is the file's */
}

