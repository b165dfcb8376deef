/* Base64 (RFC 4648, standard alphabet, padded), as Engine.IO sends binary over polling. */
#ifndef SIOC_UTIL_BASE64_H
#define SIOC_UTIL_BASE64_H

#include <stddef.h>

static inline size_t sioc__base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}
/* Writes sioc__base64_encoded_len(n) characters to `out` (no NUL). */
void sioc__base64_encode(const unsigned char *in, size_t n, char *out);
/* Decodes `n` characters into `out` (room for n / 4 * 3 bytes). Returns the decoded length, or -1
 * when the input is not padded base64. */
long sioc__base64_decode(const char *in, size_t n, unsigned char *out);

/* `n` random bytes from the kernel. Returns 0, or -1 when none could be had. */
int sioc__random_bytes(void *out, size_t n);
/* Writes a fresh unguessable id of 20 URL-safe characters and a NUL (Node's base64id: 15 random
 * bytes). Returns 0 or -1. */
int sioc__random_id(char out[21]);

/* Worker processes (--workers): the sid's last character names the worker owning the session, so
 * that any worker can send a request to its owner without a shared table (114 random bits left).
 * The index (0-63) as a URL-safe base64 character; workers 0 or 1 leave `sid` as it is. */
void sioc__sid_mark(char sid[21], unsigned worker, unsigned workers);
/* The worker a sid names, or -1 when `len` is not 20 or the character is none. */
int sioc__sid_worker(const char *sid, size_t len);

#endif
