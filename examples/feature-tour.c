/*
 * feature-tour: a short tour of the sioc API, and the server the integration tests drive.
 * Same flags as `sioc`. On namespaces "/" and "/chat":
 *   msg (text)               relayed as `serverMsg` to everyone but the sender, as in the seed
 *   echo (...args)           acked with the same args when an ack is asked, else emitted back
 *   join (room), leave (room) acked with true when an ack is asked
 *   to (room, event, ...args) emits event(...args) to the room, except the sender
 *   all (event, ...args)     emits event(...args) to the whole namespace
 * and, for the whole server's features:
 *   rooms                    acks with the socket's rooms
 *   ask (event, ms, ...args) emits event(...args) to the sender asking for an ack within ms, then
 *                            emits `ask-result` (error or null, ...the sender's answer)
 *   ask-all (event, ms, ...args) the same to the whole namespace: `ask-all-result` (error or
 *                            null, [each client's first answer])
 *   volatile (event, ...args) emits to the namespace, skipping sockets that cannot take it now
 *   fetch (room|null)        acks with [{id, rooms, address}] of the sockets in room (or all),
 *                            the whole cluster's with --redis; when some node could not answer,
 *                            acks with ([], error message)
 *   make-join (room, other)  makes the sockets in room join other; acks true (false when the
 *                            other nodes of the cluster could not be told)
 *   make-leave (room, other) makes them leave other; acks as make-join
 *   server-emit (event, ...args) a server-side emit with acks in the namespace, waiting up to 2 s:
 *                            acks with (error message or null, [one answer per other node])
 *   kick (room, close)       disconnects the sockets in room (the whole connection when close)
 *   set-data (key, value)    sets socket.data[key] (kept across a recovered reconnection);
 *                            acks true
 *   get-data                 acks with socket.data and whether the socket was recovered
 * In a cluster (--redis), another node's server-side event `hello (x, ack)` is answered with
 * {"node": NAME, "got": x} (NAME: --name, else "<hostname>#<pid>"); nothing without an ack.
 * Namespace "/private" has the same events behind middleware: a client must send auth
 * {"token": "secret"} (else connect_error "not authorized" with data {"reason": "bad token"});
 * with auth {"wait": true} it waits until some socket of "/" emits `admit`. Its packet middleware
 * refuses the event `forbidden`, and the refusal comes back as `error-seen` (message).
 * Dynamic namespaces with the same events: "/dynamic-<digits>" (a pattern), and "/team-<anything>"
 * when the client's auth has {"team": true} (a callback).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sioc.h"

/* args[from..] as a new array. */
static json_t *rest(json_t *args, size_t from)
{
    json_t *out = json_array();
    for (size_t i = from; out && i < json_array_size(args); i++) {
        json_array_append(out, json_array_get(args, i));
    }
    return out;
}

static void on_msg(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    json_t *first = json_array_get(args, 0);
    json_t *relay = json_pack("[O]", first ? first : json_null());
    sioc_socket_broadcast(socket, "serverMsg", relay);
    json_decref(relay);
}

static void on_echo(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    if (ack) {
        sioc_ack_send(ack, args); /* binary arguments go back as binary */
    } else {
        sioc_socket_emit(socket, "echo", args);
    }
}

static void ack_true(sioc_ack *ack)
{
    if (ack) {
        json_t *yes = json_pack("[b]", 1);
        sioc_ack_send(ack, yes);
        json_decref(yes);
    }
}

static void on_join(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *room = json_string_value(json_array_get(args, 0));
    if (room && sioc_socket_join(socket, room) == 0) {
        ack_true(ack);
    }
}

static void on_leave(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *room = json_string_value(json_array_get(args, 0));
    if (room && sioc_socket_leave(socket, room) == 0) {
        ack_true(ack);
    }
}

static void on_to(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *room = json_string_value(json_array_get(args, 0));
    const char *event = json_string_value(json_array_get(args, 1));
    if (!room || !event) {
        return;
    }
    json_t *payload = rest(args, 2);
    sioc_target to_room = {.rooms = &room, .nrooms = 1, .except_socket = socket};
    sioc_namespace_emit_to(sioc_socket_namespace(socket), &to_room, event, payload);
    json_decref(payload);
}

static void on_all(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *event = json_string_value(json_array_get(args, 0));
    if (!event) {
        return;
    }
    json_t *payload = rest(args, 1);
    sioc_namespace_emit(sioc_socket_namespace(socket), event, payload);
    json_decref(payload);
}

static void on_rooms(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *rooms[64];
    size_t n = sioc_socket_rooms(socket, rooms, 64);
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < 64; i++) {
        json_array_append_new(list, json_string(rooms[i]));
    }
    json_t *reply = json_pack("[o]", list);
    if (ack) {
        sioc_ack_send(ack, reply);
    }
    json_decref(reply);
}

/* [error or null, ...rest] */
static json_t *result(int err, json_t *rest)
{
    json_t *out = json_array();
    json_array_append_new(out, err ? json_string(sioc_strerror(err)) : json_null());
    if (rest) {
        json_array_extend(out, rest);
    }
    return out;
}

static void on_ask_answer(sioc_socket *socket, int err, json_t *args, void *user_data)
{
    if (err != SIOC_ERR_CLOSED) {
        json_t *out = result(err, args);
        sioc_socket_emit(socket, "ask-result", out);
        json_decref(out);
    }
}

static void on_ask(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *event = json_string_value(json_array_get(args, 0));
    json_int_t ms = json_integer_value(json_array_get(args, 1));
    json_t *payload = rest(args, 2);
    if (event) {
        sioc_socket_emit_with_ack(socket, event, payload, (unsigned)ms, on_ask_answer, NULL);
    }
    json_decref(payload);
}

typedef struct asker {
    sioc_namespace *nsp;
    char id[32];
} asker;

static void on_ask_all_answers(int err, json_t *responses, void *user_data)
{
    asker *a = user_data;
    const char *room = a->id; /* the asker's own room: it may have left since */
    json_t *list = json_pack("[O]", responses);
    json_t *out = result(err, list);
    sioc_target to_asker = {.rooms = &room, .nrooms = 1};
    sioc_namespace_emit_to(a->nsp, &to_asker, "ask-all-result", out);
    json_decref(out);
    json_decref(list);
    free(a);
}

static void on_ask_all(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *event = json_string_value(json_array_get(args, 0));
    json_int_t ms = json_integer_value(json_array_get(args, 1));
    asker *a = calloc(1, sizeof(*a));
    if (!event || ms <= 0 || !a) {
        free(a);
        return;
    }
    a->nsp = sioc_socket_namespace(socket);
    snprintf(a->id, sizeof(a->id), "%s", sioc_socket_id(socket));
    json_t *payload = rest(args, 2);
    if (sioc_namespace_emit_with_ack(a->nsp, NULL, event, payload, (unsigned)ms, on_ask_all_answers,
                                     a) < 0) {
        free(a);
    }
    json_decref(payload);
}

static void on_volatile(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *event = json_string_value(json_array_get(args, 0));
    json_t *payload = rest(args, 1);
    sioc_target everyone = {.flags = SIOC_EMIT_VOLATILE};
    if (event) {
        sioc_namespace_emit_to(sioc_socket_namespace(socket), &everyone, event, payload);
    }
    json_decref(payload);
}

/* An answer given after the handler returned (a cluster-wide fetch, a server-side emit): the
 * ack is valid only while its socket is connected, so the socket's leaving forgets it. */
typedef struct later {
    struct later *next;
    sioc_socket *socket;
    sioc_ack *ack; /* NULL once the socket has left */
} later;
static later *laters;

/* NULL when no ack is asked (or on no memory): nothing to answer. */
static later *later_new(sioc_socket *socket, sioc_ack *ack)
{
    later *l = ack ? calloc(1, sizeof(*l)) : NULL;
    if (l) {
        l->socket = socket;
        l->ack = ack;
        l->next = laters;
        laters = l;
    }
    return l;
}

/* Sends `reply` (borrowed; NULL: none) if the socket is still there, and frees `l`. */
static void later_answer(later *l, json_t *reply)
{
    for (later **p = &laters; *p; p = &(*p)->next) {
        if (*p == l) {
            *p = l->next;
            break;
        }
    }
    if (l->ack && reply) {
        sioc_ack_send(l->ack, reply);
    }
    free(l);
}

static void later_forget(sioc_socket *socket)
{
    for (later *l = laters; l; l = l->next) {
        if (l->socket == socket) {
            l->ack = NULL;
        }
    }
}

/* A target for the sockets in `room`, or every socket when room is NULL. */
static sioc_target in_room(const char **room)
{
    sioc_target t = {.rooms = room, .nrooms = *room ? 1 : 0};
    return t;
}

static void describe(int err, sioc_socket *const *sockets, size_t n, void *user_data)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *rooms[64];
        size_t nrooms = sioc_socket_rooms(sockets[i], rooms, 64);
        json_t *names = json_array();
        for (size_t k = 0; k < nrooms && k < 64; k++) {
            json_array_append_new(names, json_string(rooms[k]));
        }
        json_t *address = json_object_get(sioc_socket_handshake(sockets[i]), "address");
        json_array_append_new(list, json_pack("{s:s,s:o,s:O}", "id", sioc_socket_id(sockets[i]),
                                              "rooms", names, "address", address));
    }
    json_t *reply = err ? json_pack("[o,s]", list, sioc_strerror(err)) : json_pack("[o]", list);
    later_answer(user_data, reply);
    json_decref(reply);
}

static void on_fetch(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *room = json_string_value(json_array_get(args, 0));
    sioc_target t = in_room(&room);
    later *l = later_new(socket, ack);
    if (l && sioc_namespace_fetch_sockets(sioc_socket_namespace(socket), &t, describe, l) < 0) {
        later_answer(l, NULL);
    }
}

static void on_server_answers(int err, json_t *responses, void *user_data)
{
    json_t *list = json_pack("[O]", responses);
    json_t *reply = result(err, list);
    later_answer(user_data, reply);
    json_decref(reply);
    json_decref(list);
}

static void on_server_emit(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *event = json_string_value(json_array_get(args, 0));
    json_t *payload = rest(args, 1);
    later *l = event ? later_new(socket, ack) : NULL;
    int rc = l ? sioc_namespace_server_side_emit_with_ack(sioc_socket_namespace(socket), event,
                                                          payload, 2000, on_server_answers, l)
               : 0;
    if (rc < 0) {
        json_t *none = json_array();
        on_server_answers(rc, none, l);
        json_decref(none);
    }
    json_decref(payload);
}

static void on_make(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *room = json_string_value(json_array_get(args, 0));
    const char *other = json_string_value(json_array_get(args, 1));
    sioc_target t = in_room(&room);
    if (!other) {
        return;
    }
    sioc_namespace *nsp = sioc_socket_namespace(socket);
    int rc = user_data ? sioc_namespace_sockets_join(nsp, &t, &other, 1)
                       : sioc_namespace_sockets_leave(nsp, &t, &other, 1);
    if (ack) {
        json_t *reply = json_pack("[b]", rc == 0);
        sioc_ack_send(ack, reply);
        json_decref(reply);
    }
}

static void on_kick(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *room = json_string_value(json_array_get(args, 0));
    sioc_target t = in_room(&room);
    ack_true(ack); /* before: the sender may be among those kicked */
    sioc_namespace_disconnect_sockets(sioc_socket_namespace(socket), &t,
                                      json_is_true(json_array_get(args, 1)));
}

static void on_set_data(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *key = json_string_value(json_array_get(args, 0));
    json_t *value = json_array_get(args, 1);
    if (key && value && json_object_set(sioc_socket_data_json(socket), key, value) == 0) {
        sioc_socket_data_changed(socket); /* a cluster keeping sessions current writes it out */
        ack_true(ack);
    }
}

static void on_get_data(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    json_t *reply =
        json_pack("[O,b]", sioc_socket_data_json(socket), sioc_socket_recovered(socket));
    if (ack) {
        sioc_ack_send(ack, reply);
    }
    json_decref(reply);
}

/* Connections waiting for `admit`: a middleware may answer long after it ran. */
static sioc_next *waiting[64];
static size_t nwaiting;

static void check_token(sioc_socket *socket, sioc_next *next, void *user_data)
{
    const char *token = json_string_value(json_object_get(sioc_socket_auth(socket), "token"));
    if (!token || strcmp(token, "secret") != 0) {
        json_t *data = json_pack("{s:s}", "reason", "bad token");
        sioc_next_reject(next, "not authorized", data);
        json_decref(data);
        return;
    }
    sioc_next_accept(next);
}

static void maybe_wait(sioc_socket *socket, sioc_next *next, void *user_data)
{
    if (json_is_true(json_object_get(sioc_socket_auth(socket), "wait")) && nwaiting < 64) {
        waiting[nwaiting++] = next; /* answered later, from on_admit */
        return;
    }
    sioc_next_accept(next);
}

static void on_admit(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    while (nwaiting) {
        sioc_next_accept(waiting[--nwaiting]);
    }
}

static const char *refuse_forbidden(sioc_socket *socket, const char *event, json_t *args,
                                    void *user_data)
{
    return strcmp(event, "forbidden") == 0 ? "forbidden event" : NULL;
}

static void on_error(sioc_socket *socket, const char *message, void *user_data)
{
    json_t *args = json_pack("[s]", message);
    sioc_socket_emit(socket, "error-seen", args);
    json_decref(args);
}

static void on_connection(sioc_socket *socket, void *user_data)
{
    json_t *auth = sioc_socket_auth(socket);
    (void)auth; /* the CONNECT auth payload, e.g. a token to check */
}

static void on_disconnect(sioc_socket *socket, const char *reason, void *user_data)
{
    (void)reason; /* "client namespace disconnect", "transport close", "ping timeout", ... */
    later_forget(socket);
}

static int setup_namespace(sioc_namespace *nsp)
{
    if (!nsp) {
        return -1;
    }
    int rc = 0;
    rc |= sioc_namespace_on_connection(nsp, on_connection, NULL);
    rc |= sioc_namespace_on_disconnect(nsp, on_disconnect, NULL);
    rc |= sioc_namespace_on(nsp, "msg", on_msg, NULL);
    rc |= sioc_namespace_on(nsp, "echo", on_echo, NULL);
    rc |= sioc_namespace_on(nsp, "join", on_join, NULL);
    rc |= sioc_namespace_on(nsp, "leave", on_leave, NULL);
    rc |= sioc_namespace_on(nsp, "to", on_to, NULL);
    rc |= sioc_namespace_on(nsp, "all", on_all, NULL);
    rc |= sioc_namespace_on(nsp, "rooms", on_rooms, NULL);
    rc |= sioc_namespace_on(nsp, "ask", on_ask, NULL);
    rc |= sioc_namespace_on(nsp, "ask-all", on_ask_all, NULL);
    rc |= sioc_namespace_on(nsp, "volatile", on_volatile, NULL);
    rc |= sioc_namespace_on(nsp, "fetch", on_fetch, NULL);
    rc |= sioc_namespace_on(nsp, "make-join", on_make, (void *)1);
    rc |= sioc_namespace_on(nsp, "make-leave", on_make, NULL);
    rc |= sioc_namespace_on(nsp, "kick", on_kick, NULL);
    rc |= sioc_namespace_on(nsp, "server-emit", on_server_emit, NULL);
    rc |= sioc_namespace_on(nsp, "set-data", on_set_data, NULL);
    rc |= sioc_namespace_on(nsp, "get-data", on_get_data, NULL);
    return rc ? -1 : 0;
}

static bool team_member(const char *name, json_t *auth, void *user_data)
{
    return strncmp(name, "/team-", 6) == 0 && json_is_true(json_object_get(auth, "team"));
}

/* The server-side event `hello (x, ack)` from another node of the cluster: answered with
 * {"node": this node's name, "got": x}; nothing when no ack is asked. */
static void on_hello(sioc_namespace *nsp, json_t *args, sioc_server_ack *ack, void *user_data)
{
    if (ack) {
        json_t *answer = json_pack("{s:s,s:O}", "node", (const char *)user_data, "got",
                                   json_array_size(args) ? json_array_get(args, 0) : json_null());
        sioc_server_ack_send(ack, answer);
        json_decref(answer);
    }
}

static int setup(sioc_server *server, void *user_data)
{
    sioc_namespace *root = sioc_server_of(server, "/");
    const char *name = sioc_server_name(server);
    sioc_namespace *private = sioc_server_of(server, "/private");
    if (setup_namespace(root) < 0 || setup_namespace(sioc_server_of(server, "/chat")) < 0 ||
        setup_namespace(private) < 0) {
        return -1;
    }
    int rc = sioc_namespace_on(root, "admit", on_admit, NULL);
    rc |= sioc_namespace_use(private, check_token, NULL);
    rc |= sioc_namespace_use(private, maybe_wait, NULL);
    rc |= sioc_namespace_use_packet(private, refuse_forbidden, NULL);
    rc |= sioc_namespace_on_error(private, on_error, NULL);
    rc |= setup_namespace(sioc_server_of_pattern(server, "^/dynamic-[0-9]+$"));
    rc |= setup_namespace(sioc_server_of_match(server, team_member, NULL));
    rc |= sioc_namespace_on_server_event(root, "hello", on_hello, (void *)name);
    rc |= sioc_namespace_on_server_event(sioc_server_of(server, "/chat"), "hello", on_hello,
                                         (void *)name);
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0) {
        return 1;
    }
    sioc_options_set_port(opts, 8000);
    sioc_options_set_public_dir(opts, "public");
    static const sioc_program tour = {
        .name = "feature-tour",
        .summary = "A tour of the sioc API.",
        .setup = setup,
    };
    return sioc_program_main(&tour, opts, argc, argv);
}
