/* The adapter: where a namespace's broadcasts and server utilities go (Node's Adapter). Room
 * membership always lives in this process (rooms.c); an adapter decides who else hears of an
 * operation. Each namespace has its own instance. The in-memory adapter (adapter.c) applies
 * everything to the local sockets; one spanning several nodes does that too, through the local
 * helpers below, and forwards the operation unless SIOC_EMIT_LOCAL says not to.
 *
 * Every operation that waits for other nodes reports through a callback, which the in-memory
 * adapter calls before returning. An adapter whose request cannot be sent (its link is down)
 * reports the failure at once rather than waiting for a timeout. */
#ifndef SIOC_CORE_ADAPTER_H
#define SIOC_CORE_ADAPTER_H

#include <stdint.h>

#include "sioc.h"

typedef struct sioc__adapter_ops sioc__adapter_ops;
typedef struct sioc__bcast_ack sioc__bcast_ack;
typedef struct sioc__saved_session sioc__saved_session;

/* An adapter instance: implementations put this first in their own struct. */
typedef struct sioc__adapter {
    const sioc__adapter_ops *ops;
    sioc_namespace *nsp; /* borrowed: the namespace owns the adapter */
} sioc__adapter;

/* The outcome of a session restore: `session` (the caller owns it) and `missed` (a new array of
 * EVENT payloads to replay, in order), or both NULL when the session cannot come back. Called
 * exactly once, possibly before restore_session returns. */
typedef void (*sioc__restore_cb)(sioc__saved_session *session, json_t *missed, void *arg);

struct sioc__adapter_ops {
    const char *name;
    /* A new adapter for `nsp` (`config` is borrowed, as given to sioc__core_set_adapter), not
     * started yet. NULL on no memory. */
    sioc__adapter *(*create)(sioc_namespace *nsp, const void *config);
    /* Starts it (a spanning adapter subscribes here). 0 or a SIOC_ERR_* code. */
    int (*init)(sioc__adapter *a);
    /* Stops and frees it: what still waits on other nodes ends with SIOC_ERR_CLOSED. */
    void (*close)(sioc__adapter *a);
    /* Emits an EVENT whose payload is `data` (["event", args...], borrowed; the adapter may append
     * to it, as the recovery offset) to the sockets `t` selects (NULL: all). 0 or SIOC_ERR_NOMEM.
     */
    int (*broadcast)(sioc__adapter *a, json_t *data, const sioc_target *t);
    /* The same, every socket reached asked to acknowledge: each node reports its count of sockets
     * reached with sioc__bcast_ack_count (after sioc__bcast_ack_expect for nodes beyond this one),
     * remote answers come in through sioc__bcast_ack_answer. 0 or a SIOC_ERR_* code (then nothing
     * was sent and nothing is reported). */
    int (*broadcast_with_ack)(sioc__adapter *a, json_t *data, const sioc_target *t,
                              sioc__bcast_ack *ack);
    /* Node's fetchSockets: `cb` gets the local sockets and descriptions of remote ones (made with
     * sioc__remote_socket_new). 0 (then `cb` is called once) or a SIOC_ERR_* code (then not). */
    int (*fetch_sockets)(sioc__adapter *a, const sioc_target *t, sioc_fetch_cb cb, void *user_data);
    /* Node's addSockets / delSockets / disconnectSockets. 0 or a SIOC_ERR_* code. */
    int (*add_sockets)(sioc__adapter *a, const sioc_target *t, const char *const *rooms, size_t n);
    int (*del_sockets)(sioc__adapter *a, const sioc_target *t, const char *const *rooms, size_t n);
    int (*disconnect_sockets)(sioc__adapter *a, const sioc_target *t, bool close);
    /* Node's serverSideEmit: `data` (["event", args...], borrowed) to the other nodes' listeners,
     * never this one's. With `cb`, each node's first answer is collected for up to `timeout_ms`
     * (0: the adapter's default) and `cb` called once. 0 or a SIOC_ERR_* code (then no `cb`). */
    int (*server_side_emit)(sioc__adapter *a, json_t *data, unsigned timeout_ms,
                            sioc_broadcast_ack_cb cb, void *user_data);
    /* Connection state recovery: keeps a leaving socket's session (the adapter owns it now), and
     * gives it back to a client that returns with its pid and last offset. */
    void (*persist_session)(sioc__adapter *a, sioc__saved_session *session);
    void (*restore_session)(sioc__adapter *a, const char *pid, const char *offset,
                            sioc__restore_cb cb, void *arg);
};

extern const sioc__adapter_ops sioc__memory_adapter;

/* persist_session and restore_session for an adapter that keeps no sessions (as Node's classic
 * and sharded Redis adapters): the session is dropped, and a client that comes back gets a new
 * socket. */
void sioc__adapter_drop_session(sioc__adapter *a, sioc__saved_session *session);
void sioc__adapter_no_session(sioc__adapter *a, const char *pid, const char *offset,
                              sioc__restore_cb cb, void *arg);

/* ---- what adapters build on (the core implements these) ---- */

/* Encodes `data` once and sends it to the local sockets `t` selects (NULL: all), honouring
 * SIOC_EMIT_VOLATILE; with `ack`, each socket reached is asked to acknowledge (a fresh packet id)
 * and its answer is counted in `ack`. Returns how many sockets were reached, or -1 on no
 * memory. */
long sioc__local_broadcast(sioc_namespace *nsp, json_t *data, const sioc_target *t,
                           sioc__bcast_ack *ack);
/* The local parts of broadcast_with_ack (this node's count reported), fetch_sockets, add_sockets,
 * del_sockets and disconnect_sockets. */
int sioc__local_broadcast_with_ack(sioc_namespace *nsp, json_t *data, const sioc_target *t,
                                   sioc__bcast_ack *ack);
int sioc__local_fetch_sockets(sioc_namespace *nsp, const sioc_target *t, sioc_fetch_cb cb,
                              void *user_data);
int sioc__local_add_sockets(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                            size_t n);
int sioc__local_del_sockets(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                            size_t n);
int sioc__local_disconnect_sockets(sioc_namespace *nsp, const sioc_target *t, bool close);
/* server_side_emit with no other server: nobody hears it, and `cb` (if any) gets [] at once. */
int sioc__server_side_emit_alone(sioc_broadcast_ack_cb cb, void *user_data);

/* A broadcast with acknowledgements waits for every node's count: `servers` more nodes (beyond
 * the one whose count the adapter reports first) will report. */
void sioc__bcast_ack_expect(sioc__bcast_ack *b, size_t servers);
/* One node reports how many of its sockets were reached. May decide the broadcast. */
void sioc__bcast_ack_count(sioc__bcast_ack *b, size_t clients);
/* A remote socket's answer (its first argument, borrowed). May decide the broadcast. */
void sioc__bcast_ack_answer(sioc__bcast_ack *b, json_t *first);
/* The adapter holds `b` while remote answers may still come in (it must not outlive the
 * broadcast's timeout otherwise): a reference taken and dropped. */
void sioc__bcast_ack_hold(sioc__bcast_ack *b);
void sioc__bcast_ack_release(sioc__bcast_ack *b);
/* Whether the broadcast is decided (nothing it hears matters any more), and when it times out
 * (on the core's wheel, in ms). */
bool sioc__bcast_ack_decided(const sioc__bcast_ack *b);
uint64_t sioc__bcast_ack_deadline(const sioc__bcast_ack *b);

/* A broadcast with acks another node asked for: the local sockets `t` selects are asked to
 * acknowledge `data`; `on_answer` gets each answer's first argument (borrowed) as it comes, and
 * `done` is called once, when all have answered or after `timeout_ms` (then `arg` may go).
 * Returns how many sockets were reached (0: `done` has been called already), or -1 on no memory
 * (then `done` is not called). */
long sioc__forward_with_ack(sioc_namespace *nsp, json_t *data, const sioc_target *t,
                            unsigned timeout_ms, void (*on_answer)(json_t *first, void *arg),
                            sioc_broadcast_ack_cb done, void *arg);

/* A socket of another node, as a fetch found it: `id` (copied) and `rooms`, `handshake`, `data`
 * (JSON, references taken; NULL for none). Its owner releases it with sioc__socket_unref. NULL
 * on no memory. */
sioc_socket *sioc__remote_socket_new(sioc_namespace *nsp, const char *id, json_t *rooms,
                                     json_t *handshake, json_t *data);

/* A server-side event from another node: `data` is ["event", args...] (borrowed); `ack` (taken
 * over; NULL when the sender wants no answer) is handed to the listener, or dropped when there is
 * none. */
void sioc__namespace_server_event(sioc_namespace *nsp, json_t *data, sioc_server_ack *ack);
/* An answer channel for a server-side event: `answer` sends the listener's first argument
 * (borrowed) back, once; `drop` releases `ctx` (also when nobody answers). NULL on no memory. */
sioc_server_ack *sioc__server_ack_new(sioc_namespace *nsp, void (*answer)(void *ctx, json_t *first),
                                      void (*drop)(void *ctx), void *ctx);

#endif
