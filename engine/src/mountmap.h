/* mountmap.h - where a file opened through some mount lies in its file system, whatever mount
   namespace the mount belongs to (the guard: an exec through a user's own copy of a mount). */
#ifndef SGS_MOUNTMAP_H
#define SGS_MOUNTMAP_H

#include <stddef.h>
#include <stdint.h>

struct stat;

/* The id of the mount fd was opened through (statx STATX_MNT_ID, Linux 5.8) and, when st is not
   NULL, fd's fstat(2) from the same call (one system call where two were). 0; 1 when st was
   filled but this kernel does not say the mount (errno ENOSYS); -1 with errno otherwise. */
int sgs_mount_id(int fd, uint64_t *id, struct stat *st);

/* The line of mount `id` in a mountinfo file (/proc/PID/mountinfo): the path of the mount's
   root inside its file system (root) and its mount point as that process sees it (point),
   octal escapes undone. 0; -1 when not found or unreadable (errno). */
int sgs_mountinfo_find(const char *mountinfo, uint64_t id, char *root, size_t rootlen, char *point,
                       size_t pointlen);

/* The path inside the file system of `path`, a path through the mount whose root and mount
   point are given: root + (path without the point). 0; -1 when path is not below point. */
int sgs_mount_fs_path(const char *root, const char *point, const char *path, char *out,
                      size_t outlen);

#endif
