/*
 * feature-tour: a short tour of the sioc API, and the server the integration tests drive.
 * Same flags as `sioc`. On namespaces "/" and "/chat":
 *   msg (text)               relayed as `serverMsg` to everyone but the sender, as in the seed
 *   echo (...args)           acked with the same args when an ack is asked, else emitted back
 *   join (room), leave (room) acked with true when an ack is asked
 *   to (room, event, ...args) emits event(...args) to the room, except the sender
 *   all (event, ...args)     emits event(...args) to the whole namespace
 */
#include "bin/cli.h"

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

static void on_connection(sioc_socket *socket, void *user_data)
{
    json_t *auth = sioc_socket_auth(socket);
    (void)auth; /* the CONNECT auth payload, e.g. a token to check */
}

static void on_disconnect(sioc_socket *socket, const char *reason, void *user_data)
{
    (void)reason; /* "client namespace disconnect", "transport close", "ping timeout", ... */
}

static int setup_namespace(sioc_namespace *nsp)
{
    int rc = 0;
    rc |= sioc_namespace_on_connection(nsp, on_connection, NULL);
    rc |= sioc_namespace_on_disconnect(nsp, on_disconnect, NULL);
    rc |= sioc_namespace_on(nsp, "msg", on_msg, NULL);
    rc |= sioc_namespace_on(nsp, "echo", on_echo, NULL);
    rc |= sioc_namespace_on(nsp, "join", on_join, NULL);
    rc |= sioc_namespace_on(nsp, "leave", on_leave, NULL);
    rc |= sioc_namespace_on(nsp, "to", on_to, NULL);
    rc |= sioc_namespace_on(nsp, "all", on_all, NULL);
    return rc ? -1 : 0;
}

static int setup(sioc_server *server)
{
    if (setup_namespace(sioc_server_of(server, "/")) < 0) {
        return -1;
    }
    return setup_namespace(sioc_server_of(server, "/chat"));
}

int main(int argc, char **argv)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0) {
        return 1;
    }
    sioc_options_set_port(opts, 8000);
    sioc_options_set_public_dir(opts, "public");
    return sioc_cli_serve(argc, argv, "feature-tour", "A tour of the sioc API.", opts, setup);
}
