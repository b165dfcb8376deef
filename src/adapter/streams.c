/* The Redis Streams adapter (streams.h): the streams and the messages. What Node's
 * RedisStreamsAdapter does (lib/adapter.ts of 0.3.1, over socket.io-adapter's ClusterAdapter):
 *
 * - a broadcast, a join, a leave, a disconnect: XADD to the namespace's stream, fields uid, nsp,
 *   type ("3") and data (JSON, or base64 of msgpack when it holds binary); a broadcast reaches
 *   this node's sockets once Redis has given the entry its id, which goes with it as the offset;
 * - the other nodes' entries come from one XREAD BLOCK over every stream, on the link's blocking
 *   connection, from where each stream ended when this node started (XREVRANGE), then from the
 *   last entry read;
 * - requests (fetches, server-side emits, broadcasts with acks) and every answer: msgpack of the
 *   whole message, PUBLISH (SPUBLISH with useShardedPubSub) on "<prefix>#<nsp>#" and on the
 *   asker's "<prefix>#<nsp>#<uid>#"; the nodes are counted by (SHARD)NUMSUB of the first. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_answer.h"
#include "adapter/cluster_msg.h"
#include "adapter/cluster_requests.h"
#include "adapter/counted.h"
#include "adapter/streams_internal.h"
#include "adapter/wire.h"
#include "core/sio.h"
#include "util/container.h"
#include "util/log.h"

#define READ_RETRY_MS 1000

/* "<prefix>#<nsp>#<tail>#" (tail NULL: without it). A new string, or NULL. */
static char *channel_of(const sioc__stnsp *a, const char *tail)
{
    size_t n =
        strlen(a->cfg->channel_prefix) + strlen(a->base.nsp->name) + (tail ? strlen(tail) : 0) + 4;
    char *s = malloc(n);
    if (s) {
        snprintf(s, n, "%s#%s#%s%s", a->cfg->channel_prefix, a->base.nsp->name, tail ? tail : "",
                 tail ? "#" : "");
    }
    return s;
}

sioc__stnsp *sioc__streams_of(sioc_namespace *nsp)
{
    sioc__adapter *base = nsp->adapter;
    return base && base->ops == &sioc__streams_adapter ? (sioc__stnsp *)base : NULL;
}

/* The stream a namespace's adapter writes to: the state's positions hold the names. */
const sioc__stream_pos *sioc__stnsp_pos(const sioc__stnsp *a)
{
    return &a->cfg->state->streams[a->stream];
}

/* ---- publishing ---- */

/* Requests and answers: msgpack of the whole message on pub/sub. 0 or a SIOC_ERR_* code. */
static int publish_ephemeral(const sioc__stnsp *a, const char *channel, sioc__cm_type type,
                             json_t *data)
{
    sioc__buf out = {0};
    int rc = SIOC_ERR_NOMEM;
    if (data && sioc__cm_encode_msgpack(&out, a->uid, a->base.nsp->name, type, data) == 0) {
        rc = (a->cfg->sharded_pubsub ? sioc__redis_spublish : sioc__redis_publish)(
            a->cfg->link, channel, out.data, out.len);
    }
    sioc__buf_free(&out);
    return rc;
}

/* XADD <stream> MAXLEN ~ <maxLen> * uid <uid> nsp <nsp> type <type> data <data>. `cb` hears the
 * entry's id. The query, or NULL (Redis unreachable, or no memory: then `cb` is not called). */
static sioc__redis_query *xadd(const sioc__stnsp *a, sioc__cm_type type, json_t *data,
                               sioc__redis_reply_cb cb, void *arg)
{
    sioc__buf d = {0};
    if (!data || sioc__streams_entry_data(data, &d) < 0) {
        sioc__buf_free(&d);
        return NULL;
    }
    char maxlen[16], t[8];
    snprintf(maxlen, sizeof(maxlen), "%u", a->cfg->max_len);
    snprintf(t, sizeof(t), "%d", (int)type);
    const char *name = sioc__stnsp_pos(a)->name;
    const char *argv[] = {
        "XADD", name,  "MAXLEN",          "~",    maxlen, "*",    "uid",
        a->uid, "nsp", a->base.nsp->name, "type", t,      "data", (const char *)d.data};
    size_t lens[14];
    for (int i = 0; i < 13; i++) {
        lens[i] = strlen(argv[i]);
    }
    lens[13] = d.len;
    sioc__redis_query *q = sioc__redis_command(a->cfg->link, 14, argv, lens, cb, arg);
    sioc__buf_free(&d);
    return q;
}

/* ---- this node's requests (counted.c) ---- */

static sioc__redis_query *count(sioc__counted *r, sioc__redis_count_cb cb)
{
    sioc__stnsp *a = r->adapter;
    return sioc__redis_numsub(a->cfg->link, a->channel, a->cfg->sharded_pubsub, cb, r);
}

static int publish_request(sioc__counted *r)
{
    sioc__stnsp *a = r->adapter;
    return publish_ephemeral(a, a->channel, sioc__cluster_request_type(r), r->message);
}

static const sioc__counted_ops ops = {count, publish_request};

static int fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                         void *user_data)
{
    return sioc__cluster_fetch(&((sioc__stnsp *)base)->requests, t, cb, user_data);
}

static int server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                            sioc_broadcast_ack_cb cb, void *user_data)
{
    return sioc__cluster_emit(&((sioc__stnsp *)base)->requests, data, timeout_ms, cb, user_data);
}

static int broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                              sioc__bcast_ack *b)
{
    return sioc__cluster_broadcast_with_ack(&((sioc__stnsp *)base)->requests, data, t, b);
}

/* ---- broadcasts: delivered here once the stream has given them their offset ---- */

typedef struct pending_add {
    sioc__link link; /* first: in the adapter's adds */
    sioc__stnsp *a;
    json_t *data; /* ["event", args...] */
    json_t *opts; /* the target, {rooms, except} */
    unsigned flags;
    sioc__redis_query *q;
} pending_add;

static void deliver_now(sioc_namespace *nsp, json_t *data, json_t *opts, unsigned flags)
{
    sioc__wire_target rt;
    sioc__wire_target_of(opts, &rt);
    rt.t.flags = flags;
    sioc__local_broadcast(nsp, data, &rt.t, NULL);
    sioc__wire_target_free(&rt);
}

static void pending_add_free(pending_add *p)
{
    sioc__list_remove(&p->link);
    json_decref(p->data);
    json_decref(p->opts);
    free(p);
}

/* Node's addOffsetIfNecessary: an EVENT without ack, not volatile, with recovery on. */
static bool takes_offset(const sioc__stnsp *a, unsigned flags)
{
    return a->base.nsp->sio->recovery_ms && !(flags & SIOC_EMIT_VOLATILE);
}

/* The XADD's answer: the entry id, the broadcast's offset. Without one (Redis went, or refused),
 * this node's sockets get it all the same, without an offset, as Node's do. */
static void on_added(const redisReply *reply, void *arg)
{
    pending_add *p = arg;
    sioc__stnsp *a = p->a;
    if (reply && reply->type == REDIS_REPLY_STRING && takes_offset(a, p->flags)) {
        json_array_append_new(p->data, json_stringn(reply->str, reply->len));
    } else if (reply && reply->type == REDIS_REPLY_ERROR && !a->bad_logged) {
        a->bad_logged = true;
        sioc__log(SIOC_LOG_WARN, "redis: XADD to %s refused: %.*s", sioc__stnsp_pos(a)->name,
                  (int)reply->len, reply->str);
    }
    deliver_now(a->base.nsp, p->data, p->opts, p->flags);
    pending_add_free(p);
}

static int broadcast(sioc__adapter *base, json_t *data, const sioc_target *t)
{
    sioc__stnsp *a = (sioc__stnsp *)base;
    unsigned flags = t ? t->flags : 0;
    if (flags & SIOC_EMIT_LOCAL || !sioc__redis_commands_ready(a->cfg->link)) {
        return sioc__local_broadcast(base->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
    }
    json_t *msg = sioc__wire_cm_broadcast(base->nsp->name, data, t);
    pending_add *p = msg ? calloc(1, sizeof(*p)) : NULL;
    if (p) {
        p->a = a;
        p->data = json_copy(data); /* its own array: the offset is appended to it */
        p->opts = json_incref(json_object_get(msg, "opts"));
        p->flags = flags;
        sioc__list_append(&a->adds, &p->link);
        if (p->data && (p->q = xadd(a, SIOC__CM_BROADCAST, msg, on_added, p))) {
            json_decref(msg);
            return 0;
        }
        pending_add_free(p);
    }
    json_decref(msg);
    return sioc__local_broadcast(base->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
}

/* ---- joins, leaves, disconnects: applied here, then appended ---- */

/* Joins, leaves and disconnects are appended to the stream (Redis gone: applied here only). */
static void tell(sioc__adapter *base, sioc__cm_type type, json_t *data)
{
    xadd((sioc__stnsp *)base, type, data, NULL, NULL);
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
static sioc__cm_replier *replier_to(const sioc__stnsp *a, const sioc__cm *m)
{
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    char *channel = id ? channel_of(a, m->uid) : NULL;
    sioc__cm_replier *r = channel ? sioc__counted_replier(a->cfg->link, a->uid, a->base.nsp->name,
                                                          channel, id, a->cfg->sharded_pubsub, true)
                                  : NULL;
    free(channel);
    return r;
}

/* Another node's message, from the stream (`offset`: its entry id) or from pub/sub (NULL). */
static void dispatch(sioc__stnsp *a, const sioc__cm *m, const char *offset)
{
    if (strcmp(m->uid, a->uid) == 0 || strcmp(m->nsp, a->base.nsp->name) != 0 ||
        sioc__counted_response(&a->requests.pending, m)) {
        return;
    }
    if (m->type == SIOC__CM_BROADCAST && !json_object_get(m->data, "requestId")) {
        sioc__cm_deliver(a->base.nsp, m, offset);
    } else {
        sioc__cm_answer(a->base.nsp, m, replier_to(a, m));
    }
}

static void said_bad(sioc__stnsp *a, const char *where, size_t len, const char *why)
{
    if (!a->bad_logged) { /* said once: a stream of garbage must not flood the log */
        a->bad_logged = true;
        sioc__log(SIOC_LOG_WARN, "redis: %.*s: a message dropped (%s); further ones silently",
                  (int)len, where, why);
    }
}

/* A request on the namespace's channel, or an answer on this node's. */
static void on_message(void *arg, const char *channel, size_t channel_len, const char *bytes,
                       size_t len)
{
    sioc__stnsp *a = arg;
    sioc__cm m;
    const char *why;
    if (sioc__cm_decode(bytes, len, &m, &why) < 0) {
        said_bad(a, channel, channel_len, why);
        return;
    }
    dispatch(a, &m, NULL);
    sioc__cm_clear(&m);
}

/* ---- reading the streams ---- */

static void read_more(sioc__streams *st);

static sioc__stnsp *adapter_for(sioc__streams *st, const redisReply *nsp)
{
    for (sioc__link *l = st->adapters.next; l != &st->adapters; l = l->next) {
        sioc__stnsp *a = CONTAINER(l, sioc__stnsp, link);
        const char *name = a->base.nsp->name;
        if (strlen(name) == nsp->len && memcmp(name, nsp->str, nsp->len) == 0) {
            return a;
        }
    }
    return NULL;
}

/* One entry [id, [field, value, ...]] of stream `pos`. */
static void on_entry(sioc__streams *st, sioc__stream_pos *pos, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof(pos->last) ||
        !sioc__stream_id_parse(e->element[0]->str, e->element[0]->len, &pos->id)) {
        return;
    }
    memcpy(pos->last, e->element[0]->str, e->element[0]->len);
    pos->last[e->element[0]->len] = '\0';
    const redisReply *fields = e->element[1];
    const redisReply *nsp =
        fields->type == REDIS_REPLY_ARRAY ? sioc__streams_field(fields, "nsp") : NULL;
    sioc__stnsp *a = nsp ? adapter_for(st, nsp) : NULL;
    if (!a) {
        return; /* Node's: no nsp, or a namespace this node does not have */
    }
    sioc__cm m;
    const char *why;
    if (sioc__streams_entry(fields, &m, &why) < 0) {
        said_bad(a, pos->name, strlen(pos->name), why);
        return;
    }
    dispatch(a, &m, pos->last);
    sioc__cm_clear(&m);
}

static sioc__stream_pos *pos_named(sioc__streams *st, const redisReply *name)
{
    for (unsigned i = 0; name->type == REDIS_REPLY_STRING && i < sioc__streams_count(st->cfg);
         i++) {
        if (strlen(st->streams[i].name) == name->len &&
            memcmp(st->streams[i].name, name->str, name->len) == 0) {
            return &st->streams[i];
        }
    }
    return NULL;
}

static void on_retry(sioc__timer *t)
{
    read_more(CONTAINER(t, sioc__streams, retry));
}

/* XREAD's answer: nil when the block timed out, else [[stream, [entry, ...]], ...]. */
static void on_read(const redisReply *reply, void *arg)
{
    sioc__streams *st = arg;
    st->read = NULL;
    if (!reply) {
        return; /* the connection went: read again once it is back (on_ready) */
    }
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *s = reply->element[i];
            sioc__stream_pos *pos = s->type == REDIS_REPLY_ARRAY && s->elements == 2
                                        ? pos_named(st, s->element[0])
                                        : NULL;
            for (size_t j = 0;
                 pos && s->element[1]->type == REDIS_REPLY_ARRAY && j < s->element[1]->elements;
                 j++) {
                on_entry(st, pos, s->element[1]->element[j]);
            }
        }
    } else if (reply->type != REDIS_REPLY_NIL) {
        if (!st->error_logged) {
            st->error_logged = true;
            sioc__log(SIOC_LOG_WARN, "redis: XREAD failed: %.*s; retrying every second",
                      (int)reply->len, reply->str);
        }
        sioc__timer_start(st->cfg->wheel, &st->retry,
                          sioc__wheel_now(st->cfg->wheel) + READ_RETRY_MS, on_retry);
        return;
    }
    st->error_logged = false;
    read_more(st);
}

/* Where a stream ended: its last entry, or none (an empty or missing stream: "0-0"). */
static void on_probe(const redisReply *reply, void *arg)
{
    sioc__stream_pos *pos = arg;
    sioc__streams *st = pos->st;
    pos->probe = NULL;
    st->probing--;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 0) {
        strcpy(pos->last, "0-0");
        pos->id = (sioc__stream_id){0, 0};
    } else if (reply && reply->type == REDIS_REPLY_ARRAY) {
        const redisReply *e = reply->element[0];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
            e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < sizeof(pos->last) &&
            sioc__stream_id_parse(e->element[0]->str, e->element[0]->len, &pos->id)) {
            memcpy(pos->last, e->element[0]->str, e->element[0]->len);
            pos->last[e->element[0]->len] = '\0';
        }
    }
    if (!st->probing && reply) {
        read_more(st);
    }
}

/* Node reads from "$"; this node first asks where each stream ends and reads from there, so
 * that it knows which entries its sockets have had when a session comes back. Returns whether
 * it asked. */
static bool probe(sioc__streams *st)
{
    for (unsigned i = 0; i < sioc__streams_count(st->cfg); i++) {
        sioc__stream_pos *pos = &st->streams[i];
        if (strcmp(pos->last, "$") == 0) {
            const char *argv[] = {"XREVRANGE", pos->name, "+", "-", "COUNT", "1"};
            size_t lens[] = {9, strlen(pos->name), 1, 1, 5, 1};
            pos->probe = sioc__redis_blocking_command(st->cfg->link, 6, argv, lens, on_probe, pos);
            st->probing += pos->probe != NULL;
        }
    }
    return st->probing > 0;
}

/* XREAD COUNT <readCount> BLOCK <blockTimeInMs> STREAMS <name>... <last id>... */
static void read_more(sioc__streams *st)
{
    const sioc__streams_config *cfg = st->cfg;
    unsigned n = sioc__streams_count(cfg);
    if (st->read || st->probing || sioc__timer_armed(&st->retry) ||
        !sioc__redis_blocking_ready(cfg->link) || probe(st)) {
        return;
    }
    const char **argv = calloc(6 + 2 * n, sizeof(*argv));
    size_t *lens = calloc(6 + 2 * n, sizeof(*lens));
    char count[16], block[16];
    snprintf(count, sizeof(count), "%u", cfg->read_count);
    snprintf(block, sizeof(block), "%u", cfg->block_ms);
    if (argv && lens) {
        const char *head[] = {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS"};
        memcpy(argv, head, sizeof(head));
        for (unsigned i = 0; i < n; i++) {
            argv[6 + i] = st->streams[i].name;
            argv[6 + n + i] = st->streams[i].last;
        }
        for (unsigned i = 0; i < 6 + 2 * n; i++) {
            lens[i] = strlen(argv[i]);
        }
        st->read =
            sioc__redis_blocking_command(cfg->link, (int)(6 + 2 * n), argv, lens, on_read, st);
    }
    free(argv);
    free(lens);
}

/* A connection came (back): the stream is read again from where it was; sessions are written
 * again, as Redis may have lost them. */
static void on_ready(void *arg, bool blocking)
{
    sioc__streams *st = arg;
    if (blocking) {
        read_more(st);
        return;
    }
    for (sioc__link *l = st->adapters.next; l != &st->adapters; l = l->next) {
        sioc__streams_sessions_rewrite(CONTAINER(l, sioc__stnsp, link));
    }
}

int sioc__streams_start(sioc__streams_config *cfg)
{
    sioc__streams *st = calloc(1, sizeof(*st));
    if (!st || !(st->streams = calloc(sioc__streams_count(cfg), sizeof(*st->streams)))) {
        free(st);
        return SIOC_ERR_NOMEM;
    }
    st->cfg = cfg;
    cfg->state = st;
    sioc__list_init(&st->adapters);
    for (unsigned i = 0; i < sioc__streams_count(cfg); i++) {
        strcpy(st->streams[i].last, "$");
        st->streams[i].st = st;
        if (!(st->streams[i].name = sioc__streams_name(cfg, i))) {
            sioc__streams_stop(cfg);
            return SIOC_ERR_NOMEM;
        }
    }
    sioc__redis_on_ready(cfg->link, on_ready, st);
    sioc__redis_use_blocking(cfg->link);
    return 0;
}

void sioc__streams_stop(sioc__streams_config *cfg)
{
    sioc__streams *st = cfg->state;
    if (!st) {
        return;
    }
    assert(sioc__list_empty(&st->adapters));
    sioc__redis_on_ready(cfg->link, NULL, NULL);
    if (st->read) {
        sioc__redis_query_cancel(st->read);
    }
    sioc__timer_stop(cfg->wheel, &st->retry);
    for (unsigned i = 0; i < sioc__streams_count(cfg); i++) {
        if (st->streams[i].probe) {
            sioc__redis_query_cancel(st->streams[i].probe);
        }
        free(st->streams[i].name);
    }
    free(st->streams);
    free(st);
    cfg->state = NULL;
}

/* ---- the instance ---- */

static sioc__adapter *create(sioc_namespace *nsp, const void *config)
{
    sioc__stnsp *a = calloc(1, sizeof(*a));
    if (a) {
        a->cfg = (sioc__streams_config *)config;
        sioc__wire_random_id(a->uid);
        sioc__list_init(&a->link);
        sioc__cluster_requests_init(&a->requests, &ops, a, nsp, a->cfg->link,
                                    a->cfg->requests_timeout_ms);
        sioc__list_init(&a->adds);
        sioc__list_init(&a->restores);
        sioc__list_init(&a->dirty);
        sioc__list_init(&a->by_age);
    }
    return a ? &a->base : NULL;
}

static int init(sioc__adapter *base)
{
    sioc__stnsp *a = (sioc__stnsp *)base;
    if (!(a->channel = channel_of(a, NULL)) || !(a->responses = channel_of(a, a->uid))) {
        return SIOC_ERR_NOMEM;
    }
    a->stream = sioc__streams_index(a->cfg, base->nsp->name);
    sioc__redis_kind kind = a->cfg->sharded_pubsub ? SIOC__REDIS_SHARDED : SIOC__REDIS_CHANNEL;
    sioc__redis *link = a->cfg->link;
    a->main_sub = sioc__redis_subscribe(link, a->channel, kind, on_message, a);
    a->response_sub = sioc__redis_subscribe(link, a->responses, kind, on_message, a);
    if (!a->main_sub || !a->response_sub) {
        return SIOC_ERR_NOMEM;
    }
    sioc__streams_sessions_init(a);
    sioc__list_append(&a->cfg->state->adapters, &a->link);
    return 0;
}

static void close_adapter(sioc__adapter *base)
{
    sioc__stnsp *a = (sioc__stnsp *)base;
    sioc__counted_close_all(&a->requests.pending);
    while (!sioc__list_empty(&a->adds)) {
        pending_add *p = (pending_add *)a->adds.next;
        sioc__redis_query_cancel(p->q);
        pending_add_free(p);
    }
    sioc__streams_sessions_close(a);
    sioc__redis *link = a->cfg->link;
    if (a->main_sub) {
        (a->cfg->sharded_pubsub ? sioc__redis_sunsubscribe : sioc__redis_unsubscribe)(link,
                                                                                      a->main_sub);
    }
    if (a->response_sub) {
        (a->cfg->sharded_pubsub ? sioc__redis_sunsubscribe
                                : sioc__redis_unsubscribe)(link, a->response_sub);
    }
    sioc__list_remove(&a->link);
    free(a->channel);
    free(a->responses);
    free(a);
}

const sioc__adapter_ops sioc__streams_adapter = {
    .name = "streams",
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
    .persist_session = sioc__streams_persist_session,
    .restore_session = sioc__streams_restore_session,
};
