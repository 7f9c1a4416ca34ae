/* alloc.h - every engine allocation goes through here, so tests can fail the Nth one. */
#ifndef SGS_ALLOC_H
#define SGS_ALLOC_H

#include "sigsweep.h"

#include <stddef.h>

/* Allocate with the engine's allocator (NULL functions mean malloc/free). */
void *sgs_malloc(const sgs_allocator *a, size_t size);
/* Zeroed allocation of n * size bytes; NULL on overflow. */
void *sgs_calloc(const sgs_allocator *a, size_t n, size_t size);
void sgs_free(const sgs_allocator *a, void *ptr);
/* Copy of s (NUL-terminated); NULL on allocation failure. */
char *sgs_strdup(const sgs_allocator *a, const char *s);

#endif
