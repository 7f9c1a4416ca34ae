/*
 * guard.c - `sigsweep guard`: fanotify exec permission events answered with the engine's
 * verdicts, within a deadline.
 *
 *   kernel ─FAN_OPEN_EXEC_PERM─► reader (sgs_guard_run): own process, outside the watched
 *     trees: allow; exempt: allow (logged); the verdict store knows the descriptor's identity
 *     and the file was not written since: answer now ──────────► response
 *     otherwise ─► queue ─► judging threads: sgs_engine_judge_fd (reads through the
 *     descriptor), stored, answered ─────────────────► response
 *     then (--quarantine, denied by a verdict on the contents; also a store denial, queued
 *     for it) the rename <name>_invalid through the journal, within a lifetime breaker
 *     watchdog (the reader's ppoll timeout): a pending exec past its deadline gets the
 *     on-timeout decision; its judgement goes on and fills the store (a LATE event)
 *   kernel ─FAN_MODIFY / FAN_CLOSE_WRITE─► the written set: for 2 x the store's racy window
 *     the store is not asked about that (dev, ino); after that, a write shows in the identity
 *     the store keys on (size, mtime, ctime), and an entry is never stored for a file changed
 *     within its racy window (pcache.c).
 *   kernel ─FAN_MOVED_FROM/TO, FAN_CREATE, FAN_DELETE (a second group, FAN_REPORT_DFID_NAME +
 *     TARGET_FID, FAN_MARK_FILESYSTEM: mount marks get no dirent events)─► the written set too:
 *     the inode moved, created or deleted (its handle), the file a name now holds, and the file
 *     a signature name (F<suffix>, F.p7s, F.minisig) belongs to. Defence in depth: a file put
 *     at a name by rename is another inode (or has a new ctime), so the identity key misses it
 *     anyway; without the second group (the file system has no fsid) the guard goes on.
 *
 * Invariants: every permission event gets exactly one response: whoever flips pend.answered
 * first writes it (reader, watchdog, judging thread or stop). The event's descriptor is the
 * only handle on the executable: its identity is its fstat, its bytes are read through it;
 * the path the kernel reports names only where its signature files are. The guard never execs
 * anything; it allows its own process's events (it never waits on itself). Closing the group
 * (exit, crash, kill -9) removes the marks and the kernel allows the events still pending.
 * All state hangs off the sgs_guard; the engine it judges with is shared by its threads as a
 * run's workers share it.
 */
#include "judge.h"
#include "mountmap.h"

#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
#include <time.h>

#define GUARD_MAX_PENDING 256u /* execs waiting for a judgement: more are answered at once */
#define WRITTEN_SLOTS 4096u    /* files written recently (a power of two) */
#define WRITTEN_PROBE 16u
#define WRITTEN_KEEP_NS (2 * SGS_PCACHE_RACY_NS)
#define GUARD_MAX_THREADS 64u

typedef struct pend {
    struct pend *next; /* the judging queue */
    int fd;            /* the event's descriptor: the file */
    int stored;        /* denied from the store already (answered): queued only to be
                          quarantined and logged; its verdict and reason below */
    sgs_verdict stored_v;
    char *stored_reason;
    int64_t answered_at; /* stored: when it was answered */
    int32_t pid;
    int64_t uid;
    int64_t t0;        /* CLOCK_MONOTONIC ns, when the event was read */
    int64_t deadline;
    _Atomic int answered;
    struct stat st;
    job *j; /* the file's path (as the kernel reports it) and its signature files */
} pend;

typedef struct written_slot {
    uint64_t dev, ino;
    int64_t until; /* CLOCK_MONOTONIC ns; 0: free */
} written_slot;

struct sgs_guard {
    sgs_engine *e;
    sgs_guard_config cfg; /* watch and exempt point at the copies below */
    char **watch, **exempt;
    int timeout_allow;
    int fan;    /* the fanotify group */
    int dirfan; /* the second group: names that change which file they hold (-1: none) */
    int *mountfd; /* per watched path: open_by_handle_at's mount descriptor (-1: none) */
    /* per watched path: the mount it is on (its id) and its path inside its file system, for
       execs through other mounts of that file system (another mount namespace's copies, bind
       mounts); fsmark: the exec group marks whole file systems (else mounts: no such map) */
    uint64_t *wmnt;
    char **wmroot, **wmpoint; /* that mount's root in its file system, its mount point here */
    dev_t *wdev;
    int fsmark;
    __kernel_fsid_t *fsid; /* ... and its file system's id, as dirent events report it */
    char notice[512];
    int stopfd; /* eventfd: sgs_guard_stop() */
    pid_t self;
    worker *reader_w;             /* the reader's store lookups */
    worker *judge_w[GUARD_MAX_THREADS];
    pthread_t threads[GUARD_MAX_THREADS];
    unsigned nthreads;
    pthread_mutex_t mu; /* the queue, the pending list, stopping */
    pthread_cond_t cv;
    pend *head, *tail;
    pend *live[GUARD_MAX_PENDING]; /* pending execs (queued or being judged) */
    unsigned nlive;
    int stopping;
    pthread_mutex_t emit_mu; /* on_event, one call at a time */
    int quarantine;          /* cfg.quarantine, with the engine's journal */
    pthread_mutex_t q_mu;    /* the quarantine's count and identities */
    uint64_t q_max;          /* the circuit breaker: renames in the guard's lifetime */
    uint64_t q_count;        /* renames done or under way */
    int q_tripped;           /* the breaker has said so */
    uint64_t (*q_ids)[2];    /* (dev, ino) of the files this guard renamed: q_max of them */
    size_t q_nids;
    written_slot written[WRITTEN_SLOTS]; /* the reader's only */
    int64_t written_overflow_until;
};

static int64_t
now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void
sgs_guard_config_init(sgs_guard_config *gc)
{
    memset(gc, 0, sizeof(*gc));
    gc->deadline_ms = 200;
    gc->timeout_allow = -1;
    gc->threads = 2;
}

const char *
sgs_guard_how_name(sgs_guard_how how)
{
    static const char *const names[] = {"store", "judged", "timeout", "late", "exempt"};
    return (unsigned)how < sizeof(names) / sizeof(names[0]) ? names[how] : "?";
}

/* ---- decisions --------------------------------------------------------------------------- */

/* What the quarantine did with one decision's file (quarantine_denied). */
typedef struct qout {
    sgs_guard_quarantine q;
    int tripped;
    char newpath[PATH_MAX + 32];
    char why[512];
} qout;

/* Why a decision's file is not renamed when no rename was tried. */
static const char *
not_tried(int allowed, sgs_guard_how how)
{
    if (how == SGS_GUARD_TIMEOUT || how == SGS_GUARD_LATE)
        return "decided at the deadline, not by a verdict: never renamed";
    return allowed ? "allowed" : "not renamed";
}

/* One event out; latency: from t0 (the event read) to now, or to the answer (answered_at);
   qo: the quarantine's outcome, NULL when none was tried. */
static void
emit(sgs_guard *g, int32_t pid, int64_t uid, const char *path, const struct stat *st,
     sgs_verdict v, const char *reason, int allowed, sgs_guard_how how, int64_t t0,
     int64_t answered_at, const qout *qo)
{
    sgs_guard_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.quarantine = SGS_GUARD_Q_OFF;
    ev.quarantine_why = "";
    if (qo != NULL) {
        ev.quarantine = qo->q;
        ev.quarantined = qo->q == SGS_GUARD_Q_DONE ? qo->newpath : NULL;
        ev.quarantine_why = qo->q == SGS_GUARD_Q_DONE ? "" : qo->why;
        ev.breaker_tripped = qo->tripped;
    } else if (g->quarantine) {
        ev.quarantine = SGS_GUARD_Q_NOT;
        ev.quarantine_why = not_tried(allowed, how);
    }
    ev.pid = pid;
    ev.uid = uid;
    ev.path = path;
    if (st != NULL) {
        ev.dev = (uint64_t)st->st_dev;
        ev.ino = (uint64_t)st->st_ino;
        ev.size = (uint64_t)st->st_size;
        ev.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
        ev.ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
    }
    ev.verdict = v;
    ev.reason = reason != NULL ? reason : "";
    ev.allowed = allowed;
    ev.how = how;
    const int64_t took = (answered_at > 0 ? answered_at : now_ns(CLOCK_MONOTONIC)) - t0;
    ev.latency_ns = took > 0 ? (uint64_t)took : 0;
    ev.time_ns = now_ns(CLOCK_REALTIME);
    pthread_mutex_lock(&g->emit_mu);
    g->cfg.on_event(g->cfg.opaque, &ev);
    pthread_mutex_unlock(&g->emit_mu);
}

static void
respond(const sgs_guard *g, int fd, int allow)
{
    const struct fanotify_response r = {.fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY};
    /* a response the kernel no longer waits for (the exec'ing process was killed) fails with
       ENOENT: nothing to do */
    while (write(g->fan, &r, sizeof(r)) < 0 && errno == EINTR) {
    }
}

/* The one response of a pending exec; 0 when someone else gave it. */
static int
answer(const sgs_guard *g, pend *p, int allow)
{
    if (atomic_exchange_explicit(&p->answered, 1, memory_order_acq_rel))
        return 0;
    respond(g, p->fd, allow);
    return 1;
}

static int
allows(const sgs_guard *g, sgs_verdict v)
{
    return v == SGS_V_VALID || !g->cfg.enforce;
}

static void
answer_timeout(sgs_guard *g, pend *p, const char *why)
{
    if (answer(g, p, g->timeout_allow))
        emit(g, p->pid, p->uid, p->j->path, &p->st, SGS_V_UNJUDGED, why, g->timeout_allow,
             SGS_GUARD_TIMEOUT, p->t0, now_ns(CLOCK_MONOTONIC), NULL);
}

/* ---- judging threads --------------------------------------------------------------------- */

static void
pend_free(sgs_guard *g, pend *p)
{
    close(p->fd);
    sgs_free(&g->e->alloc, p->stored_reason);
    sgs_free(&g->e->alloc, p->j);
    sgs_free(&g->e->alloc, p);
}

static void
live_remove(sgs_guard *g, const pend *p)
{
    for (unsigned i = 0; i < g->nlive; i++)
        if (g->live[i] == p) {
            g->live[i] = g->live[--g->nlive];
            return;
        }
}

/* 1: the guard renamed (dev, ino) already (under q_mu). */
static int
renamed_here(const sgs_guard *g, const struct stat *st)
{
    for (size_t i = 0; i < g->q_nids; i++)
        if (g->q_ids[i][0] == (uint64_t)st->st_dev && g->q_ids[i][1] == (uint64_t)st->st_ino)
            return 1;
    return 0;
}

/* A file denied by its verdict v, judged as st: renamed <name>_invalid through the journal,
   unless the verdict is not about its contents, it is sigsweep's own quarantine already, or the
   circuit breaker has tripped. The count is taken before the rename (so concurrent threads never
   pass the limit together) and given back when nothing was renamed. */
static void
quarantine_denied(sgs_guard *g, const char *path, const struct stat *st, sgs_verdict v,
                  qout *o)
{
    sgs_engine *const e = g->e;
    o->q = SGS_GUARD_Q_NOT;
    o->tripped = 0;
    o->newpath[0] = '\0';
    if (!sgs_quarantinable(v)) { /* as verify's quarantine (enforce.c) */
        snprintf(o->why, sizeof(o->why), "%s is not a verdict on the file's contents: not renamed",
                 sgs_verdict_name(v));
        return;
    }
    if (path[0] != '/') {
        snprintf(o->why, sizeof(o->why), "its path is unknown: not renamed");
        return;
    }
    pthread_mutex_lock(&g->q_mu);
    /* sigsweep's own quarantine from the journal (any run's): the rename itself refuses it
       ("not quarantined again", quarantine.c), and the count is given back */
    const int again = renamed_here(g, st);
    const int full = !again && g->q_count >= g->q_max;
    if (full) {
        o->q = SGS_GUARD_Q_BREAKER;
        o->tripped = !g->q_tripped;
        g->q_tripped = 1;
        snprintf(o->why, sizeof(o->why),
                 "circuit breaker: this guard has quarantined %llu file(s), its limit "
                 "(--max-quarantine): no more renames, the denials go on",
                 (unsigned long long)g->q_count);
    } else if (!again) {
        g->q_count++;
    }
    pthread_mutex_unlock(&g->q_mu);
    if (again)
        snprintf(o->why, sizeof(o->why), "quarantined by sigsweep already: not renamed again");
    if (again || full)
        return;
    char why[256] = "";
    const sgs_quarantine_result r = sgs_quarantine_file_ex(
        e->journal, path, st, 0, 0, o->newpath, sizeof(o->newpath), why, sizeof(why));
    pthread_mutex_lock(&g->q_mu);
    if (r == SGS_QUARANTINE_DONE && g->q_nids < g->q_max) {
        g->q_ids[g->q_nids][0] = (uint64_t)st->st_dev;
        g->q_ids[g->q_nids++][1] = (uint64_t)st->st_ino;
    } else if (r != SGS_QUARANTINE_DONE) {
        g->q_count--;
    }
    pthread_mutex_unlock(&g->q_mu);
    if (r == SGS_QUARANTINE_DONE) {
        atomic_fetch_add_explicit(&e->quarantined, 1, memory_order_relaxed);
        o->q = SGS_GUARD_Q_DONE;
    } else {
        snprintf(o->why, sizeof(o->why), "%s%s", r == SGS_QUARANTINE_FAILED ? "NOT QUARANTINED: "
                                                                            : "not renamed: ",
                 why);
    }
}

/* A queued exec: judged (answered unless the watchdog was first), or, denied from the store
   already, only quarantined; then logged. The rename comes after the answer, never before. */
static void
decide(sgs_guard *g, worker *w, pend *p, int stopping)
{
    qout qo;
    const qout *q = NULL;
    if (p->stored) {
        if (g->quarantine && !stopping) {
            quarantine_denied(g, p->j->path, &p->st, p->stored_v, &qo);
            q = &qo;
        }
        emit(g, p->pid, p->uid, p->j->path, &p->st, p->stored_v, p->stored_reason, 0,
             SGS_GUARD_STORE, p->t0, p->answered_at, q);
        return;
    }
    if (stopping)
        return; /* answered and logged by the stop */
    sgs_record rec;
    struct stat sb = p->st; /* set again by the judgement (every verdict on contents is) */
    sgs_engine_judge_fd(g->e, w, p->j, p->fd, &rec, &sb);
    if (g->e->pcache != NULL) { /* the next exec of this file: from the store */
        char why[256];
        (void)sgs_pcache_commit(g->e->pcache, why, sizeof(why));
    }
    const sgs_verdict v = rec.verdict != SGS_V_UNJUDGED ? rec.verdict : SGS_V_IO_ERROR;
    const int allow = allows(g, v);
    /* the answer's time is taken before writing it: the process it wakes may run on this CPU
       before this thread does again, and that is not the guard's time */
    const int64_t answered_at = now_ns(CLOCK_MONOTONIC);
    if (answer(g, p, allow)) {
        if (g->quarantine && !allow) {
            quarantine_denied(g, p->j->path, &sb, v, &qo);
            q = &qo;
        }
        emit(g, p->pid, p->uid, p->j->path, &p->st, v, rec.reason, allow, SGS_GUARD_JUDGED,
             p->t0, answered_at, q);
    } else {
        emit(g, p->pid, p->uid, p->j->path, &p->st, v, rec.reason, -1, SGS_GUARD_LATE, p->t0, 0,
             NULL);
    }
}

typedef struct judge_arg {
    sgs_guard *g;
    worker *w;
} judge_arg;

static void *
judge_thread(void *arg)
{
    sgs_guard *const g = ((judge_arg *)arg)->g;
    worker *const w = ((judge_arg *)arg)->w;
    sgs_free(&g->e->alloc, arg);
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (g->head == NULL && !g->stopping)
            pthread_cond_wait(&g->cv, &g->mu);
        pend *const p = g->head;
        if (p == NULL) { /* stopping, nothing left */
            pthread_mutex_unlock(&g->mu);
            return NULL;
        }
        g->head = p->next;
        if (g->head == NULL)
            g->tail = NULL;
        const int stopping = g->stopping;
        pthread_mutex_unlock(&g->mu);
        decide(g, w, p, stopping);
        pthread_mutex_lock(&g->mu);
        live_remove(g, p);
        pthread_mutex_unlock(&g->mu);
        pend_free(g, p);
    }
}

/* ---- the reader -------------------------------------------------------------------------- */

static int
under(const char *path, char *const *roots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const size_t len = strlen(roots[i]);
        if (strcmp(roots[i], "/") == 0 ||
            (strncmp(path, roots[i], len) == 0 && (path[len] == '\0' || path[len] == '/')))
            return 1;
    }
    return 0;
}

static written_slot *
written_find(sgs_guard *g, const struct stat *st, int64_t now, int make)
{
    const uint64_t h = ((uint64_t)st->st_ino * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)st->st_dev;
    written_slot *spare = NULL;
    for (unsigned k = 0; k < WRITTEN_PROBE; k++) {
        written_slot *const s = &g->written[(h + k) & (WRITTEN_SLOTS - 1)];
        if (s->until > now && s->dev == (uint64_t)st->st_dev && s->ino == (uint64_t)st->st_ino)
            return s;
        if (spare == NULL && s->until <= now)
            spare = s;
    }
    if (make && spare != NULL) {
        spare->dev = (uint64_t)st->st_dev;
        spare->ino = (uint64_t)st->st_ino;
    }
    return make ? spare : NULL;
}

/* FAN_MODIFY, FAN_CLOSE_WRITE: the file's stored verdict is not used for a while. */
static void
note_written(sgs_guard *g, const struct stat *st)
{
    const int64_t now = now_ns(CLOCK_MONOTONIC);
    written_slot *const s = written_find(g, st, now, 1);
    if (s != NULL)
        s->until = now + WRITTEN_KEEP_NS;
    else /* too many files written at once: the store is asked about none for a while */
        g->written_overflow_until = now + WRITTEN_KEEP_NS;
}

static int
recently_written(sgs_guard *g, const struct stat *st)
{
    const int64_t now = now_ns(CLOCK_MONOTONIC);
    return g->written_overflow_until > now || written_find(g, st, now, 0) != NULL;
}

static int64_t
process_uid(int32_t pid)
{
    char proc[32];
    struct stat st;
    snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
    return stat(proc, &st) == 0 ? (int64_t)st.st_uid : -1;
}

/* p to the judging threads; 0 when GUARD_MAX_PENDING execs wait already. */
static int
enqueue(sgs_guard *g, pend *p)
{
    pthread_mutex_lock(&g->mu);
    if (g->nlive == GUARD_MAX_PENDING) {
        pthread_mutex_unlock(&g->mu);
        return 0;
    }
    g->live[g->nlive++] = p;
    if (g->tail != NULL)
        g->tail->next = p;
    else
        g->head = p;
    g->tail = p;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return 1;
}

/* Is mount `id` one a watched path is on (its paths, as this process names them, are sound)? */
static int
watched_mount(const sgs_guard *g, uint64_t id)
{
    for (size_t i = 0; i < g->cfg.nwatch; i++)
        if (g->wmnt[i] == id)
            return 1;
    return 0;
}

/* An exec through a mount that is not a watched path's own (another mount namespace's copy of
   it, made by any user with a user namespace; a bind mount): where the file lies in its file
   system, from the exec'ing process's view of that mount. path is the kernel's name of the
   descriptor, relative to that namespace's root; mountinfo's mount point is relative to the
   process's root (a chroot), so the root (/proc/PID/root, named in the same frame) goes in
   front of it. The place found is then checked: the same file system path through this
   namespace's mount of it must be the very inode executed, or the place is unknown. 1: under
   watched path i, with its path in this namespace in ours; 0: outside every watched tree;
   -1: unknown (judged, as in a tree, with no name). */
static int
foreign_place(const sgs_guard *g, int32_t pid, uint64_t mnt, const char *path,
              const struct stat *st, char *ours, size_t ourslen)
{
    char proc[64], root[PATH_MAX], point[PATH_MAX], proot[PATH_MAX], full[2 * PATH_MAX],
        fsp[PATH_MAX];
    snprintf(proc, sizeof(proc), "/proc/%d/root", (int)pid);
    const ssize_t rl = readlink(proc, proot, sizeof(proot) - 1);
    snprintf(proc, sizeof(proc), "/proc/%d/mountinfo", (int)pid);
    if (path[0] != '/' || rl <= 0 || proot[0] != '/' ||
        sgs_mountinfo_find(proc, mnt, root, sizeof(root), point, sizeof(point)) != 0)
        return -1;
    proot[rl] = '\0';
    const int fl = snprintf(full, sizeof(full), "%s%s", strcmp(proot, "/") == 0 ? "" : proot,
                            strcmp(point, "/") == 0 && strcmp(proot, "/") != 0 ? "" : point);
    if (fl <= 0 || (size_t)fl >= sizeof(full) ||
        sgs_mount_fs_path(root, full, path, fsp, sizeof(fsp)) != 0)
        return -1;
    for (size_t i = 0; i < g->cfg.nwatch; i++) {
        /* this namespace's name for fsp: through watched path i's mount, when it shows it */
        const size_t rlen = strcmp(g->wmroot[i], "/") == 0 ? 0 : strlen(g->wmroot[i]);
        if (g->wdev[i] != st->st_dev || strncmp(fsp, g->wmroot[i], rlen) != 0 ||
            (fsp[rlen] != '/' && fsp[rlen] != '\0'))
            continue;
        const int n = snprintf(ours, ourslen, "%s%s",
                               strcmp(g->wmpoint[i], "/") == 0 ? "" : g->wmpoint[i], fsp + rlen);
        struct stat here;
        if (n <= 0 || (size_t)n >= ourslen || lstat(ours[0] ? ours : "/", &here) != 0 ||
            here.st_dev != st->st_dev || here.st_ino != st->st_ino)
            return -1; /* not the inode executed: the place is not known */
        return under(ours, g->watch, g->cfg.nwatch) ? 1 : 0;
    }
    return -1;
}

/* One exec permission event; fd is handed on or closed. */
static void
on_exec(sgs_guard *g, int fd, int32_t pid)
{
    const int64_t t0 = now_ns(CLOCK_MONOTONIC);
    if (pid == g->self) { /* the guard's own process: never wait on ourselves */
        respond(g, fd, 1);
        close(fd);
        return;
    }
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = '\0'; /* unknown: judged (its signature cannot be found) */
    struct stat st;
    uint64_t mnt = 0;
    /* with a file-system mark, the mount too: one statx for both */
    const int how = g->fsmark ? sgs_mount_id(fd, &mnt, &st) : (fstat(fd, &st) == 0 ? 1 : -1);
    const int have_st = how >= 0;
    if (!have_st)
        memset(&st, 0, sizeof(st));
    if (g->fsmark && (how != 0 || !watched_mount(g, mnt))) {
        /* through another mount of a watched file system: placed by its file-system path */
        char ours[PATH_MAX];
        const int at = have_st ? foreign_place(g, pid, mnt, path, &st, ours, sizeof(ours))
                               : -1;
        if (at == 0) {
            respond(g, fd, 1); /* on a marked file system, outside the watched trees */
            close(fd);
            return;
        }
        /* in a tree: named as in this namespace (its signature files are looked up there);
           unknown: judged with no name (no signature can be found) */
        n = at == 1 ? (ssize_t)strlen(ours) : 0;
        memcpy(path, at == 1 ? ours : "", (size_t)n + 1);
    } else if (n > 0 && !under(path, g->watch, g->cfg.nwatch)) {
        respond(g, fd, 1); /* on a marked mount, outside the watched trees */
        close(fd);
        return;
    }
    if (n > 0 && under(path, g->exempt, g->cfg.nexempt)) {
        const int64_t uid = process_uid(pid); /* before the answer, as every uid logged */
        respond(g, fd, 1);
        close(fd);
        emit(g, pid, uid, path, &st, SGS_V_UNJUDGED, "exempt path", 1, SGS_GUARD_EXEMPT, t0, 0,
             NULL);
        return;
    }
    const char *const slash = strrchr(path, '/');
    job *const j = sgs_job_create(g->e, path, slash != NULL ? (size_t)(slash - path) + 1 : 0);
    pend *const p = j != NULL ? sgs_calloc(&g->e->alloc, 1, sizeof(*p)) : NULL;
    if (p == NULL) {
        const int64_t uid = process_uid(pid);
        respond(g, fd, g->timeout_allow);
        close(fd);
        emit(g, pid, uid, path, &st, SGS_V_UNJUDGED, "out of memory", g->timeout_allow,
             SGS_GUARD_TIMEOUT, t0, 0, NULL);
        sgs_free(&g->e->alloc, j);
        return;
    }
    p->fd = fd;
    p->pid = pid;
    p->t0 = t0;
    p->deadline = t0 + (int64_t)g->cfg.deadline_ms * 1000000LL;
    p->st = st;
    p->j = j;
    sgs_record rec;
    struct stat sb = st; /* the descriptor's fstat, as the lookup takes it */
    if (have_st && !recently_written(g, &st) &&
        sgs_engine_lookup_fd(g->e, g->reader_w, j, fd, &rec, &sb)) {
        const int allow = allows(g, rec.verdict);
        atomic_store_explicit(&p->answered, 1, memory_order_relaxed);
        /* the uid, for the log, while the process still waits for its answer: after it, a short
           program can be gone already (-1), or a set-user-ID one show its new uid */
        p->uid = process_uid(pid);
        /* the answer's time, before writing it: the exec'ing process may run on this CPU before
           this thread does again, and that is not the guard's time */
        const int64_t answered_at = now_ns(CLOCK_MONOTONIC);
        respond(g, fd, allow);
        if (!allow && g->quarantine) { /* renamed by a judging thread, off this path */
            p->stored = 1;
            p->stored_v = rec.verdict;
            p->answered_at = answered_at;
            p->stored_reason = sgs_strdup(&g->e->alloc, rec.reason);
            if (p->stored_reason != NULL && enqueue(g, p))
                return;
        }
        emit(g, pid, p->uid, path, &st, rec.verdict, rec.reason, allow, SGS_GUARD_STORE, t0,
             answered_at, NULL);
        pend_free(g, p);
        return;
    }
    p->uid = process_uid(pid); /* waiting for its answer: still the process that exec'd */
    if (!enqueue(g, p)) {
        answer_timeout(g, p, "too many execs waiting for a judgement");
        pend_free(g, p);
    }
}

/* The watchdog: pending execs past their deadline get the on-timeout decision. Returns the
   time to the next deadline in ns, or -1 when nothing waits. */
static int64_t
watchdog(sgs_guard *g)
{
    const int64_t now = now_ns(CLOCK_MONOTONIC);
    int64_t next = -1;
    pend *late[GUARD_MAX_PENDING];
    unsigned nlate = 0;
    pthread_mutex_lock(&g->mu);
    for (unsigned i = 0; i < g->nlive; i++) {
        pend *const p = g->live[i];
        if (atomic_load_explicit(&p->answered, memory_order_acquire))
            continue;
        if (p->deadline <= now)
            late[nlate++] = p;
        else if (next < 0 || p->deadline - now < next)
            next = p->deadline - now;
    }
    /* answered under the lock: a judging thread frees a pend only after taking it */
    for (unsigned i = 0; i < nlate; i++)
        answer_timeout(g, late[i], "no verdict within the deadline (--deadline); judging goes "
                                   "on for the next exec");
    pthread_mutex_unlock(&g->mu);
    return next;
}

/* ---- dirent events ---------------------------------------------------------------------- */

/* The watched path's descriptor on the file system fsid names, for open_by_handle_at. */
static int
mount_fd_for(const sgs_guard *g, const __kernel_fsid_t *fsid)
{
    for (size_t i = 0; i < g->cfg.nwatch; i++)
        if (g->mountfd[i] >= 0 && memcmp(&g->fsid[i], fsid, sizeof(*fsid)) == 0)
            return g->mountfd[i];
    return -1;
}

/* F for a signature file's name (F<suffix>, F.p7s, F.minisig) in base; 0 when it is none. */
static int
signed_name(const sgs_guard *g, const char *name, char *base, size_t n)
{
    const char *const sfx[3] = {g->e->suffix, ".p7s", ".minisig"};
    const size_t len = strlen(name);
    for (unsigned i = 0; i < 3; i++) {
        const size_t sl = strlen(sfx[i]);
        if (len > sl && len - sl < n && strcmp(name + len - sl, sfx[i]) == 0) {
            memcpy(base, name, len - sl);
            base[len - sl] = '\0';
            return 1;
        }
    }
    return 0;
}

/* One dirent event: every file whose name changed hands is noted written (its stored verdict
   unused for a while). The records after the metadata (rec, len bytes): the directory and the
   name (DFID_NAME), the inode itself (FID, with FAN_REPORT_TARGET_FID). Records are 4-aligned
   and the structs are not read in place: copied out first. */
static void
on_dirent(sgs_guard *g, const struct fanotify_event_metadata *m, const char *rec, size_t len)
{
    struct stat st;
    size_t at = 0;
    while (at + sizeof(struct fanotify_event_info_fid) + sizeof(struct file_handle) <= len) {
        struct fanotify_event_info_fid info;
        memcpy(&info, rec + at, sizeof(info));
        const char *const raw = rec + at + sizeof(info); /* the file handle, then a name */
        if (info.hdr.len < sizeof(info) + sizeof(struct file_handle) || info.hdr.len > len - at)
            return;
        const size_t room = info.hdr.len - sizeof(info); /* the handle's and the name's */
        at += info.hdr.len;
        union {
            struct file_handle fh;
            char bytes[sizeof(struct file_handle) + MAX_HANDLE_SZ];
        } h;
        memcpy(&h.fh, raw, sizeof(h.fh));
        const size_t hlen = sizeof(h.fh) + h.fh.handle_bytes;
        const int mfd = mount_fd_for(g, &info.fsid);
        if (mfd < 0 || h.fh.handle_bytes > MAX_HANDLE_SZ || hlen > room)
            continue;
        memcpy(h.bytes, raw, hlen);
        const char *const name = raw + hlen;
        if (info.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME &&
            memchr(name, '\0', room - hlen) == NULL)
            return;
        const int fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
        if (fd < 0)
            continue; /* gone: nothing of it can be exec'd */
        if (info.hdr.info_type == FAN_EVENT_INFO_TYPE_FID) { /* the inode itself */
            if (fstat(fd, &st) == 0)
                note_written(g, &st);
        } else if (info.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME) {
            char base[NAME_MAX + 1];
            if ((m->mask & (FAN_MOVED_TO | FAN_CREATE)) &&
                fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                note_written(g, &st); /* what the name holds now */
            if (signed_name(g, name, base, sizeof(base)) &&
                fstatat(fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
                note_written(g, &st); /* its signature file changed hands */
        }
        close(fd);
    }
}

/* One event of the exec group: an exec, or a write. */
static void
on_exec_group(sgs_guard *g, const struct fanotify_event_metadata *m, const char *rec, size_t len)
{
    (void)rec;
    (void)len;
    if (m->fd < 0)
        return;
    if (m->mask & FAN_OPEN_EXEC_PERM) {
        on_exec(g, m->fd, m->pid);
        return;
    }
    struct stat st;
    if (m->pid != g->self && fstat(m->fd, &st) == 0)
        note_written(g, &st);
    close(m->fd);
}

/* One event of the dirent group (the guard's own renames, its quarantine, are left). */
static void
on_dirent_group(sgs_guard *g, const struct fanotify_event_metadata *m, const char *rec,
                size_t len)
{
    if (m->pid != g->self)
        on_dirent(g, m, rec, len);
}

typedef void (*event_fn)(sgs_guard *g, const struct fanotify_event_metadata *m, const char *rec,
                         size_t len);

/* Reads what the kernel has queued on a group, each event to one() with the records after its
   metadata. Events are 4-aligned (FID records), the metadata needs 8: each is copied out, never
   read in place. An overflow (events lost: writes or renames unseen) keeps the store unused for
   a while. 0, or -1 with errno. */
static int
read_group(sgs_guard *g, int fan, event_fn one)
{
    _Alignas(struct fanotify_event_metadata) char buf[16384];
    for (;;) {
        const ssize_t len = read(fan, buf, sizeof(buf));
        if (len < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        /* room left for more than one more event: the queue was empty (ppoll says when it is
           not again), so no read that would only say EAGAIN */
        const int drained = (size_t)len + 4096 < sizeof(buf);
        size_t at = 0;
        while (at + FAN_EVENT_METADATA_LEN <= (size_t)len) {
            struct fanotify_event_metadata m;
            memcpy(&m, buf + at, sizeof(m));
            if (m.event_len < FAN_EVENT_METADATA_LEN || m.event_len > (size_t)len - at ||
                m.metadata_len < FAN_EVENT_METADATA_LEN || m.metadata_len > m.event_len)
                break;
            if (m.vers != FANOTIFY_METADATA_VERSION) {
                errno = EPROTO;
                return -1;
            }
            if (m.mask & FAN_Q_OVERFLOW)
                g->written_overflow_until = now_ns(CLOCK_MONOTONIC) + WRITTEN_KEEP_NS;
            else
                one(g, &m, buf + at + m.metadata_len, m.event_len - m.metadata_len);
            at += m.event_len;
        }
        if (drained)
            return 0;
    }
}

sgs_status
sgs_guard_run(sgs_guard *g, char *err, size_t errlen)
{
    err[0] = '\0';
    sgs_status st = SGS_OK;
    struct pollfd fds[3] = {{g->fan, POLLIN, 0}, {g->stopfd, POLLIN, 0}, {g->dirfan, POLLIN, 0}};
    for (;;) {
        const int64_t next = watchdog(g);
        struct timespec ts = {next / 1000000000LL, next % 1000000000LL};
        const int rc = ppoll(fds, g->dirfan >= 0 ? 3 : 2, next >= 0 ? &ts : NULL, NULL);
        if (rc < 0 && errno != EINTR) {
            snprintf(err, errlen, "waiting for events: %s", strerror(errno));
            st = SGS_ERR_IO;
            break;
        }
        if (rc > 0 && (fds[1].revents & POLLIN))
            break;
        /* the names first: a rename read in the same wakeup as an exec is noted before it */
        if (rc > 0 && g->dirfan >= 0 && (fds[2].revents & POLLIN) &&
            read_group(g, g->dirfan, on_dirent_group) != 0) {
            snprintf(err, errlen, "reading fanotify dirent events: %s", strerror(errno));
            st = SGS_ERR_IO;
            break;
        }
        if (rc > 0 && (fds[0].revents & POLLIN) && read_group(g, g->fan, on_exec_group) != 0) {
            snprintf(err, errlen, "reading fanotify events: %s", strerror(errno));
            st = SGS_ERR_IO;
            break;
        }
    }
    /* stopping: every pending exec answered now, the judgements abandoned */
    sgs_engine_cancel(g->e);
    pthread_mutex_lock(&g->mu);
    g->stopping = 1;
    for (unsigned i = 0; i < g->nlive; i++)
        answer_timeout(g, g->live[i], "the guard is stopping");
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return st;
}

void
sgs_guard_stop(sgs_guard *g)
{
    const uint64_t one = 1;
    if (g != NULL)
        (void)!write(g->stopfd, &one, sizeof(one));
}

/* ---- create, free ------------------------------------------------------------------------ */

static char **
resolved_paths(const sgs_allocator *a, const char *const *paths, size_t n, const char *what,
               sgs_status *st, char *err, size_t errlen)
{
    char **const out = sgs_calloc(a, n ? n : 1, sizeof(char *));
    if (out == NULL) {
        *st = SGS_ERR_NOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char buf[PATH_MAX];
        if (realpath(paths[i], buf) == NULL) {
            snprintf(err, errlen, "%s %s: %s", what, paths[i], strerror(errno));
            *st = errno == ENOMEM ? SGS_ERR_NOMEM : SGS_ERR_IO;
        } else if ((out[i] = sgs_strdup(a, buf)) == NULL) {
            *st = SGS_ERR_NOMEM;
        }
        if (out[i] == NULL) {
            for (size_t k = 0; k < i; k++)
                sgs_free(a, out[k]);
            sgs_free(a, out);
            return NULL;
        }
    }
    return out;
}

static void
free_paths(const sgs_allocator *a, char **paths, size_t n)
{
    for (size_t i = 0; paths != NULL && i < n; i++)
        sgs_free(a, paths[i]);
    sgs_free(a, paths);
}

/* The fanotify group and its marks. SGS_OK, or the status with err (and no group left). */
static sgs_status
open_group(sgs_guard *g, char *err, size_t errlen)
{
    g->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (g->fan < 0) {
        const int e = errno;
        if (e == EPERM)
            snprintf(err, errlen, "fanotify permission events need root (CAP_SYS_ADMIN): %s",
                     strerror(e));
        else if (e == EINVAL || e == ENOSYS)
            snprintf(err, errlen, "this kernel has no fanotify permission events "
                                  "(CONFIG_FANOTIFY_ACCESS_PERMISSIONS): %s", strerror(e));
        else
            snprintf(err, errlen, "fanotify_init: %s", strerror(e));
        return e == EPERM || e == EINVAL || e == ENOSYS ? SGS_ERR_PERMISSION : SGS_ERR_IO;
    }
    for (size_t i = 0; i < g->cfg.nwatch; i++) {
        /* execs on the whole file system (any mount of it, in any namespace: placed by
           foreign_place); writes on the watched mounts only (a file system's every write
           would flood the reader; the store's identity keys cover the rest) */
        if (fanotify_mark(g->fan,
                          FAN_MARK_ADD | (g->fsmark ? FAN_MARK_FILESYSTEM : FAN_MARK_MOUNT),
                          FAN_OPEN_EXEC_PERM, AT_FDCWD, g->watch[i]) == 0 &&
            fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_MODIFY | FAN_CLOSE_WRITE,
                          AT_FDCWD, g->watch[i]) == 0)
            continue;
        const int e = errno;
        if (e == EINVAL)
            snprintf(err, errlen, "%s: this kernel has no FAN_OPEN_EXEC_PERM (Linux 5.0+): %s",
                     g->watch[i], strerror(e));
        else
            snprintf(err, errlen, "cannot watch %s: %s", g->watch[i], strerror(e));
        close(g->fan); /* the group and every mark made so far go with it */
        g->fan = -1;
        return e == EINVAL || e == EPERM ? SGS_ERR_PERMISSION : SGS_ERR_IO;
    }
    return SGS_OK;
}

/* The second group, for dirent events (FAN_REPORT_DFID_NAME needs Linux 5.9, TARGET_FID 5.17;
   FAN_MARK_FILESYSTEM a file system with an fsid): without it, a notice, and the guard goes
   on (the identity key alone keeps renamed files from the store). */
static void
open_dirent_group(sgs_guard *g)
{
    const unsigned mask = FAN_MOVED_FROM | FAN_MOVED_TO | FAN_CREATE | FAN_DELETE;
    const char *what = "fanotify_init(FAN_REPORT_DFID_NAME)";
    const char *path = "";
    g->dirfan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
                                  FAN_REPORT_DFID_NAME_TARGET, O_RDONLY | O_CLOEXEC);
    if (g->dirfan < 0) /* before 5.17: the names, not the inodes moved */
        g->dirfan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
                                      FAN_REPORT_DFID_NAME, O_RDONLY | O_CLOEXEC);
    int e = errno;
    for (size_t i = 0; g->dirfan >= 0 && i < g->cfg.nwatch; i++) {
        struct statfs sf;
        path = g->watch[i];
        /* open_by_handle_at refuses an O_PATH descriptor (EBADF) */
        g->mountfd[i] = open(g->watch[i], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (g->mountfd[i] < 0 || fstatfs(g->mountfd[i], &sf) != 0) {
            what = "open";
        } else if (fanotify_mark(g->dirfan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD,
                                 g->watch[i]) != 0) {
            what = "fanotify_mark(FAN_MARK_FILESYSTEM)";
        } else {
            memcpy(&g->fsid[i], &sf.f_fsid, sizeof(g->fsid[i]));
            continue;
        }
        e = errno;
        close(g->dirfan);
        g->dirfan = -1;
    }
    const size_t had = strlen(g->notice); /* after map_watched's, if any */
    if (g->dirfan < 0)
        snprintf(g->notice + had, sizeof(g->notice) - had,
                 "%srenames are not watched (%s%s%s: %s): a file put at a watched name is still "
                 "judged anew (its identity is new), but not noted at once",
                 had ? "; " : "", what, path[0] ? " " : "", path, strerror(e));
}

const char *
sgs_guard_notice(const sgs_guard *g)
{
    return g != NULL ? g->notice : "";
}

/* Each watched path's mount and its path inside its file system; with all of them known the
   exec group marks whole file systems (an exec through any mount of one, in any mount
   namespace, is seen), else mounts, with a notice. */
static void
map_watched(sgs_guard *g)
{
    const char *why = NULL;
    for (size_t i = 0; i < g->cfg.nwatch && why == NULL; i++) {
        char root[PATH_MAX], point[PATH_MAX], fsp[PATH_MAX];
        struct stat sb;
        const int fd = open(g->watch[i], O_PATH | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) != 0 || sgs_mount_id(fd, &g->wmnt[i], NULL) != 0)
            why = "the kernel does not name the mount of a descriptor (statx STATX_MNT_ID, "
                  "Linux 5.8)";
        else if (sgs_mountinfo_find("/proc/self/mountinfo", g->wmnt[i], root, sizeof(root),
                                    point, sizeof(point)) != 0 ||
                 sgs_mount_fs_path(root, point, g->watch[i], fsp, sizeof(fsp)) != 0)
            why = "a watched path's mount is not in /proc/self/mountinfo";
        else if ((g->wmroot[i] = sgs_malloc(&g->e->alloc, strlen(root) + 1)) == NULL ||
                 (g->wmpoint[i] = sgs_malloc(&g->e->alloc, strlen(point) + 1)) == NULL)
            why = "out of memory";
        else {
            memcpy(g->wmroot[i], root, strlen(root) + 1);
            memcpy(g->wmpoint[i], point, strlen(point) + 1);
            g->wdev[i] = sb.st_dev;
        }
        if (fd >= 0)
            close(fd);
    }
    g->fsmark = why == NULL;
    if (why != NULL)
        snprintf(g->notice, sizeof(g->notice),
                 "execs through other mounts of the watched file systems are not seen (%s): "
                 "marks on the mounts only; a user who can make a mount namespace can bypass "
                 "them", why);
}

sgs_status
sgs_guard_create(sgs_engine *e, const sgs_guard_config *gc, sgs_guard **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    if (e == NULL || gc == NULL || gc->on_event == NULL || gc->nwatch == 0 ||
        gc->watch == NULL || (gc->nexempt > 0 && gc->exempt == NULL) || gc->deadline_ms < 1 ||
        gc->deadline_ms > 60000 || gc->threads < 1 || gc->threads > GUARD_MAX_THREADS ||
        e->cfg.op != SGS_OP_VERIFY || e->started || e->guarded) {
        snprintf(err, errlen, "invalid guard configuration");
        return SGS_ERR_INVALID_ARG;
    }
    if (gc->quarantine && (!gc->enforce || e->cfg.quarantine_journal == NULL ||
                           e->cfg.max_quarantine > SGS_GUARD_MAX_QUARANTINE)) {
        snprintf(err, errlen, "quarantine needs enforce mode, a journal and a circuit breaker of "
                              "at most %u files", SGS_GUARD_MAX_QUARANTINE);
        return SGS_ERR_INVALID_ARG;
    }
    sgs_status st = sgs_engine_prepare(e);
    if (st != SGS_OK) {
        snprintf(err, errlen, "%s", e->err);
        return st;
    }
    sgs_guard *const g = sgs_calloc(&e->alloc, 1, sizeof(*g));
    if (g == NULL)
        return SGS_ERR_NOMEM;
    g->e = e;
    g->cfg = *gc;
    g->fan = -1;
    g->dirfan = -1;
    g->stopfd = -1;
    g->self = getpid();
    g->timeout_allow = gc->timeout_allow >= 0 ? gc->timeout_allow != 0 : !gc->enforce;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->emit_mu, NULL);
    pthread_mutex_init(&g->q_mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    st = SGS_ERR_NOMEM;
    g->watch = resolved_paths(&e->alloc, gc->watch, gc->nwatch, "watched path", &st, err, errlen);
    if (g->watch == NULL)
        goto fail;
    g->exempt = resolved_paths(&e->alloc, gc->exempt, gc->nexempt, "exempt path", &st, err,
                               errlen);
    if (g->exempt == NULL)
        goto fail;
    st = SGS_ERR_NOMEM;
    g->wmnt = sgs_calloc(&e->alloc, gc->nwatch, sizeof(*g->wmnt));
    g->wdev = sgs_calloc(&e->alloc, gc->nwatch, sizeof(*g->wdev));
    g->wmroot = sgs_calloc(&e->alloc, gc->nwatch, sizeof(*g->wmroot));
    g->wmpoint = sgs_calloc(&e->alloc, gc->nwatch, sizeof(*g->wmpoint));
    if (g->wmnt == NULL || g->wdev == NULL || g->wmroot == NULL ||
        g->wmpoint == NULL)
        goto fail;
    map_watched(g);
    g->quarantine = gc->quarantine;
    g->q_max = e->cfg.max_quarantine;
    if (g->quarantine &&
        (g->q_ids = sgs_calloc(&e->alloc, g->q_max ? g->q_max : 1, sizeof(*g->q_ids))) == NULL)
        goto fail;
    g->reader_w = sgs_worker_create(e);
    if (g->reader_w == NULL || !g->reader_w->ok)
        goto fail;
    if ((g->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        st = SGS_ERR_IO;
        goto fail;
    }
    for (unsigned i = 0; i < gc->threads; i++) {
        judge_arg *const a = sgs_malloc(&e->alloc, sizeof(*a));
        worker *const w = sgs_worker_create(e);
        if (a == NULL || w == NULL || !w->ok) {
            sgs_free(&e->alloc, a);
            sgs_worker_free(e, w);
            st = SGS_ERR_NOMEM;
            goto fail;
        }
        a->g = g;
        a->w = w;
        g->judge_w[i] = w;
        if (pthread_create(&g->threads[i], NULL, judge_thread, a) != 0) {
            sgs_free(&e->alloc, a);
            snprintf(err, errlen, "cannot start a judging thread");
            st = SGS_ERR_THREAD;
            goto fail;
        }
        g->nthreads++;
    }
    st = SGS_ERR_NOMEM;
    g->mountfd = sgs_malloc(&e->alloc, gc->nwatch * sizeof(*g->mountfd));
    g->fsid = sgs_calloc(&e->alloc, gc->nwatch, sizeof(*g->fsid));
    if (g->mountfd == NULL || g->fsid == NULL)
        goto fail;
    for (size_t i = 0; i < gc->nwatch; i++)
        g->mountfd[i] = -1;
    /* The dirent group before the exec group, on purpose. Destroying a group waits until no
       event is being handled anywhere (SRCU), and an exec waiting for this guard's answer is
       being handled until the exec group goes. When the process dies (kill -9, a crash), the
       kernel releases its descriptors last opened first (task_work, Linux 5.6+): the exec
       group, opened last, goes first and lets the pending execs through; released first, the
       dirent group would wait for them forever, and so would they. */
    open_dirent_group(g);
    if ((st = open_group(g, err, errlen)) != SGS_OK)
        goto fail;
    if (g->fan < g->dirfan) { /* a lower number was free: the exec group above it all the same */
        const int high = fcntl(g->fan, F_DUPFD_CLOEXEC, g->dirfan + 1);
        if (high < 0) {
            snprintf(err, errlen, "fcntl(F_DUPFD): %s", strerror(errno));
            st = SGS_ERR_IO;
            goto fail;
        }
        close(g->fan);
        g->fan = high;
    }
    e->guarded = 1;
    *out = g;
    return SGS_OK;
fail:
    sgs_guard_free(g);
    return st;
}

void
sgs_guard_free(sgs_guard *g)
{
    if (g == NULL)
        return;
    sgs_engine *const e = g->e;
    pthread_mutex_lock(&g->mu);
    g->stopping = 1;
    for (unsigned i = 0; i < g->nlive; i++) /* sgs_guard_run did not run, or stopped */
        answer_timeout(g, g->live[i], "the guard is stopping");
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    for (unsigned i = 0; i < g->nthreads; i++)
        pthread_join(g->threads[i], NULL);
    for (unsigned i = 0; i < GUARD_MAX_THREADS; i++)
        sgs_worker_free(e, g->judge_w[i]);
    sgs_worker_free(e, g->reader_w);
    if (g->fan >= 0)
        close(g->fan);
    if (g->dirfan >= 0)
        close(g->dirfan);
    for (size_t i = 0; g->mountfd != NULL && i < g->cfg.nwatch; i++)
        if (g->mountfd[i] >= 0)
            close(g->mountfd[i]);
    sgs_free(&e->alloc, g->mountfd);
    sgs_free(&e->alloc, g->fsid);
    if (g->stopfd >= 0)
        close(g->stopfd);
    free_paths(&e->alloc, g->wmroot, g->cfg.nwatch);
    free_paths(&e->alloc, g->wmpoint, g->cfg.nwatch);
    sgs_free(&e->alloc, g->wmnt);
    sgs_free(&e->alloc, g->wdev);
    free_paths(&e->alloc, g->watch, g->cfg.nwatch);
    free_paths(&e->alloc, g->exempt, g->cfg.nexempt);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->emit_mu);
    pthread_mutex_destroy(&g->q_mu);
    sgs_free(&e->alloc, g->q_ids);
    pthread_cond_destroy(&g->cv);
    sgs_free(&e->alloc, g);
}
