/*
 * floor-lws: the benchmark's second floor, not a product. The same minimal server as floor.c
 * (the upgrade, the open packet, CONNECT to `/`, `msg` relayed as `serverMsg` to every other
 * socket with the frame encoded once, `echo` acked with its arguments, a ping every 25 s, close),
 * built the cheapest way libwebsockets 4.1.6 allows, with lws in the place it has in sioc: lws
 * listens, accepts, parses the upgrade and answers it, reads the frames and writes, on a libuv
 * loop as in sioc. What floor.c costs is what the kernel asks; what this one costs more is what lws
 * and libuv ask before a line of a Socket.IO server is run (bench/README.md, "At the floor").
 *
 * Cheapest: no lws timers per connection (no validity pings), a 16-byte receive buffer per
 * WebSocket (what sioc asks for; a message longer than that is put together here), nothing kept
 * for an idle connection but lws's own and a 32-byte per-session block, and what goes out
 * appended to the connection's buffer and written with one lws_write() per dirty connection
 * after each round of I/O (a libuv check handle), as floor.c and sioc do.
 *
 *   floor-lws --port P [--host 127.0.0.1] [--write lws|send]
 */
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "floor.h"

#define RX_BUFFER_SIZE 16

/* Per WebSocket, allocated by lws. `out` holds LWS_PRE bytes of lws's headroom, then what is
 * still to be written; `in` a message longer than the receive buffer, until its last part. */
typedef struct pss {
    unsigned char *out, *in;
    uint32_t out_len, in_len;
    uint32_t member;   /* its index in `members` + 1 while joined, else 0 */
    uint32_t dirty_at; /* its index in `dirty` + 1 while listed, else 0 */
} pss;

static struct lws **members;
static size_t nmembers, capmembers;
static struct lws **dirty; /* to write after this round of I/O; NULL: closed since */
static size_t ndirty, capdirty;
static uint64_t nconn;
/* --write send: frames go out with send() on the socket while lws holds nothing of it, not
 * through lws_write, to tell lws's write path from its loop (bench/README.md). */
static bool write_send;

static bool grow(struct lws ***v, size_t *cap, size_t n)
{
    if (n < *cap) {
        return true;
    }
    size_t c = *cap ? *cap * 2 : 1024;
    struct lws **g = realloc(*v, c * sizeof(*g));
    if (!g) {
        return false;
    }
    *v = g, *cap = c;
    return true;
}

static void kill_async(struct lws *wsi)
{
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, LWS_TO_KILL_ASYNC);
}

/* Appends `a` then `b` to what the connection has to write, and lists it. */
static void queue(struct lws *wsi, const void *a, size_t na, const void *b, size_t nb)
{
    pss *c = lws_wsi_user(wsi);
    if (!c->dirty_at) {
        if (!grow(&dirty, &capdirty, ndirty)) {
            kill_async(wsi);
            return;
        }
        dirty[ndirty++] = wsi;
        c->dirty_at = (uint32_t)ndirty;
    }
    unsigned char *g = realloc(c->out, LWS_PRE + c->out_len + na + nb);
    if (!g) {
        kill_async(wsi);
        return;
    }
    c->out = g;
    memcpy(g + LWS_PRE + c->out_len, a, na);
    memcpy(g + LWS_PRE + c->out_len + na, b, nb);
    c->out_len += (uint32_t)(na + nb);
}

/* A text frame of `prefix` (at most 64 bytes: a CONNECT answer is 31, an ack's head 23) then
 * `body`. */
static void send_text(struct lws *wsi, const char *prefix, size_t np, const char *body, size_t nb)
{
    unsigned char h[10 + 64];
    size_t hl = floor_frame_header(h, 1, np + nb);
    memcpy(h + hl, prefix, np);
    queue(wsi, h, hl + np, body, nb);
}

/* One lws_write of what the connection has waiting; lws keeps what the socket did not take. */
static void write_out(struct lws *wsi)
{
    pss *c = lws_wsi_user(wsi);
    if (!c->out_len) {
        return;
    }
    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi); /* lws still holds part of an earlier write */
        return;
    }
    size_t sent = 0;
    if (write_send) {
        ssize_t n = send(lws_get_socket_fd(wsi), c->out + LWS_PRE, c->out_len, MSG_NOSIGNAL);
        sent = n > 0 ? (size_t)n : 0; /* what it did not take goes through lws, which keeps it */
    }
    if (sent < c->out_len &&
        lws_write(wsi, c->out + LWS_PRE + sent, c->out_len - sent, LWS_WRITE_RAW) < 0) {
        kill_async(wsi);
    }
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
}

static void on_check(uv_check_t *h)
{
    (void)h;
    for (size_t i = 0; i < ndirty; i++) {
        if (dirty[i]) {
            ((pss *)lws_wsi_user(dirty[i]))->dirty_at = 0;
            write_out(dirty[i]);
        }
    }
    ndirty = 0;
}

/* Unique among connections, which is all a session id needs to be here. */
static void sid_of(char sid[21])
{
    snprintf(sid, 21, "flws%016llu", (unsigned long long)++nconn);
}

static void join(struct lws *wsi)
{
    pss *c = lws_wsi_user(wsi);
    if (!grow(&members, &capmembers, nmembers)) {
        kill_async(wsi);
        return;
    }
    c->member = (uint32_t)nmembers + 1;
    members[nmembers++] = wsi;
    char sid[21], p[64];
    sid_of(sid);
    send_text(wsi, p, floor_connect_answer(p, sid), "", 0);
}

static void leave(struct lws *wsi)
{
    pss *c = lws_wsi_user(wsi);
    struct lws *last = members[--nmembers];
    members[c->member - 1] = last;
    ((pss *)lws_wsi_user(last))->member = c->member;
    c->member = 0;
}

/* `42["msg",<rest>`: encoded once, the frame is appended to every other joined socket. */
static void relay(struct lws *from, const char *rest, size_t n)
{
    unsigned char h[32];
    size_t hl = floor_relay_head(h, n);
    for (size_t i = 0; i < nmembers; i++) {
        if (members[i] != from) {
            queue(members[i], h, hl, rest, n);
        }
    }
}

/* A Socket.IO packet in an Engine.IO message. */
static void on_socketio(struct lws *wsi, const char *p, size_t n)
{
    pss *c = lws_wsi_user(wsi);
    floor_packet k;
    switch (floor_read_packet(p, n, &k)) {
    case FLOOR_CONNECT:
        if (!c->member) {
            join(wsi);
        }
        break;
    case FLOOR_MSG:
        if (c->member) {
            relay(wsi, k.body, k.len);
        }
        break;
    case FLOOR_ECHO:
        if (c->member) {
            send_text(wsi, k.head, k.head_len, k.body, k.len);
        }
        break;
    case FLOOR_OTHER:
        break;
    }
}

/* An Engine.IO packet; returns -1 to close. */
static int on_engineio(struct lws *wsi, const char *p, size_t n)
{
    if (n && p[0] == '4') {
        on_socketio(wsi, p + 1, n - 1);
    }
    return n && p[0] == '1' ? -1 : 0;
}

/* Part of a message: whole messages go up from lws's buffer, longer ones are put together. */
static int on_receive(struct lws *wsi, const char *in, size_t len)
{
    pss *c = lws_wsi_user(wsi);
    bool last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
    if (last && !c->in) {
        return on_engineio(wsi, in, len);
    }
    if (c->in_len + len > FLOOR_MAX_MESSAGE) {
        return -1;
    }
    unsigned char *g = realloc(c->in, c->in_len + len);
    if (!g) {
        return -1;
    }
    memcpy(g + c->in_len, in, len);
    c->in = g;
    c->in_len += (uint32_t)len;
    if (!last) {
        return 0;
    }
    int r = on_engineio(wsi, (const char *)c->in, c->in_len);
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    return r;
}

static void on_open(struct lws *wsi)
{
    char sid[21], open[160];
    sid_of(sid);
    send_text(wsi, open, floor_open_packet(open, sid), "", 0);
}

static void on_closed(struct lws *wsi)
{
    pss *c = lws_wsi_user(wsi);
    if (c->member) {
        leave(wsi);
    }
    if (c->dirty_at) {
        dirty[c->dirty_at - 1] = NULL;
    }
    free(c->out);
    free(c->in);
    memset(c, 0, sizeof(*c));
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        on_open(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        write_out(wsi);
        return 0;
    case LWS_CALLBACK_CLOSED:
        on_closed(wsi);
        return 0;
    default:
        break;
    }
    (void)user;
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* tx_packet_size: without it, lws 4.1.6 sends at most the receive buffer's size at a time. */
static const struct lws_protocols protocols[] = {
    {"floor", callback, sizeof(pss), RX_BUFFER_SIZE, 0, NULL, 256 * 1024},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const lws_retry_bo_t no_validity_timers = {0};

static void on_ping(uv_timer_t *t)
{
    (void)t;
    for (size_t i = 0; i < nmembers; i++) {
        send_text(members[i], "2", 1, "", 0);
    }
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)s, (void)sig;
    exit(0); /* a bench server: the kernel takes back what it held */
}

int main(int argc, char **argv)
{
    rlim_t fds;
    floor_args args = floor_start(argc, argv, &fds);
    int port = args.port;
    const char *host = args.host;
    write_send = args.write && strcmp(args.write, "send") == 0;
    static uv_loop_t loop;
    static uv_check_t check;
    static uv_timer_t ping;
    static uv_signal_t term, intr;
    uv_loop_init(&loop);
    void *loops[1] = {&loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.retry_and_idle_policy = &no_validity_timers;
    info.pt_serv_buf_size = 64 * 1024;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "floor-lws: cannot listen on port %d\n", port);
        return 1;
    }
    uv_check_init(&loop, &check);
    uv_check_start(&check, on_check);
    uv_timer_init(&loop, &ping);
    uv_timer_start(&ping, on_ping, FLOOR_PING_INTERVAL_MS, FLOOR_PING_INTERVAL_MS);
    uv_signal_init(&loop, &term);
    uv_signal_start(&term, on_signal, SIGTERM);
    uv_signal_init(&loop, &intr);
    uv_signal_start(&intr, on_signal, SIGINT);
    fprintf(stderr, "floor-lws: listening on port %d\n", port);
    uv_run(&loop, UV_RUN_DEFAULT);
    return 0;
}
