/* The message set of Node's ClusterAdapter (socket.io-adapter 2.5, lib/cluster-adapter.ts), the
 * one @socket.io/cluster-adapter and the sharded Redis adapter use: an envelope {uid, nsp, type,
 * data}, sans-I/O. Encoded as the sharded adapter encodes it: JSON, or MessagePack (notepack) when
 * `data` holds binary (Node's messages do only in BROADCAST, FETCH_SOCKETS_RESPONSE,
 * SERVER_SIDE_EMIT and its response, BROADCAST_ACK); decoded by Node's rule (a first byte '{' is
 * JSON) and checked
 * against the shape its type has, so that a handler reads fields without checking them again. */
#ifndef SIOC_ADAPTER_CLUSTER_MSG_H
#define SIOC_ADAPTER_CLUSTER_MSG_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

typedef enum sioc__cm_type {
    SIOC__CM_INITIAL_HEARTBEAT = 1,
    SIOC__CM_HEARTBEAT = 2,
    SIOC__CM_BROADCAST = 3,              /* {packet, opts, requestId?}: requestId means with acks */
    SIOC__CM_SOCKETS_JOIN = 4,           /* {opts, rooms} */
    SIOC__CM_SOCKETS_LEAVE = 5,          /* {opts, rooms} */
    SIOC__CM_DISCONNECT_SOCKETS = 6,     /* {opts, close} */
    SIOC__CM_FETCH_SOCKETS = 7,          /* {opts, requestId} */
    SIOC__CM_FETCH_SOCKETS_RESPONSE = 8, /* {requestId, sockets: [{id, handshake, rooms, data}]} */
    SIOC__CM_SERVER_SIDE_EMIT = 9,       /* {packet: [event, ...args], requestId?} */
    SIOC__CM_SERVER_SIDE_EMIT_RESPONSE = 10, /* {requestId, packet} */
    SIOC__CM_BROADCAST_CLIENT_COUNT = 11,    /* {requestId, clientCount} */
    SIOC__CM_BROADCAST_ACK = 12,             /* {requestId, packet} */
    SIOC__CM_ADAPTER_CLOSE = 13,
    /* sioc's own, between the workers of one server (never sent to a Node peer): connection state
     * recovery across workers (a BROADCAST then also says its place among its worker's, "seq"). */
    SIOC__CM_RESTORE_SESSION = 100, /* {requestId, pid} */
    SIOC__CM_RESTORE_SESSION_RESPONSE =
        101,                     /* {requestId, session: {pid, sid, rooms, data} | null} */
    SIOC__CM_SESSION = 102,      /* {pid, sid, rooms, data, live} as it now is */
    SIOC__CM_SESSION_GONE = 103, /* {pid}: its socket left for good */
    SIOC__CM_METRICS = 104,      /* {text}: the sender's metrics, for the one a scrape reaches */
} sioc__cm_type;

/* A decoded message: the fields point into `root` (one reference, the message's). */
typedef struct sioc__cm {
    json_t *root;
    const char *uid;
    const char *nsp;
    sioc__cm_type type;
    json_t *data; /* NULL for the heartbeats and ADAPTER_CLOSE */
} sioc__cm;

/* Appends {uid, nsp, type, data} to `out` (`data` borrowed; NULL for none), JSON or msgpack as
 * above; *msgpack (may be NULL) says which. 0, or -1 on no memory. */
int sioc__cm_encode(sioc__buf *out, const char *uid, const char *nsp, sioc__cm_type type,
                    json_t *data, bool *msgpack);

/* Decodes `len` bytes into *out and checks the shape of the type's data (every field a handler
 * reads has its type: requestId a string, opts an object whose rooms and except are arrays,
 * packet an array or, for BROADCAST, an object with a data array, ...). 0, or -1 with *why (a
 * static string) saying what is wrong. Clear *out with sioc__cm_clear on success. */
int sioc__cm_decode(const void *bytes, size_t len, sioc__cm *out, const char **why);
/* The same for a message already parsed: `root` (taken over: kept in *out, or released). */
int sioc__cm_check(json_t *root, sioc__cm *out, const char **why);
/* The Streams adapter's encodings: the envelope always as msgpack (its pub/sub messages), and
 * `data` alone (a stream entry's field) as JSON, or as msgpack (*msgpack set) when it holds
 * binary. 0, or -1 on no memory. */
int sioc__cm_encode_msgpack(sioc__buf *out, const char *uid, const char *nsp, sioc__cm_type type,
                            json_t *data);
int sioc__cm_encode_data(sioc__buf *out, json_t *data, bool *msgpack);
void sioc__cm_clear(sioc__cm *m);

#endif
