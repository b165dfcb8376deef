/* Packets as socket.io-msgpack-parser 3.0.2 writes them (Node's `parser` option with the msgpack
 * parser): each packet one binary Engine.IO message, the MessagePack map {type, data, id, nsp}
 * (no attachments: binary values travel inside, as bin), the types 0-4 only. Sans-I/O. */
#ifndef SIOC_SIO_MSGPACK_PACKET_H
#define SIOC_SIO_MSGPACK_PACKET_H

#include "sio/codec.h"

/* Encodes a packet as sioc__sio_encode does (`data` borrowed, may be NULL; `id` -1 for none),
 * into one binary message in out->text, with the keys in the order Node's packets have them
 * (type, data, id, nsp). BINARY_EVENT and BINARY_ACK are written as EVENT and ACK. Returns 0 or
 * -1 (no memory). */
int sioc__sio_encode_msgpack(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                             sioc__sio_encoded *out);

/* Decodes one message, checked as the parser's checkPacket: a map whose `type` is an integer 0-4,
 * `nsp` a string (at most 255 bytes here), `data` what the type allows (CONNECT: absent or an
 * object; DISCONNECT: absent; CONNECT_ERROR: a string or an object; else an array) and `id`
 * absent or an integer (0 to 2^53 here); other keys are ignored, nothing may follow the map.
 * Returns 0 with the packet in *out (the caller clears it), or -1. */
int sioc__sio_decode_msgpack(const void *data, size_t len, sioc__sio_packet *out);

#endif
