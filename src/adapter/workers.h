/* The workers adapter (--workers without Redis): the worker processes of one server are joined as
 * Node's cluster adapter joins Node's workers, with the ClusterAdapter message set
 * (cluster_msg.h) over the workers' link (bus.h). One instance per namespace, as every adapter. */
#ifndef SIOC_ADAPTER_WORKERS_H
#define SIOC_ADAPTER_WORKERS_H

#include <stdint.h>

#include "adapter/bus.h"
#include "core/adapter.h"
#include "util/list.h"

/* Workers are sets of bits in a uint64_t. */
#define SIOC__WORKERS_MAX 64

/* Shared by a worker's namespaces: the link, how long requests wait, and the namespaces' adapters
 * (frames name their namespace). */
typedef struct sioc__workers_config {
    sioc__bus *bus;
    unsigned index; /* this worker */
    unsigned count; /* workers */
    uint64_t up;    /* the other workers that are up (bit i: worker i) */
    unsigned requests_timeout_ms;
    sioc__link adapters;
    bool bad_logged; /* a malformed message was said */
    /* The other workers' metrics as they last sent them (--metrics), for the scrape this worker
     * answers; and when they came (sioc__now_ms). */
    char *metrics[SIOC__WORKERS_MAX];
    uint64_t metrics_at[SIOC__WORKERS_MAX];
} sioc__workers_config;

/* Sends this worker's metrics `text` to the others. */
void sioc__workers_share_metrics(sioc__workers_config *cfg, const char *text);
/* Frees what the other workers' metrics hold. */
void sioc__workers_metrics_free(sioc__workers_config *cfg);

/* The link's callbacks (`arg`: the config). */
void sioc__workers_on_frame(void *arg, unsigned from, const void *data, size_t len);
void sioc__workers_on_peer(void *arg, unsigned peer, bool up);

extern const sioc__adapter_ops sioc__workers_adapter;
/* With connection state recovery: keeps every worker told of this worker's sockets' sessions
 * (sioc__core_observe, `user_data`: the config). */
extern const sioc_observer sioc__workers_observer;

#endif
