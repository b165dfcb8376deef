/* Engine.IO's WebSocket transport over libwebsockets: the upgrade (allowRequest, the cookie),
 * the frames sioc reads itself (wsread.c, wsframe.c), and writing queued packets, several to a
 * write. */
#include "transport/internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "eio/verify.h"
#include "transport/wsframe.h"
#include "util/base64.h"
#include "util/log.h"

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
    char *hs = sioc__handshake_packed(wsi);
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
    sioc__eio_read_query(wsi, &q);
    sioc__eio_catch_up(tr, &q);
    sioc__eio_error err;
    if (!sioc__eio_verify_upgrade(eng, &q, &err)) {
        return reject_upgrade(wsi, err);
    }
    if (!q.has_sid && (tr->opts->allow_request || tr->opts->allow_request_async)) {
        return ask_upgrade(tr, wsi, eng, &q);
    }
    return 0;
}

/* perMessageDeflate: the 101 agrees to it when the option is on and the client offered it in a
 * form sioc takes (wsframe.h). Returns -1 when the header does not fit. */
static int agree_deflate(sioc__transport *tr, struct lws *wsi, sioc__pss *c,
                         struct lws_process_html_args *args)
{
    char offers[1024];
    if (!tr->opts->per_message_deflate ||
        sioc__header(wsi, WSI_TOKEN_EXTENSIONS, offers, sizeof(offers)) < 0 ||
        !sioc__ws_pmd_acceptable(offers)) {
        return 0;
    }
    static const char answer[] = SIOC__WS_PMD_RESPONSE;
    unsigned char *end = (unsigned char *)args->p + args->max_len;
    if (lws_add_http_header_by_name(
            wsi, (const unsigned char *)"sec-websocket-extensions:", (const unsigned char *)answer,
            (int)sizeof(answer) - 1, (unsigned char **)&args->p, end)) {
        return -1;
    }
    c->pmd = true;
    return 0;
}

int sioc__eio_ws_headers(sioc__transport *tr, struct lws *wsi, sioc__pss *c,
                         struct lws_process_html_args *args)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) <= 0) {
        return 0;
    }
    if (agree_deflate(tr, wsi, c, args) < 0) {
        return -1;
    }
    sioc__engine *eng = engine_of_request(tr, wsi);
    if (!tr->opts->cookie_name || !eng) {
        return 0;
    }
    sioc__eio_query q;
    sioc__eio_read_query(wsi, &q);
    if (q.has_sid || sioc__random_id(c->cookie_sid) < 0) {
        return 0; /* only a handshake opens a session */
    }
    if (tr->opts->worker) {
        sioc__sid_mark(c->cookie_sid, tr->opts->worker->index, tr->opts->worker->count);
    }
    /* The session does not exist before the 101 is written: its sid is drawn here. */
    char cookie[512];
    sioc__eio_format_cookie(tr->opts, c->cookie_sid, cookie, sizeof(cookie));
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

/* Before a session opens on the WebSocket: the open packet it queues goes a moment after the 101
 * (or after allowRequest's decision). Paced before it is queued, the packet waits in the paced
 * list instead of arming the connection for a WRITEABLE that would find nothing to do (two
 * epoll_ctl and a wake-up per connection). */
static void open_paced(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    c->role = ROLE_WS;
    sioc__eio_pace(tr, wsi, c);
}

int sioc__eio_ws_open(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    sioc__engine *eng = engine_of_request(tr, wsi);
    sioc__eio_query q;
    sioc__eio_read_query(wsi, &q);
    char sid[sizeof(c->cookie_sid)];
    memcpy(sid, c->cookie_sid, sizeof(sid));
    bool pmd = c->pmd; /* agreed in the 101 */
    memset(c, 0, sizeof(*c));
    c->pmd = c->rx.pmd = pmd;
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
        c->sess = sioc__engine_open_plain(tr->sio_engine, wsi, sioc__handshake_packed(wsi));
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
    open_paced(tr, wsi, c);
    c->sess = sioc__engine_open(eng, SIOC__WEBSOCKET, wsi, sioc__handshake_packed(wsi),
                                sioc__eio_protocol_of(eng, &q), sid[0] ? sid : NULL);
    if (!c->sess) {
        return -1;
    }
    c->sess->b64 = q.b64;
    sioc__log(SIOC_LOG_DEBUG, "engine %s: handshake %s (websocket)", eng->path, c->sess->sid);
    return 0;
}

/* A whole message, `len` bytes at `data` (the reassembly buffer, or the input itself). */
static void deliver_message(struct lws *wsi, sioc__pss *c, char *data, size_t len)
{
    static char empty[1];
    data = data ? data : empty;
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, true, data, len};
    if (c->sess->plain) { /* every frame is a message */
        p.binary = c->message_binary;
        sioc__session_receive(c->sess, &p);
        return;
    }
    if (sioc__session_decode_frame(c->sess, data, len, c->message_binary, &p) < 0) {
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
        c->message_compressed = ev->compressed;
        sioc__buf_reset(&c->body);
    }
    /* No overflow: the reader refuses lengths past 2^53. */
    if (c->body.len + ev->length > tr->opts->max_http_buffer_size) {
        fail_with(wsi, c, SIOC__WS_TOO_BIG, "message over maxHttpBufferSize");
    }
}

/* A compressed message, inflated in place of what came (RFC 7692 §7.2.2); false when the
 * connection was failed instead: as Node's ws, 1009 past maxHttpBufferSize, 1007 for data that is
 * not deflate or text that is not UTF-8. */
static bool inflate_message(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    sioc__buf plain = {0};
    int rc =
        sioc__pmd_inflate(tr, c->body.data, c->body.len, tr->opts->max_http_buffer_size, &plain);
    if (rc == 0 && !c->message_binary &&
        !sioc__ws_utf8_valid((const uint8_t *)plain.data, plain.len)) {
        rc = -4;
    }
    if (rc < 0) {
        sioc__buf_free(&plain);
        fail_with(wsi, c,
                  rc == -2   ? SIOC__WS_TOO_BIG
                  : rc == -3 ? 1011
                             : SIOC__WS_INVALID_DATA,
                  rc == -2   ? "inflated message over maxHttpBufferSize"
                  : rc == -3 ? "out of memory"
                  : rc == -4 ? "text not UTF-8"
                             : "invalid compressed data");
        return false;
    }
    sioc__buf_free(&c->body);
    c->body = plain;
    return true;
}

static void on_data(sioc__transport *tr, struct lws *wsi, sioc__pss *c, const sioc__ws_event *ev)
{
    if (ev->last && c->body.len == 0 && !c->message_compressed) {
        /* A message in one piece goes up from the input as it is: no copy, and no reassembly
         * buffer kept per connection. */
        deliver_message(wsi, c, (char *)ev->data, ev->len); /* unmasked in place: writable */
        return;
    }
    if (ev->len && sioc__buf_append(&c->body, ev->data, ev->len) < 0) {
        fail_with(wsi, c, 1011, "out of memory"); /* 1011: internal error */
        return;
    }
    if (!ev->last) {
        return;
    }
    if (c->message_compressed && !inflate_message(tr, wsi, c)) {
        return;
    }
    deliver_message(wsi, c, c->body.data, c->body.len);
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
            on_data(tr, wsi, c, &ev);
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

/* What goes on the wire for `m` to this connection: its compressed copy when the connection
 * agreed to permessage-deflate and the message reaches the threshold (*rsv1 then set), else `m`.
 * Engine.IO v3 binary, which takes a type byte before it, goes as it is. */
static sioc__msg *on_wire(sioc__transport *tr, const sioc__pss *c, sioc__msg *m, bool *rsv1)
{
    *rsv1 = false;
    if (!c->pmd || m->len < tr->opts->per_message_deflate_threshold ||
        (m->binary && c->sess->protocol == 3)) {
        return m;
    }
    sioc__msg *z = sioc__pmd_deflate(tr, m);
    *rsv1 = z != NULL;
    return z ? z : m;
}

/* What goes before `m`'s bytes on the wire: the frame header (a server frame: no mask; RSV1 for
 * a compressed message) and, for Engine.IO v3 binary, the type byte (4, message). Returns its
 * length (at most 11). */
static size_t frame_head(const sioc_conn *s, const sioc__msg *m, bool rsv1, uint8_t h[11])
{
    bool v3_binary = m->binary && s->protocol == 3;
    size_t hl = sioc__ws_header_rsv1(h, m->binary ? SIOC__WS_BINARY : SIOC__WS_TEXT,
                                     m->len + (v3_binary ? 1 : 0), rsv1);
    if (v3_binary) {
        h[hl++] = SIOC__EIO_MESSAGE;
    }
    return hl;
}

/* One message, what goes before it written into its headroom (each write sets it again: the
 * message is shared, and that head the same for every receiver of one protocol). */
static int write_message(sioc__transport *tr, struct lws *wsi, const sioc__pss *c, sioc__msg *m)
{
    const sioc_conn *s = c->sess;
    if (m->binary && s->protocol == 3 && s->b64) {
        return write_v3_base64(wsi, m);
    }
    bool rsv1;
    m = on_wire(tr, c, m, &rsv1);
    uint8_t h[11];
    size_t hl = frame_head(s, m, rsv1, h);
    unsigned char *p = (unsigned char *)sioc__msg_payload(m) - hl;
    memcpy(p, h, hl);
    return lws_write(wsi, p, hl + m->len, LWS_WRITE_RAW);
}

/* Frames per batch, and the bytes past which a batch stops growing. */
#define BATCH_FRAMES 64
#define BATCH_BYTES (128 * 1024)

/* Appends the WebSocket frame for `m` to `out`. */
static int append_frame(sioc__transport *tr, sioc__buf *out, const sioc__pss *c, sioc__msg *m)
{
    bool rsv1;
    m = on_wire(tr, c, m, &rsv1);
    uint8_t h[11];
    size_t hl = frame_head(c->sess, m, rsv1, h);
    return sioc__buf_append(out, h, hl) < 0 ? -1
                                            : sioc__buf_append(out, sioc__msg_payload(m), m->len);
}

/* Several queued messages in one system call: their frames are built here, one after the other,
 * and written raw. Returns how many went out (0: write them one at a time), or -1. */
static int write_batch(sioc__transport *tr, struct lws *wsi, const sioc__pss *c, bool *ends_write)
{
    sioc_conn *s = c->sess;
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
            append_frame(tr, b, c, queued[k]) < 0) {
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
        sioc__eio_pace(tr, wsi, c);
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
    open_paced(tr, wsi, c);
    c->sess = sioc__engine_open(r->eng, SIOC__WEBSOCKET, wsi, r->handshake, r->protocol,
                                r->cookie_sid[0] ? r->cookie_sid : NULL);
    r->handshake = NULL; /* the session's now, or freed */
    bool b64 = r->b64;
    sioc__allow_free(r);
    if (!c->sess) {
        return -1;
    }
    c->sess->b64 = b64;
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
    int batched = write_batch(tr, wsi, c, &ends_write);
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
    if (write_message(tr, wsi, c, m) < 0) {
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
        sioc__eio_unlist(tr, wsi);
        c->flush_pending = false;
    }
    sioc__eio_unpace(tr, wsi, c);
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
