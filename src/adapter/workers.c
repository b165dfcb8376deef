/* The workers adapter (workers.h): what Node's ClusterAdapter does, between the worker processes
 * of one server. Everything goes to every other worker that is up; answers go back to the worker
 * that asked (the link knows who sent a frame). A request waits for each worker it went to, and
 * one that goes down meanwhile is waited for no more (the link says so at once), so a worker's
 * death never makes a fetch wait out its timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_answer.h"
#include "adapter/wire.h"
#include "adapter/workers_internal.h"
#include "util/log.h"

/* Sends {type, data} (borrowed) from `uid` in namespace `nsp` to worker `to`. */
void sioc__workers_send_to(sioc__workers_config *cfg, const char *uid, const char *nsp, unsigned to,
                           sioc__cm_type type, json_t *data)
{
    sioc__buf out = {0};
    if (cfg->bus && data && sioc__cm_encode(&out, uid, nsp, type, data, NULL) == 0) {
        sioc__bus_send(cfg->bus, to, out.data, out.len); /* gone: its request is over */
    }
    sioc__buf_free(&out);
}

/* Sends to every worker that is up; returns the set of those it went to. */
uint64_t sioc__workers_send_all(sioc__wnsp *a, sioc__cm_type type, json_t *data)
{
    sioc__buf out = {0};
    uint64_t sent = 0;
    if (a->cfg->bus && data &&
        sioc__cm_encode(&out, a->uid, a->base.nsp->name, type, data, NULL) == 0) {
        for (unsigned i = 0; i < sioc__wnsp_count(a); i++) {
            if (sioc__bus_send(a->cfg->bus, i, out.data, out.len) == 0) {
                sent |= UINT64_C(1) << i;
            }
        }
    }
    sioc__buf_free(&out);
    return sent;
}

static unsigned sioc__wnsp_peers_up(const sioc__wnsp *a)
{
    return a->cfg->bus ? sioc__bus_peers_up(a->cfg->bus) : 0;
}

/* ---- this worker's requests ---- */

sioc__wrequest *sioc__workers_request_new(sioc__wnsp *a, sioc__cm_type type)
{
    sioc__wrequest *r = calloc(1, sizeof(*r));
    if (!r || !(r->answers = json_array())) {
        free(r);
        return NULL;
    }
    r->a = a;
    r->type = type;
    sioc__wire_random_id(r->id);
    sioc__list_append(&a->pending, &r->link);
    return r;
}

void sioc__workers_request_free(sioc__wrequest *r)
{
    sioc__list_remove(&r->link);
    sioc__timer_stop(sioc__wnsp_wheel(r->a), &r->timer);
    if (r->b) {
        sioc__bcast_ack_release(r->b);
    }
    json_decref(r->answers);
    json_decref(r->opts);
    sioc__saved_session_free(r->found);
    free(r);
}

static void finish(sioc__wrequest *r, int err)
{
    sioc__list_remove(&r->link); /* no answer reaches it from the callback on */
    sioc__list_init(&r->link);
    if (r->type == SIOC__CM_FETCH_SOCKETS) {
        sioc__wire_fetch_done(r->a->base.nsp, r->opts, r->answers, err, r->fetch, r->user_data);
    } else if (r->type == SIOC__CM_SERVER_SIDE_EMIT) {
        r->emit_cb(err, r->answers, r->user_data);
    } else if (r->type == SIOC__CM_RESTORE_SESSION) {
        sioc__workers_restored(r);
    }
    sioc__workers_request_free(r);
}

void sioc__workers_check(sioc__wrequest *r)
{
    bool done = r->type == SIOC__CM_BROADCAST ? sioc__bcast_ack_decided(r->b) : r->waiting == 0;
    if (done) {
        finish(r, 0);
    }
}

void sioc__workers_on_timeout(sioc__timer *t)
{
    sioc__wrequest *r = CONTAINER(t, sioc__wrequest, timer);
    /* A broadcast times itself out in the core; its hold on it ends. */
    finish(r, r->type == SIOC__CM_BROADCAST ? 0 : SIOC_ERR_TIMEOUT);
}

/* Worker `from` is heard from for `r` (or will never be: it went down). */
static void heard(sioc__wrequest *r, unsigned from)
{
    uint64_t bit = UINT64_C(1) << from;
    if (r->type == SIOC__CM_BROADCAST && (r->waiting & bit) && !(r->counted & bit)) {
        r->counted |= bit;
        sioc__bcast_ack_count(r->b, 0); /* its count never came: none of its clients will answer */
    }
    r->waiting &= ~bit;
}

static void response(sioc__wnsp *a, unsigned from, const sioc__cm *m)
{
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    sioc__wrequest *r = NULL;
    for (sioc__link *l = a->pending.next; l != &a->pending; l = l->next) {
        if (strcmp(((sioc__wrequest *)l)->id, id) == 0) {
            r = (sioc__wrequest *)l;
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
            r->found = sioc__workers_session_of(session, sioc__wnsp_wheel(a));
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
    sioc__workers_check(r);
}

static int fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                         void *user_data)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    if ((t && (t->flags & SIOC_EMIT_LOCAL)) || sioc__wnsp_peers_up(a) == 0) {
        return sioc__local_fetch_sockets(base->nsp, t, cb, user_data);
    }
    sioc__wrequest *r = sioc__workers_request_new(a, SIOC__CM_FETCH_SOCKETS);
    json_t *data = r && (r->opts = sioc__wire_opts_of(t))
                       ? json_pack("{s:O,s:s}", "opts", r->opts, "requestId", r->id)
                       : NULL;
    if (!data) {
        if (r) {
            sioc__workers_request_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    r->fetch = cb;
    r->user_data = user_data;
    r->waiting = sioc__workers_send_all(a, SIOC__CM_FETCH_SOCKETS, data);
    json_decref(data);
    sioc__timer_start(sioc__wnsp_wheel(a), &r->timer,
                      sioc__wheel_now(sioc__wnsp_wheel(a)) + a->cfg->requests_timeout_ms,
                      sioc__workers_on_timeout);
    sioc__workers_check(r);
    return 0;
}

static int server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                            sioc_broadcast_ack_cb cb, void *user_data)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    sioc__wrequest *r = cb ? sioc__workers_request_new(a, SIOC__CM_SERVER_SIDE_EMIT) : NULL;
    json_t *msg = cb ? (r ? json_pack("{s:O,s:s}", "packet", data, "requestId", r->id) : NULL)
                     : json_pack("{s:O}", "packet", data);
    if (!msg) {
        if (r) {
            sioc__workers_request_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    uint64_t sent = sioc__workers_send_all(a, SIOC__CM_SERVER_SIDE_EMIT, msg);
    json_decref(msg);
    if (!r) {
        return 0;
    }
    r->emit_cb = cb;
    r->user_data = user_data;
    r->waiting = sent;
    unsigned ms = timeout_ms ? timeout_ms : a->cfg->requests_timeout_ms;
    sioc__timer_start(sioc__wnsp_wheel(a), &r->timer, sioc__wheel_now(sioc__wnsp_wheel(a)) + ms,
                      sioc__workers_on_timeout);
    sioc__workers_check(r);
    return 0;
}

static int broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                              sioc__bcast_ack *b)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    sioc__wrequest *r = !(t && (t->flags & SIOC_EMIT_LOCAL)) && sioc__wnsp_peers_up(a)
                            ? sioc__workers_request_new(a, SIOC__CM_BROADCAST)
                            : NULL;
    json_t *msg = NULL;
    if (r) {
        uint64_t due = sioc__bcast_ack_deadline(b);
        msg = sioc__wire_cm_broadcast_ack(base->nsp->name, data, t,
                                          due - sioc__wheel_now(sioc__wnsp_wheel(a)), r->id);
        if (!msg) {
            sioc__workers_request_free(r);
            return SIOC_ERR_NOMEM;
        }
        r->b = b;
        sioc__bcast_ack_hold(b);
        /* Each worker it goes to reports a count; those are expected before this one's, which
         * must not decide the broadcast alone. */
        r->waiting = sioc__workers_send_all(a, SIOC__CM_BROADCAST, msg);
        unsigned others = 0;
        for (uint64_t w = r->waiting; w; w &= w - 1) {
            others++;
        }
        sioc__bcast_ack_expect(b, others);
        json_decref(msg);
    }
    int rc = sioc__local_broadcast_with_ack(base->nsp, data, t, b);
    if (r && rc < 0) {
        sioc__workers_request_free(r);
        return rc;
    }
    if (r) {
        sioc__timer_start(sioc__wnsp_wheel(a), &r->timer, sioc__bcast_ack_deadline(b),
                          sioc__workers_on_timeout);
        sioc__workers_check(r);
    }
    return rc;
}

/* ---- what needs no answer ---- */

static int broadcast(sioc__adapter *base, json_t *data, const sioc_target *t)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    uint64_t seq = sioc__workers_kept(a, t) ? ++a->next_seq : 0;
    if (!(t && (t->flags & SIOC_EMIT_LOCAL)) &&
        sioc__wnsp_peers_up(a)) { /* nobody else: nothing built */
        json_t *msg = sioc__wire_cm_broadcast(base->nsp->name, data, t);
        if (msg && seq) {
            json_object_set_new(msg, "seq", json_integer((json_int_t)seq));
        }
        sioc__workers_send_all(a, SIOC__CM_BROADCAST,
                               msg); /* encoded now, before this worker's offset */
        json_decref(msg);
    }
    if (seq && sioc__workers_stamp(a, data, t, a->cfg->index, seq) < 0) {
        return SIOC_ERR_NOMEM;
    }
    return sioc__local_broadcast(base->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
}

/* Joins, leaves and disconnects go to every other worker. */
static void tell(sioc__adapter *base, sioc__cm_type type, json_t *data)
{
    sioc__workers_send_all((sioc__wnsp *)base, type, data);
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

/* ---- the other workers' messages ---- */

/* Answers to another worker's request go back over the link. */
typedef struct worker_replier {
    sioc__cm_replier base; /* first */
    sioc__workers_config *cfg;
    unsigned to;
    char uid[17];
    char *nsp;
} worker_replier;

static void worker_send(sioc__cm_replier *base, sioc__cm_type type, json_t *data)
{
    worker_replier *w = (worker_replier *)base;
    sioc__workers_send_to(w->cfg, w->uid, w->nsp, w->to, type, data);
}

static void worker_free(sioc__cm_replier *base)
{
    free(((worker_replier *)base)->nsp);
    free(base);
}

/* The way back to worker `to` for `m` (NULL: `m` asks for no answer, or no memory). */
static sioc__cm_replier *replier_to(sioc__wnsp *a, unsigned to, const sioc__cm *m)
{
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    worker_replier *w = id ? calloc(1, sizeof(*w)) : NULL;
    if (w && !(w->nsp = strdup(a->base.nsp->name))) {
        free(w);
        w = NULL;
    }
    if (w) {
        w->base.send = worker_send;
        w->base.free = worker_free;
        snprintf(w->base.request_id, sizeof(w->base.request_id), "%s", id);
        w->cfg = a->cfg;
        w->to = to;
        memcpy(w->uid, a->uid, sizeof(w->uid));
    }
    return w ? &w->base : NULL;
}

static void on_broadcast(sioc__wnsp *a, unsigned from, const sioc__cm *m)
{
    if (json_object_get(m->data, "requestId")) { /* with acks */
        sioc__cm_answer(a->base.nsp, m, replier_to(a, from, m));
        return;
    }
    json_t *data = json_object_get(json_object_get(m->data, "packet"), "data");
    sioc__wire_target rt;
    sioc__cm_broadcast_target(m, &rt);
    json_t *seq = json_object_get(m->data, "seq");
    if (!seq || !sioc__workers_kept(a, &rt.t) ||
        sioc__workers_stamp(a, data, &rt.t, from, (uint64_t)json_integer_value(seq)) == 0) {
        sioc__local_broadcast(a->base.nsp, data, &rt.t, NULL);
    }
    sioc__wire_target_free(&rt);
}

static void on_request(sioc__wnsp *a, unsigned from, const sioc__cm *m)
{
    const char *id = json_string_value(json_object_get(m->data, "requestId"));
    switch (m->type) {
    case SIOC__CM_RESTORE_SESSION:
        sioc__workers_give_session(a->cfg, a, a->base.nsp->name, from, id, m->data);
        break;
    case SIOC__CM_SESSION:
    case SIOC__CM_SESSION_GONE:
        sioc__workers_on_session(a, from, m);
        break;
    default:
        sioc__cm_answer(a->base.nsp, m, replier_to(a, from, m));
        break;
    }
}

static sioc__wnsp *find(sioc__workers_config *cfg, const char *name)
{
    for (sioc__link *l = cfg->adapters.next; l != &cfg->adapters; l = l->next) {
        sioc__wnsp *a = CONTAINER(l, sioc__wnsp, link);
        if (strcmp(a->base.nsp->name, name) == 0) {
            return a;
        }
    }
    return NULL;
}

void sioc__workers_share_metrics(sioc__workers_config *cfg, const char *text)
{
    json_t *data = json_pack("{s:s}", "text", text);
    sioc__buf out = {0};
    if (cfg->bus && data &&
        sioc__cm_encode(&out, "0000000000000000", "/", SIOC__CM_METRICS, data, NULL) == 0) {
        for (unsigned i = 0; i < cfg->count; i++) {
            if (i != cfg->index) {
                sioc__bus_send(cfg->bus, i, out.data, out.len);
            }
        }
    }
    sioc__buf_free(&out);
    json_decref(data);
}

void sioc__workers_metrics_free(sioc__workers_config *cfg)
{
    for (unsigned i = 0; i < SIOC__WORKERS_MAX; i++) {
        free(cfg->metrics[i]);
        cfg->metrics[i] = NULL;
    }
}

static void keep_metrics(sioc__workers_config *cfg, unsigned from, const sioc__cm *m)
{
    char *text = strdup(json_string_value(json_object_get(m->data, "text")));
    if (text && from < SIOC__WORKERS_MAX) {
        free(cfg->metrics[from]);
        cfg->metrics[from] = text;
        cfg->metrics_at[from] = sioc__now_ms();
    } else {
        free(text);
    }
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
    if (m.type == SIOC__CM_METRICS) {
        keep_metrics(cfg, from, &m);
        sioc__cm_clear(&m);
        return;
    }
    sioc__wnsp *a = find(cfg, m.nsp);
    if (!a) {
        /* No such namespace here: nothing to deliver, but a request that counts on every worker
         * gets its empty answer, so that the asker does not wait (Node's workers without the
         * namespace would stay silent). */
        const char *id = json_string_value(json_object_get(m.data, "requestId"));
        bool fetch = m.type == SIOC__CM_FETCH_SOCKETS;
        if (id && m.type == SIOC__CM_RESTORE_SESSION) {
            sioc__workers_give_session(cfg, NULL, m.nsp, from, id, m.data);
        } else if (id && (fetch || m.type == SIOC__CM_BROADCAST)) {
            json_t *none =
                json_pack("{s:s,s:o}", "requestId", id, fetch ? "sockets" : "clientCount",
                          fetch ? json_array() : json_integer(0));
            sioc__workers_send_to(
                cfg, "0000000000000000", m.nsp, from,
                fetch ? SIOC__CM_FETCH_SOCKETS_RESPONSE : SIOC__CM_BROADCAST_CLIENT_COUNT, none);
            json_decref(none);
        }
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
        sioc__wnsp *a = CONTAINER(l, sioc__wnsp, link);
        sioc__workers_owner_gone(a, peer);
        sioc__link *p = a->pending.next;
        while (p != &a->pending) {
            sioc__wrequest *r = (sioc__wrequest *)p;
            p = p->next;
            if (r->waiting & (UINT64_C(1) << peer)) {
                heard(r, peer);
                sioc__workers_check(r);
            }
        }
    }
}

/* ---- the instance ---- */

static sioc__adapter *create(sioc_namespace *nsp, const void *config)
{
    sioc__wnsp *a = calloc(1, sizeof(*a));
    if (a) {
        a->cfg = (sioc__workers_config *)config;
        sioc__wire_random_id(a->uid);
        /* Above whatever an earlier run of this worker reached (at fewer than a million
         * broadcasts a second), so that a worker started again is not taken for behind. */
        a->next_seq = sioc__now_ms() * 1000;
        sioc__list_init(&a->pending);
        sioc__list_init(&a->link);
    }
    return a ? &a->base : NULL;
}

static int init(sioc__adapter *base)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    sioc__list_append(&a->cfg->adapters, &a->link);
    if (base->nsp->sio->recovery_ms) {
        sioc__timer_start(sioc__wnsp_wheel(a), &a->purge_timer,
                          sioc__wheel_now(sioc__wnsp_wheel(a)) + SIOC__WORKERS_PURGE_MS,
                          sioc__workers_on_purge);
    }
    return 0;
}

static void close_adapter(sioc__adapter *base)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    while (!sioc__list_empty(&a->pending)) {
        finish((sioc__wrequest *)a->pending.next, SIOC_ERR_CLOSED);
    }
    sioc__list_remove(&a->link);
    sioc__timer_stop(sioc__wnsp_wheel(a), &a->purge_timer);
    sioc__recovery_free(&a->store);
    free(a);
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
    .persist_session = sioc__workers_persist_session,
    .restore_session = sioc__workers_restore_session,
};
