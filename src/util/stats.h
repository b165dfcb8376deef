/* What happened in this process, counted for the metrics (server/metrics.c): plain counters, one
 * set per process (each worker process has its own; the primary sums them), bumped where the
 * thing happens. A process runs its servers on one thread: no atomics. */
#ifndef SIOC_UTIL_STATS_H
#define SIOC_UTIL_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Why sockets left (Socket.IO's reasons), and "other". */
#define SIOC__STATS_REASONS 12

typedef struct sioc__stats {
    uint64_t http_status[500];        /* HTTP answers by status, 100-599 */
    uint64_t handshake_errors[6];     /* refused Engine.IO requests by error code, 0-5 */
    uint64_t engine_sessions;         /* Engine.IO sessions opened */
    uint64_t bytes_in, bytes_out;     /* of Socket.IO packets, from and to clients */
    uint64_t packets_in, packets_out; /* Engine.IO messages carrying them (attachments apart) */
    uint64_t ping_timeouts;
    uint64_t backpressure_pauses;  /* a WebSocket no longer read while a recipient drains */
    uint64_t slow_consumer_closes; /* sessions closed for a send queue past the limit */
    uint64_t ack_timeouts;         /* emits with an ack whose answer did not come in time */
    uint64_t adapter_requests[3]; /* fetchSockets, serverSideEmit with acks, broadcasts with acks */
    uint64_t adapter_request_timeouts;
    uint64_t redis_reconnects;
    uint64_t disconnects[SIOC__STATS_REASONS];
} sioc__stats;

extern sioc__stats sioc__stats_g;

static inline void sioc__stats_http(unsigned status)
{
    if (status >= 100 && status < 600) {
        sioc__stats_g.http_status[status - 100]++;
    }
}

/* A socket left for `reason`. */
void sioc__stats_disconnect(const char *reason);
/* The name of reason `i` (< SIOC__STATS_REASONS). */
const char *sioc__stats_reason(size_t i);

#endif
