/* Engine.IO v3 payloads, for clients of the socket.io-client 2.x generation (Node's allowEIO3).
 * v3 frames each polling packet with its length instead of a separator, and can carry binary
 * without base64 in application/octet-stream bodies. */
#include "eio/codec.h"

#include <stdio.h>
#include <string.h>

#include "util/base64.h"

/* More digits than any body sioc accepts could need; also bounds the arithmetic. */
#define MAX_LENGTH_DIGITS 10

size_t sioc__utf16_length(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        /* One unit per code point (each starts with a non-continuation byte); those outside the
         * BMP (4-byte sequences) are surrogate pairs: two. */
        units += (b & 0xC0) != 0x80;
        units += b >= 0xF0;
    }
    return units;
}

/* The length of the UTF-8 sequence at s[0] (of `n` bytes), or 0 when it is not one: a stray
 * continuation byte, a bad lead, a sequence cut short. */
static size_t sequence_length(const unsigned char *s, size_t n)
{
    size_t seq = s[0] < 0x80    ? 1
                 : s[0] >= 0xF8 ? 0
                 : s[0] >= 0xF0 ? 4
                 : s[0] >= 0xE0 ? 3
                 : s[0] >= 0xC0 ? 2
                                : 0;
    if (seq > n) {
        return 0;
    }
    for (size_t k = 1; k < seq; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return seq;
}

static bool is_utf8(const char *s, size_t n)
{
    for (size_t i = 0, seq; i < n; i += seq) {
        if ((seq = sequence_length((const unsigned char *)s + i, n - i)) == 0) {
            return false;
        }
    }
    return true;
}

/* The number of bytes in `s` (at most `n`) that hold the first `units` UTF-16 code units, or -1
 * when the text ends first, is not UTF-8, or the count would split a surrogate pair. */
static long bytes_for_units(const char *s, size_t n, size_t units)
{
    size_t i = 0;
    while (units > 0) {
        size_t seq = i < n ? sequence_length((const unsigned char *)s + i, n - i) : 0;
        size_t cost = seq == 4 ? 2 : 1;
        if (seq == 0 || cost > units) {
            return -1;
        }
        units -= cost;
        i += seq;
    }
    return (long)i;
}

int sioc__eio3_decode_text(char *seg, size_t n, sioc__eio_packet *out)
{
    if (n == 0 || seg[0] != 'b') {
        return sioc__eio_decode_text(seg, n, out);
    }
    if (n < 2 || seg[1] < '0' || seg[1] > '6') {
        return -1;
    }
    long len = sioc__base64_decode(seg + 2, n - 2, (unsigned char *)seg + 2);
    if (len < 0) {
        return -1;
    }
    out->type = (sioc__eio_type)(seg[1] - '0');
    out->binary = true;
    out->data = seg + 2;
    out->len = (size_t)len;
    return 0;
}

int sioc__eio3_payload_next(char *body, size_t len, size_t *pos, sioc__eio_packet *out)
{
    if (len == 0) { /* engine.io-parser 2.x: an empty payload is a parser error */
        return *pos == 0 ? (*pos = 1, -1) : 0;
    }
    while (*pos < len) {
        size_t units = 0, digits = 0, i = *pos;
        for (; i < len && body[i] >= '0' && body[i] <= '9' && digits < MAX_LENGTH_DIGITS;
             i++, digits++) {
            units = units * 10 + (size_t)(body[i] - '0');
        }
        if (digits == 0 || i >= len || body[i] != ':') {
            *pos = len;
            return -1;
        }
        i++;
        long n = bytes_for_units(body + i, len - i, units);
        if (n < 0) {
            *pos = len;
            return -1;
        }
        *pos = i + (size_t)n;
        if (n == 0) {
            continue; /* "0:" carries nothing */
        }
        if (sioc__eio3_decode_text(body + i, (size_t)n, out) < 0) {
            *pos = len;
            return -1;
        }
        return 1;
    }
    return 0;
}

int sioc__eio3_binary_payload_next(const char *body, size_t len, size_t *pos, sioc__eio_packet *out)
{
    if (*pos >= len) {
        return 0;
    }
    const unsigned char *b = (const unsigned char *)body;
    size_t i = *pos;
    bool text = b[i++] == 0;
    size_t n = 0, digits = 0;
    for (; i < len && b[i] != 0xFF; i++) {
        if (b[i] > 9 || ++digits > MAX_LENGTH_DIGITS) {
            *pos = len;
            return -1;
        }
        n = n * 10 + b[i];
    }
    if (i >= len || digits == 0 || n > len - i - 1) {
        *pos = len; /* no terminator, no length, or a packet cut short */
        return -1;
    }
    const char *packet = body + i + 1;
    *pos = i + 1 + n;
    /* Text packets are UTF-8 bytes here (their length counts bytes). */
    int rc = text ? (is_utf8(packet, n) ? sioc__eio_decode_text(packet, n, out) : -1)
                  : sioc__eio3_decode_binary_frame(packet, n, out);
    if (rc < 0) {
        *pos = len;
        return -1;
    }
    return 1;
}

int sioc__eio3_decode_binary_frame(const char *s, size_t n, sioc__eio_packet *out)
{
    if (n == 0 || (unsigned char)s[0] > 6) {
        return -1;
    }
    out->type = (sioc__eio_type)s[0];
    out->binary = true;
    out->data = s + 1;
    out->len = n - 1;
    return 0;
}

int sioc__eio3_encode_text(sioc__buf *out, const sioc__msg *m)
{
    const char *p = m->bytes + SIOC_MSG_HEADROOM;
    char head[32];
    if (!m->binary) {
        int h = snprintf(head, sizeof(head), "%zu:", sioc__utf16_length(p, m->len));
        return sioc__buf_append(out, head, (size_t)h) < 0 ? -1 : sioc__buf_append(out, p, m->len);
    }
    size_t n = sioc__base64_encoded_len(m->len);
    int h = snprintf(head, sizeof(head), "%zu:b4", n + 2);
    if (sioc__buf_reserve(out, (size_t)h + n) < 0) {
        return -1;
    }
    memcpy(out->data + out->len, head, (size_t)h);
    out->len += (size_t)h;
    sioc__base64_encode((const unsigned char *)p, m->len, out->data + out->len);
    out->len += n;
    return 0;
}

int sioc__eio3_encode_binary(sioc__buf *out, const sioc__msg *m)
{
    const char *p = m->bytes + SIOC_MSG_HEADROOM;
    char digits[24];
    /* A binary packet carries its type byte (4, message) before the data. */
    int nd = snprintf(digits, sizeof(digits), "%zu", m->len + (m->binary ? 1 : 0));
    if (sioc__buf_reserve(out, (size_t)nd + 3 + m->len) < 0) {
        return -1;
    }
    out->data[out->len++] = m->binary ? 1 : 0;
    for (int i = 0; i < nd; i++) {
        out->data[out->len++] = (char)(digits[i] - '0');
    }
    out->data[out->len++] = (char)0xFF;
    if (m->binary) {
        out->data[out->len++] = SIOC__EIO_MESSAGE;
    }
    memcpy(out->data + out->len, p, m->len);
    out->len += m->len;
    return 0;
}
