/*
 * manifest.c - the update package's list of files and digests, in the formats the usual
 * tools write, read strictly, and given back sorted by path in bounded memory.
 *
 * DESIGN: a manifest is input from outside: every line is parsed into (path, hash, digest)
 * with explicit limits, and any line that is not exactly one of the known forms makes the
 * whole manifest MALFORMED with its line number, as do paths that could reach outside the
 * package (absolute, ".."), empty names, NUL bytes and duplicates. Paths are normalised
 * ("./a//b" is "a/b") before duplicates are looked for, so two spellings of one file cannot
 * both be listed. The manifest arrives in pieces (package verify hashes the same bytes for
 * its signature as they are read: one read, no second look at a file that may have changed).
 *
 * Memory stays flat in the number of entries: each is packed into one record
 *
 *     u32 line | u16 path length | u8 digest length | u8 0 | digest | path | NUL
 *
 * appended to an arena of at most `memory` bytes (with its index); a full arena is sorted and
 * written as one sorted run to an unnamed temporary file (O_TMPFILE, else mkstemp + unlink),
 * then reused. At the end the runs are merged (a 72 KiB window each, the smallest head
 * first): once to find duplicates, before any entry is handed out, and once to hand them out.
 * A manifest that fits the arena never touches a file. Order is byte order (memcmp of the
 * path, then its line: a duplicate is reported with its first two lines), never the locale's.
 */
#include "manifest.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/obj_mac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_HEAD 8u
#define REC_MAX (REC_HEAD + 64u + 65535u + 1u)
#define RUN_WINDOW (72u * 1024u) /* >= REC_MAX: a record is always whole in its window */
#define SPILL_BUF (128u * 1024u)

typedef union slot {
    size_t off;         /* while the arena may move */
    const uint8_t *rec; /* once it is sorted */
} slot;

typedef struct run {
    uint64_t off, len; /* in the temporary file */
} run;

typedef struct source { /* a sorted run being merged */
    uint64_t pos, end;  /* the part of the run not read into buf yet */
    uint8_t *buf;       /* RUN_WINDOW bytes */
    size_t at, have;    /* buf[at, have): read, not consumed */
    const uint8_t *cur; /* the run's smallest record not handed out, NULL when done */
} source;

struct sgs_manifest {
    const sgs_allocator *alloc;
    size_t memory;
    sgs_status st; /* the first failure sticks */
    char err[384];
    /* lines */
    char *line; /* SGS_MANIFEST_LINE_MAX + 1 */
    size_t llen;
    uint32_t lineno;
    size_t count;
    /* entries in memory */
    uint8_t *arena;
    size_t used, acap;
    slot *idx;
    size_t n, icap;
    /* runs written out */
    int fd;
    uint64_t fd_end;
    run *runs;
    size_t nruns, rcap;
    uint8_t *wbuf; /* SPILL_BUF */
    /* reading back */
    int finished;
    size_t mem_next; /* no run written: the next index of the sorted arena */
    source *src;     /* nruns of them */
    long handed;     /* the source whose head was handed out last, -1 */
};

static uint32_t
rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint16_t
rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static size_t
rec_size(const uint8_t *r)
{
    return REC_HEAD + r[6] + rd16(r + 4) + 1u;
}

/* Byte order of the paths, then of the lines. */
static int
rec_cmp(const uint8_t *a, const uint8_t *b)
{
    const size_t la = rd16(a + 4), lb = rd16(b + 4);
    const int c = memcmp(a + REC_HEAD + a[6], b + REC_HEAD + b[6], la < lb ? la : lb);
    if (c != 0)
        return c;
    if (la != lb)
        return la < lb ? -1 : 1;
    const uint32_t x = rd32(a), y = rd32(b);
    return (x > y) - (x < y);
}

static int
by_rec(const void *a, const void *b)
{
    return rec_cmp(((const slot *)a)->rec, ((const slot *)b)->rec);
}

static sgs_status
fail(sgs_manifest *m, sgs_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static sgs_status
fail(sgs_manifest *m, sgs_status st, const char *fmt, ...)
{
    if (m->st == SGS_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err, sizeof(m->err), fmt, ap);
        va_end(ap);
        m->st = st;
    }
    return m->st;
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
sgs_manifest_create(const sgs_allocator *a, size_t memory, sgs_manifest **out)
{
    *out = NULL;
    sgs_manifest *const m = sgs_calloc(a, 1, sizeof(*m));
    if (m == NULL)
        return SGS_ERR_NOMEM;
    m->alloc = a;
    m->memory = memory < 1024u ? 1024u : memory;
    m->fd = -1;
    m->handed = -1;
    m->line = sgs_malloc(a, SGS_MANIFEST_LINE_MAX + 1);
    if (m->line == NULL) {
        sgs_manifest_free(m);
        return SGS_ERR_NOMEM;
    }
    *out = m;
    return SGS_OK;
}

static void
free_sources(sgs_manifest *m)
{
    for (size_t i = 0; m->src != NULL && i < m->nruns; i++)
        sgs_free(m->alloc, m->src[i].buf);
    sgs_free(m->alloc, m->src);
    m->src = NULL;
}

void
sgs_manifest_free(sgs_manifest *m)
{
    if (m == NULL)
        return;
    free_sources(m);
    if (m->fd >= 0)
        close(m->fd);
    sgs_free(m->alloc, m->wbuf);
    sgs_free(m->alloc, m->runs);
    sgs_free(m->alloc, m->idx);
    sgs_free(m->alloc, m->arena);
    sgs_free(m->alloc, m->line);
    sgs_free(m->alloc, m);
}

size_t
sgs_manifest_count(const sgs_manifest *m)
{
    return m->count;
}

const char *
sgs_manifest_error(const sgs_manifest *m)
{
    return m->err;
}

/* The unnamed file the runs go to: in $TMPDIR (else /tmp), readable by nobody else. */
static int
open_spill(sgs_manifest *m)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != ENOENT && errno != EACCES && errno != ENOTDIR) {
        char name[4096]; /* the file system has no O_TMPFILE: a name, gone at once */
        if ((size_t)snprintf(name, sizeof(name), "%s/sigsweep-manifest-XXXXXX", dir) <
            sizeof(name)) {
            fd = mkostemp(name, O_CLOEXEC);
            if (fd >= 0)
                (void)unlink(name);
        }
    }
    if (fd < 0)
        return fail(m, SGS_ERR_IO, "cannot make a temporary file in %.256s for the sorted "
                    "entries: %s", dir, strerror(errno)) == SGS_OK;
    m->fd = fd;
    return 1;
}

static int
write_all(sgs_manifest *m, const uint8_t *p, size_t n)
{
    while (n > 0) {
        const ssize_t w = pwrite(m->fd, p, n, (off_t)m->fd_end);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            (void)fail(m, SGS_ERR_IO, "writing the sorted entries to a temporary file: %s",
                       w < 0 ? strerror(errno) : "no progress");
            return 0;
        }
        p += w;
        n -= (size_t)w;
        m->fd_end += (uint64_t)w;
    }
    return 1;
}

/* A bigger copy of a buffer (its first `keep` bytes), the old one freed; NULL (the old one
   kept) when out of memory. */
static void *
regrow(sgs_manifest *m, void *old, size_t keep, size_t size)
{
    void *const grown = sgs_malloc(m->alloc, size);
    if (grown == NULL) {
        (void)fail(m, SGS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (keep > 0)
        memcpy(grown, old, keep);
    sgs_free(m->alloc, old);
    return grown;
}

/* arr (n elements of `size` bytes) with room for one more: as it was, or twice as large (first
   elements at first); NULL when out of memory. */
static void *
grow_array(sgs_manifest *m, void *arr, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return arr;
    const size_t ncap = *cap ? 2 * *cap : first;
    void *const grown = regrow(m, arr, n * size, ncap * size);
    if (grown != NULL)
        *cap = ncap;
    return grown;
}

/* The arena's entries, sorted (offsets become pointers: the arena no longer moves). */
static void
sort_arena(sgs_manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        m->idx[i].rec = m->arena + m->idx[i].off;
    if (m->n > 1)
        qsort(m->idx, m->n, sizeof(*m->idx), by_rec);
}

/* The arena as one sorted run at the end of the temporary file; the arena is empty after. */
static int
spill(sgs_manifest *m)
{
    if (m->fd < 0 && !open_spill(m))
        return 0;
    if (m->wbuf == NULL && (m->wbuf = sgs_malloc(m->alloc, SPILL_BUF)) == NULL)
        return fail(m, SGS_ERR_NOMEM, "out of memory") == SGS_OK;
    run *const runs = grow_array(m, m->runs, m->nruns, &m->rcap, sizeof(run), 16);
    if (runs == NULL)
        return 0;
    m->runs = runs;
    sort_arena(m);
    const uint64_t start = m->fd_end;
    size_t fill = 0;
    for (size_t i = 0; i < m->n; i++) {
        const size_t sz = rec_size(m->idx[i].rec);
        if (fill + sz > SPILL_BUF) {
            if (!write_all(m, m->wbuf, fill))
                return 0;
            fill = 0;
        }
        if (sz > SPILL_BUF) { /* cannot happen: REC_MAX < SPILL_BUF */
            if (!write_all(m, m->idx[i].rec, sz))
                return 0;
            continue;
        }
        memcpy(m->wbuf + fill, m->idx[i].rec, sz);
        fill += sz;
    }
    if (fill > 0 && !write_all(m, m->wbuf, fill))
        return 0;
    m->runs[m->nruns++] = (run){start, m->fd_end - start};
    m->n = 0;
    m->used = 0;
    return 1;
}

/* Room for one more record of sz bytes and its slot: a run goes out when memory is full. */
static int
make_room(sgs_manifest *m, size_t sz)
{
    if (m->n > 0 && m->used + sz + (m->n + 1) * sizeof(slot) > m->memory && !spill(m))
        return 0;
    if (m->used + sz > m->acap) {
        size_t cap = m->acap ? 2 * m->acap : 16384;
        const size_t most = m->memory > m->used + sz ? m->memory : m->used + sz;
        if (cap < m->used + sz)
            cap = m->used + sz;
        if (cap > most)
            cap = most;
        uint8_t *const grown = regrow(m, m->arena, m->used, cap);
        if (grown == NULL)
            return 0;
        m->arena = grown;
        m->acap = cap;
    }
    slot *const idx = grow_array(m, m->idx, m->n, &m->icap, sizeof(slot), 256);
    if (idx == NULL)
        return 0;
    m->idx = idx;
    return 1;
}

/* The line in m->line (m->llen bytes, no newline): parsed, packed into the arena. */
static void
take_line(sgs_manifest *m)
{
    char why[160];
    if (m->lineno == UINT32_MAX - 1) {
        (void)fail(m, SGS_ERR_FORMAT, "more than %u lines", UINT32_MAX - 1);
        return;
    }
    m->lineno++;
    m->line[m->llen] = '\0';
    sgs_manifest_entry e;
    memset(&e, 0, sizeof(e));
    const size_t llen = m->llen;
    m->llen = 0;
    if (!parse_line(m->line, llen, &e, why, sizeof(why))) {
        (void)fail(m, SGS_ERR_FORMAT, "line %u: %s", m->lineno, why);
        return;
    }
    const size_t plen = strlen(e.path);
    if (plen > 65535u) {
        (void)fail(m, SGS_ERR_FORMAT, "line %u: file name longer than 65535 bytes", m->lineno);
        return;
    }
    const size_t sz = REC_HEAD + e.dlen + plen + 1;
    if (!make_room(m, sz))
        return;
    uint8_t *const r = m->arena + m->used;
    const uint32_t line = m->lineno;
    const uint16_t len16 = (uint16_t)plen;
    memcpy(r, &line, sizeof(line));
    memcpy(r + 4, &len16, sizeof(len16));
    r[6] = e.dlen;
    r[7] = 0;
    memcpy(r + REC_HEAD, e.digest, e.dlen);
    memcpy(r + REC_HEAD + e.dlen, e.path, plen + 1);
    m->idx[m->n++].off = m->used;
    m->used += sz;
    m->count++;
}

sgs_status
sgs_manifest_feed(sgs_manifest *m, const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len && m->st == SGS_OK) {
        const uint8_t *const nl = memchr(buf + pos, '\n', len - pos);
        const size_t piece = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
        if (m->llen + piece > SGS_MANIFEST_LINE_MAX)
            return fail(m, SGS_ERR_FORMAT, "line %u: longer than %u bytes", m->lineno + 1,
                        SGS_MANIFEST_LINE_MAX);
        memcpy(m->line + m->llen, buf + pos, piece);
        m->llen += piece;
        pos += piece;
        if (nl != NULL) {
            pos++;
            take_line(m);
        }
    }
    return m->st;
}

/* A run's window refilled and its head record found (cur NULL at its end). */
static int
source_next(sgs_manifest *m, source *s)
{
    if (s->at + REC_HEAD > s->have || s->at + rec_size(s->buf + s->at) > s->have) {
        memmove(s->buf, s->buf + s->at, s->have - s->at);
        s->have -= s->at;
        s->at = 0;
        while (s->pos < s->end && s->have < RUN_WINDOW) {
            const uint64_t want64 = s->end - s->pos;
            const size_t want = want64 < RUN_WINDOW - s->have ? (size_t)want64
                                                                : RUN_WINDOW - s->have;
            const ssize_t got = pread(m->fd, s->buf + s->have, want, (off_t)s->pos);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                (void)fail(m, SGS_ERR_IO, "reading the sorted entries back from the temporary "
                           "file: %s", got < 0 ? strerror(errno) : "it is shorter");
                return 0;
            }
            s->have += (size_t)got;
            s->pos += (uint64_t)got;
        }
    }
    if (s->at == s->have) {
        s->cur = NULL;
        return 1;
    }
    if (s->at + REC_HEAD > s->have || s->at + rec_size(s->buf + s->at) > s->have) {
        (void)fail(m, SGS_ERR_IO, "the temporary file of sorted entries is damaged");
        return 0;
    }
    s->cur = s->buf + s->at;
    return 1;
}

/* Every run read from its start again. */
static int
sources_start(sgs_manifest *m)
{
    if (m->src == NULL) {
        if ((m->src = sgs_calloc(m->alloc, m->nruns, sizeof(*m->src))) == NULL)
            return fail(m, SGS_ERR_NOMEM, "out of memory") == SGS_OK;
        for (size_t i = 0; i < m->nruns; i++)
            if ((m->src[i].buf = sgs_malloc(m->alloc, RUN_WINDOW)) == NULL)
                return fail(m, SGS_ERR_NOMEM, "out of memory") == SGS_OK;
    }
    m->handed = -1;
    for (size_t i = 0; i < m->nruns; i++) {
        source *const s = &m->src[i];
        s->pos = m->runs[i].off;
        s->end = m->runs[i].off + m->runs[i].len;
        s->at = s->have = 0;
        if (!source_next(m, s))
            return 0;
    }
    return 1;
}

static void
decode(const uint8_t *r, sgs_manifest_entry *out)
{
    out->line = rd32(r);
    out->dlen = r[6];
    out->md_nid = out->dlen == 32 ? NID_sha256 : out->dlen == 48 ? NID_sha384 : NID_sha512;
    memcpy(out->digest, r + REC_HEAD, out->dlen);
    out->path = (const char *)(r + REC_HEAD + out->dlen);
}

/* The smallest record not handed out yet (1), none left (0), or a read failure (-1). */
static int
next_record(sgs_manifest *m, const uint8_t **rec)
{
    if (m->nruns == 0) {
        if (m->mem_next == m->n)
            return 0;
        *rec = m->idx[m->mem_next++].rec;
        return 1;
    }
    if (m->handed >= 0) { /* its record was handed out: only now may its window move */
        source *const s = &m->src[m->handed];
        s->at += rec_size(s->cur);
        if (!source_next(m, s))
            return -1;
    }
    long best = -1;
    for (size_t i = 0; i < m->nruns; i++)
        if (m->src[i].cur != NULL && (best < 0 || rec_cmp(m->src[i].cur, m->src[best].cur) < 0))
            best = (long)i;
    m->handed = best;
    if (best < 0)
        return 0;
    *rec = m->src[best].cur;
    return 1;
}

sgs_status
sgs_manifest_finish(sgs_manifest *m)
{
    if (m->st != SGS_OK || m->finished)
        return m->st;
    if (m->llen > 0)
        take_line(m);
    if (m->st != SGS_OK)
        return m->st;
    if (m->nruns > 0 && m->n > 0 && !spill(m))
        return m->st;
    if (m->nruns > 0) { /* the arena is not needed any more: the runs are read in windows */
        sgs_free(m->alloc, m->arena);
        sgs_free(m->alloc, m->idx);
        m->arena = NULL;
        m->idx = NULL;
        m->acap = m->icap = 0;
        if (!sources_start(m))
            return m->st;
    } else {
        sort_arena(m);
    }
    /* duplicates: equal paths are neighbours, by line; the previous one is kept in m->line */
    const uint8_t *rec = NULL;
    size_t prev_len = 0;
    uint32_t prev_line = 0;
    int r;
    while ((r = next_record(m, &rec)) == 1) {
        const size_t plen = rd16(rec + 4);
        const char *const path = (const char *)(rec + REC_HEAD + rec[6]);
        if (prev_line != 0 && plen == prev_len && memcmp(path, m->line, plen) == 0)
            return fail(m, SGS_ERR_FORMAT, "line %u: duplicate of line %u (%.200s)", rd32(rec),
                        prev_line, path);
        memcpy(m->line, path, plen);
        prev_len = plen;
        prev_line = rd32(rec);
    }
    if (r < 0)
        return m->st;
    m->mem_next = 0;
    if (m->nruns > 0 && !sources_start(m))
        return m->st;
    m->finished = 1;
    return SGS_OK;
}

int
sgs_manifest_next(sgs_manifest *m, sgs_manifest_entry *out)
{
    if (!m->finished || m->st != SGS_OK)
        return m->st != SGS_OK ? -1 : 0;
    const uint8_t *rec = NULL;
    const int r = next_record(m, &rec);
    if (r == 1)
        decode(rec, out);
    return r;
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
