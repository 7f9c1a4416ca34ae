/*
 * job_package.c - the package job kind: the manifest's signature and syntax, each
 * listed file against its digest, the walk for unlisted files; and SGS_OP_HASH.
 *
 * DESIGN: memory stays flat in the number of entries. The manifest is read once, through the
 * descriptor set_package opened: each piece goes to the signature's digests and to the parser
 * (manifest.c), which sorts the entries by path in bounded memory (runs in an unnamed
 * temporary file beyond SGS_MANIFEST_MEMORY). Only a signature that needs the message whole
 * (pure Ed25519: raw, signify) has the manifest held in memory, up to cfg.max_whole_file.
 * Nothing is handed out before the signature verified and every line parsed. Then the
 * controlling thread merges the sorted entries with the walk of the package root, which
 * sgs_scan_fd gives in the same byte order:
 *
 *     manifest (sorted) ──┐
 *                         ├─ listed ──► a job: opened beneath the root descriptor, hashed
 *     walk (sorted) ──────┘─ not listed ─► EXTRA_FILE (or --ignore'd), its own ticket
 *
 * so records leave in path order, and the root directory's descriptor is the one both the
 * walk and every open go through (no path is opened again).
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

/* A manifest larger than this is refused before it is read (about 50 million entries). */
#define MANIFEST_MAX (4ull << 30)
#define MANIFEST_PIECE (256u * 1024u)

sgs_status
sgs_engine_set_package(sgs_engine *e, const char *root, const char *manifest)
{
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
    /* opened here, read once by the judge: as sgs_read_small_file, no link, regular only */
    e->pkg_manifest_fd = open(manifest, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (e->pkg_manifest_fd < 0 || fstat(e->pkg_manifest_fd, &sb) != 0) {
        snprintf(e->err, sizeof(e->err), "%s: %s", manifest,
                 errno == ELOOP ? "is a symbolic link (not followed)" : strerror(errno));
        return SGS_ERR_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(e->err, sizeof(e->err), "%s: not a regular file", manifest);
        return SGS_ERR_IO;
    }
    if ((uint64_t)sb.st_size > MANIFEST_MAX) {
        snprintf(e->err, sizeof(e->err), "%s: %lld bytes, more than the %llu allowed", manifest,
                 (long long)sb.st_size, MANIFEST_MAX);
        return SGS_ERR_IO;
    }
    e->pkg_len = (uint64_t)sb.st_size; /* until it is read */
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

/* Reads the manifest once, from its start: each piece into the digests (ctxs), into *whole
   when it is not NULL (grown up to cfg.max_whole_file), and to the parser when `parse`. 1 when
   it was read to its end; else 0 with the verdict and reason. */
static int
read_manifest(sgs_engine *e, EVP_MD_CTX *const *ctxs, size_t nctx, uint8_t **whole, int parse,
              char *reason, size_t n, sgs_verdict *v)
{
    size_t cap = 0;
    uint64_t at = 0;
    int ok = 0, parsing = parse;
    if (whole != NULL)
        *whole = NULL;
    uint8_t *const piece = sgs_malloc(&e->alloc, MANIFEST_PIECE);
    if (piece == NULL)
        goto nomem;
    for (;;) {
        const ssize_t got = pread(e->pkg_manifest_fd, piece, MANIFEST_PIECE, (off_t)at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(reason, n, "manifest %.512s: %s", e->pkg_manifest, strerror(errno));
            *v = SGS_V_IO_ERROR;
            goto out;
        }
        if (got == 0)
            break;
        at += (uint64_t)got;
        if (at > MANIFEST_MAX || (whole != NULL && at > e->cfg.max_whole_file)) {
            snprintf(reason, n, "manifest %.512s: more than %llu bytes%s", e->pkg_manifest,
                     whole != NULL ? (unsigned long long)e->cfg.max_whole_file : MANIFEST_MAX,
                     whole != NULL ? ", and its signature (pure Ed25519) needs it whole in "
                                     "memory"
                                   : "");
            *v = whole != NULL ? SGS_V_UNSUPPORTED : SGS_V_IO_ERROR;
            goto out;
        }
        for (size_t i = 0; i < nctx; i++)
            (void)EVP_DigestUpdate(ctxs[i], piece, (size_t)got);
        if (parsing) /* a failure sticks: sgs_manifest_finish says it */
            parsing = sgs_manifest_feed(e->manifest, piece, (size_t)got) == SGS_OK;
        if (whole != NULL) {
            if (at > cap) {
                const size_t ncap = cap * 2 > at ? cap * 2 : (size_t)at;
                uint8_t *const grown = sgs_malloc(&e->alloc, ncap);
                if (grown == NULL)
                    goto nomem;
                if (cap > 0)
                    memcpy(grown, *whole, (size_t)(at - (uint64_t)got));
                sgs_free(&e->alloc, *whole);
                *whole = grown;
                cap = ncap;
            }
            memcpy(*whole + (at - (uint64_t)got), piece, (size_t)got);
        }
    }
    e->pkg_len = at;
    ok = 1;
    goto out;
nomem:
    snprintf(reason, n, "manifest %.512s: out of memory", e->pkg_manifest);
    *v = SGS_V_IO_ERROR;
out:
    if (!ok && whole != NULL) {
        sgs_free(&e->alloc, *whole);
        *whole = NULL;
    }
    sgs_free(&e->alloc, piece);
    return ok;
}

/* A signify signature (signify -S): over the manifest (detached, `sig` its file's bytes), or
   over the message embedded after it (signify -S -e: `sig` is the manifest itself, msg NULL;
   *msg_at says where the message begins). 1 when a --signify-key verified it; else 0 with
   *v. */
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

/* A raw detached signature (openssl dgst -sign, pkeyutl -rawin for Ed25519) over the manifest,
   read here: streamed into the prehash, or held whole when a key that fits is Ed25519. */
static int
raw_signed(sgs_engine *e, const uint8_t *sig, size_t siglen, const char *sig_path,
           uint8_t **whole, char *reason, size_t n, sgs_verdict *v)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t last = 0;
    int need_whole = 0;
    const size_t fits = sgs_detached_candidates(&e->keys, sig, siglen, &last, &need_whole);
    if (fits == 0) {
        snprintf(reason, n, "signature %.512s (%zu bytes) has the shape of no signature the %zu "
                            "key(s) make", sig_path, siglen, e->keys.count);
        *v = SGS_V_MALFORMED;
        return 0;
    }
    EVP_MD_CTX *const ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, e->md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        snprintf(reason, n, "manifest %.512s: cannot hash it (out of memory)", e->pkg_manifest);
        *v = SGS_V_IO_ERROR;
        return 0;
    }
    int read_ok = read_manifest(e, &ctx, 1, need_whole ? whole : NULL, !need_whole, reason, n, v);
    if (read_ok && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        mdlen = 0;
    EVP_MD_CTX_free(ctx);
    if (!read_ok)
        return 0;
    sgs_detached dv = {sig, siglen, need_whole ? *whole : NULL, need_whole ? e->pkg_len : 0, md,
                       mdlen, {NULL, 0, NULL, 0}, NULL};
    sgs_sig_params_init(&dv.params, e->md, e->cfg.pss);
    uint64_t tried = 0;
    const long signer = sgs_detached_verify(&e->keys, &dv, &tried);
    if (signer < 0) {
        snprintf(reason, n, "the manifest's signature %.512s does not verify with %s", sig_path,
                 fits == 1 ? "the key of its shape" : "any of the keys of its shape");
        *v = SGS_V_BAD_SIGNATURE;
        return 0;
    }
    const sgs_key *const k = &e->keys.keys[signer];
    char alg[64];
    snprintf(reason, n, "manifest signature verified (%s, signer %s)",
             sgs_key_alg_name(k, sgs_hash_name(e->cfg.hash), e->cfg.pss, alg, sizeof(alg)),
             k->fp_hex);
    return 1; /* a key of the set verified it */
}

/* The manifest's signature over the manifest's bytes as read once; the same bytes went to the
   parser, or, when the signature needed them whole, are in *whole (the list from *msg_at; the
   caller frees it). 1 when it verified; else 0 with *objection (and the reason) set. */
static int
manifest_signed(sgs_engine *e, char *reason, size_t n, sgs_verdict *objection, uint8_t **whole_out,
                size_t *msg_at_out)
{
    int verified = 0;
    char why[512] = "", sig_path[4096];
    uint8_t *sig = NULL, *whole = NULL, head[32];
    size_t siglen = 0, msg_at = 0;
    sgs_verdict v = SGS_V_NO_SIGNATURE;
    int is_p7s = 1;
    const ssize_t peek = pread(e->pkg_manifest_fd, head, sizeof(head), 0);
    if (peek > 0 && sgs_edsig_looks_like(head, (size_t)peek)) { /* signify -S -e: inside */
        verified = read_manifest(e, NULL, 0, &whole, 0, reason, n, &v) &&
                   signify_signed(e, whole, e->pkg_len, NULL, 0, e->pkg_manifest, &msg_at,
                                  reason, n, &v);
        goto out;
    }
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
            v = SGS_V_NO_SIGNATURE;
            goto out;
        }
    }
    if (st != SGS_OK) {
        snprintf(reason, n, "%.900s", why);
        v = SGS_V_IO_ERROR;
    } else if (siglen == 0) {
        snprintf(reason, n, "signature %.512s is empty", sig_path);
        v = SGS_V_MALFORMED;
    } else if (is_p7s || sgs_cms_detect(sig, siglen)) {
        sgs_cms_job cj;
        char alg[48], signer[SGS_FP_HEX_LEN];
        if (sgs_cms_prepare(sig, siglen, NULL, &cj, &v, reason, n)) {
            if (read_manifest(e, cj.ctxs, cj.nctx, NULL, 1, reason, n, &v))
                sgs_cms_verify(&cj, &e->trust, &v, reason, n, alg, sizeof(alg), signer);
            sgs_cms_job_reset(&cj);
            verified = v == SGS_V_VALID;
        }
    } else if (sgs_edsig_looks_like(sig, siglen)) {
        size_t unused = 0;
        verified = read_manifest(e, NULL, 0, &whole, 0, reason, n, &v) &&
                   signify_signed(e, sig, siglen, whole, e->pkg_len, sig_path, &unused, reason,
                                  n, &v);
    } else if (e->keys.count == 0) {
        snprintf(reason, n, "%.512s is a raw signature, but no public key was given (--key)",
                 sig_path);
        v = SGS_V_UNTRUSTED;
    } else {
        verified = raw_signed(e, sig, siglen, sig_path, &whole, reason, n, &v);
    }
out:
    sgs_free(&e->alloc, sig);
    *whole_out = whole;
    *msg_at_out = msg_at;
    *objection = v;
    return verified;
}

/* The manifest judge. Signature first, then syntax: a manifest nobody signed is not judged on
   its lines (they were parsed as they were read, and are thrown away). */
static sgs_verdict
judge_manifest(sgs_engine *e)
{
    sgs_verdict objection = SGS_V_MALFORMED;
    if (sgs_manifest_create(&e->alloc, SGS_MANIFEST_MEMORY, &e->manifest) != SGS_OK) {
        snprintf(e->pkg_reason, sizeof(e->pkg_reason), "manifest %s: out of memory",
                 e->pkg_manifest);
        return SGS_V_IO_ERROR;
    }
    uint8_t *whole = NULL;
    size_t at = 0;
    const int verified = manifest_signed(e, e->pkg_reason, sizeof(e->pkg_reason), &objection,
                                         &whole, &at);
    /* held whole for its signature: parsed now (else parsed as it was read) */
    sgs_status st = verified && whole != NULL
                        ? sgs_manifest_feed(e->manifest, whole + at, (size_t)e->pkg_len - at)
                        : SGS_OK;
    sgs_free(&e->alloc, whole);
    if (!verified)
        return objection;
    if (st == SGS_OK)
        st = sgs_manifest_finish(e->manifest);
    if (st != SGS_OK) {
        snprintf(e->pkg_reason, sizeof(e->pkg_reason), "manifest %s: %s", e->pkg_manifest,
                 st == SGS_ERR_NOMEM ? "out of memory" : sgs_manifest_error(e->manifest));
        return st == SGS_ERR_FORMAT ? SGS_V_MALFORMED : SGS_V_IO_ERROR;
    }
    return SGS_V_VALID; /* the manifest judge's one VALID: signed, every line parsed and passed
                           the path rules, no path twice */
}

static void
check_manifest(sgs_engine *e)
{
    e->pkg_checked = 1;
    e->pkg_verdict = judge_manifest(e);
}

/* A record of no job (the manifest's, an unlisted file's): its own ticket, in walk order. */
static void
deliver_own(sgs_engine *e, const sgs_record *rec)
{
    if (e->nbatch > 0 && !sgs_sink_has_room(&e->sink))
        sgs_engine_flush(e); /* the head the ticket waits for may be in the batch */
    const uint64_t seq = sgs_sink_ticket(&e->sink);
    sgs_engine_deliver(e, seq, rec);
    sgs_sink_done(&e->sink, seq);
}

static void
deliver_path(sgs_engine *e, const char *path, sgs_verdict v, const char *reason)
{
    sgs_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.path = path;
    rec.agent = rec.alg = rec.signer = rec.digest = rec.chain = "";
    rec.verdict = v;
    rec.reason = reason;
    deliver_own(e, &rec);
}

/* The merge of the sorted manifest with the sorted walk. */
typedef struct pkg_merge {
    sgs_engine *e;
    sgs_manifest_entry next; /* the smallest entry not queued yet */
    int have;                /* 1: next is one; 0: none left; -1: they cannot be read back */
    int failed;              /* out of memory queueing */
} pkg_merge;

static int
is_ignored(const sgs_engine *e, const char *rel)
{
    const char *const base = strrchr(rel, '/') != NULL ? strrchr(rel, '/') + 1 : rel;
    for (size_t i = 0; i < e->pkg_nignore; i++)
        if (fnmatch(e->pkg_ignore[i], rel, 0) == 0 || fnmatch(e->pkg_ignore[i], base, 0) == 0)
            return 1;
    const char *const m = e->pkg_manifest_rel;
    if (m != NULL) {
        const size_t n = strlen(m);
        if (strncmp(rel, m, n) == 0 &&
            (rel[n] == '\0' || strcmp(rel + n, ".p7s") == 0 || strcmp(rel + n, e->suffix) == 0))
            return 1;
    }
    return 0;
}

/* Queues the job of x->next (in the run's shard), then takes the entry after it. 0: out of
   memory. */
static int
queue_listed(pkg_merge *x)
{
    sgs_engine *const e = x->e;
    const char *const rel = x->next.path;
    if (sgs_engine_in_shard(e, rel)) { /* else another shard's (fleet.c) */
        const size_t plen = strlen(rel);
        const size_t at = (sizeof(job) + plen + 1 + _Alignof(sgs_manifest_entry) - 1) &
                          ~(_Alignof(sgs_manifest_entry) - 1);
        job *const j = sgs_malloc(&e->alloc, at + sizeof(sgs_manifest_entry));
        if (j == NULL) {
            x->failed = 1;
            return 0;
        }
        memset(j, 0, sizeof(*j));
        memcpy(j->path, rel, plen + 1);
        j->sig_path = j->path + plen;
        j->kind = SGS_SCAN_FILE;
        sgs_manifest_entry *const listed = (sgs_manifest_entry *)(void *)((char *)j + at);
        *listed = x->next;
        listed->path = j->path;
        j->listed = listed;
        sgs_engine_queue(e, j);
    }
    x->have = sgs_manifest_next(e->manifest, &x->next);
    return 1;
}

static int
on_package_entry(void *opaque, const char *path, sgs_scan_kind kind, int errno_value)
{
    pkg_merge *const x = opaque;
    sgs_engine *const e = x->e;
    if (atomic_load_explicit(&e->cancelled, memory_order_relaxed))
        return 1; /* stop the walk */
    const size_t rlen = strlen(e->pkg_root);
    const char *const rel = strncmp(path, e->pkg_root, rlen) == 0 && path[rlen] == '/'
                                ? path + rlen + 1
                                : path;
    if (kind == SGS_SCAN_FILE || kind == SGS_SCAN_SYMLINK || kind == SGS_SCAN_SPECIAL) {
        while (x->have == 1 && strcmp(x->next.path, rel) < 0) /* listed, not in the tree */
            if (!queue_listed(x))
                return 1;
        if (x->have == 1 && strcmp(x->next.path, rel) == 0)
            return queue_listed(x) ? 0 : 1;
        if (!sgs_engine_in_shard(e, rel) || is_ignored(e, rel))
            return 0; /* another shard's (fleet.c), or --ignore'd */
        if (x->have < 0)
            deliver_path(e, rel, SGS_V_IO_ERROR, "not known whether the manifest lists it: its "
                                                 "entries could not be read back");
        else
            deliver_path(e, rel, SGS_V_EXTRA_FILE,
                         kind == SGS_SCAN_FILE      ? "present, but not listed in the manifest"
                         : kind == SGS_SCAN_SYMLINK ? "a symbolic link, not listed in the manifest"
                                                    : "a special file, not listed in the manifest");
        return 0;
    }
    if ((kind == SGS_SCAN_ERROR || kind == SGS_SCAN_TOO_DEEP) && sgs_engine_in_shard(e, rel)) {
        char reason[256];
        if (kind == SGS_SCAN_TOO_DEEP)
            snprintf(reason, sizeof(reason), "cannot read this part of the package: nested "
                     "more than %d levels deep", SGS_SCAN_MAX_DEPTH);
        else
            snprintf(reason, sizeof(reason), "cannot read this part of the package: %s",
                     strerror(errno_value));
        deliver_path(e, rel, SGS_V_IO_ERROR, reason);
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
        deliver_own(e, &rec);
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
    pkg_merge x;
    memset(&x, 0, sizeof(x));
    x.e = e;
    x.have = sgs_manifest_next(e->manifest, &x.next);
    /* the walk on this thread, merged with the entries; the workers hash meanwhile */
    const int stopped = sgs_scan_fd(e->pkg_rootfd, e->pkg_root, on_package_entry, &x);
    while (stopped == 0 && x.have == 1) /* listed after the last file of the tree */
        if (!queue_listed(&x))
            break;
    if (x.have < 0 && !x.failed && sgs_engine_in_shard(e, e->pkg_manifest)) {
        char reason[512];
        snprintf(reason, sizeof(reason), "manifest: %s (the files it lists after that were not "
                 "checked)", sgs_manifest_error(e->manifest));
        deliver_path(e, e->pkg_manifest, SGS_V_IO_ERROR, reason);
    }
    sgs_engine_flush(e); /* what is queued runs (and is freed), as submit does */
    if (x.failed) {
        snprintf(e->err, sizeof(e->err), "out of memory while queueing");
        return SGS_ERR_NOMEM;
    }
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
    /* No openat2: the components one by one, following no link at all (stricter than
       needed) */
    return sgs_open_nofollow(e->pkg_rootfd, rel, O_RDONLY | O_NONBLOCK);
}

void
sgs_package_job(sgs_engine *e, worker *w, const job *j, sgs_record *rec)
{
    const sgs_manifest_entry *const me = j->listed;
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

