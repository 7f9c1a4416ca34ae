/*
 * edsig_fuzz.c - libFuzzer target for the minisign and signify parsers (edsig.c); the input is
 * a signature, key or signed-list file. Every parser runs on it: the minisign signature, the
 * signify signature (detached and embedded), a public key file, the strict base64 decoder over
 * each line. Invariants: what a parser returns points inside the input and respects the
 * limits; a decoded base64 line re-encodes to itself; an accepted signature is checked against
 * a fixed key without crashing (and, the key being unrelated, never verifies).
 *
 * Built with -DSGS_FUZZ=ON (clang, -fsanitize=fuzzer); otherwise replay.c adds a main() that
 * runs the same entry point over files and directories (ctest fuzz.edsig_corpus).
 */
#include "edsig.h"

#include "fuzz_check.h"

#include <openssl/evp.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed, valid minisign public key (minisign -G), unrelated to the seeds. */
static const char fixed_key[] = "RWRnft+S84fGM7xojA8UtNKbnxJacB8sB9HE3jHA17mwovs1ETY4pRG3";

static void
check_b64_lines(const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        const uint8_t *const nl = memchr(data + at, '\n', size - at);
        const size_t n = nl != NULL ? (size_t)(nl - (data + at)) : size - at;
        uint8_t out[384];
        char again[520];
        const long got = sgs_b64_decode_strict((const char *)data + at, n, out, sizeof(out));
        if (got >= 0) {
            FUZZ_CHECK(n % 4 == 0 && (size_t)got <= n / 4 * 3);
            FUZZ_CHECK(EVP_EncodeBlock((unsigned char *)again, out, (int)got) == (int)n);
            FUZZ_CHECK(memcmp(again, data + at, n) == 0);
        }
        at += n + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sgs_allocator alloc; /* zero: the default allocator */
    static sgs_edkeys keys;
    static int ready;
    char why[256];
    if (!ready) {
        sgs_edkeys_init(&keys, &alloc);
        FUZZ_CHECK(sgs_edkeys_add(&keys, (const uint8_t *)fixed_key, strlen(fixed_key), 112, why,
                                  sizeof(why)) == SGS_OK);
        ready = 1;
    }
    check_b64_lines(data, size);

    sgs_minisig ms;
    why[0] = '\0';
    if (sgs_minisig_parse(data, size, &ms, why, sizeof(why))) {
        FUZZ_CHECK(ms.trusted >= data && ms.trusted + ms.trusted_len <= data + size);
        FUZZ_CHECK(ms.trusted_len <= SGS_EDSIG_TRUSTED_MAX);
        FUZZ_CHECK(memchr(ms.trusted, '\0', ms.trusted_len) == NULL);
        FUZZ_CHECK(sgs_edsig_looks_like(data, size) && sgs_edsig_has_trusted_comment(data, size));
        const sgs_edkey *const k = &keys.keys[0];
        FUZZ_CHECK(!sgs_edsig_verify(k, ms.sig, data, size));
        FUZZ_CHECK(!sgs_edsig_verify(k, ms.global_sig, ms.trusted, ms.trusted_len));
    } else {
        FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
    }

    for (int embedded = 0; embedded <= 1; embedded++) {
        sgs_signify_sig ss;
        why[0] = '\0';
        if (sgs_signify_parse(data, size, embedded, &ss, why, sizeof(why))) {
            FUZZ_CHECK(sgs_edsig_looks_like(data, size));
            if (embedded)
                FUZZ_CHECK(ss.msg >= data && ss.msg + ss.msglen == data + size);
            else
                FUZZ_CHECK(ss.msg == NULL && ss.msglen == 0);
            FUZZ_CHECK(!sgs_edsig_verify(&keys.keys[0], ss.sig, ss.msg, ss.msglen));
        } else {
            FUZZ_CHECK(why[0] != '\0');
        }
    }

    sgs_edkeys ks;
    sgs_edkeys_init(&ks, &alloc);
    const sgs_status st = sgs_edkeys_add(&ks, data, size, 112, why, sizeof(why));
    FUZZ_CHECK(st == SGS_OK ? ks.count == 1 : ks.count == 0);
    sgs_edkeys_reset(&ks);
    return 0;
}
