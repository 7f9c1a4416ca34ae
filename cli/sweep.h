/* sweep.h - one engine run over many inputs, for the commands that judge or sign files
   (verify, sign, agents, package verify, trust diagnose): their shared options and the run. */
#ifndef SGS_CLI_SWEEP_H
#define SGS_CLI_SWEEP_H

#include "opts.h"
#include "output.h"
#include "sigsweep.h"

typedef struct sweep_cert {
    sgs_material kind;
    const char *path;
    int embed; /* --certfile (sign) rather than --untrusted (verify) */
} sweep_cert;

/* Every option of the family; each command reads the ones its tables take. */
typedef struct sweep_opts {
    sgs_config cfg;
    const char *keys[256];
    size_t nkeys;
    const char *edkeys[64]; /* --minisign-key, --signify-key, in order */
    sgs_edkey_kind edkinds[64];
    size_t nedkeys;
    sweep_cert certs[256];
    size_t ncerts;
    out_format format;
    const char *output;
    const char *files_from;
    int null_sep; /* -0/--null: --files-from is NUL-separated */
    const char *sign_cert;
    const char *server_cert;
    const char *known[64];
    size_t nknown;
    const char *key_file;
    const char *list;
    const char *command;
    const char *command_sig;
    const char *manifest;
    int quarantine;
    int cache;
    const char *cache_dir;
    int paranoid;
    const char *journal;
    int mode; /* -1 unset, 0 audit, 1 enforce (--mode) */
    const char *policy;
    const char *ignore[64];
    size_t nignore;
    int quiet;  /* OUT_QUIET_* (output.h): --quiet, --status */
    int status; /* --status, before it is folded into quiet */
    unsigned time_limit; /* --time-limit: seconds; 0 none */
    char journal_buf[4096]; /* room for default paths (sgs_default_journal, ...cache_dir) */
    char cache_buf[4096];
} sweep_opts;

/* The option fragments (opts.h), each defined once. */
extern const cli_opt sweep_opts_run[];         /* -j, --format, --output, -q, -h */
extern const cli_opt sweep_opts_public_key[];  /* --key, repeatable */
extern const cli_opt sweep_opts_private_key[]; /* --key PRIVATE */
extern const cli_opt sweep_opts_sig[];         /* --hash, --pss, --sig-suffix */
extern const cli_opt sweep_opts_files_from[];
extern const cli_opt sweep_opts_trust[];      /* --trust ... --strict: anchors and checks */
extern const cli_opt sweep_opts_chain_time[]; /* --at, --partial-chain, --no-time-check */
extern const cli_opt sweep_opts_enforce[];    /* --quarantine, --max-quarantine, --force,
                                                 --journal */
extern const cli_opt sweep_opts_mode[];       /* --mode, --policy */
extern const cli_opt sweep_opts_cache[];      /* --cache, --cache-dir, --paranoid, ... */
extern const cli_opt sweep_opts_pe[];         /* --uefi, --require-all, --lenient */
extern const cli_opt sweep_opts_cert[];       /* --cert */
extern const cli_opt sweep_opts_certfile[];
extern const cli_opt sweep_opts_force[]; /* sign --force */
extern const cli_opt sweep_opts_agents[];  /* --server-cert ... --command-sig */
extern const cli_opt sweep_opts_package[]; /* --manifest, --ignore */
extern const cli_opt sweep_opts_shard[];   /* --shard K/N */

/* What using a fragment's options with a command that does not take them says. */
#define SWEEP_FOR_SIGN "--cert and --certfile are for sign"
#define SWEEP_FOR_AGENTS "--server-cert, --known, --key-file, --list and --command are for agents"
#define SWEEP_FOR_PACKAGE_VERIFY "--manifest and --ignore are for package verify"
#define SWEEP_FOR_VERIFY_ENFORCE                                                                   \
    "--quarantine, --journal, --mode, --policy and the cache options are for verify"
#define SWEEP_FOR_VERIFY_PE "--uefi, --require-all and --lenient are for verify"
#define SWEEP_FOR_VERIFY_TRUST "trust options are for verify"
#define SWEEP_FOR_SHARD "--shard is for verify, agents and package verify"
#define SWEEP_FOR_SIGN_FORCE "--force is for sign (replace existing signature files)"

/* A command's part of the run. check returns CLI_GO_ON or an exit status (after the
   diagnostic) and may complete o; the others return 0, or -1 after printing the error. */
typedef struct sweep_hooks {
    sgs_op op;
    /* once the options are read: what is particular to the command */
    int (*check)(const char *cmd, sweep_opts *o, int noperands);
    /* after keys and certificates are added, before the report begins */
    int (*prepare)(const char *cmd, sgs_engine *e, const sweep_opts *o, char **operands);
    /* queues the operands (n of them); NULL: they are paths, queued with the --files-from
       lines (inputs.c: a signature given names its file) */
    int (*submit)(const char *cmd, sgs_engine *e, const sweep_opts *o, char **operands, int n);
    void (*summarize)(out_sink *s, const sgs_stats *st, const sweep_opts *o);
} sweep_hooks;

/* Checks shared by several commands: CLI_GO_ON, or CLI_EXIT_USAGE after the diagnostic. */
int sweep_check_keys(const char *cmd, const sweep_opts *o); /* --key or a trust anchor */
int sweep_check_paths(const char *cmd, const sweep_opts *o, int noperands);

/* A whole decimal number in [lo, hi]: 0, or -1 when arg is anything else. */
int sweep_parse_in_range(const char *arg, long long lo, long long hi, long long *out);

/* Keys, the signing certificate and the certificates of o added to e, in that order. 0, or
   -1 after the diagnostic. */
int sweep_add_material(const char *cmd, sgs_engine *e, const sweep_opts *o);

/* Enforce or audit: *enforce (the command's default on entry) set by the policy file (--policy)
   then --mode, which wins. CLI_GO_ON, or CLI_EXIT_USAGE after the diagnostic. */
int sweep_enforcing(const char *cmd, sweep_opts *o, int *enforce);

/* Hooks shared by several commands. */
void sweep_summary_checked(out_sink *s, const sgs_stats *st, const sweep_opts *o);

/* Calls fn for each line of FILE (- = stdin) but empty ones, without its '\n'; stops when fn
   returns -1. Returns 0, or -1 after printing the error. */
int sweep_each_line(const char *cmd, const char *file, int delim,
                    int (*fn)(void *ctx, char *line, size_t len, unsigned long lineno), void *ctx);

/* A sweep command's handler: reads cmd's options, h->check, then runs the engine: keys,
   certificates, hooks, --files-from, the report (to --output atomically), the summary.
   Returns the exit status. */
int sweep_main(const cli_command *cmd, int argc, char **argv, const sweep_hooks *h);

#endif
