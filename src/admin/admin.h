/* The server side of the Admin UI (@socket.io/admin-ui 0.5.1's instrument()), written on the
 * public header alone: its namespace, observers, an interval and work off the loop. The server
 * composition (src/server/server.c) makes one when the options ask for it. */
#ifndef SIOC_ADMIN_ADMIN_H
#define SIOC_ADMIN_ADMIN_H

#include <stdbool.h>

#include "sioc.h"

typedef struct sioc__admin sioc__admin;

/* Instruments `server` as `o` says (borrowed; what is kept is copied). The server id is the
 * options', else `node_name` (the configured --name, or NULL), else the host name, followed by
 * "#<pid>" when `worker` (one of several worker processes, as Node's in a cluster worker).
 * `default_ui_dir` is where the dashboard's files are when `o` names none (borrowed). Returns 0,
 * SIOC_ERR_INVALID (the authentication neither given nor waived, a hash that is not bcrypt's) or
 * SIOC_ERR_NOMEM; *out is the caller's, freed with sioc__admin_free() once no connection is left to
 * call into it (its middleware and handlers stay on the namespace). */
int sioc__admin_new(sioc_server *server, const sioc_admin_ui_options *o, const char *node_name,
                    bool worker, const char *default_ui_dir, sioc__admin **out);
/* Stops watching and frees it; NULL is allowed. The server's queued work must have ended
 * (every `after` of sioc_server_queue_work called): a login being checked holds the admin. */
void sioc__admin_free(sioc__admin *a);

#endif
