/*
 * The server the public Engine.IO v4 and Socket.IO v5 protocol test suites expect, with
 * pingInterval 300, pingTimeout 200 and maxPayload 1000000:
 *  - /engine.io/: a bare Engine.IO endpoint that echoes every message;
 *  - /socket.io/, namespaces "/" and "/custom": on connect, emits `auth` with the CONNECT auth
 *    payload; `message` → emits `message-back` with the same args; `message-with-ack` → acks
 *    with the same args. Flags as the sioc binary's; --port N defaults to 3000.
 */
#include "sioc.h"

static void echo(sioc_conn *conn, const void *data, size_t len, bool binary, void *user_data)
{
    (void)user_data;
    sioc_conn_send(conn, data, len, binary);
}

static void on_connection(sioc_socket *socket, void *user_data)
{
    json_t *args = json_pack("[O]", sioc_socket_auth(socket));
    sioc_socket_emit(socket, "auth", args);
    json_decref(args);
}

static void on_message(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    sioc_socket_emit(socket, "message-back", args);
}

static void on_message_with_ack(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    if (ack) {
        sioc_ack_send(ack, args);
    }
}

static int setup_namespace(sioc_namespace *nsp)
{
    int rc = sioc_namespace_on_connection(nsp, on_connection, NULL);
    rc |= sioc_namespace_on(nsp, "message", on_message, NULL);
    rc |= sioc_namespace_on(nsp, "message-with-ack", on_message_with_ack, NULL);
    return rc ? -1 : 0;
}

static int setup(sioc_server *server, void *user_data)
{
    const sioc_engine_handlers echo_handlers = {NULL, echo, NULL};
    if (sioc_server_attach_engine(server, "/engine.io/", &echo_handlers, NULL) < 0 ||
        setup_namespace(sioc_server_of(server, "/")) < 0) {
        return -1;
    }
    return setup_namespace(sioc_server_of(server, "/custom"));
}

int main(int argc, char **argv)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0) {
        return 1;
    }
    sioc_options_set_port(opts, 3000);
    sioc_options_set_ping_interval_ms(opts, 300);
    sioc_options_set_ping_timeout_ms(opts, 200);
    sioc_options_set_max_http_buffer_size(opts, 1000000);
    /* The test suites' pages may be served from elsewhere. */
    sioc_options_add_cors_origin(opts, "*");
    static const sioc_program pts = {
        .name = "protocol-test-server",
        .summary = "The server the Engine.IO and Socket.IO protocol test suites expect.",
        .setup = setup,
    };
    return sioc_program_main(&pts, opts, argc, argv);
}
