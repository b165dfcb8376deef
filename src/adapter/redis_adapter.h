/* The Redis adapter's parts (private to src/adapter/): one instance per namespace. Broadcasts and
 * the instance's life are in redis_adapter.c, the answers to other nodes' requests in
 * redis_answer.c, this node's own requests in redis_request.c. */
#ifndef SIOC_ADAPTER_REDIS_ADAPTER_H
#define SIOC_ADAPTER_REDIS_ADAPTER_H

#include <jansson.h>

#include "adapter/redis.h"
#include "adapter/wire.h"
#include "util/list.h"

/* The request and response types of @socket.io/redis-adapter's classic adapter. */
enum {
    SIOC__REQ_SOCKETS = 0,
    SIOC__REQ_ALL_ROOMS = 1,
    SIOC__REQ_REMOTE_JOIN = 2,
    SIOC__REQ_REMOTE_LEAVE = 3,
    SIOC__REQ_REMOTE_DISCONNECT = 4,
    SIOC__REQ_REMOTE_FETCH = 5,
    SIOC__REQ_SERVER_SIDE_EMIT = 6,
    SIOC__REQ_BROADCAST = 7,
    SIOC__RES_BROADCAST_CLIENT_COUNT = 8,
    SIOC__RES_BROADCAST_ACK = 9,
};

typedef struct sioc__redis_nsp {
    sioc__adapter base; /* first */
    const sioc__redis_config *cfg;
    char uid[7];         /* this node's, for this namespace: its own messages come back */
    char *channel;       /* "<prefix>#<nsp>#" */
    char *requests;      /* "<prefix>-request#<nsp>#" */
    char *responses;     /* "<prefix>-response#<nsp>#", where every node version listens */
    char *own_responses; /* "<prefix>-response#<nsp>#<uid>#", where some answer this node */
    sioc__redis_sub *sub, *request_sub, *response_sub, *own_response_sub;
    sioc__link pending; /* this node's requests waiting for answers (redis_request.c) */
    bool bad_logged;    /* a malformed message was said */
} sioc__redis_nsp;

/* Six characters of [A-Za-z0-9], as Node's uid2(6) (node uids, request ids). */
void sioc__redis_uid(char uid[7]);
/* Says once per namespace that a malformed message was dropped. */
void sioc__redis_bad_message(sioc__redis_nsp *a, const char *why);
/* A JSON request or response, or a msgpack one (Node's rule: a first byte '{' means JSON). A new
 * reference, or NULL when it is neither (then said once). */
json_t *sioc__redis_decode(sioc__redis_nsp *a, const char *message, size_t len);
/* Publishes `message` (stolen) on `channel`, as JSON or as msgpack. 0 or a SIOC_ERR_* code. */
int sioc__redis_send(sioc__redis *link, const char *channel, json_t *message, bool msgpack);

/* Answers another node's request (JSON or msgpack, decoded; borrowed). */
void sioc__redis_answer(sioc__redis_nsp *a, json_t *req);

/* Whether `id` is one of this node's requests waiting for answers (its echo is not answered). */
bool sioc__redis_is_own_request(sioc__redis_nsp *a, const char *id);
/* A response to one of this node's requests (borrowed); others' are ignored. */
void sioc__redis_response(sioc__redis_nsp *a, json_t *res);
/* Ends every request still waiting, with SIOC_ERR_CLOSED (the namespace goes). */
void sioc__redis_requests_close(sioc__redis_nsp *a);

/* This node's own requests, the adapter's operations that reach the other nodes. */
int sioc__redis_broadcast_with_ack(sioc__adapter *base, json_t *data, const sioc_target *t,
                                   sioc__bcast_ack *ack);
int sioc__redis_fetch_sockets(sioc__adapter *base, const sioc_target *t, sioc_fetch_cb cb,
                              void *user_data);
int sioc__redis_add_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                            size_t n);
int sioc__redis_del_sockets(sioc__adapter *base, const sioc_target *t, const char *const *rooms,
                            size_t n);
int sioc__redis_disconnect_sockets(sioc__adapter *base, const sioc_target *t, bool close);
int sioc__redis_server_side_emit(sioc__adapter *base, json_t *data, unsigned timeout_ms,
                                 sioc_broadcast_ack_cb cb, void *user_data);

#endif
