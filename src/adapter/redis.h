/* The Redis adapter, wire-compatible with @socket.io/redis-adapter 8.3.0's classic adapter: a
 * sioc node joins a cluster of Node socket.io servers through Redis (PUBLISH/PSUBSCRIBE, msgpack
 * as notepack.io writes it). One link per server (redis.c: connections to Redis for commands,
 * for subscriptions and, for the Streams adapter, for blocking reads, on the server's libuv
 * loop, reconnected with a capped backoff); one adapter per namespace (redis_adapter.c). */
#ifndef SIOC_ADAPTER_REDIS_H
#define SIOC_ADAPTER_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "adapter/resp.h"
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
/* PUBLISH (SPUBLISH: Redis 7's sharded pub/sub) `message` (`len` bytes, copied) on `channel`.
 * Returns 0, or SIOC_ERR_CLOSED while the link is down (nothing is queued for later: a broadcast
 * is for now). */
int sioc__redis_publish(sioc__redis *r, const char *channel, const void *message, size_t len);
int sioc__redis_spublish(sioc__redis *r, const char *channel, const void *message, size_t len);
/* A PUBSUB NUMSUB in flight: `cb` gets the number of connections subscribed to the channel, or
 * -1 when the link went down first; exactly once, unless cancelled. */
typedef void (*sioc__redis_count_cb)(long count, void *arg);
typedef struct sioc__redis_query sioc__redis_query;
/* Asks how many connections are subscribed to `channel` (Node's server count; PUBSUB
 * SHARDNUMSUB with `sharded`). Returns the query (the link frees it once answered), or NULL while
 * the link is down or on no memory. */
sioc__redis_query *sioc__redis_numsub(sioc__redis *r, const char *channel, bool sharded,
                                      sioc__redis_count_cb cb, void *arg);
/* The query's callback will not be called (its `arg` may go). */
void sioc__redis_query_cancel(sioc__redis_query *q);
/* A command's reply (borrowed for the call), or NULL when the connection went first. */
typedef sioc__resp_reply_cb sioc__redis_reply_cb;
/* Sends `argv` (`argc` arguments of `lens` bytes, borrowed; binary-safe) on the commands
 * connection; `cb` gets the reply, exactly once unless cancelled, in the order the commands were
 * sent. Returns the query (the link frees it once answered), or NULL while that connection is
 * down or on no memory (then `cb` is not called). */
sioc__redis_query *sioc__redis_command(sioc__redis *r, int argc, const char *const *argv,
                                       const size_t *lens, sioc__redis_reply_cb cb, void *arg);
/* A third connection for commands that block (XREAD BLOCK): opened by the first call, kept up
 * from then on, and counted in sioc__redis_up. */
void sioc__redis_use_blocking(sioc__redis *r);
/* sioc__redis_command on that connection (sioc__redis_use_blocking first). */
sioc__redis_query *sioc__redis_blocking_command(sioc__redis *r, int argc, const char *const *argv,
                                                const size_t *lens, sioc__redis_reply_cb cb,
                                                void *arg);
bool sioc__redis_blocking_ready(const sioc__redis *r);
bool sioc__redis_commands_ready(const sioc__redis *r);
/* `cb` hears each time the commands connection (`blocking` false) or the blocking one becomes
 * ready, the first time and after every reconnection (Redis may have lost everything). One hook
 * per link. */
void sioc__redis_on_ready(sioc__redis *r, void (*cb)(void *arg, bool blocking), void *arg);
/* What a subscription listens to: a channel (SUBSCRIBE), a pattern (PSUBSCRIBE) or a sharded
 * channel (SSUBSCRIBE, Redis 7). */
typedef enum sioc__redis_kind {
    SIOC__REDIS_CHANNEL,
    SIOC__REDIS_PATTERN,
    SIOC__REDIS_SHARDED,
} sioc__redis_kind;
/* Subscribes to `channel`, now and after every reconnection, exactly once. `cb` gets its messages
 * until sioc__redis_unsubscribe (sioc__redis_sunsubscribe for a sharded one). NULL on no
 * memory. */
sioc__redis_sub *sioc__redis_subscribe(sioc__redis *r, const char *channel, sioc__redis_kind kind,
                                       sioc__redis_message_cb cb, void *arg);
/* No more messages for `sub` (freed with the link; Redis keeps the subscription, for a namespace
 * that comes back under the same name). */
void sioc__redis_unsubscribe(sioc__redis *r, sioc__redis_sub *sub);
/* Undoes a sharded subscription at once (SUNSUBSCRIBE; the sharded adapter's room channels come
 * and go with their rooms); `sub` is freed. */
void sioc__redis_sunsubscribe(sioc__redis *r, sioc__redis_sub *sub);

/* The adapter's configuration: the link, the key prefix ("socket.io"), and how long this node's
 * requests (fetches, server-side emits with acks) wait for the other nodes (Node's
 * requestsTimeout, 5000 ms). */
typedef struct sioc__redis_config {
    sioc__redis *link;
    const char *prefix;
    unsigned requests_timeout_ms;
} sioc__redis_config;

extern const sioc__adapter_ops sioc__redis_adapter;

#endif
