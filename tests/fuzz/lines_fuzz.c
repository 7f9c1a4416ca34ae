/*
 * lines_fuzz.c - libFuzzer target for the list reader of --files-from and agents --list
 * (cli/lines.c), in both modes: '\n'-separated and NUL-separated (-0). Invariants: every name
 * handed on is non-empty, holds neither the separator nor (in line mode) a NUL, and is NUL-
 * terminated at its length; the names, in order, are exactly the input's non-empty fields
 * (nothing dropped, nothing joined), unless line mode stops at a NUL, on the line that holds
 * it. Each name also goes through sgs_signature_subject (which names are a signature of
 * another file): the file's name it returns is a proper prefix.
 *
 * Built with -DSGS_FUZZ=ON (clang); otherwise replay.c adds a main() that ctest runs over the
 * seeds (fuzz.lines_corpus).
 */
#include "lines.h"
#include "sigsweep.h"

#include "fuzz_check.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct expect {
    const uint8_t *data;
    size_t size, at; /* the next field starts at `at` */
    int delim;
    size_t names;
} expect;

/* The next non-empty field of the input, as the reader must hand it on. */
static int
next_field(expect *x, const uint8_t **f, size_t *len)
{
    while (x->at < x->size) {
        const uint8_t *const start = x->data + x->at;
        const uint8_t *const end = memchr(start, x->delim, x->size - x->at);
        const size_t n = end != NULL ? (size_t)(end - start) : x->size - x->at;
        x->at += n + (end != NULL);
        if (n > 0) {
            *f = start;
            *len = n;
            return 1;
        }
    }
    return 0;
}

static int
take(void *ctx, char *line, size_t len, unsigned long lineno)
{
    expect *const x = ctx;
    const uint8_t *f = NULL;
    size_t flen = 0;
    FUZZ_CHECK(lineno >= 1 && len > 0 && line[len] == '\0');
    FUZZ_CHECK(next_field(x, &f, &flen) && flen == len && memcmp(f, line, len) == 0);
    FUZZ_CHECK(memchr(line, x->delim, len) == NULL);
    const size_t subject = sgs_signature_subject(line, ".sig", 1);
    FUZZ_CHECK(subject < len);
    x->names++;
    return (x->names & 0xff) == 0xff ? 1 : 0; /* a callback that stops the walk, sometimes */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int delim = '\n'; delim >= 0; delim -= '\n') {
        /* a copy: fmemopen takes a writable buffer */
        char *const copy = malloc(size > 0 ? size : 1);
        FUZZ_CHECK(copy != NULL);
        if (size > 0)
            memcpy(copy, data, size);
        FILE *const fp = fmemopen(copy, size, "r");
        if (fp == NULL) { /* fmemopen of an empty buffer: nothing to read */
            free(copy);
            continue;
        }
        expect x = {data, size, 0, delim, 0};
        unsigned long lineno = 0;
        int rc = 0;
        const lines_result r = lines_each(fp, delim, take, &x, &lineno, &rc);
        fclose(fp);
        free(copy);
        if (rc == 1) /* the callback stopped it */
            continue;
        if (r == LINES_NUL_IN_LINE) {
            FUZZ_CHECK(delim == '\n' && rc == -1);
            const uint8_t *f = NULL;
            size_t flen = 0;
            FUZZ_CHECK(next_field(&x, &f, &flen) && memchr(f, '\0', flen) != NULL);
            continue;
        }
        FUZZ_CHECK(rc == 0);
        const uint8_t *f = NULL;
        size_t flen = 0;
        FUZZ_CHECK(!next_field(&x, &f, &flen)); /* nothing left over */
    }
    return 0;
}
