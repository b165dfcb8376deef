/* The parser funnel (Node's `parser` option): every Socket.IO packet the core sends is encoded,
 * and every one it receives decoded, through the core's parser: the default one of
 * socket.io-parser (src/sio/codec.c: JSON text, binary as attachments), or
 * socket.io-msgpack-parser's (src/sio/msgpack_packet.c: one binary message per packet). Plain
 * WebSocket clients (the seed's second page) have a wire format of their own and do not come
 * through here. */
#include "core/sio.h"

#include "sio/msgpack_packet.h"

static int json_encode(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                       sioc__sio_encoded *out)
{
    return sioc__sio_encode(type, nsp, id, data, out);
}

static int json_decode(sioc__parser_state *st, const void *data, size_t len, bool binary,
                       sioc__sio_packet *out)
{
    return binary ? sioc__sio_decoder_binary(&st->json, data, len, out)
                  : sioc__sio_decoder_text(&st->json, data, len, out);
}

static void json_reset(sioc__parser_state *st)
{
    sioc__sio_decoder_reset(&st->json);
}

const sioc__parser sioc__json_parser = {"json", json_encode, json_decode, json_reset};

/* Every msgpack packet is one binary message: no state between messages, and text is not one. */
static int msgpack_decode(sioc__parser_state *st, const void *data, size_t len, bool binary,
                          sioc__sio_packet *out)
{
    return binary && sioc__sio_decode_msgpack(data, len, out) == 0 ? 1 : -1;
}

static void msgpack_reset(sioc__parser_state *st)
{
}

const sioc__parser sioc__msgpack_parser = {"msgpack", sioc__sio_encode_msgpack, msgpack_decode,
                                           msgpack_reset};

int sioc__encode_packet(const sioc__core *sio, sioc__sio_type type, const char *nsp, int64_t id,
                        json_t *data, sioc__sio_encoded *out)
{
    return sio->parser->encode(type, nsp, id, data, out);
}

int sioc__decode_packet(const sioc__core *sio, sioc__parser_state *st, const void *data, size_t len,
                        bool binary, sioc__sio_packet *out)
{
    return sio->parser->decode(st, data, len, binary, out);
}

void sioc__parser_reset(const sioc__core *sio, sioc__parser_state *st)
{
    sio->parser->reset(st);
}
