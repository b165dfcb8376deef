/* The Redis adapter, wire-compatible with @socket.io/redis-adapter 8.3.0's classic adapter: a
 * sioc node joins a cluster of Node socket.io servers through Redis (PUBLISH/PSUBSCRIBE, msgpack
 * as notepack.io writes it). One link per server (redis.c: two connections to Redis, one for
 * commands and one for subscriptions, on the server's libuv loop, reconnected with a capped
 * backoff); one adapter per namespace (redis_adapter.c). */
#ifndef SIOC_ADAPTER_REDIS_H
#define SIOC_ADAPTER_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "core/adapter.h"

typedef struct sioc__redis sioc__redis;

/* What a subscription hears: the channel and the message, borrowed for the call. */
typedef void (*sioc__redis_message_cb)(void *arg, const char *channel, size_t channel_len,
                                       const char *message, size_t len);
typedef struct sioc__redis_sub sioc__redis_sub;

/* A link to the Redis at `url` ("redis://[:password@]host:port[/db]"; copied) on `loop`
 * (borrowed). Connects at once and keeps reconnecting. NULL for a bad URL or no memory. */
sioc__redis *sioc__redis_new(const char *url, uv_loop_t *loop);
/* Closes the connections and stops reconnecting; their handles go with the loop's next turns, so
 * before the loop closes. Subscriptions stay (they hear nothing more). Accepts NULL. */
void sioc__redis_close(sioc__redis *r);
/* Frees the link (closing it first if need be), once the loop has let go of its handles.
 * Accepts NULL. */
void sioc__redis_free(sioc__redis *r);
/* Whether the link is up (both connections ready). */
bool sioc__redis_up(const sioc__redis *r);
/* PUBLISH `message` (`len` bytes, copied) on `channel`. Returns 0, or SIOC_ERR_CLOSED while the
 * link is down (nothing is queued for later: a broadcast is for now). */
int sioc__redis_publish(sioc__redis *r, const char *channel, const void *message, size_t len);
/* Subscribes to `channel` (a pattern with `pattern`), now and after every reconnection, exactly
 * once. `cb` gets its messages until sioc__redis_unsubscribe. NULL on no memory. */
sioc__redis_sub *sioc__redis_subscribe(sioc__redis *r, const char *channel, bool pattern,
                                       sioc__redis_message_cb cb, void *arg);
/* No more messages for `sub` (freed with the link; Redis keeps the subscription, for a namespace
 * that comes back under the same name). */
void sioc__redis_unsubscribe(sioc__redis *r, sioc__redis_sub *sub);

/* The adapter's configuration: the link, and the key prefix ("socket.io"). */
typedef struct sioc__redis_config {
    sioc__redis *link;
    const char *prefix;
} sioc__redis_config;

extern const sioc__adapter_ops sioc__redis_adapter;

#endif
