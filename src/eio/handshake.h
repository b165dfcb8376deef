/* Node's handshake object (socket.handshake), built sans-I/O from what the transport gathered of
 * the opening request, as compact JSON text. A session keeps the request packed, about half the
 * text's size and cheaper to make, and builds the text only when the object is asked for. */
#ifndef SIOC_EIO_HANDSHAKE_H
#define SIOC_EIO_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One request header: its lower-case name (`name_len` bytes: without a colon that may follow),
 * and its value. */
typedef struct sioc__hs_header {
    const char *name;
    size_t name_len;
    const char *value;
} sioc__hs_header;

/* What the opening request said. */
typedef struct sioc__hs_request {
    const sioc__hs_header *headers; /* in the order they are to appear */
    size_t nheaders;
    const char *path;         /* the URL's path */
    const char *const *query; /* the query's "name=value" fragments, decoded, in order */
    size_t nquery;
    const char *peer; /* the peer's address */
    bool trust_proxy; /* the address is X-Forwarded-For's first entry, when there is one */
    uint64_t now_ms;  /* the time of the handshake, in ms since the epoch */
} sioc__hs_request;

/* {"xdomain", "headers", "time", "address", "secure", "issued", "query", "url"} in Node's order:
 * xdomain is whether an Origin header came, time the date as JavaScript's Date prints it, issued
 * `now_ms`, query an object (a fragment without '=' has the value ""), url the path and the
 * fragments. Returns NUL-terminated text (free() it), or NULL on no memory. */
char *sioc__handshake_build(const sioc__hs_request *r);

/* At most this many headers, and as many query fragments, in a request to be packed. */
#define SIOC__HS_MAX_FIELDS 255

/* `r` in one block (free() it): what a session keeps of its opening request. NULL on no memory.
 * Header names must not hold a NUL. */
char *sioc__handshake_pack(const sioc__hs_request *r);
/* sioc__handshake_build's text for the request `packed` holds (sioc__handshake_pack's block,
 * borrowed): free() it. NULL on no memory. */
char *sioc__handshake_unpack_build(const char *packed);

#endif
