/*
 * cmd_restore.c - `sigsweep restore`: undoes verify --quarantine from its journal (and, with
 * --scan, finds NAME_invalid files the journal does not know).
 *
 * DESIGN: the engine replays the journal and renames; this file picks the journal (the one
 * named, else the default one, unless --scan runs alone and there is none yet) and prints
 * one line per file.
 */
#include "cmds.h"
#include "output.h"

#include "sigsweep.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct restore_opts {
    const char *journal;
    int dry_run;
    const char *scan[64];
    size_t nscan;
    out_format format;
} restore_opts;

static int
set_scan(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    restore_opts *const o = p->target;
    if (o->nscan == sizeof(o->scan) / sizeof(o->scan[0]))
        return cli_fail_usage(p->cmd->name, "%s", "too many --scan directories");
    o->scan[o->nscan++] = arg;
    return CLI_GO_ON;
}

static const cli_opt restore_opt_table[] = {
    {"journal", 0, "FILE", cli_set_string, offsetof(restore_opts, journal), 0,
     "the journal (default $XDG_STATE_HOME/sigsweep/quarantine.journal)"},
    {"dry-run", 0, NULL, cli_set_flag, offsetof(restore_opts, dry_run), 0,
     "rename nothing: print what a real run would, line for line\n"
     "(WOULD RESTORE for RESTORED)"},
    {"scan", 0, "DIR", set_scan, 0, 0, "also restore NAME_invalid files found in DIR"},
    {"format", 0, "F", cli_set_line_format, offsetof(restore_opts, format), 0,
     "text (default), jsonl"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset restore_opts_list[] = {
    CLI_TAKE(restore_opt_table),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static void
print_restore(void *opaque, const sgs_restore_record *r)
{
    const out_format *const f = opaque;
    static const char *const actions[] = {"RESTORED", "REFUSED", "WOULD RESTORE", "NOT MOVED"};
    out_restore(stdout, *f, actions[r->action], r->original, r->quarantined, r->reason);
}

static int
restore_main(const cli_command *cmd, int argc, char **argv)
{
    restore_opts o;
    memset(&o, 0, sizeof(o));
    o.format = OUT_TEXT;
    cli_parser p;
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    char journal_buf[4096];
    ro.journal = o.journal;
    if (o.journal == NULL) {
        ro.journal = sgs_default_journal(journal_buf, sizeof(journal_buf));
        if (o.nscan > 0 && access(ro.journal, F_OK) != 0)
            ro.journal = NULL; /* --scan alone, and there is no journal yet */
    }
    ro.dry_run = o.dry_run;
    ro.scan = o.scan;
    ro.nscan = o.nscan;
    ro.paths = (const char *const *)(argv + p.operand);
    ro.npaths = (size_t)(argc - p.operand);
    char err[512];
    const sgs_status st = sgs_restore(&ro, print_restore, &o.format, err, sizeof(err));
    if (fflush(stdout) != 0)
        return CLI_EXIT_USAGE;
    if (st == SGS_ERR_STATE)
        return CLI_EXIT_NOT_VALID;
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_ALL_VALID;
}

const cli_command cli_cmd_restore = {
    "restore",
    restore_main,
    "undo verify --quarantine",
    "usage: sigsweep restore [--journal FILE] [--dry-run] [--scan DIR]... [PATH...]\n"
    "\n"
    "Rename quarantined files back, as the journal of verify --quarantine records them (only\n"
    "those under PATH, when given); never replaces anything. Files under a PATH or --scan DIR\n"
    "are named through it as given (relative stays relative), others by the journal's\n"
    "absolute path.\n",
    restore_opts_list,
    NULL,
};
