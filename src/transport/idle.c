/* Connections that wait: idle keep-alive connections and held polling GETs. Their timeouts run on
 * sioc's timer wheel, and a held GET gives back its header table.
 *
 * lws 4.1.6 keeps every connection's timeout in one list sorted by deadline, and a new deadline is
 * inserted by walking the list from its head. The deadline of a connection going idle is always
 * the latest, so with thousands of long-polling clients each request walked past every other
 * connection's timer: 60 % of the server's CPU. Connections that wait for long (held GETs, idle
 * keep-alive connections) therefore leave lws's list and get a timer on the wheel instead (O(1));
 * lws keeps only the short timeouts of requests in progress, so its list stays short.
 *
 * lws 4.1.6 also keeps every header table in use on one singly linked list, which releasing one
 * walks: each held GET kept its table (some 4 KB) until answered, so answering walked the tables of
 * all the others (20 % of the CPU once the timers were gone). A held GET saves the two headers its
 * answer needs (the Origin for CORS, JSONP's `j`) and releases its table at once.
 *
 * This state must outlive the HTTP transaction, and lws frees the per-session data at the end of
 * each one, so it lives in a small block hung on the connection's opaque user data, freed with the
 * connection (LWS_CALLBACK_WSI_DESTROY). */
#include "transport/internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

typedef struct conn_timer {
    sioc__timer timer;
    struct lws *wsi;
    bool held;  /* a held GET: close it when due; otherwise an idle keep-alive connection */
    bool saved; /* the held GET's headers are below, its header table is gone */
    sioc__conn_mode conn; /* the held GET's Connection wish */
    char *origin;         /* owned; NULL: the request had none */
    char j[16];           /* JSONP's callback index ("" without) */
} conn_timer;

static sioc__wheel *wheel_of(struct lws *wsi)
{
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    return tr->wheel;
}

/* Whether the client has begun another request on this connection: its headers are being parsed
 * (lws's own header timeout covers that), or bytes wait to be read. */
static bool request_started(struct lws *wsi)
{
    char *uri;
    int len;
    if (lws_http_get_uri_and_method(wsi, &uri, &len) >= 0) {
        return true;
    }
    char byte;
    int fd = (int)lws_get_socket_fd(wsi);
    return fd >= 0 && recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void on_due(sioc__timer *t)
{
    conn_timer *k = CONTAINER(t, conn_timer, timer);
    if (!k->held && request_started(k->wsi)) {
        return; /* no longer idle: the end of that request arms the timer again */
    }
    enum pending_timeout why =
        k->held ? PENDING_TIMEOUT_HTTP_CONTENT : PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE;
    lws_set_timeout(k->wsi, why, LWS_TO_KILL_ASYNC);
}

/* The connection's block, made on first use; NULL when out of memory. */
static conn_timer *block_of(struct lws *wsi)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (!k) {
        k = calloc(1, sizeof(*k));
        if (k) {
            k->wsi = wsi;
            lws_set_opaque_user_data(wsi, k);
        }
    }
    return k;
}

static void forget_headers(conn_timer *k)
{
    free(k->origin);
    k->origin = NULL;
    k->j[0] = '\0';
    k->saved = false;
}

/* Arms the connection's timer. On allocation failure lws's own timeout is left in place: slower,
 * not wrong. */
static void arm(struct lws *wsi, bool held, uint64_t ms)
{
    conn_timer *k = block_of(wsi);
    if (!k) {
        lws_set_timeout(wsi,
                        held ? PENDING_TIMEOUT_HTTP_CONTENT : PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE,
                        (int)(ms > INT_MAX ? INT_MAX / 1000 : ms / 1000 + 1));
        return;
    }
    sioc__wheel *w = wheel_of(wsi);
    k->held = held;
    if (ms) {
        sioc__timer_start(w, &k->timer, sioc__wheel_now(w) + ms, on_due);
    } else {
        sioc__timer_stop(w, &k->timer); /* keepAliveTimeout 0: idle connections stay */
    }
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
}

int sioc__http_completed(struct lws *wsi)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (k) {
        forget_headers(k);
    }
    if (lws_http_transaction_completed(wsi)) {
        return -1;
    }
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    arm(wsi, false, tr->opts->keepalive_timeout_ms);
    return 0;
}

/* Keeps what the answer will need from the headers, then lets the table go. Kept as it is when
 * out of memory. */
static void release_headers(struct lws *wsi, conn_timer *k)
{
    char origin[512];
    if (sioc__header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)) >= 0) {
        k->origin = strdup(origin);
        if (!k->origin) {
            return;
        }
    }
    if (sioc__query_arg(wsi, "j", k->j, sizeof(k->j)) < 0) {
        k->j[0] = '\0';
    }
    k->conn = sioc__request_connection(wsi);
    k->saved = true;
    lws_http_headers_detach(wsi);
}

void sioc__http_hold(struct lws *wsi, uint64_t ms)
{
    arm(wsi, true, ms);
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (k && k->held) {
        release_headers(wsi, k);
    }
}

/* Whether the comma-separated header value `list` holds `token`, case aside. */
static bool has_token(const char *list, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = list; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m && (p[m - 1] == ' ' || p[m - 1] == '\t')) {
            m--;
        }
        if (m == tlen && strncasecmp(p, token, tlen) == 0) {
            return true;
        }
        p += n;
    }
    return false;
}

sioc__conn_mode sioc__request_connection(struct lws *wsi)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (k && k->saved) {
        return k->conn;
    }
    sioc__transport *tr = lws_context_user(lws_get_context(wsi));
    if (tr->opts->worker) {
        /* Worker processes: the next request on this connection may be another worker's, and
         * lws cannot hand a parsed connection over. Closed, as @socket.io/sticky's workers do. */
        return SIOC__CONN_CLOSE;
    }
    char version[16], conn[256];
    bool v11 = sioc__header(wsi, WSI_TOKEN_HTTP, version, sizeof(version)) > 0 &&
               strcmp(version, "HTTP/1.1") == 0;
    if (sioc__header(wsi, WSI_TOKEN_CONNECTION, conn, sizeof(conn)) < 0) {
        conn[0] = '\0';
    }
    if (has_token(conn, "close")) {
        return SIOC__CONN_CLOSE;
    }
    if (v11) {
        return SIOC__CONN_KEEP_ALIVE;
    }
    /* lws keeps an HTTP/1.0 connection only for a Connection header of exactly "keep-alive". */
    return strcasecmp(conn, "keep-alive") == 0 ? SIOC__CONN_KEEP_ALIVE_10 : SIOC__CONN_CLOSE;
}

int sioc__request_origin(struct lws *wsi, char *out, size_t cap)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (!k || !k->saved) {
        return sioc__header(wsi, WSI_TOKEN_ORIGIN, out, cap);
    }
    if (!k->origin || strlen(k->origin) >= cap) {
        return -1;
    }
    strcpy(out, k->origin);
    return (int)strlen(out);
}

void sioc__request_jsonp(struct lws *wsi, char *out, size_t cap)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    out[0] = '\0';
    if (k && k->saved) {
        snprintf(out, cap, "%s", k->j);
    } else if (sioc__query_arg(wsi, "j", out, cap) < 0) {
        out[0] = '\0';
    }
}

void sioc__http_busy(struct lws *wsi)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (k) {
        sioc__timer_stop(wheel_of(wsi), &k->timer);
    }
}

void sioc__http_destroyed(struct lws *wsi)
{
    conn_timer *k = lws_get_opaque_user_data(wsi);
    if (k) {
        sioc__timer_stop(wheel_of(wsi), &k->timer);
        forget_headers(k);
        lws_set_opaque_user_data(wsi, NULL);
        free(k);
    }
}
