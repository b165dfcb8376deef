/* Another node's ClusterAdapter messages (cluster_msg.h) applied here, for every adapter that
 * speaks them (the workers' and the sharded Redis one): what they do to this node's sockets and
 * listeners, as Node's ClusterAdapter.onMessage does, and their answers, which go back to the
 * node that asked by the adapter's own way (its replier). */
#ifndef SIOC_ADAPTER_CLUSTER_ANSWER_H
#define SIOC_ADAPTER_CLUSTER_ANSWER_H

#include <jansson.h>

#include "adapter/cluster_msg.h"
#include "adapter/wire.h"
#include "core/adapter.h"
#include "sioc.h"

/* How answers reach the node that asked. The adapter embeds it first in its own struct and sets
 * `send` (gets {type, data}, `data` borrowed) and `free` (lets the whole struct go: called
 * exactly once, after the last answer or when none can come any more). It holds no adapter: a
 * namespace may go while an acknowledgement is still awaited. */
typedef struct sioc__cm_replier sioc__cm_replier;
struct sioc__cm_replier {
    void (*send)(sioc__cm_replier *r, sioc__cm_type type, json_t *data);
    void (*free)(sioc__cm_replier *r);
    char request_id[64];
};

/* Applies `m` — SOCKETS_JOIN, SOCKETS_LEAVE, DISCONNECT_SOCKETS, FETCH_SOCKETS,
 * SERVER_SIDE_EMIT, or a BROADCAST with a requestId (one without is the adapter's own to deliver)
 * — to `nsp`. `replier` (taken over; NULL when `m` has no requestId, or on no memory, then no
 * answer goes) answers it: a fetch's sockets, each listener's first ack, a broadcast's client
 * count (even 0: the asker waits for it) and each client's ack. */
void sioc__cm_answer(sioc_namespace *nsp, const sioc__cm *m, sioc__cm_replier *replier);

/* This node's socketsJoin / socketsLeave / disconnectSockets as Node's ClusterAdapter does them:
 * applied to the local sockets, and (unless SIOC_EMIT_LOCAL) `tell` the other nodes, by the
 * adapter's own way, the SOCKETS_JOIN / SOCKETS_LEAVE / DISCONNECT_SOCKETS message (`data`
 * borrowed; a node that cannot be reached misses it: applied here stands). A disconnect is told
 * first: the target's rooms may go with the sockets disconnected here. Returns the local part's
 * code, or SIOC_ERR_NOMEM when the message cannot be made. */
typedef void (*sioc__cm_tell_fn)(sioc__adapter *a, sioc__cm_type type, json_t *data);
int sioc__cm_sockets_rooms(sioc__adapter *a, bool join, const sioc_target *t,
                           const char *const *rooms, size_t n, sioc__cm_tell_fn tell);
int sioc__cm_disconnect_sockets(sioc__adapter *a, const sioc_target *t, bool close,
                                sioc__cm_tell_fn tell);

/* The sockets a BROADCAST `m` is for: its opts' rooms and except rooms, volatile when its flags
 * say so. Free with sioc__wire_target_free. */
void sioc__cm_broadcast_target(const sioc__cm *m, sioc__wire_target *rt);

/* A BROADCAST without requestId (each node delivers its own) delivered to `nsp`'s sockets. With
 * `offset` (the Streams adapter's stream entry id), as Node's addOffsetIfNecessary: appended to
 * the event's arguments when connection state recovery is on and the broadcast is not volatile,
 * so that the client can say how far it got. */
void sioc__cm_deliver(sioc_namespace *nsp, const sioc__cm *m, const char *offset);

#endif
