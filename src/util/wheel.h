/* A hashed timer wheel: O(1) insertion and cancellation for the thousands of per-session timers
 * (ping, ping timeout, upgrade timeout), all driven from one periodic event-loop timer. */
#ifndef SIOC_UTIL_WHEEL_H
#define SIOC_UTIL_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

/* 4096 slots of 10 ms: one turn (41 s) is longer than the usual heartbeat timers (25 s and 20 s),
 * so a sweep of a slot finds timers that are due, not ones a turn or more away. */
#define SIOC_WHEEL_SLOTS 4096
#define SIOC_WHEEL_TICK_MS 10

typedef struct sioc__timer sioc__timer;
typedef void (*sioc__timer_cb)(sioc__timer *t);

/* Embedded in the object that owns it; zero-initialised means idle. */
struct sioc__timer {
    sioc__timer *next, *prev;
    uint64_t due_ms;
    sioc__timer_cb cb;
};

typedef struct sioc__wheel {
    sioc__timer slots[SIOC_WHEEL_SLOTS]; /* list heads */
    uint64_t done_ms;                    /* every timer due at or before this has fired */
    uint64_t count;
} sioc__wheel;

void sioc__wheel_init(sioc__wheel *w, uint64_t now_ms);
/* (Re)arms `t` to call `cb` once at `due_ms` or the first tick after. */
void sioc__timer_start(sioc__wheel *w, sioc__timer *t, uint64_t due_ms, sioc__timer_cb cb);
/* Disarms `t`; harmless when it is idle. */
void sioc__timer_stop(sioc__wheel *w, sioc__timer *t);
bool sioc__timer_armed(const sioc__timer *t);
/* Fires every timer due at or before `now_ms`, earlier ticks first. A callback may start or
 * stop any timer, its own included. Returns how many fired. */
unsigned sioc__wheel_advance(sioc__wheel *w, uint64_t now_ms);

/* The wheel's notion of now: the time it was last advanced to. Deadlines are set from it, so a
 * wheel driven by a fake clock (the tests) is fully deterministic. */
static inline uint64_t sioc__wheel_now(const sioc__wheel *w)
{
    return w->done_ms;
}

/* Milliseconds on the monotonic clock. */
uint64_t sioc__now_ms(void);

#endif
