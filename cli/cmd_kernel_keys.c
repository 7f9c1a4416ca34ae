/*
 * cmd_kernel_keys.c - `sigsweep kernel-keys KERNEL --out FILE`: the certificates built into a
 * kernel image, so a host's modules can be judged against the kernel it runs (`verify --trust
 * FILE /lib/modules/...`).
 *
 * DESIGN: the engine unwraps the image and finds the certificates (sgs_kernel_keys); this file
 * checks the options and lists what was written, as `trust list` shows certificates.
 */
#include "cmds.h"
#include "output.h"

#include "sigsweep.h"

#include <stddef.h>
#include <stdio.h>

typedef struct kkeys_opts {
    const char *out;
    out_format format;
} kkeys_opts;

static const cli_opt kkeys_options[] = {
    {"out", 0, "FILE", cli_set_string, offsetof(kkeys_opts, out), 0,
     "the PEM file to write (never overwritten)"},
    {"format", 0, "F", cli_set_line_format, offsetof(kkeys_opts, format), 0,
     "how the certificates found are listed: text (default), jsonl"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset kkeys_opts_set[] = {
    CLI_TAKE(kkeys_options),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

static int
kkeys_main(const cli_command *cmd, int argc, char **argv)
{
    kkeys_opts o = {NULL, OUT_TEXT};
    cli_parser p;
    const int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (p.operand >= argc)
        return cli_fail_usage(cmd->name, "%s", "no KERNEL image given");
    if (p.operand + 1 < argc)
        return cli_fail_usage(cmd->name, "unexpected argument '%s'", argv[p.operand + 1]);
    if (o.out == NULL)
        return cli_fail_usage(cmd->name, "%s", "--out is required");
    char err[768], what[256];
    if (sgs_kernel_keys(argv[p.operand], o.out, out_cert_stdout, &o.format, what, sizeof(what), err,
                        sizeof(err)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
        return CLI_EXIT_USAGE;
    }
    if (o.format == OUT_TEXT)
        fprintf(stderr, "sigsweep %s: %s: %s; certificates written to %s\n", cmd->name,
                argv[p.operand], what, o.out);
    return fflush(stdout) != 0 ? CLI_EXIT_USAGE : CLI_EXIT_ALL_VALID;
}

const cli_command cli_cmd_kernel_keys = {
    "kernel-keys",
    kkeys_main,
    "write the module-signing certificates built into a kernel image",
    "usage: sigsweep kernel-keys KERNEL --out FILE [--format text|jsonl]\n"
    "\n"
    "The X.509 certificates built into a kernel image, written to FILE as PEM (never\n"
    "overwriting), each listed on stdout. KERNEL: an x86 bzImage (/boot/vmlinuz-*, signed for\n"
    "EFI or not) with a gzip, xz, zstd or lz4 payload, an EFI zboot image, a gzip/xz/zstd/lz4\n"
    "compressed Image, or an uncompressed vmlinux. Every certificate found is written: the\n"
    "build's module-signing key and any other built in (CONFIG_SYSTEM_TRUSTED_KEYS, a wireless\n"
    "regulatory database's). Then: sigsweep verify --trust FILE /lib/modules/VERSION\n",
    kkeys_opts_set,
    NULL,
};
