/* Fuzz target: ClusterAdapter messages (src/adapter/cluster_msg.c). A message the decoder takes has
 * the shape its type promises (the handlers' reads are checked here), and encodes to bytes that
 * decode again to a message encoding to the same bytes. The input is handed over as a copy of
 * exactly its size, so that reading one byte past it is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(sioc__buf *out, const sioc__cm *m)
{
    if (sioc__cm_encode(out, m->uid, m->nsp, m->type, m->data, NULL) != 0) {
        abort();
    }
}

/* What the adapter will read without checking again. */
static void reads(const sioc__cm *m)
{
    bool node_type = m->type >= SIOC__CM_INITIAL_HEARTBEAT && m->type <= SIOC__CM_ADAPTER_CLOSE;
    bool sioc_type = m->type >= SIOC__CM_RESTORE_SESSION && m->type <= SIOC__CM_METRICS;
    if (!m->uid || !m->nsp || (!node_type && !sioc_type)) {
        abort();
    }
    if (m->type >= SIOC__CM_BROADCAST && m->type <= SIOC__CM_BROADCAST_ACK && !m->data) {
        abort();
    }
    json_t *rid = json_object_get(m->data, "requestId");
    if (rid && !json_is_string(rid)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    sioc__cm m, again;
    const char *why = NULL;
    if (sioc__cm_decode(copy, size, &m, &why) == 0) {
        reads(&m);
        sioc__buf first = {0}, second = {0};
        encode(&first, &m);
        if (sioc__cm_decode(first.data, first.len, &again, &why) != 0) {
            abort();
        }
        encode(&second, &again);
        if (second.len != first.len || memcmp(first.data, second.data, first.len) != 0) {
            abort();
        }
        sioc__cm_clear(&again);
        sioc__buf_free(&first);
        sioc__buf_free(&second);
        sioc__cm_clear(&m);
    } else if (!why) {
        abort();
    }
    free(copy);
    return 0;
}
