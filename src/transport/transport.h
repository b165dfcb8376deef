/* The transport as the composition root (src/server/) sees it: libwebsockets on a libuv (or poll)
 * loop, serving Engine.IO endpoints, the client bundle and static files. Everything else of it is
 * private to src/transport/. */
#ifndef SIOC_TRANSPORT_TRANSPORT_H
#define SIOC_TRANSPORT_TRANSPORT_H

#include "eio/engine.h"
#include "server/options.h"
#include "util/wheel.h"

typedef struct sioc__transport sioc__transport;

/* Listens as `opts` says (borrowed: it must outlive the transport), driving `wheel` (borrowed,
 * initialised by the caller). Returns 0 or a SIOC_ERR_* code; *out is the caller's to free with
 * sioc__transport_free, also on failure (when it is not NULL). */
int sioc__transport_new(const sioc_options *opts, sioc__wheel *wheel, sioc__transport **out);
/* Serves an Engine.IO endpoint at `path` (normalised, not taken yet) with `cfg`, `handlers` and
 * `user_data`. Returns 0, SIOC_ERR_INVALID (the path is taken) or SIOC_ERR_NOMEM; *out (may be
 * NULL) gets the engine, which the transport owns. */
int sioc__transport_add_engine(sioc__transport *t, const char *path, const sioc__engine_cfg *cfg,
                               const sioc_engine_handlers *handlers, void *user_data,
                               sioc__engine **out);
/* The engine that plain WebSocket clients (outside every Engine.IO path) join. */
void sioc__transport_set_plain_engine(sioc__transport *t, sioc__engine *eng);
int sioc__transport_port(const sioc__transport *t);
/* The transport's libuv loop (its own, nested in the application's when embedded), or NULL with
 * the poll loop. */
struct uv_loop_s *sioc__transport_uv_loop(const sioc__transport *t);
/* As sioc_server_run and sioc_server_stop. */
int sioc__transport_run(sioc__transport *t);
void sioc__transport_stop(sioc__transport *t);
/* As sioc_server_reload_tls: safe from any thread and from a signal handler. */
void sioc__transport_reload_tls(sioc__transport *t);
/* Says goodbye to every session (drained for up to 2 s), closes every connection, and frees the
 * engines and itself. Accepts NULL. */
void sioc__transport_free(sioc__transport *t);
/* The metrics text (a new NUL-terminated string, *len its length; NULL on no memory), served at
 * the `metrics_path` option's path. */
typedef char *(*sioc__metrics_fn)(void *arg, size_t *len);
void sioc__transport_on_metrics(sioc__transport *t, sioc__metrics_fn render, void *arg);
/* Serves `dir` at URL path `prefix` (normalised, ending in '/'); both copied. 0 or
 * SIOC_ERR_NOMEM. */
int sioc__transport_mount(sioc__transport *t, const char *prefix, const char *dir);
/* Makes the loop call `fn(arg)` soon after each sioc__transport_wake(), which is safe from any
 * thread (lws_cancel_service). */
void sioc__transport_on_wake(sioc__transport *t, void (*fn)(void *arg), void *arg);
void sioc__transport_wake(sioc__transport *t);
/* Every endpoint's sessions, summed into `out`. */
void sioc__transport_totals(const sioc__transport *t, sioc__engine_totals *out);

#endif
