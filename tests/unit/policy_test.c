/*
 * policy_test.c - an enforcement key that is present but unreadable is fatal, never a silent
 * fall back to audit; UTF-16 with a byte order mark (LE and BE) is decoded, without one it is
 * refused; a FIFO or directory given as the policy is an error, not a hang.
 */
#include "sigsweep.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>
#include <string.h>

static char root[512], path[PATH_MAX];
static unsigned warnings;

static void
on_warn(void *opaque, unsigned line, const char *what)
{
    (void)opaque;
    (void)line;
    (void)what;
    warnings++;
}

/* Writes text (as given, or as UTF-16 with bom: 1 LE, 2 BE, 3 LE without BOM) and reads it. */
static sgs_status
policy(const char *text, int utf16, int *enforce, char *err, size_t errlen)
{
    unsigned char buf[2048];
    size_t n = 0;
    if (utf16 == 0) {
        n = strlen(text);
        memcpy(buf, text, n);
    } else {
        if (utf16 == 1) {
            buf[n++] = 0xff;
            buf[n++] = 0xfe;
        } else if (utf16 == 2) {
            buf[n++] = 0xfe;
            buf[n++] = 0xff;
        }
        for (const char *p = text; *p; p++) {
            buf[n++] = utf16 == 2 ? 0 : (unsigned char)*p;
            buf[n++] = utf16 == 2 ? (unsigned char)*p : 0;
        }
    }
    sgs_test_write(path, buf, n);
    warnings = 0;
    return sgs_policy_read(path, enforce, on_warn, NULL, err, errlen);
}

int
main(void)
{
    sgs_test_tmpdir(root, sizeof(root), "policy");
    snprintf(path, sizeof(path), "%s/policy.ini", root);
    char err[512];
    int enforce = -2;
    static const char on[] = "[INI_SERVER_SECTION]\r\nCheckDigitalSignatureForHotfix = 1\r\n";

    CHECK_EQ_INT(policy(on, 0, &enforce, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(enforce, 1);
    CHECK_EQ_INT(policy("[Global Settings]\nCheckDigitalSignatureForUpgrade=0\n", 0, &enforce, err,
                        sizeof(err)),
                 SGS_OK);
    CHECK_EQ_INT(enforce, 0);
    CHECK_EQ_INT(policy("[x]\nother = 5\n", 0, &enforce, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(enforce, -1);

    /* unreadable enforcement values: fatal, the line named, *enforce not set */
    static const char *const bad[] = {
        "[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix = 1 ; enforce\n",
        "[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix = yes\n",
        "[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix = \n",
        "[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix = 2\n",
        "[Global Settings]\nCheckDigitalSignatureForUpgrade = 01\n",
        "[INI_SERVER_SECTION\nCheckDigitalSignatureForHotfix = 1\n",
        "[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix 1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enforce = -2;
        err[0] = '\0';
        CHECK_EQ_INT(policy(bad[i], 0, &enforce, err, sizeof(err)), SGS_ERR_FORMAT);
        CHECK_EQ_INT(enforce, -1);
        CHECK(strstr(err, path) != NULL && strstr(err, ":2:") != NULL);
    }
    /* other malformed lines stay warnings */
    CHECK_EQ_INT(policy("garbage\n[INI_SERVER_SECTION]\nCheckDigitalSignatureForHotfix=1\n", 0,
                        &enforce, err, sizeof(err)),
                 SGS_OK);
    CHECK_EQ_INT(enforce, 1);
    CHECK_EQ_INT((int)warnings, 1);

    /* UTF-16 with a BOM, both byte orders: decoded; without one: refused */
    CHECK_EQ_INT(policy(on, 1, &enforce, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(enforce, 1);
    enforce = -2;
    CHECK_EQ_INT(policy(on, 2, &enforce, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(enforce, 1);
    CHECK_EQ_INT(policy(on, 3, &enforce, err, sizeof(err)), SGS_ERR_FORMAT);
    CHECK(strstr(err, "UTF-16") != NULL);
    CHECK_EQ_INT(policy(bad[0], 1, &enforce, err, sizeof(err)), SGS_ERR_FORMAT);
    sgs_test_write(path, "\xff\xfe\x41", 3); /* odd length */
    CHECK_EQ_INT(sgs_policy_read(path, &enforce, on_warn, NULL, err, sizeof(err)), SGS_ERR_FORMAT);

    /* not a regular file: an error naming it, no hang */
    char fifo[PATH_MAX + 16];
    snprintf(fifo, sizeof(fifo), "%s/fifo", root);
    REQUIRE(mkfifo(fifo, 0600) == 0);
    CHECK(sgs_policy_read(fifo, &enforce, on_warn, NULL, err, sizeof(err)) != SGS_OK);
    CHECK(strstr(err, fifo) != NULL);
    CHECK(sgs_policy_read(root, &enforce, on_warn, NULL, err, sizeof(err)) != SGS_OK);
    sgs_test_rm_rf(root);
    return sgs_test_done("policy_test");
}
