/* Compact JSON text written directly, for the one place where building a jansson object only to
 * dump it cost more than the rest of the work: a connection's handshake (about 60,000
 * instructions through json_object/json_dumps, a third of sioc's part of a connect). What is
 * written reads back with json_loads as the object jansson would have built. */
#ifndef SIOC_UTIL_JSONW_H
#define SIOC_UTIL_JSONW_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Whether `n` bytes of `s` are UTF-8 as jansson accepts it: no overlong forms, no surrogates,
 * nothing past U+10FFFF. */
bool sioc__utf8_valid(const char *s, size_t n);

/* Appends `n` bytes of `s` as a JSON string, quoted and escaped as jansson's compact dump does.
 * Returns 0, -1 when out of memory, or -2 when `s` is not UTF-8 (jansson refuses such a string;
 * nothing is appended). */
int sioc__json_append_string(sioc__buf *b, const char *s, size_t n);

#endif
