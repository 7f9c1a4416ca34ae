/*
 * main.c - the sigsweep command line: a table of commands, each in its own cmd_*.c with its
 * own options table (opts.h); this file only picks the command and runs it.
 *
 * DESIGN: a command is a cli_command (name, handler, one-line summary, usage, options); a
 * group (trust, package) has commands of its own instead of a handler, chosen by the next
 * word. Options before the command word are explained with the command line they were meant
 * for, and a mistyped command gets the nearest one. Exit status (like gpgv and minisign): 0
 * every input VALID, 1 some input not VALID (or none found), 2 usage or fatal error;
 * diagnostics go to stderr as one line starting "sigsweep". No crypto and no parsing of keys
 * or signatures in cli/ (STYLE 49).
 */
#include "cmds.h"
#include "opts.h"

#include "sigsweep.h"

#include <openssl/opensslv.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static const cli_command *const commands[] = {
    &cli_cmd_verify,  &cli_cmd_sign,  &cli_cmd_agents,  &cli_cmd_keygen, &cli_cmd_export_agent_key,
    &cli_cmd_package, &cli_cmd_cache, &cli_cmd_restore, &cli_cmd_trust,  &cli_cmd_report,
    &cli_cmd_kernel_keys, &cli_cmd_guard, NULL,
};

const char cli_overview[] =
    "usage: sigsweep verify --key FILE|DIR [--key ...] [options] PATH...\n"
    "       sigsweep sign --key PRIVATE [--cert CERT [--certfile FILE]...] [--force] [options]\n"
    "                FILE|DIR...\n"
    "       sigsweep agents --server-cert FILE [--known FILE]... [--key-file NAME]\n"
    "                [--list FILE] [--command FILE --command-sig FILE] [options] [FLEET_DIR...]\n"
    "       sigsweep keygen --type rsa2048|rsa3072|ec-p256|ed25519 --out DIR\n"
    "       sigsweep export-agent-key --server-cert FILE --out FILE [--der|--pem]\n"
    "       sigsweep package create DIR --out MANIFEST [--hash H] [-j N]\n"
    "       sigsweep package sign --key PRIVATE [--hash H] [--pss] [--force] MANIFEST\n"
    "       sigsweep package sign --cert CERT --key PRIVATE [--certfile F] [--force]\n"
    "                MANIFEST\n"
    "       sigsweep package verify DIR --manifest MANIFEST (--key K | --trust T ...)\n"
    "                [--ignore GLOB]... [options]\n"
    "       sigsweep cache stats|clear|export FILE [--cache-dir DIR]\n"
    "       sigsweep restore [--journal FILE] [--dry-run] [--scan DIR]... [PATH...]\n"
    "       sigsweep trust list [--format text|jsonl] FILE|DIR...\n"
    "       sigsweep trust add [--force] [--format text|jsonl] DIR CERT...\n"
    "       sigsweep trust diagnose --trust DIR [CMS options] [--format F] FILE...\n"
    "       sigsweep report merge REPORT... --out FILE [--allow-mixed]\n"
    "       sigsweep report summary REPORT...\n"
    "       sigsweep report html REPORT... --out FILE [--rows-per-host N] [--rows N]\n"
    "       sigsweep kernel-keys KERNEL --out FILE [--format text|jsonl]\n"
    "       sigsweep guard --watch DIR [--watch ...] (--key K | --trust T ...)\n"
    "                [--mode audit|enforce] [--deadline MS] [--log FILE] [options]\n"
    "       sigsweep --version | --help\n"
    "\n"
    "verify: judge every file F (directories are walked, symlinks not followed) against its\n"
    "detached signature: F.p7s (CMS, as `openssl cms -sign -binary` makes it), else F.sig, as\n"
    "`openssl dgst -sha256 -sign` (RSA PKCS#1 v1.5, RSA-PSS, ECDSA) or `openssl pkeyutl -sign\n"
    "-rawin` (Ed25519) make it, or CMS; F.minisig (minisign), F.sig in signify's format.\n"
    "Linux kernel modules (.ko, .ko.xz, .ko.zst, .ko.gz; by content) carry their own signature:\n"
    "judged against --trust certificates (by issuer and serial, as the kernel does) or --key\n"
    "keys; SHA-1 refused. kernel-keys: the certificates built into a kernel image, for --trust.\n"
    "sign: write F.sig for every file, in the same formats; with --cert, a detached CMS\n"
    "signature F.p7s instead (signed attributes; --certfile adds intermediates to embed). An\n"
    "existing signature file is kept and its file not signed (exit 2) unless --force; F itself\n"
    "is never written (a PE file gets a detached signature too).\n"
    "agents: audit every agent's copy of the server key (FLEET_DIR/<agent>/OfcNTCer.dat, or\n"
    "--list lines agent<TAB>path): VALID, MISSING_FILE, KEY_MISMATCH (naming a --known old key),\n"
    "MALFORMED, EXPIRED/NOT_YET_VALID, UNSUPPORTED, PRIVATE_KEY_EXPOSED; with --command and\n"
    "--command-sig, whether each agent's key accepts the server's real signed command.\n"
    "keygen: server key pair, self-signed certificate and the agents' key file (never\n"
    "overwrites; DIR made with its parents, as mkdir -p, a new DIR 0700). export-agent-key:\n"
    "the agents' key file from a certificate (DER or PEM).\n"
    "package: create writes a sha256sum-format manifest of DIR (sorted, atomically); sign\n"
    "signs it (MANIFEST.sig, or MANIFEST.p7s with --cert); verify checks the manifest's signature\n"
    "first, then every listed file in parallel: DIGEST_MISMATCH, MISSING_FILE, EXTRA_FILE (not\n"
    "listed, unless --ignore GLOB), SKIPPED; files are opened beneath DIR, never outside it.\n"
    "trust list: show the certificates of a trust store (subject, issuer, validity, SHA-256,\n"
    "key id). trust add: copy CA certificates into DIR with OpenSSL subject-hash links; refuses\n"
    "non-CA certificates unless --force; never overwrites. trust diagnose: for each signed file\n"
    "(or certificate file), the chain it builds, what is missing and what would fix it.\n"
    "report merge: many runs' JSONL reports made one (runs with other fingerprints refused,\n"
    "paths one host judged twice flagged); report summary: a report for a terminal or a mail.\n"
    "guard: a daemon (root) answering every exec in the watched trees (fanotify) with the\n"
    "verdict verify would give: enforce denies what is not VALID (EPERM), audit records it.\n"
    "\n"
    "options:\n"
    "  --key FILE|DIR       verify: public key or certificate (PEM/DER), or a directory of\n"
    "                       them (links followed; what is no key is named and skipped);\n"
    "                       repeatable. sign: the private key (PEM/DER, unencrypted)\n"
    "  --cert CERT          sign: write CMS (F.p7s) signed by this certificate (of --key)\n"
    "  --certfile FILE      sign: certificates to embed in the CMS (intermediates)\n"
    "  --force              sign: replace existing signature files\n"
    "  --hash ALG           sha256 (default), sha384, sha512: file digest and prehash\n"
    "  --pss                RSA keys use RSA-PSS (salt length auto-detected on verify)\n"
    "  --sig-suffix S       signature file suffix (default .sig)\n"
    "  -j, --jobs N         worker threads (default: online CPUs)\n"
    "  --format F           text (default), jsonl, csv\n"
    "  --output FILE        write the report to FILE (atomically) instead of stdout\n"
    "  --files-from FILE    read more paths, one per line, from FILE (- = stdin)\n"
    "persistent cache (verify; raw signatures):\n"
    "  --cache              reuse digests of unchanged files and verdicts of known content\n"
    "                       ($XDG_CACHE_HOME/sigsweep; trusts the stat tuple like git/make)\n"
    "  --cache-dir DIR      the same, in DIR\n"
    "  --paranoid           with a cache: re-hash every file anyway (still records)\n"
    "enforcement (verify):\n"
    "  --quarantine         rename each file that is not VALID to <name>_invalid[.N]\n"
    "                       (never replacing anything), journalled first; undo: restore\n"
    "  --journal FILE       the journal (default $XDG_STATE_HOME/sigsweep/quarantine.journal)\n"
    "  --mode enforce|audit enforce = --quarantine; audit never renames\n"
    "  --policy FILE.ini    [INI_SERVER_SECTION] CheckDigitalSignatureForHotfix (else [Global\n"
    "                       Settings] CheckDigitalSignatureForUpgrade): 1 enforce, 0 audit\n"
    "CMS signatures (verify):\n"
    "  --trust FILE|DIR     trusted CA certificates (PEM bundle, DER, plain or hashed dir)\n"
    "  --trust-system       also trust the system's CA bundle (OpenSSL's default paths)\n"
    "  --untrusted FILE|DIR intermediate certificates that may help build a chain\n"
    "  --search DIR         candidate CA certificates, never trusted: a missing issuer found\n"
    "                       here is named as the fix (\"would be VALID after importing ...\")\n"
    "  --crl FILE           CRL (PEM/DER, offline); revoked signers are REVOKED\n"
    "  --purpose codesign   the signer must carry the codeSigning extended key usage\n"
    "  --at TIME            validate chains at TIME: 2026-01-31T12:00:00Z or @EPOCH\n"
    "  --strict             RFC 5280 strictness (X509_V_FLAG_X509_STRICT)\n"
    "  --partial-chain      a trusted intermediate is enough (as UEFI firmware treats its db)\n"
    "  --no-time-check      ignore certificate validity dates (as UEFI firmware does)\n"
    "Windows PE files (.exe .dll .sys .efi; verify, no .sig needed): their embedded\n"
    "Authenticode signatures, with the trust options above (codeSigning always required)\n"
    "  --tsa-trust FILE|DIR timestamp authorities' CAs: a trusted RFC 3161 timestamp dates the\n"
    "                       signature, so an expired signer certificate can still be VALID\n"
    "  --require-all        every signature (nested ones, other entries) must be valid;\n"
    "                       default: the primary signature decides\n"
    "  --uefi               any signature that verifies decides, and the section-sorted image\n"
    "                       hash (sbsign, pesign) is accepted, naming the bytes it leaves out\n"
    "  --lenient            data after the signature, bytes stuffed in the certificate table\n"
    "                       or a directory size that disagrees are warnings, not MALFORMED\n"
    "  -q, --quiet          as sha256sum -c: no line for a VALID file (text), no progress\n"
    "                       line, the summary only when a file is not VALID\n"
    "  --status             print nothing: the exit status says (--output is still written)\n"
    "  --shard K/N          verify, agents, package verify: only shard K of N (1 <= K <= N),\n"
    "                       by XXH64 of each path relative to PATH (agents: the agent id)\n"
    "  -h, --help           this help\n"
    "\n"
    "exit status: 0 all valid, 1 some file not valid (or no file found), 2 usage or fatal error\n";

/* The word that selects cmd: the last of its name ("trust list" -> "list"). */
static const char *
word_of(const cli_command *cmd)
{
    const char *const space = strrchr(cmd->name, ' ');
    return space != NULL ? space + 1 : cmd->name;
}

static const cli_command *
find(const cli_command *const *table, const char *word)
{
    for (const cli_command *const *c = table; *c != NULL; c++)
        if (strcmp(word_of(*c), word) == 0)
            return *c;
    return NULL;
}

/* "a, b, c" or "a, b or c" (with `last` as the final separator) into buf. */
static void
list_words(const cli_command *const *table, const char *last, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (const cli_command *const *c = table; *c != NULL && len < n; c++) {
        const char *const sep = c == table ? "" : c[1] == NULL ? last : ", ";
        const int w = snprintf(buf + len, n - len, "%s%s", sep, word_of(*c));
        len += w > 0 ? (size_t)w : 0;
    }
}

/* Edit distance of a and b (insertions, deletions, substitutions, adjacent swaps), or more
   than 3 when that is all that matters. */
static size_t
distance(const char *a, const char *b)
{
    enum { MAX = 32 };
    const size_t la = strlen(a), lb = strlen(b);
    if (la >= MAX || lb >= MAX)
        return 4;
    size_t d[MAX][MAX];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The command a mistyped word most likely meant: the nearest within 2 edits, else the only
   one it is the start of; NULL if none. */
static const cli_command *
suggest(const cli_command *const *table, const char *word)
{
    const cli_command *best = NULL, *prefixed = NULL;
    size_t best_d = 3, nprefixed = 0;
    for (const cli_command *const *c = table; *c != NULL; c++) {
        const size_t d = distance(word, word_of(*c));
        if (d < best_d) {
            best_d = d;
            best = *c;
        }
        if (strlen(word) >= 2 && strncmp(word, word_of(*c), strlen(word)) == 0) {
            prefixed = *c;
            nprefixed++;
        }
    }
    return best != NULL ? best : nprefixed == 1 ? prefixed : NULL;
}

/* The usage error for a word that names no command of table (exit 2). */
static int
fail_unknown(const char *group, const cli_command *const *table, const char *word)
{
    const cli_command *const near = suggest(table, word);
    if (group == NULL) {
        fprintf(stderr, "sigsweep: unknown command '%s'", word);
        if (near != NULL)
            fprintf(stderr, "; did you mean '%s'?", word_of(near));
        fputs(" (see sigsweep --help)\n", stderr);
        return CLI_EXIT_USAGE;
    }
    char words[256];
    list_words(table, ", ", words, sizeof(words));
    if (near != NULL)
        return cli_fail_usage(group, "unknown subcommand '%s' (%s); did you mean '%s'?", word,
                              words, word_of(near));
    return cli_fail_usage(group, "unknown subcommand '%s' (%s)", word, words);
}

static int
is_help(const char *word)
{
    return strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0;
}

/* word, quoted for a shell when it needs it. */
static void
put_shell_word(const char *word)
{
    if (word[0] != '\0' && strspn(word, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_./:=@%+,-") == strlen(word)) {
        fprintf(stderr, " %s", word);
        return;
    }
    fputs(" '", stderr);
    for (const char *c = word; *c; c++) {
        if (*c == '\'')
            fputs("'\\''", stderr);
        else
            putc(*c, stderr);
    }
    putc('\'', stderr);
}

/*
 * Options before the command (`sigsweep --key k.pem verify dir`): said, with the command line
 * they were meant for (the command word, and a group's subcommand, moved to the front), rather
 * than taking the option for an unknown command. Exit 2.
 */
static int
fail_options_first(int argc, char **argv)
{
    int at = 0, words = 1;
    const cli_command *cmd = NULL;
    for (int i = 2; i < argc && at == 0; i++) {
        if ((cmd = find(commands, argv[i])) != NULL)
            at = i;
    }
    for (int i = 2; i < argc && at == 0; i++) { /* else a mistyped one */
        if (argv[i][0] != '-' && (cmd = suggest(commands, argv[i])) != NULL)
            at = i;
    }
    if (at == 0) {
        fprintf(stderr, "sigsweep: '%s' is an option, and options go after the command: "
                        "sigsweep COMMAND [options] (see sigsweep --help)\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    words = cmd->subs != NULL && at + 1 < argc && find(cmd->subs, argv[at + 1]) ? 2 : 1;
    if (strcmp(argv[at], word_of(cmd)) != 0)
        fprintf(stderr, "sigsweep: options go after the command, and '%s' is no command; did "
                        "you mean:", argv[at]);
    else
        fputs("sigsweep: options go after the command:", stderr);
    put_shell_word("sigsweep");
    put_shell_word(word_of(cmd));
    for (int i = at + 1; i < at + words; i++)
        put_shell_word(argv[i]);
    for (int i = 1; i < argc; i++)
        if (i < at || i >= at + words)
            put_shell_word(argv[i]);
    fputs(" (see sigsweep --help)\n", stderr);
    return CLI_EXIT_USAGE;
}

static int dispatch(const cli_command *cmd, int argc, char **argv);

/* trust, package: the next word picks the command. */
static int
dispatch_group(const cli_command *group, int argc, char **argv)
{
    if (argc < 2) {
        char words[256];
        list_words(group->subs, " or ", words, sizeof(words));
        return cli_fail_usage(group->name, "needs %s", words);
    }
    if (is_help(argv[1])) {
        cli_print_help(group);
        return CLI_EXIT_ALL_VALID;
    }
    const cli_command *const sub = find(group->subs, argv[1]);
    if (sub != NULL)
        return dispatch(sub, argc - 1, argv + 1);
    return fail_unknown(group->name, group->subs, argv[1]);
}

static int
dispatch(const cli_command *cmd, int argc, char **argv)
{
    return cmd->subs != NULL ? dispatch_group(cmd, argc, argv) : cmd->main(cmd, argc, argv);
}

/* sigsweep help [COMMAND [SUBCOMMAND]] */
static int
help_main(int argc, char **argv)
{
    if (argc < 3) {
        fputs(cli_overview, stdout);
        return CLI_EXIT_ALL_VALID;
    }
    const cli_command *cmd = find(commands, argv[2]);
    if (cmd == NULL)
        return fail_unknown(NULL, commands, argv[2]);
    if (argc > 3 && cmd->subs != NULL) {
        const cli_command *const sub = find(cmd->subs, argv[3]);
        if (sub == NULL)
            return fail_unknown(cmd->name, cmd->subs, argv[3]);
        cmd = sub;
    }
    cli_print_help(cmd);
    return CLI_EXIT_ALL_VALID;
}

int
main(int argc, char **argv)
{
    /* The engine keeps each walked directory open while its files are queued (at most the
       queue's depth of them): allow as many descriptors as the hard limit does. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }
    /* A file-size limit (ulimit -f) makes a write past it fail with EFBIG, which every writer
       handles (the journal cuts its record back, the report is not replaced), instead of
       killing the run with nothing reported. */
    (void)signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fputs(cli_overview, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *const word = argv[1];
    if (is_help(word)) {
        fputs(cli_overview, stdout);
        return CLI_EXIT_ALL_VALID;
    }
    if (strcmp(word, "help") == 0)
        return help_main(argc, argv);
    if (strcmp(word, "--version") == 0) {
        const sgs_status st = sgs_selftest();
        printf("sigsweep %s (%s; self-test %s)\n", sgs_version_string(), OPENSSL_VERSION_TEXT,
               st == SGS_OK ? "passed" : "FAILED");
        return st == SGS_OK ? CLI_EXIT_ALL_VALID : CLI_EXIT_USAGE;
    }
    const cli_command *const cmd = find(commands, word);
    if (cmd != NULL)
        return dispatch(cmd, argc - 1, argv + 1);
    if (word[0] == '-' && word[1] != '\0')
        return fail_options_first(argc, argv);
    return fail_unknown(NULL, commands, word);
}
