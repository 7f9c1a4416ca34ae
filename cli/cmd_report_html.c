/*
 * cmd_report_html.c - `sigsweep report html REPORT... --out FILE`: the fleet report as one
 * self-contained HTML page (report_html.c does the work; this file only reads the options).
 */
#include "cmds.h"
#include "report_html.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct report_html_opts {
    const char *out;
    report_html_limits lim;
} report_html_opts;

/* A limit: a count from 0 to 10,000,000, stored as size_t at opt->offset. */
static int
set_limit(cli_parser *p, const cli_opt *opt, const char *arg)
{
    char *end;
    errno = 0;
    const unsigned long long n = strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || n > 10000000ull)
        return cli_fail_usage(p->cmd->name, "--%s: not a count from 0 to 10000000: %s", opt->name,
                              arg);
    *(size_t *)(void *)((char *)p->target + opt->offset) = (size_t)n;
    return CLI_GO_ON;
}

static const cli_opt report_html_opt_table[] = {
    {"out", 'o', "FILE", cli_set_string, offsetof(report_html_opts, out), 0,
     "the page to write (atomically; - for stdout)"},
    {"rows-per-host", 0, "N", set_limit, offsetof(report_html_opts, lim.rows_per_host), 0,
     "embed at most N records not VALID per host (default 100)"},
    {"rows", 0, "N", set_limit, offsetof(report_html_opts, lim.rows), 0,
     "... and N in all (default 20000); the counts are always complete"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset report_html_opts_list[] = {
    CLI_TAKE(report_html_opt_table),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static int
report_html_main(const cli_command *cmd, int argc, char **argv)
{
    report_html_opts o = {NULL};
    report_html_limits_init(&o.lim);
    cli_parser p = {0};
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (o.out == NULL)
        return cli_fail_usage(cmd->name, "%s", "--out FILE is required");
    if (p.operand >= argc)
        return cli_fail_usage(cmd->name, "%s", "no report given");
    return report_html((const char *const *)(argv + p.operand), (size_t)(argc - p.operand), o.out,
                       &o.lim, stderr) == 0
               ? CLI_EXIT_ALL_VALID
               : CLI_EXIT_USAGE;
}

const cli_command cli_report_html = {
    "report html",
    report_html_main,
    "the fleet report: JSON Lines run reports to one HTML page",
    "usage: sigsweep report html REPORT... --out FILE [--rows-per-host N] [--rows N]\n"
    "\n"
    "Read the JSON Lines reports of verify, agents and package verify runs (one host's or many\n"
    "merged; - is stdin) and write one self-contained HTML page (no network needed): the fleet\n"
    "at a glance, agents without a valid server certificate, missing CAs and the file that\n"
    "would fix each, the worst files grouped across hosts, and per host its summary and records\n"
    "not VALID, with search and filters. Exit 0 when written, 2 on bad input (named with file\n"
    "and line; nothing is written).\n",
    report_html_opts_list,
    NULL,
};
