#include "util/jsonw.h"

#include <assert.h>
#include <stdint.h>
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

/* How many bytes from `s` (of `n`) are ASCII, eight at a time where they can be. */
static size_t ascii_run(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080u) {
            break;
        }
    }
    while (i < n && (unsigned char)s[i] < 0x80) {
        i++;
    }
    return i;
}

#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u

/* Whether a byte of `w` is below 0x20 or is '"' or '\\' (a byte of 0x80 or more is none). */
static bool special_in(uint64_t w)
{
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
    uint64_t low = (w - ONES * 0x20) & ~w;
    uint64_t zero_q = (quote - ONES) & ~quote, zero_b = (backslash - ONES) & ~backslash;
    return ((low | zero_q | zero_b) & HIGHS) != 0;
}

size_t sioc__json_plain_run(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (special_in(w)) {
            break;
        }
    }
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            break;
        }
        i++;
    }
    return i;
}

bool sioc__utf8_valid(const char *s, size_t n)
{
    for (size_t i = ascii_run(s, n), len; i < n; i += len) {
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
    /* Room for the string as it is and its quotes, reserved once; an escape asks for more. */
    size_t start = b->len;
    if (sioc__buf_reserve(b, n + 2) < 0) {
        return -1;
    }
    b->data[b->len++] = '"';
    size_t run = 0; /* bytes before s[i] that go as they are, not yet copied */
    char hex[7];
    for (size_t i = sioc__json_plain_run(s, n); i < n;
         i += 1 + sioc__json_plain_run(s + i + 1, n - i - 1)) {
        const char *e = escape((unsigned char)s[i], hex); /* s[i] needs escaping */
        size_t elen = strlen(e);
        /* the run, the escape, then the rest of the input and the closing quote */
        if (sioc__buf_reserve(b, (i - run) + elen + (n - i - 1) + 1) < 0) {
            b->len = start;
            return -1;
        }
        memcpy(b->data + b->len, s + run, i - run);
        b->len += i - run;
        memcpy(b->data + b->len, e, elen);
        b->len += elen;
        run = i + 1;
    }
    if (n > run) { /* `s` may be NULL when `n` is 0 */
        memcpy(b->data + b->len, s + run, n - run);
        b->len += n - run;
    }
    b->data[b->len++] = '"';
    assert(b->len <= b->cap);
    return 0;
}

static int dump_value(sioc__buf *b, const json_t *v, int depth);

static int dump_array(sioc__buf *b, const json_t *v, int depth)
{
    if (sioc__buf_append_char(b, '[') < 0) {
        return -1;
    }
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        if ((i && sioc__buf_append_char(b, ',') < 0) ||
            dump_value(b, json_array_get(v, i), depth + 1) < 0) {
            return -1;
        }
    }
    return sioc__buf_append_char(b, ']');
}

static int dump_object(sioc__buf *b, const json_t *v, int depth)
{
    if (sioc__buf_append_char(b, '{') < 0) {
        return -1;
    }
    bool first = true;
    /* jansson's iterator takes a non-const object but does not change it. */
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        if ((!first && sioc__buf_append_char(b, ',') < 0) ||
            sioc__json_append_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) !=
                0 ||
            sioc__buf_append_char(b, ':') < 0 ||
            dump_value(b, json_object_iter_value(it), depth + 1) < 0) {
            return -1;
        }
        first = false;
    }
    return sioc__buf_append_char(b, '}');
}

static int dump_integer(sioc__buf *b, json_int_t i)
{
    if (i < 0) {
        return sioc__buf_append_char(b, '-') < 0
                   ? -1
                   : sioc__buf_append_uint(b, (uint64_t)0 - (uint64_t)i);
    }
    return sioc__buf_append_uint(b, (uint64_t)i);
}

/* Reals are rare on this path and jansson's form of them ("%.17g", then ".0" or an exponent
 * tidied) is worth keeping exactly: jansson writes them. */
static int dump_real(sioc__buf *b, const json_t *v)
{
    char tmp[64];
    size_t n = json_dumpb(v, tmp, sizeof(tmp), JSON_ENCODE_ANY);
    return n == 0 || n > sizeof(tmp) ? -1 : sioc__buf_append(b, tmp, n);
}

static int dump_value(sioc__buf *b, const json_t *v, int depth)
{
    if (!v) {
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return depth > SIOC__JSON_MAX_DEPTH ? -1 : dump_object(b, v, depth);
    case JSON_ARRAY:
        return depth > SIOC__JSON_MAX_DEPTH ? -1 : dump_array(b, v, depth);
    case JSON_STRING:
        return sioc__json_append_string(b, json_string_value(v), json_string_length(v)) == 0 ? 0
                                                                                             : -1;
    case JSON_INTEGER:
        return dump_integer(b, json_integer_value(v));
    case JSON_REAL:
        return dump_real(b, v);
    case JSON_TRUE:
        return sioc__buf_append(b, "true", 4);
    case JSON_FALSE:
        return sioc__buf_append(b, "false", 5);
    case JSON_NULL:
        return sioc__buf_append(b, "null", 4);
    }
    return -1;
}

int sioc__json_dump(sioc__buf *b, const json_t *v)
{
    size_t start = b->len;
    if (dump_value(b, v, 1) < 0) {
        b->len = start;
        return -1;
    }
    return 0;
}
