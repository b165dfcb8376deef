/* sioc: the seed's chat server, drop-in. Serves public/ and the client bundle on port 8000; every
 * `msg` is relayed as `serverMsg` to everyone but its sender. */
#include <stdio.h>

#include "bin/cli.h"

/* The seed: sock.on('msg', str => every other socket gets emit('serverMsg', str)). */
static void on_msg(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    json_t *first = json_array_get(args, 0);
    json_t *relay = json_pack("[O]", first ? first : json_null());
    if (relay) {
        sioc_socket_broadcast(socket, "serverMsg", relay);
        json_decref(relay);
    }
}

int main(int argc, char **argv)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0) {
        fprintf(stderr, "sioc: out of memory\n");
        return 1;
    }
    sioc_options_set_port(opts, 8000);
    sioc_options_set_public_dir(opts, "public");
    int rc = sioc_cli_parse(argc, argv, "sioc", "A Socket.IO chat server.", opts);
    if (rc != 0) {
        sioc_options_free(opts);
        return rc > 0 ? 0 : 2;
    }
    sioc_server *server;
    rc = sioc_server_new(opts, &server);
    sioc_options_free(opts);
    if (rc < 0) {
        fprintf(stderr, "sioc: cannot start: %s\n", sioc_strerror(rc));
        return 1;
    }
    sioc_namespace_on(sioc_server_of(server, "/"), "msg", on_msg, NULL);
    fprintf(stderr, "sioc: listening on http://localhost:%d\n", sioc_server_port(server));
    rc = sioc_cli_run(server);
    sioc_server_free(server);
    return rc < 0 ? 1 : 0;
}
