#include "eio/engine.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/log.h"

#define CONTAINER(ptr, type, member) ((type *)(void *)(((char *)(ptr)) - offsetof(type, member)))

#define SWEEP_MS 1000

static void on_sweep(sioc__timer *t);

sioc__engine *sioc__engine_new(const char *path, const sioc__engine_cfg *cfg,
                               const sioc_engine_handlers *handlers, void *user_data,
                               sioc__wheel *wheel, const sioc__eio_io *io)
{
    sioc__engine *eng = calloc(1, sizeof(*eng));
    if (!eng) {
        return NULL;
    }
    eng->path = strdup(path);
    if (!eng->path) {
        free(eng);
        return NULL;
    }
    eng->path_len = strlen(path);
    eng->cfg = *cfg;
    if (handlers) {
        eng->handlers = *handlers;
    }
    eng->user_data = user_data;
    eng->wheel = wheel;
    eng->io = io;
    eng->ping = sioc__msg_text('2', "", 0);
    eng->pong = sioc__msg_text('3', "", 0);
    eng->close = sioc__msg_text('1', "", 0);
    eng->noop = sioc__msg_text('6', "", 0);
    eng->probe_pong = sioc__msg_text('3', "probe", 5);
    if (!eng->ping || !eng->pong || !eng->close || !eng->noop || !eng->probe_pong) {
        sioc__engine_free(eng);
        return NULL;
    }
    sioc__timer_start(wheel, &eng->sweep_timer, sioc__wheel_now(wheel) + SWEEP_MS, on_sweep);
    return eng;
}

#define CLOSE_ROUND 64

typedef struct open_sessions {
    sioc_conn *found[CLOSE_ROUND];
    size_t n;
    bool flush; /* a closing session is left to finish flushing */
} open_sessions;

static void collect_open(void *value, void *arg)
{
    open_sessions *r = arg;
    sioc_conn *s = value;
    bool due = r->flush ? s->state == SIOC__OPEN : s->state != SIOC__CLOSED;
    if (due && r->n < CLOSE_ROUND) {
        r->found[r->n++] = s;
    }
}

void sioc__engine_close_all(sioc__engine *eng, const char *reason, bool flush)
{
    /* In rounds, without allocating (shutting down must work when memory is short): closing
     * changes the table, which cannot happen while it is being walked. Each round closes what it
     * found, so the next finds others. */
    for (;;) {
        open_sessions r = {.n = 0, .flush = flush};
        sioc__map_each(&eng->sessions, collect_open, &r);
        if (r.n == 0) {
            return;
        }
        for (size_t i = 0; i < r.n; i++) {
            sioc__session_close(r.found[i], reason, flush);
        }
    }
}

void sioc__engine_free(sioc__engine *eng)
{
    if (!eng) {
        return;
    }
    sioc__engine_close_all(eng, "server shutting down", false);
    sioc__timer_stop(eng->wheel, &eng->sweep_timer);
    sioc__timer_stop(eng->wheel, &eng->stall_timer);
    sioc__map_free(&eng->sessions);
    free(eng->blocked);
    /* Queues that still hold these keep their own references. */
    sioc__msg_unref(eng->ping);
    sioc__msg_unref(eng->pong);
    sioc__msg_unref(eng->close);
    sioc__msg_unref(eng->noop);
    sioc__msg_unref(eng->probe_pong);
    free(eng->path);
    free(eng);
}

sioc_conn *sioc__engine_find(sioc__engine *eng, const char *sid, size_t len)
{
    return sioc__map_get(&eng->sessions, sid, len);
}

static void on_ping_due(sioc__timer *t);
static void on_ping_timeout(sioc__timer *t);
static void on_upgrade_timeout(sioc__timer *t);

static void schedule_ping(sioc_conn *s)
{
    sioc__timer_start(s->eng->wheel, &s->ping_timer,
                      sioc__wheel_now(s->eng->wheel) + s->eng->cfg.ping_interval_ms, on_ping_due);
}

/* Engine.IO v4 "Heartbeat": the server pings every pingInterval; a pong must follow within
 * pingTimeout or the session closes. */
static void on_ping_due(sioc__timer *t)
{
    sioc_conn *s = CONTAINER(t, sioc_conn, ping_timer);
    /* pingTimeout counts from when the ping was due, as from Node's exact timers, when the wheel's
     * tick is all that made it late; from now when the server itself fell behind. */
    uint64_t now = sioc__wheel_now(s->eng->wheel);
    uint64_t from = now - t->due_ms <= SIOC_WHEEL_TICK_MS ? t->due_ms : now;
    sioc__timer_start(s->eng->wheel, &s->timeout_timer, from + s->eng->cfg.ping_timeout_ms,
                      on_ping_timeout);
    if (s->plain) { /* no Engine.IO: a WebSocket PING, which every client answers by itself */
        if (s->ws) {
            s->eng->io->ping(s->ws);
        }
        return;
    }
    if (sioc__session_send(s, s->eng->ping) < 0) {
        sioc__session_close(s, "transport error", false);
    }
}

static void on_ping_timeout(sioc__timer *t)
{
    sioc_conn *s = CONTAINER(t, sioc_conn, timeout_timer);
    if (s->blocked_on) {
        /* Its pong may be waiting, unread, behind its messages: the client is not at fault. */
        sioc__timer_start(s->eng->wheel, t,
                          sioc__wheel_now(s->eng->wheel) + s->eng->cfg.ping_timeout_ms,
                          on_ping_timeout);
        return;
    }
    sioc__session_close(s, "ping timeout", false);
}

/* Engine.IO v3: the client pings; a session that has not pinged for pingInterval + pingTimeout is
 * gone. */
static void await_client_ping(sioc_conn *s)
{
    const sioc__engine_cfg *cfg = &s->eng->cfg;
    sioc__timer_start(s->eng->wheel, &s->timeout_timer,
                      sioc__wheel_now(s->eng->wheel) + cfg->ping_interval_ms + cfg->ping_timeout_ms,
                      on_ping_timeout);
}

static sioc_conn *session_new(sioc__engine *eng, sioc__transport_kind transport, const char *sid)
{
    sioc_conn *s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    if (sid && strlen(sid) == 20 && !sioc__map_get(&eng->sessions, sid, 20)) {
        memcpy(s->sid, sid, sizeof(s->sid));
    } else
        do {
            if (sioc__random_id(s->sid) < 0) {
                free(s);
                return NULL;
            }
        } while (sioc__map_get(&eng->sessions, s->sid, 20));
    s->eng = eng;
    s->refs = 1;
    s->transport = transport;
    if (sioc__map_put(&eng->sessions, s->sid, s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Tells the application, which may close the session at once. Returns the session or NULL. */
static sioc_conn *announce(sioc_conn *s)
{
    sioc__engine *eng = s->eng;
    sioc__log(SIOC_LOG_DEBUG, "engine %s: session %s opened (%s%s)", eng->path, s->sid,
              sioc_conn_transport(s), s->plain ? ", plain" : "");
    if (eng->handlers.on_open) {
        sioc__session_ref(s);
        eng->handlers.on_open(s, eng->user_data);
        bool closed = s->state == SIOC__CLOSED;
        sioc__session_unref(s);
        if (closed) {
            return NULL; /* the application closed it at once */
        }
    }
    return s;
}

static sioc_conn *open_session(sioc__engine *eng, sioc__transport_kind transport, void *ws,
                               char *handshake, const char *sid)
{
    sioc_conn *s = session_new(eng, transport, sid);
    if (!s) {
        free(handshake);
        return NULL;
    }
    /* Kept as text, a fraction of the object's size, and parsed when someone asks. */
    s->handshake_text = handshake;
    if (ws) {
        s->ws = ws;
        sioc__session_ref(s);
    }
    return s;
}

sioc_conn *sioc__engine_open(sioc__engine *eng, sioc__transport_kind transport, void *ws,
                             char *handshake, unsigned protocol, const char *sid)
{
    sioc_conn *s = open_session(eng, transport, ws, handshake, sid);
    if (!s) {
        return NULL;
    }
    s->protocol = protocol == 3 ? 3 : 4;
    bool upgrades = transport == SIOC__POLLING && (eng->cfg.transports & SIOC_TRANSPORT_WEBSOCKET);
    sioc__msg *open = sioc__eio_open_packet(s->sid, upgrades, eng->cfg.ping_interval_ms,
                                            eng->cfg.ping_timeout_ms, eng->cfg.max_payload);
    if (!open || sioc__session_send(s, open) < 0) {
        /* Undone silently: the application never saw this session. */
        sioc__msg_unref(open);
        sioc__map_remove(&eng->sessions, s->sid);
        if (ws) {
            sioc__session_unref(s);
        }
        sioc__session_unref(s);
        return NULL;
    }
    sioc__msg_unref(open);
    if (s->protocol == 3) {
        await_client_ping(s);
    } else {
        schedule_ping(s);
    }
    return announce(s);
}

sioc_conn *sioc__engine_open_plain(sioc__engine *eng, void *ws, char *handshake)
{
    sioc_conn *s = open_session(eng, SIOC__WEBSOCKET, ws, handshake, NULL);
    if (!s) {
        return NULL;
    }
    s->protocol = 4;
    /* No Engine.IO here: no open packet; its messages are its frames; its heartbeat is WebSocket
     * PING/PONG on the same schedule, so that a vanished client is noticed too. */
    s->plain = true;
    schedule_ping(s);
    return announce(s);
}

void sioc__session_pong(sioc_conn *s)
{
    if (s->plain && s->state == SIOC__OPEN && sioc__timer_armed(&s->timeout_timer)) {
        sioc__timer_stop(s->eng->wheel, &s->timeout_timer);
        schedule_ping(s);
    }
}

void sioc__session_ref(sioc_conn *s)
{
    s->refs++;
}

void sioc__session_unref(sioc_conn *s)
{
    assert(!s || s->refs > 0); /* a session is never released more often than it was taken */
    if (s && --s->refs == 0) {
        sioc__msgq_clear(&s->queue);
        json_decref(s->handshake);
        free(s->handshake_text);
        free(s);
    }
}

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
    sioc__log(SIOC_LOG_WARN, "session %s: %zu bytes queued and its client does not read: closing",
              s->sid, s->queue.bytes);
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
static void release_waiters(sioc_conn *r)
{
    sioc__engine *eng = r->eng;
    /* From the end: unblock_at moves the last entry, already looked at, into the hole. */
    for (size_t i = eng->nblocked; i-- > 0;) {
        if (eng->blocked[i]->blocked_on == r) {
            unblock_at(eng, i);
        }
    }
}

static void stop_waiting(sioc_conn *s)
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
    eng->io->pause(src->ws, true);
    if (!sioc__timer_armed(&eng->stall_timer)) {
        sioc__timer_start(eng->wheel, &eng->stall_timer, sioc__wheel_now(eng->wheel) + STALL_MS / 5,
                          on_stall_check);
    }
}

/* The head of `s`'s queue went out. */
static void wrote_one(sioc_conn *s)
{
    sioc__msgq_pop(&s->queue);
    s->progress_ms = sioc__wheel_now(s->eng->wheel);
    if (s->queue.bytes <= high_water(s->eng) / 2) {
        s->stalled = false; /* drained: it may hold a sender again */
        if (s->eng->nblocked) {
            release_waiters(s);
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

static void drop_probe(sioc_conn *s, bool close_it);

static void finish(sioc_conn *s, const char *reason)
{
    sioc__engine *eng = s->eng;
    sioc__session_ref(s); /* released last: the references below may be the final ones */
    s->state = SIOC__CLOSED;
    stop_waiting(s);
    release_waiters(s);
    if (eng->reading == s) {
        eng->reading = NULL; /* its handler goes on, and `s` may be freed before it returns */
    }
    sioc__timer_stop(eng->wheel, &s->ping_timer);
    sioc__timer_stop(eng->wheel, &s->timeout_timer);
    sioc__timer_stop(eng->wheel, &s->overflow_timer);
    if (sioc__map_remove(&eng->sessions, s->sid)) {
        sioc__session_unref(s);
    }
    sioc__msgq_clear(&s->queue);
    if (s->transport == SIOC__POLLING) {
        /* A held GET learns of the end from a close packet, as Node's polling transport sends;
         * when the client itself closed, Node just releases it with a noop. */
        sioc__msg *close = s->client_closed ? eng->noop : eng->close;
        if (sioc__msgq_push(&s->queue, close) == 0 && s->poll_req) {
            eng->io->wake(s->poll_req);
        }
    } else if (s->ws) {
        void *ws = s->ws;
        s->ws = NULL;
        eng->io->close(ws);
        sioc__session_unref(s);
    }
    if (s->probe_ws) {
        drop_probe(s, true);
    }
    sioc__log(SIOC_LOG_DEBUG, "engine %s: session %s closed (%s)", eng->path, s->sid, reason);
    if (eng->handlers.on_close) {
        eng->handlers.on_close(s, reason, eng->user_data);
    }
    sioc__session_unref(s);
}

void sioc__session_close(sioc_conn *s, const char *reason, bool flush)
{
    if (s->state == SIOC__CLOSED) {
        return;
    }
    if (flush && s->queue.count) {
        /* Node's socket.close(): wait for the write buffer to drain, then close. */
        s->state = SIOC__CLOSING;
        s->close_reason = reason;
        return;
    }
    finish(s, reason);
}

static void maybe_finish_closing(sioc_conn *s)
{
    if (s->state == SIOC__CLOSING && s->queue.count == 0) {
        finish(s, s->close_reason);
    }
}

static void heartbeat_error(sioc_conn *s)
{
    sioc__log(SIOC_LOG_INFO, "session %s: invalid heartbeat direction", s->sid);
    sioc__session_close(s, "transport error", false);
}

void sioc__session_receive(sioc_conn *s, const sioc__eio_packet *p)
{
    if (s->state != SIOC__OPEN) {
        return;
    }
    switch (p->type) {
    case SIOC__EIO_MESSAGE:
        if (s->eng->handlers.on_message) {
            /* What the handler queues may hold this WebSocket back (input backpressure). The
             * handler may close the session, and free it: `s` is not used after. */
            sioc__engine *eng = s->eng;
            sioc_conn *outer = eng->reading;
            eng->reading = s->transport == SIOC__WEBSOCKET ? s : NULL;
            eng->handlers.on_message(s, p->data, p->len, p->binary, eng->user_data);
            eng->reading = outer;
        }
        break;
    case SIOC__EIO_PONG:
        if (s->protocol == 3) {
            heartbeat_error(s);
            break;
        }
        sioc__timer_stop(s->eng->wheel, &s->timeout_timer);
        schedule_ping(s);
        break;
    case SIOC__EIO_PING:
        /* Engine.IO v4: only the server pings, and Node answers a client ping with an error. In
         * v3 it is the other way round. */
        if (s->protocol != 3) {
            heartbeat_error(s);
            break;
        }
        await_client_ping(s);
        if (sioc__session_send(s, s->eng->pong) < 0) {
            sioc__session_close(s, "transport error", false);
        }
        break;
    case SIOC__EIO_CLOSE:
        s->client_closed = true;
        sioc__session_close(s, "transport close", false);
        break;
    default: /* open, upgrade and noop carry nothing here */
        break;
    }
}

/* The decoder for a POST body of this session: v4's separated packets, or v3's length-framed
 * text or binary payload. */
static int payload_next(const sioc_conn *s, char *body, size_t len, bool binary, size_t *pos,
                        sioc__eio_packet *p)
{
    if (s->protocol != 3) {
        return sioc__eio_payload_next(body, len, pos, p);
    }
    return binary ? sioc__eio3_binary_payload_next(body, len, pos, p)
                  : sioc__eio3_payload_next(body, len, pos, p);
}

int sioc__session_receive_payload(sioc_conn *s, char *body, size_t len, bool binary)
{
    size_t pos = 0;
    sioc__eio_packet p;
    int rc = 0;
    if (binary && s->protocol != 3) {
        rc = -1; /* v4 polling carries binary as base64 text; Node calls this "invalid content" */
    } else {
        while (s->state == SIOC__OPEN && (rc = payload_next(s, body, len, binary, &pos, &p)) > 0) {
            sioc__session_receive(s, &p);
        }
    }
    if (rc < 0 && s->state == SIOC__OPEN) {
        sioc__log(SIOC_LOG_INFO, "session %s: malformed polling payload", s->sid);
        sioc__session_close(s, "parse error", false);
    }
    return rc < 0 ? -1 : 0;
}

int sioc__session_decode_frame(const sioc_conn *s, char *data, size_t len, bool binary,
                               sioc__eio_packet *out)
{
    if (!binary) {
        /* A v3 client without binary support sends binary as "b4<base64>" text. */
        return s->protocol == 3 ? sioc__eio3_decode_text(data, len, out)
                                : sioc__eio_decode_text(data, len, out);
    }
    if (s->protocol == 3) {
        return sioc__eio3_decode_binary_frame(data, len, out); /* a type byte leads */
    }
    *out = (sioc__eio_packet){SIOC__EIO_MESSAGE, true, data, len};
    return 0;
}

bool sioc__session_poll_due(const sioc_conn *s)
{
    /* During an upgrade the client waits for this GET to finish: Node's "fast upgrade" check
     * releases it with a noop every 100 ms (what is sent meanwhile rides on it instead); once
     * upgraded, at once. */
    return s->queue.count > 0 || s->noop_due || s->state != SIOC__OPEN ||
           s->transport != SIOC__POLLING;
}

bool sioc__session_poll_attach(sioc_conn *s, void *req)
{
    sioc__session_ref(s);
    s->eng->nheld += !s->poll_req;
    s->poll_req = req;
    return sioc__session_poll_due(s);
}

typedef enum payload_form { FORM_V4, FORM_V3_TEXT, FORM_V3_BINARY } payload_form;

/* Node's v3 polling sends a binary payload when there is binary to send and the client can take
 * it; otherwise text, with binary as base64. */
static payload_form form_for(const sioc_conn *s)
{
    if (s->protocol != 3) {
        return FORM_V4;
    }
    const sioc__msgq *q = &s->queue;
    for (size_t i = 0; !s->b64 && i < q->count; i++) {
        if (q->ring[(q->head + i) & (q->cap - 1)]->binary) {
            return FORM_V3_BINARY;
        }
    }
    return FORM_V3_TEXT;
}

static int encode_one(sioc__buf *out, const sioc__msg *m, payload_form form)
{
    switch (form) {
    case FORM_V3_TEXT:
        return sioc__eio3_encode_text(out, m);
    case FORM_V3_BINARY:
        return sioc__eio3_encode_binary(out, m);
    default: /* v4: packets joined by the record separator */
        if (out->len && sioc__buf_append_char(out, SIOC__EIO_SEPARATOR) < 0) {
            return -1;
        }
        return sioc__eio_encode_polling(out, m);
    }
}

/* Appends every queued packet to a polling payload. */
static int encode_queue(sioc_conn *s, sioc__buf *out, payload_form form)
{
    while (s->queue.count) {
        if (encode_one(out, sioc__msgq_peek(&s->queue), form) < 0) {
            return -1;
        }
        wrote_one(s);
    }
    return 0;
}

int sioc__session_poll_take(sioc_conn *s, void *req, sioc__buf *out, bool *binary)
{
    payload_form form = form_for(s);
    *binary = form == FORM_V3_BINARY;
    int rc = encode_queue(s, out, form);
    if (rc == 0 && s->state == SIOC__CLOSING) {
        finish(s, s->close_reason); /* queues the close packet */
        rc = encode_queue(s, out, form);
    }
    if (rc == 0 && out->len == 0) {
        rc = encode_one(out, s->eng->noop, form);
    }
    s->noop_due = false;
    if (s->poll_req == req) {
        s->poll_req = NULL;
        s->eng->nheld--;
        sioc__session_unref(s);
    }
    return rc;
}

void sioc__session_poll_lost(sioc_conn *s, void *req)
{
    if (s->poll_req != req) {
        return;
    }
    s->poll_req = NULL;
    s->eng->nheld--;
    /* Node: "poll connection closed prematurely" is a transport error. */
    sioc__session_close(s, "transport error", false);
    sioc__session_unref(s);
}

static void collect_held(void *value, void *arg)
{
    sioc_conn *s = value;
    sioc__buf *held = arg;
    if (s->poll_req && s->eng->io->gone(s->poll_req)) {
        sioc__session_ref(s);
        sioc__buf_append(held, &s, sizeof(s));
    }
}

/* Node learns at once that a polling request was closed ("poll connection closed prematurely");
 * here the transport is asked once a second. */
static void on_sweep(sioc__timer *t)
{
    sioc__engine *eng = CONTAINER(t, sioc__engine, sweep_timer);
    sioc__buf held = {0};
    if (eng->nheld) { /* a walk of every session: 9 % of an idle server's CPU at 19k WebSockets */
        sioc__map_each(&eng->sessions, collect_held, &held);
    }
    for (size_t i = 0; i < held.len / sizeof(sioc_conn *); i++) {
        sioc_conn *s = ((sioc_conn **)(void *)held.data)[i];
        void *req = s->poll_req;
        if (req) {
            eng->io->drop(req);
            sioc__session_poll_lost(s, req);
        }
        sioc__session_unref(s);
    }
    sioc__buf_free(&held);
    sioc__timer_start(eng->wheel, &eng->sweep_timer, sioc__wheel_now(eng->wheel) + SWEEP_MS,
                      on_sweep);
}

void sioc__session_probe_attach(sioc_conn *s, void *ws)
{
    sioc__session_ref(s);
    s->probe_ws = ws;
    s->upgrade_deadline = sioc__wheel_now(s->eng->wheel) + s->eng->cfg.upgrade_timeout_ms;
    sioc__timer_start(s->eng->wheel, &s->upgrade_timer, s->upgrade_deadline, on_upgrade_timeout);
}

/* Node's check interval during an upgrade. */
#define UPGRADE_CHECK_MS 100

/* The upgrade timer's next turn: the next 100 ms check once probed, the deadline at the latest. */
static void arm_upgrade_timer(sioc_conn *s)
{
    uint64_t next = sioc__wheel_now(s->eng->wheel) + UPGRADE_CHECK_MS;
    sioc__timer_start(s->eng->wheel, &s->upgrade_timer,
                      s->upgrading && next < s->upgrade_deadline ? next : s->upgrade_deadline,
                      on_upgrade_timeout);
}

static void drop_probe(sioc_conn *s, bool close_it)
{
    void *ws = s->probe_ws;
    s->probe_ws = NULL;
    s->upgrading = false;
    s->noop_due = false;
    s->probe_pong_due = false;
    sioc__timer_stop(s->eng->wheel, &s->upgrade_timer);
    if (close_it) {
        s->eng->io->close(ws);
    }
    sioc__session_unref(s);
}

/* Engine.IO v4 "Upgrade": an upgrade not completed within upgradeTimeout is dropped and polling
 * carries on. Once probed, a held GET is released with a noop at each 100 ms check. */
static void on_upgrade_timeout(sioc__timer *t)
{
    sioc_conn *s = CONTAINER(t, sioc_conn, upgrade_timer);
    if (sioc__wheel_now(s->eng->wheel) >= s->upgrade_deadline) {
        sioc__log(SIOC_LOG_INFO, "session %s: upgrade timed out", s->sid);
        drop_probe(s, true);
        return;
    }
    if (s->poll_req) {
        s->noop_due = true;
        s->eng->io->wake(s->poll_req);
    }
    arm_upgrade_timer(s);
}

static void complete_upgrade(sioc_conn *s, void *ws)
{
    s->probe_ws = NULL;
    s->upgrading = false;
    s->noop_due = false;
    sioc__timer_stop(s->eng->wheel, &s->upgrade_timer);
    s->ws = ws; /* the probe's reference now belongs to the session's WebSocket */
    s->transport = SIOC__WEBSOCKET;
    if (s->poll_req) {
        s->eng->io->wake(s->poll_req); /* answered with a noop */
    }
    if (s->queue.count) {
        s->eng->io->wake(ws);
    }
}

void sioc__session_probe_receive(sioc_conn *s, void *ws, const sioc__eio_packet *p)
{
    if (s->probe_ws != ws || s->state != SIOC__OPEN) {
        return;
    }
    if (p->type == SIOC__EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
        s->upgrading = true;
        s->probe_pong_due = true;
        s->eng->io->wake(ws);
        arm_upgrade_timer(s); /* the first noop check in 100 ms, as Node's */
    } else if (p->type == SIOC__EIO_UPGRADE && s->upgrading) {
        complete_upgrade(s, ws);
    } else {
        drop_probe(s, true);
    }
}

sioc__msg *sioc__session_ws_next(sioc_conn *s, void *ws)
{
    if (ws == s->probe_ws) {
        return s->probe_pong_due ? s->eng->probe_pong : NULL;
    }
    if (ws != s->ws || s->transport != SIOC__WEBSOCKET) {
        return NULL;
    }
    return sioc__msgq_peek(&s->queue);
}

size_t sioc__session_ws_queued(const sioc_conn *s, const void *ws, sioc__msg **out, size_t max)
{
    if (ws != s->ws || ws == s->probe_ws || s->transport != SIOC__WEBSOCKET) {
        return 0;
    }
    const sioc__msgq *q = &s->queue;
    size_t n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = q->ring[(q->head + i) & (q->cap - 1)];
    }
    return n;
}

void sioc__session_ws_sent(sioc_conn *s, void *ws)
{
    if (ws == s->probe_ws) {
        s->probe_pong_due = false;
        return;
    }
    wrote_one(s);
    maybe_finish_closing(s);
}

void sioc__session_ws_lost(sioc_conn *s, void *ws, bool error)
{
    if (ws == s->probe_ws) {
        drop_probe(s, false);
        return;
    }
    if (ws != s->ws) {
        return;
    }
    s->ws = NULL;
    sioc__session_close(s, error ? "transport error" : "transport close", false);
    sioc__session_unref(s);
}

int sioc_conn_send(sioc_conn *conn, const void *data, size_t len, bool binary)
{
    if (!conn || (!data && len)) {
        return SIOC_ERR_INVALID;
    }
    if (conn->state != SIOC__OPEN) {
        return SIOC_ERR_CLOSED;
    }
    sioc__msg *m = binary ? sioc__msg_binary(data, len) : sioc__msg_text('4', data, len);
    if (!m) {
        return SIOC_ERR_NOMEM;
    }
    int rc = sioc__session_send(conn, m);
    sioc__msg_unref(m);
    return rc;
}

void sioc_conn_close(sioc_conn *conn)
{
    if (conn) {
        sioc__session_close(conn, "forced close", true);
    }
}

const char *sioc_conn_id(const sioc_conn *conn)
{
    return conn->sid;
}

const char *sioc_conn_transport(const sioc_conn *conn)
{
    return conn->transport == SIOC__WEBSOCKET ? "websocket" : "polling";
}

json_t *sioc_conn_handshake(const sioc_conn *conn)
{
    sioc_conn *c = (sioc_conn *)conn; /* the cache is not part of what the caller sees */
    if (!c->handshake) {
        c->handshake = c->handshake_text ? json_loads(c->handshake_text, 0, NULL) : json_object();
        if (c->handshake) {
            free(c->handshake_text);
            c->handshake_text = NULL;
        }
    }
    return c->handshake;
}

void sioc_conn_set_data(sioc_conn *conn, void *data)
{
    conn->user_data = data;
}

void *sioc_conn_get_data(const sioc_conn *conn)
{
    return conn->user_data;
}
