/* The in-memory adapter (Node's in-memory Adapter with its session-aware variant): every
 * operation applies to this process's sockets, and connection state recovery's broadcasts and
 * sessions are kept here. Also the public server utilities, which go through a namespace's
 * adapter, whichever it is. */
#include "core/sio.h"

#include <stdlib.h>
#include <string.h>

typedef struct memory_adapter {
    sioc__adapter base; /* first */
    sioc__recovery_store store;
} memory_adapter;

static memory_adapter *memory(sioc__adapter *a)
{
    return (memory_adapter *)a;
}

static sioc__adapter *memory_create(sioc_namespace *nsp, const void *config)
{
    (void)config;
    memory_adapter *m = calloc(1, sizeof(*m));
    return m ? &m->base : NULL;
}

static int memory_init(sioc__adapter *a)
{
    (void)a;
    return 0;
}

static void memory_close(sioc__adapter *a)
{
    sioc__recovery_free(&memory(a)->store);
    free(a);
}

static int memory_broadcast(sioc__adapter *a, json_t *data, const sioc_target *t)
{
    const sioc__core *sio = a->nsp->sio;
    /* Kept for replay (with its offset) unless volatile, as Node's session-aware adapter does. */
    bool stored = sio->recovery_ms && !(t && (t->flags & SIOC_EMIT_VOLATILE));
    if (stored && sioc__recovery_stamp(&memory(a)->store, sio, t, data) < 0) {
        return SIOC_ERR_NOMEM;
    }
    return sioc__local_broadcast(a->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
}

static int memory_broadcast_with_ack(sioc__adapter *a, json_t *data, const sioc_target *t,
                                     sioc__bcast_ack *ack)
{
    return sioc__local_broadcast_with_ack(a->nsp, data, t, ack);
}

static void release(sioc_socket **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sioc__socket_unref(list[i]);
    }
    free(list);
}

static int memory_fetch_sockets(sioc__adapter *a, const sioc_target *t, sioc_fetch_cb cb,
                                void *user_data)
{
    return sioc__local_fetch_sockets(a->nsp, t, cb, user_data);
}

static int memory_add_sockets(sioc__adapter *a, const sioc_target *t, const char *const *rooms,
                              size_t n)
{
    return sioc__local_add_sockets(a->nsp, t, rooms, n);
}

static int memory_del_sockets(sioc__adapter *a, const sioc_target *t, const char *const *rooms,
                              size_t n)
{
    return sioc__local_del_sockets(a->nsp, t, rooms, n);
}

static int memory_disconnect_sockets(sioc__adapter *a, const sioc_target *t, bool close)
{
    return sioc__local_disconnect_sockets(a->nsp, t, close);
}

static int memory_server_side_emit(sioc__adapter *a, json_t *data, unsigned timeout_ms,
                                   sioc_broadcast_ack_cb cb, void *user_data)
{
    return sioc__server_side_emit_alone(cb, user_data);
}

static void memory_persist_session(sioc__adapter *a, sioc__saved_session *session)
{
    sioc__recovery_keep(&memory(a)->store, a->nsp->sio, session);
}

static void memory_restore_session(sioc__adapter *a, const char *pid, const char *offset,
                                   sioc__restore_cb cb, void *arg)
{
    json_t *missed = NULL;
    sioc__saved_session *session =
        sioc__recovery_take(&memory(a)->store, a->nsp->sio, pid, offset, &missed);
    cb(session, missed, arg);
}

void sioc__adapter_drop_session(sioc__adapter *a, sioc__saved_session *session)
{
    sioc__saved_session_free(session);
}

void sioc__adapter_no_session(sioc__adapter *a, const char *pid, const char *offset,
                              sioc__restore_cb cb, void *arg)
{
    cb(NULL, NULL, arg);
}

const sioc__adapter_ops sioc__memory_adapter = {
    .name = "memory",
    .create = memory_create,
    .init = memory_init,
    .close = memory_close,
    .broadcast = memory_broadcast,
    .broadcast_with_ack = memory_broadcast_with_ack,
    .fetch_sockets = memory_fetch_sockets,
    .add_sockets = memory_add_sockets,
    .del_sockets = memory_del_sockets,
    .disconnect_sockets = memory_disconnect_sockets,
    .server_side_emit = memory_server_side_emit,
    .persist_session = memory_persist_session,
    .restore_session = memory_restore_session,
};

/* ---- the local parts, for every adapter ---- */

/* Applies `fn` to a snapshot of the selection: joining, leaving or disconnecting changes the
 * rooms being walked. */
static int apply(sioc_namespace *nsp, const sioc_target *t,
                 int (*fn)(sioc_socket *s, const char *const *rooms, size_t n, bool flag),
                 const char *const *rooms, size_t nrooms, bool flag)
{
    sioc_socket **list;
    size_t n;
    if (sioc__select_list(nsp, t, &list, &n) < 0) {
        return SIOC_ERR_NOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i]->connected) {
            int r = fn(list[i], rooms, nrooms, flag);
            rc = rc ? rc : r;
        }
    }
    release(list, n);
    return rc;
}

static int join_rooms(sioc_socket *s, const char *const *rooms, size_t n, bool flag)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = sioc_socket_join(s, rooms[i]);
    }
    return rc;
}

static int leave_rooms(sioc_socket *s, const char *const *rooms, size_t n, bool flag)
{
    for (size_t i = 0; i < n; i++) {
        sioc_socket_leave(s, rooms[i]);
    }
    return 0;
}

static int disconnect(sioc_socket *s, const char *const *rooms, size_t n, bool close)
{
    sioc_socket_disconnect(s, close);
    return 0;
}

int sioc__local_broadcast_with_ack(sioc_namespace *nsp, json_t *data, const sioc_target *t,
                                   sioc__bcast_ack *ack)
{
    long reached = sioc__local_broadcast(nsp, data, t, ack);
    if (reached < 0) {
        return SIOC_ERR_NOMEM;
    }
    sioc__bcast_ack_count(ack, (size_t)reached);
    return 0;
}

int sioc__local_fetch_sockets(sioc_namespace *nsp, const sioc_target *t, sioc_fetch_cb cb,
                              void *user_data)
{
    sioc_socket **list;
    size_t n;
    if (sioc__select_list(nsp, t, &list, &n) < 0) {
        return SIOC_ERR_NOMEM;
    }
    cb(0, list, n, user_data);
    release(list, n);
    return 0;
}

/* No other server: nobody hears it, and the answers (none) are complete at once, as Node's. */
int sioc__server_side_emit_alone(sioc_broadcast_ack_cb cb, void *user_data)
{
    if (cb) {
        json_t *none = json_array();
        if (!none) {
            return SIOC_ERR_NOMEM;
        }
        cb(0, none, user_data);
        json_decref(none);
    }
    return 0;
}

int sioc__local_add_sockets(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                            size_t n)
{
    return apply(nsp, t, join_rooms, rooms, n, false);
}

int sioc__local_del_sockets(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                            size_t n)
{
    return apply(nsp, t, leave_rooms, rooms, n, false);
}

int sioc__local_disconnect_sockets(sioc_namespace *nsp, const sioc_target *t, bool close)
{
    return apply(nsp, t, disconnect, NULL, 0, close);
}

/* ---- the public server utilities ---- */

int sioc_namespace_fetch_sockets(sioc_namespace *nsp, const sioc_target *target, sioc_fetch_cb cb,
                                 void *user_data)
{
    if (!nsp || !cb) {
        return SIOC_ERR_INVALID;
    }
    return nsp->adapter->ops->fetch_sockets(nsp->adapter, target, cb, user_data);
}

int sioc_namespace_sockets_join(sioc_namespace *nsp, const sioc_target *target,
                                const char *const *rooms, size_t nrooms)
{
    if (!nsp || (!rooms && nrooms)) {
        return SIOC_ERR_INVALID;
    }
    return nsp->adapter->ops->add_sockets(nsp->adapter, target, rooms, nrooms);
}

int sioc_namespace_sockets_leave(sioc_namespace *nsp, const sioc_target *target,
                                 const char *const *rooms, size_t nrooms)
{
    if (!nsp || (!rooms && nrooms)) {
        return SIOC_ERR_INVALID;
    }
    return nsp->adapter->ops->del_sockets(nsp->adapter, target, rooms, nrooms);
}

int sioc_namespace_disconnect_sockets(sioc_namespace *nsp, const sioc_target *target, bool close)
{
    return nsp ? nsp->adapter->ops->disconnect_sockets(nsp->adapter, target, close)
               : SIOC_ERR_INVALID;
}

/* ---- choosing the adapter ---- */

int sioc__namespace_adapter_open(sioc_namespace *nsp, const sioc__adapter_ops *ops)
{
    sioc__adapter *a = ops->create(nsp, nsp->sio->adapter_config);
    if (!a) {
        return -1;
    }
    a->ops = ops;
    a->nsp = nsp;
    if (ops->init(a) < 0) {
        ops->close(a);
        return -1;
    }
    nsp->adapter = a;
    return 0;
}

int sioc__core_set_adapter(sioc__core *sio, const sioc__adapter_ops *ops, const void *config)
{
    sio->adapter_ops = ops;
    sio->adapter_config = config;
    for (sioc_namespace *nsp = sio->nsps; nsp; nsp = nsp->next) {
        sioc__adapter *old = nsp->adapter;
        if (sioc__namespace_adapter_open(nsp, ops) < 0) {
            return SIOC_ERR_NOMEM;
        }
        old->ops->close(old);
    }
    return 0;
}
