/*
 * enforce.c - enforcement: which bad files are held for renaming, the circuit breaker that
 * decides at the run's end whether they are renamed, and the journal's own quarantine names
 * an enforcing run does not judge again. The renames themselves: quarantine.c.
 */
#include "judge.h"

#include <xxhash.h>

enum { ID_WORDS = 8 };

static int
by_id(const void *a, const void *b)
{
    const uint64_t *const x = a, *const y = b;
    for (int i = 0; i < ID_WORDS; i++)
        if (x[i] != y[i])
            return (x[i] > y[i]) - (x[i] < y[i]);
    return 0;
}

static uint64_t
ns_of(const struct timespec *t)
{
    return (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
}

/* A quarantined file's key: the inode as it was right after its rename (any write, chmod,
   touch, new link or rename since changes its ctime), the directory it was renamed in, and
   its name there. */
static void
id_of(uint64_t key[ID_WORDS], const struct stat *st, const struct stat *dir, const char *name)
{
    key[0] = (uint64_t)st->st_dev;
    key[1] = (uint64_t)st->st_ino;
    key[2] = (uint64_t)st->st_size;
    key[3] = ns_of(&st->st_mtim);
    key[4] = ns_of(&st->st_ctim);
    key[5] = (uint64_t)dir->st_dev;
    key[6] = (uint64_t)dir->st_ino;
    key[7] = XXH3_64bits(name, strlen(name));
}

/* The identities of the files the journal records as quarantined (and not restored): the only
   `_invalid` names a run that enforces does not judge again. A record without the ctime (an
   older journal) or whose directory is gone does not count: that file is judged. Unreadable:
   none (all judged). */
void
sgs_enforce_load_journal(sgs_engine *e, const char *journal)
{
    sgs_journal_entry *ents = NULL;
    size_t n = 0;
    char why[256];
    if (sgs_journal_read_fd(&e->alloc, sgs_journal_fd(e->journal), journal, &ents, &n, why,
                            sizeof(why)) != 0)
        return;
    e->quarantined_ids = n > 0 ? sgs_calloc(&e->alloc, n, sizeof(*e->quarantined_ids)) : NULL;
    for (size_t i = 0; e->quarantined_ids != NULL && i < n; i++) {
        char *const slash = strrchr(ents[i].quarantined, '/');
        struct stat dir, st;
        if (!ents[i].done || ents[i].restored || ents[i].ctime_ns == 0 || slash == NULL)
            continue;
        *slash = '\0';
        const int dir_ok = lstat(slash == ents[i].quarantined ? "/" : ents[i].quarantined,
                                 &dir) == 0;
        if (!dir_ok)
            continue;
        memset(&st, 0, sizeof(st));
        st.st_dev = (dev_t)ents[i].dev;
        st.st_ino = (ino_t)ents[i].ino;
        st.st_size = (off_t)ents[i].size;
        st.st_mtim.tv_sec = (time_t)(ents[i].mtime_ns / 1000000000u);
        st.st_mtim.tv_nsec = (long)(ents[i].mtime_ns % 1000000000u);
        st.st_ctim.tv_sec = (time_t)(ents[i].ctime_ns / 1000000000u);
        st.st_ctim.tv_nsec = (long)(ents[i].ctime_ns % 1000000000u);
        id_of(e->quarantined_ids[e->nquarantined_ids++], &st, &dir, slash + 1);
    }
    sgs_journal_entries_free(&e->alloc, ents, n);
    if (e->quarantined_ids != NULL && e->nquarantined_ids > 1)
        qsort(e->quarantined_ids, e->nquarantined_ids, sizeof(*e->quarantined_ids), by_id);
}

/* Verdicts that rename a file under enforcement: the file itself is judged bad. Missing,
   skipped, unreadable and changed files are not: nothing about their contents is known. */
int
sgs_quarantinable(sgs_verdict v)
{
    switch (v) {
    case SGS_V_BAD_SIGNATURE:
    case SGS_V_NO_SIGNATURE:
    case SGS_V_MALFORMED:
    case SGS_V_UNTRUSTED:
    case SGS_V_EXPIRED:
    case SGS_V_NOT_YET_VALID:
    case SGS_V_REVOKED:
    case SGS_V_UNSUPPORTED:
    case SGS_V_DIGEST_MISMATCH:
        return 1;
    default:
        return 0;
    }
}


/* Enforcement: a file judged bad is renamed at the run's end, if the circuit breaker lets it
   and it is still the file judged (sb); until then its record is held. 1: held. */
int
sgs_enforce_hold(sgs_engine *e, worker *w, const job *j, sgs_record *rec, const struct stat *sb)
{
    if (e->journal == NULL || !sgs_quarantinable(rec->verdict))
        return 0;
    sgs_record fixed;
    rec->reason = w->reason;
    return sgs_sink_hold(&e->sink, j->seq, sgs_record_checked(rec, &fixed), sb, j->dir_dev, j->dir_ino);
}

/* 1: the entry is a file sigsweep itself quarantined (by the journal), which an enforcing run
   does not judge again: the very inode, unchanged since its rename (ctime), under the name and
   in the directory the journal gives, writable by root or this user only. Any other such name,
   whoever made it (a hard link, a copy, a rewrite with its mtime put back, another user's
   file), is judged like every file, and sigsweep's own is not renamed again (quarantine.c). */
int
sgs_enforce_own_quarantine(const sgs_engine *e, const sgs_scan_entry *ent)
{
    /* walked entries only: a file named on the command line or in --files-from is judged
       (and gets its record); it is not renamed again either way (quarantine.c) */
    if (e->journal == NULL || e->nquarantined_ids == 0 || ent->given ||
        !sgs_journal_quarantine_shaped(ent->path))
        return 0;
    const char *const slash = strrchr(ent->path, '/');
    const char *const name = slash != NULL ? slash + 1 : ent->path;
    struct stat st, dir;
    int ok;
    if (ent->dir != NULL) {
        const int dfd = sgs_scan_dir_fd(ent->dir);
        ok = fstat(dfd, &dir) == 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    } else {
        const int dfd = sgs_open_parent_nofollow(ent->path);
        ok = dfd >= 0 && fstat(dfd, &dir) == 0 &&
             fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
        if (dfd >= 0)
            close(dfd);
    }
    /* only a file no one else can write: another's could be rewritten through a shared
       mapping without a change of mtime or ctime (the cache's rule, DEVELOPING.md) */
    if (!ok || !S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return 0;
    uint64_t key[ID_WORDS];
    id_of(key, &st, &dir, name);
    return bsearch(key, e->quarantined_ids, e->nquarantined_ids, sizeof(*e->quarantined_ids),
                   by_id) != NULL;
}

/* A held record's outcome: renamed, or why not (the breaker, or the rename's own refusal). */
static void
decide_held(void *opaque, sgs_record *rec, const sgs_held *h)
{
    sgs_engine *const e = opaque;
    char newpath[4096], why[256] = "";
    if (e->breaker[0] == '\0' && atomic_load_explicit(&e->cancelled, memory_order_relaxed))
        snprintf(e->breaker, sizeof(e->breaker), "the run was interrupted before its end");
    if (e->breaker[0] != '\0') {
        atomic_fetch_add_explicit(&e->quarantine_refused, 1, memory_order_relaxed);
        snprintf(e->held_reason, sizeof(e->held_reason), "%s; NOT QUARANTINED: %s", rec->reason,
                 e->breaker);
    } else {
        const sgs_quarantine_result r =
            sgs_quarantine_file_ex(e->journal, rec->path, &h->judged, h->dir_dev, h->dir_ino,
                                   newpath, sizeof(newpath), why, sizeof(why));
        if (r == SGS_QUARANTINE_DONE) {
            atomic_fetch_add_explicit(&e->quarantined, 1, memory_order_relaxed);
            snprintf(e->held_reason, sizeof(e->held_reason), "%s; quarantined as %s",
                     rec->reason, newpath);
        } else {
            snprintf(e->held_reason, sizeof(e->held_reason), "%s; %s%s", rec->reason,
                     r == SGS_QUARANTINE_FAILED ? "NOT QUARANTINED: " : "", why);
        }
    }
    rec->reason = e->held_reason;
}

/* The circuit breaker: the whole run's verdicts decide whether its bad files are renamed. */
static void
check_breaker(sgs_engine *e)
{
    /* the share is of the files judged for their contents: VALID and the quarantinable
       verdicts (links, FIFOs, missing or unreadable files do not dilute it) */
    const uint64_t bad = e->sink.nheld;
    const uint64_t valid = atomic_load_explicit(&e->verdicts[SGS_V_VALID], memory_order_relaxed);
    uint64_t total = valid + bad;
    for (unsigned v = 0; v < SGS_VERDICT_COUNT; v++)
        if (sgs_quarantinable((sgs_verdict)v))
            total += atomic_load_explicit(&e->verdicts[v], memory_order_relaxed);
    const unsigned pct = e->cfg.max_quarantine_percent > 100 ? 100 : e->cfg.max_quarantine_percent;
    const uint64_t share = total / 100 * pct + (total % 100) * pct / 100;
    const uint64_t allowed = share > e->cfg.max_quarantine ? share : e->cfg.max_quarantine;
    e->breaker[0] = '\0';
    if (bad == 0)
        return;
    if (atomic_load_explicit(&e->cancelled, memory_order_relaxed))
        snprintf(e->breaker, sizeof(e->breaker), "the run was interrupted before its end");
    else if (e->cfg.force_quarantine)
        return;
    else if (valid == 0)
        snprintf(e->breaker, sizeof(e->breaker),
                 "circuit breaker: no file of this run verified (%llu would be quarantined): "
                 "the wrong key, trust store, hash or padding?",
                 (unsigned long long)bad);
    else if (bad > allowed) {
        char limit[96];
        if (pct == 0)
            snprintf(limit, sizeof(limit), "%llu files", (unsigned long long)allowed);
        else if (e->cfg.max_quarantine == 0)
            snprintf(limit, sizeof(limit), "%llu (%u%% of the files)",
                     (unsigned long long)allowed, pct);
        else
            snprintf(limit, sizeof(limit), "%llu (%u%% of the files, at least %llu)",
                     (unsigned long long)allowed, pct,
                     (unsigned long long)e->cfg.max_quarantine);
        snprintf(e->breaker, sizeof(e->breaker),
                 "circuit breaker: %llu of %llu files (%llu%%) would be quarantined, over the "
                 "limit of %s",
                 (unsigned long long)bad, (unsigned long long)total,
                 (unsigned long long)(bad * 100 / total), limit);
    }
}

/* At the run's end: the breaker decides, then every held record goes out with its outcome. */
void
sgs_enforce_decide(sgs_engine *e)
{
    check_breaker(e);
    sgs_sink_release_held(&e->sink, decide_held, e);
}
