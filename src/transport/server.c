/* The transport: the libwebsockets context on a libuv (or poll) loop, the one protocol callback
 * that routes every request, the periodic tick that drives the server's timer wheel, and the
 * transport's life (transport.h). */
#include "transport/internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

/* Prometheus's text format, made by the server on each scrape. */
static int serve_metrics(sioc__transport *tr, struct lws *wsi, int method)
{
    if (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) {
        return sioc__reply_simple(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL, NULL);
    }
    size_t len = 0;
    char *text = tr->metrics(tr->metrics_arg, &len);
    if (!text) {
        return sioc__reply_closing(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    }
    int rc = sioc__reply_simple(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                                method == LWSHUMETH_HEAD ? "" : text);
    free(text);
    return rc;
}

void sioc__transport_on_metrics(sioc__transport *tr, sioc__metrics_fn render, void *arg)
{
    tr->metrics = render;
    tr->metrics_arg = arg;
}

void sioc__transport_totals(const sioc__transport *tr, sioc__engine_totals *out)
{
    for (const sioc__engine *e = tr->engines; e; e = e->next) {
        sioc__engine_add_totals(e, out);
    }
}

static int on_http(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
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
    if (sioc__serve_client(tr, wsi, path, &ret) == 0) {
        return ret;
    }
    sioc__engine *eng = sioc__engine_for_uri(tr, path, (size_t)ulen);
    if (eng) {
        return sioc__eio_http(tr, eng, wsi, c, method);
    }
    if (tr->metrics && tr->opts->metrics_path && strcmp(path, tr->opts->metrics_path) == 0) {
        return serve_metrics(tr, wsi, method);
    }
    if (tr->draining) { /* shutting down: only sessions finishing their exchange are served */
        return sioc__reply_closing(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE);
    }
    return sioc__serve_static(tr, wsi, path, method);
}

/* The certificate and key, read and matched by OpenSSL before libwebsockets is given them: a
 * clear message, and lws never starts a context whose vhost it cannot make. */
static int check_tls_files(const sioc_options *o)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *what = !ctx ? "no memory"
                       : SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1
                           ? "cannot read the certificate"
                       : SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1
                           ? "cannot read the private key"
                       : SSL_CTX_check_private_key(ctx) != 1 ? "the key is not the certificate's"
                                                             : NULL;
    if (what) {
        char detail[256] = "";
        ERR_error_string_n(ERR_get_error(), detail, sizeof(detail));
        sioc__log(SIOC_LOG_ERROR, "TLS: %s (%s, %s): %s", what, o->tls_cert, o->tls_key, detail);
    }
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return what ? SIOC_ERR_INVALID : 0;
}

static void on_cancel(sioc__transport *tr)
{
    if (tr->stopping && tr->uv) {
        uv_stop(tr->uv);
    }
    if (tr->reload_tls) {
        tr->reload_tls = 0;
        if (check_tls_files(tr->opts) < 0) {
            sioc__log(SIOC_LOG_ERROR, "TLS: the certificate in use is kept");
        } else {
            lws_tls_cert_updated(tr->ctx, tr->opts->tls_cert, tr->opts->tls_key, NULL, 0, NULL, 0);
            sioc__log(SIOC_LOG_INFO, "TLS: certificate %s read again", tr->opts->tls_cert);
        }
    }
    if (tr->on_wake) {
        tr->on_wake(tr->wake_arg);
    }
}

void sioc__transport_on_wake(sioc__transport *tr, void (*fn)(void *arg), void *arg)
{
    tr->on_wake = fn;
    tr->wake_arg = arg;
}

void sioc__transport_wake(sioc__transport *tr)
{
    if (tr->ctx) {
        lws_cancel_service(tr->ctx);
    }
}

int sioc__transport_mount(sioc__transport *tr, const char *prefix, const char *dir)
{
    struct sioc__mount *grown = realloc(tr->mounts, (tr->nmounts + 1) * sizeof(*grown));
    if (!grown) {
        return SIOC_ERR_NOMEM;
    }
    tr->mounts = grown;
    struct sioc__mount m = {sioc__normalize_path(prefix), strdup(dir)};
    if (!m.prefix || !m.dir) {
        free(m.prefix);
        free(m.dir);
        return SIOC_ERR_NOMEM;
    }
    tr->mounts[tr->nmounts++] = m;
    return 0;
}

/* Connections are limited by the file-descriptor limit alone: the soft limit is raised to the hard
 * one, as servers do, and the last few descriptors are kept in reserve. */
static void raise_fd_limit(sioc__transport *tr)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        tr->fd_limit = 1024;
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit raised = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            rl = raised;
        }
    }
    tr->fd_limit =
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 30 ? 1L << 30 : (long)rl.rlim_cur;
    sioc__log(SIOC_LOG_INFO, "up to %ld connections (RLIMIT_NOFILE %ld, %d kept in reserve)",
              tr->fd_limit - SIOC__FD_RESERVE, tr->fd_limit, SIOC__FD_RESERVE);
}

static int dispatch(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    sioc__pss *c = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT_FILE:
    case LWS_CALLBACK_RAW_RX_FILE:
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (lws_get_opaque_user_data(wsi) == &tr->ws_epoll) {
            return sioc__wsread_raw(tr, wsi, reason);
        }
        return sioc__front_raw(tr, wsi, reason);
    case LWS_CALLBACK_HTTP:
        sioc__http_busy(wsi);
        return on_http(tr, wsi, c);
    case LWS_CALLBACK_HTTP_BODY:
        return sioc__eio_body(tr, wsi, c, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return sioc__eio_body_done(tr, wsi, c);
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
        int rc = tr->draining ? -1 : sioc__upgrade_check(wsi, in);
        return rc ? rc : sioc__eio_confirm_upgrade(tr, wsi);
    }
    case LWS_CALLBACK_ADD_HEADERS:
        return c ? sioc__eio_ws_headers(tr, wsi, c, in) : 0;
    case LWS_CALLBACK_ESTABLISHED:
        /* sioc reads the WebSocket from here on (wsread.c): lws sends no RECEIVE. */
        return sioc__eio_ws_open(tr, wsi, c);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return sioc__eio_ws_writeable(tr, wsi, c);
    case LWS_CALLBACK_CLOSED:
        sioc__eio_ws_closed(wsi, c);
        break;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        if (tr->opts->worker) {
            return -1; /* "Connection: close" was said (idle.c) */
        }
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        sioc__http_destroyed(wsi);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        on_cancel(tr);
        break;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* `user` is the vhost's SSL_CTX: idle connections give back their 2 x 16 KiB of OpenSSL
         * buffers (lws sets this on its client contexts only). */
        SSL_CTX_set_mode((SSL_CTX *)user, SSL_MODE_RELEASE_BUFFERS);
        sioc__log(SIOC_LOG_DEBUG, "TLS: idle connections release their OpenSSL buffers");
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

/* lws allocates this for every WebSocket (plus LWS_PRE and 4) and never uses it: sioc reads
 * WebSockets itself (wsread.c) and writes through lws with tx_packet_size below. 256 cost 276
 * bytes per idle connection; 0 would mean pt_serv_buf_size. */
#define RX_BUFFER_SIZE 16

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
    sioc__transport *tr = CONTAINER(sul, sioc__transport, tick);
    sioc__wheel_advance(tr->wheel, sioc__now_ms());
    sioc__wsread_tls_again(tr);
    sioc__eio_flush(tr); /* heartbeats, and whatever the application sent from elsewhere */
    lws_sul_schedule(tr->ctx, 0, &tr->tick, on_tick, SIOC_WHEEL_TICK_MS * LWS_US_PER_MS);
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

static int create_context(sioc__transport *tr)
{
    if (tr->opts->tls_cert && check_tls_files(tr->opts) < 0) {
        return SIOC_ERR_INVALID;
    }
    if (sioc__front_listen(tr, tr->opts->host, tr->opts->port) != 0) {
        sioc__log(SIOC_LOG_ERROR, "cannot listen on %s:%d", tr->opts->host ? tr->opts->host : "*",
                  tr->opts->port);
        return SIOC_ERR_LISTEN;
    }
    raise_fd_limit(tr); /* before the context: lws sizes its tables by the limit */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* connections come through front.c */
    info.protocols = protocols;
    info.user = tr;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.retry_and_idle_policy = &retry_policy;
    info.pt_serv_buf_size = 64 * 1024;
    /* Node's maxHeaderSize: request line and headers up to 16 KiB (lws's default is 4 KiB, which
     * dropped a long cookie or sid without an answer). */
    info.max_http_header_data = SIOC__MAX_HEAD + 1024; /* lws stores a few bytes more per field */
    /* lws's own, for transactions it completes itself (static files); sioc's are in idle.c. */
    info.keepalive_timeout = (int)((tr->opts->keepalive_timeout_ms + 999) / 1000);
    info.timeout_secs = 30;
    info.vhost_name = "default";
    if (tr->opts->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = tr->opts->tls_cert;
        info.ssl_private_key_filepath = tr->opts->tls_key;
        /* Not h2: sioc's one-write answers do not work on HTTP/2 streams. */
        info.alpn = "http/1.1";
        tr->tls = true;
    }
    if (tr->uv) {
        info.options |= LWS_SERVER_OPTION_LIBUV;
        tr->foreign_loops[0] = tr->uv;
        info.foreign_loops = tr->foreign_loops;
    }
    lws_set_log_level(log_mask(tr->opts->log_level), lws_log_line);
    tr->ctx = lws_create_context(&info);
    if (!tr->ctx) {
        return SIOC_ERR_LISTEN;
    }
    tr->vhost = lws_get_vhost_by_name(tr->ctx, "default");
    tr->half_started = !tr->vhost;
    if (!tr->vhost || sioc__front_start(tr) != 0 || sioc__wsread_start(tr) != 0 ||
        sioc__route_start(tr) != 0) {
        sioc__log(SIOC_LOG_ERROR, "cannot listen on %s:%d", tr->opts->host ? tr->opts->host : "*",
                  tr->opts->port);
        return SIOC_ERR_LISTEN;
    }
    return 0;
}

static int add_engine(sioc__transport *tr, const char *path, const sioc__engine_cfg *cfg,
                      const sioc_engine_handlers *h, void *user_data, sioc__engine **out)
{
    sioc__engine *eng = sioc__engine_new(path, cfg, h, user_data, tr->wheel, &sioc__lws_io);
    if (!eng) {
        return SIOC_ERR_NOMEM;
    }
    /* Longer paths first, so "/a/b/" wins over "/a/". */
    sioc__engine **at = &tr->engines;
    while (*at && (*at)->path_len >= eng->path_len) {
        at = &(*at)->next;
    }
    eng->next = *at;
    *at = eng;
    if (out) {
        *out = eng;
    }
    return 0;
}

int sioc__transport_add_engine(sioc__transport *tr, const char *path, const sioc__engine_cfg *cfg,
                               const sioc_engine_handlers *handlers, void *user_data,
                               sioc__engine **out)
{
    for (sioc__engine *e = tr->engines; e; e = e->next) {
        if (strcmp(e->path, path) == 0) {
            return SIOC_ERR_INVALID;
        }
    }
    return add_engine(tr, path, cfg, handlers, user_data, out);
}

void sioc__transport_set_plain_engine(sioc__transport *tr, sioc__engine *eng)
{
    tr->sio_engine = eng;
}

/* After each round of I/O callbacks: what they queued for WebSockets goes out, each socket's
 * share in one write. */
static void on_check(uv_check_t *check)
{
    sioc__eio_flush(CONTAINER(check, sioc__transport, flush_check));
}

static int start_loop(sioc__transport *tr)
{
    if (tr->opts->loop != SIOC_LOOP_LIBUV) {
        return 0;
    }
    tr->uv = malloc(sizeof(*tr->uv));
    if (!tr->uv) {
        return SIOC_ERR_NOMEM;
    }
    if (uv_loop_init(tr->uv) != 0) {
        free(tr->uv);
        tr->uv = NULL;
        return SIOC_ERR_SYSTEM;
    }
    uv_check_init(tr->uv, &tr->flush_check);
    uv_check_start(&tr->flush_check, on_check);
    uv_unref((uv_handle_t *)&tr->flush_check); /* it must not keep the loop alive */
    return 0;
}

int sioc__transport_new(const sioc_options *opts, sioc__wheel *wheel, sioc__transport **out)
{
    sioc__transport *tr = calloc(1, sizeof(*tr));
    *out = tr;
    if (!tr) {
        return SIOC_ERR_NOMEM;
    }
    tr->opts = opts;
    tr->wheel = wheel;
    sioc__hdr_tokens_init(tr);
    tr->listen_fd = -1;
    tr->ws_epoll = -1;
    sioc__list_init(&tr->pending);
    sioc__list_init(&tr->asking);
    sioc__client_etag_init(tr);
    int rc = 0;
    if (opts->app_loop && opts->loop != SIOC_LOOP_LIBUV) {
        rc = SIOC_ERR_INVALID; /* only a libuv loop nests in the application's */
    }
    rc = rc ? rc : sioc__cors_init(tr);
    rc = rc ? rc : start_loop(tr);
    rc = rc ? rc : create_context(tr);
    if (rc == 0) {
        lws_sul_schedule(tr->ctx, 0, &tr->tick, on_tick, SIOC_WHEEL_TICK_MS * LWS_US_PER_MS);
    }
    if (rc == 0 && opts->app_loop) {
        rc = sioc__embed_start(tr, opts->app_loop);
    }
    return rc;
}

int sioc__transport_port(const sioc__transport *tr)
{
    return tr->port;
}

struct uv_loop_s *sioc__transport_uv_loop(const sioc__transport *tr)
{
    return tr->uv;
}

int sioc__transport_run(sioc__transport *tr)
{
    if (tr->embed) {
        return SIOC_ERR_INVALID; /* on the application's loop, the application runs it */
    }
    if (tr->uv) {
        /* uv_run returns once uv_stop is called from the cancel callback. */
        while (!tr->stopping) {
            uv_run(tr->uv, UV_RUN_DEFAULT);
        }
    } else {
        while (!tr->stopping) {
            if (lws_service(tr->ctx, 0) < 0) {
                return SIOC_ERR_SYSTEM;
            }
            sioc__eio_flush(tr);
        }
    }
    tr->stopping = 0;
    return 0;
}

void sioc__transport_reload_tls(sioc__transport *tr)
{
    if (tr->ctx && tr->tls) {
        tr->reload_tls = 1;
        lws_cancel_service(tr->ctx);
    }
}

void sioc__transport_stop(sioc__transport *tr)
{
    if (tr->ctx) {
        tr->stopping = 1;
        lws_cancel_service(tr->ctx);
    }
}

static size_t sessions_left(sioc__transport *tr)
{
    size_t n = 0;
    for (sioc__engine *e = tr->engines; e; e = e->next) {
        n += e->sessions.count;
    }
    return n;
}

/* A graceful end: every session closes after what it has queued (WebSockets with a close frame,
 * held GETs with a close packet), the loop running on until they have, within `max_ms`. */
static void drain(sioc__transport *tr, unsigned max_ms)
{
    tr->draining = true;
    if (sessions_left(tr) == 0) {
        return; /* nobody to say goodbye to */
    }
    for (sioc__engine *e = tr->engines; e; e = e->next) {
        sioc__engine_close_all(e, "server shutting down", true);
    }
    uint64_t end = sioc__now_ms() + max_ms, quiet = 0;
    while (sioc__now_ms() < end) {
        /* Once no session is left, a moment more for the last writes and close frames. */
        if (!quiet && sessions_left(tr) == 0) {
            quiet = sioc__now_ms() + 100;
        }
        if (quiet && sioc__now_ms() >= quiet) {
            break;
        }
        if (tr->uv) {
            uv_run(tr->uv, UV_RUN_ONCE); /* the 10 ms tick bounds each wait */
        } else if (lws_service(tr->ctx, 0) < 0) {
            break;
        }
        sioc__eio_flush(tr);
    }
}

void sioc__transport_free(sioc__transport *tr)
{
    if (!tr) {
        return;
    }
    sioc__embed_stop(tr); /* the application's loop no longer runs ours: the rest is as alone */
    if (tr->ctx && !tr->half_started) {
        drain(tr, 2000);
    }
    /* What is left ends now, with its reason, while its connections still exist. */
    for (sioc__engine *e = tr->engines; e; e = e->next) {
        sioc__engine_close_all(e, "server shutting down", false);
    }
    if (tr->ctx) {
        sioc__front_close_pending(tr);
        sioc__route_stop(tr);
        lws_sul_cancel(&tr->tick);
        sioc__eio_pacing_free(tr);
        lws_context_destroy(tr->ctx);
        /* A context without its vhost has already let go of the loop. */
        if (tr->uv && !tr->half_started) {
            /* With a foreign libuv loop, lws finishes its teardown once the loop has run the
             * handles' close callbacks. */
            uv_close((uv_handle_t *)&tr->flush_check, NULL);
            uv_run(tr->uv, UV_RUN_DEFAULT);
            lws_context_destroy(tr->ctx);
        }
    }
    if (tr->uv && !uv_is_closing((uv_handle_t *)&tr->flush_check)) {
        uv_close((uv_handle_t *)&tr->flush_check, NULL);
        uv_run(tr->uv, UV_RUN_NOWAIT);
    }
    if (tr->uv && uv_loop_close(tr->uv) == 0) {
        free(tr->uv);
    }
    if (tr->listen_fd >= 0) {
        close(tr->listen_fd); /* never handed to lws */
    }
    sioc__allow_free_all(tr); /* every connection has gone: undecided requests go too */
    sioc__client_z_free(tr);
    sioc__pmd_free(tr);
    free(tr->tls_again);
    for (size_t i = 0; i < tr->nmounts; i++) {
        free(tr->mounts[i].prefix);
        free(tr->mounts[i].dir);
    }
    free(tr->mounts);
    while (tr->engines) {
        sioc__engine *next = tr->engines->next;
        sioc__engine_free(tr->engines);
        tr->engines = next;
    }
    sioc__cors_free(tr);
    sioc__buf_free(&tr->batch);
    free(tr->flush);
    free(tr);
}
