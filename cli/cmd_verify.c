/*
 * cmd_verify.c - `sigsweep verify`: judges files against their detached signatures (raw,
 * CMS) or embedded ones (PE), with the persistent cache and enforcement (quarantine).
 *
 * DESIGN: verify takes every option of the sweep family but the signing, agents and package
 * ones. What is verify's own is turning --cache/--cache-dir and --quarantine/--mode/--policy
 * into the engine's configuration (a cache directory, a quarantine journal) before the run.
 */
#include "cmds.h"
#include "sweep.h"

#include <stdio.h>

static const cli_optset verify_opts[] = {
    CLI_TAKE(sweep_opts_public_key),
    CLI_TAKE(sweep_opts_sig),
    CLI_TAKE(sweep_opts_run),
    CLI_TAKE(sweep_opts_files_from),
    CLI_TAKE(sweep_opts_enforce),
    CLI_TAKE(sweep_opts_mode),
    CLI_TAKE(sweep_opts_cache),
    CLI_TAKE(sweep_opts_trust),
    CLI_TAKE(sweep_opts_chain_time),
    CLI_TAKE(sweep_opts_pe),
    CLI_REFUSE(sweep_opts_cert, SWEEP_FOR_SIGN),
    CLI_REFUSE(sweep_opts_certfile, SWEEP_FOR_SIGN),
    CLI_REFUSE(sweep_opts_force, SWEEP_FOR_SIGN_FORCE),
    CLI_REFUSE(sweep_opts_agents, SWEEP_FOR_AGENTS),
    CLI_REFUSE(sweep_opts_package, SWEEP_FOR_PACKAGE_VERIFY),
    CLI_TAKE(sweep_opts_shard),
    CLI_OPTSET_END,
};

/* Enforce or audit: --mode wins over the policy file; enforcing means quarantine, into the
   journal named, else the default one (its path in journal_buf). */
static int
set_enforcement(const char *cmd, sweep_opts *o, char *journal_buf, size_t n)
{
    int enforce = o->quarantine;
    const int rc = sweep_enforcing(cmd, o, &enforce);
    if (rc != CLI_GO_ON)
        return rc;
    if (enforce)
        o->cfg.quarantine_journal =
            o->journal != NULL ? o->journal : sgs_default_journal(journal_buf, n);
    return CLI_GO_ON;
}

static int
verify_check(const char *cmd, sweep_opts *o, int noperands)
{
    int rc;
    if (o->cfg.pe_uefi && o->cfg.pe_require_all)
        return cli_fail_usage(cmd, "%s",
                              "--uefi (any signature) and --require-all (every one) "
                              "contradict each other");
    if ((o->cfg.force_quarantine || o->cfg.max_quarantine_percent != 5 ||
         o->cfg.max_quarantine != 10) &&
        !o->quarantine && o->policy == NULL && o->mode != 1)
        return cli_fail_usage(cmd, "%s",
                              "--force and --max-quarantine set the quarantine's circuit "
                              "breaker: they go with --quarantine, --mode enforce or --policy "
                              "(--force is for sign otherwise)");
    if (o->paranoid && !o->cache && o->cache_dir == NULL)
        return cli_fail_usage(cmd, "%s", "--paranoid goes with --cache or --cache-dir");
    if ((rc = sweep_check_keys(cmd, o)) != CLI_GO_ON ||
        (rc = sweep_check_paths(cmd, o, noperands)) != CLI_GO_ON)
        return rc;
    if (o->cache || o->cache_dir != NULL) {
        o->cfg.cache_dir = o->cache_dir != NULL
                               ? o->cache_dir
                               : sgs_default_cache_dir(o->cache_buf, sizeof(o->cache_buf));
        o->cfg.paranoid = o->paranoid;
    }
    return set_enforcement(cmd, o, o->journal_buf, sizeof(o->journal_buf));
}

static int
verify_main(const cli_command *cmd, int argc, char **argv)
{
    static const sweep_hooks hooks = {SGS_OP_VERIFY, verify_check, NULL, NULL,
                                      sweep_summary_checked};
    return sweep_main(cmd, argc, argv, &hooks);
}

const cli_command cli_cmd_verify = {
    "verify",
    verify_main,
    "judge files against their signatures",
    "usage: sigsweep verify --key FILE|DIR [--key ...] [options] PATH...\n"
    "       sigsweep verify --trust FILE|DIR [--trust ...] [options] PATH...\n"
    "       sigsweep verify --minisign-key KEY | --signify-key KEY.pub [options] PATH...\n"
    "\n"
    "Judge every file F (directories are walked, symlinks not followed) against its detached\n"
    "signature: F.p7s (CMS, as `openssl cms -sign -binary` makes it), else F.sig, as\n"
    "`openssl dgst -sha256 -sign` (RSA PKCS#1 v1.5, RSA-PSS, ECDSA) or `openssl pkeyutl -sign\n"
    "-rawin` (Ed25519) make it, or CMS. Windows PE files (.exe .dll .sys .efi; no .sig needed):\n"
    "their embedded Authenticode signatures, with the trust options (codeSigning always\n"
    "required). F.minisig (before F.sig): minisign, with --minisign-key; an F.sig in\n"
    "signify's format: with --signify-key.\n"
    "\n"
    "exit status: 0 all valid, 1 some file not valid (or no file found), 2 usage or fatal error\n",
    verify_opts,
    NULL,
};
