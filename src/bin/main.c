/* sioc: the seed's chat server, drop-in. Serves public/ and the client bundle on port 8000; every
 * `msg` is relayed as `serverMsg` to everyone but its sender. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sioc.h"

#ifndef SIOC_BIN_TO_SHARE
#define SIOC_BIN_TO_SHARE "../share/sioc"
#endif

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

/* The seed's pages: ./public when there is one (as the seed serves them), else the copy
 * installed beside the program (<bindir>/../<datadir>/sioc/public). */
static const char *public_dir(char *buf, size_t size)
{
    struct stat st;
    if (stat("public", &st) == 0 && S_ISDIR(st.st_mode)) {
        return "public";
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (!slash) {
        return "public";
    }
    *slash = '\0';
    snprintf(buf, size, "%s/%s/public", exe, SIOC_BIN_TO_SHARE);
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : "public";
}

int main(int argc, char **argv)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0) {
        fprintf(stderr, "sioc: out of memory\n");
        return 1;
    }
    sioc_options_set_port(opts, 8000);
    char buf[PATH_MAX + 64];
    sioc_options_set_public_dir(opts, public_dir(buf, sizeof(buf)));
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
