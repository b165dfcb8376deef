/*
 * loadgen: Socket.IO load over raw WebSockets (Engine.IO v4, Socket.IO v5), to compare servers
 * under the same load. One process, epoll, non-blocking sockets, every phase bounded in time.
 * Client sockets are bound to 127.0.0.x source addresses (a new x every 1,000 connections, the
 * port picked at connect time) so that ports never run out, even with churn's TIME_WAITs. One
 * process holds at most the file-descriptor limit of connections.
 *
 *   loadgen --port P [--pid SERVER_PID] --scenario connect|idle|fanout|echo|churn|polling|rooms
 *           [options]
 *   loadgen --port A --port2 B --pid PID_A,PID_B [--redis-pid PID] --scenario cluster [options]
 *
 * Each result is printed as one JSON object per line (a phase or a rate step) on stdout; the
 * server's CPU time and RSS are read from /proc/SERVER_PID at the phase boundaries (summed over
 * the servers when there are several).
 *
 * cluster: two servers joined by Redis. The senders and --local receivers are on A, the other
 * clients on B: what B's clients get crossed Redis. Figures per cross-node delivery, and the
 * latency of the same messages on A (local) and on B (through Redis).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* ---- options ---- */

#define MAX_PIDS 72 /* a primary and its workers */

static struct {
    int port;
    int port2; /* cluster: the second server's */
    int pids[MAX_PIDS];
    int npids;
    int redis_pid;
    int local; /* cluster: receivers on the first server */
    const char *scenario;
    const char *path;
    int clients;
    int senders;
    double duration;   /* seconds per measured phase */
    const char *rates; /* fan-out: messages per second (all senders together), comma-separated */
    int payload;       /* bytes of padding in each message */
    int concurrency;   /* handshakes in flight at once */
    long cycles;       /* churn: stop after this many (0: duration only) */
    bool send_one;     /* broadcast: this process's first client sends the message */
} opt = {.scenario = "connect",
         .path = "/socket.io/",
         .clients = 100,
         .senders = 10,
         .duration = 5,
         .rates = "100",
         .payload = 16,
         .concurrency = 256,
         .local = 10};

/* ---- time, server figures ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct proc_figures {
    double cpu_s; /* user + system */
    long rss_kb;
} proc_figures;

static proc_figures pid_figures(int pid)
{
    proc_figures f = {0, 0};
    if (!pid) {
        return f;
    }
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *fp = fopen(path, "r");
    if (fp && fgets(buf, sizeof(buf), fp)) {
        /* Fields after the command name (which may hold spaces): state is field 3. */
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
            f.cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        }
    }
    if (fp) {
        fclose(fp);
    }
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    fp = fopen(path, "r");
    while (fp && fgets(buf, sizeof(buf), fp)) {
        if (strncmp(buf, "VmRSS:", 6) == 0) {
            f.rss_kb = strtol(buf + 6, NULL, 10);
        }
    }
    if (fp) {
        fclose(fp);
    }
    return f;
}

/* Every server's figures, summed. */
static proc_figures server_figures(void)
{
    proc_figures sum = {0, 0};
    for (int i = 0; i < opt.npids; i++) {
        proc_figures f = pid_figures(opt.pids[i]);
        sum.cpu_s += f.cpu_s;
        sum.rss_kb += f.rss_kb;
    }
    return sum;
}

/* ---- latencies ---- */

typedef struct samples {
    uint32_t *us;
    size_t n, cap;
} samples;

static void sample_add(samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *grown = realloc(s->us, cap * sizeof(*grown));
        if (!grown) {
            return;
        }
        s->us = grown;
        s->cap = cap;
    }
    uint64_t us = ns / 1000;
    s->us[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentile q (0-1) in milliseconds, after sorting. */
static double pct_ms(samples *s, double q)
{
    if (!s->n) {
        return 0;
    }
    size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
    return s->us[i] / 1000.0;
}

/* ---- clients ---- */

enum state { C_FREE, C_CONNECTING, C_UPGRADING, C_OPENING, C_JOINING, C_READY };

/* A WebSocket client, or one of the two HTTP connections of a long-polling client: one holds the
 * GET, the other carries POSTs (as browsers do). */
enum kind { K_WS, K_GET, K_POST };

typedef struct client {
    int fd;
    enum state state;
    enum kind kind;
    int peer;       /* polling: the index of the other connection */
    char sid[32];   /* polling: the session, once the handshake answered */
    bool busy;      /* polling: a request is outstanding */
    bool joined;    /* polling: CONNECT to "/" seen */
    char posts[64]; /* polling: packets waiting for the POST connection */
    size_t nposts;
    bool want_out;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    uint64_t sent_at; /* echo: the outstanding request */
    unsigned ack_id;
    bool local;   /* cluster: on the first server (its deliveries did not cross Redis) */
    bool in_room; /* rooms: joined its room, next to leave it */
} client;

static client *clients;
static int nclients;
static int epfd;
static long ready_count, failed_count, closed_count;
static long delivered, acked, handshakes_started;
static samples lat;
static long delivered_local; /* cluster: deliveries on the senders' server */
static samples lat_local;
static bool measuring;
static bool echo_mode;
static bool churn_mode;
static bool rooms_mode;
static long churn_cycles;

static int set_nonblock_socket(int idx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Each source address gives the client side ~28k ports: rotate through 127.0.0.x. */
    static long opened;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)((opened++ / 1000) % 250));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* The port is chosen at connect(), knowing the destination: far more of them to go round. */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
        close(fd);
        return -1;
    }
    (void)idx;
    return fd;
}

/* Clears a client but keeps what it is (its kind, its peer) and POSTs still to be sent. */
static void reset_keeping_role(client *c)
{
    client keep = *c;
    memset(c, 0, sizeof(*c));
    c->kind = keep.kind;
    c->peer = keep.peer;
    c->local = keep.local;
    memcpy(c->posts, keep.posts, keep.nposts);
    c->nposts = keep.nposts;
}

static void queue_bytes(client *c, const void *data, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 512;
        while (cap < c->out_len + n) {
            cap *= 2;
        }
        char *grown = realloc(c->out, cap);
        if (!grown) {
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
}

static void watch(client *c, bool out)
{
    if (c->want_out == out) {
        return;
    }
    c->want_out = out;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.u32 = (uint32_t)(c - clients)};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void drop(client *c, bool failed);

static void flush_out(client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(c, true);
                return;
            }
            drop(c, true);
            return;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    watch(c, false);
}

/* A masked client text frame (the mask key is zero: the payload goes as it is). */
static void send_text(client *c, const char *s, size_t n)
{
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = 0x81;
    if (n < 126) {
        h[hl++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(n >> 8);
        h[hl++] = (unsigned char)n;
    } else {
        h[hl++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) {
            h[hl++] = (unsigned char)((uint64_t)n >> (8 * i));
        }
    }
    memset(h + hl, 0, 4);
    hl += 4;
    queue_bytes(c, h, hl);
    queue_bytes(c, s, n);
    flush_out(c);
}

static void send_pong_frame(client *c)
{
    static const unsigned char pong[6] = {0x8A, 0x80, 0, 0, 0, 0};
    queue_bytes(c, pong, sizeof(pong));
    flush_out(c);
}

static int start_client(client *c)
{
    int port = opt.port2 && !c->local ? opt.port2 : opt.port;
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(0x7f000001u);
    reset_keeping_role(c);
    c->fd = set_nonblock_socket((int)(c - clients));
    if (c->fd < 0) {
        return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        return -1;
    }
    c->state = C_CONNECTING;
    c->want_out = true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)(c - clients)};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    handshakes_started++;
    return 0;
}

static void drop(client *c, bool failed)
{
    if (c->state == C_FREE) {
        return;
    }
    if (c->state == C_READY) {
        ready_count--;
    }
    if (failed) {
        failed_count++;
    }
    closed_count++;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    reset_keeping_role(c);
    c->state = C_FREE;
}

static void poll_request(client *c);

static void on_connected(client *c)
{
    if (c->kind != K_WS) {
        c->state = C_OPENING; /* an HTTP connection: requests go as they are due */
        poll_request(c);
        return;
    }
    char req[512];
    int n =
        snprintf(req, sizeof(req),
                 "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 opt.path, opt.port);
    c->state = C_UPGRADING;
    queue_bytes(c, req, (size_t)n);
    flush_out(c);
}

/* The "t=<ns>" stamp inside a message, or 0. */
static uint64_t stamp_of(const char *s, size_t n)
{
    const char *t = memmem(s, n, "t=", 2);
    if (!t) {
        return 0;
    }
    uint64_t v = 0;
    for (t += 2; t < s + n && *t >= '0' && *t <= '9'; t++) {
        v = v * 10 + (uint64_t)(*t - '0');
    }
    return v;
}

static void send_echo(client *c);
static void send_room_op(client *c);

static void on_socketio(client *c, const char *s, size_t n)
{
    if (n == 0) {
        return;
    }
    switch (s[0]) {
    case '0': /* CONNECT to "/" */
        if (c->state == C_JOINING) {
            c->state = C_READY;
            ready_count++;
            if (churn_mode) {
                churn_cycles++;
                drop(c, false);
            } else if (echo_mode) {
                send_echo(c);
            } else if (rooms_mode) {
                send_room_op(c);
            }
        }
        break;
    case '2': { /* EVENT: the relayed message */
        uint64_t t = stamp_of(s, n);
        bool local = c->local && opt.port2;
        local ? delivered_local++ : delivered++;
        if (measuring && t) {
            sample_add(local ? &lat_local : &lat, now_ns() - t);
        }
        break;
    }
    case '3': { /* ACK */
        uint64_t t = stamp_of(s, n);
        acked++;
        if (measuring && t) {
            sample_add(&lat, now_ns() - t);
        }
        if (echo_mode) {
            send_echo(c);
        } else if (rooms_mode) {
            send_room_op(c);
        }
        break;
    }
    default:
        break;
    }
}

static void on_text(client *c, const char *s, size_t n)
{
    if (n == 0) {
        return;
    }
    switch (s[0]) {
    case '0': /* Engine.IO open: join "/" */
        c->state = C_JOINING;
        send_text(c, "40", 2);
        break;
    case '2': /* ping */
        send_text(c, "3", 1);
        break;
    case '4':
        on_socketio(c, s + 1, n - 1);
        break;
    case '1':
        drop(c, true);
        break;
    default:
        break;
    }
}

/* Parses what arrived: the 101 answer, then WebSocket frames. */
static void consume(client *c)
{
    size_t pos = 0;
    if (c->state == C_UPGRADING) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end) {
            return;
        }
        if (c->in_len < 12 || memcmp(c->in + 9, "101", 3) != 0) {
            drop(c, true);
            return;
        }
        c->state = C_OPENING;
        pos = (size_t)(end - c->in) + 4;
    }
    while (c->state != C_FREE && c->in_len - pos >= 2) {
        const unsigned char *h = (const unsigned char *)c->in + pos;
        size_t avail = c->in_len - pos, hl = 2;
        uint64_t len = h[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) {
                break;
            }
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10) {
                break;
            }
            len = 0;
            for (int i = 0; i < 8; i++) {
                len = len << 8 | h[2 + i];
            }
            hl = 10;
        }
        if (avail < hl + len) {
            break;
        }
        int opcode = h[0] & 0x0f;
        const char *payload = c->in + pos + hl;
        pos += hl + (size_t)len;
        if (opcode == 1) {
            on_text(c, payload, (size_t)len);
        } else if (opcode == 9) {
            send_pong_frame(c);
        } else if (opcode == 8) {
            drop(c, true);
        }
    }
    if (c->state == C_FREE) {
        return;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

/* ---- long-polling clients ---- */

/* Sends the next request on a polling connection if one is due and none is outstanding. */
static void poll_request(client *c)
{
    if (c->busy || c->state == C_FREE || c->state == C_CONNECTING) {
        return;
    }
    char req[512];
    int n;
    if (c->kind == K_GET) {
        n = snprintf(req, sizeof(req),
                     "GET %s?EIO=4&transport=polling%s%s HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\n\r\n",
                     opt.path, c->sid[0] ? "&sid=" : "", c->sid);
    } else {
        client *g = &clients[c->peer];
        if (!c->nposts || !g->sid[0]) {
            return;
        }
        n = snprintf(req, sizeof(req),
                     "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                     "Content-Length: %zu\r\n\r\n%.*s",
                     opt.path, g->sid, c->nposts, (int)c->nposts, c->posts);
        c->nposts = 0;
    }
    c->busy = true;
    queue_bytes(c, req, (size_t)n);
    flush_out(c);
}

/* Queues a packet for the POST connection of polling client `g` (its GET connection). */
static void poll_post(client *g, const char *packet)
{
    client *p = &clients[g->peer];
    size_t n = strlen(packet);
    if (p->nposts + n + 1 > sizeof(p->posts)) {
        return;
    }
    if (p->nposts) {
        p->posts[p->nposts++] = '\x1e';
    }
    memcpy(p->posts + p->nposts, packet, n);
    p->nposts += n;
    if (p->state == C_FREE && g->sid[0]) { /* (re)open it: its requests go once connected */
        if (start_client(p) < 0) {
            failed_count++;
        }
        return;
    }
    poll_request(p);
}

/* One Engine.IO packet of a polling payload. */
static void poll_packet(client *g, const char *s, size_t n)
{
    if (n == 0) {
        return;
    }
    if (s[0] == '0' && !g->sid[0]) { /* open: {"sid":"..." */
        const char *q = memmem(s, n, "\"sid\":\"", 7);
        size_t k = 0;
        for (q = q ? q + 7 : s + n; q < s + n && *q != '"' && k + 1 < sizeof(g->sid); q++) {
            g->sid[k++] = *q;
        }
        g->sid[k] = '\0';
        poll_post(g, "40"); /* opens the POST connection */
    } else if (s[0] == '2') {
        poll_post(g, "3");
    } else if (s[0] == '1') {
        drop(g, true);
    } else if (n >= 2 && s[0] == '4' && s[1] == '0' && !g->joined) {
        g->joined = true;
        ready_count++;
    } else if (n >= 2 && s[0] == '4' && s[1] == '2') {
        uint64_t t = stamp_of(s, n);
        delivered++;
        if (measuring && t) {
            sample_add(&lat, now_ns() - t);
        }
    }
}

/* The Content-Length of response headers `h` (`n` bytes), whatever the case of its name. */
static size_t content_length(const char *h, size_t n)
{
    static const char name[] = "content-length:";
    for (size_t i = 0; i + sizeof(name) - 1 <= n; i++) {
        if (strncasecmp(h + i, name, sizeof(name) - 1) == 0) {
            return strtoul(h + i + sizeof(name) - 1, NULL, 10);
        }
    }
    return 0;
}

/* Parses complete HTTP responses on a polling connection; returns the bytes used. */
static size_t poll_consume(client *c)
{
    size_t pos = 0;
    while (c->state != C_FREE) {
        char *head = c->in + pos, *end = memmem(head, c->in_len - pos, "\r\n\r\n", 4);
        if (!end) {
            break;
        }
        size_t len = content_length(head, (size_t)(end - head));
        size_t body = (size_t)(end - c->in) + 4;
        if (c->in_len < body + len) {
            break;
        }
        if (memcmp(head + 9, "200", 3) != 0) {
            drop(c, true);
            return 0;
        }
        c->busy = false;
        pos = body + len;
        if (c->kind == K_GET) {
            const char *p = c->in + body, *stop = p + len;
            while (p < stop) {
                const char *sep = memchr(p, '\x1e', (size_t)(stop - p));
                const char *e = sep ? sep : stop;
                poll_packet(c, p, (size_t)(e - p));
                p = e + 1;
            }
        }
        if (c->state != C_FREE) {
            poll_request(c); /* the next GET, or a POST that waited */
        }
    }
    return pos;
}

static void on_readable(client *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
            char *grown = realloc(c->in, cap);
            if (!grown) {
                drop(c, true);
                return;
            }
            c->in = grown;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            if (c->kind == K_WS) {
                consume(c);
            } else {
                size_t used = poll_consume(c);
                if (c->state != C_FREE) {
                    memmove(c->in, c->in + used, c->in_len - used);
                    c->in_len -= used;
                }
            }
            if (c->state == C_FREE) {
                return;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        drop(c, n < 0);
        return;
    }
}

static void on_event(uint32_t idx, uint32_t events)
{
    client *c = &clients[idx];
    if (c->state == C_FREE) {
        return;
    }
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            drop(c, true);
            return;
        }
        on_connected(c);
        return;
    }
    if (events & EPOLLOUT) {
        flush_out(c);
    }
    if (c->state != C_FREE && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        on_readable(c);
    }
}

/* Runs the loop until `deadline` or `done()`. */
static void run_until(uint64_t deadline, bool (*done)(void), void (*tick)(void))
{
    struct epoll_event evs[256];
    while (now_ns() < deadline && !(done && done())) {
        int n = epoll_wait(epfd, evs, 256, 1);
        for (int i = 0; i < n; i++) {
            on_event(evs[i].data.u32, evs[i].events);
        }
        if (tick) {
            tick();
        }
    }
}

/* ---- scenarios ---- */

static int next_to_start;

/* Keeps opt.concurrency handshakes in flight until every client has been started. */
static void start_more(void)
{
    while (next_to_start < nclients &&
           handshakes_started - ready_count - failed_count - (churn_mode ? churn_cycles : 0) <
               opt.concurrency) {
        client *c = &clients[next_to_start++];
        if (start_client(c) < 0) {
            failed_count++;
        }
    }
}

static bool all_ready(void)
{
    return ready_count + failed_count >= nclients;
}

static uint64_t secs(double s)
{
    return (uint64_t)(s * 1e9);
}

/* Opens every client; returns the seconds it took. */
static double connect_all(double limit_s)
{
    uint64_t t0 = now_ns();
    next_to_start = 0;
    run_until(t0 + secs(limit_s), all_ready, start_more);
    return (double)(now_ns() - t0) / 1e9;
}

static void print_figures(const char *phase, proc_figures a, proc_figures b, double seconds)
{
    printf("{\"phase\":\"%s\",\"clients\":%d,\"ready\":%ld,\"failed\":%ld,\"seconds\":%.3f,"
           "\"server_cpu_s\":%.3f,\"rss_before_kb\":%ld,\"rss_after_kb\":%ld",
           phase, nclients, ready_count, failed_count, seconds, b.cpu_s - a.cpu_s, a.rss_kb,
           b.rss_kb);
}

static void scenario_connect(bool idle)
{
    proc_figures a = server_figures();
    double took = connect_all(60);
    usleep(500000);
    run_until(now_ns() + secs(0.5), NULL, NULL);
    proc_figures b = server_figures();
    print_figures("connect", a, b, took);
    printf("}\n");
    fflush(stdout);
    if (!idle) {
        return;
    }
    proc_figures c = server_figures();
    uint64_t t0 = now_ns();
    run_until(t0 + secs(opt.duration), NULL, NULL);
    proc_figures d = server_figures();
    print_figures("idle", c, d, (double)(now_ns() - t0) / 1e9);
    printf("}\n");
}

/* One broadcast to a great many idle connections, the load spread over several loadgen
 * processes (each under the descriptor limit): every process connects its clients, says so, and
 * holds them (answering pings) until SIGUSR1; then the one with --send-one sends one `msg`, relayed
 * to everyone but its sender, and each prints every latency it saw (in us) for the caller to
 * merge. The caller measures the servers' idle CPU and RSS meanwhile. */
static volatile sig_atomic_t go;
static long expected_heard;

static void on_go(int sig)
{
    (void)sig;
    go = 1;
}

static bool went(void)
{
    return go;
}

static bool all_heard(void)
{
    return delivered >= expected_heard;
}

static void scenario_broadcast(void)
{
    struct sigaction sa = {.sa_handler = on_go};
    sigaction(SIGUSR1, &sa, NULL);
    double took = connect_all(300);
    printf("{\"phase\":\"connected\",\"clients\":%d,\"ready\":%ld,\"failed\":%ld,"
           "\"seconds\":%.3f}\n",
           nclients, ready_count, failed_count, took);
    fflush(stdout);
    run_until(UINT64_MAX, went, NULL);
    lat.n = 0;
    delivered = 0;
    measuring = true;
    expected_heard = ready_count - (opt.send_one ? 1 : 0);
    uint64_t t0 = now_ns();
    if (opt.send_one && clients[0].state == C_READY) {
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "42[\"msg\",\"t=%llu\"]", (unsigned long long)now_ns());
        send_text(&clients[0], buf, (size_t)n);
    }
    run_until(t0 + secs(opt.duration), all_heard, NULL);
    qsort(lat.us, lat.n, sizeof(*lat.us), cmp_u32);
    printf("{\"phase\":\"broadcast\",\"ready\":%ld,\"expected\":%ld,\"heard\":%ld,"
           "\"p99_ms\":%.3f,\"samples_us\":[",
           ready_count, expected_heard, delivered, pct_ms(&lat, 0.99));
    for (size_t i = 0; i < lat.n; i++) {
        printf(i ? ",%u" : "%u", lat.us[i]);
    }
    printf("]}\n");
    fflush(stdout);
}

/* Fan-out: opt.senders clients send `msg` at `rate` messages per second in all; the server relays
 * each to everyone but its sender. */
static double send_rate;
static uint64_t phase_start, sent_count;
static char *msg_buf;

static void send_due(void)
{
    uint64_t due = (uint64_t)((double)(now_ns() - phase_start) / 1e9 * send_rate);
    while (sent_count < due) {
        client *c = &clients[sent_count % (uint64_t)opt.senders];
        sent_count++;
        if (c->state != C_READY) {
            continue;
        }
        int n = sprintf(msg_buf, "42[\"msg\",\"t=%llu,", (unsigned long long)now_ns());
        memset(msg_buf + n, 'x', (size_t)opt.payload);
        n += opt.payload;
        n += sprintf(msg_buf + n, "\"]");
        send_text(c, msg_buf, (size_t)n);
    }
}

/* One measured phase of opt.duration: the server's figures at both ends, how much `*counter`
 * grew, the latencies seen (sorted). */
typedef struct window {
    proc_figures a, b;
    double seconds;
    long got;
    proc_figures self_a, self_b; /* this load generator's own: is it the limit? */
} window;

static window measure(long *counter, void (*tick)(void))
{
    window w;
    lat.n = 0;
    long c0 = *counter;
    w.a = server_figures();
    w.self_a = pid_figures(getpid());
    measuring = true;
    uint64_t t0 = now_ns();
    run_until(t0 + secs(opt.duration), NULL, tick);
    w.seconds = (double)(now_ns() - t0) / 1e9;
    w.b = server_figures();
    w.self_b = pid_figures(getpid());
    measuring = false;
    w.got = *counter - c0;
    if (lat.n) { /* none in the rooms scenario: its acks carry no stamp */
        qsort(lat.us, lat.n, sizeof(*lat.us), cmp_u32);
    }
    return w;
}

/* Latency percentiles and server CPU per million of what was counted, ending the JSON line. */
static void print_rates(const window *w)
{
    printf("\"loadgen_cpu_pct\":%.1f,", 100.0 * (w->self_b.cpu_s - w->self_a.cpu_s) / w->seconds);
    printf("\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"cpu_s_per_million\":%.3f}\n",
           pct_ms(&lat, 0.5), pct_ms(&lat, 0.99), pct_ms(&lat, 0.999),
           w->got ? (w->b.cpu_s - w->a.cpu_s) / ((double)w->got / 1e6) : 0);
    fflush(stdout);
}

/* At `rate` messages per second from the senders: a second to settle, then the measured phase,
 * printed as one line (`recipients`: how many receive each message). */
static void measure_relay(const char *phase, double rate, long recipients)
{
    send_rate = rate;
    phase_start = now_ns();
    sent_count = 0;
    run_until(phase_start + secs(1), NULL, send_due);
    uint64_t s0 = sent_count;
    window w = measure(&delivered, send_due);
    print_figures(phase, w.a, w.b, w.seconds);
    printf(",\"offered_msgs_s\":%.1f,\"offered_deliveries_s\":%.1f,\"sent\":%llu,"
           "\"delivered\":%ld,\"deliveries_s\":%.1f,",
           rate, rate * (double)recipients, (unsigned long long)(sent_count - s0), w.got,
           w.got / w.seconds);
    print_rates(&w);
}

static void scenario_fanout(void)
{
    double took = connect_all(60);
    fprintf(stderr, "loadgen: %ld of %d connected in %.1f s\n", ready_count, nclients, took);
    msg_buf = malloc((size_t)opt.payload + 64);
    char *rates = strdup(opt.rates);
    for (char *save, *r = strtok_r(rates, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
        measure_relay("fanout", atof(r), ready_count - 1);
        run_until(now_ns() + secs(1), NULL, NULL); /* drain what is still on its way */
    }
    free(rates);
}

/* Two servers through Redis: at each rate, the cross-node deliveries (B's clients) against the
 * servers' CPU (both) and Redis's, and the latency on B against A's for the same messages. */
static void scenario_cluster(void)
{
    for (int i = 0; i < nclients; i++) {
        clients[i].local = i < opt.senders + opt.local;
    }
    double took = connect_all(60);
    fprintf(stderr, "loadgen: %ld of %d connected in %.1f s\n", ready_count, nclients, took);
    msg_buf = malloc((size_t)opt.payload + 64);
    char *rates = strdup(opt.rates);
    long remote = nclients - opt.senders - opt.local;
    for (char *save, *r = strtok_r(rates, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
        lat_local.n = 0;
        send_rate = atof(r);
        phase_start = now_ns();
        sent_count = 0;
        run_until(phase_start + secs(1), NULL, send_due);
        uint64_t s0 = sent_count;
        proc_figures r0 = pid_figures(opt.redis_pid);
        long l0 = delivered_local;
        window w = measure(&delivered, send_due);
        proc_figures r1 = pid_figures(opt.redis_pid);
        if (lat_local.n) {
            qsort(lat_local.us, lat_local.n, sizeof(*lat_local.us), cmp_u32);
        }
        print_figures("cluster", w.a, w.b, w.seconds);
        printf(",\"offered_msgs_s\":%.1f,\"offered_deliveries_s\":%.1f,\"sent\":%llu,"
               "\"delivered\":%ld,\"deliveries_s\":%.1f,\"delivered_local\":%ld,"
               "\"p99_local_ms\":%.3f,\"redis_cpu_s_per_million\":%.3f,",
               send_rate, send_rate * (double)remote, (unsigned long long)(sent_count - s0), w.got,
               w.got / w.seconds, delivered_local - l0, pct_ms(&lat_local, 0.99),
               w.got ? (r1.cpu_s - r0.cpu_s) / ((double)w.got / 1e6) : 0);
        print_rates(&w);
        run_until(now_ns() + secs(1), NULL, NULL);
    }
    free(rates);
}

static void send_echo(client *c)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "42%u[\"echo\",\"t=%llu\"]", ++c->ack_id,
                     (unsigned long long)now_ns());
    send_text(c, buf, (size_t)n);
}

/* Echo with ack: each client keeps one request outstanding. */
static void scenario_echo(void)
{
    double took = connect_all(60);
    fprintf(stderr, "loadgen: %ld of %d connected in %.1f s\n", ready_count, nclients, took);
    echo_mode = true;
    for (int i = 0; i < nclients; i++) {
        if (clients[i].state == C_READY) {
            send_echo(&clients[i]);
        }
    }
    run_until(now_ns() + secs(1), NULL, NULL);
    window w = measure(&acked, NULL);
    print_figures("echo", w.a, w.b, w.seconds);
    printf(",\"round_trips\":%ld,\"round_trips_s\":%.1f,", w.got, w.got / w.seconds);
    print_rates(&w);
}

/* The next of a client's joins and leaves of its own room, with an ack. */
static void send_room_op(client *c)
{
    char buf[96];
    int n = snprintf(buf, sizeof(buf), "42%u[\"%s\",\"room-%d\"]", ++c->ack_id,
                     c->in_room ? "leave" : "join", (int)(c - clients));
    c->in_room = !c->in_room;
    send_text(c, buf, (size_t)n);
}

/* Rooms: each client joins and leaves a room of its own, one request with ack outstanding at a
 * time; what a change of a socket's rooms costs the server (and Redis, with --redis-pid). */
static void scenario_rooms(void)
{
    double took = connect_all(60);
    fprintf(stderr, "loadgen: %ld of %d connected in %.1f s\n", ready_count, nclients, took);
    rooms_mode = true;
    for (int i = 0; i < nclients; i++) {
        if (clients[i].state == C_READY) {
            send_room_op(&clients[i]);
        }
    }
    run_until(now_ns() + secs(1), NULL, NULL);
    proc_figures r0 = pid_figures(opt.redis_pid);
    window w = measure(&acked, NULL);
    proc_figures r1 = pid_figures(opt.redis_pid);
    print_figures("rooms", w.a, w.b, w.seconds);
    printf(",\"changes\":%ld,\"changes_s\":%.1f,\"server_cpu_us_per_change\":%.3f,"
           "\"redis_cpu_us_per_change\":%.3f,",
           w.got, w.got / w.seconds, w.got ? (w.b.cpu_s - w.a.cpu_s) * 1e6 / (double)w.got : 0,
           w.got && opt.redis_pid ? (r1.cpu_s - r0.cpu_s) * 1e6 / (double)w.got : 0);
    print_rates(&w);
}

/* Churn: opt.concurrency clients at a time connect, join "/", and leave, over and over. */
static long
    start_errors; /* the client side could not open a socket: tried again, not the server's fault */

static void restart_free(void)
{
    if (opt.cycles && churn_cycles >= opt.cycles) {
        return;
    }
    for (int i = 0; i < nclients; i++) {
        if (clients[i].state == C_FREE && start_client(&clients[i]) < 0) {
            start_errors++;
        }
    }
}

static bool churn_done(void)
{
    return opt.cycles && churn_cycles >= opt.cycles;
}

static void scenario_churn(void)
{
    churn_mode = true;
    /* Settle the server first with one round, so what is measured is steady-state growth. */
    proc_figures a = server_figures();
    uint64_t t0 = now_ns();
    run_until(t0 + secs(opt.duration), churn_done, restart_free);
    double seconds = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < nclients; i++) {
        drop(&clients[i], false);
    }
    usleep(1500000); /* let the server notice every close */
    proc_figures b = server_figures();
    print_figures("churn", a, b, seconds);
    printf(",\"cycles\":%ld,\"cycles_s\":%.1f,\"cpu_us_per_cycle\":%.1f,\"start_errors\":%ld}\n",
           churn_cycles, churn_cycles / seconds,
           churn_cycles ? (b.cpu_s - a.cpu_s) * 1e6 / churn_cycles : 0, start_errors);
}

/* Long-polling clients receive what opt.senders WebSocket clients send (the seed's relay). The
 * first opt.senders entries are WebSockets; then each polling client is a GET and a POST
 * connection. */
static int npolling;

static bool polling_ready(void)
{
    return ready_count + failed_count >= opt.senders + npolling;
}

static void start_polling(void)
{
    static long started; /* WebSockets and GET connections: the ones that become ready */
    while (next_to_start < nclients && started - ready_count - failed_count < opt.concurrency) {
        client *c = &clients[next_to_start++];
        if (c->kind == K_POST) {
            continue; /* opened once its GET has a session */
        }
        started++;
        if (start_client(c) < 0) {
            failed_count++;
        }
    }
}

static void scenario_polling(void)
{
    npolling = opt.clients;
    for (int i = 0; i < nclients; i++) {
        bool ws = i < opt.senders;
        int k = i - opt.senders;
        clients[i].kind = ws ? K_WS : k % 2 == 0 ? K_GET : K_POST;
        clients[i].peer = ws ? i : k % 2 == 0 ? i + 1 : i - 1;
    }
    uint64_t t0 = now_ns();
    next_to_start = 0;
    run_until(t0 + secs(60), polling_ready, start_polling);
    fprintf(stderr, "loadgen: %ld of %d joined in %.1f s\n", ready_count, opt.senders + npolling,
            (double)(now_ns() - t0) / 1e9);
    msg_buf = malloc((size_t)opt.payload + 64);
    measure_relay("polling", atof(opt.rates), npolling + opt.senders - 1);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},        {"pid", required_argument, NULL, 'P'},
        {"scenario", required_argument, NULL, 's'},    {"clients", required_argument, NULL, 'c'},
        {"senders", required_argument, NULL, 'S'},     {"duration", required_argument, NULL, 'd'},
        {"rates", required_argument, NULL, 'r'},       {"payload", required_argument, NULL, 'l'},
        {"concurrency", required_argument, NULL, 'C'}, {"cycles", required_argument, NULL, 'n'},
        {"path", required_argument, NULL, 'a'},        {"port2", required_argument, NULL, '2'},
        {"redis-pid", required_argument, NULL, 'R'},   {"local", required_argument, NULL, 'L'},
        {"send-one", no_argument, NULL, 'O'},          {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (o) {
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 'P': /* one pid, or several separated by commas */
            for (char *p = optarg; *p && opt.npids < MAX_PIDS; p += strcspn(p, ",")) {
                p += *p == ',';
                opt.pids[opt.npids++] = atoi(p);
            }
            break;
        case '2':
            opt.port2 = atoi(optarg);
            break;
        case 'R':
            opt.redis_pid = atoi(optarg);
            break;
        case 'L':
            opt.local = atoi(optarg);
            break;
        case 'O':
            opt.send_one = true;
            break;
        case 's':
            opt.scenario = optarg;
            break;
        case 'c':
            opt.clients = atoi(optarg);
            break;
        case 'S':
            opt.senders = atoi(optarg);
            break;
        case 'd':
            opt.duration = atof(optarg);
            break;
        case 'r':
            opt.rates = optarg;
            break;
        case 'l':
            opt.payload = atoi(optarg);
            break;
        case 'C':
            opt.concurrency = atoi(optarg);
            break;
        case 'n':
            opt.cycles = atol(optarg);
            break;
        case 'a':
            opt.path = optarg;
            break;
        default:
            return 2;
        }
    }
    bool polling = strcmp(opt.scenario, "polling") == 0;
    bool cluster = strcmp(opt.scenario, "cluster") == 0;
    if (!opt.port || opt.clients <= 0 || opt.senders <= 0 ||
        (!polling && opt.senders > opt.clients) || (cluster != (opt.port2 != 0)) ||
        (cluster && opt.senders + opt.local >= opt.clients)) {
        fprintf(
            stderr,
            "usage: loadgen --port P [--pid PID[,PID...]] --scenario "
            "connect|idle|fanout|echo|churn|polling|rooms|broadcast [--send-one] [--clients N] "
            "[--senders S] "
            "[--rates R,R,...] [--duration S] [--payload B] [--concurrency C] [--cycles N]\n"
            "       loadgen --port A --port2 B --scenario cluster [--local N] [--redis-pid PID] "
            "...\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    nclients = strcmp(opt.scenario, "churn") == 0     ? opt.concurrency
               : strcmp(opt.scenario, "polling") == 0 ? opt.senders + 2 * opt.clients
                                                      : opt.clients;
    clients = calloc((size_t)nclients, sizeof(*clients));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!clients || epfd < 0) {
        return 1;
    }
    if (strcmp(opt.scenario, "connect") == 0 || strcmp(opt.scenario, "idle") == 0) {
        scenario_connect(strcmp(opt.scenario, "idle") == 0);
    } else if (strcmp(opt.scenario, "fanout") == 0) {
        scenario_fanout();
    } else if (strcmp(opt.scenario, "echo") == 0) {
        scenario_echo();
    } else if (strcmp(opt.scenario, "rooms") == 0) {
        scenario_rooms();
    } else if (strcmp(opt.scenario, "churn") == 0) {
        scenario_churn();
    } else if (strcmp(opt.scenario, "polling") == 0) {
        scenario_polling();
    } else if (cluster) {
        scenario_cluster();
    } else if (strcmp(opt.scenario, "broadcast") == 0) {
        scenario_broadcast();
    } else {
        fprintf(stderr, "loadgen: unknown scenario %s\n", opt.scenario);
        return 2;
    }
    for (int i = 0; i < nclients; i++) {
        drop(&clients[i], false);
    }
    free(clients);
    free(lat.us);
    free(msg_buf);
    return failed_count ? 3 : 0;
}
