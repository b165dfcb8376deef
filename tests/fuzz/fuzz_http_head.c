/* Fuzz target: the request head checker (src/transport/head.c), which sees every connection's
 * first bytes before libwebsockets does. An accepted head must end with its empty line inside the
 * input and the limit, and every shorter prefix of it must be PARTIAL: the front door looks again
 * each time bytes arrive, so an early verdict would refuse a head that was still coming. */
#include <stdint.h>
#include <stdlib.h>

#include "transport/head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sioc__head_limits lim = {.max_bytes = 4096, .max_fields = 40};
    const char *buf = (const char *)data;
    size_t head_len = 0;
    const char *why = NULL;
    sioc__head_verdict v = sioc__head_check(buf, size, &lim, &head_len, &why);
    if ((v == SIOC__HEAD_BAD || v == SIOC__HEAD_TOO_LARGE) && !why) {
        abort();
    }
    if (v != SIOC__HEAD_OK) {
        /* Refusals are final: more bytes never change them. */
        if (v != SIOC__HEAD_PARTIAL && size > 0 &&
            sioc__head_check(buf, size - 1, &lim, NULL, NULL) != SIOC__HEAD_PARTIAL &&
            sioc__head_check(buf, size - 1, &lim, NULL, NULL) != v) {
            abort();
        }
        return 0;
    }
    if (head_len == 0 || head_len > size || head_len > lim.max_bytes || buf[head_len - 1] != '\n') {
        abort();
    }
    if (sioc__head_check(buf, head_len - 1, &lim, NULL, NULL) != SIOC__HEAD_PARTIAL) {
        abort();
    }
    size_t again = 0;
    if (sioc__head_check(buf, head_len, &lim, &again, NULL) != SIOC__HEAD_OK || again != head_len) {
        abort();
    }
    return 0;
}
