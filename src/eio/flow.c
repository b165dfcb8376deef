/* What sessions send, and how fast: queues, their cap, and input backpressure between sessions
 * (a sender waits for its slowest reader that still reads). */
#include "eio/engine.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eio/session.h"
#include "util/log.h"
#include "util/stats.h"

/* The connection that should carry queued packets now, or NULL when none can. */
static void *writer(sioc_conn *s)
{
    return s->transport == SIOC__WEBSOCKET ? s->ws : s->poll_req;
}

bool sioc__session_writable(const sioc_conn *s)
{
    return s->state == SIOC__OPEN && s->queue.count == 0 && !s->upgrading &&
           writer((sioc_conn *)s) != NULL;
}

static void on_overflow(sioc__timer *t)
{
    sioc__session_close(CONTAINER(t, sioc_conn, overflow_timer), "write buffer full", false);
}

/* A client that stops reading must not make the server hold all that is sent to it. The close
 * waits for the next tick: this may run in the middle of a broadcast or a callback. */
static bool overflows(sioc_conn *s, size_t len)
{
    size_t cap = s->eng->cfg.max_buffered;
    if (s->overflowed || !cap || s->queue.bytes + len <= cap) {
        return s->overflowed;
    }
    s->overflowed = true;
    sioc__stats_g.slow_consumer_closes++;
    sioc__log_with(SIOC_LOG_WARN,
                   ((sioc__log_fields){.sid = s->sid, .reason = "write buffer full"}),
                   "session %s: %zu bytes queued and its client does not read: closing", s->sid,
                   s->queue.bytes);
    sioc__timer_start(s->eng->wheel, &s->overflow_timer, sioc__wheel_now(s->eng->wheel),
                      on_overflow);
    return true;
}

/* Input backpressure. A WebSocket client sending faster than the recipients of its messages read
 * would fill their queues up to the cap, and have readers that keep up, only more slowly, closed
 * for it. So, as a pipe's writer waits for its reader: once a message takes a recipient's queue
 * past the high-water mark, the sender's WebSocket is not read (its client waits in its own TCP
 * window) until that queue is back under the low-water mark.
 *
 * Only a recipient that drains may hold a sender: one that got nothing out for STALL_MS has
 * stopped reading ("stalled"). It lets its senders go, holds no one back until its queue is down
 * to the low-water mark, and goes on to the cap and its close. So a recipient that does not drain
 * holds a sender at most once, for STALL_MS at most, and any number of them cost the others that
 * much once, not a turn each. Polling senders are not held: each POST is answered as it comes. */
#define STALL_MS 50

static size_t high_water(const sioc__engine *eng)
{
    size_t cap = eng->cfg.max_buffered;
    return cap ? cap / 4 : (size_t)4 << 20;
}

/* Reads from blocked session `i` again (unless it is closing). */
static void unblock_at(sioc__engine *eng, size_t i)
{
    sioc_conn *s = eng->blocked[i];
    eng->blocked[i] = eng->blocked[--eng->nblocked];
    s->blocked_on = NULL;
    if (s->ws && s->state == SIOC__OPEN) {
        eng->io->pause(s->ws, false);
    }
}

/* Every session waiting for `r` goes on. */
void sioc__flow_release_waiters(sioc_conn *r)
{
    sioc__engine *eng = r->eng;
    /* From the end: unblock_at moves the last entry, already looked at, into the hole. */
    for (size_t i = eng->nblocked; i-- > 0;) {
        if (eng->blocked[i]->blocked_on == r) {
            unblock_at(eng, i);
        }
    }
}

void sioc__flow_stop_waiting(sioc_conn *s)
{
    sioc__engine *eng = s->eng;
    for (size_t i = 0; s->blocked_on && i < eng->nblocked; i++) {
        if (eng->blocked[i] == s) {
            unblock_at(eng, i);
        }
    }
}

/* Whether `r` has stopped draining: nothing out for STALL_MS while it had something to send.
 * Marks it. */
static bool stalled(sioc_conn *r)
{
    uint64_t now = sioc__wheel_now(r->eng->wheel);
    if (r->stalled || now - r->progress_ms < STALL_MS) {
        return r->stalled;
    }
    /* A message as large as a socket buffer goes out over many turns: bytes the peer took count
     * as progress, whole messages or not. */
    void *ws = r->transport == SIOC__WEBSOCKET ? r->ws : NULL;
    uint64_t taken = ws && r->eng->io->taken ? r->eng->io->taken(ws) : 0;
    if (taken != r->taken) {
        r->taken = taken;
        r->progress_ms = now;
        return false;
    }
    r->stalled = true;
    sioc__log(SIOC_LOG_INFO,
              "session %s: %zu bytes queued, nothing taken for %d ms: it holds no sender back "
              "until it drains",
              r->sid, r->queue.bytes, STALL_MS);
    return true;
}

static void on_stall_check(sioc__timer *t);

/* A message was queued for `r`: the session whose message it was waits if `r` is full enough. */
static void hold_sender(sioc_conn *r)
{
    sioc__engine *eng = r->eng;
    sioc_conn *src = eng->reading;
    if (!src || r->queue.bytes <= high_water(eng) || src == r || src->blocked_on || !src->ws ||
        src->state != SIOC__OPEN || stalled(r)) {
        return;
    }
    if (eng->nblocked == eng->capblocked) {
        size_t cap = eng->capblocked ? eng->capblocked * 2 : 16;
        sioc_conn **grown = realloc(eng->blocked, cap * sizeof(*grown));
        if (!grown) {
            return; /* unpaced, as without backpressure */
        }
        eng->blocked = grown;
        eng->capblocked = cap;
    }
    eng->blocked[eng->nblocked++] = src;
    src->blocked_on = r;
    sioc__stats_g.backpressure_pauses++;
    eng->io->pause(src->ws, true);
    if (!sioc__timer_armed(&eng->stall_timer)) {
        sioc__timer_start(eng->wheel, &eng->stall_timer, sioc__wheel_now(eng->wheel) + STALL_MS / 5,
                          on_stall_check);
    }
}

/* The head of `s`'s queue went out. */
void sioc__flow_wrote_one(sioc_conn *s)
{
    sioc__msgq_pop(&s->queue);
    s->progress_ms = sioc__wheel_now(s->eng->wheel);
    if (s->queue.bytes <= high_water(s->eng) / 2) {
        s->stalled = false; /* drained: it may hold a sender again */
        if (s->eng->nblocked) {
            sioc__flow_release_waiters(s);
        }
    }
}

/* While senders are held: a recipient that stopped draining lets its waiters go. */
static void check_blocked(sioc__engine *eng)
{
    for (size_t i = eng->nblocked; i-- > 0;) {
        if (stalled(eng->blocked[i]->blocked_on)) {
            unblock_at(eng, i);
        }
    }
}

static void on_stall_check(sioc__timer *t)
{
    sioc__engine *eng = CONTAINER(t, sioc__engine, stall_timer);
    check_blocked(eng);
    if (eng->nblocked) {
        sioc__timer_start(eng->wheel, t, sioc__wheel_now(eng->wheel) + STALL_MS / 5,
                          on_stall_check);
    }
}

int sioc__session_send(sioc_conn *s, sioc__msg *m)
{
    if (s->state == SIOC__CLOSED || overflows(s, m->len)) {
        return SIOC_ERR_CLOSED;
    }
    if (s->queue.count == 0) {
        s->progress_ms = sioc__wheel_now(s->eng->wheel); /* idle is not stalled: the clock starts */
    }
    if (sioc__msgq_push(&s->queue, m) < 0) {
        return SIOC_ERR_NOMEM;
    }
    hold_sender(s);
    void *w = writer(s);
    if (w && s->queue.count == 1) {
        s->eng->io->wake(w);
    }
    return 0;
}
