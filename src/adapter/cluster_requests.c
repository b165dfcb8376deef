/* This node's ClusterAdapter requests (cluster_requests.h). */
#include "adapter/cluster_requests.h"

#include "adapter/wire.h"
#include "core/sio.h"

void sioc__cluster_requests_init(sioc__cluster_requests *q, const sioc__counted_ops *ops,
                                 void *adapter, sioc_namespace *nsp, sioc__redis *link,
                                 unsigned timeout_ms)
{
    sioc__list_init(&q->pending);
    q->ops = ops;
    q->adapter = adapter;
    q->nsp = nsp;
    q->link = link;
    q->timeout_ms = timeout_ms;
}

sioc__cm_type sioc__cluster_request_type(const sioc__counted *r)
{
    static const sioc__cm_type types[] = {
        [SIOC__COUNTED_FETCH] = SIOC__CM_FETCH_SOCKETS,
        [SIOC__COUNTED_EMIT] = SIOC__CM_SERVER_SIDE_EMIT,
        [SIOC__COUNTED_BROADCAST] = SIOC__CM_BROADCAST,
    };
    return types[r->kind];
}

static sioc__counted *request_new(sioc__cluster_requests *q, sioc__counted_kind kind)
{
    char id[17];
    sioc__wire_random_id(id);
    return sioc__counted_new(&q->pending, q->ops, q->adapter, q->nsp, q->link, kind, id);
}

int sioc__cluster_fetch(sioc__cluster_requests *q, const sioc_target *t, sioc_fetch_cb cb,
                        void *user_data)
{
    if (t && (t->flags & SIOC_EMIT_LOCAL)) {
        return sioc__local_fetch_sockets(q->nsp, t, cb, user_data);
    }
    sioc__counted *r = request_new(q, SIOC__COUNTED_FETCH);
    if (!r || !(r->opts = sioc__wire_opts_of(t)) ||
        !(r->message = json_pack("{s:O,s:s}", "opts", r->opts, "requestId", r->id))) {
        if (r) {
            sioc__counted_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    return sioc__counted_fetch(r, cb, user_data, q->timeout_ms);
}

int sioc__cluster_emit(sioc__cluster_requests *q, json_t *data, unsigned timeout_ms,
                       sioc_broadcast_ack_cb cb, void *user_data)
{
    sioc__counted *r = request_new(q, SIOC__COUNTED_EMIT);
    if (r) {
        r->message = cb ? json_pack("{s:O,s:s}", "packet", data, "requestId", r->id)
                        : json_pack("{s:O}", "packet", data);
    }
    if (!r || !r->message) {
        if (r) {
            sioc__counted_free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    if (!cb) { /* nothing to wait for */
        int rc = q->ops->publish(r);
        sioc__counted_free(r);
        return rc;
    }
    return sioc__counted_emit(r, cb, user_data, timeout_ms ? timeout_ms : q->timeout_ms);
}

int sioc__cluster_broadcast_with_ack(sioc__cluster_requests *q, json_t *data, const sioc_target *t,
                                     sioc__bcast_ack *b)
{
    sioc__counted *r = NULL;
    if (!(t && (t->flags & SIOC_EMIT_LOCAL)) && sioc__redis_up(q->link)) {
        r = request_new(q, SIOC__COUNTED_BROADCAST);
    }
    if (r) {
        uint64_t due = sioc__bcast_ack_deadline(b);
        r->message = sioc__wire_cm_broadcast_ack(q->nsp->name, data, t,
                                                 due - sioc__wheel_now(q->nsp->sio->wheel), r->id);
        if (!r->message) {
            sioc__counted_free(r);
            return SIOC_ERR_NOMEM;
        }
    }
    return sioc__counted_broadcast(r, q->nsp, data, t, b);
}
