/* The Engine.IO session engine: endpoints and their sessions, handshakes, the heartbeat, packets
 * received, and how a session ends. What sessions send and how fast is flow.c's; what their
 * polling requests and WebSockets carry, carry.c's. */
#include "eio/engine.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eio/handshake.h"
#include "eio/session.h"
#include "util/base64.h"
#include "util/jsonr.h"
#include "util/log.h"
#include "util/stats.h"

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
    sioc__timer_start(wheel, &eng->sweep_timer, sioc__wheel_now(wheel) + SWEEP_MS,
                      sioc__carry_sweep);
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

static void schedule_ping(sioc_conn *s)
{
    sioc__timer_start(s->eng->wheel, &s->heartbeat,
                      sioc__wheel_now(s->eng->wheel) + s->eng->cfg.ping_interval_ms, on_ping_due);
}

/* Engine.IO v4 "Heartbeat": the server pings every pingInterval; a pong must follow within
 * pingTimeout or the session closes. */
static void on_ping_due(sioc__timer *t)
{
    sioc_conn *s = CONTAINER(t, sioc_conn, heartbeat);
    /* pingTimeout counts from when the ping was due, as from Node's exact timers, when the tick
     * and a busy loop made it a little late (up to a quarter of pingTimeout: the client still has
     * most of it to answer); from now when the server itself fell far behind, which is not the
     * client's fault. */
    uint64_t now = sioc__wheel_now(s->eng->wheel);
    uint64_t slack = s->eng->cfg.ping_timeout_ms / 4;
    if (slack < 2 * SIOC_WHEEL_TICK_MS) {
        slack = 2 * SIOC_WHEEL_TICK_MS;
    }
    uint64_t from = now - t->due_ms <= slack ? t->due_ms : now;
    sioc__timer_start(s->eng->wheel, t, from + s->eng->cfg.ping_timeout_ms, on_ping_timeout);
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
    sioc_conn *s = CONTAINER(t, sioc_conn, heartbeat);
    if (s->blocked_on) {
        /* Its pong may be waiting, unread, behind its messages: the client is not at fault. */
        sioc__timer_start(s->eng->wheel, t,
                          sioc__wheel_now(s->eng->wheel) + s->eng->cfg.ping_timeout_ms,
                          on_ping_timeout);
        return;
    }
    sioc__stats_g.ping_timeouts++;
    sioc__session_close(s, "ping timeout", false);
}

/* Engine.IO v3: the client pings; a session that has not pinged for pingInterval + pingTimeout is
 * gone. */
static void await_client_ping(sioc_conn *s)
{
    const sioc__engine_cfg *cfg = &s->eng->cfg;
    sioc__timer_start(s->eng->wheel, &s->heartbeat,
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
            sioc__sid_mark(s->sid, eng->cfg.worker, eng->cfg.workers);
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
    sioc__log_with(SIOC_LOG_DEBUG,
                   ((sioc__log_fields){.sid = s->sid, .address = sioc__conn_address(s)}),
                   "engine %s: session %s opened (%s%s)", eng->path, s->sid, sioc_conn_transport(s),
                   s->plain ? ", plain" : "");
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
    s->handshake_packed = handshake;
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
    sioc__stats_g.engine_sessions++;
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
    if (s->plain && s->state == SIOC__OPEN && sioc__timer_armed(&s->heartbeat) &&
        s->heartbeat.cb == on_ping_timeout) { /* a ping is out */
        schedule_ping(s);
        sioc__msgq_trim(&s->queue); /* as for an Engine.IO pong */
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
        free(s->handshake_packed);
        free(s);
    }
}

void sioc__session_finish(sioc_conn *s, const char *reason)
{
    sioc__engine *eng = s->eng;
    sioc__session_ref(s); /* released last: the references below may be the final ones */
    s->state = SIOC__CLOSED;
    sioc__flow_stop_waiting(s);
    sioc__flow_release_waiters(s);
    if (eng->reading == s) {
        eng->reading = NULL; /* its handler goes on, and `s` may be freed before it returns */
    }
    sioc__timer_stop(eng->wheel, &s->heartbeat);
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
        sioc__carry_drop_probe(s, true);
    }
    sioc__log_with(SIOC_LOG_DEBUG, ((sioc__log_fields){.sid = s->sid, .reason = reason}),
                   "engine %s: session %s closed (%s)", eng->path, s->sid, reason);
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
    sioc__session_finish(s, reason);
}

void sioc__session_finish_if_closing(sioc_conn *s)
{
    if (s->state == SIOC__CLOSING && s->queue.count == 0) {
        sioc__session_finish(s, s->close_reason);
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
        schedule_ping(s); /* the pong's wait ends, the next ping's begins */
        /* An idle session holds no ring between heartbeats; a busy one grows it again at most
         * once a pingInterval. */
        sioc__msgq_trim(&s->queue);
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
        if (!c->handshake_packed) {
            return c->handshake = json_object();
        }
        char *text = sioc__handshake_unpack_build(c->handshake_packed);
        /* Not json_loads: out of memory, jansson 2.14's lexer can read past a string it failed
         * to save, and abort. */
        c->handshake = text ? sioc__json_parse(text, strlen(text)) : NULL;
        free(text);
        if (c->handshake) { /* else (no memory) kept, for the next time someone asks */
            free(c->handshake_packed);
            c->handshake_packed = NULL;
        }
    }
    return c->handshake;
}

const char *sioc__conn_address(const sioc_conn *conn)
{
    return json_string_value(json_object_get(sioc_conn_handshake(conn), "address"));
}

void sioc_conn_set_data(sioc_conn *conn, void *data)
{
    conn->user_data = data;
}

void *sioc_conn_get_data(const sioc_conn *conn)
{
    return conn->user_data;
}

static void add_session(void *value, void *arg)
{
    const sioc_conn *s = value;
    sioc__engine_totals *out = arg;
    if (s->state == SIOC__CLOSED) {
        return;
    }
    if (s->transport == SIOC__WEBSOCKET) {
        out->websocket++;
    } else {
        out->polling++;
    }
    out->queued_bytes += s->queue.bytes;
}

void sioc__engine_add_totals(const sioc__engine *eng, sioc__engine_totals *out)
{
    sioc__map_each(&eng->sessions, add_session, out);
    out->held_polls += eng->nheld;
}
