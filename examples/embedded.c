/* sioc on the application's own libuv loop: the seed's chat, next to the application's own timer,
 * which tells every client the time each second ("tick"). It uses only the installed library:
 *
 *     cc embedded.c $(pkg-config --cflags --libs sioc libuv) -o embedded
 *     ./embedded [--port] [PORT]   (default 8000; 0: any free port)
 *
 * SIGINT or SIGTERM frees the server; the loop then ends once every handle is closed, which
 * shows that the server took all of its own away. */
#include <sioc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

typedef struct app {
    uv_loop_t loop;
    uv_timer_t clock;
    uv_signal_t sigint, sigterm;
    sioc_server *server;
    sioc_namespace *root;
    long ticks;
} app;

/* socket.on('msg', text => socket.broadcast.emit('serverMsg', text)) */
static void on_msg(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    (void)user_data;
    json_t *relay = json_pack("[O]", json_array_get(args, 0));
    sioc_socket_broadcast(socket, "serverMsg", relay);
    json_decref(relay);
    if (ack) {
        sioc_ack_send(ack, NULL);
    }
}

/* The application's own work on the loop: the time, to everyone, once a second. */
static void on_clock(uv_timer_t *t)
{
    app *a = t->data;
    json_t *args = json_pack("[I,I]", (json_int_t)++a->ticks, (json_int_t)time(NULL));
    sioc_namespace_emit(a->root, "tick", args);
    json_decref(args);
}

static void on_signal(uv_signal_t *s, int signum)
{
    app *a = s->data;
    fprintf(stderr, "embedded: signal %d, stopping\n", signum);
    sioc_server_free(a->server); /* closes its connections, and its handles on this loop */
    a->server = NULL;
    uv_close((uv_handle_t *)&a->clock, NULL);
    uv_close((uv_handle_t *)&a->sigint, NULL);
    uv_close((uv_handle_t *)&a->sigterm, NULL);
}

static int start_server(app *a, int port)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0) {
        return -1;
    }
    sioc_options_set_port(opts, port);
    sioc_options_set_uv_loop(opts, &a->loop);
    int rc = sioc_server_new(opts, &a->server);
    sioc_options_free(opts);
    if (rc < 0) {
        fprintf(stderr, "embedded: %s\n", sioc_strerror(rc));
        return -1;
    }
    a->root = sioc_server_of(a->server, "/");
    sioc_namespace_on(a->root, "msg", on_msg, NULL);
    fprintf(stderr, "embedded: listening on http://localhost:%d\n", sioc_server_port(a->server));
    return 0;
}

int main(int argc, char **argv)
{
    static app a;
    int port = 8000;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            port = atoi(argv[i]);
        }
    }
    if (uv_loop_init(&a.loop) != 0 || start_server(&a, port) < 0) {
        return 1;
    }
    uv_timer_init(&a.loop, &a.clock);
    uv_signal_init(&a.loop, &a.sigint);
    uv_signal_init(&a.loop, &a.sigterm);
    a.clock.data = a.sigint.data = a.sigterm.data = &a;
    uv_timer_start(&a.clock, on_clock, 1000, 1000);
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_run(&a.loop, UV_RUN_DEFAULT); /* until every handle, sioc's included, is closed */
    if (uv_loop_close(&a.loop) != 0) {
        fprintf(stderr, "embedded: handles left on the loop\n");
        return 1;
    }
    return 0;
}
