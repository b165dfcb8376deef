/* This node's requests through Redis, counted against the nodes (counted.h). */
#include "adapter/counted.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/wire.h"
#include "core/sio.h"
#include "util/container.h"
#include "util/stats.h"

static sioc__wheel *wheel_of(const sioc__counted *r)
{
    return r->nsp->sio->wheel;
}

sioc__counted *sioc__counted_new(sioc__link *pending, const sioc__counted_ops *ops, void *adapter,
                                 sioc_namespace *nsp, sioc__redis *redis, sioc__counted_kind kind,
                                 const char *id)
{
    sioc__counted *r = calloc(1, sizeof(*r));
    if (!r || !(r->answers = json_array())) {
        free(r);
        return NULL;
    }
    r->ops = ops;
    r->adapter = adapter;
    r->nsp = nsp;
    r->redis = redis;
    r->kind = kind;
    snprintf(r->id, sizeof(r->id), "%s", id);
    sioc__list_append(pending, &r->link);
    return r;
}

void sioc__counted_free(sioc__counted *r)
{
    sioc__list_remove(&r->link);
    sioc__timer_stop(wheel_of(r), &r->timer);
    if (r->count) {
        sioc__redis_query_cancel(r->count);
    }
    if (r->b) {
        sioc__bcast_ack_release(r->b);
    }
    json_decref(r->message);
    json_decref(r->answers);
    json_decref(r->opts);
    free(r);
}

static sioc__counted *lookup(sioc__link *pending, const char *id)
{
    for (sioc__link *l = pending->next; id && l != pending; l = l->next) {
        if (strcmp(((sioc__counted *)l)->id, id) == 0) {
            return (sioc__counted *)l;
        }
    }
    return NULL;
}

bool sioc__counted_pending(sioc__link *pending, const char *id)
{
    return lookup(pending, id) != NULL;
}

sioc__counted *sioc__counted_find(sioc__link *pending, const char *id)
{
    sioc__counted *r = lookup(pending, id);
    return r && !r->count ? r : NULL; /* one still counting cannot have been answered */
}

/* Ends `r` (fetch or server-side emit) once: its caller hears `err`. */
static void finish(sioc__counted *r, int err)
{
    sioc__list_remove(&r->link); /* no answer reaches it from the callback on */
    sioc__list_init(&r->link);
    if (r->kind == SIOC__COUNTED_FETCH) {
        sioc__wire_fetch_done(r->nsp, r->opts, r->answers, err, r->fetch, r->user_data);
    } else if (r->kind == SIOC__COUNTED_EMIT) {
        r->emit_cb(err, r->answers, r->user_data);
    }
    sioc__counted_free(r);
}

void sioc__counted_close_all(sioc__link *pending)
{
    while (!sioc__list_empty(pending)) {
        finish((sioc__counted *)pending->next, SIOC_ERR_CLOSED);
    }
}

static void on_timeout(sioc__timer *t)
{
    sioc__counted *r = CONTAINER(t, sioc__counted, timer);
    /* A broadcast times itself out in the core; its hold on it simply ends. */
    sioc__stats_g.adapter_request_timeouts += r->kind != SIOC__COUNTED_BROADCAST;
    finish(r, r->kind == SIOC__COUNTED_BROADCAST ? 0 : SIOC_ERR_TIMEOUT);
}

static void check(sioc__counted *r)
{
    if (r->kind == SIOC__COUNTED_BROADCAST ? sioc__bcast_ack_decided(r->b)
                                           : r->received >= r->expected) {
        finish(r, 0);
    }
}

/* The node count is in (-1: Redis went): the request goes out, or there is nobody to ask. */
static void on_count(long nodes, void *arg)
{
    sioc__counted *r = arg;
    r->count = NULL;
    size_t others = nodes > 1 ? (size_t)nodes - 1 : 0; /* the count includes this node */
    if (r->kind == SIOC__COUNTED_BROADCAST) {
        if (others && r->ops->publish(r) == 0) {
            sioc__bcast_ack_expect(r->b, others);
        }
        sioc__bcast_ack_count(r->b, 0); /* the stand-in for the cluster (broadcast, below) */
        sioc__timer_start(wheel_of(r), &r->timer, sioc__bcast_ack_deadline(r->b), on_timeout);
        check(r);
        return;
    }
    if (nodes < 0 || (others && r->ops->publish(r) < 0)) {
        finish(r, SIOC_ERR_CLOSED);
        return;
    }
    r->expected = others;
    sioc__timer_start(wheel_of(r), &r->timer, sioc__wheel_now(wheel_of(r)) + r->timeout_ms,
                      on_timeout);
    check(r);
}

/* Asks for the node count. SIOC_ERR_CLOSED (and `r` freed) while Redis is unreachable. */
static int start(sioc__counted *r)
{
    sioc__stats_g.adapter_requests[r->kind]++;
    if (!sioc__redis_up(r->redis) || !(r->count = r->ops->count(r, on_count))) {
        sioc__counted_free(r);
        return SIOC_ERR_CLOSED;
    }
    return 0;
}

int sioc__counted_fetch(sioc__counted *r, sioc_fetch_cb cb, void *user_data, unsigned timeout_ms)
{
    r->fetch = cb;
    r->user_data = user_data;
    r->timeout_ms = timeout_ms;
    if (start(r) < 0) {
        cb(SIOC_ERR_CLOSED, NULL, 0, user_data); /* the cluster cannot be asked: at once */
    }
    return 0;
}

int sioc__counted_emit(sioc__counted *r, sioc_broadcast_ack_cb cb, void *user_data,
                       unsigned timeout_ms)
{
    r->emit_cb = cb;
    r->user_data = user_data;
    r->timeout_ms = timeout_ms;
    return start(r);
}

int sioc__counted_broadcast(sioc__counted *r, sioc_namespace *nsp, json_t *data,
                            const sioc_target *t, sioc__bcast_ack *b)
{
    if (r) {
        /* The cluster's count stands in as one more node until it is known how many there are:
         * this node's count, below, must not decide the broadcast alone. */
        r->b = b;
        sioc__bcast_ack_hold(b);
        sioc__bcast_ack_expect(b, 1);
    }
    int rc = sioc__local_broadcast_with_ack(nsp, data, t, b);
    if (r && rc < 0) {
        sioc__counted_free(r); /* the core cancels the broadcast */
    } else if (r && start(r) < 0) {
        sioc__bcast_ack_count(b, 0); /* Redis is gone: this node's answers only */
    }
    return rc;
}

void sioc__counted_sockets(sioc__counted *r, json_t *sockets)
{
    if (r->kind != SIOC__COUNTED_FETCH) {
        return;
    }
    size_t i;
    json_t *d;
    json_array_foreach (sockets, i, d) {
        json_array_append(r->answers, d);
    }
    r->received++;
    check(r);
}

void sioc__counted_emitted(sioc__counted *r, json_t *answer)
{
    if (r->kind != SIOC__COUNTED_EMIT) {
        return;
    }
    json_array_append(r->answers, answer ? answer : json_null());
    r->received++;
    check(r);
}

void sioc__counted_client_count(sioc__counted *r, size_t clients)
{
    if (r->kind == SIOC__COUNTED_BROADCAST) {
        sioc__bcast_ack_count(r->b, clients);
        check(r);
    }
}

void sioc__counted_ack(sioc__counted *r, json_t *answer)
{
    if (r->kind == SIOC__COUNTED_BROADCAST) {
        sioc__bcast_ack_answer(r->b, answer);
        check(r);
    }
}

bool sioc__counted_response(sioc__link *pending, const sioc__cm *m)
{
    switch (m->type) {
    case SIOC__CM_FETCH_SOCKETS_RESPONSE:
    case SIOC__CM_SERVER_SIDE_EMIT_RESPONSE:
    case SIOC__CM_BROADCAST_CLIENT_COUNT:
    case SIOC__CM_BROADCAST_ACK:
        break;
    default:
        return false;
    }
    sioc__counted *r =
        sioc__counted_find(pending, json_string_value(json_object_get(m->data, "requestId")));
    json_t *packet = json_object_get(m->data, "packet");
    if (!r) {
        return true; /* late, or not one of ours */
    }
    if (m->type == SIOC__CM_FETCH_SOCKETS_RESPONSE) {
        sioc__counted_sockets(r, json_object_get(m->data, "sockets"));
    } else if (m->type == SIOC__CM_SERVER_SIDE_EMIT_RESPONSE) {
        sioc__counted_emitted(r, packet);
    } else if (m->type == SIOC__CM_BROADCAST_CLIENT_COUNT) {
        sioc__counted_client_count(
            r, (size_t)json_integer_value(json_object_get(m->data, "clientCount")));
    } else {
        sioc__counted_ack(r, packet);
    }
    return true;
}

/* ---- answers to another node's request ---- */

typedef struct node_replier {
    sioc__cm_replier base; /* first */
    sioc__redis *link;
    char uid[17];
    char *nsp;
    char *channel;
    bool sharded, msgpack;
} node_replier;

static void node_send(sioc__cm_replier *base, sioc__cm_type type, json_t *data)
{
    node_replier *n = (node_replier *)base;
    sioc__buf out = {0};
    int rc = n->msgpack ? sioc__cm_encode_msgpack(&out, n->uid, n->nsp, type, data)
                        : sioc__cm_encode(&out, n->uid, n->nsp, type, data, NULL);
    if (rc == 0) {
        (n->sharded ? sioc__redis_spublish : sioc__redis_publish)(n->link, n->channel, out.data,
                                                                  out.len);
    }
    sioc__buf_free(&out);
}

static void node_free(sioc__cm_replier *base)
{
    node_replier *n = (node_replier *)base;
    free(n->nsp);
    free(n->channel);
    free(n);
}

sioc__cm_replier *sioc__counted_replier(sioc__redis *link, const char *uid, const char *nsp,
                                        const char *channel, const char *request_id, bool sharded,
                                        bool msgpack)
{
    node_replier *n = calloc(1, sizeof(*n));
    if (n && (!(n->nsp = strdup(nsp)) || !(n->channel = strdup(channel)))) {
        node_free(&n->base);
        n = NULL;
    }
    if (!n) {
        return NULL;
    }
    n->base.send = node_send;
    n->base.free = node_free;
    snprintf(n->base.request_id, sizeof(n->base.request_id), "%s", request_id);
    snprintf(n->uid, sizeof(n->uid), "%s", uid);
    n->link = link;
    n->sharded = sharded;
    n->msgpack = msgpack;
    return &n->base;
}
