/*
 * pe_test.c - the PE/COFF layer for Authenticode, against synthetic PE32 and PE32+ images built
 * here: parsed fields; the flat hash equals a SHA-256 of a copy with the checksum, directory
 * entry and table cut out (and the unsigned file padded to 8); the spec hash equals a literal
 * EDK2-style computation, equals flat on a normal layout and differs across a section gap;
 * overlapping sections give spec_ok = 0; every chunking (1, 7, 64 KiB, random, whole) gives
 * the same digests; NOT_PE, NEED_MORE, each MALFORMED case and each anomaly; the
 * WIN_CERTIFICATE walk and DER span; hasher misuse, changed headers and failed allocations.
 *
 * `pe_test --write-seeds DIR` writes the tiny fuzz seeds (tests/fuzz/seeds/pe) from the same
 * builder.
 */
#include "pe.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <openssl/err.h>
#include <openssl/evp.h>

static sgs_test_rng rng;

/* ---- the image builder -------------------------------------------------------------- */

typedef struct tsec {
    uint32_t ptr, raw;
} tsec;

typedef struct tlayout {
    int pe32plus;
    uint32_t lfanew; /* 0: 0x80 */
    uint16_t sopt;   /* 0: 0xE0 (PE32) / 0xF0 (PE32+) */
    uint16_t magic;  /* 0: by pe32plus */
    uint32_t nrva;   /* 0: 16 */
    uint32_t soh;    /* SizeOfHeaders */
    unsigned nsec;
    tsec sec[12];
    uint64_t image_end; /* 0: the end of the furthest section (or soh) */
    const uint8_t *table;
    size_t table_len;
    int unaligned;   /* table at image_end exactly, not rounded up to 8 */
    size_t trailing; /* bytes after the table */
    int set_entry;   /* write entry_off/entry_size instead of the table's */
    uint32_t entry_off, entry_size;
} tlayout;

typedef struct texp {
    uint64_t checksum_off, certdir_off, cert_off, cert_size, headers_end;
    int has_table;
} texp;

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Random bytes everywhere (so any mis-cut range changes a digest), then the fields. */
static uint8_t *
build(const tlayout *L, size_t *len, texp *e)
{
    const uint32_t pe = L->lfanew ? L->lfanew : 0x80;
    const uint16_t sopt = L->sopt ? L->sopt : (L->pe32plus ? 0xF0 : 0xE0);
    const uint64_t opt = pe + 24u, dirs = L->pe32plus ? 112 : 96;
    const uint64_t sect = opt + sopt;
    uint64_t image_end = L->image_end;
    if (image_end == 0) {
        image_end = L->soh;
        for (unsigned i = 0; i < L->nsec; i++)
            if ((uint64_t)L->sec[i].ptr + L->sec[i].raw > image_end)
                image_end = (uint64_t)L->sec[i].ptr + L->sec[i].raw;
    }
    const uint64_t toff = L->table_len > 0 && !L->unaligned ? (image_end + 7) & ~7ull : image_end;
    const uint64_t size = toff + L->table_len + L->trailing;
    uint8_t *const b = malloc(size + 1);
    REQUIRE(b != NULL);
    sgs_test_fill(&rng, b, size);
    memset(b + image_end, 0, toff - image_end); /* a signer's alignment padding */
    b[0] = 'M';
    b[1] = 'Z';
    put32(b + 0x3C, pe);
    memcpy(b + pe, "PE\0\0", 4);
    put16(b + pe + 4, L->pe32plus ? 0x8664 : 0x14C);
    put16(b + pe + 6, (uint16_t)L->nsec);
    put16(b + pe + 20, sopt);
    put16(b + opt, L->magic ? L->magic : (L->pe32plus ? 0x20B : 0x10B));
    put32(b + opt + 60, L->soh);
    put32(b + opt + dirs - 4, L->nrva ? L->nrva : 16);
    e->checksum_off = opt + 64;
    e->certdir_off = opt + dirs + 32;
    e->headers_end = sect + 40ull * L->nsec;
    e->has_table = L->table_len > 0;
    e->cert_off = L->table_len > 0 ? toff : 0;
    e->cert_size = L->table_len;
    if (L->set_entry) {
        e->cert_off = L->entry_off;
        e->cert_size = L->entry_size;
        e->has_table = L->entry_size != 0;
    }
    put32(b + e->certdir_off, (uint32_t)e->cert_off);
    put32(b + e->certdir_off + 4, (uint32_t)e->cert_size);
    for (unsigned i = 0; i < L->nsec && sect + 40ull * i + 40 <= size; i++) {
        put32(b + sect + 40ull * i + 16, L->sec[i].raw);
        put32(b + sect + 40ull * i + 20, L->sec[i].ptr);
    }
    if (L->table_len > 0)
        memcpy(b + toff, L->table, L->table_len);
    *len = (size_t)size;
    return b;
}

/* A WIN_CERTIFICATE table of `n` entries with bCertificate sizes `sizes` (a DER SEQUENCE
   each, padded with zeros to 8). */
static uint8_t *
make_table(const size_t *sizes, size_t n, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (8 + sizes[i] + 7) & ~(size_t)7;
    uint8_t *const t = calloc(1, total + 1);
    REQUIRE(t != NULL);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        REQUIRE(sizes[i] >= 4 && sizes[i] < 0x10000 + 4);
        put32(t + pos, (uint32_t)(8 + sizes[i]));
        put16(t + pos + 4, 0x0200);
        put16(t + pos + 6, 0x0002);
        uint8_t *const d = t + pos + 8;
        d[0] = 0x30;
        d[1] = 0x82;
        d[2] = (uint8_t)((sizes[i] - 4) >> 8);
        d[3] = (uint8_t)(sizes[i] - 4);
        sgs_test_fill(&rng, d + 4, sizes[i] - 4);
        pos += (8 + sizes[i] + 7) & ~(size_t)7;
    }
    *len = total;
    return t;
}

/* ---- independent reference digests -------------------------------------------------- */

static void
digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out, unsigned *outlen)
{
    REQUIRE(EVP_Digest(p, n, out, outlen, md, NULL) == 1);
}

/* A copy of the file with the checksum, the directory entry and the table (and what follows
   it) cut out; without a table, padded with zeros to a multiple of 8. */
static void
ref_flat(const uint8_t *b, size_t len, const texp *e, const EVP_MD *md, uint8_t *out,
         unsigned *outlen)
{
    uint8_t *const c = calloc(1, len + 8);
    REQUIRE(c != NULL);
    const size_t end = e->has_table ? (size_t)e->cert_off : len;
    size_t n = 0;
    for (size_t i = 0; i < end; i++) {
        if (i >= e->checksum_off && i < e->checksum_off + 4)
            continue;
        if (i >= e->certdir_off && i < e->certdir_off + 8)
            continue;
        c[n++] = b[i];
    }
    if (!e->has_table)
        n += (8 - len % 8) % 8; /* calloc'd zeros */
    digest(md, c, n, out, outlen);
    free(c);
}

/* The Authenticode PE document's steps, literally (as EDK2 HashPeImage and sbsign do). */
static void
ref_spec(const uint8_t *b0, size_t len0, const texp *e, uint32_t soh, const tlayout *L,
         const EVP_MD *md, uint8_t *out, unsigned *outlen)
{
    const size_t pad = e->has_table ? 0 : (8 - len0 % 8) % 8;
    const size_t len = len0 + pad;
    uint8_t *const b = calloc(1, len + 1);
    REQUIRE(b != NULL);
    memcpy(b, b0, len0);
    EVP_MD_CTX *const ctx = EVP_MD_CTX_new();
    REQUIRE(ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1);
    REQUIRE(EVP_DigestUpdate(ctx, b, e->checksum_off) == 1);
    REQUIRE(EVP_DigestUpdate(ctx, b + e->checksum_off + 4, e->certdir_off - e->checksum_off - 4) ==
            1);
    REQUIRE(EVP_DigestUpdate(ctx, b + e->certdir_off + 8, soh - e->certdir_off - 8) == 1);
    tsec s[12];
    unsigned n = 0;
    for (unsigned i = 0; i < L->nsec; i++)
        if (L->sec[i].raw != 0)
            s[n++] = L->sec[i];
    for (unsigned i = 1; i < n; i++) /* insertion sort by PointerToRawData */
        for (unsigned j = i; j > 0 && s[j - 1].ptr > s[j].ptr; j--) {
            const tsec t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    size_t sum = soh;
    for (unsigned i = 0; i < n; i++) {
        REQUIRE(EVP_DigestUpdate(ctx, b + s[i].ptr, s[i].raw) == 1);
        sum += s[i].raw;
    }
    const size_t cert = e->has_table ? (size_t)e->cert_size : 0;
    if (len > sum + cert)
        REQUIRE(EVP_DigestUpdate(ctx, b + sum, len - cert - sum) == 1);
    REQUIRE(EVP_DigestFinal_ex(ctx, out, outlen) == 1);
    EVP_MD_CTX_free(ctx);
    free(b);
}

/* ---- feeding the hasher --------------------------------------------------------------- */

enum { FEED_WHOLE = 0, FEED_RANDOM = -1 };

typedef struct thash {
    uint8_t flat[SGS_PE_MAX_MD][64], spec[SGS_PE_MAX_MD][64];
    unsigned mdlen[SGS_PE_MAX_MD];
    const uint8_t *table;
    size_t table_len;
} thash;

/* Feeds b in chunks of `chunk` bytes (or random sizes); returns the hasher's verdict. */
static int
hash_file(sgs_pe_hasher *h, const sgs_pe_info *info, const uint8_t *b, size_t len, long chunk,
          const EVP_MD *const *mds, unsigned nmd, int want_spec, thash *out)
{
    char why[128];
    memset(out, 0, sizeof(*out));
    if (!sgs_pe_hash_begin(h, info, mds, nmd, want_spec, why, sizeof(why)))
        return 0;
    size_t pos = 0;
    while (pos < len) {
        size_t n = chunk == FEED_WHOLE    ? len - pos
                   : chunk == FEED_RANDOM ? 1 + (size_t)(sgs_test_rand(&rng) % 100000)
                                          : (size_t)chunk;
        if (n > len - pos)
            n = len - pos;
        if (!sgs_pe_hash_update(h, pos, b + pos, n))
            return 0;
        pos += n;
    }
    return sgs_pe_hash_end(h, out->flat, out->spec, out->mdlen, &out->table, &out->table_len);
}

static const long chunks[] = {FEED_WHOLE, 1, 7, 65536, FEED_RANDOM};
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

/*
 * Parses the layout's image and checks, for every chunking, the flat digests against
 * ref_flat, the spec digests against ref_spec (when spec_ok) and the copied table. Returns
 * whether the spec digest differed from the flat one (-1 if spec_ok = 0).
 */
static int
check_hashes(sgs_pe_hasher *h, const tlayout *L, int expect_spec_ok)
{
    size_t len;
    texp e;
    uint8_t *const b = build(L, &len, &e);
    sgs_pe_info info;
    char why[128];
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.spec_ok, expect_spec_ok);
    const EVP_MD *const mds[] = {EVP_sha256(), EVP_sha1(), EVP_sha512(), EVP_sha384()};
    uint8_t want_flat[4][64], want_spec[4][64];
    unsigned wl = 0;
    for (int m = 0; m < 4; m++) {
        ref_flat(b, len, &e, mds[m], want_flat[m], &wl);
        ref_spec(b, len, &e, L->soh, L, mds[m], want_spec[m], &wl);
    }
    int differs = -1;
    for (size_t c = 0; c < NCHUNKS; c++) {
        for (unsigned nmd = 1; nmd <= 4; nmd += 3) { /* one digest, and four at once */
            thash out;
            const int ok = hash_file(h, &info, b, len, chunks[c], mds, nmd, 1, &out);
            CHECK(ok);
            if (!ok) {
                fprintf(stderr, "chunk %ld: %s\n", chunks[c], sgs_pe_hash_error(h));
                continue;
            }
            CHECK_EQ_INT(sgs_pe_hash_has_spec(h), expect_spec_ok);
            for (unsigned m = 0; m < nmd; m++) {
                CHECK_EQ_INT(out.mdlen[m], EVP_MD_get_size(mds[m]));
                CHECK_EQ_MEM(out.flat[m], want_flat[m], out.mdlen[m]);
                if (expect_spec_ok) {
                    CHECK_EQ_MEM(out.spec[m], want_spec[m], out.mdlen[m]);
                    differs = memcmp(out.spec[m], out.flat[m], out.mdlen[m]) != 0;
                }
            }
            CHECK_EQ_INT(out.table_len, e.has_table ? e.cert_size : 0);
            if (e.has_table && out.table != NULL)
                CHECK_EQ_MEM(out.table, b + e.cert_off, out.table_len);
        }
    }
    sgs_pe_info_free(&info);
    free(b);
    return differs;
}

/* ---- layouts ---------------------------------------------------------------------------- */

/* Three contiguous sections after 0x400 bytes of headers, sizes chosen to straddle 64 KiB. */
static tlayout
normal_layout(int pe32plus, const uint8_t *table, size_t table_len)
{
    tlayout L;
    memset(&L, 0, sizeof(L));
    L.pe32plus = pe32plus;
    L.soh = 0x400;
    L.nsec = 3;
    L.sec[0] = (tsec){0x400, 0x11000};
    L.sec[1] = (tsec){0x11400, 0x200};
    L.sec[2] = (tsec){0x11600, 0x8e00};
    L.table = table;
    L.table_len = table_len;
    return L;
}

static void
test_fields(void)
{
    const size_t sizes[] = {1200};
    size_t tlen;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    for (int plus = 0; plus <= 1; plus++) {
        const tlayout L = normal_layout(plus, table, tlen);
        size_t len;
        texp e;
        uint8_t *const b = build(&L, &len, &e);
        sgs_pe_info info;
        char why[128];
        CHECK_EQ_INT(sgs_pe_parse(b, len, len, &info, why, sizeof(why)), SGS_PE_OK);
        CHECK_EQ_INT(info.pe32plus, plus);
        CHECK_EQ_INT(info.machine, plus ? 0x8664 : 0x14C);
        CHECK_EQ_INT(info.nsections, 3);
        CHECK_EQ_INT(info.checksum_off, 0x80 + 24 + 64);
        CHECK_EQ_INT(info.certdir_off, 0x80 + 24 + (plus ? 144 : 128));
        CHECK_EQ_INT(info.checksum, b[info.checksum_off] | b[info.checksum_off + 1] << 8 |
                                        b[info.checksum_off + 2] << 16 |
                                        (uint32_t)b[info.checksum_off + 3] << 24);
        CHECK_EQ_INT(info.cert_off, e.cert_off);
        CHECK_EQ_INT(info.cert_size, tlen);
        CHECK_EQ_INT(info.has_table, 1);
        CHECK_EQ_INT(info.size_of_headers, 0x400);
        CHECK_EQ_INT(info.headers_end, e.headers_end);
        CHECK_EQ_INT(info.file_size, len);
        CHECK_EQ_INT(info.anomalies, 0);
        CHECK_EQ_INT(info.pad, 0);
        CHECK_EQ_INT(info.nrva, 16);
        /* flat: exactly three ranges around the two fields, up to the table */
        CHECK_EQ_INT(info.nflat, 3);
        CHECK_EQ_INT(info.flat[0].off, 0);
        CHECK_EQ_INT(info.flat[0].len, e.checksum_off);
        CHECK_EQ_INT(info.flat[1].off, e.checksum_off + 4);
        CHECK_EQ_INT(info.flat[1].len, e.certdir_off - e.checksum_off - 4);
        CHECK_EQ_INT(info.flat[2].off, e.certdir_off + 8);
        CHECK_EQ_INT(info.flat[2].off + info.flat[2].len, e.cert_off);
        /* spec on a gap-free layout merges into the same three ranges */
        CHECK_EQ_INT(info.spec_ok, 1);
        CHECK_EQ_INT(info.nspec, 3);
        if (info.nspec == 3)
            CHECK_EQ_MEM(info.spec, info.flat, sizeof(info.flat[0]) * 3);
        sgs_pe_range gaps[4];
        CHECK_EQ_INT(sgs_pe_spec_gaps(&info, gaps, 4), 0);
        sgs_pe_info_free(&info);
        CHECK(info.spec == NULL);
        sgs_pe_info_free(&info); /* twice is fine */
        free(b);
    }
    free(table);
}

static void
test_hashes(void)
{
    sgs_pe_hasher *const h = sgs_pe_hasher_new();
    REQUIRE(h != NULL);
    const size_t sizes[] = {1500, 300};
    size_t tlen;
    uint8_t *const table = make_table(sizes, 2, &tlen);

    for (int plus = 0; plus <= 1; plus++) {
        /* normal, signed: spec == flat */
        tlayout L = normal_layout(plus, table, tlen);
        CHECK_EQ_INT(check_hashes(h, &L, 1), 0);
        /* normal, unsigned, odd size: both padded to 8 */
        L = normal_layout(plus, NULL, 0);
        L.sec[2].raw = 0x8e03;
        CHECK_EQ_INT(check_hashes(h, &L, 1), 0);
        /* overlay (debug data, installer payload) before the table: still equal */
        L = normal_layout(plus, table, tlen);
        L.image_end = 0x1a400 + 5000;
        CHECK_EQ_INT(check_hashes(h, &L, 1), 0);
        /* a 4 KiB gap between sections: spec skips it (and replays 4 KiB): differs */
        L = normal_layout(plus, table, tlen);
        L.sec[1].ptr += 0x1000;
        L.sec[2].ptr += 0x1000;
        CHECK_EQ_INT(check_hashes(h, &L, 1), 1);
        /* the same, unsigned (padding after the replay) and with an overlay */
        L.table = NULL;
        L.table_len = 0;
        L.image_end = 0x1b400 + 77;
        CHECK_EQ_INT(check_hashes(h, &L, 1), 1);
        /* a gap larger than the last section: the replay starts inside the gap */
        L = normal_layout(plus, table, tlen);
        L.sec[2] = (tsec){0x11600 + 0x3000, 0x1000};
        CHECK_EQ_INT(check_hashes(h, &L, 1), 1);
        /* a gap between the headers and the first section, and an empty section */
        L = normal_layout(plus, table, tlen);
        L.nsec = 4;
        L.sec[0].ptr += 0x200;
        L.sec[1].ptr += 0x200;
        L.sec[2].ptr += 0x200;
        L.sec[3] = (tsec){0x12345, 0};
        CHECK_EQ_INT(check_hashes(h, &L, 1), 1);
        /* unsorted section table: spec sorts by PointerToRawData */
        L = normal_layout(plus, table, tlen);
        const tsec t = L.sec[0];
        L.sec[0] = L.sec[2];
        L.sec[2] = t;
        CHECK_EQ_INT(check_hashes(h, &L, 1), 0);
        /* overlapping sections: no one-pass spec hash; flat still right */
        L = normal_layout(plus, table, tlen);
        L.sec[1].ptr -= 0x100;
        CHECK_EQ_INT(check_hashes(h, &L, 0), -1);
        /* first section inside SizeOfHeaders (UPX): spec_ok = 0 */
        L = normal_layout(plus, table, tlen);
        L.soh = 0x1000;
        CHECK_EQ_INT(check_hashes(h, &L, 0), -1);
        /* no sections at all */
        L = normal_layout(plus, table, tlen);
        L.nsec = 0;
        L.image_end = 0x3000;
        CHECK_EQ_INT(check_hashes(h, &L, 1), 0);
    }
    free(table);
    sgs_pe_hasher_free(h);
}

/* Random layouts: every parse that succeeds must hash like the references. */
static void
test_random_layouts(void)
{
    sgs_pe_hasher *const h = sgs_pe_hasher_new();
    REQUIRE(h != NULL);
    const size_t sizes[] = {200};
    size_t tlen;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    const EVP_MD *const md[] = {EVP_sha256()};
    unsigned spec_ok = 0, replays = 0;
    for (int iter = 0; iter < 300; iter++) {
        tlayout L;
        memset(&L, 0, sizeof(L));
        L.pe32plus = (int)(sgs_test_rand(&rng) & 1);
        L.soh = 0x200 * (1 + (uint32_t)(sgs_test_rand(&rng) % 3));
        L.nsec = (unsigned)(sgs_test_rand(&rng) % 7);
        uint32_t at = L.soh;
        for (unsigned i = 0; i < L.nsec; i++) {
            const uint64_t r = sgs_test_rand(&rng);
            at += (r & 3) == 0 ? (uint32_t)(r >> 8) % 0x900 : 0; /* sometimes a gap */
            if ((r & 0x30) == 0 && at > 0x300)
                at -= 0x100; /* sometimes an overlap */
            L.sec[i].ptr = at;
            L.sec[i].raw = (r & 0xc0) == 0 ? 0 : 1 + (uint32_t)(r >> 20) % 0x2000;
            at += L.sec[i].raw;
        }
        if (sgs_test_rand(&rng) & 1) {
            L.table = table;
            L.table_len = tlen;
        }
        L.image_end = at + (sgs_test_rand(&rng) & 1 ? (uint32_t)(sgs_test_rand(&rng) % 999) : 0);
        if (L.image_end < L.soh)
            L.image_end = L.soh;
        size_t len;
        texp e;
        uint8_t *const b = build(&L, &len, &e);
        sgs_pe_info info;
        char why[128];
        REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
        uint8_t wf[64], ws[64];
        unsigned wl = 0;
        ref_flat(b, len, &e, md[0], wf, &wl);
        thash out;
        REQUIRE(hash_file(h, &info, b, len, FEED_RANDOM, md, 1, 1, &out));
        CHECK_EQ_MEM(out.flat[0], wf, wl);
        if (info.spec_ok) {
            spec_ok++;
            ref_spec(b, len, &e, L.soh, &L, md[0], ws, &wl);
            CHECK_EQ_MEM(out.spec[0], ws, wl);
            /* uncovered bytes: a bitmap of what ref_spec's ranges touch */
            const size_t end = e.has_table ? (size_t)e.cert_off : len;
            uint8_t *const cov = calloc(1, end + 1);
            REQUIRE(cov != NULL);
            memset(cov, 1, L.soh);
            size_t sum = L.soh;
            for (unsigned i = 0; i < L.nsec; i++) {
                memset(cov + L.sec[i].ptr, 1, L.sec[i].raw);
                sum += L.sec[i].raw;
            }
            if (end > sum)
                memset(cov + sum, 1, end - sum);
            sgs_pe_range gaps[16], want[16];
            size_t nwant = 0;
            for (size_t i = 0; i < end;) {
                if (cov[i]) {
                    i++;
                    continue;
                }
                size_t j = i;
                while (j < end && !cov[j])
                    j++;
                if (nwant < 16)
                    want[nwant] = (sgs_pe_range){i, j - i};
                nwant++;
                i = j;
            }
            const size_t ngaps = sgs_pe_spec_gaps(&info, gaps, 16);
            CHECK_EQ_INT(ngaps, nwant);
            for (size_t i = 0; i < ngaps && i < nwant && i < 16; i++) {
                CHECK_EQ_INT(gaps[i].off, want[i].off);
                CHECK_EQ_INT(gaps[i].len, want[i].len);
            }
            for (size_t i = 1; i < info.nspec; i++)
                replays += info.spec[i].off < info.spec[i - 1].off + info.spec[i - 1].len;
            free(cov);
        }
        sgs_pe_info_free(&info);
        free(b);
    }
    fprintf(stderr, "random layouts: 300, spec_ok %u, with a replay %u\n", spec_ok, replays);
    CHECK(spec_ok > 50 && replays > 20 && spec_ok < 300);
    free(table);
    sgs_pe_hasher_free(h);
}

static void
test_gaps(void)
{
    const size_t sizes[] = {100};
    size_t tlen;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    tlayout L = normal_layout(0, table, tlen);
    L.sec[1].ptr += 0x1000; /* gap [0x11400, 0x12400) */
    L.sec[2].ptr += 0x1000;
    size_t len;
    texp e;
    uint8_t *const b = build(&L, &len, &e);
    sgs_pe_info info;
    char why[128];
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    REQUIRE(info.spec_ok);
    /* two header pieces, the rest of the headers + .text, the two others merged, then the
       replay of the last 4 KiB (SUM = 0x1a400), nothing after (the table is at 0x1b400) */
    CHECK_EQ_INT(info.nspec, 5);
    if (info.nspec == 5) {
        CHECK_EQ_INT(info.spec[2].off + info.spec[2].len, 0x11400);
        CHECK_EQ_INT(info.spec[3].off, 0x12400);
        CHECK_EQ_INT(info.spec[3].len, 0x9000);
        CHECK_EQ_INT(info.spec[4].off, 0x1b400 - 0x1000);
        CHECK_EQ_INT(info.spec[4].len, 0x1000);
    }
    sgs_pe_range g[1];
    CHECK_EQ_INT(sgs_pe_spec_gaps(&info, g, 1), 1);
    CHECK_EQ_INT(g[0].off, 0x11400);
    CHECK_EQ_INT(g[0].len, 0x1000);
    CHECK_EQ_INT(sgs_pe_spec_gaps(&info, NULL, 0), 1);
    sgs_pe_info_free(&info);
    free(b);
    free(table);
}

/* ---- statuses ------------------------------------------------------------------------- */

static sgs_pe_status
parse(const uint8_t *b, size_t len, uint64_t file_size, sgs_pe_info *info, char *why)
{
    const sgs_pe_status st = sgs_pe_parse(b, len, file_size, info, why, 128);
    sgs_pe_info_free(info);
    return st;
}

static void
test_statuses(void)
{
    const size_t sizes[] = {100};
    size_t tlen;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    sgs_pe_info info;
    char why[128];
    size_t len;
    texp e;

    /* NOT_PE */
    const uint8_t elf[] = "\x7f"
                          "ELF and more bytes than sixty-four, so that only the magic "
                          "decides the outcome here";
    CHECK_EQ_INT(parse(elf, sizeof(elf), sizeof(elf), &info, why), SGS_PE_NOT_PE);
    CHECK_EQ_INT(parse(elf, 0, 0, &info, why), SGS_PE_NOT_PE);
    tlayout L = normal_layout(0, table, tlen);
    uint8_t *b = build(&L, &len, &e);
    b[0x80] = 'N'; /* MZ, but "NE" at e_lfanew */
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_NOT_PE);
    CHECK_EQ_INT(parse(b, 40, 40, &info, why), SGS_PE_NOT_PE); /* MZ too short for e_lfanew */
    free(b);

    /* NEED_MORE from the first 64 bytes, then OK with what it asks (however many steps) */
    b = build(&L, &len, &e);
    size_t have = 64;
    int steps = 0;
    sgs_pe_status st;
    while ((st = sgs_pe_parse(b, have, len, &info, why, sizeof(why))) == SGS_PE_NEED_MORE) {
        CHECK(info.need > have && info.need <= len);
        if (info.need <= have || info.need > len)
            break;
        have = (size_t)info.need;
        steps++;
    }
    CHECK_EQ_INT(st, SGS_PE_OK);
    CHECK(steps >= 1 && steps <= 3);
    CHECK_EQ_INT(have, e.headers_end); /* exactly the headers, not a byte more */
    sgs_pe_info_free(&info);
    CHECK_EQ_INT(parse(b, 1, len, &info, why), SGS_PE_NEED_MORE);
    /* one byte short of the section table: NEED_MORE; complete: OK */
    CHECK_EQ_INT(parse(b, (size_t)e.headers_end - 1, len, &info, why), SGS_PE_NEED_MORE);
    CHECK_EQ_INT(parse(b, (size_t)e.headers_end, len, &info, why), SGS_PE_OK);

    /* MALFORMED: the file ends inside the headers */
    CHECK_EQ_INT(parse(b, 0x80 + 24 + 50, 0x80 + 24 + 50, &info, why), SGS_PE_MALFORMED);
    CHECK_EQ_INT(parse(b, 0x80 + 10, 0x80 + 10, &info, why), SGS_PE_MALFORMED);
    CHECK_EQ_INT(parse(b, (size_t)e.headers_end - 1, (size_t)e.headers_end - 1, &info, why),
                 SGS_PE_MALFORMED);
    free(b);
    /* e_lfanew past EOF, and past the 16 MiB cap */
    L = normal_layout(0, table, tlen);
    b = build(&L, &len, &e);
    put32(b + 0x3C, (uint32_t)len - 2);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    put32(b + 0x3C, 0xFFFFFFF0u);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    CHECK(strstr(why, "cap") != NULL);
    free(b);
    /* NumberOfSections 65535 (section table within 16 MiB but past EOF / over the cap) */
    L = normal_layout(0, table, tlen);
    L.nsec = 3;
    b = build(&L, &len, &e);
    put16(b + 0x86, 0xFFFF);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    CHECK(strstr(why, "NumberOfSections") != NULL);
    put16(b + 0x86, SGS_PE_MAX_SECTIONS + 1);
    CHECK_EQ_INT(parse(b, len, 64ull << 20, &info, why), SGS_PE_MALFORMED);
    /* within the cap but past EOF */
    put16(b + 0x86, 4000);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    CHECK(strstr(why, "section table") != NULL);
    free(b);
    /* SizeOfOptionalHeader too small for directory 4 (PE32 and PE32+), and too small for
       the NumberOfRvaAndSizes it claims */
    for (int plus = 0; plus <= 1; plus++) {
        L = normal_layout(plus, table, tlen);
        L.sopt = plus ? 112 + 32 : 96 + 32;
        b = build(&L, &len, &e);
        CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
        CHECK(strstr(why, "SizeOfOptionalHeader") != NULL);
        free(b);
        L.sopt = plus ? 112 + 40 : 96 + 40; /* exactly 5 directories, claiming 16 */
        b = build(&L, &len, &e);
        CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
        put32(b + 0x80 + 24 + (plus ? 108 : 92), 5); /* claiming 5: fine */
        CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_OK);
        free(b);
    }
    /* optional-header magic: ROM and garbage */
    L = normal_layout(0, table, tlen);
    L.magic = 0x107;
    b = build(&L, &len, &e);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    CHECK(strstr(why, "ROM") != NULL);
    put16(b + 0x98, 0x1234);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    free(b);
    /* certificate table: one byte past EOF; 0xFFFFFFF8 + 16 (wraps to 8 in 32 bits) */
    L = normal_layout(0, table, tlen);
    b = build(&L, &len, &e);
    put32(b + e.certdir_off + 4, (uint32_t)tlen + 1);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    CHECK(strstr(why, "past the end") != NULL);
    put32(b + e.certdir_off + 4, (uint32_t)tlen);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_OK);
    put32(b + e.certdir_off, 0xFFFFFFF8u);
    put32(b + e.certdir_off + 4, 16);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    /* table inside the PE headers (at 0, and inside the section table) */
    put32(b + e.certdir_off, 0);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    put32(b + e.certdir_off, (uint32_t)e.headers_end - 8);
    CHECK_EQ_INT(parse(b, len, len, &info, why), SGS_PE_MALFORMED);
    CHECK(strstr(why, "inside the PE headers") != NULL);
    free(b);
    free(table);
}

static void
test_anomalies(void)
{
    const size_t sizes[] = {100};
    size_t tlen, len;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    sgs_pe_info info;
    char why[128];
    texp e;
    sgs_pe_hasher *const h = sgs_pe_hasher_new();
    REQUIRE(h != NULL);

    /* unaligned table offset */
    tlayout L = normal_layout(0, table, tlen);
    L.image_end = 0x1a400 + 3;
    L.unaligned = 1;
    uint8_t *b = build(&L, &len, &e);
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.anomalies, SGS_PE_A_UNALIGNED);
    sgs_pe_info_free(&info);
    free(b);
    CHECK_EQ_INT(check_hashes(h, &L, 1), 0);

    /* bytes after the table */
    L = normal_layout(0, table, tlen);
    L.trailing = 16;
    b = build(&L, &len, &e);
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.anomalies, SGS_PE_A_TRAILING);
    CHECK_EQ_INT(info.trailing, 16);
    CHECK_EQ_INT(info.spec_ok, 0); /* EDK2 / shim: undefined, refused */
    sgs_pe_info_free(&info);
    free(b);
    CHECK_EQ_INT(check_hashes(h, &L, 0), -1);

    /* table overlapping the last section's raw data (and so not hashable the spec way) */
    L = normal_layout(0, NULL, 0);
    L.set_entry = 1;
    L.entry_off = 0x1a400 - 0x100;
    L.entry_size = 0x100;
    b = build(&L, &len, &e);
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.anomalies, SGS_PE_A_OVERLAP_SECTION);
    CHECK_EQ_INT(info.spec_ok, 0);
    sgs_pe_info_free(&info);
    free(b);

    /* +-1: a section starting exactly at the table's end does not overlap; one byte
       earlier it does (both also leave bytes after the table) */
    for (uint32_t back = 0; back <= 1; back++) {
        L = normal_layout(0, NULL, 0);
        L.set_entry = 1;
        L.entry_off = 0x11400 - 0x100;
        L.entry_size = 0x100 - back;
        L.sec[0].raw = 0x11000 - 0x100; /* .text ends where the table starts */
        b = build(&L, &len, &e);
        REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
        CHECK_EQ_INT(info.anomalies, SGS_PE_A_TRAILING);
        sgs_pe_info_free(&info);
        put32(b + e.certdir_off + 4, 0x100 + 1 - back);
        REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
        CHECK_EQ_INT(info.anomalies,
                     SGS_PE_A_TRAILING | (back == 0 ? SGS_PE_A_OVERLAP_SECTION : 0));
        sgs_pe_info_free(&info);
        free(b);
    }

    /* table after the section table but inside SizeOfHeaders */
    L = normal_layout(0, table, tlen);
    L.nsec = 0;
    L.soh = 0x1000;
    L.image_end = 0x300;
    b = build(&L, &len, &e);
    put32(b + 0x80 + 24 + 60, 0x1000);
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.anomalies, SGS_PE_A_OVERLAP_HEADERS);
    CHECK_EQ_INT(info.spec_ok, 0);
    sgs_pe_info_free(&info);
    free(b);

    /* NumberOfRvaAndSizes 4 with the entry set: used, flagged; 4 without: no table */
    L = normal_layout(1, table, tlen);
    L.nrva = 4;
    b = build(&L, &len, &e);
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.anomalies, SGS_PE_A_FEW_RVAS);
    CHECK_EQ_INT(info.has_table, 1);
    sgs_pe_info_free(&info);
    free(b);
    CHECK_EQ_INT(check_hashes(h, &L, 1), 0);

    /* an offset with size 0: no table, the file is unsigned (and padded) */
    L = normal_layout(0, NULL, 0);
    L.set_entry = 1;
    L.entry_off = 0x1a400;
    L.image_end = 0x1a400 + 5;
    b = build(&L, &len, &e);
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    CHECK_EQ_INT(info.anomalies, SGS_PE_A_EMPTY_ENTRY);
    CHECK_EQ_INT(info.has_table, 0);
    CHECK_EQ_INT(info.pad, 3);
    CHECK_EQ_INT(info.flat[info.nflat - 1].off + info.flat[info.nflat - 1].len, len);
    sgs_pe_info_free(&info);
    free(b);
    CHECK_EQ_INT(check_hashes(h, &L, 1), 0);

    for (unsigned bit = 1; bit <= SGS_PE_A_CERT_MANY; bit <<= 1)
        CHECK(strcmp(sgs_pe_anomaly_text(bit), "unknown PE anomaly") != 0);
    CHECK_EQ_STR(sgs_pe_anomaly_text(1u << 30), "unknown PE anomaly");
    sgs_pe_hasher_free(h);
    free(table);
}

/* ---- WIN_CERTIFICATE walk and DER span -------------------------------------------------- */

static void
test_certs(void)
{
    const size_t sizes[] = {301, 64};
    size_t tlen;
    uint8_t *t = make_table(sizes, 2, &tlen);
    sgs_pe_cert c[4];
    size_t n = 99, span = 0;
    unsigned an = 0;
    char why[128];

    /* two entries */
    CHECK_EQ_INT(sgs_pe_certs(t, tlen, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(an, 0);
    CHECK_EQ_INT(c[0].off, 0);
    CHECK_EQ_INT(c[0].length, 8 + 301);
    CHECK_EQ_INT(c[0].revision, 0x0200);
    CHECK_EQ_INT(c[0].type, 2);
    CHECK(c[0].data == t + 8);
    CHECK_EQ_INT(c[0].data_len, 301);
    CHECK_EQ_INT(c[1].off, 312);
    CHECK_EQ_INT(c[1].data_len, 64);
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ_INT(sgs_pe_der_span(c[i].data, c[i].data_len, &span, why, sizeof(why)), 1);
        CHECK_EQ_INT(span, c[i].data_len);
    }
    /* more entries than room: counted, flagged */
    an = 0;
    CHECK_EQ_INT(sgs_pe_certs(t, tlen, c, 1, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(an, SGS_PE_A_CERT_MANY);
    /* the last entry's padding missing: sum mismatch */
    an = 0;
    CHECK_EQ_INT(sgs_pe_certs(t, 312 + 8 + 64 - 0, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(an, 0); /* 8 + 64 is a multiple of 8: nothing missing */
    CHECK_EQ_INT(sgs_pe_certs(t, 8 + 301, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(an, SGS_PE_A_CERT_SUM);
    /* zeros after the last entry: sum mismatch, not malformed */
    uint8_t *const z = calloc(1, tlen + 16);
    REQUIRE(z != NULL);
    memcpy(z, t, tlen);
    an = 0;
    CHECK_EQ_INT(sgs_pe_certs(z, tlen + 16, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(an, SGS_PE_A_CERT_SUM);
    /* non-zero padding */
    an = 0;
    t[8 + 301] = 0x55;
    CHECK_EQ_INT(sgs_pe_certs(t, tlen, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(an, SGS_PE_A_CERT_PADDING);
    t[8 + 301] = 0;
    /* stray non-zero bytes after the last entry */
    z[tlen + 3] = 1;
    CHECK_EQ_INT(sgs_pe_certs(z, tlen + 16, c, 4, &n, &an, why, sizeof(why)), 0);
    CHECK_EQ_INT(sgs_pe_certs(z, tlen + 4, c, 4, &n, &an, why, sizeof(why)), 0);
    free(z);
    /* dwLength < 8, and dwLength past the table */
    put32(t + 312, 7);
    CHECK_EQ_INT(sgs_pe_certs(t, tlen, c, 4, &n, &an, why, sizeof(why)), 0);
    CHECK(strstr(why, "< 8") != NULL);
    put32(t + 312, 8 + 64 + 1);
    CHECK_EQ_INT(sgs_pe_certs(t, tlen, c, 4, &n, &an, why, sizeof(why)), 0);
    CHECK(strstr(why, "past the table") != NULL);
    put32(t, 0xFFFFFFFFu);
    CHECK_EQ_INT(sgs_pe_certs(t, tlen, c, 4, &n, &an, why, sizeof(why)), 0);
    /* too short for one header; all zeros */
    CHECK_EQ_INT(sgs_pe_certs(t, 7, c, 4, &n, &an, why, sizeof(why)), 0);
    const uint8_t zeros[16] = {0};
    CHECK_EQ_INT(sgs_pe_certs(zeros, sizeof(zeros), c, 4, &n, &an, why, sizeof(why)), 0);
    free(t);

    /* CVE-2013-3900: bytes stuffed after the DER inside an entry (dwLength adjusted) */
    const size_t one[] = {200};
    t = make_table(one, 1, &tlen); /* 8 + 200 = 208 = tlen */
    uint8_t *const s = calloc(1, tlen + 32);
    REQUIRE(s != NULL);
    memcpy(s, t, tlen);
    memset(s + tlen, 0xAB, 32);
    put32(s, (uint32_t)tlen + 32);
    an = 0;
    CHECK_EQ_INT(sgs_pe_certs(s, tlen + 32, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(an, 0);
    CHECK_EQ_INT(c[0].data_len, 232);
    CHECK_EQ_INT(sgs_pe_der_span(c[0].data, c[0].data_len, &span, why, sizeof(why)), 1);
    CHECK_EQ_INT(span, 200); /* < data_len: stuffed */
    CHECK_EQ_INT(sgs_pe_cert_stuffed(&c[0], span), 1);
    /* osslsigncode's layout: the DER's alignment zeros inside dwLength, a multiple of 8 */
    put32(s, (uint32_t)tlen + 8);
    memset(s + tlen, 0, 8);
    s[8 + 2] = 0x00; /* shorten the DER by 3: 30 82 00 C1 + 193 bytes */
    s[8 + 3] = 200 - 4 - 3;
    CHECK_EQ_INT(sgs_pe_certs(s, tlen + 8, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(sgs_pe_der_span(c[0].data, c[0].data_len, &span, why, sizeof(why)), 1);
    CHECK_EQ_INT(span, 197);
    CHECK_EQ_INT(c[0].data_len - span, 11); /* 3 DER bytes freed + 8 zeros: too many */
    CHECK_EQ_INT(sgs_pe_cert_stuffed(&c[0], span), 1);
    put32(s, (uint32_t)tlen); /* dwLength 208: 3 bytes of slack */
    memset(s + 8 + 197, 0, 3);
    CHECK_EQ_INT(sgs_pe_certs(s, tlen, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(c[0].data_len - span, 3);
    CHECK_EQ_INT(sgs_pe_cert_stuffed(&c[0], span), 0); /* zeros to the 8-byte boundary */
    s[8 + 199] = 1;
    CHECK_EQ_INT(sgs_pe_cert_stuffed(&c[0], span), 1); /* not zeros */
    s[8 + 199] = 0;
    put32(s, (uint32_t)tlen - 1); /* dwLength 207: not a multiple of 8 */
    CHECK_EQ_INT(sgs_pe_certs(s, tlen, c, 4, &n, &an, why, sizeof(why)), 1);
    CHECK_EQ_INT(sgs_pe_cert_stuffed(&c[0], span), 1);
    CHECK_EQ_INT(sgs_pe_cert_stuffed(&c[0], c[0].data_len), 0);
    free(s);
    free(t);

    /* DER span edge cases */
    const uint8_t short_form[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    CHECK_EQ_INT(sgs_pe_der_span(short_form, sizeof(short_form), &span, why, sizeof(why)), 1);
    CHECK_EQ_INT(span, 5);
    CHECK_EQ_INT(sgs_pe_der_span(short_form, 4, &span, why, sizeof(why)), 0); /* truncated */
    const uint8_t indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00};
    CHECK_EQ_INT(sgs_pe_der_span(indefinite, sizeof(indefinite), &span, why, sizeof(why)), 0);
    CHECK(strstr(why, "indefinite") != NULL);
    const uint8_t huge[] = {0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
    CHECK_EQ_INT(sgs_pe_der_span(huge, sizeof(huge), &span, why, sizeof(why)), 0);
    CHECK_EQ_INT(sgs_pe_der_span(huge, 0, &span, why, sizeof(why)), 0);
    CHECK_EQ_INT(ERR_peek_error(), 0); /* the queue is left empty */
}

/* ---- hasher misuse, changed headers, allocation failures -------------------------------- */

static void
test_hasher_misuse(void)
{
    const size_t sizes[] = {100};
    size_t tlen, len;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    const tlayout L = normal_layout(0, table, tlen);
    texp e;
    uint8_t *const b = build(&L, &len, &e);
    sgs_pe_info info;
    char why[128];
    REQUIRE(sgs_pe_parse(b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
    sgs_pe_hasher *const h = sgs_pe_hasher_new();
    REQUIRE(h != NULL);
    const EVP_MD *const mds[5] = {EVP_sha256(), EVP_sha256(), EVP_sha256(), EVP_sha256(),
                                  EVP_sha256()};
    thash out;

    CHECK_EQ_INT(sgs_pe_hash_update(h, 0, b, 10), 0); /* before begin */
    CHECK_EQ_INT(sgs_pe_hash_begin(h, &info, mds, 0, 1, why, sizeof(why)), 0);
    CHECK_EQ_INT(sgs_pe_hash_begin(h, &info, mds, 5, 1, why, sizeof(why)), 0);
    const EVP_MD *const xof[] = {EVP_shake128()};
    CHECK_EQ_INT(sgs_pe_hash_begin(h, &info, xof, 1, 1, why, sizeof(why)), 0);
    sgs_pe_info empty;
    memset(&empty, 0, sizeof(empty));
    CHECK_EQ_INT(sgs_pe_hash_begin(h, &empty, mds, 1, 1, why, sizeof(why)), 0);
    sgs_pe_info big = info;
    big.cert_size = SGS_PE_MAX_TABLE + 1;
    CHECK_EQ_INT(sgs_pe_hash_begin(h, &big, mds, 1, 1, why, sizeof(why)), 0);
    CHECK(strstr(why, "cap") != NULL);

    /* a gap in the chunks, a chunk past the end, NULL, end too early */
    REQUIRE(sgs_pe_hash_begin(h, &info, mds, 1, 1, why, sizeof(why)));
    CHECK_EQ_INT(sgs_pe_hash_update(h, 0, b, 100), 1);
    CHECK_EQ_INT(sgs_pe_hash_update(h, 0, b, 0), 0);
    CHECK(strstr(sgs_pe_hash_error(h), "expected 100") != NULL);
    CHECK_EQ_INT(sgs_pe_hash_update(h, 100, b + 100, 1), 0); /* failed stays failed */
    REQUIRE(sgs_pe_hash_begin(h, &info, mds, 1, 1, why, sizeof(why)));
    CHECK_EQ_STR(sgs_pe_hash_error(h), "");
    CHECK_EQ_INT(sgs_pe_hash_update(h, 0, b, len + 1), 0);
    REQUIRE(sgs_pe_hash_begin(h, &info, mds, 1, 1, why, sizeof(why)));
    CHECK_EQ_INT(sgs_pe_hash_update(h, 0, NULL, 5), 0);
    REQUIRE(sgs_pe_hash_begin(h, &info, mds, 1, 1, why, sizeof(why)));
    CHECK_EQ_INT(sgs_pe_hash_update(h, 0, b, len - 1), 1);
    CHECK_EQ_INT(sgs_pe_hash_end(h, out.flat, out.spec, out.mdlen, &out.table, &out.table_len), 0);
    CHECK(out.table == NULL);
    CHECK_EQ_INT(sgs_pe_hash_end(h, out.flat, NULL, out.mdlen, &out.table, &out.table_len), 0);
    /* and it is reusable afterwards */
    CHECK(hash_file(h, &info, b, len, 4096, mds, 2, 0, &out));
    CHECK_EQ_INT(sgs_pe_hash_has_spec(h), 0);
    const uint8_t zero[64] = {0};
    CHECK_EQ_MEM(out.spec[0], zero, 64);

    /* pitfall 10: headers changed between parse and hash, in one chunk or split */
    for (long chunk = FEED_WHOLE; chunk <= 100; chunk += 100) {
        const size_t fields[] = {(size_t)e.certdir_off + 1, (size_t)e.checksum_off,
                                 0x80 + 24 + 60 /* SizeOfHeaders */,
                                 (size_t)e.headers_end - 40 + 20 /* a PointerToRawData */};
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
            b[fields[f]] ^= 0x10;
            CHECK_EQ_INT(hash_file(h, &info, b, len, chunk, mds, 1, 1, &out), 0);
            CHECK(strstr(sgs_pe_hash_error(h), "differ") != NULL);
            b[fields[f]] ^= 0x10;
        }
        /* a hashed header byte (TimeDateStamp) is not a range change: the digest changes */
        b[0x80 + 8] ^= 1;
        CHECK(hash_file(h, &info, b, len, chunk, mds, 1, 1, &out));
        b[0x80 + 8] ^= 1;
    }
    CHECK(hash_file(h, &info, b, len, FEED_WHOLE, mds, 1, 1, &out));

    sgs_pe_hasher_free(h);
    sgs_pe_hasher_free(NULL);
    sgs_pe_info_free(&info);
    free(b);
    free(table);
}

static void
test_alloc_failures(void)
{
    const size_t sizes[] = {100};
    size_t tlen, len;
    uint8_t *const table = make_table(sizes, 1, &tlen);
    tlayout L = normal_layout(1, table, tlen);
    L.sec[2].ptr += 0x200; /* a gap: a replay buffer too */
    texp e;
    uint8_t *const b = build(&L, &len, &e);
    const EVP_MD *const mds[] = {EVP_sha256()};
    int completed = 0;
    for (long fail_at = 1; fail_at < 40 && !completed; fail_at++) {
        sgs_test_alloc t;
        sgs_test_alloc_init(&t, fail_at, 0);
        const sgs_allocator a = sgs_test_allocator(&t);
        sgs_pe_info info;
        char why[128];
        REQUIRE(sgs_pe_parse_alloc(&a, b, len, len, &info, why, sizeof(why)) == SGS_PE_OK);
        if (!info.spec_ok) {
            CHECK_EQ_STR(info.spec_why, "out of memory");
        } else {
            sgs_pe_hasher *const h = sgs_pe_hasher_new_alloc(&a);
            if (h != NULL) {
                thash out;
                if (hash_file(h, &info, b, len, 1000, mds, 1, 1, &out))
                    completed = atomic_load(&t.failed) == 0;
                sgs_pe_hasher_free(h);
            }
        }
        sgs_pe_info_free(&info);
        CHECK_EQ_INT(atomic_load(&t.live), 0);
    }
    CHECK(completed);
    free(b);
    free(table);
}

/* ---- fuzz seeds --------------------------------------------------------------------------- */

static void
write_seed(const char *dir, const char *name, const uint8_t *b, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    REQUIRE(len < 4096);
    sgs_test_write(path, b, len);
}

/* Tiny images (< 4 KiB) covering each branch the fuzzer should start from. */
static int
write_seeds(const char *dir)
{
    const size_t two[] = {60, 20};
    size_t tlen, len;
    uint8_t *const table = make_table(two, 2, &tlen);
    texp e;
    tlayout base;
    memset(&base, 0, sizeof(base));
    base.soh = 0x200;
    base.nsec = 3;
    base.sec[0] = (tsec){0x200, 0x200};
    base.sec[1] = (tsec){0x400, 0x100};
    base.sec[2] = (tsec){0x500, 0x180};
    base.table = table;
    base.table_len = tlen;
    static const char *const names[] = {
        "pe32_signed",        "pe32plus_signed", "unsigned_odd", "gap",      "overlap",
        "unaligned_trailing", "few_rvas",        "upx_like",     "unsorted", "stuffed_entry"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        tlayout L = base;
        L.pe32plus = i == 1 || i == 6;
        if (i == 2) {
            L.table = NULL;
            L.table_len = 0;
            L.sec[2].raw = 0x17b;
        }
        if (i == 3)
            L.sec[2].ptr += 0x80;
        if (i == 4)
            L.sec[1].ptr -= 0x40;
        if (i == 5) {
            L.image_end = 0x683;
            L.unaligned = 1;
            L.trailing = 5;
        }
        if (i == 6)
            L.nrva = 4;
        if (i == 7)
            L.soh = 0x400;
        if (i == 8) {
            const tsec t = L.sec[0];
            L.sec[0] = L.sec[2];
            L.sec[2] = t;
        }
        uint8_t *const b = build(&L, &len, &e);
        if (i == 9) /* the first entry claims 16 more bytes than its DER */
            put32(b + e.cert_off, 8 + 60 + 4);
        write_seed(dir, names[i], b, len);
        free(b);
    }
    const uint8_t mz_only[64] = {'M', 'Z'};
    write_seed(dir, "mz_only", mz_only, sizeof(mz_only));
    free(table);
    return 0;
}

int
main(int argc, char **argv)
{
    sgs_test_rng_init(&rng, sgs_test_seed(0x9e5eedu));
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    test_fields();
    test_hashes();
    test_gaps();
    test_random_layouts();
    test_statuses();
    test_anomalies();
    test_certs();
    test_hasher_misuse();
    test_alloc_failures();
    return sgs_test_done("pe_test");
}
