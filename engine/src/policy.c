/*
 * policy.c - the seed product's INI switch between enforcing (quarantine) and auditing.
 *
 * DESIGN: only two keys matter: [INI_SERVER_SECTION] CheckDigitalSignatureForHotfix and
 * [Global Settings] CheckDigitalSignatureForUpgrade, 1 = enforce, 0 = audit. The reader is
 * forgiving where INI files in the field are (comments with ; or # on their own line, CRLF,
 * spaces around names and values, case-insensitive names, a UTF-8 byte order mark, UTF-16 LE
 * or BE with its byte order mark, decoded) and strict where a mistake would turn enforcement
 * off silently: an enforcement key whose value is not exactly 0 or 1 ("1 ; enforce", "yes"),
 * an enforcement key under a malformed section header or on a line without '=', a file with
 * NUL bytes (UTF-16 without a byte order mark) or invalid UTF-16 is a fatal error
 * (SGS_ERR_FORMAT naming the file and line), never a silent fall back to audit. Other
 * malformed lines are warned with their line number and ignored; unknown sections and keys are
 * ignored silently. The file is opened non-blocking and must be a regular file (a FIFO or
 * device must not hang the run); at most 1 MiB is read.
 */
#include "sigsweep.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_MAX ((size_t)1 << 20)

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

/* Reads the whole regular file at path into a NUL-terminated buffer (*len bytes, NULs kept).
   0, or -1 with err. */
static int
read_policy(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > POLICY_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 !S_ISREG(sb.st_mode) ? "not a regular file" : "larger than 1 MiB");
        close(fd);
        return -1;
    }
    char *const buf = sgs_malloc(NULL, (size_t)sb.st_size + 1);
    size_t n = 0;
    ssize_t r = 0;
    while (buf != NULL && n < (size_t)sb.st_size &&
           ((r = read(fd, buf + n, (size_t)sb.st_size - n)) > 0 || (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    close(fd);
    if (buf == NULL || r < 0) {
        snprintf(err, errlen, "%s: %s", path, buf == NULL ? "out of memory" : strerror(errno));
        sgs_free(NULL, buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static size_t
put_utf8(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* UTF-16 (after its BOM; big_endian as the BOM said) to UTF-8. NULL for an odd length, an
   unpaired surrogate or a NUL character. */
static char *
utf16_to_utf8(const unsigned char *p, size_t n, int big_endian)
{
    if (n % 2 != 0)
        return NULL;
    char *const out = sgs_malloc(NULL, n / 2 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; out != NULL && i < n; i += 2) {
        uint32_t u = big_endian ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]);
        if (u >= 0xd800 && u < 0xdc00 && i + 3 < n) {
            const uint32_t lo = big_endian ? (uint32_t)(p[i + 2] << 8 | p[i + 3])
                                           : (uint32_t)(p[i + 3] << 8 | p[i + 2]);
            if (lo < 0xdc00 || lo > 0xdfff)
                u = 0;
            else
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            i += 2;
        } else if (u >= 0xd800 && u <= 0xdfff) {
            u = 0;
        }
        if (u == 0) {
            sgs_free(NULL, (void *)out);
            return NULL;
        }
        o += put_utf8(u, out + o);
    }
    if (out != NULL)
        out[o] = '\0';
    return out;
}

static int
is_enforcement_key(const char *key)
{
    return strcasecmp(key, "CheckDigitalSignatureForHotfix") == 0 ||
           strcasecmp(key, "CheckDigitalSignatureForUpgrade") == 0;
}

static int
mentions_enforcement_key(const char *s)
{
    return strcasestr(s, "CheckDigitalSignatureFor") != NULL;
}

sgs_status
sgs_policy_read(const char *path, int *enforce, sgs_policy_warn_fn warn, void *opaque, char *err,
                size_t errlen)
{
    *enforce = -1;
    char *raw = NULL;
    size_t len = 0;
    if (read_policy(path, &raw, &len, err, errlen) != 0)
        return SGS_ERR_IO;
    const unsigned char *const u = (const unsigned char *)raw;
    char *text = raw;
    if (len >= 2 && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff))) {
        text = utf16_to_utf8(u + 2, len - 2, u[0] == 0xfe);
        sgs_free(NULL, raw);
        raw = NULL;
        if (text == NULL) {
            snprintf(err, errlen, "%s: invalid UTF-16 (odd length, unpaired surrogate or NUL)",
                     path);
            return SGS_ERR_FORMAT;
        }
        len = strlen(text);
    } else if (memchr(raw, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: holds NUL bytes (UTF-16 without a byte order mark?): "
                 "cannot be read", path);
        sgs_free(NULL, raw);
        return SGS_ERR_FORMAT;
    }
    char section[128] = "";
    int hotfix = -1, upgrade = -1;
    unsigned lineno = 0;
    sgs_status st = SGS_OK;
    for (char *next = text; st == SGS_OK && next != NULL && *next != '\0';) {
        char *const line = next;
        char *const nl = strchr(line, '\n');
        next = nl != NULL ? nl + 1 : NULL;
        if (nl != NULL)
            *nl = '\0';
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
            if (mentions_enforcement_key(s)) {
                snprintf(err, errlen, "%s:%u: an enforcement key without '= 0' or '= 1'", path,
                         lineno);
                st = SGS_ERR_FORMAT;
                break;
            }
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
        else if (section[0] == '\x01' && is_enforcement_key(key)) {
            snprintf(err, errlen, "%s:%u: enforcement key %s under a malformed section header",
                     path, lineno, key);
            st = SGS_ERR_FORMAT;
            break;
        }
        if (target == NULL)
            continue;
        if ((strcmp(value, "0") == 0 || strcmp(value, "1") == 0) && *target >= 0 &&
            *target != value[0] - '0') {
            /* the same key twice with different values: readers disagree on which wins
               (GetPrivateProfileInt takes the first), so neither is guessed */
            snprintf(err, errlen, "%s:%u: %s is set again, to %c after %d: conflicting values",
                     path, lineno, key, value[0], *target);
            st = SGS_ERR_FORMAT;
        } else if (strcmp(value, "0") == 0 || strcmp(value, "1") == 0) {
            *target = value[0] - '0';
        } else {
            snprintf(err, errlen, "%s:%u: %s must be exactly 0 (audit) or 1 (enforce), not "
                     "\"%.40s\"", path, lineno, key, value);
            st = SGS_ERR_FORMAT;
        }
    }
    sgs_free(NULL, raw != NULL ? raw : text);
    if (st == SGS_OK)
        *enforce = hotfix >= 0 ? hotfix : upgrade;
    return st;
}
