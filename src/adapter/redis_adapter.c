/* The Redis adapter for one namespace (@socket.io/redis-adapter 8.3.0's classic adapter, as
 * CLUSTER-NOTES describes its wire): broadcasts go to the local sockets and, unless local, are
 * published once, msgpack [uid, {type:2, data, nsp}, {rooms, except, flags}], on
 * "<prefix>#<nsp>#" or, for exactly one room, "<prefix>#<nsp>#<room>#"; broadcasts from other
 * nodes (and from @socket.io/redis-emitter) arrive on the pattern "<prefix>#<nsp>#*" and are
 * delivered to the local sockets they select.
 *
 * Requests arrive on "<prefix>-request#<nsp>#" (one subscription per node: Node requesters count
 * the answers they wait for with PUBSUB NUMSUB on it) and are answered (redis_answer.c); answers
 * to this node's own requests (redis_request.c) arrive on the generic response channel and on
 * this node's own one. Here: the instance's life, broadcasts, and what the parts share. */
#include "adapter/redis_adapter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sio.h"
#include "sio/msgpack.h"
#include "util/base64.h"
#include "util/log.h"

static sioc__redis_nsp *redis(sioc__adapter *a)
{
    return (sioc__redis_nsp *)a;
}

/* ---- shared by the parts ---- */

void sioc__redis_uid(char uid[7])
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

void sioc__redis_bad_message(sioc__redis_nsp *a, const char *why)
{
    if (!a->bad_logged) {
        a->bad_logged = true;
        sioc__log(SIOC_LOG_WARN, "redis: %s: a message dropped (%s); further ones silently",
                  a->channel, why);
    }
}

json_t *sioc__redis_decode(sioc__redis_nsp *a, const char *message, size_t len)
{
    json_t *v = NULL;
    if (len && message[0] == '{') {
        v = json_loadb(message, len, 0, NULL);
    } else if (sioc__msgpack_decode(message, len, &v) < 0) {
        v = NULL;
    }
    if (!json_is_object(v)) {
        sioc__redis_bad_message(a, "a request or response that is neither JSON nor msgpack");
        json_decref(v);
        return NULL;
    }
    return v;
}

int sioc__redis_send(sioc__redis *link, const char *channel, json_t *message, bool msgpack)
{
    if (!message) {
        return SIOC_ERR_NOMEM;
    }
    sioc__buf out = {0};
    char *text = NULL;
    int rc = SIOC_ERR_NOMEM;
    if (msgpack ? sioc__msgpack_encode(&out, message) == 0
                : (text = json_dumps(message, JSON_COMPACT)) != NULL) {
        rc = sioc__redis_publish(link, channel, msgpack ? out.data : text,
                                 msgpack ? out.len : strlen(text));
    }
    free(text);
    sioc__buf_free(&out);
    json_decref(message);
    return rc;
}

/* ---- receiving broadcasts ---- */

/* [uid, {type, data, nsp}, {rooms, except, flags}] from another node: to the local sockets. */
static void deliver(sioc__redis_nsp *a, json_t *msg)
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
        sioc__redis_bad_message(a, "no event");
        return;
    }
    json_t *keep = json_array(); /* the strings made of numeric rooms */
    size_t nrooms, nexcept;
    const char **rooms = sioc__wire_names(json_object_get(opts, "rooms"), keep, &nrooms);
    const char **except = sioc__wire_names(json_object_get(opts, "except"), keep, &nexcept);
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
    sioc__redis_nsp *a = arg;
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
        sioc__redis_bad_message(a, "not msgpack [uid, packet, opts]");
    } else {
        deliver(a, msg);
    }
    json_decref(msg);
}

/* Requests from other nodes, and answers to this node's own. */
static void on_request(void *arg, const char *channel, size_t channel_len, const char *message,
                       size_t len)
{
    sioc__redis_nsp *a = arg;
    json_t *req = sioc__redis_decode(a, message, len);
    if (req) {
        sioc__redis_answer(a, req);
    }
    json_decref(req);
}

static void on_response(void *arg, const char *channel, size_t channel_len, const char *message,
                        size_t len)
{
    sioc__redis_nsp *a = arg;
    if (sioc__list_empty(&a->pending)) {
        return; /* the other nodes' answers to each other: nothing waits here */
    }
    json_t *res = sioc__redis_decode(a, message, len);
    if (res) {
        sioc__redis_response(a, res);
    }
    json_decref(res);
}

/* ---- the instance ---- */

/* "<prefix><kind>#<nsp>#<tail>": new, or NULL on no memory. */
static char *channel_name(const char *prefix, const char *kind, const char *nsp, const char *tail)
{
    size_t n = strlen(prefix) + strlen(kind) + strlen(nsp) + strlen(tail) + 4;
    char *out = malloc(n);
    if (out) {
        snprintf(out, n, "%s%s#%s#%s%s", prefix, kind, nsp, tail, tail[0] ? "#" : "");
    }
    return out;
}

static void free_names(sioc__redis_nsp *a)
{
    free(a->channel);
    free(a->requests);
    free(a->responses);
    free(a->own_responses);
}

static sioc__adapter *redis_create(sioc_namespace *nsp, const void *config)
{
    const sioc__redis_config *cfg = config;
    sioc__redis_nsp *a = calloc(1, sizeof(*a));
    if (!a) {
        return NULL;
    }
    a->cfg = cfg;
    sioc__redis_uid(a->uid);
    sioc__list_init(&a->pending);
    a->channel = channel_name(cfg->prefix, "", nsp->name, "");
    a->requests = channel_name(cfg->prefix, "-request", nsp->name, "");
    a->responses = channel_name(cfg->prefix, "-response", nsp->name, "");
    a->own_responses = channel_name(cfg->prefix, "-response", nsp->name, a->uid);
    if (!a->channel || !a->requests || !a->responses || !a->own_responses) {
        free_names(a);
        free(a);
        return NULL;
    }
    return &a->base;
}

static int redis_init(sioc__adapter *base)
{
    sioc__redis_nsp *a = redis(base);
    sioc__redis *link = a->cfg->link;
    size_t n = strlen(a->channel) + 2;
    char *pattern = malloc(n);
    if (!pattern) {
        return SIOC_ERR_NOMEM;
    }
    snprintf(pattern, n, "%s*", a->channel); /* the namespace is not glob-escaped, as Node's */
    a->sub = sioc__redis_subscribe(link, pattern, SIOC__REDIS_PATTERN, on_message, a);
    free(pattern);
    /* Subscribed once per node: PUBSUB NUMSUB on it is how requesters count the answers they
     * wait for, and this node answers every request type. */
    a->request_sub =
        a->sub ? sioc__redis_subscribe(link, a->requests, SIOC__REDIS_CHANNEL, on_request, a)
               : NULL;
    a->response_sub = a->request_sub ? sioc__redis_subscribe(link, a->responses,
                                                             SIOC__REDIS_CHANNEL, on_response, a)
                                     : NULL;
    a->own_response_sub =
        a->response_sub
            ? sioc__redis_subscribe(link, a->own_responses, SIOC__REDIS_CHANNEL, on_response, a)
            : NULL;
    return a->own_response_sub ? 0 : SIOC_ERR_NOMEM;
}

static void redis_close(sioc__adapter *base)
{
    sioc__redis_nsp *a = redis(base);
    sioc__redis_requests_close(a);
    sioc__redis_sub *subs[] = {a->sub, a->request_sub, a->response_sub, a->own_response_sub};
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (subs[i]) {
            sioc__redis_unsubscribe(a->cfg->link, subs[i]);
        }
    }
    free_names(a);
    free(a);
}

/* ---- sending ---- */

/* msgpack [uid, {type:2, data, nsp}, {rooms, except, flags}], Node's key order. */
static int publish(sioc__redis_nsp *a, json_t *data, const sioc_target *t)
{
    const char *const *rooms = t ? t->rooms : NULL;
    size_t nrooms = t ? t->nrooms : 0;
    json_t *flags =
        t && (t->flags & SIOC_EMIT_VOLATILE) ? json_pack("{s:b}", "volatile", 1) : json_object();
    json_t *opts = sioc__wire_opts_of(t);
    if (opts && json_object_set_new(opts, "flags", flags) < 0) {
        json_decref(opts);
        opts = NULL;
    }
    json_t *msg = json_pack("[s,{s:i,s:O,s:s},o]", a->uid, "type", 2, "data", data, "nsp",
                            a->base.nsp->name, opts);
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
    sioc__redis_nsp *a = redis(base);
    if (sioc__local_broadcast(base->nsp, data, t, NULL) < 0) {
        return SIOC_ERR_NOMEM;
    }
    if (!(t && (t->flags & SIOC_EMIT_LOCAL))) {
        /* Redis down: the other nodes miss it (said once by the link); local delivery stands. */
        publish(a, data, t);
    }
    return 0;
}

const sioc__adapter_ops sioc__redis_adapter = {
    .name = "redis",
    .create = redis_create,
    .init = redis_init,
    .close = redis_close,
    .broadcast = redis_broadcast,
    .broadcast_with_ack = sioc__redis_broadcast_with_ack,
    .fetch_sockets = sioc__redis_fetch_sockets,
    .add_sockets = sioc__redis_add_sockets,
    .del_sockets = sioc__redis_del_sockets,
    .disconnect_sockets = sioc__redis_disconnect_sockets,
    .server_side_emit = sioc__redis_server_side_emit,
    /* The classic adapter keeps no sessions (Node's cannot restore one either). */
    .persist_session = sioc__adapter_drop_session,
    .restore_session = sioc__adapter_no_session,
};
