/*
 * sink.h - the one record sink: records leave in the order their jobs were queued (walk order),
 * whatever order the workers finish them in, through a bounded reorder window (as GNU
 * parallel -k keeps output order); and, under enforcement, the records of files to quarantine
 * are held until the run's end, when the circuit breaker has the whole run to decide on.
 *
 * Each job takes a ticket (its sequence number) when queued. A job's records go out at once
 * when every earlier job is done; otherwise they are copied into the job's slot and go out when
 * it becomes the head. A ticket blocks while `window` tickets are out that are not done, so
 * the copies are bounded by the window. Every ticket taken must be marked done exactly once,
 * with or without records, or the run never ends.
 */
#ifndef SGS_SINK_H
#define SGS_SINK_H

#include "sigsweep.h"

#include <pthread.h>
#include <sys/stat.h>

typedef struct sgs_sink_copy sgs_sink_copy;

typedef struct sgs_sink_slot {
    int done;
    sgs_sink_copy *first, *last;
} sgs_sink_slot;

/* A record held for the quarantine decision, with the identity of the file judged. */
typedef struct sgs_held {
    uint64_t seq;
    struct stat judged;
    dev_t dir_dev;
    ino_t dir_ino;
    sgs_sink_copy *rec;
} sgs_held;

typedef struct sgs_sink {
    const sgs_allocator *alloc;
    sgs_record_fn fn;
    void *opaque;
    pthread_mutex_t mu;
    pthread_cond_t room;
    uint64_t next;   /* the ticket whose records go out now */
    uint64_t issued; /* tickets taken (controlling thread) */
    size_t window;
    sgs_sink_slot *slots;
    sgs_held *held; /* enforcement: records of files to quarantine, in completion order */
    size_t nheld, held_cap;
    int failed; /* out of memory copying a record: it went out at once, out of order */
} sgs_sink;

/* window >= 1. Returns SGS_OK or SGS_ERR_NOMEM. */
sgs_status sgs_sink_init(sgs_sink *s, const sgs_allocator *a, size_t window, sgs_record_fn fn,
                         void *opaque);
void sgs_sink_reset(sgs_sink *s);

/* 1 when a ticket can be taken without waiting (the caller flushes its own queue first
   otherwise: a job it holds may be the head the wait is for). */
int sgs_sink_has_room(sgs_sink *s);
/* The next ticket; blocks while the window is full. Controlling thread only. */
uint64_t sgs_sink_ticket(sgs_sink *s);
/* Delivers (or keeps for later) one record of ticket seq. */
void sgs_sink_put(sgs_sink *s, uint64_t seq, const sgs_record *rec);
/* Keeps the record of ticket seq until sgs_sink_release_held(); 0 when out of memory (the
   caller then delivers it as it is). */
int sgs_sink_hold(sgs_sink *s, uint64_t seq, const sgs_record *rec, const struct stat *judged,
                  dev_t dir_dev, ino_t dir_ino);
/* Ticket seq has delivered its last record. */
void sgs_sink_done(sgs_sink *s, uint64_t seq);

/* After every ticket is done: calls decide() on each held record in ticket order (it may
   rewrite rec->reason into its own buffer), delivers it, and frees the held list. */
typedef void (*sgs_held_fn)(void *opaque, sgs_record *rec, const sgs_held *h);
void sgs_sink_release_held(sgs_sink *s, sgs_held_fn decide, void *opaque);

#endif
