/* Fuzz target: the Socket.IO v5 decoder with binary reassembly, then the encoders on what it
 * accepts (a packet without attachments must decode from its encoding to itself). The input is a
 * sequence of Engine.IO messages separated by 0x00: one starting with 'B' is binary (the rest of
 * it), any other is text. */
#include <stdint.h>
#include <string.h>

#include "sio/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A packet without attachments must decode from its encoding to itself. */
static void check_round_trip(const sioc__sio_packet *p, sioc__sio_encoded *e)
{
    if (e->nbins || p->type == SIOC__SIO_BINARY_EVENT || p->type == SIOC__SIO_BINARY_ACK) {
        return;
    }
    const char *text = sioc__msg_payload(e->text);
    sioc__sio_packet q;
    if (text[0] != '4' || sioc__sio_decode(text + 1, e->text->len - 1, &q) < 0) {
        __builtin_trap(); /* the encoder wrote what the decoder refuses */
    }
    if (q.type != p->type || strcmp(q.nsp, p->nsp) != 0 || q.id != p->id ||
        !(q.data ? p->data && json_equal(q.data, p->data) : !p->data)) {
        __builtin_trap();
    }
    sioc__sio_packet_clear(&q);
}

static void use(sioc__sio_packet *p)
{
    sioc__sio_encoded e;
    if (sioc__sio_encode(p->type, p->nsp, p->id, p->data, &e) == 0) {
        check_round_trip(p, &e);
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
