/* The parser funnel (Node's `parser` option): every Socket.IO packet the core sends is encoded,
 * and every one it receives decoded, through the core's parser. One parser exists today, the
 * default one of socket.io-parser (src/sio/codec.c: JSON text, binary as attachments); another
 * (msgpack) is one more table and one more member of sioc__parser_state. Plain WebSocket clients
 * (the seed's second page) have a wire format of their own and do not come through here. */
#include "core/sio.h"

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
