#include "server/options.h"

#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SIOC_DEFAULT_CLIENT_DIR
#define SIOC_DEFAULT_CLIENT_DIR ""
#endif
#ifndef SIOC_SHARE_DIR
#define SIOC_SHARE_DIR ""
#endif
#ifndef SIOC_BIN_TO_SHARE
#define SIOC_BIN_TO_SHARE "../share/sioc"
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

static bool is_dir(const char *path)
{
    struct stat st;
    return path[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *sioc__default_share_dir(const char *sub, const char *in_build)
{
    char exe[PATH_MAX], dir[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = '\0';
        snprintf(dir, sizeof(dir), "%s/%s/%s", exe, SIOC_BIN_TO_SHARE, sub);
        if (is_dir(dir)) {
            return strdup(dir);
        }
    }
    snprintf(dir, sizeof(dir), "%s/%s", SIOC_SHARE_DIR, sub);
    return strdup(is_dir(in_build) || !is_dir(dir) ? in_build : dir);
}

static char *default_client_dir(void)
{
    return sioc__default_share_dir("client", SIOC_DEFAULT_CLIENT_DIR);
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
    o->client_dir = default_client_dir();
    o->cors_methods = strdup("GET,HEAD,PUT,PATCH,POST,DELETE");
    if (!o->path || !o->client_dir || !o->cors_methods) {
        sioc_options_free(o);
        return SIOC_ERR_NOMEM;
    }
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->upgrade_timeout_ms = 10000;
    o->keepalive_timeout_ms = 5000;
    o->connect_timeout_ms = 45000;
    o->max_http_buffer_size = 1000000;
    o->max_buffered_bytes = 16u << 20;
    o->max_dynamic_namespaces = 10000;
    o->transports = SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET;
    o->serve_client = true;
    o->http_compression = true;
    o->http_compression_threshold = 1024;
    o->per_message_deflate_threshold = 1024;
    o->loop = SIOC_LOOP_LIBUV;
    o->log_level = SIOC_LOG_WARN;
    o->workers = 1;
    *out = o;
    return 0;
}

static void free_list(char ***list, size_t *n)
{
    for (size_t i = 0; i < *n; i++) {
        free((*list)[i]);
    }
    free(*list);
    *list = NULL;
    *n = 0;
}

static int add_to_list(char ***list, size_t *n, const char *value)
{
    char **grown = realloc(*list, (*n + 1) * sizeof(*grown));
    if (!grown) {
        return SIOC_ERR_NOMEM;
    }
    *list = grown;
    if (!(grown[*n] = strdup(value))) {
        return SIOC_ERR_NOMEM;
    }
    (*n)++;
    return 0;
}

bool sioc__cors_configured(const sioc_options *o)
{
    return o->cors_count || o->cors_pattern_count || o->cors_cb;
}

static void admin_free(sioc_admin_ui_options *a)
{
    if (a) {
        free((char *)a->namespace_name);
        free((char *)a->username);
        free((char *)a->password_hash);
        free((char *)a->server_id);
        free((char *)a->ui_path);
        free((char *)a->ui_dir);
        free(a);
    }
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
    free(o->cors_methods);
    free(o->cors_headers);
    free(o->cookie_name);
    free(o->cookie_path);
    free(o->cookie_same_site);
    free(o->redis_url);
    free(o->redis_prefix);
    free((char *)o->streams.stream_name);
    free((char *)o->streams.session_key_prefix);
    free(o->name);
    free(o->metrics_path);
    free(o->tls_cert);
    free(o->tls_key);
    admin_free(o->admin);
    free_list(&o->cors_origins, &o->cors_count);
    free_list(&o->cors_patterns, &o->cors_pattern_count);
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

int sioc_options_set_keepalive_timeout_ms(sioc_options *o, unsigned ms)
{
    if (!o || ms > INT_MAX) {
        return SIOC_ERR_INVALID;
    }
    o->keepalive_timeout_ms = ms;
    return 0;
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

int sioc_options_set_max_buffered_bytes(sioc_options *o, size_t bytes)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->max_buffered_bytes = bytes;
    return 0;
}

int sioc_options_set_transports(sioc_options *o, unsigned mask)
{
    if (!o || mask == 0 ||
        (mask & ~(unsigned)(SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET))) {
        return SIOC_ERR_INVALID;
    }
    o->transports = mask;
    return 0;
}

int sioc_options_set_allow_eio3(sioc_options *o, bool allow)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->allow_eio3 = allow;
    return 0;
}

int sioc_options_add_cors_origin(sioc_options *o, const char *origin)
{
    if (!o || !origin || !*origin) {
        return SIOC_ERR_INVALID;
    }
    return add_to_list(&o->cors_origins, &o->cors_count, origin);
}

int sioc_options_add_cors_origin_pattern(sioc_options *o, const char *pattern)
{
    regex_t re;
    if (!o || !pattern || regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        return SIOC_ERR_INVALID;
    }
    regfree(&re);
    return add_to_list(&o->cors_patterns, &o->cors_pattern_count, pattern);
}

int sioc_options_set_cors_origin_callback(sioc_options *o, sioc_origin_cb cb, void *user_data)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->cors_cb = cb;
    o->cors_data = user_data;
    return 0;
}

int sioc_options_set_cors_methods(sioc_options *o, const char *methods)
{
    return o ? set_string(&o->cors_methods, methods, false) : SIOC_ERR_INVALID;
}

int sioc_options_set_cors_allowed_headers(sioc_options *o, const char *headers)
{
    return o ? set_string(&o->cors_headers, headers, true) : SIOC_ERR_INVALID;
}

int sioc_options_set_allow_request(sioc_options *o, sioc_allow_request_cb cb, void *user_data)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->allow_request = cb;
    o->allow_request_async = NULL;
    o->allow_request_data = user_data;
    return 0;
}

int sioc_options_set_allow_request_async(sioc_options *o, sioc_allow_request_async_cb cb,
                                         void *user_data)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->allow_request_async = cb;
    o->allow_request = NULL;
    o->allow_request_data = user_data;
    return 0;
}

int sioc_options_set_cookie(sioc_options *o, const char *name, const char *path, bool http_only,
                            const char *same_site)
{
    if (!o || (name && (!*name || strpbrk(name, "=; \t\r\n"))) ||
        (path && strpbrk(path, ";\r\n")) ||
        (same_site && strcmp(same_site, "Lax") && strcmp(same_site, "Strict") &&
         strcmp(same_site, "None"))) {
        return SIOC_ERR_INVALID;
    }
    int rc = set_string(&o->cookie_name, name, true);
    rc = rc ? rc : set_string(&o->cookie_path, path ? path : "/", false);
    rc = rc ? rc : set_string(&o->cookie_same_site, same_site, true);
    o->cookie_http_only = http_only;
    return rc;
}

int sioc_options_set_trust_proxy(sioc_options *o, bool trust)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->trust_proxy = trust;
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

int sioc_options_set_max_dynamic_namespaces(sioc_options *o, size_t max)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->max_dynamic_namespaces = max;
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

int sioc_options_set_uv_loop(sioc_options *o, struct uv_loop_s *loop)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->app_loop = loop;
    return 0;
}

int sioc_options_set_log_format(sioc_options *o, sioc_log_format format)
{
    if (!o || (format != SIOC_LOG_TEXT && format != SIOC_LOG_JSON)) {
        return SIOC_ERR_INVALID;
    }
    o->log_format = format;
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

int sioc_options_set_redis(sioc_options *o, const char *url, const char *prefix)
{
    if (!o || (url && strncmp(url, "redis://", 8) != 0) || (prefix && !prefix[0])) {
        return SIOC_ERR_INVALID;
    }
    int rc = set_string(&o->redis_url, url, true);
    return rc ? rc : set_string(&o->redis_prefix, prefix, true);
}

int sioc_options_set_redis_adapter(sioc_options *o, sioc_redis_adapter adapter,
                                   sioc_redis_subscription_mode mode)
{
    if (!o ||
        (adapter != SIOC_REDIS_CLASSIC && adapter != SIOC_REDIS_SHARDED &&
         adapter != SIOC_REDIS_STREAMS) ||
        (mode != SIOC_REDIS_DYNAMIC && mode != SIOC_REDIS_STATIC &&
         mode != SIOC_REDIS_DYNAMIC_PRIVATE)) {
        return SIOC_ERR_INVALID;
    }
    o->redis_adapter = adapter;
    o->redis_mode = mode;
    return 0;
}

int sioc_options_set_redis_streams(sioc_options *o, const sioc_redis_streams_options *streams)
{
    if (!o || !streams || (streams->stream_name && !streams->stream_name[0])) {
        return SIOC_ERR_INVALID;
    }
    sioc_redis_streams_options copy = *streams;
    copy.stream_name = copy.session_key_prefix = NULL;
    int rc = set_string((char **)&copy.stream_name, streams->stream_name, true);
    if (rc == 0) {
        rc = set_string((char **)&copy.session_key_prefix, streams->session_key_prefix, true);
    }
    if (rc < 0) {
        free((char *)copy.stream_name);
        return rc;
    }
    free((char *)o->streams.stream_name);
    free((char *)o->streams.session_key_prefix);
    o->streams = copy;
    return 0;
}

int sioc_options_set_redis_requests_timeout(sioc_options *o, unsigned ms)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->redis_requests_timeout_ms = ms;
    return 0;
}

int sioc_options_set_workers(sioc_options *o, unsigned workers)
{
    if (!o || workers > SIOC__MAX_WORKERS) {
        return SIOC_ERR_INVALID;
    }
    o->workers = workers;
    return 0;
}

int sioc_options_set_metrics_path(sioc_options *o, const char *path)
{
    if (!o || (path && path[0] != '/')) {
        return SIOC_ERR_INVALID;
    }
    return set_string(&o->metrics_path, path, true);
}

/* A copy of `src` whose strings are its own; NULL on no memory. */
static sioc_admin_ui_options *admin_copy(const sioc_admin_ui_options *src)
{
    sioc_admin_ui_options *a = calloc(1, sizeof(*a));
    if (!a) {
        return NULL;
    }
    a->no_auth = src->no_auth;
    a->readonly = src->readonly;
    a->production = src->production;
    int rc = set_string((char **)&a->namespace_name, src->namespace_name, true);
    rc = rc ? rc : set_string((char **)&a->username, src->username, true);
    rc = rc ? rc : set_string((char **)&a->password_hash, src->password_hash, true);
    rc = rc ? rc : set_string((char **)&a->server_id, src->server_id, true);
    rc = rc ? rc : set_string((char **)&a->ui_path, src->ui_path, true);
    rc = rc ? rc : set_string((char **)&a->ui_dir, src->ui_dir, true);
    if (rc < 0) {
        admin_free(a);
        return NULL;
    }
    return a;
}

int sioc_options_set_admin_ui(sioc_options *o, const sioc_admin_ui_options *admin)
{
    if (!o || (admin && admin->namespace_name && admin->namespace_name[0] != '/') ||
        (admin && admin->ui_path && admin->ui_path[0] && admin->ui_path[0] != '/')) {
        return SIOC_ERR_INVALID;
    }
    sioc_admin_ui_options *copy = admin ? admin_copy(admin) : NULL;
    if (admin && !copy) {
        return SIOC_ERR_NOMEM;
    }
    admin_free(o->admin);
    o->admin = copy;
    return 0;
}

int sioc_options_set_http_compression(sioc_options *o, bool enabled, size_t threshold)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->http_compression = enabled;
    o->http_compression_threshold = threshold;
    return 0;
}

int sioc_options_set_per_message_deflate(sioc_options *o, bool enabled, size_t threshold)
{
    if (!o) {
        return SIOC_ERR_INVALID;
    }
    o->per_message_deflate = enabled;
    o->per_message_deflate_threshold = threshold;
    return 0;
}

int sioc_options_set_tls(sioc_options *o, const char *cert_file, const char *key_file)
{
    if (!o || !cert_file != !key_file) {
        return SIOC_ERR_INVALID;
    }
    int rc = set_string(&o->tls_cert, cert_file, true);
    return rc ? rc : set_string(&o->tls_key, key_file, true);
}

int sioc_options_set_parser(sioc_options *o, sioc_parser parser)
{
    if (!o || (parser != SIOC_PARSER_DEFAULT && parser != SIOC_PARSER_MSGPACK)) {
        return SIOC_ERR_INVALID;
    }
    o->parser = parser;
    return 0;
}

int sioc_options_set_name(sioc_options *o, const char *name)
{
    return o ? set_string(&o->name, name, true) : SIOC_ERR_INVALID;
}

int sioc__options_copy(const sioc_options *src, sioc_options **out)
{
    sioc_options *o;
    int rc = sioc_options_new(&o);
    if (rc < 0 || !src) {
        *out = rc < 0 ? NULL : o;
        return rc;
    }
    char *path = o->path, *client_dir = o->client_dir, *methods = o->cors_methods;
    *o = *src;
    /* Every owned string and list is copied below; start from none. */
    o->path = path;
    o->client_dir = client_dir;
    o->cors_methods = methods;
    o->host = o->public_dir = o->cors_headers = NULL;
    o->cookie_name = o->cookie_path = o->cookie_same_site = NULL;
    o->redis_url = o->redis_prefix = o->name = o->metrics_path = NULL;
    o->streams.stream_name = o->streams.session_key_prefix = NULL;
    o->admin = NULL;
    o->tls_cert = o->tls_key = NULL;
    o->cors_origins = o->cors_patterns = NULL;
    o->cors_count = o->cors_pattern_count = 0;
    rc = set_string(&o->path, src->path, false);
    rc = rc ? rc : set_string(&o->client_dir, src->client_dir, false);
    rc = rc ? rc : set_string(&o->cors_methods, src->cors_methods, false);
    rc = rc ? rc : set_string(&o->host, src->host, true);
    rc = rc ? rc : set_string(&o->public_dir, src->public_dir, true);
    rc = rc ? rc : set_string(&o->cors_headers, src->cors_headers, true);
    rc = rc ? rc : set_string(&o->cookie_name, src->cookie_name, true);
    rc = rc ? rc : set_string(&o->cookie_path, src->cookie_path, true);
    rc = rc ? rc : set_string(&o->cookie_same_site, src->cookie_same_site, true);
    rc = rc ? rc : set_string(&o->redis_url, src->redis_url, true);
    rc = rc ? rc : set_string(&o->redis_prefix, src->redis_prefix, true);
    rc = rc ? rc : set_string(&o->name, src->name, true);
    rc = rc ? rc : set_string(&o->metrics_path, src->metrics_path, true);
    rc = rc ? rc : sioc_options_set_redis_streams(o, &src->streams);
    rc = rc ? rc : sioc_options_set_admin_ui(o, src->admin);
    rc = rc ? rc : set_string(&o->tls_cert, src->tls_cert, true);
    rc = rc ? rc : set_string(&o->tls_key, src->tls_key, true);
    for (size_t i = 0; rc == 0 && i < src->cors_count; i++) {
        rc = add_to_list(&o->cors_origins, &o->cors_count, src->cors_origins[i]);
    }
    for (size_t i = 0; rc == 0 && i < src->cors_pattern_count; i++) {
        rc = add_to_list(&o->cors_patterns, &o->cors_pattern_count, src->cors_patterns[i]);
    }
    if (rc < 0) {
        sioc_options_free(o);
        return rc;
    }
    *out = o;
    return 0;
}
