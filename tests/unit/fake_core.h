/* The Socket.IO core over the fake transport (fake_engine.h), for the core's unit tests: a server's
 * core with FAKE_CORE_CONNS WebSocket sessions, each with a socket in "/" and nothing queued. */
#ifndef SIOC_TESTS_FAKE_CORE_H
#define SIOC_TESTS_FAKE_CORE_H

#include <string.h>

#include "core/sio.h"
#include "fake_engine.h"

#define FAKE_CORE_CONNS 4

typedef struct fake_core {
    sioc__wheel wheel;
    sioc__core *sio;
    sioc__engine *eng;
    sioc_namespace *root;
    int conns[FAKE_CORE_CONNS]; /* their addresses stand for the connections */
    sioc_conn *sessions[FAKE_CORE_CONNS];
    sioc_socket *sockets[FAKE_CORE_CONNS]; /* sockets[i] is sessions[i]'s in "/" */
} fake_core;

/* Takes everything queued for session `s`, as if written. */
static inline void fake_core_drain(sioc_conn *s)
{
    while (sioc__session_ws_next(s, s->ws)) {
        sioc__session_ws_sent(s, s->ws);
    }
}

/* Everything queued for session `s` as one string, packets joined by '|' (in a buffer that the
 * next call reuses), then taken as if written. */
static inline const char *fake_core_sent(sioc_conn *s)
{
    static char out[2048];
    out[0] = '\0';
    sioc__msg *m;
    while ((m = sioc__session_ws_next(s, s->ws)) != NULL) {
        strncat(out, out[0] ? "|" : "", sizeof(out) - strlen(out) - 1);
        strncat(out, sioc__msg_payload(m), sizeof(out) - strlen(out) - 1);
        sioc__session_ws_sent(s, s->ws);
    }
    return out;
}

static inline void fake_core_collect(int err, sioc_socket *const *list, size_t n, void *arg)
{
    fake_core *f = arg;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < FAKE_CORE_CONNS; k++) {
            if (sioc_socket_conn(list[i]) == f->sessions[k]) {
                f->sockets[k] = list[i];
            }
        }
    }
}

static inline void fake_core_start(fake_core *f)
{
    sioc__wheel_init(&f->wheel, 1000);
    f->sio = sioc__core_new(&f->wheel, 45000);
    sioc__engine_cfg cfg = {25000, 20000, 10000, 1000000, 0, SIOC_TRANSPORT_WEBSOCKET, false, 0, 1};
    f->eng = sioc__engine_new("/socket.io/", &cfg, &sioc__core_engine_handlers, f->sio, &f->wheel,
                              &fake_engine_io);
    for (int i = 0; i < FAKE_CORE_CONNS; i++) {
        f->sessions[i] = sioc__engine_open(f->eng, SIOC__WEBSOCKET, &f->conns[i], NULL, 4, NULL);
        fake_core_drain(f->sessions[i]);
        sioc__eio_packet connect = {SIOC__EIO_MESSAGE, false, "0", 1};
        sioc__session_receive(f->sessions[i], &connect);
        fake_core_drain(f->sessions[i]);
    }
    f->root = sioc__core_of(f->sio, "/");
    sioc_namespace_fetch_sockets(f->root, NULL, fake_core_collect, f);
}

static inline void fake_core_stop(fake_core *f)
{
    sioc__engine_free(f->eng);
    sioc__core_free(f->sio);
}

#endif
