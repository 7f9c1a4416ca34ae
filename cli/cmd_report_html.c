/*
 * cmd_report_html.c - `sigsweep report-html REPORT... --out FILE`: the fleet report as one
 * self-contained HTML page (report_html.c does the work; this file only reads the options).
 */
#include "cmds.h"
#include "report_html.h"

#include <stddef.h>
#include <stdio.h>

typedef struct report_html_opts {
    const char *out;
} report_html_opts;

static const cli_opt report_html_opt_table[] = {
    {"out", 'o', "FILE", cli_set_string, offsetof(report_html_opts, out), 0,
     "the page to write (atomically; - for stdout)"},
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
    cli_parser p = {0};
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (o.out == NULL)
        return cli_fail_usage(cmd->name, "%s", "--out FILE is required");
    if (p.operand >= argc)
        return cli_fail_usage(cmd->name, "%s", "no report given");
    return report_html((const char *const *)(argv + p.operand), (size_t)(argc - p.operand), o.out,
                       NULL, stderr) == 0
               ? CLI_EXIT_ALL_VALID
               : CLI_EXIT_USAGE;
}

const cli_command cli_cmd_report_html = {
    "report-html",
    report_html_main,
    "the fleet report: JSON Lines run reports to one HTML page",
    "usage: sigsweep report-html REPORT... --out FILE\n"
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
