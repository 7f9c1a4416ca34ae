/*
 * manifest.c - the update package's list of files and digests, in the formats the usual
 * tools write, read strictly.
 *
 * DESIGN: a manifest is input from outside: every line is parsed into (path, hash, digest)
 * with explicit limits, and any line that is not exactly one of the known forms makes the
 * whole manifest MALFORMED with its line number, as do paths that could reach outside the
 * package (absolute, ".."), empty names, NUL bytes and duplicates. Paths are normalised
 * ("./a//b" is "a/b") before duplicates are looked for, so two spellings of one file cannot
 * both be listed. Entries are then sorted by path for lookups (bsearch).
 */
#include "manifest.h"

#include "alloc.h"

#include <openssl/obj_mac.h>
#include <stdlib.h>
#include <string.h>

void
sgs_manifest_init(sgs_manifest *m, const sgs_allocator *a)
{
    memset(m, 0, sizeof(*m));
    m->alloc = a;
}

void
sgs_manifest_reset(sgs_manifest *m)
{
    for (size_t i = 0; i < m->count; i++)
        sgs_free(m->alloc, m->entries[i].path);
    sgs_free(m->alloc, m->entries);
    const sgs_allocator *const a = m->alloc;
    sgs_manifest_init(m, a);
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly 2*n hex digits. */
static int
unhex(const char *s, size_t hexlen, uint8_t *out)
{
    for (size_t i = 0; i < hexlen / 2; i++) {
        const int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static int
nid_for_hexlen(size_t n)
{
    return n == 64 ? NID_sha256 : n == 96 ? NID_sha384 : n == 128 ? NID_sha512 : NID_undef;
}

static int
nid_for_tag(const char *tag, size_t n)
{
    static const struct {
        const char *name;
        int nid;
    } tags[] = {{"SHA256", NID_sha256}, {"SHA384", NID_sha384}, {"SHA512", NID_sha512},
                {"SHA2-256", NID_sha256}, {"SHA2-384", NID_sha384}, {"SHA2-512", NID_sha512}};
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (strlen(tags[i].name) == n && memcmp(tags[i].name, tag, n) == 0)
            return tags[i].nid;
    return NID_undef;
}

/* Undoes sha256sum's escaping in place (\\, \n, \r). 0 on a bad escape. */
static int
unescape(char *s, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < *len; i++) {
        if (s[i] != '\\') {
            s[o++] = s[i];
            continue;
        }
        if (++i == *len)
            return 0;
        if (s[i] == '\\')
            s[o++] = '\\';
        else if (s[i] == 'n')
            s[o++] = '\n';
        else if (s[i] == 'r')
            s[o++] = '\r';
        else
            return 0;
    }
    *len = o;
    return 1;
}

/* Normalises a relative path in place: drops "." components and empty ones ("//"). Returns
   NULL when it is absolute, empty, or has a ".." component. */
static const char *
normalise(char *p, size_t len, char *why, size_t whylen)
{
    if (len == 0) {
        snprintf(why, whylen, "empty file name");
        return NULL;
    }
    if (p[0] == '/') {
        snprintf(why, whylen, "absolute path");
        return NULL;
    }
    size_t o = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && p[j] != '/')
            j++;
        const size_t clen = j - i;
        if (clen == 2 && p[i] == '.' && p[i + 1] == '.') {
            snprintf(why, whylen, "\"..\" component");
            return NULL;
        }
        if (clen > 0 && !(clen == 1 && p[i] == '.')) {
            if (o > 0)
                p[o++] = '/';
            memmove(p + o, p + i, clen);
            o += clen;
        }
        i = j + 1;
    }
    if (o == 0) {
        snprintf(why, whylen, "empty file name");
        return NULL;
    }
    p[o] = '\0';
    return p;
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const sgs_manifest_entry *)a)->path, ((const sgs_manifest_entry *)b)->path);
}

/* Parses one line (without its newline) into an entry. 0 with why on failure. */
static int
parse_line(char *line, size_t len, sgs_manifest_entry *e, char *why, size_t whylen)
{
    int escaped = 0;
    if (len > 0 && line[0] == '\\') {
        escaped = 1;
        line++;
        len--;
    }
    char *name = NULL;
    size_t nlen = 0;
    const char *hex = NULL;
    size_t hexlen = 0;
    int nid = NID_undef;
    /* BSD / --tag: TAG (name) = hex, or OpenSSL's TAG(name)= hex */
    char *const paren = memchr(line, '(', len);
    const char *const sp = memchr(line, ' ', len);
    if (paren != NULL && (sp == NULL || paren <= sp + 1) && hexval((unsigned char)line[0]) < 0) {
        size_t taglen = (size_t)(paren - line);
        if (taglen > 0 && line[taglen - 1] == ' ')
            taglen--;
        nid = nid_for_tag(line, taglen);
        const char *close = NULL;
        for (const char *c = line + len; c > paren; c--) { /* the last ") = " / ")= " */
            if (c[-1] == ')' && (size_t)(line + len - c) >= 2 &&
                ((c[0] == ' ' && c[1] == '=' && c + 2 < line + len && c[2] == ' ') ||
                 (c[0] == '=' && c[1] == ' '))) {
                close = c - 1;
                break;
            }
        }
        if (nid == NID_undef || close == NULL) {
            snprintf(why, whylen, "not a checksum line (unknown tag or format)");
            return 0;
        }
        name = paren + 1;
        nlen = (size_t)(close - name);
        hex = close[1] == ' ' ? close + 4 : close + 3;
        hexlen = (size_t)(line + len - hex);
    } else {
        /* hex, then "  name" (text) or " *name" (binary; also `openssl dgst -r`) */
        while (hexlen < len && hexval((unsigned char)line[hexlen]) >= 0)
            hexlen++;
        if (hexlen + 2 > len || line[hexlen] != ' ' ||
            (line[hexlen + 1] != ' ' && line[hexlen + 1] != '*')) {
            snprintf(why, whylen, "not a checksum line (expected \"HEX  NAME\")");
            return 0;
        }
        hex = line;
        nid = nid_for_hexlen(hexlen);
        name = line + hexlen + 2;
        nlen = len - hexlen - 2;
    }
    if (nid == NID_undef || nid_for_hexlen(hexlen) != nid || !unhex(hex, hexlen, e->digest)) {
        snprintf(why, whylen, "bad digest (SHA-256/384/512 in hex expected)");
        return 0;
    }
    if (memchr(name, '\0', nlen) != NULL) {
        snprintf(why, whylen, "NUL byte in the file name");
        return 0;
    }
    if (escaped && !unescape(name, &nlen)) {
        snprintf(why, whylen, "bad escape in the file name");
        return 0;
    }
    if (normalise(name, nlen, why, whylen) == NULL)
        return 0;
    e->md_nid = nid;
    e->dlen = (uint8_t)(hexlen / 2);
    e->path = name; /* copied by the caller */
    return 1;
}

sgs_status
sgs_manifest_parse(sgs_manifest *m, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    char why[160];
    char *line = sgs_malloc(m->alloc, SGS_MANIFEST_LINE_MAX + 1);
    if (line == NULL)
        return SGS_ERR_NOMEM;
    sgs_status st = SGS_OK;
    size_t pos = 0;
    uint32_t lineno = 0;
    while (pos < len && st == SGS_OK) {
        lineno++;
        const uint8_t *const nl = memchr(buf + pos, '\n', len - pos);
        const size_t llen = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
        if (llen > SGS_MANIFEST_LINE_MAX) {
            snprintf(err, errlen, "line %u: longer than %u bytes", lineno, SGS_MANIFEST_LINE_MAX);
            st = SGS_ERR_FORMAT;
            break;
        }
        memcpy(line, buf + pos, llen);
        line[llen] = '\0';
        pos += llen + (nl != NULL ? 1 : 0);
        sgs_manifest_entry e;
        memset(&e, 0, sizeof(e));
        if (!parse_line(line, llen, &e, why, sizeof(why))) {
            snprintf(err, errlen, "line %u: %s", lineno, why);
            st = SGS_ERR_FORMAT;
            break;
        }
        if (m->count == m->cap) {
            const size_t cap = m->cap ? 2 * m->cap : 256;
            sgs_manifest_entry *const grown = sgs_calloc(m->alloc, cap, sizeof(*grown));
            if (grown == NULL) {
                st = SGS_ERR_NOMEM;
                break;
            }
            if (m->count > 0)
                memcpy(grown, m->entries, m->count * sizeof(*grown));
            sgs_free(m->alloc, m->entries);
            m->entries = grown;
            m->cap = cap;
        }
        e.line = lineno;
        e.path = sgs_strdup(m->alloc, e.path);
        if (e.path == NULL) {
            st = SGS_ERR_NOMEM;
            break;
        }
        m->entries[m->count++] = e;
    }
    sgs_free(m->alloc, line);
    if (st == SGS_OK && m->count > 1) {
        qsort(m->entries, m->count, sizeof(*m->entries), by_path);
        for (size_t i = 1; i < m->count; i++) {
            if (strcmp(m->entries[i - 1].path, m->entries[i].path) == 0) {
                const uint32_t a = m->entries[i - 1].line, b = m->entries[i].line;
                snprintf(err, errlen, "line %u: duplicate of line %u (%s)", a > b ? a : b,
                         a > b ? b : a, m->entries[i].path);
                st = SGS_ERR_FORMAT;
                break;
            }
        }
    }
    if (st != SGS_OK)
        sgs_manifest_reset(m);
    return st;
}

long
sgs_manifest_find(const sgs_manifest *m, const char *path)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(m->entries[mid].path, path);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int
sgs_manifest_write_line(FILE *fp, const char *hex, const char *path)
{
    const int escape = strpbrk(path, "\\\n\r") != NULL;
    if (escape)
        putc('\\', fp);
    fputs(hex, fp);
    fputs("  ", fp);
    for (const char *c = path; *c; c++) {
        if (escape && (*c == '\\' || *c == '\n' || *c == '\r')) {
            putc('\\', fp);
            putc(*c == '\\' ? '\\' : *c == '\n' ? 'n' : 'r', fp);
        } else {
            putc(*c, fp);
        }
    }
    putc('\n', fp);
    return ferror(fp) ? -1 : 0;
}
