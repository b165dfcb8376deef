/* This node's own requests across the cluster, as a Node requester makes them (CLUSTER-NOTES,
 * "Flows"), through counted.c: the count of nodes is PUBSUB NUMSUB on the request channel, the
 * request is published there once that count is known, and the answers come on the response
 * channels. socketsJoin/Leave and disconnectSockets are applied here at once, then published;
 * the echo is skipped by uid (a Node requester applies its echo instead: the effect is the
 * same). */
#include <stdlib.h>
#include <string.h>

#include "adapter/counted.h"
#include "adapter/redis_adapter.h"
#include "core/sio.h"

static sioc__redis_query *count(sioc__counted *r, sioc__redis_count_cb cb)
{
    sioc__redis_nsp *a = r->adapter;
    return sioc__redis_numsub(a->cfg->link, a->requests, false, cb, r);
}

/* Broadcasts go as msgpack (their binary inline), the other requests as JSON. */
static int publish(sioc__counted *r)
{
    sioc__redis_nsp *a = r->adapter;
    return sioc__redis_send(a->cfg->link, a->requests, json_incref(r->message),
                            r->kind == SIOC__COUNTED_BROADCAST);
}

static const sioc__counted_ops ops = {count, publish};

/* A request with a fresh id, unique among this namespace's pending ones (answers are matched by
 * it). */
static sioc__counted *request_new(sioc__redis_nsp *a, sioc__counted_kind kind)
{
    char id[7];
    do {
        sioc__redis_uid(id);
    } while (sioc__counted_pending(&a->pending, id));
    return sioc__counted_new(&a->pending, &ops, a, a->base.nsp, a->cfg->link, kind, id);
}

bool sioc__redis_is_own_request(sioc__redis_nsp *a, const char *id)
{
    return sioc__counted_pending(&a->pending, id);
}

void sioc__redis_response(sioc__redis_nsp *a, json_t *res)
{
    sioc__counted *r =
        sioc__counted_find(&a->pending, json_string_value(json_object_get(res, "requestId")));
    if (!r) {
        return; /* another node's, or one that cannot be ours yet */
    }
    int type = (int)json_integer_value(json_object_get(res, "type"));
    json_t *count = json_object_get(res, "clientCount");
    if (r->kind == SIOC__COUNTED_BROADCAST) {
        if (type == SIOC__RES_BROADCAST_CLIENT_COUNT && json_is_integer(count) &&
            json_integer_value(count) >= 0) {
            sioc__counted_client_count(r, (size_t)json_integer_value(count));
        } else if (type == SIOC__RES_BROADCAST_ACK) {
            sioc__counted_ack(r, json_object_get(res, "packet"));
        }
    } else if (r->kind == SIOC__COUNTED_FETCH) {
        sioc__counted_sockets(r, json_object_get(res, "sockets"));
    } else {
        sioc__counted_emitted(r, json_object_get(res, "data"));
    }
}

void sioc__redis_requests_close(sioc__redis_nsp *a)
{
    sioc__counted_close_all(&a->pending);
}

/* ---- the operations ---- */

int sioc__redis_fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                              void *user_data)
{
    sioc__redis_nsp *a = (sioc__redis_nsp *)base;
    if (t && (t->flags & SIOC_EMIT_LOCAL)) {
        return sioc__local_fetch_sockets(base->nsp, t, cb, user_data);
    }
    sioc__counted *r = request_new(a, SIOC__COUNTED_FETCH);
    if (!r || !(r->opts = sioc__wire_opts_of(t)) ||
        !(r->message = json_pack("{s:s,s:s,s:i,s:O}", "uid", a->uid, "requestId", r->id, "type",
                                 SIOC__REQ_REMOTE_FETCH, "opts", r->opts))) {
        if (r) {
            sioc__counted_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    return sioc__counted_fetch(r, cb, user_data, a->cfg->requests_timeout_ms);
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
    sioc__counted *r = request_new(a, SIOC__COUNTED_EMIT);
    if (!r || !(r->message = json_pack("{s:s,s:s,s:i,s:O}", "uid", a->uid, "requestId", r->id,
                                       "type", SIOC__REQ_SERVER_SIDE_EMIT, "data", data))) {
        if (r) {
            sioc__counted_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    return sioc__counted_emit(r, cb, user_data,
                              timeout_ms ? timeout_ms : a->cfg->requests_timeout_ms);
}

int sioc__redis_broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                                   sioc__bcast_ack *b)
{
    sioc__redis_nsp *a = (sioc__redis_nsp *)base;
    sioc__counted *r = NULL;
    if (!(t && (t->flags & SIOC_EMIT_LOCAL)) && sioc__redis_up(a->cfg->link)) {
        r = request_new(a, SIOC__COUNTED_BROADCAST);
    }
    if (r) {
        uint64_t now = sioc__wheel_now(base->nsp->sio->wheel);
        json_t *opts = sioc__wire_opts_of(t);
        if (opts) {
            json_object_set_new(
                opts, "flags",
                json_pack("{s:I}", "timeout", (json_int_t)(sioc__bcast_ack_deadline(b) - now)));
        }
        r->message = json_pack("{s:s,s:s,s:i,s:{s:i,s:O,s:s},s:o}", "uid", a->uid, "requestId",
                               r->id, "type", SIOC__REQ_BROADCAST, "packet", "type", 2, "data",
                               data, "nsp", base->nsp->name, "opts", opts);
        if (!r->message) {
            sioc__counted_free(r);
            return SIOC_ERR_NOMEM;
        }
    }
    return sioc__counted_broadcast(r, base->nsp, data, t, b);
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
