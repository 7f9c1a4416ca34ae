/*
 * sink.c - records out in queue order through a bounded reorder window; enforcement's held
 * records (see sink.h).
 */
#include "sink.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

struct sgs_sink_copy {
    sgs_sink_copy *next;
    sgs_record rec;
    sgs_sig_line sigs[]; /* rec.nsigs, then the strings */
};

static size_t
str_size(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

static const char *
put_str(char **at, const char *s)
{
    if (s == NULL)
        return NULL;
    const size_t n = strlen(s) + 1;
    char *const out = memcpy(*at, s, n);
    *at += n;
    return out;
}

/* One allocation: the record, its signature lines and every string they point to. */
static sgs_sink_copy *
copy_record(const sgs_allocator *a, const sgs_record *r)
{
    size_t size = sizeof(sgs_sink_copy) + r->nsigs * sizeof(sgs_sig_line);
    const char *const strs[] = {r->path,      r->agent,          r->reason,       r->alg,
                                r->signer,    r->digest,         r->chain,        r->format,
                                r->image_hash, r->signer_subject, r->signing_time, r->tsa};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        size += str_size(strs[i]);
    for (size_t i = 0; i < r->nsigs; i++) {
        const sgs_sig_line *const l = &r->sigs[i];
        size += str_size(l->role) + str_size(l->reason) + str_size(l->hash_alg) +
                str_size(l->layout) + str_size(l->signer) + str_size(l->signing_time) +
                str_size(l->tsa);
    }
    sgs_sink_copy *const c = sgs_malloc(a, size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->rec = *r;
    char *at = (char *)(c->sigs + r->nsigs);
    sgs_record *const o = &c->rec;
    o->path = put_str(&at, r->path);
    o->agent = put_str(&at, r->agent);
    o->reason = put_str(&at, r->reason);
    o->alg = put_str(&at, r->alg);
    o->signer = put_str(&at, r->signer);
    o->digest = put_str(&at, r->digest);
    o->chain = put_str(&at, r->chain);
    o->format = put_str(&at, r->format);
    o->image_hash = put_str(&at, r->image_hash);
    o->signer_subject = put_str(&at, r->signer_subject);
    o->signing_time = put_str(&at, r->signing_time);
    o->tsa = put_str(&at, r->tsa);
    for (size_t i = 0; i < r->nsigs; i++) {
        const sgs_sig_line *const l = &r->sigs[i];
        sgs_sig_line *const m = &c->sigs[i];
        m->verdict = l->verdict;
        m->role = put_str(&at, l->role);
        m->reason = put_str(&at, l->reason);
        m->hash_alg = put_str(&at, l->hash_alg);
        m->layout = put_str(&at, l->layout);
        m->signer = put_str(&at, l->signer);
        m->signing_time = put_str(&at, l->signing_time);
        m->tsa = put_str(&at, l->tsa);
    }
    o->sigs = r->nsigs > 0 ? c->sigs : NULL;
    return c;
}

sgs_status
sgs_sink_init(sgs_sink *s, const sgs_allocator *a, size_t window, sgs_record_fn fn, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->alloc = a;
    s->fn = fn;
    s->opaque = opaque;
    s->window = window > 0 ? window : 1;
    s->slots = sgs_calloc(a, s->window, sizeof(*s->slots));
    if (s->slots == NULL)
        return SGS_ERR_NOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->room, NULL);
    return SGS_OK;
}

static void
free_list(const sgs_allocator *a, sgs_sink_copy *c)
{
    while (c != NULL) {
        sgs_sink_copy *const next = c->next;
        sgs_free(a, c);
        c = next;
    }
}

void
sgs_sink_reset(sgs_sink *s)
{
    if (s->slots == NULL)
        return;
    for (size_t i = 0; i < s->window; i++)
        free_list(s->alloc, s->slots[i].first);
    for (size_t i = 0; i < s->nheld; i++)
        sgs_free(s->alloc, s->held[i].rec);
    sgs_free(s->alloc, s->held);
    sgs_free(s->alloc, s->slots);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->room);
    memset(s, 0, sizeof(*s));
}

int
sgs_sink_has_room(sgs_sink *s)
{
    pthread_mutex_lock(&s->mu);
    const int room = s->issued - s->next < s->window;
    pthread_mutex_unlock(&s->mu);
    return room;
}

uint64_t
sgs_sink_ticket(sgs_sink *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->issued - s->next >= s->window)
        pthread_cond_wait(&s->room, &s->mu);
    const uint64_t seq = s->issued++;
    pthread_mutex_unlock(&s->mu);
    return seq;
}

/* Delivers the records the head slot has kept (under s->mu). */
static void
flush_head(sgs_sink *s)
{
    sgs_sink_slot *const slot = &s->slots[s->next % s->window];
    sgs_sink_copy *c = slot->first;
    slot->first = slot->last = NULL;
    while (c != NULL) {
        sgs_sink_copy *const next = c->next;
        s->fn(s->opaque, &c->rec);
        sgs_free(s->alloc, c);
        c = next;
    }
}

void
sgs_sink_put(sgs_sink *s, uint64_t seq, const sgs_record *rec)
{
    pthread_mutex_lock(&s->mu);
    if (seq == s->next) {
        s->fn(s->opaque, rec);
    } else {
        sgs_sink_copy *const c = copy_record(s->alloc, rec);
        if (c == NULL) { /* out of memory: the record still goes out, out of order */
            s->failed = 1;
            s->fn(s->opaque, rec);
        } else {
            sgs_sink_slot *const slot = &s->slots[seq % s->window];
            if (slot->last != NULL)
                slot->last->next = c;
            else
                slot->first = c;
            slot->last = c;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

int
sgs_sink_hold(sgs_sink *s, uint64_t seq, const sgs_record *rec, const struct stat *judged,
              dev_t dir_dev, ino_t dir_ino)
{
    sgs_sink_copy *const c = copy_record(s->alloc, rec);
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&s->mu);
    if (s->nheld == s->held_cap) {
        const size_t cap = s->held_cap ? 2 * s->held_cap : 64;
        sgs_held *const grown = sgs_calloc(s->alloc, cap, sizeof(*grown));
        if (grown == NULL) {
            pthread_mutex_unlock(&s->mu);
            sgs_free(s->alloc, c);
            return 0;
        }
        if (s->nheld > 0)
            memcpy(grown, s->held, s->nheld * sizeof(*grown));
        sgs_free(s->alloc, s->held);
        s->held = grown;
        s->held_cap = cap;
    }
    s->held[s->nheld++] = (sgs_held){seq, *judged, dir_dev, dir_ino, c};
    pthread_mutex_unlock(&s->mu);
    return 1;
}

void
sgs_sink_done(sgs_sink *s, uint64_t seq)
{
    pthread_mutex_lock(&s->mu);
    s->slots[seq % s->window].done = 1;
    const uint64_t was = s->next;
    while (s->next < s->issued && s->slots[s->next % s->window].done) {
        flush_head(s);
        s->slots[s->next % s->window].done = 0;
        s->next++;
    }
    if (s->next != was) {
        if (s->next < s->issued)
            flush_head(s); /* the new head's records so far, before its next ones */
        pthread_cond_broadcast(&s->room);
    }
    pthread_mutex_unlock(&s->mu);
}

static int
by_seq(const void *a, const void *b)
{
    const sgs_held *const x = a, *const y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

void
sgs_sink_release_held(sgs_sink *s, sgs_held_fn decide, void *opaque)
{
    pthread_mutex_lock(&s->mu);
    if (s->nheld > 1)
        qsort(s->held, s->nheld, sizeof(*s->held), by_seq);
    for (size_t i = 0; i < s->nheld; i++) {
        sgs_record rec = s->held[i].rec->rec;
        decide(opaque, &rec, &s->held[i]);
        s->fn(s->opaque, &rec);
        sgs_free(s->alloc, s->held[i].rec);
    }
    sgs_free(s->alloc, s->held);
    s->held = NULL;
    s->nheld = s->held_cap = 0;
    pthread_mutex_unlock(&s->mu);
}
