/*
 * pe.c - bounds-checked PE/COFF reader for Authenticode.
 *
 * DESIGN: owns three things, all over caller-supplied bytes, no I/O.
 *   1. The header walk (sgs_pe_parse): DOS header -> "PE\0\0" -> COFF -> optional header ->
 *      data directory 4 -> section table. Every offset is a uint64_t checked against the
 *      file size (MALFORMED) before it is checked against the bytes we were given
 *      (NEED_MORE); nothing past headers_end is ever read. From the header alone it derives
 *      the flat ranges (file order, what osslsigncode and Windows tools hash) and the spec
 *      ranges (the Authenticode PE document's section-sorted algorithm, what EDK2, shim and
 *      sbsign hash).
 *   2. The streaming hasher: the file arrives once, in order, in chunks of any size. Each
 *      chunk is cut against the two range lists; flat and spec share one EVP context per
 *      digest until their byte streams diverge, then the spec context is forked by
 *      EVP_MD_CTX_copy_ex. Three byte windows are copied on the way: the header prefix (it is
 *      parsed again and must give the same ranges: pitfall 10), the certificate table, and
 *      the spec "replay" (the extra data the spec re-hashes after section gaps).
 *
 *          chunk ──► capture(header, table, replay) ──► flat ranges ──fork──► spec ranges
 *
 *   3. The WIN_CERTIFICATE walk and the DER span of the blob inside an entry (CVE-2013-3900).
 *
 * Invariants: flat ranges are sorted and disjoint; spec ranges are too except for at most one
 * replay range, which ends where the range before it ends and is at most SGS_PE_MAX_REPLAY
 * long; the hasher consumes each range strictly from its start (checked, not assumed).
 */
#include "pe.h"

#include "alloc.h"
#include "err.h"

#include <limits.h>
#include <openssl/asn1.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PE_SECTION_SIZE 40u
#define PE_COFF_SIZE 20u

static uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t
max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

__attribute__((format(printf, 3, 4))) static void
say(char *buf, size_t n, const char *fmt, ...)
{
    if (buf == NULL || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

const char *
sgs_pe_anomaly_text(unsigned bit)
{
    switch (bit) {
    case SGS_PE_A_UNALIGNED:
        return "certificate table offset is not a multiple of 8";
    case SGS_PE_A_TRAILING:
        return "data after the certificate table (not covered by the signature)";
    case SGS_PE_A_OVERLAP_HEADERS:
        return "certificate table starts inside SizeOfHeaders";
    case SGS_PE_A_OVERLAP_SECTION:
        return "certificate table overlaps a section's raw data";
    case SGS_PE_A_FEW_RVAS:
        return "NumberOfRvaAndSizes < 5 but the certificate-table entry is set";
    case SGS_PE_A_EMPTY_ENTRY:
        return "certificate-table entry has an offset but size 0";
    case SGS_PE_A_CERT_SUM:
        return "WIN_CERTIFICATE lengths do not add up to the table size";
    case SGS_PE_A_CERT_PADDING:
        return "non-zero bytes in WIN_CERTIFICATE padding";
    case SGS_PE_A_CERT_MANY:
        return "more WIN_CERTIFICATE entries than examined";
    default:
        return "unknown PE anomaly";
    }
}

/* ---- header walk ---------------------------------------------------------------------- */

static sgs_pe_status
need_more(sgs_pe_info *info, uint64_t need)
{
    info->need = min64(need, info->file_size);
    return SGS_PE_NEED_MORE;
}

static int
cmp_range(const void *a, const void *b)
{
    const sgs_pe_range *const x = a, *const y = b;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Appends [off, off + len) to r[0..*n), merging with an adjacent forward predecessor. */
static void
push_range(sgs_pe_range *r, unsigned *n, uint64_t off, uint64_t len, int mergeable)
{
    if (len == 0)
        return;
    if (mergeable && *n > 0 && r[*n - 1].off + r[*n - 1].len == off) {
        r[*n - 1].len += len;
        return;
    }
    r[*n].off = off;
    r[*n].len = len;
    (*n)++;
}

/* [0, end) without the checksum and the directory entry (both lie in the headers). */
static void
build_flat(sgs_pe_info *info, uint64_t end)
{
    const sgs_pe_range cuts[2] = {{info->checksum_off, 4}, {info->certdir_off, 8}};
    uint64_t cursor = 0;
    info->nflat = 0;
    for (size_t i = 0; i < 2; i++) {
        const uint64_t stop = min64(cuts[i].off, end);
        if (stop > cursor)
            push_range(info->flat, &info->nflat, cursor, stop - cursor, 0);
        cursor = max64(cursor, cuts[i].off + cuts[i].len);
    }
    if (end > cursor)
        push_range(info->flat, &info->nflat, cursor, end - cursor, 0);
}

/*
 * The Authenticode PE document's algorithm (EDK2 HashPeImage, sbsign image_find_regions):
 *   1. headers [0, SizeOfHeaders) without CheckSum and the directory entry;
 *   2. SUM = SizeOfHeaders; each section with SizeOfRawData != 0, sorted by PointerToRawData,
 *      hashed and added to SUM;
 *   3. "extra data": [SUM, end) when end > SUM, end = FILE_SIZE - CertTable.Size.
 * Step 3 starts at SUM as a *count*: with gaps between sections it starts before the last
 * section's end, so [SUM, last_end) is hashed a second time (the replay) and then
 * [last_end, end). Single forward pass otherwise; anything else gets spec_ok = 0.
 */
static void
build_spec(sgs_pe_info *info, const uint8_t *sect, sgs_pe_range *scratch, size_t scratch_cap)
{
    const uint64_t end = info->has_table ? info->cert_off : info->file_size;
    const uint64_t soh = info->size_of_headers;
    char *const why = info->spec_why;
    const size_t wl = sizeof(info->spec_why);

    if (soh < info->headers_end) {
        say(why, wl, "SizeOfHeaders 0x%llx ends inside the section table (ends 0x%llx)",
            (unsigned long long)soh, (unsigned long long)info->headers_end);
        return;
    }
    if (soh > end) {
        say(why, wl, "SizeOfHeaders 0x%llx is past the image data (0x%llx)",
            (unsigned long long)soh, (unsigned long long)end);
        return;
    }
    if (info->has_table && (uint64_t)info->cert_off + info->cert_size != info->file_size) {
        say(why, wl, "certificate table is not at the end of the file");
        return;
    }

    const size_t cap = (size_t)info->nsections + 5u;
    sgs_pe_range *r = scratch;
    if (r == NULL) {
        r = sgs_calloc(info->alloc, cap, sizeof(*r));
        if (r == NULL) {
            say(why, wl, "out of memory");
            return;
        }
    } else if (scratch_cap < cap) {
        say(why, wl, "section table differs");
        return;
    }

    /* Sections go to r[3..]; the header ranges (<= 3) and merging never overtake them. */
    size_t k = 0;
    for (size_t i = 0; i < info->nsections; i++) {
        const uint8_t *const s = sect + i * PE_SECTION_SIZE;
        const uint32_t raw = rd32(s + 16), ptr = rd32(s + 20);
        if (raw == 0)
            continue;
        r[3 + k].off = ptr;
        r[3 + k].len = raw;
        k++;
    }
    qsort(r + 3, k, sizeof(*r), cmp_range);

    unsigned n = 0;
    push_range(r, &n, 0, info->checksum_off, 1);
    push_range(r, &n, info->checksum_off + 4, info->certdir_off - (info->checksum_off + 4), 1);
    push_range(r, &n, info->certdir_off + 8, soh - (info->certdir_off + 8), 1);
    uint64_t last_end = soh, sum = soh;
    for (size_t i = 0; i < k; i++) {
        const uint64_t off = r[3 + i].off, len = r[3 + i].len;
        if (off < last_end) {
            const char *const what = i == 0 ? "headers" : "previous section";
            say(why, wl, "section raw data at 0x%llx overlaps the %s (ending 0x%llx)",
                (unsigned long long)off, what, (unsigned long long)last_end);
            goto fail;
        }
        if (off + len > end) {
            say(why, wl, "section raw data 0x%llx+0x%llx runs past the image data (0x%llx)",
                (unsigned long long)off, (unsigned long long)len, (unsigned long long)end);
            goto fail;
        }
        push_range(r, &n, off, len, 1);
        last_end = off + len;
        sum += len;
    }
    if (sum < last_end) {
        if (last_end - sum > SGS_PE_MAX_REPLAY) {
            say(why, wl, "section gaps of %llu bytes exceed the replay cap",
                (unsigned long long)(last_end - sum));
            goto fail;
        }
        push_range(r, &n, sum, last_end - sum, 0);
        push_range(r, &n, last_end, end - last_end, 0);
    } else {
        push_range(r, &n, last_end, end - last_end, 1);
    }
    info->spec = r;
    info->nspec = n;
    info->spec_ok = 1;
    return;
fail:
    if (r != scratch)
        sgs_free(info->alloc, r);
}

static sgs_pe_status
parse_impl(const sgs_allocator *a, const uint8_t *buf, size_t len, uint64_t file_size,
           sgs_pe_info *info, char *why, size_t whylen, sgs_pe_range *scratch, size_t scratch_cap)
{
    memset(info, 0, sizeof(*info));
    info->alloc = a;
    info->file_size = file_size;
    say(why, whylen, "%s", "");
    const uint64_t avail = min64(len, file_size);

    if (file_size < 2) {
        say(why, whylen, "no MZ signature");
        return SGS_PE_NOT_PE;
    }
    if (avail < 2)
        return need_more(info, 64);
    if (buf[0] != 'M' || buf[1] != 'Z') {
        say(why, whylen, "no MZ signature");
        return SGS_PE_NOT_PE;
    }
    if (file_size < 64) {
        say(why, whylen, "MZ file too short for e_lfanew");
        return SGS_PE_NOT_PE;
    }
    if (avail < 64)
        return need_more(info, 64);

    const uint64_t pe = rd32(buf + 0x3C);
    const uint64_t opt = pe + 4 + PE_COFF_SIZE;
    if (opt > SGS_PE_MAX_HEADERS) {
        say(why, whylen, "e_lfanew 0x%llx is past the %u MiB header cap", (unsigned long long)pe,
            SGS_PE_MAX_HEADERS >> 20);
        return SGS_PE_MALFORMED;
    }
    if (pe + 4 > file_size) {
        say(why, whylen, "e_lfanew 0x%llx is past the end of the file (%llu bytes)",
            (unsigned long long)pe, (unsigned long long)file_size);
        return SGS_PE_MALFORMED;
    }
    if (pe + 4 > avail)
        return need_more(info, opt);
    if (memcmp(buf + pe, "PE\0\0", 4) != 0) {
        say(why, whylen, "no PE signature at e_lfanew 0x%llx", (unsigned long long)pe);
        return SGS_PE_NOT_PE;
    }
    if (opt > file_size) {
        say(why, whylen, "COFF header cut off by the end of the file");
        return SGS_PE_MALFORMED;
    }
    if (opt > avail)
        return need_more(info, opt);

    const uint8_t *const coff = buf + pe + 4;
    info->machine = rd16(coff);
    info->nsections = rd16(coff + 2);
    const uint64_t sopt = rd16(coff + 16);
    if (info->nsections > SGS_PE_MAX_SECTIONS) {
        say(why, whylen, "NumberOfSections %u exceeds the cap of %u", info->nsections,
            SGS_PE_MAX_SECTIONS);
        return SGS_PE_MALFORMED;
    }
    const uint64_t sect = opt + sopt;
    const uint64_t sect_end = sect + (uint64_t)info->nsections * PE_SECTION_SIZE;
    if (sect_end > SGS_PE_MAX_HEADERS) {
        say(why, whylen, "section table ends past the %u MiB header cap", SGS_PE_MAX_HEADERS >> 20);
        return SGS_PE_MALFORMED;
    }
    if (sect > file_size) {
        say(why, whylen, "optional header cut off by the end of the file");
        return SGS_PE_MALFORMED;
    }
    if (sect_end > file_size) {
        say(why, whylen, "section table (%u sections) runs past the end of the file",
            info->nsections);
        return SGS_PE_MALFORMED;
    }
    if (sect_end > avail)
        return need_more(info, sect_end);
    info->headers_end = sect_end;

    /* Everything below reads inside [0, sect_end), which is in buf. */
    if (sopt < 96 + 5 * 8) {
        say(why, whylen, "SizeOfOptionalHeader %llu is too small for data directory 4",
            (unsigned long long)sopt);
        return SGS_PE_MALFORMED;
    }
    const uint16_t magic = rd16(buf + opt);
    if (magic == 0x10B) {
        info->pe32plus = 0;
    } else if (magic == 0x20B) {
        info->pe32plus = 1;
    } else {
        say(why, whylen, "optional header magic 0x%x is %s", magic,
            magic == 0x107 ? "a ROM image (unsupported)" : "neither PE32 nor PE32+");
        return SGS_PE_MALFORMED;
    }
    const uint64_t dirs = info->pe32plus ? 112 : 96;
    if (sopt < dirs + 5 * 8) {
        say(why, whylen, "SizeOfOptionalHeader %llu is too small for data directory 4",
            (unsigned long long)sopt);
        return SGS_PE_MALFORMED;
    }
    info->nrva = rd32(buf + opt + dirs - 4);
    if (sopt < dirs + 8 * min64(info->nrva, 16)) {
        say(why, whylen, "SizeOfOptionalHeader %llu is too small for %u data directories",
            (unsigned long long)sopt, info->nrva);
        return SGS_PE_MALFORMED;
    }
    info->size_of_headers = rd32(buf + opt + 60);
    info->checksum_off = opt + 64;
    info->checksum = rd32(buf + info->checksum_off);
    info->certdir_off = opt + dirs + 4 * 8;
    info->cert_off = rd32(buf + info->certdir_off);
    info->cert_size = rd32(buf + info->certdir_off + 4);

    uint64_t end = file_size;
    if (info->cert_size == 0) {
        if (info->cert_off != 0)
            info->anomalies |= SGS_PE_A_EMPTY_ENTRY;
        info->pad = (unsigned)((8 - file_size % 8) % 8);
    } else {
        const uint64_t toff = info->cert_off, tend = toff + info->cert_size;
        info->has_table = 1;
        if (tend > file_size) {
            say(why, whylen,
                "certificate table 0x%llx+0x%x ends past the end of the file (%llu bytes)",
                (unsigned long long)toff, info->cert_size, (unsigned long long)file_size);
            return SGS_PE_MALFORMED;
        }
        if (toff < sect_end) {
            say(why, whylen, "certificate table at 0x%llx starts inside the PE headers",
                (unsigned long long)toff);
            return SGS_PE_MALFORMED;
        }
        if (info->nrva < 5)
            info->anomalies |= SGS_PE_A_FEW_RVAS;
        if (toff % 8 != 0)
            info->anomalies |= SGS_PE_A_UNALIGNED;
        if (tend < file_size) {
            info->anomalies |= SGS_PE_A_TRAILING;
            info->trailing = file_size - tend;
        }
        if (toff < info->size_of_headers)
            info->anomalies |= SGS_PE_A_OVERLAP_HEADERS;
        for (size_t i = 0; i < info->nsections; i++) {
            const uint8_t *const s = buf + sect + i * PE_SECTION_SIZE;
            const uint64_t raw = rd32(s + 16), ptr = rd32(s + 20);
            if (raw != 0 && ptr < tend && toff < min64(ptr + raw, file_size))
                info->anomalies |= SGS_PE_A_OVERLAP_SECTION;
        }
        end = toff;
    }
    build_flat(info, end);
    build_spec(info, buf + sect, scratch, scratch_cap);
    return SGS_PE_OK;
}

sgs_pe_status
sgs_pe_parse_alloc(const sgs_allocator *a, const uint8_t *buf, size_t len, uint64_t file_size,
                   sgs_pe_info *info, char *why, size_t whylen)
{
    return parse_impl(a, buf, len, file_size, info, why, whylen, NULL, 0);
}

sgs_pe_status
sgs_pe_parse(const uint8_t *buf, size_t len, uint64_t file_size, sgs_pe_info *info, char *why,
             size_t whylen)
{
    return parse_impl(NULL, buf, len, file_size, info, why, whylen, NULL, 0);
}

void
sgs_pe_info_free(sgs_pe_info *info)
{
    if (info == NULL)
        return;
    sgs_free(info->alloc, info->spec);
    info->spec = NULL;
    info->nspec = 0;
    info->spec_ok = 0;
}

/* Index of the replay range (one starting before the furthest end so far), or nspec. */
static size_t
find_replay(const sgs_pe_range *r, size_t n)
{
    uint64_t far = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].off < far)
            return i;
        far = max64(far, r[i].off + r[i].len);
    }
    return n;
}

size_t
sgs_pe_spec_gaps(const sgs_pe_info *info, sgs_pe_range *out, size_t max)
{
    if (!info->spec_ok || info->spec == NULL)
        return 0;
    const uint64_t end = info->has_table ? info->cert_off : info->file_size;
    const size_t rp = find_replay(info->spec, info->nspec);
    /* The forward ranges are sorted; merge in the (sorted) few others. */
    sgs_pe_range extra[3] = {{info->checksum_off, 4}, {info->certdir_off, 8}, {UINT64_MAX, 0}};
    size_t nextra = 2;
    if (rp < info->nspec)
        extra[nextra++] = info->spec[rp];
    qsort(extra, nextra, sizeof(extra[0]), cmp_range);

    uint64_t cursor = 0;
    size_t count = 0, i = 0, j = 0;
    for (;;) {
        if (i == rp)
            i++;
        const sgs_pe_range *r;
        if (i < info->nspec && (j >= nextra || info->spec[i].off <= extra[j].off))
            r = &info->spec[i++];
        else if (j < nextra)
            r = &extra[j++];
        else
            break;
        const uint64_t stop = min64(r->off, end);
        if (stop > cursor) {
            if (count < max) {
                out[count].off = cursor;
                out[count].len = stop - cursor;
            }
            count++;
        }
        cursor = max64(cursor, r->off + r->len);
    }
    if (end > cursor) {
        if (count < max) {
            out[count].off = cursor;
            out[count].len = end - cursor;
        }
        count++;
    }
    return count;
}

/* ---- streaming hasher ----------------------------------------------------------------- */

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
    const size_t rp = find_replay(r, n);
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

    const size_t nspec = info->spec_ok ? info->nspec : 0;
    const size_t rp = info->spec_ok ? find_replay(info->spec, nspec) : nspec;
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
    const sgs_pe_status st = parse_impl(NULL, hdr, (size_t)h->hdr_len, h->file_size, &again, why,
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

/* ---- WIN_CERTIFICATE walk and DER span ------------------------------------------------ */

static int
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

int
sgs_pe_certs(const uint8_t *table, size_t len, sgs_pe_cert *out, size_t max, size_t *n,
             unsigned *anomalies, char *why, size_t whylen)
{
    size_t count = 0, pos = 0;
    *n = 0;
    say(why, whylen, "%s", "");
    if (len < 8) {
        say(why, whylen, "certificate table of %zu bytes is shorter than a WIN_CERTIFICATE", len);
        return 0;
    }
    while (pos < len) {
        const size_t rem = len - pos;
        const uint32_t length = rem >= 8 ? rd32(table + pos) : 0;
        if (length < 8) {
            if (count > 0 && all_zero(table + pos, rem)) {
                *anomalies |= SGS_PE_A_CERT_SUM;
                break;
            }
            if (rem < 8)
                say(why, whylen, "%zu stray bytes after the last WIN_CERTIFICATE", rem);
            else
                say(why, whylen, "WIN_CERTIFICATE at +%zu: dwLength %u < 8", pos, length);
            return 0;
        }
        if (length > rem) {
            say(why, whylen, "WIN_CERTIFICATE at +%zu: dwLength %u runs past the table (%zu left)",
                pos, length, rem);
            return 0;
        }
        if (count < max) {
            sgs_pe_cert *const c = &out[count];
            c->off = pos;
            c->length = length;
            c->revision = rd16(table + pos + 4);
            c->type = rd16(table + pos + 6);
            c->data = table + pos + 8;
            c->data_len = length - 8u;
        }
        count++;
        const size_t padded = ((size_t)length + 7u) & ~(size_t)7u;
        if (padded > rem) { /* the last entry's padding is missing */
            *anomalies |= SGS_PE_A_CERT_SUM;
            break;
        }
        if (!all_zero(table + pos + length, padded - length))
            *anomalies |= SGS_PE_A_CERT_PADDING;
        pos += padded;
    }
    *n = count;
    if (count > max)
        *anomalies |= SGS_PE_A_CERT_MANY;
    return 1;
}

int
sgs_pe_der_span(const uint8_t *p, size_t n, size_t *span, char *why, size_t whylen)
{
    *span = 0;
    say(why, whylen, "%s", "");
    if (n == 0) {
        say(why, whylen, "no DER bytes");
        return 0;
    }
    const unsigned char *q = p;
    long clen = 0;
    int tag = 0, cls = 0;
    const long omax = n > (size_t)LONG_MAX ? LONG_MAX : (long)n;
    const int r = ASN1_get_object(&q, &clen, &tag, &cls, omax);
    if (r & 0x80) {
        char buf[100];
        say(why, whylen, "bad DER header: %s", sgs_crypto_error(buf, sizeof(buf)));
        return 0;
    }
    if (r & 0x01) {
        say(why, whylen, "indefinite length (BER, not DER)");
        return 0;
    }
    const size_t hdr = (size_t)(q - p);
    if (clen < 0 || hdr > n || (unsigned long)clen > n - hdr) {
        say(why, whylen, "DER length runs past the data");
        return 0;
    }
    *span = hdr + (size_t)clen;
    return 1;
}

int
sgs_pe_cert_stuffed(const sgs_pe_cert *c, size_t span)
{
    if (span >= c->data_len)
        return 0;
    const size_t extra = c->data_len - span;
    return extra >= 8 || c->length % 8 != 0 || !all_zero(c->data + span, extra);
}
