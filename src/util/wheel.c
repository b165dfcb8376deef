#include "util/wheel.h"

#include <time.h>

static void list_init(sioc__timer *head)
{
    head->next = head->prev = head;
}

static void list_unlink(sioc__timer *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

static void list_append(sioc__timer *head, sioc__timer *t)
{
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

static sioc__timer *slot_for(sioc__wheel *w, uint64_t due_ms)
{
    return &w->slots[(due_ms / SIOC_WHEEL_TICK_MS) & (SIOC_WHEEL_SLOTS - 1)];
}

void sioc__wheel_init(sioc__wheel *w, uint64_t now_ms)
{
    for (int i = 0; i < SIOC_WHEEL_SLOTS; i++) {
        list_init(&w->slots[i]);
    }
    w->done_ms = now_ms;
    w->count = 0;
}

bool sioc__timer_armed(const sioc__timer *t)
{
    return t->next != NULL;
}

void sioc__timer_stop(sioc__wheel *w, sioc__timer *t)
{
    if (sioc__timer_armed(t)) {
        list_unlink(t);
        w->count--;
    }
}

void sioc__timer_start(sioc__wheel *w, sioc__timer *t, uint64_t due_ms, sioc__timer_cb cb)
{
    sioc__timer_stop(w, t);
    /* A timer already due goes in the next slot to be swept, never behind the sweep. */
    if (due_ms <= w->done_ms) {
        due_ms = w->done_ms + 1;
    }
    t->due_ms = due_ms;
    t->cb = cb;
    list_append(slot_for(w, due_ms), t);
    w->count++;
}

/* Moves the due timers of one slot to `out`, keeping those due in a later turn of the wheel. */
static void collect_slot(sioc__wheel *w, sioc__timer *slot, uint64_t now_ms, sioc__timer *out)
{
    sioc__timer *t = slot->next;
    while (t != slot) {
        sioc__timer *next = t->next;
        if (t->due_ms <= now_ms) {
            list_unlink(t);
            list_append(out, t);
        }
        t = next;
    }
}

unsigned sioc__wheel_advance(sioc__wheel *w, uint64_t now_ms)
{
    if (now_ms <= w->done_ms) {
        return 0;
    }
    sioc__timer due;
    list_init(&due);
    uint64_t from = w->done_ms / SIOC_WHEEL_TICK_MS;
    uint64_t to = now_ms / SIOC_WHEEL_TICK_MS;
    /* After a long stall every slot is swept once rather than once per missed tick. */
    if (to - from >= SIOC_WHEEL_SLOTS) {
        from = to - SIOC_WHEEL_SLOTS + 1;
    }
    for (uint64_t tick = from; tick <= to; tick++) {
        collect_slot(w, &w->slots[tick & (SIOC_WHEEL_SLOTS - 1)], now_ms, &due);
    }
    w->done_ms = now_ms;
    unsigned fired = 0;
    /* Fire from the local list: a callback that stops another due timer unlinks it from here. */
    while (due.next != &due) {
        sioc__timer *t = due.next;
        list_unlink(t);
        w->count--;
        fired++;
        t->cb(t);
    }
    return fired;
}

uint64_t sioc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
