/* Observers: any number of independent watchers of the server (sioc_server_observe), told after
 * the application's own callback for the same event, in the order they were added. One may be
 * removed from inside a notification: it is marked, skipped, and dropped once no notification is
 * running. */
#include "core/sio.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sioc__core_observe(sioc__core *sio, const sioc_observer *ops, void *user_data)
{
    if (!ops) {
        return SIOC_ERR_INVALID;
    }
    if (sio->last_observer_id == INT32_MAX) {
        return SIOC_ERR_NOMEM; /* ids are never reused */
    }
    if (sio->nobservers == sio->capobservers) {
        size_t cap = sio->capobservers ? sio->capobservers * 2 : 4;
        sioc__observer *grown = realloc(sio->observers, cap * sizeof(*grown));
        if (!grown) {
            return SIOC_ERR_NOMEM;
        }
        sio->observers = grown;
        sio->capobservers = cap;
    }
    sioc__observer *o = &sio->observers[sio->nobservers++];
    o->ops = *ops;
    o->user_data = user_data;
    o->id = ++sio->last_observer_id;
    o->removed = false;
    return o->id;
}

/* Drops the observers marked removed (no notification is running). */
static void compact(sioc__core *sio)
{
    size_t k = 0;
    for (size_t i = 0; i < sio->nobservers; i++) {
        if (!sio->observers[i].removed) {
            sio->observers[k++] = sio->observers[i];
        }
    }
    sio->nobservers = k;
}

int sioc__core_unobserve(sioc__core *sio, int id)
{
    for (size_t i = 0; i < sio->nobservers; i++) {
        if (sio->observers[i].id == id && !sio->observers[i].removed) {
            sio->observers[i].removed = true;
            if (sio->notifying == 0) {
                compact(sio);
            }
            return 0;
        }
    }
    return SIOC_ERR_INVALID;
}

void sioc__observers_free(sioc__core *sio)
{
    assert(sio->notifying == 0);
    free(sio->observers);
    sio->observers = NULL;
    sio->nobservers = sio->capobservers = 0;
}

void sioc__observers_begin(sioc__core *sio)
{
    sio->notifying++;
}

void sioc__observers_end(sioc__core *sio)
{
    assert(sio->notifying > 0);
    if (--sio->notifying == 0) {
        compact(sio);
    }
}
