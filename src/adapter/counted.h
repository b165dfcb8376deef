/* This node's requests to the other nodes through Redis, as Node's requesters make them: the
 * nodes are counted first (PUBSUB NUMSUB or SHARDNUMSUB, this node included), the request is
 * published once the count is known, and the answers are counted against it until all are in or
 * the time is up. Shared by the classic and the sharded adapters: each builds its messages,
 * says how to count and to publish (the ops), and feeds the answers it decodes in.
 *
 * - fetchSockets: the local sockets plus every other node's descriptions; a count <= 1 is local
 *   only; the timeout ends it with SIOC_ERR_TIMEOUT.
 * - serverSideEmit with acks: count - 1 answers; none expected is [] at once.
 * - broadcasts with acks: this node's count and answers, then each other node's, into the core's
 *   sioc__bcast_ack, which times itself out.
 * While Redis is unreachable a request fails at once with SIOC_ERR_CLOSED rather than waiting
 * for its timeout. */
#ifndef SIOC_ADAPTER_COUNTED_H
#define SIOC_ADAPTER_COUNTED_H

#include <jansson.h>

#include "adapter/cluster_answer.h"
#include "adapter/cluster_msg.h"
#include "adapter/redis.h"
#include "core/adapter.h"
#include "util/list.h"
#include "util/wheel.h"

typedef enum sioc__counted_kind {
    SIOC__COUNTED_FETCH,
    SIOC__COUNTED_EMIT,
    SIOC__COUNTED_BROADCAST,
} sioc__counted_kind;

typedef struct sioc__counted sioc__counted;

/* How an adapter reaches the cluster. */
typedef struct sioc__counted_ops {
    /* Asks for the number of nodes; the link answers `cb` with `r` (NULL while down). */
    sioc__redis_query *(*count)(sioc__counted *r, sioc__redis_count_cb cb);
    /* Publishes r->message. 0 or a SIOC_ERR_* code. */
    int (*publish)(sioc__counted *r);
} sioc__counted_ops;

struct sioc__counted {
    sioc__link link; /* first: in the adapter's pending list */
    const sioc__counted_ops *ops;
    void *adapter;       /* the ops' business */
    sioc_namespace *nsp; /* the adapter's */
    sioc__redis *redis;
    char id[17];
    sioc__counted_kind kind;
    json_t *message;          /* set by the adapter before sioc__counted_start */
    sioc__redis_query *count; /* the count in flight, or NULL */
    size_t expected, received;
    unsigned timeout_ms;
    sioc__timer timer;
    json_t *answers;     /* the fetched descriptions, or the server-side answers */
    json_t *opts;        /* a fetch's {rooms, except}: the local part is taken at the end */
    sioc__bcast_ack *b;  /* a broadcast's, held while this waits */
    sioc_fetch_cb fetch; /* the caller's, by kind */
    sioc_broadcast_ack_cb emit_cb;
    void *user_data;
};

/* A request in `pending`, named `id` (copied; at most 16 characters). NULL on no memory. */
sioc__counted *sioc__counted_new(sioc__link *pending, const sioc__counted_ops *ops, void *adapter,
                                 sioc_namespace *nsp, sioc__redis *redis, sioc__counted_kind kind,
                                 const char *id);
void sioc__counted_free(sioc__counted *r);
/* Whether `id` names a request in `pending`. */
bool sioc__counted_pending(sioc__link *pending, const char *id);
/* The request `id` answers may go to: NULL when there is none, or it is still counting. */
sioc__counted *sioc__counted_find(sioc__link *pending, const char *id);
/* Ends every request in `pending` with SIOC_ERR_CLOSED (the namespace goes). */
void sioc__counted_close_all(sioc__link *pending);

/* The operations, once the message is built: a fetch (`cb` called once, at once when Redis is
 * down); a server-side emit with acks (SIOC_ERR_CLOSED, and `r` freed, when Redis is down); a
 * broadcast with acks (`r` NULL: this node only), which also delivers here. */
int sioc__counted_fetch(sioc__counted *r, sioc_fetch_cb cb, void *user_data, unsigned timeout_ms);
int sioc__counted_emit(sioc__counted *r, sioc_broadcast_ack_cb cb, void *user_data,
                       unsigned timeout_ms);
int sioc__counted_broadcast(sioc__counted *r, sioc_namespace *nsp, json_t *data,
                            const sioc_target *t, sioc__bcast_ack *b);

/* Another node's answer `m` (FETCH_SOCKETS_RESPONSE, SERVER_SIDE_EMIT_RESPONSE,
 * BROADCAST_CLIENT_COUNT or BROADCAST_ACK) given to the request in `pending` it names. Returns
 * false when `m` is not an answer; one that is late, or not for this node, is dropped. */
bool sioc__counted_response(sioc__link *pending, const sioc__cm *m);
/* How answers to another node's request go back over Redis: PUBLISH or SPUBLISH (`sharded`) on
 * the asker's `channel` (copied), as JSON or msgpack (cluster_msg.h) or always as msgpack
 * (`msgpack`, the Streams adapter's), from `uid` in `nsp` (copied). A new replier for
 * sioc__cm_answer, or NULL (no memory). */
sioc__cm_replier *sioc__counted_replier(sioc__redis *link, const char *uid, const char *nsp,
                                        const char *channel, const char *request_id, bool sharded,
                                        bool msgpack);
/* The answers (borrowed), as the adapter decodes them; each may end the request. */
void sioc__counted_sockets(sioc__counted *r, json_t *sockets);
void sioc__counted_emitted(sioc__counted *r, json_t *answer);
void sioc__counted_client_count(sioc__counted *r, size_t clients);
void sioc__counted_ack(sioc__counted *r, json_t *answer);

#endif
