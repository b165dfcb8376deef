/* Connection middleware (run in order, each free to answer now or later) and packet middleware. */
#include "core/sio.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static int add(sioc__mw **list, size_t *n, sioc__mw mw)
{
    sioc__mw *grown = realloc(*list, (*n + 1) * sizeof(*grown));
    if (!grown) {
        return SIOC_ERR_NOMEM;
    }
    grown[(*n)++] = mw;
    *list = grown;
    return 0;
}

int sioc_namespace_use(sioc_namespace *nsp, sioc_middleware_cb cb, void *user_data)
{
    if (!nsp || !cb) {
        return SIOC_ERR_INVALID;
    }
    return add(&nsp->mws, &nsp->nmws, (sioc__mw){.cb = cb, .user_data = user_data});
}

int sioc_namespace_use_packet(sioc_namespace *nsp, sioc_packet_middleware_cb cb, void *user_data)
{
    if (!nsp || !cb) {
        return SIOC_ERR_INVALID;
    }
    return add(&nsp->pmws, &nsp->npmws, (sioc__mw){.packet_cb = cb, .user_data = user_data});
}

int sioc_namespace_on_error(sioc_namespace *nsp, sioc_error_cb cb, void *user_data)
{
    if (!nsp) {
        return SIOC_ERR_INVALID;
    }
    nsp->on_error = cb;
    nsp->error_data = user_data;
    return 0;
}

void sioc__middleware_free(sioc_namespace *nsp)
{
    free(nsp->mws);
    free(nsp->pmws);
}

static void run_from(sioc_socket *s, size_t i, void (*joined)(sioc_socket *s))
{
    sioc_namespace *nsp = s->nsp;
    if (i == nsp->nmws) {
        joined(s);
        return;
    }
    sioc_next *next = malloc(sizeof(*next));
    if (!next) {
        sioc_socket_disconnect(s, false);
        return;
    }
    next->socket = s;
    next->index = i;
    next->joined = joined;
    sioc__socket_ref(s);
    nsp->mws[i].cb(s, next, nsp->mws[i].user_data);
}

void sioc__socket_admit(sioc_socket *s, void (*joined)(sioc_socket *s))
{
    run_from(s, 0, joined);
}

void sioc_next_accept(sioc_next *next)
{
    if (!next) {
        return;
    }
    sioc_socket *s = next->socket;
    size_t i = next->index;
    void (*joined)(sioc_socket *) = next->joined;
    free(next);
    if (s->admitting) { /* not gone meanwhile */
        run_from(s, i + 1, joined);
    }
    sioc__socket_unref(s);
}

void sioc_next_reject(sioc_next *next, const char *message, json_t *data)
{
    if (!next) {
        return;
    }
    sioc_socket *s = next->socket;
    free(next);
    if (s->admitting) {
        /* Node sends the error's message and data as CONNECT_ERROR; to a protocol v4 client
         * (Engine.IO v3), an ERROR with the data, or else the message, alone. */
        json_t *err;
        if (s->client->conn->protocol == 3) {
            err = data ? json_incref(data) : json_string(message ? message : "");
        } else if ((err = json_pack("{s:s}", "message", message ? message : "")) && data) {
            json_object_set(err, "data", data);
        }
        sioc__sio_encoded e;
        if (err && sioc__encode_packet(s->nsp->sio, SIOC__SIO_CONNECT_ERROR, s->nsp->name, -1, err,
                                       &e) == 0) {
            sioc__socket_send(s, &e);
            sioc__sio_encoded_clear(&e);
        }
        json_decref(err);
        sioc__log_with(
            SIOC_LOG_INFO,
            ((sioc__log_fields){.socket = s->id, .nsp = s->nsp->name, .reason = message}),
            "socket %s refused by %s's middleware: %s", s->id, s->nsp->name,
            message ? message : "");
        sioc__socket_close(s, "refused", false);
    }
    sioc__socket_unref(s);
}

bool sioc__run_packet_middleware(sioc_socket *s, const char *event, json_t *args)
{
    sioc_namespace *nsp = s->nsp;
    for (size_t i = 0; i < nsp->npmws; i++) {
        const char *err = nsp->pmws[i].packet_cb(s, event, args, nsp->pmws[i].user_data);
        if (err) {
            if (nsp->on_error) {
                nsp->on_error(s, err, nsp->error_data);
            }
            return false;
        }
        if (!s->connected) {
            return false;
        }
    }
    return true;
}
