#include "core/options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIOC_DEFAULT_CLIENT_DIR
#define SIOC_DEFAULT_CLIENT_DIR ""
#endif

const char *sioc_strerror(int err)
{
    switch (err) {
    case SIOC_OK:
        return "success";
    case SIOC_ERR_NOMEM:
        return "out of memory";
    case SIOC_ERR_INVALID:
        return "invalid argument";
    case SIOC_ERR_LISTEN:
        return "cannot listen on the requested address and port";
    case SIOC_ERR_CLOSED:
        return "the connection is closed";
    case SIOC_ERR_SYSTEM:
        return "event loop or system call failure";
    case SIOC_ERR_TOO_LARGE:
        return "larger than maxHttpBufferSize";
    case SIOC_ERR_TIMEOUT:
        return "operation has timed out";
    default:
        return "unknown error";
    }
}

char *sioc__normalize_path(const char *path)
{
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/') {
        n--;
    }
    char *out = malloc(n + 2);
    if (out) {
        memcpy(out, path, n);
        out[n] = '/';
        out[n + 1] = '\0';
    }
    return out;
}

int sioc_options_new(sioc_options **out)
{
    if (!out) {
        return SIOC_ERR_INVALID;
    }
    sioc_options *o = calloc(1, sizeof(*o));
    if (!o) {
        return SIOC_ERR_NOMEM;
    }
    o->port = 3000;
    o->path = strdup("/socket.io/");
    o->client_dir = strdup(SIOC_DEFAULT_CLIENT_DIR);
    if (!o->path || !o->client_dir) {
        sioc_options_free(o);
        return SIOC_ERR_NOMEM;
    }
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->upgrade_timeout_ms = 10000;
    o->connect_timeout_ms = 45000;
    o->max_http_buffer_size = 1000000;
    o->transports = SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET;
    o->serve_client = true;
    o->loop = SIOC_LOOP_LIBUV;
    o->log_level = SIOC_LOG_WARN;
    *out = o;
    return 0;
}

static void free_origins(sioc_options *o)
{
    for (size_t i = 0; i < o->cors_count; i++) {
        free(o->cors_origins[i]);
    }
    free(o->cors_origins);
    o->cors_origins = NULL;
    o->cors_count = 0;
}

void sioc_options_free(sioc_options *o)
{
    if (!o) {
        return;
    }
    free(o->host);
    free(o->path);
    free(o->client_dir);
    free(o->public_dir);
    free_origins(o);
    free(o);
}

/* Replaces *slot with a copy of `value` (NULL allowed when `nullable`). */
static int set_string(char **slot, const char *value, bool nullable)
{
    if (!value && !nullable) {
        return SIOC_ERR_INVALID;
    }
    char *copy = NULL;
    if (value && !(copy = strdup(value))) {
        return SIOC_ERR_NOMEM;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

int sioc_options_set_port(sioc_options *o, int port)
{
    if (!o || port < 0 || port > 65535) {
        return SIOC_ERR_INVALID;
    }
    o->port = port;
    return 0;
}

int sioc_options_set_host(sioc_options *o, const char *host)
{
    return o ? set_string(&o->host, host, true) : SIOC_ERR_INVALID;
}

int sioc_options_set_path(sioc_options *o, const char *path)
{
    if (!o || !path || path[0] != '/') {
        return SIOC_ERR_INVALID;
    }
    char *p = sioc__normalize_path(path);
    if (!p) {
        return SIOC_ERR_NOMEM;
    }
    free(o->path);
    o->path = p;
    return 0;
}

static int set_ms(unsigned *slot, unsigned ms)
{
    if (ms == 0 || ms > INT_MAX) {
        return SIOC_ERR_INVALID;
    }
    *slot = ms;
    return 0;
}

int sioc_options_set_ping_interval_ms(sioc_options *o, unsigned ms)
{
    return o ? set_ms(&o->ping_interval_ms, ms) : SIOC_ERR_INVALID;
}

int sioc_options_set_ping_timeout_ms(sioc_options *o, unsigned ms)
{
    return o ? set_ms(&o->ping_timeout_ms, ms) : SIOC_ERR_INVALID;
}

int sioc_options_set_upgrade_timeout_ms(sioc_options *o, unsigned ms)
{
    return o ? set_ms(&o->upgrade_timeout_ms, ms) : SIOC_ERR_INVALID;
}

int sioc_options_set_connect_timeout_ms(sioc_options *o, unsigned ms)
{
    return o ? set_ms(&o->connect_timeout_ms, ms) : SIOC_ERR_INVALID;
}

int sioc_options_set_max_http_buffer_size(sioc_options *o, size_t bytes)
{
    if (!o || bytes == 0 || bytes > INT_MAX) {
        return SIOC_ERR_INVALID;
    }
    o->max_http_buffer_size = bytes;
    return 0;
}

int sioc_options_set_transports(sioc_options *o, unsigned mask)
{
    if (!o || mask == 0 || (mask & ~(unsigned)(SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET))) {
        return SIOC_ERR_INVALID;
    }
    o->transports = mask;
    return 0;
}

int sioc_options_add_cors_origin(sioc_options *o, const char *origin)
{
    if (!o || !origin || !*origin) {
        return SIOC_ERR_INVALID;
    }
    char **list = realloc(o->cors_origins, (o->cors_count + 1) * sizeof(*list));
    if (!list) {
        return SIOC_ERR_NOMEM;
    }
    o->cors_origins = list;
    if (!(list[o->cors_count] = strdup(origin))) {
        return SIOC_ERR_NOMEM;
    }
    o->cors_count++;
    return 0;
}

int sioc_options_set_cors_credentials(sioc_options *o, bool credentials)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->cors_credentials = credentials;
    return 0;
}

int sioc_options_set_serve_client(sioc_options *o, bool serve)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->serve_client = serve;
    return 0;
}

int sioc_options_set_connection_state_recovery(sioc_options *o, unsigned ms, bool skip_middlewares)
{
    if (!o || ms > INT_MAX) {
        return SIOC_ERR_INVALID;
    }
    o->recovery_ms = ms;
    o->recovery_skip_middlewares = skip_middlewares;
    return 0;
}

int sioc_options_set_cleanup_empty_child_namespaces(sioc_options *o, bool cleanup)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->cleanup_empty_children = cleanup;
    return 0;
}

int sioc_options_set_client_dir(sioc_options *o, const char *dir)
{
    return o ? set_string(&o->client_dir, dir, false) : SIOC_ERR_INVALID;
}

int sioc_options_set_public_dir(sioc_options *o, const char *dir)
{
    return o ? set_string(&o->public_dir, dir, true) : SIOC_ERR_INVALID;
}

int sioc_options_set_event_loop(sioc_options *o, sioc_event_loop loop)
{
    if (!o || (loop != SIOC_LOOP_LIBUV && loop != SIOC_LOOP_POLL)) {
        return SIOC_ERR_INVALID;
    }
    o->loop = loop;
    return 0;
}

int sioc_options_set_log_level(sioc_options *o, sioc_log_level level)
{
    if (!o || level < SIOC_LOG_ERROR || level > SIOC_LOG_DEBUG) {
        return SIOC_ERR_INVALID;
    }
    o->log_level = level;
    return 0;
}

int sioc__options_copy(const sioc_options *src, sioc_options **out)
{
    sioc_options *o;
    int rc = sioc_options_new(&o);
    if (rc < 0 || !src) {
        *out = rc < 0 ? NULL : o;
        return rc;
    }
    char *path = o->path, *client_dir = o->client_dir;
    *o = *src;
    o->path = path;
    o->client_dir = client_dir;
    o->host = NULL;
    o->public_dir = NULL;
    o->cors_origins = NULL;
    o->cors_count = 0;
    rc = set_string(&o->path, src->path, false);
    rc = rc ? rc : set_string(&o->client_dir, src->client_dir, false);
    rc = rc ? rc : set_string(&o->host, src->host, true);
    rc = rc ? rc : set_string(&o->public_dir, src->public_dir, true);
    for (size_t i = 0; rc == 0 && i < src->cors_count; i++) {
        rc = sioc_options_add_cors_origin(o, src->cors_origins[i]);
    }
    if (rc < 0) {
        sioc_options_free(o);
        return rc;
    }
    *out = o;
    return 0;
}
