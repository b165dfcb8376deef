/* The Redis Streams adapter, wire-compatible with @socket.io/redis-streams-adapter 0.3.1: Node's
 * ClusterAdapter messages (cluster_msg.h) that must not be lost (broadcasts, joins, leaves,
 * disconnects) are appended to a Redis stream (XADD ... MAXLEN ~ maxLen), which every node reads
 * (XREAD BLOCK, on a connection of its own); requests and answers go over pub/sub as msgpack.
 * A stream entry's id is the offset connection state recovery appends to a broadcast, and a
 * client may come back on any node: its session is taken from Redis (GETDEL
 * "<sessionKeyPrefix><pid>", base64 of msgpack {sid, pid, rooms, data}) and what it missed is
 * read back from the stream (XRANGE).
 *
 * Unlike Node's adapter, which writes a session only when its socket leaves, this one keeps the
 * record current while the socket is connected (written when it connects, joins, leaves or its
 * data changes; its expiry renewed), so that a node killed outright loses nobody: any node, sioc
 * or Node, can restore its clients. */
#ifndef SIOC_ADAPTER_STREAMS_H
#define SIOC_ADAPTER_STREAMS_H

#include <stdbool.h>

#include "adapter/redis.h"
#include "core/adapter.h"
#include "util/list.h"
#include "util/wheel.h"

typedef struct sioc__streams sioc__streams;

/* Node's options (createAdapter(redisClient, opts)), the defaults in brackets. */
typedef struct sioc__streams_config {
    sioc__redis *link;
    sioc__wheel *wheel;
    const char *channel_prefix;   /* channelPrefix ["socket.io"] */
    const char *stream_name;      /* streamName ["socket.io"] */
    unsigned stream_count;        /* streamCount [1]: "<streamName>-<i>" when more */
    bool sharded_pubsub;          /* useShardedPubSub [false] */
    unsigned max_len;             /* maxLen [10000] */
    unsigned read_count;          /* readCount [100] */
    unsigned block_ms;            /* blockTimeInMs [5000] */
    const char *session_prefix;   /* sessionKeyPrefix ["sio:session:"] */
    unsigned requests_timeout_ms; /* how long fetches and server-side emits wait [5000] */
    sioc__streams *state;         /* sioc__streams_start's */
} sioc__streams_config;

/* Starts reading the streams (a blocking connection on the link). 0 or SIOC_ERR_NOMEM. */
int sioc__streams_start(sioc__streams_config *cfg);
/* Stops reading and frees the state. Accepts a config never started. */
void sioc__streams_stop(sioc__streams_config *cfg);

extern const sioc__adapter_ops sioc__streams_adapter;
/* Keeps the sessions of connected sockets current in Redis (sioc__core_observe, `user_data`:
 * the config). */
extern const sioc_observer sioc__streams_observer;

#endif
