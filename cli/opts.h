/* opts.h - commands and their options as tables; the parser and the help printer for them. */
#ifndef SGS_CLI_OPTS_H
#define SGS_CLI_OPTS_H

#include <stddef.h>

/* Exit status (like gpgv and minisign): 0 every input VALID, 1 some input not VALID (or none
   found), 2 usage or fatal error. */
#define CLI_EXIT_ALL_VALID 0
#define CLI_EXIT_NOT_VALID 1
#define CLI_EXIT_USAGE 2
#define CLI_GO_ON (-1) /* from a setter or a check: no exit status yet, go on */

typedef struct cli_opt cli_opt;
typedef struct cli_parser cli_parser;
typedef struct cli_command cli_command;

/* Stores one option's argument (NULL for an option without one) in p->target; returns
   CLI_GO_ON, or an exit status after printing the diagnostic (or the help). */
typedef int (*cli_set_fn)(cli_parser *p, const cli_opt *opt, const char *arg);

struct cli_opt {
    const char *name; /* long name without "--"; NULL ends a table */
    char letter;      /* short name ('j' for -j), or 0 */
    const char *arg;  /* the argument's name in the help ("FILE"); NULL: takes no argument */
    cli_set_fn set;
    size_t offset;    /* where in the target the generic setters store (offsetof) */
    int value;        /* for the setter (a kind of certificate, say) */
    const char *help; /* the help line; '\n' starts a continuation line; NULL: not listed */
};

/* A command's options: fragments of option tables, shared between the commands that take
   them. A refused fragment is parsed like the others (its arguments consumed and checked, so
   abbreviations and messages stay those of the whole family) but using one of its options is
   the usage error `refused`, reported once the command line is read. */
typedef struct cli_optset {
    const cli_opt *opts; /* NULL ends the list */
    const char *refused; /* NULL: the command takes these options */
    int unlisted;        /* taken but ignored: not in the command's help */
} cli_optset;

/* The entries of a command's list of fragments. */
/* clang-format off */
#define CLI_TAKE(fragment) {(fragment), NULL, 0}
#define CLI_IGNORE(fragment) {(fragment), NULL, 1}
#define CLI_REFUSE(fragment, message) {(fragment), (message), 0}
#define CLI_OPTSET_END {NULL, NULL, 0}
/* clang-format on */

struct cli_command {
    const char *name; /* "verify", "trust list"; its last word is what selects it */
    int (*main)(const cli_command *cmd, int argc, char **argv); /* argv[0]: the last word */
    const char *summary;                                        /* one line */
    const char *usage;              /* usage lines and what it does, each line ending in '\n' */
    const cli_optset *opts;         /* ends with {NULL}; NULL for a group */
    const cli_command *const *subs; /* a group (trust, package): its commands, NULL-ended */
};

struct cli_parser {
    const cli_command *cmd;
    void *target;        /* the struct the setters fill */
    const char *refused; /* the first refused option's usage error */
    int operand;         /* after cli_parse: argv index of the first operand */
};

/* Parses argv[1..] (GNU getopt_long: options and operands mixed, "--", --name=value,
   unambiguous abbreviations) against cmd's option tables into target, operands last from
   p->operand on. Returns CLI_GO_ON, or an exit status after printing the diagnostic. */
int cli_parse(cli_parser *p, const cli_command *cmd, void *target, int argc, char **argv);

/* "sigsweep CMD: <message> (see sigsweep --help)" on stderr; returns CLI_EXIT_USAGE. */
int cli_fail_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A command's usage and its options (a group's: the usage of each of its commands). */
void cli_print_help(const cli_command *cmd);

/* -1 if s is not a number from 1 to 1024. */
int cli_parse_jobs(const char *s, unsigned *out);

/* Generic setters: an int flag set to 1, a string, -j N (unsigned), --hash ALG (sgs_hash),
   --format text|jsonl|csv, --format text|jsonl (out_format); --help prints the help. */
int cli_set_flag(cli_parser *p, const cli_opt *opt, const char *arg);
int cli_set_string(cli_parser *p, const cli_opt *opt, const char *arg);
int cli_set_jobs(cli_parser *p, const cli_opt *opt, const char *arg);
int cli_set_hash(cli_parser *p, const cli_opt *opt, const char *arg);
int cli_set_format(cli_parser *p, const cli_opt *opt, const char *arg);
int cli_set_line_format(cli_parser *p, const cli_opt *opt, const char *arg);
int cli_set_help(cli_parser *p, const cli_opt *opt, const char *arg);

/* The -h, --help fragment every command takes. */
extern const cli_opt cli_opts_help[];

/* The whole manual: `sigsweep --help`. */
extern const char cli_overview[];

#endif
