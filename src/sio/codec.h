/* The Socket.IO v5 codec: packets to and from Engine.IO messages, binary attachments reassembled
 * and split out. Sans-I/O. Wire truth: the Socket.IO protocol document, revision 5. */
#ifndef SIOC_SIO_CODEC_H
#define SIOC_SIO_CODEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef enum sioc__sio_type {
    SIOC__SIO_CONNECT = 0,
    SIOC__SIO_DISCONNECT = 1,
    SIOC__SIO_EVENT = 2,
    SIOC__SIO_ACK = 3,
    SIOC__SIO_CONNECT_ERROR = 4,
    SIOC__SIO_BINARY_EVENT = 5,
    SIOC__SIO_BINARY_ACK = 6,
} sioc__sio_type;

/* socket.io-parser's default: more attachments than this is a protocol error. */
#define SIOC__SIO_MAX_ATTACHMENTS 10
/* Ack ids are JavaScript numbers: at most 15 digits keeps them exact. */
#define SIOC__SIO_MAX_ID_DIGITS 15

typedef struct sioc__sio_packet {
    sioc__sio_type type;
    char nsp[256]; /* "/" when the packet names none */
    int64_t id;    /* -1 when none */
    json_t *data;  /* owned; NULL when the packet has no payload */
    size_t attachments;
} sioc__sio_packet;

/* Frees the packet's data. */
void sioc__sio_packet_clear(sioc__sio_packet *p);

/* Decodes the text form of one packet (the Engine.IO message's data). Binary placeholders are
 * left in `data`. Returns 0, or -1 when the packet is malformed: unknown type, bad attachment
 * count or ack id, namespace too long, payload that is not JSON or not what the type allows. */
int sioc__sio_decode(const char *s, size_t n, sioc__sio_packet *out);

/* Reassembles binary packets from the Engine.IO messages that carry them. */
typedef struct sioc__sio_decoder {
    /* A binary packet awaiting attachments (owned; NULL when none: every connection has a
     * decoder, few are ever in the middle of a packet). */
    sioc__sio_packet *pending;
    json_t *buffers; /* the attachments so far, as binary values (sioc_binary_new) */
} sioc__sio_decoder;

/* Feeds a text message. Returns 1 with a complete packet in *out (the caller owns it), 0 when it
 * waits for attachments, -1 on a protocol error (the decoder is reset). */
int sioc__sio_decoder_text(sioc__sio_decoder *d, const char *s, size_t n, sioc__sio_packet *out);
/* Feeds a binary message; same returns. Binary data while no packet awaits it is an error. */
int sioc__sio_decoder_binary(sioc__sio_decoder *d, const void *data, size_t n,
                             sioc__sio_packet *out);
/* Drops any half-assembled packet. */
void sioc__sio_decoder_reset(sioc__sio_decoder *d);

/* An encoded packet: the text Engine.IO message, then one binary message per attachment; and,
 * made on first need, its form for plain WebSocket clients. */
typedef struct sioc__sio_encoded {
    sioc__msg *text;
    sioc__msg **bins;
    size_t nbins;
    sioc__sio_type type;
    int64_t id;
    json_t *data;     /* the payload as given (a reference), for the plain form */
    sioc__msg *plain; /* NULL until sioc__sio_plain() */
} sioc__sio_encoded;

/* Encodes a packet. `data` is borrowed (may be NULL); binary values in it (sioc_binary_new) become
 * attachments and EVENT/ACK become BINARY_EVENT/BINARY_ACK. Returns 0 or -1 (no memory). */
int sioc__sio_encode(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                     sioc__sio_encoded *out);
/* Drops the messages' references. */
void sioc__sio_encoded_clear(sioc__sio_encoded *e);

/* The packet for a plain WebSocket client (the seed's second page), made once and kept in `e`:
 * an EVENT as {"name": event, "data": [args]}, an ACK as {"id": n, "data": [args]}, binary values
 * as base64 strings. NULL for packets such clients do not get (CONNECT, DISCONNECT, ...) or on no
 * memory. Borrowed from `e`. */
sioc__msg *sioc__sio_plain(sioc__sio_encoded *e);

/* A frame from a plain WebSocket client: {"name": string, "data": [args] (optional), "id": number
 * (optional)}. Returns 0 with *name borrowed from *root, *args a new array and *id (-1 when none);
 * or -1 with *error saying what was wrong (static). *root is a new reference either way (may be
 * NULL). */
int sioc__sio_decode_plain(const char *s, size_t n, json_t **root, const char **name, json_t **args,
                           int64_t *id, const char **error);

/* An EVENT's payload: ["name", args...]. The name as a string (numbers in decimal), or NULL. */
const char *sioc__sio_event_name(json_t *data, char *scratch, size_t cap);

#endif
