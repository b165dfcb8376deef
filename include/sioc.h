/*
 * sioc — a Socket.IO server library.
 *
 * One header, opaque handles, one prefix. Conventions (see the README):
 *  - Functions return 0 on success or a negative `sioc_error`; `sioc_strerror()` names it. If a
 *    function returns an error, none of its callbacks is called.
 *  - Constructors write their out-pointer only on success; destructors accept NULL.
 *  - Arguments are borrowed: the library copies what it keeps.
 *  - Everything runs on the thread that calls sioc_server_run() (or runs the application's loop,
 *    see sioc_options_set_uv_loop()); only sioc_server_stop() may be called from another thread
 *    or a signal handler.
 */
#ifndef SIOC_H
#define SIOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SIOC_BUILDING) && defined(__GNUC__)
#define SIOC_EXPORT __attribute__((visibility("default")))
#else
#define SIOC_EXPORT
#endif

#define SIOC_VERSION "0.1.0"

/* Error codes. Their values never change. */
typedef enum sioc_error {
    SIOC_OK = 0,
    SIOC_ERR_NOMEM = -1,     /* out of memory */
    SIOC_ERR_INVALID = -2,   /* an argument is out of range or NULL */
    SIOC_ERR_LISTEN = -3,    /* the listening socket could not be set up (port in use, bad host) */
    SIOC_ERR_CLOSED = -4,    /* the connection is closed or closing */
    SIOC_ERR_SYSTEM = -5,    /* the event loop or an operating-system call failed */
    SIOC_ERR_TOO_LARGE = -6, /* larger than maxHttpBufferSize */
    SIOC_ERR_TIMEOUT = -7    /* no acknowledgement in time ("operation has timed out") */
} sioc_error;

/* A static, human-readable description of `err`; never NULL. */
SIOC_EXPORT const char *sioc_strerror(int err);

/* ---- Options ------------------------------------------------------------------------------- */

/* Server options, named after the Node server's. Create, set, pass to sioc_server_new(), free. */
typedef struct sioc_options sioc_options;

/* Transports, for sioc_options_set_transports(). */
enum {
    SIOC_TRANSPORT_POLLING = 1 << 0,
    SIOC_TRANSPORT_WEBSOCKET = 1 << 1,
};

/* Event loop backends, for sioc_options_set_event_loop(). */
typedef enum sioc_event_loop {
    SIOC_LOOP_LIBUV = 0, /* default: a libuv loop owned by the server */
    SIOC_LOOP_POLL = 1   /* libwebsockets' own poll() loop */
} sioc_event_loop;

typedef enum sioc_log_level {
    SIOC_LOG_ERROR = 0,
    SIOC_LOG_WARN = 1, /* default */
    SIOC_LOG_INFO = 2, /* one line per connection event */
    SIOC_LOG_DEBUG = 3
} sioc_log_level;

/* New options holding every default. Returns 0, SIOC_ERR_INVALID (out is NULL) or
 * SIOC_ERR_NOMEM. The caller owns *out and frees it with sioc_options_free(). */
SIOC_EXPORT int sioc_options_new(sioc_options **out);
/* Frees options; NULL is allowed. A server made from them keeps its own copy. */
SIOC_EXPORT void sioc_options_free(sioc_options *opts);

/* TCP port, 0-65535; 0 lets the kernel pick (ask sioc_server_port()). Default 3000. */
SIOC_EXPORT int sioc_options_set_port(sioc_options *opts, int port);
/* Address to bind, e.g. "127.0.0.1"; NULL (default) binds every interface. */
SIOC_EXPORT int sioc_options_set_host(sioc_options *opts, const char *host);
/* `path`: where the Engine.IO endpoint lives. Default "/socket.io/"; a trailing slash is added if
 * missing, as Node does. Must start with '/'. */
SIOC_EXPORT int sioc_options_set_path(sioc_options *opts, const char *path);
/* `pingInterval`: the server sends a ping this often. Default 25000 ms, 1 to 2^31-1. */
SIOC_EXPORT int sioc_options_set_ping_interval_ms(sioc_options *opts, unsigned ms);
/* `pingTimeout`: the session closes when the pong takes longer. Default 20000 ms, 1 to 2^31-1. */
SIOC_EXPORT int sioc_options_set_ping_timeout_ms(sioc_options *opts, unsigned ms);
/* `upgradeTimeout`: an upgrade to WebSocket not completed in time is dropped. Default 10000 ms. */
SIOC_EXPORT int sioc_options_set_upgrade_timeout_ms(sioc_options *opts, unsigned ms);
/* The HTTP server's `keepAliveTimeout`: a keep-alive connection idle this long is closed. Default
 * 5000 ms, as Node's; 0: never. */
SIOC_EXPORT int sioc_options_set_keepalive_timeout_ms(sioc_options *opts, unsigned ms);
/* `maxHttpBufferSize`: the largest message or polling body accepted, in bytes. Default 1e6;
 * 1 to 2^31-1. A larger POST gets HTTP 413; a larger WebSocket message closes it with 1009. */
SIOC_EXPORT int sioc_options_set_max_http_buffer_size(sioc_options *opts, size_t bytes);
/* The most bytes queued for one connection whose client does not read (Node has no such limit).
 * Volatile packets are not queued behind others in the first place; past the limit the connection
 * is closed and its sockets see the reason "write buffer full". Before that, a WebSocket client
 * whose messages take another connection's queue past a quarter of the limit is not read from
 * until that queue is back under an eighth (4 MiB and 2 MiB with no limit), so that a fast sender
 * waits for readers that keep up more slowly instead of having them closed. Only a connection
 * that drains may hold a sender: one whose client took nothing for 50 ms while it had something
 * to send lets its senders go and holds no one back until its queue is under an eighth again, so
 * that clients which stopped reading cost the others at most 50 ms, once. Default 16 MiB; 0: no
 * limit. */
SIOC_EXPORT int sioc_options_set_max_buffered_bytes(sioc_options *opts, size_t bytes);
/* `transports`: a non-empty mask of SIOC_TRANSPORT_*. Default both. */
SIOC_EXPORT int sioc_options_set_transports(sioc_options *opts, unsigned mask);
/* `allowEIO3`: also accept clients of the socket.io-client 2.x generation (Engine.IO v3, Socket.IO
 * protocol v4), in the same namespaces and rooms as the others. Default false: such clients get
 * Node's 400 {"code":5,"message":"Unsupported protocol version"}. */
SIOC_EXPORT int sioc_options_set_allow_eio3(sioc_options *opts, bool allow);
/* `cors.origin`: adds an allowed origin ("https://example.com", or "*" for any). With none (the
 * default) no CORS header is sent, as Node. */
SIOC_EXPORT int sioc_options_add_cors_origin(sioc_options *opts, const char *origin);
/* `cors.origin` as a pattern: allows the origins a POSIX extended regular expression matches,
 * e.g. "^https?://([a-z]+\\.)?example\\.com$". Checked when the server is created. */
SIOC_EXPORT int sioc_options_add_cors_origin_pattern(sioc_options *opts, const char *pattern);
/* `cors.origin` as a function: `cb` decides for each request's Origin (NULL when the request has
 * none). Asked after the origins and patterns, when none of them allowed it. */
typedef bool (*sioc_origin_cb)(const char *origin, void *user_data);
SIOC_EXPORT int sioc_options_set_cors_origin_callback(sioc_options *opts, sioc_origin_cb cb,
                                                      void *user_data);
/* `cors.methods` for preflight answers. Default "GET,HEAD,PUT,PATCH,POST,DELETE". */
SIOC_EXPORT int sioc_options_set_cors_methods(sioc_options *opts, const char *methods);
/* `cors.allowedHeaders` for preflight answers. Default NULL: reflect the request's
 * Access-Control-Request-Headers, as the cors package does. */
SIOC_EXPORT int sioc_options_set_cors_allowed_headers(sioc_options *opts, const char *headers);
/* `cors.credentials`: send Access-Control-Allow-Credentials. Default false. */
SIOC_EXPORT int sioc_options_set_cors_credentials(sioc_options *opts, bool credentials);
/* `allowRequest`: decides each handshake (polling or WebSocket) from its handshake object (see
 * sioc_conn_handshake(), borrowed). Returning false refuses it with Node's 403
 * {"code":4,"message":"Forbidden"} (or *message when the callback sets it). */
typedef bool (*sioc_allow_request_cb)(json_t *handshake, const char **message, void *user_data);
SIOC_EXPORT int sioc_options_set_allow_request(sioc_options *opts, sioc_allow_request_cb cb,
                                               void *user_data);
/* A handshake waiting for an asynchronous allowRequest's decision. */
typedef struct sioc_request sioc_request;
/* `allowRequest` with Node's callback: the decision may come during the call or later (after a
 * database or token-service look-up), by exactly one sioc_request_accept() or
 * sioc_request_reject() on `request`, from the server's thread; `handshake` is borrowed for the
 * call. Meanwhile the handshake holds only its own state and the server serves everyone else. A
 * polling handshake is answered once decided (held at most pingInterval + pingTimeout + 10 s). A
 * WebSocket handshake decided during the call is answered as Node does (a refusal is a 400); one
 * decided later gets its 101 at once, since libwebsockets answers an upgrade before its callback
 * returns, then the Engine.IO open packet when accepted, or a close with status 1008 and no
 * session when refused. A request whose client leaves first stays valid until decided; those
 * undecided when the server is freed are freed with it. Replaces sioc_options_set_allow_request
 * (and is replaced by it). */
typedef void (*sioc_allow_request_async_cb)(json_t *handshake, sioc_request *request,
                                            void *user_data);
SIOC_EXPORT int sioc_options_set_allow_request_async(sioc_options *opts,
                                                     sioc_allow_request_async_cb cb,
                                                     void *user_data);
/* Lets the handshake go on. Ends `request`. */
SIOC_EXPORT void sioc_request_accept(sioc_request *request);
/* Refuses it with Node's 403 {"code":4,"message": message or "Forbidden"}. Ends `request`. */
SIOC_EXPORT void sioc_request_reject(sioc_request *request, const char *message);
/* `cookie`: sets a cookie holding the sid on the handshake answer, for load-balancer stickiness:
 * `name` (NULL: no cookie, the default), `path` (NULL: "/"), HttpOnly, and `same_site` ("Lax",
 * "Strict", "None" or NULL for none). */
SIOC_EXPORT int sioc_options_set_cookie(sioc_options *opts, const char *name, const char *path,
                                        bool http_only, const char *same_site);
/* Trust X-Forwarded-For: the handshake's address is its first entry (behind a reverse proxy).
 * Default false. */
SIOC_EXPORT int sioc_options_set_trust_proxy(sioc_options *opts, bool trust);
/* `serveClient`: serve the client bundle under the path. Default true. */
SIOC_EXPORT int sioc_options_set_serve_client(sioc_options *opts, bool serve);
/* Directory holding the socket.io-client bundle (its `dist/`). Default: the one found at build
 * time. */
SIOC_EXPORT int sioc_options_set_client_dir(sioc_options *opts, const char *dir);
/* Directory of static files served for every other GET (index.html for "/"). Default NULL: none. */
SIOC_EXPORT int sioc_options_set_public_dir(sioc_options *opts, const char *dir);
/* The event loop backend. Default SIOC_LOOP_LIBUV. Returns 0 or SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_options_set_event_loop(sioc_options *opts, sioc_event_loop loop);
/* Runs the server on the application's own libuv loop (`uv_loop_t *`; borrowed, it must outlive
 * the server): the application runs the loop, and sioc_server_run() is not called. The server
 * adds three handles to it (a poll handle, a timer and a check handle, which drive sioc's own
 * loop, nested), and sioc_server_free() closes them: their memory is freed by their close
 * callbacks, the next time the loop runs. NULL (the default) gives the server a loop of its own.
 * Needs the SIOC_LOOP_LIBUV backend (sioc_server_new() refuses the poll backend with it:
 * SIOC_ERR_INVALID). Returns 0 or SIOC_ERR_INVALID. */
struct uv_loop_s;
SIOC_EXPORT int sioc_options_set_uv_loop(sioc_options *opts, struct uv_loop_s *loop);
/* HTTPS and WSS on the server's port (Node's https.createServer({cert, key})): `cert_file` a PEM
 * certificate (chain) and `key_file` its PEM private key, both read when the server is made and
 * again by sioc_server_reload_tls(); NULL for both (the default) serves plain HTTP. ALPN offers
 * http/1.1 only. Not with worker processes (their routing reads the request's first line).
 * Returns 0 or SIOC_ERR_INVALID (one without the other) or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_options_set_tls(sioc_options *opts, const char *cert_file,
                                     const char *key_file);
/* `httpCompression`: polling answers of at least `threshold` bytes (Node's default 1024) go
 * compressed with gzip or deflate when the request accepts one (as Node, which compresses such
 * payloads since every packet it sends has the `compress` flag by default), and the client
 * bundle is served compressed to clients that accept it. Default on, 1024. Returns 0 or
 * SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_options_set_http_compression(sioc_options *opts, bool enabled,
                                                  size_t threshold);
/* `perMessageDeflate`: WebSocket messages of at least `threshold` bytes (Node's default 1024)
 * go compressed (RFC 7692) to clients that offered permessage-deflate, and compressed messages
 * from them are taken. sioc agrees to it without context takeover either way: a broadcast is
 * compressed once for all its receivers and no connection keeps compression state between
 * messages. maxHttpBufferSize applies to the message inflated. Default off, as Node's. Returns 0
 * or SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_options_set_per_message_deflate(sioc_options *opts, bool enabled,
                                                     size_t threshold);
/* Node's `parser` option: how Socket.IO packets are written on Engine.IO messages. The default
 * is socket.io-parser's (JSON text, binary as attachments); SIOC_PARSER_MSGPACK is
 * socket.io-msgpack-parser 3.0.2's (each packet one binary MessagePack message, binary inline),
 * for clients made with `parser: require("socket.io-msgpack-parser")` or the
 * socket.io.msgpack.min.js bundle. Every client of the server uses it (plain WebSocket clients
 * keep their JSON frames); a cluster's nodes need not agree (adapters carry packets their own
 * way). Returns 0 or SIOC_ERR_INVALID. */
typedef enum sioc_parser { SIOC_PARSER_DEFAULT, SIOC_PARSER_MSGPACK } sioc_parser;
SIOC_EXPORT int sioc_options_set_parser(sioc_options *opts, sioc_parser parser);
/* `connectTimeout`: a connection that joins no namespace in time is closed. Default 45000 ms. */
SIOC_EXPORT int sioc_options_set_connect_timeout_ms(sioc_options *opts, unsigned ms);
/* `connectionStateRecovery`: with `max_disconnection_duration_ms` > 0 (default 0: off), a client
 * that comes back within that time after losing its connection (transport close or error, ping
 * timeout, forced close, server shutting down) gets its socket back: same id, rooms and JSON data,
 * and every broadcast it missed, in order. Broadcasts then carry an offset as their last argument
 * (as with Node). `skip_middlewares` (Node's default: true) lets a recovered socket skip the
 * connection middleware. */
SIOC_EXPORT int sioc_options_set_connection_state_recovery(sioc_options *opts,
                                                           unsigned max_disconnection_duration_ms,
                                                           bool skip_middlewares);
/* `cleanupEmptyChildNamespaces`: remove a dynamic namespace's child once its last socket has
 * left. Default false. */
SIOC_EXPORT int sioc_options_set_cleanup_empty_child_namespaces(sioc_options *opts, bool cleanup);
/* The most child namespaces dynamic parents may create (Node has no limit; each costs memory for
 * as long as it lives). Past it a CONNECT to a new one gets CONNECT_ERROR
 * {"message":"Namespace limit reached"} and a warning is logged. Default 10000; 0: no limit. */
SIOC_EXPORT int sioc_options_set_max_dynamic_namespaces(sioc_options *opts, size_t max);
/* Joins a cluster of socket.io servers through Redis, as @socket.io/redis-adapter 8.3.0's classic
 * adapter does, wire-compatible with Node servers using it: `url` is
 * "redis://[:password@]host:port[/db]" (NULL: alone, the in-memory adapter, the default), `prefix`
 * the adapter's key (NULL: "socket.io"). Broadcasts (rooms, except, volatile, local) reach every
 * node's sockets; a node's sockets also hear @socket.io/redis-emitter. Other nodes' requests
 * (their fetchSockets, socketsJoin and the like, serverSideEmit, broadcasts with acks) are
 * answered for this node's sockets and listeners, and this node's reach every other node:
 * fetches list the whole cluster's sockets, joins, leaves and disconnects act on all (here at
 * once, elsewhere as the request arrives), server-side emits wait for each other node's answer,
 * broadcasts with acks collect every client's. Needs the libuv event loop (sioc_server_new
 * answers SIOC_ERR_INVALID with the poll one). While Redis is unreachable, local delivery goes on
 * and the link is retried (100 ms to 5 s); fetches and server-side emits fail at once
 * (SIOC_ERR_CLOSED), joins, leaves and disconnects act here only (SIOC_ERR_CLOSED), and a
 * broadcast with acks waits for this node's clients only. */
SIOC_EXPORT int sioc_options_set_redis(sioc_options *opts, const char *url, const char *prefix);
/* Which of @socket.io/redis-adapter 8.3.0's adapters joins the cluster of sioc_options_set_redis
 * (the same on every node): the classic one (PUBLISH/PSUBSCRIBE; the default), or the sharded one
 * (createShardedAdapter: Node's ClusterAdapter messages over Redis 7's SPUBLISH/SSUBSCRIBE, the
 * key given to sioc_options_set_redis as its channelPrefix) with its subscriptionMode: static
 * (one channel per namespace), dynamic (and one per room that is not a socket's own; the
 * default) or dynamic-private (one per room). With the sharded adapter, as with Node's, a client
 * that comes back gets a new socket (no connection state recovery). Or the Streams one
 * (@socket.io/redis-streams-adapter 0.3.1; options: sioc_options_set_redis_streams), with which
 * connection state recovery spans the cluster: a client comes back on any node, sioc or Node.
 * `mode` is the sharded adapter's only. 0 or SIOC_ERR_INVALID. */
typedef enum sioc_redis_adapter {
    SIOC_REDIS_CLASSIC,
    SIOC_REDIS_SHARDED,
    SIOC_REDIS_STREAMS
} sioc_redis_adapter;
typedef enum sioc_redis_subscription_mode {
    SIOC_REDIS_DYNAMIC,
    SIOC_REDIS_STATIC,
    SIOC_REDIS_DYNAMIC_PRIVATE
} sioc_redis_subscription_mode;
SIOC_EXPORT int sioc_options_set_redis_adapter(sioc_options *opts, sioc_redis_adapter adapter,
                                               sioc_redis_subscription_mode mode);
/* The Streams adapter's options, named as Node's createAdapter(redisClient, opts) of
 * @socket.io/redis-streams-adapter 0.3.1 (its channelPrefix is the key given to
 * sioc_options_set_redis); a NULL or 0 member keeps the default, in brackets. They must be the
 * same on every node. */
typedef struct sioc_redis_streams_options {
    const char *stream_name;        /* streamName ["socket.io"]; "<name>-<i>" with several */
    unsigned stream_count;          /* streamCount [1]: namespaces spread by a hash of the name */
    bool use_sharded_pubsub;        /* useShardedPubSub [false]: SPUBLISH/SSUBSCRIBE (Redis 7) */
    unsigned max_len;               /* maxLen [10000]: XADD ... MAXLEN ~ max_len */
    unsigned read_count;            /* readCount [100]: entries per XREAD */
    unsigned block_time_ms;         /* blockTimeInMs [5000]: XREAD BLOCK */
    const char *session_key_prefix; /* sessionKeyPrefix ["sio:session:"] */
} sioc_redis_streams_options;
/* Sets them (copied). 0, SIOC_ERR_INVALID or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_options_set_redis_streams(sioc_options *opts,
                                               const sioc_redis_streams_options *streams);
/* How long this node's fetches and server-side emits wait for the other nodes of a Redis cluster
 * (Node's requestsTimeout) before they end with SIOC_ERR_TIMEOUT. Default and 0: 5000 ms. */
SIOC_EXPORT int sioc_options_set_redis_requests_timeout(sioc_options *opts, unsigned ms);
/* Worker processes for sioc_program_main (Node's cluster with @socket.io/sticky): `workers` (at
 * most 64; 0: one per core; default 1, a single process) processes serve the same port, each a
 * full server on which the program's setup runs; a request of a polling session that reaches a
 * worker other than the session's owner is handed to the owner (the sid names it); HTTP answers
 * then close their connection, as @socket.io/sticky's do. A primary process starts them, starts
 * again one that dies (with a backoff) and stops them all on SIGTERM or SIGINT. Workers reach each
 * other's sockets as Node's cluster adapter joins Node's workers (or, with sioc_options_set_redis,
 * each is a node of the Redis cluster). With connection state recovery, a client that comes back
 * to another worker gets its session from the worker that had it (as long as that one lives). The
 * setup function runs in each worker after it is
 * started: what it creates is that worker's; what the program made before sioc_program_main is
 * copied into each worker (fork), not shared. A server made with sioc_server_new is always one
 * process. Needs the libuv event loop. Returns 0 or SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_options_set_workers(sioc_options *opts, unsigned workers);
/* The node's name (sioc_server_name), said in the log at start-up (NULL: "<hostname>#<pid>"). */
SIOC_EXPORT int sioc_options_set_name(sioc_options *opts, const char *name);
/* Serves Prometheus metrics (text format 0.0.4, sioc_server_metrics) at `path` (e.g. "/metrics";
 * NULL, the default: not served). Anyone who can reach the port can read them: put the path
 * behind the proxy's rules, or serve sioc_server_metrics() yourself. */
SIOC_EXPORT int sioc_options_set_metrics_path(sioc_options *opts, const char *path);
/* The server side of the Admin UI (@socket.io/admin-ui 0.5.1's `instrument(io, opts)`), its
 * options named as Node's; a NULL or false member keeps the default, in brackets. The dashboard
 * connects to the namespace `namespace_name` and sees every namespace's sockets, rooms and events,
 * server statistics every 2 s and, unless `readonly`, may emit to sockets, make them join or leave
 * rooms and disconnect them. With a cluster (Redis, worker processes) it sees every node that
 * runs it, as Node's. Authentication is Node's basic one: `username` and a bcrypt hash of the
 * password ("$2a$", "$2b$" or "$2y$", e.g. from `htpasswd -nbBC 10 "" PASSWORD`), checked off the
 * server's thread; a successful login gets a session id that lets the dashboard reconnect to this
 * node for a day. Without a username, `no_auth` must say that anyone who reaches the port may use
 * it. */
typedef struct sioc_admin_ui_options {
    const char *namespace_name; /* namespaceName ["/admin"] */
    const char *username;       /* auth.username [none] */
    const char *password_hash;  /* auth.password: a bcrypt hash */
    bool no_auth;               /* auth: false */
    bool readonly;              /* readonly [false] */
    bool production;            /* mode "production": statistics only, no socket or event */
    const char *server_id;      /* serverId [the --name, else the host name, or "<host>#<pid>"
                                   in a worker process] */
    const char *ui_path;        /* where the dashboard's own files are served ["/admin/"]; "" for
                                   nowhere (a hosted dashboard, https://admin.socket.io) */
    const char *ui_dir;         /* those files: the npm package's ui/dist [the installed copy] */
} sioc_admin_ui_options;
/* Turns the Admin UI on (the options are copied; NULL turns it off, the default). Returns 0,
 * SIOC_ERR_INVALID or SIOC_ERR_NOMEM; sioc_server_new() answers SIOC_ERR_INVALID when the
 * authentication is neither given nor waived, or the hash is not a bcrypt one. */
SIOC_EXPORT int sioc_options_set_admin_ui(sioc_options *opts, const sioc_admin_ui_options *admin);
/* How log lines look: text (the default), or one JSON object per line for log shippers, with
 * "time", "level", "message" and, where a line has them, "sid", "socket", "namespace",
 * "address" and "reason". Process-wide, as the level. */
typedef enum sioc_log_format { SIOC_LOG_TEXT, SIOC_LOG_JSON } sioc_log_format;
SIOC_EXPORT int sioc_options_set_log_format(sioc_options *opts, sioc_log_format format);
/* Messages at or below `level` go to stderr. Default SIOC_LOG_WARN. The level is process-wide. */
SIOC_EXPORT int sioc_options_set_log_level(sioc_options *opts, sioc_log_level level);

/* ---- Server -------------------------------------------------------------------------------- */

typedef struct sioc_server sioc_server;
/* One Engine.IO session, whatever its transport (see the Engine.IO section). */
typedef struct sioc_conn sioc_conn;

/* Creates a server and starts listening (connections are served once sioc_server_run() runs).
 * `opts` is borrowed (NULL means defaults). Returns 0, SIOC_ERR_INVALID, SIOC_ERR_NOMEM,
 * SIOC_ERR_LISTEN or SIOC_ERR_SYSTEM. The caller owns *out: sioc_server_free(). */
SIOC_EXPORT int sioc_server_new(const sioc_options *opts, sioc_server **out);
/* Closes every connection (reason "server shutting down") and frees the server. Not from inside
 * one of its callbacks. */
SIOC_EXPORT void sioc_server_free(sioc_server *server);
/* The node's name: sioc_options_set_name's, else "<hostname>#<pid>". Borrowed, as long as the
 * server. */
SIOC_EXPORT const char *sioc_server_name(const sioc_server *server);
/* The server's metrics in Prometheus's text format 0.0.4 (HELP and TYPE for each): sockets per
 * namespace, Engine.IO sessions by transport, rooms, queued bytes, held polls; counters of
 * connections, disconnections by reason, events and bytes received and sent, HTTP answers by
 * status, refused requests by Engine.IO error code, backpressure pauses, slow-consumer closes, ack
 * timeouts, adapter requests and their timeouts, Redis reconnections; build and process figures.
 * The counters are this process's (every server in it). A new NUL-terminated string (*len, when
 * not NULL, gets its length) the caller frees with free(); NULL on no memory. */
SIOC_EXPORT char *sioc_server_metrics(sioc_server *server, size_t *len);
/* The TCP port the server listens on (the kernel's pick when the option was 0). */
SIOC_EXPORT int sioc_server_port(const sioc_server *server);
/* Runs the event loop until sioc_server_stop(). Returns 0, SIOC_ERR_SYSTEM, or SIOC_ERR_INVALID
 * for a server on the application's loop (sioc_options_set_uv_loop): that loop runs it. */
SIOC_EXPORT int sioc_server_run(sioc_server *server);
/* Makes sioc_server_run() return soon. Safe from any thread and from a signal handler. (A server
 * on the application's loop stops when the application frees it.) */
SIOC_EXPORT void sioc_server_stop(sioc_server *server);
/* Reads the certificate and key files again (a renewed certificate) on the server's thread soon:
 * new connections get the new one, established ones carry on. Safe from any thread and from a
 * signal handler (sioc_program_main calls it on SIGHUP). Does nothing without TLS. */
SIOC_EXPORT void sioc_server_reload_tls(sioc_server *server);

/* ---- Programs ----------------------------------------------------------------------------- */

/* A server program, as the sioc binary and the examples are: its name and the defaults where it
 * differs from Node's, and `setup`, which registers its handlers on the new server (a negative
 * return aborts the start). */
typedef struct sioc_program {
    const char *name;        /* in messages, --help and --version */
    const char *summary;     /* --help's second line */
    const char *cors_origin; /* allowed unless the command line names origins (NULL: none) */
    bool allow_eio3;         /* accept socket.io-client 2.x unless --no-allow-eio3 */
    int (*setup)(sioc_server *server, void *user_data);
    void *user_data;
} sioc_program;
/* The whole life of a server program: applies the command line's flags (`--help` lists them; the
 * sioc binary's) over `opts`, which holds the program's defaults and is freed here; creates the
 * server, lets `setup` register its handlers, says where it listens on stderr, runs until SIGINT
 * or SIGTERM, and frees it. Returns the process's exit code: 0, 1 (could not start) or 2 (bad
 * command line). */
SIOC_EXPORT int sioc_program_main(const sioc_program *program, sioc_options *opts, int argc,
                                  char **argv);

/* ---- Socket.IO: namespaces, sockets, events -------------------------------------------------
 *
 * Arguments travel as jansson arrays. Binary arguments are values made by sioc_binary_new(),
 * anywhere in the arrays; they go on the wire as attachments, never as base64.
 */

typedef struct sioc_namespace sioc_namespace;
/* One client's connection to one namespace (Node's `Socket`). Valid from the connection callback
 * until the disconnect callback returns; freed by the library afterwards. */
typedef struct sioc_socket sioc_socket;
/* A client's request for an acknowledgement. Valid until sioc_ack_send() or until its socket's
 * disconnect callback returns, whichever comes first; never freed by the application. */
typedef struct sioc_ack sioc_ack;

/* The namespace `name` ("/", "/chat"), created on first use, as Node's `io.of(name)`. The main
 * namespace "/" always exists. Borrowed: it lives as long as the server. NULL when `name` does
 * not start with '/' or on no memory. */
SIOC_EXPORT sioc_namespace *sioc_server_of(sioc_server *server, const char *name);
/* The namespace's name, borrowed for the namespace's life. */
SIOC_EXPORT const char *sioc_namespace_name(const sioc_namespace *nsp);

/* Decides whether a client may create namespace `name` (its CONNECT `auth` is borrowed). */
typedef bool (*sioc_namespace_match_cb)(const char *name, json_t *auth, void *user_data);
/* A parent namespace (Node's `io.of(regex)` / `io.of(fn)`): a client connecting to a name that no
 * namespace has, but that `pattern` (a POSIX extended regular expression, e.g. "^/dynamic-[0-9]+$")
 * matches, or that `cb` accepts, creates a child namespace of that name. Handlers, callbacks and
 * middleware registered on the parent before a child is created are copied to it; emitting on the
 * parent emits on every child. Borrowed, lives as long as the server. NULL on a bad pattern or no
 * memory. */
SIOC_EXPORT sioc_namespace *sioc_server_of_pattern(sioc_server *server, const char *pattern);
SIOC_EXPORT sioc_namespace *sioc_server_of_match(sioc_server *server, sioc_namespace_match_cb cb,
                                                 void *user_data);

typedef void (*sioc_connection_cb)(sioc_socket *socket, void *user_data);
/* `reason` as Node names it: "client namespace disconnect", "server namespace disconnect",
 * "transport close", "transport error", "ping timeout", "parse error", "forced close",
 * "server shutting down", and sioc's own "write buffer full" (see
 * sioc_options_set_max_buffered_bytes). */
typedef void (*sioc_disconnect_cb)(sioc_socket *socket, const char *reason, void *user_data);
/* `args` is borrowed for the call (json_incref() it to keep it); it holds the event's arguments,
 * without the event name. `ack` is NULL unless the client asked for an acknowledgement. */
typedef void (*sioc_event_cb)(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data);
typedef void (*sioc_any_cb)(sioc_socket *socket, const char *event, json_t *args, sioc_ack *ack,
                            void *user_data);

/* Registers the callback for sockets joining the namespace (Node's `nsp.on("connection")`).
 * One per namespace: a second call replaces the first. Returns 0 or SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_namespace_on_connection(sioc_namespace *nsp, sioc_connection_cb cb,
                                             void *user_data);
/* Registers the callback for sockets about to leave it (Node's `socket.on("disconnecting")`):
 * the socket is still in its rooms. */
SIOC_EXPORT int sioc_namespace_on_disconnecting(sioc_namespace *nsp, sioc_disconnect_cb cb,
                                                void *user_data);
/* Registers the callback for sockets leaving it (Node's `socket.on("disconnect")`), after they
 * have left their rooms. */
SIOC_EXPORT int sioc_namespace_on_disconnect(sioc_namespace *nsp, sioc_disconnect_cb cb,
                                             void *user_data);
/* The longest event name, in bytes (Node has no limit). Longer names are refused by
 * sioc_namespace_on and the emit functions (SIOC_ERR_INVALID); an event with one from a client is
 * dropped and logged. */
#define SIOC_MAX_EVENT_NAME 1024

/* Registers the handler of event `event` for every socket of the namespace (Node's
 * `socket.on(event)` in the connection handler); replaces an earlier one; NULL `cb` removes it.
 * Returns 0, SIOC_ERR_INVALID or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_namespace_on(sioc_namespace *nsp, const char *event, sioc_event_cb cb,
                                  void *user_data);
/* A catch-all (Node's `socket.onAny`): called for every event, before its own handler. */
SIOC_EXPORT int sioc_namespace_on_any(sioc_namespace *nsp, sioc_any_cb cb, void *user_data);

/* ---- Observers ----
 *
 * Any number of independent watchers of the whole server (an Admin UI, metrics), apart from the
 * application's callbacks: those stay one per namespace and event (the application's program is
 * one party; what else watches registers here, and cannot replace or be replaced by it). Each
 * member may be NULL. Observers are told after the application's callback for the same event,
 * in the order they were added; one may be added or removed from inside a notification (it
 * takes effect for the next one). */
typedef struct sioc_observer {
    /* A namespace came to exist after the server was made (sioc_server_of, or a dynamic child). */
    void (*namespace_created)(sioc_namespace *nsp, void *user_data);
    /* A socket joined its namespace (after the application's connection callback). */
    void (*socket_connected)(sioc_socket *socket, void *user_data);
    /* A socket is leaving, still in its rooms; then it has left them. */
    void (*socket_disconnecting)(sioc_socket *socket, const char *reason, void *user_data);
    void (*socket_disconnected)(sioc_socket *socket, const char *reason, void *user_data);
    /* A socket joined or left a room (its own, named by its id, included). These two must not
     * make sockets join or leave rooms. */
    void (*room_joined)(sioc_socket *socket, const char *room, void *user_data);
    void (*room_left)(sioc_socket *socket, const char *room, void *user_data);
    /* An event from a client that the packet middleware let through (before its handlers);
     * `args` is borrowed for the call. */
    void (*event_received)(sioc_socket *socket, const char *event, json_t *args, void *user_data);
    /* An event queued for a local socket (Node's onAnyOutgoing): once per socket reached by an
     * emit, a broadcast or an emit with an ack; `args` is borrowed for the call. */
    void (*event_sent)(sioc_socket *socket, const char *event, json_t *args, void *user_data);
    /* The application said that the socket's data changed (sioc_socket_data_changed). */
    void (*data_changed)(sioc_socket *socket, void *user_data);
    /* An Engine.IO session of the Socket.IO path opened, or closed with Node's reason (before
     * its sockets are told, in socket_disconnecting). */
    void (*conn_opened)(sioc_conn *conn, void *user_data);
    void (*conn_closed)(sioc_conn *conn, const char *reason, void *user_data);
    /* A connection's transport was upgraded to WebSocket: once for each of its sockets. */
    void (*transport_upgraded)(sioc_socket *socket, void *user_data);
} sioc_observer;
/* Adds an observer (`observer` is copied; `user_data` is passed to each of its callbacks).
 * Returns its id (> 0, for sioc_server_unobserve), SIOC_ERR_INVALID or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_server_observe(sioc_server *server, const sioc_observer *observer,
                                    void *user_data);
/* Removes observer `id`. Returns 0 or SIOC_ERR_INVALID (no such observer). */
SIOC_EXPORT int sioc_server_unobserve(sioc_server *server, int id);

/* The namespaces that exist (dynamic parents excluded, their children included): up to `cap`
 * written to `out` (borrowed). Returns how many there are in all. */
SIOC_EXPORT size_t sioc_server_namespaces(sioc_server *server, sioc_namespace **out, size_t cap);
/* How many of this server's sockets are in the namespace (Node's `nsp.sockets.size`). */
SIOC_EXPORT size_t sioc_namespace_sockets_count(const sioc_namespace *nsp);

/* What the Engine.IO layer carries, for dashboards: the sessions open now on the Socket.IO path
 * (Node's `io.engine.clientsCount`) and how many of them are on HTTP long-polling; then, since
 * the process started (every server in it), Engine.IO messages and their bytes from and to
 * clients (a binary attachment is a message of its own). */
typedef struct sioc_engine_stats {
    size_t clients;
    size_t polling_clients;
    unsigned long long packets_in, packets_out;
    unsigned long long bytes_in, bytes_out;
} sioc_engine_stats;
SIOC_EXPORT int sioc_server_engine_stats(sioc_server *server, sioc_engine_stats *out);

/* ---- Timers and work off the loop ---- */

typedef void (*sioc_interval_cb)(sioc_server *server, void *user_data);
/* Calls `cb` every `ms` milliseconds (> 0) on the server's thread, the first time `ms` from now
 * (Node's setInterval). Returns its id (> 0, for sioc_server_clear_interval), SIOC_ERR_INVALID or
 * SIOC_ERR_NOMEM. Intervals end with the server. */
SIOC_EXPORT int sioc_server_set_interval(sioc_server *server, unsigned ms, sioc_interval_cb cb,
                                         void *user_data);
/* Stops interval `id` (also from inside its own callback). Returns 0 or SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_server_clear_interval(sioc_server *server, int id);

/* Work that would stall every client if it ran on the server's thread (a password hash, a
 * blocking look-up): `work` runs on a thread of the server's own, one item after another in the
 * order queued, with `user_data`; it must not call sioc functions. Then `after` runs on the
 * server's thread with `err` 0. `after` is called exactly once: when the server is freed first,
 * during sioc_server_free (before any socket is closed), with SIOC_ERR_CLOSED if `work` never ran.
 * Returns 0, SIOC_ERR_INVALID, SIOC_ERR_NOMEM, SIOC_ERR_SYSTEM (no thread could be started) or
 * SIOC_ERR_CLOSED (the server is being freed); then neither is called. */
typedef void (*sioc_work_cb)(void *user_data);
typedef void (*sioc_after_work_cb)(sioc_server *server, int err, void *user_data);
SIOC_EXPORT int sioc_server_queue_work(sioc_server *server, sioc_work_cb work,
                                       sioc_after_work_cb after, void *user_data);

/* Serves the files below directory `dir` (index.html for a directory) at the URL path `prefix`
 * (e.g. "/admin/"; a request for the prefix without its trailing slash is redirected to it), to
 * GET and HEAD, before the public directory. `dir` must exist. Returns 0, SIOC_ERR_INVALID or
 * SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_server_serve_directory(sioc_server *server, const char *prefix,
                                            const char *dir);

/* ---- Middleware ---- */

/* The continuation of a connection middleware (Node's `next`). Exactly one of sioc_next_accept()
 * or sioc_next_reject() must be called on it, during the middleware or later; it is freed then. */
typedef struct sioc_next sioc_next;
/* A connection middleware (Node's `nsp.use((socket, next) => ...)`): runs when a client asks to
 * join the namespace, before the connection callback. The socket is not in the namespace yet:
 * its id, handshake, auth and data can be read and set, but it cannot emit or join rooms. */
typedef void (*sioc_middleware_cb)(sioc_socket *socket, sioc_next *next, void *user_data);
/* Adds a connection middleware; they run in the order added. Returns 0, SIOC_ERR_INVALID or
 * SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_namespace_use(sioc_namespace *nsp, sioc_middleware_cb cb, void *user_data);
/* Lets the socket through to the next middleware, or into the namespace after the last. */
SIOC_EXPORT void sioc_next_accept(sioc_next *next);
/* Refuses the socket: the client gets CONNECT_ERROR {"message": message, "data": data} (its
 * `connect_error` event). `data` is borrowed and may be NULL. */
SIOC_EXPORT void sioc_next_reject(sioc_next *next, const char *message, json_t *data);

/* A packet middleware (Node's `socket.use(([event, ...args], next) => ...)`): returns NULL to let
 * the event through, or an error message (borrowed until the call returns) to drop it; the
 * namespace's error callback then gets the message. */
typedef const char *(*sioc_packet_middleware_cb)(sioc_socket *socket, const char *event,
                                                 json_t *args, void *user_data);
SIOC_EXPORT int sioc_namespace_use_packet(sioc_namespace *nsp, sioc_packet_middleware_cb cb,
                                          void *user_data);
/* Node's `socket.on("error")`: a packet middleware refused an event. */
typedef void (*sioc_error_cb)(sioc_socket *socket, const char *message, void *user_data);
SIOC_EXPORT int sioc_namespace_on_error(sioc_namespace *nsp, sioc_error_cb cb, void *user_data);

/* ---- Emitting ---- */

/* Emits `event` with `args` (a borrowed JSON array, or NULL for none) to one socket. With
 * connection state recovery on, it goes, as in Node, to the room named by the socket's id: it
 * carries an offset and is kept for a reconnection to replay. Returns 0, SIOC_ERR_INVALID (no
 * event, args not an array), SIOC_ERR_CLOSED or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_socket_emit(sioc_socket *socket, const char *event, json_t *args);
/* Emits to every socket of the namespace (Node's `nsp.emit`). The packet is encoded once. */
SIOC_EXPORT int sioc_namespace_emit(sioc_namespace *nsp, const char *event, json_t *args);
/* Emits to every socket of the socket's namespace but itself (Node's `socket.broadcast.emit`). */
SIOC_EXPORT int sioc_socket_broadcast(sioc_socket *socket, const char *event, json_t *args);

/* Who a broadcast reaches (Node's `to`/`in`/`except`): the sockets in any of `rooms` (every
 * socket of the namespace when there are none), less those in any of `except_rooms` and less
 * `except_socket`. Each socket receives it once. */
typedef struct sioc_target {
    const char *const *rooms;
    size_t nrooms;
    const char *const *except_rooms;
    size_t nexcept_rooms;
    const sioc_socket *except_socket;
    unsigned flags; /* SIOC_EMIT_* */
} sioc_target;

enum {
    /* Node's `volatile`: a socket whose transport cannot take the packet right now (a write is
     * pending, or no polling request is waiting) does not get it. */
    SIOC_EMIT_VOLATILE = 1 << 0,
    /* Node's `local`: this server's sockets only, not other nodes' once an adapter spans some. */
    SIOC_EMIT_LOCAL = 1 << 1,
};

/* Emits to the sockets `target` selects (NULL: the whole namespace). Returns 0, SIOC_ERR_INVALID
 * or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_namespace_emit_to(sioc_namespace *nsp, const sioc_target *target,
                                       const char *event, json_t *args);

/* The outcome of a broadcast with acknowledgements: `err` is 0 when every socket reached has
 * answered, SIOC_ERR_TIMEOUT, or SIOC_ERR_CLOSED when the server is freed first; `responses`
 * (borrowed for the call) holds the first argument of each answer received, in arrival order.
 * Called exactly once. */
typedef void (*sioc_broadcast_ack_cb)(int err, json_t *responses, void *user_data);

/* ---- Server utilities (run through the namespace's adapter) ----
 * Node's `fetchSockets`, `socketsJoin`, `socketsLeave`, `disconnectSockets`, on the sockets a
 * target selects (NULL: all), and `serverSideEmit`. With the in-memory adapter every socket is
 * local and there is no other server; with an adapter that spans several servers they reach the
 * whole cluster unless the target has SIOC_EMIT_LOCAL. */

/* The outcome of a fetch: `err` is 0, or SIOC_ERR_TIMEOUT (some server did not answer in time)
 * or SIOC_ERR_CLOSED (the cluster could not be asked, or the server is freed first), and then `n`
 * is 0. The sockets are borrowed for the call. A local one is valid as any socket; a remote one
 * (sioc_socket_is_local() false, Node's RemoteSocket) is a description: its id, rooms, handshake
 * and data can be read, and sioc_socket_emit, sioc_socket_join, sioc_socket_leave and
 * sioc_socket_disconnect act on it through the adapter; the rest refuse it (SIOC_ERR_INVALID,
 * NULL). Keep a remote socket's id, not the socket, to reach it later. */
typedef void (*sioc_fetch_cb)(int err, sioc_socket *const *sockets, size_t n, void *user_data);
/* Calls `cb` with the selected sockets (at once, for the in-memory adapter). Returns 0,
 * SIOC_ERR_INVALID or SIOC_ERR_NOMEM (then `cb` is not called). */
SIOC_EXPORT int sioc_namespace_fetch_sockets(sioc_namespace *nsp, const sioc_target *target,
                                             sioc_fetch_cb cb, void *user_data);
/* Makes the selected sockets join (or leave) every room of `rooms`. Returns 0, SIOC_ERR_INVALID,
 * SIOC_ERR_NOMEM, or SIOC_ERR_CLOSED when the other servers of a cluster could not be told (this
 * one's sockets have joined or left all the same). */
SIOC_EXPORT int sioc_namespace_sockets_join(sioc_namespace *nsp, const sioc_target *target,
                                            const char *const *rooms, size_t nrooms);
SIOC_EXPORT int sioc_namespace_sockets_leave(sioc_namespace *nsp, const sioc_target *target,
                                             const char *const *rooms, size_t nrooms);
/* Disconnects the selected sockets, as sioc_socket_disconnect(socket, close) on each. Returns as
 * sioc_namespace_sockets_join. */
SIOC_EXPORT int sioc_namespace_disconnect_sockets(sioc_namespace *nsp, const sioc_target *target,
                                                  bool close);
/* Whether the socket is served by this server (false for a remote socket from a fetch). */
SIOC_EXPORT bool sioc_socket_is_local(const sioc_socket *socket);

/* A server-side event's request for an answer (Node's last-argument callback of a listener of
 * `serverSideEmit`). Exactly one sioc_server_ack_send() must be called on it, during the listener
 * or later; it is freed then. An ack not answered when the server is freed is freed with it. */
typedef struct sioc_server_ack sioc_server_ack;
/* A listener of server-side events: `args` (borrowed for the call) holds the arguments without
 * the event name; `ack` is NULL unless the sending server asked for answers. */
typedef void (*sioc_server_event_cb)(sioc_namespace *nsp, json_t *args, sioc_server_ack *ack,
                                     void *user_data);
/* Registers the listener of server-side event `event` in the namespace (Node's
 * `nsp.on(event)` for events other servers send with serverSideEmit); replaces an earlier one;
 * NULL `cb` removes it. Returns 0, SIOC_ERR_INVALID or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_namespace_on_server_event(sioc_namespace *nsp, const char *event,
                                               sioc_server_event_cb cb, void *user_data);
/* Sends `event` with `args` (a borrowed array, or NULL) to the namespace's listeners on every
 * other server of the cluster (never this one's; with the in-memory adapter, nobody). Returns 0,
 * SIOC_ERR_INVALID, SIOC_ERR_NOMEM or SIOC_ERR_CLOSED (the cluster cannot be reached). */
SIOC_EXPORT int sioc_namespace_server_side_emit(sioc_namespace *nsp, const char *event,
                                                json_t *args);
/* The same, asking every other server for an answer: `cb` gets 0 and one response (the first
 * argument each server answered with) per server, or SIOC_ERR_TIMEOUT and those received within
 * `timeout_ms` (0: the adapter's default, 5000 ms as Node's requestsTimeout), or SIOC_ERR_CLOSED.
 * With no other server it is called at once with an empty array. Returns 0 (then `cb` will be
 * called), SIOC_ERR_INVALID, SIOC_ERR_NOMEM or SIOC_ERR_CLOSED (then it will not). */
SIOC_EXPORT int sioc_namespace_server_side_emit_with_ack(sioc_namespace *nsp, const char *event,
                                                         json_t *args, unsigned timeout_ms,
                                                         sioc_broadcast_ack_cb cb, void *user_data);
/* Answers a server-side event with `arg` (borrowed; NULL for none, sent as null): only the first
 * argument crosses servers, as in Node. Ends `ack`. */
SIOC_EXPORT void sioc_server_ack_send(sioc_server_ack *ack, json_t *arg);

/* The outcome of sioc_socket_emit_with_ack: `err` is 0 and `args` the client's reply (borrowed for
 * the call), or `err` is SIOC_ERR_TIMEOUT (no reply in time) or SIOC_ERR_CLOSED (the socket left
 * first) and `args` is NULL. Called exactly once. */
typedef void (*sioc_ack_cb)(sioc_socket *socket, int err, json_t *args, void *user_data);
/* Emits with an acknowledgement request (Node's `socket.timeout(ms).emit(..., cb)`); `timeout_ms`
 * 0 waits as long as the socket lives. Returns 0 (then `cb` will be called), SIOC_ERR_INVALID,
 * SIOC_ERR_CLOSED or SIOC_ERR_NOMEM (then it will not). */
SIOC_EXPORT int sioc_socket_emit_with_ack(sioc_socket *socket, const char *event, json_t *args,
                                          unsigned timeout_ms, sioc_ack_cb cb, void *user_data);

/* Emits to `target` and collects each socket's acknowledgement (Node's
 * `io.timeout(ms).emit(..., cb)`); `timeout_ms` must be > 0. Returns 0 (then `cb` will be called,
 * at once when no socket is reached), SIOC_ERR_INVALID or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_namespace_emit_with_ack(sioc_namespace *nsp, const sioc_target *target,
                                             const char *event, json_t *args, unsigned timeout_ms,
                                             sioc_broadcast_ack_cb cb, void *user_data);

/* Answers an acknowledgement with `args` (borrowed JSON array, or NULL) and ends `ack`. Returns 0,
 * SIOC_ERR_INVALID or SIOC_ERR_CLOSED (the socket is gone; `ack` is ended all the same). */
SIOC_EXPORT int sioc_ack_send(sioc_ack *ack, json_t *args);

/* Puts the socket in room `room` (copied). Every socket is also in the room named by its id.
 * Returns 0, SIOC_ERR_INVALID or SIOC_ERR_NOMEM. Joining twice is harmless. */
SIOC_EXPORT int sioc_socket_join(sioc_socket *socket, const char *room);
/* Takes the socket out of `room`; harmless when it is not in it. */
SIOC_EXPORT int sioc_socket_leave(sioc_socket *socket, const char *room);

/* Disconnects the socket from its namespace (reason "server namespace disconnect"); with `close`,
 * closes the whole connection. The disconnect callback runs before this returns. */
SIOC_EXPORT void sioc_socket_disconnect(sioc_socket *socket, bool close);

/* The socket id (20 characters, distinct from the Engine.IO sid), valid as long as the socket. */
SIOC_EXPORT const char *sioc_socket_id(const sioc_socket *socket);
/* The CONNECT packet's auth payload (an object, {} when none was sent); borrowed, and to be read
 * only: the {} of every socket that sent none is one object. */
SIOC_EXPORT json_t *sioc_socket_auth(const sioc_socket *socket);
/* Node's `socket.handshake` (borrowed): the connection's handshake (sioc_conn_handshake) plus
 * "auth". */
SIOC_EXPORT json_t *sioc_socket_handshake(const sioc_socket *socket);
/* Node's `socket.data`: a JSON object (borrowed, never NULL) the application may fill; unlike
 * sioc_socket_set_data() it survives a recovered reconnection. */
SIOC_EXPORT json_t *sioc_socket_data_json(const sioc_socket *socket);
/* Says that sioc_socket_data_json()'s object was changed. An adapter that keeps sessions in
 * Redis while their sockets are connected (the Streams adapter) writes it out then, so that the
 * client of a node that dies comes back elsewhere with it; otherwise the data is taken as it is
 * when the socket leaves, joins or leaves a room. */
SIOC_EXPORT void sioc_socket_data_changed(sioc_socket *socket);
/* Node's `socket.recovered`: whether this socket was restored by connection state recovery. */
SIOC_EXPORT bool sioc_socket_recovered(const sioc_socket *socket);
/* The rooms the socket is in, its own id's first: up to `cap` names (borrowed, valid until the
 * socket leaves them) written to `rooms`. Returns how many rooms there are in all. */
SIOC_EXPORT size_t sioc_socket_rooms(const sioc_socket *socket, const char **rooms, size_t cap);
/* The socket's namespace (borrowed). */
SIOC_EXPORT sioc_namespace *sioc_socket_namespace(const sioc_socket *socket);
/* The Engine.IO connection carrying the socket (borrowed; several sockets may share it). */
SIOC_EXPORT sioc_conn *sioc_socket_conn(const sioc_socket *socket);
/* Per-socket application data (Node's `socket.data`): an opaque pointer the library never touches;
 * free what it points to in the disconnect callback. NULL until set. */
SIOC_EXPORT void sioc_socket_set_data(sioc_socket *socket, void *data);
SIOC_EXPORT void *sioc_socket_get_data(const sioc_socket *socket);

/* A new binary value (a new reference) holding a copy of `len` bytes, for use in arguments.
 * NULL on no memory. Binary values are JSON objects only in form: do not serialise them. */
SIOC_EXPORT json_t *sioc_binary_new(const void *data, size_t len);
/* True when `value` is a binary value; then *data and *len (each may be NULL) give its bytes,
 * borrowed from `value`. */
SIOC_EXPORT bool sioc_binary_get(const json_t *value, const void **data, size_t *len);

/* ---- Engine.IO connections (Node's `io.engine`) -------------------------------------------- */

/* A sioc_conn is valid from on_open until on_close returns. */

typedef struct sioc_engine_handlers {
    /* A session completed its handshake. */
    void (*on_open)(sioc_conn *conn, void *user_data);
    /* A message arrived; `data` is borrowed for the call. Text is UTF-8 and not NUL-terminated. */
    void (*on_message)(sioc_conn *conn, const void *data, size_t len, bool binary, void *user_data);
    /* The session ended, once, with Node's reason ("transport close", "transport error",
     * "ping timeout", "parse error", "forced close", "server shutting down"). */
    void (*on_close)(sioc_conn *conn, const char *reason, void *user_data);
} sioc_engine_handlers;

/* Serves a bare Engine.IO endpoint at `path` (e.g. "/engine.io/") with the server's options.
 * `handlers` is copied; any member may be NULL. Returns 0, SIOC_ERR_INVALID (bad path, or the
 * path is taken) or SIOC_ERR_NOMEM. */
SIOC_EXPORT int sioc_server_attach_engine(sioc_server *server, const char *path,
                                          const sioc_engine_handlers *handlers, void *user_data);

/* Queues a message (copied). Returns 0, SIOC_ERR_CLOSED, SIOC_ERR_NOMEM or SIOC_ERR_INVALID. */
SIOC_EXPORT int sioc_conn_send(sioc_conn *conn, const void *data, size_t len, bool binary);
/* Closes the session after what is queued has been sent (Node's `socket.close()`); on_close
 * follows with "forced close". */
SIOC_EXPORT void sioc_conn_close(sioc_conn *conn);
/* The session id (the `sid`), NUL-terminated, valid as long as the connection. */
SIOC_EXPORT const char *sioc_conn_id(const sioc_conn *conn);
/* "polling" or "websocket". */
SIOC_EXPORT const char *sioc_conn_transport(const sioc_conn *conn);
/* What the opening HTTP request said, as Node's handshake object (borrowed): {"headers": {lower-
 * case name: value}, "time": date string, "address": peer IP, "xdomain": bool, "secure": bool,
 * "issued": ms since the epoch, "url": path and query, "query": {name: value}}. */
SIOC_EXPORT json_t *sioc_conn_handshake(const sioc_conn *conn);
/* Per-connection application data for a raw Engine.IO endpoint, as sioc_socket_set_data(). On
 * the Socket.IO path the library uses this slot itself: use sioc_socket_set_data() there. */
SIOC_EXPORT void sioc_conn_set_data(sioc_conn *conn, void *data);
SIOC_EXPORT void *sioc_conn_get_data(const sioc_conn *conn);

#ifdef __cplusplus
}
#endif

#endif
