/* sioc: the seed's chat server, drop-in. Serves public/ and the client bundle on port 8000; every
 * `msg` is relayed as `serverMsg` to everyone but its sender. */
#include <stdio.h>

#include "sioc.h"

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

static int setup(sioc_server *server, void *user_data)
{
    return sioc_namespace_on(sioc_server_of(server, "/"), "msg", on_msg, NULL);
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
    /* As the seed's socket.io 2.x server: its page is opened from elsewhere (file://, an IDE's
     * server) and its clients may be 2.x. The library keeps Node 4.8's stricter defaults. */
    static const sioc_program sioc = {
        .name = "sioc",
        .summary = "A Socket.IO chat server.",
        .cors_origin = "*",
        .allow_eio3 = true,
        .setup = setup,
    };
    return sioc_program_main(&sioc, opts, argc, argv);
}
