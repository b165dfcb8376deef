/* Remote sockets (Node's RemoteSocket): what a fetch learns of another node's socket. It can be
 * read, and what is done to it goes through the namespace's adapter to the room named by its id,
 * where its own node finds it. */
#include "core/sio.h"

#include <stdlib.h>
#include <string.h>

sioc_socket *sioc__remote_socket_new(sioc_namespace *nsp, const char *id, json_t *rooms,
                                     json_t *handshake, json_t *data)
{
    sioc_socket *s = calloc(1, sizeof(*s));
    if (!s || !(s->id = strdup(id))) {
        free(s);
        return NULL;
    }
    s->nsp = nsp;
    s->remote = true;
    s->refs = 1;
    s->remote_rooms = rooms ? json_incref(rooms) : json_array();
    s->handshake = json_incref(handshake);
    s->data_json = json_incref(data);
    s->auth = json_incref(json_object_get(handshake, "auth"));
    sioc__list_init(&s->acks);
    sioc__pending_init(s);
    if (!s->remote_rooms) {
        sioc__socket_unref(s);
        return NULL;
    }
    return s;
}

/* A target naming the socket's own room only, cluster-wide. */
static sioc_target own_room(const sioc_socket *s, const char **room)
{
    *room = s->id;
    sioc_target t = {.rooms = room, .nrooms = 1};
    return t;
}

int sioc__remote_emit(sioc_socket *s, const char *event, json_t *args)
{
    const char *room;
    sioc_target t = own_room(s, &room);
    return sioc_namespace_emit_to(s->nsp, &t, event, args);
}

int sioc__remote_join(sioc_socket *s, const char *room, bool join)
{
    if (!room) {
        return SIOC_ERR_INVALID;
    }
    const char *own;
    sioc_target t = own_room(s, &own);
    sioc__adapter *a = s->nsp->adapter;
    return join ? a->ops->add_sockets(a, &t, &room, 1) : a->ops->del_sockets(a, &t, &room, 1);
}

void sioc__remote_disconnect(sioc_socket *s, bool close)
{
    const char *own;
    sioc_target t = own_room(s, &own);
    s->nsp->adapter->ops->disconnect_sockets(s->nsp->adapter, &t, close);
}

size_t sioc__remote_rooms(const sioc_socket *s, const char **rooms, size_t cap)
{
    size_t n = 0, i;
    json_t *room;
    json_array_foreach (s->remote_rooms, i, room) {
        if (json_is_string(room)) {
            if (n < cap) {
                rooms[n] = json_string_value(room);
            }
            n++;
        }
    }
    return n;
}

bool sioc_socket_is_local(const sioc_socket *s)
{
    return !s->remote;
}
