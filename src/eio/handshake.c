/* Node's handshake object as JSON text (handshake.h), written straight into a buffer: no jansson
 * object is built for it, since most are never looked at. */
#include "eio/handshake.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/jsonw.h"

/* Appends `"key":"value",` for a member whose key and value are UTF-8 (jansson refuses others:
 * they are left out, as they were from its objects). Returns -1 only when out of memory. */
static int member(sioc__buf *b, const char *key, size_t klen, const char *value, size_t vlen)
{
    size_t start = b->len;
    int rc = sioc__json_append_string(b, key, klen);
    if (rc == 0 && sioc__buf_append_char(b, ':') < 0) {
        rc = -1;
    }
    if (rc == 0) {
        rc = sioc__json_append_string(b, value, vlen);
    }
    if (rc == 0 && sioc__buf_append_char(b, ',') < 0) {
        rc = -1;
    }
    if (rc < 0) {
        b->len = start;
    }
    return rc == -1 ? -1 : 0;
}

/* Ends an object whose members each end with ',': the last one's becomes '}'. */
static int close_object(sioc__buf *b)
{
    if (b->len && b->data[b->len - 1] == ',') {
        b->data[b->len - 1] = '}';
        return 0;
    }
    return sioc__buf_append_char(b, '}');
}

static bool is(const sioc__hs_header *h, const char *name)
{
    return h->name_len == strlen(name) && memcmp(h->name, name, h->name_len) == 0;
}

/* `"headers":{...},`; *origin tells whether an Origin was among them (and made it in), *forwarded
 * is X-Forwarded-For's value (the first, borrowed) or NULL. Returns -1 when out of memory. */
static int headers(sioc__buf *b, const sioc__hs_request *r, bool *origin, const char **forwarded)
{
    const char *open = "\"headers\":{";
    if (sioc__buf_append(b, open, strlen(open)) < 0) {
        return -1;
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        const sioc__hs_header *h = &r->headers[i];
        size_t before = b->len;
        if (member(b, h->name, h->name_len, h->value, strlen(h->value)) < 0) {
            return -1;
        }
        bool in = b->len > before;
        *origin |= in && is(h, "origin");
        if (in && !*forwarded && is(h, "x-forwarded-for")) {
            *forwarded = h->value;
        }
    }
    return close_object(b) < 0 || sioc__buf_append_char(b, ',') < 0 ? -1 : 0;
}

/* The client's address: the peer, or with a trusted proxy the first X-Forwarded-For entry (each
 * proxy appends the one it heard from). */
static void address(const sioc__hs_request *r, const char *forwarded, char *out, size_t cap)
{
    snprintf(out, cap, "%s", r->peer ? r->peer : "");
    if (r->trust_proxy && forwarded) {
        forwarded += strspn(forwarded, " ");
        size_t n = strcspn(forwarded, ", ");
        snprintf(out, cap, "%.*s", (int)n, forwarded);
    }
}

#define DATE_FORMAT "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)"
#define SECURE_ISSUED "\"secure\":false,\"issued\":"

/* The date of `now_ms` (ms since the epoch) as JavaScript's Date prints it in UTC. */
static void format_date(uint64_t now_ms, char out[96])
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, 96, DATE_FORMAT, &tm);
}

/* `"time":date,"address":ip,"secure":false,"issued":ms,` Returns -1 when out of memory. */
static int when_where(sioc__buf *b, const sioc__hs_request *r, const char *forwarded)
{
    char where[64], date[96];
    format_date(r->now_ms, date);
    address(r, forwarded, where, sizeof(where));
    bool failed = member(b, "time", 4, date, strlen(date)) < 0 ||
                  member(b, "address", 7, where, strlen(where)) < 0 ||
                  sioc__buf_append(b, SECURE_ISSUED, strlen(SECURE_ISSUED)) < 0 ||
                  sioc__buf_append_uint(b, r->now_ms) < 0 || sioc__buf_append_char(b, ',') < 0;
    return failed ? -1 : 0;
}

/* The bytes a URL holds as they are (RFC 3986's unreserved and sub-delims, ':', '@', '/'). */
static const bool url_plain[128] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1, ['\''] = 1, ['('] = 1,
    [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1, [':'] = 1,  ['@'] = 1,
    ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,  ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,  ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,  ['M'] = 1,
    ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,  ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1,  ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,  ['k'] = 1,
    ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Appends `len` bytes of `s` as they go in a URL: the transport hands over decoded text, and
 * Node's url is the request's own, which clients percent-encode; what a URL may not hold as it is
 * (and '%', and '=' when `eq` says so) is encoded again, so the url is always ASCII, and so always
 * there. */
static int append_url(sioc__buf *b, const char *s, size_t len, bool eq)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        const unsigned char *run = p; /* what goes as it is, in one append */
        while (p < end && *p < 128 && url_plain[*p] && (eq || *p != '=')) {
            p++;
        }
        if (p > run && sioc__buf_append(b, run, (size_t)(p - run)) < 0) {
            return -1;
        }
        if (p < end) {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (sioc__buf_append(b, esc, 3) < 0) {
                return -1;
            }
            p++;
        }
    }
    return 0;
}

/* A query fragment in the url: its first '=' stays the separator. */
static int append_fragment(sioc__buf *b, const char *frag)
{
    const char *eq = strchr(frag, '=');
    if (!eq) {
        return append_url(b, frag, strlen(frag), false);
    }
    bool failed = append_url(b, frag, (size_t)(eq - frag), false) < 0 ||
                  sioc__buf_append_char(b, '=') < 0 ||
                  append_url(b, eq + 1, strlen(eq + 1), true) < 0;
    return failed ? -1 : 0;
}

/* `"query":{name: value},"url":"path?query",` Returns -1 when out of memory. */
static int query(sioc__buf *b, const sioc__hs_request *r)
{
    sioc__buf url = {0};
    const char *path = r->path ? r->path : "";
    int rc = sioc__buf_append(b, "\"query\":{", strlen("\"query\":{"));
    rc = rc ? rc : append_url(&url, path, strlen(path), true);
    for (size_t i = 0; rc == 0 && i < r->nquery; i++) {
        const char *frag = r->query[i];
        const char *eq = strchr(frag, '=');
        size_t klen = eq ? (size_t)(eq - frag) : strlen(frag);
        const char *value = eq ? eq + 1 : "";
        if (member(b, frag, klen, value, strlen(value)) < 0 ||
            sioc__buf_append_char(&url, i ? '&' : '?') < 0 || append_fragment(&url, frag) < 0) {
            rc = -1;
        }
    }
    if (rc == 0 && (close_object(b) < 0 || sioc__buf_append_char(b, ',') < 0)) {
        rc = -1;
    }
    if (rc == 0 && member(b, "url", 3, url.data ? url.data : "", url.len) < 0) {
        rc = -1;
    }
    sioc__buf_free(&url);
    return rc;
}

char *sioc__handshake_build(const sioc__hs_request *r)
{
    sioc__buf hs = {0}, b = {0};
    bool origin = false;
    const char *forwarded = NULL;
    /* Node's order: xdomain, headers, time, address, secure, issued, query, url. The headers come
     * first into their own buffer, since xdomain depends on them. */
    int rc = headers(&hs, r, &origin, &forwarded);
    const char *head = origin ? "{\"xdomain\":true," : "{\"xdomain\":false,";
    if (rc < 0 || sioc__buf_append(&b, head, strlen(head)) < 0 ||
        sioc__buf_append(&b, hs.data, hs.len) < 0 || when_where(&b, r, forwarded) < 0 ||
        query(&b, r) < 0 || close_object(&b) < 0 || sioc__buf_append_char(&b, '\0') < 0) {
        sioc__buf_free(&b);
    }
    sioc__buf_free(&hs);
    return b.data; /* NUL-terminated; the memory is handed over */
}

/* ---- the packed request ----
 * The request's time (8 bytes, host order), the trusted-proxy flag, the header and query counts
 * (a byte each), then NUL-terminated strings: the path, the peer, each header's name and value,
 * each query fragment. */
#define PACK_FIXED 11

static void put_string(char **at, const char *s, size_t n)
{
    memcpy(*at, s, n);
    (*at)[n] = '\0';
    *at += n + 1;
}

char *sioc__handshake_pack(const sioc__hs_request *r)
{
    assert(r->nheaders <= SIOC__HS_MAX_FIELDS && r->nquery <= SIOC__HS_MAX_FIELDS);
    const char *path = r->path ? r->path : "", *peer = r->peer ? r->peer : "";
    size_t total = PACK_FIXED + strlen(path) + 1 + strlen(peer) + 1;
    for (size_t i = 0; i < r->nheaders; i++) {
        total += r->headers[i].name_len + 1 + strlen(r->headers[i].value) + 1;
    }
    for (size_t i = 0; i < r->nquery; i++) {
        total += strlen(r->query[i]) + 1;
    }
    char *packed = malloc(total);
    if (!packed) {
        return NULL;
    }
    char *at = packed + PACK_FIXED;
    memcpy(packed, &r->now_ms, 8);
    packed[8] = (char)r->trust_proxy;
    packed[9] = (char)(unsigned char)r->nheaders;
    packed[10] = (char)(unsigned char)r->nquery;
    put_string(&at, path, strlen(path));
    put_string(&at, peer, strlen(peer));
    for (size_t i = 0; i < r->nheaders; i++) {
        put_string(&at, r->headers[i].name, r->headers[i].name_len);
        put_string(&at, r->headers[i].value, strlen(r->headers[i].value));
    }
    for (size_t i = 0; i < r->nquery; i++) {
        put_string(&at, r->query[i], strlen(r->query[i]));
    }
    assert(at == packed + total);
    return packed;
}

/* The string at *at, which moves past it. */
static const char *take_string(const char **at)
{
    const char *s = *at;
    *at += strlen(s) + 1;
    return s;
}

char *sioc__handshake_unpack_build(const char *packed)
{
    sioc__hs_header headers[SIOC__HS_MAX_FIELDS];
    const char *query[SIOC__HS_MAX_FIELDS];
    sioc__hs_request r = {.headers = headers, .query = query};
    memcpy(&r.now_ms, packed, 8);
    r.trust_proxy = packed[8] != 0;
    r.nheaders = (unsigned char)packed[9];
    r.nquery = (unsigned char)packed[10];
    const char *at = packed + PACK_FIXED;
    r.path = take_string(&at);
    r.peer = take_string(&at);
    for (size_t i = 0; i < r.nheaders; i++) {
        headers[i].name = take_string(&at);
        headers[i].name_len = strlen(headers[i].name);
        headers[i].value = take_string(&at);
    }
    for (size_t i = 0; i < r.nquery; i++) {
        query[i] = take_string(&at);
    }
    return sioc__handshake_build(&r);
}
