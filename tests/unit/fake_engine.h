/* One fake transport for the unit tests that need an Engine.IO endpoint but not its I/O: every
 * transport call is accepted and ignored. Connections are any distinct addresses. */
#ifndef SIOC_TESTS_FAKE_ENGINE_H
#define SIOC_TESTS_FAKE_ENGINE_H

#include "eio/engine.h"

static void fake_engine_conn(void *conn)
{
    (void)conn;
}

static bool fake_engine_gone(void *conn)
{
    (void)conn;
    return false;
}

static void fake_engine_pause(void *conn, bool paused)
{
    (void)conn;
    (void)paused;
}

static uint64_t fake_engine_taken(void *conn)
{
    (void)conn;
    return 0;
}

static const sioc__eio_io fake_engine_io = {fake_engine_conn, fake_engine_conn, fake_engine_gone,
                                            fake_engine_conn, fake_engine_conn, fake_engine_pause,
                                            fake_engine_taken};

/* An endpoint at "/engine.io/" with Node's defaults but for `transports` and `allow_eio3`, on
 * `wheel` (initialised here). Free it with sioc__engine_free. */
static inline sioc__engine *fake_engine_new(sioc__wheel *wheel, unsigned transports,
                                            bool allow_eio3)
{
    static const sioc_engine_handlers none = {NULL, NULL, NULL};
    sioc__wheel_init(wheel, 1000000);
    sioc__engine_cfg cfg = {25000, 20000, 10000, 1000000, 16u << 20, transports, allow_eio3, 0, 1};
    return sioc__engine_new("/engine.io/", &cfg, &none, NULL, wheel, &fake_engine_io);
}

#endif
