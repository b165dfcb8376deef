/* Fuzz target: Node's handshake object (src/eio/handshake.c) from any request. The input is
 * NUL-separated fields: the first byte's bits say whether a proxy is trusted; then the path, then
 * headers as "name:value" until an empty field, then query fragments. Whatever comes in, the text
 * must parse as JSON with Node's eight members and their types (the url always among them: it is
 * percent-encoded), and every header that is UTF-8 must come back as given, and none that is
 * not. The request packed as a session keeps it must make the same text. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 32

static bool utf8(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    json_decref(v);
    return v != NULL;
}

/* The value kept for `name` is the last one given (as a JSON object with a repeated key). */
static const char *last_value(const sioc__hs_header *h, size_t n, const char *name, size_t len)
{
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len == len && memcmp(h[i].name, name, len) == 0 &&
            utf8(h[i].value, strlen(h[i].value))) {
            v = h[i].value;
        }
    }
    return v;
}

static void check(const sioc__hs_request *r, const char *text)
{
    json_t *hs = json_loads(text, 0, NULL);
    json_t *headers = json_object_get(hs, "headers"), *query = json_object_get(hs, "query");
    if (!json_is_boolean(json_object_get(hs, "xdomain")) || !json_is_object(headers) ||
        !json_is_string(json_object_get(hs, "time")) ||
        !json_is_string(json_object_get(hs, "address")) ||
        !json_is_false(json_object_get(hs, "secure")) ||
        json_integer_value(json_object_get(hs, "issued")) != (json_int_t)r->now_ms ||
        !json_is_object(query) || !json_is_string(json_object_get(hs, "url")) ||
        json_object_size(hs) != 8) {
        abort();
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        const sioc__hs_header *h = &r->headers[i];
        json_t *got = json_object_getn(headers, h->name, h->name_len);
        const char *want = last_value(r->headers, r->nheaders, h->name, h->name_len);
        bool keyed = utf8(h->name, h->name_len);
        if (keyed && want ? !got || strcmp(json_string_value(got), want) != 0 : got && !want) {
            abort();
        }
    }
    json_decref(hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Fields are copies of exactly their size (plus the NUL), so a read past one is caught. */
    char *fields[2 * MAX + 2];
    size_t nfields = 0;
    const uint8_t *p = size ? data + 1 : data, *end = data + size;
    while (p < end && nfields < 2 * MAX + 2) {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
        fields[nfields] = malloc(n + 1);
        memcpy(fields[nfields], p, n);
        fields[nfields++][n] = '\0';
        p += n + (z ? 1 : 0);
    }
    sioc__hs_header headers[MAX];
    const char *query[MAX];
    sioc__hs_request r = {headers, 0,           nfields ? fields[0] : "/", query,
                          0,       "127.0.0.1", size && (data[0] & 1),     1700000000123ULL};
    size_t i = 1;
    for (; i < nfields && fields[i][0] && r.nheaders < MAX; i++) {
        char *colon = strchr(fields[i], ':');
        size_t nlen = colon ? (size_t)(colon - fields[i]) : strlen(fields[i]);
        headers[r.nheaders++] = (sioc__hs_header){fields[i], nlen, colon ? colon + 1 : ""};
    }
    for (i++; i < nfields && r.nquery < MAX; i++) {
        query[r.nquery++] = fields[i];
    }
    char *text = sioc__handshake_build(&r);
    if (text) {
        check(&r, text);
        /* What a session keeps of the request, packed, makes the same text. */
        char *packed = sioc__handshake_pack(&r);
        char *again = packed ? sioc__handshake_unpack_build(packed) : NULL;
        if (again && strcmp(again, text) != 0) {
            abort();
        }
        free(again);
        free(packed);
    }
    free(text);
    for (size_t k = 0; k < nfields; k++) {
        free(fields[k]);
    }
    return 0;
}
