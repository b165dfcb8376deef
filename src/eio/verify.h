/* Node's engine.io `verify()`: which requests an Engine.IO endpoint takes, checked in Node's order
 * and answered with Node's error codes. Sans-I/O: the transport reads the query, this decides. */
#ifndef SIOC_EIO_VERIFY_H
#define SIOC_EIO_VERIFY_H

#include <stdbool.h>

#include "eio/codec.h"
#include "eio/engine.h"

/* The query parameters of an Engine.IO request that verify() and the transports look at. */
typedef struct sioc__eio_query {
    char transport[16];
    char sid[32];
    char eio[8];
    char j[16];
    bool has_sid; /* a sid was given (one too long for `sid` counts, and is unknown) */
    bool b64;     /* the client cannot take binary: send it as base64 */
    bool jsonp;   /* JSONP polling, callback index j */
} sioc__eio_query;

typedef enum sioc__eio_method {
    SIOC__EIO_GET,
    SIOC__EIO_POST,
    SIOC__EIO_OTHER_METHOD,
} sioc__eio_method;

/* The Engine.IO protocol a request speaks: EIO=4 is v4; anything else (no EIO included) is v3,
 * which only `allowEIO3` lets in. Returns 3, 4, or 0 (refused). */
unsigned sioc__eio_protocol_of(const sioc__engine *eng, const sioc__eio_query *q);

/* A plain HTTP request: transport, then sid, then the handshake's method, transport and protocol.
 * Returns true when it may go on, with `*out` its session (borrowed) or NULL for a handshake;
 * else false with `*err` the error to answer. */
bool sioc__eio_verify_http(sioc__engine *eng, const sioc__eio_query *q, sioc__eio_method method,
                           sioc_conn **out, sioc__eio_error *err);

/* An upgrade request (WebSocket): transport, then sid, then protocol. A sid of a session that has
 * upgraded already (or is upgrading) passes too: Node answers 101, then closes the new WebSocket.
 * Returns true, or false with `*err` the error to answer. */
bool sioc__eio_verify_upgrade(sioc__engine *eng, const sioc__eio_query *q, sioc__eio_error *err);

#endif
