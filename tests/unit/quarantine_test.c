/*
 * quarantine_test.c - a quarantine rename happens only in the directory the walk listed the
 * file in: a path whose directory was swapped for a link to another one (holding the same
 * file) is refused, nothing renamed; the walked directory itself works, and a path given
 * directly (no walked directory) too. Journal (issue 12): a file that is not a journal is never
 * modified; FIFOs and links are refused without hanging; two handles on one journal (two runs)
 * never reuse a sequence number; an over-long name gets a reversible shortened name; a file
 * gone from its name says so; restore renames only within the quarantined file's directory,
 * back to the recorded name, and refuses hand-written records that ask for anything else.
 */
#include "quarantine.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include "journal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[512];

static void
path_of(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", root, rel);
}

static void on_restore(void *opaque, const sgs_restore_record *r);

static void
test_not_a_journal(void)
{
    char p[PATH_MAX], err[512], buf[64];
    /* an existing file without the header (and without a final newline): refused, untouched */
    path_of(p, sizeof(p), "precious.txt");
    static const char text[] = "line one\nno newline at the end";
    sgs_test_write(p, text, sizeof(text) - 1);
    CHECK(sgs_journal_open(NULL, p, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "not a sigsweep journal") != NULL && strstr(err, p) != NULL);
    FILE *f = fopen(p, "r");
    REQUIRE(f != NULL);
    const size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    CHECK(n == sizeof(text) - 1 && memcmp(buf, text, n) == 0);
    /* a FIFO: refused, no hang; a link to a journal: refused (never followed) */
    path_of(p, sizeof(p), "fifo.journal");
    REQUIRE(mkfifo(p, 0600) == 0);
    CHECK(sgs_journal_open(NULL, p, err, sizeof(err)) == NULL);
    CHECK(strstr(err, p) != NULL);
    char real[PATH_MAX];
    path_of(real, sizeof(real), "real.journal");
    sgs_journal *j = sgs_journal_open(NULL, real, err, sizeof(err));
    REQUIRE(j != NULL);
    sgs_journal_close(j);
    path_of(p, sizeof(p), "link.journal");
    REQUIRE(symlink(real, p) == 0);
    CHECK(sgs_journal_open(NULL, p, err, sizeof(err)) == NULL);
    /* restore given a FIFO: an error, no hang */
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    path_of(p, sizeof(p), "fifo.journal");
    ro.journal = p;
    CHECK(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)) != SGS_OK);
}

static unsigned restored_count, refused_count;

static void
on_restore(void *opaque, const sgs_restore_record *r)
{
    (void)opaque;
    restored_count += r->action == SGS_RESTORE_DONE;
    refused_count += r->action == SGS_RESTORE_REFUSED;
}

/* Sequence numbers of Q records in the journal at p: 1 when all are distinct. */
static int
distinct_q_seqs(const char *p, unsigned *count)
{
    FILE *const f = fopen(p, "r");
    REQUIRE(f != NULL);
    uint64_t seen[256];
    unsigned n = 0;
    char line[8192];
    int ok = 1;
    while (fgets(line, sizeof(line), f) != NULL) {
        uint64_t s;
        if (line[0] != 'Q' || sscanf(line, "Q %" SCNu64, &s) != 1)
            continue;
        for (unsigned i = 0; i < n; i++)
            ok &= seen[i] != s;
        if (n < 256)
            seen[n++] = s;
    }
    fclose(f);
    *count = n;
    return ok;
}

static void
test_two_runs_and_long_names(void)
{
    char jp[PATH_MAX], d[PATH_MAX], f[PATH_MAX + 300], moved[PATH_MAX + 300], why[512],
        err[512];
    path_of(jp, sizeof(jp), "shared.journal");
    path_of(d, sizeof(d), "two");
    REQUIRE(mkdir(d, 0755) == 0);
    /* two handles: two runs sharing the journal, interleaved */
    sgs_journal *const a = sgs_journal_open(NULL, jp, err, sizeof(err));
    sgs_journal *const b = sgs_journal_open(NULL, jp, err, sizeof(err));
    REQUIRE(a != NULL && b != NULL);
    for (int i = 0; i < 20; i++) {
        struct stat st;
        snprintf(f, sizeof(f), "%s/f%d", d, i);
        sgs_test_write(f, "bad\n", 4);
        REQUIRE(stat(f, &st) == 0);
        CHECK_EQ_INT(sgs_quarantine_file_ex(i % 2 ? a : b, f, &st, 0, 0, moved, sizeof(moved),
                                            why, sizeof(why)),
                     SGS_QUARANTINE_DONE);
    }
    /* a name with no room for the suffix: a shortened name, reversible through the journal */
    char longname[256];
    memset(longname, 'n', 250);
    longname[250] = '\0';
    snprintf(f, sizeof(f), "%s/%s", d, longname);
    sgs_test_write(f, "bad\n", 4);
    struct stat st;
    REQUIRE(stat(f, &st) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(a, f, &st, 0, 0, moved, sizeof(moved), why, sizeof(why)),
                 SGS_QUARANTINE_DONE);
    CHECK(access(f, F_OK) != 0 && access(moved, F_OK) == 0);
    CHECK(strlen(strrchr(moved, '/') + 1) <= NAME_MAX && strstr(moved, "_invalid") != NULL);
    /* already renamed (a concurrent run did it): said plainly, nothing renamed */
    CHECK_EQ_INT(sgs_quarantine_file_ex(b, f, &st, 0, 0, moved, sizeof(moved), why, sizeof(why)),
                 SGS_QUARANTINE_NOT_THE_FILE);
    CHECK(strstr(why, "already under the quarantine name ") != NULL);
    /* gone, and not under a quarantine name: renamed or removed by someone */
    snprintf(f, sizeof(f), "%s/removed", d);
    sgs_test_write(f, "bad\n", 4);
    REQUIRE(stat(f, &st) == 0 && unlink(f) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(b, f, &st, 0, 0, moved, sizeof(moved), why, sizeof(why)),
                 SGS_QUARANTINE_NOT_THE_FILE);
    CHECK(strstr(why, "no longer there") != NULL);
    /* a file that is not the judged one: not renamed */
    snprintf(f, sizeof(f), "%s/other", d);
    sgs_test_write(f, "bad\n", 4);
    struct stat wrong = st;
    CHECK_EQ_INT(sgs_quarantine_file_ex(b, f, &wrong, 0, 0, moved, sizeof(moved), why,
                                        sizeof(why)),
                 SGS_QUARANTINE_NOT_THE_FILE);
    CHECK(access(f, F_OK) == 0);
    CHECK(sgs_journal_failures(a) == 0 && sgs_journal_failures(b) == 0);
    sgs_journal_close(a);
    sgs_journal_close(b);
    unsigned nq = 0;
    CHECK(distinct_q_seqs(jp, &nq));
    CHECK_EQ_INT((int)nq, 21);
    /* restore sees every record: all 21 back, exit status OK */
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.journal = jp;
    restored_count = refused_count = 0;
    CHECK_EQ_INT(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT((int)restored_count, 21);
    CHECK_EQ_INT((int)refused_count, 0);
    snprintf(f, sizeof(f), "%s/%s", d, longname);
    CHECK(access(f, F_OK) == 0);
}

static void
hexpath(const char *p, char *out)
{
    for (; *p; p++, out += 2)
        sprintf(out, "%02x", (unsigned char)*p);
    *out = '\0';
}

/* A journal with one hand-written Q record for the file at q (its identity), named orig. */
static void
forged(const char *jp, const char *orig, const char *q)
{
    struct stat st;
    REQUIRE(lstat(q, &st) == 0);
    char oh[2 * PATH_MAX + 1], qh[2 * PATH_MAX + 1], line[4 * PATH_MAX + 256];
    hexpath(orig, oh);
    hexpath(q, qh);
    const int n = snprintf(line, sizeof(line),
                           "sigsweep-journal 1\nQ 1 %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                           " %s %s\nD 1\n",
                           (uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                           (uint64_t)st.st_mtim.tv_sec * 1000000000u +
                               (uint64_t)st.st_mtim.tv_nsec,
                           oh, qh);
    sgs_test_write(jp, line, (size_t)n);
    REQUIRE(chmod(jp, 0600) == 0); /* a journal others can read is not used */
}

/* The journal is input: its records are read exactly as written (digits only, no overflow,
   lowercase hex, single spaces, nothing after the last field); anything else is malformed. */
static void
test_strict_records(void)
{
    static const char *const bad[] = {
        "Q +1 2 3 4 5 61 62\n",  "Q 1 2 3 4 18446744073709551616 61 62\n",
        "Q 1 2 3 4 5 +a 62\n",   "Q 1 2 3 4 5 6G 62\n", "Q 1 2 3 4 5  61 62\n",
        "Q 1 2 3 4 5 61 62 x\n", "Q 1 2 3 4 5 61\n",    "Q 1 2 3 4 5 61 62\nD 1x\n",
        "Q 1 2 3 4 5 61 62\nD -1\n", "Q 1 2 3 4 5 61 62\nD  1\n", "Q 1 2 3 4 5 6A 62\n",
    };
    char jp[PATH_MAX], text[256], err[256];
    sgs_journal_entry *e = NULL;
    size_t n = 0;
    path_of(jp, sizeof(jp), "strict.journal");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const int len = snprintf(text, sizeof(text), "sigsweep-journal 1\n%s", bad[i]);
        sgs_test_write(jp, text, (size_t)len);
        const int rc = sgs_journal_read(NULL, jp, &e, &n, err, sizeof(err));
        CHECK_EQ_INT(rc, -1);
        if (rc != -1)
            fprintf(stderr, "accepted: %s", bad[i]);
        CHECK(strstr(err, "malformed") != NULL);
    }
    static const char good[] =
        "sigsweep-journal 1\nQ 7 18446744073709551615 3 4 5 2f61 2f62\nD 7\n";
    sgs_test_write(jp, good, sizeof(good) - 1);
    REQUIRE(sgs_journal_read(NULL, jp, &e, &n, err, sizeof(err)) == 0 && n == 1);
    CHECK(e[0].seq == 7 && e[0].dev == UINT64_MAX && e[0].ino == 3 && e[0].size == 4 &&
          e[0].mtime_ns == 5 && e[0].done && !e[0].restored);
    CHECK_EQ_STR(e[0].orig, "/a");
    CHECK_EQ_STR(e[0].quarantined, "/b");
    sgs_journal_entries_free(NULL, e, n);
}

static void
test_restore_confined(void)
{
    char jp[PATH_MAX], a[PATH_MAX], b[PATH_MAX], src[PATH_MAX + 32], dst[PATH_MAX + 32],
        err[512];
    path_of(jp, sizeof(jp), "forged.journal");
    path_of(a, sizeof(a), "ra");
    path_of(b, sizeof(b), "rb");
    REQUIRE(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0);
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.journal = jp;
    struct {
        const char *q, *orig;
    } cases[] = {
        {"ra/payload_invalid", "rb/payload"},   /* into another directory (e.g. /etc) */
        {"ra/payload_invalid", "ra/passwd"},    /* to another name */
        {"ra/payload", "ra/payload.real"},      /* not a quarantine name at all */
        {"ra/payload_invalid", "ra/../rb/payload"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        path_of(src, sizeof(src), cases[i].q);
        path_of(dst, sizeof(dst), cases[i].orig);
        sgs_test_write(src, "x\n", 2);
        forged(jp, dst, src);
        restored_count = refused_count = 0;
        CHECK_EQ_INT(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)), SGS_ERR_STATE);
        CHECK_EQ_INT((int)refused_count, 1);
        CHECK(access(src, F_OK) == 0 && access(dst, F_OK) != 0);
        unlink(src);
    }
    /* a directory of the path a symbolic link: refused, nothing renamed */
    char viadir[PATH_MAX];
    path_of(viadir, sizeof(viadir), "via");
    REQUIRE(symlink(a, viadir) == 0);
    path_of(src, sizeof(src), "ra/z_invalid");
    sgs_test_write(src, "x\n", 2);
    char qv[PATH_MAX + 32], ov[PATH_MAX + 32];
    snprintf(qv, sizeof(qv), "%s/z_invalid", viadir);
    snprintf(ov, sizeof(ov), "%s/z", viadir);
    forged(jp, ov, qv);
    restored_count = refused_count = 0;
    CHECK_EQ_INT(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)), SGS_ERR_STATE);
    CHECK(access(src, F_OK) == 0);
    /* the legitimate form: restored */
    path_of(dst, sizeof(dst), "ra/z");
    forged(jp, dst, src);
    restored_count = refused_count = 0;
    CHECK_EQ_INT(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)), SGS_OK);
    CHECK(restored_count == 1 && access(dst, F_OK) == 0 && access(src, F_OK) != 0);
}

/* The journal reader takes exactly what the writer writes: a sign, a "+", a leading zero,
   an extra space or upper-case hex is a malformed record (else "Q-2" read as 2^64 - 2 while
   the sequence scan reads 2: the two would disagree on which numbers are taken). */
static void
test_journal_strict(void)
{
    static const char *const bad[] = {
        "Q-2 1 2 3 4 2f61 2f615f696e76616c6964\n",
        "Q +2 1 2 3 4 2f61 2f615f696e76616c6964\n",
        "Q 02 1 2 3 4 2f61 2f615f696e76616c6964\n",
        "Q  2 1 2 3 4 2f61 2f615f696e76616c6964\n",
        "Q 2 1 2 3 4 2F61 2f615f696e76616c6964\n",
        "Q 2 1 2 3 99999999999999999999 2f61 2f615f696e76616c6964\n",
        "Q 2 1 2 3 4 2f61 2f615f696e76616c6964 x\n",
        "Q 2 1 2 3 4 2f61 2f615f696e76616c6964\nD -2\n",
        "Q 2 1 2 3 4 2f61 2f615f696e76616c6964\nD 2 \n",
    };
    char path[PATH_MAX], err[256];
    path_of(path, sizeof(path), "strict.journal");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "%s\n%s", SGS_JOURNAL_HEADER, bad[i]);
        sgs_test_write(path, text, strlen(text));
        sgs_journal_entry *e = NULL;
        size_t n = 0;
        CHECK_EQ_INT(sgs_journal_read(NULL, path, &e, &n, err, sizeof(err)), -1);
        CHECK(e == NULL && strstr(err, "malformed") != NULL);
    }
    static const char good[] = SGS_JOURNAL_HEADER "\n"
                               "Q 2 1 2 3 4 2f61 2f615f696e76616c6964\nD 2\n";
    sgs_test_write(path, good, sizeof(good) - 1);
    sgs_journal_entry *e = NULL;
    size_t n = 0;
    CHECK_EQ_INT(sgs_journal_read(NULL, path, &e, &n, err, sizeof(err)), 0);
    CHECK(n == 1 && e != NULL && e[0].seq == 2 && e[0].done && strcmp(e[0].orig, "/a") == 0);
    sgs_journal_entries_free(NULL, e, n);
}


/* Makes d/name (a bad file) and quarantines it through j: the result, why in why. */
static sgs_quarantine_result
quarantine_new(sgs_journal *j, const char *d, const char *name, char *why, size_t whylen)
{
    char f[PATH_MAX + 32], moved[PATH_MAX + 64];
    struct stat st;
    snprintf(f, sizeof(f), "%s/%s", d, name);
    sgs_test_write(f, "bad\n", 4);
    REQUIRE(stat(f, &st) == 0);
    return sgs_quarantine_file_ex(j, f, &st, 0, 0, moved, sizeof(moved), why, whylen);
}

/* A record cut short (a full disk; here RLIMIT_FSIZE, which makes the same short write) is cut
   back off: the next record starts a line of its own and the journal stays readable (issue
   18: a torn Q followed by the next run's record made restore refuse the whole journal). */
static void
test_short_write(void)
{
    char jp[PATH_MAX], d[PATH_MAX], f[PATH_MAX + 32], moved[PATH_MAX + 64], why[512], err[512];
    path_of(jp, sizeof(jp), "short.journal");
    path_of(d, sizeof(d), "short");
    REQUIRE(mkdir(d, 0755) == 0);
    sgs_journal *const j = sgs_journal_open(NULL, jp, err, sizeof(err));
    REQUIRE(j != NULL);
    struct stat js, st;
    REQUIRE(stat(jp, &js) == 0);
    struct rlimit old, lim;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*const was)(int) = signal(SIGXFSZ, SIG_IGN);
    snprintf(f, sizeof(f), "%s/first", d);
    sgs_test_write(f, "bad\n", 4);
    REQUIRE(stat(f, &st) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)js.st_size + 20; /* room for 20 bytes of the Q record */
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(j, f, &st, 0, 0, moved, sizeof(moved), why,
                                        sizeof(why)),
                 SGS_QUARANTINE_FAILED);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
    (void)signal(SIGXFSZ, was);
    CHECK(strstr(why, "cannot write the journal") != NULL && access(f, F_OK) == 0);
    struct stat after;
    CHECK(stat(jp, &after) == 0 && after.st_size == js.st_size); /* cut back */
    /* space again: the next file is quarantined, and the journal reads whole */
    CHECK_EQ_INT(quarantine_new(j, d, "second", why, sizeof(why)), SGS_QUARANTINE_DONE);
    /* a torn tail some other writer left (it died mid-write): cut before the next append */
    const int raw = open(jp, O_WRONLY | O_APPEND);
    REQUIRE(raw >= 0 && write(raw, "Q 99 1 2", 8) == 8);
    close(raw);
    CHECK_EQ_INT(quarantine_new(j, d, "third", why, sizeof(why)), SGS_QUARANTINE_DONE);
    sgs_journal_close(j);
    sgs_journal_entry *e = NULL;
    size_t n = 0;
    CHECK_EQ_INT(sgs_journal_read(NULL, jp, &e, &n, err, sizeof(err)), 0);
    CHECK(n == 2 && e != NULL && e[0].done && e[1].done && e[0].ctime_ns != 0);
    sgs_journal_entries_free(NULL, e, n);
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.journal = jp;
    restored_count = refused_count = 0;
    CHECK_EQ_INT(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT((int)restored_count, 2);
}

/* Waiting for another process's journal lock: given up when the run is stopped (the stop
   flag), never a wait without end; a journal others could read (and so lock) is refused. */
static void
test_lock_wait(void)
{
    char jp[PATH_MAX], f[PATH_MAX + 32], moved[PATH_MAX + 64], why[512], err[512];
    path_of(jp, sizeof(jp), "locked.journal");
    sgs_journal *const j = sgs_journal_open(NULL, jp, err, sizeof(err));
    REQUIRE(j != NULL);
    atomic_int stop = 1;
    sgs_journal_set_cancel(j, &stop);
    const int other = open(jp, O_RDONLY); /* another process's open file description */
    REQUIRE(other >= 0 && flock(other, LOCK_EX) == 0);
    path_of(f, sizeof(f), "locked-file");
    sgs_test_write(f, "bad\n", 4);
    struct stat st;
    REQUIRE(stat(f, &st) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(j, f, &st, 0, 0, moved, sizeof(moved), why,
                                        sizeof(why)),
                 SGS_QUARANTINE_FAILED);
    CHECK(strstr(why, "stopped while waiting for the journal lock") != NULL);
    CHECK(access(f, F_OK) == 0);
    close(other);
    stop = 0;
    CHECK_EQ_INT(sgs_quarantine_file_ex(j, f, &st, 0, 0, moved, sizeof(moved), why,
                                        sizeof(why)),
                 SGS_QUARANTINE_DONE);
    /* rewritten since it was judged, its size and mtime put back: the ctime tells, not renamed */
    path_of(f, sizeof(f), "rewritten");
    sgs_test_write(f, "bad\n", 4);
    REQUIRE(stat(f, &st) == 0);
    struct timespec sleep_a_tick = {0, 20 * 1000 * 1000};
    nanosleep(&sleep_a_tick, NULL);
    sgs_test_write(f, "BAD\n", 4);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    REQUIRE(utimensat(AT_FDCWD, f, times, 0) == 0);
    char unmoved[PATH_MAX + 64];
    CHECK_EQ_INT(sgs_quarantine_file_ex(j, f, &st, 0, 0, unmoved, sizeof(unmoved), why,
                                        sizeof(why)),
                 SGS_QUARANTINE_NOT_THE_FILE);
    CHECK(strstr(why, "changed or was replaced") != NULL && access(f, F_OK) == 0);
    sgs_journal_close(j);
    REQUIRE(chmod(jp, 0644) == 0);
    CHECK(sgs_journal_open(NULL, jp, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "readable by others") != NULL);
    sgs_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.journal = jp;
    CHECK(sgs_restore(&ro, on_restore, NULL, err, sizeof(err)) != SGS_OK);
    CHECK(strstr(err, "readable by others") != NULL && access(moved, F_OK) == 0);
}


/* sigsweep's own quarantine is never renamed again: by the journal as it is now (also a Q whose
   D could not be written), at its journalled path only (moved elsewhere it is a file like any) */
static void
test_not_again(void)
{
    char jp[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX], f[PATH_MAX + 32], q[PATH_MAX + 64],
        moved[PATH_MAX + 64], why[512], err[512];
    path_of(jp, sizeof(jp), "again.journal");
    path_of(d1, sizeof(d1), "again1");
    path_of(d2, sizeof(d2), "again2");
    REQUIRE(mkdir(d1, 0755) == 0 && mkdir(d2, 0755) == 0);
    sgs_journal *const j = sgs_journal_open(NULL, jp, err, sizeof(err));
    REQUIRE(j != NULL);
    CHECK_EQ_INT(quarantine_new(j, d1, "x", why, sizeof(why)), SGS_QUARANTINE_DONE);
    CHECK_EQ_INT(quarantine_new(j, d1, "y", why, sizeof(why)), SGS_QUARANTINE_DONE);
    struct stat st;
    snprintf(q, sizeof(q), "%s/x_invalid", d1);
    REQUIRE(stat(q, &st) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(j, q, &st, 0, 0, moved, sizeof(moved), why, sizeof(why)),
                 SGS_QUARANTINE_NOT_THE_FILE);
    CHECK(strstr(why, "not quarantined again") != NULL && access(q, F_OK) == 0);
    /* moved to another directory under the same name: not the journalled quarantine */
    snprintf(f, sizeof(f), "%s/y_invalid", d1);
    snprintf(q, sizeof(q), "%s/y_invalid", d2);
    REQUIRE(rename(f, q) == 0 && stat(q, &st) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(j, q, &st, 0, 0, moved, sizeof(moved), why, sizeof(why)),
                 SGS_QUARANTINE_DONE);
    sgs_journal_close(j);
    /* a Q whose D is missing (the disk filled after the rename): still ours */
    path_of(jp, sizeof(jp), "again2.journal");
    sgs_journal *const k = sgs_journal_open(NULL, jp, err, sizeof(err));
    REQUIRE(k != NULL);
    CHECK_EQ_INT(quarantine_new(k, d2, "z", why, sizeof(why)), SGS_QUARANTINE_DONE);
    sgs_journal_close(k);
    FILE *const jf = fopen(jp, "r+");
    REQUIRE(jf != NULL);
    char text[8192];
    const size_t n = fread(text, 1, sizeof(text) - 1, jf);
    text[n] = '\0';
    char *const dline = strstr(text, "\nD ");
    REQUIRE(dline != NULL);
    dline[1] = '\0';
    REQUIRE(fclose(jf) == 0);
    REQUIRE(truncate(jp, 0) == 0);
    sgs_test_write(jp, text, strlen(text));
    REQUIRE(chmod(jp, 0600) == 0);
    sgs_journal *const l = sgs_journal_open(NULL, jp, err, sizeof(err));
    REQUIRE(l != NULL);
    snprintf(q, sizeof(q), "%s/z_invalid", d2);
    REQUIRE(stat(q, &st) == 0);
    CHECK_EQ_INT(sgs_quarantine_file_ex(l, q, &st, 0, 0, moved, sizeof(moved), why, sizeof(why)),
                 SGS_QUARANTINE_NOT_THE_FILE);
    CHECK(strstr(why, "not quarantined again") != NULL);
    sgs_journal_close(l);
}

int
main(void)
{
    sgs_test_tmpdir(root, sizeof(root), "quarantine");
    test_journal_strict();
    char real[PATH_MAX], other[PATH_MAX], file[PATH_MAX], via_link[PATH_MAX], link[PATH_MAX];
    char journal[PATH_MAX], moved[PATH_MAX], why[256] = "", err[256];
    path_of(real, sizeof(real), "real");
    path_of(other, sizeof(other), "other");
    REQUIRE(mkdir(real, 0755) == 0 && mkdir(other, 0755) == 0);
    path_of(file, sizeof(file), "other/f");
    sgs_test_write(file, "unsigned\n", 9);
    path_of(link, sizeof(link), "walked");
    REQUIRE(symlink(other, link) == 0); /* "walked" now leads to other/ */
    path_of(via_link, sizeof(via_link), "walked/f");
    path_of(journal, sizeof(journal), "q.journal");
    sgs_journal *const j = sgs_journal_open(NULL, journal, err, sizeof(err));
    REQUIRE(j != NULL);
    struct stat judged, walked_dir, other_dir;
    REQUIRE(stat(file, &judged) == 0 && stat(real, &walked_dir) == 0 &&
            stat(other, &other_dir) == 0);

    /* the walk listed f in real/; the path now leads into other/ through a link: refused,
       nothing renamed, whichever directory was judged (a link in its path is never followed) */
    CHECK_EQ_INT(sgs_quarantine_file(j, via_link, &judged, walked_dir.st_dev, walked_dir.st_ino,
                                     moved, sizeof(moved), why, sizeof(why)),
                 0);
    CHECK(strstr(why, "symbolic link") != NULL);
    CHECK(access(file, F_OK) == 0);
    why[0] = '\0';
    CHECK_EQ_INT(sgs_quarantine_file(j, via_link, &judged, other_dir.st_dev, other_dir.st_ino,
                                     moved, sizeof(moved), why, sizeof(why)),
                 0);
    CHECK(strstr(why, "symbolic link") != NULL);
    CHECK(access(file, F_OK) == 0);

    /* the path without the link, and the directory it was judged in: renamed */
    why[0] = '\0';
    CHECK_EQ_INT(sgs_quarantine_file(j, file, &judged, other_dir.st_dev, other_dir.st_ino,
                                     moved, sizeof(moved), why, sizeof(why)),
                 1);
    CHECK(access(file, F_OK) != 0);
    char want[PATH_MAX];
    path_of(want, sizeof(want), "other/f_invalid");
    char *const got = realpath(moved, NULL);
    char *const exp = realpath(want, NULL);
    CHECK(got != NULL && exp != NULL && strcmp(got, exp) == 0);
    free(got);
    free(exp);

    /* the same name in a directory that is not the one judged (moved, replaced): refused */
    path_of(file, sizeof(file), "other/h");
    sgs_test_write(file, "unsigned\n", 9);
    REQUIRE(stat(file, &judged) == 0);
    why[0] = '\0';
    CHECK_EQ_INT(sgs_quarantine_file(j, file, &judged, walked_dir.st_dev, walked_dir.st_ino,
                                     moved, sizeof(moved), why, sizeof(why)),
                 0);
    CHECK(strstr(why, "not the one it was judged in") != NULL);
    CHECK(access(file, F_OK) == 0);

    /* a path given directly (no walked directory): as given */
    path_of(file, sizeof(file), "real/g");
    sgs_test_write(file, "unsigned\n", 9);
    REQUIRE(stat(file, &judged) == 0);
    CHECK_EQ_INT(sgs_quarantine_file(j, file, &judged, 0, 0, moved, sizeof(moved), why,
                                     sizeof(why)),
                 1);
    CHECK(access(file, F_OK) != 0);
    sgs_journal_close(j);
    test_not_a_journal();
    test_two_runs_and_long_names();
    test_strict_records();
    test_restore_confined();
    test_short_write();
    test_lock_wait();
    test_not_again();
    sgs_test_rm_rf(root);
    return sgs_test_done("quarantine_test");
}
