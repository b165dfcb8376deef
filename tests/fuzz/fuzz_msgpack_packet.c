/* Fuzz target: packets of the msgpack parser (src/sio/msgpack_packet.c), the path every message
 * of a `--parser msgpack` server takes. A packet the decoder accepts is one checkPacket would:
 * its type 0-4, its data what the type allows; written again, it decodes to the same packet. The
 * input is handed over as a copy of exactly its size, so that reading past it is caught. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio/msgpack_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same packet, bytes of their data compared as the encoder writes them. */
static void same(const sioc__sio_packet *a, const sioc__sio_packet *b)
{
    sioc__sio_encoded x, y;
    if (a->type != b->type || a->id != b->id || strcmp(a->nsp, b->nsp) != 0 ||
        (a->data == NULL) != (b->data == NULL)) {
        abort();
    }
    if (sioc__sio_encode_msgpack(a->type, a->nsp, a->id, a->data, &x) == 0) {
        if (sioc__sio_encode_msgpack(b->type, b->nsp, b->id, b->data, &y) == 0) {
            if (x.text->len != y.text->len ||
                memcmp(sioc__msg_payload(x.text), sioc__msg_payload(y.text), x.text->len) != 0) {
                abort();
            }
            sioc__sio_encoded_clear(&y);
        }
        sioc__sio_encoded_clear(&x);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    sioc__sio_packet p, again;
    if (sioc__sio_decode_msgpack(copy, size, &p) == 0) {
        bool array = json_is_array(p.data), object = json_is_object(p.data);
        bool ok = p.type == SIOC__SIO_CONNECT         ? !p.data || object
                  : p.type == SIOC__SIO_DISCONNECT    ? !p.data
                  : p.type == SIOC__SIO_CONNECT_ERROR ? object || json_is_string(p.data)
                  : p.type <= SIOC__SIO_ACK           ? array
                                                      : false;
        if (!ok || p.id < -1) {
            abort();
        }
        sioc__sio_encoded e;
        if (sioc__sio_encode_msgpack(p.type, p.nsp, p.id, p.data, &e) == 0) {
            if (sioc__sio_decode_msgpack(sioc__msg_payload(e.text), e.text->len, &again) != 0) {
                abort();
            }
            same(&p, &again);
            sioc__sio_packet_clear(&again);
            sioc__sio_encoded_clear(&e);
        }
        sioc__sio_packet_clear(&p);
    }
    free(copy);
    return 0;
}
