/*
 * main.c - the sigsweep command line: parses options into an sgs_config, feeds paths to the
 * engine and hands records to output.c. No crypto, no parsing of keys or signatures here.
 *
 * Exit status (like gpgv and minisign): 0 every input VALID, 1 some input not VALID (or none
 * found), 2 usage or fatal error. Diagnostics go to stderr as one line starting "sigsweep".
 */
#include "output.h"
#include "sigsweep.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_ALL_VALID 0
#define EXIT_NOT_VALID 1
#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: sigsweep verify --key FILE|DIR [--key ...] [options] PATH...\n"
    "       sigsweep sign --key PRIVATE [--cert CERT [--certfile FILE]...] [options] FILE|DIR...\n"
    "       sigsweep agents --server-cert FILE [--known FILE]... [--key-file NAME]\n"
    "                [--list FILE] [--command FILE --command-sig FILE] [options] [FLEET_DIR...]\n"
    "       sigsweep keygen --type rsa2048|rsa3072|ec-p256|ed25519 --out DIR\n"
    "       sigsweep export-agent-key --server-cert FILE --out FILE [--der|--pem]\n"
    "       sigsweep package create DIR --out MANIFEST [--hash H] [-j N]\n"
    "       sigsweep package sign --key PRIVATE [--hash H] [--pss] MANIFEST\n"
    "       sigsweep package sign --cms --cert CERT --key PRIVATE [--certfile F] MANIFEST\n"
    "       sigsweep package verify DIR --manifest MANIFEST (--key K | --trust T ...)\n"
    "                [--ignore GLOB]... [options]\n"
    "       sigsweep cache stats|clear|export FILE|import FILE [--cache-dir DIR]\n"
    "       sigsweep restore [--journal FILE] [--dry-run] [--scan DIR]... [PATH...]\n"
    "       sigsweep trust list [--format text|jsonl] FILE|DIR...\n"
    "       sigsweep trust add [--force] [--format text|jsonl] DIR CERT...\n"
    "       sigsweep trust diagnose --trust DIR [CMS options] [--format F] FILE...\n"
    "       sigsweep --version | --help\n"
    "\n"
    "verify: judge every file F (directories are walked, symlinks not followed) against its\n"
    "detached signature: F.p7s (CMS, as `openssl cms -sign -binary` makes it), else F.sig, as\n"
    "`openssl dgst -sha256 -sign` (RSA PKCS#1 v1.5, RSA-PSS, ECDSA) or `openssl pkeyutl -sign\n"
    "-rawin` (Ed25519) make it, or CMS.\n"
    "sign: write F.sig for every file, in the same formats; with --cert, a detached CMS\n"
    "signature F.p7s instead (signed attributes; --certfile adds intermediates to embed).\n"
    "agents: audit every agent's copy of the server key (FLEET_DIR/<agent>/OfcNTCer.dat, or\n"
    "--list lines agent<TAB>path): VALID, MISSING_FILE, KEY_MISMATCH (naming a --known old key),\n"
    "MALFORMED, EXPIRED/NOT_YET_VALID, UNSUPPORTED, PRIVATE_KEY_EXPOSED; with --command and\n"
    "--command-sig, whether each agent's key accepts the server's real signed command.\n"
    "keygen: server key pair, self-signed certificate and the agents' key file (never\n"
    "overwrites). export-agent-key: the agents' key file from a certificate (DER or PEM).\n"
    "package: create writes a sha256sum-format manifest of DIR (sorted, atomically); sign\n"
    "signs it (MANIFEST.sig, or MANIFEST.p7s with --cms); verify checks the manifest's signature\n"
    "first, then every listed file in parallel: DIGEST_MISMATCH, MISSING_FILE, EXTRA_FILE (not\n"
    "listed, unless --ignore GLOB), SKIPPED; files are opened beneath DIR, never outside it.\n"
    "trust list: show the certificates of a trust store (subject, issuer, validity, SHA-256,\n"
    "key id). trust add: copy CA certificates into DIR with OpenSSL subject-hash links; refuses\n"
    "non-CA certificates unless --force; never overwrites. trust diagnose: for each signed file\n"
    "(or certificate file), the chain it builds, what is missing and what would fix it.\n"
    "\n"
    "options:\n"
    "  --key FILE|DIR       verify: public key or certificate (PEM/DER), or a directory of\n"
    "                       them; repeatable. sign: the private key (PEM/DER, unencrypted)\n"
    "  --cert CERT          sign: write CMS (F.p7s) signed by this certificate (of --key)\n"
    "  --certfile FILE      sign: certificates to embed in the CMS (intermediates)\n"
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
    "  -q, --quiet          no progress line, no summary\n"
    "  -h, --help           this help\n"
    "\n"
    "exit status: 0 all valid, 1 some file not valid (or no file found), 2 usage or fatal error\n";

typedef struct cert_opt {
    sgs_material kind;
    const char *path;
    int embed; /* --certfile (sign) rather than --untrusted (verify) */
} cert_opt;

typedef struct cli_opts {
    sgs_config cfg;
    const char *keys[256];
    size_t nkeys;
    cert_opt certs[256];
    size_t ncerts;
    out_format format;
    const char *output;
    const char *files_from;
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
    int cms;
    int quiet;
} cli_opts;

static int
fail_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sigsweep %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see sigsweep --help)\n", stderr);
    return EXIT_USAGE;
}

static int
parse_jobs(const char *s, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    const unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < 1 || v > 1024)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Parses @EPOCH or an ISO 8601 UTC time: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z]. */
static int
parse_time(const char *s, int64_t *out)
{
    char *end = NULL;
    if (s[0] == '@') {
        errno = 0;
        const long long v = strtoll(s + 1, &end, 10);
        if (errno != 0 || end == s + 1 || *end != '\0')
            return -1;
        *out = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end != NULL && (*end == 'T' || *end == ' ')) {
        char *const t = strptime(end + 1, "%H:%M", &tm);
        end = t;
        if (end != NULL && *end == ':')
            end = strptime(end + 1, "%S", &tm);
    }
    if (end != NULL && *end == 'Z')
        end++;
    if (end == NULL || *end != '\0')
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int
has_trust(const cli_opts *o)
{
    for (size_t i = 0; i < o->ncerts; i++)
        if (o->certs[i].kind == SGS_MAT_TRUST)
            return 1;
    return 0;
}

/* Parses the options of verify/sign; returns -1 to go on, or an exit status. */
static int
parse_options(const char *cmd, int argc, char **argv, cli_opts *o)
{
    enum {
        O_KEY = 256, O_HASH, O_PSS, O_SUFFIX, O_FORMAT, O_OUTPUT, O_FILES_FROM, O_TRUST,
        O_TRUST_SYSTEM, O_UNTRUSTED, O_SEARCH, O_CRL, O_PURPOSE, O_AT, O_STRICT, O_CERT,
        O_CERTFILE, O_SERVER_CERT, O_KNOWN, O_KEY_FILE, O_LIST, O_COMMAND, O_COMMAND_SIG,
        O_MANIFEST, O_IGNORE, O_CMS, O_QUARANTINE, O_JOURNAL, O_MODE, O_POLICY, O_CACHE,
        O_CACHE_DIR, O_PARANOID, O_TSA_TRUST, O_UEFI, O_REQUIRE_ALL, O_LENIENT,
        O_PARTIAL_CHAIN, O_NO_TIME_CHECK
    };
    static const struct option longopts[] = {
        {"key", required_argument, NULL, O_KEY},
        {"hash", required_argument, NULL, O_HASH},
        {"pss", no_argument, NULL, O_PSS},
        {"sig-suffix", required_argument, NULL, O_SUFFIX},
        {"jobs", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, O_FORMAT},
        {"output", required_argument, NULL, O_OUTPUT},
        {"files-from", required_argument, NULL, O_FILES_FROM},
        {"trust", required_argument, NULL, O_TRUST},
        {"trust-system", no_argument, NULL, O_TRUST_SYSTEM},
        {"untrusted", required_argument, NULL, O_UNTRUSTED},
        {"search", required_argument, NULL, O_SEARCH},
        {"crl", required_argument, NULL, O_CRL},
        {"purpose", required_argument, NULL, O_PURPOSE},
        {"at", required_argument, NULL, O_AT},
        {"strict", no_argument, NULL, O_STRICT},
        {"cert", required_argument, NULL, O_CERT},
        {"certfile", required_argument, NULL, O_CERTFILE},
        {"server-cert", required_argument, NULL, O_SERVER_CERT},
        {"known", required_argument, NULL, O_KNOWN},
        {"key-file", required_argument, NULL, O_KEY_FILE},
        {"list", required_argument, NULL, O_LIST},
        {"command", required_argument, NULL, O_COMMAND},
        {"command-sig", required_argument, NULL, O_COMMAND_SIG},
        {"manifest", required_argument, NULL, O_MANIFEST},
        {"ignore", required_argument, NULL, O_IGNORE},
        {"cms", no_argument, NULL, O_CMS},
        {"quarantine", no_argument, NULL, O_QUARANTINE},
        {"journal", required_argument, NULL, O_JOURNAL},
        {"mode", required_argument, NULL, O_MODE},
        {"policy", required_argument, NULL, O_POLICY},
        {"cache", no_argument, NULL, O_CACHE},
        {"cache-dir", required_argument, NULL, O_CACHE_DIR},
        {"paranoid", no_argument, NULL, O_PARANOID},
        {"tsa-trust", required_argument, NULL, O_TSA_TRUST},
        {"uefi", no_argument, NULL, O_UEFI},
        {"require-all", no_argument, NULL, O_REQUIRE_ALL},
        {"lenient", no_argument, NULL, O_LENIENT},
        {"partial-chain", no_argument, NULL, O_PARTIAL_CHAIN},
        {"no-time-check", no_argument, NULL, O_NO_TIME_CHECK},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":j:qh", longopts, NULL)) != -1) {
        switch (c) {
        case O_KEY:
            if (o->nkeys == sizeof(o->keys) / sizeof(o->keys[0]))
                return fail_usage(cmd, "too many --key options (%s)", "use a directory");
            o->keys[o->nkeys++] = optarg;
            break;
        case O_HASH:
            if (sgs_hash_from_name(optarg, &o->cfg.hash) != 0)
                return fail_usage(cmd, "unknown --hash '%s' (sha256, sha384, sha512)", optarg);
            break;
        case O_PSS:
            o->cfg.pss = 1;
            break;
        case O_SUFFIX:
            if (optarg[0] == '\0' || strchr(optarg, '/') != NULL)
                return fail_usage(cmd, "bad --sig-suffix '%s'", optarg);
            o->cfg.sig_suffix = optarg;
            break;
        case 'j':
            if (parse_jobs(optarg, &o->cfg.threads) != 0)
                return fail_usage(cmd, "-j wants a number from 1 to 1024, not '%s'", optarg);
            break;
        case O_FORMAT:
            if (out_format_parse(optarg, &o->format) != 0)
                return fail_usage(cmd, "unknown --format '%s' (text, jsonl, csv)", optarg);
            break;
        case O_OUTPUT:
            o->output = optarg;
            break;
        case O_FILES_FROM:
            o->files_from = optarg;
            break;
        case O_TRUST:
        case O_UNTRUSTED:
        case O_SEARCH:
        case O_CRL:
        case O_TSA_TRUST:
            if (o->ncerts == sizeof(o->certs) / sizeof(o->certs[0]))
                return fail_usage(cmd, "too many certificate options (%s)", "use directories");
            o->certs[o->ncerts].kind = c == O_TRUST       ? SGS_MAT_TRUST
                                       : c == O_UNTRUSTED ? SGS_MAT_UNTRUSTED
                                       : c == O_SEARCH    ? SGS_MAT_SEARCH
                                       : c == O_TSA_TRUST ? SGS_MAT_TSA
                                                          : SGS_MAT_CRL;
            o->certs[o->ncerts++].path = optarg;
            break;
        case O_CERT:
            o->sign_cert = optarg;
            break;
        case O_SERVER_CERT:
            o->server_cert = optarg;
            break;
        case O_KNOWN:
            if (o->nknown == sizeof(o->known) / sizeof(o->known[0]))
                return fail_usage(cmd, "more than %zu --known keys", o->nknown);
            o->known[o->nknown++] = optarg;
            break;
        case O_KEY_FILE:
            if (optarg[0] == '\0' || strchr(optarg, '/') != NULL)
                return fail_usage(cmd, "bad --key-file '%s' (a file name)", optarg);
            o->key_file = optarg;
            break;
        case O_LIST:
            o->list = optarg;
            break;
        case O_COMMAND:
            o->command = optarg;
            break;
        case O_COMMAND_SIG:
            o->command_sig = optarg;
            break;
        case O_MANIFEST:
            o->manifest = optarg;
            break;
        case O_IGNORE:
            if (o->nignore == sizeof(o->ignore) / sizeof(o->ignore[0]))
                return fail_usage(cmd, "more than %zu --ignore patterns", o->nignore);
            o->ignore[o->nignore++] = optarg;
            break;
        case O_CMS:
            o->cms = 1;
            break;
        case O_QUARANTINE:
            o->quarantine = 1;
            break;
        case O_JOURNAL:
            o->journal = optarg;
            break;
        case O_MODE:
            if (strcmp(optarg, "enforce") != 0 && strcmp(optarg, "audit") != 0)
                return fail_usage(cmd, "unknown --mode '%s' (enforce, audit)", optarg);
            o->mode = strcmp(optarg, "enforce") == 0;
            break;
        case O_POLICY:
            o->policy = optarg;
            break;
        case O_CACHE:
            o->cache = 1;
            break;
        case O_CACHE_DIR:
            o->cache_dir = optarg;
            break;
        case O_PARANOID:
            o->paranoid = 1;
            break;
        case O_CERTFILE:
            if (o->ncerts == sizeof(o->certs) / sizeof(o->certs[0]))
                return fail_usage(cmd, "too many certificate options (%s)", "use a bundle");
            o->certs[o->ncerts].kind = SGS_MAT_UNTRUSTED;
            o->certs[o->ncerts].embed = 1;
            o->certs[o->ncerts++].path = optarg;
            break;
        case O_TRUST_SYSTEM:
            o->cfg.trust_system = 1;
            break;
        case O_PURPOSE:
            if (strcmp(optarg, "codesign") != 0)
                return fail_usage(cmd, "unknown --purpose '%s' (codesign)", optarg);
            o->cfg.require_codesign = 1;
            break;
        case O_AT:
            if (parse_time(optarg, &o->cfg.at_time) != 0)
                return fail_usage(cmd, "--at wants YYYY-MM-DD[THH:MM:SS[Z]] or @EPOCH, not '%s'",
                                  optarg);
            o->cfg.has_at_time = 1;
            break;
        case O_STRICT:
            o->cfg.strict = 1;
            break;
        case O_UEFI:
            o->cfg.pe_uefi = 1;
            break;
        case O_REQUIRE_ALL:
            o->cfg.pe_require_all = 1;
            break;
        case O_LENIENT:
            o->cfg.pe_lenient = 1;
            break;
        case O_PARTIAL_CHAIN:
            o->cfg.partial_chain = 1;
            break;
        case O_NO_TIME_CHECK:
            o->cfg.no_time_check = 1;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_ALL_VALID;
        case ':':
            return fail_usage(cmd, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    const int agent_opts = o->server_cert != NULL || o->nknown > 0 || o->key_file != NULL ||
                           o->list != NULL || o->command != NULL || o->command_sig != NULL;
    if (strcmp(cmd, "agents") == 0) {
        if (o->server_cert == NULL)
            return fail_usage(cmd, "%s", "--server-cert is required");
        if (o->nkeys > 0 || o->ncerts > 0 || o->sign_cert != NULL || o->cfg.trust_system ||
            o->cfg.require_codesign || o->cfg.strict || o->files_from != NULL)
            return fail_usage(cmd, "%s", "--key, trust and --files-from options are not for agents");
        if ((o->command == NULL) != (o->command_sig == NULL))
            return fail_usage(cmd, "%s", "--command and --command-sig go together");
        if (optind >= argc && o->list == NULL)
            return fail_usage(cmd, "%s", "no FLEET_DIR and no --list given");
        return -1;
    }
    if (agent_opts)
        return fail_usage(cmd, "%s", "--server-cert, --known, --key-file, --list and --command "
                                     "are for agents");
    if (strcmp(cmd, "verify") != 0 &&
        (o->quarantine || o->journal != NULL || o->mode >= 0 || o->policy != NULL || o->cache ||
         o->cache_dir != NULL || o->paranoid))
        return fail_usage(cmd, "%s", "--quarantine, --journal, --mode, --policy and the cache "
                                     "options are for verify");
    if (strcmp(cmd, "verify") != 0 && (o->cfg.pe_uefi || o->cfg.pe_require_all ||
                                       o->cfg.pe_lenient))
        return fail_usage(cmd, "%s", "--uefi, --require-all and --lenient are for verify");
    if (o->cfg.pe_uefi && o->cfg.pe_require_all)
        return fail_usage(cmd, "%s", "--uefi (any signature) and --require-all (every one) "
                                     "contradict each other");
    if (o->paranoid && !o->cache && o->cache_dir == NULL)
        return fail_usage(cmd, "%s", "--paranoid goes with --cache or --cache-dir");
    const int is_package = strcmp(cmd, "package verify") == 0;
    if (!is_package && (o->manifest != NULL || o->nignore > 0))
        return fail_usage(cmd, "%s", "--manifest and --ignore are for package verify");
    if (o->cms && (strcmp(cmd, "sign") != 0 || o->sign_cert == NULL))
        return fail_usage(cmd, "%s", "--cms is for package sign, with --cert");
    if (is_package) {
        if (o->manifest == NULL)
            return fail_usage(cmd, "%s", "--manifest is required");
        if (argc - optind != 1)
            return fail_usage(cmd, "%s", "give exactly one package DIR");
        if (o->files_from != NULL || o->sign_cert != NULL)
            return fail_usage(cmd, "%s", "--files-from and --cert are not for package verify");
    }
    const int is_sign = strcmp(cmd, "sign") == 0;
    int verify_certs = 0, embed_certs = 0;
    for (size_t i = 0; i < o->ncerts; i++) {
        verify_certs += !o->certs[i].embed;
        embed_certs += o->certs[i].embed;
    }
    if (is_sign && (verify_certs > 0 || o->cfg.trust_system || o->cfg.require_codesign ||
                    o->cfg.has_at_time || o->cfg.strict || o->cfg.partial_chain ||
                    o->cfg.no_time_check))
        return fail_usage(cmd, "%s", "trust options are for verify");
    if (!is_sign && (o->sign_cert != NULL || embed_certs > 0))
        return fail_usage(cmd, "%s", "--cert and --certfile are for sign");
    if (is_sign && embed_certs > 0 && o->sign_cert == NULL)
        return fail_usage(cmd, "%s", "--certfile needs --cert");
    if (o->nkeys == 0 && (is_sign || (!o->cfg.trust_system && !has_trust(o))))
        return fail_usage(cmd, "%s", is_sign ? "--key PRIVATE is required"
                                             : "give --key (raw signatures) or --trust/"
                                               "--trust-system (CMS signatures)");
    if (strcmp(cmd, "sign") == 0 && o->nkeys > 1)
        return fail_usage(cmd, "%s", "sign takes one --key");
    if (optind >= argc && o->files_from == NULL)
        return fail_usage(cmd, "%s", "no PATH given");
    return -1;
}

/* Submits each line of the list. Returns 0, or an exit status on a fatal error. */
static int
submit_list(const char *cmd, sgs_engine *e, const char *list)
{
    FILE *const fp = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
    if (fp == NULL) {
        fprintf(stderr, "sigsweep %s: %s: %s\n", cmd, list, strerror(errno));
        return EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, fp)) != -1) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (sgs_engine_submit(e, line) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            rc = EXIT_USAGE;
        }
    }
    if (rc == 0 && ferror(fp)) {
        fprintf(stderr, "sigsweep %s: %s: read error\n", cmd, list);
        rc = EXIT_USAGE;
    }
    free(line);
    if (fp != stdin)
        fclose(fp);
    return rc;
}

static const char *policy_file;

static void
policy_warn(void *opaque, unsigned line, const char *what)
{
    (void)opaque;
    fprintf(stderr, "sigsweep: %s:%u: %s\n", policy_file, line, what);
}

static int
setup_agents(const char *cmd, sgs_engine *e, const cli_opts *o)
{
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

/* --list: lines "agent_id<TAB>path". Returns 0, or an exit status on a fatal error. */
static int
submit_agent_list(const char *cmd, sgs_engine *e, const char *list)
{
    FILE *const fp = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
    if (fp == NULL) {
        fprintf(stderr, "sigsweep %s: %s: %s\n", cmd, list, strerror(errno));
        return EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    unsigned long lineno = 0;
    while (rc == 0 && (n = getline(&line, &cap, fp)) != -1) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        char *const tab = strchr(line, '\t');
        if (tab == NULL || tab == line || tab[1] == '\0') {
            fprintf(stderr, "sigsweep %s: %s:%lu: expected agent_id<TAB>path\n", cmd, list,
                    lineno);
            rc = EXIT_USAGE;
            break;
        }
        *tab = '\0';
        if (sgs_engine_submit_agent(e, line, tab + 1) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            rc = EXIT_USAGE;
        }
    }
    free(line);
    if (fp != stdin)
        fclose(fp);
    return rc;
}

static int
run(const char *cmd, int argc, char **argv)
{
    cli_opts o;
    memset(&o, 0, sizeof(o));
    o.mode = -1;
    sgs_config_init(&o.cfg);
    o.cfg.op = strcmp(cmd, "sign") == 0       ? SGS_OP_SIGN
               : strcmp(cmd, "trust diagnose") == 0 ? SGS_OP_DIAGNOSE
               : strcmp(cmd, "agents") == 0   ? SGS_OP_AGENTS
               : strcmp(cmd, "package verify") == 0 ? SGS_OP_PACKAGE
                                              : SGS_OP_VERIFY;
    const int prc = parse_options(cmd, argc, argv, &o);
    if (prc >= 0)
        return prc;
    char journal_buf[4096], cache_buf[4096];
    if (o.cfg.op == SGS_OP_VERIFY && (o.cache || o.cache_dir != NULL)) {
        o.cfg.cache_dir =
            o.cache_dir != NULL ? o.cache_dir : sgs_default_cache_dir(cache_buf, sizeof(cache_buf));
        o.cfg.paranoid = o.paranoid;
    }
    if (o.cfg.op == SGS_OP_VERIFY) {
        /* enforce or audit: --mode wins over the policy file; enforcing means quarantine */
        int enforce = o.quarantine;
        if (o.policy != NULL) {
            int from_policy = -1;
            char perr[512];
            policy_file = o.policy;
            if (sgs_policy_read(o.policy, &from_policy, policy_warn, NULL, perr, sizeof(perr)) !=
                SGS_OK) {
                fprintf(stderr, "sigsweep %s: %s\n", cmd, perr);
                return EXIT_USAGE;
            }
            if (from_policy >= 0)
                enforce = from_policy;
        }
        if (o.mode >= 0)
            enforce = o.mode;
        if (enforce)
            o.cfg.quarantine_journal =
                o.journal != NULL ? o.journal : sgs_default_journal(journal_buf, sizeof(journal_buf));
    }

    out_sink sink;
    memset(&sink, 0, sizeof(sink));
    sink.format = o.format;
    sink.fp = stdout;
    char *tmp_output = NULL;
    if (o.output != NULL) {
        const size_t n = strlen(o.output) + 8;
        tmp_output = malloc(n);
        if (tmp_output == NULL)
            return EXIT_USAGE;
        snprintf(tmp_output, n, "%s.XXXXXX", o.output);
        const int fd = mkstemp(tmp_output);
        if (fd < 0 || (sink.fp = fdopen(fd, "w")) == NULL) {
            fprintf(stderr, "sigsweep %s: cannot write %s: %s\n", cmd, o.output, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(tmp_output);
            }
            free(tmp_output);
            return EXIT_USAGE;
        }
    }
    sink.progress = !o.quiet && isatty(STDERR_FILENO);
    sink.show_chain = o.cfg.op == SGS_OP_DIAGNOSE;
    sink.agents = o.cfg.op == SGS_OP_AGENTS;
    o.cfg.on_record = out_record;
    o.cfg.opaque = &sink;

    int rc = EXIT_USAGE;
    sgs_engine *e = NULL;
    sgs_status st = sgs_engine_create(&o.cfg, &e);
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_status_str(st));
        goto out;
    }
    sink.engine = e;
    if (sgs_engine_notice(e)[0] != '\0')
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_notice(e));
    for (size_t i = 0; i < o.nkeys; i++) {
        st = o.cfg.op == SGS_OP_SIGN ? sgs_engine_set_signing_key(e, o.keys[i])
                                     : sgs_engine_add_key(e, o.keys[i]);
        if (st != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            goto out;
        }
    }
    if (o.cfg.op == SGS_OP_AGENTS && setup_agents(cmd, e, &o) != 0)
        goto out;
    if (o.sign_cert != NULL && sgs_engine_set_signing_cert(e, o.sign_cert) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        goto out;
    }
    for (size_t i = 0; i < o.ncerts; i++) {
        if (sgs_engine_add_certs(e, o.certs[i].kind, o.certs[i].path) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            goto out;
        }
    }
    if (o.cfg.op == SGS_OP_PACKAGE && sgs_engine_set_package(e, argv[optind], o.manifest) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        goto out;
    }
    out_begin(&sink);
    if (o.cfg.op == SGS_OP_PACKAGE &&
        sgs_engine_submit_package(e, o.ignore, o.nignore) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        goto out;
    }
    if (o.cfg.op == SGS_OP_AGENTS) {
        for (int i = optind; i < argc; i++) {
            if (sgs_engine_submit_fleet(e, argv[i], o.key_file ? o.key_file : "OfcNTCer.dat") !=
                SGS_OK) {
                fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
                goto out;
            }
        }
        if (o.list != NULL && submit_agent_list(cmd, e, o.list) != 0)
            goto out;
    }
    for (int i = optind; i < argc && o.cfg.op != SGS_OP_AGENTS && o.cfg.op != SGS_OP_PACKAGE;
         i++) {
        if (sgs_engine_submit(e, argv[i]) != SGS_OK) {
            fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
            goto out;
        }
    }
    if (o.files_from != NULL && submit_list(cmd, e, o.files_from) != 0)
        goto out;
    if (sgs_engine_finish(e) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_error(e));
        goto out;
    }
    sgs_stats stats;
    sgs_engine_stats(e, &stats);
    if (o.cfg.op == SGS_OP_AGENTS)
        out_agents_summary(&sink, &stats, o.quiet);
    else if (o.cfg.op == SGS_OP_PACKAGE)
        out_package_summary(&sink, &stats, o.quiet);
    else
        out_summary(&sink, &stats, o.quiet, o.cfg.op == SGS_OP_SIGN ? "signed" : "checked");
    if (fflush(sink.fp) != 0 || sink.write_error) {
        fprintf(stderr, "sigsweep %s: writing the report failed: %s\n", cmd, strerror(errno));
        goto out;
    }
    if (tmp_output != NULL) {
        const int closed = fclose(sink.fp);
        sink.fp = NULL;
        if (closed != 0 || rename(tmp_output, o.output) != 0) {
            fprintf(stderr, "sigsweep %s: cannot write %s: %s\n", cmd, o.output,
                    strerror(errno));
            goto out;
        }
        free(tmp_output);
        tmp_output = NULL;
    }
    if (stats.files == 0 && !o.quiet)
        fprintf(stderr, "sigsweep %s: no input files found\n", cmd);
    rc = stats.files > 0 && stats.verdicts[SGS_V_VALID] == stats.files ? EXIT_ALL_VALID
                                                                       : EXIT_NOT_VALID;
out:
    sgs_engine_free(e);
    if (tmp_output != NULL) {
        if (sink.fp != NULL)
            fclose(sink.fp);
        unlink(tmp_output);
        free(tmp_output);
    }
    return rc;
}

static void
print_cert(void *opaque, const sgs_cert_info *c)
{
    const out_format *const f = opaque;
    out_cert(stdout, *f, c);
}

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

/* trust list|add: small option parser (--format, --force) shared by both. */
static int
trust_options(const char *cmd, int argc, char **argv, out_format *format, int *force)
{
    enum { O_FORMAT = 256, O_FORCE };
    static const struct option longopts[] = {
        {"format", required_argument, NULL, O_FORMAT},
        {"force", no_argument, NULL, O_FORCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FORMAT:
            if (out_format_parse(optarg, format) != 0 || *format == OUT_CSV)
                return fail_usage(cmd, "unknown --format '%s' (text, jsonl)", optarg);
            break;
        case O_FORCE:
            if (force == NULL)
                return fail_usage(cmd, "unknown option %s", "--force");
            *force = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_ALL_VALID;
        case ':':
            return fail_usage(cmd, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    return -1;
}

static int
trust_main(int argc, char **argv)
{
    if (argc < 2)
        return fail_usage("trust", "%s", "needs list, add or diagnose");
    const char *const sub = argv[1];
    char err[512];
    if (strcmp(sub, "diagnose") == 0)
        return run("trust diagnose", argc - 1, argv + 1);
    out_format format = OUT_TEXT;
    if (strcmp(sub, "list") == 0) {
        const int rc = trust_options("trust list", argc - 1, argv + 1, &format, NULL);
        if (rc >= 0)
            return rc;
        if (optind >= argc - 1)
            return fail_usage("trust list", "%s", "no FILE or DIR given");
        int skipped = 0;
        for (int i = optind + 1; i < argc; i++) {
            if (sgs_certs_list(argv[i], print_cert, &format, err, sizeof(err)) != SGS_OK) {
                fprintf(stderr, "sigsweep trust list: %s\n", err);
                return EXIT_USAGE;
            }
            if (err[0] != '\0') {
                fprintf(stderr, "sigsweep trust list: %s: %s\n", argv[i], err);
                skipped = 1;
            }
        }
        return fflush(stdout) != 0 ? EXIT_USAGE : skipped ? EXIT_NOT_VALID : EXIT_ALL_VALID;
    }
    if (strcmp(sub, "add") == 0) {
        int force = 0;
        const int rc = trust_options("trust add", argc - 1, argv + 1, &format, &force);
        if (rc >= 0)
            return rc;
        if (optind + 1 >= argc - 1)
            return fail_usage("trust add", "%s", "needs DIR and at least one CERT");
        const char *const dir = argv[optind + 1];
        import_sink sink = {format, 0};
        /* every source must read as certificates before anything is added: all or nothing */
        for (int i = optind + 2; i < argc; i++) {
            if (sgs_certs_list(argv[i], ignore_cert, NULL, err, sizeof(err)) != SGS_OK) {
                fprintf(stderr, "sigsweep trust add: %s (nothing added)\n", err);
                return EXIT_USAGE;
            }
        }
        for (int i = optind + 2; i < argc; i++) {
            if (sgs_trust_store_add(dir, argv[i], force, print_import, &sink, err,
                                    sizeof(err)) != SGS_OK) {
                fprintf(stderr, "sigsweep trust add: %s\n", err);
                return EXIT_USAGE;
            }
        }
        if (fflush(stdout) != 0)
            return EXIT_USAGE;
        return sink.refused ? EXIT_NOT_VALID : EXIT_ALL_VALID;
    }
    return fail_usage("trust", "unknown subcommand '%s' (list, add, diagnose)", sub);
}

/* package create (here) | sign (= sign) | verify (= run with SGS_OP_PACKAGE) */
static int
package_main(int argc, char **argv)
{
    if (argc < 2)
        return fail_usage("package", "%s", "needs create, sign or verify");
    const char *const sub = argv[1];
    if (strcmp(sub, "sign") == 0)
        return run("sign", argc - 1, argv + 1);
    if (strcmp(sub, "verify") == 0)
        return run("package verify", argc - 1, argv + 1);
    if (strcmp(sub, "create") != 0)
        return fail_usage("package", "unknown subcommand '%s' (create, sign, verify)", sub);
    enum { O_OUT = 256, O_HASH };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, O_OUT},
        {"hash", required_argument, NULL, O_HASH},
        {"jobs", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *const cmd = "package create";
    const char *out = NULL;
    sgs_hash hash = SGS_HASH_SHA256;
    unsigned threads = 0;
    opterr = 0;
    optind = 1;
    int c;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, ":j:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_OUT:
            out = optarg;
            break;
        case O_HASH:
            if (sgs_hash_from_name(optarg, &hash) != 0)
                return fail_usage(cmd, "unknown --hash '%s' (sha256, sha384, sha512)", optarg);
            break;
        case 'j':
            if (parse_jobs(optarg, &threads) != 0)
                return fail_usage(cmd, "-j wants a number from 1 to 1024, not '%s'", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_ALL_VALID;
        case ':':
            return fail_usage(cmd, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (out == NULL || argc - optind != 1)
        return fail_usage(cmd, "%s", "usage: package create DIR --out MANIFEST");
    char err[768];
    if (sgs_package_create(argv[optind], out, hash, threads, err, sizeof(err)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, err);
        return EXIT_USAGE;
    }
    return EXIT_ALL_VALID;
}

static int
cache_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cache-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *const cmd = "cache";
    char dir_buf[4096], err[768];
    const char *dir = NULL;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_ALL_VALID;
        case ':':
            return fail_usage(cmd, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (dir == NULL)
        dir = sgs_default_cache_dir(dir_buf, sizeof(dir_buf));
    const int n = argc - optind;
    const char *const sub = n > 0 ? argv[optind] : "";
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
    } else if (strcmp(sub, "export") == 0 && n == 2) {
        st = sgs_cache_export(dir, argv[optind + 1], &count, err, sizeof(err));
        if (st == SGS_OK)
            printf("exported %llu verdicts to %s\n", (unsigned long long)count, argv[optind + 1]);
    } else if (strcmp(sub, "import") == 0 && n == 2) {
        st = sgs_cache_import(dir, argv[optind + 1], &count, err, sizeof(err));
        if (st == SGS_OK)
            printf("imported %llu verdicts from %s\n", (unsigned long long)count,
                   argv[optind + 1]);
    } else {
        return fail_usage(cmd, "%s", "use: cache stats|clear|export FILE|import FILE");
    }
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, err);
        return EXIT_USAGE;
    }
    return EXIT_ALL_VALID;
}

static void
print_restore(void *opaque, const sgs_restore_record *r)
{
    const out_format *const f = opaque;
    static const char *const actions[] = {"RESTORED", "REFUSED", "WOULD RESTORE", "NOT MOVED"};
    out_restore(stdout, *f, actions[r->action], r->original, r->quarantined, r->reason);
}

static int
restore_main(int argc, char **argv)
{
    enum { O_JOURNAL = 256, O_DRY_RUN, O_SCAN, O_FORMAT };
    static const struct option longopts[] = {
        {"journal", required_argument, NULL, O_JOURNAL},
        {"dry-run", no_argument, NULL, O_DRY_RUN},
        {"scan", required_argument, NULL, O_SCAN},
        {"format", required_argument, NULL, O_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *const cmd = "restore";
    const char *scan[64];
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    out_format format = OUT_TEXT;
    char journal_buf[4096];
    int journal_given = 0;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_JOURNAL:
            ro.journal = optarg;
            journal_given = 1;
            break;
        case O_DRY_RUN:
            ro.dry_run = 1;
            break;
        case O_SCAN:
            if (ro.nscan == sizeof(scan) / sizeof(scan[0]))
                return fail_usage(cmd, "%s", "too many --scan directories");
            scan[ro.nscan++] = optarg;
            break;
        case O_FORMAT:
            if (out_format_parse(optarg, &format) != 0 || format == OUT_CSV)
                return fail_usage(cmd, "unknown --format '%s' (text, jsonl)", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_ALL_VALID;
        case ':':
            return fail_usage(cmd, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (!journal_given) {
        ro.journal = sgs_default_journal(journal_buf, sizeof(journal_buf));
        if (ro.nscan > 0 && access(ro.journal, F_OK) != 0)
            ro.journal = NULL; /* --scan alone, and there is no journal yet */
    }
    ro.scan = scan;
    ro.paths = (const char *const *)(argv + optind);
    ro.npaths = (size_t)(argc - optind);
    char err[512];
    const sgs_status st = sgs_restore(&ro, print_restore, &format, err, sizeof(err));
    if (fflush(stdout) != 0)
        return EXIT_USAGE;
    if (st == SGS_ERR_STATE)
        return EXIT_NOT_VALID;
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, err);
        return EXIT_USAGE;
    }
    return EXIT_ALL_VALID;
}

/* keygen and export-agent-key */
static int
keys_main(const char *cmd, int argc, char **argv)
{
    enum { O_TYPE = 256, O_OUT, O_SERVER_CERT, O_DER, O_PEM, O_AGENT_FILE };
    static const struct option longopts[] = {
        {"type", required_argument, NULL, O_TYPE},
        {"out", required_argument, NULL, O_OUT},
        {"server-cert", required_argument, NULL, O_SERVER_CERT},
        {"der", no_argument, NULL, O_DER},
        {"pem", no_argument, NULL, O_PEM},
        {"key-file", required_argument, NULL, O_AGENT_FILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *type = NULL, *out = NULL, *cert = NULL, *agent_file = "OfcNTCer.dat";
    int pem = -1;
    const int is_keygen = strcmp(cmd, "keygen") == 0;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_TYPE:
            type = optarg;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_SERVER_CERT:
            cert = optarg;
            break;
        case O_DER:
        case O_PEM:
            if (pem >= 0)
                return fail_usage(cmd, "%s", "--der and --pem exclude each other");
            pem = c == O_PEM;
            break;
        case O_AGENT_FILE:
            agent_file = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_ALL_VALID;
        case ':':
            return fail_usage(cmd, "option %s needs an argument", argv[optind - 1]);
        default:
            return fail_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (out == NULL)
        return fail_usage(cmd, "%s", "--out is required");
    char err[512];
    sgs_status st;
    if (is_keygen) {
        if (type == NULL || cert != NULL || pem >= 0)
            return fail_usage(cmd, "%s", "keygen takes --type and --out (and --key-file NAME)");
        st = sgs_keygen(type, out, agent_file, err, sizeof(err));
        if (st == SGS_OK)
            printf("%s/server.key\n%s/server.crt\n%s/%s\n", out, out, out, agent_file);
    } else {
        if (cert == NULL || type != NULL)
            return fail_usage(cmd, "%s", "export-agent-key takes --server-cert and --out");
        st = sgs_export_public_key(cert, out, pem == 1, err, sizeof(err));
    }
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, err);
        return EXIT_USAGE;
    }
    return EXIT_ALL_VALID;
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
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *const cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_ALL_VALID;
    }
    if (strcmp(cmd, "--version") == 0) {
        const sgs_status st = sgs_selftest();
        printf("sigsweep %s (%s; self-test %s)\n", sgs_version_string(), OPENSSL_VERSION_TEXT,
               st == SGS_OK ? "passed" : "FAILED");
        return st == SGS_OK ? EXIT_ALL_VALID : EXIT_USAGE;
    }
    if (strcmp(cmd, "verify") == 0 || strcmp(cmd, "sign") == 0)
        return run(cmd, argc - 1, argv + 1);
    if (strcmp(cmd, "trust") == 0)
        return trust_main(argc - 1, argv + 1);
    if (strcmp(cmd, "agents") == 0)
        return run(cmd, argc - 1, argv + 1);
    if (strcmp(cmd, "package") == 0)
        return package_main(argc - 1, argv + 1);
    if (strcmp(cmd, "restore") == 0)
        return restore_main(argc - 1, argv + 1);
    if (strcmp(cmd, "cache") == 0)
        return cache_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0 || strcmp(cmd, "export-agent-key") == 0)
        return keys_main(cmd, argc - 1, argv + 1);
    fprintf(stderr, "sigsweep: unknown command '%s' (see sigsweep --help)\n", cmd);
    return EXIT_USAGE;
}
