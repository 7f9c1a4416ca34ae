/*
 * job.c - a job's files: F and its signature opened through the walked directory
 * (never following links, never blocking), fstat'ed once, and what each failure means.
 */
#include "judge.h"

static const char *
file_type_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

/* The one errno -> verdict map of a file that could not be opened, by the file's role: absent
   (ENOENT, or a path through something that is not a directory: ENOTDIR), a symbolic link not
   followed (ELOOP), a path that would leave its root (EXDEV: package files), or an error. */
static const struct {
    sgs_verdict absent, link;
    const char *absent_text; /* followed by the path when names_path */
    const char *noun;        /* "signature ": how a reason names the file, before its path */
    int names_path;          /* the reason names the path (F's own record does not) */
} open_roles[] = {
    [SGS_ROLE_INPUT] = {SGS_V_MISSING_FILE, SGS_V_SKIPPED, "no such file", "", 0},
    [SGS_ROLE_SIGNATURE] = {SGS_V_NO_SIGNATURE, SGS_V_MALFORMED, "no signature file", "signature ",
                            1},
    [SGS_ROLE_AGENT_KEY] = {SGS_V_MISSING_FILE, SGS_V_SKIPPED, "no key file", "the key file ", 1},
    [SGS_ROLE_LISTED] = {SGS_V_MISSING_FILE, SGS_V_SKIPPED, "listed in the manifest, but missing",
                         "", 0},
};

sgs_verdict
sgs_job_open_failure(worker *w, sgs_file_role role, int err, const char *path)
{
    const int named = open_roles[role].names_path;
    const char *const noun = open_roles[role].noun;
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        sgs_say(w, "%s%s%s", open_roles[role].absent_text, named ? " " : "", named ? path : "");
        return open_roles[role].absent;
    case ELOOP:
        sgs_say(w, "%s%s%sa symbolic link (not followed)", noun, named ? path : "",
                named ? " is " : "");
        return open_roles[role].link;
    case EXDEV:
        sgs_say(w, "%s%sits path leaves the package root (not followed)", named ? path : "",
                named ? ": " : "");
        return SGS_V_SKIPPED;
    case ESTALE: /* reopen_dir */
        sgs_say(w, "%s%s%sits directory was moved or replaced since it was listed (not followed)",
                noun, named ? path : "", named ? ": " : "");
        return SGS_V_CHANGED;
    default:
        sgs_say(w, "%s%s%s%s", noun, named ? path : "", named ? ": " : "", strerror(err));
        return SGS_V_IO_ERROR;
    }
}

/* fstat's an opened input. A regular file: its size goes into rec, returns 1. Otherwise the
   verdict is set (IO_ERROR, or SKIPPED naming the type: "<type>, not a regular file", or
   "<subject> is <type>" when subject is given), fd is closed, returns 0. */
int
sgs_job_stat_regular(int fd, worker *w, sgs_record *rec, struct stat *sb, const char *subject)
{
    if (fstat(fd, sb) != 0) {
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "fstat: %s", strerror(errno));
        close(fd);
        return 0;
    }
    if (!S_ISREG(sb->st_mode)) {
        rec->verdict = SGS_V_SKIPPED;
        if (subject != NULL)
            sgs_say(w, "%s is %s", subject, file_type_name(sb->st_mode));
        else
            sgs_say(w, "%s, not a regular file", file_type_name(sb->st_mode));
        close(fd);
        return 0;
    }
    rec->size = (uint64_t)sb->st_size;
    rec->has_size = 1;
    if (w->max_file_size > 0 && (uint64_t)sb->st_size > w->max_file_size) {
        rec->verdict = SGS_V_SKIPPED; /* nothing read: nothing known about its bytes */
        sgs_say(w, "%s%s%llu bytes, over the size limit of %llu bytes (--max-file-size): not read",
                subject != NULL ? subject : "", subject != NULL ? " has " : "",
                (unsigned long long)sb->st_size, (unsigned long long)w->max_file_size);
        close(fd);
        return 0;
    }
    return 1;
}

/* The directory the walk listed F in, when it could not be kept open (past the descriptor
   budget): opened again from its path following no link, and only if it is still that very
   directory; else -1 with ESTALE (moved, replaced, or a directory of its path now a link). */
static int
reopen_dir(const job *j)
{
    char *const dir = strndup(j->path, j->name_at > 1 ? j->name_at - 1 : j->name_at);
    if (dir == NULL) {
        errno = ENOMEM;
        return -1;
    }
    const int fd = sgs_open_nofollow(AT_FDCWD, dir[0] != '\0' ? dir : ".", O_PATH | O_DIRECTORY);
    int err = errno;
    free(dir);
    struct stat ds;
    if (fd >= 0 && (fstat(fd, &ds) != 0 || ds.st_dev != j->dir_dev || ds.st_ino != j->dir_ino)) {
        close(fd);
        err = ESTALE;
    } else if (fd < 0 && (err == ELOOP || err == ENOENT || err == ENOTDIR)) {
        err = ESTALE;
    }
    errno = err;
    return fd >= 0 && err != ESTALE ? fd : -1;
}

/* A file of the job (F, F<suffix>, F.p7s: `full` is its path), by name through the directory
   the walk listed (or the given path's directory, resolved without links): never by a path
   that a directory swapped for a link could redirect. */
int
sgs_job_open(const job *j, const char *full)
{
    const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    if (j->dir != NULL)
        return openat(sgs_scan_dir_fd(j->dir), full + j->name_at, flags);
    if (j->dir_ino == 0)
        return open(full, flags);
    const int dfd = reopen_dir(j);
    if (dfd < 0)
        return -1;
    const int fd = openat(dfd, full + j->name_at, flags);
    const int err = errno;
    close(dfd);
    errno = err;
    return fd;
}

int
sgs_job_lstat(const job *j, const char *full, struct stat *sb)
{
    if (j->dir != NULL)
        return fstatat(sgs_scan_dir_fd(j->dir), full + j->name_at, sb, AT_SYMLINK_NOFOLLOW);
    if (j->dir_ino == 0)
        return lstat(full, sb);
    const int dfd = reopen_dir(j);
    if (dfd < 0)
        return -1;
    const int rc = fstatat(dfd, full + j->name_at, sb, AT_SYMLINK_NOFOLLOW);
    const int err = errno;
    close(dfd);
    errno = err;
    return rc;
}

int
sgs_job_open_input(const job *j, worker *w, sgs_record *rec, struct stat *sb)
{
    switch (j->kind) {
    case SGS_SCAN_SYMLINK:
        rec->verdict = SGS_V_SKIPPED;
        sgs_say(w, "symbolic link (not followed)");
        return -1;
    case SGS_SCAN_SPECIAL:
        rec->verdict = SGS_V_SKIPPED;
        sgs_say(w, "not a regular file");
        return -1;
    case SGS_SCAN_MISSING:
        rec->verdict = SGS_V_MISSING_FILE;
        sgs_say(w, "no such file");
        return -1;
    case SGS_SCAN_ERROR:
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "cannot examine: %s", strerror(j->errno_value));
        return -1;
    case SGS_SCAN_TOO_DEEP:
        rec->verdict = SGS_V_SKIPPED;
        sgs_say(w, "a directory nested more than %d levels deep: not walked", SGS_SCAN_MAX_DEPTH);
        return -1;
    case SGS_SCAN_LINKED_PATH:
        rec->verdict = SGS_V_SKIPPED;
        sgs_say(w, "a directory of its path is a symbolic link (not followed): give the path "
                   "without links (e.g. as realpath prints it)");
        return -1;
    case SGS_SCAN_FILE:
        break;
    }
    const int fd = sgs_job_open(j, j->path);
    if (fd < 0) {
        rec->verdict = sgs_job_open_failure(w, SGS_ROLE_INPUT, errno, j->path);
        return -1;
    }
    return sgs_job_stat_regular(fd, w, rec, sb, NULL) ? fd : -1;
}

/* Reads a detached signature into w->sig. Returns its length, or 0 with the verdict set;
   *absent is set when the file does not exist. */
size_t
sgs_job_read_signature(const job *j, const char *sig_path, worker *w, sgs_record *rec, int *absent)
{
    w->sig_st_valid = 0;
    *absent = 0;
    const int fd = sgs_job_open(j, sig_path);
    if (fd < 0) {
        /* F<suffix> or F.p7s too long a name for F's directory: no such file can exist */
        const int err = errno == ENAMETOOLONG ? ENOENT : errno;
        *absent = err == ENOENT || err == ENOTDIR;
        rec->verdict = sgs_job_open_failure(w, SGS_ROLE_SIGNATURE, err, sig_path);
        return 0;
    }
    struct stat sb;
    size_t got = 0;
    if (fstat(fd, &sb) != 0) {
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "signature %s: fstat: %s", sig_path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rec->verdict = SGS_V_MALFORMED;
        sgs_say(w, "signature %s is %s", sig_path, file_type_name(sb.st_mode));
        goto out;
    }
    w->sig_st = sb;
    if (sb.st_size == 0 || sb.st_size > (off_t)SIG_FILE_MAX) {
        rec->verdict = SGS_V_MALFORMED;
        if (sb.st_size == 0)
            sgs_say(w, "signature %s is empty", sig_path);
        else
            sgs_say(w, "signature %s is larger than %u bytes", sig_path, SIG_FILE_MAX);
        goto out;
    }
    const size_t size = (size_t)sb.st_size;
    while (got < size) {
        const ssize_t n = read(fd, w->sig + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rec->verdict = SGS_V_IO_ERROR;
            sgs_say(w, "signature %s: %s", sig_path, strerror(errno));
            got = 0;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        rec->verdict = SGS_V_CHANGED;
        sgs_say(w, "signature %s changed while being read", sig_path);
        got = 0;
    } else {
        w->sig_st_valid = 1;
    }
out:
    close(fd);
    return got;
}

/* F's signature files, in the order they are tried: F.p7s (always CMS), F.minisig (minisign),
   then F<suffix> (raw, signify or CMS by content): the files whose name says their format
   before the generic suffix. When the walk listed F's directory, only those it saw beside F;
   else all, looked up. The one place that says which file is F's signature. Returns how many. */
size_t
sgs_job_signature_files(const job *j, const char *paths[SGS_JOB_SIGFILES_MAX],
                        unsigned kinds[SGS_JOB_SIGFILES_MAX], int *listed)
{
    size_t n = 0;
    *listed = j->present != SGS_SCAN_PRESENT_UNKNOWN;
    if (j->p7s_path != NULL && (!*listed || (j->present & 2u))) {
        paths[n] = j->p7s_path;
        kinds[n++] = SGS_SIGFILE_P7S;
    }
    if (j->minisig_path != NULL && (!*listed || (j->present & 4u))) {
        paths[n] = j->minisig_path;
        kinds[n++] = SGS_SIGFILE_MINISIG;
    }
    if ((!*listed || (j->present & 1u)) && j->sig_path != j->minisig_path) {
        paths[n] = j->sig_path;
        kinds[n++] = SGS_SIGFILE_SUFFIX;
    }
    return n;
}

void
sgs_job_note_precedence(const job *j, worker *w, const char *judged)
{
    if (judged == NULL)
        return;
    const char *paths[SGS_JOB_SIGFILES_MAX];
    unsigned kinds[SGS_JOB_SIGFILES_MAX];
    int listed;
    const size_t n = sgs_job_signature_files(j, paths, kinds, &listed);
    int after = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (paths[i] == judged) {
            after = 1;
            continue;
        }
        if (!after || (!listed && sgs_job_lstat(j, paths[i], &st) != 0))
            continue;
        const size_t used = strlen(w->reason);
        snprintf(w->reason + used, sizeof(w->reason) - used,
                 "; %s is there too and was not judged: when both exist, %s decides",
                 paths[i] + j->name_at, judged + j->name_at);
    }
}

/* Reads F's signature into w->sig and names it in `in` (none: SGS_SIGFILE_NONE). Returns 1
   for the judges, or 0 when a signature file exists but could not be read (verdict set). */
int
sgs_job_find_signature(const job *j, worker *w, sgs_record *rec, sgs_judge_input *in)
{
    const char *paths[SGS_JOB_SIGFILES_MAX];
    unsigned kinds[SGS_JOB_SIGFILES_MAX];
    int listed;
    const size_t n = sgs_job_signature_files(j, paths, kinds, &listed);
    in->sig_path = NULL;
    in->sig_file = SGS_SIGFILE_NONE;
    in->siglen = 0;
    w->sig_st_valid = 0;
    for (size_t i = 0; i < n; i++) {
        int absent = 1;
        const size_t len = sgs_job_read_signature(j, paths[i], w, rec, &absent);
        if (absent)
            continue;
        if (len == 0)
            return 0;
        in->sig_path = paths[i];
        in->sig_file = kinds[i];
        in->siglen = len;
        return 1;
    }
    return 1;
}

const char *
sgs_job_digest_problem(sgs_digest_result r, const sgs_digest_out *d, sgs_record *rec, worker *w)
{
    switch (r) {
    case SGS_DIGEST_OK:
        return NULL;
    case SGS_DIGEST_IO_ERROR:
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "read: %s", strerror(d->errno_value));
        break;
    case SGS_DIGEST_CHANGED:
        rec->verdict = SGS_V_CHANGED;
        sgs_say(w, "%s", d->change);
        break;
    case SGS_DIGEST_TOO_LARGE:
        rec->verdict = SGS_V_UNSUPPORTED;
        sgs_say(w, "file too large to keep in memory");
        break;
    case SGS_DIGEST_NOMEM:
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "out of memory");
        break;
    case SGS_DIGEST_CRYPTO:
        rec->verdict = SGS_V_IO_ERROR;
        sgs_say(w, "libcrypto digest failure");
        break;
    }
    return w->reason;
}


size_t
sgs_pread_full(int fd, uint8_t *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        const ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

int
sgs_worker_grow(sgs_engine *e, uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 1;
    sgs_free(&e->alloc, *buf);
    *buf = sgs_malloc(&e->alloc, need);
    *cap = *buf != NULL ? need : 0;
    return *buf != NULL;
}
