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
    size_t len = strlen(name);
    if (!(r = calloc(1, sizeof(*r) + len + 1))) {
        return NULL;
    }
    r->name = memcpy(r + 1, name, len + 1);
    r->members = &r->first;
    r->cap = 1;
    if (sioc__map_put(&nsp->rooms, r->name, r) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

static void room_free(sioc_namespace *nsp, sioc__room *r)
{
    sioc__map_remove(&nsp->rooms, r->name);
    if (r->members != &r->first) {
        free(r->members);
    }
    free(r);
}

/* Room for one more element (`elem` bytes) in an array that starts in the one slot `own` of the
 * struct holding it, and moves to the heap when it needs more. Returns the array (moved or not;
 * *cap updated), or NULL when out of memory (the array unchanged). */
static void *grow_slots(void *array, size_t *cap, void *own, size_t elem)
{
    if (*cap == 0) {
        *cap = 1;
        return own;
    }
    size_t n = *cap < 4 ? 4 : *cap * 2;
    void *p = array == own ? malloc(n * elem) : realloc(array, n * elem);
    if (!p) {
        return NULL;
    }
    if (array == own) {
        memcpy(p, own, elem);
    }
    *cap = n;
    return p;
}

/* One more member's room in `r`, and one more room's in `s`. Return 0, or -1 (no memory). */
static int make_room(sioc__room *r, sioc_socket *s)
{
    if (r->count == r->cap) {
        sioc_socket **m = grow_slots(r->members, &r->cap, &r->first, sizeof(*m));
        if (!m) {
            return -1;
        }
        r->members = m;
    }
    if (s->nrooms == s->caprooms) {
        sioc__room **rooms = grow_slots(s->rooms, &s->caprooms, &s->first_room, sizeof(*rooms));
        if (!rooms) {
            return -1;
        }
        s->rooms = rooms;
    }
    return 0;
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
    if (make_room(r, s) < 0) {
        if (r->count == 0) { /* a room made for this join goes again */
            room_free(s->nsp, r);
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
        room_free(nsp, r);
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
    if (s->rooms != &s->first_room) {
        free(s->rooms);
    }
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
        sioc_socket *s;
        for (size_t pos = 0; (s = sioc__map_next(&nsp->sockets, &pos));) {
            if (s->mark != epoch) {
                s->mark = epoch;
                fn(s, arg);
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
