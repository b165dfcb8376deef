/* HTTP content codings, sans-I/O: choosing one from a request's Accept-Encoding as Node's
 * `accepts(req).encodings([...])` (the negotiator package) does, and compressing with zlib. */
#ifndef SIOC_UTIL_COMPRESS_H
#define SIOC_UTIL_COMPRESS_H

#include <stddef.h>

#include "util/buf.h"

typedef enum sioc__encoding {
    SIOC__ENC_IDENTITY = 0, /* none: send as is */
    SIOC__ENC_GZIP = 1,
    SIOC__ENC_DEFLATE = 2, /* zlib-wrapped, as Node's createDeflate */
} sioc__encoding;

/* The coding to answer with, of gzip and deflate in that order of preference, given the
 * Accept-Encoding header's value (NULL when the request has none: identity). A coding is
 * acceptable when named, or matched by "*", with q > 0; the highest q wins, then the earlier in
 * the header, then gzip. */
sioc__encoding sioc__accept_encoding(const char *header);

/* The Content-Encoding name of `enc` ("gzip", "deflate"); NULL for identity. */
const char *sioc__encoding_name(sioc__encoding enc);

/* Compresses `len` bytes of `in` into `out` (reset first) with `enc` (not identity). Returns 0,
 * or -1 on no memory or a zlib error. */
int sioc__compress(sioc__encoding enc, const void *in, size_t len, sioc__buf *out);

#endif
