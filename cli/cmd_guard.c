/*
 * cmd_guard.c - `sigsweep guard`: a foreground daemon answering every exec in the watched
 * trees with the verdict of the same judges as verify (engine/src/guard.c does the work).
 *
 * DESIGN: guard takes verify's key, signature, trust and PE options and its --mode/--policy
 * and cache options and its quarantine options (--quarantine, --max-quarantine, --journal; not
 * --force) (sweep.c's fragments, read into the same sweep_opts), and its own: what to watch and
 * exempt, the deadline and its decision, the log. This file only wires them into an
 * engine and a guard, writes one JSONL line per decision (--log FILE, appended; else stdout)
 * and a rate-limited line on stderr for each exec denied or answered at the deadline, and
 * stops on SIGTERM/SIGINT. Exit status: 0 stopped by a signal, 2 refused to start (nothing
 * marked) or failed.
 */
#include "cmds.h"
#include "output.h"
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GUARD_PATHS_MAX 64
#define STDERR_LINES_PER_SECOND 5

/* sweep_opts first: the shared fragments' offsets point into it */
typedef struct guard_opts {
    sweep_opts s;
    const char *watch[GUARD_PATHS_MAX];
    size_t nwatch;
    const char *exempt[GUARD_PATHS_MAX];
    size_t nexempt;
    const char *log;
    unsigned deadline_ms;
    int on_timeout; /* -1 default, 0 deny, 1 allow */
} guard_opts;

static guard_opts *
gtarget(const cli_parser *p)
{
    return (guard_opts *)p->target;
}

static int
set_path(cli_parser *p, const cli_opt *opt, const char *arg)
{
    guard_opts *const g = gtarget(p);
    const int watch = opt->value == 0;
    size_t *const n = watch ? &g->nwatch : &g->nexempt;
    if (*n == GUARD_PATHS_MAX)
        return cli_fail_usage(p->cmd->name, "at most %d --%s paths", GUARD_PATHS_MAX, opt->name);
    (watch ? g->watch : g->exempt)[(*n)++] = arg;
    return CLI_GO_ON;
}

static int
set_deadline(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    long long ms;
    if (sweep_parse_in_range(arg, 1, 60000, &ms) != 0)
        return cli_fail_usage(p->cmd->name,
                              "--deadline wants milliseconds from 1 to 60000, not '%s'", arg);
    gtarget(p)->deadline_ms = (unsigned)ms;
    return CLI_GO_ON;
}

static int
set_on_timeout(cli_parser *p, const cli_opt *opt, const char *arg)
{
    (void)opt;
    if (strcmp(arg, "allow") != 0 && strcmp(arg, "deny") != 0)
        return cli_fail_usage(p->cmd->name, "unknown --on-timeout '%s' (allow, deny)", arg);
    gtarget(p)->on_timeout = strcmp(arg, "allow") == 0;
    return CLI_GO_ON;
}

static const cli_opt guard_own_opts[] = {
    {"watch", 0, "DIR", set_path, 0, 0,
     "judge every exec of a file under DIR (marks DIR's mount);\nrepeatable, at least one"},
    {"exempt", 0, "PATH", set_path, 0, 1,
     "always allow PATH (a file, or a directory and what is under it),\n"
     "unjudged but logged; repeatable"},
    {"deadline", 0, "MS", set_deadline, 0, 0,
     "answer every exec within MS milliseconds (default 200)"},
    {"on-timeout", 0, "allow|deny", set_on_timeout, 0, 0,
     "the answer at the deadline (default: deny in enforce mode,\n"
     "allow in audit); the judgement goes on and is stored"},
    {"log", 0, "FILE", cli_set_string, offsetof(guard_opts, log), 0,
     "append one JSON line per decision to FILE (default: stdout)"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static const cli_optset guard_opts_table[] = {
    CLI_TAKE(guard_own_opts),
    CLI_TAKE(sweep_opts_public_key),
    CLI_TAKE(sweep_opts_enforce),
    CLI_TAKE(sweep_opts_sig),
    CLI_TAKE(sweep_opts_mode),
    CLI_TAKE(sweep_opts_cache),
    CLI_TAKE(sweep_opts_trust),
    CLI_TAKE(sweep_opts_chain_time),
    CLI_TAKE(sweep_opts_pe),
    CLI_TAKE(cli_opts_help),
    CLI_OPTSET_END,
};

/* ---- the decisions: one JSON line each, and stderr for the refused ones ------------------ */

typedef struct guard_log {
    FILE *fp;
    const char *cmd;
    int enforce;
    int breaker_said; /* the quarantine's circuit breaker, said once on stderr */
    time_t second;    /* stderr's rate limit: lines in this second */
    unsigned lines;
    unsigned long long suppressed;
} guard_log;

static void
json_line(FILE *fp, const sgs_guard_event *ev)
{
    const time_t secs = (time_t)(ev->time_ns / 1000000000LL);
    struct tm tm;
    char when[32];
    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(fp, "{\"time\":\"%s.%06lldZ\",\"pid\":%d,\"uid\":%lld,\"path\":", when,
            (long long)(ev->time_ns % 1000000000LL) / 1000, (int)ev->pid, (long long)ev->uid);
    out_json_string(fp, ev->path, NULL);
    fprintf(fp, ",\"dev\":%llu,\"ino\":%llu,\"size\":%llu,\"mtime_ns\":%lld,\"ctime_ns\":%lld,",
            (unsigned long long)ev->dev, (unsigned long long)ev->ino,
            (unsigned long long)ev->size, (long long)ev->mtime_ns, (long long)ev->ctime_ns);
    if (ev->verdict == SGS_V_UNJUDGED)
        fputs("\"verdict\":null", fp);
    else
        fprintf(fp, "\"verdict\":\"%s\"", sgs_verdict_name(ev->verdict));
    fputs(",\"reason\":", fp);
    out_json_string(fp, ev->reason, NULL);
    fprintf(fp, ",\"decision\":%s,\"how\":\"%s\",\"latency_us\":%.1f",
            ev->allowed < 0 ? "null" : ev->allowed ? "\"allow\"" : "\"deny\"",
            sgs_guard_how_name(ev->how), (double)ev->latency_ns / 1000.0);
    if (ev->quarantine != SGS_GUARD_Q_OFF) { /* the new name, or null and why not */
        fputs(",\"quarantined\":", fp);
        if (ev->quarantined != NULL)
            out_json_string(fp, ev->quarantined, NULL);
        else
            fputs("null", fp);
        fputs(",\"not_quarantined\":", fp);
        if (ev->quarantine == SGS_GUARD_Q_DONE)
            fputs("null", fp);
        else
            out_json_string(fp, ev->quarantine_why, NULL);
    }
    fputs("}\n", fp);
    fflush(fp);
}

static void
on_event(void *opaque, const sgs_guard_event *ev)
{
    guard_log *const lg = opaque;
    json_line(lg->fp, ev);
    if (ev->breaker_tripped && !lg->breaker_said) {
        lg->breaker_said = 1;
        fprintf(stderr, "sigsweep %s: %s (from %s on)\n", lg->cmd, ev->quarantine_why,
                ev->path);
    }
    const int refused = ev->allowed == 0;
    const int would_be = ev->allowed == 1 && !lg->enforce && ev->verdict != SGS_V_VALID &&
                         ev->verdict != SGS_V_UNJUDGED;
    if (!refused && !would_be && ev->how != SGS_GUARD_TIMEOUT)
        return;
    const time_t now = time(NULL);
    if (now != lg->second) {
        if (lg->suppressed > 0)
            fprintf(stderr, "sigsweep %s: %llu more line(s) not shown (see the log)\n", lg->cmd,
                    lg->suppressed);
        lg->second = now;
        lg->lines = 0;
        lg->suppressed = 0;
    }
    if (lg->lines++ >= STDERR_LINES_PER_SECOND) {
        lg->suppressed++;
        return;
    }
    fprintf(stderr, "sigsweep %s: %s %s (pid %d): %s%s%s\n", lg->cmd,
            refused ? "DENIED" : ev->allowed ? "allowed" : "no decision", ev->path, (int)ev->pid,
            ev->verdict != SGS_V_UNJUDGED ? sgs_verdict_name(ev->verdict) : "",
            ev->verdict != SGS_V_UNJUDGED ? ": " : "", ev->reason);
}

/* ---- the daemon -------------------------------------------------------------------------- */

static sgs_guard *volatile running_guard;

static void
on_stop(int sig)
{
    (void)sig;
    sgs_guard_stop(running_guard);
}

static void
catch_stop(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_stop : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
}

/* A guard's engine judges for the guard only: it delivers no records. */
static void
no_records(void *opaque, const sgs_record *rec)
{
    (void)opaque;
    (void)rec;
}

static FILE *
open_log(const char *cmd, const char *path)
{
    if (path == NULL)
        return stdout;
    const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *const fp = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (fp == NULL) {
        fprintf(stderr, "sigsweep %s: cannot write the log %s: %s\n", cmd, path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return fp;
}

static int
guard_run(const char *cmd, guard_opts *o)
{
    int enforce = 0;
    int rc = sweep_enforcing(cmd, &o->s, &enforce);
    if (rc != CLI_GO_ON)
        return rc;
    o->s.cfg.cache_dir = o->s.cache_dir != NULL
                             ? o->s.cache_dir
                             : sgs_default_cache_dir(o->s.cache_buf, sizeof(o->s.cache_buf));
    o->s.cfg.paranoid = o->s.paranoid;
    o->s.cfg.on_record = no_records;
    if (o->s.quarantine && !enforce) {
        fprintf(stderr, "sigsweep %s: --quarantine renames the files enforce mode denies: it "
                        "goes with --mode enforce (or a --policy that enforces)\n", cmd);
        return CLI_EXIT_USAGE;
    }
    if (o->s.quarantine) /* verify's journal: --journal, else the default one */
        o->s.cfg.quarantine_journal =
            o->s.journal != NULL ? o->s.journal
                                 : sgs_default_journal(o->s.journal_buf, sizeof(o->s.journal_buf));
    guard_log lg = {open_log(cmd, o->log), cmd, enforce, 0, 0, 0, 0};
    if (lg.fp == NULL)
        return CLI_EXIT_USAGE;
    rc = CLI_EXIT_USAGE;
    sgs_engine *e = NULL;
    sgs_guard *g = NULL;
    char err[1024];
    const sgs_status st = sgs_engine_create(&o->s.cfg, &e);
    if (st != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_status_str(st));
        goto out;
    }
    if (sgs_engine_notice(e)[0] != '\0')
        fprintf(stderr, "sigsweep %s: %s\n", cmd, sgs_engine_notice(e));
    if (sweep_add_material(cmd, e, &o->s) != 0)
        goto out;
    sgs_guard_config gc;
    sgs_guard_config_init(&gc);
    gc.watch = o->watch;
    gc.nwatch = o->nwatch;
    gc.exempt = o->exempt;
    gc.nexempt = o->nexempt;
    gc.enforce = enforce;
    gc.timeout_allow = o->on_timeout;
    gc.quarantine = o->s.quarantine;
    if (o->deadline_ms > 0)
        gc.deadline_ms = o->deadline_ms;
    gc.on_event = on_event;
    gc.opaque = &lg;
    if (sgs_guard_create(e, &gc, &g, err, sizeof(err)) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: not started: %s\n", cmd, err);
        goto out;
    }
    if (sgs_guard_notice(g)[0] != '\0')
        fprintf(stderr, "sigsweep %s: warning: %s\n", cmd, sgs_guard_notice(g));
    running_guard = g;
    catch_stop(1);
    fprintf(stderr, "sigsweep %s: watching %zu path(s), %s mode, deadline %u ms\n", cmd,
            o->nwatch, enforce ? "enforce" : "audit", gc.deadline_ms);
    const sgs_status run = sgs_guard_run(g, err, sizeof(err));
    if (run != SGS_OK)
        fprintf(stderr, "sigsweep %s: %s\n", cmd, err);
    else
        rc = 0;
out:
    catch_stop(0);
    running_guard = NULL;
    sgs_guard_free(g);
    sgs_engine_free(e);
    if (lg.fp != stdout)
        fclose(lg.fp);
    return rc;
}

/* --journal and --max-quarantine go with --quarantine; a guard's breaker is a number of files
   (its lifetime has no total to take a share of) and cannot be overridden (--force): a wrong key
   must not rename a whole host. */
static int
check_quarantine(const char *cmd, const sweep_opts *s)
{
    const int breaker_set = s->cfg.max_quarantine != 10 || s->cfg.max_quarantine_percent != 5;
    if (s->cfg.force_quarantine)
        return cli_fail_usage(cmd, "%s", "--force: a guard's circuit breaker (--max-quarantine) "
                                         "cannot be overridden");
    if (!s->quarantine && (breaker_set || s->journal != NULL))
        return cli_fail_usage(cmd, "%s", "--journal and --max-quarantine go with --quarantine");
    if (s->cfg.max_quarantine == 0 && s->cfg.max_quarantine_percent > 0)
        return cli_fail_usage(cmd, "%s", "--max-quarantine: a guard's limit is a number of files "
                                         "over its lifetime, not a share");
    if (s->cfg.max_quarantine > SGS_GUARD_MAX_QUARANTINE)
        return cli_fail_usage(cmd, "--max-quarantine: a guard renames at most %u files",
                              SGS_GUARD_MAX_QUARANTINE);
    return CLI_GO_ON;
}

static int
guard_main(const cli_command *cmd, int argc, char **argv)
{
    guard_opts o;
    memset(&o, 0, sizeof(o));
    o.s.mode = -1;
    o.on_timeout = -1;
    sgs_config_init(&o.s.cfg);
    cli_parser p;
    int rc = cli_parse(&p, cmd, &o, argc, argv);
    if (rc != CLI_GO_ON)
        return rc;
    if (p.operand < argc)
        return cli_fail_usage(cmd->name, "no operands (give trees with --watch DIR)");
    if (o.nwatch == 0)
        return cli_fail_usage(cmd->name, "%s", "give at least one --watch DIR");
    if ((rc = sweep_check_keys(cmd->name, &o.s)) != CLI_GO_ON ||
        (rc = check_quarantine(cmd->name, &o.s)) != CLI_GO_ON)
        return rc;
    return guard_run(cmd->name, &o);
}

const cli_command cli_cmd_guard = {
    "guard",
    guard_main,
    "allow or deny each exec in watched trees by its signature (fanotify)",
    "usage: sigsweep guard --watch DIR [--watch ...] (--key FILE|DIR | --trust FILE|DIR | ...)\n"
    "                [--mode audit|enforce] [--policy FILE.ini] [--cache-dir DIR] [--log FILE]\n"
    "                [--deadline MS] [--on-timeout allow|deny] [--exempt PATH]...\n"
    "                [--quarantine [--max-quarantine N] [--journal FILE]]\n"
    "\n"
    "A foreground daemon (run as root; a systemd unit is installed): every exec of a file under\n"
    "a watched DIR waits for its verdict, by the same judges and options as verify. The verdict\n"
    "store (--cache-dir) answers files it knows, unchanged; others are judged through the\n"
    "kernel's descriptor. enforce: anything not VALID fails with EPERM; audit (default): runs,\n"
    "and is recorded. Every exec is answered within --deadline. One JSON line per decision.\n"
    "--quarantine (enforce): a file denied for its contents is also renamed <name>_invalid\n"
    "through the journal (restore undoes it), at most --max-quarantine N (default 10) files\n"
    "in the guard's lifetime; then the renames stop (the denials go on).\n"
    "SIGTERM/SIGINT stop it; when it stops or dies, the kernel allows every exec again.\n"
    "\n"
    "exit status: 0 stopped by a signal, 2 refused to start (nothing marked) or failed\n",
    guard_opts_table,
    NULL,
};
