/* Intervals and work off the loop (sioc_server_set_interval, sioc_server_queue_work): what the
 * Admin UI and applications need beside the Socket.IO events. */
#ifndef SIOC_SERVER_TASKS_H
#define SIOC_SERVER_TASKS_H

#include <pthread.h>
#include <stdbool.h>

#include "sioc.h"
#include "util/wheel.h"

typedef struct sioc__interval sioc__interval;
typedef struct sioc__work sioc__work;

typedef struct sioc__tasks {
    sioc_server *server;     /* given to the callbacks */
    sioc__wheel *wheel;      /* borrowed */
    void (*wake)(void *arg); /* makes the loop call sioc__tasks_drain soon; any thread */
    void *wake_arg;
    sioc__interval *intervals;
    int last_id;
    /* The worker thread, started with the first work queued. Under `lock`: */
    pthread_mutex_t lock;
    pthread_cond_t more;
    pthread_t thread;
    bool started, quit;
    sioc__work *todo, **todo_tail; /* waiting for the thread, in order */
    sioc__work *done, **done_tail; /* waiting for their `after` on the loop */
} sioc__tasks;

void sioc__tasks_init(sioc__tasks *t, sioc_server *server, sioc__wheel *wheel,
                      void (*wake)(void *arg), void *wake_arg);
/* On the loop: the `after` of every work done. */
void sioc__tasks_drain(sioc__tasks *t);
/* Waits for the work running, calls every `after` left (SIOC_ERR_CLOSED for work not run), ends
 * the intervals. The struct may then be freed. */
void sioc__tasks_stop(sioc__tasks *t);

int sioc__tasks_set_interval(sioc__tasks *t, unsigned ms, sioc_interval_cb cb, void *user_data);
int sioc__tasks_clear_interval(sioc__tasks *t, int id);
/* SIOC_ERR_CLOSED once stopping. */
int sioc__tasks_queue(sioc__tasks *t, sioc_work_cb work, sioc_after_work_cb after, void *user_data);

#endif
