/* Fuzz target: a client's WebSocket byte stream, read in two pieces (the first byte says where
 * the cut goes; its top bit, whether permessage-deflate was agreed), as the frame reader meets it
 * after a 101. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int feed(sioc__ws_rx *rx, uint8_t *p, size_t len)
{
    sioc__ws_event ev;
    sioc__ws_event_kind k;
    while ((k = sioc__ws_rx_next(rx, &p, &len, &ev)) != SIOC__WS_NEED) {
        if (k == SIOC__WS_ERROR) {
            return -1;
        }
        /* Touch what an event lends, so a sanitizer sees a read past it. */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < ev.len; i++) {
            sink ^= ev.data[i];
        }
        (void)sink;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t cut = (data[0] & 0x7f) % size;
    size_t n = size - 1;
    uint8_t *copy = malloc(n ? n : 1); /* writable: frames are unmasked in place */
    if (!copy) {
        return 0;
    }
    memcpy(copy, data + 1, n);
    sioc__ws_rx rx = {.pmd = data[0] & 0x80};
    if (feed(&rx, copy, cut < n ? cut : n) == 0 && cut < n) {
        feed(&rx, copy + cut, n - cut);
    }
    sioc__ws_rx_free(&rx);
    free(copy);
    return 0;
}
