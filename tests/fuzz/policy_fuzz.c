/*
 * policy_fuzz.c - libFuzzer target for the policy INI (policy.c: --policy, the product's
 * enforce/audit switch). Invariants: a status of OK, FORMAT or IO only; OK sets enforce to
 * -1, 0 or 1, a failure says why; the same text with a UTF-8 byte order mark, and (for text
 * without NUL bytes) re-encoded as UTF-16 LE and BE with their byte order marks, reads the
 * same: enforcement never depends on the encoding.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.policy_corpus).
 */
#include "sigsweep.h"

#include "fuzz_check.h"
#include "fuzz_file.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
no_warn(void *opaque, unsigned line, const char *what)
{
    (void)opaque;
    FUZZ_CHECK(line >= 1 && what != NULL && what[0] != '\0');
}

static sgs_status
read_as(const uint8_t *data, size_t size, int *enforce)
{
    char path[512], err[1024] = "";
    const sgs_status st = sgs_policy_read(fuzz_file("policy.ini", data, size, path, sizeof(path)),
                                          enforce, no_warn, NULL, err, sizeof(err));
    FUZZ_CHECK(st == SGS_OK || st == SGS_ERR_FORMAT || st == SGS_ERR_IO);
    if (st == SGS_OK)
        FUZZ_CHECK(*enforce >= -1 && *enforce <= 1);
    else
        FUZZ_CHECK(err[0] != '\0' && strstr(err, path) != NULL);
    return st;
}

/* Decodes UTF-8 (strict enough for the re-encoding) to UTF-16 with a BOM. 0 when the text is
   not UTF-8 the harness re-encodes (then the check is skipped). */
static size_t
to_utf16(const uint8_t *s, size_t n, int be, uint8_t *out)
{
    size_t o = 0;
    out[o++] = be ? 0xfe : 0xff;
    out[o++] = be ? 0xff : 0xfe;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len;
        if (s[i] < 0x80) {
            cp = s[i];
            len = 1;
        } else if ((s[i] & 0xe0) == 0xc0 && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
            cp = (uint32_t)(s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f);
            len = 2;
        } else {
            return 0; /* longer sequences: not re-encoded */
        }
        if (cp == 0 || (len == 2 && cp < 0x80))
            return 0;
        out[o++] = be ? (uint8_t)(cp >> 8) : (uint8_t)cp;
        out[o++] = be ? (uint8_t)cp : (uint8_t)(cp >> 8);
        i += len;
    }
    return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int enforce = -2, again = -2;
    const sgs_status st = read_as(data, size, &enforce);
    if (size > 65536)
        return 0;
    /* a UTF-8 byte order mark in front changes nothing (unless the first line already has one,
       or the text starts with what would make it read as UTF-16) */
    uint8_t *const buf = malloc(2 * size + 4);
    FUZZ_CHECK(buf != NULL);
    const uint8_t *const nl = memchr(data, '\n', size);
    const size_t first_line = nl != NULL ? (size_t)(nl - data) : size;
    const int has_bom = memmem(data, first_line, "\xef\xbb\xbf", 3) != NULL; /* maybe after
                                                                                 blanks */
    if (!has_bom && (size < 2 || !((data[0] == 0xff && data[1] == 0xfe) ||
                                   (data[0] == 0xfe && data[1] == 0xff)))) {
        memcpy(buf, "\xef\xbb\xbf", 3);
        memcpy(buf + 3, data, size);
        FUZZ_CHECK(read_as(buf, size + 3, &again) == st && (st != SGS_OK || again == enforce));
    }
    const int utf16_input = size >= 2 && ((data[0] == 0xff && data[1] == 0xfe) ||
                                          (data[0] == 0xfe && data[1] == 0xff));
    for (int be = 0; be <= 1 && !utf16_input && !has_bom; be++) {
        const size_t n = to_utf16(data, size, be, buf);
        if (n == 0)
            break;
        FUZZ_CHECK(read_as(buf, n, &again) == st && (st != SGS_OK || again == enforce));
    }
    free(buf);
    return 0;
}
