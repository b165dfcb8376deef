/* A server on the application's libuv loop (sioc_options_set_uv_loop). sioc keeps its loop of its
 * own — libwebsockets and every handle of sioc's live there, made and torn down exactly as for
 * sioc_server_run() — and nests it in the application's: a poll handle on the inner loop's
 * backend descriptor and a timer set to its next timeout run it without blocking, and a check
 * handle writes, at the end of each turn of the outer loop, what the application emitted during
 * it. These three are all sioc adds to the application's loop. */
#include "transport/internal.h"

#include <stdlib.h>

struct sioc__embed {
    sioc__transport *tr; /* NULL once the server is being freed */
    uv_poll_t poll;
    uv_timer_t timer;
    uv_check_t check;
    int open; /* handles not closed yet: the last close callback frees this */
};

static void on_timer(uv_timer_t *t);

/* One non-blocking turn of sioc's loop, then the timer for its next deadline. */
static void run_inner(sioc__embed *e)
{
    sioc__transport *tr = e->tr;
    uv_run(tr->uv, UV_RUN_NOWAIT);
    int timeout = uv_backend_timeout(tr->uv); /* -1: nothing is due */
    if (timeout < 0) {
        uv_timer_stop(&e->timer);
    } else {
        uv_timer_start(&e->timer, on_timer, (uint64_t)timeout, 0);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run_inner(h->data);
}

static void on_timer(uv_timer_t *t)
{
    run_inner(t->data);
}

/* What the application's own callbacks emitted goes out now, in one write per WebSocket; then
 * sioc's loop takes in the changes they made (a socket to watch for writing), which libuv applies
 * only when that loop runs. */
static void on_check(uv_check_t *c)
{
    sioc__embed *e = c->data;
    sioc__eio_flush(e->tr);
    run_inner(e);
}

int sioc__embed_start(sioc__transport *tr, uv_loop_t *app)
{
    sioc__embed *e = calloc(1, sizeof(*e));
    if (!e) {
        return SIOC_ERR_NOMEM;
    }
    e->tr = tr;
    if (uv_poll_init(app, &e->poll, uv_backend_fd(tr->uv)) != 0) {
        free(e);
        return SIOC_ERR_SYSTEM;
    }
    uv_timer_init(app, &e->timer);
    uv_check_init(app, &e->check);
    e->poll.data = e->timer.data = e->check.data = e;
    e->open = 3;
    tr->embed = e;
    if (uv_poll_start(&e->poll, UV_READABLE, on_poll) != 0) {
        sioc__embed_stop(tr);
        return SIOC_ERR_SYSTEM;
    }
    uv_check_start(&e->check, on_check);
    uv_unref((uv_handle_t *)&e->check); /* the poll handle keeps the loop alive, as a server does */
    uv_timer_start(&e->timer, on_timer, 0, 0);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    sioc__embed *e = h->data;
    if (--e->open == 0) {
        free(e);
    }
}

void sioc__embed_stop(sioc__transport *tr)
{
    sioc__embed *e = tr->embed;
    if (!e) {
        return;
    }
    tr->embed = NULL;
    e->tr = NULL;
    uv_close((uv_handle_t *)&e->poll, on_closed);
    uv_close((uv_handle_t *)&e->timer, on_closed);
    uv_close((uv_handle_t *)&e->check, on_closed);
}
