/* Content codings: Accept-Encoding as the negotiator package reads it, and zlib's deflate with
 * the gzip or zlib wrapper (Node's createGzip and createDeflate, default level). */
#include "util/compress.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* One entry of the header: its coding (lower-cased into `name`), q (0-1000) and position. */
typedef struct entry {
    char name[32];
    int q;
} entry;

/* Parses "coding;q=0.5": returns false when it is not one (left out, as negotiator does). */
static bool parse_entry(const char *s, size_t n, entry *e)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++, n--;
    }
    size_t k = 0;
    while (k < n && s[k] != ';' && s[k] != ' ' && s[k] != '\t') {
        k++;
    }
    if (k == 0 || k >= sizeof(e->name)) {
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        e->name[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    }
    e->name[k] = '\0';
    e->q = 1000;
    const char *p = memchr(s + k, ';', n - k);
    while (p) { /* parameters: only q counts */
        p++;
        size_t rest = n - (size_t)(p - s);
        while (rest && (*p == ' ' || *p == '\t')) {
            p++, rest--;
        }
        if (rest >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char num[16];
            size_t m = 0;
            for (p += 2, rest -= 2; m < rest && m < sizeof(num) - 1 && p[m] != ';'; m++) {
                num[m] = p[m];
            }
            num[m] = '\0';
            double q = strtod(num, NULL);
            e->q = q <= 0 ? 0 : q >= 1 ? 1000 : (int)(q * 1000 + 0.5);
        }
        p = memchr(p, ';', rest);
    }
    return true;
}

sioc__encoding sioc__accept_encoding(const char *header)
{
    static const char *const offered[] = {"gzip", "deflate"};
    int best_q[2] = {-1, -1}, best_at[2] = {0, 0}, star_q = -1, star_at = 0;
    int at = 0;
    for (const char *s = header; s && *s; at++) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        entry e;
        if (parse_entry(s, n, &e)) {
            for (int i = 0; i < 2; i++) {
                if (strcmp(e.name, offered[i]) == 0 && e.q > best_q[i]) {
                    best_q[i] = e.q, best_at[i] = at;
                }
            }
            if (strcmp(e.name, "*") == 0 && e.q > star_q) {
                star_q = e.q, star_at = at;
            }
        }
        s = comma ? comma + 1 : s + n;
    }
    bool named[2];
    for (int i = 0; i < 2; i++) {
        named[i] = best_q[i] >= 0;
        if (!named[i] && star_q >= 0) { /* not named: "*" speaks for it */
            best_q[i] = star_q, best_at[i] = star_at;
        }
    }
    /* negotiator's order: q, then a coding named over one "*" matched, then the header's order,
     * then ours */
    int pick = -1;
    for (int i = 0; i < 2; i++) {
        bool better =
            pick < 0 || best_q[i] > best_q[pick] ||
            (best_q[i] == best_q[pick] &&
             (named[i] > named[pick] || (named[i] == named[pick] && best_at[i] < best_at[pick])));
        if (best_q[i] > 0 && better) {
            pick = i;
        }
    }
    return pick < 0 ? SIOC__ENC_IDENTITY : pick == 0 ? SIOC__ENC_GZIP : SIOC__ENC_DEFLATE;
}

const char *sioc__encoding_name(sioc__encoding enc)
{
    return enc == SIOC__ENC_GZIP ? "gzip" : enc == SIOC__ENC_DEFLATE ? "deflate" : NULL;
}

int sioc__compress(sioc__encoding enc, const void *in, size_t len, sioc__buf *out)
{
    out->len = 0;
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* 15: a 32 KiB window; +16: the gzip wrapper instead of zlib's. */
    if (enc == SIOC__ENC_IDENTITY ||
        deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, enc == SIOC__ENC_GZIP ? 15 + 16 : 15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -1;
    }
    size_t bound = deflateBound(&z, (uLong)len) + 32;
    int rc = sioc__buf_reserve(out, bound);
    if (rc == 0) {
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)len;
        z.next_out = (Bytef *)out->data;
        z.avail_out = (uInt)bound;
        rc = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : -1;
        out->len = rc == 0 ? bound - z.avail_out : 0;
    }
    deflateEnd(&z);
    return rc;
}
