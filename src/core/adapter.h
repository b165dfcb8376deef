/* The adapter: where a namespace's broadcasts and server utilities go (Node's Adapter). Room
 * membership always lives in this process (rooms.c); an adapter decides who else hears of an
 * operation. The in-memory adapter applies everything to the local sockets; one spanning several
 * nodes would do that too and forward the operation, unless SIOC_EMIT_LOCAL says not to. */
#ifndef SIOC_CORE_ADAPTER_H
#define SIOC_CORE_ADAPTER_H

#include "sioc.h"

#include "sio/codec.h"

typedef struct sioc__bcast_ack sioc__bcast_ack;

typedef struct sioc__adapter_ops {
    /* Delivers an encoded packet to the selected sockets; with `ack`, each one reached must
     * answer packet `id`. Returns how many sockets were reached. */
    size_t (*broadcast)(sioc_namespace *nsp, const sioc_target *t, sioc__sio_encoded *e,
                        sioc__bcast_ack *ack, int64_t id);
    int (*fetch_sockets)(sioc_namespace *nsp, const sioc_target *t, sioc_fetch_cb cb,
                         void *user_data);
    int (*add_sockets)(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                       size_t n);
    int (*del_sockets)(sioc_namespace *nsp, const sioc_target *t, const char *const *rooms,
                       size_t n);
    int (*disconnect_sockets)(sioc_namespace *nsp, const sioc_target *t, bool close);
} sioc__adapter_ops;

extern const sioc__adapter_ops sioc__memory_adapter;

#endif
