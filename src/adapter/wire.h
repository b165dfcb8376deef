/* What the adapters' wires share: the {rooms, except} of Node's requests as targets and back,
 * and the sockets a fetch describes. Rooms may come as numbers (Node's io.to(123)). */
#ifndef SIOC_ADAPTER_WIRE_H
#define SIOC_ADAPTER_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sioc.h"

/* A room or except list as strings (Node's rooms may be numbers: io.to(123)); the strings made
 * of numbers are kept in `keep`. The array is the caller's to free(). */
const char **sioc__wire_names(json_t *list, json_t *keep, size_t *n);
/* A request's {rooms, except} as a target. The names live in `keep` and the arrays (free()). */
typedef struct sioc__wire_target {
    sioc_target t;
    json_t *keep;
} sioc__wire_target;
void sioc__wire_target_of(json_t *opts, sioc__wire_target *rt);
void sioc__wire_target_free(sioc__wire_target *rt);
/* `t`'s rooms and except rooms (its except socket among them) as {rooms, except}: new. */
json_t *sioc__wire_opts_of(const sioc_target *t);

/* The sockets `t` selects, as ids, or (`described`) as Node's RemoteSocket descriptions {id,
 * handshake, rooms, data}. A new array. */
json_t *sioc__wire_sockets(sioc_namespace *nsp, const sioc_target *t, bool described);
/* A fetch's outcome, given to `cb`: this node's sockets that `opts` ({rooms, except}) selects,
 * taken now (so every one is still connected), and the other nodes' sockets `described`
 * (RemoteSocket descriptions, each made a remote socket); or `err` and none. */
void sioc__wire_fetch_done(sioc_namespace *nsp, json_t *opts, json_t *described, int err,
                           sioc_fetch_cb cb, void *user_data);

/* The data of Node's ClusterAdapter messages (cluster_msg.h), as it builds them; new, or NULL on
 * no memory. A BROADCAST of `data` (borrowed, ["event", args...]) in namespace `nsp` to `t`
 * ({packet, opts}, flags.volatile when volatile); with acks (`request_id`), opts.flags.timeout
 * in ms and the requestId. SOCKETS_JOIN/LEAVE's {opts, rooms}, DISCONNECT_SOCKETS's
 * {opts, close}. */
json_t *sioc__wire_cm_broadcast(const char *nsp, json_t *data, const sioc_target *t);
json_t *sioc__wire_cm_broadcast_ack(const char *nsp, json_t *data, const sioc_target *t,
                                    uint64_t timeout_ms, const char *request_id);
json_t *sioc__wire_cm_rooms(const sioc_target *t, const char *const *rooms, size_t n);
json_t *sioc__wire_cm_disconnect(const sioc_target *t, bool close);
/* ClusterAdapter's uids and request ids: 8 random bytes in hex. */
void sioc__wire_random_id(char out[17]);

#endif
