/*
 * cmd_sign.c - `sigsweep sign` (and `sigsweep package sign`, the same command): writes F.sig
 * for every file, or a detached CMS signature F.p7s with --cert.
 *
 * DESIGN: sign takes the sweep family's run, signature and path options, one private key and
 * the CMS signing options; the trust, enforcement, agents and package options are refused
 * with the message each always had. The engine signs; this file only checks the options.
 */
#include "cmds.h"
#include "sweep.h"

static const cli_optset sign_opts[] = {
    CLI_TAKE(sweep_opts_private_key),
    CLI_TAKE(sweep_opts_cert),
    CLI_TAKE(sweep_opts_certfile),
    CLI_TAKE(sweep_opts_force),
    CLI_TAKE(sweep_opts_sig),
    CLI_TAKE(sweep_opts_run),
    CLI_TAKE(sweep_opts_files_from),
    CLI_REFUSE(sweep_opts_trust, SWEEP_FOR_VERIFY_TRUST),
    CLI_REFUSE(sweep_opts_chain_time, SWEEP_FOR_VERIFY_TRUST),
    CLI_REFUSE(sweep_opts_enforce, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_mode, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_cache, SWEEP_FOR_VERIFY_ENFORCE),
    CLI_REFUSE(sweep_opts_pe, SWEEP_FOR_VERIFY_PE),
    CLI_REFUSE(sweep_opts_agents, SWEEP_FOR_AGENTS),
    CLI_REFUSE(sweep_opts_package, SWEEP_FOR_PACKAGE_VERIFY),
    CLI_REFUSE(sweep_opts_shard, SWEEP_FOR_SHARD),
    CLI_OPTSET_END,
};

static void
summary_signed(out_sink *s, const sgs_stats *st, const sweep_opts *o)
{
    out_summary(s, st, o->quiet, "signed");
}

static int
sign_check(const char *cmd, sweep_opts *o, int noperands)
{
    if (o->ncerts > 0 && o->sign_cert == NULL)
        return cli_fail_usage(cmd, "%s", "--certfile needs --cert");
    if (o->nkeys == 0)
        return cli_fail_usage(cmd, "%s", "--key PRIVATE is required");
    if (o->nkeys > 1)
        return cli_fail_usage(cmd, "%s", "sign takes one --key");
    return sweep_check_paths(cmd, o, noperands);
}

static int
sign_main(const cli_command *cmd, int argc, char **argv)
{
    static const sweep_hooks hooks = {SGS_OP_SIGN, sign_check, NULL, NULL,
                                      summary_signed};
    return sweep_main(cmd, argc, argv, &hooks);
}

const cli_command cli_cmd_sign = {
    "sign",
    sign_main,
    "sign files (raw signatures or detached CMS)",
    "usage: sigsweep sign --key PRIVATE [--cert CERT [--certfile FILE]...] [--force] [options]\n"
    "                FILE|DIR...\n"
    "       sigsweep package sign --key PRIVATE [--hash H] [--pss] [--force] MANIFEST\n"
    "       sigsweep package sign --cert CERT --key PRIVATE [--certfile F] [--force]\n"
    "                MANIFEST\n"
    "\n"
    "Write F.sig for every file, as `openssl dgst -sha256 -sign` (RSA PKCS#1 v1.5, RSA-PSS,\n"
    "ECDSA) or `openssl pkeyutl -sign -rawin` (Ed25519) make it; with --cert, a detached CMS\n"
    "signature F.p7s instead (signed attributes; --certfile adds intermediates to embed).\n"
    "An existing F.sig (F.p7s) is kept and F is not signed (SKIPPED, exit 2) unless --force.\n"
    "F itself is never written: a PE file gets a detached F.sig or F.p7s like any other file.\n",
    sign_opts,
    NULL,
};
