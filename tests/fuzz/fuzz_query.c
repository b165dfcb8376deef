/* Fuzz target: query strings and JSONP forms — Node-style query objects (a v4 namespace's query
 * becomes its auth), the JSONP POST unwrapping, and the JSONP script wrapping, whose string must
 * read back, as JSON, to exactly the payload it wrapped. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio/codec.h"
#include "util/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ___eio[...]("<payload>"); must hold the payload as a JSON string. */
static void check_wrap(const char *payload, size_t n)
{
    json_t *want = json_stringn(payload, n);
    if (!want) {
        return; /* not UTF-8: no JSON string to compare with */
    }
    sioc__buf out = {0};
    if (sioc__jsonp_wrap(&out, "12x3", payload, n) == 0) {
        const char *head = "___eio[123](";
        if (out.len < strlen(head) + 2 || memcmp(out.data, head, strlen(head)) != 0 ||
            memcmp(out.data + out.len - 2, ");", 2) != 0) {
            abort();
        }
        size_t start = strlen(head), len = out.len - start - 2;
        json_error_t err;
        json_t *got = json_loadb(out.data + start, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (!got || !json_equal(got, want)) {
            abort();
        }
        json_decref(got);
    }
    json_decref(want);
    sioc__buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    json_t *q = sioc__query_object(text); /* stops at a NUL, as a C string does */
    char *dumped = q ? json_dumps(q, JSON_COMPACT) : NULL;
    free(dumped);
    json_decref(q);
    check_wrap(text, size);
    long n = sioc__jsonp_unwrap(text, size);
    if (n > (long)size) {
        abort(); /* unwrapping never lengthens */
    }
    free(text);
    return 0;
}
