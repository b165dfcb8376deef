#include "util/jsonr.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jsonw.h"

typedef struct {
    const char *s;
    size_t n, i;
    sioc__buf scratch; /* strings with escapes, unescaped */
} reader;

static json_t *value(reader *r, int depth);

static void skip_space(reader *r)
{
    while (r->i < r->n) {
        char c = r->s[r->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        r->i++;
    }
}

static int hex4(reader *r, unsigned *out)
{
    if (r->n - r->i < 4) {
        return -1;
    }
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = r->s[r->i++];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static int put_utf8(sioc__buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return sioc__buf_append(b, u, n);
}

/* After a backslash: one escape, appended to the scratch buffer unescaped. */
static int escape(reader *r)
{
    if (r->i >= r->n) {
        return -1;
    }
    char c = r->s[r->i++], plain;
    switch (c) {
    case '"':
    case '\\':
    case '/':
        plain = c;
        break;
    case 'b':
        plain = '\b';
        break;
    case 'f':
        plain = '\f';
        break;
    case 'n':
        plain = '\n';
        break;
    case 'r':
        plain = '\r';
        break;
    case 't':
        plain = '\t';
        break;
    case 'u': {
        unsigned hi, lo;
        if (hex4(r, &hi) < 0) {
            return -1;
        }
        unsigned long cp = hi;
        if (hi >= 0xDC00 && hi <= 0xDFFF) {
            return -1; /* a low surrogate first */
        }
        if (hi >= 0xD800 && hi <= 0xDBFF) {
            if (r->n - r->i < 2 || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u') {
                return -1;
            }
            r->i += 2;
            if (hex4(r, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                return -1;
            }
            cp = 0x10000 + ((unsigned long)(hi - 0xD800) << 10) + (lo - 0xDC00);
        }
        return put_utf8(&r->scratch, cp);
    }
    default:
        return -1;
    }
    return sioc__buf_append_char(&r->scratch, plain);
}

/* After the opening quote: the string's bytes, in place when it has no escape (`*out` points into
 * the text) or unescaped in the scratch buffer. */
static int string(reader *r, const char **out, size_t *len)
{
    size_t start = r->i;
    r->i += sioc__json_plain_run(r->s + r->i, r->n - r->i);
    if (r->i >= r->n || (unsigned char)r->s[r->i] < 0x20) {
        return -1;
    }
    if (!sioc__utf8_valid(r->s + start, r->i - start)) {
        return -1;
    }
    if (r->s[r->i] == '"') {
        *out = r->s + start, *len = r->i - start;
        r->i++;
        return 0;
    }
    /* Escapes: the run so far, then the rest a byte at a time. */
    r->scratch.len = 0;
    if (sioc__buf_append(&r->scratch, r->s + start, r->i - start) < 0) {
        return -1;
    }
    size_t run = r->i; /* plain bytes from here not yet copied */
    while (r->i < r->n) {
        unsigned char c = (unsigned char)r->s[r->i];
        if (c < 0x20) {
            return -1;
        }
        if (c != '"' && c != '\\') {
            r->i++;
            continue;
        }
        if (!sioc__utf8_valid(r->s + run, r->i - run) ||
            sioc__buf_append(&r->scratch, r->s + run, r->i - run) < 0) {
            return -1;
        }
        r->i++;
        if (c == '"') {
            *out = r->scratch.data, *len = r->scratch.len;
            return 0;
        }
        if (escape(r) < 0) {
            return -1;
        }
        run = r->i;
    }
    return -1;
}

static json_t *number(reader *r)
{
    size_t start = r->i;
    bool real = false;
    if (r->s[r->i] == '-') {
        r->i++;
    }
    if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') {
        return NULL;
    }
    if (r->s[r->i] == '0') {
        r->i++;
    } else {
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
            r->i++;
        }
    }
    if (r->i < r->n && r->s[r->i] == '.') {
        real = true;
        size_t digits = ++r->i;
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
            r->i++;
        }
        if (r->i == digits) {
            return NULL;
        }
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        real = true;
        r->i++;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) {
            r->i++;
        }
        size_t digits = r->i;
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
            r->i++;
        }
        if (r->i == digits) {
            return NULL;
        }
    }
    char tmp[64], *text = tmp, *end;
    size_t len = r->i - start;
    if (len >= sizeof(tmp) && !(text = malloc(len + 1))) {
        return NULL;
    }
    memcpy(text, r->s + start, len);
    text[len] = '\0';
    json_t *v = NULL;
    errno = 0;
    if (!real) {
        long long i = strtoll(text, &end, 10);
        real = errno == ERANGE; /* beyond 64 bits: a real, as JSON.parse reads it */
        v = real ? NULL : json_integer(i);
    }
    if (real) {
        errno = 0;
        double d = strtod(text, &end);
        /* jansson refuses reals that overflow; underflow to zero it accepts */
        v = (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) ? NULL : json_real(d);
    }
    if (text != tmp) {
        free(text);
    }
    return v;
}

/* After an element or a member: 1 when `close` ends the container, 0 after a comma (another
 * follows), -1 for anything else. */
static int next_item(reader *r, char close)
{
    skip_space(r);
    if (r->i >= r->n) {
        return -1;
    }
    char c = r->s[r->i++];
    return c == close ? 1 : c == ',' ? 0 : -1;
}

static json_t *array(reader *r, int depth)
{
    json_t *a = json_array();
    skip_space(r);
    if (r->i < r->n && r->s[r->i] == ']') {
        r->i++;
        return a;
    }
    while (a) {
        json_t *item = value(r, depth);
        if (!item || json_array_append_new(a, item) < 0) {
            break;
        }
        int next = next_item(r, ']');
        if (next > 0) {
            return a;
        }
        if (next < 0) {
            break;
        }
    }
    json_decref(a);
    return NULL;
}

static json_t *object(reader *r, int depth)
{
    json_t *o = json_object();
    skip_space(r);
    if (r->i < r->n && r->s[r->i] == '}') {
        r->i++;
        return o;
    }
    while (o) {
        const char *key;
        size_t klen;
        if (r->i >= r->n || r->s[r->i] != '"') {
            break;
        }
        r->i++;
        if (string(r, &key, &klen) < 0 || memchr(key, '\0', klen)) {
            break; /* jansson refuses a NUL in a key, JSON_ALLOW_NUL or not */
        }
        /* The key may sit in the scratch buffer, which the value's strings reuse. */
        char small[64], *k = klen < sizeof(small) ? small : malloc(klen + 1);
        if (!k) {
            break;
        }
        memcpy(k, key, klen);
        skip_space(r);
        json_t *item = NULL;
        if (r->i < r->n && r->s[r->i] == ':') {
            r->i++;
            item = value(r, depth);
        }
        int rc = item ? json_object_setn_new_nocheck(o, k, klen, item) : -1;
        if (k != small) {
            free(k);
        }
        int next = rc < 0 ? -1 : next_item(r, '}');
        if (next > 0) {
            return o;
        }
        if (next < 0) {
            break;
        }
        skip_space(r);
    }
    json_decref(o);
    return NULL;
}

static bool word(reader *r, const char *w, size_t n)
{
    if (r->n - r->i < n || memcmp(r->s + r->i, w, n) != 0) {
        return false;
    }
    r->i += n;
    return true;
}

/* `depth`: the containers around the value. jansson counts the value itself, scalars too. */
static json_t *value(reader *r, int depth)
{
    skip_space(r);
    if (r->i >= r->n || depth >= SIOC__JSON_MAX_DEPTH) {
        return NULL;
    }
    char c = r->s[r->i];
    switch (c) {
    case '[':
    case '{':
        r->i++;
        return c == '[' ? array(r, depth + 1) : object(r, depth + 1);
    case '"': {
        const char *s;
        size_t len;
        r->i++;
        return string(r, &s, &len) < 0 ? NULL : json_stringn_nocheck(s, len);
    }
    case 't':
        return word(r, "true", 4) ? json_true() : NULL;
    case 'f':
        return word(r, "false", 5) ? json_false() : NULL;
    case 'n':
        return word(r, "null", 4) ? json_null() : NULL;
    default:
        return c == '-' || (c >= '0' && c <= '9') ? number(r) : NULL;
    }
}

json_t *sioc__json_parse(const char *s, size_t n)
{
    reader r = {.s = s, .n = n};
    json_t *v = value(&r, 0);
    skip_space(&r);
    if (v && r.i != r.n) {
        json_decref(v);
        v = NULL;
    }
    sioc__buf_free(&r.scratch);
    return v;
}
