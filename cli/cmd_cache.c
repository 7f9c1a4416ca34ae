/*
 * cmd_cache.c - `sigsweep cache stats|clear|export FILE`: the persistent cache
 * verify --cache keeps (file identity -> digest, content -> verdict).
 *
 * DESIGN: one command whose first operand names the action; the engine owns the cache's
 * format, this file only prints what it reports.
 */
#include "cmds.h"

#include "sigsweep.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const cli_opt cache_opt_table[] = {
    {"cache-dir", 0, "DIR", cli_set_string, 0, 0, "the cache (default $XDG_CACHE_HOME/sigsweep)"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset cache_opts[] = {
    CLI_TAKE(cache_opt_table),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static int
cache_main(const cli_command *cmd, int argc, char **argv)
{
    const char *dir = NULL; /* the target: --cache-dir is its only field */
    cli_parser p;
    const int rc = cli_parse(&p, cmd, &dir, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    char dir_buf[4096], err[768] = "";
    if (dir == NULL)
        dir = sgs_default_cache_dir(dir_buf, sizeof(dir_buf));
    const int n = argc - p.operand;
    const char *const sub = n > 0 ? argv[p.operand] : "";
    const char *const file = n > 1 ? argv[p.operand + 1] : NULL;
    sgs_status st;
    uint64_t count = 0;
    if (strcmp(sub, "stats") == 0 && n == 1) {
        sgs_cache_info info;
        st = sgs_cache_stats(dir, &info, err, sizeof(err));
        if (st == SGS_OK)
            printf("cache:    %s\nfiles:    %llu (identity -> digest)\nverdicts: %llu "
                   "(content -> verdict)\ndisk:     %.1f MB\n",
                   dir, (unsigned long long)info.files, (unsigned long long)info.verdicts,
                   (double)info.bytes / 1e6);
    } else if (strcmp(sub, "clear") == 0 && n == 1) {
        st = sgs_cache_clear(dir, err, sizeof(err));
        if (st == SGS_OK && err[0] != '\0') /* a corrupt cache was moved aside first */
            fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
    } else if (strcmp(sub, "export") == 0 && n == 2) {
        st = sgs_cache_export(dir, file, &count, err, sizeof(err));
        if (st == SGS_OK)
            printf("exported %llu verdicts to %s\n", (unsigned long long)count, file);
    } else {
        return cli_fail_usage(cmd->name, "%s", "use: cache stats|clear|export FILE");
    }
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_ALL_VALID;
}

const cli_command cli_cmd_cache = {
    "cache",
    cache_main,
    "show, clear or export the persistent cache",
    "usage: sigsweep cache stats|clear|export FILE [--cache-dir DIR]\n"
    "\n"
    "The persistent cache of verify --cache: stats counts its entries, clear empties it,\n"
    "export lists its verdicts in FILE (never a VALID one). There is no import: an unsigned\n"
    "file could pass a bad file or fail a good one; each machine's cache learns its own.\n",
    cache_opts,
    NULL,
};
