/* One Engine.IO connection seen by Socket.IO: decodes its packets (binary attachments included)
 * and dispatches them to the sockets it has in each namespace. */
#include "core/sio.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/stats.h"
#include "util/log.h"
#include "util/query.h"
#include "util/container.h"

static void client_unref(sioc__client *c)
{
    assert(c->refs > 0); /* a client is never released more often than it was taken */
    if (--c->refs == 0) {
        sioc__parser_reset(c->sio, &c->decoder);
        free(c->sockets);
        free(c);
    }
}

static sioc_socket *socket_for(sioc__client *c, const char *nsp)
{
    for (size_t i = 0; i < c->nsockets; i++) {
        if (strcmp(c->sockets[i]->nsp->name, nsp) == 0) {
            return c->sockets[i];
        }
    }
    return NULL;
}

void sioc__client_remove_socket(sioc__client *c, sioc_socket *s)
{
    for (size_t i = 0; i < c->nsockets; i++) {
        if (c->sockets[i] == s) {
            c->sockets[i] = c->sockets[--c->nsockets];
            return;
        }
    }
}

static int send_packet(sioc__client *c, sioc__sio_type type, const char *nsp, json_t *data)
{
    sioc__sio_encoded e;
    if (sioc__encode_packet(c->sio, type, nsp, -1, data, &e) < 0) {
        return SIOC_ERR_NOMEM;
    }
    /* Node writes a namespace's CONNECT answer before the connection handler's first emits, which
     * follow once that write is done: a client that reads one message per turn of its loop (the
     * protocol's own test suite does) sees them one by one. */
    e.text->ends_write = type == SIOC__SIO_CONNECT;
    int rc = sioc__session_send(c->conn, e.text);
    sioc__sio_encoded_clear(&e);
    return rc;
}

/* Node's socket.disconnect(true): every socket leaves with a DISCONNECT, then the connection
 * closes once that has been flushed. */
void sioc__client_close(sioc__client *c, const char *reason)
{
    c->refs++;
    while (c->nsockets) {
        sioc__socket_close(c->sockets[c->nsockets - 1], reason, true);
    }
    sioc_conn_close(c->conn);
    client_unref(c);
}

static void on_connect_timeout(sioc__timer *t)
{
    sioc__client *c = CONTAINER(t, sioc__client, connect_timer);
    if (c->nsockets == 0) {
        sioc__log(SIOC_LOG_INFO, "connection %s joined no namespace in time",
                  sioc_conn_id(c->conn));
        sioc_conn_close(c->conn);
    }
}

static void restore_rooms(sioc_socket *s)
{
    size_t i;
    json_t *room;
    json_array_foreach (s->restoring->rooms, i, room) {
        sioc_socket_join(s, json_string_value(room));
    }
    sioc__saved_session_free(s->restoring);
    s->restoring = NULL;
}

/* After the CONNECT: what the socket missed, in order, as it was broadcast. */
static void replay_missed(sioc_socket *s)
{
    size_t i;
    json_t *data;
    json_array_foreach (s->missed, i, data) {
        sioc__sio_encoded e;
        if (sioc__encode_packet(s->nsp->sio, SIOC__SIO_EVENT, s->nsp->name, -1, data, &e) == 0) {
            sioc__socket_send(s, &e);
            sioc__sio_encoded_clear(&e);
        }
    }
    json_decref(s->missed);
    s->missed = NULL;
}

/* The socket comes back as `session` said: its id, data and (once joined) rooms. Returns whether
 * it did. */
static bool restore(sioc_socket *s, sioc__saved_session *session, json_t *missed)
{
    if (!session) {
        json_decref(missed);
        return false;
    }
    if (sioc__map_get(&s->nsp->sockets, session->sid, strlen(session->sid))) {
        sioc__saved_session_free(session); /* that id is in use again */
        json_decref(missed);
        return false;
    }
    memcpy(s->idbuf, session->sid, sizeof(s->idbuf));
    memcpy(s->pid, session->pid, sizeof(s->pid));
    json_decref(s->data_json);
    s->data_json = json_incref(session->data);
    s->restoring = session;
    s->missed = missed;
    s->recovered = true;
    return true;
}

static void joined(sioc_socket *s);

static void on_restored(sioc__saved_session *session, json_t *missed, void *arg)
{
    sioc_socket *s = arg;
    if (!s->admitting) { /* it left while the adapter looked */
        sioc__saved_session_free(session);
        json_decref(missed);
    } else if (restore(s, session, missed) && s->nsp->sio->recovery_skip_middlewares) {
        joined(s); /* Node's skipMiddlewares */
    } else {
        sioc__socket_admit(s, joined);
    }
    sioc__socket_unref(s);
}

/* A CONNECT with a pid and offset may come from a socket that lost its connection in time: the
 * adapter is asked for its session, then the socket goes on (on_restored). Returns whether it was
 * asked. */
static bool try_recover(sioc_socket *s, json_t *auth)
{
    const char *pid = json_string_value(json_object_get(auth, "pid"));
    const char *offset = json_string_value(json_object_get(auth, "offset"));
    if (!s->pid[0] || !pid || !offset) {
        return false;
    }
    sioc__socket_ref(s); /* until the answer */
    s->nsp->adapter->ops->restore_session(s->nsp->adapter, pid, offset, on_restored, s);
    return true;
}

/* The CONNECT answer's payload, {"sid":..., "pid":...} (pid with connection state recovery), or
 * NULL without memory. Made member by member: json_pack's reading of its format string was most
 * of its cost. (A restored socket's ids come from a session store, so they are still checked.) */
static json_t *connect_payload(const sioc_socket *s)
{
    json_t *o = json_object();
    if (o && (json_object_set_new_nocheck(o, "sid", json_string(s->id)) < 0 ||
              (s->pid[0] && json_object_set_new_nocheck(o, "pid", json_string(s->pid)) < 0))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The middleware let the socket in: it joins the namespace and the client learns its id. */
static void joined(sioc_socket *s)
{
    sioc__client *c = s->client;
    sioc_namespace *nsp = s->nsp;
    if (sioc__socket_attach(s) < 0) {
        sioc__socket_close(s, "transport error", false);
        return;
    }
    sioc__timer_stop(c->sio->wheel, &c->connect_timer);
    nsp->connects++;
    if (s->restoring) {
        restore_rooms(s);
    }
    if (c->conn->protocol == 3) {
        send_packet(c, SIOC__SIO_CONNECT, nsp->name, NULL); /* protocol v4: no payload */
    } else if (!c->plain) { /* a plain client is connected by its WebSocket alone */
        json_t *hello = connect_payload(s);
        send_packet(c, SIOC__SIO_CONNECT, nsp->name, hello);
        json_decref(hello);
        replay_missed(s);
    }
    sioc__log_with(SIOC_LOG_INFO,
                   ((sioc__log_fields){.sid = sioc_conn_id(c->conn),
                                       .socket = s->id,
                                       .nsp = nsp->name,
                                       .address = sioc__conn_address(c->conn)}),
                   "socket %s joined %s (connection %s, %s)", s->id, nsp->name,
                   sioc_conn_id(c->conn), sioc_conn_transport(c->conn));
    sioc__socket_ref(s); /* a callback may disconnect it */
    if (nsp->on_connection) {
        nsp->on_connection(s, nsp->connection_data);
    }
    if (s->connected) {
        SIOC__NOTIFY(c->sio, socket_connected, s);
    }
    sioc__socket_unref(s);
}

/* Socket.IO protocol v4 (Engine.IO v3 clients) puts a namespace's query in its name,
 * "/chat?token=abc", where v5 has an auth payload. Node takes the path as the namespace and the
 * query, as an object, as the auth; packets of other types only lose the query. */
static int split_v4_namespace(sioc__sio_packet *p)
{
    char *q = strchr(p->nsp, '?');
    if (!q) {
        return 0;
    }
    *q++ = '\0';
    if (p->type != SIOC__SIO_CONNECT) {
        return 0;
    }
    json_decref(p->data);
    p->data = sioc__query_object(q);
    return p->data ? 0 : -1;
}

static void connect_namespace(sioc__client *c, const sioc__sio_packet *p)
{
    const char *refusal;
    sioc_namespace *nsp = sioc__core_resolve(c->sio, p->nsp, p->data, &refusal);
    if (!nsp) {
        json_t *err = json_pack("{s:s}", "message", refusal);
        send_packet(c, SIOC__SIO_CONNECT_ERROR, p->nsp, err);
        json_decref(err);
        return;
    }
    if (socket_for(c, p->nsp)) {
        return; /* already connected there, or on its way */
    }
    sioc_socket **grown = realloc(c->sockets, (c->nsockets + 1) * sizeof(*grown));
    if (!grown) {
        return;
    }
    c->sockets = grown;
    sioc_socket *s = sioc__socket_new(nsp, c, p->data);
    if (!s) {
        return;
    }
    c->sockets[c->nsockets++] = s;
    if (!try_recover(s, p->data)) {
        sioc__socket_admit(s, joined);
    }
}

/* Returns -1 for a packet a client may not send. */
static int handle_packet(sioc__client *c, sioc__sio_packet *p)
{
    sioc_socket *s;
    switch (p->type) {
    case SIOC__SIO_CONNECT:
        connect_namespace(c, p);
        return 0;
    case SIOC__SIO_DISCONNECT:
        if ((s = socket_for(c, p->nsp))) {
            sioc__socket_close(s, "client namespace disconnect", false);
        }
        return 0;
    case SIOC__SIO_EVENT:
    case SIOC__SIO_BINARY_EVENT:
        /* Node ignores events for a namespace the client has not joined (yet). */
        if ((s = socket_for(c, p->nsp)) && s->connected && p->data) {
            sioc__socket_dispatch(s, p->data, p->id);
        }
        return 0;
    case SIOC__SIO_ACK:
    case SIOC__SIO_BINARY_ACK:
        if ((s = socket_for(c, p->nsp)) && s->connected && p->id >= 0) {
            sioc__socket_ack_received(s, p->id, p->data);
        }
        return 0;
    case SIOC__SIO_CONNECT_ERROR:
        return -1;
    }
    return -1;
}

/* {"name": "error", "data": [what]}, the plain client's way of hearing about a bad frame. */
static void plain_error(sioc__client *c, const char *what)
{
    json_t *frame = json_pack("{s:s,s:[s]}", "name", "error", "data", what);
    char *text = frame ? json_dumps(frame, JSON_COMPACT) : NULL;
    json_decref(frame);
    sioc__msg *m = text ? sioc__msg_alloc(strlen(text), false) : NULL;
    if (m) {
        memcpy(sioc__msg_payload(m), text, m->len);
        sioc__session_send(c->conn, m);
    }
    sioc__msg_unref(m);
    free(text);
    sioc__log(SIOC_LOG_INFO, "connection %s: bad plain WebSocket frame: %s", sioc_conn_id(c->conn),
              what);
}

/* A frame from a plain WebSocket client: an event for its socket in "/", an ack asked by "id". */
static void plain_message(sioc__client *c, const char *data, size_t len, bool binary)
{
    sioc_socket *s = c->nsockets ? c->sockets[0] : NULL;
    if (!s || !s->connected) {
        return; /* still in the middleware */
    }
    if (binary) {
        plain_error(c, "binary frames are not understood: send JSON text");
        return;
    }
    json_t *root, *args;
    const char *name, *error;
    int64_t id;
    if (sioc__sio_decode_plain(len ? data : "", len, &root, &name, &args, &id, &error) < 0) {
        plain_error(c, error);
        json_decref(root);
        return;
    }
    json_t *event = json_pack("[s]", name);
    if (event && json_array_extend(event, args) == 0) {
        sioc__socket_dispatch(s, event, id);
    }
    json_decref(event);
    json_decref(args);
    json_decref(root);
}

static void on_open(sioc_conn *conn, void *user_data)
{
    sioc__core *sio = user_data;
    sioc__client *c = calloc(1, sizeof(*c));
    if (!c) {
        /* Without a client the connection only idles; it ends with its heartbeat or transport. */
        sioc__log(SIOC_LOG_ERROR, "connection %s: out of memory", sioc_conn_id(conn));
        return;
    }
    c->conn = conn;
    c->sio = sio;
    c->refs = 1;
    sioc_conn_set_data(conn, c);
    c->plain = conn->plain;
    SIOC__NOTIFY(sio, conn_opened, conn);
    if (conn->plain || conn->protocol == 3) {
        /* The seed's second page (a plain WebSocket) joins "/" as a socket like any other; in
         * Socket.IO protocol v4 (Engine.IO v3 clients) every connection is in "/" without
         * asking. */
        sioc__sio_packet hello = {.type = SIOC__SIO_CONNECT, .id = -1};
        strcpy(hello.nsp, "/");
        c->refs++;
        connect_namespace(c, &hello);
        client_unref(c);
        return;
    }
    /* Node's connectTimeout: a connection must join a namespace in time. */
    sioc__timer_start(sio->wheel, &c->connect_timer,
                      sioc__wheel_now(sio->wheel) + sio->connect_timeout_ms, on_connect_timeout);
}

static void on_message(sioc_conn *conn, const void *data, size_t len, bool binary, void *user_data)
{
    sioc__client *c = sioc_conn_get_data(conn);
    if (!c) {
        return;
    }
    sioc__stats_g.packets_in++;
    sioc__stats_g.bytes_in += len;
    if (c->plain) {
        plain_message(c, data, len, binary);
        return;
    }
    sioc__sio_packet p;
    int rc = sioc__decode_packet(c->sio, &c->decoder, data, len, binary, &p);
    if (rc == 1 && conn->protocol == 3 && split_v4_namespace(&p) < 0) {
        sioc__sio_packet_clear(&p);
        return; /* no memory for the query: the CONNECT is lost, as if it had not arrived */
    }
    if (rc == 1) {
        c->refs++;
        rc = handle_packet(c, &p);
        sioc__sio_packet_clear(&p);
        client_unref(c);
    }
    if (rc < 0) {
        /* socket.io-parser throws on a malformed packet and Node closes the connection. */
        sioc__log(SIOC_LOG_INFO, "connection %s: invalid Socket.IO packet", sioc_conn_id(conn));
        sioc__session_close(conn, "parse error", false);
    }
}

static void on_close(sioc_conn *conn, const char *reason, void *user_data)
{
    sioc__client *c = sioc_conn_get_data(conn);
    if (!c) {
        return;
    }
    SIOC__NOTIFY(c->sio, conn_closed, conn, reason);
    sioc_conn_set_data(conn, NULL);
    sioc__timer_stop(c->sio->wheel, &c->connect_timer);
    while (c->nsockets) {
        sioc__socket_close(c->sockets[c->nsockets - 1], reason, false);
    }
    client_unref(c);
}

void sioc__core_on_upgrade(sioc_conn *conn, void *user_data)
{
    sioc__client *c = sioc_conn_get_data(conn);
    if (!c) {
        return;
    }
    c->refs++; /* an observer may disconnect the sockets */
    for (size_t i = 0; i < c->nsockets; i++) {
        if (c->sockets[i]->connected) { /* not one still in its middleware */
            SIOC__NOTIFY(c->sio, transport_upgraded, c->sockets[i]);
        }
    }
    client_unref(c);
}

const sioc_engine_handlers sioc__core_engine_handlers = {on_open, on_message, on_close};
