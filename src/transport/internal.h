/* Shared by the transport files: the server object and per-connection state. This is the only
 * layer that includes <libwebsockets.h>. */
#ifndef SIOC_TRANSPORT_INTERNAL_H
#define SIOC_TRANSPORT_INTERNAL_H

#include <libwebsockets.h>
#include <regex.h>
#include <signal.h>
#include <sys/epoll.h>
#include <uv.h>

#include "server/options.h"
#include "transport/transport.h"
#include "eio/engine.h"
#include "eio/verify.h"
#include "transport/wsframe.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/wheel.h"
#include "util/container.h"

/* Node's maxHeaderSize: the request line and headers, at most. */
#define SIOC__MAX_HEAD (16 * 1024)

/* File descriptors kept for everything but connections: the listening socket, static files, the
 * event loop's own. */
#define SIOC__FD_RESERVE 16

typedef struct sioc__arrival sioc__arrival;
typedef struct sioc__embed sioc__embed;

_Static_assert(10 + 1 <= SIOC_MSG_HEADROOM,
               "messages need room for the WebSocket frame header and a v3 type byte");

/* A request header lws knows by name, for the handshake: its token and its name without lws's
 * colon ("host"), looked up once per server instead of once per connection. */
typedef struct sioc__hdr_token {
    int token;
    const char *name;
    size_t len;
} sioc__hdr_token;

struct sioc__transport {
    const sioc_options *opts; /* the server's */
    sioc__hdr_token hdr_tokens[_WSI_TOKEN_CLIENT_SENT_PROTOCOLS];
    size_t nhdr_tokens;
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    uv_loop_t *uv;
    uv_check_t flush_check; /* with libuv: flushes WebSockets after each round of I/O */
    sioc__embed *embed;     /* on the application's loop: sioc's, nested in it (embed.c) */
    void *foreign_loops[1];
    sioc__wheel *wheel; /* the server's */
    lws_sorted_usec_list_t tick;
    sioc__engine *engines;    /* longest path first */
    sioc__metrics_fn metrics; /* the metrics_path's text, from the server */
    void *metrics_arg;
    sioc__engine *sio_engine; /* the Socket.IO layer's engine: plain WebSocket clients join it */
    volatile sig_atomic_t stopping;
    int port;
    bool half_started;      /* lws made the context but not its listening vhost */
    bool draining;          /* shutting down: no new requests, queued packets still go out */
    regex_t *cors_patterns; /* compiled from the options */
    size_t ncors_patterns;
    char *refused_origins[64]; /* logged once each */
    size_t nrefused;
    char client_etag[64];
    /* The bundle's files compressed (gzip, deflate), made on first request (http.c). */
#define SIOC__CLIENT_FILES 8
    sioc__buf client_z[SIOC__CLIENT_FILES][2];
    sioc__buf batch;    /* several WebSocket frames written at once (reused) */
    struct lws **flush; /* WebSockets to write to when the current callback ends */
    size_t nflush, capflush;
    bool flushing;
    /* WebSockets whose next write waits a moment (pacing, engine_io.c), oldest first. */
    struct sioc__paced {
        struct lws *wsi; /* NULL once it closed */
        lws_usec_t due;
    } * paced;
    size_t npaced, cappaced;
    lws_sorted_usec_list_t pace_sul;
    long fd_limit;           /* RLIMIT_NOFILE, raised to its hard limit at start */
    uint64_t full_logged_ms; /* when "connection limit reached" was last logged */
    /* front.c: the listening socket, and connections whose first head is still coming. */
    int listen_fd; /* ours until adopted by lws, -1 after */
    struct lws *listen_wsi;
    lws_sorted_usec_list_t accept_sul;
    sioc__link pending;            /* sioc__arrival, oldest first */
    char head_buf[SIOC__MAX_HEAD]; /* what has come of a head, peeked at */
    /* wsread.c: which WebSockets have input, and a buffer to read it into. */
    /* route.c: requests for other workers' sessions go to them; theirs for ours come here. */
    uv_poll_t route_poll;
    bool routing;
    bool route_failed_logged;
    unsigned long routed_out, routed_in; /* requests handed to other workers, taken from them */
    int ws_epoll;                        /* -1 once lws has closed it */
    struct lws *ws_epoll_wsi;
    struct epoll_event *ws_ready; /* the batch being read, and its length */
    int ws_nready;
    unsigned char ws_rx[64 * 1024];
    /* allow.c: handshakes waiting for allowRequest, and the upgrade asked about last (its 101 and
     * ESTABLISHED follow in the same lws call). */
    sioc__link asking;
    sioc_request *upgrade_asking;
    /* sioc_server_serve_directory: URL prefixes (ending in '/') and their directories. */
    struct sioc__mount {
        char *prefix, *dir;
    } * mounts;
    size_t nmounts;
    /* permessage-deflate (deflate.c): one compressor and one decompressor for every WebSocket,
     * since no context is kept between messages. */
    struct sioc__pmd *pmd;
    bool tls;               /* https and wss: lws does the TLS, sioc reads through it */
    struct lws **tls_again; /* wsread.c: resumed with input decrypted already */
    size_t ntls_again, captls_again;
    volatile sig_atomic_t reload_tls; /* sioc__transport_reload_tls() asked: done on the loop */
    /* Called on the loop after sioc__transport_wake() from any thread. */
    void (*on_wake)(void *arg);
    void *wake_arg;
};

/* What a connection is doing for us. lws resets this between HTTP transactions and at the
 * WebSocket upgrade, so it only ever holds state for the current request or the WebSocket. */
typedef enum conn_role {
    ROLE_NONE = 0,
    ROLE_POLL_HELD, /* a polling GET waiting for packets */
    ROLE_POST,      /* a polling POST whose body is being read */
    ROLE_POST_OVER, /* a POST answered 413 before its body: the body is read and dropped */
    ROLE_WS,        /* a WebSocket carrying a session */
    ROLE_WS_PROBE,  /* a WebSocket being upgraded to */
    ROLE_ASKING,    /* a polling handshake waiting for allowRequest */
    ROLE_WS_ASKING, /* a WebSocket handshake waiting for allowRequest, after its 101 */
} conn_role;

typedef struct sioc__pss {
    conn_role role;
    sioc_conn *sess;        /* holds a session reference while set */
    sioc__buf body;         /* POST body, or a WebSocket message being reassembled */
    size_t expected;        /* POST Content-Length */
    bool handshake;         /* this request opened the session */
    bool post_binary;       /* a v3 application/octet-stream POST */
    bool jsonp;             /* a JSONP request (`j` in the query) */
    unsigned char encoding; /* sioc__encoding: how a polling answer may be compressed, decided
                               from the request's headers when it came (a held GET's may be
                               gone by the time it is answered) */
    bool message_binary;
    bool message_compressed; /* permessage-deflate: the message being reassembled is */
    bool pmd;                /* this WebSocket agreed to permessage-deflate */
    bool discarding;         /* closing: nothing more is delivered */
    int close_status;        /* a WebSocket close to send from the next WRITEABLE */
    bool close_sent;
    bool close_hard;       /* shut the connection once the close frame is out */
    bool close_echo;       /* the close frame carries no status (the peer's had none) */
    char cookie_sid[21];   /* a WebSocket handshake's sid, drawn early to go in its cookie */
    bool flush_pending;    /* in the server's flush list */
    bool ping_due;         /* a WebSocket PING to send from the next WRITEABLE */
    bool paced;            /* in the server's paced list: nothing is written until it leaves */
    sioc__ws_rx rx;        /* a WebSocket's incoming frames */
    bool reading;          /* a WebSocket in wsread.c's set */
    bool read_paused;      /* not read for now (input backpressure) */
    sioc_request *request; /* ROLE_ASKING, ROLE_WS_ASKING */
} sioc__pss;

/* What becomes of the connection after the answer to its current request (RFC 9112 §9.3). */
typedef enum sioc__conn_mode {
    SIOC__CONN_KEEP_ALIVE = 0, /* HTTP/1.1's default: nothing to say */
    SIOC__CONN_KEEP_ALIVE_10,  /* HTTP/1.0 with "Connection: keep-alive": say it back */
    SIOC__CONN_CLOSE,          /* "Connection: close", or HTTP/1.0 without keep-alive */
} sioc__conn_mode;

/* An HTTP response under construction: status, headers, then one write with the body. */
typedef struct sioc__reply {
    struct lws *wsi;
    unsigned char *start, *p, *end;
    unsigned char *mem;
    sioc__conn_mode conn; /* what the request asked for */
    bool failed;
    bool body_unread; /* the request's body is still to come: the transaction does not end here */
    bool close;       /* set before finishing: the connection closes after this answer */
} sioc__reply;

/* allow.c: allowRequest, decided now or later */
typedef enum sioc__verdict { SIOC__UNDECIDED, SIOC__ACCEPTED, SIOC__REJECTED } sioc__verdict;

struct sioc_request {
    sioc__link link; /* first: in the server's asking list */
    sioc__transport *tr;
    struct lws *wsi; /* the connection waiting, NULL while none is (not yet, or gone) */
    sioc__pss *pss;
    struct lws *upgrade_wsi; /* the upgrade asked about, until its ESTABLISHED */
    sioc__verdict verdict;
    char *message; /* a refusal's, or NULL */
    bool asking;   /* inside the application's callback: a decision is read on return */
    /* What the handshake goes on with once accepted. */
    sioc__engine *eng;
    char *handshake; /* the packed handshake (owned until the session takes it) */
    unsigned protocol;
    bool b64;
    char cookie_sid[21];
};

/* Asks allowRequest about a handshake (`handshake`, packed, borrowed). Returns ACCEPTED,
 * REJECTED (*message: the refusal's, a new string or NULL: free() it), or UNDECIDED with *out the
 * waiting request (in the server's asking list; the caller fills what the handshake goes on with
 * and hands it to a connection). */
sioc__verdict sioc__allow_ask(sioc__transport *tr, const char *handshake, char **message,
                              sioc_request **out);
/* A connection waiting on `r` has gone: the request stays until decided. */
void sioc__allow_detach(sioc_request *r);
/* Frees a decided request (its connection has resumed). */
void sioc__allow_free(sioc_request *r);
/* Frees every request still waiting (the server is going). */
void sioc__allow_free_all(sioc__transport *tr);

/* front.c */
/* Opens the listening socket on host:port (port 0: any free one) and sets `tr->port`. Returns 0
 * or SIOC_ERR_LISTEN. */
int sioc__front_listen(sioc__transport *tr, const char *host, int port);
/* Hands the listening socket to lws's loop (`tr->vhost` exists): connections come in from here
 * on. Returns 0 or SIOC_ERR_LISTEN. */
int sioc__front_start(sioc__transport *tr);
/* lws's callbacks for the raw descriptors the front door watches. */
int sioc__front_raw(sioc__transport *tr, struct lws *wsi, enum lws_callback_reasons reason);
/* A connection whose head has been checked (by another worker) becomes libwebsockets'. */
void sioc__front_adopt(sioc__transport *tr, int fd);

/* route.c (--workers): whether the request whose head is `head` (`len` bytes) on `fd` names
 * another worker's session and went to it (then `fd` is closed here). */
bool sioc__route_away(sioc__transport *tr, int fd, const char *head, size_t len);
/* Starts and stops taking the requests other workers send here. 0 or a SIOC_ERR_* code. */
int sioc__route_start(sioc__transport *tr);
void sioc__route_stop(sioc__transport *tr);
/* Closes the connections still waiting for their head (before the context goes). */
void sioc__front_close_pending(sioc__transport *tr);

/* http.c */
int sioc__reply_begin(sioc__reply *r, struct lws *wsi, unsigned status, const char *content_type,
                      size_t body_len);
void sioc__reply_header(sioc__reply *r, const char *name, const char *value);
/* Sends headers and body and completes the transaction (unless `body_unread`). Returns what the lws
 * callback returns. */
int sioc__reply_finish(sioc__reply *r, const void *body, size_t len);
int sioc__reply_simple(struct lws *wsi, unsigned status, const char *content_type,
                       const char *body);
/* deflate.c: permessage-deflate's compressed copy of `m` (made once, kept in m->deflated; NULL
 * on failure: the message then goes uncompressed), and a compressed message inflated into `out`
 * (reset first). Returns 0, -1 for input that is not deflate data, -2 when it inflates to more
 * than `max` bytes, -3 on no memory. */
sioc__msg *sioc__pmd_deflate(sioc__transport *tr, sioc__msg *m);
int sioc__pmd_inflate(sioc__transport *tr, const void *in, size_t len, size_t max, sioc__buf *out);
void sioc__pmd_free(sioc__transport *tr);
/* Frees the compressed copies of the bundle. */
void sioc__client_z_free(sioc__transport *tr);
/* The content coding a response to this request may use (sioc__encoding): what its
 * Accept-Encoding accepts of gzip and deflate, identity when compression is off. */
int sioc__request_encoding(sioc__transport *tr, struct lws *wsi);
/* Serves the file `uri` names below `root`, or a 404. */
int sioc__serve_dir(struct lws *wsi, const char *root, const char *uri, int method);
/* An empty answer after which the connection closes (malformed or refused requests). Returns -1. */
int sioc__reply_closing(struct lws *wsi, unsigned status);
/* Adds the CORS headers the options call for, given the request's Origin. */
void sioc__cors_headers(sioc__transport *tr, sioc__reply *r);
/* The same as ready-made header lines ("Name: value\r\n"...), for lws_serve_http_file. */
void sioc__cors_lines(sioc__transport *tr, struct lws *wsi, char *out, size_t cap);
/* Compiles the options' origin patterns. Returns 0 or SIOC_ERR_NOMEM. */
int sioc__cors_init(sioc__transport *tr);
void sioc__cors_free(sioc__transport *tr);
/* Answers a CORS preflight (OPTIONS). */
int sioc__cors_preflight(sioc__transport *tr, struct lws *wsi);
/* Whether the request line says HTTP/1.1 or HTTP/1.0 (the only versions lws speaks over h1). */
bool sioc__request_version_ok(struct lws *wsi);
/* Whether the request's body is framed without ambiguity (RFC 9112 §6.3): no Content-Length with
 * Transfer-Encoding, every Content-Length a plain decimal and all of them equal. A request that
 * fails is answered 400 and its connection closed, as Node's parser does: none of its bytes may
 * be read as a body or as a further request. */
bool sioc__request_framing_ok(struct lws *wsi);
/* A WebSocket handshake's own rules, before Engine.IO's (LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, with
 * lws's `in`): 0 to go on, or -1 once the request has been answered (the connection closes). */
int sioc__upgrade_check(struct lws *wsi, const char *upgrade);
/* Serves the client bundle if `uri` names one; returns 1 when it did not match. */
int sioc__serve_client(sioc__transport *tr, struct lws *wsi, const char *uri, int *ret);
/* Serves a static file from the public directory, or 404. */
int sioc__serve_static(sioc__transport *tr, struct lws *wsi, const char *uri, int method);
void sioc__client_etag_init(sioc__transport *tr);
/* Copies query argument `name` (without "=") into `out`; returns its length, -1 when absent, or
 * -2 when present but too long for `out`. */
int sioc__query_arg(struct lws *wsi, const char *name, char *out, size_t cap);
/* Several query arguments in one walk over the query: each `rc` set as sioc__query_arg returns. */
typedef struct sioc__query_want {
    const char *name;
    char *out;
    size_t cap;
    int rc;
} sioc__query_want;
void sioc__query_args(struct lws *wsi, sioc__query_want *want, size_t n);
/* Copies header `h` into `out`; returns its length or -1 when absent or too long. */
int sioc__header(struct lws *wsi, enum lws_token_indexes h, char *out, size_t cap);

/* What Node's handshake object is made of for the request on `wsi`, packed
 * (sioc__handshake_pack: malloc'd; NULL on no memory). */
char *sioc__handshake_packed(struct lws *wsi);
/* Fills tr->hdr_tokens: the headers lws knows by name, for sioc__handshake_packed. */
void sioc__hdr_tokens_init(sioc__transport *tr);

/* idle.c: timeouts of connections that wait, on the wheel instead of lws's sorted list */
/* lws_http_transaction_completed(), then the idle keep-alive timeout. Returns -1: close. */
int sioc__http_completed(struct lws *wsi);
/* A GET held for packets: closed after `ms` unless answered first. Its header table is released:
 * from here on, read its Origin and `j` with the two functions below. */
void sioc__http_hold(struct lws *wsi, uint64_t ms);
/* The request's Origin header into `out`: its length, or -1 without one (or too long). */
int sioc__request_origin(struct lws *wsi, char *out, size_t cap);
/* JSONP's `j` query argument into `out` ("" without). */
void sioc__request_jsonp(struct lws *wsi, char *out, size_t cap);
/* What the current request asked of the connection (kept for a held GET). */
sioc__conn_mode sioc__request_connection(struct lws *wsi);
/* A request began on the connection (or it became a WebSocket): it is not idle. */
void sioc__http_busy(struct lws *wsi);
/* The connection is being freed (LWS_CALLBACK_WSI_DESTROY). */
void sioc__http_destroyed(struct lws *wsi);

/* embed.c */
/* Nests the server's loop in the application's `app`. Returns 0, SIOC_ERR_NOMEM or
 * SIOC_ERR_SYSTEM. */
int sioc__embed_start(sioc__transport *tr, uv_loop_t *app);
/* Closes the handles added to the application's loop (freed by their close callbacks). */
void sioc__embed_stop(sioc__transport *tr);

/* wsread.c */
/* Opens the set of WebSockets with input and hands it to lws's loop (`tr->vhost` exists). Returns
 * 0 or SIOC_ERR_SYSTEM. */
int sioc__wsread_start(sioc__transport *tr);
/* From now on sioc reads the upgraded connection `wsi` (lws no longer does). Returns 0 or -1. */
int sioc__wsread_add(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
/* Stops reading `wsi` (it is closing). */
void sioc__wsread_remove(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
/* Input backpressure: `wsi` is not read while paused. */
void sioc__wsread_pause(sioc__transport *tr, struct lws *wsi, bool paused);
/* Reads the TLS WebSockets that resumed with input already decrypted (from the loop's tick). */
void sioc__wsread_tls_again(sioc__transport *tr);
/* lws's callbacks for the set's descriptor. */
int sioc__wsread_raw(sioc__transport *tr, struct lws *wsi, enum lws_callback_reasons reason);

/* engine_io.c: what the two transports share */
extern const sioc__eio_io sioc__lws_io;
sioc__engine *sioc__engine_for_uri(sioc__transport *tr, const char *uri, size_t len);
/* Node's 400 {"code":N,"message":...} for a request verify() refused. */
int sioc__eio_reply_error(struct lws *wsi, sioc__eio_error code);
/* The request's Engine.IO query (EIO, transport, sid, b64, j). */
void sioc__eio_read_query(struct lws *wsi, sioc__eio_query *q);
/* Lets due timers fire before a request naming a session is looked at. */
void sioc__eio_catch_up(sioc__transport *tr, const sioc__eio_query *q);
/* The `cookie` option's Set-Cookie value for `sid`. */
void sioc__eio_format_cookie(const sioc_options *o, const char *sid, char *out, size_t cap);
/* Whether the client of held GET `conn` has hung up. */
bool sioc__eio_gone(void *conn);
/* Pacing: nothing is written to the WebSocket until a moment has passed (its open packet). */
void sioc__eio_pace(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
void sioc__eio_unpace(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
/* A WebSocket that closes while listed for a write must not be written to. */
void sioc__eio_unlist(sioc__transport *tr, struct lws *wsi);

/* polling.c */
int sioc__eio_http(sioc__transport *tr, sioc__engine *eng, struct lws *wsi, sioc__pss *c,
                   int method);
int sioc__eio_body(sioc__transport *tr, struct lws *wsi, sioc__pss *c, const void *in, size_t len);
int sioc__eio_body_done(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
int sioc__eio_http_writeable(struct lws *wsi, sioc__pss *c);
void sioc__eio_http_closed(struct lws *wsi, sioc__pss *c);

/* websocket.c */
int sioc__eio_confirm_upgrade(sioc__transport *tr, struct lws *wsi);
int sioc__eio_ws_open(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
/* Headers for the 101 answer to a WebSocket handshake: the `cookie` option's. */
int sioc__eio_ws_headers(sioc__transport *tr, struct lws *wsi, sioc__pss *c,
                         struct lws_process_html_args *args);
/* What wsread.c read from a WebSocket (writable: frames are unmasked in place). Returns -1 to
 * close. */
int sioc__eio_ws_receive(sioc__transport *tr, struct lws *wsi, sioc__pss *c, void *in, size_t len);
int sioc__eio_ws_writeable(sioc__transport *tr, struct lws *wsi, sioc__pss *c);
void sioc__eio_ws_closed(struct lws *wsi, sioc__pss *c);

/* engine_io.c: writes what the WebSockets woken during the current callback have queued. */
void sioc__eio_flush(sioc__transport *tr);
/* Lets go of the paced list (the server is being freed). */
void sioc__eio_pacing_free(sioc__transport *tr);

#endif
