/* JSONP polling: Engine.IO payloads inside a script (GET) and a form field (POST), for browsers
 * without XHR2. The payload itself is the session's usual polling payload. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "eio/codec.h"
#include "util/query.h"

/* The escape for one byte of a JavaScript string literal, or NULL when it goes as is. */
static const char *escape_of(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        if (c < 0x20) {
            snprintf(tmp, 8, "\\u%04x", c);
            return tmp;
        }
        return NULL;
    }
}

int sioc__jsonp_wrap(sioc__buf *out, const char *index, const char *payload, size_t n)
{
    int rc = sioc__buf_append(out, "___eio[", 7);
    for (const char *p = index; rc == 0 && p && *p; p++) {
        if (*p >= '0' && *p <= '9') {
            rc = sioc__buf_append_char(out, *p);
        }
    }
    rc = rc ? rc : sioc__buf_append(out, "](\"", 3);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char tmp[8];
        const char *esc = escape_of((unsigned char)payload[i], tmp);
        /* U+2028 and U+2029 end a line in JavaScript (before ES2019) but not in JSON. */
        if (!esc && i + 2 < n && memcmp(payload + i, "\xe2\x80", 2) == 0 &&
            (payload[i + 2] == '\xa8' || payload[i + 2] == '\xa9')) {
            esc = payload[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
            i += 2;
        }
        rc = esc ? sioc__buf_append(out, esc, strlen(esc)) : sioc__buf_append_char(out, payload[i]);
    }
    return rc ? rc : sioc__buf_append(out, "\");", 3);
}

/* The client sent each newline as the two characters \n and each \n already in the payload as
 * \\n (a form field would mangle real newlines): undo both, as Node's JSONP transport does. */
static size_t unescape_newlines(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 2 < n && s[i] == '\\' && s[i + 1] == '\\' && s[i + 2] == 'n') {
            s[o++] = '\\';
            s[o++] = 'n';
            i += 3;
        } else if (i + 1 < n && s[i] == '\\' && s[i + 1] == 'n') {
            s[o++] = '\n';
            i += 2;
        } else {
            s[o++] = s[i++];
        }
    }
    return o;
}

long sioc__jsonp_unwrap(char *body, size_t len)
{
    for (size_t i = 0; i < len;) {
        char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end - i >= 2 && body[i] == 'd' && body[i + 1] == '=') {
            size_t n = sioc__form_decode(body + i + 2, end - i - 2);
            memmove(body, body + i + 2, n);
            return (long)unescape_newlines(body, n);
        }
        i = end + 1;
    }
    return -1;
}
