/* Intervals on the server's timer wheel, and one worker thread for work that must not stall the
 * loop. The thread hands finished work back through a list and a wake-up of the loop (lws's
 * cancel pipe), so that every `after` runs on the server's thread. */
#include "server/tasks.h"

#include <limits.h>
#include <stdlib.h>

#include "util/container.h"
#include "util/log.h"

struct sioc__interval {
    sioc__interval *next;
    sioc__tasks *tasks;
    sioc__timer timer;
    unsigned ms;
    int id;
    sioc_interval_cb cb;
    void *user_data;
};

struct sioc__work {
    sioc__work *next;
    sioc_work_cb work;
    sioc_after_work_cb after;
    void *user_data;
};

void sioc__tasks_init(sioc__tasks *t, sioc_server *server, sioc__wheel *wheel,
                      void (*wake)(void *arg), void *wake_arg)
{
    t->server = server;
    t->wheel = wheel;
    t->wake = wake;
    t->wake_arg = wake_arg;
    t->intervals = NULL;
    t->last_id = 0;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->more, NULL);
    t->started = t->quit = false;
    t->todo = t->done = NULL;
    t->todo_tail = &t->todo;
    t->done_tail = &t->done;
}

/* ---- intervals ---- */

static void on_interval(sioc__timer *timer)
{
    sioc__interval *iv = CONTAINER(timer, sioc__interval, timer);
    sioc__tasks *t = iv->tasks;
    /* Re-armed first (the callback may clear it, and so free it), a period after it was due: a
     * late tick does not make the next one late; a loop stalled for periods skips them. */
    uint64_t now = sioc__wheel_now(t->wheel), due = timer->due_ms + iv->ms;
    sioc__timer_start(t->wheel, timer, due > now ? due : now + iv->ms, on_interval);
    iv->cb(t->server, iv->user_data);
}

int sioc__tasks_set_interval(sioc__tasks *t, unsigned ms, sioc_interval_cb cb, void *user_data)
{
    if (!cb || ms == 0 || t->last_id == INT_MAX) {
        return SIOC_ERR_INVALID;
    }
    sioc__interval *iv = calloc(1, sizeof(*iv));
    if (!iv) {
        return SIOC_ERR_NOMEM;
    }
    *iv = (sioc__interval){.next = t->intervals,
                           .tasks = t,
                           .ms = ms,
                           .id = ++t->last_id,
                           .cb = cb,
                           .user_data = user_data};
    t->intervals = iv;
    sioc__timer_start(t->wheel, &iv->timer, sioc__wheel_now(t->wheel) + ms, on_interval);
    return iv->id;
}

int sioc__tasks_clear_interval(sioc__tasks *t, int id)
{
    for (sioc__interval **at = &t->intervals; *at; at = &(*at)->next) {
        sioc__interval *iv = *at;
        if (iv->id == id) {
            *at = iv->next;
            sioc__timer_stop(t->wheel, &iv->timer);
            free(iv);
            return 0;
        }
    }
    return SIOC_ERR_INVALID;
}

/* ---- work ---- */

static void *worker(void *arg)
{
    sioc__tasks *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->todo && !t->quit) {
            pthread_cond_wait(&t->more, &t->lock);
        }
        if (t->quit) {
            break;
        }
        sioc__work *w = t->todo;
        if (!(t->todo = w->next)) {
            t->todo_tail = &t->todo;
        }
        pthread_mutex_unlock(&t->lock);
        w->work(w->user_data);
        pthread_mutex_lock(&t->lock);
        w->next = NULL;
        *t->done_tail = w;
        t->done_tail = &w->next;
        t->wake(t->wake_arg);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int sioc__tasks_queue(sioc__tasks *t, sioc_work_cb work, sioc_after_work_cb after, void *user_data)
{
    if (!work || !after) {
        return SIOC_ERR_INVALID;
    }
    sioc__work *w = malloc(sizeof(*w));
    if (!w) {
        return SIOC_ERR_NOMEM;
    }
    *w = (sioc__work){NULL, work, after, user_data};
    pthread_mutex_lock(&t->lock);
    if (t->quit) {
        pthread_mutex_unlock(&t->lock);
        free(w);
        return SIOC_ERR_CLOSED;
    }
    if (!t->started) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker, t) != 0) {
            pthread_mutex_unlock(&t->lock);
            free(w);
            sioc__log(SIOC_LOG_ERROR, "cannot start a worker thread");
            return SIOC_ERR_SYSTEM;
        }
        t->thread = thread;
        t->started = true;
    }
    *t->todo_tail = w;
    t->todo_tail = &w->next;
    pthread_cond_signal(&t->more);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* Takes list `*head` (under the lock) and calls each one's `after` with `err`. */
static void finish(sioc__tasks *t, sioc__work **head, sioc__work ***tail, int err)
{
    pthread_mutex_lock(&t->lock);
    sioc__work *w = *head;
    *head = NULL;
    *tail = head;
    pthread_mutex_unlock(&t->lock);
    while (w) {
        sioc__work *next = w->next;
        w->after(t->server, err, w->user_data);
        free(w);
        w = next;
    }
}

void sioc__tasks_drain(sioc__tasks *t)
{
    finish(t, &t->done, &t->done_tail, 0);
}

void sioc__tasks_stop(sioc__tasks *t)
{
    pthread_mutex_lock(&t->lock);
    t->quit = true;
    pthread_cond_signal(&t->more);
    bool started = t->started;
    pthread_mutex_unlock(&t->lock);
    if (started) {
        pthread_join(t->thread, NULL);
    }
    finish(t, &t->done, &t->done_tail, 0);
    finish(t, &t->todo, &t->todo_tail, SIOC_ERR_CLOSED);
    while (t->intervals) {
        sioc__tasks_clear_interval(t, t->intervals->id);
    }
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->more);
}
