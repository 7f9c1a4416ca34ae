/*
 * mountmap.c - a file's place in its file system from the mount it was opened through. glibc's
 * <sys/stat.h> takes struct statx (with stx_mnt_id) from <linux/stat.h> under _GNU_SOURCE.
 */
#include "mountmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct timespec
ts(struct statx_timestamp t)
{
    return (struct timespec){.tv_sec = t.tv_sec, .tv_nsec = t.tv_nsec};
}

int
sgs_mount_id(int fd, uint64_t *id, struct stat *st)
{
    struct statx sx;
    memset(&sx, 0, sizeof(sx));
    const unsigned want = STATX_MNT_ID | (st != NULL ? STATX_BASIC_STATS : 0);
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, want, &sx) != 0)
        return -1;
    if (st != NULL && (sx.stx_mask & STATX_BASIC_STATS) != STATX_BASIC_STATS) {
        if (fstat(fd, st) != 0) /* a file system that leaves some out: fstat's own answer */
            return -1;
    } else if (st != NULL) { /* as fstat(2) gives it: every field the kernel fills there */
        memset(st, 0, sizeof(*st));
        st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        st->st_ino = sx.stx_ino;
        st->st_mode = sx.stx_mode;
        st->st_nlink = sx.stx_nlink;
        st->st_uid = sx.stx_uid;
        st->st_gid = sx.stx_gid;
        st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
        st->st_size = (off_t)sx.stx_size;
        st->st_blksize = (blksize_t)sx.stx_blksize;
        st->st_blocks = (blkcnt_t)sx.stx_blocks;
        st->st_atim = ts(sx.stx_atime);
        st->st_mtim = ts(sx.stx_mtime);
        st->st_ctim = ts(sx.stx_ctime);
    }
    if ((sx.stx_mask & STATX_MNT_ID) == 0) {
        errno = ENOSYS;
        return st != NULL ? 1 : -1;
    }
    *id = sx.stx_mnt_id;
    return 0;
}

/* One space-separated field of a mountinfo line, its octal escapes (\040, \011, \012, \134)
   undone, into out. The field's end, or NULL (no room, or the line ended). */
static const char *
field(const char *p, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *p != ' ' && *p != '\n' && *p != '\0'; p++) {
        char c = *p;
        if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            c = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
            p += 3;
        }
        if (n + 1 >= outlen)
            return NULL;
        out[n++] = c;
    }
    out[n] = '\0';
    return *p == ' ' ? p + 1 : NULL;
}

int
sgs_mountinfo_find(const char *mountinfo, uint64_t id, char *root, size_t rootlen, char *point,
                   size_t pointlen)
{
    FILE *const f = fopen(mountinfo, "re");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int rc = -1;
    /* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": id, parent, dev, root,
       mount point, ... */
    while (rc != 0 && getline(&line, &cap, f) != -1) {
        char *end;
        errno = 0;
        const unsigned long long got = strtoull(line, &end, 10);
        if (errno != 0 || end == line || *end != ' ' || got != id)
            continue;
        const char *p = end + 1;
        for (int skip = 0; skip < 2 && p != NULL; skip++) /* parent id, major:minor */
            p = strchr(p, ' ') != NULL ? strchr(p, ' ') + 1 : NULL;
        if (p != NULL && (p = field(p, root, rootlen)) != NULL &&
            field(p, point, pointlen) != NULL)
            rc = 0;
        else
            break; /* the line of that id, unreadable */
    }
    free(line);
    fclose(f);
    if (rc != 0)
        errno = ENOENT;
    return rc;
}

int
sgs_mount_fs_path(const char *root, const char *point, const char *path, char *out,
                  size_t outlen)
{
    size_t pl = strlen(point);
    if (pl == 1 && point[0] == '/')
        pl = 0; /* "/": every absolute path is below it */
    if (path[0] != '/' || strncmp(path, point, pl) != 0 || (path[pl] != '/' && path[pl] != '\0'))
        return -1;
    const char *const rel = path + pl; /* "" or "/..." */
    const int n = snprintf(out, outlen, "%s%s", strcmp(root, "/") == 0 ? "" : root, rel);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    if (out[0] == '\0') /* the mount's root is the file system's root, and path is the point */
        snprintf(out, outlen, "/");
    return 0;
}
