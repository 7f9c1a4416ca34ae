/* lines.h - the reader of --files-from and agents --list: names one per line (or per NUL). */
#ifndef SGS_CLI_LINES_H
#define SGS_CLI_LINES_H

#include <stdio.h>

/* What lines_each() says of a read. */
typedef enum lines_result {
    LINES_DONE = 0,   /* every line was handed to fn (or fn stopped the walk: rc says) */
    LINES_NUL_IN_LINE /* a NUL byte in a line when delim is '\n': *lineno is that line */
} lines_result;

/*
 * Calls fn for each line of fp that is not empty, without its delimiter (delim: '\n', or '\0'
 * for NUL-separated names); a last line without a delimiter counts. The line is writable and
 * NUL-terminated at len. Stops when fn returns non-zero (*rc is then that value) or on a NUL
 * byte inside a '\n'-separated line (LINES_NUL_IN_LINE, *rc -1). *lineno counts the lines
 * read. Read errors are the caller's to ask (ferror(fp)). Never prints.
 */
lines_result lines_each(FILE *fp, int delim,
                        int (*fn)(void *ctx, char *line, size_t len, unsigned long lineno),
                        void *ctx, unsigned long *lineno, int *rc);

#endif
