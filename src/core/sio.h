/* The Socket.IO server: namespaces with their sockets and rooms, and the per-connection client that
 * decodes packets and dispatches them. It sits on the Engine.IO layer (sioc_conn) and knows
 * nothing of transports. */
#ifndef SIOC_CORE_SIO_H
#define SIOC_CORE_SIO_H

#include "sioc.h"

#include <regex.h>

#include "core/adapter.h"
#include "eio/engine.h"
#include "sio/codec.h"
#include "util/list.h"
#include "util/map.h"
#include "util/wheel.h"

typedef struct sioc__core sioc__core;
typedef struct sioc__client sioc__client;

/* A room, its name in the same block. Most rooms hold one socket (each socket's own), so the
 * first member is kept in the struct and an array is allocated only for a second. */
typedef struct sioc__room {
    char *name;
    sioc_socket **members; /* &first, or an array (malloc'd) */
    size_t count, cap;
    sioc_socket *first;
} sioc__room;

/* A handler of an event by name: a client's event (handlers) or another server's (server_handlers).
 */
typedef struct sioc__handler {
    char *event; /* the map key */
    union {
        sioc_event_cb client;
        sioc_server_event_cb server;
    } cb;
    void *user_data;
} sioc__handler;

typedef struct sioc__mw {
    sioc_middleware_cb cb;
    sioc_packet_middleware_cb packet_cb;
    void *user_data;
} sioc__mw;

struct sioc_next {
    sioc_socket *socket; /* holds a reference */
    size_t index;        /* of the middleware it continues from */
    void (*joined)(sioc_socket *s);
};

/* A broadcast kept for connection state recovery. */
typedef struct sioc__stored {
    char offset[24];
    json_t *data;  /* the EVENT payload, offset last */
    json_t *rooms; /* the target's rooms and except rooms, as string arrays */
    json_t *except;
    uint64_t at_ms;
    unsigned origin; /* the worker that broadcast it (0 alone) */
    uint64_t seq;    /* its place among that worker's broadcasts */
} sioc__stored;

/* A socket that lost its connection, kept for its client's return. */
typedef struct sioc__saved_session {
    char pid[21]; /* the map key */
    char sid[21];
    json_t *rooms;
    json_t *data;
    uint64_t at_ms; /* when it left (live: when last heard of) */
    unsigned owner; /* workers: the worker whose socket it is or was */
    bool live;      /* workers: its socket is still connected there; it does not expire */
} sioc__saved_session;

/* Connection state recovery's storage, as the in-memory adapter keeps it (recovery.c):
 * broadcasts in order (a ring), and sessions by pid. */
typedef struct sioc__recovery_store {
    sioc__stored *stored;
    size_t head, count, cap;
    uint64_t next_offset;
    sioc__map sessions;
} sioc__recovery_store;

struct sioc_server_ack {
    sioc__link link; /* first: in its namespace's list, until answered */
    sioc_namespace *nsp;
    void (*answer)(void *ctx, json_t *first);
    void (*drop)(void *ctx);
    void *ctx;
};

struct sioc_namespace {
    char *name;
    sioc__adapter *adapter;
    sioc__map server_handlers; /* event → sioc__handler (cb.server) */
    sioc__link server_acks;    /* sioc_server_ack not answered yet */
    /* Parents of dynamic namespaces: how they match, and their children. */
    bool is_parent;
    bool has_regex;
    regex_t regex;
    sioc_namespace_match_cb match;
    void *match_data;
    sioc_namespace *parent;    /* of a child */
    sioc__timer cleanup_timer; /* a child found empty */
    sioc__mw *mws;             /* connection middleware */
    size_t nmws;
    sioc__mw *pmws; /* packet middleware */
    size_t npmws;
    sioc_error_cb on_error;
    void *error_data;
    sioc__core *sio;
    sioc_connection_cb on_connection;
    void *connection_data;
    sioc_disconnect_cb on_disconnecting;
    void *disconnecting_data;
    sioc_disconnect_cb on_disconnect;
    void *disconnect_data;
    sioc_any_cb on_any;
    void *any_data;
    sioc__map handlers; /* event → sioc__handler (cb.client) */
    sioc__map sockets;  /* socket id → sioc_socket */
    sioc__map rooms;    /* room name → sioc__room */
    uint64_t epoch;     /* broadcast generation, to reach each socket once */
    int64_t next_ack_id;
    /* Counted for the metrics: sockets connected and gone, events received and sent. */
    uint64_t connects, disconnects, events_in, events_out;
    sioc_namespace *next;
};

/* A broadcast's acknowledgements being collected. */
typedef struct sioc__bcast_ack {
    sioc__link link; /* first: in the undecided list, for shutdown */
    unsigned refs;   /* one per socket still expected to answer, one while undecided, one per
                        holder (an adapter awaiting remote answers, the emit in progress) */
    size_t servers;  /* nodes whose count of sockets reached has not come yet */
    size_t expected; /* answers expected: the sum of the counts that have come */
    json_t *responses;
    bool done;
    sioc__timer timer;
    sioc__wheel *wheel;
    sioc_broadcast_ack_cb cb;
    void (*on_answer)(json_t *first, void *user_data); /* each answer as it comes, or NULL */
    void *user_data;
} sioc__bcast_ack;

/* An acknowledgement the server waits for from one socket. */
typedef struct sioc__pending {
    sioc__link link; /* first: in its socket's list */
    sioc_socket *socket;
    int64_t id;
    sioc__bcast_ack *bcast; /* the broadcast it belongs to, or NULL */
    sioc_ack_cb cb;
    void *user_data;
    sioc__timer timer;
} sioc__pending;

struct sioc_ack {
    sioc__link link; /* first: in its socket's list */
    sioc_socket *socket;
    int64_t id;
};

struct sioc_socket {
    char *id; /* idbuf, or "<nsp>#<sid>" (owned) for an Engine.IO v3 client outside "/" */
    char idbuf[21];
    sioc_namespace *nsp;
    sioc__client *client;
    json_t *auth;
    json_t *handshake; /* the connection's, plus "auth" */
    json_t *data_json; /* Node's socket.data */
    char pid[21];      /* private id, for connection state recovery ("" when off) */
    bool recovered;
    sioc__saved_session *restoring; /* the session it comes back from, until it has joined */
    json_t *missed;                 /* the broadcasts to replay once it has joined */
    void *user_data;
    unsigned refs;  /* the client's, one per dispatch in progress, one per sioc_next */
    bool admitting; /* in the connection middleware */
    bool connected;
    sioc__room **rooms; /* in joining order: &first_room, or an array (malloc'd) past one */
    size_t nrooms, caprooms;
    sioc__room *first_room;
    sioc__link acks;      /* the client's unanswered requests (sioc_ack) */
    sioc__link pending;   /* our requests the client has not answered (sioc__pending) */
    uint64_t mark;        /* == nsp->epoch when the current broadcast has dealt with it */
    bool remote;          /* a description of another node's socket (fetch); no client */
    json_t *remote_rooms; /* its rooms, as strings */
};

/* A connection's decoding state, for whichever parser the server speaks (parser.c). */
typedef union sioc__parser_state {
    sioc__sio_decoder json;
} sioc__parser_state;

/* A Socket.IO parser (Node's `parser` option): how packets become Engine.IO messages and back. */
typedef struct sioc__parser {
    const char *name;
    /* As sioc__sio_encode: 0 or -1 (no memory). */
    int (*encode)(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                  sioc__sio_encoded *out);
    /* One Engine.IO message: 1 with a packet in *out (the caller owns it), 0 when more messages
     * are needed (attachments), -1 when malformed (the state is reset). */
    int (*decode)(sioc__parser_state *st, const void *data, size_t len, bool binary,
                  sioc__sio_packet *out);
    /* Drops any half-decoded packet. */
    void (*reset)(sioc__parser_state *st);
} sioc__parser;

extern const sioc__parser sioc__json_parser;
extern const sioc__parser sioc__msgpack_parser;

struct sioc__client {
    sioc_conn *conn;
    bool plain; /* a plain WebSocket client: in "/" only, JSON frames both ways */
    sioc__core *sio;
    sioc__parser_state decoder;
    sioc_socket **sockets; /* one per namespace joined */
    size_t nsockets;
    sioc__timer connect_timer;
    unsigned refs;
};

typedef struct sioc__observer {
    sioc_observer ops;
    void *user_data;
    int id;
    bool removed; /* unobserved during a notification: dropped after it */
} sioc__observer;

struct sioc__core {
    const sioc__parser *parser;           /* every packet in and out goes through it (parser.c) */
    const sioc__adapter_ops *adapter_ops; /* each namespace's adapter is one of these */
    const void *adapter_config;
    unsigned recovery_ms; /* 0: no connection state recovery */
    bool recovery_skip_middlewares;
    sioc_namespace *nsps;
    sioc_namespace *parents;
    bool cleanup_empty_children;
    size_t max_children; /* dynamic namespaces that may exist at once; 0: no limit */
    size_t nchildren;
    uint64_t limit_logged_ms; /* when the limit was last logged */
    sioc__link undecided;     /* broadcasts still collecting acks (sioc__bcast_ack) */
    sioc__wheel *wheel;
    unsigned connect_timeout_ms;
    sioc__observer *observers; /* observers.c */
    size_t nobservers, capobservers;
    int last_observer_id;
    unsigned notifying; /* notifications running (nested ones included) */
    /* The auth of every socket whose CONNECT carried none, shared: an object per socket cost 200
     * bytes (jansson's object and its table) on every idle connection of an application that
     * looks at the auth. */
    json_t *no_auth;
};

/* The Socket.IO layer for a server: returns NULL on no memory. `wheel` is borrowed. */
sioc__core *sioc__core_new(sioc__wheel *wheel, unsigned connect_timeout_ms);
void sioc__core_free(sioc__core *sio);
/* The Engine.IO handlers that feed it; their user data is the sioc__core. */
extern const sioc_engine_handlers sioc__core_engine_handlers;
/* And the engine's upgrade hook (sioc__engine's on_upgrade), with the same user data. */
void sioc__core_on_upgrade(sioc_conn *conn, void *user_data);

/* The namespaces, oldest first: up to `cap` in `out`; returns how many there are. */
size_t sioc__core_namespaces(sioc__core *sio, sioc_namespace **out, size_t cap);
/* The namespace `name`, created when missing; NULL for a bad name or no memory. */
sioc_namespace *sioc__core_of(sioc__core *sio, const char *name);
/* dynamic.c: the namespace a CONNECT to `name` reaches: an existing one, or a new child of the
 * first parent that accepts the name; NULL when none, with *refusal the CONNECT_ERROR message. */
sioc_namespace *sioc__core_resolve(sioc__core *sio, const char *name, json_t *auth,
                                   const char **refusal);
sioc_namespace *sioc__core_parent_new(sioc__core *sio, const char *pattern,
                                      sioc_namespace_match_cb cb, void *user_data);
/* A child that has just lost a socket: removed soon if it stays empty and the option says so. */
void sioc__child_maybe_cleanup(sioc_namespace *nsp);
/* namespace.c, for dynamic.c */
sioc_namespace *sioc__namespace_new(sioc__core *sio, const char *name);
void sioc__namespace_free(sioc_namespace *nsp);

/* Makes every namespace's adapter (those there are and those to come) one of `ops` (`config`
 * borrowed for the core's life). Only before any client has connected. Returns 0 or a
 * SIOC_ERR_* code (then some namespaces may keep the old one). */
int sioc__core_set_adapter(sioc__core *sio, const sioc__adapter_ops *ops, const void *config);
/* A namespace's adapter, made and started: 0, or -1 (no memory, or init failed). */
int sioc__namespace_adapter_open(sioc_namespace *nsp, const sioc__adapter_ops *ops);

/* namespace.c, for client.c */
sioc_namespace *sioc__core_find(sioc__core *sio, const char *name);

/* socket.c */
/* A socket for `client` in `nsp`, not in the namespace yet (pending its middleware). Its id is
 * random, or for an Engine.IO v3 client what socket.io-client 2.x expects: the sid in "/",
 * "<nsp>#<sid>" elsewhere. */
sioc_socket *sioc__socket_new(sioc_namespace *nsp, sioc__client *client, json_t *auth);
/* Puts an admitted socket into its namespace and its own room. Returns 0 or -1 (no memory). */
int sioc__socket_attach(sioc_socket *s);
void sioc__socket_ref(sioc_socket *s);
void sioc__socket_unref(sioc_socket *s);
/* Ends the socket once: DISCONNECT sent when `notify`, callback, rooms left, references dropped. */
void sioc__socket_close(sioc_socket *s, const char *reason, bool notify);
void sioc__socket_dispatch(sioc_socket *s, json_t *data, int64_t ack_id);
/* Tells the observers that `event` with `args` (NULL: none) was queued for `s`. */
void sioc__notify_sent(sioc_socket *s, const char *event, json_t *args);
/* Queues an encoded packet on the socket's connection. */
int sioc__socket_send(sioc_socket *s, sioc__sio_encoded *e);

/* middleware.c */
/* Runs the namespace's connection middleware on a pending socket, then `joined` once every one has
 * accepted; a refusal sends CONNECT_ERROR and closes the socket. */
void sioc__socket_admit(sioc_socket *s, void (*joined)(sioc_socket *s));
/* Whether the packet middleware lets `event` through; when not, the error callback has run. */
bool sioc__run_packet_middleware(sioc_socket *s, const char *event, json_t *args);
void sioc__middleware_free(sioc_namespace *nsp);

/* rooms.c */
/* The socket leaves every room it is in (it is leaving its namespace). */
void sioc__socket_leave_all(sioc_socket *s);
/* Calls `fn` once for each socket `t` selects (NULL: all). `fn` must not change rooms. */
void sioc__select(sioc_namespace *nsp, const sioc_target *t, void (*fn)(sioc_socket *s, void *arg),
                  void *arg);
/* The sockets `t` selects, as a new array in *out (free() it; NULL when none) of *n, each with a
 * reference taken (sioc__socket_unref each). Returns 0, or -1 on no memory. */
int sioc__select_list(sioc_namespace *nsp, const sioc_target *t, sioc_socket ***out, size_t *n);

/* namespace.c: emitting */
/* ["event", args...] encoded once, with ack id `id` (-1 for none). Returns 0, SIOC_ERR_INVALID or
 * SIOC_ERR_NOMEM. */
int sioc__encode_event(sioc_namespace *nsp, const char *event, json_t *args, int64_t id,
                       sioc__sio_encoded *e);
/* What an emit needs: a name within the limit, and arguments as an array (or none). */
bool sioc__valid_event(const char *event, json_t *args);
/* ["event", args...] as a new array: NULL on no memory, or when !sioc__valid_event. */
json_t *sioc__event_data(const char *event, json_t *args);

/* The handler of `event` in `map` (event → sioc__handler), made when missing, in *out to be
 * filled; with `remove`, it goes instead (*out NULL). Returns 0, SIOC_ERR_INVALID (no event, or
 * a name over the limit) or SIOC_ERR_NOMEM. */
int sioc__handler_set(sioc__map *map, const char *event, bool remove, sioc__handler **out);
void sioc__handlers_free(sioc__map *map);

/* server_events.c */
void sioc__server_events_free(sioc_namespace *nsp);

/* acks.c */
void sioc__pending_init(sioc_socket *s);
/* The client answered our packet `id` with `data`. */
void sioc__socket_ack_received(sioc_socket *s, int64_t id, json_t *data);
/* The socket is leaving: every wait on it ends (single emits learn SIOC_ERR_CLOSED). */
void sioc__pending_drop_all(sioc_socket *s);
/* Registers a wait for `id` on `s` for broadcast `b`. Returns 0 or -1. */
int sioc__pending_add_bcast(sioc_socket *s, int64_t id, sioc__bcast_ack *b);

/* Ends every undecided broadcast with SIOC_ERR_CLOSED (the server is going). */
void sioc__bcast_close_all(sioc__core *sio);

/* recovery.c */
/* Appends a fresh offset to `data` (an EVENT payload) and keeps it for replay to the sockets `t`
 * selects. Returns 0 or -1. */
int sioc__recovery_stamp(sioc__recovery_store *st, const sioc__core *sio, const sioc_target *t,
                         json_t *data);
/* Keeps `data` (an EVENT payload that already ends with `offset`) for replay to the sockets `t`
 * selects; it is the `seq`th broadcast of worker `origin`. Returns 0 or -1. */
int sioc__recovery_keep_packet(sioc__recovery_store *st, const sioc__core *sio,
                               const sioc_target *t, json_t *data, const char *offset,
                               unsigned origin, uint64_t seq);
/* Appends to `out`, in order, [origin, seq, payload] for each broadcast kept here that a session
 * in `rooms` may hear and that worker `origin` sent after its top[origin]th (`n` origins).
 * Returns 0 or -1. */
int sioc__recovery_newer(sioc__recovery_store *st, const uint64_t *top, size_t n, json_t *rooms,
                         json_t *out);
/* A leaving socket's id, rooms and data, for its client's return (NULL on no memory). */
sioc__saved_session *sioc__recovery_session_of(sioc_socket *s);
/* Keeps `session` (taken over) until it expires. */
void sioc__recovery_keep(sioc__recovery_store *st, const sioc__core *sio,
                         sioc__saved_session *session);
/* The session `pid` if it may come back with `offset`; *missed gets the broadcasts it missed (a
 * new array). NULL when there is none, it expired or the offset is unknown. Removed from the map;
 * free with sioc__saved_session_free. */
sioc__saved_session *sioc__recovery_take(sioc__recovery_store *st, const sioc__core *sio,
                                         const char *pid, const char *offset, json_t **missed);
void sioc__saved_session_free(sioc__saved_session *session);
/* Forgets the sessions past maxDisconnectionDuration. */
void sioc__recovery_purge_sessions(sioc__recovery_store *st, const sioc__core *sio);
void sioc__recovery_free(sioc__recovery_store *st);
bool sioc__recoverable(const char *reason);

/* parser.c: the funnel every packet goes through, in the core's parser */
int sioc__encode_packet(const sioc__core *sio, sioc__sio_type type, const char *nsp, int64_t id,
                        json_t *data, sioc__sio_encoded *out);
int sioc__decode_packet(const sioc__core *sio, sioc__parser_state *st, const void *data, size_t len,
                        bool binary, sioc__sio_packet *out);
void sioc__parser_reset(const sioc__core *sio, sioc__parser_state *st);

/* observers.c */
int sioc__core_observe(sioc__core *sio, const sioc_observer *ops, void *user_data);
int sioc__core_unobserve(sioc__core *sio, int id);
void sioc__observers_free(sioc__core *sio);
void sioc__observers_begin(sioc__core *sio);
void sioc__observers_end(sioc__core *sio);
/* Tells every observer that has callback `member`: the arguments given, then its user data. Those
 * added meanwhile are not told; those removed meanwhile are skipped. */
#define SIOC__NOTIFY(core, member, ...)                                                            \
    do {                                                                                           \
        sioc__core *notify_core_ = (core);                                                         \
        if (notify_core_->nobservers) {                                                            \
            sioc__observers_begin(notify_core_);                                                   \
            size_t notify_n_ = notify_core_->nobservers;                                           \
            for (size_t notify_i_ = 0; notify_i_ < notify_n_; notify_i_++) {                       \
                sioc__observer *notify_o_ = &notify_core_->observers[notify_i_];                   \
                if (!notify_o_->removed && notify_o_->ops.member) {                                \
                    notify_o_->ops.member(__VA_ARGS__, notify_o_->user_data);                      \
                }                                                                                  \
            }                                                                                      \
            sioc__observers_end(notify_core_);                                                     \
        }                                                                                          \
    } while (0)

/* remote.c: what the public socket functions do with a remote socket */
int sioc__remote_emit(sioc_socket *s, const char *event, json_t *args);
int sioc__remote_join(sioc_socket *s, const char *room, bool join);
void sioc__remote_disconnect(sioc_socket *s, bool close);
size_t sioc__remote_rooms(const sioc_socket *s, const char **rooms, size_t cap);

/* client.c, for socket.c */
void sioc__client_remove_socket(sioc__client *c, sioc_socket *s);
void sioc__client_close(sioc__client *c, const char *reason);

#endif
