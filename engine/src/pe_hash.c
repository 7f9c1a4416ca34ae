/*
 * pe_hash.c - the streaming Authenticode image hasher (sgs_pe_hash_*), over the ranges pe.c's
 * header walk derived.
 *
 * DESIGN: the file arrives once, in order, in chunks of any size. Each chunk is cut against
 * the two range lists; flat and spec share one EVP context per digest until their byte
 * streams diverge, then the spec context is forked by EVP_MD_CTX_copy_ex. Three byte windows
 * are copied on the way: the header prefix (it is parsed again and must give the same ranges:
 * pitfall 10), the certificate table, and the spec "replay" (the extra data the spec re-hashes
 * after section gaps).
 *
 *     chunk ──► capture(header, table, replay) ──► flat ranges ──fork──► spec ranges
 *
 * Invariant: each range is consumed strictly from its start (checked, not assumed); the one
 * replay range is fed from its buffer, never from the stream.
 */
#include "pe_impl.h"

#include "alloc.h"
#include "err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct pe_span {
    uint64_t off, len;
    int replay; /* bytes come from the replay buffer, not the stream */
} pe_span;

typedef struct pe_buf {
    uint8_t *p;
    size_t cap;
} pe_buf;

struct sgs_pe_hasher {
    const sgs_allocator *alloc;
    EVP_MD_CTX *fctx[SGS_PE_MAX_MD], *sctx[SGS_PE_MAX_MD];
    unsigned nmd;

    pe_span *fr, *sr; /* flat ranges (+pad, split at the fork); spec ranges after the fork */
    size_t frcap, srcap, nfr, nsr;
    size_t fi, si;         /* current range */
    uint64_t fdone, sdone; /* bytes of the current range consumed */
    size_t fork;           /* fork before flat range `fork`; SIZE_MAX: spec == flat */
    int forked, spec_on;

    uint64_t file_size, pos;
    uint64_t tab_off, tab_len, rp_off, rp_len, hdr_len;
    pe_buf tab, rp, hdr;
    int hdr_checked;

    sgs_pe_info expect; /* the begin-time info; expect.spec points into exp_spec */
    sgs_pe_range *exp_spec, *scratch;
    size_t exp_cap, scratch_cap;

    int running, failed;
    char err[160];
};

sgs_pe_hasher *
sgs_pe_hasher_new_alloc(const sgs_allocator *a)
{
    sgs_pe_hasher *const h = sgs_calloc(a, 1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->alloc = a;
    for (size_t i = 0; i < SGS_PE_MAX_MD; i++) {
        h->fctx[i] = EVP_MD_CTX_new();
        h->sctx[i] = EVP_MD_CTX_new();
        if (h->fctx[i] == NULL || h->sctx[i] == NULL) {
            sgs_pe_hasher_free(h);
            return NULL;
        }
    }
    return h;
}

sgs_pe_hasher *
sgs_pe_hasher_new(void)
{
    return sgs_pe_hasher_new_alloc(NULL);
}

void
sgs_pe_hasher_free(sgs_pe_hasher *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < SGS_PE_MAX_MD; i++) {
        EVP_MD_CTX_free(h->fctx[i]);
        EVP_MD_CTX_free(h->sctx[i]);
    }
    sgs_free(h->alloc, h->fr);
    sgs_free(h->alloc, h->sr);
    sgs_free(h->alloc, h->tab.p);
    sgs_free(h->alloc, h->rp.p);
    sgs_free(h->alloc, h->hdr.p);
    sgs_free(h->alloc, h->exp_spec);
    sgs_free(h->alloc, h->scratch);
    sgs_free(h->alloc, h);
}

/* Makes *p hold at least n elements of size `size` (contents not kept). Big buffers left by
   one large file are given back when a much smaller one follows. */
static int
ensure(const sgs_allocator *a, void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap && !(*cap * size > (8u << 20) && n < *cap / 8))
        return 1;
    sgs_free(a, *p);
    *cap = 0;
    *p = sgs_calloc(a, n > 0 ? n : 1, size);
    if (*p == NULL)
        return 0;
    *cap = n > 0 ? n : 1;
    return 1;
}

static int
ensure_buf(const sgs_allocator *a, pe_buf *b, uint64_t n)
{
    void *p = b->p;
    const int ok = ensure(a, &p, &b->cap, (size_t)n, 1);
    b->p = p;
    return ok;
}

__attribute__((format(printf, 2, 3))) static int
fail(sgs_pe_hasher *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof(h->err), fmt, ap);
    va_end(ap);
    h->failed = 1;
    return 0;
}

static int
fail_crypto(sgs_pe_hasher *h, const char *what)
{
    char buf[120];
    return fail(h, "%s: %s", what, sgs_crypto_error(buf, sizeof(buf)));
}

/* Spans of `r` (flat or spec ranges) plus the virtual zero padding after the file. */
static size_t
load_spans(pe_span *out, const sgs_pe_range *r, size_t n, uint64_t file_size, unsigned pad)
{
    const size_t rp = sgs_pe_find_replay(r, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        out[k].off = r[i].off;
        out[k].len = r[i].len;
        out[k].replay = i == rp;
        k++;
    }
    if (pad > 0) {
        out[k].off = file_size;
        out[k].len = pad;
        out[k].replay = 0;
        k++;
    }
    return k;
}

/*
 * Walks the flat and spec spans as two byte streams while they name the same file offsets
 * (so the same bytes, in the same order), then splits the flat list at the divergence and
 * keeps only the rest of the spec list. Identical streams: fork = SIZE_MAX.
 */
static void
plan_fork(sgs_pe_hasher *h, pe_span *spec, size_t nspec)
{
    size_t i = 0, j = 0;
    uint64_t fo = 0, so = 0;
    while (i < h->nfr && j < nspec) {
        if (h->fr[i].off + fo != spec[j].off + so || spec[j].replay)
            break;
        const uint64_t m = min64(h->fr[i].len - fo, spec[j].len - so);
        fo += m;
        so += m;
        if (fo == h->fr[i].len) {
            i++;
            fo = 0;
        }
        if (so == spec[j].len) {
            j++;
            so = 0;
        }
    }
    if (i == h->nfr && j == nspec) {
        h->fork = SIZE_MAX;
        h->nsr = 0;
        return;
    }
    if (fo > 0) { /* split flat span i at the divergence (room reserved by the caller) */
        memmove(&h->fr[i + 1], &h->fr[i], (h->nfr - i) * sizeof(h->fr[0]));
        h->fr[i].len = fo;
        h->fr[i + 1].off += fo;
        h->fr[i + 1].len -= fo;
        h->nfr++;
        i++;
    }
    h->fork = i;
    h->nsr = 0;
    for (size_t k = j; k < nspec; k++) {
        h->sr[h->nsr] = spec[k];
        if (k == j) {
            h->sr[h->nsr].off += so;
            h->sr[h->nsr].len -= so;
        }
        h->nsr++;
    }
}

int
sgs_pe_hash_begin(sgs_pe_hasher *h, const sgs_pe_info *info, const EVP_MD *const *mds, unsigned nmd,
                  int want_spec, char *why, size_t whylen)
{
    h->running = 0;
    h->failed = 0;
    h->err[0] = '\0';
    say(why, whylen, "%s", "");
    if (nmd == 0 || nmd > SGS_PE_MAX_MD) {
        say(why, whylen, "%u digests requested (1..%u)", nmd, SGS_PE_MAX_MD);
        return 0;
    }
    for (unsigned i = 0; i < nmd; i++) {
        const int size = mds[i] != NULL ? EVP_MD_get_size(mds[i]) : 0;
        if (size <= 0 || size > 64 || (EVP_MD_get_flags(mds[i]) & EVP_MD_FLAG_XOF) != 0) {
            say(why, whylen, "digest %u is not a fixed-size digest of at most 64 bytes", i);
            return 0;
        }
    }
    if (info->headers_end == 0 || info->nflat == 0 || info->file_size < info->headers_end) {
        say(why, whylen, "info is not from a successful sgs_pe_parse()");
        return 0;
    }
    if (info->has_table && info->cert_size > SGS_PE_MAX_TABLE) {
        say(why, whylen, "certificate table of %u bytes exceeds the %u MiB cap", info->cert_size,
            SGS_PE_MAX_TABLE >> 20);
        return 0;
    }
    h->nmd = nmd;
    h->spec_on = want_spec && info->spec_ok && info->spec != NULL;
    h->file_size = info->file_size;
    h->pos = 0;
    h->tab_off = info->has_table ? info->cert_off : 0;
    h->tab_len = info->has_table ? info->cert_size : 0;
    h->hdr_len = info->headers_end;
    h->hdr_checked = 0;

    const size_t nspec = info->spec_ok && info->spec != NULL ? info->nspec : 0;
    const size_t rp = info->spec_ok ? sgs_pe_find_replay(info->spec, nspec) : nspec;
    h->rp_off = rp < nspec ? info->spec[rp].off : 0;
    h->rp_len = rp < nspec && h->spec_on ? info->spec[rp].len : 0;

    /* Spans: flat gets 2 spare (pad, fork split); spec is staged in sr, then trimmed. */
    void *fr = h->fr, *sr = h->sr, *es = h->exp_spec, *sc = h->scratch;
    const int ok =
        ensure(h->alloc, &fr, &h->frcap, (size_t)info->nflat + 2, sizeof(pe_span)) &&
        ensure(h->alloc, &sr, &h->srcap, nspec + 1, sizeof(pe_span)) &&
        ensure(h->alloc, &es, &h->exp_cap, nspec, sizeof(sgs_pe_range)) &&
        ensure(h->alloc, &sc, &h->scratch_cap, (size_t)info->nsections + 5, sizeof(sgs_pe_range)) &&
        ensure_buf(h->alloc, &h->tab, h->tab_len) && ensure_buf(h->alloc, &h->rp, h->rp_len) &&
        ensure_buf(h->alloc, &h->hdr, h->hdr_len);
    h->fr = fr;
    h->sr = sr;
    h->exp_spec = es;
    h->scratch = sc;
    if (!ok) {
        say(why, whylen, "out of memory");
        return 0;
    }

    h->expect = *info;
    h->expect.spec = h->exp_spec;
    h->expect.nspec = (unsigned)nspec; /* what exp_spec holds (none for a spec-less info) */
    h->expect.alloc = NULL;
    if (nspec > 0)
        memcpy(h->exp_spec, info->spec, nspec * sizeof(sgs_pe_range));

    h->nfr = load_spans(h->fr, info->flat, info->nflat, info->file_size, info->pad);
    h->fork = SIZE_MAX;
    h->nsr = 0;
    if (h->spec_on) {
        /* Staged in sr itself: plan_fork writes sr[k - j] after reading sr[k], k >= j. */
        const size_t nstaged = load_spans(h->sr, info->spec, nspec, info->file_size, info->pad);
        plan_fork(h, h->sr, nstaged);
    }
    h->fi = h->si = 0;
    h->fdone = h->sdone = 0;
    h->forked = 0;

    for (unsigned i = 0; i < nmd; i++) {
        if (EVP_DigestInit_ex(h->fctx[i], mds[i], NULL) != 1) {
            char buf[120];
            say(why, whylen, "EVP_DigestInit_ex: %s", sgs_crypto_error(buf, sizeof(buf)));
            return 0;
        }
    }
    h->running = 1;
    return 1;
}

static int
feed(sgs_pe_hasher *h, EVP_MD_CTX *const *ctx, const uint8_t *p, uint64_t n)
{
    /* With several digests, go block by block so the bytes are still in cache. */
    const uint64_t block = h->nmd > 1 ? (256u << 10) : n;
    while (n > 0) {
        const size_t m = (size_t)min64(n, block);
        for (unsigned i = 0; i < h->nmd; i++)
            if (EVP_DigestUpdate(ctx[i], p, m) != 1)
                return fail_crypto(h, "EVP_DigestUpdate");
        p += m;
        n -= m;
    }
    return 1;
}

static int
do_fork(sgs_pe_hasher *h)
{
    for (unsigned i = 0; i < h->nmd; i++)
        if (EVP_MD_CTX_copy_ex(h->sctx[i], h->fctx[i]) != 1)
            return fail_crypto(h, "EVP_MD_CTX_copy_ex");
    h->forked = 1;
    return 1;
}

/* Copies the part of [c0, c0 + n) inside [off, off + len) into dst (the window's bytes). */
static void
capture(uint8_t *dst, uint64_t off, uint64_t len, uint64_t c0, const uint8_t *p, size_t n)
{
    const uint64_t s = max64(off, c0), e = min64(off + len, c0 + n);
    if (s < e)
        memcpy(dst + (s - off), p + (s - c0), (size_t)(e - s));
}

/*
 * Consumes the spans of one list that fall in [c0, c0 + n). A span is taken strictly from its
 * start: a span whose next byte lies before c0 would mean a byte was skipped (a broken plan),
 * which fails rather than hashing the wrong stream.
 */
static int
walk(sgs_pe_hasher *h, const pe_span *r, size_t nr, size_t *idx, uint64_t *done,
     EVP_MD_CTX *const *ctx, uint64_t c0, const uint8_t *p, size_t n, int flat)
{
    const uint64_t c1 = c0 + n;
    while (*idx < nr) {
        if (flat && !h->forked && *idx == h->fork && h->spec_on && !do_fork(h))
            return 0;
        const pe_span *const s = &r[*idx];
        if (s->replay) {
            if (s->off < h->rp_off || s->off + s->len > h->rp_off + h->rp_len ||
                s->off + s->len > c1)
                return fail(h, "internal: replay range not buffered");
            if (!feed(h, ctx, h->rp.p + (s->off - h->rp_off), s->len))
                return 0;
            (*idx)++;
            continue;
        }
        const uint64_t next = s->off + *done;
        if (next >= c1)
            break;
        if (next < c0)
            return fail(h, "internal: range 0x%llx+0x%llx passed", (unsigned long long)s->off,
                        (unsigned long long)s->len);
        const uint64_t e = min64(s->off + s->len, c1);
        if (!feed(h, ctx, p + (next - c0), e - next))
            return 0;
        *done += e - next;
        if (*done < s->len)
            break;
        (*idx)++;
        *done = 0;
    }
    if (flat && !h->forked && *idx == h->fork && h->spec_on && !do_fork(h))
        return 0;
    return 1;
}

static int
same_info(const sgs_pe_info *a, const sgs_pe_info *b)
{
    if (a->pe32plus != b->pe32plus || a->machine != b->machine || a->nsections != b->nsections ||
        a->checksum != b->checksum || a->nrva != b->nrva || a->checksum_off != b->checksum_off ||
        a->certdir_off != b->certdir_off || a->cert_off != b->cert_off ||
        a->cert_size != b->cert_size || a->has_table != b->has_table ||
        a->size_of_headers != b->size_of_headers || a->headers_end != b->headers_end ||
        a->file_size != b->file_size || a->pad != b->pad || a->anomalies != b->anomalies ||
        a->nflat != b->nflat || a->spec_ok != b->spec_ok || a->nspec != b->nspec)
        return 0;
    if (memcmp(a->flat, b->flat, a->nflat * sizeof(a->flat[0])) != 0)
        return 0;
    return a->nspec == 0 || memcmp(a->spec, b->spec, a->nspec * sizeof(a->spec[0])) == 0;
}

/* Pitfall 10: the ranges must come from the very bytes being hashed. */
static int
check_headers(sgs_pe_hasher *h, const uint8_t *hdr)
{
    sgs_pe_info again;
    char why[128];
    const sgs_pe_status st =
        sgs_pe_parse_scratch(NULL, hdr, (size_t)h->hdr_len, h->file_size, &again, why,
                             sizeof(why), h->scratch, h->scratch_cap);
    h->hdr_checked = 1;
    if (st != SGS_PE_OK || !same_info(&again, &h->expect))
        return fail(h, "the PE headers being hashed differ from the parsed ones (file changed?)");
    return 1;
}

static int
process(sgs_pe_hasher *h, uint64_t c0, const uint8_t *p, size_t n)
{
    if (!h->hdr_checked && c0 < h->hdr_len) {
        if (c0 == 0 && n >= h->hdr_len) {
            if (!check_headers(h, p))
                return 0;
        } else {
            capture(h->hdr.p, 0, h->hdr_len, c0, p, n);
            if (c0 + n >= h->hdr_len && !check_headers(h, h->hdr.p))
                return 0;
        }
    }
    if (h->tab_len > 0)
        capture(h->tab.p, h->tab_off, h->tab_len, c0, p, n);
    if (h->rp_len > 0)
        capture(h->rp.p, h->rp_off, h->rp_len, c0, p, n);
    if (!walk(h, h->fr, h->nfr, &h->fi, &h->fdone, h->fctx, c0, p, n, 1))
        return 0;
    if (h->forked && !walk(h, h->sr, h->nsr, &h->si, &h->sdone, h->sctx, c0, p, n, 0))
        return 0;
    return 1;
}

int
sgs_pe_hash_update(sgs_pe_hasher *h, uint64_t file_off, const uint8_t *p, size_t n)
{
    if (!h->running || h->failed)
        return h->failed ? 0 : fail(h, "update without begin");
    if (file_off != h->pos)
        return fail(h, "chunk at %llu, expected %llu", (unsigned long long)file_off,
                    (unsigned long long)h->pos);
    if (n > h->file_size - h->pos)
        return fail(h, "chunk runs past the parsed file size %llu",
                    (unsigned long long)h->file_size);
    if (n == 0)
        return 1;
    if (p == NULL)
        return fail(h, "NULL chunk");
    if (!process(h, file_off, p, n))
        return 0;
    h->pos += n;
    return 1;
}

int
sgs_pe_hash_end(sgs_pe_hasher *h, uint8_t flat_md[][64], uint8_t spec_md[][64], unsigned *mdlen,
                const uint8_t **table, size_t *table_len)
{
    static const uint8_t zeros[8];
    *table = NULL;
    *table_len = 0;
    if (!h->running || h->failed)
        return h->failed ? 0 : fail(h, "end without begin");
    h->running = 0;
    if (h->pos != h->file_size)
        return fail(h, "%llu of %llu bytes fed", (unsigned long long)h->pos,
                    (unsigned long long)h->file_size);
    if (h->expect.pad > 0 && !process(h, h->file_size, zeros, h->expect.pad))
        return 0;
    if (h->fi != h->nfr || (h->forked && h->si != h->nsr) || !h->hdr_checked)
        return fail(h, "internal: ranges left unhashed");
    for (unsigned i = 0; i < h->nmd; i++) {
        unsigned len = 0;
        if (EVP_DigestFinal_ex(h->fctx[i], flat_md[i], &len) != 1)
            return fail_crypto(h, "EVP_DigestFinal_ex");
        mdlen[i] = len;
        if (spec_md == NULL)
            continue;
        memset(spec_md[i], 0, 64);
        if (!h->spec_on)
            continue;
        if (!h->forked) {
            memcpy(spec_md[i], flat_md[i], len);
        } else if (EVP_DigestFinal_ex(h->sctx[i], spec_md[i], &len) != 1) {
            return fail_crypto(h, "EVP_DigestFinal_ex");
        }
    }
    if (h->tab_len > 0) {
        *table = h->tab.p;
        *table_len = (size_t)h->tab_len;
    }
    return 1;
}

int
sgs_pe_hash_has_spec(const sgs_pe_hasher *h)
{
    return h->spec_on;
}

const char *
sgs_pe_hash_error(const sgs_pe_hasher *h)
{
    return h->err;
}
