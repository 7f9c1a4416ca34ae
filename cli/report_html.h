/* report_html.h - the fleet report: JSON Lines run reports in, one self-contained HTML file out. */
#ifndef SGS_CLI_REPORT_HTML_H
#define SGS_CLI_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

/* How much of the per-record detail the page embeds (the aggregates are always complete). */
typedef struct report_html_limits {
    size_t rows_per_host; /* non-VALID file records embedded per host */
    size_t rows;          /* ... and in all */
    size_t agent_rows;    /* non-VALID agents embedded */
    size_t groups;        /* distinct findings (same digest, or same path and reason) tracked */
    size_t groups_shown;  /* ... of which the worst are embedded */
} report_html_limits;

/* Fills l with the defaults (100 rows per host, 20,000 rows, 20,000 agents, 50,000 findings
   tracked, 2,000 shown). */
void report_html_limits_init(report_html_limits *l);

/*
 * Reads the JSON Lines reports `inputs` ("-" is stdin) in order, one pass, memory bounded by
 * the number of hosts and the limits, not by the number of records, and writes the fleet
 * report to out_path ("-": stdout) through the atomic writer: nothing is written unless every
 * input was read. `lim` NULL: the defaults.
 * Returns 0 when the page was written; 2 after a diagnostic on err naming the file and line
 * (not JSON, truncated, another format version, a record before any run record, no run
 * record, unreadable, or the page could not be written).
 */
int report_html(const char *const *inputs, size_t n, const char *out_path,
                const report_html_limits *lim, FILE *err);

#endif
