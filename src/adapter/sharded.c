/* The sharded Redis adapter (sharded.h): what Node's ClusterAdapter does (socket.io-adapter
 * 2.5 lib/cluster-adapter.ts), over SPUBLISH. A request of this node (fetch, server-side emit
 * with acks, broadcast with acks) first counts the nodes (SHARDNUMSUB of the namespace's
 * channel, this node included), then is published and waits for the others' answers on this
 * node's response channel, or its timeout; while Redis is unreachable it fails at once. What
 * acts on sockets (joins, leaves, disconnects) is applied here, then published; this node's own
 * messages, heard back, are skipped by uid. */
#include "adapter/sharded.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_answer.h"
#include "adapter/cluster_msg.h"
#include "adapter/cluster_requests.h"
#include "adapter/counted.h"
#include "adapter/wire.h"
#include "core/sio.h"
#include "util/log.h"

typedef struct snsp {
    sioc__adapter base; /* first */
    sioc__link link;    /* in the config's list */
    sioc__sharded_config *cfg;
    char uid[17];
    char *channel;   /* "<prefix>#<nsp>#" */
    char *responses; /* "<prefix>#<nsp>#<uid>#" */
    sioc__redis_sub *main_sub, *response_sub;
    sioc__link rooms;                /* room_sub: the dynamic modes' room channels */
    sioc__cluster_requests requests; /* this node's */
    bool bad_logged;                 /* a malformed message was said */
} snsp;

typedef struct room_sub {
    sioc__link link; /* first */
    char *room;
    sioc__redis_sub *sub;
} room_sub;

/* "<prefix>#<nsp>#<tail>#" (tail NULL: without it). A new string, or NULL. */
static char *channel_of(const snsp *a, const char *tail)
{
    size_t n = strlen(a->cfg->prefix) + strlen(a->base.nsp->name) + (tail ? strlen(tail) : 0) + 4;
    char *s = malloc(n);
    if (s) {
        snprintf(s, n, "%s#%s#%s%s", a->cfg->prefix, a->base.nsp->name, tail ? tail : "",
                 tail ? "#" : "");
    }
    return s;
}

/* SPUBLISHes {uid, nsp, type, data} (`data` borrowed) on `channel`. 0 or SIOC_ERR_CLOSED. */
static int publish(const snsp *a, const char *channel, sioc__cm_type type, json_t *data)
{
    sioc__buf out = {0};
    int rc = SIOC_ERR_NOMEM;
    if (data && sioc__cm_encode(&out, a->uid, a->base.nsp->name, type, data, NULL) == 0) {
        rc = sioc__redis_spublish(a->cfg->link, channel, out.data, out.len);
    }
    sioc__buf_free(&out);
    return rc;
}

/* Node's looksLikeASocketId. */
static bool looks_like_a_socket_id(const char *room)
{
    return strlen(room) == 20;
}

/* ---- this node's requests (counted.c) ---- */

static sioc__redis_query *count(sioc__counted *r, sioc__redis_count_cb cb)
{
    snsp *a = r->adapter;
    return sioc__redis_numsub(a->cfg->link, a->channel, true, cb, r);
}

static int publish_request(sioc__counted *r)
{
    snsp *a = r->adapter;
    return publish(a, a->channel, sioc__cluster_request_type(r), r->message);
}

static const sioc__counted_ops ops = {count, publish_request};

static int fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                         void *user_data)
{
    return sioc__cluster_fetch(&((snsp *)base)->requests, t, cb, user_data);
}

static int server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                            sioc_broadcast_ack_cb cb, void *user_data)
{
    return sioc__cluster_emit(&((snsp *)base)->requests, data, timeout_ms, cb, user_data);
}

static int broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                              sioc__bcast_ack *b)
{
    return sioc__cluster_broadcast_with_ack(&((snsp *)base)->requests, data, t, b);
}

/* ---- what needs no answer ---- */

/* Node's computeChannel: a broadcast to one room goes to the room's channel in the dynamic
 * modes ("dynamic": unless the room looks like a socket's id). */
static char *broadcast_channel(const snsp *a, const sioc_target *t)
{
    sioc__sharded_mode mode = a->cfg->mode;
    bool one_room = t && t->nrooms == 1;
    if (one_room && (mode == SIOC__SHARDED_DYNAMIC_PRIVATE ||
                     (mode == SIOC__SHARDED_DYNAMIC && !looks_like_a_socket_id(t->rooms[0])))) {
        return channel_of(a, t->rooms[0]);
    }
    return strdup(a->channel);
}

static int broadcast(sioc__adapter *base, json_t *data, const sioc_target *t)
{
    snsp *a = (snsp *)base;
    if (!(t && (t->flags & SIOC_EMIT_LOCAL))) {
        json_t *msg = sioc__wire_cm_broadcast(base->nsp->name, data, t);
        char *channel = broadcast_channel(a, t);
        if (channel) {
            publish(a, channel, SIOC__CM_BROADCAST, msg); /* Redis gone: local delivery only */
        }
        free(channel);
        json_decref(msg);
    }
    return sioc__local_broadcast(base->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
}

/* Joins, leaves and disconnects go to the namespace's channel. */
static void tell(sioc__adapter *base, sioc__cm_type type, json_t *data)
{
    snsp *a = (snsp *)base;
    publish(a, a->channel, type, data);
}

static int add_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                       size_t n)
{
    return sioc__cm_sockets_rooms(base, true, t, rooms, n, tell);
}

static int del_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                       size_t n)
{
    return sioc__cm_sockets_rooms(base, false, t, rooms, n, tell);
}

static int disconnect_sockets(sioc__adapter *base, const sioc_target *t, bool close)
{
    return sioc__cm_disconnect_sockets(base, t, close, tell);
}

/* ---- the other nodes' messages ---- */

/* The way back to the node that sent `m` (NULL: `m` asks for no answer, or no memory). */
static sioc__cm_replier *replier_to(const snsp *a, const sioc__cm *m)
{
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    char *channel = id ? channel_of(a, m->uid) : NULL;
    sioc__cm_replier *r = channel ? sioc__counted_replier(a->cfg->link, a->uid, a->base.nsp->name,
                                                          channel, id, true, false)
                                  : NULL;
    free(channel);
    return r;
}

/* A message on the namespace's channel or a room's, or on this node's response channel. */
static void on_message(void *arg, const char *channel, size_t channel_len, const char *bytes,
                       size_t len)
{
    snsp *a = arg;
    sioc__cm m;
    const char *why;
    if (sioc__cm_decode(bytes, len, &m, &why) < 0) {
        if (!a->bad_logged) { /* said once: a stream of garbage must not flood the log */
            a->bad_logged = true;
            sioc__log(SIOC_LOG_WARN, "redis: %.*s: a message dropped (%s); further ones silently",
                      (int)channel_len, channel, why);
        }
        return;
    }
    if (strcmp(m.uid, a->uid) != 0 && strcmp(m.nsp, a->base.nsp->name) == 0 &&
        !sioc__counted_response(&a->requests.pending, &m)) {
        if (m.type == SIOC__CM_BROADCAST && !json_object_get(m.data, "requestId")) {
            sioc__cm_deliver(a->base.nsp, &m, NULL); /* with acks: answered below */
        } else {
            sioc__cm_answer(a->base.nsp, &m, replier_to(a, &m));
        }
    }
    sioc__cm_clear(&m);
}

/* ---- room channels (the dynamic modes) ---- */

/* Node's shouldUseASeparateNamespace: every room in "dynamic-private"; in "dynamic", a room that
 * is not a socket's own. */
static bool own_channel(const snsp *a, const char *room)
{
    if (a->cfg->mode == SIOC__SHARDED_DYNAMIC_PRIVATE) {
        return true;
    }
    return a->cfg->mode == SIOC__SHARDED_DYNAMIC &&
           !sioc__map_get(&a->base.nsp->sockets, room, strlen(room));
}

static room_sub *room_find(snsp *a, const char *room)
{
    for (sioc__link *l = a->rooms.next; l != &a->rooms; l = l->next) {
        if (strcmp(((room_sub *)l)->room, room) == 0) {
            return (room_sub *)l;
        }
    }
    return NULL;
}

static void room_drop(snsp *a, room_sub *rs)
{
    sioc__list_remove(&rs->link);
    if (rs->sub) {
        sioc__redis_sunsubscribe(a->cfg->link, rs->sub);
    }
    free(rs->room);
    free(rs);
}

static size_t room_size(sioc_namespace *nsp, const char *room)
{
    sioc__room *r = sioc__map_get(&nsp->rooms, room, strlen(room));
    return r ? r->count : 0;
}

static snsp *sharded_of(sioc_socket *s)
{
    sioc__adapter *base = s->nsp->adapter;
    return base && base->ops == &sioc__sharded_adapter ? (snsp *)base : NULL;
}

/* A room that came to exist (its first member): its channel is listened to. */
static void on_room_joined(sioc_socket *s, const char *room, void *user_data)
{
    snsp *a = sharded_of(s);
    if (!a || room_size(s->nsp, room) != 1 || !own_channel(a, room) || room_find(a, room)) {
        return;
    }
    room_sub *rs = calloc(1, sizeof(*rs));
    char *channel = rs ? channel_of(a, room) : NULL;
    if (!channel || !(rs->room = strdup(room))) {
        free(channel);
        free(rs);
        return;
    }
    rs->sub = sioc__redis_subscribe(a->cfg->link, channel, SIOC__REDIS_SHARDED, on_message, a);
    free(channel);
    sioc__list_append(&a->rooms, &rs->link);
}

/* A room about to go (its last member left): its channel is not listened to any more. */
static void on_room_left(sioc_socket *s, const char *room, void *user_data)
{
    snsp *a = sharded_of(s);
    room_sub *rs = a && room_size(s->nsp, room) == 0 ? room_find(a, room) : NULL;
    if (rs) {
        room_drop(a, rs);
    }
}

const sioc_observer sioc__sharded_observer = {
    .room_joined = on_room_joined,
    .room_left = on_room_left,
};

/* ---- the instance ---- */

static sioc__adapter *create(sioc_namespace *nsp, const void *config)
{
    snsp *a = calloc(1, sizeof(*a));
    if (a) {
        a->cfg = (sioc__sharded_config *)config;
        sioc__wire_random_id(a->uid);
        sioc__list_init(&a->link);
        sioc__list_init(&a->rooms);
        sioc__cluster_requests_init(&a->requests, &ops, a, nsp, a->cfg->link,
                                    a->cfg->requests_timeout_ms);
    }
    return a ? &a->base : NULL;
}

static int init(sioc__adapter *base)
{
    snsp *a = (snsp *)base;
    if (!(a->channel = channel_of(a, NULL)) || !(a->responses = channel_of(a, a->uid))) {
        return SIOC_ERR_NOMEM;
    }
    sioc__redis *link = a->cfg->link;
    a->main_sub = sioc__redis_subscribe(link, a->channel, SIOC__REDIS_SHARDED, on_message, a);
    a->response_sub = sioc__redis_subscribe(link, a->responses, SIOC__REDIS_SHARDED, on_message, a);
    if (!a->main_sub || !a->response_sub) {
        return SIOC_ERR_NOMEM;
    }
    sioc__list_append(&a->cfg->adapters, &a->link);
    return 0;
}

/* Node's close(): every channel of the namespace is given up. */
static void close_adapter(sioc__adapter *base)
{
    snsp *a = (snsp *)base;
    sioc__counted_close_all(&a->requests.pending);
    while (!sioc__list_empty(&a->rooms)) {
        room_drop(a, (room_sub *)a->rooms.next);
    }
    if (a->main_sub) {
        sioc__redis_sunsubscribe(a->cfg->link, a->main_sub);
    }
    if (a->response_sub) {
        sioc__redis_sunsubscribe(a->cfg->link, a->response_sub);
    }
    sioc__list_remove(&a->link);
    free(a->channel);
    free(a->responses);
    free(a);
}

const sioc__adapter_ops sioc__sharded_adapter = {
    .name = "sharded",
    .create = create,
    .init = init,
    .close = close_adapter,
    .broadcast = broadcast,
    .broadcast_with_ack = broadcast_with_ack,
    .fetch_sockets = fetch_sockets,
    .add_sockets = add_sockets,
    .del_sockets = del_sockets,
    .disconnect_sockets = disconnect_sockets,
    .server_side_emit = server_side_emit,
    /* Node's sharded adapter keeps no sessions: a client that comes back gets a new socket. */
    .persist_session = sioc__adapter_drop_session,
    .restore_session = sioc__adapter_no_session,
};
