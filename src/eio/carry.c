/* What a session's transports carry: polling requests (held, answered with a payload, lost,
 * swept when their client hung up), the upgrade probe and its completion, and WebSocket writes. */
#include "eio/engine.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eio/session.h"
#include "util/base64.h"
#include "util/log.h"

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
        sioc__flow_wrote_one(s);
    }
    return 0;
}

int sioc__session_poll_take(sioc_conn *s, void *req, sioc__buf *out, bool *binary)
{
    payload_form form = form_for(s);
    *binary = form == FORM_V3_BINARY;
    int rc = encode_queue(s, out, form);
    if (rc == 0 && s->state == SIOC__CLOSING) {
        sioc__session_finish(s, s->close_reason); /* queues the close packet */
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
void sioc__carry_sweep(sioc__timer *t)
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
                      sioc__carry_sweep);
}

static void on_upgrade_timeout(sioc__timer *t);

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

void sioc__carry_drop_probe(sioc_conn *s, bool close_it)
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
        sioc__carry_drop_probe(s, true);
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
    if (s->eng->on_upgrade) {
        s->eng->on_upgrade(s, s->eng->user_data);
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
        sioc__carry_drop_probe(s, true);
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
    sioc__flow_wrote_one(s);
    sioc__session_finish_if_closing(s);
}

void sioc__session_ws_lost(sioc_conn *s, void *ws, bool error)
{
    if (ws == s->probe_ws) {
        sioc__carry_drop_probe(s, false);
        return;
    }
    if (ws != s->ws) {
        return;
    }
    s->ws = NULL;
    sioc__session_close(s, error ? "transport error" : "transport close", false);
    sioc__session_unref(s);
}
