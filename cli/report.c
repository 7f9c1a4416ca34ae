/*
 * report.c - reads JSONL reports line by line for `report merge` and `report summary`.
 *
 * DESIGN: a report is a sequence of runs: a run record, then its records; a run written to a
 * file has its counts in the run record, a streamed one (stdout, a pipe) ends with a run_end
 * record that carries them. Merged reports are the same sequence plus note records. Each
 * line is parsed by jansson (no JSON parsing of our own: only the line splitting) and dropped
 * before the next, so memory does not grow with the records. What makes a report unusable is
 * said with FILE:LINE and stops the reader: a line that is not a JSON object or has no '\n'
 * (truncated), a line longer than REP_MAX_LINE (never buffered whole: a line without end
 * cannot take the memory), a run of another format, a record before any run record, a record
 * of a type format 1 does not have, a run whose records do not add up to its counts (truncated
 * or edited). The one reader of reports: merge, summary and the HTML page.
 */
#include "report.h"

#include "sigsweep.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REP_READ_BUF (64u * 1024u)

struct rep_reader {
    int fd; /* 0 (stdin, not closed) or the file's */
    const char *path;
    char buf[REP_READ_BUF]; /* read, not yet split into lines: buf[at, have) */
    size_t at, have;
    int eof;
    char *line; /* the line last read, with its '\n' when it has one */
    size_t cap;
    unsigned long lineno;
    json_t *obj;            /* the line last returned */
    json_t *run;            /* the run being read (its whole shape once known) */
    unsigned long run_line;
    int whole;              /* run has its counts */
    int ended;              /* a streamed run's run_end was read */
    uint64_t nrec;
    uint64_t verdicts[SGS_VERDICT_COUNT];
};

const char *
rep_str(const json_t *obj, const char *key)
{
    const char *const s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

const char *
rep_record_key(const char *command, const json_t *rec)
{
    const int agents = strcmp(command, "agents") == 0;
    const char *const hex = rep_str(rec, agents ? "agent_hex" : "path_hex");
    return hex[0] != '\0' ? hex : rep_str(rec, agents ? "agent" : "path");
}

rep_reader *
rep_open(const char *path, char *err, size_t errlen)
{
    int fd = STDIN_FILENO;
    if (strcmp(path, "-") != 0 && (fd = sgs_open_regular(path, 1, err, errlen)) < 0)
        return NULL;
    rep_reader *const r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        if (fd != STDIN_FILENO)
            close(fd);
        return NULL;
    }
    r->fd = fd;
    r->path = path;
    return r;
}

void
rep_close(rep_reader *r)
{
    if (r == NULL)
        return;
    json_decref(r->obj);
    json_decref(r->run);
    if (r->fd != STDIN_FILENO)
        close(r->fd);
    free(r->line);
    free(r);
}

/* The next line into r->line (NUL bytes kept; its '\n' when it has one), growing the buffer up
   to REP_MAX_LINE bytes and no further. 1: a line of *len bytes; 0: the end; -1: a read error
   (errno), -2: longer than REP_MAX_LINE, -3: out of memory. */
static int
read_line(rep_reader *r, size_t *len)
{
    *len = 0;
    for (;;) {
        if (r->at == r->have) {
            if (r->eof)
                return *len > 0;
            const ssize_t n = read(r->fd, r->buf, sizeof(r->buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -1;
            r->at = 0;
            r->have = (size_t)n;
            r->eof = n == 0;
            continue;
        }
        const char *const from = r->buf + r->at;
        const char *const nl = memchr(from, '\n', r->have - r->at);
        const size_t take = nl != NULL ? (size_t)(nl - from) + 1 : r->have - r->at;
        if (*len + take > REP_MAX_LINE)
            return -2;
        if (*len + take + 1 > r->cap) {
            size_t ncap = r->cap ? 2 * r->cap : 65536;
            while (ncap < *len + take + 1)
                ncap *= 2;
            char *const grown = realloc(r->line, ncap);
            if (grown == NULL)
                return -3;
            r->line = grown;
            r->cap = ncap;
        }
        memcpy(r->line + *len, from, take);
        *len += take;
        r->at += take;
        if (nl != NULL)
            return 1;
    }
}

const json_t *
rep_run(const rep_reader *r)
{
    return r->run;
}

int
rep_run_whole(const rep_reader *r)
{
    return r->whole;
}

/* The run as one record: a streamed run's opening completed by its run_end, keys in the order
   of a run record written whole. A new reference. */
static json_t *
whole_run(json_t *run, const json_t *end)
{
    static const char *const order[] = {"type", "format", "host", "start", "end", "version",
                                        "command", "argv", "shard", "fingerprints", "counts",
                                        "files", "interrupted"};
    json_t *const out = json_object();
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        json_t *v = json_object_get(run, order[i]);
        if (v == NULL && end != NULL)
            v = json_object_get(end, order[i]);
        if (v != NULL && json_object_set(out, order[i], v) != 0)
            goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach(run, key, v)
        if (json_object_get(out, key) == NULL && json_object_set(out, key, v) != 0)
            goto fail;
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* The run read so far adds up: its records per verdict are its counts. 0, or -1 with err. */
static int
close_run(rep_reader *r, char *err, size_t errlen)
{
    if (r->run == NULL)
        return 0;
    if (!r->whole) {
        snprintf(err, errlen,
                 "%s:%lu: the run has no run_end record (the report is truncated, or its run "
                 "was killed)",
                 r->path, r->run_line);
        return -1;
    }
    const json_t *const counts = json_object_get(r->run, "counts");
    const json_int_t files = json_integer_value(json_object_get(r->run, "files"));
    int ok = (uint64_t)files == r->nrec;
    uint64_t listed = 0;
    for (unsigned v = 0; ok && v < SGS_VERDICT_COUNT; v++) {
        const json_int_t n = json_integer_value(
            json_object_get(counts, sgs_verdict_name((sgs_verdict)v)));
        ok = (uint64_t)n == r->verdicts[v];
        listed += r->verdicts[v] > 0;
    }
    ok = ok && json_object_size(counts) == listed;
    if (!ok) {
        snprintf(err, errlen,
                 "%s:%lu: the run record counts %lld records (by verdict: its \"counts\"), the "
                 "report holds %llu that do not add up to them: truncated or edited",
                 r->path, r->run_line, (long long)files, (unsigned long long)r->nrec);
        return -1;
    }
    return 0;
}

static int
check_run(const rep_reader *r, const json_t *o, char *err, size_t errlen)
{
    const json_t *const format = json_object_get(o, "format");
    if (!json_is_integer(format) || json_integer_value(format) != REPORT_FORMAT) {
        snprintf(err, errlen, "%s:%lu: a report of format %s; this sigsweep reads format %d",
                 r->path, r->lineno,
                 json_is_integer(format) ? "other than 1" : "unknown (no \"format\")",
                 REPORT_FORMAT);
        return -1;
    }
    const json_t *const fp = json_object_get(o, "fingerprints");
    static const char *const need[] = {"host", "start", "version", "command", "shard"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (!json_is_string(json_object_get(o, need[i]))) {
            snprintf(err, errlen, "%s:%lu: a run record without \"%s\"", r->path, r->lineno,
                     need[i]);
            return -1;
        }
    }
    if (!json_is_object(fp) || !json_is_string(json_object_get(fp, "keys")) ||
        !json_is_string(json_object_get(fp, "trust")) ||
        !json_is_string(json_object_get(fp, "options"))) {
        snprintf(err, errlen, "%s:%lu: a run record without its fingerprints", r->path,
                 r->lineno);
        return -1;
    }
    return 0;
}

/* The counts of a run_end or a whole run record are numbers. */
static int
check_counts(const rep_reader *r, const json_t *o, char *err, size_t errlen)
{
    if (!json_is_object(json_object_get(o, "counts")) ||
        !json_is_integer(json_object_get(o, "files"))) {
        snprintf(err, errlen, "%s:%lu: no \"counts\" and \"files\"", r->path, r->lineno);
        return -1;
    }
    return 0;
}

static int
on_run(rep_reader *r, json_t *o, char *err, size_t errlen)
{
    if (close_run(r, err, errlen) != 0 || check_run(r, o, err, errlen) != 0)
        return -1;
    const int whole = json_object_get(o, "counts") != NULL;
    if (whole && check_counts(r, o, err, errlen) != 0)
        return -1;
    json_decref(r->run);
    r->run = json_incref(o);
    r->run_line = r->lineno;
    r->whole = whole;
    r->ended = 0;
    r->nrec = 0;
    memset(r->verdicts, 0, sizeof(r->verdicts));
    return 0;
}

static int
on_run_end(rep_reader *r, json_t *o, char *err, size_t errlen)
{
    if (r->run == NULL || r->whole) {
        snprintf(err, errlen, "%s:%lu: a run_end record %s", r->path, r->lineno,
                 r->run == NULL ? "before any run record" : "of a run that has its counts");
        return -1;
    }
    if (check_counts(r, o, err, errlen) != 0)
        return -1;
    json_t *const whole = whole_run(r->run, o);
    if (whole == NULL) {
        snprintf(err, errlen, "%s:%lu: out of memory", r->path, r->lineno);
        return -1;
    }
    json_decref(r->run);
    r->run = whole;
    r->whole = 1;
    r->ended = 1;
    return 0;
}

static int
on_record(rep_reader *r, json_t *o, char *err, size_t errlen)
{
    if (r->run == NULL || r->ended) {
        snprintf(err, errlen, "%s:%lu: a record %s", r->path, r->lineno,
                 r->run == NULL ? "before any run record: not a sigsweep report of format 1 "
                                  "(no run record)"
                                : "after its run's run_end record");
        return -1;
    }
    sgs_verdict v;
    const char *const name = json_string_value(json_object_get(o, "verdict"));
    if (name == NULL || sgs_verdict_from_name(name, &v) != 0 || v == SGS_V_UNJUDGED) {
        snprintf(err, errlen, "%s:%lu: a record without a known verdict", r->path, r->lineno);
        return -1;
    }
    if (rep_record_key(rep_str(r->run, "command"), o)[0] == '\0') {
        snprintf(err, errlen, "%s:%lu: a record without its %s", r->path, r->lineno,
                 strcmp(rep_str(r->run, "command"), "agents") == 0 ? "agent" : "path");
        return -1;
    }
    r->nrec++;
    r->verdicts[v]++;
    return 0;
}

int
rep_next(rep_reader *r, rep_line *out, char *err, size_t errlen)
{
    json_decref(r->obj);
    r->obj = NULL;
    size_t n = 0;
    const int got = read_line(r, &n);
    if (got < 0) {
        snprintf(err, errlen, "%s:%lu: %s", r->path, r->lineno + 1,
                 got == -1   ? strerror(errno)
                 : got == -2 ? "a line longer than 16 MiB"
                             : "out of memory");
        return -1;
    }
    if (got == 0) {
        if (r->run == NULL && r->lineno == 0) {
            snprintf(err, errlen, "%s: empty: no run record", r->path);
            return -1;
        }
        return close_run(r, err, errlen) == 0 ? 0 : -1;
    }
    r->lineno++;
    if (r->line[n - 1] != '\n') {
        snprintf(err, errlen, "%s:%lu: a line without its end (the report is truncated)",
                 r->path, r->lineno);
        return -1;
    }
    json_error_t je;
    json_t *const o = json_loadb(r->line, n - 1, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL || !json_is_object(o)) {
        snprintf(err, errlen, "%s:%lu: not a JSON object%s%s", r->path, r->lineno,
                 o == NULL ? ": " : "", o == NULL ? je.text : "");
        json_decref(o);
        return -1;
    }
    r->obj = o;
    out->obj = o;
    out->text = r->line;
    out->len = n - 1;
    out->lineno = r->lineno;
    const json_t *const type = json_object_get(o, "type");
    const char *const t = json_string_value(type);
    if (type == NULL) {
        out->kind = REP_RECORD;
        return on_record(r, o, err, errlen) == 0 ? 1 : -1;
    }
    if (t != NULL && strcmp(t, "run") == 0) {
        out->kind = REP_RUN;
        return on_run(r, o, err, errlen) == 0 ? 1 : -1;
    }
    if (t != NULL && strcmp(t, "run_end") == 0) {
        out->kind = REP_RUN_END;
        return on_run_end(r, o, err, errlen) == 0 ? 1 : -1;
    }
    if (t != NULL && strcmp(t, "note") == 0) {
        out->kind = REP_NOTE;
        return 1;
    }
    snprintf(err, errlen, "%s:%lu: a record of unknown type%s%s", r->path, r->lineno,
             t != NULL ? " " : "", t != NULL ? t : "");
    return -1;
}
