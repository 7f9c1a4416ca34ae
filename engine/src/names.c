/*
 * names.c - stable tokens for statuses, verdicts and hashes, and the version string.
 *
 * DESIGN: tokens are part of the output formats (JSONL, CSV, expected.tsv) and so never change
 * once released; tables are indexed by the enum values and checked against the counts.
 */
#include "sigsweep.h"

#include <string.h>

static const char *const verdict_names[SGS_VERDICT_COUNT] = {
    "UNJUDGED",    "VALID",       "BAD_SIGNATURE", "DIGEST_MISMATCH", "NO_SIGNATURE", "MISSING_FILE",
    "EXTRA_FILE",  "UNTRUSTED",     "EXPIRED",         "NOT_YET_VALID", "REVOKED",
    "KEY_MISMATCH", "MALFORMED",    "UNSUPPORTED",     "IO_ERROR",     "CHANGED",
    "SKIPPED",     "PRIVATE_KEY_EXPOSED",
};

static const char *const status_names[SGS_STATUS_COUNT] = {
    "ok",
    "out of memory",
    "invalid argument",
    "I/O error",
    "unusable key",
    "libcrypto failure",
    "could not start thread",
    "call out of order",
    "input does not parse",
    "not permitted or not supported here",
};

static const char *const hash_names[SGS_HASH_COUNT] = {"sha256", "sha384", "sha512"};

const char *
sgs_verdict_name(sgs_verdict v)
{
    return (unsigned)v < SGS_VERDICT_COUNT ? verdict_names[v] : "?";
}

int
sgs_verdict_from_name(const char *name, sgs_verdict *out)
{
    for (unsigned i = 0; i < SGS_VERDICT_COUNT; i++) {
        if (strcmp(name, verdict_names[i]) == 0) {
            *out = (sgs_verdict)i;
            return 0;
        }
    }
    return -1;
}

const char *
sgs_status_str(sgs_status s)
{
    return (unsigned)s < SGS_STATUS_COUNT ? status_names[s] : "?";
}

const char *
sgs_hash_name(sgs_hash h)
{
    return (unsigned)h < SGS_HASH_COUNT ? hash_names[h] : "?";
}

int
sgs_hash_from_name(const char *name, sgs_hash *out)
{
    for (unsigned i = 0; i < SGS_HASH_COUNT; i++) {
        if (strcmp(name, hash_names[i]) == 0) {
            *out = (sgs_hash)i;
            return 0;
        }
    }
    return -1;
}

const char *
sgs_version_string(void)
{
    return SGS_VERSION_STRING;
}
