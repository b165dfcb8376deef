/* The in-memory adapter: every operation applies to this process's sockets. */
#include "core/sio.h"

#include <stdlib.h>

static void release(sioc_socket **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sioc__socket_unref(list[i]);
    }
    free(list);
}

static int fetch_sockets(sioc_namespace *nsp, const sioc_target *t, sioc_fetch_cb cb,
                         void *user_data)
{
    sioc_socket **list;
    size_t n;
    if (sioc__select_list(nsp, t, &list, &n) < 0) {
        return SIOC_ERR_NOMEM;
    }
    cb(list, n, user_data);
    release(list, n);
    return 0;
}

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

static int add_sockets(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                       size_t n)
{
    return apply(nsp, t, join_rooms, rooms, n, false);
}

static int del_sockets(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                       size_t n)
{
    return apply(nsp, t, leave_rooms, rooms, n, false);
}

static int disconnect_sockets(sioc_namespace *nsp, const sioc_target *t, bool close)
{
    return apply(nsp, t, disconnect, NULL, 0, close);
}

const sioc__adapter_ops sioc__memory_adapter = {
    sioc__broadcast, fetch_sockets, add_sockets, del_sockets, disconnect_sockets,
};

int sioc_namespace_fetch_sockets(sioc_namespace *nsp, const sioc_target *target, sioc_fetch_cb cb,
                                 void *user_data)
{
    return nsp && cb ? nsp->adapter->fetch_sockets(nsp, target, cb, user_data) : SIOC_ERR_INVALID;
}

int sioc_namespace_sockets_join(sioc_namespace *nsp, const sioc_target *target,
                                const char *const *rooms, size_t nrooms)
{
    return nsp && (rooms || !nrooms) ? nsp->adapter->add_sockets(nsp, target, rooms, nrooms)
                                     : SIOC_ERR_INVALID;
}

int sioc_namespace_sockets_leave(sioc_namespace *nsp, const sioc_target *target,
                                 const char *const *rooms, size_t nrooms)
{
    return nsp && (rooms || !nrooms) ? nsp->adapter->del_sockets(nsp, target, rooms, nrooms)
                                     : SIOC_ERR_INVALID;
}

int sioc_namespace_disconnect_sockets(sioc_namespace *nsp, const sioc_target *target, bool close)
{
    return nsp ? nsp->adapter->disconnect_sockets(nsp, target, close) : SIOC_ERR_INVALID;
}
