/* Fuzz target: the Engine.IO session engine (src/eio/engine.c, flow.c, carry.c), stateful. The
 * input is a program of operations on one endpoint through a fake transport that does what
 * src/transport does: handshakes of every kind (polling, WebSocket, plain, v3 and v4), held and
 * overlapping GETs, POST bodies, upgrade probes, frames, WebSockets lost or closed, server-side
 * closes and sends, time steps, peers that take or stop taking bytes — while every message received
 * is relayed to every other session, so that queues fill and senders wait for their readers
 * (backpressure between sessions). After each operation the engine's invariants are checked. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/engine.h"
#include "eio/handshake.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 6 /* connections of each kind: held GETs, WebSockets */

/* A fake connection: its address stands for the lws handle. As the transport's per-connection
 * data, it holds its session while the engine has it attached (the engine keeps a reference
 * until it lets go: io_close, io_drop, or the transport's own take, loss or close). */
typedef struct slot {
    sioc_conn *conn; /* the session it serves, NULL when none */
    bool probe;      /* a WebSocket being upgraded to */
    bool closing;    /* the engine let go of it: it closes at the next service */
    bool gone;       /* a held GET whose client hung up */
    uint64_t taken;  /* bytes its peer has taken */
} slot;

static slot gets[SLOTS], sockets[SLOTS];
static sioc__engine *eng;
static sioc__wheel wheel;
static bool relaying; /* on_message relays (not from inside a relay's own sends) */

static slot *slot_of(void *conn)
{
    slot *s = conn;
    assert((s >= gets && s < gets + SLOTS) || (s >= sockets && s < sockets + SLOTS));
    return s;
}

static void io_wake(void *conn)
{
    slot_of(conn);
}

static void io_close(void *conn)
{
    slot *s = slot_of(conn);
    s->conn = NULL;
    s->closing = true;
}

static bool io_gone(void *conn)
{
    return slot_of(conn)->gone;
}

static void io_drop(void *conn)
{
    slot *s = slot_of(conn);
    s->conn = NULL; /* the engine let go of it: its connection closes */
    s->gone = false;
}

static void io_ping(void *conn)
{
    slot_of(conn);
}

static void io_pause(void *conn, bool paused)
{
    slot_of(conn);
}

static uint64_t io_taken(void *conn)
{
    return slot_of(conn)->taken;
}

static const sioc__eio_io io = {io_wake, io_close, io_gone, io_drop, io_ping, io_pause, io_taken};

/* ---- the application: a chat that relays every message to every other session ---- */

typedef struct everyone {
    sioc_conn *list[64];
    size_t n;
} everyone;

static void collect(void *value, void *arg)
{
    everyone *all = arg;
    if (all->n < 64) {
        sioc__session_ref(value);
        all->list[all->n++] = value;
    }
}

/* Sending may end a session (its queue over the limit): the recipients are held meanwhile. */
static void on_message(sioc_conn *c, const void *d, size_t len, bool binary, void *user_data)
{
    sioc__msg *m = binary ? sioc__msg_binary(d, len) : sioc__msg_text('4', d, len);
    if (relaying || !m) {
        sioc__msg_unref(m);
        return;
    }
    everyone all = {.n = 0};
    sioc__map_each(&eng->sessions, collect, &all);
    relaying = true;
    for (size_t i = 0; i < all.n; i++) {
        if (all.list[i] != c) {
            sioc__session_send(all.list[i], m);
        }
    }
    relaying = false;
    for (size_t i = 0; i < all.n; i++) {
        sioc__session_unref(all.list[i]);
    }
    sioc__msg_unref(m);
}

static const sioc_engine_handlers handlers = {NULL, on_message, NULL};

/* ---- the program ---- */

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static unsigned next(input *in)
{
    if (!in->n) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

/* The next `len` bytes (fewer at the end) as a buffer of exactly that size, for code that decodes
 * in place; *len is what was taken. free() it. */
static char *chunk(input *in, size_t *len)
{
    size_t n = next(in) % 48;
    n = n < in->n ? n : in->n;
    char *copy = malloc(n ? n : 1);
    if (copy) {
        memcpy(copy, in->p, n);
    }
    in->p += n;
    in->n -= n;
    *len = n;
    return copy;
}

/* Any session: the one of the n-th slot of either kind, else the first in the table. */
static sioc_conn *any_session(unsigned n)
{
    slot *s = n & 8 ? &sockets[n % SLOTS] : &gets[n % SLOTS];
    if (s->conn) {
        return s->conn;
    }
    size_t pos = 0;
    return sioc__map_next(&eng->sessions, &pos);
}

static void attach(slot *s, sioc_conn *c, bool probe)
{
    s->conn = c;
    s->probe = probe;
    s->closing = s->gone = false;
}

static void handshake(input *in)
{
    unsigned how = next(in);
    unsigned protocol = how & 1 ? 3 : 4;
    slot *ws = &sockets[(how >> 2) % SLOTS];
    if ((how & 2) && (ws->conn || ws->closing)) {
        return; /* that WebSocket is in use */
    }
    /* Some with what the opening request said, as the transport passes it. */
    sioc__hs_header host = {"host", 4, "x"};
    sioc__hs_request req = {&host, 1, "/engine.io/", NULL, 0, "127.0.0.1", false, 1000};
    char *hs = how & 0x40 ? sioc__handshake_pack(&req) : NULL;
    sioc_conn *c =
        how & 2 ? (how & 0x80 ? sioc__engine_open_plain(eng, ws, hs)
                              : sioc__engine_open(eng, SIOC__WEBSOCKET, ws, hs, protocol, NULL))
                : sioc__engine_open(eng, SIOC__POLLING, NULL, hs, protocol, NULL);
    if (c && (how & 2)) {
        attach(ws, c, false);
    }
}

/* What the transport does with an answered GET: takes the payload. */
static void answer(sioc_conn *c, slot *g)
{
    sioc__buf out = {0};
    bool binary;
    g->conn = NULL;
    sioc__session_poll_take(c, g, &out, &binary);
    sioc__buf_free(&out);
}

static void get(input *in)
{
    unsigned n = next(in);
    slot *g = &gets[n % SLOTS];
    if (g->conn) {
        return; /* that connection already waits */
    }
    sioc_conn *c = any_session(n >> 3);
    if (!c || c->plain || c->transport != SIOC__POLLING) {
        return;
    }
    if (c->poll_req) { /* Node: "overlap from client" ends the session, the newcomer gets 400 */
        sioc__session_close(c, "transport error", false);
        return;
    }
    attach(g, c, false);
    if (sioc__session_poll_attach(c, g)) {
        answer(c, g);
    }
}

static void post(input *in)
{
    unsigned n = next(in);
    size_t len;
    char *body = chunk(in, &len);
    sioc_conn *c = any_session(n);
    if (body && c && !c->plain && !c->post_active) {
        sioc__session_ref(c);
        c->post_active = true;
        sioc__session_receive_payload(c, body, len, n & 0x40);
        c->post_active = false;
        sioc__session_unref(c);
    }
    free(body);
}

static void probe(input *in)
{
    unsigned n = next(in);
    slot *ws = &sockets[n % SLOTS];
    sioc_conn *c = any_session(n >> 3);
    if (ws->conn || ws->closing || !c || c->plain || c->transport != SIOC__POLLING || c->probe_ws ||
        c->state != SIOC__OPEN) {
        return;
    }
    attach(ws, c, true);
    sioc__session_probe_attach(c, ws);
}

static void frame(input *in)
{
    unsigned n = next(in);
    slot *ws = &sockets[n % SLOTS];
    size_t len;
    char *data = chunk(in, &len);
    sioc_conn *c = ws->conn;
    sioc__eio_packet p;
    if (data && c) {
        if (c->plain) {
            p = (sioc__eio_packet){SIOC__EIO_MESSAGE, n & 0x40, data, len};
            sioc__session_receive(c, &p);
        } else if (sioc__session_decode_frame(c, data, len, n & 0x40, &p) < 0) {
            sioc__session_close(c, "parse error", false);
        } else if (ws->probe && c->probe_ws == ws) {
            sioc__session_probe_receive(c, ws, &p);
            if (c->ws == ws) {
                ws->probe = false; /* the upgrade completed: it carries the session */
            }
        } else if (c->ws == ws) {
            sioc__session_receive(c, &p);
        }
    }
    free(data);
}

/* The transport's writeable callback on WebSocket `ws`: up to a few messages, one at a time or
 * as a batch. */
static void write_ws(input *in)
{
    unsigned n = next(in);
    slot *ws = &sockets[n % SLOTS];
    sioc_conn *c = ws->conn;
    if (!c) {
        return;
    }
    if (n & 0x80) {
        sioc__msg *batch[8];
        size_t k = sioc__session_ws_queued(c, ws, batch, 8);
        sioc__session_ref(c);
        for (size_t i = 0; i < k; i++) {
            ws->taken += batch[i]->len;
            sioc__session_ws_sent(c, ws);
        }
        sioc__session_unref(c);
        return;
    }
    for (unsigned i = 0; i < (n >> 3) % 4 + 1; i++) {
        sioc__msg *m = sioc__session_ws_next(c, ws);
        if (!m) {
            return;
        }
        ws->taken += m->len;
        sioc__session_ws_sent(c, ws); /* may end the session */
        if (!(c = ws->conn)) {
            return;
        }
    }
}

/* lws's service: held GETs with something due are answered, WebSockets asked to close are lost. */
static void service(void)
{
    for (int i = 0; i < SLOTS; i++) {
        sioc_conn *c = gets[i].conn;
        if (c && sioc__session_poll_due(c)) {
            answer(c, &gets[i]);
        }
        sockets[i].closing = false; /* closed: free for a new connection */
    }
}

static void lose(input *in)
{
    unsigned n = next(in);
    if (n & 1) {
        slot *g = &gets[(n >> 1) % SLOTS];
        sioc_conn *c = g->conn;
        if (c && (n & 0x80)) {
            g->gone = true; /* hung up: found by the engine's sweep */
        } else if (c) {
            g->conn = NULL;
            sioc__session_poll_lost(c, g);
        }
        return;
    }
    slot *ws = &sockets[(n >> 1) % SLOTS];
    sioc_conn *c = ws->conn;
    if (c) {
        ws->conn = NULL;
        sioc__session_ws_lost(c, ws, n & 0x80);
    }
}

static void app(input *in)
{
    unsigned n = next(in);
    size_t len;
    char *d = chunk(in, &len);
    sioc_conn *c = any_session(n);
    if (d && c) {
        switch (n >> 5) {
        case 0:
            sioc__session_close(c, "forced close", n & 0x10);
            break;
        case 1:
            sioc__session_pong(c);
            break;
        case 2: /* what an application reads and sets through the public API */
            sioc_conn_set_data(c, sioc_conn_handshake(c));
            assert(strlen(sioc_conn_id(c)) == 20 && sioc_conn_transport(c)[0]);
            assert(sioc_conn_get_data(c) == sioc_conn_handshake(c));
            break;
        case 3:
            sioc_conn_close(c);
            break;
        case 4:
            sioc_conn_send(c, d, len, n & 0x10);
            break;
        default: {
            sioc__msg *m = n & 0x10 ? sioc__msg_binary(d, len) : sioc__msg_text('4', d, len);
            if (m) {
                sioc__session_send(c, m);
                sioc__msg_unref(m);
            }
            (void)sioc__session_writable(c);
        }
        }
    }
    free(d);
}

/* Every attached connection is the one its session says it has. */
static void check_slots(void)
{
    for (int i = 0; i < SLOTS; i++) {
        sioc_conn *c = gets[i].conn;
        assert(!c || (c->refs > 0 && c->poll_req == &gets[i]));
        c = sockets[i].conn;
        assert(!c || (c->refs > 0 && (c->ws == &sockets[i] || c->probe_ws == &sockets[i])));
    }
}

static void check(void)
{
    check_slots();
    sioc_conn *c;
    for (size_t pos = 0; (c = sioc__map_next(&eng->sessions, &pos));) {
        assert(c->refs > 0);
        assert(strlen(c->sid) == 20);
        assert(!c->poll_req ||
               (c->poll_req >= (void *)gets && c->poll_req < (void *)(gets + SLOTS)));
        assert(!c->ws || (c->ws >= (void *)sockets && c->ws < (void *)(sockets + SLOTS)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sioc__log_level = SIOC_LOG_ERROR; /* the closes it provokes are not news */
    memset(gets, 0, sizeof(gets));
    memset(sockets, 0, sizeof(sockets));
    sioc__wheel_init(&wheel, 1000000);
    input in = {data, size};
    /* Small limits, so that payloads, queues and backpressure reach them. */
    unsigned first = next(&in);
    sioc__engine_cfg cfg = {1000,
                            500,
                            300,
                            64 + first % 64,
                            first & 1 ? 256 : 4096,
                            SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET,
                            first & 2,
                            first & 4 ? 1 : 0, /* a worker's sids, marked */
                            first & 4 ? 2 : 1};
    eng = sioc__engine_new("/engine.io/", &cfg, &handlers, NULL, &wheel, &io);
    if (!eng) {
        return 0;
    }
    while (in.n) {
        switch (next(&in) % 12) {
        case 0:
        case 1:
            handshake(&in);
            break;
        case 2:
            get(&in);
            break;
        case 3:
            post(&in);
            break;
        case 4:
            probe(&in);
            break;
        case 5:
        case 6:
            frame(&in);
            break;
        case 7:
            write_ws(&in);
            break;
        case 8:
            lose(&in);
            break;
        case 9:
            app(&in);
            break;
        case 10:
            sioc__wheel_advance(&wheel, sioc__wheel_now(&wheel) + next(&in) * 10);
            break;
        default:
            service();
            break;
        }
        check();
    }
    /* As the server stops: every session ends, then every connection closes, then the engine
     * goes. */
    sioc__engine_close_all(eng, "server shutting down", false);
    for (int i = 0; i < SLOTS; i++) {
        sioc_conn *c = gets[i].conn;
        if (c) {
            gets[i].conn = NULL;
            sioc__session_poll_lost(c, &gets[i]);
        }
        if ((c = sockets[i].conn)) {
            sockets[i].conn = NULL;
            sioc__session_ws_lost(c, &sockets[i], false);
        }
    }
    sioc__engine_free(eng);
    return 0;
}
