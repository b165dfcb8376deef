/* Acknowledgements the server asks for: from one socket (with an optional timeout), or from every
 * socket a broadcast reaches (collected until all have answered or the timeout). */
#include "core/sio.h"
#include "util/container.h"
#include "util/stats.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>

void sioc__pending_init(sioc_socket *s)
{
    sioc__list_init(&s->pending);
}

static sioc__pending *pending_new(sioc_socket *s, int64_t id)
{
    sioc__pending *p = calloc(1, sizeof(*p));
    if (p) {
        p->socket = s;
        p->id = id;
        sioc__list_append(&s->pending, &p->link);
    }
    return p;
}

static void pending_free(sioc__pending *p)
{
    sioc__list_remove(&p->link);
    sioc__timer_stop(p->socket->nsp->sio->wheel, &p->timer);
    free(p);
}

/* ---- broadcasts ---- */

static void bcast_unref(sioc__bcast_ack *b)
{
    assert(b->refs > 0); /* a broadcast is never released more often than it was taken */
    if (--b->refs == 0) {
        sioc__timer_stop(b->wheel, &b->timer);
        json_decref(b->responses);
        free(b);
    }
}

/* Decides the broadcast once: every answer in, or the time is up. */
static void bcast_finish(sioc__bcast_ack *b, int err)
{
    if (b->done) {
        return;
    }
    b->done = true;
    sioc__list_remove(&b->link);
    sioc__timer_stop(b->wheel, &b->timer);
    b->cb(err, b->responses, b->user_data);
    bcast_unref(b); /* the undecided reference */
}

static void on_bcast_timeout(sioc__timer *t)
{
    sioc__stats_g.ack_timeouts++;
    bcast_finish(CONTAINER(t, sioc__bcast_ack, timer), SIOC_ERR_TIMEOUT);
}

/* Every node has said how many sockets it reached, and all of those have answered. */
static void bcast_check(sioc__bcast_ack *b)
{
    if (b->servers == 0 && json_array_size(b->responses) == b->expected) {
        bcast_finish(b, 0);
    }
}

void sioc__bcast_ack_expect(sioc__bcast_ack *b, size_t servers)
{
    b->servers += servers;
}

void sioc__bcast_ack_count(sioc__bcast_ack *b, size_t clients)
{
    if (b->servers == 0) {
        return; /* a count nobody waits for (a node heard twice): the adapter's input, not ours */
    }
    b->servers--;
    b->expected += clients;
    if (!b->done) {
        bcast_check(b);
    }
}

void sioc__bcast_ack_answer(sioc__bcast_ack *b, json_t *first)
{
    if (!b->done && b->on_answer) {
        b->on_answer(first ? first : json_null(), b->user_data);
    }
    if (!b->done) {
        json_array_append(b->responses, first ? first : json_null());
        bcast_check(b);
    }
}

void sioc__bcast_ack_hold(sioc__bcast_ack *b)
{
    b->refs++;
}

void sioc__bcast_ack_release(sioc__bcast_ack *b)
{
    bcast_unref(b);
}

bool sioc__bcast_ack_decided(const sioc__bcast_ack *b)
{
    return b->done;
}

uint64_t sioc__bcast_ack_deadline(const sioc__bcast_ack *b)
{
    return b->timer.due_ms;
}

int sioc__pending_add_bcast(sioc_socket *s, int64_t id, sioc__bcast_ack *b)
{
    sioc__pending *p = pending_new(s, id);
    if (!p) {
        return -1;
    }
    p->bcast = b;
    b->refs++;
    return 0;
}

/* A broadcast with acks, undecided, timed; two references: the undecided one and the caller's
 * (the adapter may decide it before the caller is done). NULL on no memory. */
static sioc__bcast_ack *bcast_new(sioc_namespace *nsp, unsigned timeout_ms,
                                  sioc_broadcast_ack_cb cb, void *user_data)
{
    sioc__bcast_ack *b = calloc(1, sizeof(*b));
    if (!b || !(b->responses = json_array())) {
        free(b);
        return NULL;
    }
    b->refs = 2;
    b->servers = 1; /* this node */
    b->wheel = nsp->sio->wheel;
    sioc__list_append(&nsp->sio->undecided, &b->link);
    b->cb = cb;
    b->user_data = user_data;
    sioc__timer_start(b->wheel, &b->timer, sioc__wheel_now(b->wheel) + timeout_ms,
                      on_bcast_timeout);
    return b;
}

/* Nothing went out: the broadcast never was (its callback is not called). */
static void bcast_cancel(sioc__bcast_ack *b)
{
    b->done = true;
    sioc__list_remove(&b->link);
    bcast_unref(b);
}

int sioc_namespace_emit_with_ack(sioc_namespace *nsp, const sioc_target *target, const char *event,
                                 json_t *args, unsigned timeout_ms, sioc_broadcast_ack_cb cb,
                                 void *user_data)
{
    if (!nsp || !cb || timeout_ms == 0 || !sioc__valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = sioc__event_data(event, args);
    sioc__bcast_ack *b = data ? bcast_new(nsp, timeout_ms, cb, user_data) : NULL;
    if (!b) {
        json_decref(data);
        return SIOC_ERR_NOMEM;
    }
    int rc = nsp->adapter->ops->broadcast_with_ack(nsp->adapter, data, target, b);
    json_decref(data);
    if (rc < 0) {
        bcast_cancel(b);
    }
    bcast_unref(b);
    return rc;
}

long sioc__forward_with_ack(sioc_namespace *nsp, json_t *data, const sioc_target *t,
                            unsigned timeout_ms, void (*on_answer)(json_t *first, void *arg),
                            sioc_broadcast_ack_cb done, void *arg)
{
    sioc__bcast_ack *b = bcast_new(nsp, timeout_ms, done, arg);
    if (!b) {
        return -1;
    }
    b->on_answer = on_answer;
    long reached = sioc__local_broadcast(nsp, data, t, b);
    if (reached < 0) {
        bcast_cancel(b);
    } else {
        sioc__bcast_ack_count(b, (size_t)reached); /* none reached: decided at once */
    }
    bcast_unref(b);
    return reached;
}

/* ---- one socket ---- */

static void on_single_timeout(sioc__timer *t)
{
    sioc__pending *p = CONTAINER(t, sioc__pending, timer);
    sioc_ack_cb cb = p->cb;
    void *user_data = p->user_data;
    sioc_socket *s = p->socket;
    pending_free(p);
    sioc__stats_g.ack_timeouts++;
    cb(s, SIOC_ERR_TIMEOUT, NULL, user_data);
}

int sioc_socket_emit_with_ack(sioc_socket *s, const char *event, json_t *args, unsigned timeout_ms,
                              sioc_ack_cb cb, void *user_data)
{
    if (!s || !cb || s->remote) { /* Node's RemoteSocket has no emit with an ack */
        return SIOC_ERR_INVALID;
    }
    if (!s->connected) {
        return SIOC_ERR_CLOSED;
    }
    int64_t id = s->nsp->next_ack_id++;
    sioc__sio_encoded e;
    int rc = sioc__encode_event(s->nsp, event, args, id, &e);
    if (rc < 0) {
        return rc;
    }
    sioc__pending *p = pending_new(s, id);
    if (!p) {
        sioc__sio_encoded_clear(&e);
        return SIOC_ERR_NOMEM;
    }
    p->cb = cb;
    p->user_data = user_data;
    rc = sioc__socket_send(s, &e);
    sioc__sio_encoded_clear(&e);
    if (rc < 0) {
        pending_free(p);
        return rc;
    }
    sioc__notify_sent(s, event, args);
    if (timeout_ms) {
        sioc__wheel *w = s->nsp->sio->wheel;
        sioc__timer_start(w, &p->timer, sioc__wheel_now(w) + timeout_ms, on_single_timeout);
    }
    return 0;
}

/* ---- answers ---- */

void sioc__socket_ack_received(sioc_socket *s, int64_t id, json_t *data)
{
    sioc__link *l = s->pending.next;
    while (l != &s->pending && ((sioc__pending *)l)->id != id) {
        l = l->next;
    }
    if (l == &s->pending) {
        return; /* late (timed out) or never asked: Node ignores it */
    }
    sioc__pending *p = (sioc__pending *)l;
    sioc__bcast_ack *b = p->bcast;
    sioc_ack_cb cb = p->cb;
    void *user_data = p->user_data;
    pending_free(p);
    if (!b) {
        json_t *empty = data ? NULL : json_array(); /* "3<id>" with no payload: no arguments */
        sioc__socket_ref(s);
        cb(s, 0, data ? data : empty, user_data);
        sioc__socket_unref(s);
        json_decref(empty);
        return;
    }
    sioc__bcast_ack_answer(b,
                           json_array_get(data, 0)); /* Node keeps each client's first argument */
    bcast_unref(b);
}

void sioc__pending_drop_all(sioc_socket *s)
{
    while (!sioc__list_empty(&s->pending)) {
        sioc__pending *p = (sioc__pending *)s->pending.next;
        sioc__bcast_ack *b = p->bcast;
        sioc_ack_cb cb = p->cb;
        void *user_data = p->user_data;
        pending_free(p);
        if (b) {
            bcast_unref(b); /* its answer will not come: the broadcast times out, as Node's */
        } else {
            cb(s, SIOC_ERR_CLOSED, NULL, user_data);
        }
    }
}

void sioc__bcast_close_all(sioc__core *sio)
{
    while (!sioc__list_empty(&sio->undecided)) {
        bcast_finish((sioc__bcast_ack *)sio->undecided.next, SIOC_ERR_CLOSED);
    }
}
