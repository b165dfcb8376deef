/* Server-side events (Node's serverSideEmit and the namespace's listeners of it): sent through
 * the adapter to the other servers of a cluster, received from them through it. */
#include "core/sio.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

int sioc_namespace_on_server_event(sioc_namespace *nsp, const char *event, sioc_server_event_cb cb,
                                   void *user_data)
{
    sioc__handler *h;
    int rc = nsp ? sioc__handler_set(&nsp->server_handlers, event, !cb, &h) : SIOC_ERR_INVALID;
    if (rc == 0 && h) {
        h->cb.server = cb;
        h->user_data = user_data;
    }
    return rc;
}

static int server_side_emit(sioc_namespace *nsp, const char *event, json_t *args,
                            unsigned timeout_ms, sioc_broadcast_ack_cb cb, void *user_data)
{
    if (!nsp || nsp->is_parent || !sioc__valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = sioc__event_data(event, args);
    if (!data) {
        return SIOC_ERR_NOMEM;
    }
    int rc = nsp->adapter->ops->server_side_emit(nsp->adapter, data, timeout_ms, cb, user_data);
    json_decref(data);
    return rc;
}

int sioc_namespace_server_side_emit(sioc_namespace *nsp, const char *event, json_t *args)
{
    return server_side_emit(nsp, event, args, 0, NULL, NULL);
}

int sioc_namespace_server_side_emit_with_ack(sioc_namespace *nsp, const char *event, json_t *args,
                                             unsigned timeout_ms, sioc_broadcast_ack_cb cb,
                                             void *user_data)
{
    return cb ? server_side_emit(nsp, event, args, timeout_ms, cb, user_data) : SIOC_ERR_INVALID;
}

/* ---- answers ---- */

sioc_server_ack *sioc__server_ack_new(sioc_namespace *nsp, void (*answer)(void *ctx, json_t *first),
                                      void (*drop)(void *ctx), void *ctx)
{
    sioc_server_ack *ack = calloc(1, sizeof(*ack));
    if (ack) {
        ack->nsp = nsp;
        ack->answer = answer;
        ack->drop = drop;
        ack->ctx = ctx;
        sioc__list_append(&nsp->server_acks, &ack->link);
    }
    return ack;
}

/* Ends an ack: it leaves its namespace's list, its context is released. */
static void ack_end(sioc_server_ack *ack)
{
    sioc__list_remove(&ack->link);
    ack->drop(ack->ctx);
    free(ack);
}

void sioc_server_ack_send(sioc_server_ack *ack, json_t *arg)
{
    if (ack) {
        ack->answer(ack->ctx, arg ? arg : json_null());
        ack_end(ack);
    }
}

void sioc__namespace_server_event(sioc_namespace *nsp, json_t *data, sioc_server_ack *ack)
{
    char scratch[32];
    const char *event = sioc__sio_event_name(data, scratch, sizeof(scratch));
    sioc__handler *h = event ? sioc__map_get(&nsp->server_handlers, event, strlen(event)) : NULL;
    json_t *args = h ? json_array() : NULL;
    if (!args) { /* nobody listens (as in Node, the sender then waits in vain) */
        if (ack) {
            ack_end(ack);
        }
        return;
    }
    for (size_t i = 1; i < json_array_size(data); i++) {
        json_array_append(args, json_array_get(data, i));
    }
    h->cb.server(nsp, args, ack, h->user_data);
    json_decref(args);
}

/* The namespace is going (the server is freed): acks still unanswered go with it. */
void sioc__server_events_free(sioc_namespace *nsp)
{
    while (!sioc__list_empty(&nsp->server_acks)) {
        ack_end((sioc_server_ack *)nsp->server_acks.next);
    }
    sioc__handlers_free(&nsp->server_handlers);
}
