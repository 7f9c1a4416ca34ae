/* pcache_impl.h - what pcache.c shares with pcache_admin.c (the `sigsweep cache` commands):
   opening a cache without making or repairing it, committing what is queued, and the LMDB
   environment and tables behind an open cache. Nothing else includes it. */
#ifndef SGS_PCACHE_IMPL_H
#define SGS_PCACHE_IMPL_H

#include "pcache.h"

#include <lmdb.h>

/* How sgs_pcache_open_as treats a cache that is not there or not usable. */
#define SGS_PCACHE_CREATE 1u /* make the directory (and its parents) and a new cache in it;
                                without: "no cache at DIR" when either is missing */
#define SGS_PCACHE_REPAIR 2u /* move a corrupt or foreign cache aside and start a new one
                                (notice says so); without: "cache DIR is unusable" */

/* sgs_pcache_open_checked (which is CREATE | REPAIR) with the choice made by `how`. A cache
   found corrupt in use is moved aside on close only with REPAIR. */
sgs_pcache *sgs_pcache_open_as(const sgs_allocator *a, const char *dir, unsigned how,
                               int *refused, char *notice, size_t noticelen, char *err,
                               size_t errlen);

/* The environment of an open cache and its two tables (files: identities, answers, records;
   verdicts: content keys). Owned by c; valid until sgs_pcache_close(). */
MDB_env *sgs_pcache_env(const sgs_pcache *c, MDB_dbi *files, MDB_dbi *verdicts);

#endif
