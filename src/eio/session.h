/* What the session engine's files (engine.c, flow.c, carry.c) share; private to src/eio/. */
#ifndef SIOC_EIO_SESSION_H
#define SIOC_EIO_SESSION_H

#include <stddef.h>

#include "eio/engine.h"
#include "util/container.h"

/* How often held GETs are checked for a client that hung up. */
#define SWEEP_MS 1000

/* engine.c */
/* Ends the session now: its transports let go of, its close handler told. */
void sioc__session_finish(sioc_conn *s, const char *reason);
/* A closing session whose queue has emptied ends. */
void sioc__session_finish_if_closing(sioc_conn *s);

/* flow.c */
/* The head of `s`'s queue went out. */
void sioc__flow_wrote_one(sioc_conn *s);
/* Every session waiting for `r` goes on; `s` waits for nobody any more. */
void sioc__flow_release_waiters(sioc_conn *r);
void sioc__flow_stop_waiting(sioc_conn *s);

/* carry.c */
/* The endpoint's timer: held GETs whose client hung up are let go of. */
void sioc__carry_sweep(sioc__timer *t);
/* The probe WebSocket goes (closed when `close_it`). */
void sioc__carry_drop_probe(sioc_conn *s, bool close_it);

#endif
