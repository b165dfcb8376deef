/* Fuzz target: the Engine.IO v3 codec (allowEIO3). The first byte picks the decoder — text payload,
 * binary payload, WebSocket frames — and the rest is its input. Every packet decoded is encoded
 * again and must decode to the same packet. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sioc__msg *as_message(const sioc__eio_packet *p)
{
    return p->binary ? sioc__msg_binary(p->data, p->len)
                     : sioc__msg_text((char)('0' + p->type), p->data, p->len);
}

/* Encodes `p` in both v3 forms and checks that each decodes back to it. */
static void round_trip(const sioc__eio_packet *p)
{
    if (p->binary && p->type != SIOC__EIO_MESSAGE) {
        return; /* only messages are binary on the way out */
    }
    json_t *utf8 = p->binary ? NULL : json_stringn(p->data, p->len);
    if (!p->binary && !utf8) {
        return; /* a WebSocket text frame that is not UTF-8 never gets here: lws closes with 1007 */
    }
    json_decref(utf8);
    sioc__msg *m = as_message(p);
    sioc__buf text = {0}, bin = {0};
    if (m && sioc__eio3_encode_text(&text, m) == 0 && sioc__eio3_encode_binary(&bin, m) == 0) {
        sioc__eio_packet q;
        size_t pos = 0;
        if (sioc__eio3_payload_next(text.data, text.len, &pos, &q) != 1 || q.len != p->len ||
            q.binary != p->binary || memcmp(q.data, p->data, p->len) != 0 || pos != text.len) {
            abort();
        }
        pos = 0;
        if (sioc__eio3_binary_payload_next(bin.data, bin.len, &pos, &q) != 1 || q.len != p->len ||
            q.binary != p->binary || memcmp(q.data, p->data, p->len) != 0 || pos != bin.len) {
            abort();
        }
    }
    sioc__buf_free(&text);
    sioc__buf_free(&bin);
    sioc__msg_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    unsigned mode = data[0] % 3;
    size_t n = size - 1;
    /* Decoded in place, so a copy: of exactly `n` bytes, so that reading one past is caught. */
    char *body = malloc(n ? n : 1);
    if (!body) {
        return 0;
    }
    memcpy(body, data + 1, n);
    size_t pos = 0;
    sioc__eio_packet p;
    switch (mode) {
    case 0:
        while (sioc__eio3_payload_next(body, n, &pos, &p) > 0) {
            round_trip(&p);
        }
        break;
    case 1:
        while (sioc__eio3_binary_payload_next(body, n, &pos, &p) > 0) {
            round_trip(&p);
        }
        break;
    default:
        if (sioc__eio3_decode_binary_frame(body, n, &p) == 0) {
            round_trip(&p);
        }
        if (sioc__eio3_decode_text(body, n, &p) == 0) {
            round_trip(&p);
        }
        break;
    }
    free(body);
    return 0;
}
