/* The Redis adapter answers the other nodes' requests, every type (the responder's side of
 * CLUSTER-NOTES' table): sockets and rooms, fetches with socket descriptions, joins, leaves and
 * disconnects (applied to this node's sockets whoever asked, the requester's own echo included,
 * as a Node requester counts on it), server-side events with acks, broadcasts with acks (the
 * client count first, even 0, then each answer). Answers go on the generic response channel,
 * where every node version listens. This node's own requests, heard back, are not answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/redis_adapter.h"
#include "core/sio.h"

static json_t *all_rooms(sioc_namespace *nsp)
{
    json_t *out = json_array();
    sioc__room *r;
    for (size_t pos = 0; out && (r = sioc__map_next(&nsp->rooms, &pos));) {
        json_array_append_new(out, json_string(r->name));
    }
    return out;
}

/* Where a server-side event's or a broadcast's answers go: the requester's id, on our link. */
typedef struct answer_to {
    sioc__redis *link;
    char *channel;
    char *request_id;
} answer_to;

static answer_to *answer_to_new(sioc__redis_nsp *a, const char *request_id)
{
    answer_to *to = calloc(1, sizeof(*to));
    if (to && (!(to->channel = strdup(a->responses)) || !(to->request_id = strdup(request_id)))) {
        free(to->channel);
        free(to);
        return NULL;
    }
    if (to) {
        to->link = a->cfg->link;
    }
    return to;
}

static void answer_to_free(void *arg)
{
    answer_to *to = arg;
    free(to->channel);
    free(to->request_id);
    free(to);
}

static void server_event_answer(void *arg, json_t *first)
{
    answer_to *to = arg;
    sioc__redis_send(to->link, to->channel,
                     json_pack("{s:i,s:s,s:O}", "type", SIOC__REQ_SERVER_SIDE_EMIT, "requestId",
                               to->request_id, "data", first),
                     false);
}

static void broadcast_answer(json_t *first, void *arg)
{
    answer_to *to = arg;
    sioc__redis_send(to->link, to->channel,
                     json_pack("{s:i,s:s,s:O}", "type", SIOC__RES_BROADCAST_ACK, "requestId",
                               to->request_id, "packet", first),
                     true);
}

static void broadcast_done(int err, json_t *responses, void *arg)
{
    answer_to_free(arg);
}

/* Node's receivers ignore the requester's timeout and wait as long as the sockets live; a bound
 * keeps one that never answers from holding the wait forever. */
#define FORWARD_TIMEOUT_MS 60000

static void forward_broadcast(sioc__redis_nsp *a, json_t *req, const char *id,
                              sioc__wire_target *rt)
{
    json_t *data = json_object_get(json_object_get(req, "packet"), "data");
    answer_to *to = json_is_array(data) ? answer_to_new(a, id) : NULL;
    if (!to) {
        return;
    }
    char *request_id = strdup(id); /* `to` may be gone once the broadcast returns */
    long reached = sioc__forward_with_ack(a->base.nsp, data, &rt->t, FORWARD_TIMEOUT_MS,
                                          broadcast_answer, broadcast_done, to);
    if (reached < 0) {
        answer_to_free(to);
        reached = 0;
    }
    /* The count, even 0: a node that never sends it makes the requester wait out its timeout. */
    sioc__redis_send(a->cfg->link, a->responses,
                     json_pack("{s:i,s:s,s:i}", "type", SIOC__RES_BROADCAST_CLIENT_COUNT,
                               "requestId", request_id ? request_id : id, "clientCount",
                               (int)reached),
                     false);
    free(request_id);
}

static void server_event(sioc__redis_nsp *a, json_t *req, const char *id)
{
    json_t *data = json_object_get(req, "data");
    if (!json_is_array(data)) {
        return;
    }
    sioc_server_ack *ack = NULL;
    answer_to *to = id ? answer_to_new(a, id) : NULL;
    if (to && !(ack = sioc__server_ack_new(a->base.nsp, server_event_answer, answer_to_free, to))) {
        answer_to_free(to);
    }
    sioc__namespace_server_event(a->base.nsp, data, ack);
}

/* The socket a legacy (pre-8.0) join, leave or disconnect names; its ack goes in any case. */
static void legacy_request(sioc__redis_nsp *a, json_t *req, int type, const char *id)
{
    const char *sid = json_string_value(json_object_get(req, "sid"));
    sioc_socket *s = sid ? sioc__map_get(&a->base.nsp->sockets, sid, strlen(sid)) : NULL;
    if (!s) {
        return; /* only the node owning the socket answers */
    }
    const char *room = json_string_value(json_object_get(req, "room"));
    if (type == SIOC__REQ_REMOTE_DISCONNECT) {
        sioc_socket_disconnect(s, json_is_true(json_object_get(req, "close")));
    } else if (room) {
        type == SIOC__REQ_REMOTE_JOIN ? sioc_socket_join(s, room) : sioc_socket_leave(s, room);
    }
    if (id) {
        sioc__redis_send(a->cfg->link, a->responses, json_pack("{s:s}", "requestId", id), false);
    }
}

static void room_request(sioc__redis_nsp *a, json_t *req, int type, sioc__wire_target *rt)
{
    json_t *list = json_object_get(req, "rooms");
    json_t *keep = json_array();
    size_t n;
    const char **rooms = sioc__wire_names(list, keep, &n);
    if (type == SIOC__REQ_REMOTE_JOIN) {
        sioc__local_add_sockets(a->base.nsp, &rt->t, rooms, n);
    } else {
        sioc__local_del_sockets(a->base.nsp, &rt->t, rooms, n);
    }
    free(rooms);
    json_decref(keep);
}

/* This node's own request, heard back: its joins, leaves and disconnects were applied when it
 * made them, and it does not answer itself. */
static bool own(sioc__redis_nsp *a, json_t *req, int type, const char *id)
{
    const char *uid = json_string_value(json_object_get(req, "uid"));
    switch (type) {
    case SIOC__REQ_REMOTE_JOIN:
    case SIOC__REQ_REMOTE_LEAVE:
    case SIOC__REQ_REMOTE_DISCONNECT:
    case SIOC__REQ_SERVER_SIDE_EMIT:
        return uid && strcmp(uid, a->uid) == 0;
    default:
        return id && sioc__redis_is_own_request(a, id);
    }
}

void sioc__redis_answer(sioc__redis_nsp *a, json_t *req)
{
    sioc_namespace *nsp = a->base.nsp;
    int type = (int)json_integer_value(json_object_get(req, "type"));
    const char *id = json_string_value(json_object_get(req, "requestId"));
    json_t *opts = json_object_get(req, "opts");
    if (own(a, req, type, id)) {
        return;
    }
    sioc__wire_target rt;
    sioc__wire_target_of(opts, &rt);
    switch (type) {
    case SIOC__REQ_SOCKETS: /* legacy allSockets: the rooms are the request's own */
        sioc__wire_target_free(&rt);
        sioc__wire_target_of(req, &rt);
        sioc__redis_send(a->cfg->link, a->responses,
                         json_pack("{s:s?,s:o}", "requestId", id, "sockets",
                                   sioc__wire_sockets(nsp, &rt.t, false)),
                         false);
        break;
    case SIOC__REQ_ALL_ROOMS:
        sioc__redis_send(a->cfg->link, a->responses,
                         json_pack("{s:s?,s:o}", "requestId", id, "rooms", all_rooms(nsp)), false);
        break;
    case SIOC__REQ_REMOTE_JOIN:
    case SIOC__REQ_REMOTE_LEAVE:
    case SIOC__REQ_REMOTE_DISCONNECT:
        /* Whoever asked, Node requesters included: they count on their own echo. */
        if (!json_is_object(opts)) {
            legacy_request(a, req, type, id);
        } else if (type == SIOC__REQ_REMOTE_DISCONNECT) {
            sioc__local_disconnect_sockets(nsp, &rt.t, json_is_true(json_object_get(req, "close")));
        } else {
            room_request(a, req, type, &rt);
        }
        break;
    case SIOC__REQ_REMOTE_FETCH:
        sioc__redis_send(a->cfg->link, a->responses,
                         json_pack("{s:s?,s:o}", "requestId", id, "sockets",
                                   sioc__wire_sockets(nsp, &rt.t, true)),
                         false);
        break;
    case SIOC__REQ_SERVER_SIDE_EMIT:
        server_event(a, req, id);
        break;
    case SIOC__REQ_BROADCAST:
        if (id) {
            forward_broadcast(a, req, id, &rt);
        }
        break;
    default:
        break; /* responses to others' requests, and types to come */
    }
    sioc__wire_target_free(&rt);
}
