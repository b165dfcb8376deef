/* Origin matching for Node's `cors` option, sans-I/O (the transport supplies the Origin). */
#ifndef SIOC_TRANSPORT_CORS_H
#define SIOC_TRANSPORT_CORS_H

#include <regex.h>
#include <stddef.h>

#include "server/options.h"

/* The Access-Control-Allow-Origin to send for a request's `origin` (NULL when it has none), or NULL
 * when no rule allows it. In the cors package's order: the list ("*" allows any; with credentials
 * the origin itself is echoed, as browsers refuse "*" then), then `patterns` (compiled from the
 * options' patterns), then the callback. The result is `origin`, or the static "*". */
const char *sioc__cors_match(const sioc_options *o, const regex_t *patterns, size_t npatterns,
                             const char *origin);

#endif
