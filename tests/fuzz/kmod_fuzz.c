/*
 * kmod_fuzz.c - libFuzzer target for kernel modules as the module judge (judge_kmod.c) reads
 * them: the compression a module file announces (xz, zstd, gzip, lz4: sgs_kmod_unpack, output
 * bounded at 1 MiB), the appended trailer (sgs_kmod_trailer), the PKCS#7 (sgs_kmod_sig_parse)
 * and its verification with no certificate and no key given.
 * Invariants: a trailer said SIGNED places the signature inside the module, right before the
 * trailer, at most SGS_KMOD_SIG_MAX bytes; a refusal has a reason; decompression never
 * returns more than its limit; with nothing trusted nothing is VALID.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.kmod_corpus).
 */
#include "kmod.h"

#include "alloc.h"
#include "fuzz_check.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const sgs_allocator plain_alloc = {NULL, NULL, NULL};

#define UNPACK_LIMIT (1024u * 1024u)

static void
judge_module(const uint8_t *m, size_t size)
{
    static sgs_trust empty;
    static sgs_keyset nokeys;
    static int ready;
    if (!ready) {
        sgs_trust_init(&empty, &plain_alloc);
        sgs_keyset_init(&nokeys, &plain_alloc);
        ready = 1;
    }
    const size_t ntail = size < SGS_KMOD_TRAILER_LEN ? size : SGS_KMOD_TRAILER_LEN;
    uint64_t off = 0;
    uint32_t len = 0;
    char why[256] = "";
    const sgs_kmod_trailer_status t =
        sgs_kmod_trailer(m + size - ntail, ntail, size, &off, &len, why, sizeof(why));
    if (t == SGS_KMOD_BAD)
        FUZZ_CHECK(why[0] != '\0');
    if (t != SGS_KMOD_SIGNED)
        return;
    FUZZ_CHECK(len > 0 && len <= SGS_KMOD_SIG_MAX && off + len + SGS_KMOD_TRAILER_LEN == size);
    sgs_kmod_sig s;
    sgs_verdict v = SGS_V_UNJUDGED;
    char reason[640] = "";
    if (!sgs_kmod_sig_parse(&s, m + off, len, &v, reason, sizeof(reason))) {
        FUZZ_CHECK(v != SGS_V_VALID && v != SGS_V_UNJUDGED && reason[0] != '\0');
        sgs_kmod_sig_reset(&s);
        return;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    FUZZ_CHECK(EVP_Digest(m, (size_t)off, md, &mdlen, s.md, NULL) == 1);
    sgs_kmod_outcome o;
    o.tried = 0;
    sgs_kmod_sig_verify(&s, md, mdlen, &empty, &nokeys, &o);
    FUZZ_CHECK(o.verdict == SGS_V_UNTRUSTED && o.reason[0] != '\0');
    sgs_kmod_sig_reset(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sgs_kmod_packing p = sgs_kmod_packing_of(data, size);
    if (p == SGS_KMOD_PLAIN) {
        judge_module(data, size);
        return 0;
    }
    uint8_t *out = NULL;
    size_t cap = 0, outlen = 0;
    char why[256] = "";
    const sgs_unpack_status st = sgs_kmod_unpack(&plain_alloc, p, data, size, UNPACK_LIMIT, 0,
                                                 &out, &cap, &outlen, why, sizeof(why));
    FUZZ_CHECK(outlen <= UNPACK_LIMIT);
    if (st == SGS_UNPACK_OK)
        judge_module(out, outlen);
    else
        FUZZ_CHECK(why[0] != '\0');
    sgs_free(&plain_alloc, out);
    return 0;
}
