/* WebSocket frames: see wsframe.h. */
#include "transport/wsframe.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 (RFC 3629), one byte at a time: the state says what the next byte may be ---- */
enum {
    U8_ACCEPT = 0, /* between characters */
    U8_CONT1 = 1,  /* 1, 2 or 3 continuation bytes to come */
    U8_CONT2 = 2,
    U8_CONT3 = 3,
    U8_E0 = 4, /* A0..BF next: no overlong 3-byte forms */
    U8_ED = 5, /* 80..9F next: no surrogates */
    U8_F0 = 6, /* 90..BF next: no overlong 4-byte forms */
    U8_F4 = 7, /* 80..8F next: nothing above U+10FFFF */
    U8_REJECT = 0xff,
};

static uint8_t utf8_lead(uint8_t b)
{
    if (b < 0x80) {
        return U8_ACCEPT;
    }
    if (b < 0xc2) {
        return U8_REJECT; /* a continuation byte, or an overlong 2-byte form */
    }
    if (b < 0xe0) {
        return U8_CONT1;
    }
    if (b == 0xe0 || b == 0xed) {
        return b == 0xe0 ? U8_E0 : U8_ED;
    }
    if (b < 0xf0) {
        return U8_CONT2;
    }
    if (b == 0xf0 || b == 0xf4) {
        return b == 0xf0 ? U8_F0 : U8_F4;
    }
    return b < 0xf4 ? U8_CONT3 : U8_REJECT;
}

static uint8_t utf8_step(uint8_t st, uint8_t b)
{
    switch (st) {
    case U8_ACCEPT:
        return utf8_lead(b);
    case U8_CONT1:
    case U8_CONT2:
    case U8_CONT3:
        return (b & 0xc0) == 0x80 ? (uint8_t)(st - 1) : U8_REJECT;
    case U8_E0:
        return b >= 0xa0 && b <= 0xbf ? U8_CONT1 : U8_REJECT;
    case U8_ED:
        return b >= 0x80 && b <= 0x9f ? U8_CONT1 : U8_REJECT;
    case U8_F0:
        return b >= 0x90 && b <= 0xbf ? U8_CONT2 : U8_REJECT;
    case U8_F4:
        return b >= 0x80 && b <= 0x8f ? U8_CONT2 : U8_REJECT;
    default:
        return U8_REJECT;
    }
}

/* Runs the validator over `n` bytes; ASCII goes eight bytes at a time. */
static uint8_t utf8_run(uint8_t st, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && st != U8_REJECT) {
        if (st == U8_ACCEPT) {
            uint64_t w;
            while (i + 8 <= n && (memcpy(&w, p + i, 8), (w & 0x8080808080808080ull) == 0)) {
                i += 8;
            }
            if (i == n) {
                break;
            }
        }
        st = utf8_step(st, p[i++]);
    }
    return st;
}

/* ---- unmasking ---- */
static void unmask(sioc__ws_rx *rx, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (rx->mpos & 3)) {
        p[i++] ^= rx->mask[rx->mpos++ & 3];
    }
    rx->mpos &= 3; /* 0 here, or the input ended first */
    if (i + 8 <= n) {
        uint8_t m8[8];
        for (int k = 0; k < 8; k++) {
            m8[k] = rx->mask[k & 3];
        }
        uint64_t m, w;
        memcpy(&m, m8, 8);
        for (; i + 8 <= n; i += 8) {
            memcpy(&w, p + i, 8);
            w ^= m;
            memcpy(p + i, &w, 8);
        }
    }
    for (; i < n; i++) {
        p[i] ^= rx->mask[rx->mpos++ & 3];
    }
    rx->mpos &= 3;
}

/* ---- the reader ---- */
static sioc__ws_event_kind fail(sioc__ws_rx *rx, sioc__ws_event *ev, uint16_t code, const char *why)
{
    rx->message = 0xff; /* stays failed */
    ev->kind = SIOC__WS_ERROR;
    ev->code = code;
    ev->why = why;
    return SIOC__WS_ERROR;
}

static bool is_control(uint8_t opcode)
{
    return opcode & 0x8;
}

/* The header's length once its first two bytes are known. */
static size_t header_size(const uint8_t *h)
{
    uint8_t l7 = h[1] & 0x7f;
    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
}

/* The first two bytes' rules (§5.2, §5.5, and §5.1: a client masks every frame). Returns the
 * reason to refuse them, or NULL. */
static const char *check_start(const sioc__ws_rx *rx, const uint8_t *h)
{
    uint8_t opcode = h[0] & 0x0f;
    if (h[0] & (rx->pmd ? 0x30 : 0x70)) {
        return "reserved bits set";
    }
    if ((h[0] & 0x40) && (is_control(opcode) || opcode == SIOC__WS_CONTINUATION)) {
        return "RSV1 set on a control or continuation frame"; /* RFC 7692 §6.1 */
    }
    if (opcode > SIOC__WS_BINARY && opcode != SIOC__WS_CLOSE && opcode != SIOC__WS_PING &&
        opcode != SIOC__WS_PONG) {
        return "unknown opcode";
    }
    if (!(h[1] & 0x80)) {
        return "unmasked frame";
    }
    if (is_control(opcode)) {
        return !(h[0] & 0x80)                         ? "fragmented control frame"
               : (h[1] & 0x7f) > SIOC__WS_CONTROL_MAX ? "control frame too long"
                                                      : NULL;
    }
    if (opcode == SIOC__WS_CONTINUATION && !rx->message) {
        return "continuation without a message";
    }
    if (opcode != SIOC__WS_CONTINUATION && rx->message) {
        return "new message inside a fragmented one";
    }
    return NULL;
}

/* Gathers the header; returns false when the input ran out first. */
static bool gather_header(sioc__ws_rx *rx, uint8_t **in, size_t *len, const char **why)
{
    size_t need = rx->hlen < 2 ? 2 : header_size(rx->hdr);
    while (rx->hlen < need) {
        if (!*len) {
            return false;
        }
        size_t n = need - rx->hlen < *len ? need - rx->hlen : *len;
        memcpy(rx->hdr + rx->hlen, *in, n);
        rx->hlen = (uint8_t)(rx->hlen + n);
        *in += n;
        *len -= n;
        if (rx->hlen == 2) {
            if ((*why = check_start(rx, rx->hdr)) != NULL) {
                return true;
            }
            need = header_size(rx->hdr);
        }
    }
    return true;
}

static void parse_header(sioc__ws_rx *rx)
{
    const uint8_t *h = rx->hdr;
    uint8_t l7 = h[1] & 0x7f;
    uint64_t length = l7;
    size_t at = 2;
    if (l7 >= 126) {
        size_t n = l7 == 126 ? 2 : 8;
        length = 0;
        for (size_t i = 0; i < n; i++) {
            length = length << 8 | h[at++];
        }
    }
    memcpy(rx->mask, h + at, 4);
    rx->hdr_first = h[0];
    rx->fin = h[0] & 0x80;
    rx->opcode = h[0] & 0x0f;
    rx->remaining = length;
    rx->mpos = 0;
    rx->hlen = 0;
    rx->in_payload = true;
}

static sioc__ws_event_kind control_done(sioc__ws_rx *rx, const uint8_t *p, size_t n,
                                        sioc__ws_event *ev)
{
    rx->in_payload = false;
    rx->ctl_len = 0;
    ev->data = p;
    ev->len = n;
    ev->opcode = rx->opcode;
    if (rx->opcode == SIOC__WS_PING) {
        return ev->kind = SIOC__WS_PING_EV;
    }
    if (rx->opcode == SIOC__WS_PONG) {
        return ev->kind = SIOC__WS_PONG_EV;
    }
    if (n == 1) {
        return fail(rx, ev, SIOC__WS_PROTOCOL_ERROR, "close frame of one byte");
    }
    ev->code = n ? (uint16_t)(p[0] << 8 | p[1]) : SIOC__WS_NO_STATUS;
    if (n && !sioc__ws_status_valid(ev->code)) {
        return fail(rx, ev, SIOC__WS_PROTOCOL_ERROR, "invalid close status");
    }
    ev->data = n ? p + 2 : p;
    ev->len = n ? n - 2 : 0;
    if (utf8_run(U8_ACCEPT, ev->data, ev->len) != U8_ACCEPT) {
        return fail(rx, ev, SIOC__WS_INVALID_DATA, "close reason not UTF-8");
    }
    return ev->kind = SIOC__WS_CLOSE_EV;
}

/* A control frame's payload: straight from the input when it is all there, else gathered. */
static sioc__ws_event_kind control_payload(sioc__ws_rx *rx, uint8_t **in, size_t *len,
                                           sioc__ws_event *ev)
{
    assert(rx->remaining <= SIOC__WS_CONTROL_MAX);
    size_t want = (size_t)rx->remaining;
    if (rx->ctl_len == 0 && *len >= want) {
        uint8_t *p = *in;
        unmask(rx, p, want);
        *in += want;
        *len -= want;
        rx->remaining = 0;
        return control_done(rx, p, want, ev);
    }
    if (!rx->ctl && !(rx->ctl = malloc(SIOC__WS_CONTROL_MAX))) {
        return fail(rx, ev, 1011, "out of memory"); /* 1011: internal error */
    }
    size_t n = want < *len ? want : *len;
    memcpy(rx->ctl + rx->ctl_len, *in, n);
    unmask(rx, rx->ctl + rx->ctl_len, n);
    rx->ctl_len = (uint8_t)(rx->ctl_len + n);
    *in += n;
    *len -= n;
    rx->remaining -= n;
    return rx->remaining ? SIOC__WS_NEED : control_done(rx, rx->ctl, rx->ctl_len, ev);
}

static sioc__ws_event_kind data_payload(sioc__ws_rx *rx, uint8_t **in, size_t *len,
                                        sioc__ws_event *ev)
{
    size_t n = rx->remaining < *len ? (size_t)rx->remaining : *len;
    if (n == 0 && rx->remaining) {
        return SIOC__WS_NEED;
    }
    uint8_t *p = *in;
    unmask(rx, p, n);
    if (rx->message == SIOC__WS_TEXT && !rx->compressed &&
        (rx->utf8 = utf8_run(rx->utf8, p, n)) == U8_REJECT) {
        return fail(rx, ev, SIOC__WS_INVALID_DATA, "text not UTF-8");
    }
    *in += n;
    *len -= n;
    rx->remaining -= n;
    ev->kind = SIOC__WS_DATA;
    ev->opcode = rx->message;
    ev->compressed = rx->compressed;
    ev->data = p;
    ev->len = n;
    if (rx->remaining == 0) {
        rx->in_payload = false;
        ev->last = rx->fin;
    }
    if (ev->last) {
        if (rx->message == SIOC__WS_TEXT && rx->utf8 != U8_ACCEPT) {
            return fail(rx, ev, SIOC__WS_INVALID_DATA, "text ends inside a character");
        }
        rx->message = 0;
        rx->compressed = false;
        rx->utf8 = U8_ACCEPT;
    }
    return SIOC__WS_DATA;
}

/* Reads one header. Returns true with the event to return in `*k` (FRAME for a data frame, NEED
 * when the input ran out, ERROR), or false to go on to a control frame's payload. */
static bool next_header(sioc__ws_rx *rx, uint8_t **in, size_t *len, sioc__ws_event *ev,
                        sioc__ws_event_kind *k)
{
    const char *why = NULL;
    if (!gather_header(rx, in, len, &why)) {
        *k = SIOC__WS_NEED;
        return true;
    }
    if (why) {
        *k = fail(rx, ev, SIOC__WS_PROTOCOL_ERROR, why);
        return true;
    }
    parse_header(rx);
    if (rx->remaining > (1ull << 53) - 1) { /* as `ws` refuses it */
        *k = fail(rx, ev, SIOC__WS_TOO_BIG, "frame length over 2^53 - 1");
        return true;
    }
    if (is_control(rx->opcode)) {
        return false;
    }
    ev->first = rx->opcode != SIOC__WS_CONTINUATION;
    if (ev->first) {
        rx->message = rx->opcode;
        rx->compressed = rx->pmd && (rx->hdr_first & 0x40);
    }
    ev->compressed = rx->compressed;
    ev->kind = SIOC__WS_FRAME;
    ev->opcode = rx->message;
    ev->length = rx->remaining;
    *k = SIOC__WS_FRAME;
    return true;
}

sioc__ws_event_kind sioc__ws_rx_next(sioc__ws_rx *rx, uint8_t **in, size_t *len, sioc__ws_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (rx->message == 0xff) {
        return fail(rx, ev, SIOC__WS_PROTOCOL_ERROR, "after an error");
    }
    if (rx->ctl && !rx->in_payload) {
        free(rx->ctl); /* the last event's payload is no longer borrowed */
        rx->ctl = NULL;
    }
    for (;;) {
        if (!rx->in_payload) {
            sioc__ws_event_kind k;
            if (next_header(rx, in, len, ev, &k)) {
                return k;
            }
        }
        if (is_control(rx->opcode)) {
            return control_payload(rx, in, len, ev);
        }
        if (rx->remaining || rx->fin) {
            return data_payload(rx, in, len, ev);
        }
        rx->in_payload = false; /* an empty fragment: on to the next header */
    }
}

void sioc__ws_rx_free(sioc__ws_rx *rx)
{
    free(rx->ctl);
    rx->ctl = NULL;
}

size_t sioc__ws_header(uint8_t out[10], unsigned opcode, uint64_t len)
{
    return sioc__ws_header_rsv1(out, opcode, len, false);
}

size_t sioc__ws_header_rsv1(uint8_t out[10], unsigned opcode, uint64_t len, bool rsv1)
{
    size_t n = 0;
    out[n++] = (uint8_t)(0x80 | (rsv1 ? 0x40 : 0) | (opcode & 0x0f));
    if (len < 126) {
        out[n++] = (uint8_t)len;
    } else if (len < 65536) {
        out[n++] = 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 127;
        for (int i = 7; i >= 0; i--) {
            out[n++] = (uint8_t)(len >> (8 * i));
        }
    }
    return n;
}

bool sioc__ws_status_valid(unsigned code)
{
    return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

bool sioc__ws_utf8_valid(const uint8_t *p, size_t n)
{
    return utf8_run(U8_ACCEPT, p, n) == U8_ACCEPT;
}

/* ---- permessage-deflate's offers (RFC 7692 §5, §7.1) ---- */

/* `s` (`n` bytes) without the spaces and tabs around it. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++, (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

/* A window-bits value: 8 to 15, quoted or not; -1 if not one. */
static int window_bits(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++, n -= 2;
    }
    if (n < 1 || n > 2 || v[0] < '0' || v[0] > '9' || (n == 2 && (v[1] < '0' || v[1] > '9'))) {
        return -1;
    }
    int bits = n == 1 ? v[0] - '0' : (v[0] - '0') * 10 + (v[1] - '0');
    return bits >= 8 && bits <= 15 ? bits : -1;
}

/* One offer: "permessage-deflate; param[=value]; ...". */
static bool offer_acceptable(const char *s, size_t n)
{
    static const char *const known[] = {"server_no_context_takeover", "client_no_context_takeover",
                                        "server_max_window_bits", "client_max_window_bits"};
    bool seen[4] = {false, false, false, false};
    bool first = true;
    while (n) {
        const char *semi = memchr(s, ';', n);
        size_t len = semi ? (size_t)(semi - s) : n;
        const char *tok = s;
        size_t tlen = len;
        trim(&tok, &tlen);
        s += len + (semi ? 1 : 0);
        n -= len + (semi ? 1 : 0);
        if (first) {
            if (tlen != 18 || memcmp(tok, "permessage-deflate", 18) != 0) {
                return false;
            }
            first = false;
            continue;
        }
        const char *eq = memchr(tok, '=', tlen);
        const char *name = tok, *value = eq ? eq + 1 : NULL;
        size_t nlen = eq ? (size_t)(eq - tok) : tlen, vlen = eq ? tlen - nlen - 1 : 0;
        trim(&name, &nlen);
        if (value) {
            trim(&value, &vlen);
        }
        int k = -1;
        for (int i = 0; i < 4; i++) {
            if (strlen(known[i]) == nlen && memcmp(name, known[i], nlen) == 0) {
                k = i;
            }
        }
        if (k < 0 || seen[k]) {
            return false; /* unknown, or twice */
        }
        seen[k] = true;
        if (k < 2 && value) {
            return false; /* the no_context_takeover ones take no value */
        }
        /* A smaller server window would need a compressor of its own: declined. */
        if (k == 2 && (!value || window_bits(value, vlen) != 15)) {
            return false;
        }
        if (k == 3 && value && window_bits(value, vlen) < 0) {
            return false;
        }
    }
    return !first;
}

bool sioc__ws_pmd_acceptable(const char *offers)
{
    /* Offers are separated by commas (no parameter value here holds one). */
    for (const char *s = offers; s && *s;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (offer_acceptable(s, n)) {
            return true;
        }
        s = comma ? comma + 1 : s + n;
    }
    return false;
}
