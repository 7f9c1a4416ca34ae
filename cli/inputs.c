/*
 * inputs.c - the paths of verify, sign and trust diagnose, from the command line and from
 * --files-from, handed to the engine.
 *
 * DESIGN: the engine judges a file F with its signature F.sig (F.p7s), so a signature is never
 * an input of its own while F is there (sgs_signature_subject says which names are). A
 * signature given by name is therefore a request about F: `verify app.bin.sig` judges app.bin
 * and says so once on stderr, rather than checking nothing. When F is given as well (a shell
 * glob, a `find` list) F's own record already covers it and nothing is said. Whether F is
 * given is only known once every path is read, so signatures wait until the end; the files
 * given are remembered by identity (device, inode), so "./a" and "a" are one file.
 */
#include "inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct waiting {
    char *sig;   /* the signature as given */
    size_t flen; /* F is its first flen bytes */
    file_id id;  /* F's */
    int repeat;  /* F's signature given before (F.sig and F.p7s): said and judged once */
} waiting;

struct inputs {
    const char *cmd;
    sgs_engine *e;
    const char *suffix;
    int p7s;
    const char *verb;
    file_id *given; /* regular files submitted by name */
    size_t ngiven, capgiven;
    waiting *sigs;
    size_t nsigs, capsigs;
};

static int
by_id(const void *a, const void *b)
{
    const file_id *const x = a, *const y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Makes room for one more element of size sz in *v (n used, *cap allocated). 0 or -1. */
static int
grow(void **v, size_t n, size_t *cap, size_t sz)
{
    if (n < *cap)
        return 0;
    const size_t c = *cap ? 2 * *cap : 64;
    void *const bigger = realloc(*v, c * sz);
    if (bigger == NULL)
        return -1;
    *v = bigger;
    *cap = c;
    return 0;
}

inputs *
inputs_create(const char *cmd, sgs_engine *e, const char *sig_suffix, int p7s, const char *verb)
{
    inputs *const in = calloc(1, sizeof(*in));
    if (in == NULL)
        return NULL;
    in->cmd = cmd;
    in->e = e;
    in->suffix = sig_suffix;
    in->p7s = p7s;
    in->verb = verb;
    return in;
}

static int
submit(inputs *in, const char *path)
{
    if (sgs_engine_submit(in->e, path) != SGS_OK) {
        fprintf(stderr, "sigsweep %s: %s\n", in->cmd, sgs_engine_error(in->e));
        return -1;
    }
    return 0;
}

static int
out_of_memory(const inputs *in)
{
    fprintf(stderr, "sigsweep %s: out of memory\n", in->cmd);
    return -1;
}

int
inputs_add(inputs *in, const char *path)
{
    struct stat st;
    const size_t flen = sgs_signature_subject(path, in->suffix, in->p7s);
    if (flen > 0) {
        char *const f = strndup(path, flen);
        const int there = f != NULL && lstat(f, &st) == 0;
        free(f);
        if (there) {
            if (grow((void **)&in->sigs, in->nsigs, &in->capsigs, sizeof(*in->sigs)) != 0)
                return out_of_memory(in);
            waiting *const w = &in->sigs[in->nsigs];
            if ((w->sig = strdup(path)) == NULL)
                return out_of_memory(in);
            w->flen = flen;
            w->id.dev = st.st_dev;
            w->id.ino = st.st_ino;
            w->repeat = 0;
            in->nsigs++;
            return 0;
        }
    }
    if (submit(in, path) != 0)
        return -1;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (grow((void **)&in->given, in->ngiven, &in->capgiven, sizeof(*in->given)) != 0)
            return out_of_memory(in);
        in->given[in->ngiven].dev = st.st_dev;
        in->given[in->ngiven++].ino = st.st_ino;
    }
    return 0;
}

typedef struct id_at {
    file_id id;
    size_t at; /* index in sigs */
} id_at;

static int
by_id_then_at(const void *a, const void *b)
{
    const id_at *const x = a, *const y = b;
    const int c = by_id(&x->id, &y->id);
    return c != 0 ? c : x->at < y->at ? -1 : x->at > y->at;
}

/* Marks every signature whose F had a signature given before it (by F's identity). */
static int
mark_repeats(inputs *in)
{
    id_at *const order = malloc((in->nsigs ? in->nsigs : 1) * sizeof(*order));
    if (order == NULL)
        return -1;
    for (size_t i = 0; i < in->nsigs; i++) {
        order[i].id = in->sigs[i].id;
        order[i].at = i;
    }
    qsort(order, in->nsigs, sizeof(*order), by_id_then_at);
    for (size_t i = 1; i < in->nsigs; i++)
        in->sigs[order[i].at].repeat = by_id(&order[i - 1].id, &order[i].id) == 0;
    free(order);
    return 0;
}

int
inputs_finish(inputs *in)
{
    if (in->nsigs == 0)
        return 0;
    if (in->ngiven > 1)
        qsort(in->given, in->ngiven, sizeof(*in->given), by_id);
    if (mark_repeats(in) != 0)
        return out_of_memory(in);
    for (size_t i = 0; i < in->nsigs; i++) {
        waiting *const w = &in->sigs[i];
        if (w->repeat || (in->ngiven > 0 &&
                          bsearch(&w->id, in->given, in->ngiven, sizeof(*in->given), by_id)))
            continue; /* F is judged anyway, with this signature */
        fprintf(stderr, "sigsweep %s: %s is the signature of %.*s; %s %.*s\n", in->cmd, w->sig,
                (int)w->flen, w->sig, in->verb, (int)w->flen, w->sig);
        w->sig[w->flen] = '\0'; /* F */
        if (submit(in, w->sig) != 0)
            return -1;
    }
    return 0;
}

void
inputs_free(inputs *in)
{
    if (in == NULL)
        return;
    for (size_t i = 0; i < in->nsigs; i++)
        free(in->sigs[i].sig);
    free(in->sigs);
    free(in->given);
    free(in);
}
