/* The options object behind sioc_options_*. */
#ifndef SIOC_CORE_OPTIONS_H
#define SIOC_CORE_OPTIONS_H

#include "sioc.h"

struct sioc_options {
    int port;
    char *host;
    char *path;
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms;
    unsigned upgrade_timeout_ms;
    unsigned connect_timeout_ms;
    size_t max_http_buffer_size;
    unsigned transports;
    char **cors_origins;
    size_t cors_count;
    bool cors_credentials;
    bool serve_client;
    bool cleanup_empty_children;
    unsigned recovery_ms; /* maxDisconnectionDuration; 0: no connection state recovery */
    bool recovery_skip_middlewares;
    char *client_dir;
    char *public_dir;
    sioc_event_loop loop;
    sioc_log_level log_level;
};

/* A deep copy of `src` (defaults when NULL) into *out. Returns 0 or SIOC_ERR_NOMEM. */
int sioc__options_copy(const sioc_options *src, sioc_options **out);
/* `path` normalised as Node does: a leading '/', exactly one trailing '/'. New string or NULL. */
char *sioc__normalize_path(const char *path);

#endif
