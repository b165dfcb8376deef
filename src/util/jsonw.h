/* Compact JSON text written directly, for the one place where building a jansson object only to
 * dump it cost more than the rest of the work: a connection's handshake (about 60,000
 * instructions through json_object/json_dumps, a third of sioc's part of a connect). What is
 * written reads back with json_loads as the object jansson would have built. */
#ifndef SIOC_UTIL_JSONW_H
#define SIOC_UTIL_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Whether `n` bytes of `s` are UTF-8 as jansson accepts it: no overlong forms, no surrogates,
 * nothing past U+10FFFF. */
bool sioc__utf8_valid(const char *s, size_t n);

/* How many bytes from `s` (of `n`) go into a JSON string as they are: none is a control
 * character, '"' or '\\'. Eight at a time while it can. */
size_t sioc__json_plain_run(const char *s, size_t n);

/* Appends `n` bytes of `s` as a JSON string, quoted and escaped as jansson's compact dump does.
 * Returns 0, -1 when out of memory, or -2 when `s` is not UTF-8 (jansson refuses such a string;
 * nothing is appended). */
int sioc__json_append_string(sioc__buf *b, const char *s, size_t n);

/* Appends `v` (borrowed) as compact JSON, byte for byte what json_dump_callback with JSON_COMPACT |
 * JSON_ENCODE_ANY writes (objects in insertion order), at a fraction of its cost: jansson's dumper
 * goes through a callback per token and keeps a hash table of the containers it is inside.
 * Returns 0, or -1 (out of memory, a string that is not UTF-8, nesting deeper than
 * SIOC__JSON_MAX_DEPTH, which a cycle would be; on -1 `b` holds what it held before). */
int sioc__json_dump(sioc__buf *b, const json_t *v);

/* jansson's parser's depth limit (every value counts, the outermost is at depth 1), which the
 * reader (jsonr.h) keeps; the dumper refuses containers deeper than it. */
#define SIOC__JSON_MAX_DEPTH 2048

#endif
