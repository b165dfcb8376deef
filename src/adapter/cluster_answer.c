/* Another node's ClusterAdapter messages applied here (cluster_answer.h). */
#include "adapter/cluster_answer.h"

#include <stdlib.h>

#include "adapter/wire.h"
#include "core/adapter.h"
#include "core/sio.h"

/* Node's receivers wait as long as the sockets live; a bound keeps one that never answers from
 * holding the wait forever. */
#define FORWARD_TIMEOUT_MS 60000

/* Sends {requestId, key: value} (`value` borrowed; NULL: null) as `type`. */
static void reply(sioc__cm_replier *r, sioc__cm_type type, const char *key, json_t *value)
{
    json_t *data =
        json_pack("{s:s,s:O}", "requestId", r->request_id, key, value ? value : json_null());
    if (data) {
        r->send(r, type, data);
    }
    json_decref(data);
}

static void server_ack_answer(void *ctx, json_t *first)
{
    reply(ctx, SIOC__CM_SERVER_SIDE_EMIT_RESPONSE, "packet", first);
}

static void broadcast_ack_answer(json_t *first, void *ctx)
{
    reply(ctx, SIOC__CM_BROADCAST_ACK, "packet", first);
}

static void replier_free(void *ctx)
{
    sioc__cm_replier *r = ctx;
    r->free(r);
}

static void broadcast_done(int err, json_t *responses, void *ctx)
{
    replier_free(ctx);
}

/* A broadcast with acks: the count of sockets reached, then each one's ack. */
static void forward(sioc_namespace *nsp, const sioc__cm *m, const sioc_target *t,
                    sioc__cm_replier *r)
{
    json_t *data = json_object_get(json_object_get(m->data, "packet"), "data");
    long reached = sioc__forward_with_ack(nsp, data, t, FORWARD_TIMEOUT_MS, broadcast_ack_answer,
                                          broadcast_done, r);
    json_t *count = json_integer(reached > 0 ? reached : 0);
    reply(r, SIOC__CM_BROADCAST_CLIENT_COUNT, "clientCount", count);
    json_decref(count);
    if (reached < 0) {
        r->free(r); /* not taken: no memory */
    }
}

void sioc__cm_answer(sioc_namespace *nsp, const sioc__cm *m, sioc__cm_replier *r)
{
    sioc__wire_target rt;
    sioc__wire_target_of(json_object_get(m->data, "opts"), &rt);
    json_t *keep = json_array();
    size_t n = 0;
    const char **rooms = m->type == SIOC__CM_SOCKETS_JOIN || m->type == SIOC__CM_SOCKETS_LEAVE
                             ? sioc__wire_names(json_object_get(m->data, "rooms"), keep, &n)
                             : NULL;
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
    case SIOC__CM_FETCH_SOCKETS:
        if (r) {
            json_t *sockets = sioc__wire_sockets(nsp, &rt.t, true);
            reply(r, SIOC__CM_FETCH_SOCKETS_RESPONSE, "sockets", sockets);
            json_decref(sockets);
        }
        break;
    case SIOC__CM_SERVER_SIDE_EMIT: {
        sioc_server_ack *ack =
            r ? sioc__server_ack_new(nsp, server_ack_answer, replier_free, r) : NULL;
        if (ack) {
            r = NULL; /* the ack has it now */
        }
        sioc__namespace_server_event(nsp, json_object_get(m->data, "packet"), ack);
        break;
    }
    case SIOC__CM_BROADCAST:
        if (r) {
            forward(nsp, m, &rt.t, r);
            r = NULL;
        }
        break;
    default:
        break;
    }
    if (r) {
        r->free(r);
    }
    free(rooms);
    json_decref(keep);
    sioc__wire_target_free(&rt);
}

void sioc__cm_broadcast_target(const sioc__cm *m, sioc__wire_target *rt)
{
    json_t *opts = json_object_get(m->data, "opts");
    sioc__wire_target_of(opts, rt);
    if (json_is_true(json_object_get(json_object_get(opts, "flags"), "volatile"))) {
        rt->t.flags |= SIOC_EMIT_VOLATILE;
    }
}

void sioc__cm_deliver(sioc_namespace *nsp, const sioc__cm *m, const char *offset)
{
    json_t *data = json_object_get(json_object_get(m->data, "packet"), "data");
    sioc__wire_target rt;
    sioc__cm_broadcast_target(m, &rt);
    if (offset && nsp->sio->recovery_ms && !(rt.t.flags & SIOC_EMIT_VOLATILE)) {
        json_array_append_new(data, json_string(offset)); /* the message's own copy */
    }
    sioc__local_broadcast(nsp, data, &rt.t, NULL);
    sioc__wire_target_free(&rt);
}

static bool local_only(const sioc_target *t)
{
    return t && (t->flags & SIOC_EMIT_LOCAL);
}

int sioc__cm_sockets_rooms(sioc__adapter *a, bool join, const sioc_target *t,
                           const char *const *rooms, size_t n, sioc__cm_tell_fn tell)
{
    int rc = join ? sioc__local_add_sockets(a->nsp, t, rooms, n)
                  : sioc__local_del_sockets(a->nsp, t, rooms, n);
    if (rc < 0 || local_only(t)) {
        return rc;
    }
    json_t *msg = sioc__wire_cm_rooms(t, rooms, n);
    if (!msg) {
        return SIOC_ERR_NOMEM;
    }
    tell(a, join ? SIOC__CM_SOCKETS_JOIN : SIOC__CM_SOCKETS_LEAVE, msg);
    json_decref(msg);
    return 0;
}

int sioc__cm_disconnect_sockets(sioc__adapter *a, const sioc_target *t, bool close,
                                sioc__cm_tell_fn tell)
{
    if (!local_only(t)) {
        json_t *msg = sioc__wire_cm_disconnect(t, close);
        if (!msg) {
            return SIOC_ERR_NOMEM;
        }
        tell(a, SIOC__CM_DISCONNECT_SOCKETS, msg);
        json_decref(msg);
    }
    return sioc__local_disconnect_sockets(a->nsp, t, close);
}
