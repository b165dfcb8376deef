/* Engine.IO over libwebsockets: the polling and WebSocket transports; which requests are taken is
 * eio/verify.c's decision. */
#include "transport/internal.h"
#include "transport/tcpinfo.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "eio/verify.h"
#include "transport/wsframe.h"
#include "util/base64.h"
#include "util/log.h"

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
static void unlist(sioc__transport *tr, struct lws *wsi)
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
static void pace(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
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

static void unpace(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
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
static bool io_gone(void *conn)
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

const sioc__eio_io sioc__lws_io = {io_wake, io_close, io_gone, io_drop,
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

static int reply_error(struct lws *wsi, sioc__eio_error code)
{
    char body[128];
    sioc__eio_error_body(code, body, sizeof(body));
    unsigned status =
        code == SIOC__EIO_ERR_FORBIDDEN ? HTTP_STATUS_FORBIDDEN : HTTP_STATUS_BAD_REQUEST;
    sioc__log(SIOC_LOG_INFO, "engine.io: rejected request: %s", body);
    return sioc__reply_simple(wsi, status, "application/json", body);
}

static void read_query(struct lws *wsi, sioc__eio_query *q)
{
    char b64[8];
    memset(q, 0, sizeof(*q));
    sioc__query_arg(wsi, "transport", q->transport, sizeof(q->transport));
    sioc__query_arg(wsi, "EIO", q->eio, sizeof(q->eio));
    /* A sid too long to be ours still counts as given, and is unknown. */
    q->has_sid = sioc__query_arg(wsi, "sid", q->sid, sizeof(q->sid)) != -1;
    q->jsonp = sioc__query_arg(wsi, "j", q->j, sizeof(q->j)) != -1;
    q->b64 = sioc__query_arg(wsi, "b64", b64, sizeof(b64)) > 0;
}

/* The timer wheel turns every SIOC_WHEEL_TICK_MS: a request that names a session first lets every
 * timer already due fire, so that a session whose heartbeat ran out is gone, as it would be from
 * Node's exact timers, rather than still there for up to a tick. */
static void catch_up(sioc__transport *tr, const sioc__eio_query *q)
{
    if (q->has_sid) {
        sioc__wheel_advance(tr->wheel, sioc__now_ms());
    }
}

/* Node's `cookie` option: the sid in a cookie on the handshake, for load-balancer stickiness. */
static void format_cookie(const sioc_options *o, const char *sid, char *out, size_t cap)
{
    snprintf(out, cap, "%s=%s; Path=%s%s%s%s", o->cookie_name, sid,
             o->cookie_path ? o->cookie_path : "/", o->cookie_http_only ? "; HttpOnly" : "",
             o->cookie_same_site ? "; SameSite=" : "",
             o->cookie_same_site ? o->cookie_same_site : "");
}

static void add_cookie(sioc__transport *tr, sioc__reply *r, const char *sid)
{
    char cookie[512];
    format_cookie(tr->opts, sid, cookie, sizeof(cookie));
    sioc__reply_header(r, "set-cookie:", cookie);
}

/* JSONP: the payload becomes a script calling the client's callback `j`. */
static int to_script(struct lws *wsi, sioc__buf *out)
{
    char j[16];
    sioc__buf script = {0};
    sioc__request_jsonp(wsi, j, sizeof(j));
    if (sioc__jsonp_wrap(&script, j, out->data ? out->data : "", out->len) < 0) {
        sioc__buf_free(&script);
        return -1;
    }
    sioc__buf_free(out);
    *out = script;
    return 0;
}

static int reply_payload(struct lws *wsi, sioc__pss *c, sioc_conn *s)
{
    sioc__buf out = {0};
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    char sid[sizeof(s->sid)];
    memcpy(sid, s->sid, sizeof(sid)); /* the take may release the session */
    bool binary = false;
    int rc = sioc__session_poll_take(s, wsi, &out, &binary);
    const char *type = binary ? "application/octet-stream" : "text/plain; charset=UTF-8";
    if (rc == 0 && c->jsonp) {
        rc = to_script(wsi, &out); /* text: a JSONP session gets binary as base64 */
        type = "text/javascript; charset=UTF-8";
    }
    bool handshake = c->handshake;
    sioc__reply r;
    if (rc == 0 && sioc__reply_begin(&r, wsi, HTTP_STATUS_OK, type, out.len) == 0) {
        sioc__cors_headers(tr, &r);
        if (handshake && tr->opts->cookie_name) {
            add_cookie(tr, &r, sid);
        }
        rc = sioc__reply_finish(&r, out.data, out.len);
    } else {
        rc = -1;
    }
    sioc__buf_free(&out);
    return rc;
}

static int handle_poll(sioc__transport *tr, struct lws *wsi, sioc__pss *c, sioc_conn *s)
{
    if (s->poll_req) {
        /* Node: "overlap from client" ends the session; the new request gets a 400. */
        sioc__log(SIOC_LOG_INFO, "session %s: overlapping polling GET", s->sid);
        sioc__session_close(s, "transport error", false);
        return sioc__reply_simple(wsi, HTTP_STATUS_BAD_REQUEST, NULL, NULL);
    }
    if (sioc__session_poll_attach(s, wsi)) {
        return reply_payload(wsi, c, s);
    }
    c->role = ROLE_POLL_HELD;
    c->sess = s;

    /* Held until a packet is due: the heartbeat guarantees one within pingInterval. */
    sioc__http_hold(wsi, (uint64_t)tr->opts->ping_interval_ms + tr->opts->ping_timeout_ms + 10000);
    return 0;
}

/* 403 {"code":4,"message":"Forbidden" or the application's reason}, as Node's abortRequest. */
static int reply_forbidden(struct lws *wsi, const char *refusal)
{
    json_t *body = json_pack("{s:i,s:s}", "code", (int)SIOC__EIO_ERR_FORBIDDEN, "message",
                             refusal ? refusal : sioc__eio_error_message(SIOC__EIO_ERR_FORBIDDEN));
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    sioc__log(SIOC_LOG_INFO, "engine.io: handshake refused by allowRequest");
    int rc = sioc__reply_simple(wsi, HTTP_STATUS_FORBIDDEN, "application/json", text ? text : "");
    free(text);
    return rc;
}

/* Answers a POST whose body is not read (yet), saying "connection: close": the connection is not
 * reused. Returns what the callback returns. */
static int answer_unread(struct lws *wsi, unsigned status)
{
    sioc__reply r;
    if (sioc__reply_begin(&r, wsi, status, NULL, 0) < 0) {
        return -1;
    }
    sioc__cors_headers(lws_context_user(lws_get_context(wsi)), &r);
    r.body_unread = true;
    r.close = true;
    return sioc__reply_finish(&r, NULL, 0);
}

static int reject_post(struct lws *wsi, unsigned status)
{
    answer_unread(wsi, status);
    return -1;
}

/* A body over maxHttpBufferSize is answered 413 at once, then read and dropped before the
 * connection closes, as Node drains a refused request: closing with the body unread would reset
 * the connection under a client still writing it, which then sees EPIPE rather than the 413. A
 * body declared past this many times the limit is not a message that slipped over it: its
 * connection closes at once. */
#define OVERSIZE_DRAIN_FACTOR 4

static int refuse_body(sioc__transport *tr, struct lws *wsi, sioc__pss *c, unsigned long long n)
{
    if (n / OVERSIZE_DRAIN_FACTOR > tr->opts->max_http_buffer_size) {
        return reject_post(wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE);
    }
    if (answer_unread(wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE) < 0) {
        return -1;
    }
    c->role = ROLE_POST_OVER;
    return 0;
}

static int start_post(sioc__transport *tr, struct lws *wsi, sioc__pss *c, sioc_conn *s)
{
    char len[32], type[64];
    if (s->post_active) {
        /* Node: "data request overlap from client". */
        sioc__session_close(s, "transport error", false);
        return reject_post(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    c->post_binary = sioc__header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, type, sizeof(type)) > 0 &&
                     strncmp(type, "application/octet-stream", 24) == 0;
    if (c->post_binary && s->protocol != 3) {
        /* Engine.IO v4 polling carries binary as base64 text; Node calls this "invalid content". */
        sioc__session_close(s, "transport error", false);
        return reject_post(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    if (sioc__header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len, sizeof(len)) <= 0) {
        return reject_post(wsi, HTTP_STATUS_LENGTH_REQUIRED);
    }
    unsigned long long n = strtoull(len, NULL, 10);
    if (n > tr->opts->max_http_buffer_size) {
        sioc__log(SIOC_LOG_INFO, "session %s: POST of %llu bytes over maxHttpBufferSize", s->sid,
                  n);
        return refuse_body(tr, wsi, c, n);
    }
    if (sioc__buf_reserve(&c->body, (size_t)n + 1) < 0) {
        return reject_post(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
    }
    c->role = ROLE_POST;
    c->sess = s;
    c->expected = (size_t)n;
    s->post_active = true;
    sioc__session_ref(s);
    if (n == 0) {
        return sioc__eio_body_done(tr, wsi, c);
    }
    return 0;
}

/* A polling session for a handshake allowed in: `hs` (its text) is taken over. NULL when the
 * engine cannot take one more. */
static sioc_conn *open_polling(sioc__engine *eng, sioc__pss *c, char *hs, unsigned protocol,
                               bool b64)
{
    sioc_conn *s = sioc__engine_open(eng, SIOC__POLLING, NULL, hs, protocol, NULL);
    if (s) {
        s->b64 = b64;
        c->handshake = true;
        sioc__log(SIOC_LOG_DEBUG, "engine %s: handshake %s (polling, EIO=%u)", eng->path, s->sid,
                  protocol);
    }
    return s;
}

/* The handshake waits for allowRequest, holding its GET as a long-poll is held; the decision
 * resumes it from the next writeable callback (resume_http). `hs` is taken over. */
static int wait_for_decision(sioc__transport *tr, struct lws *wsi, sioc__pss *c, sioc_request *r,
                             sioc__engine *eng, const sioc__eio_query *q, char *hs)
{
    r->eng = eng;
    r->handshake = hs;
    r->protocol = sioc__eio_protocol_of(eng, q);
    r->b64 = q->b64 || q->jsonp;
    r->wsi = wsi;
    r->pss = c;
    c->role = ROLE_ASKING;
    c->request = r;
    sioc__http_hold(wsi, (uint64_t)tr->opts->ping_interval_ms + tr->opts->ping_timeout_ms + 10000);
    return 0;
}

static int resume_http(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    sioc_request *r = c->request;
    if (!r || r->verdict == SIOC__UNDECIDED) {
        return 0;
    }
    c->request = NULL;
    c->role = ROLE_NONE;
    int rc;
    if (r->verdict == SIOC__REJECTED) {
        rc = reply_forbidden(wsi, r->message);
    } else if (tr->draining) {
        rc = sioc__reply_closing(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
    } else {
        sioc_conn *s = open_polling(r->eng, c, r->handshake, r->protocol, r->b64);
        r->handshake = NULL; /* the session's now, or freed */
        rc = s ? handle_poll(tr, wsi, c, s)
               : sioc__reply_simple(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL, NULL);
    }
    sioc__allow_free(r);
    return rc;
}

int sioc__eio_http(sioc__transport *tr, sioc__engine *eng, struct lws *wsi, sioc__pss *c,
                   int method)
{
    if (method == LWSHUMETH_OPTIONS && sioc__cors_configured(tr->opts)) {
        return sioc__cors_preflight(tr, wsi);
    }
    sioc__eio_query q;
    read_query(wsi, &q);
    catch_up(tr, &q);
    sioc_conn *s;
    sioc__eio_error err;
    sioc__eio_method m = method == LWSHUMETH_GET    ? SIOC__EIO_GET
                         : method == LWSHUMETH_POST ? SIOC__EIO_POST
                                                    : SIOC__EIO_OTHER_METHOD;
    if (!sioc__eio_verify_http(eng, &q, m, &s, &err)) {
        return reply_error(wsi, err);
    }
    c->jsonp = q.jsonp;
    if (!s && tr->draining) {
        return sioc__reply_closing(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
    }
    if (!s) {
        char *hs = sioc__handshake_text(wsi);
        char *refusal;
        sioc_request *r;
        sioc__verdict v = sioc__allow_ask(tr, hs, &refusal, &r);
        if (v == SIOC__REJECTED) {
            free(hs);
            int rc = reply_forbidden(wsi, refusal);
            free(refusal);
            return rc;
        }
        if (v == SIOC__UNDECIDED) {
            return wait_for_decision(tr, wsi, c, r, eng, &q, hs);
        }
        /* Node: b64 in the handshake means no binary payloads; JSONP cannot carry them either. */
        s = open_polling(eng, c, hs, sioc__eio_protocol_of(eng, &q), q.b64 || q.jsonp);
        if (!s) {
            return sioc__reply_simple(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL, NULL);
        }
    }
    if (method == LWSHUMETH_GET) {
        return handle_poll(tr, wsi, c, s);
    }
    if (method == LWSHUMETH_POST) {
        return start_post(tr, wsi, c, s);
    }
    return sioc__reply_simple(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL);
}

int sioc__eio_body(sioc__transport *tr, struct lws *wsi, sioc__pss *c, const void *in, size_t len)
{
    if (c->role != ROLE_POST) {
        return 0; /* ROLE_POST_OVER: dropped */
    }
    if (c->body.len + len > c->expected) {
        return reject_post(wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE);
    }
    return sioc__buf_append(&c->body, in, len) < 0 ? -1 : 0;
}

/* Delivers every packet of a POST body. A malformed one ends the session with "parse error" and
 * returns -1. */
static int deliver_payload(sioc_conn *s, sioc__pss *c)
{
    sioc__buf *body = &c->body;
    if (c->jsonp) {
        long n = sioc__jsonp_unwrap(body->data ? body->data : "", body->len);
        if (n < 0) { /* Node ignores a form without "d" */
            return 0;
        }
        body->len = (size_t)n;
    }
    return sioc__session_receive_payload(s, body->data ? body->data : "", body->len,
                                         c->post_binary);
}

int sioc__eio_body_done(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    if (c->role == ROLE_POST_OVER) {
        return -1; /* answered already, with "connection: close" */
    }
    if (c->role != ROLE_POST || !c->sess) {
        return -1;
    }
    sioc_conn *s = c->sess;
    c->sess = NULL;
    c->role = ROLE_NONE;
    int rc = deliver_payload(s, c);
    s->post_active = false;
    sioc__session_unref(s);
    sioc__buf_free(&c->body);
    if (rc < 0) {
        return sioc__reply_simple(wsi, HTTP_STATUS_BAD_REQUEST, NULL, NULL);
    }
    return sioc__reply_simple(wsi, HTTP_STATUS_OK, "text/html", "ok");
}

int sioc__eio_http_writeable(struct lws *wsi, sioc__pss *c)
{
    if (c->role == ROLE_ASKING) {
        return resume_http(lws_context_user(lws_get_context(wsi)), wsi, c);
    }
    /* lws also calls this when the peer hangs up: a GET with nothing due stays held, and its end
     * comes as HTTP_DROP_PROTOCOL. */
    if (c->role != ROLE_POLL_HELD || !c->sess || !sioc__session_poll_due(c->sess)) {
        return 0;
    }
    sioc_conn *s = c->sess;
    c->sess = NULL;
    c->role = ROLE_NONE;
    if (io_gone(wsi)) { /* do not hand packets to a client that has left */
        sioc__session_poll_lost(s, wsi);
        return -1;
    }
    c->handshake = false;
    return reply_payload(wsi, c, s);
}

void sioc__eio_http_closed(struct lws *wsi, sioc__pss *c)
{
    if (c->role == ROLE_ASKING) {
        sioc__allow_detach(c->request);
        c->request = NULL;
        c->role = ROLE_NONE;
        return;
    }
    if (c->role != ROLE_POLL_HELD && c->role != ROLE_POST) {
        return;
    }
    sioc_conn *s = c->sess;
    c->sess = NULL;
    if (s && c->role == ROLE_POLL_HELD) {
        sioc__session_poll_lost(s, wsi);
    } else if (s && c->role == ROLE_POST) {
        s->post_active = false;
        sioc__session_unref(s);
    }
    c->role = ROLE_NONE;
    sioc__buf_free(&c->body);
}

/* ---- WebSocket ---- */

static int reject_upgrade(struct lws *wsi, sioc__eio_error code)
{
    char body[128];
    size_t n = sioc__eio_error_body(code, body, sizeof(body));
    sioc__reply r;
    sioc__log(SIOC_LOG_INFO, "engine.io: rejected upgrade: %s", body);
    if (sioc__reply_begin(&r, wsi, HTTP_STATUS_BAD_REQUEST, "application/json", n) == 0) {
        r.close = true;
        sioc__reply_finish(&r, body, n);
    }
    return -1; /* lws sends the answer, then closes */
}

static sioc__engine *engine_of_request(sioc__transport *tr, struct lws *wsi)
{
    char uri[1024];
    int n = sioc__header(wsi, WSI_TOKEN_GET_URI, uri, sizeof(uri));
    return n > 0 ? sioc__engine_for_uri(tr, uri, (size_t)n) : NULL;
}

/* allowRequest for a WebSocket handshake. lws answers the upgrade when this callback returns:
 * a decision put off is taken up at ESTABLISHED, after the 101 (sioc__eio_ws_open). */
static int ask_upgrade(sioc__transport *tr, struct lws *wsi, sioc__engine *eng,
                       const sioc__eio_query *q)
{
    char *hs = sioc__handshake_text(wsi);
    char *refusal;
    sioc_request *r;
    sioc__verdict v = sioc__allow_ask(tr, hs, &refusal, &r);
    free(refusal);
    if (v != SIOC__UNDECIDED) {
        free(hs);
        /* Node answers a refused upgrade with 400 and the reason */
        return v == SIOC__ACCEPTED ? 0 : reject_upgrade(wsi, SIOC__EIO_ERR_FORBIDDEN);
    }
    if (tr->upgrade_asking) { /* the last one never reached ESTABLISHED: its client is gone */
        sioc__allow_detach(tr->upgrade_asking);
    }
    r->eng = eng;
    r->handshake = hs;
    r->protocol = sioc__eio_protocol_of(eng, q);
    r->b64 = q->b64;
    r->upgrade_wsi = wsi;
    tr->upgrade_asking = r;
    return 0;
}

int sioc__eio_confirm_upgrade(sioc__transport *tr, struct lws *wsi)
{
    sioc__engine *eng = engine_of_request(tr, wsi);
    if (!eng) {
        /* Outside every Engine.IO path: a plain WebSocket client (the seed's second page). */
        return tr->sio_engine ? 0 : reject_upgrade(wsi, SIOC__EIO_ERR_BAD_REQUEST);
    }
    sioc__eio_query q;
    read_query(wsi, &q);
    catch_up(tr, &q);
    sioc__eio_error err;
    if (!sioc__eio_verify_upgrade(eng, &q, &err)) {
        return reject_upgrade(wsi, err);
    }
    if (!q.has_sid && (tr->opts->allow_request || tr->opts->allow_request_async)) {
        return ask_upgrade(tr, wsi, eng, &q);
    }
    return 0;
}

int sioc__eio_ws_headers(sioc__transport *tr, struct lws *wsi, sioc__pss *c,
                         struct lws_process_html_args *args)
{
    sioc__engine *eng = engine_of_request(tr, wsi);
    if (!tr->opts->cookie_name || !eng || lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) <= 0) {
        return 0;
    }
    sioc__eio_query q;
    read_query(wsi, &q);
    if (q.has_sid || sioc__random_id(c->cookie_sid) < 0) {
        return 0; /* only a handshake opens a session */
    }
    /* The session does not exist before the 101 is written: its sid is drawn here. */
    char cookie[512];
    format_cookie(tr->opts, c->cookie_sid, cookie, sizeof(cookie));
    unsigned char *end = (unsigned char *)args->p + args->max_len;
    if (lws_add_http_header_by_name(
            wsi, (const unsigned char *)"set-cookie:", (const unsigned char *)cookie,
            (int)strlen(cookie), (unsigned char **)&args->p, end)) {
        return -1;
    }
    return 0;
}

static void close_with(struct lws *wsi, sioc__pss *c, int status)
{
    c->close_status = status;
    c->discarding = true;
    lws_callback_on_writable(wsi);
}

/* The peer broke the WebSocket protocol, or sent too much: the session ends with a transport
 * error, and the connection with `status` once the close frame is out (RFC 6455 §7.1.7). */
static void fail_with(struct lws *wsi, sioc__pss *c, int status, const char *why)
{
    sioc_conn *s = c->sess;
    sioc__log(SIOC_LOG_INFO, "session %s: WebSocket closed with %d: %s", s ? s->sid : "-", status,
              why);
    if (s) {
        c->sess = NULL;
        sioc__session_ws_lost(s, wsi, true);
    }
    sioc__buf_free(&c->body);
    c->close_hard = true;
    close_with(wsi, c, status);
}

int sioc__eio_ws_open(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    sioc__engine *eng = engine_of_request(tr, wsi);
    sioc__eio_query q;
    read_query(wsi, &q);
    char sid[sizeof(c->cookie_sid)];
    memcpy(sid, c->cookie_sid, sizeof(sid));
    memset(c, 0, sizeof(*c));
    sioc_request *r = tr->upgrade_asking;
    if (r && r->upgrade_wsi == wsi) {
        tr->upgrade_asking = NULL;
        r->upgrade_wsi = NULL;
    } else {
        r = NULL;
    }
    /* lws has written the 101: from here on sioc reads the frames (wsread.c). */
    if (sioc__wsread_add(tr, wsi, c) < 0) {
        sioc__log(SIOC_LOG_WARN, "WebSocket dropped after its 101: cannot watch it");
        if (r) {
            sioc__allow_detach(r);
        }
        return -1;
    }
    if (r) { /* allowRequest has not decided yet: no session until it has */
        memcpy(r->cookie_sid, sid, sizeof(r->cookie_sid));
        r->wsi = wsi;
        r->pss = c;
        c->request = r;
        c->role = ROLE_WS_ASKING;
        if (r->verdict != SIOC__UNDECIDED) {
            lws_callback_on_writable(wsi);
        }
        return 0;
    }
    if (!eng && tr->sio_engine) {
        c->sess = sioc__engine_open_plain(tr->sio_engine, wsi, sioc__handshake_text(wsi));
        c->role = ROLE_WS;
        return c->sess ? 0 : -1;
    }
    sioc__eio_error err;
    if (!eng || !sioc__eio_verify_upgrade(eng, &q, &err)) {
        return -1; /* the session went away between the checks and the upgrade */
    }
    if (q.has_sid) {
        sioc_conn *s = sioc__engine_find(eng, q.sid, strlen(q.sid));
        if (s->transport != SIOC__POLLING || s->probe_ws) {
            /* Node: "transport had already been upgraded" (or is being): the session carries on
             * where it is, the newcomer is closed. */
            sioc__log(SIOC_LOG_INFO, "session %s: second WebSocket upgrade closed", s->sid);
            close_with(wsi, c, SIOC__WS_NORMAL);
            return 0;
        }
        /* The probe's session reference is the one sioc__session_probe_attach takes. */
        c->sess = s;
        c->role = ROLE_WS_PROBE;
        sioc__session_probe_attach(c->sess, wsi);
        return 0;
    }
    c->sess = sioc__engine_open(eng, SIOC__WEBSOCKET, wsi, sioc__handshake_text(wsi),
                                sioc__eio_protocol_of(eng, &q), sid[0] ? sid : NULL);
    if (!c->sess) {
        return -1;
    }
    c->sess->b64 = q.b64;
    c->role = ROLE_WS;
    pace(tr, wsi, c); /* the open packet goes a moment after the 101 */
    sioc__log(SIOC_LOG_DEBUG, "engine %s: handshake %s (websocket)", eng->path, c->sess->sid);
    return 0;
}

static void deliver_message(struct lws *wsi, sioc__pss *c)
{
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, true, c->body.data, c->body.len};
    if (c->sess->plain) { /* every frame is a message */
        p.binary = c->message_binary;
        sioc__session_receive(c->sess, &p);
        return;
    }
    if (sioc__session_decode_frame(c->sess, c->body.data ? c->body.data : (char *)"", c->body.len,
                                   c->message_binary, &p) < 0) {
        sioc__log(SIOC_LOG_INFO, "session %s: malformed packet", c->sess->sid);
        if (c->role == ROLE_WS_PROBE) {
            /* Node closes a probe that sends anything unexpected; polling carries on. */
            sioc__session_ws_lost(c->sess, wsi, true);
            c->sess = NULL;
            close_with(wsi, c, SIOC__WS_NORMAL);
        } else {
            sioc__session_close(c->sess, "parse error", false); /* closes this WebSocket */
        }
        return;
    }
    if (c->role == ROLE_WS_PROBE) {
        sioc__session_probe_receive(c->sess, wsi, &p);
        /* After "5" this connection carries the session. */
        if (c->sess && c->sess->ws == wsi) {
            c->role = ROLE_WS;
        }
    } else {
        sioc__session_receive(c->sess, &p);
    }
}

/* A data frame's header. Its declared length counts at once: a frame announcing more than the
 * limit is refused then, not once the limit's worth has been read (as Node's ws, with 1009). */
static void on_frame(sioc__transport *tr, struct lws *wsi, sioc__pss *c, const sioc__ws_event *ev)
{
    if (ev->first) {
        c->message_binary = ev->opcode == SIOC__WS_BINARY;
        sioc__buf_reset(&c->body);
    }
    /* No overflow: the reader refuses lengths past 2^53. */
    if (c->body.len + ev->length > tr->opts->max_http_buffer_size) {
        fail_with(wsi, c, SIOC__WS_TOO_BIG, "message over maxHttpBufferSize");
    }
}

static void on_data(struct lws *wsi, sioc__pss *c, const sioc__ws_event *ev)
{
    if (ev->len && sioc__buf_append(&c->body, ev->data, ev->len) < 0) {
        fail_with(wsi, c, 1011, "out of memory"); /* 1011: internal error */
        return;
    }
    if (!ev->last) {
        return;
    }
    deliver_message(wsi, c);
    if (c->body.cap > 65536) {
        sioc__buf_free(&c->body); /* do not keep a large buffer per idle connection */
    } else {
        sioc__buf_reset(&c->body);
    }
}

/* Writes a control frame at once (lws queues it behind anything still buffered). */
static int write_control(struct lws *wsi, unsigned opcode, const uint8_t *data, size_t len)
{
    assert(len <= SIOC__WS_CONTROL_MAX);
    uint8_t frame[2 + SIOC__WS_CONTROL_MAX];
    size_t hl = sioc__ws_header(frame, opcode, len);
    if (len) {
        memcpy(frame + hl, data, len);
    }
    return lws_write(wsi, frame, hl + len, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

/* The peer's CLOSE. Returns -1 when the connection is to close now. */
static int on_close(struct lws *wsi, sioc__pss *c, const sioc__ws_event *ev)
{
    if (c->close_sent) {
        return -1; /* the answer to ours: the handshake is over */
    }
    sioc_conn *s = c->sess;
    if (s) {
        c->sess = NULL;
        sioc__session_ws_lost(s, wsi, false);
    }
    /* As ws: the same status back (none for none), then the server closes the connection. */
    c->close_echo = ev->code == SIOC__WS_NO_STATUS;
    c->close_hard = true;
    close_with(wsi, c, ev->code == SIOC__WS_NO_STATUS ? SIOC__WS_NORMAL : ev->code);
    return 0;
}

int sioc__eio_ws_receive(sioc__transport *tr, struct lws *wsi, sioc__pss *c, void *in, size_t len)
{
    uint8_t *p = in;
    sioc__ws_event ev;
    for (;;) {
        sioc__ws_event_kind k = sioc__ws_rx_next(&c->rx, &p, &len, &ev);
        if (k == SIOC__WS_NEED) {
            return 0;
        }
        if (k == SIOC__WS_ERROR) {
            if (c->discarding) {
                return c->close_sent ? -1 : 0;
            }
            fail_with(wsi, c, ev.code, ev.why);
            return 0;
        }
        if (k == SIOC__WS_CLOSE_EV) {
            if (on_close(wsi, c, &ev) < 0) {
                return -1;
            }
            continue;
        }
        if (c->discarding) {
            continue; /* closing: only the peer's CLOSE matters */
        }
        if (k == SIOC__WS_FRAME) {
            on_frame(tr, wsi, c, &ev);
        } else if (k == SIOC__WS_DATA && c->sess) {
            on_data(wsi, c, &ev);
        } else if (k == SIOC__WS_PING_EV &&
                   write_control(wsi, SIOC__WS_PONG, ev.data, ev.len) < 0) {
            return -1;
        } else if (k == SIOC__WS_PONG_EV && c->sess) {
            sioc__session_pong(c->sess);
        }
    }
}

/* A connection that ends hard (an error, or the answer to the peer's close) is shut for writing
 * once its close frame is out: the peer sees the frame, then the end of the stream. */
static void shut_when_flushed(struct lws *wsi, sioc__pss *c)
{
    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi); /* lws writes the rest first, then calls back */
        return;
    }
    shutdown((int)lws_get_socket_fd(wsi), SHUT_WR);
    c->close_hard = false;
}

/* Sends the close frame. A peer that does not answer it, or does not hang up after ours, is hung
 * up on. */
static int send_close(struct lws *wsi, sioc__pss *c)
{
    if (!c->close_sent) {
        uint8_t code[2] = {(uint8_t)(c->close_status >> 8), (uint8_t)(c->close_status & 0xff)};
        c->close_sent = true;
        if (write_control(wsi, SIOC__WS_CLOSE, code, c->close_echo ? 0 : 2) < 0) {
            return -1;
        }
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
    }
    if (c->close_hard) {
        shut_when_flushed(wsi, c);
    }
    return 0;
}

/* Engine.IO v3 sends binary over WebSocket after a type byte (4, message); to a client that cannot
 * take binary, as "b4<base64>" text. */
static int write_v3_base64(struct lws *wsi, sioc__msg *m)
{
    size_t len = 2 + sioc__base64_encoded_len(m->len);
    unsigned char *frame = malloc(10 + len);
    if (!frame) {
        return -1;
    }
    size_t hl = sioc__ws_header(frame, SIOC__WS_TEXT, len);
    memcpy(frame + hl, "b4", 2);
    sioc__base64_encode((const unsigned char *)sioc__msg_payload(m), m->len,
                        (char *)frame + hl + 2);
    int n = lws_write(wsi, frame, hl + len, LWS_WRITE_RAW);
    free(frame);
    return n;
}

/* What goes before `m`'s bytes on the wire: the frame header (a server frame: no mask) and, for
 * Engine.IO v3 binary, the type byte (4, message). Returns its length (at most 11). */
static size_t frame_head(const sioc_conn *s, const sioc__msg *m, uint8_t h[11])
{
    bool v3_binary = m->binary && s->protocol == 3;
    size_t hl = sioc__ws_header(h, m->binary ? SIOC__WS_BINARY : SIOC__WS_TEXT,
                                m->len + (v3_binary ? 1 : 0));
    if (v3_binary) {
        h[hl++] = SIOC__EIO_MESSAGE;
    }
    return hl;
}

/* One message, what goes before it written into its headroom (each write sets it again: the
 * message is shared, and that head the same for every receiver of one protocol). */
static int write_message(struct lws *wsi, const sioc_conn *s, sioc__msg *m)
{
    if (m->binary && s->protocol == 3 && s->b64) {
        return write_v3_base64(wsi, m);
    }
    uint8_t h[11];
    size_t hl = frame_head(s, m, h);
    unsigned char *p = (unsigned char *)sioc__msg_payload(m) - hl;
    memcpy(p, h, hl);
    return lws_write(wsi, p, hl + m->len, LWS_WRITE_RAW);
}

/* Frames per batch, and the bytes past which a batch stops growing. */
#define BATCH_FRAMES 64
#define BATCH_BYTES (128 * 1024)

/* Appends the WebSocket frame for `m` to `out`. */
static int append_frame(sioc__buf *out, const sioc_conn *s, const sioc__msg *m)
{
    uint8_t h[11];
    size_t hl = frame_head(s, m, h);
    return sioc__buf_append(out, h, hl) < 0
               ? -1
               : sioc__buf_append(out, sioc__msg_payload((sioc__msg *)m), m->len);
}

/* Several queued messages in one system call: their frames are built here, one after the other,
 * and written raw. Returns how many went out (0: write them one at a time), or -1. */
static int write_batch(sioc__transport *tr, struct lws *wsi, sioc_conn *s, bool *ends_write)
{
    sioc__msg *queued[BATCH_FRAMES];
    size_t n = sioc__session_ws_queued(s, wsi, queued, BATCH_FRAMES);
    sioc__buf *b = &tr->batch;
    size_t k = 0;
    sioc__buf_reset(b);
    if (n < 2 || sioc__buf_reserve(b, LWS_PRE) < 0) {
        return 0;
    }
    b->len = LWS_PRE;
    for (; k < n && b->len < BATCH_BYTES; k++) {
        if ((queued[k]->binary && s->protocol == 3 && s->b64) ||
            append_frame(b, s, queued[k]) < 0) {
            break; /* base64 frames and allocation failures take the one-at-a-time path */
        }
        if (queued[k]->ends_write) {
            k++;
            break;
        }
    }
    if (k < 2) {
        return 0;
    }
    if (lws_write(wsi, (unsigned char *)b->data + LWS_PRE, b->len - LWS_PRE, LWS_WRITE_RAW) < 0) {
        return -1;
    }
    if (b->cap > 4 * BATCH_BYTES) {
        sioc__buf_free(b); /* one large batch should not pin its buffer */
    }
    *ends_write = queued[k - 1]->ends_write;
    return (int)k;
}

/* After a write: the rest of the queue goes from the next WRITEABLE, or after a pause. */
static void write_next(sioc__transport *tr, struct lws *wsi, sioc__pss *c, bool pause)
{
    if (!c->sess || !sioc__session_ws_next(c->sess, wsi)) {
        return;
    }
    if (pause) {
        pace(tr, wsi, c);
    } else {
        lws_callback_on_writable(wsi);
    }
}

/* allowRequest decided a WebSocket handshake after its 101: the session opens, or the
 * connection closes with 1008 (policy violation) and no session. */
static int resume_ws(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    sioc_request *r = c->request;
    if (!r || r->verdict == SIOC__UNDECIDED) {
        return 0;
    }
    c->request = NULL;
    c->role = ROLE_NONE;
    if (r->verdict == SIOC__REJECTED || tr->draining) {
        sioc__log(SIOC_LOG_INFO, "engine.io: WebSocket handshake refused by allowRequest%s%s",
                  r->message ? ": " : "", r->message ? r->message : "");
        sioc__allow_free(r);
        close_with(wsi, c, tr->draining ? SIOC__WS_GOING_AWAY : SIOC__WS_POLICY);
        return 0;
    }
    c->sess = sioc__engine_open(r->eng, SIOC__WEBSOCKET, wsi, r->handshake, r->protocol,
                                r->cookie_sid[0] ? r->cookie_sid : NULL);
    r->handshake = NULL; /* the session's now, or freed */
    bool b64 = r->b64;
    sioc__allow_free(r);
    if (!c->sess) {
        return -1;
    }
    c->sess->b64 = b64;
    c->role = ROLE_WS;
    pace(tr, wsi, c); /* the open packet goes a moment after this */
    return 0;
}

int sioc__eio_ws_writeable(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    if (c->close_status) {
        return send_close(wsi, c);
    }
    if (c->role == ROLE_WS_ASKING) {
        return resume_ws(tr, wsi, c);
    }
    if (!c->sess || c->paced) {
        return 0;
    }
    if (c->ping_due) {
        c->ping_due = false;
        if (write_control(wsi, SIOC__WS_PING, NULL, 0) < 0) {
            return -1;
        }
        if (sioc__session_ws_next(c->sess, wsi)) {
            lws_callback_on_writable(wsi); /* one write per callback: the queue goes next */
        }
        return 0;
    }
    bool ends_write = false;
    int batched = write_batch(tr, wsi, c->sess, &ends_write);
    if (batched < 0) {
        return -1;
    }
    if (batched > 0) {
        sioc_conn *s = c->sess;
        /* Only the last can end a closing session (its queue empties), releasing `s`. */
        for (int i = 0; i < batched && c->sess; i++) {
            sioc__session_ws_sent(s, wsi);
        }
        write_next(tr, wsi, c, ends_write);
        return 0;
    }
    sioc__msg *m = sioc__session_ws_next(c->sess, wsi);
    if (!m) {
        return 0;
    }
    if (write_message(wsi, c->sess, m) < 0) {
        return -1;
    }
    ends_write = m->ends_write; /* `m` may be gone once sent */
    sioc__session_ws_sent(c->sess, wsi);
    write_next(tr, wsi, c, ends_write);
    return 0;
}

void sioc__eio_ws_closed(struct lws *wsi, sioc__pss *c)
{
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    if (c->flush_pending) {
        unlist(tr, wsi);
        c->flush_pending = false;
    }
    unpace(tr, wsi, c);
    sioc_conn *s = c->sess;
    c->sess = NULL;
    if (s) {
        sioc__session_ws_lost(s, wsi, false);
    }
    if (c->request) {
        sioc__allow_detach(c->request);
        c->request = NULL;
    }
    sioc__wsread_remove(tr, wsi, c);
    sioc__buf_free(&c->body);
    sioc__ws_rx_free(&c->rx);
}
