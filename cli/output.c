/*
 * output.c - formats records. No crypto and no parsing of signed material here.
 *
 * DESIGN: the engine calls out_record() from worker threads one at a time (its sink has one
 * writer), so this module needs no locks. JSON strings must be valid UTF-8 whatever the file
 * names hold: invalid bytes become U+FFFD and the record gets "path_hex" with the exact bytes.
 * Text output escapes control characters (in names and in reasons, which quote names) so a
 * crafted name can neither split a record in two nor rewrite the terminal.
 */
#include "output.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double
out_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
out_format_parse(const char *s, out_format *out)
{
    static const char *const names[] = {"text", "jsonl", "csv"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (out_format)i;
            return 0;
        }
    }
    return -1;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not valid (RFC 3629). */
static size_t
utf8_len(const unsigned char *s)
{
    const unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        const unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        const unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4
                                                                                         : 0;
    }
    return 0;
}

void
out_json_string(FILE *fp, const char *str, int *lossy)
{
    const unsigned char *s = (const unsigned char *)str;
    putc('"', fp);
    while (*s) {
        const unsigned c = *s;
        if (c == '"' || c == '\\') {
            putc('\\', fp);
            putc((int)c, fp);
            s++;
        } else if (c < 0x20 || c == 0x7f) {
            static const char esc[] = "btn?fr";
            if (c >= 8 && c <= 13 && c != 11)
                fprintf(fp, "\\%c", esc[c - 8]);
            else
                fprintf(fp, "\\u%04x", c);
            s++;
        } else {
            const size_t n = utf8_len(s); /* stops at NUL: continuation bytes are never 0 */
            if (n == 0) {
                fputs("\xef\xbf\xbd", fp);
                if (lossy != NULL)
                    *lossy = 1;
                s++;
            } else {
                fwrite(s, 1, n, fp);
                s += n;
            }
        }
    }
    putc('"', fp);
}

/* Text output: one line per record whatever the names hold. Control bytes, backslashes and
   bytes that are not valid UTF-8 are written as \\ and \xHH; valid UTF-8 passes. */
static void
text_escaped(FILE *fp, const char *str)
{
    const unsigned char *s = (const unsigned char *)str, *run = s; /* run: bytes to copy */
    while (*s) {
        const size_t n = *s < 0x80 ? 1 : utf8_len(s);
        if (*s != '\\' && n != 0 && *s >= 0x20 && *s != 0x7f) {
            s += n; /* plain: part of the run, written in one piece */
            continue;
        }
        fwrite(run, 1, (size_t)(s - run), fp);
        if (*s == '\\')
            fputs("\\\\", fp);
        else
            fprintf(fp, "\\x%02x", *s);
        run = ++s;
    }
    fwrite(run, 1, (size_t)(s - run), fp);
}

static void
csv_field(FILE *fp, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, fp);
        return;
    }
    putc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', fp);
        putc(*s, fp);
    }
    putc('"', fp);
}

/* ,"key":"<hex of the raw bytes>": beside a string that JSON could not carry exactly */
static void
json_hex_field(FILE *fp, const char *key, const char *raw)
{
    fprintf(fp, ",\"%s\":\"", key);
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
        fprintf(fp, "%02x", *p);
    putc('"', fp);
}

/* ,"key":"value" */
static void
json_field(FILE *fp, const char *key, const char *value)
{
    fprintf(fp, ",\"%s\":", key);
    out_json_string(fp, value != NULL ? value : "", NULL);
}

/* Every Authenticode signature of a PE file's record, primary first, as a JSON array. */
static void
json_signatures(FILE *fp, const sgs_record *rec)
{
    putc('[', fp);
    for (size_t i = 0; i < rec->nsigs; i++) {
        const sgs_sig_line *const l = &rec->sigs[i];
        fputs(i ? ",{\"role\":" : "{\"role\":", fp);
        out_json_string(fp, l->role, NULL);
        fprintf(fp, ",\"verdict\":\"%s\"", sgs_verdict_name(l->verdict));
        json_field(fp, "reason", l->reason);
        json_field(fp, "hash", l->hash_alg);
        json_field(fp, "layout", l->layout);
        json_field(fp, "signer_subject", l->signer);
        json_field(fp, "signing_time", l->signing_time);
        json_field(fp, "tsa", l->tsa);
        putc('}', fp);
    }
    putc(']', fp);
}

/* ["line 1","line 2"] from a '\n'-separated string ([] when empty). */
static void
json_lines_array(FILE *fp, const char *lines)
{
    putc('[', fp);
    const char *p = lines;
    int first = 1;
    while (*p) {
        const char *const nl = strchr(p, '\n');
        const size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        char buf[1024];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, p);
        if (!first)
            putc(',', fp);
        out_json_string(fp, buf, NULL);
        first = 0;
        p += len;
        if (*p == '\n')
            p++;
    }
    putc(']', fp);
}

void
out_cert(FILE *fp, out_format f, const sgs_cert_info *c)
{
    if (f == OUT_JSONL) {
        fputs("{\"path\":", fp);
        out_json_string(fp, c->path, NULL);
        fputs(",\"subject\":", fp);
        out_json_string(fp, c->subject, NULL);
        fputs(",\"issuer\":", fp);
        out_json_string(fp, c->issuer, NULL);
        fprintf(fp, ",\"not_before\":\"%s\",\"not_after\":\"%s\",\"fingerprint\":\"%s\","
                    "\"key_id\":\"%s\",\"ca\":%s,\"self_signed\":%s}\n",
                c->not_before, c->not_after, c->fingerprint, c->key_id,
                c->is_ca ? "true" : "false", c->self_signed ? "true" : "false");
        return;
    }
    text_escaped(fp, c->subject);
    fprintf(fp, "\n  issuer:      ");
    text_escaped(fp, c->issuer);
    fprintf(fp, "\n  valid:       %s .. %s\n  sha256:      %s\n  key id:      %s\n  "
                "kind:        %s%s\n  file:        ",
            c->not_before, c->not_after, c->fingerprint, c->key_id[0] ? c->key_id : "(none)",
            c->is_ca ? "CA" : "end entity", c->self_signed ? ", self-signed" : "");
    text_escaped(fp, c->path);
    putc('\n', fp);
}

void
out_cert_stdout(void *opaque, const sgs_cert_info *c)
{
    const out_format *const f = opaque;
    out_cert(stdout, *f, c);
}

void
out_import(FILE *fp, out_format f, const sgs_import_record *r)
{
    static const char *const actions[] = {"ADDED", "PRESENT", "REFUSED"};
    if (f == OUT_JSONL) {
        fprintf(fp, "{\"action\":\"%s\",\"source\":", actions[r->action]);
        out_json_string(fp, r->source, NULL);
        fputs(",\"subject\":", fp);
        out_json_string(fp, r->cert.subject, NULL);
        fprintf(fp, ",\"fingerprint\":\"%s\",\"stored\":", r->cert.fingerprint);
        out_json_string(fp, r->cert.path, NULL);
        fputs(",\"link\":", fp);
        out_json_string(fp, r->link, NULL);
        fputs(",\"detail\":", fp);
        out_json_string(fp, r->detail, NULL);
        fputs("}\n", fp);
        return;
    }
    fprintf(fp, "%s ", actions[r->action]);
    text_escaped(fp, r->cert.subject);
    fputs(" (", fp);
    text_escaped(fp, r->detail);
    fputs(")\n", fp);
}

/*
 * The fields of a record, in the one order both JSON Lines and CSV write them: CSV has a column
 * for every field a run's records can have (its header names them), JSON Lines the fields a
 * record has (path_hex only for a path that is not UTF-8, the Authenticode fields only for a
 * PE file). An agent's key fingerprint is key_fp, once (not signer too).
 */
typedef enum field {
    F_AGENT,
    F_AGENT_HEX,
    F_KEY_FP,
    F_PATH,
    F_PATH_HEX,
    F_VERDICT,
    F_REASON,
    F_ALG,
    F_SIGNER,
    F_DIGEST,
    F_CHAIN,
    F_FORMAT,
    F_IMAGE_HASH,
    F_SIGNER_SUBJECT,
    F_SIGNING_TIME,
    F_TSA,
    F_SIGNATURES,
    F_SIZE,
    F_COUNT
} field;

static const char *const field_names[F_COUNT] = {
    "agent",          "agent_hex",    "key_fp", "path", "path_hex",       "verdict",
    "reason",         "alg",          "signer", "digest", "chain",        "format",
    "image_hash",     "signer_subject", "signing_time", "tsa", "signatures", "size",
};

/* Whether the records of a run (agents or files) have field f: the CSV columns. */
static int
run_has(field f, int agents)
{
    switch (f) {
    case F_AGENT:
    case F_AGENT_HEX:
    case F_KEY_FP:
        return agents;
    case F_SIGNER:
    case F_FORMAT:
    case F_IMAGE_HASH:
    case F_SIGNER_SUBJECT:
    case F_SIGNING_TIME:
    case F_TSA:
    case F_SIGNATURES:
        return !agents;
    default:
        return 1;
    }
}

/* A string field's value; NULL for the fields that are not one string. */
static const char *
string_of(field f, const sgs_record *rec)
{
    switch (f) {
    case F_AGENT:
        return rec->agent;
    case F_KEY_FP:
    case F_SIGNER:
        return rec->signer;
    case F_PATH:
        return rec->path;
    case F_REASON:
        return rec->reason;
    case F_ALG:
        return rec->alg;
    case F_DIGEST:
        return rec->digest;
    case F_CHAIN:
        return rec->chain;
    case F_FORMAT:
        return rec->format;
    case F_IMAGE_HASH:
        return rec->image_hash;
    case F_SIGNER_SUBJECT:
        return rec->signer_subject;
    case F_SIGNING_TIME:
        return rec->signing_time;
    case F_TSA:
        return rec->tsa;
    default:
        return NULL;
    }
}

/* Is s valid UTF-8 (JSON carries it exactly)? */
static int
is_utf8(const char *str)
{
    if (str == NULL)
        return 1; /* an absent field is printed as "" (valid) */
    for (const unsigned char *p = (const unsigned char *)str; *p;) {
        const size_t n = utf8_len(p);
        if (n == 0)
            return 0;
        p += n;
    }
    return 1;
}

/* The bytes of a name that is not UTF-8, in hex ("" for a UTF-8 name: it needs none). */
static void
hex_unless_utf8(FILE *fp, const char *raw)
{
    if (is_utf8(raw))
        return;
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
        fprintf(fp, "%02x", *p);
}

void
out_begin(out_sink *s)
{
    s->start = s->last_progress = out_now();
    if (s->format != OUT_CSV)
        return;
    const char *sep = "";
    for (int f = 0; f < F_COUNT; f++) {
        if (run_has((field)f, s->agents)) {
            fprintf(s->fp, "%s%s", sep, field_names[f]);
            sep = ",";
        }
    }
    putc('\n', s->fp);
}

/* One record as a JSON object: the fields it has, in the table's order. */
static void
json_record(FILE *fp, const sgs_record *rec, int agents)
{
    const int pe = rec->format != NULL && !agents;
    char sep = '{';
    for (int i = 0; i < F_COUNT; i++) {
        const field f = (field)i;
        if (!run_has(f, agents) || (f >= F_FORMAT && f <= F_SIGNATURES && !pe) ||
            ((f == F_AGENT_HEX || f == F_PATH_HEX) &&
             is_utf8(f == F_AGENT_HEX ? rec->agent : rec->path)))
            continue;
        fprintf(fp, "%c\"%s\":", sep, field_names[f]);
        sep = ',';
        const char *const str = string_of(f, rec);
        if (f == F_AGENT_HEX || f == F_PATH_HEX) {
            putc('"', fp);
            hex_unless_utf8(fp, f == F_AGENT_HEX ? rec->agent : rec->path);
            putc('"', fp);
        } else if (f == F_VERDICT) {
            fprintf(fp, "\"%s\"", sgs_verdict_name(rec->verdict));
        } else if (f == F_CHAIN) {
            json_lines_array(fp, rec->chain);
        } else if (f == F_SIGNATURES) {
            json_signatures(fp, rec);
        } else if (f == F_SIZE) {
            if (rec->has_size)
                fprintf(fp, "%llu", (unsigned long long)rec->size);
            else
                fputs("null", fp);
        } else {
            out_json_string(fp, str != NULL ? str : "", NULL);
        }
    }
    fputs("}\n", fp);
}

/* One record as a CSV row: every column of the run, in the header's order. */
static void
csv_record(FILE *fp, const sgs_record *rec, int agents)
{
    const char *sep = "";
    for (int i = 0; i < F_COUNT; i++) {
        const field f = (field)i;
        if (!run_has(f, agents))
            continue;
        fputs(sep, fp);
        sep = ",";
        const char *const str = string_of(f, rec);
        if (f == F_AGENT_HEX || f == F_PATH_HEX) {
            hex_unless_utf8(fp, f == F_AGENT_HEX ? rec->agent : rec->path);
        } else if (f == F_VERDICT) {
            fputs(sgs_verdict_name(rec->verdict), fp);
        } else if (f == F_SIGNATURES) {
            if (rec->format == NULL)
                continue;
            char *json = NULL;
            size_t len = 0;
            FILE *const mem = open_memstream(&json, &len); /* the JSON array, as one field */
            if (mem != NULL) {
                json_signatures(mem, rec);
                if (fclose(mem) == 0 && json != NULL)
                    csv_field(fp, json);
            }
            free(json);
        } else if (f == F_SIZE) {
            if (rec->has_size)
                fprintf(fp, "%llu", (unsigned long long)rec->size);
        } else {
            csv_field(fp, str != NULL ? str : "");
        }
    }
    putc('\n', fp);
}

static void
progress(out_sink *s)
{
    const double now = out_now();
    if (now - s->last_progress < 0.2)
        return;
    s->last_progress = now;
    sgs_stats st;
    sgs_engine_stats(s->engine, &st);
    const double secs = now - s->start > 1e-6 ? now - s->start : 1e-6;
    fprintf(stderr, "\r\033[K%llu files  %.0f files/s  %.1f MB/s ", (unsigned long long)st.files,
            (double)st.files / secs, (double)st.bytes / secs / 1e6);
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++)
        if (st.verdicts[v] > 0)
            fprintf(stderr, " %s %llu", sgs_verdict_name((sgs_verdict)v),
                    (unsigned long long)st.verdicts[v]);
}

void
out_record(void *opaque, const sgs_record *rec)
{
    out_sink *const s = opaque;
    FILE *const fp = s->fp;
    const char *const verdict = sgs_verdict_name(rec->verdict);
    if (s->silent || (s->hide_valid && rec->verdict == SGS_V_VALID)) {
        if (s->progress)
            progress(s);
        return;
    }
    switch (s->format) {
    case OUT_TEXT:
        text_escaped(fp, rec->agent[0] != '\0' ? rec->agent : rec->path);
        fprintf(fp, ": %s (", verdict);
        text_escaped(fp, rec->reason);
        fputs(")\n", fp);
        if (s->show_chain && rec->chain[0] != '\0') {
            char line[1024];
            const char *p = rec->chain;
            for (int first = 1; *p; first = 0) {
                const size_t len = strcspn(p, "\n");
                snprintf(line, sizeof(line), "%.*s", (int)len, p);
                fputs(first ? "  chain: " : "      <- ", fp);
                text_escaped(fp, line);
                putc('\n', fp);
                p += len + (p[len] == '\n');
            }
        }
        break;
    case OUT_JSONL:
        json_record(fp, rec, s->agents);
        break;
    case OUT_CSV:
        csv_record(fp, rec, s->agents);
        break;
    }
    if (ferror(fp))
        s->write_error = 1;
    if (s->progress)
        progress(s);
}

int
out_quiet_summary(const sgs_stats *st, int quiet)
{
    const int all_valid = st->files > 0 && st->verdicts[SGS_V_VALID] == st->files;
    return quiet >= OUT_QUIET_STATUS || (quiet == OUT_QUIET_VALID && all_valid);
}

void
out_summary(out_sink *s, const sgs_stats *st, int quiet, const char *what)
{
    if (s->progress)
        fputs("\r\033[K", stderr);
    if (out_quiet_summary(st, quiet))
        return;
    const double secs = out_now() - s->start;
    fprintf(stderr, "sigsweep: %llu files %s:", (unsigned long long)st->files, what);
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++)
        if (st->verdicts[v] > 0)
            fprintf(stderr, " %llu %s", (unsigned long long)st->verdicts[v],
                    sgs_verdict_name((sgs_verdict)v));
    fprintf(stderr, "; %.1f MB in %.2f s (%.0f MB/s, %.0f files/s)", (double)st->bytes / 1e6,
            secs, secs > 0 ? (double)st->bytes / secs / 1e6 : 0.0,
            secs > 0 ? (double)st->files / secs : 0.0);
    if (st->quarantined > 0)
        fprintf(stderr, "; %llu quarantined", (unsigned long long)st->quarantined);
    if (st->pcache_digest_hits > 0 || st->pcache_verdict_hits > 0)
        fprintf(stderr, "; persistent cache: %llu files not re-read, %llu verdicts reused",
                (unsigned long long)st->pcache_digest_hits,
                (unsigned long long)st->pcache_verdict_hits);
    if (st->verifications > 0 || st->cache_hits > 0)
        fprintf(stderr, "; %llu verifications, %llu cache hits",
                (unsigned long long)st->verifications, (unsigned long long)st->cache_hits);
    fputc('\n', stderr);
}

void
out_agents_summary(out_sink *s, const sgs_stats *st, int quiet)
{
    if (s->progress)
        fputs("\r\033[K", stderr);
    if (out_quiet_summary(st, quiet))
        return;
    const double secs = out_now() - s->start;
    fprintf(stderr, "sigsweep: %llu agents in %.2f s\n", (unsigned long long)st->files, secs);
    fprintf(stderr, "%llu of %llu agents do not have a valid server certificate\n",
            (unsigned long long)(st->files - st->verdicts[SGS_V_VALID]),
            (unsigned long long)st->files);
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++)
        if (st->verdicts[v] > 0)
            fprintf(stderr, "  %-20s %llu\n", sgs_verdict_name((sgs_verdict)v),
                    (unsigned long long)st->verdicts[v]);
}

void
out_package_summary(out_sink *s, const sgs_stats *st, int quiet)
{
    out_summary(s, st, quiet, "checked");
    if (out_quiet_summary(st, quiet))
        return;
    const uint64_t bad = st->files - st->verdicts[SGS_V_VALID];
    if (bad == 0 && st->files > 0) {
        fputs("package VALID\n", stderr);
        return;
    }
    fputs("package NOT VALID (", stderr);
    const char *sep = "";
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++) {
        if (v != SGS_V_VALID && st->verdicts[v] > 0) {
            fprintf(stderr, "%s%llu %s", sep, (unsigned long long)st->verdicts[v],
                    sgs_verdict_name((sgs_verdict)v));
            sep = ", ";
        }
    }
    const char *reason = "";
    const sgs_verdict mv = s->engine != NULL ? sgs_engine_manifest_verdict(s->engine, &reason)
                                             : SGS_V_VALID;
    if (st->files == 0 && mv != SGS_V_VALID && mv != SGS_V_UNJUDGED) /* another shard has it */
        fprintf(stderr, "the manifest: %s)\n", sgs_verdict_name(mv));
    else
        fputs(st->files == 0 ? "nothing checked)\n" : ")\n", stderr);
}

void
out_restore(FILE *fp, out_format f, const char *action, const char *original,
            const char *quarantined, const char *reason)
{
    if (f == OUT_JSONL) {
        int lossy_o = 0, lossy_q = 0;
        fprintf(fp, "{\"action\":\"%s\",\"original\":", action);
        out_json_string(fp, original, &lossy_o);
        fputs(",\"quarantined\":", fp);
        out_json_string(fp, quarantined, &lossy_q);
        if (lossy_o)
            json_hex_field(fp, "original_hex", original);
        if (lossy_q)
            json_hex_field(fp, "quarantined_hex", quarantined);
        fputs(",\"reason\":", fp);
        out_json_string(fp, reason, NULL);
        fputs("}\n", fp);
        return;
    }
    fprintf(fp, "%s ", action);
    text_escaped(fp, original);
    if (reason[0] != '\0') {
        fputs(" (", fp);
        text_escaped(fp, reason);
        putc(')', fp);
    }
    putc('\n', fp);
}

void
out_utc(long long t, char buf[32])
{
    struct tm tm;
    const time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "1970-01-01T00:00:00Z");
}

/* "counts", "files", "interrupted": what is known only at the end. */
static void
run_counts(FILE *fp, const sgs_stats *st)
{
    fputs("\"counts\":{", fp);
    const char *sep = "";
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++) {
        if (st->verdicts[v] > 0) {
            fprintf(fp, "%s\"%s\":%llu", sep, sgs_verdict_name((sgs_verdict)v),
                    (unsigned long long)st->verdicts[v]);
            sep = ",";
        }
    }
    fprintf(fp, "},\"files\":%llu,\"interrupted\":%s", (unsigned long long)st->files,
            st->interrupted ? "true" : "false");
}

void
out_run_record(FILE *fp, const out_run *r, const sgs_stats *st)
{
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    char start[32], end[32];
    out_utc(r->start, start);
    fputs("{\"type\":\"run\",\"format\":1,\"host\":", fp);
    out_json_string(fp, host, NULL);
    fprintf(fp, ",\"start\":\"%s\",", start);
    if (st != NULL) {
        out_utc((long long)time(NULL), end);
        fprintf(fp, "\"end\":\"%s\",", end);
    }
    fprintf(fp, "\"version\":\"%s\",\"command\":\"%s\",\"argv\":[\"sigsweep\"",
            sgs_version_string(), r->command);
    const char *w = r->command; /* "package verify": two words */
    while (*w != '\0') {
        const size_t len = strcspn(w, " ");
        fprintf(fp, ",\"%.*s\"", (int)len, w);
        w += len + (w[len] == ' ');
    }
    for (int i = 0; i < r->nargs; i++) {
        putc(',', fp);
        out_json_string(fp, r->args[i], NULL);
    }
    fprintf(fp, "],\"shard\":\"%u/%u\",", r->shard_count > 1 ? r->shard_index : 1,
            r->shard_count > 1 ? r->shard_count : 1);
    fprintf(fp, "\"fingerprints\":{\"keys\":\"%s\",\"trust\":\"%s\",\"options\":\"%s\"}",
            r->fp.keys, r->fp.trust, r->fp.options);
    if (st != NULL) {
        putc(',', fp);
        run_counts(fp, st);
    }
    fputs("}\n", fp);
}

void
out_run_end(FILE *fp, const sgs_stats *st)
{
    char end[32];
    out_utc((long long)time(NULL), end);
    fprintf(fp, "{\"type\":\"run_end\",\"end\":\"%s\",", end);
    run_counts(fp, st);
    fputs("}\n", fp);
}
