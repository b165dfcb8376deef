/* The Engine.IO v4 codec: packets and polling payloads, sans-I/O (no sockets, no allocation).
 * Wire truth: the Engine.IO protocol document, revision 4. */
#ifndef SIOC_EIO_CODEC_H
#define SIOC_EIO_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

typedef enum sioc__eio_type {
    SIOC__EIO_OPEN = 0,
    SIOC__EIO_CLOSE = 1,
    SIOC__EIO_PING = 2,
    SIOC__EIO_PONG = 3,
    SIOC__EIO_MESSAGE = 4,
    SIOC__EIO_UPGRADE = 5,
    SIOC__EIO_NOOP = 6,
} sioc__eio_type;

/* "\x1e", the record separator that joins packets in a polling payload. */
#define SIOC__EIO_SEPARATOR '\x1e'

/* A decoded packet: `data` is a view into the caller's buffer. */
typedef struct sioc__eio_packet {
    sioc__eio_type type;
    bool binary; /* a binary message: `data` is raw bytes */
    const char *data;
    size_t len;
} sioc__eio_packet;

/* Decodes one text packet (a WebSocket text frame): a type digit, then data. Returns 0, or -1 when
 * the input is empty or the type is not 0-6. */
int sioc__eio_decode_text(const char *s, size_t n, sioc__eio_packet *out);

/* Decodes the next packet of a polling payload, starting at *pos, and advances *pos past it and its
 * separator. A segment "b<base64>" is a binary message, decoded in place inside `body` (hence not
 * const). Start with *pos = 0. Returns 1 when a packet was decoded, 0 at the end of the payload,
 * -1 on a malformed segment (empty, bad type or bad base64; an empty body or a trailing separator
 * counts as an empty segment); after -1 the rest of the payload is not to be trusted. */
int sioc__eio_payload_next(char *body, size_t len, size_t *pos, sioc__eio_packet *out);

/* Appends the polling form of one queued message: text as is, binary as "b" + base64. */
int sioc__eio_encode_polling(sioc__buf *out, const sioc__msg *m);

/* The Engine.IO handshake (open packet) as a new text message. NULL when out of memory. */
sioc__msg *sioc__eio_open_packet(const char *sid, bool upgrades, unsigned ping_interval_ms,
                                 unsigned ping_timeout_ms, size_t max_payload);

/* Node's handshake error codes and their messages, sent as HTTP 400 {"code":N,"message":"..."}. */
typedef enum sioc__eio_error {
    SIOC__EIO_ERR_UNKNOWN_TRANSPORT = 0,
    SIOC__EIO_ERR_UNKNOWN_SID = 1,
    SIOC__EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
    SIOC__EIO_ERR_BAD_REQUEST = 3,
    SIOC__EIO_ERR_FORBIDDEN = 4,
    SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
} sioc__eio_error;

const char *sioc__eio_error_message(sioc__eio_error code);
/* Writes the JSON body of an error into `out` (NUL-terminated). Returns its length. */
size_t sioc__eio_error_body(sioc__eio_error code, char *out, size_t cap);

#endif
