/* The Redis adapter for one namespace (@socket.io/redis-adapter 8.3.0's classic adapter, as
 * CLUSTER-NOTES describes its wire): broadcasts go to the local sockets and, unless local, are
 * published once, msgpack [uid, {type:2, data, nsp}, {rooms, except, flags}], on
 * "<prefix>#<nsp>#" or, for exactly one room, "<prefix>#<nsp>#<room>#"; broadcasts from other
 * nodes (and from @socket.io/redis-emitter) arrive on the pattern "<prefix>#<nsp>#*" and are
 * delivered to the local sockets they select.
 *
 * Other nodes' requests arrive on "<prefix>-request#<nsp>#" (one subscription per node: Node
 * requesters count the answers they wait for with PUBSUB NUMSUB on it) and every type is answered
 * on "<prefix>-response#<nsp>#", empty answers included: sockets and rooms, fetches with socket
 * descriptions, joins, leaves and disconnects (applied to our own sockets too, as a Node
 * requester counts on its echo), server-side events with acks, broadcasts with acks (the client
 * count first, even 0, then each answer). This node's own requests (its fetchSockets,
 * serverSideEmit, ...) stay local so far. */
#include "adapter/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sio.h"
#include "sio/msgpack.h"
#include "util/base64.h"
#include "util/log.h"

typedef struct redis_adapter {
    sioc__adapter base; /* first */
    const sioc__redis_config *cfg;
    char uid[7];     /* this node's, for this namespace: its own messages come back */
    char *channel;   /* "<prefix>#<nsp>#" */
    char *requests;  /* "<prefix>-request#<nsp>#" */
    char *responses; /* "<prefix>-response#<nsp>#", where every node version listens */
    sioc__redis_sub *sub, *request_sub;
    bool bad_logged; /* a malformed message was said */
} redis_adapter;

static redis_adapter *redis(sioc__adapter *a)
{
    return (redis_adapter *)a;
}

/* Node's uid2(6): six characters of [A-Za-z0-9]. */
static void make_uid(char uid[7])
{
    char id[21];
    if (sioc__random_id(id) < 0) {
        memcpy(id, "sioc00sioc00sioc00si", 21);
    }
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 6; i++) {
        uid[i] = alnum[(unsigned char)id[i] % 62];
    }
    uid[6] = '\0';
}

static sioc__adapter *redis_create(sioc_namespace *nsp, const void *config)
{
    const sioc__redis_config *cfg = config;
    redis_adapter *a = calloc(1, sizeof(*a));
    size_t n = strlen(cfg->prefix) + strlen(nsp->name) + 3;
    if (!a || !(a->channel = malloc(n))) {
        free(a);
        return NULL;
    }
    snprintf(a->channel, n, "%s#%s#", cfg->prefix, nsp->name);
    n += strlen("-response");
    if (!(a->requests = malloc(n)) || !(a->responses = malloc(n))) {
        free(a->requests);
        free(a->channel);
        free(a);
        return NULL;
    }
    snprintf(a->requests, n, "%s-request#%s#", cfg->prefix, nsp->name);
    snprintf(a->responses, n, "%s-response#%s#", cfg->prefix, nsp->name);
    a->cfg = cfg;
    make_uid(a->uid);
    return &a->base;
}

/* ---- receiving ---- */

static void bad_message(redis_adapter *a, const char *why)
{
    if (!a->bad_logged) {
        a->bad_logged = true;
        sioc__log(SIOC_LOG_WARN, "redis: %s: a broadcast dropped (%s); further ones silently",
                  a->channel, why);
    }
}

/* A room or except list, as strings (Node's rooms may be numbers: io.to(123)). NULL entries
 * are left where the value is neither. */
static const char **names(json_t *list, json_t *keep, size_t *n)
{
    *n = 0;
    size_t count = json_array_size(list);
    const char **out = count ? calloc(count, sizeof(*out)) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        if (!out) {
            break;
        }
        if (json_is_string(v)) {
            out[(*n)++] = json_string_value(v);
        } else if (json_is_integer(v)) {
            char text[24];
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            json_t *s = json_string(text);
            if (s && json_array_append_new(keep, s) == 0) {
                out[(*n)++] = json_string_value(s);
            }
        }
    }
    return out;
}

/* [uid, {type, data, nsp}, {rooms, except, flags}] from another node: to the local sockets. */
static void deliver(redis_adapter *a, json_t *msg)
{
    sioc_namespace *nsp = a->base.nsp;
    json_t *packet = json_array_get(msg, 1), *opts = json_array_get(msg, 2);
    const char *uid = json_string_value(json_array_get(msg, 0));
    const char *pnsp = json_string_value(json_object_get(packet, "nsp"));
    json_t *data = json_object_get(packet, "data");
    if (uid && strcmp(uid, a->uid) == 0) {
        return; /* our own, back from Redis */
    }
    if (strcmp(pnsp ? pnsp : "/", nsp->name) != 0) {
        return; /* Node drops another namespace's packet on this channel */
    }
    if (!json_is_array(data) || !json_is_string(json_array_get(data, 0))) {
        bad_message(a, "no event");
        return;
    }
    json_t *keep = json_array(); /* the strings made of numeric rooms */
    size_t nrooms, nexcept;
    const char **rooms = names(json_object_get(opts, "rooms"), keep, &nrooms);
    const char **except = names(json_object_get(opts, "except"), keep, &nexcept);
    json_t *flags = json_object_get(opts, "flags");
    sioc_target t = {
        rooms,   nrooms, except,
        nexcept, NULL,   json_is_true(json_object_get(flags, "volatile")) ? SIOC_EMIT_VOLATILE : 0};
    sioc__local_broadcast(nsp, data, &t, NULL);
    free(rooms);
    free(except);
    json_decref(keep);
}

static void on_message(void *arg, const char *channel, size_t channel_len, const char *message,
                       size_t len)
{
    redis_adapter *a = arg;
    size_t base = strlen(a->channel);
    if (channel_len < base || memcmp(channel, a->channel, base) != 0) {
        return; /* another namespace's, that the pattern also matched */
    }
    /* A room channel for a room nobody here is in: dropped before decoding, as Node does. */
    if (channel_len > base) {
        if (channel[channel_len - 1] != '#') {
            return;
        }
        size_t rlen = channel_len - base - 1;
        if (!sioc__map_get(&a->base.nsp->rooms, channel + base, rlen)) {
            return;
        }
    }
    json_t *msg = NULL;
    if (sioc__msgpack_decode(message, len, &msg) < 0 || !json_is_array(msg)) {
        bad_message(a, "not msgpack [uid, packet, opts]");
    } else {
        deliver(a, msg);
    }
    json_decref(msg);
}

/* ---- answering other nodes' requests (the responder's side of every request type) ---- */

enum {
    REQ_SOCKETS = 0,
    REQ_ALL_ROOMS = 1,
    REQ_REMOTE_JOIN = 2,
    REQ_REMOTE_LEAVE = 3,
    REQ_REMOTE_DISCONNECT = 4,
    REQ_REMOTE_FETCH = 5,
    REQ_SERVER_SIDE_EMIT = 6,
    REQ_BROADCAST = 7,
    RES_BROADCAST_CLIENT_COUNT = 8,
    RES_BROADCAST_ACK = 9,
};

/* Publishes `response` (stolen) on the generic response channel: JSON, or msgpack. */
static void respond(sioc__redis *link, const char *channel, json_t *response, bool msgpack)
{
    if (!response) {
        return;
    }
    sioc__buf out = {0};
    char *text = NULL;
    if (msgpack ? sioc__msgpack_encode(&out, response) == 0
                : (text = json_dumps(response, JSON_COMPACT)) != NULL) {
        sioc__redis_publish(link, channel, msgpack ? out.data : text,
                            msgpack ? out.len : strlen(text));
    }
    free(text);
    sioc__buf_free(&out);
    json_decref(response);
}

/* A request's {rooms, except} as a target. The names live in `keep` and the arrays (free()). */
typedef struct request_target {
    sioc_target t;
    json_t *keep;
} request_target;

static void target_of(json_t *opts, request_target *rt)
{
    rt->keep = json_array();
    size_t nrooms, nexcept;
    const char **rooms = names(json_object_get(opts, "rooms"), rt->keep, &nrooms);
    const char **except = names(json_object_get(opts, "except"), rt->keep, &nexcept);
    rt->t = (sioc_target){rooms, nrooms, except, nexcept, NULL, 0};
}

static void target_free(request_target *rt)
{
    free((void *)rt->t.rooms);
    free((void *)rt->t.except_rooms);
    json_decref(rt->keep);
}

static json_t *ids_of(sioc_namespace *nsp, const sioc_target *t, bool described)
{
    sioc_socket **list;
    size_t n;
    json_t *out = json_array();
    if (!out || sioc__select_list(nsp, t, &list, &n) < 0) {
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        sioc_socket *s = list[i];
        json_t *item = json_string(sioc_socket_id(s));
        if (described) { /* Node's RemoteSocket: {id, handshake, rooms, data} */
            const char *rooms[64];
            size_t nr = sioc_socket_rooms(s, rooms, 64);
            json_t *names = json_array();
            for (size_t k = 0; k < nr && k < 64; k++) {
                json_array_append_new(names, json_string(rooms[k]));
            }
            json_decref(item);
            item = json_pack("{s:s,s:O,s:o,s:O}", "id", sioc_socket_id(s), "handshake",
                             sioc_socket_handshake(s), "rooms", names, "data",
                             sioc_socket_data_json(s));
        }
        json_array_append_new(out, item);
        sioc__socket_unref(s);
    }
    free(list);
    return out;
}

static json_t *all_rooms(sioc_namespace *nsp)
{
    json_t *out = json_array();
    for (size_t b = 0; out && b < nsp->rooms.nbuckets; b++) {
        for (sioc__map_entry *e = nsp->rooms.buckets[b]; e; e = e->next) {
            json_array_append_new(out, json_string(((sioc__room *)e->value)->name));
        }
    }
    return out;
}

/* Where a server-side event's or a broadcast's answers go: the requester's id, on our link. */
typedef struct answer_to {
    sioc__redis *link;
    char *channel;
    char *request_id;
} answer_to;

static answer_to *answer_to_new(redis_adapter *a, const char *request_id)
{
    answer_to *to = calloc(1, sizeof(*to));
    if (to && (!(to->channel = strdup(a->responses)) || !(to->request_id = strdup(request_id)))) {
        free(to->channel);
        free(to);
        return NULL;
    }
    if (to) {
        to->link = a->cfg->link;
    }
    return to;
}

static void answer_to_free(void *arg)
{
    answer_to *to = arg;
    free(to->channel);
    free(to->request_id);
    free(to);
}

static void server_event_answer(void *arg, json_t *first)
{
    answer_to *to = arg;
    respond(to->link, to->channel,
            json_pack("{s:i,s:s,s:O}", "type", REQ_SERVER_SIDE_EMIT, "requestId", to->request_id,
                      "data", first),
            false);
}

static void broadcast_answer(json_t *first, void *arg)
{
    answer_to *to = arg;
    respond(to->link, to->channel,
            json_pack("{s:i,s:s,s:O}", "type", RES_BROADCAST_ACK, "requestId", to->request_id,
                      "packet", first),
            true);
}

static void broadcast_done(int err, json_t *responses, void *arg)
{
    answer_to_free(arg);
}

/* Node's receivers ignore the requester's timeout and wait as long as the sockets live; a bound
 * keeps one that never answers from holding the wait forever. */
#define FORWARD_TIMEOUT_MS 60000

static void forward_broadcast(redis_adapter *a, json_t *req, const char *id, request_target *rt)
{
    json_t *data = json_object_get(json_object_get(req, "packet"), "data");
    answer_to *to = json_is_array(data) ? answer_to_new(a, id) : NULL;
    if (!to) {
        return;
    }
    char *request_id = strdup(id); /* `to` may be gone once the broadcast returns */
    long reached = sioc__forward_with_ack(a->base.nsp, data, &rt->t, FORWARD_TIMEOUT_MS,
                                          broadcast_answer, broadcast_done, to);
    if (reached < 0) {
        answer_to_free(to);
        reached = 0;
    }
    /* The count, even 0: a node that never sends it makes the requester wait out its timeout. */
    respond(a->cfg->link, a->responses,
            json_pack("{s:i,s:s,s:i}", "type", RES_BROADCAST_CLIENT_COUNT, "requestId",
                      request_id ? request_id : id, "clientCount", (int)reached),
            false);
    free(request_id);
}

static void server_event(redis_adapter *a, json_t *req, const char *id)
{
    const char *uid = json_string_value(json_object_get(req, "uid"));
    json_t *data = json_object_get(req, "data");
    if ((uid && strcmp(uid, a->uid) == 0) || !json_is_array(data)) {
        return; /* our own */
    }
    sioc_server_ack *ack = NULL;
    answer_to *to = id ? answer_to_new(a, id) : NULL;
    if (to && !(ack = sioc__server_ack_new(a->base.nsp, server_event_answer, answer_to_free, to))) {
        answer_to_free(to);
    }
    sioc__namespace_server_event(a->base.nsp, data, ack);
}

/* The socket a legacy (pre-8.0) join, leave or disconnect names; its ack goes in any case. */
static void legacy_request(redis_adapter *a, json_t *req, int type, const char *id)
{
    const char *sid = json_string_value(json_object_get(req, "sid"));
    sioc_socket *s = sid ? sioc__map_get(&a->base.nsp->sockets, sid, strlen(sid)) : NULL;
    if (!s) {
        return; /* only the node owning the socket answers */
    }
    const char *room = json_string_value(json_object_get(req, "room"));
    if (type == REQ_REMOTE_DISCONNECT) {
        sioc_socket_disconnect(s, json_is_true(json_object_get(req, "close")));
    } else if (room) {
        type == REQ_REMOTE_JOIN ? sioc_socket_join(s, room) : sioc_socket_leave(s, room);
    }
    if (id) {
        respond(a->cfg->link, a->responses, json_pack("{s:s}", "requestId", id), false);
    }
}

static void room_request(redis_adapter *a, json_t *req, int type, request_target *rt)
{
    json_t *list = json_object_get(req, "rooms");
    json_t *keep = json_array();
    size_t n;
    const char **rooms = names(list, keep, &n);
    if (type == REQ_REMOTE_JOIN) {
        sioc__local_add_sockets(a->base.nsp, &rt->t, rooms, n);
    } else {
        sioc__local_del_sockets(a->base.nsp, &rt->t, rooms, n);
    }
    free(rooms);
    json_decref(keep);
}

static void answer(redis_adapter *a, json_t *req)
{
    sioc_namespace *nsp = a->base.nsp;
    int type = (int)json_integer_value(json_object_get(req, "type"));
    const char *id = json_string_value(json_object_get(req, "requestId"));
    json_t *opts = json_object_get(req, "opts");
    request_target rt;
    target_of(opts, &rt);
    switch (type) {
    case REQ_SOCKETS: /* legacy allSockets: the rooms are the request's own */
        target_free(&rt);
        target_of(req, &rt);
        respond(a->cfg->link, a->responses,
                json_pack("{s:s?,s:o}", "requestId", id, "sockets", ids_of(nsp, &rt.t, false)),
                false);
        break;
    case REQ_ALL_ROOMS:
        respond(a->cfg->link, a->responses,
                json_pack("{s:s?,s:o}", "requestId", id, "rooms", all_rooms(nsp)), false);
        break;
    case REQ_REMOTE_JOIN:
    case REQ_REMOTE_LEAVE:
    case REQ_REMOTE_DISCONNECT:
        /* Applied to our own sockets too: a Node requester counts on its own echo. */
        if (!json_is_object(opts)) {
            legacy_request(a, req, type, id);
        } else if (type == REQ_REMOTE_DISCONNECT) {
            sioc__local_disconnect_sockets(nsp, &rt.t, json_is_true(json_object_get(req, "close")));
        } else {
            room_request(a, req, type, &rt);
        }
        break;
    case REQ_REMOTE_FETCH:
        respond(a->cfg->link, a->responses,
                json_pack("{s:s?,s:o}", "requestId", id, "sockets", ids_of(nsp, &rt.t, true)),
                false);
        break;
    case REQ_SERVER_SIDE_EMIT:
        server_event(a, req, id);
        break;
    case REQ_BROADCAST:
        if (id) {
            forward_broadcast(a, req, id, &rt);
        }
        break;
    default:
        break; /* responses to others' requests, and types to come */
    }
    target_free(&rt);
}

/* Requests are JSON, but for broadcasts with acks (msgpack): the first byte tells, as Node reads
 * them. */
static void on_request(void *arg, const char *channel, size_t channel_len, const char *message,
                       size_t len)
{
    redis_adapter *a = arg;
    json_t *req = NULL;
    if (len && message[0] == '{') {
        req = json_loadb(message, len, 0, NULL);
    } else if (sioc__msgpack_decode(message, len, &req) < 0) {
        req = NULL;
    }
    if (!json_is_object(req)) {
        bad_message(a, "a request that is neither JSON nor msgpack");
    } else {
        answer(a, req);
    }
    json_decref(req);
}

static int redis_init(sioc__adapter *base)
{
    redis_adapter *a = redis(base);
    size_t n = strlen(a->channel) + 2;
    char *pattern = malloc(n);
    if (!pattern) {
        return SIOC_ERR_NOMEM;
    }
    snprintf(pattern, n, "%s*", a->channel); /* the namespace is not glob-escaped, as Node's */
    a->sub = sioc__redis_subscribe(a->cfg->link, pattern, true, on_message, a);
    free(pattern);
    /* Subscribed once per node: PUBSUB NUMSUB on it is how Node requesters count the answers
     * they wait for, and this node answers every request type. */
    a->request_sub =
        a->sub ? sioc__redis_subscribe(a->cfg->link, a->requests, false, on_request, a) : NULL;
    return a->request_sub ? 0 : SIOC_ERR_NOMEM;
}

static void redis_close(sioc__adapter *base)
{
    redis_adapter *a = redis(base);
    if (a->sub) {
        sioc__redis_unsubscribe(a->cfg->link, a->sub);
    }
    if (a->request_sub) {
        sioc__redis_unsubscribe(a->cfg->link, a->request_sub);
    }
    free(a->requests);
    free(a->responses);
    free(a->channel);
    free(a);
}

/* ---- sending ---- */

static json_t *strings(const char *const *list, size_t n, const sioc_socket *also)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_array_append_new(a, json_string(list[i]));
    }
    if (a && also) {
        json_array_append_new(a, json_string(sioc_socket_id(also)));
    }
    return a;
}

/* msgpack [uid, {type:2, data, nsp}, {rooms, except, flags}], Node's key order. */
static int publish(redis_adapter *a, json_t *data, const sioc_target *t)
{
    const char *const *rooms = t ? t->rooms : NULL;
    size_t nrooms = t ? t->nrooms : 0;
    json_t *flags =
        t && (t->flags & SIOC_EMIT_VOLATILE) ? json_pack("{s:b}", "volatile", 1) : json_object();
    json_t *msg = json_pack(
        "[s,{s:i,s:O,s:s},{s:o,s:o,s:o}]", a->uid, "type", 2, "data", data, "nsp",
        a->base.nsp->name, "rooms", strings(rooms, nrooms, NULL), "except",
        strings(t ? t->except_rooms : NULL, t ? t->nexcept_rooms : 0, t ? t->except_socket : NULL),
        "flags", flags);
    sioc__buf out = {0};
    int rc = msg && sioc__msgpack_encode(&out, msg) == 0 ? 0 : SIOC_ERR_NOMEM;
    json_decref(msg);
    if (rc == 0) {
        size_t n = strlen(a->channel) + (nrooms == 1 ? strlen(rooms[0]) + 1 : 0) + 1;
        char *channel = malloc(n);
        if (!channel) {
            rc = SIOC_ERR_NOMEM;
        } else {
            /* One room: its own channel, which only nodes with that room decode. */
            snprintf(channel, n, "%s%s%s", a->channel, nrooms == 1 ? rooms[0] : "",
                     nrooms == 1 ? "#" : "");
            rc = sioc__redis_publish(a->cfg->link, channel, out.data, out.len);
            free(channel);
        }
    }
    sioc__buf_free(&out);
    return rc;
}

static int redis_broadcast(sioc__adapter *base, json_t *data, const sioc_target *t)
{
    redis_adapter *a = redis(base);
    if (sioc__local_broadcast(base->nsp, data, t, NULL) < 0) {
        return SIOC_ERR_NOMEM;
    }
    if (!(t && (t->flags & SIOC_EMIT_LOCAL))) {
        /* Redis down: the other nodes miss it (said once by the link); local delivery stands. */
        publish(a, data, t);
    }
    return 0;
}

/* ---- local for now (see the top) ---- */

static int redis_broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                                    sioc__bcast_ack *ack)
{
    return sioc__local_broadcast_with_ack(base->nsp, data, t, ack);
}

static int redis_fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                               void *user_data)
{
    return sioc__local_fetch_sockets(base->nsp, t, cb, user_data);
}

static int redis_add_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                             size_t n)
{
    return sioc__local_add_sockets(base->nsp, t, rooms, n);
}

static int redis_del_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                             size_t n)
{
    return sioc__local_del_sockets(base->nsp, t, rooms, n);
}

static int redis_disconnect_sockets(sioc__adapter *base, const sioc_target *t, bool close)
{
    return sioc__local_disconnect_sockets(base->nsp, t, close);
}

static int redis_server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                                  sioc_broadcast_ack_cb cb, void *user_data)
{
    return sioc__server_side_emit_alone(cb, user_data);
}

/* The classic adapter keeps no sessions (Node's cannot restore one either). */
static void redis_persist_session(sioc__adapter *base, sioc__saved_session *session)
{
    sioc__saved_session_free(session);
}

static void redis_restore_session(sioc__adapter *base, const char *pid, const char *offset,
                                  sioc__restore_cb cb, void *arg)
{
    cb(NULL, NULL, arg);
}

const sioc__adapter_ops sioc__redis_adapter = {
    .name = "redis",
    .create = redis_create,
    .init = redis_init,
    .close = redis_close,
    .broadcast = redis_broadcast,
    .broadcast_with_ack = redis_broadcast_with_ack,
    .fetch_sockets = redis_fetch_sockets,
    .add_sockets = redis_add_sockets,
    .del_sockets = redis_del_sockets,
    .disconnect_sockets = redis_disconnect_sockets,
    .server_side_emit = redis_server_side_emit,
    .persist_session = redis_persist_session,
    .restore_session = redis_restore_session,
};
