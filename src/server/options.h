/* The options object behind sioc_options_*. */
#ifndef SIOC_SERVER_OPTIONS_H
#define SIOC_SERVER_OPTIONS_H

#include "sioc.h"

/* A worker process's place among its siblings (--workers). Every worker listens on the same port
 * (SO_REUSEPORT) and marks its sids with `index`; a request naming another worker's sid is sent to
 * that worker: its descriptor, over the datagram socket `route_fds[owner]`, which only the owner
 * reads (its own entry is the one it reads). */
#define SIOC__MAX_WORKERS 64
typedef struct sioc__worker_cfg {
    unsigned index;
    unsigned count;
    int route_fds[SIOC__MAX_WORKERS];
    /* The workers' link (adapter/bus.h): this worker's listening socket, bound by the primary to
     * the abstract name "\0<group>.<index>". */
    int bus_fd;
    char group[48];
} sioc__worker_cfg;

struct sioc_options {
    int port;
    char *host;
    char *path;
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms;
    unsigned upgrade_timeout_ms;
    unsigned keepalive_timeout_ms; /* 0: idle keep-alive connections stay */
    unsigned connect_timeout_ms;
    sioc_parser parser;
    bool http_compression;             /* httpCompression: polling answers and the bundle */
    size_t http_compression_threshold; /* its threshold: smaller answers go as they are */
    bool per_message_deflate;          /* perMessageDeflate: off by default, as Node */
    size_t per_message_deflate_threshold;
    size_t max_http_buffer_size;
    size_t max_buffered_bytes;
    unsigned transports;
    bool allow_eio3;
    char **cors_origins;
    size_t cors_count;
    char **cors_patterns;
    size_t cors_pattern_count;
    sioc_origin_cb cors_cb;
    void *cors_data;
    char *cors_methods;
    char *cors_headers;
    bool cors_credentials;
    sioc_allow_request_cb allow_request; /* at most one of the two */
    sioc_allow_request_async_cb allow_request_async;
    void *allow_request_data;
    char *cookie_name;
    char *cookie_path;
    bool cookie_http_only;
    char *cookie_same_site;
    bool trust_proxy;
    bool serve_client;
    bool cleanup_empty_children;
    size_t max_dynamic_namespaces;
    unsigned recovery_ms; /* maxDisconnectionDuration; 0: no connection state recovery */
    bool recovery_skip_middlewares;
    char *client_dir;
    char *public_dir;
    sioc_event_loop loop;
    struct uv_loop_s *app_loop; /* borrowed: the application's loop to run on, or NULL */
    sioc_log_level log_level;
    sioc_log_format log_format;
    char *redis_url;                    /* NULL: the in-memory adapter */
    char *redis_prefix;                 /* the adapter's key, "socket.io" */
    unsigned redis_requests_timeout_ms; /* requestsTimeout: 0 for Node's 5000 */
    sioc_redis_adapter redis_adapter;
    sioc_redis_subscription_mode redis_mode; /* the sharded adapter's subscriptionMode */
    sioc_redis_streams_options streams;      /* the Streams adapter's; strings owned */
    char *name;                              /* the node's name, for logs (NULL: none) */
    char *metrics_path;                      /* NULL: no metrics served */
    char *tls_cert, *tls_key;                /* NULL: plain HTTP */
    sioc_admin_ui_options *admin;            /* NULL: no Admin UI; strings owned */
    unsigned workers; /* worker processes sioc_program_main starts (0: one per core) */
    /* In a worker process (set by the primary, program.c): who it is and how it reaches the
     * others. NULL in a single process. Borrowed: it lives as long as the process. */
    const struct sioc__worker_cfg *worker;
};

/* Where a directory of what sioc installs under <datadir>/sioc is (`sub`: "client",
 * "admin-ui"): installed beside the program (<bindir>/../<datadir>/sioc/<sub>, whatever the
 * prefix), `in_build` (the build tree's node_modules: a program run where it was built), or
 * installed at the configured prefix (a program built against the installed library). A new
 * string, NULL on no memory. */
char *sioc__default_share_dir(const char *sub, const char *in_build);
/* Whether any CORS rule is set. */
bool sioc__cors_configured(const sioc_options *o);

/* A deep copy of `src` (defaults when NULL) into *out. Returns 0 or SIOC_ERR_NOMEM. */
int sioc__options_copy(const sioc_options *src, sioc_options **out);
/* `path` normalised as Node does: a leading '/', exactly one trailing '/'. New string or NULL. */
char *sioc__normalize_path(const char *path);

#endif
