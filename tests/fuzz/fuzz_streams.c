/* Fuzz target: what another node may have left in Redis for the Streams adapter
 * (src/adapter/streams_wire.c). The first byte picks: a session record (base64 of msgpack
 * {sid, pid, rooms, data}) — one taken has short ids and string rooms, and encodes to a record
 * that decodes and encodes again to the same record (bytes compared: jansson's json_equal looks
 * keys up as C strings, and keys may hold NULs); or a stream entry's fields (NUL-separated field,
 * value, ...) — one taken is a message of the shape its type promises. The input is handed over as
 * a copy of exactly its size, so that reading one byte past it is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/streams_internal.h"
#include "core/sio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void session(const char *text, size_t len)
{
    sioc__saved_session *s = sioc__streams_session_decode(text, len, 0);
    if (!s) {
        return;
    }
    if (strlen(s->sid) > 20 || strlen(s->pid) > 20 || !json_is_array(s->rooms) ||
        !json_is_object(s->data)) {
        abort();
    }
    char *again = sioc__streams_session_encode(s);
    sioc__saved_session *t = again ? sioc__streams_session_decode(again, strlen(again), 0) : NULL;
    char *third = t ? sioc__streams_session_encode(t) : NULL;
    if (!third || strcmp(t->sid, s->sid) != 0 || strcmp(t->pid, s->pid) != 0 ||
        strcmp(third, again) != 0) {
        abort();
    }
    free(again);
    free(third);
    sioc__saved_session_free(s);
    sioc__saved_session_free(t);
}

static void entry(const char *bytes, size_t len)
{
    redisReply items[16], *ptrs[16];
    size_t n = 0;
    for (size_t i = 0; i <= len && n < 16;) {
        const char *end = memchr(bytes + i, '\0', len - i);
        size_t l = end ? (size_t)(end - (bytes + i)) : len - i;
        items[n] = (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)bytes + i, .len = l};
        ptrs[n] = &items[n];
        n++;
        i += l + 1;
    }
    redisReply fields = {.type = REDIS_REPLY_ARRAY, .elements = n & ~(size_t)1, .element = ptrs};
    sioc__cm m;
    const char *why = NULL;
    if (sioc__streams_entry(&fields, &m, &why) == 0) {
        if (!m.uid || !m.nsp ||
            (m.type >= SIOC__CM_BROADCAST && m.type <= SIOC__CM_BROADCAST_ACK && !m.data)) {
            abort();
        }
        sioc__cm_clear(&m);
    } else if (!why) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    char *copy = malloc(size);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0'; /* entries' values are NUL-terminated as hiredis's are */
    if (data[0] & 1) {
        entry(copy, size - 1);
    } else {
        session(copy, size - 1);
    }
    free(copy);
    return 0;
}
