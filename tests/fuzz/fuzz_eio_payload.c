/* Fuzz target: the Engine.IO v4 codec — a polling payload, and the same bytes as a text packet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Decoded in place, so a copy: of exactly `size` bytes, so that reading one past is caught. */
    char *body = malloc(size ? size : 1);
    if (!body) {
        return 0;
    }
    memcpy(body, data, size);
    size_t pos = 0;
    sioc__eio_packet p;
    sioc__buf out = {0};
    while (sioc__eio_payload_next(body, size, &pos, &p) > 0) {
        sioc__msg *m = p.binary ? sioc__msg_binary(p.data, p.len)
                                : sioc__msg_text((char)('0' + p.type), p.data, p.len);
        if (m) {
            sioc__eio_encode_polling(&out, m); /* what we decode, we can encode */
        }
        sioc__msg_unref(m);
    }
    sioc__eio_decode_text((const char *)data, size, &p);
    sioc__buf_free(&out);
    free(body);
    return 0;
}
