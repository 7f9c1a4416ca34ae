/*
 * lines.c - the reader of the lists sigsweep is given (--files-from, agents --list): split
 * into names by '\n' or NUL, nothing else. Kept apart from sweep.c so that a fuzz target
 * (tests/fuzz/lines_fuzz.c) links exactly the code that reads a list an attacker may write.
 */
#include "lines.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

lines_result
lines_each(FILE *fp, int delim, int (*fn)(void *ctx, char *line, size_t len, unsigned long lineno),
           void *ctx, unsigned long *lineno, int *rc)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    lines_result res = LINES_DONE;
    *rc = 0;
    *lineno = 0;
    while (*rc == 0 && (n = getdelim(&line, &cap, delim, fp)) != -1) {
        ++*lineno;
        if (n > 0 && line[n - 1] == (char)delim)
            line[--n] = '\0';
        if (delim != '\0' && memchr(line, '\0', (size_t)n) != NULL) {
            res = LINES_NUL_IN_LINE;
            *rc = -1;
            break;
        }
        if (n > 0)
            *rc = fn(ctx, line, (size_t)n, *lineno);
    }
    free(line);
    return res;
}
