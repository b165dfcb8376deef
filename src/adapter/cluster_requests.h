/* This node's requests as Node's ClusterAdapter words them — fetchSockets, serverSideEmit,
 * broadcasts with acks — for the adapters that speak its messages over Redis (the sharded and the
 * Streams ones): the messages built, counted against the nodes (counted.c) and published by the
 * adapter's own ops. Embedded in the adapter. */
#ifndef SIOC_ADAPTER_CLUSTER_REQUESTS_H
#define SIOC_ADAPTER_CLUSTER_REQUESTS_H

#include "adapter/counted.h"

typedef struct sioc__cluster_requests {
    sioc__link pending; /* sioc__counted */
    const sioc__counted_ops *ops;
    void *adapter; /* the ops' business */
    sioc_namespace *nsp;
    sioc__redis *link;
    unsigned timeout_ms; /* Node's requestsTimeout */
} sioc__cluster_requests;

void sioc__cluster_requests_init(sioc__cluster_requests *q, const sioc__counted_ops *ops,
                                 void *adapter, sioc_namespace *nsp, sioc__redis *link,
                                 unsigned timeout_ms);
/* The ClusterAdapter message type of a request (its ops' publish sends r->message as it). */
sioc__cm_type sioc__cluster_request_type(const sioc__counted *r);

/* The adapter operations (core/adapter.h) fetch_sockets, server_side_emit (without `cb`:
 * published once, nothing awaited) and broadcast_with_ack, SIOC_EMIT_LOCAL honoured. */
int sioc__cluster_fetch(sioc__cluster_requests *q, const sioc_target *t, sioc_fetch_cb cb,
                        void *user_data);
int sioc__cluster_emit(sioc__cluster_requests *q, json_t *data, unsigned timeout_ms,
                       sioc_broadcast_ack_cb cb, void *user_data);
int sioc__cluster_broadcast_with_ack(sioc__cluster_requests *q, json_t *data, const sioc_target *t,
                                     sioc__bcast_ack *b);

#endif
