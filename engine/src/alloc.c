/*
 * alloc.c - the engine's allocation entry points.
 *
 * DESIGN: the engine never calls malloc directly. A caller-supplied sgs_allocator (kept in
 * the engine, never global) lets tests fail the Nth allocation and check that every error
 * path releases what it took.
 */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

void *
sgs_malloc(const sgs_allocator *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (a != NULL && a->malloc_fn != NULL)
        return a->malloc_fn(a->opaque, size);
    return malloc(size);
}

void *
sgs_calloc(const sgs_allocator *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    if (a == NULL || a->malloc_fn == NULL) /* fresh pages come zeroed: not touched here */
        return calloc(n != 0 ? n : 1, size != 0 ? size : 1);
    void *const p = sgs_malloc(a, n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void
sgs_free(const sgs_allocator *a, void *ptr)
{
    if (ptr == NULL)
        return;
    if (a != NULL && a->free_fn != NULL)
        a->free_fn(a->opaque, ptr);
    else
        free(ptr);
}

char *
sgs_strdup(const sgs_allocator *a, const char *s)
{
    const size_t n = strlen(s) + 1;
    char *const p = sgs_malloc(a, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}
