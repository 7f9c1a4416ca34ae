/*
 * quarantine_test.c - a quarantine rename happens only in the directory the walk listed the
 * file in: a path whose directory was swapped for a link to another one (holding the same
 * file) is refused, nothing renamed; the walked directory itself works, and a path given
 * directly (no walked directory) too.
 */
#include "quarantine.h"

#include "sgs_test.h"
#include "sgs_test_util.h"

#include <limits.h>
#include <unistd.h>

static char root[512];

static void
path_of(char *buf, size_t n, const char *rel)
{
    snprintf(buf, n, "%s/%s", root, rel);
}

int
main(void)
{
    sgs_test_tmpdir(root, sizeof(root), "quarantine");
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

    /* the walk listed f in real/; the path now leads into other/: refused, nothing renamed */
    CHECK_EQ_INT(sgs_quarantine_file(j, via_link, &judged, walked_dir.st_dev, walked_dir.st_ino,
                                     moved, sizeof(moved), why, sizeof(why)),
                 0);
    CHECK(strstr(why, "not the one walked") != NULL);
    CHECK(access(file, F_OK) == 0);

    /* the directory really walked: renamed */
    why[0] = '\0';
    CHECK_EQ_INT(sgs_quarantine_file(j, via_link, &judged, other_dir.st_dev, other_dir.st_ino,
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

    /* a path given directly (no walked directory): as given */
    path_of(file, sizeof(file), "real/g");
    sgs_test_write(file, "unsigned\n", 9);
    REQUIRE(stat(file, &judged) == 0);
    CHECK_EQ_INT(sgs_quarantine_file(j, file, &judged, 0, 0, moved, sizeof(moved), why,
                                     sizeof(why)),
                 1);
    CHECK(access(file, F_OK) != 0);
    sgs_journal_close(j);
    sgs_test_rm_rf(root);
    return sgs_test_done("quarantine_test");
}
