/* The request head checker: one pass over the bytes, a state per place in the grammar of RFC 9112
 * section 3 (request line) and 5 (field lines). Line ends are CRLF or a bare LF, as Node's parser
 * accepts them. */
#include "transport/head.h"

#include <stdbool.h>
#include <string.h>

typedef enum state {
    S_METHOD,
    S_TARGET_START,
    S_TARGET,
    S_PCT1,
    S_PCT2,
    S_VERSION,
    S_LINE_CR,
    S_FIELD_START,
    S_NAME,
    S_VALUE,
    S_VALUE_CR,
    S_END_CR,
} state;

typedef struct scan {
    state st;
    char word[9]; /* the method, then the version */
    size_t nword;
    unsigned fields;
    unsigned char pct_hi;
    const char *why;
} scan;

/* RFC 9110 section 5.6.2: tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The methods libwebsockets 4.1.6 parses (server.c `methods[]`): any other it cannot route. */
static bool known_method(const char *m)
{
    static const char *const methods[] = {"GET",   "POST",   "OPTIONS", "PUT",
                                          "PATCH", "DELETE", "CONNECT", "HEAD"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(m, methods[i]) == 0) {
            return true;
        }
    }
    return false;
}

static sioc__head_verdict bad(scan *s, const char *why)
{
    s->why = why;
    return SIOC__HEAD_BAD;
}

static sioc__head_verdict on_method(scan *s, unsigned char c)
{
    if (c == ' ' && s->nword) {
        s->word[s->nword] = '\0';
        s->nword = 0;
        s->st = S_TARGET_START;
        return known_method(s->word) ? SIOC__HEAD_PARTIAL : bad(s, "unknown method");
    }
    if (c < 'A' || c > 'Z' || s->nword + 1 >= sizeof(s->word)) {
        return bad(s, "malformed request line");
    }
    s->word[s->nword++] = (char)c;
    return SIOC__HEAD_PARTIAL;
}

/* The target: visible ASCII or any byte >= 0x80, %-escapes of two hex digits that do not decode to
 * NUL (libwebsockets decodes the target and drops the connection on either). Each '&' or ';' takes
 * one more of libwebsockets' header fragments, so it counts as a field. */
static sioc__head_verdict on_target(scan *s, unsigned char c)
{
    if (c == ' ') {
        if (s->st == S_TARGET_START) {
            return bad(s, "malformed request line");
        }
        s->st = S_VERSION;
        return SIOC__HEAD_PARTIAL;
    }
    if (c <= 0x20 || c == 0x7f) {
        return bad(s, "control character in the URL");
    }
    s->st = S_TARGET;
    if (c == '%') {
        s->st = S_PCT1;
    } else if (c == '&' || c == ';' || c == '?') {
        s->fields++;
    }
    return SIOC__HEAD_PARTIAL;
}

static sioc__head_verdict on_escape(scan *s, unsigned char c)
{
    int v = hex_value(c);
    if (v < 0) {
        return bad(s, "malformed %-escape in the URL");
    }
    if (s->st == S_PCT1) {
        s->pct_hi = (unsigned char)v;
        s->st = S_PCT2;
        return SIOC__HEAD_PARTIAL;
    }
    if (s->pct_hi == 0 && v == 0) {
        return bad(s, "%00 in the URL");
    }
    s->st = S_TARGET;
    return SIOC__HEAD_PARTIAL;
}

/* "HTTP/1.1" or "HTTP/1.0": the only versions served on a plain connection (HTTP/2 comes through
 * TLS, and `PRI * HTTP/2.0` is refused as Node's HTTP/1 server refuses it). */
static sioc__head_verdict on_version(scan *s, unsigned char c)
{
    if (c == '\r' || c == '\n') {
        s->word[s->nword] = '\0';
        if (strcmp(s->word, "HTTP/1.1") != 0 && strcmp(s->word, "HTTP/1.0") != 0) {
            return bad(s, "unknown HTTP version");
        }
        s->st = c == '\r' ? S_LINE_CR : S_FIELD_START;
        return SIOC__HEAD_PARTIAL;
    }
    if (s->nword + 1 >= sizeof(s->word)) {
        return bad(s, "unknown HTTP version");
    }
    s->word[s->nword++] = (char)c;
    return SIOC__HEAD_PARTIAL;
}

/* A field line starts with a token (no obsolete line folding, no space before the colon). */
static sioc__head_verdict on_field_start(scan *s, unsigned char c)
{
    if (c == '\r') {
        s->st = S_END_CR;
        return SIOC__HEAD_PARTIAL;
    }
    if (!is_tchar(c)) {
        return bad(s, c == ' ' || c == '\t' ? "folded header line" : "malformed header name");
    }
    s->fields++;
    s->st = S_NAME;
    return SIOC__HEAD_PARTIAL;
}

static sioc__head_verdict on_name(scan *s, unsigned char c)
{
    if (c == ':') {
        s->st = S_VALUE;
        return SIOC__HEAD_PARTIAL;
    }
    if (c == '\r' || c == '\n') {
        return bad(s, "header line without a colon");
    }
    return is_tchar(c) ? SIOC__HEAD_PARTIAL : bad(s, "malformed header name");
}

/* RFC 9110 section 5.5: field values hold visible characters, spaces, tabs and obs-text. */
static sioc__head_verdict on_value(scan *s, unsigned char c)
{
    if (c == '\r') {
        s->st = S_VALUE_CR;
    } else if (c == '\n') {
        s->st = S_FIELD_START;
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return bad(s, "control character in a header value");
    }
    return SIOC__HEAD_PARTIAL;
}

/* After a CR only an LF may come. */
static sioc__head_verdict on_cr(scan *s, unsigned char c, state next)
{
    if (c != '\n') {
        return bad(s, "CR without LF");
    }
    s->st = next;
    return SIOC__HEAD_PARTIAL;
}

static sioc__head_verdict step(scan *s, unsigned char c)
{
    switch (s->st) {
    case S_METHOD:
        return on_method(s, c);
    case S_TARGET_START:
    case S_TARGET:
        return on_target(s, c);
    case S_PCT1:
    case S_PCT2:
        return on_escape(s, c);
    case S_VERSION:
        return on_version(s, c);
    case S_LINE_CR:
        return on_cr(s, c, S_FIELD_START);
    case S_FIELD_START:
        return c == '\n' ? SIOC__HEAD_OK : on_field_start(s, c);
    case S_NAME:
        return on_name(s, c);
    case S_VALUE:
        return on_value(s, c);
    case S_VALUE_CR:
        return on_cr(s, c, S_FIELD_START);
    case S_END_CR:
        return c == '\n' ? SIOC__HEAD_OK : bad(s, "CR without LF");
    }
    return bad(s, "unreachable");
}

/* Bytes that change nothing in the current state (most of a head: header values, names and the
 * URL's path), passed over without a step each: every connection's head goes through here. */
static size_t skip_plain(state st, const unsigned char *p, size_t i, size_t end)
{
    switch (st) {
    case S_VALUE:
        while (i < end && p[i] >= 0x20 && p[i] != 0x7f) {
            i++;
        }
        break;
    case S_TARGET:
        while (i < end && p[i] > 0x20 && p[i] != 0x7f && p[i] != '%' && p[i] != '&' &&
               p[i] != ';' && p[i] != '?') {
            i++;
        }
        break;
    case S_NAME:
        while (i < end && (((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') || p[i] == '-' ||
                           (p[i] >= '0' && p[i] <= '9'))) {
            i++;
        }
        break;
    default:
        break;
    }
    return i;
}

sioc__head_verdict sioc__head_check(const char *buf, size_t len, const sioc__head_limits *lim,
                                    size_t *head_len, const char **why)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t end = len < lim->max_bytes ? len : lim->max_bytes;
    scan s = {.st = S_METHOD};
    sioc__head_verdict v = SIOC__HEAD_PARTIAL;
    size_t i = 0;
    /* Node's maxHeaderSize and maxHeadersCount: past either, 431 at once. */
    while (v == SIOC__HEAD_PARTIAL && i < end && s.fields <= lim->max_fields) {
        i = skip_plain(s.st, p, i, end);
        if (i < end) {
            v = step(&s, p[i++]);
        }
    }
    if (v != SIOC__HEAD_BAD && s.fields > lim->max_fields) {
        v = SIOC__HEAD_TOO_LARGE;
        s.why = "too many header fields";
    } else if (v == SIOC__HEAD_PARTIAL && i >= lim->max_bytes) {
        v = SIOC__HEAD_TOO_LARGE;
        s.why = "request head too large";
    }
    if (v == SIOC__HEAD_OK && head_len) {
        *head_len = i;
    }
    if (why) {
        *why = s.why;
    }
    return v;
}
