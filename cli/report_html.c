/*
 * report_html.c - the fleet report: reads JSON Lines run reports (verify, agents, package
 * verify; one host's or many merged) and writes one self-contained HTML page.
 *
 * DESIGN: one pass over the input, one line at a time, read and checked by report.c's
 * rep_reader (the reader of report merge and summary: a report that is truncated, of another
 * format, without a run record, with a type format 1 does not have, or whose runs do not add
 * up to their counts is refused with FILE:LINE, exit 2, as merge refuses it: a page is not
 * made of numbers its own report contradicts). What the page shows is aggregated on the way,
 * in structures bounded by the number of hosts and by report_html_limits, never by the number
 * of records:
 *
 *   rep_next ─► run record ─► the current run (host, its group, interrupted?)
 *            ─► run_end ───► a streamed run's end (interrupted?)
 *            ─► note ──────► notes (capped)
 *            ─► a record ──► host and fleet counts per verdict
 *                                    ─► not VALID: findings (same digest, or same path and
 *                                       reason: one row with its count of hosts), the missing
 *                                       CA of an UNTRUSTED reason and its --search fix, the
 *                                       embedded rows (capped per host and in all)
 *                                    ─► an "agent" field: the agents' tally and rows
 *
 * Every string from a report is attacker-controlled: it reaches the page only through
 * rh_html() (text and attributes) or rh_json() (the embedded data, safe inside <script>:
 * no '<', '>', '&', U+2028/9), both of which write bytes that are not UTF-8 as U+FFFD; the
 * page's script puts data in the DOM with textContent only. The page is built in memory
 * (bounded, as above) and written with sgs_wfile_* (temporary file, rename), so a bad input
 * leaves no half-written page. The fixed markup, style and script: cli/assets/
 * (report_html_page.h).
 */
#include "report.h"
#include "report_html.h"
#include "report_html_page.h"

#include "sigsweep.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    RH_MAX_FIELD = 1024,    /* bytes of a path or reason kept in a finding or row */
    RH_MAX_NOTES = 200,
    RH_MAX_GROUPS = 24, /* host groups charted; the rest are "other" */
    RH_MAX_CAS = 1000,  /* distinct missing CAs tracked */
    RH_MAX_VERSIONS = 8,
    RH_MAX_FPRINTS = 16,
};

void
report_html_limits_init(report_html_limits *l)
{
    l->rows_per_host = 100;
    l->rows = 20000;
    l->agent_rows = 20000;
    l->groups = 50000;
    l->groups_shown = 2000;
}

/* ---- strings and the growing buffer ------------------------------------------------------- */

/* Bytes that grow; a failed allocation sticks (every later add is refused) and is checked
   once, before the page is written. */
typedef struct rh_buf {
    char *p;
    size_t len, cap;
    int failed;
} rh_buf;

static int
rh_buf_add(rh_buf *b, const void *p, size_t n)
{
    if (b->failed)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *const q = realloc(b->p, cap);
        if (q == NULL) {
            b->failed = 1;
            return -1;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int
rh_buf_str(rh_buf *b, const char *s)
{
    return rh_buf_add(b, s, strlen(s));
}

static int __attribute__((format(printf, 2, 3))) rh_buf_printf(rh_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    const int w = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(tmp)) {
        b->failed = 1;
        return -1;
    }
    return rh_buf_add(b, tmp, (size_t)w);
}

/* The code point of the UTF-8 sequence at s (at most n bytes) and its length in *len; -1 and
 *len = 1 for a byte that does not start a well-formed sequence (overlong, surrogate, cut). */
static long
utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    const unsigned c = s[0];
    if (c < 0x80)
        return (long)c;
    size_t need;
    unsigned long cp;
    unsigned long min;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (need > n)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *len = need;
    return (long)cp;
}

/* The length of s's first `max` bytes, cut back to a character boundary. */
static size_t
cut_utf8(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t at = max;
    while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80)
        at--;
    return at;
}

/* str as HTML text or a quoted attribute's value. */
static void
rh_html(rh_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        size_t len;
        const long cp = utf8_decode(s + i, n - i, &len);
        const char *rep = NULL;
        switch (cp) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if (cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f)
                rep = "\xef\xbf\xbd"; /* U+FFFD */
        }
        if (rep != NULL)
            rh_buf_str(b, rep);
        else
            rh_buf_add(b, s + i, len);
        i += len;
    }
}

/* str as a JSON string that is safe inside <script> (no '<', '>', '&', U+2028/9), cut to max
   bytes on a character boundary (then ending in U+2026). */
static void
rh_json(rh_buf *b, const char *str, size_t n, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    const size_t end = cut_utf8(str, n, max);
    rh_buf_add(b, "\"", 1);
    size_t i = 0;
    while (i < end) {
        size_t len;
        const long cp = utf8_decode(s + i, end - i, &len);
        if (cp == '"' || cp == '\\') {
            rh_buf_printf(b, "\\%c", (int)cp);
        } else if (cp < 0) {
            rh_buf_str(b, "\\ufffd");
        } else if (cp < 0x20 || cp == 0x7f || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 ||
                   cp == 0x2029) {
            rh_buf_printf(b, "\\u%04lx", (unsigned long)cp);
        } else {
            rh_buf_add(b, s + i, len);
        }
        i += len;
    }
    if (end < n)
        rh_buf_str(b, "\\u2026"); /* … where it was cut */
    rh_buf_add(b, "\"", 1);
}

/* A string field of a JSON object: its bytes and length, or ("", 0) when absent or not a
   string. */
static const char *
field_str(const json_t *o, const char *key, size_t *len)
{
    const json_t *v;
    if ((v = json_object_get(o, key)) == NULL || !json_is_string(v)) {
        *len = 0;
        return "";
    }
    *len = (size_t)json_string_length(v);
    return json_string_value(v);
}

static char *
dup_n(const char *s, size_t n)
{
    char *const d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* ---- a string-keyed index: key -> dense number, open addressing ----------------------------- */

typedef struct rh_map {
    uint32_t *slots; /* number + 1; 0: empty */
    size_t nslots;
    char **keys;
    size_t *klens;
    size_t n, kcap;
} rh_map;

static uint64_t
hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* The number of key (0, 1, ... in order of addition); *added says whether it is new. Only
   adds while fewer than `limit` keys are held. Returns -1 when full or out of memory (*added
   0). */
static long
map_get(rh_map *m, const char *key, size_t len, size_t limit, int *added)
{
    *added = 0;
    if (m->nslots == 0 || (m->n + 1) * 2 > m->nslots) {
        const size_t ns = m->nslots ? m->nslots * 2 : 1024;
        uint32_t *const slots = calloc(ns, sizeof(*slots));
        if (slots == NULL)
            return -1;
        for (size_t k = 0; k < m->n; k++) {
            size_t s = (size_t)hash_bytes(m->keys[k], m->klens[k]) & (ns - 1);
            while (slots[s] != 0)
                s = (s + 1) & (ns - 1);
            slots[s] = (uint32_t)(k + 1);
        }
        free(m->slots);
        m->slots = slots;
        m->nslots = ns;
    }
    size_t s = (size_t)hash_bytes(key, len) & (m->nslots - 1);
    for (; m->n > 0 && m->slots[s] != 0; s = (s + 1) & (m->nslots - 1)) {
        const size_t k = m->slots[s] - 1;
        if (m->klens[k] == len && memcmp(m->keys[k], key, len) == 0)
            return (long)k;
    }
    if (m->n >= limit || m->n >= UINT32_MAX - 1)
        return -1;
    if (m->n == m->kcap) {
        const size_t kcap = m->kcap ? m->kcap * 2 : 256;
        char **const keys = realloc(m->keys, kcap * sizeof(*keys));
        if (keys == NULL)
            return -1;
        m->keys = keys;
        size_t *const klens = realloc(m->klens, kcap * sizeof(*klens));
        if (klens == NULL)
            return -1;
        m->klens = klens;
        m->kcap = kcap;
    }
    char *const copy = dup_n(key, len);
    if (copy == NULL)
        return -1;
    m->keys[m->n] = copy;
    m->klens[m->n] = len;
    m->slots[s] = (uint32_t)(m->n + 1);
    *added = 1;
    return (long)m->n++;
}

static void
map_free(rh_map *m)
{
    for (size_t k = 0; k < m->n; k++)
        free(m->keys[k]);
    free(m->keys);
    free(m->klens);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* Makes room for entry k of an array that grows with a map. */
static int
grow(void **arr, size_t *cap, size_t k, size_t size)
{
    if (k < *cap)
        return 0;
    const size_t ncap = *cap ? *cap * 2 : 256;
    void *const p = realloc(*arr, ncap * size);
    if (p == NULL)
        return -1;
    memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ---- the aggregates ------------------------------------------------------------------------ */

typedef struct rh_host {
    uint64_t counts[SGS_VERDICT_COUNT];
    uint64_t files, runs, rows;
    size_t group;
    int interrupted;
} rh_host;

/* A finding's (and a missing CA's) hosts are counted as changes of host between its records:
   a run's records follow its run record, so this is the number of hosts unless the runs of one
   host are interleaved with others' (then a host may count twice); exact would need a set per
   finding, memory that grows with the records. */
typedef struct rh_finding {
    sgs_verdict verdict;
    char *path, *reason, *digest, *agent;
    uint64_t records, hosts;
    size_t last_host, first_host;
} rh_finding;

typedef struct rh_ca {
    char *fix;
    uint64_t records, hosts, fixable;
    size_t last_host;
} rh_ca;

typedef struct rh_ctx {
    report_html_limits lim;
    FILE *err;
    /* where we are */
    const char *file;
    uint64_t line;
    size_t cur;   /* the current run's host */
    /* the fleet */
    rh_map hosts;
    rh_host *host;
    size_t host_cap;
    rh_map groups; /* group names, in order of first appearance */
    uint64_t totals[SGS_VERDICT_COUNT], files, runs, agents, agent_counts[SGS_VERDICT_COUNT];
    rh_map findings;
    rh_finding *finding;
    size_t finding_cap;
    uint64_t untracked_records; /* non-VALID records past the findings limit */
    rh_map cas;
    rh_ca *ca;
    size_t ca_cap;
    rh_buf rows, agent_rows;
    uint64_t nrows, nagent_rows, rows_left_out, agent_rows_left_out;
    rh_buf notes; /* JSON array elements: ["level","text"] */
    uint64_t nnotes, notes_left_out;
    char first_start[40], last_end[40];
    rh_map versions, commands, fprints;
} rh_ctx;

/* A note shown at the top of the page (warnings from the reports and from reading them). */
static void
add_note(rh_ctx *c, const char *level, const char *text, size_t len)
{
    if (c->nnotes >= RH_MAX_NOTES) {
        c->notes_left_out++;
        return;
    }
    rh_buf_str(&c->notes, c->nnotes++ ? ",[" : "[");
    rh_json(&c->notes, level, strlen(level), 32);
    rh_buf_str(&c->notes, ",");
    rh_json(&c->notes, text, len, 2000);
    rh_buf_str(&c->notes, "]");
}

static int
fail(rh_ctx *c, const char *msg, const char *detail)
{
    if (c->line > 0)
        fprintf(c->err, "sigsweep report html: %s:%llu: %s%s\n", c->file,
                (unsigned long long)c->line, msg, detail);
    else
        fprintf(c->err, "sigsweep report html: %s: %s%s\n", c->file, msg, detail);
    return -1;
}

static int
oom(rh_ctx *c)
{
    return fail(c, "out of memory", "");
}

/* A host's group: the run's "group" when it has one, else its name up to the first dot with
   trailing digits, '-' and '_' taken off ("web-012.example.org" -> "web"). */
static long
group_of(rh_ctx *c, json_t *run, const char *host, size_t hlen)
{
    size_t glen;
    const char *g = field_str(run, "group", &glen);
    if (glen == 0) {
        const char *const dot = memchr(host, '.', hlen);
        glen = dot != NULL && dot > host ? (size_t)(dot - host) : hlen;
        while (glen > 1 && strchr("0123456789-_", host[glen - 1]) != NULL)
            glen--;
        g = host;
    }
    int added;
    long k = map_get(&c->groups, g, glen, RH_MAX_GROUPS, &added);
    if (k < 0)
        k = map_get(&c->groups, "other", 5, RH_MAX_GROUPS + 1, &added);
    return k;
}

/* Remembers up to `limit` distinct values of key in m (versions, commands, fingerprints). */
static void
remember(rh_map *m, const char *s, size_t len, size_t limit)
{
    int added;
    if (len > 0)
        (void)map_get(m, s, len, limit, &added);
}

/* A run record, or a streamed run's run_end, that says the run was interrupted. */
static void
on_interrupted(rh_ctx *c, const json_t *o, const char *hname, size_t hlen)
{
    const json_t *const stop = json_object_get(o, "interrupted");
    /* (rep_next: a run_end only inside a run, so a host) */
    if (stop == NULL || !json_is_true(stop) || c->host == NULL || c->host[c->cur].interrupted)
        return;
    c->host[c->cur].interrupted = 1;
    char text[600];
    snprintf(text, sizeof(text),
             "%s:%llu (host %.*s): the run was interrupted: not every file was judged", c->file,
             (unsigned long long)c->line, (int)cut_utf8(hname, hlen, 200), hname);
    add_note(c, "warning", text, strlen(text));
}

/* A run record (its format, host, command, shard and fingerprints checked by rep_next). */
static int
on_run(rh_ctx *c, json_t *o)
{
    size_t hlen;
    const char *const hname = field_str(o, "host", &hlen);
    if (hlen == 0)
        return fail(c, "a run record without a host name", "");
    int added;
    const long h = map_get(&c->hosts, hname, hlen, SIZE_MAX, &added);
    if (h < 0 || grow((void **)&c->host, &c->host_cap, (size_t)h, sizeof(*c->host)) != 0)
        return oom(c);
    rh_host *const host = &c->host[h];
    if (added) {
        const long g = group_of(c, o, hname, hlen);
        if (g < 0)
            return oom(c);
        host->group = (size_t)g;
    }
    host->runs++;
    c->cur = (size_t)h;
    c->runs++;
    on_interrupted(c, o, hname, hlen);
    size_t len;
    const char *s = field_str(o, "start", &len);
    if (len > 0 && len < sizeof(c->first_start) &&
        (c->first_start[0] == '\0' || strcmp(s, c->first_start) < 0))
        memcpy(c->first_start, s, len + 1);
    s = field_str(o, "end", &len);
    if (len > 0 && len < sizeof(c->last_end) && strcmp(s, c->last_end) > 0)
        memcpy(c->last_end, s, len + 1);
    s = field_str(o, "version", &len);
    remember(&c->versions, s, len, RH_MAX_VERSIONS);
    s = field_str(o, "command", &len);
    remember(&c->commands, s, len, RH_MAX_VERSIONS);
    json_t *fp;
    if ((fp = json_object_get(o, "fingerprints")) != NULL && strcmp(s, "verify") == 0) {
        char all[600];
        size_t klen, tlen, olen;
        const char *const k = field_str(fp, "keys", &klen), *const t =
                                                                field_str(fp, "trust", &tlen);
        const char *const opt = field_str(fp, "options", &olen);
        const int w = snprintf(all, sizeof(all), "%.180s|%.180s|%.180s", k, t, opt);
        remember(&c->fprints, all, w > 0 ? strlen(all) : 0, RH_MAX_FPRINTS);
    }
    return 0;
}

/* UNTRUSTED: the issuer the chain lacks and, when --search found it, what to import (trust.c
   writes: chain incomplete: no certificate for issuer "DN" ...; would be VALID after importing
   "DN" from FILE[ and "DN" from FILE]). */
static int
on_missing_ca(rh_ctx *c, const char *reason, size_t len)
{
    static const char missing[] = "no certificate for issuer \"";
    static const char fix[] = "would be VALID after importing ";
    const char *const m = memmem(reason, len, missing, sizeof(missing) - 1);
    if (m == NULL)
        return 0;
    const char *const dn = m + sizeof(missing) - 1;
    const char *const q = memchr(dn, '"', len - (size_t)(dn - reason));
    if (q == NULL)
        return 0;
    int added;
    const long k =
        map_get(&c->cas, dn, cut_utf8(dn, (size_t)(q - dn), RH_MAX_FIELD), RH_MAX_CAS, &added);
    if (k < 0)
        return 0; /* past the limit: the findings still count these files */
    if (grow((void **)&c->ca, &c->ca_cap, (size_t)k, sizeof(*c->ca)) != 0)
        return oom(c);
    rh_ca *const ca = &c->ca[k];
    if (ca->records++ == 0 || ca->last_host != c->cur)
        ca->hosts++;
    ca->last_host = c->cur;
    const char *const f = memmem(reason, len, fix, sizeof(fix) - 1);
    if (f != NULL) {
        ca->fixable++;
        if (ca->fix == NULL) {
            const char *const from = f + sizeof(fix) - 1;
            const size_t rest = len - (size_t)(from - reason);
            const char *const semi = memmem(from, rest, "; ", 2);
            const size_t n = semi != NULL ? (size_t)(semi - from) : rest;
            ca->fix = dup_n(from, cut_utf8(from, n, RH_MAX_FIELD));
            if (ca->fix == NULL)
                return oom(c);
        }
    }
    return 0;
}

/* Same digest (or, without one, same path and reason) and verdict: one finding. */
static int
on_finding(rh_ctx *c, sgs_verdict v, const char *path, size_t plen, const char *reason, size_t rlen,
           const char *digest, size_t dlen, const char *agent, size_t alen)
{
    char key[2 * RH_MAX_FIELD + 8];
    size_t n = 0;
    key[n++] = (char)('A' + (int)v);
    if (dlen > 0) {
        key[n++] = 'd';
        dlen = cut_utf8(digest, dlen, RH_MAX_FIELD);
        memcpy(key + n, digest, dlen);
        n += dlen;
    } else {
        key[n++] = 'p';
        const size_t pl = cut_utf8(path, plen, RH_MAX_FIELD), rl = cut_utf8(reason, rlen, 900);
        memcpy(key + n, path, pl);
        n += pl;
        key[n++] = '\0';
        memcpy(key + n, reason, rl);
        n += rl;
    }
    int added;
    const long k = map_get(&c->findings, key, n, c->lim.groups, &added);
    if (k < 0) {
        c->untracked_records++;
        return 0;
    }
    if (grow((void **)&c->finding, &c->finding_cap, (size_t)k, sizeof(*c->finding)) != 0)
        return oom(c);
    rh_finding *const f = &c->finding[k];
    if (added) {
        f->verdict = v;
        f->path = dup_n(path, cut_utf8(path, plen, RH_MAX_FIELD));
        f->reason = dup_n(reason, cut_utf8(reason, rlen, RH_MAX_FIELD));
        f->digest = dup_n(digest, dlen);
        f->agent = dup_n(agent, cut_utf8(agent, alen, RH_MAX_FIELD));
        f->first_host = c->cur;
        if (f->path == NULL || f->reason == NULL || f->digest == NULL || f->agent == NULL)
            return oom(c);
    }
    if (f->records++ == 0 || f->last_host != c->cur)
        f->hosts++;
    f->last_host = c->cur;
    return 0;
}

/* A record (inside a run, of a known verdict: rep_next). */
static int
on_record(rh_ctx *c, json_t *o)
{
    size_t vlen, plen, rlen, dlen, alen;
    const char *const vname = field_str(o, "verdict", &vlen);
    sgs_verdict v;
    if (sgs_verdict_from_name(vname, &v) != 0)
        return fail(c, "a record without a known verdict", "");
    const char *const path = field_str(o, "path", &plen);
    const char *const reason = field_str(o, "reason", &rlen);
    const char *const digest = field_str(o, "digest", &dlen);
    const char *const agent = field_str(o, "agent", &alen);
    const int is_agent = json_object_get(o, "agent") != NULL;
    if (c->host == NULL) /* rep_next: a record only inside a run, so never */
        return fail(c, "a record before any run record", "");
    rh_host *const h = &c->host[c->cur];
    h->counts[v]++;
    h->files++;
    c->totals[v]++;
    c->files++;
    if (is_agent) {
        c->agents++;
        c->agent_counts[v]++;
    }
    if (v == SGS_V_VALID)
        return 0;
    if (on_finding(c, v, path, plen, reason, rlen, digest, dlen, agent, alen) != 0)
        return -1;
    if (v == SGS_V_UNTRUSTED && on_missing_ca(c, reason, rlen) != 0)
        return -1;
    if (is_agent) {
        if (c->nagent_rows >= c->lim.agent_rows) {
            c->agent_rows_left_out++;
        } else {
            rh_buf_printf(&c->agent_rows, "%s[%zu,%d,", c->nagent_rows++ ? "," : "", c->cur,
                          (int)v);
            rh_json(&c->agent_rows, agent, alen, RH_MAX_FIELD);
            rh_buf_str(&c->agent_rows, ",");
            rh_json(&c->agent_rows, reason, rlen, RH_MAX_FIELD);
            rh_buf_str(&c->agent_rows, ",");
            rh_json(&c->agent_rows, path, plen, RH_MAX_FIELD);
            rh_buf_str(&c->agent_rows, "]");
        }
    }
    if (h->rows >= c->lim.rows_per_host || c->nrows >= c->lim.rows) {
        c->rows_left_out++;
        return 0;
    }
    h->rows++;
    rh_buf_printf(&c->rows, "%s[%zu,%d,", c->nrows++ ? "," : "", c->cur, (int)v);
    rh_json(&c->rows, path, plen, RH_MAX_FIELD);
    rh_buf_str(&c->rows, ",");
    rh_json(&c->rows, reason, rlen, RH_MAX_FIELD);
    rh_buf_str(&c->rows, ",");
    rh_json(&c->rows, digest, dlen, 128);
    rh_buf_str(&c->rows, "]");
    return 0;
}

static int
read_input(rh_ctx *c, const char *path)
{
    char err[1024];
    c->file = path;
    c->line = 0;
    rep_reader *const r = rep_open(path, err, sizeof(err));
    if (r == NULL) {
        fprintf(c->err, "sigsweep report html: %s\n", err);
        return -1;
    }
    rep_line l;
    int got, rc = 0;
    while (rc == 0 && (got = rep_next(r, &l, err, sizeof(err))) == 1) {
        c->line = l.lineno;
        if (l.kind == REP_RUN) {
            rc = on_run(c, l.obj);
        } else if (l.kind == REP_RUN_END) {
            size_t hlen;
            const char *const hname = field_str(rep_run(r), "host", &hlen);
            on_interrupted(c, l.obj, hname, hlen);
        } else if (l.kind == REP_NOTE) {
            size_t llen, tlen;
            const char *const level = field_str(l.obj, "level", &llen);
            const char *const text = field_str(l.obj, "text", &tlen);
            add_note(c, llen > 0 ? level : "note", text, tlen);
        } else {
            rc = on_record(c, l.obj);
        }
    }
    if (rc == 0 && got < 0) {
        fprintf(c->err, "sigsweep report html: %s\n", err);
        rc = -1;
    }
    rep_close(r);
    return rc;
}

/* ---- the page ------------------------------------------------------------------------------- */

/* Worst first: what an attacker did (a private key exposed, a file changed) before what an
   admin forgot (a CA, a signature) before what could not be judged. */
static int
severity(sgs_verdict v)
{
    static const sgs_verdict order[] = {
        SGS_V_PRIVATE_KEY_EXPOSED, SGS_V_BAD_SIGNATURE, SGS_V_DIGEST_MISMATCH, SGS_V_CHANGED,
        SGS_V_KEY_MISMATCH,        SGS_V_REVOKED,       SGS_V_EXTRA_FILE,      SGS_V_MALFORMED,
        SGS_V_UNTRUSTED,           SGS_V_EXPIRED,       SGS_V_NOT_YET_VALID,   SGS_V_NO_SIGNATURE,
        SGS_V_MISSING_FILE,        SGS_V_UNSUPPORTED,   SGS_V_IO_ERROR,        SGS_V_SKIPPED,
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (order[i] == v)
            return (int)i;
    return 99;
}

static int
cmp_u64_desc(uint64_t a, uint64_t b)
{
    return a < b ? 1 : a > b ? -1 : 0;
}

typedef struct finding_ref {
    const rh_finding *f;
} finding_ref;

static int
cmp_finding(const void *pa, const void *pb)
{
    const rh_finding *const a = ((const finding_ref *)pa)->f;
    const rh_finding *const b = ((const finding_ref *)pb)->f;
    const int sa = severity(a->verdict), sb = severity(b->verdict);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    const int h = cmp_u64_desc(a->hosts, b->hosts);
    return h != 0 ? h : cmp_u64_desc(a->records, b->records);
}

typedef struct ca_ref {
    const rh_ca *ca;
    const char *dn;
    size_t dnlen;
} ca_ref;

static int
cmp_ca(const void *pa, const void *pb)
{
    const ca_ref *const a = pa, *const b = pb;
    const int h = cmp_u64_desc(a->ca->hosts, b->ca->hosts);
    return h != 0 ? h : cmp_u64_desc(a->ca->records, b->ca->records);
}

/* The keys of m as a JSON array of strings. */
static void
json_keys(rh_buf *b, const rh_map *m)
{
    rh_buf_str(b, "[");
    for (size_t k = 0; k < m->n; k++) {
        if (k > 0)
            rh_buf_str(b, ",");
        rh_json(b, m->keys[k], m->klens[k], RH_MAX_FIELD);
    }
    rh_buf_str(b, "]");
}

/* The keys of m as HTML text, ", " between them. */
static void
html_keys(rh_buf *b, const rh_map *m)
{
    for (size_t k = 0; k < m->n; k++) {
        if (k > 0)
            rh_buf_str(b, ", ");
        rh_html(b, m->keys[k], m->klens[k]);
    }
}

static const char *const verdict_colors[SGS_VERDICT_COUNT] = {
    [SGS_V_VALID] = "#2e7d32",
    [SGS_V_BAD_SIGNATURE] = "#c62828",
    [SGS_V_DIGEST_MISMATCH] = "#ad1457",
    [SGS_V_NO_SIGNATURE] = "#ef6c00",
    [SGS_V_MISSING_FILE] = "#6d4c41",
    [SGS_V_EXTRA_FILE] = "#8e24aa",
    [SGS_V_UNTRUSTED] = "#f9a825",
    [SGS_V_EXPIRED] = "#fbc02d",
    [SGS_V_NOT_YET_VALID] = "#9e9d24",
    [SGS_V_REVOKED] = "#4a148c",
    [SGS_V_KEY_MISMATCH] = "#d84315",
    [SGS_V_MALFORMED] = "#5d4037",
    [SGS_V_UNSUPPORTED] = "#607d8b",
    [SGS_V_IO_ERROR] = "#455a64",
    [SGS_V_CHANGED] = "#b71c1c",
    [SGS_V_SKIPPED] = "#90a4ae",
    [SGS_V_PRIVATE_KEY_EXPOSED] = "#000000",
};

/* The page's data, for its script (report_html_page.c says what each array holds). */
static void
write_data(rh_buf *b, rh_ctx *c)
{
    rh_buf_str(b, "{\"verdicts\":[");
    for (int v = 0; v < SGS_VERDICT_COUNT; v++)
        rh_buf_printf(b, "%s\"%s\"", v ? "," : "", sgs_verdict_name((sgs_verdict)v));
    rh_buf_str(b, "],\"colors\":[");
    for (int v = 0; v < SGS_VERDICT_COUNT; v++)
        rh_buf_printf(b, "%s\"%s\"", v ? "," : "", verdict_colors[v] ? verdict_colors[v] : "#999");
    rh_buf_str(b, "],\"groups\":");
    json_keys(b, &c->groups);
    rh_buf_str(b, ",\"hosts\":[");
    for (size_t h = 0; h < c->hosts.n; h++) {
        const rh_host *const host = &c->host[h];
        rh_buf_str(b, h ? ",[" : "[");
        rh_json(b, c->hosts.keys[h], c->hosts.klens[h], RH_MAX_FIELD);
        rh_buf_printf(
            b, ",%zu,%llu,%llu,%llu,%d,%llu,[", host->group, (unsigned long long)host->files,
            (unsigned long long)(host->files - host->counts[SGS_V_VALID]),
            (unsigned long long)host->runs, host->interrupted, (unsigned long long)host->rows);
        for (int v = 0; v < SGS_VERDICT_COUNT; v++)
            rh_buf_printf(b, "%s%llu", v ? "," : "", (unsigned long long)host->counts[v]);
        rh_buf_str(b, "]]");
    }
    rh_buf_printf(b, "],\"rowsLeftOut\":%llu,\"rows\":[", (unsigned long long)c->rows_left_out);
    rh_buf_add(b, c->rows.p != NULL ? c->rows.p : "", c->rows.len);
    rh_buf_printf(b, "],\"agentsLeftOut\":%llu,\"agents\":[",
                  (unsigned long long)c->agent_rows_left_out);
    rh_buf_add(b, c->agent_rows.p != NULL ? c->agent_rows.p : "", c->agent_rows.len);
    rh_buf_str(b, "],\"findings\":[");
    finding_ref *const sorted = malloc((c->findings.n + 1) * sizeof(*sorted));
    size_t shown = 0;
    if (sorted == NULL) {
        b->failed = 1;
    } else {
        for (size_t k = 0; k < c->findings.n; k++)
            sorted[k].f = &c->finding[k];
        qsort(sorted, c->findings.n, sizeof(*sorted), cmp_finding);
        shown = c->findings.n < c->lim.groups_shown ? c->findings.n : c->lim.groups_shown;
        for (size_t k = 0; k < shown; k++) {
            const rh_finding *const f = sorted[k].f;
            rh_buf_printf(b, "%s[%d,", k ? "," : "", (int)f->verdict);
            rh_json(b, f->path, strlen(f->path), RH_MAX_FIELD);
            rh_buf_str(b, ",");
            rh_json(b, f->reason, strlen(f->reason), RH_MAX_FIELD);
            rh_buf_str(b, ",");
            rh_json(b, f->digest, strlen(f->digest), 128);
            rh_buf_printf(b, ",%llu,%llu,%zu,", (unsigned long long)f->hosts,
                          (unsigned long long)f->records, f->first_host);
            rh_json(b, f->agent, strlen(f->agent), RH_MAX_FIELD);
            rh_buf_str(b, "]");
        }
        free(sorted);
    }
    rh_buf_printf(b, "],\"findingsTotal\":%zu,\"untracked\":%llu,\"cas\":[", c->findings.n,
                  (unsigned long long)c->untracked_records);
    ca_ref *const cas = malloc((c->cas.n + 1) * sizeof(*cas));
    if (cas == NULL) {
        b->failed = 1;
    } else {
        for (size_t k = 0; k < c->cas.n; k++)
            cas[k] = (ca_ref){&c->ca[k], c->cas.keys[k], c->cas.klens[k]};
        qsort(cas, c->cas.n, sizeof(*cas), cmp_ca);
        for (size_t k = 0; k < c->cas.n; k++) {
            rh_buf_str(b, k ? ",[" : "[");
            rh_json(b, cas[k].dn, cas[k].dnlen, RH_MAX_FIELD);
            rh_buf_printf(b, ",%llu,%llu,%llu,", (unsigned long long)cas[k].ca->hosts,
                          (unsigned long long)cas[k].ca->records,
                          (unsigned long long)cas[k].ca->fixable);
            const char *const fix = cas[k].ca->fix != NULL ? cas[k].ca->fix : "";
            rh_json(b, fix, strlen(fix), RH_MAX_FIELD);
            rh_buf_str(b, "]");
        }
        free(cas);
    }
    rh_buf_str(b, "],\"notes\":[");
    rh_buf_add(b, c->notes.p != NULL ? c->notes.p : "", c->notes.len);
    rh_buf_str(b, "]}");
}

/* Verdicts per host group: one bar per group, each verdict's share of its files (a verdict
   that is there gets at least 2 pixels, so one bad file among a million still shows). */
static void
write_chart(rh_buf *b, const rh_ctx *c)
{
    const size_t ng = c->groups.n;
    uint64_t(*gc)[SGS_VERDICT_COUNT] = calloc(ng + 1, sizeof(*gc));
    uint64_t *const ghosts = calloc(ng + 1, sizeof(*ghosts));
    if (gc == NULL || ghosts == NULL) {
        b->failed = 1;
        goto out;
    }
    for (size_t h = 0; h < c->hosts.n; h++) {
        ghosts[c->host[h].group]++;
        for (int v = 0; v < SGS_VERDICT_COUNT; v++)
            gc[c->host[h].group][v] += c->host[h].counts[v];
    }
    enum { LABEL = 150, BAR = 520, ROW = 26, TEXT = 260 };
    rh_buf_printf(b,
                  "<svg id=\"chart\" role=\"img\" aria-label=\"verdicts per host group\" "
                  "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
                  "viewBox=\"0 0 %d %zu\">",
                  LABEL + BAR + TEXT, ng * ROW + 34, LABEL + BAR + TEXT, ng * ROW + 34);
    for (size_t g = 0; g < ng; g++) {
        uint64_t files = 0;
        for (int v = 0; v < SGS_VERDICT_COUNT; v++)
            files += gc[g][v];
        const size_t y = g * ROW;
        rh_buf_printf(b, "<g class=\"bar\"><text x=\"%d\" y=\"%zu\" text-anchor=\"end\">",
                      LABEL - 8, y + 17);
        const size_t shown = cut_utf8(c->groups.keys[g], c->groups.klens[g], 20);
        rh_html(b, c->groups.keys[g], shown);
        rh_buf_str(b, shown < c->groups.klens[g] ? "\xe2\x80\xa6</text>" : "</text>");
        double x = LABEL;
        for (int v = SGS_V_VALID; v < SGS_VERDICT_COUNT && files > 0; v++) {
            if (gc[g][v] == 0)
                continue;
            double w = (double)BAR * (double)gc[g][v] / (double)files;
            if (w < 2)
                w = 2;
            if (x + w > LABEL + BAR)
                w = LABEL + BAR - x;
            rh_buf_printf(b,
                          "<rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"18\" "
                          "fill=\"%s\"><title>",
                          x, y + 4, w, verdict_colors[v]);
            rh_html(b, c->groups.keys[g], c->groups.klens[g]);
            rh_buf_printf(b, ": %llu %s</title></rect>", (unsigned long long)gc[g][v],
                          sgs_verdict_name((sgs_verdict)v));
            x += w;
        }
        rh_buf_printf(b,
                      "<text x=\"%d\" y=\"%zu\">%llu of %llu files not VALID, %llu hosts</text>"
                      "</g>",
                      LABEL + BAR + 8, y + 17, (unsigned long long)(files - gc[g][SGS_V_VALID]),
                      (unsigned long long)files, (unsigned long long)ghosts[g]);
    }
    /* the legend: the verdicts present */
    size_t lx = LABEL;
    for (int v = SGS_V_VALID; v < SGS_VERDICT_COUNT; v++) {
        if (c->totals[v] == 0)
            continue;
        rh_buf_printf(b,
                      "<rect x=\"%zu\" y=\"%zu\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                      "<text x=\"%zu\" y=\"%zu\" class=\"legend\">%s</text>",
                      lx, ng * ROW + 14, verdict_colors[v], lx + 14, ng * ROW + 23,
                      sgs_verdict_name((sgs_verdict)v));
        lx += 14 + 8 * strlen(sgs_verdict_name((sgs_verdict)v)) + 14;
    }
    rh_buf_str(b, "</svg>");
out:
    free(gc);
    free(ghosts);
}

/* <span id="ID" data-n="N">N</span>: the numbers the browser test reads back. */
static void
number(rh_buf *b, const char *id, uint64_t n)
{
    rh_buf_printf(b, "<span class=\"n\" id=\"%s\" data-n=\"%llu\">%llu</span>", id,
                  (unsigned long long)n, (unsigned long long)n);
}

static void
write_page(rh_buf *b, rh_ctx *c, size_t ninputs)
{
    uint64_t bad_hosts = 0, hosts_with[SGS_VERDICT_COUNT] = {0};
    for (size_t h = 0; h < c->hosts.n; h++) {
        bad_hosts += c->host[h].files != c->host[h].counts[SGS_V_VALID];
        for (int v = 0; v < SGS_VERDICT_COUNT; v++)
            hosts_with[v] += c->host[h].counts[v] > 0;
    }
    char now[32];
    const time_t t = time(NULL);
    struct tm tm;
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    rh_buf_str(b, rh_page_head);
    rh_buf_printf(b, "<p class=\"meta\">%llu runs from %zu report file(s), ",
                  (unsigned long long)c->runs, ninputs);
    rh_html(b, c->first_start, strlen(c->first_start));
    rh_buf_str(b, " to ");
    rh_html(b, c->last_end, strlen(c->last_end));
    rh_buf_str(b, "; commands: ");
    html_keys(b, &c->commands);
    rh_buf_str(b, "; sigsweep ");
    html_keys(b, &c->versions);
    rh_buf_printf(b,
                  "; page made %s. The full detail of every record stays in the JSON Lines "
                  "reports.</p>\n",
                  now);
    rh_buf_str(b, "<div id=\"notes\">");
    if (c->fprints.n > 1)
        rh_buf_printf(b,
                      "<p class=\"note warning\">These verify runs used %zu different sets of "
                      "keys, trust material or options: their counts are not of one audit.</p>",
                      c->fprints.n);
    if (c->notes_left_out > 0)
        rh_buf_printf(b, "<p class=\"note notice\">%llu more notes are in the reports.</p>",
                      (unsigned long long)c->notes_left_out);
    rh_buf_str(b, "</div>\n");
    rh_buf_str(b, rh_page_filters);
    rh_buf_str(b, "<section id=\"glance\"><h2>The fleet at a glance</h2><div "
                  "class=\"cards\"><div class=\"card\">");
    number(b, "total-hosts", c->hosts.n);
    rh_buf_str(b, " hosts audited</div><div class=\"card\">");
    number(b, "total-files", c->files);
    rh_buf_str(b, " files judged</div><div class=\"card bad\">");
    number(b, "total-nonvalid", c->files - c->totals[SGS_V_VALID]);
    rh_buf_str(b, " not VALID</div><div class=\"card bad\">");
    number(b, "hosts-nonvalid", bad_hosts);
    rh_buf_str(b, " hosts with a file not VALID</div></div>\n<table id=\"verdicts\"><thead><tr>"
                  "<th>verdict</th><th>files</th><th>hosts</th></tr></thead><tbody>");
    for (int v = SGS_V_VALID; v < SGS_VERDICT_COUNT; v++) {
        if (c->totals[v] == 0)
            continue;
        const char *const name = sgs_verdict_name((sgs_verdict)v);
        char id[64];
        snprintf(id, sizeof(id), "count-%s", name);
        rh_buf_printf(b,
                      "<tr><td><a class=\"v\" style=\"border-color:%s\" href=\"#verdict=%s\">%s"
                      "</a></td><td>",
                      verdict_colors[v], name, name);
        number(b, id, c->totals[v]);
        rh_buf_printf(b, "</td><td>%llu</td></tr>", (unsigned long long)hosts_with[v]);
    }
    rh_buf_str(b, "</tbody></table>\n<h3>Verdicts per host group</h3>");
    write_chart(b, c);
    rh_buf_str(b, "</section>\n");
    if (c->agents > 0) {
        rh_buf_str(b, "<section id=\"agents\"><h2>Agents</h2><p id=\"agents-summary\">");
        number(b, "agents-bad", c->agents - c->agent_counts[SGS_V_VALID]);
        rh_buf_str(b, " of ");
        number(b, "agents-total", c->agents);
        rh_buf_str(b, " agents do not have a valid server certificate.</p><ul class=\"byv\">");
        for (int v = SGS_V_VALID; v < SGS_VERDICT_COUNT; v++)
            if (c->agent_counts[v] > 0)
                rh_buf_printf(b,
                              "<li><a class=\"v\" style=\"border-color:%s\" href=\"#verdict=%s\">"
                              "%s</a> %llu</li>",
                              verdict_colors[v], sgs_verdict_name((sgs_verdict)v),
                              sgs_verdict_name((sgs_verdict)v),
                              (unsigned long long)c->agent_counts[v]);
        rh_buf_str(b, "</ul><div class=\"tbl\" id=\"t-agents\"></div></section>\n");
    }
    rh_buf_str(b, rh_page_body);
    rh_buf_str(b, "<script type=\"application/json\" id=\"sgs-data\">");
    write_data(b, c);
    rh_buf_str(b, "</script>\n<script>");
    rh_buf_str(b, rh_page_script);
    rh_buf_str(b, "</script>\n</body>\n</html>\n");
}

/* Writes the page to path ("-": stdout) in one piece; the temporary file is renamed over the
   destination only once every byte is there. */
static int
write_out(const rh_buf *b, const char *path, FILE *err)
{
    char msg[600];
    if (strcmp(path, "-") == 0) {
        if (fwrite(b->p, 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
            fprintf(err, "sigsweep report html: (stdout): %s\n", strerror(errno));
            return -1;
        }
        return 0;
    }
    sgs_wfile *w = NULL;
    if (sgs_wfile_open(path, 0, 0644, &w, msg, sizeof(msg)) != SGS_OK ||
        sgs_wfile_write(w, b->p, b->len, msg, sizeof(msg)) != SGS_OK) {
        sgs_wfile_abort(w);
        fprintf(err, "sigsweep report html: %s\n", msg);
        return -1;
    }
    if (sgs_wfile_commit(w, msg, sizeof(msg)) != SGS_OK) {
        fprintf(err, "sigsweep report html: %s\n", msg);
        return -1;
    }
    return 0;
}

static void
ctx_free(rh_ctx *c)
{
    for (size_t k = 0; k < c->findings.n; k++) {
        free(c->finding[k].path);
        free(c->finding[k].reason);
        free(c->finding[k].digest);
        free(c->finding[k].agent);
    }
    for (size_t k = 0; k < c->cas.n; k++)
        free(c->ca[k].fix);
    free(c->finding);
    free(c->ca);
    free(c->host);
    map_free(&c->hosts);
    map_free(&c->groups);
    map_free(&c->findings);
    map_free(&c->cas);
    map_free(&c->versions);
    map_free(&c->commands);
    map_free(&c->fprints);
    free(c->rows.p);
    free(c->agent_rows.p);
    free(c->notes.p);
}

int
report_html(const char *const *inputs, size_t n, const char *out_path,
            const report_html_limits *lim, FILE *err)
{
    rh_ctx *const c = calloc(1, sizeof(*c));
    rh_buf page = {0};
    int rc = 2;
    if (c == NULL) {
        fprintf(err, "sigsweep report html: out of memory\n");
        return 2;
    }
    if (lim != NULL)
        c->lim = *lim;
    else
        report_html_limits_init(&c->lim);
    c->err = err;
    for (size_t i = 0; i < n; i++)
        if (read_input(c, inputs[i]) != 0)
            goto out;
    if (c->rows.failed || c->agent_rows.failed || c->notes.failed) {
        c->line = 0;
        (void)oom(c);
        goto out;
    }
    write_page(&page, c, n);
    if (page.failed) {
        fprintf(err, "sigsweep report html: out of memory\n");
        goto out;
    }
    if (write_out(&page, out_path, err) == 0)
        rc = 0;
out:
    free(page.p);
    ctx_free(c);
    free(c);
    return rc;
}
