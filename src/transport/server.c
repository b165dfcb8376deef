/* The server: the libwebsockets context on a libuv (or poll) loop, the one protocol callback that
 * routes every request, and the periodic tick that drives the timer wheel. */
#include "transport/internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

static int on_http(sioc_server *srv, struct lws *wsi, sioc__pss *c)
{
    char *uri;
    int ulen;
    int method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    if (method < 0 || ulen <= 0) {
        return sioc__reply_closing(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    char path[1024];
    if ((size_t)ulen >= sizeof(path)) {
        return sioc__reply_closing(wsi, HTTP_STATUS_REQ_URI_TOO_LONG);
    }
    if (!sioc__request_version_ok(wsi)) {
        sioc__log(SIOC_LOG_INFO, "HTTP: refused a request of an unknown HTTP version");
        return sioc__reply_closing(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    if (!sioc__request_framing_ok(wsi)) {
        sioc__log(SIOC_LOG_INFO, "HTTP: refused a request with an ambiguous body length");
        return sioc__reply_closing(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    memcpy(path, uri, (size_t)ulen);
    path[ulen] = '\0';
    memset(c, 0, sizeof(*c));
    int ret;
    if (sioc__serve_client(srv, wsi, path, &ret) == 0) {
        return ret;
    }
    sioc__engine *eng = sioc__engine_for_uri(srv, path, (size_t)ulen);
    if (eng) {
        return sioc__eio_http(srv, eng, wsi, c, method);
    }
    if (srv->draining) { /* shutting down: only sessions finishing their exchange are served */
        return sioc__reply_closing(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
    }
    return sioc__serve_static(srv, wsi, path, method);
}

static void on_cancel(sioc_server *srv)
{
    if (srv->stopping && srv->uv) {
        uv_stop(srv->uv);
    }
}

/* Connections are limited by the file-descriptor limit alone: the soft limit is raised to the hard
 * one, as servers do, and the last few descriptors are kept in reserve. */
static void raise_fd_limit(sioc_server *srv)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        srv->fd_limit = 1024;
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            rl = raised;
        }
    }
    srv->fd_limit =
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 30 ? 1L << 30 : (long)rl.rlim_cur;
    sioc__log(SIOC_LOG_INFO, "up to %ld connections (RLIMIT_NOFILE %ld, %d kept in reserve)",
              srv->fd_limit - SIOC__FD_RESERVE, srv->fd_limit, SIOC__FD_RESERVE);
}

static int dispatch(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    sioc_server *srv = lws_context_user(lws_get_context(wsi));
    sioc__pss *c = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT_FILE:
    case LWS_CALLBACK_RAW_RX_FILE:
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (lws_get_opaque_user_data(wsi) == &srv->ws_epoll) {
            return sioc__wsread_raw(srv, wsi, reason);
        }
        return sioc__front_raw(srv, wsi, reason);
    case LWS_CALLBACK_HTTP:
        sioc__http_busy(wsi);
        return on_http(srv, wsi, c);
    case LWS_CALLBACK_HTTP_BODY:
        return sioc__eio_body(srv, wsi, c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return sioc__eio_body_done(srv, wsi, c);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return sioc__eio_http_writeable(wsi, c);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        /* The transaction is over, answered or not. lws clears the per-session data before
         * CLOSED_HTTP, so a held GET or a POST whose client went away is let go of here. */
        if (c) {
            sioc__eio_http_closed(wsi, c);
        }
        break;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        sioc__http_busy(wsi);
        int rc = srv->draining ? -1 : sioc__upgrade_check(wsi, in);
        return rc ? rc : sioc__eio_confirm_upgrade(srv, wsi);
    }
    case LWS_CALLBACK_ADD_HEADERS:
        return c ? sioc__eio_ws_headers(srv, wsi, c, in) : 0;
    case LWS_CALLBACK_ESTABLISHED:
        /* sioc reads the WebSocket from here on (wsread.c): lws sends no RECEIVE. */
        return sioc__eio_ws_open(srv, wsi, c);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return sioc__eio_ws_writeable(srv, wsi, c);
    case LWS_CALLBACK_CLOSED:
        sioc__eio_ws_closed(wsi, c);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        sioc__http_destroyed(wsi);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        on_cancel(srv);
        break;
    default:
        break;
    }
    /* Without this, a request after a static file on a keep-alive connection breaks. */
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    return dispatch(wsi, reason, user, in, len);
}

/* lws allocates this for every WebSocket: small, since messages are reassembled in sioc__pss
 * anyway (a chat message usually fits). */
#define RX_BUFFER_SIZE 256

static const struct lws_protocols protocols[] = {
    /* First: upgrades without Sec-WebSocket-Protocol bind to the first protocol. */
    {"sioc", callback, sizeof(sioc__pss), RX_BUFFER_SIZE, 0, NULL, 256 * 1024},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* No lws validity timers: Engine.IO has its own heartbeat, and lws 4.1.6 keeps every timer in one
 * sorted list, so a timer per WebSocket made each new connection walk all the others (19,000
 * connections cost 300 us of CPU each to open; 48 us without). */
static const lws_retry_bo_t retry_policy = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
    sioc_server *srv = CONTAINER(sul, sioc_server, tick);
    sioc__wheel_advance(&srv->wheel, sioc__now_ms());
    sioc__eio_flush(srv); /* heartbeats, and whatever the application sent from elsewhere */
    lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick, SIOC_WHEEL_TICK_MS * LWS_US_PER_MS);
}

static int log_mask(sioc_log_level level)
{
    return level >= SIOC_LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR;
}

static void lws_log_line(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    sioc__log(level == LLL_ERR ? SIOC_LOG_ERROR : SIOC_LOG_DEBUG, "lws: %.*s", (int)n, line);
}

static int create_context(sioc_server *srv)
{
    if (sioc__front_listen(srv, srv->opts->host, srv->opts->port) != 0) {
        sioc__log(SIOC_LOG_ERROR, "cannot listen on %s:%d", srv->opts->host ? srv->opts->host : "*",
                  srv->opts->port);
        return SIOC_ERR_LISTEN;
    }
    raise_fd_limit(srv); /* before the context: lws sizes its tables by the limit */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* connections come through front.c */
    info.protocols = protocols;
    info.user = srv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.retry_and_idle_policy = &retry_policy;
    info.pt_serv_buf_size = 64 * 1024;
    /* Node's maxHeaderSize: request line and headers up to 16 KiB (lws's default is 4 KiB, which
     * dropped a long cookie or sid without an answer). */
    info.max_http_header_data = SIOC__MAX_HEAD + 1024; /* lws stores a few bytes more per field */
    /* lws's own, for transactions it completes itself (static files); sioc's are in idle.c. */
    info.keepalive_timeout = (int)((srv->opts->keepalive_timeout_ms + 999) / 1000);
    info.timeout_secs = 30;
    info.vhost_name = "default";
    if (srv->uv) {
        info.options |= LWS_SERVER_OPTION_LIBUV;
        srv->foreign_loops[0] = srv->uv;
        info.foreign_loops = srv->foreign_loops;
    }
    lws_set_log_level(log_mask(srv->opts->log_level), lws_log_line);
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        return SIOC_ERR_LISTEN;
    }
    srv->vhost = lws_get_vhost_by_name(srv->ctx, "default");
    srv->half_started = !srv->vhost;
    if (!srv->vhost || sioc__front_start(srv) != 0 || sioc__wsread_start(srv) != 0) {
        sioc__log(SIOC_LOG_ERROR, "cannot listen on %s:%d", srv->opts->host ? srv->opts->host : "*",
                  srv->opts->port);
        return SIOC_ERR_LISTEN;
    }
    return 0;
}

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
    };
    return cfg;
}

static int add_engine(sioc_server *srv, const char *path, const sioc_engine_handlers *h,
                      void *user_data)
{
    sioc__engine_cfg cfg = engine_cfg(srv->opts);
    sioc__engine *eng = sioc__engine_new(path, &cfg, h, user_data, &srv->wheel, &sioc__lws_io);
    if (!eng) {
        return SIOC_ERR_NOMEM;
    }
    /* Longer paths first, so "/a/b/" wins over "/a/". */
    sioc__engine **at = &srv->engines;
    while (*at && (*at)->path_len >= eng->path_len) {
        at = &(*at)->next;
    }
    eng->next = *at;
    *at = eng;
    return 0;
}

/* After each round of I/O callbacks: what they queued for WebSockets goes out, each socket's
 * share in one write. */
static void on_check(uv_check_t *check)
{
    sioc__eio_flush(CONTAINER(check, sioc_server, flush_check));
}

static int start_loop(sioc_server *srv)
{
    if (srv->opts->loop != SIOC_LOOP_LIBUV) {
        return 0;
    }
    srv->uv = malloc(sizeof(*srv->uv));
    if (!srv->uv) {
        return SIOC_ERR_NOMEM;
    }
    if (uv_loop_init(srv->uv) != 0) {
        free(srv->uv);
        srv->uv = NULL;
        return SIOC_ERR_SYSTEM;
    }
    uv_check_init(srv->uv, &srv->flush_check);
    uv_check_start(&srv->flush_check, on_check);
    uv_unref((uv_handle_t *)&srv->flush_check); /* it must not keep the loop alive */
    return 0;
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
    srv->listen_fd = -1;
    srv->ws_epoll = -1;
    sioc__list_init(&srv->pending);
    sioc__list_init(&srv->asking);
    int rc = sioc__options_copy(opts, &srv->opts);
    if (rc == 0) {
        sioc__log_level = (int)srv->opts->log_level;
        sioc__wheel_init(&srv->wheel, sioc__now_ms());
        sioc__client_etag_init(srv);
        srv->sio = sioc__core_new(&srv->wheel, srv->opts->connect_timeout_ms);
        if (srv->sio) {
            srv->sio->cleanup_empty_children = srv->opts->cleanup_empty_children;
            srv->sio->max_children = srv->opts->max_dynamic_namespaces;
            srv->sio->recovery_ms = srv->opts->recovery_ms;
            srv->sio->recovery_skip_middlewares = srv->opts->recovery_skip_middlewares;
        }
        rc = srv->sio ? add_engine(srv, srv->opts->path, &sioc__core_engine_handlers, srv->sio)
                      : SIOC_ERR_NOMEM;
        srv->sio_engine =
            rc == 0 ? sioc__engine_for_uri(srv, srv->opts->path, strlen(srv->opts->path)) : NULL;
    }
    if (rc == 0 && srv->opts->app_loop && srv->opts->loop != SIOC_LOOP_LIBUV) {
        rc = SIOC_ERR_INVALID; /* only a libuv loop nests in the application's */
    }
    rc = rc ? rc : sioc__cors_init(srv);
    rc = rc ? rc : start_loop(srv);
    rc = rc ? rc : create_context(srv);
    if (rc == 0) {
        lws_sul_schedule(srv->ctx, 0, &srv->tick, on_tick, SIOC_WHEEL_TICK_MS * LWS_US_PER_MS);
    }
    if (rc == 0 && srv->opts->app_loop) {
        rc = sioc__embed_start(srv, srv->opts->app_loop);
    }
    if (rc < 0) {
        sioc_server_free(srv);
        return rc;
    }
    *out = srv;
    return 0;
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
    int rc = 0;
    for (sioc__engine *e = srv->engines; e; e = e->next) {
        if (strcmp(e->path, norm) == 0) {
            free(norm);
            return SIOC_ERR_INVALID;
        }
    }
    rc = add_engine(srv, norm, handlers, user_data);
    free(norm);
    return rc;
}

int sioc_server_port(const sioc_server *srv)
{
    return srv ? srv->port : SIOC_ERR_INVALID;
}

int sioc_server_run(sioc_server *srv)
{
    if (!srv || srv->embed) {
        return SIOC_ERR_INVALID; /* on the application's loop, the application runs it */
    }
    if (srv->uv) {
        /* uv_run returns once uv_stop is called from the cancel callback. */
        while (!srv->stopping) {
            uv_run(srv->uv, UV_RUN_DEFAULT);
        }
    } else {
        while (!srv->stopping) {
            if (lws_service(srv->ctx, 0) < 0) {
                return SIOC_ERR_SYSTEM;
            }
            sioc__eio_flush(srv);
        }
    }
    srv->stopping = 0;
    return 0;
}

void sioc_server_stop(sioc_server *srv)
{
    if (srv && srv->ctx) {
        srv->stopping = 1;
        lws_cancel_service(srv->ctx);
    }
}

static size_t sessions_left(sioc_server *srv)
{
    size_t n = 0;
    for (sioc__engine *e = srv->engines; e; e = e->next) {
        n += e->sessions.count;
    }
    return n;
}

/* A graceful end: every session closes after what it has queued (WebSockets with a close frame,
 * held GETs with a close packet), the loop running on until they have, within `max_ms`. */
static void drain(sioc_server *srv, unsigned max_ms)
{
    srv->draining = true;
    if (sessions_left(srv) == 0) {
        return; /* nobody to say goodbye to */
    }
    for (sioc__engine *e = srv->engines; e; e = e->next) {
        sioc__engine_close_all(e, "server shutting down", true);
    }
    uint64_t end = sioc__now_ms() + max_ms, quiet = 0;
    while (sioc__now_ms() < end) {
        /* Once no session is left, a moment more for the last writes and close frames. */
        if (!quiet && sessions_left(srv) == 0) {
            quiet = sioc__now_ms() + 100;
        }
        if (quiet && sioc__now_ms() >= quiet) {
            break;
        }
        if (srv->uv) {
            uv_run(srv->uv, UV_RUN_ONCE); /* the 10 ms tick bounds each wait */
        } else if (lws_service(srv->ctx, 0) < 0) {
            break;
        }
        sioc__eio_flush(srv);
    }
}

void sioc_server_free(sioc_server *srv)
{
    if (!srv) {
        return;
    }
    sioc__embed_stop(srv); /* the application's loop no longer runs ours: the rest is as alone */
    if (srv->ctx && !srv->half_started) {
        drain(srv, 2000);
    }
    /* What is left ends now, with its reason, while its connections still exist. */
    for (sioc__engine *e = srv->engines; e; e = e->next) {
        sioc__engine_close_all(e, "server shutting down", false);
    }
    if (srv->ctx) {
        sioc__front_close_pending(srv);
        lws_sul_cancel(&srv->tick);
        sioc__eio_pacing_free(srv);
        lws_context_destroy(srv->ctx);
        /* A context without its vhost has already let go of the loop. */
        if (srv->uv && !srv->half_started) {
            /* With a foreign libuv loop, lws finishes its teardown once the loop has run the
             * handles' close callbacks. */
            uv_close((uv_handle_t *)&srv->flush_check, NULL);
            uv_run(srv->uv, UV_RUN_DEFAULT);
            lws_context_destroy(srv->ctx);
        }
    }
    if (srv->uv && !uv_is_closing((uv_handle_t *)&srv->flush_check)) {
        uv_close((uv_handle_t *)&srv->flush_check, NULL);
        uv_run(srv->uv, UV_RUN_NOWAIT);
    }
    if (srv->uv && uv_loop_close(srv->uv) == 0) {
        free(srv->uv);
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd); /* never handed to lws */
    }
    sioc__allow_free_all(srv); /* every connection has gone: undecided requests go too */
    while (srv->engines) {
        sioc__engine *next = srv->engines->next;
        sioc__engine_free(srv->engines);
        srv->engines = next;
    }
    sioc__core_free(srv->sio);
    sioc__cors_free(srv);
    sioc__buf_free(&srv->batch);
    free(srv->flush);
    sioc_options_free(srv->opts);
    free(srv);
}

int sioc_server_observe(sioc_server *srv, const sioc_observer *observer, void *user_data)
{
    return srv ? sioc__core_observe(srv->sio, observer, user_data) : SIOC_ERR_INVALID;
}

int sioc_server_unobserve(sioc_server *srv, int id)
{
    return srv ? sioc__core_unobserve(srv->sio, id) : SIOC_ERR_INVALID;
}

sioc_namespace *sioc_server_of(sioc_server *srv, const char *name)
{
    return srv ? sioc__core_of(srv->sio, name) : NULL;
}

sioc_namespace *sioc_server_of_pattern(sioc_server *srv, const char *pattern)
{
    return srv && pattern ? sioc__core_parent_new(srv->sio, pattern, NULL, NULL) : NULL;
}

sioc_namespace *sioc_server_of_match(sioc_server *srv, sioc_namespace_match_cb cb, void *user_data)
{
    return srv && cb ? sioc__core_parent_new(srv->sio, NULL, cb, user_data) : NULL;
}
