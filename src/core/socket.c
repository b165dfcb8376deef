/* Sockets: their ids, life cycle and references, sending, the acks they answer, dispatch of
 * incoming events, and what the public API reads of them. */
#include "core/sio.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/stats.h"
#include "util/base64.h"
#include "util/log.h"

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
    json_decref(s->remote_rooms);
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
        if (sioc__encode_packet(s->nsp->sio, SIOC__SIO_DISCONNECT, s->nsp->name, -1, NULL, &e) ==
            0) {
            sioc__socket_send(s, &e);
            sioc__sio_encoded_clear(&e);
        }
    }
    s->connected = false;
    s->nsp->disconnects++;
    sioc__stats_disconnect(reason);
    sioc__log_with(
        SIOC_LOG_INFO,
        ((sioc__log_fields){.sid = s->client ? sioc_conn_id(s->client->conn) : NULL,
                            .socket = s->id,
                            .nsp = s->nsp->name,
                            .address = s->client ? sioc__conn_address(s->client->conn) : NULL,
                            .reason = reason}),
        "socket %s left %s (%s)", s->id, s->nsp->name, reason);
    /* Node: "disconnecting" while still in the rooms, then they are left, then "disconnect". */
    if (s->nsp->on_disconnecting) {
        s->nsp->on_disconnecting(s, reason, s->nsp->disconnecting_data);
    }
    SIOC__NOTIFY(s->nsp->sio, socket_disconnecting, s, reason);
    if (s->pid[0] && sioc__recoverable(reason)) {
        /* with its rooms, before it leaves them */
        sioc__saved_session *session = sioc__recovery_session_of(s);
        if (session) {
            s->nsp->adapter->ops->persist_session(s->nsp->adapter, session);
        }
    }
    sioc__socket_leave_all(s);
    sioc__pending_drop_all(s);
    if (s->nsp->on_disconnect) {
        s->nsp->on_disconnect(s, reason, s->nsp->disconnect_data);
    }
    SIOC__NOTIFY(s->nsp->sio, socket_disconnected, s, reason);
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
        if (plain) {
            sioc__stats_g.packets_out++;
            sioc__stats_g.bytes_out += plain->len;
        }
        return plain ? sioc__session_send(s->client->conn, plain) : 0;
    }
    int rc = sioc__session_send(s->client->conn, e->text);
    sioc__stats_g.bytes_out += e->text->len;
    sioc__stats_g.packets_out += 1 + e->nbins;
    for (size_t i = 0; rc == 0 && i < e->nbins; i++) {
        rc = sioc__session_send(s->client->conn, e->bins[i]);
        sioc__stats_g.bytes_out += e->bins[i]->len;
    }
    return rc;
}

int sioc_socket_emit(sioc_socket *s, const char *event, json_t *args)
{
    if (!s) {
        return SIOC_ERR_INVALID;
    }
    if (s->remote) {
        return sioc__remote_emit(s, event, args);
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
    if (rc == 0) {
        sioc__notify_sent(s, event, args);
    }
    return rc;
}

void sioc__notify_sent(sioc_socket *s, const char *event, json_t *args)
{
    s->nsp->events_out++;
    if (s->nsp->sio->nobservers) {
        json_t *none = args ? NULL : json_array();
        SIOC__NOTIFY(s->nsp->sio, event_sent, s, event, args ? args : none);
        json_decref(none);
    }
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
    int rc =
        sioc__encode_packet(s->nsp->sio, SIOC__SIO_ACK, s->nsp->name, id, args ? args : empty, &e);
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
    nsp->events_in++;
    SIOC__NOTIFY(nsp->sio, event_received, s, event, args);
    if (nsp->on_any && s->connected) {
        nsp->on_any(s, event, args, ack, nsp->any_data);
    }
    if (h && s->connected) {
        h->cb.client(s, args, ack, h->user_data);
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
    if (s->remote) {
        sioc__remote_disconnect(s, close);
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
    sioc_socket *m = (sioc_socket *)s;
    if (!m->auth && !s->remote) {
        m->auth = json_incref(s->nsp->sio->no_auth);
    }
    return lazy_object(&m->auth); /* a remote socket's: its own, or a new empty one */
}

json_t *sioc_socket_handshake(const sioc_socket *s)
{
    /* Made on first use: most applications never look, and it is the largest thing a socket
     * would otherwise hold. */
    sioc_socket *m = (sioc_socket *)s;
    if (!m->handshake && !s->remote) {
        m->handshake = json_copy(sioc_conn_handshake(s->client->conn));
        json_t *auth = sioc_socket_auth(s);
        if (m->handshake && (!auth || json_object_set(m->handshake, "auth", auth) < 0)) {
            json_decref(m->handshake);
            m->handshake = NULL;
        }
    }
    return m->handshake;
}

void sioc_socket_data_changed(sioc_socket *s)
{
    if (s && !s->remote && s->connected) {
        SIOC__NOTIFY(s->nsp->sio, data_changed, s);
    }
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
    if (s->remote) {
        return sioc__remote_rooms(s, rooms, cap);
    }
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
    return s->remote ? NULL : s->client->conn;
}

void sioc_socket_set_data(sioc_socket *s, void *data)
{
    s->user_data = data;
}

void *sioc_socket_get_data(const sioc_socket *s)
{
    return s->user_data;
}
