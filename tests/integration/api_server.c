/* An embedding of the public API, driven by api.test.js: a server on port 0, the catch-all, per-
 * socket data, the auth payload, server-side disconnects, and the disconnect reasons. Every
 * connection event is printed on stdout, one line each, for the test to read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

static sioc_server *server;

typedef struct seen {
    unsigned events;
    char last[64];
} seen;

static void on_connection(sioc_socket *socket, void *user_data)
{
    seen *s = calloc(1, sizeof(*s));
    sioc_socket_set_data(socket, s);
    char *auth = json_dumps(sioc_socket_auth(socket), JSON_COMPACT);
    printf("connect %s %s %s\n", sioc_namespace_name(sioc_socket_namespace(socket)),
           sioc_socket_id(socket), auth ? auth : "?");
    free(auth);
    fflush(stdout);
}

/* Lists the socket's rooms on one line: "<what> <id> <reason> <n> room..." */
static void print_rooms(const char *what, sioc_socket *socket, const char *reason)
{
    const char *rooms[16];
    size_t n = sioc_socket_rooms(socket, rooms, 16);
    printf("%s %s %s %zu", what, sioc_socket_id(socket), reason, n);
    for (size_t i = 0; i < n && i < 16; i++) {
        printf(" %s", rooms[i]);
    }
    printf("\n");
}

static void on_disconnecting(sioc_socket *socket, const char *reason, void *user_data)
{
    print_rooms("disconnecting", socket, reason);
}

static void on_disconnect(sioc_socket *socket, const char *reason, void *user_data)
{
    print_rooms("rooms-after", socket, reason);
    printf("disconnect %s %s\n", sioc_socket_id(socket), reason);
    fflush(stdout);
    free(sioc_socket_get_data(socket));
}

static void on_any(sioc_socket *socket, const char *event, json_t *args, sioc_ack *ack,
                   void *user_data)
{
    seen *s = sioc_socket_get_data(socket);
    s->events++;
    snprintf(s->last, sizeof(s->last), "%s", event);
}

static void on_whoami(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    seen *s = sioc_socket_get_data(socket);
    json_t *reply =
        json_pack("[s,O,s,s,I]", sioc_socket_id(socket), sioc_socket_auth(socket),
                  sioc_conn_transport(sioc_socket_conn(socket)), s->last, (json_int_t)s->events);
    if (ack) {
        sioc_ack_send(ack, reply);
    }
    json_decref(reply);
}

static void on_kick(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    bool whole = json_is_true(json_array_get(args, 0));
    sioc_socket_disconnect(socket, whole);
    /* After a disconnect the socket refuses to emit. */
    printf("emit-after-kick %d\n", sioc_socket_emit(socket, "late", NULL));
    fflush(stdout);
}

static void on_join(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    size_t i;
    json_t *room;
    json_array_foreach (args, i, room) {
        sioc_socket_join(socket, json_string_value(room));
    }
    const char *rooms[16];
    size_t n = sioc_socket_rooms(socket, rooms, 16);
    json_t *list = json_array();
    for (size_t k = 0; k < n && k < 16; k++) {
        json_array_append_new(list, json_string(rooms[k]));
    }
    json_t *reply = json_pack("[o]", list);
    sioc_ack_send(ack, reply);
    json_decref(reply);
}

static void on_handshake(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    json_t *reply = json_pack("[O]", sioc_socket_handshake(socket));
    sioc_ack_send(ack, reply);
    json_decref(reply);
}

static void on_conn_close(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    sioc_conn_close(sioc_socket_conn(socket)); /* Node's socket.conn.close() */
}

static void on_stop(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    /* Queued now, delivered by the graceful shutdown that follows. */
    sioc_namespace_emit(sioc_socket_namespace(socket), "bye", NULL);
    sioc_server_stop(server);
}

int main(void)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0 || sioc_options_set_port(opts, 0) < 0 ||
        sioc_options_set_host(opts, "127.0.0.1") < 0 ||
        sioc_options_set_ping_interval_ms(opts, 300) < 0 ||
        sioc_options_set_ping_timeout_ms(opts, 200) < 0) {
        return 1;
    }
    /* Misuse is refused with an error code, not a crash. */
    if (sioc_options_set_port(opts, 70000) != SIOC_ERR_INVALID ||
        sioc_options_set_path(opts, "no-slash") != SIOC_ERR_INVALID ||
        sioc_options_set_transports(opts, 0) != SIOC_ERR_INVALID) {
        return 1;
    }
    int rc = sioc_server_new(opts, &server);
    sioc_options_free(opts);
    if (rc < 0) {
        fprintf(stderr, "api_server: %s\n", sioc_strerror(rc));
        return 1;
    }
    sioc_namespace *root = sioc_server_of(server, "/");
    if (sioc_server_of(server, "bad") != NULL || sioc_server_of(server, "/") != root) {
        return 1;
    }
    sioc_namespace *nsps[] = {root, sioc_server_of(server, "/other")};
    for (int i = 0; i < 2; i++) {
        sioc_namespace_on_connection(nsps[i], on_connection, NULL);
        sioc_namespace_on_disconnecting(nsps[i], on_disconnecting, NULL);
        sioc_namespace_on_disconnect(nsps[i], on_disconnect, NULL);
        sioc_namespace_on(nsps[i], "join", on_join, NULL);
        sioc_namespace_on(nsps[i], "handshake", on_handshake, NULL);
        sioc_namespace_on_any(nsps[i], on_any, NULL);
        sioc_namespace_on(nsps[i], "whoami", on_whoami, NULL);
        sioc_namespace_on(nsps[i], "kick", on_kick, NULL);
        sioc_namespace_on(nsps[i], "stop", on_stop, NULL);
        sioc_namespace_on(nsps[i], "conn-close", on_conn_close, NULL);
    }
    fprintf(stderr, "api_server: listening on port %d\n", sioc_server_port(server));
    rc = sioc_server_run(server);
    sioc_server_free(server);
    printf("exited %d\n", rc);
    return rc < 0 ? 1 : 0;
}
