/* The first look at a request head, before libwebsockets parses it: sans-I/O, so it can be unit
 * tested and fuzzed. libwebsockets 4.1.6 drops a connection without a word on a head it cannot
 * parse (a NUL, a line without a colon, more fields than its table holds, a head larger than its
 * buffer) or waits for its timeout; Node's HTTP server answers 400 or 431 at once. Heads that pass
 * here are ones libwebsockets parses. */
#ifndef SIOC_TRANSPORT_HEAD_H
#define SIOC_TRANSPORT_HEAD_H

#include <stddef.h>

typedef enum sioc__head_verdict {
    SIOC__HEAD_PARTIAL = 0, /* valid so far, not complete: wait for more */
    SIOC__HEAD_OK,          /* complete and acceptable */
    SIOC__HEAD_BAD,         /* 400 Bad Request */
    SIOC__HEAD_TOO_LARGE,   /* 431 Request Header Fields Too Large */
} sioc__head_verdict;

typedef struct sioc__head_limits {
    size_t max_bytes;    /* request line and header lines, end of head included */
    unsigned max_fields; /* header lines plus query parameters (see head.c) */
} sioc__head_limits;

/* Checks the `len` bytes at `buf` (borrowed), the start of a connection's first request: the
 * request line (a method libwebsockets knows, a target without control bytes or bad %-escapes,
 * HTTP/1.0 or HTTP/1.1) and header lines (a token, a colon, a value without control bytes), up to
 * the empty line. On SIOC__HEAD_OK, `*head_len` is the head's length, end of head included. On
 * any other verdict but PARTIAL, `*why` (when not NULL) says why, for the log. */
sioc__head_verdict sioc__head_check(const char *buf, size_t len, const sioc__head_limits *lim,
                                    size_t *head_len, const char **why);

#endif
