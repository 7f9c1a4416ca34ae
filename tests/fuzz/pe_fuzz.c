/*
 * pe_fuzz.c - libFuzzer target for the PE layer; the input is a whole file. It parses from a
 * prefix (retrying with the whole input on NEED_MORE), checks the range invariants, hashes the
 * file in several chunkings (each must equal a direct digest of the ranges it was given, and
 * all must agree), walks the certificate table and the DER span of each entry, and walks the
 * raw input as a table too. Any broken invariant aborts.
 *
 * Built with -DSGS_FUZZ=ON (clang, -fsanitize=fuzzer); otherwise replay.c adds a main() that
 * runs the same entry point over files and directories (ctest fuzz.pe_corpus).
 */
#include "pe.h"

#include "fuzz_check.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
overlaps(sgs_pe_range a, uint64_t off, uint64_t len)
{
    return a.off < off + len && off < a.off + a.len;
}

static void
check_info(const sgs_pe_info *in)
{
    const uint64_t end = in->has_table ? in->cert_off : in->file_size;
    FUZZ_CHECK(in->headers_end <= in->file_size && in->headers_end <= SGS_PE_MAX_HEADERS);
    FUZZ_CHECK(in->certdir_off + 8 <= in->headers_end && in->checksum_off + 4 <= in->certdir_off);
    FUZZ_CHECK(!in->has_table || (uint64_t)in->cert_off + in->cert_size <= in->file_size);
    FUZZ_CHECK(!in->has_table || in->cert_off >= in->headers_end);
    FUZZ_CHECK(in->has_table ? in->pad == 0 : (in->file_size + in->pad) % 8 == 0);
    FUZZ_CHECK(in->nflat >= 1 && in->nflat <= 3);
    uint64_t at = 0, total = 0;
    for (unsigned i = 0; i < in->nflat; i++) {
        const sgs_pe_range r = in->flat[i];
        FUZZ_CHECK(r.len > 0 && r.off >= at && r.off + r.len <= end);
        FUZZ_CHECK(!overlaps(r, in->checksum_off, 4) && !overlaps(r, in->certdir_off, 8));
        at = r.off + r.len;
        total += r.len;
    }
    FUZZ_CHECK(total == end - 12); /* everything but the two fields */
    if (!in->spec_ok) {
        FUZZ_CHECK(in->spec == NULL && in->nspec == 0);
        return;
    }
    uint64_t far = 0;
    int replays = 0;
    for (unsigned i = 0; i < in->nspec; i++) {
        const sgs_pe_range r = in->spec[i];
        FUZZ_CHECK(r.len > 0 && r.off + r.len <= end);
        FUZZ_CHECK(!overlaps(r, in->checksum_off, 4) && !overlaps(r, in->certdir_off, 8));
        if (r.off < far) {
            replays++;
            FUZZ_CHECK(r.off + r.len == far && r.len <= SGS_PE_MAX_REPLAY);
        }
        if (r.off + r.len > far)
            far = r.off + r.len;
    }
    FUZZ_CHECK(replays <= 1);
    sgs_pe_range gaps[8];
    const size_t n = sgs_pe_spec_gaps(in, gaps, 8);
    at = 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        FUZZ_CHECK(gaps[i].len > 0 && gaps[i].off >= at && gaps[i].off + gaps[i].len <= end);
        for (unsigned j = 0; j < in->nspec; j++)
            FUZZ_CHECK(!overlaps(gaps[i], in->spec[j].off, in->spec[j].len));
        at = gaps[i].off + gaps[i].len + 1; /* gaps are maximal: never adjacent */
    }
}

/* The digest of ranges r[0..n) of data, then pad zero bytes: no streaming, no sharing. */
static void
direct(const uint8_t *data, const sgs_pe_range *r, size_t n, unsigned pad, const EVP_MD *md,
       uint8_t *out)
{
    static const uint8_t zeros[8];
    EVP_MD_CTX *const ctx = EVP_MD_CTX_new();
    unsigned len = 0;
    FUZZ_CHECK(ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(EVP_DigestUpdate(ctx, data + r[i].off, (size_t)r[i].len) == 1);
    FUZZ_CHECK(EVP_DigestUpdate(ctx, zeros, pad) == 1);
    FUZZ_CHECK(EVP_DigestFinal_ex(ctx, out, &len) == 1);
    EVP_MD_CTX_free(ctx);
}

static void
walk_table(const uint8_t *t, size_t len)
{
    sgs_pe_cert c[4];
    size_t n = 0, span = 0;
    unsigned an = 0;
    char why[128];
    if (!sgs_pe_certs(t, len, c, 4, &n, &an, why, sizeof(why)))
        return;
    FUZZ_CHECK(n >= 1);
    for (size_t i = 0; i < n && i < 4; i++) {
        FUZZ_CHECK(c[i].off % 8 == 0 && c[i].length >= 8 && c[i].off + c[i].length <= len);
        FUZZ_CHECK(c[i].data == t + c[i].off + 8 && c[i].data_len == c[i].length - 8u);
        if (sgs_pe_der_span(c[i].data, c[i].data_len, &span, why, sizeof(why))) {
            FUZZ_CHECK(span >= 2 && span <= c[i].data_len);
            FUZZ_CHECK(span < c[i].data_len || !sgs_pe_cert_stuffed(&c[i], span));
        }
    }
}

static void
hash_all(const uint8_t *data, size_t size, const sgs_pe_info *info)
{
    static sgs_pe_hasher *h; /* one per process, reused across inputs like a worker's */
    if (h == NULL)
        h = sgs_pe_hasher_new();
    FUZZ_CHECK(h != NULL);
    const EVP_MD *const mds[2] = {EVP_sha256(), EVP_sha1()};
    uint8_t want_flat[64], want_spec[64];
    direct(data, info->flat, info->nflat, info->pad, mds[0], want_flat);
    if (info->spec_ok)
        direct(data, info->spec, info->nspec, info->pad, mds[0], want_spec);
    const size_t chunks[] = {size, 1, 7, 4096};
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        const size_t chunk = chunks[c] > 0 ? chunks[c] : 1;
        if (chunk == 1 && size > 65536)
            continue;
        char why[128];
        const unsigned nmd = 1 + (unsigned)(c & 1);
        FUZZ_CHECK(sgs_pe_hash_begin(h, info, mds, nmd, 1, why, sizeof(why)));
        for (size_t pos = 0; pos < size; pos += chunk) {
            const size_t n = size - pos < chunk ? size - pos : chunk;
            FUZZ_CHECK(sgs_pe_hash_update(h, pos, data + pos, n));
        }
        uint8_t flat[2][64], spec[2][64];
        unsigned mdlen[2];
        const uint8_t *table = NULL;
        size_t table_len = 0;
        if (!sgs_pe_hash_end(h, flat, spec, mdlen, &table, &table_len)) {
            fprintf(stderr, "pe_fuzz: %s\n", sgs_pe_hash_error(h));
            abort();
        }
        FUZZ_CHECK(mdlen[0] == 32 && memcmp(flat[0], want_flat, 32) == 0);
        FUZZ_CHECK(sgs_pe_hash_has_spec(h) == info->spec_ok);
        if (info->spec_ok)
            FUZZ_CHECK(memcmp(spec[0], want_spec, 32) == 0);
        FUZZ_CHECK(table_len == (info->has_table ? info->cert_size : 0));
        if (table_len > 0) {
            FUZZ_CHECK(memcmp(table, data + info->cert_off, table_len) == 0);
            if (c == 0)
                walk_table(table, table_len);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sgs_pe_info info;
    char why[128];
    /* The first attempt sees a prefix whose length the input picks (as a reader's first
       block would cut it), the retry the whole file. */
    const size_t first = size < 2 ? size : ((size_t)data[size - 1] << 4) % size;
    sgs_pe_status st = sgs_pe_parse(data, first, size, &info, why, sizeof(why));
    if (st == SGS_PE_NEED_MORE) {
        FUZZ_CHECK(info.need > first && info.need <= size);
        sgs_pe_info_free(&info);
        st = sgs_pe_parse(data, size, size, &info, why, sizeof(why));
        FUZZ_CHECK(st != SGS_PE_NEED_MORE);
    }
    if (st == SGS_PE_OK) {
        check_info(&info);
        hash_all(data, size, &info);
    } else {
        FUZZ_CHECK(why[0] != '\0');
    }
    sgs_pe_info_free(&info);
    walk_table(data, size); /* the walker on arbitrary bytes */
    return 0;
}
