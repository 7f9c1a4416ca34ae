/*
 * ac_fuzz.c - libFuzzer target for the Authenticode layer; the input is a certificate table
 * (WIN_CERTIFICATE entries holding PKCS#7). It parses every signature (sgs_ac_prepare), then
 * judges them under each policy with image hashes that match what each signature signed, so
 * the PKCS#7 signature check, nested signatures, timestamps and chain validation all run on
 * hostile bytes. Invariants: a verdict and a reason for every outcome, never more signatures
 * than the bound.
 *
 * authenticode.c is included, not linked: the harness reads its parsed signatures (the
 * signed image hashes) to feed matching hashes. Built with -DSGS_FUZZ=ON (clang); otherwise
 * replay.c adds a main() that ctest runs over the seeds (fuzz.ac_corpus).
 */
#include "authenticode.c"

#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const sgs_allocator plain_alloc = {NULL, NULL, NULL};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One empty trust store and TSA store (every chain ends UNTRUSTED, after OpenSSL built
       it), and a certificate-set cache, for the whole process, as in a run. */
    static sgs_trust trust, tsa;
    static sgs_certset_cache *certsets;
    static int ready;
    if (!ready) {
        char err[256];
        sgs_trust_init(&trust, &plain_alloc);
        sgs_trust_init(&tsa, &plain_alloc);
        FUZZ_CHECK(sgs_trust_finalize(&trust, err, sizeof(err)) == SGS_OK);
        FUZZ_CHECK(sgs_trust_finalize(&tsa, err, sizeof(err)) == SGS_OK);
        certsets = sgs_certset_cache_create(&plain_alloc);
        FUZZ_CHECK(certsets != NULL);
        ready = 1;
    }
    sgs_ac_file *const f = sgs_ac_file_new(&plain_alloc, (size & 1) ? certsets : NULL);
    FUZZ_CHECK(f != NULL);
    const EVP_MD *mds[SGS_PE_MAX_MD];
    unsigned nmd = 0;
    sgs_verdict v = SGS_V_VALID;
    char reason[2048] = "";
    if (!sgs_ac_prepare(f, data, size, mds, &nmd, &v, reason, sizeof(reason))) {
        FUZZ_CHECK(v != SGS_V_VALID && reason[0] != '\0');
        sgs_ac_file_free(f);
        return 0;
    }
    FUZZ_CHECK(f->nsig >= 1 && f->nsig <= SGS_AC_MAX_SIGS && nmd <= SGS_PE_MAX_MD);
    uint8_t flat[SGS_PE_MAX_MD][64], spec[SGS_PE_MAX_MD][64];
    unsigned mdlen[SGS_PE_MAX_MD] = {0};
    memset(flat, 0, sizeof(flat));
    for (size_t i = 0; i < f->nsig; i++) {
        const parsed *const s = &f->sig[i];
        if (s->pre != SGS_V_VALID)
            continue;
        FUZZ_CHECK(s->md_index < nmd && s->want_len <= 64);
        memcpy(flat[s->md_index], s->want, s->want_len);
        mdlen[s->md_index] = (unsigned)s->want_len;
    }
    memcpy(spec, flat, sizeof(flat));
    sgs_pe_info info;
    memset(&info, 0, sizeof(info));
    static const sgs_ac_policy policies[] = {{0, 0, 0}, {0, 1, 1}, {1, 0, 0}};
    for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
        reason[0] = '\0';
        sgs_ac_judge(f, &info, flat, spec, mdlen, &policies[p], &trust, &tsa, &v, reason,
                     sizeof(reason));
        size_t n = 0, d = 0;
        (void)sgs_ac_sigs(f, &n, &d);
        FUZZ_CHECK((unsigned)v < SGS_VERDICT_COUNT && reason[0] != '\0' && d < n);
        /* nothing in an empty trust store can make a signature VALID */
        FUZZ_CHECK(v != SGS_V_VALID);
    }
    sgs_ac_file_free(f);
    return 0;
}
