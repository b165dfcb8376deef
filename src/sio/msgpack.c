/* MessagePack as notepack.io writes and reads it (msgpack.h). */
#include "sio/msgpack.h"

#include <math.h> /* isfinite, a macro: no libm */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sioc.h"

/* ---- encoding ---- */

/* A double JavaScript would print as an integer, and that an int64 holds exactly (the safe
 * integers). */
static bool integral(double d)
{
    return d >= -9007199254740991.0 && d <= 9007199254740991.0 && (double)(int64_t)d == d;
}

/* A type byte followed by `n` bytes of `v`, big-endian. */
static int put(sioc__buf *out, uint8_t type, uint64_t v, int n)
{
    uint8_t b[9] = {type};
    for (int i = 0; i < n; i++) {
        b[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    return sioc__buf_append(out, b, (size_t)n + 1);
}

/* A length in the smallest of the three forms after a fix form, as notepack picks them. */
static int put_length(sioc__buf *out, size_t n, uint8_t fix, size_t fix_max, uint8_t first)
{
    if (fix && n < fix_max) {
        return put(out, (uint8_t)(fix | n), 0, 0);
    }
    if (first != 0xdc && first != 0xde && n < 0x100) { /* arrays and maps have no 8-bit form */
        return put(out, first, n, 1);
    }
    uint8_t base = first == 0xdc || first == 0xde ? first : (uint8_t)(first + 1);
    return n < 0x10000 ? put(out, base, n, 2) : put(out, (uint8_t)(base + 1), n, 4);
}

static int put_int(sioc__buf *out, json_int_t v)
{
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        return u < 0x80          ? put(out, (uint8_t)u, 0, 0)
               : u < 0x100       ? put(out, 0xcc, u, 1)
               : u < 0x10000     ? put(out, 0xcd, u, 2)
               : u < 0x100000000 ? put(out, 0xce, u, 4)
                                 : put(out, 0xcf, u, 8);
    }
    uint64_t u = (uint64_t)v;
    return v >= -0x20           ? put(out, (uint8_t)u, 0, 0)
           : v >= -0x80         ? put(out, 0xd0, u, 1)
           : v >= -0x8000       ? put(out, 0xd1, u, 2)
           : v >= -0x80000000LL ? put(out, 0xd2, u, 4)
                                : put(out, 0xd3, u, 8);
}

static int put_real(sioc__buf *out, double d)
{
    /* JavaScript has one number type: an integral one goes as an integer, as notepack sends it. */
    if (integral(d)) {
        return put_int(out, (json_int_t)d);
    }
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    return put(out, 0xcb, bits, 8);
}

static int put_bytes(sioc__buf *out, const void *data, size_t n, uint8_t fix, uint8_t first)
{
    if (put_length(out, n, fix, 0x20, first) < 0) {
        return -1;
    }
    return n ? sioc__buf_append(out, data, n) : 0;
}

static int encode(sioc__buf *out, const json_t *v)
{
    const void *bin;
    size_t n;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (sioc_binary_get(v, &bin, &n)) {
            return put_bytes(out, bin, n, 0, 0xc4);
        }
        if (put_length(out, json_object_size(v), 0x80, 16, 0xde) < 0) {
            return -1;
        }
        const char *key;
        size_t klen;
        json_t *member;
        json_object_keylen_foreach((json_t *)v, key, klen, member)
        { /* keys may hold NULs */
            if (put_bytes(out, key, klen, 0xa0, 0xd9) < 0 || encode(out, member) < 0) {
                return -1;
            }
        }
        return 0;
    }
    case JSON_ARRAY: {
        if (put_length(out, json_array_size(v), 0x90, 16, 0xdc) < 0) {
            return -1;
        }
        size_t i;
        json_t *item;
        json_array_foreach (v, i, item) {
            if (encode(out, item) < 0) {
                return -1;
            }
        }
        return 0;
    }
    case JSON_STRING:
        return put_bytes(out, json_string_value(v), json_string_length(v), 0xa0, 0xd9);
    case JSON_INTEGER:
        return put_int(out, json_integer_value(v));
    case JSON_REAL:
        return put_real(out, json_real_value(v));
    case JSON_TRUE:
        return put(out, 0xc3, 0, 0);
    case JSON_FALSE:
        return put(out, 0xc2, 0, 0);
    default:
        return put(out, 0xc0, 0, 0);
    }
}

int sioc__msgpack_encode(sioc__buf *out, const json_t *v)
{
    return v ? encode(out, v) : put(out, 0xc0, 0, 0);
}

/* ---- decoding ---- */

typedef struct reader {
    const uint8_t *p, *end;
    int depth;
} reader;

/* Marks a map member to leave out: notepack 2.x's undefined. */
static json_t undefined_marker;
#define UNDEFINED (&undefined_marker)

static int take(reader *r, size_t n, const uint8_t **at)
{
    if ((size_t)(r->end - r->p) < n) {
        return -1;
    }
    *at = r->p;
    r->p += n;
    return 0;
}

static int take_uint(reader *r, int n, uint64_t *v)
{
    const uint8_t *b;
    if (take(r, (size_t)n, &b) < 0) {
        return -1;
    }
    *v = 0;
    for (int i = 0; i < n; i++) {
        *v = *v << 8 | b[i];
    }
    return 0;
}

static json_t *number(double d)
{
    if (!isfinite(d)) {
        return json_null(); /* what JSON makes of NaN and the infinities */
    }
    return integral(d) ? json_integer((json_int_t)d) : json_real(d);
}

/* A date as JavaScript's Date.prototype.toJSON writes it, from ms since the epoch. */
static json_t *date(int64_t ms)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int millis = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        return json_null();
    }
    char text[48];
    long year = (long)tm.tm_year + 1900;
    if (year >= 0 && year <= 9999) {
        snprintf(text, sizeof(text), "%04ld-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    } else { /* JavaScript's expanded years */
        snprintf(text, sizeof(text), "%c%06ld-%02d-%02dT%02d:%02d:%02d.%03dZ", year < 0 ? '-' : '+',
                 year < 0 ? -year : year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, millis);
    }
    return json_string(text);
}

static uint64_t be(const uint8_t *b, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

/* Timestamp ext -1 (32, 64 or 96 bits), as a date. */
static json_t *timestamp(const uint8_t *b, size_t n)
{
    int64_t secs;
    uint64_t nsec;
    if (n == 4) {
        secs = (int64_t)be(b, 4);
        nsec = 0;
    } else if (n == 8) {
        uint64_t v = be(b, 8);
        nsec = v >> 34;
        secs = (int64_t)(v & 0x3ffffffffULL);
    } else {
        nsec = be(b, 4);
        secs = (int64_t)be(b + 4, 8);
    }
    if (secs > 8640000000000LL || secs < -8640000000000LL) {
        return json_null(); /* past what a Date holds: an Invalid Date, null in JSON */
    }
    return date(secs * 1000 + (int64_t)(nsec / 1000000));
}

/* An ext value: type 0 is binary (2.x's ArrayBuffer), except 2.x's undefined (fixext1) and dates
 * (fixext8); type -1 is a timestamp. */
static json_t *ext(reader *r, size_t n, bool fixed)
{
    const uint8_t *t, *b;
    if (take(r, 1, &t) < 0 || take(r, n, &b) < 0) {
        return NULL;
    }
    int8_t type = (int8_t)t[0];
    if (type == 0 && fixed && n == 1) {
        return UNDEFINED;
    }
    if (type == 0 && fixed && n == 8) {
        int64_t ms = (int64_t)(int32_t)be(b, 4) * 4294967296LL + (int64_t)be(b + 4, 4);
        return ms > 8640000000000000LL || ms < -8640000000000000LL ? json_null() : date(ms);
    }
    if (type == 0) {
        return sioc_binary_new(b, n);
    }
    if (type == -1 && (n == 4 || n == 8 || n == 12)) {
        return timestamp(b, n);
    }
    return NULL;
}

static json_t *value(reader *r);

/* A container's element count must be possible: each element takes a byte at least, so a count
 * past the input cannot make a large allocation. */
static bool plausible(const reader *r, uint64_t n)
{
    return n <= (uint64_t)(r->end - r->p);
}

static json_t *array(reader *r, uint64_t n)
{
    json_t *a = plausible(r, n) && r->depth < SIOC__MSGPACK_MAX_DEPTH ? json_array() : NULL;
    r->depth++;
    for (uint64_t i = 0; a && i < n; i++) {
        json_t *v = value(r);
        if (!v || json_array_append_new(a, v == UNDEFINED ? json_null() : v) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    r->depth--;
    return a;
}

static int key_of(reader *r, char *buf, size_t cap, json_t **owned)
{
    json_t *k = value(r);
    *owned = k;
    if (!k || k == UNDEFINED) {
        *owned = NULL;
        return -1;
    }
    if (json_is_integer(k)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
        return 0;
    }
    return json_is_string(k) ? 0 : -1;
}

static json_t *map(reader *r, uint64_t n)
{
    json_t *m = plausible(r, n) && r->depth < SIOC__MSGPACK_MAX_DEPTH ? json_object() : NULL;
    r->depth++;
    for (uint64_t i = 0; m && i < n; i++) {
        char num[32];
        json_t *k;
        int rc = key_of(r, num, sizeof(num), &k);
        json_t *v = rc == 0 ? value(r) : NULL;
        if (v && v != UNDEFINED) {
            rc = json_is_string(k)
                     ? json_object_setn(m, json_string_value(k), json_string_length(k), v)
                     : json_object_set(m, num, v);
            json_decref(v);
        }
        json_decref(k);
        if (rc < 0 || !v) {
            json_decref(m);
            m = NULL;
        }
    }
    r->depth--;
    return m;
}

static json_t *str(reader *r, size_t n)
{
    const uint8_t *b;
    return take(r, n, &b) < 0 ? NULL : json_stringn((const char *)b, n);
}

static json_t *bin(reader *r, size_t n)
{
    const uint8_t *b;
    return take(r, n, &b) < 0 ? NULL : sioc_binary_new(b, n);
}

/* What follows a type byte of the 0xc0-0xdf range. */
static json_t *tagged(reader *r, uint8_t t)
{
    uint64_t u;
    static const int width[] = {
        [0xc4 - 0xc4] = 1, [0xc5 - 0xc4] = 2, [0xc6 - 0xc4] = 4, /* bin */
        [0xc7 - 0xc4] = 1, [0xc8 - 0xc4] = 2, [0xc9 - 0xc4] = 4, /* ext */
    };
    switch (t) {
    case 0xc0:
        return json_null();
    case 0xc2:
        return json_false();
    case 0xc3:
        return json_true();
    case 0xc4:
    case 0xc5:
    case 0xc6:
        return take_uint(r, width[t - 0xc4], &u) < 0 ? NULL : bin(r, (size_t)u);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        return take_uint(r, width[t - 0xc4], &u) < 0 ? NULL : ext(r, (size_t)u, false);
    case 0xca: {
        float f;
        uint32_t bits;
        if (take_uint(r, 4, &u) < 0) {
            return NULL;
        }
        bits = (uint32_t)u;
        memcpy(&f, &bits, sizeof(f));
        return number(f);
    }
    case 0xcb: {
        double d;
        if (take_uint(r, 8, &u) < 0) {
            return NULL;
        }
        memcpy(&d, &u, sizeof(d));
        return number(d);
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
        return take_uint(r, 1 << (t - 0xcc), &u) < 0 ? NULL : json_integer((json_int_t)u);
    case 0xcf:
        if (take_uint(r, 8, &u) < 0) {
            return NULL;
        }
        return u <= INT64_MAX ? json_integer((json_int_t)u) : number((double)u);
    case 0xd0:
        return take_uint(r, 1, &u) < 0 ? NULL : json_integer((int8_t)u);
    case 0xd1:
        return take_uint(r, 2, &u) < 0 ? NULL : json_integer((int16_t)u);
    case 0xd2:
        return take_uint(r, 4, &u) < 0 ? NULL : json_integer((int32_t)u);
    case 0xd3:
        return take_uint(r, 8, &u) < 0 ? NULL : json_integer((json_int_t)(int64_t)u);
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return ext(r, (size_t)1 << (t - 0xd4), true);
    case 0xd9:
    case 0xda:
    case 0xdb:
        return take_uint(r, 1 << (t - 0xd9), &u) < 0 ? NULL : str(r, (size_t)u);
    case 0xdc:
    case 0xdd:
        return take_uint(r, t == 0xdc ? 2 : 4, &u) < 0 ? NULL : array(r, u);
    case 0xde:
    case 0xdf:
        return take_uint(r, t == 0xde ? 2 : 4, &u) < 0 ? NULL : map(r, u);
    default: /* 0xc1: never used */
        return NULL;
    }
}

static json_t *value(reader *r)
{
    const uint8_t *t;
    if (take(r, 1, &t) < 0) {
        return NULL;
    }
    uint8_t b = t[0];
    if (b < 0x80) {
        return json_integer(b);
    }
    if (b >= 0xe0) {
        return json_integer((int8_t)b);
    }
    if (b >= 0xa0 && b < 0xc0) {
        return str(r, b & 0x1f);
    }
    if (b >= 0xc0) {
        return tagged(r, b);
    }
    return b < 0x90 ? map(r, b & 0x0f) : array(r, b & 0x0f);
}

long sioc__msgpack_decode(const void *data, size_t len, json_t **out)
{
    reader r = {data, (const uint8_t *)data + len, 0};
    json_t *v = len ? value(&r) : NULL;
    if (!v) {
        return -1;
    }
    *out = v == UNDEFINED ? json_null() : v;
    return (long)(r.p - (const uint8_t *)data);
}
