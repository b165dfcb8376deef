/* Namespaces: the core's list of them, their handlers, and emitting to their sockets. */
#include "core/sio.h"

#include <stdlib.h>
#include <string.h>

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
    sioc__list_init(&nsp->server_acks);
    if (sioc__namespace_adapter_open(nsp, sio->adapter_ops) < 0) {
        free(nsp->name);
        free(nsp);
        return NULL;
    }
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
    sioc__server_events_free(nsp);
    nsp->adapter->ops->close(nsp->adapter);
    sioc__timer_stop(nsp->sio->wheel, &nsp->cleanup_timer);
    if (nsp->has_regex) {
        regfree(&nsp->regex);
    }
    sioc__handlers_free(&nsp->handlers);
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
    sio->parser = &sioc__json_parser;
    sio->adapter_ops = &sioc__memory_adapter;
    sio->wheel = wheel;
    sio->connect_timeout_ms = connect_timeout_ms;
    sioc__list_init(&sio->undecided);
    sio->no_auth = json_object();
    if (!sio->no_auth || !sioc__namespace_new(sio, "/")) {
        json_decref(sio->no_auth);
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
    sioc__observers_free(sio);
    json_decref(sio->no_auth);
    free(sio);
}

sioc_namespace *sioc__core_of(sioc__core *sio, const char *name)
{
    if (!name || name[0] != '/') {
        return NULL;
    }
    sioc_namespace *nsp = sioc__core_find(sio, name);
    if (nsp) {
        return nsp;
    }
    if ((nsp = sioc__namespace_new(sio, name)) != NULL) {
        SIOC__NOTIFY(sio, namespace_created, nsp);
    }
    return nsp;
}

const char *sioc_namespace_name(const sioc_namespace *nsp)
{
    return nsp->name;
}

size_t sioc_namespace_sockets_count(const sioc_namespace *nsp)
{
    return nsp ? nsp->sockets.count : 0;
}

size_t sioc__core_namespaces(sioc__core *sio, sioc_namespace **out, size_t cap)
{
    size_t n = 0;
    for (sioc_namespace *nsp = sio->nsps; nsp; nsp = nsp->next) {
        n++;
    }
    /* The list is newest first; Node's io._nsps is in the order they came. */
    size_t i = n;
    for (sioc_namespace *nsp = sio->nsps; nsp; nsp = nsp->next) {
        if (--i < cap) {
            out[i] = nsp;
        }
    }
    return n;
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

int sioc__handler_set(sioc__map *map, const char *event, bool remove, sioc__handler **out)
{
    *out = NULL;
    if (!event || strlen(event) > SIOC_MAX_EVENT_NAME) {
        return SIOC_ERR_INVALID;
    }
    sioc__handler *h = sioc__map_get(map, event, strlen(event));
    if (remove) {
        if (h) {
            sioc__map_remove(map, event);
            free_handler(h, NULL);
        }
        return 0;
    }
    if (!h) {
        if (!(h = calloc(1, sizeof(*h))) || !(h->event = strdup(event))) {
            free(h);
            return SIOC_ERR_NOMEM;
        }
        if (sioc__map_put(map, h->event, h) < 0) {
            free_handler(h, NULL);
            return SIOC_ERR_NOMEM;
        }
    }
    *out = h;
    return 0;
}

void sioc__handlers_free(sioc__map *map)
{
    sioc__map_each(map, free_handler, NULL);
    sioc__map_free(map);
}

int sioc_namespace_on(sioc_namespace *nsp, const char *event, sioc_event_cb cb, void *user_data)
{
    sioc__handler *h;
    int rc = nsp ? sioc__handler_set(&nsp->handlers, event, !cb, &h) : SIOC_ERR_INVALID;
    if (rc == 0 && h) {
        h->cb.client = cb;
        h->user_data = user_data;
    }
    return rc;
}

/* ---- emitting ---- */

bool sioc__valid_event(const char *event, json_t *args)
{
    return event && strlen(event) <= SIOC_MAX_EVENT_NAME && (!args || json_is_array(args));
}

json_t *sioc__event_data(const char *event, json_t *args)
{
    if (!sioc__valid_event(event, args)) {
        return NULL;
    }
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

/* A broadcast in progress: one encoded packet for every socket selected. */
typedef struct broadcast {
    sioc__sio_encoded *e;
    unsigned flags;
    sioc__bcast_ack *ack;
    int64_t id;
    long reached;
    bool observed; /* some observer wants to know of each delivery */
    json_t *data;  /* ["event", args...] */
    json_t *args;  /* its arguments alone, made for the observers when there are some */
} broadcast;

/* Observers learn of each socket a broadcast reaches, with the arguments split off once. Kept out
 * of line: inlined, it costs every delivery registers, observed or not. */
__attribute__((noinline)) static void notify_sent(sioc_socket *s, broadcast *b)
{
    if (!b->args) {
        if (!(b->args = json_array())) {
            return;
        }
        for (size_t i = 1; i < json_array_size(b->data); i++) {
            json_array_append(b->args, json_array_get(b->data, i));
        }
    }
    const char *event = json_string_value(json_array_get(b->data, 0));
    SIOC__NOTIFY(s->nsp->sio, event_sent, s, event ? event : "", b->args);
}

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
        if (b->observed) {
            notify_sent(s, b);
        }
    }
}

long sioc__local_broadcast(sioc_namespace *nsp, json_t *data, const sioc_target *t,
                           sioc__bcast_ack *ack)
{
    /* With acks, the packet id is this node's own: Node's adapters never send it across. */
    int64_t id = ack ? nsp->next_ack_id++ : -1;
    sioc__sio_encoded e;
    if (sioc__encode_packet(nsp->sio, SIOC__SIO_EVENT, nsp->name, id, data, &e) < 0) {
        return -1;
    }
    broadcast b = {&e, t ? t->flags : 0, ack, id, 0, nsp->sio->nobservers > 0, data, NULL};
    sioc__select(nsp, t, deliver, &b);
    nsp->events_out += (uint64_t)b.reached;
    sioc__sio_encoded_clear(&e);
    json_decref(b.args);
    return b.reached;
}

int sioc__encode_event(sioc_namespace *nsp, const char *event, json_t *args, int64_t id,
                       sioc__sio_encoded *e)
{
    if (!sioc__valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = sioc__event_data(event, args);
    int rc = data ? sioc__encode_packet(nsp->sio, SIOC__SIO_EVENT, nsp->name, id, data, e) : -1;
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
    if (!sioc__valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = sioc__event_data(event, args);
    int rc = data ? nsp->adapter->ops->broadcast(nsp->adapter, data, t) : SIOC_ERR_NOMEM;
    json_decref(data);
    return rc;
}

int sioc_namespace_emit(sioc_namespace *nsp, const char *event, json_t *args)
{
    return sioc_namespace_emit_to(nsp, NULL, event, args);
}

int sioc_socket_broadcast(sioc_socket *s, const char *event, json_t *args)
{
    if (!s || s->remote) {
        return SIOC_ERR_INVALID;
    }
    sioc_target t = {.except_socket = s};
    return sioc_namespace_emit_to(s->nsp, &t, event, args);
}
