/*
 * fileio_test.c - every destination kind the writer can meet: nothing, a regular file (mode and
 * owner kept), a symlink (replaced, its target untouched), a FIFO with and without a reader, a
 * character device made by mknod in the test's own directory (never /dev/null itself), a
 * directory, a name that must not be replaced; the append-only log (the journal) against the
 * same kinds; and no temporary file left behind.
 */
#include "fileio.h"
#include "sgs_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/sgs-wfile-XXXXXX";
static char err[512];

static const char *
at(const char *name)
{
    static char buf[8][4200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

static sgs_status
put(const char *name, unsigned flags, mode_t mode, const char *text)
{
    sgs_wfile *w = NULL;
    const sgs_status st = sgs_wfile_open(at(name), flags, mode, &w, err, sizeof(err));
    if (st != SGS_OK)
        return st;
    if (sgs_wfile_write(w, text, strlen(text), err, sizeof(err)) != SGS_OK) {
        sgs_wfile_abort(w);
        return SGS_ERR_IO;
    }
    return sgs_wfile_commit(w, err, sizeof(err));
}

static int
content_is(const char *path, const char *want)
{
    char got[256] = "";
    const int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    const ssize_t n = read(fd, got, sizeof(got) - 1);
    close(fd);
    return n >= 0 && (size_t)n == strlen(want) && memcmp(got, want, (size_t)n) == 0;
}

/* Entries of the test directory whose name starts with '.' (temporary files). */
static int
hidden_entries(void)
{
    DIR *const d = opendir(dir);
    int n = 0;
    const struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL)
        n += de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d != NULL)
        closedir(d);
    return n;
}

static void
test_regular(void)
{
    struct stat sb;
    (void)umask(077);
    CHECK_EQ_INT(put("new", 0, 0644, "one\n"), SGS_OK);
    CHECK(content_is(at("new"), "one\n"));
    CHECK(stat(at("new"), &sb) == 0 && (sb.st_mode & 07777) == 0644); /* no umask */

    REQUIRE(chmod(at("new"), 0600) == 0);
    CHECK_EQ_INT(put("new", 0, 0644, "two\n"), SGS_OK);
    CHECK(content_is(at("new"), "two\n"));
    CHECK(stat(at("new"), &sb) == 0 && (sb.st_mode & 07777) == 0600); /* kept */

    CHECK_EQ_INT(put("new", SGS_WFILE_NOREPLACE, 0644, "three\n"), SGS_ERR_IO);
    CHECK(strstr(err, "exists") != NULL);
    CHECK(content_is(at("new"), "two\n"));

    if (geteuid() == 0) {
        /* a root-owned file keeps its owner and group */
        REQUIRE(chown(at("new"), 0, 65534) == 0);
        CHECK_EQ_INT(put("new", 0, 0644, "four\n"), SGS_OK);
        CHECK(stat(at("new"), &sb) == 0 && sb.st_uid == 0 && sb.st_gid == 65534);
        /* another user's file (planted in a shared directory) is not handed back to them:
           ours, and nobody else may write it */
        REQUIRE(chown(at("new"), 65534, 65534) == 0 && chmod(at("new"), 0666) == 0);
        CHECK_EQ_INT(put("new", 0, 0644, "four\n"), SGS_OK);
        CHECK(stat(at("new"), &sb) == 0 && sb.st_uid == 0 && (sb.st_mode & 07777) == 0644);
    }

    /* abandoned: the destination as it was, no temporary file */
    sgs_wfile *w = NULL;
    REQUIRE(sgs_wfile_open(at("new"), 0, 0644, &w, err, sizeof(err)) == SGS_OK);
    CHECK(sgs_wfile_is_replacing(w));
    CHECK_EQ_INT(sgs_wfile_write(w, "x", 1, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(hidden_entries(), 1);
    sgs_wfile_abort(w);
    CHECK(content_is(at("new"), geteuid() == 0 ? "four\n" : "two\n"));
    CHECK_EQ_INT(hidden_entries(), 0);
}

static void
test_symlink(void)
{
    struct stat sb;
    REQUIRE(symlink("victim", at("link")) == 0);
    const int fd = open(at("victim"), O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd >= 0 && write(fd, "keep\n", 5) == 5 && close(fd) == 0);
    CHECK_EQ_INT(put("link", 0, 0644, "report\n"), SGS_OK);
    CHECK(lstat(at("link"), &sb) == 0 && S_ISREG(sb.st_mode));
    CHECK(content_is(at("link"), "report\n"));
    CHECK(content_is(at("victim"), "keep\n")); /* never written through */

    REQUIRE(symlink("/nonexistent/dangling", at("dangling")) == 0);
    CHECK_EQ_INT(put("dangling", 0, 0644, "r\n"), SGS_OK);
    CHECK(lstat(at("dangling"), &sb) == 0 && S_ISREG(sb.st_mode));
    CHECK_EQ_INT(hidden_entries(), 0);
}

static void
test_fifo(void)
{
    struct stat sb;
    REQUIRE(mkfifo(at("fifo"), 0600) == 0);
    /* no reader: an error at once, not a hang; the FIFO stays */
    alarm(20);
    CHECK_EQ_INT(put("fifo", 0, 0644, "lost\n"), SGS_ERR_IO);
    CHECK(strstr(err, "no reader") != NULL);
    CHECK(lstat(at("fifo"), &sb) == 0 && S_ISFIFO(sb.st_mode));

    int pipefd[2];
    REQUIRE(pipe(pipefd) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) { /* the reader: copies what arrives into the pipe */
        close(pipefd[0]);
        const int fd = open(at("fifo"), O_RDONLY);
        char buf[64];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
            if (write(pipefd[1], buf, (size_t)n) != n)
                _exit(1);
        _exit(0);
    }
    close(pipefd[1]);
    sgs_status st = SGS_ERR_IO;
    for (int i = 0; i < 200 && st != SGS_OK; i++) { /* until the reader has opened it */
        st = put("fifo", 0, 0644, "through\n");
        if (st != SGS_OK)
            usleep(10000);
    }
    CHECK_EQ_INT(st, SGS_OK);
    char got[64] = "";
    ssize_t n = 0, r;
    while ((r = read(pipefd[0], got + n, sizeof(got) - 1 - (size_t)n)) > 0)
        n += r;
    close(pipefd[0]);
    waitpid(pid, NULL, 0);
    CHECK_EQ_STR(got, "through\n");
    CHECK(lstat(at("fifo"), &sb) == 0 && S_ISFIFO(sb.st_mode));

    CHECK_EQ_INT(put("fifo", SGS_WFILE_REGULAR_ONLY, 0644, "x"), SGS_ERR_IO);
    CHECK(strstr(err, "a FIFO") != NULL);
    CHECK(lstat(at("fifo"), &sb) == 0 && S_ISFIFO(sb.st_mode));
    alarm(0);
    CHECK_EQ_INT(hidden_entries(), 0);
}

static void
test_device_and_dir(void)
{
    struct stat sb;
    if (mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK_EQ_INT(put("null", 0, 0644, "into the device\n"), SGS_OK);
        CHECK(lstat(at("null"), &sb) == 0 && S_ISCHR(sb.st_mode) &&
              sb.st_rdev == makedev(1, 3));
        CHECK_EQ_INT(put("null", SGS_WFILE_REGULAR_ONLY, 0644, "x"), SGS_ERR_IO);
        CHECK(strstr(err, "character device") != NULL);
        CHECK(lstat(at("null"), &sb) == 0 && S_ISCHR(sb.st_mode));
    } else {
        fprintf(stderr, "mknod not permitted (%s): device case not run\n", strerror(errno));
    }
    REQUIRE(mkdir(at("sub"), 0700) == 0);
    CHECK_EQ_INT(put("sub", 0, 0644, "x"), SGS_ERR_IO);
    CHECK(strstr(err, "a directory") != NULL);
    CHECK_EQ_INT(put("missing/x", 0, 0644, "x"), SGS_ERR_IO);
    CHECK(strstr(err, "cannot open its directory") != NULL);
    CHECK_EQ_INT(put("sub/", 0, 0644, "x"), SGS_ERR_IO);
    if (geteuid() != 0) { /* root writes anywhere */
        REQUIRE(chmod(at("sub"), 0500) == 0);
        CHECK_EQ_INT(put("sub/x", 0, 0644, "x"), SGS_ERR_IO);
        CHECK(strstr(err, "temporary") != NULL);
        REQUIRE(chmod(at("sub"), 0700) == 0);
    }
    CHECK_EQ_INT(hidden_entries(), 0);
}

/* The append-only log (the journal): created whole with its header and exactly its mode, then
   appended to; never replaced, never written through a link, never into a FIFO or device. */
static void
test_append(void)
{
    struct stat sb, again;
    static const char head[] = "HEAD\n";
    (void)umask(022);
    int fd = sgs_wfile_open_append(at("log"), 0600, head, 5, err, sizeof(err));
    REQUIRE(fd >= 0);
    CHECK(fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 07777) == 0600);
    CHECK(write(fd, "one\n", 4) == 4);
    close(fd);
    fd = sgs_wfile_open_append(at("log"), 0644, "OTHER\n", 6, err, sizeof(err));
    REQUIRE(fd >= 0);
    CHECK(write(fd, "two\n", 4) == 4); /* appended, whatever the offset */
    close(fd);
    CHECK(content_is(at("log"), "HEAD\none\ntwo\n"));
    CHECK(stat(at("log"), &again) == 0 && again.st_ino == sb.st_ino &&
          (again.st_mode & 07777) == 0600);
    errno = 0;
    CHECK_EQ_INT(sgs_wfile_put(at("log"), SGS_WFILE_NOREPLACE, 0644, "x", 1, err, sizeof(err)),
                 SGS_ERR_IO);
    CHECK_EQ_INT(errno, EEXIST);

    REQUIRE(symlink("log", at("log-link")) == 0);
    CHECK_EQ_INT(sgs_wfile_open_append(at("log-link"), 0600, head, 5, err, sizeof(err)), -1);
    CHECK(strstr(err, "symbolic link") != NULL);
    CHECK(lstat(at("log-link"), &sb) == 0 && S_ISLNK(sb.st_mode));
    CHECK(content_is(at("log"), "HEAD\none\ntwo\n"));

    /* a FIFO with a reader (this process, so nothing can wait on it): refused, nothing sent */
    REQUIRE(mkfifo(at("log-fifo"), 0600) == 0);
    const int reader = open(at("log-fifo"), O_RDWR | O_NONBLOCK);
    REQUIRE(reader >= 0);
    CHECK_EQ_INT(sgs_wfile_open_append(at("log-fifo"), 0600, head, 5, err, sizeof(err)), -1);
    CHECK(strstr(err, "a FIFO") != NULL);
    char c;
    CHECK(read(reader, &c, 1) == -1 && errno == EAGAIN);
    close(reader);
    CHECK(lstat(at("log-fifo"), &sb) == 0 && S_ISFIFO(sb.st_mode));

    if (mknod(at("log-null"), S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK_EQ_INT(sgs_wfile_open_append(at("log-null"), 0600, head, 5, err, sizeof(err)), -1);
        CHECK(strstr(err, "character device") != NULL);
        CHECK(lstat(at("log-null"), &sb) == 0 && S_ISCHR(sb.st_mode) &&
              sb.st_rdev == makedev(1, 3));
    }
    /* a directory this user may not write (as root: a child that is nobody, since root
       writes anywhere): refused, nothing made */
    REQUIRE(mkdir(at("ro"), 0755) == 0 && chmod(dir, 0711) == 0);
    if (geteuid() != 0)
        REQUIRE(chmod(at("ro"), 0555) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(2);
        const int got = sgs_wfile_open_append(at("ro/log"), 0600, head, 5, err, sizeof(err));
        _exit(got == -1 && strstr(err, "temporary") != NULL ? 0 : 1);
    }
    int status = -1;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(access(at("ro/log"), F_OK) != 0);
    REQUIRE(chmod(at("ro"), 0700) == 0 && chmod(dir, 0700) == 0);
    CHECK_EQ_INT(hidden_entries(), 0);
}

/* Inputs: regular files only, and a FIFO without a writer never blocks the open. */
static void
test_inputs(void)
{
    alarm(20);
    REQUIRE(mkfifo(at("in-fifo"), 0600) == 0);
    CHECK_EQ_INT(sgs_open_regular(at("in-fifo"), 1, err, sizeof(err)), -1);
    CHECK(strstr(err, "a FIFO, not a regular file") != NULL);
    CHECK_EQ_INT(sgs_open_regular(dir, 1, err, sizeof(err)), -1);
    CHECK(strstr(err, "a directory") != NULL);
    CHECK_EQ_INT(sgs_open_regular("/dev/null", 1, err, sizeof(err)), -1);
    CHECK(strstr(err, "character device") != NULL);
    CHECK_EQ_INT(sgs_open_regular(at("absent"), 1, err, sizeof(err)), -1);
    CHECK(strstr(err, "No such file") != NULL);
    const int fd = sgs_open_regular(at("new"), 0, err, sizeof(err));
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
    if (fd >= 0)
        close(fd);
    REQUIRE(symlink("new", at("in-link")) == 0);
    CHECK_EQ_INT(sgs_open_regular(at("in-link"), 0, err, sizeof(err)), -1);
    CHECK(strstr(err, "symbolic link") != NULL);
    const int fd2 = sgs_open_regular(at("in-link"), 1, err, sizeof(err));
    CHECK(fd2 >= 0);
    if (fd2 >= 0)
        close(fd2);
    alarm(0);
}

static void
cleanup(void)
{
    static const char *const names[] = {"new", "link", "victim", "dangling", "fifo", "null",
                                        "sub/x", "log", "log-link", "log-fifo", "log-null",
                                        "in-fifo", "in-link"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        (void)unlink(at(names[i]));
    (void)rmdir(at("sub"));
    (void)rmdir(at("ro"));
    (void)rmdir(dir);
}

/* sgs_wfile_prepend: the run record goes first, the mode stays, one temporary file at a time;
   refused for a FIFO or device, which is written straight into. */
static void
test_prepend(void)
{
    struct stat sb;
    CHECK_EQ_INT(put("pre", 0, 0640, "old\n"), SGS_OK);
    sgs_wfile *w = NULL;
    REQUIRE(sgs_wfile_open(at("pre"), 0, 0644, &w, err, sizeof(err)) == SGS_OK);
    CHECK_EQ_INT(sgs_wfile_write(w, "b\nc\n", 4, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(sgs_wfile_prepend(w, "a\n", 2, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(hidden_entries(), 1); /* the first temporary file is gone */
    CHECK(content_is(at("pre"), "old\n"));
    CHECK_EQ_INT(sgs_wfile_write(w, "d\n", 2, err, sizeof(err)), SGS_OK);
    CHECK_EQ_INT(sgs_wfile_commit(w, err, sizeof(err)), SGS_OK);
    CHECK(content_is(at("pre"), "a\nb\nc\nd\n"));
    CHECK(stat(at("pre"), &sb) == 0 && (sb.st_mode & 07777) == 0640);
    CHECK_EQ_INT(hidden_entries(), 0);
    /* nothing written yet: the prepended bytes are the file */
    REQUIRE(sgs_wfile_open(at("pre"), 0, 0644, &w, err, sizeof(err)) == SGS_OK);
    CHECK_EQ_INT(sgs_wfile_prepend(w, "only\n", 5, err, sizeof(err)), SGS_OK);
    sgs_wfile_abort(w);
    CHECK(content_is(at("pre"), "a\nb\nc\nd\n"));
    CHECK_EQ_INT(hidden_entries(), 0);
    REQUIRE(sgs_wfile_open("/dev/null", 0, 0644, &w, err, sizeof(err)) == SGS_OK);
    CHECK_EQ_INT(sgs_wfile_prepend(w, "x", 1, err, sizeof(err)), SGS_ERR_INVALID_ARG);
    CHECK_EQ_INT(sgs_wfile_commit(w, err, sizeof(err)), SGS_OK);
}

int
main(void)
{
    REQUIRE(mkdtemp(dir) != NULL);
    test_regular();
    test_symlink();
    test_fifo();
    test_device_and_dir();
    test_append();
    test_inputs();
    test_prepend();
    cleanup();
    return sgs_test_done("fileio_test");
}
