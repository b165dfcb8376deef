/* The Redis adapter for one namespace (@socket.io/redis-adapter 8.3.0's classic adapter, as
 * CLUSTER-NOTES describes its wire): broadcasts go to the local sockets and, unless local, are
 * published once, msgpack [uid, {type:2, data, nsp}, {rooms, except, flags}], on
 * "<prefix>#<nsp>#" or, for exactly one room, "<prefix>#<nsp>#<room>#"; broadcasts from other
 * nodes (and from @socket.io/redis-emitter) arrive on the pattern "<prefix>#<nsp>#*" and are
 * delivered to the local sockets they select.
 *
 * Requests between nodes (fetchSockets, socketsJoin, serverSideEmit, broadcasts with acks) are not
 * handled yet: this node does not subscribe to the request channel, so Node peers do not count it
 * among the servers they wait for (none of their requests hangs on it), and those operations stay
 * local here. */
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
    char uid[7];   /* this node's, for this namespace: its own messages come back */
    char *channel; /* "<prefix>#<nsp>#" */
    sioc__redis_sub *sub;
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
    return a->sub ? 0 : SIOC_ERR_NOMEM;
}

static void redis_close(sioc__adapter *base)
{
    redis_adapter *a = redis(base);
    if (a->sub) {
        sioc__redis_unsubscribe(a->cfg->link, a->sub);
    }
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
