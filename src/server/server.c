/* The composition root: a server is its options, its timer wheel, the transport (with the
 * Engine.IO endpoints it serves) and the Socket.IO core fed by the main endpoint. This is the only
 * code that sees every layer; the public sioc_server_* functions live here. */
#include "sioc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "adapter/redis.h"
#include "adapter/sharded.h"
#include "adapter/streams.h"
#include "adapter/workers.h"
#include "core/sio.h"
#include "server/metrics.h"
#include "server/metrics_sum.h"
#include "server/options.h"
#include "server/tasks.h"
#include "transport/transport.h"
#include "util/container.h"
#include "util/log.h"
#include "util/stats.h"
#include "util/wheel.h"

struct sioc_server {
    sioc_options *opts; /* a copy: the caller's may go */
    sioc__wheel wheel;
    sioc__core *core;
    sioc__transport *transport;
    sioc__engine *sio_engine; /* the Socket.IO path's, in the transport */
    sioc__redis *redis;       /* with --redis: the link every namespace's adapter uses */
    sioc__redis_config redis_config;
    sioc__sharded_config sharded_config;
    sioc__streams_config streams_config;
    sioc__workers_config workers_config; /* a worker without Redis: joined to its siblings */
    sioc__timer metrics_timer;           /* a worker with --metrics: shares its figures */
    sioc__tasks tasks;                   /* intervals and work off the loop */
    sioc__admin *admin;                  /* the Admin UI's server side, when enabled */
    char name[300];                      /* the node's */
};

static sioc__engine_cfg engine_cfg(const sioc_options *o)
{
    sioc__engine_cfg cfg = {
        .ping_interval_ms = o->ping_interval_ms,
        .ping_timeout_ms = o->ping_timeout_ms,
        .upgrade_timeout_ms = o->upgrade_timeout_ms,
        .max_payload = o->max_http_buffer_size,
        .max_buffered = o->max_buffered_bytes,
        .transports = o->transports,
        .allow_eio3 = o->allow_eio3,
        .worker = o->worker ? o->worker->index : 0,
        .workers = o->worker ? o->worker->count : 1,
    };
    return cfg;
}

static sioc__core *core_new(sioc_server *srv)
{
    const sioc_options *o = srv->opts;
    sioc__core *core = sioc__core_new(&srv->wheel, o->connect_timeout_ms);
    if (core) {
        core->cleanup_empty_children = o->cleanup_empty_children;
        core->max_children = o->max_dynamic_namespaces;
        core->recovery_ms = o->recovery_ms;
        core->recovery_skip_middlewares = o->recovery_skip_middlewares;
        core->parser =
            o->parser == SIOC_PARSER_MSGPACK ? &sioc__msgpack_parser : &sioc__json_parser;
    }
    return core;
}

/* This process's figures alone. */
static char *own_metrics(sioc_server *srv, size_t *len)
{
    sioc__engine_totals totals = {0, 0, 0, 0};
    sioc__transport_totals(srv->transport, &totals);
    return sioc__metrics_render(srv->core, &totals, len);
}

/* A worker's figures go to the others this often, and count while they are this fresh (a worker
 * that died drops out of the sum). */
#define METRICS_SHARE_MS 1000
#define METRICS_FRESH_MS 3500

char *sioc_server_metrics(sioc_server *srv, size_t *len)
{
    if (!srv) {
        return NULL;
    }
    sioc__workers_config *cfg = &srv->workers_config;
    char *own = own_metrics(srv, len);
    if (!own || !cfg->bus) {
        return own;
    }
    /* With worker processes: the sum of every worker's, whichever one the scrape reached. */
    const char *texts[SIOC__WORKERS_MAX];
    size_t n = 0;
    uint64_t now = sioc__now_ms();
    texts[n++] = own;
    for (unsigned i = 0; i < cfg->count && i < SIOC__WORKERS_MAX; i++) {
        if (i != cfg->index && cfg->metrics[i] && cfg->metrics_at[i] + METRICS_FRESH_MS > now) {
            texts[n++] = cfg->metrics[i];
        }
    }
    char *sum = sioc__metrics_sum(texts, n, len);
    free(own);
    return sum;
}

static void on_share_metrics(sioc__timer *t)
{
    sioc_server *srv = CONTAINER(t, sioc_server, metrics_timer);
    char *own = own_metrics(srv, NULL);
    if (own) {
        sioc__workers_share_metrics(&srv->workers_config, own);
    }
    free(own);
    sioc__timer_start(&srv->wheel, t, sioc__wheel_now(&srv->wheel) + METRICS_SHARE_MS,
                      on_share_metrics);
}

static char *render_metrics(void *arg, size_t *len)
{
    return sioc_server_metrics(arg, len);
}

/* The core behind the endpoint at the `path` option, which plain WebSocket clients join too. */
static int attach_core(sioc_server *srv)
{
    if (!(srv->core = core_new(srv))) {
        return SIOC_ERR_NOMEM;
    }
    sioc__engine_cfg cfg = engine_cfg(srv->opts);
    sioc__engine *eng;
    int rc = sioc__transport_add_engine(srv->transport, srv->opts->path, &cfg,
                                        &sioc__core_engine_handlers, srv->core, &eng);
    if (rc == 0) {
        srv->sio_engine = eng;
        eng->on_upgrade = sioc__core_on_upgrade;
        sioc__transport_set_plain_engine(srv->transport, eng);
        sioc__transport_on_metrics(srv->transport, render_metrics, srv);
    }
    return rc;
}

/* The Streams adapter, with Node's defaults for what the options leave out. */
static int join_streams(sioc_server *srv, const char *prefix, unsigned timeout_ms)
{
    const sioc_redis_streams_options *so = &srv->opts->streams;
    sioc__streams_config *sc = &srv->streams_config;
    sc->link = srv->redis;
    sc->wheel = &srv->wheel;
    sc->channel_prefix = prefix;
    sc->stream_name = so->stream_name ? so->stream_name : "socket.io";
    sc->stream_count = so->stream_count ? so->stream_count : 1;
    sc->sharded_pubsub = so->use_sharded_pubsub;
    sc->max_len = so->max_len ? so->max_len : 10000;
    sc->read_count = so->read_count ? so->read_count : 100;
    sc->block_ms = so->block_time_ms ? so->block_time_ms : 5000;
    sc->session_prefix = so->session_key_prefix ? so->session_key_prefix : "sio:session:";
    sc->requests_timeout_ms = timeout_ms;
    int rc = sioc__streams_start(sc);
    rc = rc < 0 ? rc : sioc__core_set_adapter(srv->core, &sioc__streams_adapter, sc);
    rc = rc < 0 ? rc : sioc__core_observe(srv->core, &sioc__streams_observer, sc);
    return rc < 0 ? rc : 0;
}

/* With Redis configured: every namespace's adapter is the Redis one, over one link. */
static int join_cluster(sioc_server *srv)
{
    const sioc_options *o = srv->opts;
    if (!o->redis_url) {
        return 0;
    }
    uv_loop_t *loop = sioc__transport_uv_loop(srv->transport);
    if (!loop) {
        sioc__log(SIOC_LOG_ERROR, "redis: needs the libuv event loop (--event-loop libuv)");
        return SIOC_ERR_INVALID;
    }
    if (!(srv->redis = sioc__redis_new(o->redis_url, loop))) {
        return SIOC_ERR_INVALID;
    }
    const char *prefix = o->redis_prefix ? o->redis_prefix : "socket.io";
    unsigned timeout_ms = o->redis_requests_timeout_ms ? o->redis_requests_timeout_ms : 5000;
    if (o->redis_adapter == SIOC_REDIS_SHARDED) {
        static const sioc__sharded_mode modes[] = {
            [SIOC_REDIS_DYNAMIC] = SIOC__SHARDED_DYNAMIC,
            [SIOC_REDIS_STATIC] = SIOC__SHARDED_STATIC,
            [SIOC_REDIS_DYNAMIC_PRIVATE] = SIOC__SHARDED_DYNAMIC_PRIVATE,
        };
        sioc__sharded_config *sc = &srv->sharded_config;
        sc->link = srv->redis;
        sc->prefix = prefix;
        sc->mode = modes[o->redis_mode];
        sc->requests_timeout_ms = timeout_ms;
        sioc__list_init(&sc->adapters);
        int rc = sioc__core_set_adapter(srv->core, &sioc__sharded_adapter, sc);
        if (rc == 0 && sc->mode != SIOC__SHARDED_STATIC) {
            rc = sioc__core_observe(srv->core, &sioc__sharded_observer, sc);
        }
        return rc < 0 ? rc : 0;
    }
    if (o->redis_adapter == SIOC_REDIS_STREAMS) {
        return join_streams(srv, prefix, timeout_ms);
    }
    srv->redis_config.link = srv->redis;
    srv->redis_config.prefix = prefix;
    srv->redis_config.requests_timeout_ms = timeout_ms;
    return sioc__core_set_adapter(srv->core, &sioc__redis_adapter, &srv->redis_config);
}

/* A worker process (--workers) without Redis: joined to the other workers by their own link. */
static int join_workers(sioc_server *srv)
{
    const sioc_options *o = srv->opts;
    const sioc__worker_cfg *w = o->worker;
    if (!w || o->redis_url) {
        return 0; /* alone, or every worker is a node of the Redis cluster, as in Node */
    }
    uv_loop_t *loop = sioc__transport_uv_loop(srv->transport);
    sioc__workers_config *cfg = &srv->workers_config;
    sioc__list_init(&cfg->adapters);
    _Static_assert(SIOC__MAX_WORKERS <= SIOC__WORKERS_MAX, "workers are bits of a uint64_t");
    cfg->index = w->index;
    cfg->count = w->count;
    cfg->requests_timeout_ms = o->redis_requests_timeout_ms ? o->redis_requests_timeout_ms : 5000;
    cfg->bus = loop ? sioc__bus_new(loop, w->group, w->index, w->count, w->bus_fd,
                                    sioc__workers_on_frame, sioc__workers_on_peer, cfg)
                    : NULL;
    if (!cfg->bus) {
        sioc__log(SIOC_LOG_ERROR, "workers: cannot join the other workers");
        return SIOC_ERR_SYSTEM;
    }
    int rc = sioc__core_set_adapter(srv->core, &sioc__workers_adapter, cfg);
    if (rc == 0 && o->recovery_ms) {
        rc = sioc__core_observe(srv->core, &sioc__workers_observer, cfg);
    }
    if (rc == 0 && o->metrics_path) {
        sioc__timer_start(&srv->wheel, &srv->metrics_timer, sioc__wheel_now(&srv->wheel),
                          on_share_metrics);
    }
    return rc < 0 ? rc : 0;
}

/* The configured name, or Node admin UI's default server id: "<hostname>#<pid>". */
static void name_node(sioc_server *srv)
{
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    if (srv->opts->name) {
        snprintf(srv->name, sizeof(srv->name), "%s", srv->opts->name);
    } else {
        snprintf(srv->name, sizeof(srv->name), "%s#%ld", host, (long)getpid());
    }
    sioc__log(SIOC_LOG_INFO, "node %s", srv->name);
}

static void on_wake(void *arg)
{
    sioc__tasks_drain(arg);
}

static void wake_loop(void *arg)
{
    sioc__transport_wake(arg);
}

/* Where the Admin UI's files are unless the options say: the npm package's, installed or in the
 * build tree. */
static int start_admin(sioc_server *srv)
{
    const sioc_options *o = srv->opts;
    if (!o->admin) {
        return 0;
    }
    char *dir = sioc__default_share_dir("admin-ui", SIOC_DEFAULT_ADMIN_UI_DIR);
    int rc = dir ? sioc__admin_new(srv, o->admin, o->name, o->worker != NULL, dir, &srv->admin)
                 : SIOC_ERR_NOMEM;
    free(dir);
    return rc;
}

const char *sioc_server_name(const sioc_server *srv)
{
    return srv ? srv->name : NULL;
}

int sioc_server_new(const sioc_options *opts, sioc_server **out)
{
    if (!out) {
        return SIOC_ERR_INVALID;
    }
    sioc_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        return SIOC_ERR_NOMEM;
    }
    sioc__tasks_init(&srv->tasks, srv, &srv->wheel, wake_loop, NULL);
    int rc = sioc__options_copy(opts, &srv->opts);
    if (rc == 0) {
        sioc__log_level = (int)srv->opts->log_level;
        sioc__log_json = srv->opts->log_format == SIOC_LOG_JSON;
        sioc__wheel_init(&srv->wheel, sioc__now_ms());
        rc = sioc__transport_new(srv->opts, &srv->wheel, &srv->transport);
    }
    if (srv->transport) {
        srv->tasks.wake_arg = srv->transport;
        sioc__transport_on_wake(srv->transport, on_wake, &srv->tasks);
    }
    rc = rc ? rc : attach_core(srv);
    rc = rc ? rc : join_cluster(srv);
    rc = rc ? rc : join_workers(srv);
    if (rc == 0) {
        name_node(srv);
        rc = start_admin(srv);
    }
    if (rc < 0) {
        sioc_server_free(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void sioc_server_free(sioc_server *srv)
{
    if (!srv) {
        return;
    }
    /* The Redis link's connections close while the loop still runs to let go of them; the
     * sessions end (the core hears of each); then the core, whose adapters drop their
     * subscriptions; then the link's memory. */
    /* Work off the loop ends first: its `after` calls may still reach sockets. The Admin UI goes
     * once no connection is left to call into it. */
    sioc__tasks_stop(&srv->tasks);
    sioc__redis_close(srv->redis);
    sioc__bus_free(srv->workers_config.bus);
    srv->workers_config.bus = NULL; /* what the adapters still answer goes nowhere */
    sioc__timer_stop(&srv->wheel, &srv->metrics_timer);
    sioc__workers_metrics_free(&srv->workers_config);
    sioc__transport_free(srv->transport);
    sioc__admin_free(srv->admin);
    sioc__core_free(srv->core);
    sioc__streams_stop(&srv->streams_config);
    sioc__redis_free(srv->redis);
    sioc_options_free(srv->opts);
    free(srv);
}

int sioc_server_attach_engine(sioc_server *srv, const char *path,
                              const sioc_engine_handlers *handlers, void *user_data)
{
    if (!srv || !path || path[0] != '/') {
        return SIOC_ERR_INVALID;
    }
    char *norm = sioc__normalize_path(path);
    if (!norm) {
        return SIOC_ERR_NOMEM;
    }
    sioc__engine_cfg cfg = engine_cfg(srv->opts);
    int rc = sioc__transport_add_engine(srv->transport, norm, &cfg, handlers, user_data, NULL);
    free(norm);
    return rc;
}

size_t sioc_server_namespaces(sioc_server *srv, sioc_namespace **out, size_t cap)
{
    return srv && (out || cap == 0) ? sioc__core_namespaces(srv->core, out, cap) : 0;
}

int sioc_server_engine_stats(sioc_server *srv, sioc_engine_stats *out)
{
    if (!srv || !out) {
        return SIOC_ERR_INVALID;
    }
    sioc__engine_totals totals = {0, 0, 0, 0};
    if (srv->sio_engine) {
        sioc__engine_add_totals(srv->sio_engine, &totals);
    }
    *out = (sioc_engine_stats){
        .clients = totals.polling + totals.websocket,
        .polling_clients = totals.polling,
        .packets_in = sioc__stats_g.packets_in,
        .packets_out = sioc__stats_g.packets_out,
        .bytes_in = sioc__stats_g.bytes_in,
        .bytes_out = sioc__stats_g.bytes_out,
    };
    return 0;
}

int sioc_server_set_interval(sioc_server *srv, unsigned ms, sioc_interval_cb cb, void *user_data)
{
    return srv ? sioc__tasks_set_interval(&srv->tasks, ms, cb, user_data) : SIOC_ERR_INVALID;
}

int sioc_server_clear_interval(sioc_server *srv, int id)
{
    return srv ? sioc__tasks_clear_interval(&srv->tasks, id) : SIOC_ERR_INVALID;
}

int sioc_server_queue_work(sioc_server *srv, sioc_work_cb work, sioc_after_work_cb after,
                           void *user_data)
{
    return srv ? sioc__tasks_queue(&srv->tasks, work, after, user_data) : SIOC_ERR_INVALID;
}

int sioc_server_serve_directory(sioc_server *srv, const char *prefix, const char *dir)
{
    struct stat st;
    if (!srv || !prefix || prefix[0] != '/' || !dir || stat(dir, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        return SIOC_ERR_INVALID;
    }
    return sioc__transport_mount(srv->transport, prefix, dir);
}

int sioc_server_port(const sioc_server *srv)
{
    return srv ? sioc__transport_port(srv->transport) : SIOC_ERR_INVALID;
}

int sioc_server_run(sioc_server *srv)
{
    return srv ? sioc__transport_run(srv->transport) : SIOC_ERR_INVALID;
}

void sioc_server_reload_tls(sioc_server *srv)
{
    if (srv && srv->transport) {
        sioc__transport_reload_tls(srv->transport);
    }
}

void sioc_server_stop(sioc_server *srv)
{
    if (srv && srv->transport) {
        sioc__transport_stop(srv->transport);
    }
}

/* ---- the Socket.IO layer ---- */

int sioc_server_observe(sioc_server *srv, const sioc_observer *observer, void *user_data)
{
    return srv ? sioc__core_observe(srv->core, observer, user_data) : SIOC_ERR_INVALID;
}

int sioc_server_unobserve(sioc_server *srv, int id)
{
    return srv ? sioc__core_unobserve(srv->core, id) : SIOC_ERR_INVALID;
}

sioc_namespace *sioc_server_of(sioc_server *srv, const char *name)
{
    return srv ? sioc__core_of(srv->core, name) : NULL;
}

sioc_namespace *sioc_server_of_pattern(sioc_server *srv, const char *pattern)
{
    return srv && pattern ? sioc__core_parent_new(srv->core, pattern, NULL, NULL) : NULL;
}

sioc_namespace *sioc_server_of_match(sioc_server *srv, sioc_namespace_match_cb cb, void *user_data)
{
    return srv && cb ? sioc__core_parent_new(srv->core, NULL, cb, user_data) : NULL;
}
