#include "util/buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int sioc__buf_reserve(sioc__buf *b, size_t extra)
{
    if (extra <= b->cap - b->len) {
        return 0;
    }
    if (extra > SIZE_MAX / 2 - b->len) {
        return -1;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) {
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sioc__buf_append(sioc__buf *b, const void *data, size_t len)
{
    if (sioc__buf_reserve(b, len) < 0) {
        return -1;
    }
    if (len) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    return 0;
}

int sioc__buf_append_uint(sioc__buf *b, uint64_t v)
{
    char digits[20];
    size_t n = sizeof(digits);
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return sioc__buf_append(b, digits + n, sizeof(digits) - n);
}

void sioc__buf_reset(sioc__buf *b)
{
    b->len = 0;
}

void sioc__buf_free(sioc__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

sioc__msg *sioc__msg_alloc(size_t len, bool binary)
{
    if (len > SIZE_MAX - sizeof(sioc__msg) - SIOC_MSG_HEADROOM - 1) {
        return NULL;
    }
    sioc__msg *m = malloc(sizeof(*m) + SIOC_MSG_HEADROOM + len + 1);
    if (!m) {
        return NULL;
    }
    m->refs = 1;
    m->binary = binary;
    m->ends_write = false;
    m->deflated = NULL;
    m->len = len;
    m->bytes[SIOC_MSG_HEADROOM + len] = '\0';
    return m;
}

sioc__msg *sioc__msg_text(char type, const void *data, size_t len)
{
    if (len == SIZE_MAX) {
        return NULL;
    }
    sioc__msg *m = sioc__msg_alloc(len + 1, false);
    if (!m) {
        return NULL;
    }
    char *p = sioc__msg_payload(m);
    p[0] = type;
    if (len) {
        memcpy(p + 1, data, len);
    }
    return m;
}

sioc__msg *sioc__msg_binary(const void *data, size_t len)
{
    sioc__msg *m = sioc__msg_alloc(len, true);
    if (m && len) {
        memcpy(sioc__msg_payload(m), data, len);
    }
    return m;
}

void sioc__msg_unref(sioc__msg *m)
{
    assert(!m || m->refs > 0); /* a message is never released more often than it was taken */
    if (m && --m->refs == 0) {
        sioc__msg_unref(m->deflated);
        free(m);
    }
}

static int msgq_grow(sioc__msgq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 8;
    sioc__msg **ring = malloc(cap * sizeof(*ring));
    if (!ring) {
        return -1;
    }
    for (size_t i = 0; i < q->count; i++) {
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    }
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int sioc__msgq_push(sioc__msgq *q, sioc__msg *m)
{
    if (q->count == q->cap && msgq_grow(q) < 0) {
        return -1;
    }
    q->ring[(q->head + q->count) & (q->cap - 1)] = sioc__msg_ref(m);
    q->count++;
    q->bytes += m->len;
    return 0;
}

sioc__msg *sioc__msgq_peek(const sioc__msgq *q)
{
    return q->count ? q->ring[q->head] : NULL;
}

void sioc__msgq_pop(sioc__msgq *q)
{
    if (!q->count) {
        return;
    }
    sioc__msg *m = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    q->bytes -= m->len;
    sioc__msg_unref(m);
}

void sioc__msgq_clear(sioc__msgq *q)
{
    while (q->count) {
        sioc__msgq_pop(q);
    }
    sioc__msgq_trim(q); /* popping left bytes at 0 */
}

void sioc__msgq_trim(sioc__msgq *q)
{
    if (q->count == 0) {
        free(q->ring);
        q->ring = NULL;
        q->cap = 0;
        q->head = 0;
    }
}
