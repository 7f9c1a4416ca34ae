/*
 * cmd_package.c - `sigsweep package create|sign|verify`: update packages as a directory and
 * its signed sha256sum-format manifest.
 *
 * DESIGN: create writes the manifest (the engine hashes, sorts and writes it atomically);
 * sign is `sigsweep sign` itself; verify is a sweep whose one operand is the package root:
 * the engine checks the manifest's signature first, then every listed file in parallel.
 */
#include "cmds.h"
#include "sweep.h"

#include <stddef.h>
#include <stdio.h>

#define PACKAGE_NOT_FOR_VERIFY "--files-from and --cert are not for package verify"

/* ---- package create ---- */

typedef struct create_opts {
    const char *out;
    sgs_hash hash;
    unsigned threads;
} create_opts;

static const cli_opt create_opt_table[] = {
    {"out", 0, "MANIFEST", cli_set_string, offsetof(create_opts, out), 0,
     "the manifest to write (atomically)"},
    {"hash", 0, "ALG", cli_set_hash, offsetof(create_opts, hash), 0,
     "sha256 (default), sha384, sha512"},
    {"jobs", 'j', "N", cli_set_jobs, offsetof(create_opts, threads), 0,
     "worker threads (default: online CPUs)"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset create_opts_list[] = {
    CLI_TAKE(create_opt_table),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static int
create_main(const cli_command *cmd, int argc, char **argv)
{
    create_opts o = {NULL, SGS_HASH_SHA256, 0};
    cli_parser p;
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (o.out == NULL || argc - p.operand != 1)
        return cli_fail_usage(cmd->name, "%s", "usage: package create DIR --out MANIFEST");
    char err[768];
    if (sgs_package_create(argv[p.operand], o.out, o.hash, o.threads, err, sizeof(err)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_ALL_VALID;
}

static const cli_command package_create = {
    "package create",
    create_main,
    "write a sha256sum-format manifest of a directory",
    "usage: sigsweep package create DIR --out MANIFEST [--hash H] [-j N]\n"
    "\n"
    "Write a sha256sum-format manifest of DIR (sorted, atomically).\n",
    create_opts_list,
    NULL,
};

/* ---- package verify ---- */

static const cli_optset verify_opts[] = {
    CLI_TAKE(sweep_opts_package),
    CLI_TAKE(sweep_opts_public_key),
    CLI_TAKE(sweep_opts_sig),
    CLI_TAKE(sweep_opts_run),
    CLI_TAKE(sweep_opts_trust),
    CLI_TAKE(sweep_opts_chain_time),
    CLI_REFUSE(sweep_opts_files_from, PACKAGE_NOT_FOR_VERIFY),
    CLI_REFUSE(sweep_opts_cert, PACKAGE_NOT_FOR_VERIFY),
    CLI_REFUSE(sweep_opts_certfile, SWEEP_FOR_SIGN),
    CLI_REFUSE(sweep_opts_force, SWEEP_FOR_SIGN_FORCE),
    CLI_REFUSE(sweep_opts_enforce, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_mode, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_cache, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_pe, SWEEP_FOR_VERIFY_PE),
    CLI_REFUSE(sweep_opts_agents, SWEEP_FOR_AGENTS),
    CLI_TAKE(sweep_opts_shard),
    CLI_OPTSET_END,
};

static int
set_package(const char *cmd, sgs_engine *e, const sweep_opts *o, char **operands)
{
    if (sgs_engine_set_package(e, operands[0], o->manifest) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        return -1;
    }
    return 0;
}

static int
submit_package(const char *cmd, sgs_engine *e, const sweep_opts *o, char **operands, int n)
{
    (void)operands;
    (void)n;
    if (sgs_engine_submit_package(e, o->ignore, o->nignore) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        return -1;
    }
    return 0;
}

static void
summary_package(out_sink *s, const sgs_stats *st, const sweep_opts *o)
{
    out_package_summary(s, st, o->quiet);
}

static int
verify_check(const char *cmd, sweep_opts *o, int noperands)
{
    if (o->manifest == NULL)
        return cli_fail_usage(cmd, "%s", "--manifest is required");
    if (noperands != 1)
        return cli_fail_usage(cmd, "%s", "give exactly one package DIR");
    return sweep_check_keys(cmd, o);
}

static int
verify_main(const cli_command *cmd, int argc, char **argv)
{
    static const sweep_hooks hooks = {SGS_OP_PACKAGE, verify_check, set_package, submit_package,
                                      summary_package};
    return sweep_main(cmd, argc, argv, &hooks);
}

static const cli_command package_verify = {
    "package verify",
    verify_main,
    "check a package against its signed manifest",
    "usage: sigsweep package verify DIR --manifest MANIFEST (--key K | --trust T ...)\n"
    "                [--ignore GLOB]... [options]\n"
    "\n"
    "Check the manifest's signature first, then every listed file in parallel:\n"
    "DIGEST_MISMATCH, MISSING_FILE, EXTRA_FILE (not listed, unless --ignore GLOB), SKIPPED;\n"
    "files are opened beneath DIR, never outside it.\n",
    verify_opts,
    NULL,
};

static const cli_command *const package_cmds[] = {
    &package_create,
    &cli_cmd_sign,
    &package_verify,
    NULL,
};

const cli_command cli_cmd_package = {
    "package",
    NULL,
    "create, sign and verify update packages (signed manifests)",
    "usage: sigsweep package create DIR --out MANIFEST [--hash H] [-j N]\n"
    "       sigsweep package sign --key PRIVATE [--hash H] [--pss] [--force] MANIFEST\n"
    "       sigsweep package sign --cert CERT --key PRIVATE [--certfile F] [--force]\n"
    "                MANIFEST\n"
    "       sigsweep package verify DIR --manifest MANIFEST (--key K | --trust T ...)\n"
    "                [--ignore GLOB]... [options]\n"
    "\n"
    "package: create writes a sha256sum-format manifest of DIR (sorted, atomically); sign\n"
    "signs it (MANIFEST.sig, or MANIFEST.p7s with --cert); verify checks the manifest's signature\n"
    "first, then every listed file in parallel.\n",
    NULL,
    package_cmds,
};
