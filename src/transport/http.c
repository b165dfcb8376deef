/* HTTP plumbing: responses, query and header access, CORS, the client bundle and static files. */
#include "transport/internal.h"

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "eio/handshake.h"
#include "transport/cors.h"
#include "util/jsonw.h"
#include "util/compress.h"
#include "util/log.h"
#include "util/stats.h"

#define HEADER_SPACE 2048

/* Statuses that carry no body, hence no Content-Length (RFC 9110 §8.6). */
static bool bodiless(unsigned status)
{
    return status == HTTP_STATUS_NO_CONTENT || status == HTTP_STATUS_NOT_MODIFIED ||
           (status >= 100 && status < 200);
}

int sioc__reply_begin(sioc__reply *r, struct lws *wsi, unsigned status, const char *content_type,
                      size_t body_len)
{
    memset(r, 0, sizeof(*r));
    r->wsi = wsi;
    r->conn = sioc__request_connection(wsi);
    r->mem = malloc(LWS_PRE + HEADER_SPACE + body_len);
    if (!r->mem) {
        return -1;
    }
    r->start = r->p = r->mem + LWS_PRE;
    r->end = r->start + HEADER_SPACE - 1;
    r->failed = lws_add_http_header_status(wsi, status, &r->p, r->end) != 0;
    sioc__stats_http(status);
    if (content_type && !r->failed) {
        r->failed = lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                                 (const unsigned char *)content_type,
                                                 (int)strlen(content_type), &r->p, r->end) != 0;
    }
    if (!bodiless(status) && !r->failed) {
        r->failed = lws_add_http_header_content_length(wsi, body_len, &r->p, r->end) != 0;
    }
    return 0;
}

void sioc__reply_header(sioc__reply *r, const char *name, const char *value)
{
    if (!r->failed) {
        r->failed = lws_add_http_header_by_name(r->wsi, (const unsigned char *)name,
                                                (const unsigned char *)value, (int)strlen(value),
                                                &r->p, r->end) != 0;
    }
}

/* The Connection header, as Node's server writes it: "close" whenever the connection ends after
 * this answer, "keep-alive" to an HTTP/1.0 client that asked to keep it. A keep-alive client that
 * is not told reuses the connection, and its next request dies with it. */
static const char *connection_value(sioc__conn_mode mode)
{
    return mode == SIOC__CONN_CLOSE           ? "close"
           : mode == SIOC__CONN_KEEP_ALIVE_10 ? "keep-alive"
                                              : NULL;
}

static void connection_header(sioc__reply *r)
{
    const char *value = connection_value(r->close ? SIOC__CONN_CLOSE : r->conn);
    if (value) {
        sioc__reply_header(r, "connection:", value);
    }
}

int sioc__reply_finish(sioc__reply *r, const void *body, size_t len)
{
    int rc = -1;
    r->close |= r->conn == SIOC__CONN_CLOSE;
    connection_header(r);
    if (!r->failed && lws_finalize_http_header(r->wsi, &r->p, r->end) == 0) {
        if (len) {
            memcpy(r->p, body, len);
        }
        size_t total = (size_t)(r->p - r->start) + len;
        if (lws_write(r->wsi, r->start, total, LWS_WRITE_HTTP_FINAL) == (int)total) {
            /* On -1, lws still sends what it buffered of the answer before it closes. */
            rc = r->body_unread ? 0 : r->close ? -1 : sioc__http_completed(r->wsi);
        }
    }
    free(r->mem);
    r->mem = NULL;
    return rc;
}

static int reply_simple(struct lws *wsi, unsigned status, const char *content_type,
                        const char *body, bool close)
{
    sioc__reply r;
    size_t len = body ? strlen(body) : 0;
    if (sioc__reply_begin(&r, wsi, status, content_type, len) < 0) {
        return -1;
    }
    r.close = close;
    sioc__cors_headers(lws_context_user(lws_get_context(wsi)), &r);
    return sioc__reply_finish(&r, body, len);
}

int sioc__reply_simple(struct lws *wsi, unsigned status, const char *content_type, const char *body)
{
    return reply_simple(wsi, status, content_type, body, false);
}

int sioc__reply_closing(struct lws *wsi, unsigned status)
{
    return reply_simple(wsi, status, NULL, NULL, true);
}

int sioc__header(struct lws *wsi, enum lws_token_indexes h, char *out, size_t cap)
{
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0 || (size_t)n >= cap) {
        return -1;
    }
    return lws_hdr_copy(wsi, out, (int)cap, h);
}

/* `frag` ("name=value", `flen` bytes) against `name`: the value copied on a match. Returns the
 * value's length, -1 for no match, -2 for a match too long for `out`. */
static int match_arg(const char *frag, size_t flen, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    if (flen <= nlen || frag[nlen] != '=' || memcmp(frag, name, nlen) != 0) {
        return -1;
    }
    size_t vlen = flen - nlen - 1;
    if (vlen >= cap) {
        return -2;
    }
    memcpy(out, frag + nlen + 1, vlen + 1);
    return (int)vlen;
}

/* Each fragment is copied once and compared with every name still unmatched (a fragment matches
 * one name at most; a name's first fragment counts). */
static void match_fragment(sioc__query_want *want, size_t n, const char *frag, size_t flen,
                           size_t *left)
{
    for (size_t k = 0; k < n; k++) {
        if (want[k].rc == -1 &&
            (want[k].rc = match_arg(frag, flen, want[k].name, want[k].out, want[k].cap)) != -1) {
            --*left;
            return;
        }
    }
}

void sioc__query_args(struct lws *wsi, sioc__query_want *want, size_t n)
{
    size_t left = n;
    for (size_t k = 0; k < n; k++) {
        want[k].rc = -1;
    }
    for (int i = 0; left; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0) {
            return;
        }
        char small[256];
        char *frag = (size_t)flen < sizeof(small) ? small : malloc((size_t)flen + 1);
        if (frag && lws_hdr_copy_fragment(wsi, frag, flen + 1, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0) {
            match_fragment(want, n, frag, (size_t)flen, &left);
        }
        if (frag != small) {
            free(frag);
        }
    }
}

int sioc__query_arg(struct lws *wsi, const char *name, char *out, size_t cap)
{
    sioc__query_want want = {name, out, cap, -1};
    sioc__query_args(wsi, &want, 1);
    return want.rc;
}

int sioc__cors_init(sioc__transport *tr)
{
    const sioc_options *o = tr->opts;
    if (!o->cors_pattern_count) {
        return 0;
    }
    tr->cors_patterns = calloc(o->cors_pattern_count, sizeof(*tr->cors_patterns));
    if (!tr->cors_patterns) {
        return SIOC_ERR_NOMEM;
    }
    for (size_t i = 0; i < o->cors_pattern_count; i++) {
        if (regcomp(&tr->cors_patterns[i], o->cors_patterns[i], REG_EXTENDED | REG_NOSUB) != 0) {
            return SIOC_ERR_INVALID; /* checked when it was added: cannot happen */
        }
        tr->ncors_patterns++;
    }
    return 0;
}

void sioc__cors_free(sioc__transport *tr)
{
    for (size_t i = 0; i < tr->ncors_patterns; i++) {
        regfree(&tr->cors_patterns[i]);
    }
    free(tr->cors_patterns);
    for (size_t i = 0; i < tr->nrefused; i++) {
        free(tr->refused_origins[i]);
    }
}

/* A refused origin is worth one line in the log, not one per request. */
static void log_refused(sioc__transport *tr, const char *origin)
{
    for (size_t i = 0; i < tr->nrefused; i++) {
        if (strcmp(tr->refused_origins[i], origin) == 0) {
            return;
        }
    }
    if (tr->nrefused < sizeof(tr->refused_origins) / sizeof(tr->refused_origins[0])) {
        tr->refused_origins[tr->nrefused++] = strdup(origin);
    }
    sioc__log(SIOC_LOG_WARN, "CORS: origin %s is not allowed", origin);
}

/* Calls `add(name, value)` for each CORS header this request gets. */
static void cors_each(sioc__transport *tr, struct lws *wsi,
                      void (*add)(void *, const char *, const char *), void *arg)
{
    char origin[512];
    if (!sioc__cors_configured(tr->opts)) {
        return;
    }
    bool has_origin = sioc__request_origin(wsi, origin, sizeof(origin)) >= 0;
    const char *allow = sioc__cors_match(tr->opts, tr->cors_patterns, tr->ncors_patterns,
                                         has_origin ? origin : NULL);
    if (!allow) {
        if (has_origin) {
            log_refused(tr, origin);
        }
        return;
    }
    add(arg, "access-control-allow-origin:", allow);
    if (strcmp(allow, "*") != 0) {
        add(arg, "vary:", "Origin");
    }
    if (tr->opts->cors_credentials) {
        add(arg, "access-control-allow-credentials:", "true");
    }
}

static void add_to_reply(void *arg, const char *name, const char *value)
{
    sioc__reply_header(arg, name, value);
}

void sioc__cors_headers(sioc__transport *tr, sioc__reply *r)
{
    cors_each(tr, r->wsi, add_to_reply, r);
}

typedef struct lines {
    char *out;
    size_t cap, len;
} lines;

static void add_line(void *arg, const char *name, const char *value)
{
    lines *l = arg;
    int n = snprintf(l->out + l->len, l->cap - l->len, "%.*s: %s\r\n", (int)strlen(name) - 1, name,
                     value);
    if (n > 0 && (size_t)n < l->cap - l->len) {
        l->len += (size_t)n;
    }
}

void sioc__cors_lines(sioc__transport *tr, struct lws *wsi, char *out, size_t cap)
{
    lines l = {out, cap, strlen(out)};
    cors_each(tr, wsi, add_line, &l);
}

int sioc__cors_preflight(sioc__transport *tr, struct lws *wsi)
{
    sioc__reply r;
    char req_headers[1024];
    if (sioc__reply_begin(&r, wsi, HTTP_STATUS_NO_CONTENT, NULL, 0) < 0) {
        return -1;
    }
    sioc__cors_headers(tr, &r);
    sioc__reply_header(&r, "access-control-allow-methods:", tr->opts->cors_methods);
    if (tr->opts->cors_headers) {
        sioc__reply_header(&r, "access-control-allow-headers:", tr->opts->cors_headers);
    } else if (sioc__header(wsi, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS, req_headers,
                            sizeof(req_headers)) > 0) {
        sioc__reply_header(&r, "access-control-allow-headers:", req_headers);
    }
    return sioc__reply_finish(&r, NULL, 0);
}

/* ---- request framing ---- */

/* A Content-Length value is a plain decimal (RFC 9110 §8.6), optional whitespace around it. */
static bool plain_decimal(const char *v)
{
    v += strspn(v, " \t");
    size_t n = strspn(v, "0123456789");
    return n > 0 && v[n + strspn(v + n, " \t")] == '\0';
}

bool sioc__request_version_ok(struct lws *wsi)
{
    char version[16];
    if (lws_get_network_wsi(wsi) != wsi) {
        return true; /* an HTTP/2 stream: no request line, no version */
    }
    /* lws looks at two characters of it: "HTTP/9.9" would pass for 1.0, "HTTP/1.1x" for 1.1. */
    return sioc__header(wsi, WSI_TOKEN_HTTP, version, sizeof(version)) > 0 &&
           (strcmp(version, "HTTP/1.1") == 0 || strcmp(version, "HTTP/1.0") == 0);
}

bool sioc__request_framing_ok(struct lws *wsi)
{
    char first[32], value[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        return true;
    }
    /* Both a length and a transfer coding: which one frames the body is the smuggler's bet. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        return false;
    }
    /* lws reads the body by the first value, atoll()'d: "1 3" would be 1 and the rest of the body
     * a second request. Every Content-Length line must be a plain decimal, all the same. */
    for (int i = 0;; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, i);
        if (flen <= 0) {
            return i > 0;
        }
        char *into = i ? value : first;
        if ((size_t)flen >= sizeof(value) ||
            lws_hdr_copy_fragment(wsi, into, flen + 1, WSI_TOKEN_HTTP_CONTENT_LENGTH, i) < 0 ||
            !plain_decimal(into) || (i && strtoull(value, NULL, 10) != strtoull(first, NULL, 10))) {
            return false;
        }
    }
}

/* ---- WebSocket handshakes ---- */

/* A Sec-WebSocket-Key is 16 random bytes in base64: 22 characters and "==" (RFC 6455 §4.1). */
static bool valid_ws_key(const char *key)
{
    size_t n = strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    return n == 22 && strcmp(key + n, "==") == 0;
}

/* The checks Node's `ws` makes before it switches (RFC 6455 §4.2.1), which lws 4.1.6 does not:
 * only "websocket" is upgraded to (lws would take "h2c" too), version 13 (else 426 naming it,
 * §4.4), a well-formed key. A refusal is answered, then the connection closes (-1: lws sends
 * what it buffered first). */
int sioc__upgrade_check(struct lws *wsi, const char *upgrade)
{
    char key[64], version[16] = "";
    if (!upgrade || (strcasecmp(upgrade, "websocket") != 0 && strcasecmp(upgrade, "h2c") != 0)) {
        return -1; /* an upgrade lws does not know: it has answered 403 itself */
    }
    if (strcasecmp(upgrade, "websocket") != 0) {
        sioc__log(SIOC_LOG_INFO, "HTTP: refused upgrade to %s", upgrade);
        return sioc__reply_closing(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    if (sioc__header(wsi, WSI_TOKEN_VERSION, version, sizeof(version)) <= 0 ||
        strcmp(version, "13") != 0) {
        sioc__reply r;
        if (sioc__reply_begin(&r, wsi, 426, NULL, 0) == 0) {
            sioc__reply_header(&r, "sec-websocket-version:", "13");
            r.close = true;
            sioc__reply_finish(&r, NULL, 0);
        }
        sioc__log(SIOC_LOG_INFO, "WebSocket: refused handshake of version %s", version);
        return -1;
    }
    if (sioc__header(wsi, WSI_TOKEN_KEY, key, sizeof(key)) <= 0 || !valid_ws_key(key)) {
        sioc__log(SIOC_LOG_INFO, "WebSocket: refused handshake with a malformed key");
        return sioc__reply_closing(wsi, HTTP_STATUS_BAD_REQUEST);
    }
    return 0;
}

/* ---- the client bundle ---- */

/* Node's socket.io serves these names under its path: socket.io(.msgpack|.esm)?(.min)?.js(.map)? */
static const char *const client_files[SIOC__CLIENT_FILES] = {
    "socket.io.js",
    "socket.io.min.js",
    "socket.io.msgpack.min.js",
    "socket.io.esm.min.js",
    "socket.io.js.map",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js.map",
    "socket.io.esm.min.js.map",
};

/* The index of a file of the bundle, or -1. */
static int client_file(const char *name)
{
    for (int i = 0; i < SIOC__CLIENT_FILES; i++) {
        if (strcmp(name, client_files[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void sioc__client_etag_init(sioc__transport *tr)
{
    /* Node's ETag is the client package's version, quoted. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/../package.json", tr->opts->client_dir);
    json_t *pkg = json_load_file(path, 0, NULL);
    const char *version = json_string_value(json_object_get(pkg, "version"));
    snprintf(tr->client_etag, sizeof(tr->client_etag), "\"%s\"", version ? version : SIOC_VERSION);
    json_decref(pkg);
}

static bool etag_matches(sioc__transport *tr, struct lws *wsi)
{
    char inm[128];
    if (sioc__header(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm, sizeof(inm)) < 0) {
        return false;
    }
    return strcmp(inm, tr->client_etag) == 0 ||
           (strncmp(inm, "W/", 2) == 0 && strcmp(inm + 2, tr->client_etag) == 0);
}

/* The Connection line for lws_serve_http_file's ready-made headers, as connection_header(). */
static void connection_line(struct lws *wsi, char *extra, size_t cap)
{
    const char *value = connection_value(sioc__request_connection(wsi));
    size_t len = strlen(extra);
    if (value) {
        snprintf(extra + len, cap - len, "Connection: %s\r\n", value);
    }
}

/* `extra`: header lines (cap 1024), to which the Connection line is added. */
static int serve_file(struct lws *wsi, const char *file, const char *mime, char *extra)
{
    connection_line(wsi, extra, 1024);
    int n = lws_serve_http_file(wsi, file, mime, extra, (int)strlen(extra));
    if (n < 0) {
        return -1;
    }
    /* 1 means lws answered and finished the transaction itself (e.g. it could not open it). */
    return n > 0 && (sioc__request_connection(wsi) == SIOC__CONN_CLOSE ||
                     lws_http_transaction_completed(wsi))
               ? -1
               : 0;
}

int sioc__request_encoding(sioc__transport *tr, struct lws *wsi)
{
    char accept[256];
    if (!tr->opts->http_compression ||
        sioc__header(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, accept, sizeof(accept)) < 0) {
        return SIOC__ENC_IDENTITY;
    }
    return (int)sioc__accept_encoding(accept);
}

/* File `i` of the bundle compressed with `enc`, made on first use and kept: NULL when it cannot
 * be read or compressed. */
static const sioc__buf *compressed_client_file(sioc__transport *tr, int i, sioc__encoding enc)
{
    sioc__buf *z = &tr->client_z[i][enc - 1];
    if (z->len) {
        return z;
    }
    char file[PATH_MAX];
    snprintf(file, sizeof(file), "%s/%s", tr->opts->client_dir, client_files[i]);
    FILE *f = fopen(file, "rb");
    sioc__buf raw = {0};
    char chunk[16384];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
           sioc__buf_append(&raw, chunk, n) == 0) {
    }
    bool ok = f && !ferror(f) && raw.len && sioc__compress(enc, raw.data, raw.len, z) == 0;
    if (f) {
        fclose(f);
    }
    sioc__buf_free(&raw);
    if (!ok) {
        sioc__buf_free(z);
        return NULL;
    }
    return z;
}

/* The bundle compressed, as Node's sendFile pipes it through createGzip or createDeflate. */
static int serve_client_compressed(sioc__transport *tr, struct lws *wsi, const sioc__buf *z,
                                   sioc__encoding enc, const char *mime)
{
    sioc__reply r;
    if (sioc__reply_begin(&r, wsi, HTTP_STATUS_OK, mime, z->len) < 0) {
        return -1;
    }
    sioc__reply_header(&r, "etag:", tr->client_etag);
    sioc__reply_header(&r, "cache-control:", "public, max-age=0");
    sioc__reply_header(&r, "content-encoding:", sioc__encoding_name(enc));
    sioc__reply_header(&r, "vary:", "Accept-Encoding");
    sioc__cors_headers(tr, &r);
    return sioc__reply_finish(&r, z->data, z->len);
}

void sioc__client_z_free(sioc__transport *tr)
{
    for (int i = 0; i < SIOC__CLIENT_FILES; i++) {
        sioc__buf_free(&tr->client_z[i][0]);
        sioc__buf_free(&tr->client_z[i][1]);
    }
}

int sioc__serve_client(sioc__transport *tr, struct lws *wsi, const char *uri, int *ret)
{
    const char *path = tr->opts->path;
    size_t plen = strlen(path);
    int index = strncmp(uri, path, plen) == 0 ? client_file(uri + plen) : -1;
    if (!tr->opts->serve_client || index < 0) {
        return 1;
    }
    const char *name = uri + plen;
    if (etag_matches(tr, wsi)) {
        sioc__reply r;
        *ret = sioc__reply_begin(&r, wsi, HTTP_STATUS_NOT_MODIFIED, NULL, 0) < 0
                   ? -1
                   : (sioc__cors_headers(tr, &r), sioc__reply_finish(&r, NULL, 0));
        return 0;
    }
    char file[PATH_MAX], extra[1024];
    snprintf(file, sizeof(file), "%s/%s", tr->opts->client_dir, name);
    bool map = strstr(name, ".map") != NULL;
    const char *mime =
        map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8";
    sioc__encoding enc = (sioc__encoding)sioc__request_encoding(tr, wsi);
    bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    const sioc__buf *z = enc && !head ? compressed_client_file(tr, index, enc) : NULL;
    if (z) {
        *ret = serve_client_compressed(tr, wsi, z, enc, mime);
        return 0;
    }
    /* lws wants ready-made header lines here. */
    snprintf(extra, sizeof(extra), "ETag: %s\r\nCache-Control: public, max-age=0\r\n%s",
             tr->client_etag, tr->opts->http_compression ? "Vary: Accept-Encoding\r\n" : "");
    sioc__cors_lines(tr, wsi, extra, sizeof(extra));
    *ret = serve_file(wsi, file, mime, extra);
    return 0;
}

/* ---- static files ---- */

static const char *mime_for(const char *file)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "application/javascript; charset=utf-8"},
        {".mjs", "application/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".map", "application/json; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".wasm", "application/wasm"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(file, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcasecmp(dot, types[i].ext) == 0) {
            return types[i].mime;
        }
    }
    return "application/octet-stream";
}

/* True when the URI path could name a file below the root: no "..", no NUL, no backslash. */
static bool safe_uri(const char *uri)
{
    if (uri[0] != '/' || strchr(uri, '\\')) {
        return false;
    }
    for (const char *p = uri; (p = strstr(p, "..")) != NULL; p += 2) {
        bool starts = p[-1] == '/';
        bool ends = p[2] == '/' || p[2] == '\0';
        if (starts && ends) {
            return false;
        }
    }
    return true;
}

/* Resolves `uri` to a regular file inside directory `dir` (index.html for directories).
 * Returns 0 with the real path in `out`, or -1. */
static int resolve_static(const char *dir, const char *uri, char *out)
{
    char root[PATH_MAX], joined[PATH_MAX + 16], real[PATH_MAX];
    if (!realpath(dir, root) || !safe_uri(uri)) {
        return -1;
    }
    snprintf(joined, sizeof(joined), "%s%s", root, uri);
    struct stat st;
    if (stat(joined, &st) == 0 && S_ISDIR(st.st_mode)) {
        strncat(joined, uri[strlen(uri) - 1] == '/' ? "index.html" : "/index.html",
                sizeof(joined) - strlen(joined) - 1);
    }
    /* realpath() also defeats symlinks that lead out of the root. */
    size_t rlen = strlen(root);
    if (!realpath(joined, real) || strncmp(real, root, rlen) != 0 || real[rlen] != '/' ||
        stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        return -1;
    }
    memcpy(out, real, strlen(real) + 1);
    return 0;
}

int sioc__serve_dir(struct lws *wsi, const char *root, const char *uri, int method)
{
    char file[PATH_MAX];
    if (!root || (method != LWSHUMETH_GET && method != LWSHUMETH_HEAD) ||
        resolve_static(root, uri, file) < 0) {
        return sioc__reply_simple(wsi, HTTP_STATUS_NOT_FOUND, "text/plain; charset=utf-8",
                                  "Not Found");
    }
    char extra[1024] = "";
    return serve_file(wsi, file, mime_for(file), extra);
}

int sioc__serve_static(sioc__transport *tr, struct lws *wsi, const char *uri, int method)
{
    for (size_t i = 0; i < tr->nmounts; i++) {
        const struct sioc__mount *m = &tr->mounts[i];
        size_t plen = strlen(m->prefix);
        if (strncmp(uri, m->prefix, plen) == 0) {
            return sioc__serve_dir(wsi, m->dir, uri + plen - 1, method);
        }
        if (strncmp(uri, m->prefix, plen - 1) == 0 && uri[plen - 1] == '\0') {
            /* The files' relative links need the slash. */
            sioc__reply r;
            if (sioc__reply_begin(&r, wsi, HTTP_STATUS_MOVED_PERMANENTLY, "text/plain", 0) < 0) {
                return -1;
            }
            sioc__reply_header(&r, "location:", m->prefix);
            return sioc__reply_finish(&r, NULL, 0);
        }
    }
    return sioc__serve_dir(wsi, tr->opts->public_dir, uri, method);
}

/* ---- the handshake, as Node's socket.handshake (built by src/eio/handshake.c) ---- */

/* What the handshake builder is given of a request: every header lws knows by name, the query's
 * fragments. The strings are the gatherer's (gather_free). */
typedef struct gathered {
    sioc__hs_header headers[_WSI_TOKEN_CLIENT_SENT_PROTOCOLS];
    char *values; /* every header's value, NUL-terminated, one after the other */
    char *query[64];
    sioc__hs_request req;
} gathered;

static void gather_free(gathered *g)
{
    free(g->values);
    for (size_t i = 0; i < g->req.nquery; i++) {
        free(g->query[i]);
    }
}

void sioc__hdr_tokens_init(sioc__transport *tr)
{
    tr->nhdr_tokens = 0;
    for (int t = 0; t < (int)_WSI_TOKEN_CLIENT_SENT_PROTOCOLS; t++) {
        const char *name = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        size_t nlen = name ? strlen(name) : 0;
        if (nlen < 2 || name[nlen - 1] != ':' || name[0] == ':') {
            continue; /* not a header ("get uri", pseudo-headers) */
        }
        /* lws's names are "host:": the builder takes them without the colon. */
        tr->hdr_tokens[tr->nhdr_tokens++] = (sioc__hdr_token){t, name, nlen - 1};
    }
}

/* Every request header lws knows by name ("host", "origin", "cookie", ...), lower-case, in lws's
 * order, their values copied into one block. Returns -1 when out of memory. */
static int gather_headers(sioc__transport *tr, struct lws *wsi, gathered *g)
{
    int lens[_WSI_TOKEN_CLIENT_SENT_PROTOCOLS];
    size_t total = 0;
    for (size_t i = 0; i < tr->nhdr_tokens; i++) {
        lens[i] = lws_hdr_total_length(wsi, (enum lws_token_indexes)tr->hdr_tokens[i].token);
        total += lens[i] > 0 ? (size_t)lens[i] + 1 : 0;
    }
    if (total == 0) {
        return 0;
    }
    if (!(g->values = malloc(total))) {
        return -1;
    }
    char *at = g->values;
    for (size_t i = 0; i < tr->nhdr_tokens; i++) {
        const sioc__hdr_token *h = &tr->hdr_tokens[i];
        if (lens[i] <= 0 ||
            lws_hdr_copy(wsi, at, lens[i] + 1, (enum lws_token_indexes)h->token) < 0) {
            continue;
        }
        g->headers[g->req.nheaders++] = (sioc__hs_header){h->name, h->len, at};
        at += lens[i] + 1;
    }
    assert(at <= g->values + total);
    return 0;
}

/* The query's fragments, as lws decoded them (at most 64: Node's qs keeps 1000, but no client
 * sends more than a handful). Returns -1 when out of memory. */
static int gather_query(struct lws *wsi, gathered *g)
{
    for (int i = 0; i < 64; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0) {
            break;
        }
        char *frag = malloc((size_t)flen + 1);
        if (!frag) {
            return -1;
        }
        if (lws_hdr_copy_fragment(wsi, frag, flen + 1, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            free(frag);
            break;
        }
        g->query[g->req.nquery++] = frag;
    }
    return 0;
}

/* What the packed request can count. */
_Static_assert(_WSI_TOKEN_CLIENT_SENT_PROTOCOLS <= SIOC__HS_MAX_FIELDS, "too many header tokens");
_Static_assert(sizeof(((gathered *)0)->query) / sizeof(char *) <= SIOC__HS_MAX_FIELDS,
               "too many query fragments");

/* The peer's address as lws_get_peer_simple() writes it ("%u.%u.%u.%u" for IPv4), an IPv4 one
 * without its snprintf: 1,800 instructions a connect for a few bytes. */
static void peer_address(struct lws *wsi, char *out, size_t cap)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int fd = (int)lws_get_socket_fd(wsi);
    if (cap < 16 || getpeername(fd, (struct sockaddr *)&sa, &len) < 0 || sa.ss_family != AF_INET) {
        lws_get_peer_simple(wsi, out, cap);
        return;
    }
    const unsigned char *a = (const unsigned char *)&((struct sockaddr_in *)&sa)->sin_addr;
    char *p = out;
    for (int i = 0; i < 4; i++) {
        if (a[i] >= 100) {
            *p++ = (char)('0' + a[i] / 100);
        }
        if (a[i] >= 10) {
            *p++ = (char)('0' + a[i] / 10 % 10);
        }
        *p++ = (char)('0' + a[i] % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
}

char *sioc__handshake_packed(struct lws *wsi)
{
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    gathered g;
    memset(&g, 0, sizeof(g));
    char uri[1024] = "", peer[64] = "";
    sioc__header(wsi, WSI_TOKEN_GET_URI, uri, sizeof(uri));
    peer_address(wsi, peer, sizeof(peer));
    g.req.headers = g.headers;
    g.req.query = (const char *const *)g.query;
    g.req.path = uri;
    g.req.peer = peer;
    g.req.trust_proxy = tr->opts->trust_proxy;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    g.req.now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    char *packed = NULL;
    if (gather_headers(tr, wsi, &g) == 0 && gather_query(wsi, &g) == 0) {
        packed = sioc__handshake_pack(&g.req);
    }
    gather_free(&g);
    return packed;
}
