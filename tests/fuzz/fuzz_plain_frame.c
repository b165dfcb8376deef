/* Fuzz target: a frame from a plain WebSocket client ({"name", "data", "id"}). */
#include <stdint.h>

#include "sio/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root, *args;
    const char *name, *error;
    int64_t id;
    sioc__sio_decode_plain((const char *)data, size, &root, &name, &args, &id, &error);
    json_decref(args);
    json_decref(root);
    return 0;
}
