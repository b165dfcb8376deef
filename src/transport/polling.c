/* Engine.IO's polling transport over libwebsockets: handshakes (allowRequest decided now or
 * later), held GETs answered when packets are due, POST bodies, JSONP. */
#include "transport/internal.h"

#include <stdlib.h>
#include <string.h>

#include "eio/verify.h"
#include "util/compress.h"
#include "util/log.h"

static void add_cookie(sioc__transport *tr, sioc__reply *r, const char *sid)
{
    char cookie[512];
    sioc__eio_format_cookie(tr->opts, sid, cookie, sizeof(cookie));
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

/* Node's httpCompression: a payload of at least the threshold goes compressed when the request
 * accepted gzip or deflate (every Socket.IO packet is sent with Node's default compress flag,
 * and a payload that large holds some). Returns the coding used, or NULL with *rc 0 (sent as is)
 * or -1 (compression failed: Node answers 500). */
static const char *compress_payload(sioc__transport *tr, sioc__pss *c, sioc__buf *out, int *rc)
{
    const sioc_options *o = tr->opts;
    if (!c->encoding || !o->http_compression || out->len < o->http_compression_threshold) {
        return NULL;
    }
    sioc__buf z = {0};
    if (sioc__compress((sioc__encoding)c->encoding, out->data, out->len, &z) < 0) {
        sioc__buf_free(&z);
        sioc__log(SIOC_LOG_WARN, "polling: a payload of %zu bytes could not be compressed",
                  out->len);
        *rc = -1;
        return NULL;
    }
    sioc__buf_free(out);
    *out = z;
    return sioc__encoding_name((sioc__encoding)c->encoding);
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
    const char *coding = NULL;
    if (rc == 0 && (coding = compress_payload(tr, c, &out, &rc)) == NULL && rc < 0) {
        sioc__buf_free(&out);
        return sioc__reply_simple(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL, NULL);
    }
    sioc__reply r;
    if (rc == 0 && sioc__reply_begin(&r, wsi, HTTP_STATUS_OK, type, out.len) == 0) {
        sioc__cors_headers(tr, &r);
        if (coding) {
            sioc__reply_header(&r, "content-encoding:", coding);
        }
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
    sioc__eio_read_query(wsi, &q);
    sioc__eio_catch_up(tr, &q);
    sioc_conn *s;
    sioc__eio_error err;
    sioc__eio_method m = method == LWSHUMETH_GET    ? SIOC__EIO_GET
                         : method == LWSHUMETH_POST ? SIOC__EIO_POST
                                                    : SIOC__EIO_OTHER_METHOD;
    if (!sioc__eio_verify_http(eng, &q, m, &s, &err)) {
        return sioc__eio_reply_error(wsi, err);
    }
    c->jsonp = q.jsonp;
    c->encoding = (unsigned char)sioc__request_encoding(tr, wsi);
    if (!s && tr->draining) {
        return sioc__reply_closing(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
    }
    if (!s) {
        char *hs = sioc__handshake_packed(wsi);
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
    if (sioc__eio_gone(wsi)) { /* do not hand packets to a client that has left */
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
