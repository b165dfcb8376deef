/* The Engine.IO codec: packets and polling payloads, sans-I/O (no sockets; only the output
 * buffers allocate). Wire truth: the Engine.IO protocol document, revisions 4 and 3. */
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

/* ---- Engine.IO v3 (Node's allowEIO3), engine.io-parser 2.x's formats ---- */

/* Decodes the next packet of a v3 text payload, "<length>:<packet>" repeated, where the length
 * counts UTF-16 code units as JavaScript does and a packet "b<type><base64>" is binary (decoded in
 * place inside `body`). Same contract as sioc__eio_payload_next; "0:" segments carry no packet. */
int sioc__eio3_payload_next(char *body, size_t len, size_t *pos, sioc__eio_packet *out);
/* Decodes the next packet of a v3 binary payload (an application/octet-stream body): a byte 0
 * (text) or 1 (binary), the length as one byte per decimal digit, 0xFF, then the packet: UTF-8
 * text, or a type byte and raw data. Same contract; an empty body holds no packet. */
int sioc__eio3_binary_payload_next(const char *body, size_t len, size_t *pos,
                                   sioc__eio_packet *out);
/* A v3 packet in text form (a WebSocket text frame): a type digit and data, or "b" + type digit +
 * base64, decoded in place. Returns 0 or -1. */
int sioc__eio3_decode_text(char *s, size_t n, sioc__eio_packet *out);
/* A v3 binary WebSocket frame: a type byte, then raw data. Returns 0, or -1 when empty or the
 * type is not 0-6. */
int sioc__eio3_decode_binary_frame(const char *s, size_t n, sioc__eio_packet *out);
/* Appends one queued message to a v3 text payload: "<utf16 length>:" then the packet, binary as
 * "b4" + base64. */
int sioc__eio3_encode_text(sioc__buf *out, const sioc__msg *m);
/* Appends one queued message to a v3 binary payload. */
int sioc__eio3_encode_binary(sioc__buf *out, const sioc__msg *m);
/* How many UTF-16 code units JavaScript would count in UTF-8 text `s`. */
size_t sioc__utf16_length(const char *s, size_t n);

/* ---- JSONP polling (a `j` query parameter), which Node still offers old browsers ---- */

/* Appends `___eio[<index>]("<payload as a JavaScript string>");`: the index keeps only the digits
 * of `index`, the payload is escaped as JSON.stringify does, plus U+2028 and U+2029. */
int sioc__jsonp_wrap(sioc__buf *out, const char *index, const char *payload, size_t n);
/* Turns a JSONP POST body (application/x-www-form-urlencoded, the payload in field "d", newlines
 * escaped by the client) back into the payload, in place. Returns its length, or -1 when there is
 * no "d" field. */
long sioc__jsonp_unwrap(char *body, size_t len);

#endif
