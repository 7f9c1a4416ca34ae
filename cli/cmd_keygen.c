/*
 * cmd_keygen.c - `sigsweep keygen` (server key pair, self-signed certificate and the agents'
 * key file) and `sigsweep export-agent-key` (the agents' key file from a certificate).
 *
 * DESIGN: the two commands share one option struct and the tables of their options; each
 * parses the other's (so abbreviations mean the same in both) and refuses them, after the
 * checks both share, with the message it always had. The engine makes and writes the keys
 * (never overwriting); this file checks the options and names what was written.
 */
#include "cmds.h"

#include "sigsweep.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define KEYGEN_USAGE "keygen takes --type and --out (and --key-file NAME)"
#define EXPORT_USAGE "export-agent-key takes --server-cert and --out"

typedef struct keys_opts {
    const char *type;
    const char *out;
    const char *cert;
    const char *agent_file;
    int pem; /* -1 unset, 0 --der, 1 --pem */
} keys_opts;

/* --der, --pem (opt->value: 1 for PEM) */
static int
set_encoding(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)arg;
    keys_opts *const o = p->target;
    if (o->pem >= 0)
        return cli_fail_usage(p->cmd->name, "%s", "--der and --pem exclude each other");
    o->pem = opt->value;
    return CLI_GO_ON;
}

static const cli_opt keys_out[] = {
    {"out", 0, "DIR|FILE", cli_set_string, offsetof(keys_opts, out), 0,
     "keygen: the directory to write (made with its parents, 0700);\n"
     "export-agent-key: the key file"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_opt keys_agent_file[] = {
    {"key-file", 0, "NAME", cli_set_string, offsetof(keys_opts, agent_file), 0,
     "the agents' key file name (default OfcNTCer.dat)"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_opt keys_type[] = {
    {"type", 0, "T", cli_set_string, offsetof(keys_opts, type), 0,
     "rsa2048, rsa3072, ec-p256 or ed25519"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_opt keys_export[] = {
    {"server-cert", 0, "FILE", cli_set_string, offsetof(keys_opts, cert), 0,
     "the server's certificate (PEM/DER)"},
    {"der", 0, NULL, set_encoding, 0, 0, "write DER"},
    {"pem", 0, NULL, set_encoding, 0, 1, "write PEM"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset keygen_opts[] = {
    CLI_TAKE(keys_type),       CLI_TAKE(keys_out),
    CLI_TAKE(keys_agent_file), CLI_REFUSE(keys_export, KEYGEN_USAGE),
    CLI_TAKE(cli_opts_help),   CLI_OPTSET_END,
};

static const cli_optset export_opts[] = {
    CLI_TAKE(keys_export),
    CLI_TAKE(keys_out),
    CLI_IGNORE(keys_agent_file), /* accepted, as it always was */
    CLI_IGNORE(keys_type), /* refused by export_main, after --out */
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

/* Parses and checks what both take. CLI_GO_ON, or an exit status. */
static int
keys_parse(const cli_command *cmd, keys_opts *o, int argc, char **argv)
{
    o->type = o->out = o->cert = NULL;
    o->agent_file = "OfcNTCer.dat";
    o->pem = -1;
    cli_parser p;
    const int rc = cli_parse(&p, cmd, o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (p.operand < argc)
        return cli_fail_usage(cmd->name, "unexpected argument '%s'", argv[p.operand]);
    if (o->out == NULL)
        return cli_fail_usage(cmd->name, "%s", "--out is required");
    return CLI_GO_ON;
}

static int
keygen_main(const cli_command *cmd, int argc, char **argv)
{
    keys_opts o;
    const int rc = keys_parse(cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (o.type == NULL || o.cert != NULL || o.pem >= 0)
        return cli_fail_usage(cmd->name, "%s", KEYGEN_USAGE);
    char err[512];
    if (sgs_keygen(o.type, o.out, o.agent_file, err, sizeof(err)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
        return CLI_EXIT_USAGE;
    }
    int n = (int)strlen(o.out); /* as given, without the trailing slashes: out/server.key */
    while (n > 1 && o.out[n - 1] == '/')
        n--;
    const char *const sep = n == 1 && o.out[0] == '/' ? "" : "/";
    printf("%.*s%sserver.key\n%.*s%sserver.crt\n%.*s%s%s\n", n, o.out, sep, n, o.out, sep, n,
           o.out, sep, o.agent_file);
    return CLI_EXIT_ALL_VALID;
}

static int
export_main(const cli_command *cmd, int argc, char **argv)
{
    keys_opts o;
    const int rc = keys_parse(cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (o.cert == NULL || o.type != NULL)
        return cli_fail_usage(cmd->name, "%s", EXPORT_USAGE);
    char err[512];
    if (sgs_export_public_key(o.cert, o.out, o.pem == 1, err, sizeof(err)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd->name, err);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_ALL_VALID;
}

const cli_command cli_cmd_keygen = {
    "keygen",
    keygen_main,
    "make a server key pair, certificate and agents' key file",
    "usage: sigsweep keygen --type rsa2048|rsa3072|ec-p256|ed25519 --out DIR\n"
    "\n"
    "Server key pair, self-signed certificate and the agents' key file (never overwrites).\n"
    "DIR is made if missing, with its missing parents (as `mkdir -p`); a new DIR is mode 0700,\n"
    "as it holds the private key.\n",
    keygen_opts,
    NULL,
};

const cli_command cli_cmd_export_agent_key = {
    "export-agent-key",
    export_main,
    "write the agents' key file from a certificate",
    "usage: sigsweep export-agent-key --server-cert FILE --out FILE [--der|--pem]\n"
    "\n"
    "The agents' key file from a certificate (DER or PEM).\n",
    export_opts,
    NULL,
};
