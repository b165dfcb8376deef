/* Fuzz target: JSON read and written directly (src/util/jsonr.c, jsonw.c), against jansson as the
 * oracle. What jansson's parser (JSON_DECODE_ANY | JSON_ALLOW_NUL) accepts, ours accepts as equal
 * values, and our dump of them is jansson's compact dump byte for byte; what jansson refuses, ours
 * refuses, but for an integer beyond 64 bits (numeric overflow), which ours reads as a real. The
 * input is handed over as a copy of exactly its size, so that reading one byte past it is caught.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonr.h"
#include "util/jsonw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ours on the text with every NUL byte that follows a digit or a letter taken out. */
static json_t *without_nul_after_tokens(const char *s, size_t n)
{
    char *t = malloc(n ? n : 1);
    size_t m = 0;
    if (!t) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char prev = m ? t[m - 1] : ' ';
        bool after_token = (prev >= '0' && prev <= '9') || (prev >= 'a' && prev <= 'z');
        if (s[i] != '\0' || !after_token) {
            t[m++] = s[i];
        }
    }
    json_t *v = sioc__json_parse(t, m);
    free(t);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy) {
        return 0;
    }
    memcpy(copy, data, size);
    json_error_t err;
    json_t *theirs = json_loadb(copy, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    json_t *ours = sioc__json_parse(copy, size);
    if (theirs && !ours && memchr(copy, '\0', size)) {
        /* jansson skips a NUL byte right after a number or a literal ("[1\0]" reads as [1],
         * "17\0" as 17); ours refuses it, as anywhere outside a string. Without those bytes,
         * ours reads what jansson read. */
        json_t *without = without_nul_after_tokens(copy, size);
        if (!without || !json_equal(without, theirs)) {
            abort();
        }
        json_decref(without);
    } else if (theirs) {
        char *want = json_dumps(theirs, JSON_COMPACT | JSON_ENCODE_ANY);
        sioc__buf got = {0};
        if (!ours || !json_equal(theirs, ours) || !want || sioc__json_dump(&got, ours) != 0 ||
            got.len != strlen(want) || memcmp(got.data, want, got.len) != 0) {
            abort();
        }
        free(want);
        sioc__buf_free(&got);
    } else if (ours && json_error_code(&err) != json_error_numeric_overflow) {
        abort();
    }
    if (ours) { /* whatever ours reads, it writes, and that reads back as the same */
        sioc__buf text = {0};
        json_t *again = NULL;
        if (sioc__json_dump(&text, ours) != 0 || !(again = sioc__json_parse(text.data, text.len)) ||
            !json_equal(again, ours)) {
            abort();
        }
        json_decref(again);
        sioc__buf_free(&text);
    }
    json_decref(theirs);
    json_decref(ours);
    free(copy);
    return 0;
}
