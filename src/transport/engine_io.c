/* Engine.IO over libwebsockets, what its two transports share: the engine's I/O callbacks, the
 * list of WebSockets to write to once the current round of I/O is over, pacing, and reading a
 * request's query and cookie. The transports themselves are polling.c and websocket.c; which
 * requests are taken is eio/verify.c's decision. */
#include "transport/internal.h"
#include "transport/tcpinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/log.h"
#include "util/stats.h"

/* A WebSocket with something new to write is not armed for POLLOUT (an epoll_ctl each way, with
 * libuv) but listed, and written to once the current round of I/O is over (sioc__eio_flush, from
 * the loop): with whatever else was queued for it meanwhile, in the same system call. Held GETs,
 * probes and closes go through WRITEABLE as usual. */
static void io_wake(void *conn)
{
    sioc__pss *c = lws_wsi_user(conn);
    if (!c || c->role != ROLE_WS || c->close_status) {
        lws_callback_on_writable(conn);
        return;
    }
    if (c->flush_pending || c->paced) {
        return; /* listed already, or woken when its pause ends */
    }
    sioc__transport *tr = lws_context_user(lws_get_context(conn));
    if (tr->nflush == tr->capflush) {
        size_t cap = tr->capflush ? tr->capflush * 2 : 64;
        struct lws **grown = realloc(tr->flush, cap * sizeof(*grown));
        if (!grown) {
            lws_callback_on_writable(conn);
            return;
        }
        tr->flush = grown;
        tr->capflush = cap;
    }
    tr->flush[tr->nflush++] = conn;
    c->flush_pending = true;
}

void sioc__eio_flush(sioc__transport *tr)
{
    if (tr->flushing) {
        return;
    }
    tr->flushing = true;
    /* Writing may end sessions, whose sockets then leave the list (NULL). */
    for (size_t i = 0; i < tr->nflush; i++) {
        struct lws *wsi = tr->flush[i];
        sioc__pss *c = wsi ? lws_wsi_user(wsi) : NULL;
        if (!c) {
            continue;
        }
        c->flush_pending = false;
        if (c->paced) {
            continue; /* paused since it was listed: its release writes it */
        }
        if (lws_partial_buffered(wsi)) {
            lws_callback_on_writable(wsi); /* lws still holds part of an earlier write */
        } else if (sioc__eio_ws_writeable(tr, wsi, c) < 0) {
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
        }
    }
    tr->nflush = 0;
    tr->flushing = false;
}

/* A WebSocket that closes while listed must not be written to. */
void sioc__eio_unlist(sioc__transport *tr, struct lws *wsi)
{
    for (size_t i = 0; i < tr->nflush; i++) {
        if (tr->flush[i] == wsi) {
            tr->flush[i] = NULL;
        }
    }
}

/* ---- pacing ----
 * Node writes a WebSocket's first packet after the 101 of its own, and a namespace's CONNECT answer
 * before what the connection handler emits (engine.io sends what was queued meanwhile once the
 * first write is done). sioc would put them in one segment; a client that takes one message per
 * turn of its event loop (the `ws` of the protocol's own test suites) then loses the second. So
 * these writes are followed by a pause of PACE_US before the next: one timer for the server, a
 * short list of the sockets it holds. */
#define PACE_US 2000

static void on_paced(lws_sorted_usec_list_t *sul)
{
    sioc__transport *tr = CONTAINER(sul, sioc__transport, pace_sul);
    lws_usec_t now = lws_now_usecs();
    size_t k = 0;
    for (; k < tr->npaced && (!tr->paced[k].wsi || tr->paced[k].due <= now); k++) {
        struct lws *wsi = tr->paced[k].wsi;
        sioc__pss *c = wsi ? lws_wsi_user(wsi) : NULL;
        if (c) {
            c->paced = false;
            io_wake(wsi);
        }
    }
    tr->npaced -= k;
    memmove(tr->paced, tr->paced + k, tr->npaced * sizeof(*tr->paced));
    if (tr->npaced) {
        lws_usec_t wait = tr->paced[0].due - now;
        lws_sul_schedule(tr->ctx, 0, &tr->pace_sul, on_paced, wait > 0 ? wait : 1);
    }
    sioc__eio_flush(tr);
}

/* Holds the WebSocket's next write for PACE_US. Without memory it is not held: only slower. */
void sioc__eio_pace(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    if (c->paced) {
        return;
    }
    if (tr->npaced == tr->cappaced) {
        size_t cap = tr->cappaced ? tr->cappaced * 2 : 16;
        struct sioc__paced *grown = realloc(tr->paced, cap * sizeof(*grown));
        if (!grown) {
            return;
        }
        tr->paced = grown;
        tr->cappaced = cap;
    }
    tr->paced[tr->npaced].wsi = wsi;
    tr->paced[tr->npaced].due = lws_now_usecs() + PACE_US;
    if (tr->npaced++ == 0) {
        lws_sul_schedule(tr->ctx, 0, &tr->pace_sul, on_paced, PACE_US);
    }
    c->paced = true;
}

void sioc__eio_unpace(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    for (size_t i = 0; c->paced && i < tr->npaced; i++) {
        if (tr->paced[i].wsi == wsi) {
            tr->paced[i].wsi = NULL;
        }
    }
    c->paced = false;
}

void sioc__eio_pacing_free(sioc__transport *tr)
{
    lws_sul_cancel(&tr->pace_sul);
    free(tr->paced);
    tr->paced = NULL;
    tr->npaced = tr->cappaced = 0;
}

/* The engine has let go of this WebSocket: close it from its next WRITEABLE. */
static void io_close(void *conn)
{
    sioc__pss *c = lws_wsi_user(conn);
    if (c) {
        c->sess = NULL;
        c->close_status = SIOC__WS_NORMAL;
        c->discarding = true;
    }
    lws_callback_on_writable(conn);
}

/* lws 4.1.6 does not read a connection while its HTTP request is unanswered, so a client that
 * hangs up on a held GET goes unnoticed until something is written: look at the socket. */
bool sioc__eio_gone(void *conn)
{
    char byte;
    int fd = (int)lws_get_socket_fd(conn);
    ssize_t n = fd < 0 ? 0 : recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The engine has let go of this held GET: lws closes the connection from its next service. */
static void io_drop(void *conn)
{
    sioc__pss *c = lws_wsi_user(conn);
    if (c) {
        c->sess = NULL;
        c->role = ROLE_NONE;
    }
    lws_set_timeout(conn, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

/* A plain client's heartbeat: the PING goes from the next WRITEABLE. */
static void io_ping(void *conn)
{
    sioc__pss *c = lws_wsi_user(conn);
    if (c) {
        c->ping_due = true;
        lws_callback_on_writable(conn);
    }
}

/* Input backpressure: the WebSocket is not read until it resumes (what was read is delivered). */
static void io_pause(void *conn, bool paused)
{
    sioc__wsread_pause(lws_context_user(lws_get_context(conn)), conn, paused);
}

/* How much of what was written the WebSocket's peer has taken. */
static uint64_t io_taken(void *conn)
{
    return sioc__tcp_bytes_acked((int)lws_get_socket_fd(conn));
}

const sioc__eio_io sioc__lws_io = {io_wake, io_close, sioc__eio_gone, io_drop,
                                   io_ping, io_pause, io_taken};

sioc__engine *sioc__engine_for_uri(sioc__transport *tr, const char *uri, size_t len)
{
    for (sioc__engine *e = tr->engines; e; e = e->next) {
        if (len >= e->path_len && memcmp(uri, e->path, e->path_len) == 0) {
            return e;
        }
    }
    return NULL;
}

int sioc__eio_reply_error(struct lws *wsi, sioc__eio_error code)
{
    char body[128];
    sioc__eio_error_body(code, body, sizeof(body));
    unsigned status =
        code == SIOC__EIO_ERR_FORBIDDEN ? HTTP_STATUS_FORBIDDEN : HTTP_STATUS_BAD_REQUEST;
    sioc__log(SIOC_LOG_INFO, "engine.io: rejected request: %s", body);
    if ((unsigned)code < 6) {
        sioc__stats_g.handshake_errors[code]++;
    }
    return sioc__reply_simple(wsi, status, "application/json", body);
}

void sioc__eio_read_query(struct lws *wsi, sioc__eio_query *q)
{
    char b64[8];
    memset(q, 0, sizeof(*q));
    sioc__query_want want[] = {
        {"transport", q->transport, sizeof(q->transport), -1},
        {"EIO", q->eio, sizeof(q->eio), -1},
        {"sid", q->sid, sizeof(q->sid), -1},
        {"j", q->j, sizeof(q->j), -1},
        {"b64", b64, sizeof(b64), -1},
    };
    sioc__query_args(wsi, want, sizeof(want) / sizeof(want[0]));
    /* A sid too long to be ours still counts as given, and is unknown. */
    q->has_sid = want[2].rc != -1;
    q->jsonp = want[3].rc != -1;
    q->b64 = want[4].rc > 0;
}

/* The timer wheel turns every SIOC_WHEEL_TICK_MS: a request that names a session first lets every
 * timer already due fire, so that a session whose heartbeat ran out is gone, as it would be from
 * Node's exact timers, rather than still there for up to a tick. */
void sioc__eio_catch_up(sioc__transport *tr, const sioc__eio_query *q)
{
    if (q->has_sid) {
        sioc__wheel_advance(tr->wheel, sioc__now_ms());
    }
}

/* Node's `cookie` option: the sid in a cookie on the handshake, for load-balancer stickiness. */
void sioc__eio_format_cookie(const sioc_options *o, const char *sid, char *out, size_t cap)
{
    snprintf(out, cap, "%s=%s; Path=%s%s%s%s", o->cookie_name, sid,
             o->cookie_path ? o->cookie_path : "/", o->cookie_http_only ? "; HttpOnly" : "",
             o->cookie_same_site ? "; SameSite=" : "",
             o->cookie_same_site ? o->cookie_same_site : "");
}
