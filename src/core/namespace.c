/* Namespaces, sockets, rooms, acks and broadcasting. */
#include "core/sio.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/log.h"

/* ---- namespaces ---- */

sioc_namespace *sioc__core_find(sioc__core *sio, const char *name)
{
    for (sioc_namespace *n = sio->nsps; n; n = n->next) {
        if (strcmp(n->name, name) == 0) {
            return n;
        }
    }
    return NULL;
}

sioc_namespace *sioc__namespace_new(sioc__core *sio, const char *name)
{
    sioc_namespace *nsp = calloc(1, sizeof(*nsp));
    if (!nsp || !(nsp->name = strdup(name))) {
        free(nsp);
        return NULL;
    }
    nsp->sio = sio;
    nsp->adapter = &sioc__memory_adapter;
    nsp->next = sio->nsps;
    sio->nsps = nsp;
    return nsp;
}

static void free_handler(void *value, void *arg)
{
    sioc__handler *h = value;
    free(h->event);
    free(h);
}

void sioc__namespace_free(sioc_namespace *nsp)
{
    sioc__middleware_free(nsp);
    sioc__recovery_free(nsp);
    sioc__timer_stop(nsp->sio->wheel, &nsp->cleanup_timer);
    if (nsp->has_regex) {
        regfree(&nsp->regex);
    }
    sioc__map_each(&nsp->handlers, free_handler, NULL);
    sioc__map_free(&nsp->handlers);
    sioc__map_free(&nsp->sockets);
    sioc__map_free(&nsp->rooms);
    free(nsp->name);
    free(nsp);
}

sioc__core *sioc__core_new(sioc__wheel *wheel, unsigned connect_timeout_ms)
{
    sioc__core *sio = calloc(1, sizeof(*sio));
    if (!sio) {
        return NULL;
    }
    sio->wheel = wheel;
    sio->connect_timeout_ms = connect_timeout_ms;
    sioc__list_init(&sio->undecided);
    if (!sioc__namespace_new(sio, "/")) {
        free(sio);
        return NULL;
    }
    return sio;
}

/* Every connection has ended (the engines are closed first), so no socket or room remains. */
void sioc__core_free(sioc__core *sio)
{
    if (!sio) {
        return;
    }
    sioc__bcast_close_all(sio);
    while (sio->nsps) {
        sioc_namespace *next = sio->nsps->next;
        sioc__namespace_free(sio->nsps);
        sio->nsps = next;
    }
    while (sio->parents) {
        sioc_namespace *next = sio->parents->next;
        sioc__namespace_free(sio->parents);
        sio->parents = next;
    }
    free(sio);
}

sioc_namespace *sioc__core_of(sioc__core *sio, const char *name)
{
    if (!name || name[0] != '/') {
        return NULL;
    }
    sioc_namespace *nsp = sioc__core_find(sio, name);
    return nsp ? nsp : sioc__namespace_new(sio, name);
}

const char *sioc_namespace_name(const sioc_namespace *nsp)
{
    return nsp->name;
}

int sioc_namespace_on_connection(sioc_namespace *nsp, sioc_connection_cb cb, void *user_data)
{
    if (!nsp) {
        return SIOC_ERR_INVALID;
    }
    nsp->on_connection = cb;
    nsp->connection_data = user_data;
    return 0;
}

int sioc_namespace_on_disconnecting(sioc_namespace *nsp, sioc_disconnect_cb cb, void *user_data)
{
    if (!nsp) {
        return SIOC_ERR_INVALID;
    }
    nsp->on_disconnecting = cb;
    nsp->disconnecting_data = user_data;
    return 0;
}

int sioc_namespace_on_disconnect(sioc_namespace *nsp, sioc_disconnect_cb cb, void *user_data)
{
    if (!nsp) {
        return SIOC_ERR_INVALID;
    }
    nsp->on_disconnect = cb;
    nsp->disconnect_data = user_data;
    return 0;
}

int sioc_namespace_on_any(sioc_namespace *nsp, sioc_any_cb cb, void *user_data)
{
    if (!nsp) {
        return SIOC_ERR_INVALID;
    }
    nsp->on_any = cb;
    nsp->any_data = user_data;
    return 0;
}

int sioc_namespace_on(sioc_namespace *nsp, const char *event, sioc_event_cb cb, void *user_data)
{
    if (!nsp || !event || strlen(event) > SIOC_MAX_EVENT_NAME) {
        return SIOC_ERR_INVALID;
    }
    sioc__handler *h = sioc__map_get(&nsp->handlers, event, strlen(event));
    if (!cb) {
        if (h) {
            sioc__map_remove(&nsp->handlers, event);
            free_handler(h, NULL);
        }
        return 0;
    }
    if (!h) {
        if (!(h = calloc(1, sizeof(*h))) || !(h->event = strdup(event))) {
            free(h);
            return SIOC_ERR_NOMEM;
        }
        if (sioc__map_put(&nsp->handlers, h->event, h) < 0) {
            free_handler(h, NULL);
            return SIOC_ERR_NOMEM;
        }
    }
    h->cb = cb;
    h->user_data = user_data;
    return 0;
}

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
    if (r->count == 0) { /* Node deletes a room once it is empty */
        sioc__map_remove(&nsp->rooms, r->name);
        free(r->members);
        free(r->name);
        free(r);
    }
}

int sioc_socket_leave(sioc_socket *s, const char *room)
{
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

static void leave_all(sioc_socket *s)
{
    while (s->nrooms) {
        sioc__room *r = s->rooms[--s->nrooms];
        room_remove(s->nsp, r, s);
    }
    free(s->rooms);
    s->rooms = NULL;
    s->caprooms = 0;
}

/* ---- sockets ---- */

static int assign_id(sioc_socket *s, sioc_namespace *nsp, sioc_conn *conn)
{
    s->id = s->idbuf;
    if (conn->protocol == 3 && strcmp(nsp->name, "/") == 0) {
        memcpy(s->idbuf, conn->sid, sizeof(s->idbuf));
        return 0;
    }
    if (conn->protocol == 3) {
        size_t n = strlen(nsp->name) + 1 + strlen(conn->sid) + 1;
        if (!(s->id = malloc(n))) {
            return -1;
        }
        snprintf(s->id, n, "%s#%s", nsp->name, conn->sid);
        return 0;
    }
    /* Node no longer reuses the sid, which is sensitive: a fresh random id. */
    do {
        if (sioc__random_id(s->idbuf) < 0) {
            return -1;
        }
    } while (sioc__map_get(&nsp->sockets, s->idbuf, 20));
    return 0;
}

static void free_id(sioc_socket *s)
{
    if (s->id != s->idbuf) {
        free(s->id);
    }
}

sioc_socket *sioc__socket_new(sioc_namespace *nsp, sioc__client *client, json_t *auth)
{
    sioc_socket *s = calloc(1, sizeof(*s));
    if (!s || assign_id(s, nsp, client->conn) < 0) {
        free(s);
        return NULL;
    }
    s->nsp = nsp;
    s->client = client;
    /* auth and data stay NULL until asked for when there are none: an empty object costs more
     * than the rest of a socket. */
    s->auth = json_incref(auth);
    s->refs = 1;
    s->admitting = true;
    /* Socket.IO protocol v4 clients cannot come back (no pid, no offsets). */
    if (nsp->sio->recovery_ms && client->conn->protocol != 3 && sioc__random_id(s->pid) < 0) {
        s->pid[0] = '\0';
    }
    sioc__list_init(&s->acks);
    sioc__pending_init(s);
    return s;
}

int sioc__socket_attach(sioc_socket *s)
{
    if (sioc__map_put(&s->nsp->sockets, s->id, s) < 0) {
        return -1;
    }
    s->admitting = false;
    s->connected = true;
    if (sioc_socket_join(s, s->id) < 0) { /* every socket is in the room named by its id */
        sioc__map_remove(&s->nsp->sockets, s->id);
        s->connected = false;
        return -1;
    }
    return 0;
}

void sioc__socket_ref(sioc_socket *s)
{
    s->refs++;
}

void sioc__socket_unref(sioc_socket *s)
{
    assert(s->refs > 0); /* a socket is never released more often than it was taken */
    if (--s->refs > 0) {
        return;
    }
    while (!sioc__list_empty(&s->acks)) {
        sioc_ack *a = (sioc_ack *)s->acks.next;
        sioc__list_remove(&a->link);
        free(a);
    }
    json_decref(s->auth);
    json_decref(s->handshake);
    json_decref(s->data_json);
    json_decref(s->missed);
    sioc__saved_session_free(s->restoring);
    free_id(s);
    free(s);
}

void sioc__socket_close(sioc_socket *s, const char *reason, bool notify)
{
    if (s->admitting) {
        /* Left during its middleware: it never joined, so no callback; a sioc_next held by the
         * application keeps the memory until it is used. */
        s->admitting = false;
        sioc__client_remove_socket(s->client, s);
        sioc__socket_unref(s);
        return;
    }
    if (!s->connected) {
        return;
    }
    if (notify) {
        sioc__sio_encoded e;
        if (sioc__sio_encode(SIOC__SIO_DISCONNECT, s->nsp->name, -1, NULL, &e) == 0) {
            sioc__socket_send(s, &e);
            sioc__sio_encoded_clear(&e);
        }
    }
    s->connected = false;
    sioc__log(SIOC_LOG_INFO, "socket %s left %s (%s)", s->id, s->nsp->name, reason);
    /* Node: "disconnecting" while still in the rooms, then they are left, then "disconnect". */
    if (s->nsp->on_disconnecting) {
        s->nsp->on_disconnecting(s, reason, s->nsp->disconnecting_data);
    }
    if (s->pid[0] && sioc__recoverable(reason)) {
        sioc__recovery_persist(s); /* with its rooms, before it leaves them */
    }
    leave_all(s);
    sioc__pending_drop_all(s);
    if (s->nsp->on_disconnect) {
        s->nsp->on_disconnect(s, reason, s->nsp->disconnect_data);
    }
    sioc__map_remove(&s->nsp->sockets, s->id);
    sioc__client_remove_socket(s->client, s);
    if (s->client->plain) {
        sioc_conn_close(s->client->conn); /* its one socket is its connection */
    }
    if (s->nsp->parent) {
        sioc__child_maybe_cleanup(s->nsp);
    }
    sioc__socket_unref(s);
}

int sioc__socket_send(sioc_socket *s, sioc__sio_encoded *e)
{
    if (s->client->plain) {
        sioc__msg *plain = sioc__sio_plain(e); /* made once per packet, shared */
        return plain ? sioc__session_send(s->client->conn, plain) : 0;
    }
    int rc = sioc__session_send(s->client->conn, e->text);
    for (size_t i = 0; rc == 0 && i < e->nbins; i++) {
        rc = sioc__session_send(s->client->conn, e->bins[i]);
    }
    return rc;
}

/* ["event", args...] as a new array. */
static json_t *event_data(const char *event, json_t *args)
{
    json_t *data = json_array();
    if (!data || json_array_append_new(data, json_string(event)) < 0) {
        json_decref(data);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach (args, i, v) {
        if (json_array_append(data, v) < 0) {
            json_decref(data);
            return NULL;
        }
    }
    return data;
}

int sioc_socket_emit(sioc_socket *s, const char *event, json_t *args)
{
    if (!s) {
        return SIOC_ERR_INVALID;
    }
    if (!s->connected) {
        return SIOC_ERR_CLOSED;
    }
    if (s->nsp->sio->recovery_ms) {
        /* Node, with connection state recovery: through the adapter to the socket's own room, so
         * that the packet carries an offset and is kept for a reconnection to replay. */
        const char *own[] = {s->id};
        sioc_target t = {.rooms = own, .nrooms = 1};
        return sioc_namespace_emit_to(s->nsp, &t, event, args);
    }
    sioc__sio_encoded e;
    int rc = sioc__encode_event(s->nsp, event, args, -1, &e);
    if (rc == 0) {
        rc = sioc__socket_send(s, &e);
        sioc__sio_encoded_clear(&e);
    }
    return rc;
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

/* A broadcast in progress: one encoded packet for every socket selected. */
typedef struct broadcast {
    sioc__sio_encoded *e;
    unsigned flags;
    sioc__bcast_ack *ack;
    int64_t id;
    size_t reached;
} broadcast;

static void deliver(sioc_socket *s, void *arg)
{
    broadcast *b = arg;
    if ((b->flags & SIOC_EMIT_VOLATILE) && !sioc__session_writable(s->client->conn)) {
        return;
    }
    if (b->ack && sioc__pending_add_bcast(s, b->id, b->ack) < 0) {
        return;
    }
    if (sioc__socket_send(s, b->e) == 0) {
        b->reached++;
    }
}

size_t sioc__broadcast(sioc_namespace *nsp, const sioc_target *t, sioc__sio_encoded *e,
                       sioc__bcast_ack *ack, int64_t id)
{
    broadcast b = {e, t ? t->flags : 0, ack, id, 0};
    sioc__select(nsp, t, deliver, &b);
    return b.reached;
}

/* What an emit needs: a name within the limit, and arguments as an array (or none). */
static bool valid_event(const char *event, json_t *args)
{
    return event && strlen(event) <= SIOC_MAX_EVENT_NAME && (!args || json_is_array(args));
}

int sioc__encode_event(sioc_namespace *nsp, const char *event, json_t *args, int64_t id,
                       sioc__sio_encoded *e)
{
    if (!valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = event_data(event, args);
    int rc = data ? sioc__sio_encode(SIOC__SIO_EVENT, nsp->name, id, data, e) : -1;
    json_decref(data);
    return rc < 0 ? SIOC_ERR_NOMEM : 0;
}

int sioc_namespace_emit_to(sioc_namespace *nsp, const sioc_target *t, const char *event,
                           json_t *args)
{
    if (!nsp) {
        return SIOC_ERR_INVALID;
    }
    if (nsp->is_parent) { /* Node's ParentNamespace: every child */
        int rc = 0;
        for (sioc_namespace *c = nsp->sio->nsps; c; c = c->next) {
            if (c->parent == nsp) {
                int r = sioc_namespace_emit_to(c, t, event, args);
                rc = rc ? rc : r;
            }
        }
        return rc;
    }
    if (!valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = event_data(event, args);
    bool stored = nsp->sio->recovery_ms && !(t && (t->flags & SIOC_EMIT_VOLATILE));
    sioc__sio_encoded e;
    /* Kept for replay (with its offset) unless volatile, as Node's session-aware adapter does. */
    if (!data || (stored && sioc__recovery_stamp(nsp, t, data) < 0) ||
        sioc__sio_encode(SIOC__SIO_EVENT, nsp->name, -1, data, &e) < 0) {
        json_decref(data);
        return SIOC_ERR_NOMEM;
    }
    json_decref(data);
    nsp->adapter->broadcast(nsp, t, &e, NULL, -1);
    sioc__sio_encoded_clear(&e);
    return 0;
}

int sioc_namespace_emit(sioc_namespace *nsp, const char *event, json_t *args)
{
    return sioc_namespace_emit_to(nsp, NULL, event, args);
}

int sioc_socket_broadcast(sioc_socket *s, const char *event, json_t *args)
{
    if (!s) {
        return SIOC_ERR_INVALID;
    }
    sioc_target t = {.except_socket = s};
    return sioc_namespace_emit_to(s->nsp, &t, event, args);
}

/* ---- events and acks ---- */

static sioc_ack *ack_new(sioc_socket *s, int64_t id)
{
    sioc_ack *a = calloc(1, sizeof(*a));
    if (a) {
        a->socket = s;
        a->id = id;
        sioc__list_append(&s->acks, &a->link);
    }
    return a;
}

int sioc_ack_send(sioc_ack *a, json_t *args)
{
    if (!a || (args && !json_is_array(args))) {
        return SIOC_ERR_INVALID;
    }
    sioc_socket *s = a->socket;
    int64_t id = a->id;
    sioc__list_remove(&a->link);
    free(a);
    if (!s->connected) {
        return SIOC_ERR_CLOSED;
    }
    json_t *empty = args ? NULL : json_array();
    sioc__sio_encoded e;
    int rc = sioc__sio_encode(SIOC__SIO_ACK, s->nsp->name, id, args ? args : empty, &e);
    json_decref(empty);
    if (rc < 0) {
        return SIOC_ERR_NOMEM;
    }
    rc = sioc__socket_send(s, &e);
    sioc__sio_encoded_clear(&e);
    return rc;
}

/* An EVENT: the catch-all first, then the event's own handler, as Node's onAny listeners run
 * before the others. */
void sioc__socket_dispatch(sioc_socket *s, json_t *data, int64_t ack_id)
{
    char scratch[32];
    const char *event = sioc__sio_event_name(data, scratch, sizeof(scratch));
    if (event && strlen(event) > SIOC_MAX_EVENT_NAME) {
        /* No handler can have such a name: dropped before anything is copied. */
        sioc__log(SIOC_LOG_INFO, "socket %s: event name of %zu bytes dropped (limit %d)", s->id,
                  strlen(event), SIOC_MAX_EVENT_NAME);
        return;
    }
    json_t *args = json_array();
    if (!event || !args) {
        json_decref(args);
        return;
    }
    for (size_t i = 1; i < json_array_size(data); i++) {
        json_array_append(args, json_array_get(data, i));
    }
    if (!sioc__run_packet_middleware(s, event, args)) {
        json_decref(args);
        return;
    }
    sioc_ack *ack = ack_id >= 0 ? ack_new(s, ack_id) : NULL;
    sioc_namespace *nsp = s->nsp;
    sioc__handler *h = sioc__map_get(&nsp->handlers, event, strlen(event));
    sioc__socket_ref(s); /* a handler may disconnect the socket */
    if (nsp->on_any) {
        nsp->on_any(s, event, args, ack, nsp->any_data);
    }
    if (h && s->connected) {
        h->cb(s, args, ack, h->user_data);
    }
    sioc__socket_unref(s);
    json_decref(args);
}

/* ---- accessors ---- */

void sioc_socket_disconnect(sioc_socket *s, bool close)
{
    if (!s) {
        return;
    }
    if (close) {
        sioc__client_close(s->client, "server namespace disconnect");
        return;
    }
    sioc__socket_close(s, "server namespace disconnect", true);
}

const char *sioc_socket_id(const sioc_socket *s)
{
    return s->id;
}

/* An empty object made on first use, for the fields that are most often empty. */
static json_t *lazy_object(json_t **slot)
{
    if (!*slot) {
        *slot = json_object();
    }
    return *slot;
}

json_t *sioc_socket_auth(const sioc_socket *s)
{
    return lazy_object(&((sioc_socket *)s)->auth);
}

json_t *sioc_socket_handshake(const sioc_socket *s)
{
    /* Made on first use: most applications never look, and it is the largest thing a socket
     * would otherwise hold. */
    sioc_socket *m = (sioc_socket *)s;
    if (!m->handshake) {
        m->handshake = json_copy(sioc_conn_handshake(s->client->conn));
        json_t *auth = sioc_socket_auth(s);
        if (m->handshake && (!auth || json_object_set(m->handshake, "auth", auth) < 0)) {
            json_decref(m->handshake);
            m->handshake = NULL;
        }
    }
    return m->handshake;
}

json_t *sioc_socket_data_json(const sioc_socket *s)
{
    return lazy_object(&((sioc_socket *)s)->data_json);
}

bool sioc_socket_recovered(const sioc_socket *s)
{
    return s->recovered;
}

size_t sioc_socket_rooms(const sioc_socket *s, const char **rooms, size_t cap)
{
    for (size_t i = 0; i < s->nrooms && i < cap; i++) {
        rooms[i] = s->rooms[i]->name;
    }
    return s->nrooms;
}

sioc_namespace *sioc_socket_namespace(const sioc_socket *s)
{
    return s->nsp;
}

sioc_conn *sioc_socket_conn(const sioc_socket *s)
{
    return s->client->conn;
}

void sioc_socket_set_data(sioc_socket *s, void *data)
{
    s->user_data = data;
}

void *sioc_socket_get_data(const sioc_socket *s)
{
    return s->user_data;
}
