#include "util/jsonw.h"

#include <string.h>

/* The length of the UTF-8 sequence at s[0] (of `n` bytes) by jansson's rules, or 0. */
static size_t sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (len <= 1) {
        return len;
    }
    if (len > n) {
        return 0;
    }
    unsigned long cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[k] & 0x3F);
    }
    bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    return overlong || surrogate || cp > 0x10FFFF ? 0 : len;
}

bool sioc__utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len) {
        if ((len = sequence((const unsigned char *)s + i, n - i)) == 0) {
            return false;
        }
    }
    return true;
}

/* The escape for byte `c`, or NULL when it goes as it is. `hex` receives \u00XX forms. */
static const char *escape(unsigned char c, char hex[7])
{
    static const char digits[] = "0123456789ABCDEF";
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c >= 0x20) {
            return NULL;
        }
        hex[0] = '\\', hex[1] = 'u', hex[2] = '0', hex[3] = '0';
        hex[4] = digits[c >> 4], hex[5] = digits[c & 15], hex[6] = '\0';
        return hex;
    }
}

int sioc__json_append_string(sioc__buf *b, const char *s, size_t n)
{
    if (!sioc__utf8_valid(s, n)) {
        return -2;
    }
    size_t start = b->len;
    if (sioc__buf_append_char(b, '"') < 0) {
        return -1;
    }
    size_t run = 0; /* bytes before s[i] that go as they are, not yet appended */
    char hex[7];
    for (size_t i = 0; i < n; i++) {
        const char *e = escape((unsigned char)s[i], hex);
        if (!e) {
            continue;
        }
        if (sioc__buf_append(b, s + run, i - run) < 0 || sioc__buf_append(b, e, strlen(e)) < 0) {
            b->len = start;
            return -1;
        }
        run = i + 1;
    }
    if (sioc__buf_append(b, s + run, n - run) < 0 || sioc__buf_append_char(b, '"') < 0) {
        b->len = start;
        return -1;
    }
    return 0;
}
