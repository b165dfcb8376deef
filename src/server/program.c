/* A server program's life (sioc_program_main): the command line every sioc program takes, the
 * server made from it, signals, and the start-up line. Used by the sioc binary and the examples,
 * and by any application that wants the same flags. */
#include "sioc.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/workers.h"
#include "util/log.h"
#include "util/notify.h"

static void usage(FILE *to, const char *prog, const char *summary)
{
    fprintf(
        to,
        "Usage: %s [options]\n"
        "%s\n\n"
        "  --port N                   TCP port (default 8000 for sioc)\n"
        "  --host ADDR                address to bind (default: every interface)\n"
        "  --public DIR               static files to serve (default: public)\n"
        "  --cors-origin ORIGIN       allow this origin (repeatable; * for any)\n"
        "  --ping-interval MS         heartbeat interval (default 25000)\n"
        "  --ping-timeout MS          heartbeat timeout (default 20000)\n"
        "  --max-http-buffer-size N   largest message or POST body (default 1000000)\n"
        "  --upgrade-timeout MS       time allowed for an upgrade (default 10000)\n"
        "  --connect-timeout MS       time allowed to join a namespace (default 45000)\n"
        "  --keepalive-timeout MS     idle HTTP keep-alive connections close (default 5000)\n"
        "  --transports LIST          polling,websocket (default both)\n"
        "  --parser default|msgpack   how packets are written (msgpack: socket.io-msgpack-parser)\n"
        "  --tls-cert FILE            serve https and wss with this PEM certificate (chain)\n"
        "  --tls-key FILE             ... and this PEM private key (SIGHUP reads both again)\n"
        "  --http-compression-threshold N  compress polling answers of N bytes or more (1024)\n"
        "  --no-http-compression      send polling answers and the bundle uncompressed\n"
        "  --per-message-deflate      compress WebSocket messages of 1024 bytes or more\n"
        "  --per-message-deflate-threshold N  ... of N bytes or more (implies the above)\n"
        "  --allow-eio3               also accept socket.io-client 2.x (Engine.IO v3)\n"
        "  --no-allow-eio3            refuse socket.io-client 2.x\n"
        "  --cleanup-empty-child-namespaces  remove empty dynamic namespaces\n"
        "  --max-dynamic-namespaces N at most N dynamic namespaces at once (default 10000)\n"
        "  --max-disconnection-duration MS  connection state recovery (default off)\n"
        "  --max-buffered-bytes N     per-connection send backlog before closing (default 16 MiB)\n"
        "  --client-dir DIR           socket.io-client dist/ to serve\n"
        "  --event-loop libuv|poll    event loop backend (default libuv)\n"
        "  --log-level LEVEL          error, warn, info or debug (default warn)\n"
        "  --log-format text|json     a line of text, or a JSON object per line (default text)\n"
        "  --redis URL                join a cluster through Redis "
        "(redis://[:pass@]host:port[/db])\n"
        "  --redis-key PREFIX         the Redis adapter's key (default socket.io)\n"
        "  --redis-adapter classic|sharded|streams  the Redis adapter (default classic;\n"
        "                             streams: @socket.io/redis-streams-adapter's)\n"
        "  --redis-subscription-mode static|dynamic|dynamic-private  the sharded adapter's\n"
        "                             subscriptionMode (default dynamic)\n"
        "  --redis-stream-name NAME   the Streams adapter's streamName (default socket.io)\n"
        "  --redis-stream-count N     its streamCount (default 1)\n"
        "  --redis-max-len N          its maxLen (default 10000)\n"
        "  --redis-sharded-pubsub     its useShardedPubSub\n"
        "  --redis-session-key-prefix P  its sessionKeyPrefix (default sio:session:)\n"
        "  --name NAME                this node's name\n"
        "  --metrics PATH             serve Prometheus metrics at PATH (e.g. /metrics)\n"
        "  --admin-ui                 serve the Admin UI (namespace /admin, dashboard at /admin/)\n"
        "  --admin-auth USER:HASH     its login: a user name and a bcrypt hash of the password\n"
        "  --admin-no-auth            let anyone who reaches the port use it, without login\n"
        "  --admin-readonly           the dashboard watches only (no emit, join, disconnect)\n"
        "  --admin-mode development|production  production: statistics only (default development)\n"
        "  --cookie NAME              set a cookie holding the sid (load-balancer stickiness)\n"
        "  --workers N|auto           N processes on the port (auto: one per core; default 1)\n"
        "  --help                     this text\n"
        "  --version                  the version\n",
        prog, summary);
}

/* What the command line said of the program's own defaults. */
typedef struct parsed {
    bool cors_given;
    bool eio3;
    const char *redis_url;
    const char *redis_key;              /* applied with the URL, whatever their order */
    int redis_adapter;                  /* sioc_redis_adapter; -1: not said */
    int redis_mode;                     /* sioc_redis_subscription_mode; -1: not said */
    sioc_redis_streams_options streams; /* the Streams adapter's, borrowed from argv */
    bool streams_said;
    bool json_log;                  /* --log-format json: the program's own lines are JSON too */
    const char *tls_cert, *tls_key; /* applied together once every flag is read */
    bool admin_ui, admin_said;
    sioc_admin_ui_options admin; /* its strings borrowed from argv, but the user's copy */
    char admin_user[256];
} parsed;

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_level(const char *s, sioc_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (sioc_log_level)i;
            return 0;
        }
    }
    return -1;
}

static int parse_transports(const char *s, unsigned *mask)
{
    *mask = 0;
    char copy[64];
    snprintf(copy, sizeof(copy), "%s", s);
    for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "polling") == 0) {
            *mask |= SIOC_TRANSPORT_POLLING;
        } else if (strcmp(t, "websocket") == 0) {
            *mask |= SIOC_TRANSPORT_WEBSOCKET;
        } else {
            return -1;
        }
    }
    return *mask ? 0 : -1;
}

enum {
    O_PORT = 256,
    O_HOST,
    O_PUBLIC,
    O_CORS,
    O_PING_INTERVAL,
    O_PING_TIMEOUT,
    O_UPGRADE_TIMEOUT,
    O_CONNECT_TIMEOUT,
    O_MAX_BUF,
    O_TRANSPORTS,
    O_PARSER,
    O_TLS_CERT,
    O_TLS_KEY,
    O_HTTP_COMPRESSION_THRESHOLD,
    O_NO_HTTP_COMPRESSION,
    O_PMD,
    O_PMD_THRESHOLD,
    O_CLIENT_DIR,
    O_LOOP,
    O_LOG,
    O_CLEANUP,
    O_RECOVERY,
    O_MAX_BUFFERED,
    O_EIO3,
    O_NO_EIO3,
    O_MAX_NSP,
    O_KEEPALIVE,
    O_LOG_FORMAT,
    O_REDIS,
    O_REDIS_KEY,
    O_REDIS_ADAPTER,
    O_REDIS_MODE,
    O_STREAM_NAME,
    O_STREAM_COUNT,
    O_MAX_LEN,
    O_SHARDED_PUBSUB,
    O_SESSION_PREFIX,
    O_NAME,
    O_METRICS,
    O_COOKIE,
    O_WORKERS,
    O_ADMIN_UI,
    O_ADMIN_AUTH,
    O_ADMIN_NO_AUTH,
    O_ADMIN_READONLY,
    O_ADMIN_MODE,
    O_HELP,
    O_VERSION
};

static int apply(int opt, const char *arg, sioc_options *o, parsed *said)
{
    unsigned long v;
    sioc_log_level level;
    unsigned mask;
    switch (opt) {
    case O_PORT:
        return parse_ulong(arg, 65535, &v) ? -1 : sioc_options_set_port(o, (int)v);
    case O_HOST:
        return sioc_options_set_host(o, arg);
    case O_PUBLIC:
        return sioc_options_set_public_dir(o, arg);
    case O_CORS:
        said->cors_given = true;
        return sioc_options_add_cors_origin(o, arg);
    case O_PING_INTERVAL:
        return parse_ulong(arg, INT_MAX, &v) ? -1
                                             : sioc_options_set_ping_interval_ms(o, (unsigned)v);
    case O_PING_TIMEOUT:
        return parse_ulong(arg, INT_MAX, &v) ? -1
                                             : sioc_options_set_ping_timeout_ms(o, (unsigned)v);
    case O_UPGRADE_TIMEOUT:
        return parse_ulong(arg, INT_MAX, &v) ? -1
                                             : sioc_options_set_upgrade_timeout_ms(o, (unsigned)v);
    case O_CONNECT_TIMEOUT:
        return parse_ulong(arg, INT_MAX, &v) ? -1
                                             : sioc_options_set_connect_timeout_ms(o, (unsigned)v);
    case O_MAX_BUF:
        return parse_ulong(arg, INT_MAX, &v) ? -1 : sioc_options_set_max_http_buffer_size(o, v);
    case O_TRANSPORTS:
        return parse_transports(arg, &mask) ? -1 : sioc_options_set_transports(o, mask);
    case O_TLS_CERT:
        said->tls_cert = arg;
        return arg[0] ? 0 : -1;
    case O_TLS_KEY:
        said->tls_key = arg;
        return arg[0] ? 0 : -1;
    case O_HTTP_COMPRESSION_THRESHOLD:
        return parse_ulong(arg, INT_MAX, &v) ? -1 : sioc_options_set_http_compression(o, true, v);
    case O_NO_HTTP_COMPRESSION:
        return sioc_options_set_http_compression(o, false, 1024);
    case O_PMD:
        return sioc_options_set_per_message_deflate(o, true, o->per_message_deflate_threshold);
    case O_PMD_THRESHOLD:
        return parse_ulong(arg, INT_MAX, &v) ? -1
                                             : sioc_options_set_per_message_deflate(o, true, v);
    case O_PARSER:
        return strcmp(arg, "msgpack") == 0   ? sioc_options_set_parser(o, SIOC_PARSER_MSGPACK)
               : strcmp(arg, "default") == 0 ? sioc_options_set_parser(o, SIOC_PARSER_DEFAULT)
                                             : -1;
    case O_CLIENT_DIR:
        return sioc_options_set_client_dir(o, arg);
    case O_LOOP:
        return strcmp(arg, "poll") == 0    ? sioc_options_set_event_loop(o, SIOC_LOOP_POLL)
               : strcmp(arg, "libuv") == 0 ? sioc_options_set_event_loop(o, SIOC_LOOP_LIBUV)
                                           : -1;
    case O_LOG:
        return parse_level(arg, &level) ? -1 : sioc_options_set_log_level(o, level);
    case O_MAX_BUFFERED:
        return parse_ulong(arg, ULONG_MAX, &v) ? -1 : sioc_options_set_max_buffered_bytes(o, v);
    case O_CLEANUP:
        return sioc_options_set_cleanup_empty_child_namespaces(o, true);
    case O_EIO3:
    case O_NO_EIO3:
        said->eio3 = opt == O_EIO3;
        return sioc_options_set_allow_eio3(o, said->eio3);
    case O_KEEPALIVE:
        return parse_ulong(arg, INT_MAX, &v)
                   ? -1
                   : sioc_options_set_keepalive_timeout_ms(o, (unsigned)v);
    case O_LOG_FORMAT:
        said->json_log = strcmp(arg, "json") == 0;
        return strcmp(arg, "json") == 0 || strcmp(arg, "text") == 0
                   ? sioc_options_set_log_format(o, said->json_log ? SIOC_LOG_JSON : SIOC_LOG_TEXT)
                   : -1;
    case O_REDIS: /* applied with the key once every flag is read */
        said->redis_url = arg;
        return strncmp(arg, "redis://", 8) == 0 ? 0 : -1;
    case O_REDIS_KEY:
        said->redis_key = arg;
        return arg[0] ? 0 : -1;
    case O_REDIS_ADAPTER:
        said->redis_adapter = strcmp(arg, "classic") == 0   ? SIOC_REDIS_CLASSIC
                              : strcmp(arg, "sharded") == 0 ? SIOC_REDIS_SHARDED
                              : strcmp(arg, "streams") == 0 ? SIOC_REDIS_STREAMS
                                                            : -1;
        return said->redis_adapter < 0 ? -1 : 0;
    case O_REDIS_MODE:
        said->redis_mode = strcmp(arg, "dynamic") == 0           ? SIOC_REDIS_DYNAMIC
                           : strcmp(arg, "static") == 0          ? SIOC_REDIS_STATIC
                           : strcmp(arg, "dynamic-private") == 0 ? SIOC_REDIS_DYNAMIC_PRIVATE
                                                                 : -1;
        return said->redis_mode < 0 ? -1 : 0;
    case O_STREAM_NAME:
        said->streams_said = true;
        said->streams.stream_name = arg;
        return arg[0] ? 0 : -1;
    case O_STREAM_COUNT:
        said->streams_said = true;
        return parse_ulong(arg, 1024, &v) || !v ? -1
                                                : (said->streams.stream_count = (unsigned)v, 0);
    case O_MAX_LEN:
        said->streams_said = true;
        return parse_ulong(arg, UINT_MAX, &v) || !v ? -1 : (said->streams.max_len = (unsigned)v, 0);
    case O_SHARDED_PUBSUB:
        said->streams_said = true;
        said->streams.use_sharded_pubsub = true;
        return 0;
    case O_SESSION_PREFIX:
        said->streams_said = true;
        said->streams.session_key_prefix = arg;
        return 0;
    case O_NAME:
        return sioc_options_set_name(o, arg);
    case O_METRICS:
        return sioc_options_set_metrics_path(o, arg);
    case O_WORKERS: /* a number, or "auto": one per core */
        return strcmp(arg, "auto") == 0             ? sioc_options_set_workers(o, 0)
               : parse_ulong(arg, 64, &v) || v == 0 ? -1
                                                    : sioc_options_set_workers(o, (unsigned)v);
    case O_ADMIN_UI:
        said->admin_ui = true;
        return 0;
    case O_ADMIN_AUTH: { /* USER:HASH; a bcrypt hash has no ':' */
        const char *colon = strrchr(arg, ':');
        size_t ulen = colon ? (size_t)(colon - arg) : 0;
        if (!ulen || ulen >= sizeof(said->admin_user) || !colon[1]) {
            return -1;
        }
        memcpy(said->admin_user, arg, ulen);
        said->admin_user[ulen] = '\0';
        said->admin.username = said->admin_user;
        said->admin.password_hash = colon + 1;
        said->admin_said = true;
        return 0;
    }
    case O_ADMIN_NO_AUTH:
        said->admin.no_auth = said->admin_said = true;
        return 0;
    case O_ADMIN_READONLY:
        said->admin.readonly = said->admin_said = true;
        return 0;
    case O_ADMIN_MODE: /* Node's `mode` (NODE_ENV): production sends no socket or event */
        said->admin_said = true;
        said->admin.production = strcmp(arg, "production") == 0;
        return said->admin.production || strcmp(arg, "development") == 0 ? 0 : -1;
    case O_COOKIE: /* as Node's `cookie: {name}`: path "/", HttpOnly, SameSite=Lax */
        return arg[0] ? sioc_options_set_cookie(o, arg, NULL, true, "Lax") : -1;
    case O_MAX_NSP:
        return parse_ulong(arg, ULONG_MAX, &v) ? -1 : sioc_options_set_max_dynamic_namespaces(o, v);
    case O_RECOVERY:
        return parse_ulong(arg, INT_MAX, &v)
                   ? -1
                   : sioc_options_set_connection_state_recovery(o, (unsigned)v, true);
    default:
        return -1;
    }
}

/* The Admin UI's flags: --admin-ui with exactly one way in. */
static int admin_options(const char *prog, parsed *said, sioc_options *opts)
{
    if (said->admin_said && !said->admin_ui) {
        fprintf(stderr,
                "%s: --admin-auth, --admin-no-auth, --admin-readonly and --admin-mode need "
                "--admin-ui\n",
                prog);
        return -1;
    }
    if (!said->admin_ui) {
        return 0;
    }
    if (!said->admin.username == !said->admin.no_auth) {
        fprintf(stderr,
                "%s: --admin-ui needs --admin-auth USER:BCRYPT_HASH, or --admin-no-auth to let "
                "anyone who reaches the port in (not both)\n",
                prog);
        return -1;
    }
    return sioc_options_set_admin_ui(opts, &said->admin);
}

/* Applies argv's flags to `opts`. Returns 0 to go on, 1 when --help or --version was answered, -1
 * after printing an error to stderr. */
static int parse(int argc, char **argv, const char *prog, const char *summary, sioc_options *opts,
                 parsed *said)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, O_PORT},
        {"host", required_argument, NULL, O_HOST},
        {"public", required_argument, NULL, O_PUBLIC},
        {"cors-origin", required_argument, NULL, O_CORS},
        {"ping-interval", required_argument, NULL, O_PING_INTERVAL},
        {"ping-timeout", required_argument, NULL, O_PING_TIMEOUT},
        {"upgrade-timeout", required_argument, NULL, O_UPGRADE_TIMEOUT},
        {"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
        {"max-http-buffer-size", required_argument, NULL, O_MAX_BUF},
        {"transports", required_argument, NULL, O_TRANSPORTS},
        {"parser", required_argument, NULL, O_PARSER},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"http-compression-threshold", required_argument, NULL, O_HTTP_COMPRESSION_THRESHOLD},
        {"no-http-compression", no_argument, NULL, O_NO_HTTP_COMPRESSION},
        {"per-message-deflate", no_argument, NULL, O_PMD},
        {"per-message-deflate-threshold", required_argument, NULL, O_PMD_THRESHOLD},
        {"client-dir", required_argument, NULL, O_CLIENT_DIR},
        {"event-loop", required_argument, NULL, O_LOOP},
        {"log-level", required_argument, NULL, O_LOG},
        {"cleanup-empty-child-namespaces", no_argument, NULL, O_CLEANUP},
        {"max-disconnection-duration", required_argument, NULL, O_RECOVERY},
        {"max-buffered-bytes", required_argument, NULL, O_MAX_BUFFERED},
        {"allow-eio3", no_argument, NULL, O_EIO3},
        {"no-allow-eio3", no_argument, NULL, O_NO_EIO3},
        {"max-dynamic-namespaces", required_argument, NULL, O_MAX_NSP},
        {"keepalive-timeout", required_argument, NULL, O_KEEPALIVE},
        {"log-format", required_argument, NULL, O_LOG_FORMAT},
        {"redis", required_argument, NULL, O_REDIS},
        {"redis-key", required_argument, NULL, O_REDIS_KEY},
        {"redis-adapter", required_argument, NULL, O_REDIS_ADAPTER},
        {"redis-subscription-mode", required_argument, NULL, O_REDIS_MODE},
        {"redis-stream-name", required_argument, NULL, O_STREAM_NAME},
        {"redis-stream-count", required_argument, NULL, O_STREAM_COUNT},
        {"redis-max-len", required_argument, NULL, O_MAX_LEN},
        {"redis-sharded-pubsub", no_argument, NULL, O_SHARDED_PUBSUB},
        {"redis-session-key-prefix", required_argument, NULL, O_SESSION_PREFIX},
        {"name", required_argument, NULL, O_NAME},
        {"metrics", required_argument, NULL, O_METRICS},
        {"cookie", required_argument, NULL, O_COOKIE},
        {"workers", required_argument, NULL, O_WORKERS},
        {"admin-ui", no_argument, NULL, O_ADMIN_UI},
        {"admin-auth", required_argument, NULL, O_ADMIN_AUTH},
        {"admin-no-auth", no_argument, NULL, O_ADMIN_NO_AUTH},
        {"admin-readonly", no_argument, NULL, O_ADMIN_READONLY},
        {"admin-mode", required_argument, NULL, O_ADMIN_MODE},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == O_HELP) {
            usage(stdout, prog, summary);
            return 1;
        }
        if (opt == O_VERSION) {
            printf("%s %s\n", prog, SIOC_VERSION);
            return 1;
        }
        if (opt == '?' || apply(opt, optarg, opts, said) < 0) {
            if (opt != '?') {
                fprintf(stderr, "%s: invalid value '%s' for --%s\n", prog, optarg,
                        longopts[opt - O_PORT].name);
            }
            usage(stderr, prog, summary);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        return -1;
    }
    if ((said->redis_key || said->redis_adapter >= 0 || said->redis_mode >= 0) &&
        !said->redis_url) {
        fprintf(stderr,
                "%s: --redis-key, --redis-adapter and --redis-subscription-mode need --redis\n",
                prog);
        return -1;
    }
    if (said->redis_mode >= 0 && said->redis_adapter != SIOC_REDIS_SHARDED) {
        fprintf(stderr, "%s: --redis-subscription-mode is the sharded adapter's\n", prog);
        return -1;
    }
    if (said->streams_said && said->redis_adapter != SIOC_REDIS_STREAMS) {
        fprintf(stderr,
                "%s: --redis-stream-*, --redis-max-len, --redis-sharded-pubsub and "
                "--redis-session-key-prefix are the Streams adapter's\n",
                prog);
        return -1;
    }
    if (said->streams_said && sioc_options_set_redis_streams(opts, &said->streams) < 0) {
        return -1;
    }
    if (said->redis_adapter >= 0 &&
        sioc_options_set_redis_adapter(opts, (sioc_redis_adapter)said->redis_adapter,
                                       said->redis_mode >= 0
                                           ? (sioc_redis_subscription_mode)said->redis_mode
                                           : SIOC_REDIS_DYNAMIC) < 0) {
        return -1;
    }
    if (said->redis_url && sioc_options_set_redis(opts, said->redis_url, said->redis_key) < 0) {
        fprintf(stderr, "%s: invalid --redis or --redis-key\n", prog);
        return -1;
    }
    if (!said->tls_cert != !said->tls_key) {
        fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", prog);
        return -1;
    }
    if (said->tls_cert && sioc_options_set_tls(opts, said->tls_cert, said->tls_key) < 0) {
        return -1;
    }
    return admin_options(prog, said, opts);
}

static sioc_server *running;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        sioc_server_reload_tls(running); /* a renewed certificate */
    } else {
        sioc_server_stop(running);
    }
}

static void handle_signals(sioc_server *server)
{
    running = server;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* What a server program does once its command line is read: the same in a single process and in
 * each worker. */
typedef struct serving {
    const sioc_program *program;
    parsed said;
    bool any_origin;
    bool tls;
} serving;

/* The defaults that differ from Node's are said where the server says it listens. */
static void say_listening(const serving *sv, int port, const char *workers)
{
    static const char *const notes[] = {
        "",
        " (socket.io-client 2.x accepted)",
        " (pages from any origin may connect: --cors-origin restricts)",
        /* One string, split for the line's length. */
        (" (pages from any origin may connect: --cors-origin restricts; socket.io-client 2.x "
         "accepted)"),
    };
    const char *note = notes[(sv->any_origin ? 2 : 0) + (sv->said.eio3 ? 1 : 0)];
    if (sv->said.json_log) { /* said whatever the level: the one line a supervisor waits for */
        sioc__log_write(SIOC_LOG_INFO, NULL, "%s: %slistening on %s://localhost:%d%s",
                        sv->program->name, workers, sv->tls ? "https" : "http", port, note);
    } else {
        fprintf(stderr, "%s: %slistening on %s://localhost:%d%s\n", sv->program->name, workers,
                sv->tls ? "https" : "http", port, note);
    }
    /* Under systemd (Type=notify): the service is up once its port is. */
    char ready[96];
    snprintf(ready, sizeof(ready), "READY=1\nSTATUS=%slistening on port %d", workers, port);
    sioc__notify(ready);
}

/* Creates the server, runs it until a signal, frees it. `ready_fd` >= 0 (a worker): its index is
 * written there once it listens, instead of the line saying so. */
static int serve(sioc_options *opts, int ready_fd, void *arg)
{
    const serving *sv = arg;
    const char *prog = sv->program->name;
    sioc_server *server;
    int rc = sioc_server_new(opts, &server);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot start: %s\n", prog, sioc_strerror(rc));
        return 1;
    }
    if (sv->program->setup(server, sv->program->user_data) < 0) {
        fprintf(stderr, "%s: out of memory\n", prog);
        sioc_server_free(server);
        return 1;
    }
    /* Signals are handled before anyone is told the server listens. */
    handle_signals(server);
    if (ready_fd >= 0) {
        unsigned char index = (unsigned char)opts->worker->index;
        ssize_t n = write(ready_fd, &index, 1);
        (void)n; /* a primary gone: nobody to tell */
    } else {
        say_listening(sv, sioc_server_port(server), "");
    }
    rc = sioc_server_run(server);
    if (ready_fd < 0) {
        sioc__notify("STOPPING=1");
    }
    running = NULL;
    sioc_server_free(server);
    return rc < 0 ? 1 : 0;
}

static void workers_listening(int port, unsigned n, void *arg)
{
    char workers[32];
    snprintf(workers, sizeof(workers), "%u workers ", n);
    say_listening(arg, port, workers);
}

/* --workers: 0 is one per core. */
static unsigned worker_count(const sioc_options *opts)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = opts->workers ? opts->workers : cores > 0 ? (unsigned)cores : 1;
    return n > SIOC__MAX_WORKERS ? SIOC__MAX_WORKERS : n;
}

int sioc_program_main(const sioc_program *program, sioc_options *opts, int argc, char **argv)
{
    if (!program || !program->name || !program->setup || !opts) {
        sioc_options_free(opts);
        return 2;
    }
    const char *prog = program->name;
    serving sv = {program,
                  {.eio3 = program->allow_eio3, .redis_adapter = -1, .redis_mode = -1},
                  false,
                  false};
    sioc_options_set_allow_eio3(opts, program->allow_eio3);
    int rc = parse(argc, argv, prog, program->summary ? program->summary : "", opts, &sv.said);
    if (rc != 0) {
        sioc_options_free(opts);
        return rc > 0 ? 0 : 2;
    }
    sv.any_origin = program->cors_origin && !sv.said.cors_given;
    if (sv.any_origin && sioc_options_add_cors_origin(opts, program->cors_origin) < 0) {
        fprintf(stderr, "%s: out of memory\n", prog);
        sioc_options_free(opts);
        return 1;
    }
    unsigned workers = worker_count(opts);
    sv.tls = opts->tls_cert != NULL;
    if (workers > 1 && sv.tls) {
        fprintf(stderr,
                "%s: --workers and --tls-cert do not go together yet (a worker routes a "
                "request by its first line, which TLS hides)\n",
                prog);
        sioc_options_free(opts);
        return 2;
    }
    if (workers > 1 && opts->loop == SIOC_LOOP_POLL) {
        fprintf(stderr, "%s: --workers needs the libuv event loop (--event-loop libuv)\n", prog);
        sioc_options_free(opts);
        return 2;
    }
    rc = workers > 1 ? sioc__workers_main(workers, opts, serve, workers_listening, &sv)
                     : serve(opts, -1, &sv);
    sioc_options_free(opts);
    return rc;
}
