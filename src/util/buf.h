/* Growable byte buffers and refcounted, already-encoded messages. */
#ifndef SIOC_UTIL_BUF_H
#define SIOC_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes kept free in front of every message so the WebSocket transport can write its frame header
 * in place (libwebsockets' LWS_PRE), plus the type byte Engine.IO v3 puts before binary data; the
 * transport checks at compile time that this is enough. */
#define SIOC_MSG_HEADROOM 24

typedef struct sioc__buf {
    char *data;
    size_t len;
    size_t cap;
} sioc__buf;

/* Grow so that at least `extra` more bytes fit. Returns 0, or -1 when out of memory (the buffer is
 * left as it was). */
int sioc__buf_reserve(sioc__buf *b, size_t extra);
int sioc__buf_append(sioc__buf *b, const void *data, size_t len);
/* Inline: the JSON writer appends a byte per bracket, comma and colon. */
static inline int sioc__buf_append_char(sioc__buf *b, char c)
{
    if (b->len == b->cap && sioc__buf_reserve(b, 1) < 0) {
        return -1;
    }
    b->data[b->len++] = c;
    return 0;
}
/* Appends `v` in decimal: packet ids and counts on the encoding path, without printf's cost. */
int sioc__buf_append_uint(sioc__buf *b, uint64_t v);
void sioc__buf_reset(sioc__buf *b);
/* Frees the storage; the buffer is empty and usable afterwards. */
void sioc__buf_free(sioc__buf *b);

/* One Engine.IO packet, encoded once and shared by every queue that sends it.
 * Layout: SIOC_MSG_HEADROOM spare bytes, then `len` bytes of payload. For a text packet the payload
 * is the packet as it goes on the wire (type digit then data); for a binary packet it is the raw
 * data, which WebSocket sends as is and polling sends as "b" + base64. */
typedef struct sioc__msg {
    uint32_t refs;
    bool binary;
    /* A WebSocket write that carries this message carries nothing after it: what follows goes a
     * moment later, in a write of its own (see the transport's pacing). */
    bool ends_write;
    /* The payload compressed for permessage-deflate (the transport's, made for the first
     * connection that takes it compressed and shared by the others); released with it. */
    struct sioc__msg *deflated;
    size_t len;
    char bytes[]; /* SIOC_MSG_HEADROOM + len + 1 (a NUL after the payload, for convenience) */
} sioc__msg;

/* New message of `len` payload bytes (uninitialised), one reference held by the caller. NULL when
 * out of memory. */
sioc__msg *sioc__msg_alloc(size_t len, bool binary);
/* New text message: the type digit followed by `len` bytes of data. */
sioc__msg *sioc__msg_text(char type, const void *data, size_t len);
/* New binary message holding a copy of `data`. */
sioc__msg *sioc__msg_binary(const void *data, size_t len);
static inline char *sioc__msg_payload(sioc__msg *m)
{
    return m->bytes + SIOC_MSG_HEADROOM;
}
static inline sioc__msg *sioc__msg_ref(sioc__msg *m)
{
    m->refs++;
    return m;
}
/* Drops one reference; frees on the last. Accepts NULL. */
void sioc__msg_unref(sioc__msg *m);

/* A FIFO of message references (a ring of pointers: queuing allocates nothing once grown). */
typedef struct sioc__msgq {
    sioc__msg **ring;
    size_t cap; /* a power of two, or 0 */
    size_t head;
    size_t count;
    size_t bytes; /* payload bytes queued, for the slow-consumer cap */
} sioc__msgq;

/* Queues `m`, taking a new reference on success. Returns 0, or -1 when out of memory. */
int sioc__msgq_push(sioc__msgq *q, sioc__msg *m);
/* The oldest message (borrowed), or NULL when empty. */
sioc__msg *sioc__msgq_peek(const sioc__msgq *q);
/* Removes the oldest message and drops the queue's reference to it. */
void sioc__msgq_pop(sioc__msgq *q);
/* Drops every message and the ring. */
void sioc__msgq_clear(sioc__msgq *q);
/* An empty queue gives back its ring (queuing grows it again): what an idle session need not
 * hold. Harmless on a queue that is not empty. */
void sioc__msgq_trim(sioc__msgq *q);

#endif
