/* The workers adapter's parts, private to them: workers.c (the ClusterAdapter messages, this
 * worker's requests, the link's callbacks) and workers_recovery.c (connection state recovery
 * across workers). */
#ifndef SIOC_ADAPTER_WORKERS_INTERNAL_H
#define SIOC_ADAPTER_WORKERS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "adapter/cluster_msg.h"
#include "adapter/workers.h"
#include "core/sio.h"
#include "util/container.h"
#include "util/wheel.h"

#define SIOC__WORKERS_PURGE_MS 1000 /* how often expired sessions are forgotten */

typedef struct sioc__wnsp {
    sioc__adapter base; /* first */
    sioc__link link;    /* in the config's list */
    sioc__workers_config *cfg;
    char uid[17]; /* ClusterAdapter's: 8 random bytes in hex */
    sioc__link pending;
    /* Connection state recovery (see the section below): what this worker delivered, and the
     * sessions of every worker's sockets; seen[i] is the last of worker i's broadcasts that
     * reached this one. */
    sioc__recovery_store store;
    uint64_t next_seq;
    uint64_t seen[SIOC__WORKERS_MAX];
    sioc__timer purge_timer;
} sioc__wnsp;

typedef struct sioc__wrequest {
    sioc__link link; /* first: in the adapter's pending list */
    sioc__wnsp *a;
    char id[17];
    sioc__cm_type type; /* FETCH_SOCKETS, SERVER_SIDE_EMIT, BROADCAST or RESTORE_SESSION */
    uint64_t waiting;   /* the workers not heard from yet (bit i: worker i) */
    uint64_t counted;   /* broadcasts: the workers whose client count came */
    sioc__timer timer;
    json_t *answers;
    json_t *opts; /* fetches: the local part is taken at the end */
    sioc__bcast_ack *b;
    sioc_fetch_cb fetch;
    sioc_broadcast_ack_cb emit_cb;
    sioc__restore_cb restore_cb;
    sioc__saved_session *found; /* restores: the session, once found */
    char pid[21];
    uint64_t top[SIOC__WORKERS_MAX]; /* restores: what the client had seen of each worker's */
    void *user_data;
} sioc__wrequest;

static inline sioc__wheel *sioc__wnsp_wheel(sioc__wnsp *a)
{
    return a->base.nsp->sio->wheel;
}

static inline unsigned sioc__wnsp_count(const sioc__wnsp *a)
{
    return a->cfg->count;
}

/* ---- workers.c ---- */

/* Sends {type, data} (borrowed) from `uid` in namespace `nsp` to worker `to`. */
void sioc__workers_send_to(sioc__workers_config *cfg, const char *uid, const char *nsp, unsigned to,
                           sioc__cm_type type, json_t *data);
/* Sends to every worker that is up; returns the set of those it went to. */
uint64_t sioc__workers_send_all(sioc__wnsp *a, sioc__cm_type type, json_t *data);
/* A request of this worker, in `a`'s pending list (NULL on no memory); freed by the check that
 * finds it answered, by its timeout (sioc__workers_on_timeout), or by sioc__workers_request_free
 * before it was sent. */
sioc__wrequest *sioc__workers_request_new(sioc__wnsp *a, sioc__cm_type type);
void sioc__workers_request_free(sioc__wrequest *r);
/* Ends `r` (its callback called, `r` freed) if every worker it waits for has answered. */
void sioc__workers_check(sioc__wrequest *r);
void sioc__workers_on_timeout(sioc__timer *t);

/* ---- workers_recovery.c ---- */

/* Whether a broadcast to `t` is kept for recovery (recovery on, not volatile). */
bool sioc__workers_kept(const sioc__wnsp *a, const sioc_target *t);
/* Worker `origin`'s broadcast number `seq` is delivered here: kept, and `data` ends with this
 * worker's offset. 0 or -1. */
int sioc__workers_stamp(sioc__wnsp *a, json_t *data, const sioc_target *t, unsigned origin,
                        uint64_t seq);
/* A session given back in an answer (NULL: none, or no memory); the caller owns it. */
sioc__saved_session *sioc__workers_session_of(json_t *j, sioc__wheel *wheel);
/* A restore request is over (every answer in, or its time out): its callback is called. */
void sioc__workers_restored(sioc__wrequest *r);
/* Answers worker `from`'s RESTORE_SESSION (`a` NULL: no such namespace here). */
void sioc__workers_give_session(sioc__workers_config *cfg, sioc__wnsp *a, const char *nsp,
                                unsigned from, const char *id, json_t *data);
/* Another worker's SESSION or SESSION_GONE. */
void sioc__workers_on_session(sioc__wnsp *a, unsigned from, const sioc__cm *m);
/* Worker `peer` went down: its sockets' sessions may come back elsewhere. */
void sioc__workers_owner_gone(sioc__wnsp *a, unsigned peer);
void sioc__workers_on_purge(sioc__timer *t);
/* The adapter operations. */
void sioc__workers_persist_session(sioc__adapter *base, sioc__saved_session *session);
void sioc__workers_restore_session(sioc__adapter *base, const char *pid, const char *offset,
                                   sioc__restore_cb cb, void *arg);

#endif
