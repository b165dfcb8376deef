/* Worker processes (--workers): the primary that runs them (workers.c). */
#ifndef SIOC_SERVER_WORKERS_H
#define SIOC_SERVER_WORKERS_H

#include "server/options.h"

/* A worker's life: serve with `opts` (whose `worker` says which one it is; the worker owns and
 * frees nothing of it), write its index as one byte to `ready_fd` once it listens, and return the
 * process's exit code at the end. */
typedef int (*sioc__worker_main_fn)(sioc_options *opts, int ready_fd, void *arg);

/* Runs `n` (2-64) workers of `run` on opts' host and port (a port of 0: one the kernel picks), as
 * a primary process: `said` once all of them listen, a worker that dies started again (100 ms,
 * doubling to 5 s), every one stopped on SIGTERM or SIGINT. Returns the exit code: 0, or 1 when
 * they could not start (a worker exiting before it ever listened stops them all). `opts` stays
 * the caller's. */
int sioc__workers_main(unsigned n, sioc_options *opts, sioc__worker_main_fn run,
                       void (*said)(int port, unsigned n, void *arg), void *arg);

#endif
