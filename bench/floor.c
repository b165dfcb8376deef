/*
 * floor: the benchmark's floor, not a product. A minimal Socket.IO server over WebSocket that
 * speaks just enough of Engine.IO v4 and Socket.IO v5 for bench/run.py's loads on the main
 * namespace: the upgrade (GET with Upgrade: websocket, no polling), the open packet, CONNECT,
 * `msg` relayed as `serverMsg` to every other socket (encoded once), `echo` acked with its
 * arguments, the heartbeat (a ping every 25 s; pongs are not timed), close. It is the cheapest a
 * server can be with plain system calls: one epoll set, level-triggered; a read of up to 64 KiB
 * per ready connection into one shared buffer; what goes out appended to the connection's buffer
 * and written with one write() per dirty connection per loop iteration; nothing kept per idle
 * connection but a 40-byte slot. What it leaves out on purpose: polling, namespaces, rooms,
 * fragmented frames, binary, validation beyond what keeps it safe, timeouts.
 *
 *   floor --port P [--host 127.0.0.1]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floor.h"

#define READ_MAX (64 * 1024)

enum { S_FREE, S_HTTP, S_OPEN, S_JOINED };

/* One connection, indexed by its descriptor. `in` holds only a frame or head not yet complete,
 * `out` only what is still to be written: both are NULL while the connection is idle. */
typedef struct {
    char *in, *out;
    uint32_t in_len, out_len, out_off;
    uint32_t member; /* its index in `members` while joined */
    uint8_t state;
    bool dirty, want_out;
} conn;

static conn *conns;
static int nconns;
static int epfd;
static int *members; /* descriptors of joined sockets, for broadcasts */
static int nmembers;
static int *dirty; /* descriptors with something to write this iteration */
static int ndirty;
static char rbuf[READ_MAX];
static volatile sig_atomic_t stopping;

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept (RFC 3174; small, not fast: once per upgrade) */

static uint32_t rol(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) {
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d), k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d, k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* `n` < 120: the key and the GUID fit two blocks. */
static void sha1(const unsigned char *msg, size_t n, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned char buf[128] = {0};
    memcpy(buf, msg, n);
    buf[n] = 0x80;
    size_t blocks = n + 9 <= 64 ? 1 : 2;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) {
        buf[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
    }
    for (size_t b = 0; b < blocks; b++) {
        sha1_block(h, buf + 64 * b);
    }
    for (int i = 0; i < 20; i++) {
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
    }
}

static size_t base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    return o;
}

/* ---- output ---- */

static void close_conn(int fd);

/* Appends to the connection's output; it is written once this loop iteration's events are done. */
static void queue(int fd, const char *a, size_t na, const char *b, size_t nb)
{
    conn *c = &conns[fd];
    char *grown = realloc(c->out, c->out_len + na + nb);
    if (!grown) {
        close_conn(fd);
        return;
    }
    c->out = grown;
    memcpy(c->out + c->out_len, a, na);
    memcpy(c->out + c->out_len + na, b, nb);
    c->out_len += (uint32_t)(na + nb);
    if (!c->dirty) {
        c->dirty = true;
        dirty[ndirty++] = fd;
    }
}

/* A text frame of `prefix` (at most 64 bytes: a CONNECT answer is 31, an ack's head 23) then
 * `body`. */
static void send_text(int fd, const char *prefix, size_t np, const char *body, size_t nb)
{
    unsigned char h[10 + 64];
    size_t hl = floor_frame_header(h, 1, np + nb);
    memcpy(h + hl, prefix, np);
    queue(fd, (const char *)h, hl + np, body, nb);
}

static void watch(int fd, bool out)
{
    conn *c = &conns[fd];
    if (c->want_out != out) {
        c->want_out = out;
        struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0u), .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    }
}

/* One write() of what the connection has waiting; the rest waits for EPOLLOUT. */
static void flush(int fd)
{
    conn *c = &conns[fd];
    c->dirty = false;
    if (c->state == S_FREE || c->out_off == c->out_len) {
        return;
    }
    ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
        close_conn(fd);
        return;
    }
    c->out_off += n > 0 ? (uint32_t)n : 0;
    if (c->out_off == c->out_len) {
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = 0;
    }
    watch(fd, c->out != NULL);
}

/* ---- Socket.IO ---- */

static void sid_of(int fd, char sid[21])
{
    /* Unique among open connections, which is all a session id needs to be here. */
    snprintf(sid, 21, "floor%015d", fd);
}

static void join(int fd)
{
    conn *c = &conns[fd];
    c->state = S_JOINED;
    c->member = (uint32_t)nmembers;
    members[nmembers++] = fd;
    char sid[21], p[64];
    sid_of(fd, sid);
    send_text(fd, p, floor_connect_answer(p, sid), "", 0);
}

static void leave(int fd)
{
    conn *c = &conns[fd];
    int last = members[--nmembers];
    members[c->member] = last;
    conns[last].member = c->member;
}

/* `42["msg",<rest>`: encoded once, the frame is appended to every other joined socket. */
static void relay(int from, const char *rest, size_t n)
{
    unsigned char h[32];
    size_t hl = floor_relay_head(h, n);
    /* Downwards: a recipient closed on no memory takes the last one's place, already done. */
    for (int i = nmembers - 1; i >= 0; i--) {
        if (members[i] != from) {
            queue(members[i], (const char *)h, hl, rest, n);
        }
    }
}

/* A Socket.IO packet in an Engine.IO message. */
static void on_socketio(int fd, const char *p, size_t n)
{
    conn *c = &conns[fd];
    floor_packet k;
    switch (floor_read_packet(p, n, &k)) {
    case FLOOR_CONNECT:
        if (c->state == S_OPEN) {
            join(fd);
        }
        break;
    case FLOOR_MSG:
        if (c->state == S_JOINED) {
            relay(fd, k.body, k.len);
        }
        break;
    case FLOOR_ECHO:
        if (c->state == S_JOINED) {
            send_text(fd, k.head, k.head_len, k.body, k.len);
        }
        break;
    case FLOOR_OTHER:
        break;
    }
}

/* An Engine.IO packet in a text frame. */
static void on_engineio(int fd, const char *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (p[0] == '4') {
        on_socketio(fd, p + 1, n - 1);
    } else if (p[0] == '1') {
        close_conn(fd);
    }
}

/* ---- input ---- */

static void unmask(unsigned char *p, size_t n, const unsigned char key[4])
{
    uint32_t k32;
    memcpy(&k32, key, 4);
    if (k32 == 0) {
        return;
    }
    uint64_t k64 = (uint64_t)k32 << 32 | k32;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v ^= k64;
        memcpy(p + i, &v, 8);
    }
    for (; i < n; i++) {
        p[i] ^= key[i & 3];
    }
}

/* Frames from `p`; returns how many bytes were complete frames, or -1 once the connection closed.
 */
static ssize_t on_frames(int fd, unsigned char *p, size_t n)
{
    size_t pos = 0;
    while (n - pos >= 6) {
        unsigned char *h = p + pos;
        size_t hl = 2, len = h[1] & 0x7f;
        if (!(h[1] & 0x80) || !(h[0] & 0x80)) {
            close_conn(fd); /* unmasked or fragmented: not for the floor */
            return -1;
        }
        if (len == 126) {
            len = (size_t)h[2] << 8 | h[3], hl = 4;
        } else if (len == 127) {
            if (n - pos < 14) {
                break;
            }
            uint64_t l = 0;
            for (int i = 0; i < 8; i++) {
                l = l << 8 | h[2 + i];
            }
            if (l > FLOOR_MAX_MESSAGE) {
                close_conn(fd);
                return -1;
            }
            len = (size_t)l, hl = 10;
        }
        if (n - pos < hl + 4 + len) {
            break;
        }
        unsigned char *payload = h + hl + 4;
        unmask(payload, len, h + hl);
        pos += hl + 4 + len;
        int opcode = h[0] & 0x0f;
        if (opcode == 1) {
            on_engineio(fd, (const char *)payload, len);
        } else if (opcode == 9) {
            unsigned char f[10];
            size_t fl = floor_frame_header(f, 10, len);
            queue(fd, (const char *)f, fl, (const char *)payload, len);
        } else if (opcode == 8) {
            close_conn(fd);
        }
        if (conns[fd].state == S_FREE) {
            return -1;
        }
    }
    return (ssize_t)pos;
}

/* The upgrade request; returns how many bytes the head took, 0 if incomplete, -1 once closed. */
static ssize_t on_head(int fd, char *p, size_t n)
{
    char *end = memmem(p, n, "\r\n\r\n", 4);
    if (!end) {
        if (n > 8192) {
            close_conn(fd);
            return -1;
        }
        return 0;
    }
    static const char name[] = "\r\nsec-websocket-key:";
    const char *key = NULL;
    for (char *q = p; q < end; q++) {
        if (*q == '\r' && (size_t)(end - q) > sizeof(name) &&
            strncasecmp(q, name, sizeof(name) - 1) == 0) {
            key = q + sizeof(name) - 1;
            break;
        }
    }
    if (!key) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
        send(fd, bad, sizeof(bad) - 1, MSG_NOSIGNAL);
        close_conn(fd);
        return -1;
    }
    while (*key == ' ') {
        key++;
    }
    const char *kend = key;
    while (kend < end && *kend != '\r' && *kend != ' ') {
        kend++;
    }
    unsigned char in[128], digest[20];
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    size_t kl = (size_t)(kend - key) < 64 ? (size_t)(kend - key) : 64;
    memcpy(in, key, kl);
    memcpy(in + kl, guid, sizeof(guid) - 1);
    sha1(in, kl + sizeof(guid) - 1, digest);
    char accept[32];
    size_t al = base64(digest, 20, accept);
    char answer[512], sid[21];
    sid_of(fd, sid);
    int hn = snprintf(answer, sizeof(answer),
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %.*s\r\n\r\n",
                      (int)al, accept);
    char open[160];
    size_t on = floor_open_packet(open, sid);
    unsigned char fh[10];
    size_t fl = floor_frame_header(fh, 1, on);
    memcpy(answer + hn, fh, fl);
    queue(fd, answer, (size_t)hn + fl, open, on);
    conns[fd].state = S_OPEN;
    return end + 4 - p;
}

static void on_readable(int fd)
{
    conn *c = &conns[fd];
    /* What was left incomplete comes first: the read goes after it, in the shared buffer. */
    size_t kept = c->in_len;
    if (kept) {
        memcpy(rbuf, c->in, kept);
    }
    ssize_t n = read(fd, rbuf + kept, sizeof(rbuf) - kept);
    if (n <= 0) {
        if (n == 0 || errno != EAGAIN) {
            close_conn(fd);
        }
        return;
    }
    size_t len = kept + (size_t)n, pos = 0;
    if (c->state == S_HTTP) {
        ssize_t used = on_head(fd, rbuf, len);
        if (used <= 0) {
            goto keep;
        }
        pos = (size_t)used;
    }
    ssize_t used = on_frames(fd, (unsigned char *)rbuf + pos, len - pos);
    if (used < 0) {
        return;
    }
    pos += (size_t)used;
keep:
    if (conns[fd].state == S_FREE) {
        return;
    }
    if (len - pos >= sizeof(rbuf) / 2) {
        close_conn(fd); /* a frame larger than the floor reads */
        return;
    }
    c->in_len = (uint32_t)(len - pos);
    if (!c->in_len) {
        free(c->in);
        c->in = NULL;
        return;
    }
    char *grown = realloc(c->in, c->in_len);
    if (!grown) {
        close_conn(fd);
        return;
    }
    c->in = grown;
    memcpy(c->in, rbuf + pos, c->in_len);
}

static void close_conn(int fd)
{
    conn *c = &conns[fd];
    if (c->state == S_FREE) {
        return;
    }
    if (c->state == S_JOINED) {
        leave(fd);
    }
    free(c->in);
    free(c->out);
    bool was_dirty = c->dirty;
    memset(c, 0, sizeof(*c));
    c->dirty = was_dirty; /* still listed in `dirty`: flush() finds it free */
    close(fd);
}

static void accept_all(int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        if (fd >= nconns) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conns[fd].state = S_HTTP;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    }
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv)
{
    rlim_t fds;
    floor_args args = floor_start(argc, argv, &fds);
    int port = args.port;
    const char *host = args.host;
    nconns = fds > 1u << 20 ? 1 << 20 : (int)fds;
    conns = calloc((size_t)nconns, sizeof(*conns));
    members = calloc((size_t)nconns, sizeof(*members));
    dirty = calloc((size_t)nconns, sizeof(*dirty));
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (!conns || !members || !dirty || inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 4096) < 0) {
        perror("floor");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    fprintf(stderr, "floor: listening on port %d\n", port);
    uint64_t next_ping = now_ms() + FLOOR_PING_INTERVAL_MS;
    static struct epoll_event evs[1024];
    while (!stopping) {
        uint64_t now = now_ms();
        int n = epoll_wait(epfd, evs, 1024, next_ping > now ? (int)(next_ping - now) : 0);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                accept_all(lfd);
            } else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                on_readable(fd);
            } else if ((evs[i].events & EPOLLOUT) && !conns[fd].dirty) {
                conns[fd].dirty = true; /* written with the others, below */
                dirty[ndirty++] = fd;
            }
        }
        if (now_ms() >= next_ping) {
            for (int i = nmembers - 1; i >= 0; i--) { /* as in relay() */
                send_text(members[i], "2", 1, "", 0);
            }
            next_ping += FLOOR_PING_INTERVAL_MS;
        }
        for (int i = 0; i < ndirty; i++) {
            flush(dirty[i]);
        }
        ndirty = 0;
    }
    return 0;
}
