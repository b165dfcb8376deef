/* Fuzz target: Node's verify() rules (src/eio/verify.c) over any query. The first byte picks the
 * configuration (transports, allowEIO3), the method and whether a sid is given; the rest is
 * transport, EIO and sid, NUL-separated. Whatever is let through must be what Node lets through:
 * a session only for its own sid on polling, a handshake only as a GET on polling of a protocol
 * the configuration speaks, an upgrade only on websocket. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/verify.h"
#include "../unit/fake_engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies the next NUL-separated field of the input into `out` (cut to fit). */
static void next_field(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
    size_t n = 0;
    while (*p < end && **p != 0) {
        if (n + 1 < cap) {
            out[n++] = (char)**p;
        }
        (*p)++;
    }
    if (*p < end) {
        (*p)++;
    }
    out[n] = '\0';
}

static void check_http(sioc__engine *eng, const sioc__eio_query *q, sioc__eio_method m)
{
    sioc_conn *out = NULL;
    sioc__eio_error err = SIOC__EIO_ERR_FORBIDDEN;
    if (!sioc__eio_verify_http(eng, q, m, &out, &err)) {
        if (out || err > SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION ||
            err == SIOC__EIO_ERR_FORBIDDEN) {
            abort();
        }
        return;
    }
    bool polling = strcmp(q->transport, "polling") == 0;
    if (q->has_sid ? !out || strcmp(out->sid, q->sid) != 0 || out->transport != SIOC__POLLING
                   : out || m != SIOC__EIO_GET || !sioc__eio_protocol_of(eng, q)) {
        abort();
    }
    if (!polling || !(eng->cfg.transports & SIOC_TRANSPORT_POLLING)) {
        abort();
    }
}

static void check_upgrade(sioc__engine *eng, const sioc__eio_query *q)
{
    sioc__eio_error err = SIOC__EIO_ERR_FORBIDDEN;
    if (!sioc__eio_verify_upgrade(eng, q, &err)) {
        if (err > SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION || err == SIOC__EIO_ERR_FORBIDDEN) {
            abort();
        }
        return;
    }
    if (strcmp(q->transport, "websocket") != 0 ||
        !(eng->cfg.transports & SIOC_TRANSPORT_WEBSOCKET) ||
        (q->has_sid ? !sioc__engine_find(eng, q->sid, strlen(q->sid))
                    : !sioc__eio_protocol_of(eng, q))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    static const unsigned transports[] = {SIOC_TRANSPORT_POLLING, SIOC_TRANSPORT_WEBSOCKET,
                                          SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET,
                                          SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET};
    uint8_t flags = data[0];
    sioc__wheel wheel;
    sioc__engine *eng = fake_engine_new(&wheel, transports[flags & 3], flags & 4);
    if (!eng) {
        return 0;
    }
    static int ws;
    sioc_conn *a = sioc__engine_open(eng, SIOC__POLLING, NULL, NULL, 4, "AAAAAAAAAAAAAAAAAAAA");
    sioc_conn *b = sioc__engine_open(eng, SIOC__WEBSOCKET, &ws, NULL, 4, "BBBBBBBBBBBBBBBBBBBB");
    (void)a;
    (void)b;
    sioc__eio_query q;
    memset(&q, 0, sizeof(q));
    const uint8_t *p = data + 1, *end = data + size;
    next_field(&p, end, q.transport, sizeof(q.transport));
    next_field(&p, end, q.eio, sizeof(q.eio));
    next_field(&p, end, q.sid, sizeof(q.sid));
    q.has_sid = flags & 8;
    sioc__eio_method m = (flags >> 4) % 3 == 0   ? SIOC__EIO_GET
                         : (flags >> 4) % 3 == 1 ? SIOC__EIO_POST
                                                 : SIOC__EIO_OTHER_METHOD;
    check_http(eng, &q, m);
    check_upgrade(eng, &q);
    sioc__engine_free(eng);
    return 0;
}
