/* report.h - reading JSONL reports line by line, checked: run records, records, run_end
   records and notes (report merge, report summary, report html). */
#ifndef SGS_CLI_REPORT_H
#define SGS_CLI_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The one report format this sigsweep writes and reads ("format" of the run record). */
#define REPORT_FORMAT 1
/* A longer line is refused ("a line longer than 16 MiB"), never buffered whole. */
#define REP_MAX_LINE (16u << 20)

typedef enum rep_kind {
    REP_RUN = 0, /* {"type":"run",...}: a run starts */
    REP_RUN_END, /* {"type":"run_end",...}: a streamed run's counts */
    REP_RECORD,  /* a file's (or agent's) record: no "type" */
    REP_NOTE     /* {"type":"note",...}: what a merge flagged */
} rep_kind;

/* One line as read. obj and text are the reader's, valid until the next rep_next(). */
typedef struct rep_line {
    rep_kind kind;
    json_t *obj;
    const char *text; /* the line, without its '\n' */
    size_t len;
    unsigned long lineno;
} rep_line;

typedef struct rep_reader rep_reader;

/* Opens a report (a regular file; "-" is stdin). NULL with err naming the file. */
rep_reader *rep_open(const char *path, char *err, size_t errlen);

/*
 * The next line, checked: at most REP_MAX_LINE bytes, a valid JSON object, ending in '\n'
 * (else truncated); a record or a run_end only inside a run; a run record of REPORT_FORMAT
 * with host, command, shard and fingerprints; no type format 1 does not have; every run complete (a streamed run closed by its run_end) and holding as many
 * records of each verdict as its counts say. Returns 1 with *out, 0 at the end, -1 with err
 * ("FILE:LINE: why").
 */
int rep_next(rep_reader *r, rep_line *out, char *err, size_t errlen);

/* The run record of the run being read (NULL before the first); valid until the next run. The
   streamed shape is completed with its run_end's end, counts, files, interrupted when that is
   read; rep_run_whole() says whether the counts are there yet. */
const json_t *rep_run(const rep_reader *r);
int rep_run_whole(const rep_reader *r);

void rep_close(rep_reader *r); /* NULL is a no-op */

/* A string member of obj, or "" (never NULL). */
const char *rep_str(const json_t *obj, const char *key);

/* What a record is about: "agent" in a run of the agents command, else "path" (their _hex
   when present: the exact bytes). */
const char *rep_record_key(const char *command, const json_t *rec);

#endif
