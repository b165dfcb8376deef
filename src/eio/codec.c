#include "eio/codec.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/base64.h"

int sioc__eio_decode_text(const char *s, size_t n, sioc__eio_packet *out)
{
    if (n == 0 || s[0] < '0' || s[0] > '6') {
        return -1;
    }
    out->type = (sioc__eio_type)(s[0] - '0');
    out->binary = false;
    out->data = s + 1;
    out->len = n - 1;
    return 0;
}

static int decode_base64_segment(char *seg, size_t n, sioc__eio_packet *out)
{
    /* Decoding never lengthens, so the bytes land over the text they came from. */
    long len = sioc__base64_decode(seg, n, (unsigned char *)seg);
    if (len < 0) {
        return -1;
    }
    out->type = SIOC__EIO_MESSAGE;
    out->binary = true;
    out->data = seg;
    out->len = (size_t)len;
    return 1;
}

int sioc__eio_payload_next(char *body, size_t len, size_t *pos, sioc__eio_packet *out)
{
    /* *pos == len means one more (empty) segment is due: an empty body, or a trailing separator,
     * which Node's parser reports as an error too. Past the last segment *pos is len + 1. */
    if (*pos > len) {
        return 0;
    }
    char *seg = body + *pos;
    char *end = memchr(seg, SIOC__EIO_SEPARATOR, len - *pos);
    size_t n = end ? (size_t)(end - seg) : len - *pos;
    *pos += n + 1;
    if (n > 0 && seg[0] == 'b') {
        return decode_base64_segment(seg + 1, n - 1, out);
    }
    return sioc__eio_decode_text(seg, n, out) < 0 ? -1 : 1;
}

int sioc__eio_encode_polling(sioc__buf *out, const sioc__msg *m)
{
    const char *p = m->bytes + SIOC_MSG_HEADROOM;
    if (!m->binary) {
        return sioc__buf_append(out, p, m->len);
    }
    size_t n = sioc__base64_encoded_len(m->len);
    if (sioc__buf_reserve(out, n + 1) < 0) {
        return -1;
    }
    out->data[out->len++] = 'b';
    sioc__base64_encode((const unsigned char *)p, m->len, out->data + out->len);
    out->len += n;
    return 0;
}

/* Appends `s` at `p`; returns the end. */
static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* Appends `v` in decimal at `p`; returns the end. */
static char *put_uint(char *p, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        *p++ = digits[--n];
    }
    return p;
}

/* Written piece by piece, not with snprintf: one for every session opened, where snprintf cost
 * more than the rest of the packet's making together. */
sioc__msg *sioc__eio_open_packet(const char *sid, bool upgrades, unsigned ping_interval_ms,
                                 unsigned ping_timeout_ms, size_t max_payload)
{
    char json[256], *p = json;
    if (strlen(sid) > 64) {
        return NULL; /* never: a sid is 20 characters */
    }
    p = put(p, "{\"sid\":\"");
    p = put(p, sid);
    p = put(p, upgrades ? "\",\"upgrades\":[\"websocket\"],\"pingInterval\":"
                        : "\",\"upgrades\":[],\"pingInterval\":");
    p = put_uint(p, ping_interval_ms);
    p = put(p, ",\"pingTimeout\":");
    p = put_uint(p, ping_timeout_ms);
    p = put(p, ",\"maxPayload\":");
    p = put_uint(p, max_payload);
    *p++ = '}';
    assert((size_t)(p - json) < sizeof(json));
    return sioc__msg_text('0', json, (size_t)(p - json));
}

const char *sioc__eio_error_message(sioc__eio_error code)
{
    static const char *const messages[] = {
        "Transport unknown", "Session ID unknown", "Bad handshake method",
        "Bad request",       "Forbidden",          "Unsupported protocol version",
    };
    return (unsigned)code < sizeof(messages) / sizeof(messages[0]) ? messages[code] : "Bad request";
}

size_t sioc__eio_error_body(sioc__eio_error code, char *out, size_t cap)
{
    int n = snprintf(out, cap, "{\"code\":%d,\"message\":\"%s\"}", (int)code,
                     sioc__eio_error_message(code));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}
