/* MessagePack as notepack.io writes it (the Redis adapter's and the msgpack parser's encoding),
 * sans-I/O: JSON values (binary values made by sioc_binary_new among them) to bytes and back.
 *
 * Encoding follows notepack.io 3.x: the smallest integer form; floats as float64; strings as
 * fixstr/str8/str16/str32; binary as bin; arrays and maps by size. An integral real is written as
 * an integer, as JavaScript has one number type.
 *
 * Decoding takes every form, notepack 2.x's included: nil and 2.x's undefined (fixext1 type 0)
 * are null (a map member whose value is undefined is left out, as JSON drops it); bin and ext
 * type 0 are binary values; dates (timestamp ext -1, 2.x's fixext8 type 0) are ISO strings as a
 * Date becomes in JSON ("2024-01-02T03:04:05.678Z"); an integral float is an integer; NaN and the
 * infinities are null; integer map keys become their decimal text. Nesting deeper than
 * SIOC__MSGPACK_MAX_DEPTH, truncated input, other ext types and other map keys are refused. */
#ifndef SIOC_SIO_MSGPACK_H
#define SIOC_SIO_MSGPACK_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

#define SIOC__MSGPACK_MAX_DEPTH 64

/* Appends `v` (borrowed) to `out`. Returns 0, or -1 on no memory (what was appended is then
 * undefined: reset `out`). */
int sioc__msgpack_encode(sioc__buf *out, const json_t *v);

/* Decodes the value at the start of `data` (`len` bytes): *out gets a new reference. Returns the
 * bytes it took (> 0), or -1 when the input is malformed, truncated, too deep, or memory ran
 * out. */
long sioc__msgpack_decode(const void *data, size_t len, json_t **out);

#endif
