/*
 * cmd_report.c - `sigsweep report merge` and `sigsweep report summary`: many runs' JSONL
 * reports made one, and read at a glance.
 *
 * DESIGN: memory stays flat in the number of records. merge reads its inputs twice: the first
 * pass checks every line (report.c), compares the runs' fingerprints and hands one 16-byte
 * entry per record (XXH64 of host, command and path; file; line) to an external sort (sorted
 * runs of 1 Mi entries, 16 MiB, spilled to a temporary file, merged k ways) that finds the
 * paths one host judged twice; the second pass copies each run's records verbatim after its
 * run record (a streamed run's opening and run_end made one record), into a temporary file
 * renamed at the end (the engine's writer), and reads back only the lines the sort flagged to
 * compare their paths exactly (a hash collision is not a duplicate). Notes come last.
 *
 *   inputs ──pass 1: check, fingerprints, (hash, file, line)──► sort ──► flagged lines
 *   inputs ──pass 2: run records + records verbatim, flagged paths──► OUT.tmp ──rename──► OUT
 *
 * summary reads once and keeps per host and per (verdict, reason) tallies, bounded.
 */
#include "cmds.h"
#include "report.h"

#include "sigsweep.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define ERR_LEN 1024

/* ---- the external sort of (path hash, file, line) -------------------------------------------- */

typedef struct ent {
    uint64_t h;
    uint32_t file, line;
} ent;

#define SORT_ENTRIES (1u << 20) /* 16 MiB a sorted run */
#define MERGE_ENTRIES 4096u     /* a run's read buffer in the k-way merge */
#define FLAGGED_MAX 65536u      /* duplicate lines read back for their paths */

typedef struct sorter {
    ent *buf;
    size_t n;
    FILE *spill;
    uint64_t *runs; /* entries in each spilled run */
    size_t nruns;
} sorter;

static int
cmp_ent(const void *a, const void *b)
{
    const ent *const x = a, *const y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int
cmp_place(const void *a, const void *b)
{
    const ent *const x = a, *const y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int
sorter_spill(sorter *s)
{
    if (s->n == 0)
        return 0;
    qsort(s->buf, s->n, sizeof(ent), cmp_ent);
    if (s->spill == NULL && (s->spill = tmpfile()) == NULL)
        return -1;
    uint64_t *const runs = realloc(s->runs, (s->nruns + 1) * sizeof(*runs));
    if (runs == NULL)
        return -1;
    s->runs = runs;
    s->runs[s->nruns++] = s->n;
    if (fwrite(s->buf, sizeof(ent), s->n, s->spill) != s->n)
        return -1;
    s->n = 0;
    return 0;
}

static int
sorter_add(sorter *s, uint64_t h, size_t file, unsigned long line)
{
    if (s->buf == NULL && (s->buf = malloc(SORT_ENTRIES * sizeof(ent))) == NULL)
        return -1;
    s->buf[s->n].h = h;
    s->buf[s->n].file = (uint32_t)file;
    s->buf[s->n].line = (uint32_t)line;
    return ++s->n == SORT_ENTRIES ? sorter_spill(s) : 0;
}

typedef struct dups {
    ent *flagged; /* the lines to read back, at most FLAGGED_MAX */
    size_t n;
    uint64_t count; /* records whose hash an earlier record had */
} dups;

static int
flag(dups *d, const ent *e)
{
    if (d->n == FLAGGED_MAX)
        return 0;
    if (d->flagged == NULL && (d->flagged = malloc(FLAGGED_MAX * sizeof(ent))) == NULL)
        return -1;
    d->flagged[d->n++] = *e;
    return 0;
}

/* Consecutive equal hashes in sorted order: each such entry is flagged. */
static int
scan_sorted(dups *d, ent *prev, int *has_prev, int *prev_flagged, const ent *e)
{
    int rc = 0;
    if (*has_prev && prev->h == e->h) {
        if (!*prev_flagged)
            rc |= flag(d, prev);
        rc |= flag(d, e);
        d->count++;
        *prev_flagged = 1;
    } else {
        *prev_flagged = 0;
    }
    *prev = *e;
    *has_prev = 1;
    return rc;
}

typedef struct run_reader {
    ent *buf;
    size_t n, at;
    uint64_t left;
    long off;
} run_reader;

static int
refill(FILE *f, run_reader *r)
{
    const size_t want = r->left < MERGE_ENTRIES ? (size_t)r->left : MERGE_ENTRIES;
    if (fseek(f, r->off, SEEK_SET) != 0 || fread(r->buf, sizeof(ent), want, f) != want)
        return -1;
    r->off += (long)(want * sizeof(ent));
    r->left -= want;
    r->n = want;
    r->at = 0;
    return 0;
}

/* Sorts what was added and flags the duplicates into d. 0 or -1. */
static int
sorter_finish(sorter *s, dups *d)
{
    ent prev;
    int has_prev = 0, prev_flagged = 0, rc = 0;
    if (s->nruns == 0) { /* everything fit: one sort in memory */
        if (s->n == 0)
            return 0;
        qsort(s->buf, s->n, sizeof(ent), cmp_ent);
        for (size_t i = 0; i < s->n && rc == 0; i++)
            rc = scan_sorted(d, &prev, &has_prev, &prev_flagged, &s->buf[i]);
        return rc;
    }
    if (sorter_spill(s) != 0 || fflush(s->spill) != 0)
        return -1;
    free(s->buf);
    s->buf = NULL;
    run_reader *const rr = calloc(s->nruns, sizeof(*rr));
    if (rr == NULL)
        return -1;
    long off = 0;
    for (size_t i = 0; i < s->nruns && rc == 0; i++) {
        rr[i].left = s->runs[i];
        rr[i].off = off;
        off += (long)(s->runs[i] * sizeof(ent));
        rc = (rr[i].buf = malloc(MERGE_ENTRIES * sizeof(ent))) != NULL ? refill(s->spill, &rr[i])
                                                                       : -1;
    }
    for (;;) { /* the smallest head of the k runs; k is small (records / 1 Mi) */
        if (rc != 0)
            break;
        size_t best = s->nruns;
        for (size_t i = 0; i < s->nruns; i++)
            if (rr[i].at < rr[i].n &&
                (best == s->nruns || cmp_ent(&rr[i].buf[rr[i].at], &rr[best].buf[rr[best].at]) < 0))
                best = i;
        if (best == s->nruns)
            break;
        rc = scan_sorted(d, &prev, &has_prev, &prev_flagged, &rr[best].buf[rr[best].at++]);
        if (rc == 0 && rr[best].at == rr[best].n && rr[best].left > 0)
            rc = refill(s->spill, &rr[best]);
    }
    for (size_t i = 0; i < s->nruns; i++)
        free(rr[i].buf);
    free(rr);
    return rc;
}

static void
sorter_free(sorter *s)
{
    free(s->buf);
    free(s->runs);
    if (s->spill != NULL)
        fclose(s->spill);
}

/* ---- merge ----------------------------------------------------------------------------------- */

typedef struct run_info {
    size_t file;
    unsigned long line, end_line; /* the run record's line; its run_end's (0: none) */
    char *text;                   /* the whole run record, compact JSON */
    char *host, *command, *shard;
    char *job;              /* the command line without what differs between the shards of one
                               job (--shard, --output, -j, --quiet, --status): its identity */
    unsigned shard_k, shard_n;
    char fp[3][SGS_FP_HEX_LEN];
    size_t first; /* the run of the same command whose fingerprints it is compared with */
    int mixed;
} run_info;

typedef struct merge_opts {
    const char *out;
    int allow_mixed;
    int help;
} merge_opts;

typedef struct merge {
    const char *cmd;
    char **files;
    size_t nfiles;
    struct stat *seen; /* each input as pass 1 read it */
    run_info *runs;
    size_t nruns;
    char **notes; /* input notes, verbatim lines */
    size_t nnotes;
    unsigned long *note_lines; /* (file, line) of the input notes, to skip in pass 2 */
    size_t *note_files;
    sorter sort;
    dups dup;
    uint64_t records;
} merge;

static uint64_t
record_hash(const char *host, const char *command, const char *key)
{
    XXH64_state_t *const st = XXH64_createState();
    if (st == NULL)
        return 0;
    (void)XXH64_reset(st, 0);
    (void)XXH64_update(st, host, strlen(host) + 1);
    (void)XXH64_update(st, command, strlen(command) + 1);
    (void)XXH64_update(st, key, strlen(key));
    const uint64_t h = XXH64_digest(st);
    XXH64_freeState(st);
    return h;
}

static char *
dup_str(const char *s)
{
    const size_t n = strlen(s) + 1;
    char *const d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* The run's job identity: its argv without the options that differ between the shards of one
   job array. A malloc'd string (words NUL-separated, the last followed by two NULs). */
static char *
job_of(const json_t *argv)
{
    static const char *const with_value[] = {"--shard", "--output", "-j", "--jobs"};
    static const char *const alone[] = {"-q", "--quiet", "--status"};
    size_t len = 2;
    char *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t at = 0;
        for (size_t i = 0; i < json_array_size(argv); i++) {
            const char *const w = json_string_value(json_array_get(argv, i));
            int skip = w == NULL;
            for (size_t k = 0; !skip && k < sizeof(with_value) / sizeof(with_value[0]); k++) {
                const size_t n = strlen(with_value[k]);
                if (strcmp(w, with_value[k]) == 0)
                    skip = 2; /* and its value */
                else if (strncmp(w, with_value[k], n) == 0 && (w[n] == '=' || n == 2))
                    skip = 1; /* --shard=K/N, -j4 */
            }
            for (size_t k = 0; !skip && k < sizeof(alone) / sizeof(alone[0]); k++)
                skip = strcmp(w, alone[k]) == 0;
            if (skip == 2)
                i++;
            if (skip)
                continue;
            const size_t n = strlen(w) + 1;
            if (pass == 1)
                memcpy(out + at, w, n);
            at += n;
        }
        if (pass == 0) {
            len += at;
            if ((out = calloc(1, len)) == NULL)
                return NULL;
        }
    }
    return out;
}

/* A run record's "K/N" (digits only, 1 <= K <= N); anything else: 1/1. */
static void
shard_of(const char *s, unsigned *k, unsigned *n)
{
    *k = *n = 1;
    if (s[0] < '0' || s[0] > '9')
        return;
    char *end;
    errno = 0;
    const unsigned long a = strtoul(s, &end, 10);
    if (errno != 0 || *end != '/' || end[1] < '0' || end[1] > '9')
        return;
    const unsigned long b = strtoul(end + 1, &end, 10);
    if (errno != 0 || *end != '\0' || a < 1 || a > b || b > UINT_MAX)
        return;
    *k = (unsigned)a;
    *n = (unsigned)b;
}

static int
add_run(merge *m, size_t file, const rep_line *l)
{
    run_info *const runs = realloc(m->runs, (m->nruns + 1) * sizeof(*runs));
    if (runs == NULL)
        return -1;
    m->runs = runs;
    run_info *const r = &m->runs[m->nruns++];
    memset(r, 0, sizeof(*r));
    r->file = file;
    r->line = l->lineno;
    r->host = dup_str(rep_str(l->obj, "host"));
    r->command = dup_str(rep_str(l->obj, "command"));
    r->shard = dup_str(rep_str(l->obj, "shard"));
    r->job = job_of(json_object_get(l->obj, "argv"));
    shard_of(rep_str(l->obj, "shard"), &r->shard_k, &r->shard_n);
    const json_t *const fp = json_object_get(l->obj, "fingerprints");
    snprintf(r->fp[0], SGS_FP_HEX_LEN, "%s", rep_str(fp, "keys"));
    snprintf(r->fp[1], SGS_FP_HEX_LEN, "%s", rep_str(fp, "trust"));
    snprintf(r->fp[2], SGS_FP_HEX_LEN, "%s", rep_str(fp, "options"));
    r->first = m->nruns - 1;
    for (size_t i = 0; i + 1 < m->nruns; i++) {
        if (strcmp(m->runs[i].command, r->command) == 0) {
            r->first = i;
            r->mixed = memcmp(m->runs[i].fp, r->fp, sizeof(r->fp)) != 0;
            break;
        }
    }
    return r->host != NULL && r->command != NULL && r->shard != NULL && r->job != NULL ? 0 : -1;
}

/* The run's whole record as text, once it is whole (at its run record, or its run_end). */
static int
set_run_text(run_info *r, const json_t *run)
{
    r->text = json_dumps(run, JSON_COMPACT);
    return r->text != NULL ? 0 : -1;
}

static int
add_note(merge *m, size_t file, const rep_line *l)
{
    char **const notes = realloc(m->notes, (m->nnotes + 1) * sizeof(*notes));
    if (notes != NULL)
        m->notes = notes;
    unsigned long *const lines = realloc(m->note_lines, (m->nnotes + 1) * sizeof(*lines));
    if (lines != NULL)
        m->note_lines = lines;
    size_t *const files = realloc(m->note_files, (m->nnotes + 1) * sizeof(*files));
    if (files != NULL)
        m->note_files = files;
    if (notes == NULL || lines == NULL || files == NULL)
        return -1;
    m->note_lines[m->nnotes] = l->lineno;
    m->note_files[m->nnotes] = file;
    m->notes[m->nnotes] = malloc(l->len + 1);
    if (m->notes[m->nnotes] == NULL)
        return -1;
    memcpy(m->notes[m->nnotes], l->text, l->len);
    m->notes[m->nnotes++][l->len] = '\0';
    return 0;
}

/* Pass 1 over one input. 0, or -1 after the diagnostic. */
static int
check_input(merge *m, size_t file, const merge_opts *o)
{
    char err[ERR_LEN];
    const char *const path = m->files[file];
    /* what pass 2 must find again: a report changed meanwhile is not merged */
    rep_reader *r = NULL;
    if (stat(path, &m->seen[file]) != 0)
        snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
    else
        r = rep_open(path, err, sizeof(err));
    int rc = r != NULL ? 0 : -1;
    int got = 0;
    rep_line l;
    run_info *run = NULL;
    while (rc == 0 && (got = rep_next(r, &l, err, sizeof(err))) == 1) {
        if (l.lineno > UINT32_MAX) {
            snprintf(err, sizeof(err), "%s:%lu: more lines than a merge reads", path, l.lineno);
            rc = -1;
        } else if (l.kind == REP_RUN) {
            rc = add_run(m, file, &l);
            run = &m->runs[m->nruns - 1];
            if (rc == 0 && rep_run_whole(r))
                rc = set_run_text(run, rep_run(r));
            if (rc != 0)
                snprintf(err, sizeof(err), "%s:%lu: out of memory", path, l.lineno);
            if (rc == 0 && run->mixed && !o->allow_mixed) {
                const run_info *const f = &m->runs[run->first];
                snprintf(err, sizeof(err),
                         "%s:%lu: this %s run (host %s, shard %s) was judged with other %s than "
                         "%s:%lu (host %s): its verdicts do not add up with those (--allow-mixed "
                         "merges them with a warning)",
                         path, l.lineno, run->command, run->host, run->shard,
                         strcmp(run->fp[0], f->fp[0]) != 0   ? "keys"
                         : strcmp(run->fp[1], f->fp[1]) != 0 ? "trust material"
                                                             : "options",
                         m->files[f->file], f->line, f->host);
                rc = -1;
            }
        } else if (l.kind == REP_NOTE) {
            if (add_note(m, file, &l) != 0) {
                snprintf(err, sizeof(err), "%s:%lu: out of memory", path, l.lineno);
                rc = -1;
            }
        } else if (run == NULL) { /* not reached: rep_next has a run before these */
            snprintf(err, sizeof(err), "%s:%lu: no run record before this line", path,
                     l.lineno);
            rc = -1;
        } else if (l.kind == REP_RUN_END) {
            run->end_line = l.lineno;
            if (set_run_text(run, rep_run(r)) != 0) {
                snprintf(err, sizeof(err), "%s:%lu: out of memory", path, l.lineno);
                rc = -1;
            }
        } else {
            const char *const key = rep_record_key(run->command, l.obj);
            m->records++;
            if (sorter_add(&m->sort, record_hash(run->host, run->command, key), file,
                           l.lineno) != 0) {
                snprintf(err, sizeof(err), "sorting the records' paths: %s", strerror(errno));
                rc = -1;
            }
        }
    }
    if (rc == 0 && got < 0)
        rc = -1;
    rep_close(r);
    if (rc != 0)
        fprintf(stderr, "sigsweep %s: %s\n", m->cmd, err);
    return rc;
}

/* What pass 2 found for a flagged line: its run and exact key. */
typedef struct flagged_key {
    uint64_t h;
    size_t file;
    unsigned long line;
    size_t run;
    char *key;
} flagged_key;

static int
cmp_flagged(const void *a, const void *b)
{
    const flagged_key *const x = a, *const y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    const int c = strcmp(x->key != NULL ? x->key : "", y->key != NULL ? y->key : "");
    if (c != 0)
        return c;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static unsigned long notes_written; /* this process's merge: the warnings it wrote */

static void
write_note(FILE *fp, const char *text)
{
    notes_written++;
    json_t *const n = json_pack("{s:s,s:s,s:s}", "type", "note", "level", "warning", "text",
                                text);
    if (n != NULL)
        (void)json_dumpf(n, fp, JSON_COMPACT);
    json_decref(n);
    putc('\n', fp);
}

/* Pass 2 over one input: its runs and records into fp, the flagged lines' keys read. */
static int
copy_input(merge *m, size_t file, FILE *fp, size_t *run_at, const ent *flagged, size_t nflagged,
           size_t *flag_at, flagged_key *keys)
{
    char err[ERR_LEN] = "";
    const char *const path = m->files[file];
    const int fd = sgs_open_regular(path, 1, err, sizeof(err));
    FILE *const in = fd >= 0 ? fdopen(fd, "r") : NULL;
    struct stat now;
    if (in == NULL || fstat(fd, &now) != 0 || now.st_dev != m->seen[file].st_dev ||
        now.st_ino != m->seen[file].st_ino || now.st_size != m->seen[file].st_size ||
        now.st_mtim.tv_sec != m->seen[file].st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != m->seen[file].st_mtim.tv_nsec) {
        fprintf(stderr, "sigsweep %s: %s: %s\n", m->cmd, path,
                in == NULL ? (err[0] ? err : strerror(errno)) : "changed while it was merged");
        if (in != NULL)
            fclose(in);
        else if (fd >= 0)
            close(fd);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, note_at = 0;
    ssize_t n;
    unsigned long lineno = 0;
    size_t run = *run_at;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
        lineno++;
        while (note_at < m->nnotes && (m->note_files[note_at] < file ||
                                       (m->note_files[note_at] == file &&
                                        m->note_lines[note_at] < lineno)))
            note_at++;
        if (note_at < m->nnotes && m->note_files[note_at] == file &&
            m->note_lines[note_at] == lineno)
            continue; /* notes go last */
        if (*run_at < m->nruns && m->runs[*run_at].file == file &&
            m->runs[*run_at].line == lineno) {
            run = (*run_at)++;
            fputs(m->runs[run].text, fp);
            putc('\n', fp);
            continue;
        }
        if (run < m->nruns && m->runs[run].end_line == lineno)
            continue; /* made part of the run record */
        fwrite(line, 1, (size_t)n, fp);
        if (*flag_at < nflagged && flagged[*flag_at].file == file &&
            flagged[*flag_at].line == lineno) {
            json_t *const o = json_loadb(line, (size_t)n - 1, 0, NULL);
            flagged_key *const k = &keys[*flag_at];
            k->file = file;
            k->line = lineno;
            k->run = run;
            k->h = flagged[*flag_at].h;
            k->key = o != NULL ? dup_str(rep_record_key(m->runs[run].command, o)) : NULL;
            json_decref(o);
            (*flag_at)++;
        }
    }
    free(line);
    if (ferror(in)) {
        fprintf(stderr, "sigsweep %s: %s: read error\n", m->cmd, path);
        rc = -1;
    }
    fclose(in);
    return rc;
}

static void
dup_notes(const merge *m, FILE *fp, flagged_key *keys, size_t n)
{
    qsort(keys, n, sizeof(*keys), cmp_flagged);
    char text[4096];
    unsigned shown = 0;
    uint64_t paths = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && keys[j].h == keys[i].h && keys[i].key != NULL && keys[j].key != NULL &&
               strcmp(keys[j].key, keys[i].key) == 0)
            j++;
        if (j - i > 1) { /* the same host, command and path: judged twice */
            paths++;
            if (shown < 1000) {
                const run_info *const r = &m->runs[keys[i].run];
                int at = snprintf(text, sizeof(text),
                                  "duplicate %s %s from host %s (%s) in %zu runs:",
                                  strcmp(r->command, "agents") == 0 ? "agent" : "path",
                                  keys[i].key, r->host, r->command, j - i);
                for (size_t k = i; k < j && at > 0 && (size_t)at < sizeof(text) - 64; k++)
                    at += snprintf(text + at, sizeof(text) - (size_t)at, " %s:%lu (shard %s)",
                                   m->files[keys[k].file], keys[k].line,
                                   m->runs[keys[k].run].shard);
                if (at > 0 && (size_t)at < sizeof(text) - 64)
                    snprintf(text + at, sizeof(text) - (size_t)at,
                             ": overlapping shards, or a report given twice");
                write_note(fp, text);
                shown++;
            }
        }
        i = j;
    }
    if (m->dup.count > shown && (m->dup.n == FLAGGED_MAX || paths > shown)) {
        snprintf(text, sizeof(text),
                 "%llu records in all have a path (or agent) its host judged in another record "
                 "too; the first %u are named above",
                 (unsigned long long)m->dup.count, shown);
        write_note(fp, text);
    }
}

static void
mixed_notes(const merge *m, FILE *fp)
{
    char text[2048];
    for (size_t i = 0; i < m->nruns; i++) {
        const run_info *const r = &m->runs[i], *const f = &m->runs[r->first];
        if (!r->mixed)
            continue;
        snprintf(text, sizeof(text),
                 "fingerprints differ: the %s run of host %s (shard %s, %s:%lu) was judged with "
                 "other%s%s%s than the one of host %s (%s:%lu): their verdicts do not add up",
                 r->command, r->host, r->shard, m->files[r->file], r->line,
                 strcmp(r->fp[0], f->fp[0]) != 0 ? " keys" : "",
                 strcmp(r->fp[1], f->fp[1]) != 0 ? " trust material" : "",
                 strcmp(r->fp[2], f->fp[2]) != 0 ? " options" : "", f->host, m->files[f->file],
                 f->line);
        write_note(fp, text);
    }
}

/* The job's command line for a note: its words with spaces. */
static void
job_text(const char *job, char *out, size_t n)
{
    size_t at = 0;
    for (const char *w = job; *w != '\0' && at + 1 < n; w += strlen(w) + 1)
        at += (size_t)snprintf(out + at, n - at, "%s%s", at ? " " : "", w);
}

/* The shards of each job (runs of one command line but --shard, N > 1): a shard merged twice,
   shards missing (their files are in no report), shards of another N (they overlap). */
static void
shard_notes(const merge *m, FILE *fp)
{
    char text[2048], line[1024];
    unsigned char *done = calloc(m->nruns + 1, 1);
    for (size_t i = 0; done != NULL && i < m->nruns; i++) {
        const run_info *const r = &m->runs[i];
        if (done[i] || r->shard_n <= 1)
            continue;
        uint32_t *const seen = calloc(r->shard_n + 1, sizeof(*seen));
        if (seen == NULL)
            break;
        int other_n = 0;
        for (size_t j = i; j < m->nruns; j++) {
            const run_info *const o = &m->runs[j];
            if (done[j] || o->shard_n <= 1 || strcmp(o->command, r->command) != 0 ||
                strcmp(o->job, r->job) != 0)
                continue;
            if (o->shard_n != r->shard_n) {
                other_n = 1;
                continue; /* its own group, later */
            }
            done[j] = 1;
            if (++seen[o->shard_k] == 2) {
                job_text(r->job, line, sizeof(line));
                snprintf(text, sizeof(text),
                         "shard %u/%u of `%s` is in the merge more than once (%s:%lu, host %s): "
                         "its files are counted twice",
                         o->shard_k, o->shard_n, line, m->files[o->file], o->line, o->host);
                write_note(fp, text);
            }
        }
        unsigned missing = 0, first = 0;
        for (unsigned k = 1; k <= r->shard_n; k++)
            if (seen[k] == 0 && missing++ == 0)
                first = k;
        job_text(r->job, line, sizeof(line));
        if (missing > 0) {
            snprintf(text, sizeof(text),
                     "%u of the %u shards of `%s` are not in the merge (the first: %u/%u): "
                     "their files are in no report",
                     missing, r->shard_n, line, first, r->shard_n);
            write_note(fp, text);
        }
        if (other_n) {
            snprintf(text, sizeof(text),
                     "`%s` was sharded in %u and in other numbers of shards: shards of different "
                     "N overlap, their files are counted more than once",
                     line, r->shard_n);
            write_note(fp, text);
        }
        free(seen);
    }
    free(done);
}

static int
write_merged(merge *m, const merge_opts *o)
{
    char why[ERR_LEN] = "";
    sgs_wfile *w = NULL;
    const mode_t mask = umask(0);
    (void)umask(mask);
    if (sgs_wfile_open(o->out, 0, 0666 & ~mask, &w, why, sizeof(why)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", m->cmd, why[0] ? why : strerror(ENOMEM));
        return -1;
    }
    const int fd = dup(sgs_wfile_fd(w));
    FILE *const fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    flagged_key *const keys = calloc(m->dup.n + 1, sizeof(*keys));
    int rc = fp != NULL && keys != NULL ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "sigsweep %s: %s: %s\n", m->cmd, o->out, strerror(errno));
    if (m->dup.n > 0)
        qsort(m->dup.flagged, m->dup.n, sizeof(ent), cmp_place);
    size_t run_at = 0, flag_at = 0;
    for (size_t i = 0; rc == 0 && i < m->nfiles; i++)
        rc = copy_input(m, i, fp, &run_at, m->dup.flagged, m->dup.n, &flag_at, keys);
    if (rc == 0) {
        for (size_t i = 0; i < m->nnotes; i++)
            fprintf(fp, "%s\n", m->notes[i]);
        mixed_notes(m, fp);
        shard_notes(m, fp);
        dup_notes(m, fp, keys, flag_at);
    }
    for (size_t i = 0; keys != NULL && i < m->dup.n; i++)
        free(keys[i].key);
    free(keys);
    if (fp != NULL && (fclose(fp) != 0 || rc != 0)) {
        if (rc == 0)
            fprintf(stderr, "sigsweep %s: %s: %s\n", m->cmd, o->out, strerror(errno));
        rc = -1;
    } else if (fp == NULL && fd >= 0) {
        close(fd);
    }
    if (rc != 0) {
        sgs_wfile_abort(w);
        return -1;
    }
    if (sgs_wfile_commit(w, why, sizeof(why)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", m->cmd, why);
        return -1;
    }
    return 0;
}

static const cli_opt merge_table[] = {
    {"out", 0, "FILE", cli_set_string, offsetof(merge_opts, out), 0,
     "the merged report (required; written atomically)"},
    {"allow-mixed", 0, NULL, cli_set_flag, offsetof(merge_opts, allow_mixed), 0,
     "merge runs judged with other keys, trust material or options\n"
     "(a warning note each) instead of refusing them (exit 2)"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset merge_opts_list[] = {
    CLI_TAKE(merge_table),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static int
merge_main(const cli_command *cmd, int argc, char **argv)
{
    merge_opts o;
    memset(&o, 0, sizeof(o));
    cli_parser p;
    int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (o.out == NULL)
        return cli_fail_usage(cmd->name, "%s", "--out FILE is required");
    if (argc - p.operand < 1)
        return cli_fail_usage(cmd->name, "%s", "no REPORT given");
    merge m;
    memset(&m, 0, sizeof(m));
    m.cmd = cmd->name;
    m.files = argv + p.operand;
    m.nfiles = (size_t)(argc - p.operand);
    m.seen = calloc(m.nfiles, sizeof(*m.seen));
    rc = m.seen != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < m.nfiles; i++) {
        if (strcmp(m.files[i], "-") == 0) {
            rc = cli_fail_usage(cmd->name, "%s", "merge reads each report twice: not stdin");
            break;
        }
        rc = check_input(&m, i, &o);
    }
    if (rc == 0 && sorter_finish(&m.sort, &m.dup) != 0) {
        fprintf(stderr, "sigsweep %s: sorting the records' paths: %s\n", m.cmd, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = write_merged(&m, &o);
    if (rc == 0)
        fprintf(stderr, "sigsweep %s: %zu runs, %llu records from %zu reports into %s", m.cmd,
                m.nruns, (unsigned long long)m.records, m.nfiles, o.out);
    if (rc == 0 && notes_written > 0)
        fprintf(stderr, " (%lu warnings: the notes at its end)", notes_written);
    if (rc == 0)
        fputc('\n', stderr);
    sorter_free(&m.sort);
    free(m.dup.flagged);
    for (size_t i = 0; i < m.nruns; i++) {
        free(m.runs[i].text);
        free(m.runs[i].host);
        free(m.runs[i].command);
        free(m.runs[i].shard);
        free(m.runs[i].job);
    }
    free(m.runs);
    for (size_t i = 0; i < m.nnotes; i++)
        free(m.notes[i]);
    free(m.notes);
    free(m.note_lines);
    free(m.note_files);
    free(m.seen);
    return rc == 0 ? CLI_EXIT_ALL_VALID : CLI_EXIT_USAGE;
}

/* ---- summary --------------------------------------------------------------------------------- */

#define TALLY_MAX (1u << 16) /* distinct hosts, or (verdict, reason) groups, kept apiece */

typedef struct tally_item {
    char *key;
    uint64_t n;                            /* records */
    uint64_t verdicts[SGS_VERDICT_COUNT];  /* hosts: records per verdict */
    sgs_verdict verdict;                   /* reasons: the group's verdict */
} tally_item;

/* Counts by a string key, in memory bounded by TALLY_MAX items (the rest: `other`). */
typedef struct tally {
    tally_item *items;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1, 0 empty */
    size_t nslots;
    uint64_t other;  /* records of keys past TALLY_MAX */
} tally;

static tally_item *
tally_get(tally *t, const char *key)
{
    if (t->nslots == 0 || 2 * (t->n + 1) > t->nslots) { /* grow: at most half full */
        if (t->n >= TALLY_MAX)
            goto full;
        const size_t ns = t->nslots ? 2 * t->nslots : 1024;
        uint32_t *const slots = calloc(ns, sizeof(*slots));
        if (slots == NULL)
            return NULL;
        for (size_t i = 0; i < t->n; i++) {
            size_t s = XXH64(t->items[i].key, strlen(t->items[i].key), 0) & (ns - 1);
            while (slots[s] != 0)
                s = (s + 1) & (ns - 1);
            slots[s] = (uint32_t)i + 1;
        }
        free(t->slots);
        t->slots = slots;
        t->nslots = ns;
    }
    size_t s = XXH64(key, strlen(key), 0) & (t->nslots - 1);
    while (t->slots[s] != 0) {
        tally_item *const it = &t->items[t->slots[s] - 1];
        if (strcmp(it->key, key) == 0)
            return it;
        s = (s + 1) & (t->nslots - 1);
    }
    if (t->n >= TALLY_MAX)
        goto full;
    if (t->n == t->cap) {
        const size_t cap = t->cap ? 2 * t->cap : 256;
        tally_item *const items = realloc(t->items, cap * sizeof(*items));
        if (items == NULL)
            return NULL;
        t->items = items;
        t->cap = cap;
    }
    tally_item *const it = &t->items[t->n];
    memset(it, 0, sizeof(*it));
    if ((it->key = dup_str(key)) == NULL)
        return NULL;
    t->slots[s] = (uint32_t)++t->n;
    return it;
full:
    t->other++;
    return NULL;
}

static void
tally_free(tally *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].key);
    free(t->items);
    free(t->slots);
}

typedef struct summary {
    tally hosts, reasons;
    uint64_t runs, files, agents, agents_bad, interrupted;
    uint64_t verdicts[SGS_VERDICT_COUNT];
    char **notes;
    size_t nnotes;
    uint64_t more_notes;
} summary;

/* The reason with the record's own path left out ("FILE"), so one problem on many files is
   one group. */
static void
group_key(char *out, size_t n, sgs_verdict v, const char *reason, const char *path)
{
    int at = snprintf(out, n, "%s\t", sgs_verdict_name(v));
    const size_t plen = strlen(path);
    while (*reason != '\0' && at > 0 && (size_t)at + 8 < n) {
        if (plen > 0 && strncmp(reason, path, plen) == 0) {
            at += snprintf(out + at, n - (size_t)at, "FILE");
            reason += plen;
        } else {
            out[at++] = *reason++;
            out[at] = '\0';
        }
    }
}

static int
cmp_count(const void *a, const void *b)
{
    const tally_item *const x = a, *const y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int
summarize_file(summary *s, const char *path, const char *cmd)
{
    char err[ERR_LEN];
    rep_reader *const r = rep_open(path, err, sizeof(err));
    int got = r != NULL ? 1 : -1;
    rep_line l;
    tally_item *host = NULL;
    char key[1024];
    while (got == 1 && (got = rep_next(r, &l, err, sizeof(err))) == 1) {
        if (l.kind == REP_RUN) {
            s->runs++;
            host = tally_get(&s->hosts, rep_str(l.obj, "host"));
        } else if (l.kind == REP_RUN_END || l.kind == REP_NOTE) {
            if (l.kind == REP_NOTE && s->nnotes < 20) {
                char **const notes = realloc(s->notes, (s->nnotes + 1) * sizeof(*notes));
                if (notes != NULL && (notes[s->nnotes] = dup_str(rep_str(l.obj, "text"))) != NULL)
                    s->notes = notes, s->nnotes++;
                else if (notes != NULL)
                    s->notes = notes;
            } else if (l.kind == REP_NOTE) {
                s->more_notes++;
            }
        } else {
            sgs_verdict v = SGS_V_UNJUDGED;
            if (sgs_verdict_from_name(rep_str(l.obj, "verdict"), &v) != 0)
                v = SGS_V_UNJUDGED; /* not reached: rep_next checked it */
            const char *const command = rep_str(rep_run(r), "command");
            s->files++;
            s->verdicts[v]++;
            if (strcmp(command, "agents") == 0) {
                s->agents++;
                s->agents_bad += v != SGS_V_VALID;
            }
            if (host != NULL) {
                host->n++;
                host->verdicts[v]++;
            }
            if (v != SGS_V_VALID) {
                group_key(key, sizeof(key), v, rep_str(l.obj, "reason"),
                          rep_record_key(command, l.obj));
                tally_item *const g = tally_get(&s->reasons, key);
                if (g != NULL) {
                    g->n++;
                    g->verdict = v;
                }
            }
        }
        if (l.kind == REP_RUN_END || (l.kind == REP_RUN && rep_run_whole(r)))
            s->interrupted += json_is_true(json_object_get(rep_run(r), "interrupted"));
    }
    rep_close(r);
    if (got < 0)
        fprintf(stderr, "sigsweep %s: %s\n", cmd, err);
    return got < 0 ? -1 : 0;
}

static void
print_summary(summary *s, FILE *fp)
{
    fprintf(fp, "sigsweep report: %llu runs on %zu hosts%s, %llu files judged\n",
            (unsigned long long)s->runs, s->hosts.n, s->hosts.other ? " (and more)" : "",
            (unsigned long long)s->files);
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++)
        if (s->verdicts[v] > 0)
            fprintf(fp, "  %-20s %llu\n", sgs_verdict_name((sgs_verdict)v),
                    (unsigned long long)s->verdicts[v]);
    if (s->agents > 0)
        fprintf(fp, "%llu of %llu agents do not have a valid server certificate\n",
                (unsigned long long)s->agents_bad, (unsigned long long)s->agents);
    if (s->interrupted > 0)
        fprintf(fp, "%llu runs were interrupted: their hosts are not judged whole\n",
                (unsigned long long)s->interrupted);
    size_t bad = 0;
    for (size_t i = 0; i < s->hosts.n; i++)
        bad += s->hosts.items[i].n > s->hosts.items[i].verdicts[SGS_V_VALID];
    fprintf(fp, "\nhosts with a file not VALID: %zu of %zu\n", bad, s->hosts.n);
    qsort(s->hosts.items, s->hosts.n, sizeof(tally_item), cmp_count);
    for (size_t i = 0; i < s->hosts.n; i++) {
        const tally_item *const h = &s->hosts.items[i];
        const uint64_t notvalid = h->n - h->verdicts[SGS_V_VALID];
        if (notvalid == 0)
            continue;
        fprintf(fp, "  %-24s %llu of %llu not VALID:", h->key, (unsigned long long)notvalid,
                (unsigned long long)h->n);
        for (unsigned v = SGS_V_VALID + 1; v < SGS_VERDICT_COUNT; v++)
            if (h->verdicts[v] > 0)
                fprintf(fp, " %llu %s", (unsigned long long)h->verdicts[v],
                        sgs_verdict_name((sgs_verdict)v));
        putc('\n', fp);
    }
    if (s->reasons.n > 0) {
        qsort(s->reasons.items, s->reasons.n, sizeof(tally_item), cmp_count);
        fprintf(fp, "\nworst reasons (records not VALID by verdict and reason; FILE: the "
                    "record's own path):\n");
        for (size_t i = 0; i < s->reasons.n && i < 20; i++) {
            const tally_item *const g = &s->reasons.items[i];
            const char *const tab = strchr(g->key, '\t');
            fprintf(fp, "  %8llu  %s: %s\n", (unsigned long long)g->n,
                    sgs_verdict_name(g->verdict), tab != NULL ? tab + 1 : g->key);
        }
        if (s->reasons.n > 20 || s->reasons.other > 0)
            fprintf(fp, "  (%zu more reasons)\n",
                    s->reasons.n > 20 ? s->reasons.n - 20 + (size_t)(s->reasons.other > 0) : 1);
    }
    if (s->nnotes > 0) {
        fprintf(fp, "\nwarnings of the merge:\n");
        for (size_t i = 0; i < s->nnotes; i++)
            fprintf(fp, "  %s\n", s->notes[i]);
        if (s->more_notes > 0)
            fprintf(fp, "  (%llu more)\n", (unsigned long long)s->more_notes);
    }
}

static const cli_optset summary_opts_list[] = {
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static int
summary_main(const cli_command *cmd, int argc, char **argv)
{
    cli_parser p;
    int rc = cli_parse(&p, cmd, NULL, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (argc - p.operand < 1)
        return cli_fail_usage(cmd->name, "%s", "no REPORT given");
    summary s;
    memset(&s, 0, sizeof(s));
    rc = 0;
    for (int i = p.operand; rc == 0 && i < argc; i++)
        rc = summarize_file(&s, argv[i], cmd->name);
    if (rc == 0)
        print_summary(&s, stdout);
    tally_free(&s.hosts);
    tally_free(&s.reasons);
    for (size_t i = 0; i < s.nnotes; i++)
        free(s.notes[i]);
    free(s.notes);
    if (rc != 0)
        return CLI_EXIT_USAGE;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "sigsweep %s: writing the summary: %s\n", cmd->name, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return s.files > 0 && s.verdicts[SGS_V_VALID] == s.files ? CLI_EXIT_ALL_VALID
                                                             : CLI_EXIT_NOT_VALID;
}

static const cli_command report_merge = {
    "report merge",
    merge_main,
    "merge the JSONL reports of many runs (hosts, shards) into one",
    "usage: sigsweep report merge REPORT... --out FILE [--allow-mixed]\n"
    "\n"
    "Each run's record first, then its records as they were; runs whose fingerprints (keys,\n"
    "trust material, options) differ from the first run of their command are refused (exit 2)\n"
    "unless --allow-mixed; a path one host judged twice (overlapping shards, a report given\n"
    "twice) is named in a note {\"type\":\"note\",\"level\":\"warning\",...} at the end. A\n"
    "truncated or edited report, another format, a report without run record: exit 2, FILE\n"
    "written whole or not at all.\n",
    merge_opts_list,
    NULL,
};

static const cli_command report_summary = {
    "report summary",
    summary_main,
    "a report at a glance: hosts, counts, hosts with problems, the worst reasons",
    "usage: sigsweep report summary REPORT...\n"
    "\n"
    "Text for a terminal or a mail: runs, hosts, files judged, counts per verdict, the hosts\n"
    "with a file not VALID, the most frequent reasons (grouped by verdict and reason), the\n"
    "merge's warnings. exit status: 0 every file VALID, 1 not, 2 a report cannot be read.\n",
    summary_opts_list,
    NULL,
};

static const cli_command *const report_cmds[] = {
    &report_merge,
    &report_summary,
    &cli_report_html, /* cmd_report_html.c */
    NULL,
};

const cli_command cli_cmd_report = {
    "report",
    NULL,
    "merge, summarize and show JSONL reports (fleets, shards)",
    "usage: sigsweep report merge REPORT... --out FILE [--allow-mixed]\n"
    "       sigsweep report summary REPORT...\n"
    "       sigsweep report html REPORT... --out FILE [--rows-per-host N] [--rows N]\n"
    "\n"
    "report: merge makes many runs' JSONL reports one (each run's record, then its records;\n"
    "mixed fingerprints refused, duplicate paths flagged); summary prints it for a terminal;\n"
    "html makes one self-contained page of it for a browser.\n",
    NULL,
    report_cmds,
};
