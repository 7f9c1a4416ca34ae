/*
 * judge_kmod.c - the kernel-module judge: a .ko carries its own signature at its end; a .ko.xz,
 * .ko.zst or .ko.gz carries it inside its compressed payload.
 *
 * DESIGN: recognised by content, never by name: a file that ends with the module-signature
 * magic, an ELF relocatable object (an unsigned module), or a file that begins with an xz,
 * zstd or gzip header (decompressed only as far as it takes to see it is not ELF). Then:
 *   trailer (MALFORMED; no magic: NO_SIGNATURE) -> the PKCS#7 (MALFORMED, UNSUPPORTED: SHA-1)
 *   -> the signed bytes hashed with the signer's digest (a plain module streamed by pread and
 *   fstat'ed again: CHANGED) -> the signer among the run's keys (kmod.c: UNTRUSTED,
 *   BAD_SIGNATURE) -> VALID.
 * A compressed module is read whole and decompressed into the worker's buffer, never more than
 * min(--max-file-size, cfg.max_whole_file) bytes (UNSUPPORTED beyond: a decompression bomb).
 * Cached as a record (stat tuple, keys and trust material): its outcome no time can change.
 */
#include "judge.h"

#include "kmod.h"

/* The first and the last bytes of F (at most 64 and SGS_KMOD_TRAILER_LEN). */
typedef struct kmod_ends {
    uint8_t head[64], tail[SGS_KMOD_TRAILER_LEN];
    size_t nhead, ntail;
} kmod_ends;

static void
read_ends(int fd, uint64_t size, kmod_ends *k)
{
    k->nhead = sgs_pread_full(fd, k->head, size < sizeof(k->head) ? (size_t)size : sizeof(k->head), 0);
    const size_t nt = size < sizeof(k->tail) ? (size_t)size : sizeof(k->tail);
    k->ntail = sgs_pread_full(fd, k->tail, nt, size - nt);
}

/* An ELF relocatable object (e_type ET_REL, either byte order): what a module is. */
static int
is_elf_rel(const uint8_t *h, size_t n)
{
    if (n < 18 || memcmp(h, "\177ELF", 4) != 0)
        return 0;
    return h[5] == 2 ? h[16] == 0 && h[17] == 1 : h[16] == 1 && h[17] == 0;
}

static int
kmod_detect(const sgs_engine *e, const worker *w, const sgs_judge_input *in)
{
    (void)w;
    if (e->cfg.op != SGS_OP_VERIFY || in->sb->st_size < 4)
        return 0;
    kmod_ends k;
    read_ends(in->fd, (uint64_t)in->sb->st_size, &k);
    return (k.ntail >= SGS_KMOD_MAGIC_LEN &&
            memcmp(k.tail + k.ntail - SGS_KMOD_MAGIC_LEN, SGS_KMOD_MAGIC, SGS_KMOD_MAGIC_LEN) ==
                0) ||
           is_elf_rel(k.head, k.nhead) ||
           (sgs_kmod_packing_of(k.head, k.nhead) != SGS_KMOD_PLAIN &&
            sgs_kmod_packing_of(k.head, k.nhead) != SGS_KMOD_LZ4);
}

static int
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The module's bytes, from F (plain: mem NULL) or from its decompressed payload. */
typedef struct kmod_src {
    const uint8_t *mem;
    uint64_t size;
    const char *packing; /* "" or "xz-compressed " ... for reasons */
} kmod_src;

/*
 * A compressed F decompressed into w->kmod_out. 1 with src set; 0 with *v and the reason set,
 * or (*v SGS_V_UNJUDGED) when the payload is not an ELF file: not a module.
 */
static int
unpack(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_kmod_packing packing,
       kmod_src *src, sgs_verdict *v)
{
    const uint64_t size = (uint64_t)in->sb->st_size;
    uint64_t limit = e->cfg.max_whole_file;
    if (e->cfg.max_file_size > 0 && e->cfg.max_file_size < limit)
        limit = e->cfg.max_file_size;
    *v = SGS_V_UNSUPPORTED;
    if (size > limit) {
        sgs_say(w, "a %s file of %llu bytes: over the limit of %llu bytes for a compressed "
                   "module", sgs_kmod_packing_name(packing), (unsigned long long)size,
                (unsigned long long)limit);
        return 0;
    }
    if (!sgs_worker_grow(e, &w->kmod_in, &w->kmod_in_cap, (size_t)size)) {
        *v = SGS_V_IO_ERROR;
        sgs_say(w, "out of memory");
        return 0;
    }
    struct stat after;
    if (sgs_pread_full(in->fd, w->kmod_in, (size_t)size, 0) != size || fstat(in->fd, &after) != 0 ||
        !same_file(in->sb, &after)) {
        *v = SGS_V_CHANGED;
        sgs_say(w, "the file changed while being read");
        return 0;
    }
    atomic_fetch_add_explicit(&e->bytes, size, memory_order_relaxed);
    char why[256];
    size_t outlen = 0;
    const sgs_unpack_status st =
        sgs_kmod_unpack(&e->alloc, packing, w->kmod_in, (size_t)size, limit,
                        SGS_UNPACK_ELF_ONLY, &w->kmod_out, &w->kmod_out_cap, &outlen, why,
                        sizeof(why));
    switch (st) {
    case SGS_UNPACK_OK:
        break;
    case SGS_UNPACK_NOT_ELF:
        *v = SGS_V_UNJUDGED;
        return 0;
    case SGS_UNPACK_TOO_LARGE:
        *v = SGS_V_UNSUPPORTED;
        sgs_say(w, "a %s-compressed module that %s (the limit: --max-file-size, and at most "
                   "%llu bytes in memory)", sgs_kmod_packing_name(packing), why,
                (unsigned long long)e->cfg.max_whole_file);
        return 0;
    case SGS_UNPACK_CORRUPT:
        *v = SGS_V_MALFORMED;
        sgs_say(w, "%s", why);
        return 0;
    case SGS_UNPACK_NOMEM:
        *v = SGS_V_IO_ERROR;
        sgs_say(w, "out of memory");
        return 0;
    }
    if (!is_elf_rel(w->kmod_out, outlen)) { /* an ELF file, but no module */
        *v = SGS_V_UNJUDGED;
        return 0;
    }
    src->mem = w->kmod_out;
    src->size = outlen;
    return 1;
}

/* The signed bytes [0, len) hashed into ctx: from memory, or streamed from F and F fstat'ed
   again. 1, or 0 with *v and the reason set. */
static int
hash_signed(sgs_engine *e, worker *w, const sgs_judge_input *in, const kmod_src *src,
            uint64_t len, EVP_MD_CTX *ctx, sgs_verdict *v)
{
    *v = SGS_V_IO_ERROR;
    if (src->mem != NULL) {
        if (EVP_DigestUpdate(ctx, src->mem, (size_t)len) != 1) {
            sgs_say(w, "libcrypto digest failure");
            return 0;
        }
        return 1;
    }
    for (uint64_t off = 0; off < len;) {
        const size_t want = len - off < w->dc.bufsize ? (size_t)(len - off) : w->dc.bufsize;
        const size_t got = sgs_pread_full(in->fd, w->dc.buf, want, off);
        if (got == 0) {
            *v = SGS_V_CHANGED;
            sgs_say(w, "the file shrank while being read");
            return 0;
        }
        if (EVP_DigestUpdate(ctx, w->dc.buf, got) != 1) {
            sgs_say(w, "libcrypto digest failure");
            return 0;
        }
        off += got;
    }
    struct stat after;
    if (fstat(in->fd, &after) != 0 || !same_file(in->sb, &after)) {
        *v = SGS_V_CHANGED;
        sgs_say(w, "the file changed while being read");
        return 0;
    }
    atomic_fetch_add_explicit(&e->bytes, (uint64_t)in->sb->st_size, memory_order_relaxed);
    return 1;
}

/* The module's verdict (src: its bytes); the reason in w->reason, the record's fields set. */
static sgs_verdict
judge_module(sgs_engine *e, worker *w, const sgs_judge_input *in, const kmod_src *src,
             const kmod_ends *plain_ends, sgs_record *rec)
{
    const uint8_t *tail = plain_ends->tail;
    size_t ntail = plain_ends->ntail;
    if (src->mem != NULL) {
        ntail = src->size < SGS_KMOD_TRAILER_LEN ? (size_t)src->size : SGS_KMOD_TRAILER_LEN;
        tail = src->mem + src->size - ntail;
    }
    uint64_t sig_off = 0;
    uint32_t sig_len = 0;
    char why[256];
    switch (sgs_kmod_trailer(tail, ntail, src->size, &sig_off, &sig_len, why, sizeof(why))) {
    case SGS_KMOD_UNSIGNED:
        sgs_say(w, "%sa kernel module (ELF relocatable object) without an appended signature",
                src->packing);
        return SGS_V_NO_SIGNATURE;
    case SGS_KMOD_BAD:
        sgs_say(w, "%s", why);
        return SGS_V_MALFORMED;
    case SGS_KMOD_SIGNED:
        break;
    }
    const uint8_t *p7 = src->mem != NULL ? src->mem + sig_off : w->sig;
    if (src->mem == NULL && sgs_pread_full(in->fd, w->sig, sig_len, sig_off) != sig_len) {
        sgs_say(w, "the file shrank while being read");
        return SGS_V_CHANGED;
    }
    sgs_kmod_sig s;
    sgs_verdict v = SGS_V_MALFORMED;
    if (!sgs_kmod_sig_parse(&s, p7, sig_len, &v, w->reason, sizeof(w->reason))) {
        sgs_kmod_sig_reset(&s);
        return v;
    }
    EVP_MD_CTX *const ctx = w->dc.mdctx;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestInit_ex(ctx, s.md, NULL) != 1) {
        sgs_kmod_sig_reset(&s);
        sgs_say(w, "libcrypto digest failure");
        return SGS_V_IO_ERROR;
    }
    if (!hash_signed(e, w, in, src, sig_off, ctx, &v) ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        sgs_kmod_sig_reset(&s);
        if (v == SGS_V_IO_ERROR && w->reason[0] == '\0')
            sgs_say(w, "libcrypto digest failure");
        return v;
    }
    sgs_hex(md, mdlen, w->digest_hex);
    rec->digest = w->digest_hex;
    sgs_kmod_outcome o;
    o.tried = 0;
    sgs_kmod_sig_verify(&s, md, mdlen, &e->trust, &e->keys, &o);
    sgs_kmod_sig_reset(&s);
    atomic_fetch_add_explicit(&e->verifications, o.tried, memory_order_relaxed);
    sgs_say(w, "%s%s", src->packing, o.reason);
    memcpy(w->alg, o.alg, sizeof(w->alg) < sizeof(o.alg) ? sizeof(w->alg) : sizeof(o.alg));
    w->alg[sizeof(w->alg) - 1] = '\0';
    memcpy(w->signer_hex, o.signer, sizeof(w->signer_hex));
    if (o.verdict == SGS_V_VALID) {
        rec->alg = w->alg;
        rec->signer = w->signer_hex;
    }
    return o.verdict;
}

static sgs_verdict
judge_kmod(sgs_engine *e, worker *w, const sgs_judge_input *in, sgs_record *rec)
{
    kmod_ends k;
    read_ends(in->fd, (uint64_t)in->sb->st_size, &k);
    kmod_src src = {NULL, (uint64_t)in->sb->st_size, ""};
    const sgs_kmod_packing packing = sgs_kmod_packing_of(k.head, k.nhead);
    char packed[32];
    w->reason[0] = '\0';
    rec->size = (uint64_t)in->sb->st_size;
    rec->has_size = 1;
    sgs_verdict v = SGS_V_MALFORMED;
    if (packing == SGS_KMOD_XZ || packing == SGS_KMOD_ZSTD || packing == SGS_KMOD_GZIP) {
        snprintf(packed, sizeof(packed), "%s-compressed: ", sgs_kmod_packing_name(packing));
        src.packing = packed;
        const int ok = unpack(e, w, in, packing, &src, &v);
        if (w->kmod_in_cap > KEEP_RELEASE_ABOVE) { /* one huge file must not stay */
            sgs_free(&e->alloc, w->kmod_in);
            w->kmod_in = NULL;
            w->kmod_in_cap = 0;
        }
        if (!ok && v == SGS_V_UNJUDGED) /* no kernel module inside */
            return sgs_judge_unsigned.judge(e, w, in, rec);
    }
    if (src.mem != NULL || packing == SGS_KMOD_PLAIN || packing == SGS_KMOD_LZ4)
        v = judge_module(e, w, in, &src, &k, rec);
    if (w->kmod_out_cap > KEEP_RELEASE_ABOVE) {
        sgs_free(&e->alloc, w->kmod_out);
        w->kmod_out = NULL;
        w->kmod_out_cap = 0;
    }
    if (v != SGS_V_UNSUPPORTED) /* (a size limit of this run's options, or an algorithm) */
        sgs_vstore_put_record(e, w, in->sb, NULL, &sgs_vstore_for_good, v, rec);
    if (v != SGS_V_VALID)
        return v;
    return SGS_V_VALID;
}

const sgs_judge sgs_judge_kmod = {"kmod", SGS_SIGFILE_NONE, SGS_JUDGE_CACHE_RECORD, kmod_detect,
                                  judge_kmod};
