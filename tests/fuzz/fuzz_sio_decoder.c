/* Fuzz target: the Socket.IO v5 decoder with binary reassembly, then the encoders on what it
 * accepts. The input is a sequence of Engine.IO messages separated by 0x00: one starting with 'B'
 * is binary (the rest of it), any other is text. */
#include <stdint.h>
#include <string.h>

#include "sio/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(sioc__sio_packet *p)
{
    sioc__sio_encoded e;
    if (sioc__sio_encode(p->type, p->nsp, p->id, p->data, &e) == 0) {
        sioc__sio_plain(&e);
        sioc__sio_encoded_clear(&e);
    }
    char scratch[32];
    if (p->data) {
        sioc__sio_event_name(p->data, scratch, sizeof(scratch));
    }
    sioc__sio_packet_clear(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sioc__sio_decoder d = {0};
    const char *s = (const char *)data, *end = s + size;
    while (s < end) {
        const char *sep = memchr(s, '\0', (size_t)(end - s));
        size_t n = sep ? (size_t)(sep - s) : (size_t)(end - s);
        sioc__sio_packet p;
        int rc = n && s[0] == 'B' ? sioc__sio_decoder_binary(&d, s + 1, n - 1, &p)
                                  : sioc__sio_decoder_text(&d, s, n, &p);
        if (rc == 1) {
            use(&p);
        }
        s += n + 1;
    }
    sioc__sio_decoder_reset(&d);
    return 0;
}
