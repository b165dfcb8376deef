/* The Admin UI's server side, as @socket.io/admin-ui 0.5.1's lib/index.ts: on connection to the
 * admin namespace, `config` (the features) and `all_sockets` (every namespace's sockets, across
 * the cluster); every 2 s `server_stats`; in development mode (the default) every socket's
 * connection, rooms, events and disconnection as they happen. Everything goes out as a broadcast
 * to the admin namespace, so that through the adapter one dashboard sees every node. */
#include "admin/admin_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* ---- what is said ---- */

/* Now as a JavaScript Date becomes in JSON: "2026-12-07T18:30:00.123Z". */
static json_t *timestamp(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char buf[32], date[24];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, sizeof(buf), "%s.%03dZ", date, (int)(tv.tv_usec / 1000) % 1000);
    return json_string(buf);
}

/* Emits `event` with `args` (stolen) to every dashboard, through the adapter. */
static void say(sioc__admin *a, const char *event, json_t *args)
{
    if (args) {
        sioc_namespace_emit(a->nsp, event, args);
        json_decref(args);
    }
}

/* The socket's data without "_admin", as Node's serializeData. A new reference. */
static json_t *data_of(sioc_socket *s)
{
    json_t *data = json_deep_copy(sioc_socket_data_json(s));
    if (!json_is_object(data)) {
        json_decref(data);
        return json_object();
    }
    json_object_del(data, "_admin");
    return data;
}

/* Node's serialize(socket, nsp). A new reference, NULL on no memory. */
static json_t *serialize(sioc_socket *s)
{
    json_t *hs = sioc_socket_handshake(s), *headers = json_object_get(hs, "headers");
    json_t *admin = json_object_get(sioc_socket_data_json(s), "_admin");
    json_t *client_id = json_object_get(admin, "clientId");
    json_t *transport = json_object_get(admin, "transport");
    char cid[13] = "";
    if (sioc_socket_is_local(s)) { /* known first-hand */
        snprintf(cid, sizeof(cid), "%s", sioc_conn_id(sioc_socket_conn(s)));
        client_id = NULL;
        transport = json_string(sioc_conn_transport(sioc_socket_conn(s)));
    } else {
        json_incref(transport);
    }
    json_t *address = json_object_get(headers, "cf-connecting-ip");
    address = address ? address : json_object_get(headers, "x-forwarded-for");
    address = address ? address : json_object_get(hs, "address");
    json_t *rooms = json_array();
    const char *names[64];
    size_t n = sioc_socket_rooms(s, names, 64);
    const char **all = n > 64 ? malloc(n * sizeof(*all)) : names;
    if (all) {
        sioc_socket_rooms(s, all, n);
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(rooms, json_string(all[i]));
        }
    }
    if (all != names) {
        free(all);
    }
    json_t *out = json_pack(
        "{s:s,s:O?,s:o?,s:s,s:o,s:{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?},s:o}", "id",
        sioc_socket_id(s), "clientId", cid[0] ? NULL : client_id, "transport", transport, "nsp",
        sioc_namespace_name(sioc_socket_namespace(s)), "data", data_of(s), "handshake", "address",
        address, "headers", headers, "query", json_object_get(hs, "query"), "issued",
        json_object_get(hs, "issued"), "secure", json_object_get(hs, "secure"), "time",
        json_object_get(hs, "time"), "url", json_object_get(hs, "url"), "xdomain",
        json_object_get(hs, "xdomain"), "rooms", rooms);
    if (out && cid[0]) {
        json_object_set_new(out, "clientId", json_string(cid));
    }
    return out;
}

/* ---- aggregated events and server stats ---- */

/* Counts `count` more of `type` (and `sub_type`, or NULL) in the current second, as Node's
 * EventBuffer. */
static void count_event(sioc__admin *a, const char *type, const char *sub_type,
                        unsigned long long count)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long second = (long long)tv.tv_sec * 1000;
    char key[256];
    snprintf(key, sizeof(key), "%lld;%s;%s", second, type, sub_type ? sub_type : "");
    json_t *e = json_object_get(a->events, key);
    if (e) {
        json_object_set_new(
            e, "count",
            json_integer(json_integer_value(json_object_get(e, "count")) + (json_int_t)count));
        return;
    }
    e = json_pack("{s:I,s:s,s:I}", "timestamp", (json_int_t)second, "type", type, "count",
                  (json_int_t)count);
    if (e && sub_type) {
        json_object_set_new(e, "subType", json_string(sub_type));
    }
    if (e) {
        json_object_set_new(a->events, key, e);
    }
}

/* The engine's counters since the last tick, as Node's packet/packetCreate listeners count. */
static void count_traffic(sioc__admin *a)
{
    sioc_engine_stats now;
    if (sioc_server_engine_stats(a->server, &now) < 0) {
        return;
    }
    static const char *const types[] = {"packetsIn", "packetsOut", "bytesIn", "bytesOut"};
    unsigned long long delta[] = {
        now.packets_in - a->last.packets_in, now.packets_out - a->last.packets_out,
        now.bytes_in - a->last.bytes_in, now.bytes_out - a->last.bytes_out};
    for (size_t i = 0; i < 4; i++) {
        if (delta[i]) {
            count_event(a, types[i], NULL, delta[i]);
        }
    }
    a->last = now;
}

static void emit_stats(sioc__admin *a)
{
    sioc_engine_stats es = {0};
    sioc_server_engine_stats(a->server, &es);
    json_t *events = json_array(), *nsps = json_array(), *v;
    const char *key;
    json_object_foreach (a->events, key, v) {
        json_array_append(events, v);
    }
    json_object_clear(a->events);
    sioc_namespace *list[256];
    size_t n = sioc_server_namespaces(a->server, list, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        json_array_append_new(nsps, json_pack("{s:s,s:I}", "name", sioc_namespace_name(list[i]),
                                              "socketsCount",
                                              (json_int_t)sioc_namespace_sockets_count(list[i])));
    }
    json_t *stats = json_deep_copy(a->base_stats);
    double uptime = (double)(sioc__admin_now_ms() - a->started_ms) / 1000.0;
    if (stats && events && nsps) {
        json_object_set_new(stats, "uptime", json_real(uptime));
        json_object_set_new(stats, "clientsCount", json_integer((json_int_t)es.clients));
        json_object_set_new(stats, "pollingClientsCount",
                            json_integer((json_int_t)es.polling_clients));
        json_object_set(stats, "aggregatedEvents", events);
        json_object_set(stats, "namespaces", nsps);
        say(a, "server_stats", json_pack("[O]", stats));
    }
    json_decref(stats);
    json_decref(events);
    json_decref(nsps);
}

/* Every second the traffic is counted; every other one the stats go out (Node: 2000 ms). */
static void on_tick(sioc_server *server, void *user_data)
{
    sioc__admin *a = user_data;
    count_traffic(a);
    if (++a->ticks % 2 == 0) {
        emit_stats(a);
    }
}

/* ---- what happens to sockets (observers) ---- */

static bool watched(sioc__admin *a, sioc_socket *s, bool events)
{
    return a->dev && (!events || sioc_socket_namespace(s) != a->nsp);
}

/* data._admin, as Node's instrument() keeps it for fetchSockets' answers to other nodes. */
static void mark_admin(sioc_socket *s)
{
    sioc_conn *conn = sioc_socket_conn(s);
    char cid[13];
    snprintf(cid, sizeof(cid), "%s", sioc_conn_id(conn));
    json_object_set_new(
        sioc_socket_data_json(s), "_admin",
        json_pack("{s:s,s:s}", "clientId", cid, "transport", sioc_conn_transport(conn)));
}

static void on_socket_connected(sioc_socket *s, void *user_data)
{
    sioc__admin *a = user_data;
    mark_admin(s);
    if (watched(a, s, false)) {
        json_t *ser = serialize(s);
        say(a, "socket_connected", ser ? json_pack("[o,o]", ser, timestamp()) : NULL);
    }
}

static void on_socket_disconnected(sioc_socket *s, const char *reason, void *user_data)
{
    sioc__admin *a = user_data;
    if (watched(a, s, false)) {
        say(a, "socket_disconnected",
            json_pack("[s,s,s,o]", sioc_namespace_name(sioc_socket_namespace(s)), sioc_socket_id(s),
                      reason, timestamp()));
    }
}

static void on_room(sioc__admin *a, sioc_socket *s, const char *room, const char *event)
{
    if (watched(a, s, false)) {
        say(a, event,
            json_pack("[s,s,s,o]", sioc_namespace_name(sioc_socket_namespace(s)), room,
                      sioc_socket_id(s), timestamp()));
    }
}

static void on_room_joined(sioc_socket *s, const char *room, void *user_data)
{
    on_room(user_data, s, room, "room_joined");
}

static void on_room_left(sioc_socket *s, const char *room, void *user_data)
{
    on_room(user_data, s, room, "room_left");
}

/* [event, ...args], as Node's onAny listener gets them. */
static void on_event(sioc__admin *a, sioc_socket *s, const char *kind, const char *event,
                     json_t *args)
{
    if (!watched(a, s, true)) {
        return;
    }
    json_t *all = json_array();
    json_array_append_new(all, json_string(event));
    json_array_extend(all, args);
    say(a, kind,
        json_pack("[s,s,o,o]", sioc_namespace_name(sioc_socket_namespace(s)), sioc_socket_id(s),
                  all, timestamp()));
}

static void on_event_received(sioc_socket *s, const char *event, json_t *args, void *user_data)
{
    on_event(user_data, s, "event_received", event, args);
}

static void on_event_sent(sioc_socket *s, const char *event, json_t *args, void *user_data)
{
    on_event(user_data, s, "event_sent", event, args);
}

static void on_data_changed(sioc_socket *s, void *user_data)
{
    sioc__admin *a = user_data;
    if (watched(a, s, false)) {
        say(a, "socket_updated",
            json_pack("[{s:s,s:s,s:o}]", "id", sioc_socket_id(s), "nsp",
                      sioc_namespace_name(sioc_socket_namespace(s)), "data", data_of(s)));
    }
}

static void on_upgraded(sioc_socket *s, void *user_data)
{
    sioc__admin *a = user_data;
    mark_admin(s);
    if (watched(a, s, false)) {
        say(a, "socket_updated",
            json_pack("[{s:s,s:s,s:s}]", "id", sioc_socket_id(s), "nsp",
                      sioc_namespace_name(sioc_socket_namespace(s)), "transport",
                      sioc_conn_transport(sioc_socket_conn(s))));
    }
}

static void on_conn_opened(sioc_conn *conn, void *user_data)
{
    count_event(user_data, "rawConnection", NULL, 1);
}

static void on_conn_closed(sioc_conn *conn, const char *reason, void *user_data)
{
    count_event(user_data, "rawDisconnection", reason, 1);
}

static const sioc_observer observer = {
    .socket_connected = on_socket_connected,
    .socket_disconnected = on_socket_disconnected,
    .room_joined = on_room_joined,
    .room_left = on_room_left,
    .event_received = on_event_received,
    .event_sent = on_event_sent,
    .data_changed = on_data_changed,
    .transport_upgraded = on_upgraded,
    .conn_opened = on_conn_opened,
    .conn_closed = on_conn_closed,
};

/* ---- the dashboard's connection and commands ---- */

/* all_sockets: every namespace's fetchSockets, gathered, then said to the one dashboard. Other
 * nodes may answer after the admin has gone (the server being freed ends their fetches then):
 * the admin lets go of its gatherings, which end without a word. */
struct sioc__admin_gathering {
    sioc__admin_gathering *next, **prev; /* in the admin's list, while it has one */
    sioc__admin *admin;                  /* NULL once it has gone */
    char to[64];                         /* the dashboard's socket id: its own room */
    size_t waiting;
    json_t *sockets;
};
typedef sioc__admin_gathering gathering;

static void gathering_unlink(gathering *g)
{
    if (g->prev) {
        *g->prev = g->next;
        if (g->next) {
            g->next->prev = g->prev;
        }
        g->prev = NULL;
    }
    g->admin = NULL;
}

static void gathered(int err, sioc_socket *const *sockets, size_t n, void *user_data)
{
    gathering *g = user_data;
    for (size_t i = 0; g->admin && i < n; i++) {
        json_t *ser = serialize(sockets[i]);
        if (ser) {
            json_array_append_new(g->sockets, ser);
        }
    }
    if (--g->waiting > 0) {
        return;
    }
    const char *rooms[] = {g->to};
    sioc_target to = {.rooms = rooms, .nrooms = 1, .flags = SIOC_EMIT_LOCAL};
    json_t *args = g->admin ? json_pack("[O]", g->sockets) : NULL;
    if (args) {
        sioc_namespace_emit_to(g->admin->nsp, &to, "all_sockets", args);
    }
    json_decref(args);
    gathering_unlink(g);
    json_decref(g->sockets);
    free(g);
}

static void send_all_sockets(sioc__admin *a, sioc_socket *s)
{
    sioc_namespace *list[256];
    size_t n = sioc_server_namespaces(a->server, list, 256);
    n = n > 256 ? 256 : n;
    gathering *g = calloc(1, sizeof(*g));
    if (!g || !(g->sockets = json_array())) {
        free(g);
        return;
    }
    g->admin = a;
    g->next = a->gatherings;
    g->prev = &a->gatherings;
    if (a->gatherings) {
        a->gatherings->prev = &g->next;
    }
    a->gatherings = g;
    snprintf(g->to, sizeof(g->to), "%s", sioc_socket_id(s));
    g->waiting = n + 1; /* one more, dropped below: no answer ends it before all are asked */
    for (size_t i = 0; i < n; i++) {
        if (sioc_namespace_fetch_sockets(list[i], NULL, gathered, g) < 0) {
            gathered(SIOC_ERR_NOMEM, NULL, 0, g);
        }
    }
    gathered(0, NULL, 0, g);
}

static void on_admin_connection(sioc_socket *s, void *user_data)
{
    sioc__admin *a = user_data;
    if (a->granted_session) {
        /* After CONNECT, not before as Node: the dashboard listens for it once connected. */
        json_t *args = json_pack("[s]", a->granted_session);
        sioc_socket_emit(s, "session", args);
        json_decref(args);
    }
    json_t *config = json_pack("[{s:O}]", "supportedFeatures", a->features);
    sioc_socket_emit(s, "config", config);
    json_decref(config);
    if (a->dev) {
        send_all_sockets(a, s);
    }
}

/* The namespace `name` if it exists here. Node's io.of() would create it: a dashboard (or, with
 * --admin-no-auth, anyone) could then make namespaces without end. */
static sioc_namespace *existing(sioc__admin *a, const char *name)
{
    sioc_namespace *list[256];
    size_t n = sioc_server_namespaces(a->server, list, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        if (strcmp(sioc_namespace_name(list[i]), name) == 0) {
            return list[i];
        }
    }
    return NULL;
}

/* A command's namespace and its filter: a room or socket id, or none. False when the arguments
 * are not what the dashboard sends, or the namespace does not exist. */
static bool command_target(sioc__admin *a, json_t *args, size_t filter_at, sioc_namespace **nsp,
                           const char **filter)
{
    const char *name = json_string_value(json_array_get(args, 0));
    json_t *f = json_array_get(args, filter_at);
    if (!name || name[0] != '/' || (f && !json_is_string(f) && !json_is_null(f))) {
        sioc__log(SIOC_LOG_INFO, "admin: a command with unexpected arguments ignored");
        return false;
    }
    *filter = json_string_value(f);
    *filter = *filter && (*filter)[0] ? *filter : NULL;
    if (!(*nsp = existing(a, name))) {
        sioc__log(SIOC_LOG_INFO, "admin: a command for namespace %s, which does not exist here",
                  name);
        return false;
    }
    return true;
}

/* emit(nsp, filter, event, ...args) */
static void on_emit(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
    sioc_namespace *nsp;
    const char *filter, *event = json_string_value(json_array_get(args, 2));
    if (!event || !command_target(user_data, args, 1, &nsp, &filter)) {
        return;
    }
    json_t *rest = json_array();
    for (size_t i = 3; rest && i < json_array_size(args); i++) {
        json_array_append(rest, json_array_get(args, i));
    }
    const char *rooms[] = {filter};
    sioc_target to = {.rooms = rooms, .nrooms = filter ? 1 : 0};
    sioc_namespace_emit_to(nsp, &to, event, rest);
    json_decref(rest);
}

/* join(nsp, room, filter) and leave(nsp, room, filter) */
static void join_or_leave(sioc__admin *a, json_t *args, bool join)
{
    sioc_namespace *nsp;
    const char *filter, *room = json_string_value(json_array_get(args, 1));
    if (!room || !command_target(a, args, 2, &nsp, &filter)) {
        return;
    }
    const char *rooms[] = {filter}, *what[] = {room};
    sioc_target to = {.rooms = rooms, .nrooms = filter ? 1 : 0};
    if (join) {
        sioc_namespace_sockets_join(nsp, &to, what, 1);
    } else {
        sioc_namespace_sockets_leave(nsp, &to, what, 1);
    }
}

static void on_join(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
    join_or_leave(user_data, args, true);
}

static void on_leave(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
    join_or_leave(user_data, args, false);
}

/* _disconnect(nsp, close, filter) */
static void on_disconnect_command(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
    sioc_namespace *nsp;
    const char *filter;
    if (!command_target(user_data, args, 2, &nsp, &filter)) {
        return;
    }
    const char *rooms[] = {filter};
    sioc_target to = {.rooms = rooms, .nrooms = filter ? 1 : 0};
    sioc_namespace_disconnect_sockets(nsp, &to, json_is_true(json_array_get(args, 1)));
}

/* ---- life ---- */

/* serverId, hostname and pid, as Node's baseStats. */
static json_t *base_stats(const sioc_admin_ui_options *o, const char *node_name, bool worker)
{
    char host[256] = "localhost", id[300];
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    if (o->server_id || node_name) {
        snprintf(id, sizeof(id), "%s", o->server_id ? o->server_id : node_name);
    } else if (worker) {
        snprintf(id, sizeof(id), "%s#%ld", host, (long)getpid());
    } else {
        snprintf(id, sizeof(id), "%s", host);
    }
    return json_pack("{s:s,s:s,s:I}", "serverId", id, "hostname", host, "pid",
                     (json_int_t)getpid());
}

static json_t *features(bool readonly, bool dev)
{
    json_t *f = readonly ? json_pack("[]")
                         : json_pack("[s,s,s,s,s,s,s]", "EMIT", "JOIN", "LEAVE", "DISCONNECT",
                                     "MJOIN", "MLEAVE", "MDISCONNECT");
    json_array_append_new(f, json_string("AGGREGATED_EVENTS"));
    if (dev) {
        json_array_append_new(f, json_string("ALL_EVENTS"));
    }
    return f;
}

static int check_options(const sioc_admin_ui_options *o)
{
    if (!o->username && !o->no_auth) {
        sioc__log(SIOC_LOG_ERROR, "admin: the Admin UI needs a username and password hash, or "
                                  "to be told to run without authentication");
        return SIOC_ERR_INVALID;
    }
    if (o->username && !sioc__admin_hash_ok(o->password_hash)) {
        sioc__log(SIOC_LOG_ERROR, "admin: the password must be a bcrypt hash ($2a$, $2b$ or $2y$)");
        return SIOC_ERR_INVALID;
    }
    return 0;
}

static int handlers(sioc__admin *a)
{
    int rc = sioc_namespace_on_connection(a->nsp, on_admin_connection, a);
    if (rc == 0 && a->username) {
        rc = sioc_namespace_use(a->nsp, sioc__admin_authenticate, a);
    }
    if (rc == 0 && !a->readonly) {
        rc = sioc_namespace_on(a->nsp, "emit", on_emit, a);
        rc = rc ? rc : sioc_namespace_on(a->nsp, "join", on_join, a);
        rc = rc ? rc : sioc_namespace_on(a->nsp, "leave", on_leave, a);
        rc = rc ? rc : sioc_namespace_on(a->nsp, "_disconnect", on_disconnect_command, a);
    }
    return rc;
}

/* The dashboard's own files, when there is a place for them. */
static void serve_ui(sioc__admin *a, const sioc_admin_ui_options *o, const char *default_dir)
{
    const char *path = o->ui_path ? o->ui_path : "/admin/",
               *dir = o->ui_dir ? o->ui_dir : default_dir;
    if (!path[0]) {
        return;
    }
    if (!dir || sioc_server_serve_directory(a->server, path, dir) < 0) {
        sioc__log(SIOC_LOG_WARN,
                  "admin: no dashboard files in %s: use https://admin.socket.io (with CORS) or "
                  "@socket.io/admin-ui's ui/dist",
                  dir ? dir : "(none)");
        return;
    }
    sioc__log(SIOC_LOG_INFO, "admin: the dashboard is served at %s", path);
}

int sioc__admin_new(sioc_server *server, const sioc_admin_ui_options *o, const char *node_name,
                    bool worker, const char *default_ui_dir, sioc__admin **out)
{
    int rc = check_options(o);
    sioc__admin *a = rc == 0 ? calloc(1, sizeof(*a)) : NULL;
    if (!a) {
        return rc < 0 ? rc : SIOC_ERR_NOMEM;
    }
    a->server = server;
    a->readonly = o->readonly;
    a->dev = !o->production;
    a->started_ms = sioc__admin_now_ms();
    a->observer_id = a->interval_id = -1;
    a->nsp = sioc_server_of(server, o->namespace_name ? o->namespace_name : "/admin");
    a->features = features(o->readonly, a->dev);
    a->base_stats = base_stats(o, node_name, worker);
    a->events = json_object();
    if (o->username) {
        a->username = strdup(o->username);
        a->hash = strdup(o->password_hash);
    }
    sioc_server_engine_stats(server, &a->last);
    rc = !a->nsp || !a->features || !a->base_stats || !a->events ||
                 (o->username && (!a->username || !a->hash))
             ? SIOC_ERR_NOMEM
             : handlers(a);
    if (rc == 0 && (a->observer_id = sioc_server_observe(server, &observer, a)) < 0) {
        rc = a->observer_id;
    }
    if (rc == 0 && (a->interval_id = sioc_server_set_interval(server, 1000, on_tick, a)) < 0) {
        rc = a->interval_id;
    }
    if (rc < 0) {
        sioc__admin_free(a);
        return rc;
    }
    serve_ui(a, o, default_ui_dir);
    if (!a->username) {
        sioc__log(SIOC_LOG_WARN, "admin: the Admin UI (namespace %s) has no authentication",
                  sioc_namespace_name(a->nsp));
    }
    emit_stats(a); /* once at the start, as Node */
    *out = a;
    return 0;
}

void sioc__admin_free(sioc__admin *a)
{
    if (!a) {
        return;
    }
    assert(a->checking == 0);
    while (a->gatherings) {
        gathering_unlink(a->gatherings);
    }
    if (a->observer_id > 0) {
        sioc_server_unobserve(a->server, a->observer_id);
    }
    if (a->interval_id > 0) {
        sioc_server_clear_interval(a->server, a->interval_id);
    }
    if (a->nsp) { /* the namespace outlives this: its callbacks must not reach it */
        sioc_namespace_on_connection(a->nsp, NULL, NULL);
    }
    json_decref(a->features);
    json_decref(a->base_stats);
    json_decref(a->events);
    sioc__admin_sessions_free(a);
    free(a->username);
    free(a->hash);
    free(a);
}
