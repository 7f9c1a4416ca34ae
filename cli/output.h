/* output.h - records to text, JSON Lines or CSV; progress line; closing summary. */
#ifndef SGS_CLI_OUTPUT_H
#define SGS_CLI_OUTPUT_H

#include "sigsweep.h"

#include <stdio.h>

typedef enum out_format { OUT_TEXT = 0, OUT_JSONL, OUT_CSV } out_format;

typedef struct out_sink {
    FILE *fp;
    out_format format;
    int progress;          /* draw a progress line on stderr */
    const sgs_engine *engine;
    double start, last_progress;
    int write_error;       /* an fprintf/fwrite to fp failed */
    int show_chain;        /* text: print the chain under each record (trust diagnose) */
    int agents;            /* records are agents (CSV gets an agent column) */
    int hide_valid;        /* --quiet, text: no line for a VALID record */
    int silent;            /* --status to stdout: no record at all */
} out_sink;

/* What a JSONL report's run record says about the run (verify, agents, package verify). */
typedef struct out_run {
    const char *command;     /* "verify", "agents", "package verify" */
    const char *const *args; /* the command line after the command's words */
    int nargs;
    unsigned shard_index, shard_count; /* 0/0: not sharded ("1/1") */
    sgs_fingerprints fp;
    long long start;         /* seconds since the epoch */
} out_run;

/* The run record: {"type":"run","format":1,...}. With st, the whole record (end, counts,
   files, interrupted), for a report that is rewritten at the end (a file); without, the
   opening of a stream, closed by out_run_end(). */
void out_run_record(FILE *fp, const out_run *r, const sgs_stats *st);
/* {"type":"run_end","end":...,"counts":{...},"files":N,"interrupted":false}: a stream's last. */
void out_run_end(FILE *fp, const sgs_stats *st);
/* "2026-12-05T09:00:00Z" for t (UTC). */
void out_utc(long long t, char buf[32]);

/* Parses "text", "jsonl", "csv". 0 on success, -1 if unknown. */
int out_format_parse(const char *s, out_format *out);

/* Writes the header (CSV) and remembers the start time. */
void out_begin(out_sink *s);

/* sgs_record_fn: writes one record and, now and then, the progress line. */
void out_record(void *opaque, const sgs_record *rec);

/* How much a run says, as sha256sum -c: */
#define OUT_QUIET_NO 0     /* every record, the summary */
#define OUT_QUIET_VALID 1  /* --quiet: text has no line for a VALID record; the summary only
                              when a record is not VALID (JSONL and CSV stay whole reports) */
#define OUT_QUIET_STATUS 2 /* --status: nothing on stdout, no summary: the exit status says */

/* Whether the summary is left out at this quiet level (OUT_QUIET_*). */
int out_quiet_summary(const sgs_stats *st, int quiet);

/* Clears the progress line and prints the summary to stderr (see out_quiet_summary). */
void out_summary(out_sink *s, const sgs_stats *st, int quiet, const char *what);

/* agents: "N of M agents do not have a valid server certificate", then counts. */
void out_agents_summary(out_sink *s, const sgs_stats *st, int quiet);

/* package verify: "package VALID" or "package NOT VALID (...)". */
void out_package_summary(out_sink *s, const sgs_stats *st, int quiet);

/* restore lines: "ACTION original (reason)" or JSON. */
void out_restore(FILE *fp, out_format f, const char *action, const char *original,
                 const char *quarantined, const char *reason);

/* `trust list` / `trust add` lines. */
void out_cert(FILE *fp, out_format f, const sgs_cert_info *c);
/* An sgs_cert_fn: out_cert to stdout; opaque points to the out_format. */
void out_cert_stdout(void *opaque, const sgs_cert_info *c);
void out_import(FILE *fp, out_format f, const sgs_import_record *r);

/* JSON string (with quotes) for raw bytes; sets *lossy when bytes were not valid UTF-8. */
void out_json_string(FILE *fp, const char *s, int *lossy);

double out_now(void);

#endif
