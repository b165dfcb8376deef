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
    sio->parser = &sioc__json_parser;
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
    sioc__observers_free(sio);
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

/* ---- emitting ---- */

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
    if (!valid_event(event, args)) {
        return SIOC_ERR_INVALID;
    }
    json_t *data = event_data(event, args);
    bool stored = nsp->sio->recovery_ms && !(t && (t->flags & SIOC_EMIT_VOLATILE));
    sioc__sio_encoded e;
    /* Kept for replay (with its offset) unless volatile, as Node's session-aware adapter does. */
    if (!data || (stored && sioc__recovery_stamp(nsp, t, data) < 0) ||
        sioc__encode_packet(nsp->sio, SIOC__SIO_EVENT, nsp->name, -1, data, &e) < 0) {
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
