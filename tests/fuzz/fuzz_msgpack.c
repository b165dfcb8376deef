/* Fuzz target: MessagePack as notepack.io writes it (src/sio/msgpack.c). Whatever the decoder
 * takes, the encoder writes again, and that decodes to a value that encodes to the same bytes (the
 * encoder's forms are canonical, so equal bytes are equal values). The input is handed over as a
 * copy of exactly its size, so that reading one byte past it is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio/msgpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    json_t *v = NULL, *again = NULL;
    long n = sioc__msgpack_decode(copy, size, &v);
    if (n > (long)size || (n < 0) != (v == NULL)) {
        abort();
    }
    sioc__buf first = {0}, second = {0};
    if (v && sioc__msgpack_encode(&first, v) == 0) {
        /* Not json_equal: jansson compares keys up to a NUL, and keys may hold them. */
        if (sioc__msgpack_decode(first.data, first.len, &again) != (long)first.len ||
            sioc__msgpack_encode(&second, again) != 0 || second.len != first.len ||
            memcmp(first.data, second.data, first.len) != 0) {
            abort();
        }
    }
    json_decref(v);
    json_decref(again);
    sioc__buf_free(&first);
    sioc__buf_free(&second);
    free(copy);
    return 0;
}
