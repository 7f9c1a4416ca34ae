/*
 * cmd_agents.c - `sigsweep agents`: audits every agent's copy of the server key (and, with
 * --command, whether it accepts the server's real signed command).
 *
 * DESIGN: an agents run is a sweep whose inputs are agents: FLEET_DIR operands (each entry an
 * agent holding FLEET_DIR/<agent>/<key file>) and --list lines agent<TAB>path. The server key,
 * the known old keys and the command are handed to the engine before the first agent. The
 * enforcement, PE, package and CMS options are accepted and ignored, as they always were; the
 * key, trust and --files-from options are refused, but only once --server-cert is there.
 */
#include "cmds.h"
#include "sweep.h"

#include <stdio.h>
#include <string.h>

#define AGENTS_REFUSED "--key, trust and --files-from options are not for agents"
#define AGENTS_KEY_FILE "OfcNTCer.dat"

static const cli_optset agents_opts[] = {
    CLI_TAKE(sweep_opts_agents),
    CLI_TAKE(sweep_opts_run),
    CLI_TAKE(sweep_opts_sig),
    CLI_TAKE(sweep_opts_chain_time),
    CLI_IGNORE(sweep_opts_enforce),
    CLI_IGNORE(sweep_opts_mode),
    CLI_IGNORE(sweep_opts_cache),
    CLI_IGNORE(sweep_opts_pe),
    CLI_IGNORE(sweep_opts_package),
    CLI_REFUSE(sweep_opts_force, SWEEP_FOR_SIGN_FORCE),
    CLI_IGNORE(sweep_opts_public_key), /* refused by agents_check, after --server-cert */
    CLI_IGNORE(sweep_opts_trust),
    CLI_IGNORE(sweep_opts_files_from),
    CLI_IGNORE(sweep_opts_cert),
    CLI_IGNORE(sweep_opts_certfile),
    CLI_TAKE(sweep_opts_shard),
    CLI_OPTSET_END,
};

static int
set_server(const char *cmd, sgs_engine *e, const sweep_opts *o, char **operands)
{
    (void)operands;
    sgs_status st = sgs_engine_set_server_key(e, o->server_cert);
    for (size_t i = 0; st == SGS_OK && i < o->nknown; i++)
        st = sgs_engine_add_known_key(e, o->known[i]);
    if (st == SGS_OK && o->command != NULL)
        st = sgs_engine_set_command(e, o->command, o->command_sig);
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        return -1;
    }
    return 0;
}

typedef struct list_ctx {
    const char *cmd;
    const char *list;
    sgs_engine *e;
} list_ctx;

/* One --list line "agent_id<TAB>path" ('#' comments and CRLF line ends allowed). */
static int
submit_agent_line(void *ctx, char *line, size_t n, unsigned long lineno)
{
    const list_ctx *const c = ctx;
    if (line[n - 1] == '\r')
        line[--n] = '\0';
    if (n == 0 || line[0] == '#')
        return 0;
    char *const tab = strchr(line, '\t');
    if (tab == NULL || tab == line || tab[1] == '\0') {
        fprintf(stderr, "sigsweep %s: %s:%lu: expected agent_id<TAB>path\n", c->cmd, c->list,
                lineno);
        return -1;
    }
    *tab = '\0';
    if (sgs_engine_submit_agent(c->e, line, tab + 1) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", c->cmd, sgs_engine_error(c->e));
        return -1;
    }
    return 0;
}

static int
submit_agents(const char *cmd, sgs_engine *e, const sweep_opts *o, char **operands, int n)
{
    for (int i = 0; i < n; i++) {
        if (sgs_engine_submit_fleet(
                e, operands[i], o->key_file != NULL ? o->key_file : AGENTS_KEY_FILE) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            return -1;
        }
    }
    list_ctx ctx = {cmd, o->list, e};
    return o->list != NULL ? sweep_each_line(cmd, o->list, '\n', submit_agent_line, &ctx) : 0;
}

static void
summary_agents(out_sink *s, const sgs_stats *st, const sweep_opts *o)
{
    out_agents_summary(s, st, o->quiet);
}

static int
agents_check(const char *cmd, sweep_opts *o, int noperands)
{
    if (o->server_cert == NULL)
        return cli_fail_usage(cmd, "%s", "--server-cert is required");
    if (o->nkeys > 0 || o->ncerts > 0 || o->sign_cert != NULL || o->cfg.trust.system ||
        o->cfg.trust.codesign || o->cfg.trust.strict || o->files_from != NULL)
        return cli_fail_usage(cmd, "%s", AGENTS_REFUSED);
    if ((o->command == NULL) != (o->command_sig == NULL))
        return cli_fail_usage(cmd, "%s", "--command and --command-sig go together");
    if (noperands == 0 && o->list == NULL)
        return cli_fail_usage(cmd, "%s", "no FLEET_DIR and no --list given");
    return CLI_GO_ON;
}

static int
agents_main(const cli_command *cmd, int argc, char **argv)
{
    static const sweep_hooks hooks = {SGS_OP_AGENTS, agents_check, set_server, submit_agents,
                                      summary_agents};
    return sweep_main(cmd, argc, argv, &hooks);
}

const cli_command cli_cmd_agents = {
    "agents",
    agents_main,
    "audit every agent's copy of the server key",
    "usage: sigsweep agents --server-cert FILE [--known FILE]... [--key-file NAME]\n"
    "                [--list FILE] [--command FILE --command-sig FILE] [options] [FLEET_DIR...]\n"
    "\n"
    "Audit every agent's copy of the server key (FLEET_DIR/<agent>/OfcNTCer.dat, or --list\n"
    "lines agent<TAB>path): VALID, MISSING_FILE, KEY_MISMATCH (naming a --known old key),\n"
    "MALFORMED, EXPIRED/NOT_YET_VALID, UNSUPPORTED, PRIVATE_KEY_EXPOSED; with --command and\n"
    "--command-sig, whether each agent's key accepts the server's real signed command.\n",
    agents_opts,
    NULL,
};
