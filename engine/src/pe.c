/*
 * pe.c - bounds-checked PE/COFF reader for Authenticode.
 *
 * DESIGN: owns two things, all over caller-supplied bytes, no I/O (the third part of the PE
 * layer, the streaming image hasher, is pe_hash.c).
 *   1. The header walk (sgs_pe_parse): DOS header -> "PE\0\0" -> COFF -> optional header ->
 *      data directory 4 -> section table. Every offset is a uint64_t checked against the
 *      file size (MALFORMED) before it is checked against the bytes we were given
 *      (NEED_MORE); nothing past headers_end is ever read. From the header alone it derives
 *      the flat ranges (file order, what osslsigncode and Windows tools hash) and the spec
 *      ranges (the Authenticode PE document's section-sorted algorithm, what EDK2, shim and
 *      sbsign hash).
 *   2. The WIN_CERTIFICATE walk and the DER span of the blob inside an entry (CVE-2013-3900).
 *
 * Invariants: flat ranges are sorted and disjoint; spec ranges are too except for at most one
 * replay range, which ends where the range before it ends and is at most SGS_PE_MAX_REPLAY
 * long (sgs_pe_find_replay names it).
 */
#include "pe_impl.h"

#include "alloc.h"
#include "err.h"

#include <limits.h>
#include <openssl/asn1.h>
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

sgs_pe_status
sgs_pe_parse_scratch(const sgs_allocator *a, const uint8_t *buf, size_t len, uint64_t file_size,
                     sgs_pe_info *info, char *why, size_t whylen, sgs_pe_range *scratch,
                     size_t scratch_cap)
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
    return sgs_pe_parse_scratch(a, buf, len, file_size, info, why, whylen, NULL, 0);
}

sgs_pe_status
sgs_pe_parse(const uint8_t *buf, size_t len, uint64_t file_size, sgs_pe_info *info, char *why,
             size_t whylen)
{
    return sgs_pe_parse_scratch(NULL, buf, len, file_size, info, why, whylen, NULL, 0);
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

size_t
sgs_pe_find_replay(const sgs_pe_range *r, size_t n)
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
    const size_t rp = sgs_pe_find_replay(info->spec, info->nspec);
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
