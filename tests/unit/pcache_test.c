/*
 * pcache_test.c - the persistent cache trusts only itself (issue 12) and survives a full disk
 * (issue 18): a cache directory or file not owned by the user or writable by others is refused
 * and left untouched; the identity fast path serves only files nobody but root or the user can
 * write, and only entries younger than the max age.
 */
#include "pcache.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char root[512];

/* A stat tuple of an old (not racy) file with the given owner and mode. */
static struct stat
fake(ino_t ino, uid_t uid, mode_t mode)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_dev = 42;
    st.st_ino = ino;
    st.st_size = 1000;
    st.st_uid = uid;
    st.st_mode = S_IFREG | mode;
    st.st_mtim.tv_sec = time(NULL) - 3600;
    st.st_ctim = st.st_mtim;
    return st;
}

static sgs_pcache *
open_dir(const char *dir, int *refused)
{
    char notice[512], err[512];
    sgs_pcache *const c =
        sgs_pcache_open_checked(NULL, dir, refused, notice, sizeof(notice), err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "  (open %s: %s)\n", dir, err);
    return c;
}

static void
test_strict_modes(void)
{
    char dir[PATH_MAX], data[PATH_MAX + 16];
    int refused = -1;
    snprintf(dir, sizeof(dir), "%s/c1", root);
    sgs_pcache *c = open_dir(dir, &refused);
    REQUIRE(c != NULL);
    CHECK_EQ_INT(refused, 0);
    sgs_pcache_close(c);

    /* world-writable directory: refused, distinctly, and nothing in it moved or planted */
    REQUIRE(chmod(dir, 0777) == 0);
    c = open_dir(dir, &refused);
    CHECK(c == NULL);
    CHECK_EQ_INT(refused, 1);
    snprintf(data, sizeof(data), "%s/data.mdb", dir);
    CHECK(access(data, F_OK) == 0);
    REQUIRE(chmod(dir, 0770) == 0); /* group-writable: refused too */
    c = open_dir(dir, &refused);
    CHECK(c == NULL && refused == 1);
    REQUIRE(chmod(dir, 0700) == 0);

    /* a group-writable data file: refused, not moved aside */
    REQUIRE(chmod(data, 0660) == 0);
    c = open_dir(dir, &refused);
    CHECK(c == NULL && refused == 1);
    CHECK(access(data, F_OK) == 0);
    REQUIRE(chmod(data, 0600) == 0);

    /* the data file a link elsewhere: refused (never followed) */
    char other[PATH_MAX + 16];
    snprintf(other, sizeof(other), "%s/elsewhere", root);
    sgs_test_write(other, "x", 1);
    REQUIRE(unlink(data) == 0);
    REQUIRE(symlink(other, data) == 0);
    c = open_dir(dir, &refused);
    CHECK(c == NULL && refused == 1);
    REQUIRE(unlink(data) == 0);

    /* the cache directory itself a link: refused (O_NOFOLLOW), not a crash */
    char link[PATH_MAX + 16];
    snprintf(link, sizeof(link), "%s/c1link", root);
    REQUIRE(symlink(dir, link) == 0);
    c = open_dir(link, &refused);
    CHECK(c == NULL);

    /* a permission error is not corruption: an unreadable data file is never moved aside */
    if (geteuid() != 0) {
        c = open_dir(dir, &refused);
        REQUIRE(c != NULL);
        sgs_pcache_close(c);
        REQUIRE(chmod(data, 0200) == 0);
        c = open_dir(dir, &refused);
        CHECK(c == NULL && refused == 0);
        DIR *d = opendir(dir);
        int aside = 0;
        for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
            aside += strncmp(de->d_name, "data.mdb.broken", 15) == 0;
        if (d != NULL)
            closedir(d);
        CHECK_EQ_INT(aside, 0);
        CHECK(access(data, F_OK) == 0);
        REQUIRE(chmod(data, 0600) == 0);
    }
}

static void
test_fast_path(void)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/c2", root);
    int refused = 0;
    sgs_pcache *c = open_dir(dir, &refused);
    REQUIRE(c != NULL);
    const uid_t me = geteuid(), other = me == 0 ? 4242 : 0 == me ? 1 : me + 1;
    const struct stat mine = fake(1, me, 0644), by_root = fake(2, 0, 0644),
                      group_w = fake(3, me, 0664), world_w = fake(4, me, 0646),
                      foreign = fake(5, other == 0 ? 4243 : other, 0644);
    const struct stat sig = fake(9, me, 0644), sig_w = fake(10, me, 0666);
    uint8_t md[32], got[64];
    memset(md, 0xab, sizeof(md));
    const uint8_t ctx[32] = {1};
    const struct stat *all[] = {&mine, &by_root, &group_w, &world_w, &foreign};
    sgs_pcache_answer a;
    memset(&a, 0, sizeof(a));
    a.v.verdict = SGS_V_VALID;
    memcpy(a.md, md, 32);
    a.mdlen = 32;
    for (size_t i = 0; i < 5; i++) {
        sgs_pcache_put_digest(c, all[i], 1, md, 32);
        sgs_pcache_put_answer(c, all[i], &sig, ctx, &a);
        sgs_pcache_put_answer(c, all[i], &sig_w, ctx, &a);
        sgs_pcache_put_record(c, all[i], &sig, ctx, INT64_MIN, INT64_MAX, md, 32);
    }
    sgs_pcache_close(c); /* commits */
    c = open_dir(dir, &refused);
    REQUIRE(c != NULL);
    for (size_t i = 0; i < 5; i++) {
        const int want = i < 2; /* owned by me or root, nobody else can write */
        size_t dlen = 0, len = 0;
        sgs_pcache_answer out;
        uint8_t buf[SGS_PCACHE_RECORD_MAX];
        CHECK_EQ_INT(sgs_pcache_get_digest(c, NULL, all[i], 1, got, &dlen), want);
        if (want)
            CHECK(dlen == 32 && memcmp(got, md, 32) == 0);
        CHECK_EQ_INT(sgs_pcache_get_answer(c, NULL, all[i], &sig, ctx, &out), want);
        CHECK_EQ_INT(sgs_pcache_get_answer(c, NULL, all[i], &sig_w, ctx, &out), 0);
        CHECK_EQ_INT(sgs_pcache_get_record(c, NULL, all[i], &sig, ctx, 0, buf, sizeof(buf), &len),
                     want);
    }
    /* max age: a limit shorter than the entries' age misses them all */
    sgs_pcache_close(c);
    c = open_dir(dir, &refused);
    REQUIRE(c != NULL);
    size_t dlen = 0;
    sgs_pcache_set_max_age(c, 3600);
    CHECK_EQ_INT(sgs_pcache_get_digest(c, NULL, &mine, 1, got, &dlen), 1);
    sgs_pcache_close(c);
    /* entries written "in the future" of a clock set back, or older than the limit, miss:
       make the stored stamps old by asking for a limit the entries exceed (1 s after 2 s) */
    c = open_dir(dir, &refused);
    REQUIRE(c != NULL);
    sgs_pcache_set_max_age(c, 1);
    sleep(2); /* not a timing assertion: only makes the entries older than the limit */
    CHECK_EQ_INT(sgs_pcache_get_digest(c, NULL, &mine, 1, got, &dlen), 0);
    sgs_pcache_answer out;
    CHECK_EQ_INT(sgs_pcache_get_answer(c, NULL, &mine, &sig, ctx, &out), 0);
    sgs_pcache_close(c);
}

int
main(void)
{
    sgs_test_tmpdir(root, sizeof(root), "pcache");
    test_strict_modes();
    test_fast_path();
    sgs_test_rm_rf(root);
    return sgs_test_done("pcache_test");
}
