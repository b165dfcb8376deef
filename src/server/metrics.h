/* The metrics text (Prometheus's exposition format 0.0.4) of a server: its core's namespaces,
 * its endpoints' sessions (`totals`), this process's counters (util/stats.h) and the process's
 * own figures. A new NUL-terminated string the caller frees with free() (*len its length), or
 * NULL on no memory. */
#ifndef SIOC_SERVER_METRICS_H
#define SIOC_SERVER_METRICS_H

#include <stddef.h>

#include "core/sio.h"
#include "eio/engine.h"

char *sioc__metrics_render(const sioc__core *core, const sioc__engine_totals *totals, size_t *len);

#endif
