/* fuzz_file.h - for harnesses of readers that take a path: the input written to a file in a
   directory of the process's own (made once, under $TMPDIR or /tmp, removed at exit). */
#ifndef SGS_FUZZ_FILE_H
#define SGS_FUZZ_FILE_H

#include "fuzz_check.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir_path[256];

static void
fuzz_dir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_dir_path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fuzz_dir_path);
}

/* The process's scratch directory. */
static inline const char *
fuzz_dir(void)
{
    if (fuzz_dir_path[0] == '\0') {
        const char *const t = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/sgs-fuzz-XXXXXX",
                 t != NULL && t[0] == '/' ? t : "/tmp");
        FUZZ_CHECK(mkdtemp(fuzz_dir_path) != NULL);
        atexit(fuzz_dir_remove);
    }
    return fuzz_dir_path;
}

/* Writes (data, size) to fuzz_dir()/name (replacing it, mode 0600); returns the path in buf. */
static inline const char *
fuzz_file(const char *name, const uint8_t *data, size_t size, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", fuzz_dir(), name);
    const int fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    for (size_t at = 0; at < size;) {
        const ssize_t w = write(fd, data + at, size - at);
        FUZZ_CHECK(w > 0);
        at += (size_t)w;
    }
    FUZZ_CHECK(close(fd) == 0);
    return buf;
}

#endif
