/*
 * The server the public Engine.IO v4 protocol test suite expects: a bare Engine.IO endpoint at
 * /engine.io/ that echoes every message, with pingInterval 300, pingTimeout 200 and maxPayload
 * 1000000. Flags as the sioc binary's; --port N defaults to 3000.
 */
#include <stdio.h>

#include "bin/cli.h"

static void echo(sioc_conn *conn, const void *data, size_t len, bool binary, void *user_data)
{
    (void)user_data;
    sioc_conn_send(conn, data, len, binary);
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
    int rc = sioc_cli_parse(argc, argv, "protocol-test-server",
                            "The server the Engine.IO and Socket.IO protocol test suites expect.",
                            opts);
    if (rc != 0) {
        sioc_options_free(opts);
        return rc > 0 ? 0 : 2;
    }
    sioc_server *server;
    rc = sioc_server_new(opts, &server);
    sioc_options_free(opts);
    if (rc < 0) {
        fprintf(stderr, "protocol-test-server: %s\n", sioc_strerror(rc));
        return 1;
    }
    const sioc_engine_handlers echo_handlers = {NULL, echo, NULL};
    rc = sioc_server_attach_engine(server, "/engine.io/", &echo_handlers, NULL);
    if (rc < 0) {
        fprintf(stderr, "protocol-test-server: %s\n", sioc_strerror(rc));
        sioc_server_free(server);
        return 1;
    }
    fprintf(stderr, "protocol-test-server: listening on port %d\n", sioc_server_port(server));
    rc = sioc_cli_run(server);
    sioc_server_free(server);
    return rc < 0 ? 1 : 0;
}
