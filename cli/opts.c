/*
 * opts.c - parses a command's option tables; prints a command's help from them.
 *
 * DESIGN: a command names its options as a list of table fragments (cli_optset); the
 * fragments that several commands take (the verify options shared by verify, agents and
 * package verify; --format; --help) are defined once and listed by each. cli_parse() flattens
 * the fragments into one getopt_long table, so the syntax is GNU getopt's exactly (options
 * and operands in any order, "--", --name=value, abbreviations), and hands each option to
 * its entry's setter, which stores it in the command's own struct (the target). The parser
 * owns the three messages every command shares: a missing argument, an unknown option and a
 * refused one. The help is made from the same tables, so it cannot forget an option.
 */
#include "opts.h"

#include "output.h"
#include "sigsweep.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_OPTS 64 /* options of one command, all fragments together */
#define CLI_HELP_COLUMN 23

const cli_opt cli_opts_help[] = {
    {"help", 'h', NULL, cli_set_help, 0, 0, "this help"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

int
cli_fail_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sigsweep %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see sigsweep --help)\n", stderr);
    return CLI_EXIT_USAGE;
}

int
cli_parse_jobs(const char *s, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    const unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < 1 || v > 1024)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* The member of the target an entry names. */
static void *
field(const cli_parser *p, const cli_opt *opt)
{
    return (char *)p->target + opt->offset;
}

int
cli_set_flag(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)arg;
    *(int *)field(p, opt) = 1;
    return CLI_GO_ON;
}

int
cli_set_string(cli_parser *p, const cli_opt *opt, const char *arg)
{
    *(const char **)field(p, opt) = arg;
    return CLI_GO_ON;
}

int
cli_set_jobs(cli_parser *p, const cli_opt *opt, const char *arg)
{
    if (cli_parse_jobs(arg, field(p, opt)) != 0)
        return cli_fail_usage(p->cmd->name, "-j wants a number from 1 to 1024, not '%s'", arg);
    return CLI_GO_ON;
}

int
cli_set_hash(cli_parser *p, const cli_opt *opt, const char *arg)
{
    if (sgs_hash_from_name(arg, field(p, opt)) != 0)
        return cli_fail_usage(p->cmd->name, "unknown --hash '%s' (sha256, sha384, sha512)", arg);
    return CLI_GO_ON;
}

int
cli_set_format(cli_parser *p, const cli_opt *opt, const char *arg)
{
    if (out_format_parse(arg, field(p, opt)) != 0)
        return cli_fail_usage(p->cmd->name, "unknown --format '%s' (text, jsonl, csv)", arg);
    return CLI_GO_ON;
}

int
cli_set_line_format(cli_parser *p, const cli_opt *opt, const char *arg)
{
    out_format *const format = field(p, opt);
    if (out_format_parse(arg, format) != 0 || *format == OUT_CSV)
        return cli_fail_usage(p->cmd->name, "unknown --format '%s' (text, jsonl)", arg);
    return CLI_GO_ON;
}

int
cli_set_help(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    (void)arg;
    cli_print_help(p->cmd);
    return CLI_EXIT_ALL_VALID;
}

/* getopt_long's value for the n-th entry: its letter, else a number past every letter. */
static int
opt_value(const cli_opt *o, size_t n)
{
    return o->letter != 0 ? o->letter : 256 + (int)n;
}

int
cli_parse(cli_parser *p, const cli_command *cmd, void *target, int argc, char **argv)
{
    struct option longopts[CLI_MAX_OPTS + 1];
    const cli_opt *entry[CLI_MAX_OPTS];
    const char *refused[CLI_MAX_OPTS];
    char shortopts[2 * CLI_MAX_OPTS + 2] = ":"; /* ':' first: a missing argument is ':' */
    size_t n = 0, ns = 1;
    memset(p, 0, sizeof(*p));
    p->cmd = cmd;
    p->target = target;
    for (const cli_optset *s = cmd->opts; s->opts != NULL; s++) {
        for (const cli_opt *o = s->opts; o->name != NULL; o++) {
            assert(n < CLI_MAX_OPTS);
            entry[n] = o;
            refused[n] = s->refused;
            longopts[n].name = o->name;
            longopts[n].has_arg = o->arg != NULL ? required_argument : no_argument;
            longopts[n].flag = NULL;
            longopts[n].val = opt_value(o, n);
            if (o->letter != 0) {
                shortopts[ns++] = o->letter;
                if (o->arg != NULL)
                    shortopts[ns++] = ':';
            }
            n++;
        }
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    shortopts[ns] = '\0';
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c == ':')
            return cli_fail_usage(cmd->name, "option %s needs an argument", argv[optind - 1]);
        size_t i = 0;
        while (i < n && opt_value(entry[i], i) != c)
            i++;
        if (c == '?' || i == n)
            return cli_fail_usage(cmd->name, "unknown option %s", argv[optind - 1]);
        /* a refused option's value is still checked: its message comes first, as before */
        const int rc = entry[i]->set(p, entry[i], optarg);
        if (rc != CLI_GO_ON)
            return rc;
        if (refused[i] != NULL && p->refused == NULL)
            p->refused = refused[i];
    }
    p->operand = optind;
    if (p->refused != NULL)
        return cli_fail_usage(cmd->name, "%s", p->refused);
    return CLI_GO_ON;
}

/* "  -j, --jobs N         worker threads ..." with continuation lines under the first. */
static void
print_opt(const cli_opt *o)
{
    char left[64];
    const int n = o->letter != 0 ? snprintf(left, sizeof(left), "-%c, ", o->letter) : 0;
    snprintf(left + n, sizeof(left) - (size_t)n, "--%s%s%s", o->name, o->arg != NULL ? " " : "",
             o->arg != NULL ? o->arg : "");
    const int pad = CLI_HELP_COLUMN - 2 - (int)strlen(left);
    printf("  %s%*s", left, pad > 1 ? pad : 1, "");
    for (const char *h = o->help; *h;) {
        const size_t len = strcspn(h, "\n");
        printf("%.*s\n", (int)len, h);
        h += len;
        if (*h == '\n') {
            h++;
            printf("%*s", CLI_HELP_COLUMN, "");
        }
    }
}

void
cli_print_help(const cli_command *cmd)
{
    if (cmd->subs != NULL) {
        fputs(cmd->usage, stdout);
        printf("\n`sigsweep %s COMMAND --help`: that command's options\n", cmd->name);
        return;
    }
    fputs(cmd->usage, stdout);
    fputs("\noptions:\n", stdout);
    for (const cli_optset *s = cmd->opts; s->opts != NULL; s++)
        for (const cli_opt *o = s->opts; s->refused == NULL && !s->unlisted && o->name; o++)
            if (o->help != NULL)
                print_opt(o);
}
