/* The workers adapter (workers.h): what Node's ClusterAdapter does, between the worker processes
 * of one server. Everything goes to every other worker that is up; answers go back to the worker
 * that asked (the link knows who sent a frame). A request waits for each worker it went to, and
 * one that goes down meanwhile is waited for no more (the link says so at once), so a worker's
 * death never makes a fetch wait out its timeout. */
#include "adapter/workers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_msg.h"
#include "adapter/wire.h"
#include "core/sio.h"
#include "util/base64.h"
#include "util/log.h"
#include "util/wheel.h"

#define PURGE_EVERY_MS 1000

#define CONTAINER(ptr, type, member) ((type *)(void *)(((char *)(ptr)) - offsetof(type, member)))

typedef struct wnsp {
    sioc__adapter base; /* first */
    sioc__link link;    /* in the config's list */
    sioc__workers_config *cfg;
    char uid[17]; /* ClusterAdapter's: 8 random bytes in hex */
    sioc__link pending;
    /* Connection state recovery (see the section below): what this worker delivered, and the
     * sessions of every worker's sockets; seen[i] is the last of worker i's broadcasts that
     * reached this one. */
    sioc__recovery_store store;
    uint64_t next_seq;
    uint64_t seen[SIOC__WORKERS_MAX];
    sioc__timer purge_timer;
} wnsp;

typedef struct request {
    sioc__link link; /* first: in the adapter's pending list */
    wnsp *a;
    char id[17];
    sioc__cm_type type; /* FETCH_SOCKETS, SERVER_SIDE_EMIT, BROADCAST or RESTORE_SESSION */
    uint64_t waiting;   /* the workers not heard from yet (bit i: worker i) */
    uint64_t counted;   /* broadcasts: the workers whose client count came */
    sioc__timer timer;
    json_t *answers;
    json_t *opts; /* fetches: the local part is taken at the end */
    sioc__bcast_ack *b;
    sioc_fetch_cb fetch;
    sioc_broadcast_ack_cb emit_cb;
    sioc__restore_cb restore_cb;
    sioc__saved_session *found; /* restores: the session, once found */
    char pid[21];
    uint64_t top[SIOC__WORKERS_MAX]; /* restores: what the client had seen of each worker's */
    void *user_data;
} request;

static void hex_id(char out[17])
{
    unsigned char raw[8];
    if (sioc__random_bytes(raw, sizeof(raw)) < 0) {
        memset(raw, 0x5a, sizeof(raw));
    }
    for (int i = 0; i < 8; i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
}

static sioc__wheel *wheel_of(wnsp *a)
{
    return a->base.nsp->sio->wheel;
}

static unsigned workers_count(const wnsp *a)
{
    return a->cfg->count;
}

/* Sends {type, data} (borrowed) from `uid` in namespace `nsp` to worker `to`. */
static void send_to(sioc__workers_config *cfg, const char *uid, const char *nsp, unsigned to,
                    sioc__cm_type type, json_t *data)
{
    sioc__buf out = {0};
    if (cfg->bus && data && sioc__cm_encode(&out, uid, nsp, type, data, NULL) == 0) {
        sioc__bus_send(cfg->bus, to, out.data, out.len); /* gone: its request is over */
    }
    sioc__buf_free(&out);
}

/* Sends to every worker that is up; returns the set of those it went to. */
static uint64_t send_all(wnsp *a, sioc__cm_type type, json_t *data)
{
    sioc__buf out = {0};
    uint64_t sent = 0;
    if (a->cfg->bus && data &&
        sioc__cm_encode(&out, a->uid, a->base.nsp->name, type, data, NULL) == 0) {
        for (unsigned i = 0; i < workers_count(a); i++) {
            if (sioc__bus_send(a->cfg->bus, i, out.data, out.len) == 0) {
                sent |= UINT64_C(1) << i;
            }
        }
    }
    sioc__buf_free(&out);
    return sent;
}

static unsigned peers_up(const wnsp *a)
{
    return a->cfg->bus ? sioc__bus_peers_up(a->cfg->bus) : 0;
}

/* ---- this worker's requests ---- */

static request *request_new(wnsp *a, sioc__cm_type type)
{
    request *r = calloc(1, sizeof(*r));
    if (!r || !(r->answers = json_array())) {
        free(r);
        return NULL;
    }
    r->a = a;
    r->type = type;
    hex_id(r->id);
    sioc__list_append(&a->pending, &r->link);
    return r;
}

static void request_free(request *r)
{
    sioc__list_remove(&r->link);
    sioc__timer_stop(wheel_of(r->a), &r->timer);
    if (r->b) {
        sioc__bcast_ack_release(r->b);
    }
    json_decref(r->answers);
    json_decref(r->opts);
    sioc__saved_session_free(r->found);
    free(r);
}

static void restored(request *r);

static void finish(request *r, int err)
{
    sioc__list_remove(&r->link); /* no answer reaches it from the callback on */
    sioc__list_init(&r->link);
    if (r->type == SIOC__CM_FETCH_SOCKETS) {
        sioc__wire_fetch_done(r->a->base.nsp, r->opts, r->answers, err, r->fetch, r->user_data);
    } else if (r->type == SIOC__CM_SERVER_SIDE_EMIT) {
        r->emit_cb(err, r->answers, r->user_data);
    } else if (r->type == SIOC__CM_RESTORE_SESSION) {
        restored(r);
    }
    request_free(r);
}

static void check(request *r)
{
    bool done = r->type == SIOC__CM_BROADCAST ? sioc__bcast_ack_decided(r->b) : r->waiting == 0;
    if (done) {
        finish(r, 0);
    }
}

static void on_timeout(sioc__timer *t)
{
    request *r = CONTAINER(t, request, timer);
    /* A broadcast times itself out in the core; its hold on it ends. */
    finish(r, r->type == SIOC__CM_BROADCAST ? 0 : SIOC_ERR_TIMEOUT);
}

/* Worker `from` is heard from for `r` (or will never be: it went down). */
static void heard(request *r, unsigned from)
{
    uint64_t bit = UINT64_C(1) << from;
    if (r->type == SIOC__CM_BROADCAST && (r->waiting & bit) && !(r->counted & bit)) {
        r->counted |= bit;
        sioc__bcast_ack_count(r->b, 0); /* its count never came: none of its clients will answer */
    }
    r->waiting &= ~bit;
}

/* A session another worker gave back (NULL: none, or no memory). */
static sioc__saved_session *session_of_json(json_t *j, sioc__wheel *wheel)
{
    if (!json_is_object(j)) {
        return NULL;
    }
    sioc__saved_session *session = calloc(1, sizeof(*session));
    if (!session) {
        return NULL;
    }
    /* The shapes and lengths were checked when the message was decoded. */
    snprintf(session->pid, sizeof(session->pid), "%s",
             json_string_value(json_object_get(j, "pid")));
    snprintf(session->sid, sizeof(session->sid), "%s",
             json_string_value(json_object_get(j, "sid")));
    session->rooms = json_incref(json_object_get(j, "rooms"));
    session->data = json_incref(json_object_get(j, "data"));
    session->at_ms = sioc__wheel_now(wheel);
    session->live = json_is_true(json_object_get(j, "live"));
    return session;
}

static void response(wnsp *a, unsigned from, const sioc__cm *m)
{
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    request *r = NULL;
    for (sioc__link *l = a->pending.next; l != &a->pending; l = l->next) {
        if (strcmp(((request *)l)->id, id) == 0) {
            r = (request *)l;
            break;
        }
    }
    uint64_t bit = UINT64_C(1) << from;
    if (!r || !(r->waiting & bit)) {
        return; /* late, or not asked */
    }
    json_t *packet = json_object_get(m->data, "packet");
    switch (m->type) {
    case SIOC__CM_FETCH_SOCKETS_RESPONSE: {
        size_t i;
        json_t *d;
        json_array_foreach (json_object_get(m->data, "sockets"), i, d) {
            json_array_append(r->answers, d);
        }
        r->waiting &= ~bit;
        break;
    }
    case SIOC__CM_SERVER_SIDE_EMIT_RESPONSE:
        json_array_append(r->answers, packet ? packet : json_null());
        r->waiting &= ~bit;
        break;
    case SIOC__CM_BROADCAST_CLIENT_COUNT:
        if (!(r->counted & bit)) {
            r->counted |= bit;
            sioc__bcast_ack_count(
                r->b, (size_t)json_integer_value(json_object_get(m->data, "clientCount")));
        }
        break;
    case SIOC__CM_BROADCAST_ACK:
        sioc__bcast_ack_answer(r->b, packet);
        break;
    case SIOC__CM_RESTORE_SESSION_RESPONSE: {
        json_t *session = json_object_get(m->data, "session");
        if (!r->found) {
            r->found = session_of_json(session, wheel_of(a));
        }
        json_t *missed = json_object_get(m->data, "missed");
        if (json_is_object(session) && missed) {
            json_array_append(r->answers, missed); /* what that worker kept of it */
        }
        r->waiting &= ~bit;
        break;
    }
    default:
        return;
    }
    check(r);
}

static int fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                         void *user_data)
{
    wnsp *a = (wnsp *)base;
    if ((t && (t->flags & SIOC_EMIT_LOCAL)) || peers_up(a) == 0) {
        return sioc__local_fetch_sockets(base->nsp, t, cb, user_data);
    }
    request *r = request_new(a, SIOC__CM_FETCH_SOCKETS);
    json_t *data = r && (r->opts = sioc__wire_opts_of(t))
                       ? json_pack("{s:O,s:s}", "opts", r->opts, "requestId", r->id)
                       : NULL;
    if (!data) {
        if (r) {
            request_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    r->fetch = cb;
    r->user_data = user_data;
    r->waiting = send_all(a, SIOC__CM_FETCH_SOCKETS, data);
    json_decref(data);
    sioc__timer_start(wheel_of(a), &r->timer,
                      sioc__wheel_now(wheel_of(a)) + a->cfg->requests_timeout_ms, on_timeout);
    check(r);
    return 0;
}

static int server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                            sioc_broadcast_ack_cb cb, void *user_data)
{
    wnsp *a = (wnsp *)base;
    request *r = cb ? request_new(a, SIOC__CM_SERVER_SIDE_EMIT) : NULL;
    json_t *msg = cb ? (r ? json_pack("{s:O,s:s}", "packet", data, "requestId", r->id) : NULL)
                     : json_pack("{s:O}", "packet", data);
    if (!msg) {
        if (r) {
            request_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    uint64_t sent = send_all(a, SIOC__CM_SERVER_SIDE_EMIT, msg);
    json_decref(msg);
    if (!r) {
        return 0;
    }
    r->emit_cb = cb;
    r->user_data = user_data;
    r->waiting = sent;
    unsigned ms = timeout_ms ? timeout_ms : a->cfg->requests_timeout_ms;
    sioc__timer_start(wheel_of(a), &r->timer, sioc__wheel_now(wheel_of(a)) + ms, on_timeout);
    check(r);
    return 0;
}

static int broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                              sioc__bcast_ack *b)
{
    wnsp *a = (wnsp *)base;
    request *r = !(t && (t->flags & SIOC_EMIT_LOCAL)) && peers_up(a)
                     ? request_new(a, SIOC__CM_BROADCAST)
                     : NULL;
    json_t *msg = NULL;
    if (r) {
        uint64_t due = sioc__bcast_ack_deadline(b);
        json_t *opts = sioc__wire_opts_of(t);
        if (opts) {
            json_object_set_new(
                opts, "flags",
                json_pack("{s:I}", "timeout", (json_int_t)(due - sioc__wheel_now(wheel_of(a)))));
        }
        msg = json_pack("{s:{s:i,s:O,s:s},s:o,s:s}", "packet", "type", 2, "data", data, "nsp",
                        base->nsp->name, "opts", opts, "requestId", r->id);
        if (!msg) {
            request_free(r);
            return SIOC_ERR_NOMEM;
        }
        r->b = b;
        sioc__bcast_ack_hold(b);
        /* Each worker it goes to reports a count; those are expected before this one's, which
         * must not decide the broadcast alone. */
        r->waiting = send_all(a, SIOC__CM_BROADCAST, msg);
        unsigned others = 0;
        for (uint64_t w = r->waiting; w; w &= w - 1) {
            others++;
        }
        sioc__bcast_ack_expect(b, others);
        json_decref(msg);
    }
    int rc = sioc__local_broadcast_with_ack(base->nsp, data, t, b);
    if (r && rc < 0) {
        request_free(r);
        return rc;
    }
    if (r) {
        sioc__timer_start(wheel_of(a), &r->timer, sioc__bcast_ack_deadline(b), on_timeout);
        check(r);
    }
    return rc;
}

/* ---- what needs no answer ---- */

static bool kept(const wnsp *a, const sioc_target *t)
{
    return a->base.nsp->sio->recovery_ms && !(t && (t->flags & SIOC_EMIT_VOLATILE));
}

static int stamp(wnsp *a, json_t *data, const sioc_target *t, unsigned origin, uint64_t seq);

static int broadcast(sioc__adapter *base, json_t *data, const sioc_target *t)
{
    wnsp *a = (wnsp *)base;
    uint64_t seq = kept(a, t) ? ++a->next_seq : 0;
    if (!(t && (t->flags & SIOC_EMIT_LOCAL)) && peers_up(a)) { /* nobody else: nothing built */
        json_t *opts = sioc__wire_opts_of(t);
        if (opts && t && (t->flags & SIOC_EMIT_VOLATILE)) {
            json_object_set_new(opts, "flags", json_pack("{s:b}", "volatile", 1));
        }
        json_t *msg = opts ? json_pack("{s:{s:i,s:O,s:s},s:o}", "packet", "type", 2, "data", data,
                                       "nsp", base->nsp->name, "opts", opts)
                           : NULL;
        if (msg && seq) {
            json_object_set_new(msg, "seq", json_integer((json_int_t)seq));
        }
        send_all(a, SIOC__CM_BROADCAST, msg); /* encoded now, before this worker's offset */
        json_decref(msg);
    }
    if (seq && stamp(a, data, t, a->cfg->index, seq) < 0) {
        return SIOC_ERR_NOMEM;
    }
    return sioc__local_broadcast(base->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
}

static int publish_rooms(wnsp *a, sioc__cm_type type, const sioc_target *t,
                         const char *const *rooms, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_array_append_new(list, json_string(rooms[i]));
    }
    json_t *msg = json_pack("{s:o,s:o}", "opts", sioc__wire_opts_of(t), "rooms", list);
    send_all(a, type, msg);
    json_decref(msg);
    return 0;
}

static int add_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                       size_t n)
{
    int rc = sioc__local_add_sockets(base->nsp, t, rooms, n);
    return rc < 0 || (t && (t->flags & SIOC_EMIT_LOCAL))
               ? rc
               : publish_rooms((wnsp *)base, SIOC__CM_SOCKETS_JOIN, t, rooms, n);
}

static int del_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                       size_t n)
{
    int rc = sioc__local_del_sockets(base->nsp, t, rooms, n);
    return rc < 0 || (t && (t->flags & SIOC_EMIT_LOCAL))
               ? rc
               : publish_rooms((wnsp *)base, SIOC__CM_SOCKETS_LEAVE, t, rooms, n);
}

static int disconnect_sockets(sioc__adapter *base, const sioc_target *t, bool close)
{
    if (!(t && (t->flags & SIOC_EMIT_LOCAL))) {
        /* Sent first: the target's rooms may go with the sockets disconnected here. */
        json_t *msg = json_pack("{s:o,s:b}", "opts", sioc__wire_opts_of(t), "close", close);
        send_all((wnsp *)base, SIOC__CM_DISCONNECT_SOCKETS, msg);
        json_decref(msg);
    }
    return sioc__local_disconnect_sockets(base->nsp, t, close);
}

/* ---- the other workers' messages ---- */

/* Where answers to another worker's request go. It holds no adapter: a namespace may go while an
 * acknowledgement is still awaited. */
typedef struct answer_to {
    sioc__workers_config *cfg;
    unsigned to;
    char uid[17];
    char *nsp;
    char *request_id;
} answer_to;

static void reply(sioc__workers_config *cfg, const char *uid, const char *nsp, unsigned to,
                  sioc__cm_type type, const char *id, const char *key, json_t *value)
{
    json_t *data = json_pack("{s:s,s:O}", "requestId", id, key, value ? value : json_null());
    send_to(cfg, uid, nsp, to, type, data);
    json_decref(data);
}

static void answer_free(void *ctx)
{
    answer_to *t = ctx;
    free(t->nsp);
    free(t->request_id);
    free(t);
}

static answer_to *answer_new(sioc__workers_config *cfg, const char *uid, const char *nsp,
                             unsigned to, const char *id)
{
    answer_to *t = calloc(1, sizeof(*t));
    if (t && (!(t->nsp = strdup(nsp)) || !(t->request_id = strdup(id)))) {
        answer_free(t);
        return NULL;
    }
    if (t) {
        t->cfg = cfg;
        t->to = to;
        snprintf(t->uid, sizeof(t->uid), "%s", uid);
    }
    return t;
}

static void server_ack_answer(void *ctx, json_t *first)
{
    answer_to *t = ctx;
    reply(t->cfg, t->uid, t->nsp, t->to, SIOC__CM_SERVER_SIDE_EMIT_RESPONSE, t->request_id,
          "packet", first);
}

static void broadcast_ack_answer(json_t *first, void *ctx)
{
    answer_to *t = ctx;
    reply(t->cfg, t->uid, t->nsp, t->to, SIOC__CM_BROADCAST_ACK, t->request_id, "packet", first);
}

static void broadcast_done(int err, json_t *responses, void *ctx)
{
    answer_free(ctx);
}

/* Node's receivers wait as long as the sockets live; a bound keeps one that never answers from
 * holding the wait forever. */
#define FORWARD_TIMEOUT_MS 60000

static void forward_broadcast(wnsp *a, unsigned from, json_t *data, const char *id,
                              sioc__wire_target *rt)
{
    answer_to *to = answer_new(a->cfg, a->uid, a->base.nsp->name, from, id);
    long reached = to ? sioc__forward_with_ack(a->base.nsp, data, &rt->t, FORWARD_TIMEOUT_MS,
                                               broadcast_ack_answer, broadcast_done, to)
                      : -1;
    if (reached < 0) {
        if (to) {
            answer_free(to);
        }
        reached = 0;
    }
    /* The count, even 0: the asker waits for it. */
    json_t *count = json_integer(reached);
    reply(a->cfg, a->uid, a->base.nsp->name, from, SIOC__CM_BROADCAST_CLIENT_COUNT, id,
          "clientCount", count);
    json_decref(count);
}

static void on_broadcast(wnsp *a, unsigned from, const sioc__cm *m)
{
    json_t *opts = json_object_get(m->data, "opts");
    json_t *data = json_object_get(json_object_get(m->data, "packet"), "data");
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    sioc__wire_target rt;
    sioc__wire_target_of(opts, &rt);
    if (id) {
        forward_broadcast(a, from, data, id, &rt);
    } else {
        if (json_is_true(json_object_get(json_object_get(opts, "flags"), "volatile"))) {
            rt.t.flags |= SIOC_EMIT_VOLATILE;
        }
        json_t *seq = json_object_get(m->data, "seq");
        if (!seq || !kept(a, &rt.t) ||
            stamp(a, data, &rt.t, from, (uint64_t)json_integer_value(seq)) == 0) {
            sioc__local_broadcast(a->base.nsp, data, &rt.t, NULL);
        }
    }
    sioc__wire_target_free(&rt);
}

static void give_session(sioc__workers_config *cfg, wnsp *a, const char *nsp, unsigned from,
                         const char *id, json_t *data);
static void on_session(wnsp *a, unsigned from, const sioc__cm *m);

static void on_request(wnsp *a, unsigned from, const sioc__cm *m)
{
    sioc_namespace *nsp = a->base.nsp;
    sioc__wire_target rt;
    sioc__wire_target_of(json_object_get(m->data, "opts"), &rt);
    json_t *list = json_object_get(m->data, "rooms");
    json_t *keep = json_array();
    size_t n = 0;
    const char **rooms = m->type == SIOC__CM_SOCKETS_JOIN || m->type == SIOC__CM_SOCKETS_LEAVE
                             ? sioc__wire_names(list, keep, &n)
                             : NULL;
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    switch (m->type) {
    case SIOC__CM_SOCKETS_JOIN:
        sioc__local_add_sockets(nsp, &rt.t, rooms, n);
        break;
    case SIOC__CM_SOCKETS_LEAVE:
        sioc__local_del_sockets(nsp, &rt.t, rooms, n);
        break;
    case SIOC__CM_DISCONNECT_SOCKETS:
        sioc__local_disconnect_sockets(nsp, &rt.t, json_is_true(json_object_get(m->data, "close")));
        break;
    case SIOC__CM_FETCH_SOCKETS: {
        json_t *sockets = sioc__wire_sockets(nsp, &rt.t, true);
        reply(a->cfg, a->uid, nsp->name, from, SIOC__CM_FETCH_SOCKETS_RESPONSE, id, "sockets",
              sockets);
        json_decref(sockets);
        break;
    }
    case SIOC__CM_RESTORE_SESSION:
        give_session(a->cfg, a, nsp->name, from, id, m->data);
        break;
    case SIOC__CM_SESSION:
    case SIOC__CM_SESSION_GONE:
        on_session(a, from, m);
        break;
    case SIOC__CM_SERVER_SIDE_EMIT: {
        answer_to *to = id ? answer_new(a->cfg, a->uid, nsp->name, from, id) : NULL;
        sioc_server_ack *ack =
            to ? sioc__server_ack_new(nsp, server_ack_answer, answer_free, to) : NULL;
        if (to && !ack) {
            answer_free(to);
        }
        sioc__namespace_server_event(nsp, json_object_get(m->data, "packet"), ack);
        break;
    }
    default:
        break;
    }
    free(rooms);
    json_decref(keep);
    sioc__wire_target_free(&rt);
}

static wnsp *find(sioc__workers_config *cfg, const char *name)
{
    for (sioc__link *l = cfg->adapters.next; l != &cfg->adapters; l = l->next) {
        wnsp *a = CONTAINER(l, wnsp, link);
        if (strcmp(a->base.nsp->name, name) == 0) {
            return a;
        }
    }
    return NULL;
}

void sioc__workers_on_frame(void *arg, unsigned from, const void *data, size_t len)
{
    sioc__workers_config *cfg = arg;
    sioc__cm m;
    const char *why;
    if (sioc__cm_decode(data, len, &m, &why) < 0) {
        if (!cfg->bad_logged) {
            cfg->bad_logged = true;
            sioc__log(SIOC_LOG_WARN, "workers: a message from worker %u dropped (%s)", from, why);
        }
        return;
    }
    wnsp *a = find(cfg, m.nsp);
    if (!a) {
        /* No such namespace here: nothing to deliver, but a request that counts on every worker
         * gets its empty answer, so that the asker does not wait (Node's workers without the
         * namespace would stay silent). */
        const char *id = json_string_value(json_object_get(m.data, "requestId"));
        json_t *none = m.type == SIOC__CM_FETCH_SOCKETS ? json_array() : json_integer(0);
        if (id && m.type == SIOC__CM_RESTORE_SESSION) {
            give_session(cfg, NULL, m.nsp, from, id, m.data);
        } else if (id && (m.type == SIOC__CM_FETCH_SOCKETS || m.type == SIOC__CM_BROADCAST)) {
            reply(cfg, "0000000000000000", m.nsp, from,
                  m.type == SIOC__CM_FETCH_SOCKETS ? SIOC__CM_FETCH_SOCKETS_RESPONSE
                                                   : SIOC__CM_BROADCAST_CLIENT_COUNT,
                  id, m.type == SIOC__CM_FETCH_SOCKETS ? "sockets" : "clientCount", none);
        }
        json_decref(none);
        sioc__cm_clear(&m);
        return;
    }
    switch (m.type) {
    case SIOC__CM_BROADCAST:
        on_broadcast(a, from, &m);
        break;
    case SIOC__CM_FETCH_SOCKETS_RESPONSE:
    case SIOC__CM_SERVER_SIDE_EMIT_RESPONSE:
    case SIOC__CM_BROADCAST_CLIENT_COUNT:
    case SIOC__CM_BROADCAST_ACK:
    case SIOC__CM_RESTORE_SESSION_RESPONSE:
        response(a, from, &m);
        break;
    default:
        on_request(a, from, &m);
        break;
    }
    sioc__cm_clear(&m);
}

static void owner_gone(wnsp *a, unsigned peer);

void sioc__workers_on_peer(void *arg, unsigned peer, bool up)
{
    sioc__workers_config *cfg = arg;
    if (up) {
        cfg->up |= UINT64_C(1) << peer;
        return;
    }
    cfg->up &= ~(UINT64_C(1) << peer);
    /* What waited for it waits no more; its sockets are gone, their sessions kept. */
    for (sioc__link *l = cfg->adapters.next; l != &cfg->adapters; l = l->next) {
        wnsp *a = CONTAINER(l, wnsp, link);
        owner_gone(a, peer);
        sioc__link *p = a->pending.next;
        while (p != &a->pending) {
            request *r = (request *)p;
            p = p->next;
            if (r->waiting & (UINT64_C(1) << peer)) {
                heard(r, peer);
                check(r);
            }
        }
    }
}

/* ---- the instance ---- */

static sioc__adapter *create(sioc_namespace *nsp, const void *config)
{
    wnsp *a = calloc(1, sizeof(*a));
    if (a) {
        a->cfg = (sioc__workers_config *)config;
        hex_id(a->uid);
        /* Above whatever an earlier run of this worker reached (at fewer than a million
         * broadcasts a second), so that a worker started again is not taken for behind. */
        a->next_seq = sioc__now_ms() * 1000;
        sioc__list_init(&a->pending);
        sioc__list_init(&a->link);
    }
    return a ? &a->base : NULL;
}

static void on_purge(sioc__timer *t);

static int init(sioc__adapter *base)
{
    wnsp *a = (wnsp *)base;
    sioc__list_append(&a->cfg->adapters, &a->link);
    if (base->nsp->sio->recovery_ms) {
        sioc__timer_start(wheel_of(a), &a->purge_timer,
                          sioc__wheel_now(wheel_of(a)) + PURGE_EVERY_MS, on_purge);
    }
    return 0;
}

static void close_adapter(sioc__adapter *base)
{
    wnsp *a = (wnsp *)base;
    while (!sioc__list_empty(&a->pending)) {
        finish((request *)a->pending.next, SIOC_ERR_CLOSED);
    }
    sioc__list_remove(&a->link);
    sioc__timer_stop(wheel_of(a), &a->purge_timer);
    sioc__recovery_free(&a->store);
    free(a);
}

/* ---- connection state recovery ----
 *
 * Each worker stamps what it delivers with its own offset: how far it had then seen each worker's
 * broadcasts, "s0.s1..." (base 36; si counts worker i's broadcasts, and each link keeps their
 * order). A client's last offset thus says exactly what it had seen of every worker's broadcasts,
 * whichever worker it was on, and any worker can tell what it missed: the broadcasts kept there
 * beyond that, addressed to its rooms. Sessions (id, rooms, data, and whether the socket is still
 * connected) are copied to every worker as they change, so that the client of a worker that died
 * can come back too. */

#define DIGITS_MAX 13 /* of a uint64_t in base 36 */
#define VECTOR_MAX (SIOC__WORKERS_MAX * (DIGITS_MAX + 1))

static void encode_vector(const uint64_t *v, unsigned n, char out[VECTOR_MAX + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        char rev[DIGITS_MAX];
        int k = 0;
        uint64_t x = v[i];
        do {
            rev[k++] = digits[x % 36];
            x /= 36;
        } while (x);
        if (i) {
            out[len++] = '.';
        }
        while (k) {
            out[len++] = rev[--k];
        }
    }
    out[len] = '\0';
}

/* A client's offset: `n` numbers, or false when it is not one of ours. */
static bool parse_vector(const char *s, unsigned n, uint64_t *v)
{
    for (unsigned i = 0; s && i < n; i++) {
        uint64_t x = 0;
        int k = 0;
        for (; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z'); s++, k++) {
            if (k == DIGITS_MAX) {
                return false;
            }
            x = x * 36 + (uint64_t)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
        }
        v[i] = x;
        if (k == 0 || *s != (i + 1 < n ? '.' : '\0')) {
            return false;
        }
        s += i + 1 < n;
    }
    return s != NULL;
}

/* Worker `origin`'s broadcast number `seq` is delivered here: it is kept, and ends with this
 * worker's offset. */
static int stamp(wnsp *a, json_t *data, const sioc_target *t, unsigned origin, uint64_t seq)
{
    if (origin >= SIOC__WORKERS_MAX) {
        return -1;
    }
    if (seq > a->seen[origin]) {
        a->seen[origin] = seq;
    }
    char offset[VECTOR_MAX + 1];
    encode_vector(a->seen, workers_count(a), offset);
    if (json_array_append_new(data, json_string(offset)) < 0) {
        return -1;
    }
    return sioc__recovery_keep_packet(&a->store, a->base.nsp->sio, t, data, "", origin, seq);
}

/* A replayed broadcast's offset says at least what the client had seen: it may have been kept
 * here before this worker had seen as much as the client's. */
static void restamp(const wnsp *a, const uint64_t *floor, json_t *missed)
{
    size_t i;
    json_t *p;
    json_array_foreach (missed, i, p) {
        size_t last = json_array_size(p) - 1;
        uint64_t v[SIOC__WORKERS_MAX];
        json_t *copy = json_copy(p);
        if (!copy ||
            !parse_vector(json_string_value(json_array_get(p, last)), workers_count(a), v)) {
            json_decref(copy);
            continue;
        }
        for (unsigned k = 0; k < workers_count(a); k++) {
            v[k] = v[k] > floor[k] ? v[k] : floor[k];
        }
        char offset[VECTOR_MAX + 1];
        encode_vector(v, workers_count(a), offset);
        json_array_set_new(copy, last, json_string(offset));
        json_array_set_new(missed, i, copy);
    }
}

/* The session `pid` as it now is, here (`rooms` and `data` borrowed), owned by worker `owner`. */
static void record_put(wnsp *a, const char *pid, const char *sid, json_t *rooms, json_t *data,
                       unsigned owner, bool live)
{
    sioc__saved_session *r = sioc__map_get(&a->store.sessions, pid, strlen(pid));
    if (!r) {
        if (!(r = calloc(1, sizeof(*r)))) {
            return;
        }
        snprintf(r->pid, sizeof(r->pid), "%s", pid);
        if (sioc__map_put(&a->store.sessions, r->pid, r) < 0) {
            free(r);
            return;
        }
    }
    snprintf(r->sid, sizeof(r->sid), "%s", sid);
    json_t *old_rooms = r->rooms, *old_data = r->data;
    r->rooms = json_incref(rooms);
    r->data = data ? json_incref(data) : json_object();
    json_decref(old_rooms);
    json_decref(old_data);
    r->owner = owner;
    r->live = live;
    r->at_ms = sioc__wheel_now(wheel_of(a));
}

/* Takes the session out of the map: the caller owns it. */
static sioc__saved_session *record_take(wnsp *a, const char *pid)
{
    return sioc__map_remove(&a->store.sessions, pid);
}

static void replicate(wnsp *a, const sioc__saved_session *r)
{
    json_t *msg = json_pack("{s:s,s:s,s:O,s:O,s:b}", "pid", r->pid, "sid", r->sid, "rooms",
                            r->rooms, "data", r->data, "live", r->live);
    send_all(a, SIOC__CM_SESSION, msg);
    json_decref(msg);
}

/* This worker's socket `s` connected, joined or left a room: every worker hears of it. */
static void socket_changed(sioc_socket *s)
{
    sioc__adapter *base = s->nsp->adapter;
    if (!base || base->ops != &sioc__workers_adapter || !s->pid[0] || !s->connected) {
        return;
    }
    wnsp *a = (wnsp *)base;
    sioc__saved_session *now = sioc__recovery_session_of(s);
    if (now) {
        record_put(a, now->pid, now->sid, now->rooms, now->data, a->cfg->index, true);
        now->live = true;
        replicate(a, now);
        sioc__saved_session_free(now);
    }
}

static void on_connected(sioc_socket *s, void *user_data)
{
    socket_changed(s);
}

static void on_room(sioc_socket *s, const char *room, void *user_data)
{
    socket_changed(s);
}

/* A socket that left for good (its client's choice): its session goes everywhere. */
static void on_disconnected(sioc_socket *s, const char *reason, void *user_data)
{
    sioc__adapter *base = s->nsp->adapter;
    if (!base || base->ops != &sioc__workers_adapter || !s->pid[0] || sioc__recoverable(reason)) {
        return;
    }
    wnsp *a = (wnsp *)base;
    sioc__saved_session_free(record_take(a, s->pid));
    json_t *msg = json_pack("{s:s}", "pid", s->pid);
    send_all(a, SIOC__CM_SESSION_GONE, msg);
    json_decref(msg);
}

const sioc_observer sioc__workers_observer = {
    .socket_connected = on_connected,
    .socket_disconnected = on_disconnected,
    .room_joined = on_room,
    .room_left = on_room,
};

/* Another worker's session changed. A word from a worker about a session another worker's socket
 * now holds comes late (that socket came back there): it is not heeded. */
static void on_session(wnsp *a, unsigned from, const sioc__cm *m)
{
    const char *pid = json_string_value(json_object_get(m->data, "pid"));
    sioc__saved_session *r = sioc__map_get(&a->store.sessions, pid, strlen(pid));
    if (r && r->owner != from && r->live) {
        return;
    }
    if (m->type == SIOC__CM_SESSION_GONE) {
        if (r && r->owner == from) {
            sioc__saved_session_free(record_take(a, pid));
        }
        return;
    }
    record_put(a, pid, json_string_value(json_object_get(m->data, "sid")),
               json_object_get(m->data, "rooms"), json_object_get(m->data, "data"), from,
               json_is_true(json_object_get(m->data, "live")));
}

typedef struct gone {
    unsigned peer;
    uint64_t now;
} gone;

static void mark_gone(void *value, void *arg)
{
    const gone *g = arg;
    sioc__saved_session *r = value;
    if (r->owner == g->peer && r->live) {
        r->live = false;
        r->at_ms = g->now;
    }
}

/* Worker `peer` died: its sockets are gone, and their sessions may come back elsewhere until
 * maxDisconnectionDuration from now. */
static void owner_gone(wnsp *a, unsigned peer)
{
    gone g = {peer, sioc__wheel_now(wheel_of(a))};
    sioc__map_each(&a->store.sessions, mark_gone, &g);
}

static void persist_session(sioc__adapter *base, sioc__saved_session *session)
{
    wnsp *a = (wnsp *)base;
    record_put(a, session->pid, session->sid, session->rooms, session->data, a->cfg->index, false);
    session->live = false;
    replicate(a, session);
    sioc__saved_session_free(session);
}

/* Another worker's client came back with a pid: the session goes there if its socket has left
 * (this worker's copy of it: every worker that has one gives it, and forgets it). The answer also
 * tells the asker that every broadcast this worker sent before it has reached it. */
static void give_session(sioc__workers_config *cfg, wnsp *a, const char *nsp, unsigned from,
                         const char *id, json_t *data)
{
    const char *pid = json_string_value(json_object_get(data, "pid"));
    const char *offset = json_string_value(json_object_get(data, "offset"));
    sioc__saved_session *r = a ? sioc__map_get(&a->store.sessions, pid, strlen(pid)) : NULL;
    uint64_t top[SIOC__WORKERS_MAX];
    json_t *missed = json_array();
    if (!r || r->live || !offset || !parse_vector(offset, cfg->count, top) ||
        sioc__recovery_newer(&a->store, top, cfg->count, r->rooms, missed) < 0) {
        r = NULL;
    }
    json_t *answer =
        r ? json_pack("{s:s,s:{s:s,s:s,s:O,s:O},s:O}", "requestId", id, "session", "pid", r->pid,
                      "sid", r->sid, "rooms", r->rooms, "data", r->data, "missed", missed)
          : json_pack("{s:s,s:n}", "requestId", id, "session");
    json_decref(missed);
    send_to(cfg, a ? a->uid : "0000000000000000", nsp, from, SIOC__CM_RESTORE_SESSION_RESPONSE,
            answer);
    json_decref(answer);
    if (r) {
        sioc__saved_session_free(record_take(a, pid));
    }
}

/* Whether `r` may come back now: its socket has left, or its worker is gone. */
static bool returnable(const wnsp *a, const sioc__saved_session *r)
{
    bool owner_up = r->owner != a->cfg->index && (a->cfg->up & (UINT64_C(1) << r->owner));
    return !r->live || (r->owner != a->cfg->index && !owner_up);
}

/* Whether [origin, seq, payload] `p` is in `list`. */
static bool has_packet(json_t *list, json_t *p)
{
    size_t i;
    json_t *q;
    json_array_foreach (list, i, q) {
        if (json_equal(json_array_get(q, 0), json_array_get(p, 0)) &&
            json_equal(json_array_get(q, 1), json_array_get(p, 1))) {
            return true;
        }
    }
    return false;
}

/* What the client missed, from the lists of [origin, seq, payload] this worker and those that
 * gave the session kept: the longest in its order (a worker started again since may have kept
 * little), then what the others have beyond it. A new array of payloads, or NULL. */
static json_t *merge_missed(json_t *lists)
{
    size_t i, k, longest = 0;
    json_t *list, *p;
    json_array_foreach (lists, i, list) {
        if (json_array_size(list) > json_array_size(json_array_get(lists, longest))) {
            longest = i;
        }
    }
    json_t *all = json_copy(json_array_get(lists, longest));
    json_array_foreach (lists, i, list) {
        if (i == longest) {
            continue;
        }
        json_array_foreach (list, k, p) {
            if (all && !has_packet(all, p) && json_array_append(all, p) < 0) {
                json_decref(all);
                all = NULL;
            }
        }
    }
    json_t *missed = all ? json_array() : NULL;
    json_array_foreach (all, i, p) {
        json_array_append(missed, json_array_get(p, 2));
    }
    json_decref(all);
    return missed;
}

/* The session, once every worker has answered, with what its client missed. */
static void restored(request *r)
{
    wnsp *a = r->a;
    if (!r->found) { /* nobody gave it: perhaps its worker's word that it left came meanwhile */
        sioc__saved_session *rec = sioc__map_get(&a->store.sessions, r->pid, strlen(r->pid));
        r->found = rec && returnable(a, rec) ? record_take(a, r->pid) : NULL;
    }
    json_t *own = r->found ? json_array() : NULL;
    json_t *missed = NULL;
    if (own &&
        sioc__recovery_newer(&a->store, r->top, workers_count(a), r->found->rooms, own) == 0 &&
        json_array_insert(r->answers, 0, own) == 0 && (missed = merge_missed(r->answers))) {
        restamp(a, r->top, missed);
    }
    json_decref(own);
    if (r->found && !missed) { /* no memory */
        sioc__saved_session_free(r->found);
        r->found = NULL;
    }
    r->restore_cb(r->found, missed, r->user_data); /* both taken over */
    r->found = NULL;
}

/* The session is looked for here (every worker has every session), and every other worker is
 * asked for it too: one whose word that the socket left has not come yet may have it. The
 * restore waits for every answer: each link keeps its order, so once a worker has answered,
 * every broadcast it sent before has reached this one, and what the client missed is all here
 * (what comes later reaches the socket live). */
static void restore_session(sioc__adapter *base, const char *pid, const char *offset,
                            sioc__restore_cb cb, void *arg)
{
    wnsp *a = (wnsp *)base;
    request *r = request_new(a, SIOC__CM_RESTORE_SESSION);
    if (!r || !parse_vector(offset, workers_count(a), r->top) || strlen(pid) >= sizeof(r->pid)) {
        if (r) {
            request_free(r);
        }
        cb(NULL, NULL, arg);
        return;
    }
    snprintf(r->pid, sizeof(r->pid), "%s", pid);
    r->restore_cb = cb;
    r->user_data = arg;
    sioc__saved_session *rec = sioc__map_get(&a->store.sessions, pid, strlen(pid));
    bool connected_here = rec && rec->owner == a->cfg->index && rec->live;
    if (rec && returnable(a, rec)) {
        r->found = record_take(a, pid);
    }
    if (!connected_here) { /* a socket still connected here keeps its session */
        json_t *ask = json_pack("{s:s,s:s,s:s}", "requestId", r->id, "pid", pid, "offset", offset);
        r->waiting = send_all(a, SIOC__CM_RESTORE_SESSION, ask);
        json_decref(ask);
    }
    sioc__timer_start(wheel_of(a), &r->timer,
                      sioc__wheel_now(wheel_of(a)) + a->cfg->requests_timeout_ms, on_timeout);
    check(r);
}

/* Sessions past maxDisconnectionDuration go, now and then. */
static void on_purge(sioc__timer *t)
{
    wnsp *a = CONTAINER(t, wnsp, purge_timer);
    const sioc__core *sio = a->base.nsp->sio;
    sioc__recovery_purge_sessions(&a->store, sio);
    sioc__timer_start(wheel_of(a), t, sioc__wheel_now(wheel_of(a)) + PURGE_EVERY_MS, on_purge);
}

const sioc__adapter_ops sioc__workers_adapter = {
    .name = "workers",
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
    .persist_session = persist_session,
    .restore_session = restore_session,
};
