/*
 * scan_test.c - the walk: each regular file once, in name order, signatures skipped, symbolic
 * links reported and never followed, FIFOs reported as special, a missing root as missing, and
 * a callback's non-zero return stops the walk and is returned.
 */
#include "mountmap.h"
#include "scan.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#define MAX_SEEN 64

typedef struct seen {
    size_t n;
    char path[MAX_SEEN][PATH_MAX];
    sgs_scan_kind kind[MAX_SEEN];
    int err[MAX_SEEN];
    size_t stop_after; /* 0 = never stop */
    int stop_value;
} seen;

static int
collect(void *opaque, const char *path, sgs_scan_kind kind, int errno_value)
{
    seen *const s = opaque;
    REQUIRE(s->n < MAX_SEEN);
    snprintf(s->path[s->n], PATH_MAX, "%s", path);
    s->kind[s->n] = kind;
    s->err[s->n] = errno_value;
    s->n++;
    return s->stop_after != 0 && s->n >= s->stop_after ? s->stop_value : 0;
}

static char root[512];

static void
mk(const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    sgs_test_write(p, rel, strlen(rel));
}

static void
mkd(const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    REQUIRE(mkdir(p, 0755) == 0);
}

typedef struct expect {
    const char *rel;
    sgs_scan_kind kind;
} expect;

static void
check_seen(const seen *s, const expect *ex, size_t n)
{
    CHECK_EQ_INT(s->n, n);
    for (size_t i = 0; i < n && i < s->n; i++) {
        char want[PATH_MAX];
        snprintf(want, sizeof(want), "%s/%s", root, ex[i].rel);
        CHECK_EQ_STR(s->path[i], want);
        CHECK_EQ_INT(s->kind[i], ex[i].kind);
        CHECK_EQ_INT(s->err[i], 0);
    }
}

static void
build_tree(void)
{
    /* Created out of order, so name order is the walk's doing, not the directory's. */
    mk("zeta");
    mk("alpha");
    mk("alpha.sig"); /* a signature: skipped */
    mk("m.txt");
    mkd("dir");
    mk("dir/b");
    mk("dir/a");
    mk("dir/a.sig");
    mkd("dir/deeper");
    mk("dir/deeper/x");
    mkd("empty");
    mk("orphan.sig"); /* no file beside it: a file like any other (issue 12) */
    mk(".sig");       /* the whole name is the suffix: not a signature of anything */
    mk("sig");
    mk("alpha.sig.bak"); /* suffix not at the end */
    char p[PATH_MAX], t[PATH_MAX];
    snprintf(p, sizeof(p), "%s/fifo", root);
    REQUIRE(mkfifo(p, 0644) == 0);
    snprintf(p, sizeof(p), "%s/link_dir", root);
    snprintf(t, sizeof(t), "%s/dir", root);
    REQUIRE(symlink(t, p) == 0); /* must not be followed into dir/ */
    snprintf(p, sizeof(p), "%s/link_file", root);
    REQUIRE(symlink("alpha", p) == 0);
    snprintf(p, sizeof(p), "%s/link_dangling", root);
    REQUIRE(symlink("does-not-exist", p) == 0);
    snprintf(p, sizeof(p), "%s/link_sig.sig", root); /* a link named like a signature */
    REQUIRE(symlink("alpha", p) == 0);
}

static const expect tree_expect[] = {
    {".sig", SGS_SCAN_FILE},
    {"alpha", SGS_SCAN_FILE},
    {"alpha.sig.bak", SGS_SCAN_FILE},
    {"dir/a", SGS_SCAN_FILE},
    {"dir/b", SGS_SCAN_FILE},
    {"dir/deeper/x", SGS_SCAN_FILE},
    {"fifo", SGS_SCAN_SPECIAL},
    {"link_dangling", SGS_SCAN_SYMLINK},
    {"link_dir", SGS_SCAN_SYMLINK},
    {"link_file", SGS_SCAN_SYMLINK},
    {"link_sig.sig", SGS_SCAN_SYMLINK}, /* link_sig is no regular file: not a signature */
    {"m.txt", SGS_SCAN_FILE},
    {"orphan.sig", SGS_SCAN_FILE},
    {"sig", SGS_SCAN_FILE},
    {"zeta", SGS_SCAN_FILE},
};

static void
test_tree(void)
{
    seen *const s = calloc(1, sizeof(*s));
    REQUIRE(s != NULL);
    CHECK_EQ_INT(sgs_scan_path(root, ".sig", collect, s), 0);
    check_seen(s, tree_expect, sizeof(tree_expect) / sizeof(tree_expect[0]));

    /* Without a skip suffix the signatures are inputs too. */
    memset(s, 0, sizeof(*s));
    CHECK_EQ_INT(sgs_scan_path(root, NULL, collect, s), 0);
    CHECK_EQ_INT(s->n, sizeof(tree_expect) / sizeof(tree_expect[0]) + 2);
    memset(s, 0, sizeof(*s));
    CHECK_EQ_INT(sgs_scan_path(root, "", collect, s), 0);
    CHECK_EQ_INT(s->n, sizeof(tree_expect) / sizeof(tree_expect[0]) + 2);

    /* A different suffix: m.txt has no regular m beside it, so it is a file like any other. */
    memset(s, 0, sizeof(*s));
    CHECK_EQ_INT(sgs_scan_path(root, ".txt", collect, s), 0);
    CHECK_EQ_INT(s->n, sizeof(tree_expect) / sizeof(tree_expect[0]) + 2);
    int mtxt = 0;
    for (size_t i = 0; i < s->n; i++)
        mtxt += strstr(s->path[i], "m.txt") != NULL;
    CHECK_EQ_INT(mtxt, 1);
    free(s);
}

static void
test_roots(void)
{
    seen *const s = calloc(1, sizeof(*s));
    REQUIRE(s != NULL);
    char p[PATH_MAX];

    /* A regular file root: one entry, as given. */
    snprintf(p, sizeof(p), "%s/alpha", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    CHECK_EQ_STR(s->path[0], p);
    CHECK_EQ_INT(s->kind[0], SGS_SCAN_FILE);

    /* A missing root. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/no/such/path", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    CHECK_EQ_STR(s->path[0], p);
    CHECK_EQ_INT(s->kind[0], SGS_SCAN_MISSING);
    CHECK_EQ_INT(s->err[0], ENOENT);

    /* A symbolic link to a directory as root: reported, not followed. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/link_dir", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    CHECK_EQ_INT(s->kind[0], SGS_SCAN_SYMLINK);

    /* A dangling link as root. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/link_dangling", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    CHECK_EQ_INT(s->kind[0], SGS_SCAN_SYMLINK);

    /* A FIFO as root: special, and the walk must not block opening it. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/fifo", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    CHECK_EQ_INT(s->kind[0], SGS_SCAN_SPECIAL);

    /* An empty directory: nothing. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/empty", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 0);

    /* A subdirectory root: paths keep the root as given. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/dir", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 3);
    if (s->n == 3) {
        char want[PATH_MAX];
        snprintf(want, sizeof(want), "%s/dir/a", root);
        CHECK_EQ_STR(s->path[0], want);
        snprintf(want, sizeof(want), "%s/dir/deeper/x", root);
        CHECK_EQ_STR(s->path[2], want);
    }

    /* A signature given by name, with its file beside it: the file is reported (issue 17d);
       an orphan signature is itself; repeated slashes are not reported. */
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s//alpha.sig", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    if (s->n == 1) {
        char want[PATH_MAX];
        snprintf(want, sizeof(want), "%s/alpha", root);
        CHECK_EQ_STR(s->path[0], want);
        CHECK_EQ_INT(s->kind[0], SGS_SCAN_FILE);
    }
    CHECK(sgs_signature_subject(p, ".sig", 0) == strlen(p) - strlen(".sig"));
    CHECK(sgs_signature_subject(p, ".p7s", 1) == 0);
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s/orphan.sig", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    if (s->n == 1)
        CHECK_EQ_STR(s->path[0], p);
    CHECK(sgs_signature_subject(p, ".sig", 1) == 0);
    snprintf(p, sizeof(p), "%s/alpha.p7s", root); /* not there: missing, not alpha */
    CHECK(sgs_signature_subject(p, ".sig", 1) == 0);
    memset(s, 0, sizeof(*s));
    snprintf(p, sizeof(p), "%s//dir//", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 3);
    for (size_t i = 0; i < s->n; i++)
        CHECK(strstr(s->path[i], "//") == NULL);

    /* /dev/null: a character device is special. */
    memset(s, 0, sizeof(*s));
    CHECK_EQ_INT(sgs_scan_path("/dev/null", ".sig", collect, s), 0);
    CHECK_EQ_INT(s->n, 1);
    CHECK_EQ_INT(s->kind[0], SGS_SCAN_SPECIAL);
    free(s);
}

static void
test_stop(void)
{
    seen *const s = calloc(1, sizeof(*s));
    REQUIRE(s != NULL);
    s->stop_after = 1;
    s->stop_value = 7;
    CHECK_EQ_INT(sgs_scan_path(root, ".sig", collect, s), 7);
    CHECK_EQ_INT(s->n, 1);

    memset(s, 0, sizeof(*s));
    s->stop_after = 4; /* inside dir/ */
    s->stop_value = -3;
    CHECK_EQ_INT(sgs_scan_path(root, ".sig", collect, s), -3);
    CHECK_EQ_INT(s->n, 4);
    check_seen(s, tree_expect, 4);

    /* Stopping on a single (missing) root returns the callback's value too. */
    memset(s, 0, sizeof(*s));
    s->stop_after = 1;
    s->stop_value = 9;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/missing", root);
    CHECK_EQ_INT(sgs_scan_path(p, ".sig", collect, s), 9);
    CHECK_EQ_INT(s->n, 1);
    free(s);
}

/* Each input learns which signature names are listed beside it; a file given directly does
   not (unknown); a directory met below itself is an error, not walked twice. */
typedef struct presence {
    size_t n;
    char path[MAX_SEEN][PATH_MAX];
    unsigned present[MAX_SEEN];
} presence;

static int
collect_presence(void *opaque, const sgs_scan_entry *ent)
{
    presence *const pr = opaque;
    REQUIRE(pr->n < MAX_SEEN);
    snprintf(pr->path[pr->n], PATH_MAX, "%s", ent->path);
    pr->present[pr->n++] = ent->present;
    return 0;
}

static unsigned
presence_of(const presence *pr, const char *rel)
{
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/%s", root, rel);
    for (size_t i = 0; i < pr->n; i++)
        if (strcmp(pr->path[i], want) == 0)
            return pr->present[i];
    return 0xdeadu;
}

static void
test_presence(void)
{
    presence *const pr = calloc(1, sizeof(*pr));
    REQUIRE(pr != NULL);
    mk("dir/a.p7s");
    const char *const skip[2] = {".sig", ".p7s"};
    CHECK_EQ_INT(sgs_scan_inputs(root, skip, 2, collect_presence, pr), 0);
    CHECK_EQ_INT(presence_of(pr, "alpha"), 1u);     /* alpha.sig */
    CHECK_EQ_INT(presence_of(pr, "dir/a"), 3u);     /* a.sig and a.p7s */
    CHECK_EQ_INT(presence_of(pr, "dir/b"), 0u);
    CHECK_EQ_INT(presence_of(pr, "zeta"), 0u);
    CHECK_EQ_INT(presence_of(pr, "link_file"), 0u); /* reported, nothing beside it */
    CHECK_EQ_INT(presence_of(pr, "dir/a.p7s"), 0xdeadu); /* a signature: not an input */

    memset(pr, 0, sizeof(*pr));
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/alpha", root);
    CHECK_EQ_INT(sgs_scan_inputs(p, skip, 2, collect_presence, pr), 0);
    CHECK_EQ_INT(pr->n, 1);
    CHECK_EQ_INT(pr->present[0], SGS_SCAN_PRESENT_UNKNOWN);

    /* A suffix longer than any name still finds its file (bit 0). */
    static const char longsuffix[] =
        ".signature-made-by-the-release-pipeline-of-the-build-farm-for-this-file";
    mk("zeta.signature-made-by-the-release-pipeline-of-the-build-farm-for-this-file");
    const char *const lskip[1] = {longsuffix};
    memset(pr, 0, sizeof(*pr));
    CHECK_EQ_INT(sgs_scan_inputs(root, lskip, 1, collect_presence, pr), 0);
    CHECK_EQ_INT(presence_of(pr, "zeta"), 1u);
    CHECK_EQ_INT(presence_of(pr, "alpha"), 0u);
    snprintf(p, sizeof(p), "%s/zeta%s", root, longsuffix);
    REQUIRE(unlink(p) == 0);

    /* A trailing slash on the root gives the same paths as without. */
    memset(pr, 0, sizeof(*pr));
    snprintf(p, sizeof(p), "%s/dir/", root);
    CHECK_EQ_INT(sgs_scan_inputs(p, skip, 2, collect_presence, pr), 0);
    CHECK_EQ_INT(presence_of(pr, "dir/a"), 3u);
    snprintf(p, sizeof(p), "%s/dir/a.p7s", root);
    REQUIRE(unlink(p) == 0);
    free(pr);
}

/* An entry's directory handle stays the directory listed: after the path is swapped for a link
   to another directory, opening the entry through the handle still reads the listed file. */
typedef struct swap_ctx {
    int done, read_ok, retained_ok;
    char dir[PATH_MAX], moved[PATH_MAX], decoy[PATH_MAX];
    sgs_scan_dir *kept;
} swap_ctx;

static int
swap_on_first(void *opaque, const sgs_scan_entry *ent)
{
    swap_ctx *const c = opaque;
    if (c->done++ > 0 || ent->dir == NULL)
        return 0;
    REQUIRE(rename(c->dir, c->moved) == 0 && symlink(c->decoy, c->dir) == 0);
    char buf[16] = "";
    const int fd = openat(sgs_scan_dir_fd(ent->dir), ent->name, O_RDONLY | O_NOFOLLOW);
    c->read_ok = fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && strcmp(buf, "listed") == 0;
    if (fd >= 0)
        close(fd);
    c->kept = sgs_scan_dir_retain(ent->dir); /* outlives the walk */
    return 0;
}

static void
test_dir_handle(void)
{
    swap_ctx *const c = calloc(1, sizeof(*c));
    REQUIRE(c != NULL);
    snprintf(c->dir, sizeof(c->dir), "%s/swap", root);
    snprintf(c->moved, sizeof(c->moved), "%s/swap.moved", root);
    snprintf(c->decoy, sizeof(c->decoy), "%s/decoy", root);
    REQUIRE(mkdir(c->dir, 0755) == 0 && mkdir(c->decoy, 0755) == 0);
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/swap/f", root);
    sgs_test_write(p, "listed", 6);
    snprintf(p, sizeof(p), "%s/decoy/f", root);
    sgs_test_write(p, "decoy!", 6);
    CHECK_EQ_INT(sgs_scan_inputs(c->dir, NULL, 0, swap_on_first, c), 0);
    CHECK(c->read_ok);
    CHECK(c->kept != NULL);
    if (c->kept != NULL) { /* still open after the walk: the consumer's reference */
        struct stat sb;
        CHECK(fstatat(sgs_scan_dir_fd(c->kept), "f", &sb, 0) == 0);
        sgs_scan_dir_release(c->kept);
    }
    free(c);
}

/* sgs_scan_fd walks the tree its descriptor holds, whatever the path leads to meanwhile (the
   package's extra-file walk: the tree hashed, one descriptor for both). */
static void
test_scan_fd(void)
{
    char p[PATH_MAX], q[PATH_MAX];
    mkd("pkg");
    mk("pkg/held");
    snprintf(p, sizeof(p), "%s/pkg", root);
    const int fd = open(p, O_RDONLY | O_DIRECTORY);
    REQUIRE(fd >= 0);
    snprintf(q, sizeof(q), "%s/pkg.moved", root);
    REQUIRE(rename(p, q) == 0);
    mkd("pkg");
    mk("pkg/other"); /* the path now names another tree */
    seen s = {0};
    CHECK_EQ_INT(sgs_scan_fd(fd, p, collect, &s), 0);
    char want[PATH_MAX + 8];
    snprintf(want, sizeof(want), "%s/held", p);
    CHECK(s.n == 1 && strcmp(s.path[0], want) == 0);
    close(fd);
}

/* sgs_scan_fd reports in byte order of the whole path, as `LC_ALL=C sort` (the package walk is
   merged with the sorted manifest): "a-" and "a.txt" before "a/...", "a/..." before "a0";
   bytes above 0x7f after ASCII, whatever the locale. */
static void
test_scan_fd_path_order(void)
{
    static const char *const want[] = {"a-", "a.txt", "a/b", "a/c.d", "a/c/e", "a/c0",
                                       "a0", "b", "bz", "b\xc3\xa9"};
    const size_t nwant = sizeof(want) / sizeof(want[0]);
    mkd("po");
    mkd("po/a");
    mkd("po/a/c");
    for (size_t i = 0; i < nwant; i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "po/%s", want[nwant - 1 - i]);
        mk(rel);
    }
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/po", root);
    const int fd = open(p, O_RDONLY | O_DIRECTORY);
    REQUIRE(fd >= 0);
    seen s = {0};
    CHECK_EQ_INT(sgs_scan_fd(fd, p, collect, &s), 0);
    CHECK_EQ_INT((int)s.n, (int)nwant);
    for (size_t i = 0; i < s.n && i < nwant; i++) {
        char full[PATH_MAX + 64];
        snprintf(full, sizeof(full), "%s/%s", p, want[i]);
        if (strcmp(s.path[i], full) != 0)
            fprintf(stderr, "scan_test: entry %zu is %s, want %s\n", i, s.path[i], full);
        CHECK(strcmp(s.path[i], full) == 0);
    }
    close(fd);
}

/* Opens dir beneath fd, `levels` directories "d" deep; returns the deepest (or -1). */
static int
dig(int fd, int levels)
{
    for (int i = 0; i < levels && fd >= 0; i++) {
        (void)mkdirat(fd, "d", 0755);
        const int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = next;
    }
    return fd;
}

/* Paths given: no link followed in any directory of them (issue 18), with openat2 and with
   the component walk (paths over PATH_MAX take it), and a directory too deep is reported. */
static void
test_no_links_in_paths(void)
{
    char p[PATH_MAX], q[PATH_MAX];
    mkd("nl");
    mkd("nl/real");
    mk("nl/real/f");
    snprintf(p, sizeof(p), "%s/nl/real", root);
    snprintf(q, sizeof(q), "%s/nl/link", root);
    REQUIRE(symlink(p, q) == 0);
    snprintf(p, sizeof(p), "%s/nl/real/f", root);
    int fd = sgs_open_nofollow(AT_FDCWD, p, O_RDONLY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    snprintf(p, sizeof(p), "%s/nl/link/f", root);
    errno = 0;
    CHECK_EQ_INT(sgs_open_nofollow(AT_FDCWD, p, O_RDONLY), -1);
    CHECK_EQ_INT(errno, ELOOP);
    errno = 0;
    CHECK_EQ_INT(sgs_open_parent_nofollow(p), -1); /* the link is the parent itself */
    CHECK_EQ_INT(errno, ELOOP);
    errno = 0;
    CHECK_EQ_INT(sgs_open_nofollow(AT_FDCWD, q, O_PATH | O_DIRECTORY), -1);
    CHECK_EQ_INT(errno, ELOOP);

    /* given on the command line or in a list: the link's file is not judged through it */
    seen s = {0};
    CHECK_EQ_INT(sgs_scan_path(p, NULL, collect, &s), 0);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_INT(s.kind[0], SGS_SCAN_LINKED_PATH);
    memset(&s, 0, sizeof(s));
    snprintf(p, sizeof(p), "%s/nl/link/", root); /* "link/": a directory asked for by name */
    CHECK_EQ_INT(sgs_scan_path(p, NULL, collect, &s), 0);
    CHECK(s.n == 1 && s.kind[0] == SGS_SCAN_FILE);

    /* over PATH_MAX: the component walk, which refuses a link just the same */
    snprintf(p, sizeof(p), "%s/nl", root);
    int fd2 = dig(open(p, O_RDONLY | O_DIRECTORY), 2100);
    REQUIRE(fd2 >= 0);
    REQUIRE(symlinkat(p, fd2, "up") == 0);
    close(fd2);
    size_t need = strlen(p) + 2100 * 2 + 16;
    char *const deep = malloc(need);
    REQUIRE(deep != NULL);
    size_t at = (size_t)snprintf(deep, need, "%s", p);
    for (int i = 0; i < 2100; i++)
        at += (size_t)snprintf(deep + at, need - at, "/d");
    REQUIRE(at > PATH_MAX);
    fd = sgs_open_nofollow(AT_FDCWD, deep, O_PATH | O_DIRECTORY);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    snprintf(deep + at, need - at, "/up/real");
    errno = 0;
    CHECK_EQ_INT(sgs_open_nofollow(AT_FDCWD, deep, O_PATH | O_DIRECTORY), -1);
    CHECK_EQ_INT(errno, ELOOP);
    free(deep);

    /* deeper than SGS_SCAN_MAX_DEPTH: reported, not walked (the walk recurses) */
    mkd("deep");
    snprintf(p, sizeof(p), "%s/deep", root);
    fd2 = dig(open(p, O_RDONLY | O_DIRECTORY), SGS_SCAN_MAX_DEPTH + 2);
    REQUIRE(fd2 >= 0);
    close(fd2);
    memset(&s, 0, sizeof(s));
    CHECK_EQ_INT(sgs_scan_path(p, NULL, collect, &s), 0);
    CHECK(s.n == 1 && s.kind[0] == SGS_SCAN_TOO_DEEP);
}


/* mountmap.c: a mount's line in a mountinfo file (octal escapes undone) and a path through it
   as a path inside its file system (the guard places execs from other mount namespaces so) */
static void
test_mountmap(void)
{
    char mi[PATH_MAX], root_f[PATH_MAX], point[PATH_MAX], out[PATH_MAX];
    snprintf(mi, sizeof(mi), "%s/mountinfo", root);
    static const char text[] =
        "21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "35 21 8:1 /opt/app /mnt/with\\040space rw shared:2 - ext4 /dev/sda1 rw\n"
        "36 21 0:40 / /tmp rw - tmpfs tmpfs rw\n";
    sgs_test_write(mi, text, sizeof(text) - 1);
    CHECK_EQ_INT(sgs_mountinfo_find(mi, 35, root_f, sizeof(root_f), point, sizeof(point)), 0);
    CHECK_EQ_STR(root_f, "/opt/app");
    CHECK_EQ_STR(point, "/mnt/with space");
    CHECK_EQ_INT(sgs_mountinfo_find(mi, 99, root_f, sizeof(root_f), point, sizeof(point)), -1);
    CHECK_EQ_INT(sgs_mountinfo_find(mi, 3, root_f, sizeof(root_f), point, sizeof(point)), -1);
    /* a bind mount of /opt/app at /mnt/x: /mnt/x/bin/tool is /opt/app/bin/tool */
    CHECK_EQ_INT(sgs_mount_fs_path("/opt/app", "/mnt/x", "/mnt/x/bin/tool", out, sizeof(out)), 0);
    CHECK_EQ_STR(out, "/opt/app/bin/tool");
    CHECK_EQ_INT(sgs_mount_fs_path("/", "/", "/usr/bin/true", out, sizeof(out)), 0);
    CHECK_EQ_STR(out, "/usr/bin/true");
    CHECK_EQ_INT(sgs_mount_fs_path("/", "/tmp", "/tmp", out, sizeof(out)), 0);
    CHECK_EQ_STR(out, "/");
    /* not below the mount point ("/mnt/xy" is not under "/mnt/x"), or not absolute */
    CHECK_EQ_INT(sgs_mount_fs_path("/opt/app", "/mnt/x", "/mnt/xy/tool", out, sizeof(out)), -1);
    CHECK_EQ_INT(sgs_mount_fs_path("/", "/", "tool", out, sizeof(out)), -1);
    /* a descriptor's own mount: this test's directory is in /proc/self/mountinfo */
    const int fd = open(root, O_PATH | O_DIRECTORY);
    uint64_t id = 0;
    REQUIRE(fd >= 0);
    if (sgs_mount_id(fd, &id, NULL) == 0)
        CHECK_EQ_INT(sgs_mountinfo_find("/proc/self/mountinfo", id, root_f, sizeof(root_f), point,
                                        sizeof(point)),
                     0);
    close(fd);
    /* the stat it gives with the mount is fstat's, field for field (the verdict store is keyed
       by the guard's copy and the walk's) */
    char f[PATH_MAX];
    snprintf(f, sizeof(f), "%s/statx-file", root);
    sgs_test_write(f, "twelve bytes", 12);
    const int ffd = open(f, O_RDONLY);
    REQUIRE(ffd >= 0);
    struct stat a, b;
    memset(&b, 0x5a, sizeof(b));
    uint64_t id2 = 0;
    REQUIRE(fstat(ffd, &a) == 0);
    const int how = sgs_mount_id(ffd, &id2, &b);
    CHECK(how == 0 || how == 1);
    CHECK(how != 0 || id2 == id);
    CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_mode == b.st_mode &&
          a.st_nlink == b.st_nlink && a.st_uid == b.st_uid && a.st_gid == b.st_gid &&
          a.st_rdev == b.st_rdev && a.st_size == b.st_size && a.st_blocks == b.st_blocks &&
          a.st_blksize == b.st_blksize);
    CHECK(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
          a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec);
    CHECK_EQ_INT(sgs_mount_id(-1, &id2, &b), -1);
    close(ffd);
}

int
main(void)
{
    sgs_test_tmpdir(root, sizeof(root), "scan");
    build_tree();
    test_tree();
    test_roots();
    test_stop();
    test_mountmap();
    test_presence();
    test_dir_handle();
    test_no_links_in_paths();
    test_scan_fd();
    test_scan_fd_path_order();
    sgs_test_rm_rf(root);
    return sgs_test_done("scan_test");
}
