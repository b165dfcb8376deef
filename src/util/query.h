/* URL query strings and form fields (application/x-www-form-urlencoded). */
#ifndef SIOC_UTIL_QUERY_H
#define SIOC_UTIL_QUERY_H

#include <jansson.h>
#include <stddef.h>

/* Decodes `n` bytes of form-encoded text in place ('+' is a space, %XX a byte) and returns the new
 * length. A '%' not followed by two hex digits stays as it is, as Node's querystring leaves it. */
size_t sioc__form_decode(char *s, size_t n);

/* "a=1&b=x+y&a=2" as Node's querystring.parse gives it: {"a": ["1", "2"], "b": "x y"}; a name
 * without '=' has the value "", names and values that are not UTF-8 once decoded are skipped.
 * Returns a new object, or NULL when out of memory. */
json_t *sioc__query_object(const char *query);

#endif
