/* The server's metrics in Prometheus's text exposition format 0.0.4 (metrics.h): what the server
 * holds now (gauges, read from the core and the transport) and what this process has counted
 * (util/stats.h, and each namespace's counters). Names: socket.io-prometheus-metrics's
 * `socket_io_*` where they apply, so that dashboards made for Node keep working (its byte
 * counters, spelled as it spells them and without `_total`, are untyped: Prometheus's linter
 * refuses counters named so); sioc's own under `sioc_`; the standard `process_*` ones. */
#include "server/metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/sio.h"
#include "util/buf.h"
#include "util/stats.h"

typedef struct out {
    sioc__buf b;
    int failed;
} out;

static void put(out *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) || sioc__buf_append(&o->b, line, (size_t)n) < 0) {
        o->failed = 1;
    }
}

/* HELP and TYPE: once per metric, before its samples. */
static void metric(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(out *o, const char *name, unsigned long long v)
{
    put(o, "%s %llu\n", name, v);
}

/* A label value as the format wants it: backslash, double quote and newline escaped. */
static void label(out *o, const char *name, const char *key, const char *val, unsigned long long v)
{
    char esc[256];
    size_t n = 0;
    for (const char *p = val; *p && n + 2 < sizeof(esc); p++) {
        if (*p == '\\' || *p == '"') {
            esc[n++] = '\\';
            esc[n++] = *p;
        } else if (*p == '\n') {
            esc[n++] = '\\';
            esc[n++] = 'n';
        } else {
            esc[n++] = *p;
        }
    }
    esc[n] = '\0';
    put(o, "%s{%s=\"%s\"} %llu\n", name, key, esc, v);
}

/* ---- per namespace ---- */

typedef enum nsp_figure {
    SOCKETS,
    ROOMS,
    CONNECTS,
    DISCONNECTS,
    EVENTS_IN,
    EVENTS_OUT,
} nsp_figure;

static unsigned long long figure_of(const sioc_namespace *nsp, nsp_figure f)
{
    switch (f) {
    case SOCKETS:
        return nsp->sockets.count;
    case ROOMS:
        return nsp->rooms.count;
    case CONNECTS:
        return nsp->connects;
    case DISCONNECTS:
        return nsp->disconnects;
    case EVENTS_IN:
        return nsp->events_in;
    default:
        return nsp->events_out;
    }
}

/* Every namespace (dynamic children included; their parents hold no sockets). */
static void per_namespace(out *o, const sioc__core *core, const char *name, const char *type,
                          const char *help, nsp_figure f)
{
    metric(o, name, type, help);
    for (const sioc_namespace *n = core->nsps; n; n = n->next) {
        label(o, name, "namespace", n->name, figure_of(n, f));
    }
}

static void namespaces(out *o, const sioc__core *core)
{
    per_namespace(o, core, "socket_io_connected", "gauge", "Sockets connected, by namespace.",
                  SOCKETS);
    per_namespace(o, core, "sioc_rooms", "gauge",
                  "Rooms, by namespace (each socket's own room included).", ROOMS);
    per_namespace(o, core, "socket_io_connect_total", "counter",
                  "Sockets that joined, by namespace.", CONNECTS);
    per_namespace(o, core, "socket_io_disconnect_total", "counter",
                  "Sockets that left, by namespace.", DISCONNECTS);
    per_namespace(o, core, "socket_io_events_received_total", "counter",
                  "Events received from clients, by namespace.", EVENTS_IN);
    per_namespace(o, core, "socket_io_events_sent_total", "counter",
                  "Events sent to clients (once per socket reached), by namespace.", EVENTS_OUT);
}

/* ---- the engine and the process's counters ---- */

static void engine(out *o, const sioc__engine_totals *t)
{
    metric(o, "sioc_engine_clients", "gauge", "Engine.IO sessions open, by transport.");
    label(o, "sioc_engine_clients", "transport", "polling", t->polling);
    label(o, "sioc_engine_clients", "transport", "websocket", t->websocket);
    metric(o, "sioc_buffered_bytes", "gauge", "Bytes queued to clients, not yet written.");
    value(o, "sioc_buffered_bytes", t->queued_bytes);
    metric(o, "sioc_held_polls", "gauge", "Polling GET requests held open, waiting for packets.");
    value(o, "sioc_held_polls", t->held_polls);
}

static void counter(out *o, const char *name, const char *help, unsigned long long v)
{
    metric(o, name, "counter", help);
    value(o, name, v);
}

static void counters(out *o)
{
    const sioc__stats *s = &sioc__stats_g;
    counter(o, "sioc_engine_sessions_total", "Engine.IO sessions opened.", s->engine_sessions);
    metric(o, "socket_io_recieve_bytes", "untyped",
           "Bytes of Socket.IO packets received (socket.io-prometheus-metrics's name).");
    value(o, "socket_io_recieve_bytes", s->bytes_in);
    metric(o, "socket_io_transmit_bytes", "untyped",
           "Bytes of Socket.IO packets sent (socket.io-prometheus-metrics's name).");
    value(o, "socket_io_transmit_bytes", s->bytes_out);
    metric(o, "sioc_disconnects_total", "counter", "Sockets that left, by reason.");
    for (size_t i = 0; i < SIOC__STATS_REASONS; i++) {
        label(o, "sioc_disconnects_total", "reason", sioc__stats_reason(i), s->disconnects[i]);
    }
    metric(o, "sioc_http_responses_total", "counter", "HTTP answers, by status.");
    for (unsigned i = 0; i < 500; i++) {
        if (s->http_status[i]) {
            char code[8];
            snprintf(code, sizeof(code), "%u", i + 100);
            label(o, "sioc_http_responses_total", "code", code, s->http_status[i]);
        }
    }
    metric(o, "sioc_connection_errors_total", "counter",
           "Engine.IO requests refused, by error code (0 unknown transport, 1 unknown session, "
           "2 bad handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol).");
    for (unsigned i = 0; i < 6; i++) {
        char code[4];
        snprintf(code, sizeof(code), "%u", i);
        label(o, "sioc_connection_errors_total", "code", code, s->handshake_errors[i]);
    }
    counter(o, "sioc_ping_timeouts_total", "Sessions closed for a missing pong.", s->ping_timeouts);
    counter(o, "sioc_backpressure_pauses_total",
            "WebSocket clients no longer read while the recipients of their messages drain.",
            s->backpressure_pauses);
    counter(o, "sioc_slow_consumer_closes_total",
            "Sessions closed for more queued than the buffer limit allows.",
            s->slow_consumer_closes);
    counter(o, "sioc_ack_timeouts_total", "Emits whose acknowledgement did not come in time.",
            s->ack_timeouts);
    static const char *const kinds[] = {"fetch_sockets", "server_side_emit", "broadcast_with_ack"};
    metric(o, "sioc_adapter_requests_total", "counter",
           "Requests to the other nodes of a Redis cluster, by type.");
    for (int i = 0; i < 3; i++) {
        label(o, "sioc_adapter_requests_total", "type", kinds[i], s->adapter_requests[i]);
    }
    counter(o, "sioc_adapter_request_timeouts_total",
            "Requests to the other nodes that ended before every node answered.",
            s->adapter_request_timeouts);
    counter(o, "sioc_redis_reconnects_total", "Times the link to Redis came back after a loss.",
            s->redis_reconnects);
}

/* ---- the process ---- */

/* utime + stime (ticks), vsize (bytes), rss (pages), starttime (ticks since boot) */
static void process(out *o)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long long ut = 0, st = 0, start = 0, vsize = 0;
    long long rss = 0;
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (f && fgets(buf, sizeof(buf), f)) {
        const char *p = strrchr(buf, ')'); /* the name may hold spaces */
        if (p) {
            sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
                   "%llu %llu %lld",
                   &ut, &st, &start, &vsize, &rss);
        }
    }
    if (f) {
        fclose(f);
    }
    double boot = 0;
    f = fopen("/proc/stat", "r");
    while (f && fgets(buf, sizeof(buf), f)) {
        if (strncmp(buf, "btime ", 6) == 0) {
            boot = strtod(buf + 6, NULL);
        }
    }
    if (f) {
        fclose(f);
    }
    size_t fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) {
        fds += e->d_name[0] != '.';
    }
    if (d) {
        closedir(d);
        fds--; /* the directory's own */
    }
    struct rlimit rl = {0, 0};
    getrlimit(RLIMIT_NOFILE, &rl);
    metric(o, "process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds.");
    put(o, "process_cpu_seconds_total %.2f\n", (double)(ut + st) / (double)tick);
    metric(o, "process_open_fds", "gauge", "Open file descriptors.");
    value(o, "process_open_fds", fds);
    metric(o, "process_max_fds", "gauge", "The limit of open file descriptors.");
    value(o, "process_max_fds", (unsigned long long)rl.rlim_cur);
    metric(o, "process_resident_memory_bytes", "gauge", "Resident memory, bytes.");
    value(o, "process_resident_memory_bytes", (unsigned long long)rss * (unsigned long long)page);
    metric(o, "process_virtual_memory_bytes", "gauge", "Virtual memory, bytes.");
    value(o, "process_virtual_memory_bytes", vsize);
    metric(o, "process_start_time_seconds", "gauge", "Start time since the epoch, seconds.");
    put(o, "process_start_time_seconds %.2f\n", boot + (double)start / (double)tick);
}

char *sioc__metrics_render(const sioc__core *core, const sioc__engine_totals *totals, size_t *len)
{
    out o = {{0}, 0};
    namespaces(&o, core);
    engine(&o, totals);
    counters(&o);
    metric(&o, "sioc_build_info", "gauge", "sioc's version, as a label; always 1.");
    label(&o, "sioc_build_info", "version", SIOC_VERSION, 1);
    process(&o);
    if (o.failed || sioc__buf_append(&o.b, "", 1) < 0) { /* the NUL */
        sioc__buf_free(&o.b);
        return NULL;
    }
    if (len) {
        *len = o.b.len - 1;
    }
    return (char *)o.b.data; /* the buffer's, now the caller's */
}
