/* The sharded Redis adapter, wire-compatible with createShardedAdapter of @socket.io/redis-adapter
 * 8.3.0: Node's ClusterAdapter messages (cluster_msg.h) over Redis 7's sharded pub/sub
 * (SSUBSCRIBE / SPUBLISH on the link, redis.h). Per namespace: the channel
 * "<prefix>#<nsp>#", this node's response channel "<prefix>#<nsp>#<uid>#", and in the dynamic
 * modes a channel per room, "<prefix>#<nsp>#<room>#", that a broadcast to that one room goes to.
 * The node count is PUBSUB SHARDNUMSUB of the namespace's channel. */
#ifndef SIOC_ADAPTER_SHARDED_H
#define SIOC_ADAPTER_SHARDED_H

#include "adapter/redis.h"
#include "core/adapter.h"
#include "util/list.h"

/* Node's subscriptionMode: "static" (the two channels only), "dynamic" (and a channel per room
 * that is not a socket's own), "dynamic-private" (a channel per room). Must be the same on every
 * node. */
typedef enum sioc__sharded_mode {
    SIOC__SHARDED_STATIC,
    SIOC__SHARDED_DYNAMIC,
    SIOC__SHARDED_DYNAMIC_PRIVATE,
} sioc__sharded_mode;

/* Shared by a server's namespaces (borrowed by each; lives as long as the server). */
typedef struct sioc__sharded_config {
    sioc__redis *link;
    const char *prefix; /* Node's channelPrefix, "socket.io" */
    sioc__sharded_mode mode;
    unsigned requests_timeout_ms; /* fetches and server-side emits wait this long: 5000 */
    sioc__link adapters;          /* the namespaces' adapters, for the observer */
} sioc__sharded_config;

extern const sioc__adapter_ops sioc__sharded_adapter;
/* In the dynamic modes: subscribes to a room's channel as the room comes to exist and undoes it
 * as it goes (sioc__core_observe, `user_data`: the config). */
extern const sioc_observer sioc__sharded_observer;

#endif
