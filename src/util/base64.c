#include "util/base64.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sioc__base64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long sioc__base64_decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4) {
        return -1;
    }
    long len = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
        int v[4];
        for (int k = 0; k < 4 - pad; k++) {
            if ((v[k] = value_of(in[i + k])) < 0) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12;
        w |= pad < 2 ? (uint32_t)v[2] << 6 : 0;
        w |= pad < 1 ? (uint32_t)v[3] : 0;
        out[len++] = (unsigned char)(w >> 16);
        if (pad < 2) {
            out[len++] = (unsigned char)(w >> 8);
        }
        if (pad < 1) {
            out[len++] = (unsigned char)w;
        }
    }
    return len;
}

int sioc__random_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void sioc__sid_mark(char sid[21], unsigned worker, unsigned workers)
{
    if (workers > 1 && worker < 64) {
        sid[19] = url_alphabet[worker];
    }
}

int sioc__sid_worker(const char *sid, size_t len)
{
    const char *at = len == 20 && sid[19] ? strchr(url_alphabet, sid[19]) : NULL;
    return at ? (int)(at - url_alphabet) : -1;
}

/* Ids are drawn from a pool filled from the kernel ID_POOL bytes at a time: two ids a connection
 * (the sid and the socket's id) were two getrandom() calls of its two dozen system calls. Each
 * thread has its own pool, and a forked child (a worker) empties the one it inherited, lest two
 * processes hand out the same ids. */
#define ID_POOL 240
static _Thread_local unsigned char pool[ID_POOL];
static _Thread_local size_t pool_left;
static pthread_once_t fork_hook = PTHREAD_ONCE_INIT;

static void empty_pool(void)
{
    explicit_bzero(pool, sizeof(pool));
    pool_left = 0;
}

static void hook_fork(void)
{
    pthread_atfork(NULL, NULL, empty_pool);
}

/* `n` (at most ID_POOL) bytes from the pool, each handed out once. */
static int pooled_bytes(unsigned char *out, size_t n)
{
    assert(n <= ID_POOL);
    pthread_once(&fork_hook, hook_fork);
    if (pool_left < n) {
        if (sioc__random_bytes(pool, sizeof(pool)) < 0) {
            return -1;
        }
        pool_left = sizeof(pool);
    }
    unsigned char *from = pool + sizeof(pool) - pool_left;
    memcpy(out, from, n);
    explicit_bzero(from, n); /* what was handed out is not kept */
    pool_left -= n;
    return 0;
}

int sioc__random_id(char out[21])
{
    unsigned char raw[15];
    if (pooled_bytes(raw, sizeof(raw)) < 0) {
        return -1;
    }
    sioc__base64_encode(raw, sizeof(raw), out);
    for (int i = 0; i < 20; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[20] = '\0';
    return 0;
}
