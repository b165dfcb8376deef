/* This node's own requests across the cluster, as a Node requester makes them (CLUSTER-NOTES,
 * "Flows"): the count of nodes is PUBSUB NUMSUB on the request channel (this node included), the
 * request is published once that count is known, and the answers, on the response channels, are
 * counted against it until all are in or the time is up.
 *
 * - fetchSockets: the local sockets plus every other node's descriptions; NUMSUB <= 1 is local
 *   only; requestsTimeout ends it with SIOC_ERR_TIMEOUT.
 * - serverSideEmit with acks: NUMSUB - 1 answers; none expected is [] at once.
 * - broadcasts with acks: this node's count and answers, then each other node's count and
 *   answers, into the core's sioc__bcast_ack, which times itself out.
 * - socketsJoin/Leave, disconnectSockets: applied here at once, then published; the echo is
 *   skipped by uid (a Node requester applies its echo instead: the effect is the same).
 *
 * While Redis is unreachable a request fails at once with SIOC_ERR_CLOSED rather than waiting
 * for its timeout; what acts on sockets is applied here all the same. */
#include <stdlib.h>
#include <string.h>

#include "adapter/redis_adapter.h"
#include "core/sio.h"
#include "util/container.h"

typedef struct request {
    sioc__link link; /* first: in the adapter's pending list */
    sioc__redis_nsp *a;
    char id[7];
    int type;                 /* SIOC__REQ_REMOTE_FETCH, _SERVER_SIDE_EMIT or _BROADCAST */
    json_t *message;          /* the request, published once the node count is known */
    sioc__redis_query *count; /* the NUMSUB in flight, or NULL */
    size_t expected;          /* answers to wait for (fetch, server-side emit) */
    size_t received;
    unsigned timeout_ms;
    sioc__timer timer;
    json_t *answers;     /* the fetched descriptions, or the server-side answers */
    json_t *opts;        /* a fetch's {rooms, except}: the local part is taken at the end */
    sioc__bcast_ack *b;  /* a broadcast's, held while this waits */
    sioc_fetch_cb fetch; /* the caller's, by type */
    sioc_broadcast_ack_cb emit_cb;
    void *user_data;
} request;

static sioc__wheel *wheel_of(const request *r)
{
    return r->a->base.nsp->sio->wheel;
}

static request *request_new(sioc__redis_nsp *a, int type)
{
    request *r = calloc(1, sizeof(*r));
    if (!r || !(r->answers = json_array())) {
        free(r);
        return NULL;
    }
    r->a = a;
    r->type = type;
    do { /* unique among this namespace's pending requests: answers are matched by it */
        sioc__redis_uid(r->id);
    } while (sioc__redis_is_own_request(a, r->id));
    sioc__list_append(&a->pending, &r->link);
    return r;
}

static void request_free(request *r)
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

/* Ends `r` (fetch or server-side emit) once: its caller hears `err`. */
static void finish(request *r, int err)
{
    sioc__list_remove(&r->link); /* no answer reaches it from the callback on */
    sioc__list_init(&r->link);
    if (r->type == SIOC__REQ_REMOTE_FETCH) {
        sioc__wire_fetch_done(r->a->base.nsp, r->opts, r->answers, err, r->fetch, r->user_data);
    } else if (r->type == SIOC__REQ_SERVER_SIDE_EMIT) {
        r->emit_cb(err, r->answers, r->user_data);
    }
    request_free(r);
}

static void on_timeout(sioc__timer *t)
{
    request *r = CONTAINER(t, request, timer);
    /* A broadcast times itself out in the core; its hold on it simply ends. */
    finish(r, r->type == SIOC__REQ_BROADCAST ? 0 : SIOC_ERR_TIMEOUT);
}

static void check(request *r)
{
    if (r->type == SIOC__REQ_BROADCAST ? sioc__bcast_ack_decided(r->b)
                                       : r->received >= r->expected) {
        finish(r, 0);
    }
}

/* A broadcast's node count is in (-1: Redis went): the other nodes are asked, and expected. */
static void broadcast_counted(request *r, long nodes)
{
    size_t others = nodes > 1 ? (size_t)nodes - 1 : 0; /* NUMSUB counts this node too */
    if (others &&
        sioc__redis_send(r->a->cfg->link, r->a->requests, json_incref(r->message), true) == 0) {
        sioc__bcast_ack_expect(r->b, others);
    }
    sioc__bcast_ack_count(r->b, 0); /* the stand-in for the cluster (see broadcast_with_ack) */
    sioc__timer_start(wheel_of(r), &r->timer, sioc__bcast_ack_deadline(r->b), on_timeout);
    check(r);
}

/* The node count is in: the request goes out, or there is nobody to ask. */
static void on_count(long nodes, void *arg)
{
    request *r = arg;
    r->count = NULL;
    if (r->type == SIOC__REQ_BROADCAST) {
        broadcast_counted(r, nodes);
        return;
    }
    if (nodes < 0) {
        finish(r, SIOC_ERR_CLOSED);
        return;
    }
    r->expected = nodes > 1 ? (size_t)nodes - 1 : 0;
    if (r->expected &&
        sioc__redis_send(r->a->cfg->link, r->a->requests, json_incref(r->message), false) < 0) {
        finish(r, SIOC_ERR_CLOSED);
        return;
    }
    uint64_t now = sioc__wheel_now(wheel_of(r));
    sioc__timer_start(wheel_of(r), &r->timer, now + r->timeout_ms, on_timeout);
    check(r);
}

/* Asks for the node count. SIOC_ERR_CLOSED (and `r` freed) while Redis is unreachable. */
static int start(request *r)
{
    if (!sioc__redis_up(r->a->cfg->link) ||
        !(r->count = sioc__redis_numsub(r->a->cfg->link, r->a->requests, false, on_count, r))) {
        request_free(r);
        return SIOC_ERR_CLOSED;
    }
    return 0;
}

bool sioc__redis_is_own_request(sioc__redis_nsp *a, const char *id)
{
    for (sioc__link *l = a->pending.next; l != &a->pending; l = l->next) {
        if (strcmp(((request *)l)->id, id) == 0) {
            return true;
        }
    }
    return false;
}

static void broadcast_response(request *r, json_t *res)
{
    int type = (int)json_integer_value(json_object_get(res, "type"));
    json_t *count = json_object_get(res, "clientCount");
    if (type == SIOC__RES_BROADCAST_CLIENT_COUNT && json_is_integer(count) &&
        json_integer_value(count) >= 0) {
        sioc__bcast_ack_count(r->b, (size_t)json_integer_value(count));
    } else if (type == SIOC__RES_BROADCAST_ACK) {
        sioc__bcast_ack_answer(r->b, json_object_get(res, "packet"));
    }
}

void sioc__redis_response(sioc__redis_nsp *a, json_t *res)
{
    const char *id = json_string_value(json_object_get(res, "requestId"));
    request *r = NULL;
    for (sioc__link *l = a->pending.next; id && l != &a->pending; l = l->next) {
        if (strcmp(((request *)l)->id, id) == 0) {
            r = (request *)l;
            break;
        }
    }
    if (!r || r->count) {
        return; /* another node's, or one that cannot be ours yet */
    }
    if (r->type == SIOC__REQ_BROADCAST) {
        broadcast_response(r, res);
    } else if (r->type == SIOC__REQ_REMOTE_FETCH) {
        size_t i;
        json_t *d;
        json_array_foreach (json_object_get(res, "sockets"), i, d) {
            json_array_append(r->answers, d);
        }
        r->received++;
    } else {
        json_t *data = json_object_get(res, "data");
        json_array_append(r->answers, data ? data : json_null());
        r->received++;
    }
    check(r);
}

void sioc__redis_requests_close(sioc__redis_nsp *a)
{
    while (!sioc__list_empty(&a->pending)) {
        finish((request *)a->pending.next, SIOC_ERR_CLOSED);
    }
}

/* ---- the operations ---- */

int sioc__redis_fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                              void *user_data)
{
    sioc__redis_nsp *a = (sioc__redis_nsp *)base;
    if (t && (t->flags & SIOC_EMIT_LOCAL)) {
        return sioc__local_fetch_sockets(base->nsp, t, cb, user_data);
    }
    request *r = request_new(a, SIOC__REQ_REMOTE_FETCH);
    if (!r || !(r->opts = sioc__wire_opts_of(t)) ||
        !(r->message = json_pack("{s:s,s:s,s:i,s:O}", "uid", a->uid, "requestId", r->id, "type",
                                 SIOC__REQ_REMOTE_FETCH, "opts", r->opts))) {
        if (r) {
            request_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    r->fetch = cb;
    r->user_data = user_data;
    r->timeout_ms = a->cfg->requests_timeout_ms;
    if (start(r) < 0) {
        cb(SIOC_ERR_CLOSED, NULL, 0, user_data); /* the cluster cannot be asked: at once */
    }
    return 0;
}

int sioc__redis_server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                                 sioc_broadcast_ack_cb cb, void *user_data)
{
    sioc__redis_nsp *a = (sioc__redis_nsp *)base;
    if (!cb) {
        return sioc__redis_send(a->cfg->link, a->requests,
                                json_pack("{s:s,s:i,s:O}", "uid", a->uid, "type",
                                          SIOC__REQ_SERVER_SIDE_EMIT, "data", data),
                                false);
    }
    request *r = request_new(a, SIOC__REQ_SERVER_SIDE_EMIT);
    if (!r || !(r->message = json_pack("{s:s,s:s,s:i,s:O}", "uid", a->uid, "requestId", r->id,
                                       "type", SIOC__REQ_SERVER_SIDE_EMIT, "data", data))) {
        if (r) {
            request_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    r->emit_cb = cb;
    r->user_data = user_data;
    r->timeout_ms = timeout_ms ? timeout_ms : a->cfg->requests_timeout_ms;
    return start(r);
}

int sioc__redis_broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                                   sioc__bcast_ack *b)
{
    sioc__redis_nsp *a = (sioc__redis_nsp *)base;
    request *r = NULL;
    if (!(t && (t->flags & SIOC_EMIT_LOCAL)) && sioc__redis_up(a->cfg->link)) {
        r = request_new(a, SIOC__REQ_BROADCAST);
    }
    if (r) {
        uint64_t now = sioc__wheel_now(wheel_of(r));
        uint64_t due = sioc__bcast_ack_deadline(b);
        json_t *opts = sioc__wire_opts_of(t);
        if (opts) {
            json_object_set_new(opts, "flags",
                                json_pack("{s:I}", "timeout", (json_int_t)(due - now)));
        }
        r->message = json_pack("{s:s,s:s,s:i,s:{s:i,s:O,s:s},s:o}", "uid", a->uid, "requestId",
                               r->id, "type", SIOC__REQ_BROADCAST, "packet", "type", 2, "data",
                               data, "nsp", base->nsp->name, "opts", opts);
        if (!r->message) {
            request_free(r);
            return SIOC_ERR_NOMEM;
        }
        /* The cluster's count stands in as one more node until NUMSUB has told how many there
         * are: this node's count, below, must not decide the broadcast alone. */
        r->b = b;
        sioc__bcast_ack_hold(b);
        sioc__bcast_ack_expect(b, 1);
    }
    int rc = sioc__local_broadcast_with_ack(base->nsp, data, t, b);
    if (r && rc < 0) {
        request_free(r); /* the core cancels the broadcast */
    } else if (r && start(r) < 0) {
        sioc__bcast_ack_count(b, 0); /* Redis is gone: this node's answers only */
    }
    return rc;
}

/* ---- socketsJoin, socketsLeave, disconnectSockets ---- */

/* Publishes a join (2), leave (3) or disconnect (4) for `t` after applying it here. */
static int publish_request(sioc__redis_nsp *a, int type, const sioc_target *t, json_t *extra)
{
    json_t *req =
        json_pack("{s:s,s:i,s:o}", "uid", a->uid, "type", type, "opts", sioc__wire_opts_of(t));
    if (!req || json_object_update(req, extra) < 0) {
        json_decref(req);
        json_decref(extra);
        return SIOC_ERR_NOMEM;
    }
    json_decref(extra);
    return sioc__redis_send(a->cfg->link, a->requests, req, false);
}

static json_t *room_list(const char *const *rooms, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_array_append_new(list, json_string(rooms[i]));
    }
    return json_pack("{s:o}", "rooms", list);
}

int sioc__redis_add_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                            size_t n)
{
    int rc = sioc__local_add_sockets(base->nsp, t, rooms, n);
    if (rc < 0 || (t && (t->flags & SIOC_EMIT_LOCAL))) {
        return rc;
    }
    return publish_request((sioc__redis_nsp *)base, SIOC__REQ_REMOTE_JOIN, t, room_list(rooms, n));
}

int sioc__redis_del_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                            size_t n)
{
    int rc = sioc__local_del_sockets(base->nsp, t, rooms, n);
    if (rc < 0 || (t && (t->flags & SIOC_EMIT_LOCAL))) {
        return rc;
    }
    return publish_request((sioc__redis_nsp *)base, SIOC__REQ_REMOTE_LEAVE, t, room_list(rooms, n));
}

int sioc__redis_disconnect_sockets(sioc__adapter *base, const sioc_target *t, bool close)
{
    /* Published first: the target's rooms may go with the sockets disconnected here. */
    int rc = t && (t->flags & SIOC_EMIT_LOCAL)
                 ? 0
                 : publish_request((sioc__redis_nsp *)base, SIOC__REQ_REMOTE_DISCONNECT, t,
                                   json_pack("{s:b}", "close", close));
    int local = sioc__local_disconnect_sockets(base->nsp, t, close);
    return local < 0 ? local : rc;
}
