/*
 * cmd_trust.c - `sigsweep trust list|add|diagnose`: trust stores and why a chain does not
 * build.
 *
 * DESIGN: list and add print what the engine reads from certificates (sgs_certs_list,
 * sgs_trust_store_add); add reads every source first and adds nothing unless all of them
 * are certificates. diagnose is a verify-like sweep whose text records carry the chain.
 * list and add share the --format table; add also takes --force, which list calls unknown.
 */
#include "cmds.h"
#include "output.h"
#include "sweep.h"

#include <stddef.h>
#include <stdio.h>

/* ---- trust list, trust add ---- */

typedef struct store_opts {
    out_format format;
    int force;
} store_opts;

static const cli_opt store_format[] = {
    {"format", 0, "F", cli_set_line_format, offsetof(store_opts, format), 0,
     "text (default), jsonl"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_opt store_force[] = {
    {"force", 0, NULL, cli_set_flag, offsetof(store_opts, force), 0,
     "add certificates that are not CAs too"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

/* list knows --force only to call it unknown at once (as add's twin, abbreviations of
   --format stay ambiguous with it) */
static int
refuse_force(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    (void)arg;
    return cli_fail_usage(p->cmd->name, "unknown option %s", "--force");
}

static const cli_opt list_force[] = {
    {"force", 0, NULL, refuse_force, 0, 0, NULL},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset list_opts[] = {
    CLI_TAKE(store_format),
    CLI_TAKE(list_force),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static const cli_optset add_opts[] = {
    CLI_TAKE(store_format),
    CLI_TAKE(store_force),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static void
ignore_cert(void *opaque, const sgs_cert_info *c)
{
    (void)opaque;
    (void)c;
}

typedef struct import_sink {
    out_format format;
    unsigned refused;
} import_sink;

static void
print_import(void *opaque, const sgs_import_record *r)
{
    import_sink *const s = opaque;
    s->refused += r->action == SGS_IMPORT_REFUSED;
    out_import(stdout, s->format, r);
}

static int
list_main(const cli_command *cmd, int argc, char **argv)
{
    store_opts o = {OUT_TEXT, 0};
    cli_parser p;
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (p.operand >= argc)
        return cli_fail_usage(cmd->name, "%s", "no FILE or DIR given");
    char err[512];
    int skipped = 0;
    for (int i = p.operand; i < argc; i++) {
        if (sgs_certs_list(argv[i], out_cert_stdout, &o.format, err, sizeof(err)) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
            return CLI_EXIT_USAGE;
        }
        if (err[0] != '\0') {
            fprintf(stderr, "sigsweep %s: %s: %s\n", cmd->name, argv[i], err);
            skipped = 1;
        }
    }
    return fflush(stdout) != 0 ? CLI_EXIT_USAGE : skipped ? CLI_EXIT_NOT_VALID : CLI_EXIT_ALL_VALID;
}

static int
add_main(const cli_command *cmd, int argc, char **argv)
{
    store_opts o = {OUT_TEXT, 0};
    cli_parser p;
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (p.operand + 1 >= argc)
        return cli_fail_usage(cmd->name, "%s", "needs DIR and at least one CERT");
    const char *const dir = argv[p.operand];
    import_sink sink = {o.format, 0};
    char err[512];
    /* every source must read as certificates before anything is added: all or nothing */
    for (int i = p.operand + 1; i < argc; i++) {
        if (sgs_certs_list(argv[i], ignore_cert, NULL, err, sizeof(err)) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s (nothing added)\n", cmd->name, err);
            return CLI_EXIT_USAGE;
        }
    }
    for (int i = p.operand + 1; i < argc; i++) {
        if (sgs_trust_store_add(dir, argv[i], o.force, print_import, &sink, err, sizeof(err)) !=
            SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
            return CLI_EXIT_USAGE;
        }
    }
    if (fflush(stdout) != 0)
        return CLI_EXIT_USAGE;
    return sink.refused ? CLI_EXIT_NOT_VALID : CLI_EXIT_ALL_VALID;
}

static const cli_command trust_list = {
    "trust list",
    list_main,
    "show the certificates of a trust store",
    "usage: sigsweep trust list [--format text|jsonl] FILE|DIR...\n"
    "\n"
    "Show the certificates of a trust store (subject, issuer, validity, SHA-256, key id).\n",
    list_opts,
    NULL,
};

static const cli_command trust_add = {
    "trust add",
    add_main,
    "copy CA certificates into a trust store",
    "usage: sigsweep trust add [--force] [--format text|jsonl] DIR CERT...\n"
    "\n"
    "Copy CA certificates into DIR with OpenSSL subject-hash links; refuses non-CA\n"
    "certificates unless --force; never overwrites.\n",
    add_opts,
    NULL,
};

/* ---- trust diagnose ---- */

static const cli_optset diagnose_opts[] = {
    CLI_TAKE(sweep_opts_trust),
    CLI_TAKE(sweep_opts_chain_time),
    CLI_TAKE(sweep_opts_public_key),
    CLI_TAKE(sweep_opts_sig),
    CLI_TAKE(sweep_opts_run),
    CLI_TAKE(sweep_opts_files_from),
    CLI_REFUSE(sweep_opts_cert, SWEEP_FOR_SIGN),
    CLI_REFUSE(sweep_opts_certfile, SWEEP_FOR_SIGN),
    CLI_REFUSE(sweep_opts_force, SWEEP_FOR_SIGN_FORCE),
    CLI_REFUSE(sweep_opts_enforce, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_mode, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_cache, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_pe, SWEEP_FOR_VERIFY_PE),
    CLI_REFUSE(sweep_opts_agents, SWEEP_FOR_AGENTS),
    CLI_REFUSE(sweep_opts_package, SWEEP_FOR_PACKAGE_VERIFY),
    CLI_REFUSE(sweep_opts_shard, SWEEP_FOR_SHARD),
    CLI_OPTSET_END,
};

static int
diagnose_check(const char *cmd, sweep_opts *o, int noperands)
{
    const int rc = sweep_check_keys(cmd, o);
    return rc != CLI_GO_ON ? rc : sweep_check_paths(cmd, o, noperands);
}

static int
diagnose_main(const cli_command *cmd, int argc, char **argv)
{
    static const sweep_hooks hooks = {SGS_OP_DIAGNOSE, diagnose_check, NULL, NULL,
                                      sweep_summary_checked};
    return sweep_main(cmd, argc, argv, &hooks);
}

static const cli_command trust_diagnose = {
    "trust diagnose",
    diagnose_main,
    "the chain each signed file builds, and what would fix it",
    "usage: sigsweep trust diagnose --trust DIR [CMS options] [--format F] FILE...\n"
    "\n"
    "For each signed file (or certificate file), the chain it builds, what is missing and\n"
    "what would fix it.\n",
    diagnose_opts,
    NULL,
};

static const cli_command *const trust_cmds[] = {
    &trust_list,
    &trust_add,
    &trust_diagnose,
    NULL,
};

const cli_command cli_cmd_trust = {
    "trust",
    NULL,
    "list, add to and diagnose trust stores",
    "usage: sigsweep trust list [--format text|jsonl] FILE|DIR...\n"
    "       sigsweep trust add [--force] [--format text|jsonl] DIR CERT...\n"
    "       sigsweep trust diagnose --trust DIR [CMS options] [--format F] FILE...\n"
    "\n"
    "trust list: show the certificates of a trust store (subject, issuer, validity, SHA-256,\n"
    "key id). trust add: copy CA certificates into DIR with OpenSSL subject-hash links; refuses\n"
    "non-CA certificates unless --force; never overwrites. trust diagnose: for each signed file\n"
    "(or certificate file), the chain it builds, what is missing and what would fix it.\n",
    NULL,
    trust_cmds,
};
