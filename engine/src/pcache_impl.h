/* pcache_impl.h - what pcache.c shares with pcache_admin.c (the `sigsweep cache` commands):
   the LMDB environment and tables behind an open cache. Nothing else includes it. */
#ifndef SGS_PCACHE_IMPL_H
#define SGS_PCACHE_IMPL_H

#include "pcache.h"

#include <lmdb.h>

/* The environment of an open cache and its two tables (files: identities, answers, records;
   verdicts: content keys). Owned by c; valid until sgs_pcache_close(). */
MDB_env *sgs_pcache_env(const sgs_pcache *c, MDB_dbi *files, MDB_dbi *verdicts);

#endif
