/*
 * sweep.c - one engine run over many inputs: the options and the run shared by verify, sign,
 * agents, package verify and trust diagnose. No crypto, no parsing of signed material here.
 *
 * DESIGN: the five commands are one family: one sweep_opts holds every option any of them
 * takes, the option fragments below are each command's building blocks, and every command
 * lists all of them (taken, ignored or refused with its own message), so what an option or
 * an abbreviation means never depends on the command. A command checks what is particular to
 * it in its hooks and sweep_main() drives the engine the same way for all:
 *
 *   create -> keys -> signing cert -> certificates -> hooks.prepare -> report header
 *          -> hooks.submit or the paths (operands, --files-from: inputs.c) -> finish
 *          -> hooks.summarize
 *
 * The report goes to stdout, or to --output through a temporary file renamed at the end.
 */
#include "sweep.h"

#include "inputs.h"
#include "lines.h"
#include "timearg.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SWEEP_FIELD(m) offsetof(sweep_opts, m)
/* clang-format off */
#define SWEEP_END {NULL, 0, NULL, NULL, 0, 0, NULL}
/* clang-format on */

static sweep_opts *
target(const cli_parser *p)
{
    return p->target;
}

static int
set_key(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    sweep_opts *const o = target(p);
    if (o->nkeys == sizeof(o->keys) / sizeof(o->keys[0]))
        return cli_fail_usage(p->cmd->name, "too many --key options (%s)", "use a directory");
    o->keys[o->nkeys++] = arg;
    return CLI_GO_ON;
}

/* --minisign-key, --signify-key: opt->value is the sgs_edkey_kind */
static int
set_edkey(cli_parser *p, const cli_opt *opt, const char *arg)
{
    sweep_opts *const o = target(p);
    if (o->nedkeys == sizeof(o->edkeys) / sizeof(o->edkeys[0]))
        return cli_fail_usage(p->cmd->name, "more than %zu --%s options", o->nedkeys, opt->name);
    o->edkinds[o->nedkeys] = (sgs_edkey_kind)opt->value;
    o->edkeys[o->nedkeys++] = arg;
    return CLI_GO_ON;
}

static int
add_cert(cli_parser *p, sgs_material kind, int embed, const char *arg)
{
    sweep_opts *const o = target(p);
    if (o->ncerts == sizeof(o->certs) / sizeof(o->certs[0]))
        return cli_fail_usage(p->cmd->name, "too many certificate options (%s)",
                              embed ? "use a bundle" : "use directories");
    o->certs[o->ncerts].kind = kind;
    o->certs[o->ncerts].embed = embed;
    o->certs[o->ncerts++].path = arg;
    return CLI_GO_ON;
}

/* --trust, --untrusted, --search, --crl, --tsa-trust: opt->value is the kind */
static int
set_cert(cli_parser *p, const cli_opt *opt, const char *arg)
{
    return add_cert(p, (sgs_material)opt->value, 0, arg);
}

/* sign --certfile: intermediates to embed */
static int
set_certfile(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    return add_cert(p, SGS_MAT_UNTRUSTED, 1, arg);
}

static int
set_sig_suffix(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    if (arg[0] == '\0' || strchr(arg, '/') != NULL)
        return cli_fail_usage(p->cmd->name, "bad --sig-suffix '%s'", arg);
    target(p)->cfg.sig_suffix = arg;
    return CLI_GO_ON;
}

static int
set_known(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    sweep_opts *const o = target(p);
    if (o->nknown == sizeof(o->known) / sizeof(o->known[0]))
        return cli_fail_usage(p->cmd->name, "more than %zu --known keys", o->nknown);
    o->known[o->nknown++] = arg;
    return CLI_GO_ON;
}

static int
set_key_file(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    if (arg[0] == '\0' || strchr(arg, '/') != NULL)
        return cli_fail_usage(p->cmd->name, "bad --key-file '%s' (a file name)", arg);
    target(p)->key_file = arg;
    return CLI_GO_ON;
}

static int
set_ignore(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    sweep_opts *const o = target(p);
    if (o->nignore == sizeof(o->ignore) / sizeof(o->ignore[0]))
        return cli_fail_usage(p->cmd->name, "more than %zu --ignore patterns", o->nignore);
    o->ignore[o->nignore++] = arg;
    return CLI_GO_ON;
}

static int
set_mode(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    if (strcmp(arg, "enforce") != 0 && strcmp(arg, "audit") != 0)
        return cli_fail_usage(p->cmd->name, "unknown --mode '%s' (enforce, audit)", arg);
    target(p)->mode = strcmp(arg, "enforce") == 0;
    return CLI_GO_ON;
}

int
sweep_parse_in_range(const char *arg, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtoll(arg, &end, 10);
    return errno == 0 && end != arg && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

/* --max-age SECONDS: identity-cache entries older than this are re-hashed. */
static int
set_max_age(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    long long s;
    if (sweep_parse_in_range(arg, 1, INT64_MAX, &s) != 0)
        return cli_fail_usage(p->cmd->name, "--max-age wants a number of seconds > 0, not '%s'",
                              arg);
    target(p)->cfg.cache_max_age = (int64_t)s;
    return CLI_GO_ON;
}

/* --max-quarantine N | P%: the circuit breaker's limit, a number of files or a share. */
static int
set_max_quarantine(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    char num[32];
    const size_t len = strlen(arg);
    const int pct = len > 1 && arg[len - 1] == '%';
    long long v;
    if (len == 0 || len >= sizeof(num) ||
        (memcpy(num, arg, len - (size_t)pct), num[len - (size_t)pct] = '\0',
         sweep_parse_in_range(num, 0, pct ? 100 : INT64_MAX, &v) != 0))
        return cli_fail_usage(p->cmd->name,
                              "--max-quarantine wants a number of files or a share such as 5%%, "
                              "not '%s'",
                              arg);
    sweep_opts *const o = target(p);
    o->cfg.max_quarantine = pct ? 0 : (uint64_t)v;
    o->cfg.max_quarantine_percent = pct ? (unsigned)v : 0;
    return CLI_GO_ON;
}

/* --max-file-size SIZE[K|M|G|T] (binary units); 0: no limit. */
static int
set_max_file_size(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    char *end = NULL;
    errno = 0;
    const unsigned long long v = arg[0] >= '0' && arg[0] <= '9' ? strtoull(arg, &end, 10) : 0;
    unsigned shift = 0;
    if (end != NULL && end[0] != '\0' && end[1] == '\0') {
        const char *const units = "KMGT";
        const char *const u = strchr(units, end[0] & ~0x20);
        shift = u != NULL ? 10u * (unsigned)(u - units + 1) : 64u;
        end++;
    }
    if (end == NULL || errno != 0 || *end != '\0' || shift >= 64 || v > (UINT64_MAX >> shift))
        return cli_fail_usage(p->cmd->name,
                              "--max-file-size wants bytes, or a number with K, M, G or T "
                              "(0: no limit), not '%s'",
                              arg);
    target(p)->cfg.max_file_size = (uint64_t)v << shift;
    return CLI_GO_ON;
}

/* --time-limit SECONDS: the run stops there, as on SIGTERM (exit 2, what was judged kept). */
static int
set_time_limit(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    long long s;
    if (sweep_parse_in_range(arg, 1, 100000000, &s) != 0)
        return cli_fail_usage(p->cmd->name, "--time-limit wants a number of seconds > 0, not '%s'",
                              arg);
    target(p)->time_limit = (unsigned)s;
    return CLI_GO_ON;
}

/* --min-security BITS: lowering the floor is allowed, never silently. */
static int
set_min_security(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    long long bits;
    if (sweep_parse_in_range(arg, 0, 256, &bits) != 0)
        return cli_fail_usage(p->cmd->name, "--min-security wants bits from 0 to 256, not '%s'",
                              arg);
    target(p)->cfg.trust.min_security_bits = (int)bits;
    if (bits < SGS_MIN_SECURITY_BITS_DEFAULT)
        fprintf(stderr,
                "sigsweep %s: warning: keys of %lld-bit security are accepted (the default floor "
                "is %d: RSA-2048, P-256, Ed25519)\n",
                p->cmd->name, bits, SGS_MIN_SECURITY_BITS_DEFAULT);
    return CLI_GO_ON;
}

static int
set_purpose(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    if (strcmp(arg, "codesign") != 0)
        return cli_fail_usage(p->cmd->name, "unknown --purpose '%s' (codesign)", arg);
    target(p)->cfg.trust.codesign = 1;
    return CLI_GO_ON;
}

static int
set_at(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    sweep_opts *const o = target(p);
    if (cli_parse_time(arg, &o->cfg.trust.at_time) != 0)
        return cli_fail_usage(p->cmd->name,
                              "--at wants an RFC 3339 time (YYYY-MM-DD[THH:MM[:SS[.frac]]]"
                              "[Z|+HH:MM|-HH:MM]) or @EPOCH, not '%s'", arg);
    o->cfg.trust.has_at_time = 1;
    return CLI_GO_ON;
}

/* --shard K/N: as coreutils `split -n K/N`, K from 1 to N. */
static int
set_shard(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    long long k, n;
    const char *const slash = strchr(arg, '/');
    char num[32];
    const size_t klen = slash != NULL ? (size_t)(slash - arg) : 0;
    if (slash == NULL || klen == 0 || klen >= sizeof(num) ||
        (memcpy(num, arg, klen), num[klen] = '\0',
         sweep_parse_in_range(num, 1, 1000000, &k) != 0) ||
        sweep_parse_in_range(slash + 1, 1, 1000000, &n) != 0 || k > n)
        return cli_fail_usage(p->cmd->name,
                              "--shard wants K/N with 1 <= K <= N <= 1000000 (as split -n K/N: "
                              "a 0-based index i is $((i+1))/N), not '%s'",
                              arg);
    sweep_opts *const o = target(p);
    o->cfg.shard_index = (unsigned)k;
    o->cfg.shard_count = (unsigned)n;
    return CLI_GO_ON;
}

const cli_opt sweep_opts_shard[] = {
    {"shard", 0, "K/N", set_shard, 0, 0,
     "judge only shard K of N (1 <= K <= N): by a hash of each file's path\n"
     "relative to the PATH given (agents: the agent id; package: the\n"
     "manifest path), so N runs cover the inputs exactly once"},
    SWEEP_END,
};

const cli_opt sweep_opts_run[] = {
    {"jobs", 'j', "N", cli_set_jobs, SWEEP_FIELD(cfg.threads), 0,
     "worker threads (default: online CPUs)"},
    {"format", 0, "F", cli_set_format, SWEEP_FIELD(format), 0, "text (default), jsonl, csv"},
    {"output", 0, "FILE", cli_set_string, SWEEP_FIELD(output), 0,
     "write the report to FILE (atomically) instead of stdout"},
    {"quiet", 'q', NULL, cli_set_flag, SWEEP_FIELD(quiet), 0,
     "as sha256sum -c: text has no line for a VALID file, no progress\n"
     "line; the summary only when a file is not VALID (a JSONL or CSV\n"
     "report stays whole)"},
    {"status", 0, NULL, cli_set_flag, SWEEP_FIELD(status), 0,
     "print nothing (no record on stdout, no summary): the exit status\n"
     "says (--output FILE is still written whole)"},
    {"max-file-size", 0, "SIZE", set_max_file_size, 0, 0,
     "files larger than SIZE (bytes, or with K, M, G, T) are not read:\n"
     "SKIPPED, never VALID (default 64G; 0: no limit)"},
    {"time-limit", 0, "SECONDS", set_time_limit, 0, 0,
     "stop the run after SECONDS: what was judged is written, exit 2"},
    {"help", 'h', NULL, cli_set_help, 0, 0, "this help"},
    SWEEP_END,
};

const cli_opt sweep_opts_public_key[] = {
    {"key", 0, "FILE|DIR", set_key, 0, 0,
     "public key or certificate (PEM/DER), or a directory of\n"
     "them (links followed; what is no key is named and skipped);\nrepeatable"},
    {"minisign-key", 0, "KEY", set_edkey, 0, SGS_EDKEY_MINISIGN,
     "minisign public key: a .pub file or the base64 string of\n"
     "minisign -P, for F.minisig; repeatable"},
    {"signify-key", 0, "KEY.pub", set_edkey, 0, SGS_EDKEY_SIGNIFY,
     "OpenBSD signify public key, for F.sig in signify's format and\n"
     "signify-signed checksum lists (package verify); repeatable"},
    {"min-security", 0, "BITS", set_min_security, 0, 0,
     "refuse keys (and signers, chains, TSAs) below BITS of security\n"
     "(default 112: RSA-2048, P-256, Ed25519; lower it with a warning)"},
    SWEEP_END,
};

const cli_opt sweep_opts_private_key[] = {
    {"key", 0, "PRIVATE", set_key, 0, 0, "the private key (PEM/DER, unencrypted)"},
    SWEEP_END,
};

const cli_opt sweep_opts_sig[] = {
    {"hash", 0, "ALG", cli_set_hash, SWEEP_FIELD(cfg.hash), 0,
     "sha256 (default), sha384, sha512: file digest and prehash"},
    {"pss", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.pss), 0,
     "RSA keys use RSA-PSS (salt length auto-detected on verify)"},
    {"sig-suffix", 0, "S", set_sig_suffix, 0, 0, "signature file suffix (default .sig)"},
    SWEEP_END,
};

const cli_opt sweep_opts_files_from[] = {
    {"files-from", 0, "FILE", cli_set_string, SWEEP_FIELD(files_from), 0,
     "read more paths, one per line, from FILE (- = stdin)"},
    {"null", '0', NULL, cli_set_flag, SWEEP_FIELD(null_sep), 0,
     "--files-from names end with NUL, not newline (find -print0)"},
    SWEEP_END,
};

const cli_opt sweep_opts_trust[] = {
    {"trust", 0, "FILE|DIR", set_cert, 0, SGS_MAT_TRUST,
     "trusted CA certificates (PEM bundle, DER, plain or hashed dir)"},
    {"trust-system", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.trust.system), 0,
     "also trust the system's CA bundle (OpenSSL's default paths)"},
    {"untrusted", 0, "FILE|DIR", set_cert, 0, SGS_MAT_UNTRUSTED,
     "intermediate certificates that may help build a chain"},
    {"search", 0, "DIR", set_cert, 0, SGS_MAT_SEARCH,
     "candidate CA certificates, never trusted: a missing issuer found\n"
     "here is named as the fix (\"would be VALID after importing ...\")"},
    {"crl", 0, "FILE", set_cert, 0, SGS_MAT_CRL,
     "CRL (PEM/DER, offline); revoked signers are REVOKED"},
    {"purpose", 0, "codesign", set_purpose, 0, 0,
     "the signer must carry the codeSigning extended key usage"},
    {"strict", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.trust.strict), 0,
     "RFC 5280 strictness (X509_V_FLAG_X509_STRICT)"},
    {"tsa-trust", 0, "FILE|DIR", set_cert, 0, SGS_MAT_TSA,
     "timestamp authorities' CAs: a trusted RFC 3161 timestamp dates the\n"
     "signature, so an expired signer certificate can still be VALID"},
    SWEEP_END,
};

const cli_opt sweep_opts_chain_time[] = {
    {"at", 0, "TIME", set_at, 0, 0,
     "validate chains at TIME: RFC 3339 (2026-01-31T12:00:00Z,\n"
     "2026-01-31T07:00:00.5-05:00, 2026-01-31) or @EPOCH"},
    {"partial-chain", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.trust.partial_chain), 0,
     "a trusted intermediate is enough (as UEFI firmware treats its db)"},
    {"no-time-check", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.trust.no_time_check), 0,
     "ignore certificate validity dates (as UEFI firmware does)"},
    SWEEP_END,
};

const cli_opt sweep_opts_enforce[] = {
    {"quarantine", 0, NULL, cli_set_flag, SWEEP_FIELD(quarantine), 0,
     "rename each file that is not VALID to <name>_invalid[.N]\n"
     "(never replacing anything), journalled first; undo: restore"},
    {"max-quarantine", 0, "N|P%", set_max_quarantine, 0, 0,
     "circuit breaker: rename nothing (exit 2) when more files than\n"
     "this would be renamed, or when no file of the run is VALID;\n"
     "default: 5% of the files judged, at least 10\n"
     "(guard: N files over its lifetime, default 10; then it renames\n"
     "no more, and denies on)"},
    {"force", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.force_quarantine), 0,
     "quarantine even when the circuit breaker would stop it\n"
     "(not guard: its breaker cannot be overridden)"},
    {"journal", 0, "FILE", cli_set_string, SWEEP_FIELD(journal), 0,
     "the journal (default $XDG_STATE_HOME/sigsweep/quarantine.journal)"},
    SWEEP_END,
};

const cli_opt sweep_opts_mode[] = {
    {"mode", 0, "enforce|audit", set_mode, 0, 0, "enforce = --quarantine; audit never renames"},
    {"policy", 0, "FILE.ini", cli_set_string, SWEEP_FIELD(policy), 0,
     "[INI_SERVER_SECTION] CheckDigitalSignatureForHotfix (else [Global\n"
     "Settings] CheckDigitalSignatureForUpgrade): 1 enforce, 0 audit"},
    SWEEP_END,
};

const cli_opt sweep_opts_cache[] = {
    {"cache", 0, NULL, cli_set_flag, SWEEP_FIELD(cache), 0,
     "reuse digests of unchanged files and verdicts of known content\n"
     "($XDG_CACHE_HOME/sigsweep; trusts the stat tuple like git/make)"},
    {"cache-dir", 0, "DIR", cli_set_string, SWEEP_FIELD(cache_dir), 0, "the same, in DIR"},
    {"paranoid", 0, NULL, cli_set_flag, SWEEP_FIELD(paranoid), 0,
     "with a cache: re-hash every file anyway (still records)"},
    {"max-age", 0, "SECONDS", set_max_age, 0, 0,
     "with a cache: re-hash files whose cached digest is older than this"},
    {"require-cache", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.cache_required), 0,
     "with a cache: exit 2 when it cannot be used (owned by another\n"
     "user, writable by others), instead of running without it"},
    SWEEP_END,
};

const cli_opt sweep_opts_pe[] = {
    {"require-all", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.pe_require_all), 0,
     "PE files: every signature (nested ones, other entries) must be\n"
     "valid; default: the primary signature decides"},
    {"uefi", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.pe_uefi), 0,
     "PE files: any signature that verifies decides, and the\n"
     "section-sorted image hash (sbsign, pesign) is accepted"},
    {"lenient", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.pe_lenient), 0,
     "PE files: data after the signature, bytes stuffed in the\n"
     "certificate table or a directory size that disagrees are warnings"},
    SWEEP_END,
};

const cli_opt sweep_opts_cert[] = {
    {"cert", 0, "CERT", cli_set_string, SWEEP_FIELD(sign_cert), 0,
     "write CMS (F.p7s) signed by this certificate (of --key)"},
    SWEEP_END,
};

const cli_opt sweep_opts_certfile[] = {
    {"certfile", 0, "FILE", set_certfile, 0, 0, "certificates to embed in the CMS (intermediates)"},
    SWEEP_END,
};

const cli_opt sweep_opts_force[] = {
    {"force", 0, NULL, cli_set_flag, SWEEP_FIELD(cfg.sign_replace), 0,
     "replace existing signature files (default: keep them, sign\n"
     "nothing for their files, exit 2)"},
    SWEEP_END,
};

const cli_opt sweep_opts_agents[] = {
    {"server-cert", 0, "FILE", cli_set_string, SWEEP_FIELD(server_cert), 0,
     "the server's certificate or public key every agent must hold"},
    {"known", 0, "FILE", set_known, 0, 0,
     "an old server key: a mismatched agent holding it is named"},
    {"key-file", 0, "NAME", set_key_file, 0, 0,
     "the agents' key file in FLEET_DIR/<agent>/ (default OfcNTCer.dat)"},
    {"list", 0, "FILE", cli_set_string, SWEEP_FIELD(list), 0,
     "more agents, lines agent<TAB>path (- = stdin)"},
    {"command", 0, "FILE", cli_set_string, SWEEP_FIELD(command), 0,
     "the server's signed command: does each agent's key accept it"},
    {"command-sig", 0, "FILE", cli_set_string, SWEEP_FIELD(command_sig), 0,
     "its detached signature (raw or CMS)"},
    SWEEP_END,
};

const cli_opt sweep_opts_package[] = {
    {"manifest", 0, "MANIFEST", cli_set_string, SWEEP_FIELD(manifest), 0,
     "the package's signed manifest (sha256sum format)"},
    {"ignore", 0, "GLOB", set_ignore, 0, 0, "files not listed that are not EXTRA_FILE; repeatable"},
    SWEEP_END,
};

static int
has_trust(const sweep_opts *o)
{
    for (size_t i = 0; i < o->ncerts; i++)
        if (o->certs[i].kind == SGS_MAT_TRUST)
            return 1;
    return 0;
}

int
sweep_check_keys(const char *cmd, const sweep_opts *o)
{
    if (o->nkeys == 0 && !o->cfg.trust.system && !has_trust(o) && o->nedkeys == 0)
        return cli_fail_usage(cmd, "%s",
                              "give --key (raw signatures), --trust/"
                              "--trust-system (CMS signatures), --minisign-key or --signify-key");
    return CLI_GO_ON;
}

int
sweep_check_paths(const char *cmd, const sweep_opts *o, int noperands)
{
    if (noperands == 0 && o->files_from == NULL)
        return cli_fail_usage(cmd, "%s", "no PATH given");
    return CLI_GO_ON;
}

void
sweep_summary_checked(out_sink *s, const sgs_stats *st, const sweep_opts *o)
{
    out_summary(s, st, o->quiet, "checked");
}

static void
policy_warn(void *opaque, unsigned line, const char *what)
{
    const sweep_opts *const o = opaque;
    fprintf(stderr, "sigsweep: %s:%u: %s\n", o->policy, line, what);
}

int
sweep_enforcing(const char *cmd, sweep_opts *o, int *enforce)
{
    if (o->policy != NULL) {
        int from_policy = -1;
        char perr[512];
        if (sgs_policy_read(o->policy, &from_policy, policy_warn, o, perr,
                            sizeof(perr)) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, perr);
            return CLI_EXIT_USAGE;
        }
        if (from_policy >= 0)
            *enforce = from_policy;
    }
    if (o->mode >= 0)
        *enforce = o->mode;
    return CLI_GO_ON;
}

static volatile sig_atomic_t stop_signal; /* set by on_stop_signal (below) */

int
sweep_each_line(const char *cmd, const char *file, int delim,
                int (*fn)(void *ctx, char *line, size_t len, unsigned long lineno), void *ctx)
{
    char why[512];
    FILE *fp = stdin;
    if (strcmp(file, "-") != 0) { /* a FIFO or device never hangs the open: refused */
        const int fd = sgs_open_regular(file, 1, why, sizeof(why));
        fp = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (fp == NULL) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, fd >= 0 ? strerror(errno) : why);
            if (fd >= 0)
                close(fd);
            return -1;
        }
    }
    unsigned long lineno = 0;
    int rc = 0;
    if (lines_each(fp, delim, fn, ctx, &lineno, &rc) == LINES_NUL_IN_LINE)
        fprintf(stderr, "sigsweep %s: %s:%lu: a NUL byte in a line (NUL-separated names: "
                        "-0/--null)\n", cmd, file, lineno);
    if (rc == 0 && ferror(fp) && !stop_signal) { /* a signal interrupts the read: a stop */
        fprintf(stderr, "sigsweep %s: %s: read error\n", cmd, file);
        rc = -1;
    }
    if (fp != stdin)
        fclose(fp);
    return rc;
}

static int
submit_line(void *ctx, char *line, size_t len, unsigned long lineno)
{
    (void)len;
    (void)lineno;
    return inputs_add(ctx, line);
}

/* The paths given (operands, then --files-from lines), a signature named for its file: see
   inputs.c. 0, or -1 after the diagnostic. */
static int
submit_paths(const char *cmd, sgs_engine *e, const sweep_opts *o, const sweep_hooks *h,
             char **operands, int n)
{
    /* the names the engine takes for signatures: sgs_engine_submit skips F.p7s in every run
       but raw signing, which signs it like any file */
    const int p7s = o->cfg.op != SGS_OP_SIGN || o->sign_cert != NULL;
    inputs *const in = inputs_create(cmd, e, o->cfg.sig_suffix, p7s,
                                     o->cfg.op == SGS_OP_SIGN ? "signing" : "judging");
    int rc = in != NULL ? 0 : -1;
    if (in == NULL)
        fprintf(stderr, "sigsweep %s: out of memory\n", cmd);
    if (rc == 0 && h->submit != NULL)
        rc = h->submit(cmd, e, o, operands, n);
    for (int i = 0; rc == 0 && h->submit == NULL && i < n; i++)
        rc = inputs_add(in, operands[i]);
    if (rc == 0 && o->files_from != NULL)
        rc = sweep_each_line(cmd, o->files_from, o->null_sep ? '\0' : '\n', submit_line, in);
    if (rc == 0)
        rc = inputs_finish(in);
    inputs_free(in);
    return rc;
}

/* Each line of the engine's text as a diagnostic of its own. */
static void
say_lines(const char *cmd, const char *text)
{
    while (*text != '\0') {
        const size_t len = strcspn(text, "\n");
        fprintf(stderr, "sigsweep %s: %.*s\n", cmd, (int)len, text);
        text += len + (text[len] == '\n');
    }
}

int
sweep_add_material(const char *cmd, sgs_engine *e, const sweep_opts *o)
{
    for (size_t i = 0; i < o->nkeys; i++) {
        const sgs_status st = o->cfg.op == SGS_OP_SIGN ? sgs_engine_set_signing_key(e, o->keys[i])
                                                       : sgs_engine_add_key(e, o->keys[i]);
        /* a key directory's entries that are no keys are named even when it has keys */
        say_lines(cmd, sgs_engine_error(e));
        if (st != SGS_OK)
            return -1;
    }
    for (size_t i = 0; i < o->nedkeys; i++) {
        if (sgs_engine_add_edkey(e, o->edkinds[i], o->edkeys[i]) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            return -1;
        }
    }
    if (o->sign_cert != NULL && sgs_engine_set_signing_cert(e, o->sign_cert) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        return -1;
    }
    for (size_t i = 0; i < o->ncerts; i++) {
        if (sgs_engine_add_certs(e, o->certs[i].kind, o->certs[i].path) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            return -1;
        }
    }
    return 0;
}

/* --output inside the audited tree: neither the report nor its temporary file (nor the old
   report it replaces) is judged or quarantined. */
static int
exclude_report(const char *cmd, sgs_engine *e, const char *output, const sgs_wfile *report)
{
    struct stat st;
    const char *const slash = strrchr(output, '/');
    const char *const base = slash != NULL ? slash + 1 : output;
    int bad = 0;
    if (lstat(output, &st) == 0 && S_ISREG(st.st_mode))
        bad |= sgs_engine_exclude(e, base, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != SGS_OK;
    const char *const tmp = sgs_wfile_temp_name(report);
    if (tmp != NULL && fstat(sgs_wfile_fd(report), &st) == 0) {
        bad |= sgs_engine_exclude(e, tmp, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != SGS_OK;
        bad |= sgs_engine_exclude(e, base, (uint64_t)st.st_dev, (uint64_t)st.st_ino) != SGS_OK;
    }
    if (bad)
        fprintf(stderr, "sigsweep %s: cannot keep the report %s out of the run\n", cmd, output);
    return bad ? -1 : 0;
}

/* SIGTERM/SIGINT: the engine stops early, the report keeps what was judged (one engine a
   process; the handler only makes an async-signal-safe call). */
static sgs_engine *volatile running_engine;

static void
on_stop_signal(int sig)
{
    stop_signal = sig;
    sgs_engine_cancel(running_engine);
}

static void
catch_stop_signals(int on, int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_stop_signal : SIG_DFL;
    /* while inputs are read, a stop interrupts the read (no SA_RESTART); once only records are
       written (finish), a write blocked on a slow reader resumes: no record is lost */
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGALRM, &sa, NULL); /* --time-limit */
}

/* The whole run record, put before the records already written. 0, or -1 with why. */
static int
put_run_record(sgs_wfile *report, const out_run *rr, const sgs_stats *st, char *why, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *const mem = open_memstream(&buf, &len);
    if (mem == NULL)
        return -1;
    out_run_record(mem, rr, st);
    int rc = fclose(mem) == 0 && buf != NULL ? 0 : -1;
    if (rc == 0 && sgs_wfile_prepend(report, buf, len, why, n) != SGS_OK)
        rc = -1;
    free(buf);
    return rc;
}

/* The run itself, once the options are checked. */
static int
run(const char *cmd, sweep_opts *o, char **operands, int noperands, const sweep_hooks *h,
    out_run *rr)
{
    out_sink sink;
    memset(&sink, 0, sizeof(sink));
    sink.format = o->format;
    sink.fp = stdout;
    sgs_wfile *report = NULL; /* --output: the engine's writer (a device or FIFO is written
                                 into, anything else replaced through a temporary file) */
    if (o->output != NULL) {
        char why[512];
        const mode_t mask = umask(0);
        (void)umask(mask);
        if (sgs_wfile_open(o->output, 0, 0666 & ~mask, &report, why, sizeof(why)) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, why[0] ? why : strerror(ENOMEM));
            return CLI_EXIT_USAGE;
        }
        const int fd = dup(sgs_wfile_fd(report));
        if (fd < 0 || (sink.fp = fdopen(fd, "w")) == NULL) {
            fprintf(stderr, "sigsweep %s: cannot write %s: %s\n", cmd, o->output, strerror(errno));
            if (fd >= 0)
                close(fd);
            sgs_wfile_abort(report);
            return CLI_EXIT_USAGE;
        }
    }
    sink.progress = o->quiet == OUT_QUIET_NO && isatty(STDERR_FILENO);
    sink.hide_valid = o->quiet != OUT_QUIET_NO && o->format == OUT_TEXT;
    sink.silent = o->quiet == OUT_QUIET_STATUS && o->output == NULL;
    sink.show_chain = o->cfg.op == SGS_OP_DIAGNOSE;
    sink.agents = o->cfg.op == SGS_OP_AGENTS;
    o->cfg.on_record = out_record;
    o->cfg.opaque = &sink;

    int rc = CLI_EXIT_USAGE;
    sgs_engine *e = NULL;
    const sgs_status st = sgs_engine_create(&o->cfg, &e);
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_status_str(st));
        goto out;
    }
    if (report != NULL && exclude_report(cmd, e, o->output, report) != 0)
        goto out;
    running_engine = e;
    catch_stop_signals(1, 0);
    if (o->time_limit > 0)
        alarm(o->time_limit);
    sink.engine = e;
    if (sgs_engine_notice(e)[0] != '\0')
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_notice(e));
    if (sweep_add_material(cmd, e, o) != 0)
        goto out;
    if (h->prepare != NULL && h->prepare(cmd, e, o, operands) != 0)
        goto out;
    /* the run record: a report that is rewritten at the end (a file) gets it first, whole,
       at the end; a stream gets its opening now and a run_end record last */
    const int run_record = rr != NULL && o->format == OUT_JSONL;
    const int run_rewritten = run_record && report != NULL && sgs_wfile_is_replacing(report);
    if (run_record && sgs_engine_fingerprints(e, &rr->fp) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: cannot fingerprint the run's keys and trust material\n",
                cmd);
        goto out;
    }
    out_begin(&sink);
    if (run_record && !run_rewritten)
        out_run_record(sink.fp, rr, NULL);
    if (submit_paths(cmd, e, o, h, operands, noperands) != 0)
        goto out;
    catch_stop_signals(1, 1);
    if (sgs_engine_finish(e) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        goto out;
    }
    sgs_stats stats;
    sgs_engine_stats(e, &stats);
    h->summarize(&sink, &stats, o);
    if (stats.interrupted && stop_signal == SIGALRM)
        fprintf(stderr, "sigsweep %s: time limit of %u s reached: the run is incomplete (%llu "
                        "records written)\n",
                cmd, o->time_limit, (unsigned long long)stats.files);
    else if (stats.interrupted)
        fprintf(stderr, "sigsweep %s: interrupted by signal %d: the run is incomplete (%llu "
                        "records written)\n",
                cmd, (int)stop_signal, (unsigned long long)stats.files);
    if (run_record && !run_rewritten)
        out_run_end(sink.fp, &stats);
    if (fflush(sink.fp) != 0 || sink.write_error) {
        fprintf(stderr, "sigsweep %s: writing the report failed: %s\n", cmd, strerror(errno));
        goto out;
    }
    if (report != NULL) {
        char why[512] = "";
        const int closed = fclose(sink.fp);
        sink.fp = NULL;
        if (closed != 0) {
            fprintf(stderr, "sigsweep %s: cannot write %s: %s\n", cmd, o->output, strerror(errno));
            goto out;
        }
        if (run_rewritten && put_run_record(report, rr, &stats, why, sizeof(why)) != 0) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, why[0] ? why : strerror(ENOMEM));
            goto out;
        }
        sgs_wfile *const done = report;
        report = NULL;
        if (sgs_wfile_commit(done, why, sizeof(why)) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, why);
            goto out;
        }
    }
    if (stats.files == 0 && o->quiet != OUT_QUIET_STATUS)
        fprintf(stderr, "sigsweep %s: no input files found\n", cmd);
    if (o->quiet == OUT_QUIET_NO && o->cfg.op == SGS_OP_VERIFY && stats.verdicts[SGS_V_VALID] == 0 &&
        stats.verdicts[SGS_V_BAD_SIGNATURE] > 1)
        fprintf(stderr,
                "sigsweep %s: no signature in this run verified (%zu key(s)%s): the likely cause "
                "is the key, the trust store, --hash or --pss, not the files\n",
                cmd, sgs_engine_key_count(e), o->ncerts > 0 ? " and the certificates given" : "");
    rc = stats.files > 0 && stats.verdicts[SGS_V_VALID] == stats.files ? CLI_EXIT_ALL_VALID
                                                                       : CLI_EXIT_NOT_VALID;
    if (stats.interrupted)
        rc = CLI_EXIT_USAGE;
    if (stats.quarantine_refused > 0) { /* enforcement did not happen: an error, not a verdict */
        fprintf(stderr,
                "sigsweep %s: nothing quarantined (%llu file(s) judged bad): %s%s\n", cmd,
                (unsigned long long)stats.quarantine_refused, sgs_engine_breaker(e),
                stats.interrupted ? ""
                                  : " (--max-quarantine sets the limit, --force overrides)");
        rc = CLI_EXIT_USAGE;
    }
    if (stats.signatures_kept > 0) { /* sign: nothing is overwritten unless --force */
        fprintf(stderr,
                "sigsweep %s: %llu signature file(s) exist and were kept; their files were not "
                "signed (see the SKIPPED records; --force replaces them)\n",
                cmd, (unsigned long long)stats.signatures_kept);
        rc = CLI_EXIT_USAGE;
    }
    if (stats.quarantine_failed > 0) { /* enforcement did not happen: an error, not a verdict */
        fprintf(stderr,
                "sigsweep %s: %llu file(s) judged bad could not be quarantined (see their "
                "records: NOT QUARANTINED)\n",
                cmd, (unsigned long long)stats.quarantine_failed);
        rc = CLI_EXIT_USAGE;
    }
out:
    alarm(0);
    catch_stop_signals(0, 0);
    running_engine = NULL;
    sgs_engine_free(e);
    if (report != NULL) { /* the destination stays as it was */
        if (sink.fp != NULL)
            fclose(sink.fp);
        sgs_wfile_abort(report);
    }
    return rc;
}

int
sweep_main(const cli_command *cmd, int argc, char **argv, const sweep_hooks *h)
{
    sweep_opts o;
    memset(&o, 0, sizeof(o));
    o.mode = -1;
    sgs_config_init(&o.cfg);
    o.cfg.op = h->op;
    cli_parser p;
    int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    const int n = argc - p.operand;
    if (o.status)
        o.quiet = OUT_QUIET_STATUS;
    if ((rc = h->check(cmd->name, &o, n)) != CLI_GO_ON)
        return rc;
    /* verify, agents and package verify make reports: a JSONL one starts with a run record */
    out_run rr;
    memset(&rr, 0, sizeof(rr));
    rr.command = cmd->name;
    rr.args = (const char *const *)(argv + 1);
    rr.nargs = argc - 1;
    rr.shard_index = o.cfg.shard_index;
    rr.shard_count = o.cfg.shard_count;
    rr.start = (long long)time(NULL);
    const int report = h->op == SGS_OP_VERIFY || h->op == SGS_OP_AGENTS || h->op == SGS_OP_PACKAGE;
    return run(cmd->name, &o, argv + p.operand, n, h, report ? &rr : NULL);
}
