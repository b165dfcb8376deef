/* JSON text read directly into jansson values, for the packets every event goes through: jansson's
 * own parser reads through a per-character stream callback and a growing string buffer, and cost
 * more instructions than the rest of an acked round trip together. Sans-I/O. */
#ifndef SIOC_UTIL_JSONR_H
#define SIOC_UTIL_JSONR_H

#include <jansson.h>
#include <stddef.h>

/* Parses `n` bytes of `s` as one JSON value (any type at the top; whitespace around it), as
 * json_loadb with JSON_DECODE_ANY | JSON_ALLOW_NUL accepts it and building the same values, with
 * one difference: an integer beyond 64 bits is a real, as JavaScript's JSON.parse reads it, where
 * jansson refuses the text. Refused as jansson refuses them: invalid UTF-8, control characters or
 * lone surrogates in strings, a NUL in a key, nesting deeper than SIOC__JSON_MAX_DEPTH, reals that
 * overflow, anything after the value. jansson skips a NUL byte right after a number or a
 * literal ("[1\0]" reads as [1]); this reader refuses it there as anywhere else outside a string,
 * as JSON.parse does. Returns a new
 * reference (the caller owns it), or NULL when the text is not JSON or memory ran out. */
json_t *sioc__json_parse(const char *s, size_t n);

#endif
