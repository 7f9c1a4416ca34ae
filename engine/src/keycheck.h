/* keycheck.h - the floor every key that can make a file VALID must clear. */
#ifndef SGS_KEYCHECK_H
#define SGS_KEYCHECK_H

#include "sigsweep.h" /* SGS_MIN_SECURITY_BITS_DEFAULT */

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Why a public key must not make anything VALID, or NULL when it may. Checks, for every key
 * type: the strength (EVP_PKEY_get_security_bits >= min_bits); RSA: the public exponent is
 * odd and at least 3 (e = 1 makes the padded digest itself a "signature" of anything);
 * Ed25519: the encoding is canonical (y < p) and the point is not of small order (with such
 * a key one fixed signature verifies every message; libsodium refuses the same list).
 * `buf` (n bytes) receives the reason; the return value is buf or NULL.
 * THREAD SAFETY: reads pkey only; any thread.
 */
const char *sgs_key_weakness(const EVP_PKEY *pkey, int min_bits, char *buf, size_t n);

/*
 * Whether a 64-byte Ed25519 signature is one the verifier may look at: R not of small order
 * (nor a non-canonical encoding of such a point) and S reduced (S < L). OpenSSL 3.0 checks
 * S but not R: with a small-order key and R, [S]B = R + [k]A holds for every message.
 * Returns 1 when sane, 0 when it must be refused.
 */
int sgs_ed25519_sig_sane(const uint8_t sig[64]);

#endif
