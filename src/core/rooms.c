/* Rooms: joining and leaving, and selecting the sockets a target names (each once). */
#include "core/sio.h"

#include <stdlib.h>
#include <string.h>

/* ---- rooms ---- */

static sioc__room *room_get(sioc_namespace *nsp, const char *name, bool create)
{
    sioc__room *r = sioc__map_get(&nsp->rooms, name, strlen(name));
    if (r || !create) {
        return r;
    }
    if (!(r = calloc(1, sizeof(*r))) || !(r->name = strdup(name))) {
        free(r);
        return NULL;
    }
    if (sioc__map_put(&nsp->rooms, r->name, r) < 0) {
        free(r->name);
        free(r);
        return NULL;
    }
    return r;
}

static int grow(void **array, size_t *cap, size_t elem)
{
    size_t n = *cap ? *cap * 2 : 4;
    void *p = realloc(*array, n * elem);
    if (!p) {
        return -1;
    }
    *array = p;
    *cap = n;
    return 0;
}

static bool in_room(const sioc_socket *s, const sioc__room *r)
{
    for (size_t i = 0; i < s->nrooms; i++) {
        if (s->rooms[i] == r) {
            return true;
        }
    }
    return false;
}

int sioc_socket_join(sioc_socket *s, const char *room)
{
    if (s && s->remote) {
        return sioc__remote_join(s, room, true);
    }
    if (!s || !room || !s->connected) {
        return SIOC_ERR_INVALID;
    }
    sioc__room *r = room_get(s->nsp, room, true);
    if (!r) {
        return SIOC_ERR_NOMEM;
    }
    if (in_room(s, r)) {
        return 0;
    }
    if ((r->count == r->cap && grow((void **)&r->members, &r->cap, sizeof(*r->members)) < 0) ||
        (s->nrooms == s->caprooms &&
         grow((void **)&s->rooms, &s->caprooms, sizeof(*s->rooms)) < 0)) {
        if (r->count == 0) { /* a room made for this join goes again */
            sioc__map_remove(&s->nsp->rooms, r->name);
            free(r->members);
            free(r->name);
            free(r);
        }
        return SIOC_ERR_NOMEM;
    }
    r->members[r->count++] = s;
    s->rooms[s->nrooms++] = r;
    SIOC__NOTIFY(s->nsp->sio, room_joined, s, r->name);
    return 0;
}

static void room_remove(sioc_namespace *nsp, sioc__room *r, sioc_socket *s)
{
    for (size_t i = 0; i < r->count; i++) {
        if (r->members[i] == s) {
            r->members[i] = r->members[--r->count];
            break;
        }
    }
    SIOC__NOTIFY(nsp->sio, room_left, s, r->name);
    if (r->count == 0) { /* Node deletes a room once it is empty */
        sioc__map_remove(&nsp->rooms, r->name);
        free(r->members);
        free(r->name);
        free(r);
    }
}

int sioc_socket_leave(sioc_socket *s, const char *room)
{
    if (s && s->remote) {
        return sioc__remote_join(s, room, false);
    }
    if (!s || !room) {
        return SIOC_ERR_INVALID;
    }
    for (size_t i = 0; i < s->nrooms; i++) {
        if (strcmp(s->rooms[i]->name, room) == 0) {
            sioc__room *r = s->rooms[i];
            /* Kept in joining order, as sioc_socket_rooms() lists them. */
            memmove(&s->rooms[i], &s->rooms[i + 1], (s->nrooms - i - 1) * sizeof(*s->rooms));
            s->nrooms--;
            room_remove(s->nsp, r, s);
            return 0;
        }
    }
    return 0;
}

void sioc__socket_leave_all(sioc_socket *s)
{
    while (s->nrooms) {
        sioc__room *r = s->rooms[--s->nrooms];
        room_remove(s->nsp, r, s);
    }
    free(s->rooms);
    s->rooms = NULL;
    s->caprooms = 0;
}

static void mark(sioc__room *r, uint64_t epoch)
{
    for (size_t i = 0; i < r->count; i++) {
        r->members[i]->mark = epoch;
    }
}

/* Rooms: the union; except rooms and except_socket: left out; each socket once, by marking it
 * with this selection's epoch. */
void sioc__select(sioc_namespace *nsp, const sioc_target *t, void (*fn)(sioc_socket *s, void *arg),
                  void *arg)
{
    uint64_t epoch = ++nsp->epoch;
    /* Excluded sockets are marked as already dealt with before anyone is reached. */
    for (size_t i = 0; t && i < t->nexcept_rooms; i++) {
        sioc__room *r = room_get(nsp, t->except_rooms[i], false);
        if (r) {
            mark(r, epoch);
        }
    }
    if (t && t->except_socket) {
        ((sioc_socket *)t->except_socket)->mark = epoch;
    }
    if (!t || t->nrooms == 0) {
        for (size_t b = 0; b < nsp->sockets.nbuckets; b++) {
            for (sioc__map_entry *e = nsp->sockets.buckets[b]; e; e = e->next) {
                sioc_socket *s = e->value;
                if (s->mark != epoch) {
                    s->mark = epoch;
                    fn(s, arg);
                }
            }
        }
        return;
    }
    for (size_t i = 0; i < t->nrooms; i++) {
        sioc__room *r = room_get(nsp, t->rooms[i], false);
        for (size_t k = 0; r && k < r->count; k++) {
            sioc_socket *s = r->members[k];
            if (s->mark != epoch) {
                s->mark = epoch;
                fn(s, arg);
            }
        }
    }
}

typedef struct list {
    sioc_socket **items;
    size_t n, cap;
    bool failed;
} list;

static void collect(sioc_socket *s, void *arg)
{
    list *l = arg;
    if (l->n == l->cap && grow((void **)&l->items, &l->cap, sizeof(*l->items)) < 0) {
        l->failed = true;
        return;
    }
    sioc__socket_ref(s);
    l->items[l->n++] = s;
}

int sioc__select_list(sioc_namespace *nsp, const sioc_target *t, sioc_socket ***out, size_t *n)
{
    list l = {0};
    sioc__select(nsp, t, collect, &l);
    if (l.failed) {
        for (size_t i = 0; i < l.n; i++) {
            sioc__socket_unref(l.items[i]);
        }
        free(l.items);
        *out = NULL;
        *n = 0;
        return -1;
    }
    *out = l.items;
    *n = l.n;
    return 0;
}
