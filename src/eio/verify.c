/* Node's engine.io `verify()` (lib/server.ts), checks in its order. */
#include "eio/verify.h"

#include <string.h>

unsigned sioc__eio_protocol_of(const sioc__engine *eng, const sioc__eio_query *q)
{
    if (strcmp(q->eio, "4") == 0) {
        return 4;
    }
    return eng->cfg.allow_eio3 ? 3 : 0;
}

/* Node's `transports` option. */
static bool transport_allowed(const sioc__engine *eng, const char *name)
{
    unsigned t = eng->cfg.transports;
    return (strcmp(name, "polling") == 0 && (t & SIOC_TRANSPORT_POLLING)) ||
           (strcmp(name, "websocket") == 0 && (t & SIOC_TRANSPORT_WEBSOCKET));
}

static bool refuse(sioc__eio_error *err, sioc__eio_error code)
{
    *err = code;
    return false;
}

bool sioc__eio_verify_http(sioc__engine *eng, const sioc__eio_query *q, sioc__eio_method method,
                           sioc_conn **out, sioc__eio_error *err)
{
    *out = NULL;
    if (!transport_allowed(eng, q->transport)) {
        return refuse(err, SIOC__EIO_ERR_UNKNOWN_TRANSPORT);
    }
    if (q->has_sid) {
        sioc_conn *s = sioc__engine_find(eng, q->sid, strlen(q->sid));
        if (!s) {
            return refuse(err, SIOC__EIO_ERR_UNKNOWN_SID);
        }
        if (strcmp(q->transport, "polling") != 0 || s->transport != SIOC__POLLING) {
            return refuse(err, SIOC__EIO_ERR_BAD_REQUEST); /* transport mismatch */
        }
        *out = s;
        return true;
    }
    if (method != SIOC__EIO_GET) {
        return refuse(err, SIOC__EIO_ERR_BAD_HANDSHAKE_METHOD);
    }
    if (strcmp(q->transport, "polling") != 0) {
        return refuse(err, SIOC__EIO_ERR_BAD_REQUEST); /* a websocket handshake without upgrade */
    }
    if (!sioc__eio_protocol_of(eng, q)) {
        return refuse(err, SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION);
    }
    return true;
}

bool sioc__eio_verify_upgrade(sioc__engine *eng, const sioc__eio_query *q, sioc__eio_error *err)
{
    if (!transport_allowed(eng, q->transport)) {
        return refuse(err, SIOC__EIO_ERR_UNKNOWN_TRANSPORT);
    }
    if (strcmp(q->transport, "websocket") != 0) {
        return refuse(err, SIOC__EIO_ERR_BAD_REQUEST);
    }
    if (q->has_sid) {
        return sioc__engine_find(eng, q->sid, strlen(q->sid))
                   ? true
                   : refuse(err, SIOC__EIO_ERR_UNKNOWN_SID);
    }
    if (!sioc__eio_protocol_of(eng, q)) {
        return refuse(err, SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION);
    }
    return true;
}
