/*
 * policy.c - the seed product's INI switch between enforcing (quarantine) and auditing.
 *
 * DESIGN: only two keys matter: [INI_SERVER_SECTION] CheckDigitalSignatureForHotfix and
 * [Global Settings] CheckDigitalSignatureForUpgrade, 1 = enforce, 0 = audit. The reader is
 * forgiving where INI files in the field are (comments with ; or #, CRLF, spaces around names
 * and values, case-insensitive names) and says where it is not (a line that is neither a
 * section, a key=value nor a comment, a value other than 0/1: warned with its line number and
 * ignored). Unknown sections and keys are ignored silently.
 */
#include "sigsweep.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *
trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

sgs_status
sgs_policy_read(const char *path, int *enforce, sgs_policy_warn_fn warn, void *opaque, char *err,
                size_t errlen)
{
    *enforce = -1;
    FILE *const fp = fopen(path, "re");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SGS_ERR_IO;
    }
    char section[128] = "";
    int hotfix = -1, upgrade = -1;
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    while (getline(&line, &cap, fp) != -1) {
        lineno++;
        char *s = trim(line);
        if (lineno == 1 && (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
            (unsigned char)s[2] == 0xbf)
            s = trim(s + 3); /* UTF-8 byte order mark */
        if (*s == '\0' || *s == ';' || *s == '#')
            continue;
        if (*s == '[') {
            char *const close = strchr(s, ']');
            if (close == NULL || trim(close + 1)[0] != '\0') {
                warn(opaque, lineno, "malformed section header (ignored)");
                section[0] = '\x01'; /* keys until the next good header belong to no section */
                continue;
            }
            *close = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            continue;
        }
        char *const eq = strchr(s, '=');
        if (eq == NULL) {
            warn(opaque, lineno, "not a key = value line (ignored)");
            continue;
        }
        *eq = '\0';
        const char *const key = trim(s);
        const char *const value = trim(eq + 1);
        int *target = NULL;
        if (strcasecmp(section, "INI_SERVER_SECTION") == 0 &&
            strcasecmp(key, "CheckDigitalSignatureForHotfix") == 0)
            target = &hotfix;
        else if (strcasecmp(section, "Global Settings") == 0 &&
                 strcasecmp(key, "CheckDigitalSignatureForUpgrade") == 0)
            target = &upgrade;
        if (target == NULL)
            continue;
        if (strcmp(value, "0") == 0 || strcmp(value, "1") == 0)
            *target = value[0] - '0';
        else
            warn(opaque, lineno, "value must be 0 (audit) or 1 (enforce) (ignored)");
    }
    free(line);
    fclose(fp);
    *enforce = hotfix >= 0 ? hotfix : upgrade;
    return SGS_OK;
}
