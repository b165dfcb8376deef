/* Engine.IO endpoints and sessions: the v4 state machine (handshake, heartbeat, upgrade, close),
 * and v3's differences for old clients (Node's allowEIO3), sans-I/O. Transports call in with
 * packets and attach/detach their connections; the engine calls out through `sioc__eio_io` to ask a
 * connection to write or close. */
#ifndef SIOC_EIO_ENGINE_H
#define SIOC_EIO_ENGINE_H

#include "sioc.h"

#include <jansson.h>

#include "eio/codec.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/wheel.h"

typedef struct sioc__eio_io {
    /* Ask the transport to call back soon to write to `conn` (a held GET or a WebSocket). */
    void (*wake)(void *conn);
    /* Ask the transport to close WebSocket `conn`. */
    void (*close)(void *conn);
    /* Whether the client of held GET `conn` has hung up. */
    bool (*gone)(void *conn);
    /* The engine lets go of held GET `conn` without answering it: close its connection. */
    void (*drop)(void *conn);
    /* Send a WebSocket PING on `conn` (a plain client's heartbeat). */
    void (*ping)(void *conn);
    /* Stop (`paused`) or resume reading from WebSocket `conn` (input backpressure). */
    void (*pause)(void *conn, bool paused);
    /* Bytes written to WebSocket `conn` that its peer has taken so far (a count that grows while
     * data flows, whatever the transport still buffers); 0 when unknown. */
    uint64_t (*taken)(void *conn);
} sioc__eio_io;

typedef struct sioc__engine_cfg {
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms;
    unsigned upgrade_timeout_ms;
    size_t max_payload;
    size_t max_buffered; /* bytes queued for one session; 0: no limit */
    unsigned transports; /* SIOC_TRANSPORT_* */
    bool allow_eio3;     /* accept Engine.IO v3 clients (socket.io-client 2.x) */
    unsigned worker;     /* this process's index among `workers` (--workers), marked in sids */
    unsigned workers;    /* 0 or 1: a single process */
} sioc__engine_cfg;

typedef enum sioc__transport_kind { SIOC__POLLING, SIOC__WEBSOCKET } sioc__transport_kind;
typedef enum sioc__session_state { SIOC__OPEN, SIOC__CLOSING, SIOC__CLOSED } sioc__session_state;

typedef struct sioc__engine sioc__engine;

struct sioc_conn {
    char sid[21];
    bool overflowed; /* beside the sid, where they take no room of their own */
    bool stalled;    /* see the input backpressure below */
    sioc__engine *eng;
    unsigned refs; /* the session table's, and one per attached transport connection */
    sioc__session_state state;
    sioc__transport_kind transport;
    bool upgrading;         /* "2probe" seen on probe_ws */
    bool noop_due;          /* upgrading: the held GET is to be released with a noop */
    bool probe_pong_due;    /* "3probe" still to be written on probe_ws */
    bool post_active;       /* a POST body is being read */
    bool client_closed;     /* the client sent a close packet */
    bool plain;             /* a plain WebSocket client: frames are messages, no Engine.IO */
    unsigned char protocol; /* Engine.IO version: 4, or 3 for an old client */
    bool b64;               /* v3 polling client without binary support: binary goes as base64 */
    void *poll_req;         /* the held polling GET */
    void *ws;               /* the WebSocket carrying the session */
    void *probe_ws;         /* a WebSocket the client is upgrading to */
    const char *close_reason;
    sioc__msgq queue;
    /* The heartbeat: pingInterval until the next ping (its callback on_ping_due), then
     * pingTimeout for the pong (on_ping_timeout; in v3, for the client's next ping). One timer:
     * the two waits never overlap. */
    sioc__timer heartbeat;
    sioc__timer upgrade_timer;  /* upgradeTimeout, and Node's 100 ms noop check once probed */
    uint64_t upgrade_deadline;  /* when the upgrade in progress times out */
    sioc__timer overflow_timer; /* closes a session whose client stopped reading */
    /* Input backpressure (engine.c): the session whose queue made this one's WebSocket stop being
     * read; when this session's queue last got a message out or its WebSocket's peer took bytes
     * (or the queue last went from empty to not); and `stalled`, above: whether it stopped
     * draining while others waited for it, and so holds no one back until its queue is down to
     * the low-water mark. */
    sioc_conn *blocked_on;
    uint64_t progress_ms;
    uint64_t taken; /* io->taken() when last looked at */
    /* What the opening request said (headers, query, address, ...): kept packed
     * (sioc__handshake_pack), a fraction of the object's size; the object is made only when
     * someone asks (then cached). */
    char *handshake_packed;
    json_t *handshake;
    void *user_data;
};

struct sioc__engine {
    char *path;
    size_t path_len;
    sioc__engine_cfg cfg;
    sioc_engine_handlers handlers;
    /* A session moved from long-polling to WebSocket (the Socket.IO core's; NULL for the
     * public handlers, which are not told). */
    void (*on_upgrade)(sioc_conn *conn, void *user_data);
    void *user_data;
    sioc__map sessions;
    sioc__timer sweep_timer; /* looks for held GETs whose client hung up */
    sioc__timer stall_timer; /* while senders are held: looks for recipients that stopped */
    size_t nheld;            /* sessions with a held GET: without any, the sweep walks none */
    /* Packets every session sends, encoded once per engine (an engine runs on one thread). */
    sioc__msg *ping, *pong, *close, *noop, *probe_pong;
    sioc__wheel *wheel;
    const sioc__eio_io *io;
    sioc_conn *reading;  /* the WebSocket session whose message is being handled, if any */
    sioc_conn **blocked; /* sessions not read from until the one they wait for drains */
    size_t nblocked, capblocked;
    sioc__engine *next;
};

/* What an endpoint holds now, for the metrics (added to `out`): open sessions by transport, the
 * bytes queued to their clients, held polling requests. */
typedef struct sioc__engine_totals {
    size_t polling, websocket;
    size_t queued_bytes;
    size_t held_polls;
} sioc__engine_totals;
void sioc__engine_add_totals(const sioc__engine *eng, sioc__engine_totals *out);
/* The client's address, from the handshake (borrowed, as long as the session; NULL if none). */
const char *sioc__conn_address(const sioc_conn *conn);

/* New endpoint at `path` (copied, must end in '/'); `wheel` and `io` are borrowed for its life.
 * Returns NULL when out of memory. */
sioc__engine *sioc__engine_new(const char *path, const sioc__engine_cfg *cfg,
                               const sioc_engine_handlers *handlers, void *user_data,
                               sioc__wheel *wheel, const sioc__eio_io *io);
/* Ends every session with `reason`; with `flush`, after what each has queued has gone out. */
void sioc__engine_close_all(sioc__engine *eng, const char *reason, bool flush);
/* Ends what sessions remain, then frees the endpoint. Accepts NULL. */
void sioc__engine_free(sioc__engine *eng);

/* The open session with id `sid` (`len` bytes), or NULL. */
sioc_conn *sioc__engine_find(sioc__engine *eng, const char *sid, size_t len);
/* Handshake: a new session on `transport` speaking Engine.IO `protocol` (3 or 4), its open packet
 * queued. For WebSocket, `ws` is the connection (attached); for polling, NULL. `handshake` (the
 * request packed by sioc__handshake_pack, malloc'd; may be NULL: an empty object) is stolen, even
 * on failure. `sid` (borrowed, may be NULL) is the id to use when the transport has already
 * announced one (a cookie) and it is free; else a fresh one is drawn. Returns the session
 * (borrowed) or NULL (no memory). */
sioc_conn *sioc__engine_open(sioc__engine *eng, sioc__transport_kind transport, void *ws,
                             char *handshake, unsigned protocol, const char *sid);

/* A plain WebSocket client (no Engine.IO: no open packet, no heartbeat; each frame is a message)
 * on WebSocket `ws`. Same returns as sioc__engine_open. */
sioc_conn *sioc__engine_open_plain(sioc__engine *eng, void *ws, char *handshake);

void sioc__session_ref(sioc_conn *s);
void sioc__session_unref(sioc_conn *s);

/* Queues `m` (a new reference is taken) and wakes the transport. Returns 0, SIOC_ERR_CLOSED or
 * SIOC_ERR_NOMEM. */
int sioc__session_send(sioc_conn *s, sioc__msg *m);
/* Whether a packet queued now would go out at once (Node's `transport.writable`): the session is
 * open, nothing is waiting before it, and a held GET or the WebSocket can carry it. */
bool sioc__session_writable(const sioc_conn *s);
/* A plain client answered the WebSocket PING. */
void sioc__session_pong(sioc_conn *s);
/* A packet from the session's transport (a POST, or its WebSocket). */
void sioc__session_receive(sioc_conn *s, const sioc__eio_packet *p);
/* Delivers every packet of a polling POST body, in the session's protocol (`binary`: an
 * application/octet-stream body, which only v3 has; v3 decodes in place). Returns 0, or -1 when
 * the body is malformed: the session is then closed with "parse error". */
int sioc__session_receive_payload(sioc_conn *s, char *body, size_t len, bool binary);
/* Decodes a WebSocket frame in the session's protocol (in place: v3 text frames may carry base64).
 * Returns 0, or -1 when it is malformed. */
int sioc__session_decode_frame(const sioc_conn *s, char *data, size_t len, bool binary,
                               sioc__eio_packet *out);
/* Ends the session. With `flush`, what is queued goes out first. Idempotent. */
void sioc__session_close(sioc_conn *s, const char *reason, bool flush);

/* A polling GET arrived for the session: returns true when it is to be answered now (with
 * sioc__session_poll_take), false when it is held (attached) until the engine wakes it. */
bool sioc__session_poll_attach(sioc_conn *s, void *req);
/* Whether a held GET has something to carry now: packets, the noop an upgrade needs, or the end. */
bool sioc__session_poll_due(const sioc_conn *s);
/* Encodes the queue (or a noop when it is empty) as a polling payload into `out`, empties the
 * queue and detaches `req`. *binary tells whether the payload is a v3 binary one (sent as
 * application/octet-stream). Returns 0 or -1 (no memory). */
int sioc__session_poll_take(sioc_conn *s, void *req, sioc__buf *out, bool *binary);
/* The held GET went away before it was answered. */
void sioc__session_poll_lost(sioc_conn *s, void *req);

/* A WebSocket with the session's sid opened: attach it as an upgrade probe. */
void sioc__session_probe_attach(sioc_conn *s, void *ws);
/* A packet on probe WebSocket `ws`. */
void sioc__session_probe_receive(sioc_conn *s, void *ws, const sioc__eio_packet *p);
/* The next message for WebSocket `ws` (borrowed), or NULL when nothing is due. Call
 * sioc__session_ws_sent after writing it. */
sioc__msg *sioc__session_ws_next(sioc_conn *s, void *ws);
void sioc__session_ws_sent(sioc_conn *s, void *ws);
/* The first (up to) `max` messages queued for WebSocket `ws` (borrowed, into `out`), so that
 * several can go out in one write; the probe's pong is never among them. Call
 * sioc__session_ws_sent once for each one written. */
size_t sioc__session_ws_queued(const sioc_conn *s, const void *ws, sioc__msg **out, size_t max);
/* WebSocket `ws` closed (`error`: it failed rather than closed cleanly). */
void sioc__session_ws_lost(sioc_conn *s, void *ws, bool error);

#endif
