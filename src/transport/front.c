/* The front door: sioc's own listening socket, and each connection's first request head looked at
 * before libwebsockets sees it.
 *
 * libwebsockets 4.1.6 drops a connection without an answer when it cannot parse a head, and has no
 * hook before it gives up. So connections are accepted here; the head is read with MSG_PEEK (it
 * stays in the socket for libwebsockets to read again) and checked (head.c); a good head's
 * connection is adopted by libwebsockets as if it had accepted it itself, a bad one is answered 400
 * or 431 as Node's HTTP server answers it. Later requests of a keep-alive connection are
 * libwebsockets' alone.
 *
 * A connection whose head has not all arrived waits in the `pending` list, watched for more bytes:
 * with libuv by a poll handle of its own, with the poll loop by libwebsockets on a dup() of its
 * descriptor (adopted as a raw file: the only way to be woken by that loop). SO_RCVLOWAT keeps it
 * from being woken again by the bytes already seen. */
#include "transport/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/head.h"
#include "util/log.h"
#include "util/stats.h"

/* Node's headersTimeout is 60 s; libwebsockets gave 10 s, which clients of sioc already know. */
#define HEAD_TIMEOUT_MS 10000
/* After a refusal: how long the client's remaining bytes are read and dropped, so that closing
 * does not reset the connection before the client has read the answer. */
#define LINGER_MS 2000
/* lws 4.1.6 keeps a request's URL parts and known headers in a table of 95 fragments (every '&' or
 * ';' of the URL takes one) and drops the connection when it is full; Node would take 2000
 * headers. Past this count the head is refused with 431, with room left for lws's own use. */
#define MAX_FIELDS 80
/* Connections accepted at a time, so that a flood does not starve the loop, and how long after the
 * listener became readable (see sioc__front_raw). */
#define ACCEPT_BURST 256
#define ACCEPT_DELAY_US 1000

struct sioc__arrival {
    sioc__link link; /* in tr->pending, until finish() */
    sioc__transport *tr;
    int fd;            /* the connection, ours until handed on or closed; -1 after */
    bool answered;     /* refused: what the client still sends is read and dropped */
    bool lowat;        /* SO_RCVLOWAT raised: to be lowered before handing on */
    size_t seen;       /* bytes of the head seen at the last look */
    sioc__timer timer; /* the head's deadline, then the linger's */
    struct lws *watch; /* poll loop: the raw wsi on a dup of `fd` */
    uv_poll_t poll;    /* libuv */
    bool polling;
};

static const char *const answers[] = {
    [400 - 400] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
    [408 - 400] = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
    [431 - 400] = "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
};

int sioc__front_listen(sioc__transport *tr, const char *host, int port)
{
    struct addrinfo hints = {
        .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    char service[8];
    snprintf(service, sizeof(service), "%d", port);
    if (port < 0 || port > 65535 || getaddrinfo(host, service, &hints, &res) != 0) {
        return SIOC_ERR_LISTEN;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    /* Worker processes each listen on the port: the kernel spreads the connections. */
    bool ok =
        fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
        (!tr->opts->worker || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0) &&
        bind(fd, res->ai_addr, res->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
    freeaddrinfo(res);
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    if (!ok || getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return SIOC_ERR_LISTEN;
    }
    tr->listen_fd = fd;
    tr->port = ntohs(sa.sin_port);
    return 0;
}

int sioc__front_start(sioc__transport *tr)
{
    lws_sock_file_fd_type d = {.filefd = tr->listen_fd};
    tr->listen_wsi =
        lws_adopt_descriptor_vhost(tr->vhost, LWS_ADOPT_RAW_FILE_DESC, d, "sioc", NULL);
    if (!tr->listen_wsi) {
        return SIOC_ERR_LISTEN;
    }
    lws_set_opaque_user_data(tr->listen_wsi, &tr->listen_fd);
    tr->listen_fd = -1; /* lws's now: it closes it with the context */
    return 0;
}

static void close_fd(sioc__arrival *p)
{
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
}

static void on_poll_closed(uv_handle_t *h)
{
    free(CONTAINER(h, sioc__arrival, poll));
}

/* The end of a pending connection's watch: its descriptor has been handed on or closed. `p` is
 * freed once the watcher has let go of it (at once, or from the watcher's close callback). */
static void finish(sioc__arrival *p)
{
    assert(p->fd < 0);
    sioc__timer_stop(p->tr->wheel, &p->timer);
    sioc__list_remove(&p->link);
    if (p->polling) {
        p->polling = false;
        uv_close((uv_handle_t *)&p->poll, on_poll_closed);
    } else if (p->watch) {
        /* lws closes the dup and calls RAW_CLOSE_FILE, which frees `p`. */
        lws_set_timeout(p->watch, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    } else {
        free(p);
    }
}

/* The descriptor becomes libwebsockets' connection, as if its listener had accepted it. It is
 * lws's from the call on, adopted or not: every failure path of a socket's adoption closes it, and
 * with libuv only once the poll handle's close completes, a loop iteration later (a TLS client
 * whose handshake fails during the adoption is one). So it is not closed here even when it is
 * still open on return: by the time lws closes it, the next accept may have been given the same
 * number, and that connection's descriptor would be closed under lws, which then aborts when the
 * number comes back (lws_lookup's assertion in insert_wsi). */
static void hand_on(sioc__transport *tr, int fd)
{
    if (!lws_adopt_socket_vhost(tr->vhost, fd)) {
        sioc__log(SIOC_LOG_DEBUG, "a connection was not adopted (lws closes it)");
    }
}

void sioc__front_adopt(sioc__transport *tr, int fd)
{
    hand_on(tr, fd);
}

/* The pending connection's descriptor, back to its first state; `p` ends. */
static int take_pending(sioc__arrival *p)
{
    if (p->lowat) {
        int one = 1;
        setsockopt(p->fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
    }
    int fd = p->fd;
    p->fd = -1;
    finish(p); /* may free `p` */
    return fd;
}

/* Reads and drops what the client has sent, up to 1 MiB a call (a client sending without pause
 * must not hold the loop); false once it has closed its side (or failed). */
static bool drain_input(sioc__transport *tr, int fd)
{
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(fd, tr->head_buf, sizeof(tr->head_buf), 0);
        if (n <= 0) {
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
        }
    }
    return true;
}

static void on_timer(sioc__timer *t);
static int watch(sioc__arrival *p);

static sioc__arrival *pending_new(sioc__transport *tr, int fd)
{
    sioc__arrival *p = calloc(1, sizeof(*p));
    if (!p) {
        return NULL;
    }
    p->tr = tr;
    p->fd = fd;
    if (watch(p) != 0) {
        free(p);
        return NULL;
    }
    sioc__list_append(&tr->pending, &p->link);
    sioc__timer_start(tr->wheel, &p->timer, sioc__wheel_now(tr->wheel) + HEAD_TIMEOUT_MS, on_timer);
    return p;
}

/* Answers `status` and closes, after a while for the answer to be read. Takes `fd` (or `p`). */
static void refuse(sioc__transport *tr, sioc__arrival *p, int fd, int status)
{
    drain_input(tr, fd);
    const char *a = answers[status - 400];
    sioc__stats_http(status);
    ssize_t sent = send(fd, a, strlen(a), MSG_NOSIGNAL);
    (void)sent; /* a client gone already misses its answer: nothing else to do */
    shutdown(fd, SHUT_WR);
    if (!p) {
        p = pending_new(tr, fd);
        if (!p) {
            close(fd);
            return;
        }
    }
    if (p->lowat) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
        p->lowat = false;
    }
    p->answered = true;
    sioc__timer_start(tr->wheel, &p->timer, sioc__wheel_now(tr->wheel) + LINGER_MS, on_timer);
}

static void log_refusal(sioc__head_verdict v, const char *why)
{
    sioc__log(SIOC_LOG_INFO, "HTTP: refused a request (%d): %s",
              v == SIOC__HEAD_TOO_LARGE ? 431 : 400, why ? why : "malformed");
}

/* Whether the peer has closed or reset the connection (readable with nothing new to read). */
static bool peer_gone(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* A look at what has arrived of the head. `p` is NULL on the first look, straight after accept. */
static void look(sioc__transport *tr, sioc__arrival *p, int fd)
{
    ssize_t n = recv(fd, tr->head_buf, sizeof(tr->head_buf), MSG_PEEK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        if (!p) { /* gone before asking anything */
            close(fd);
            return;
        }
        close_fd(p);
        finish(p);
        return;
    }
    sioc__head_limits lim = {.max_bytes = SIOC__MAX_HEAD, .max_fields = MAX_FIELDS};
    const char *why = NULL;
    sioc__head_verdict v =
        n > 0 ? sioc__head_check(tr->head_buf, (size_t)n, &lim, NULL, &why) : SIOC__HEAD_PARTIAL;
    if (v == SIOC__HEAD_OK) {
        fd = p ? take_pending(p) : fd;
        /* Another worker's session: to its owner, the head still unread in the socket. */
        if (!sioc__route_away(tr, fd, tr->head_buf, (size_t)n)) {
            hand_on(tr, fd);
        }
        return;
    }
    if (v != SIOC__HEAD_PARTIAL) {
        log_refusal(v, why);
        refuse(tr, p, fd, v == SIOC__HEAD_TOO_LARGE ? 431 : 400);
        return;
    }
    if (p && n > 0 && (size_t)n == p->seen && peer_gone(fd)) {
        close_fd(p); /* the client stopped half-way through its head */
        finish(p);
        return;
    }
    if (!p && !(p = pending_new(tr, fd))) {
        close(fd);
        return;
    }
    p->seen = n > 0 ? (size_t)n : 0;
    if (n > 0) {
        /* Woken again only once more than what was seen has come (or the peer closed). */
        int lowat = (int)n + 1;
        p->lowat = setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) == 0;
    }
}

static void on_readable(sioc__arrival *p)
{
    if (p->fd < 0) {
        return;
    }
    if (!p->answered) {
        look(p->tr, p, p->fd);
    } else if (!drain_input(p->tr, p->fd)) {
        close_fd(p);
        finish(p);
    }
}

static void on_timer(sioc__timer *t)
{
    sioc__arrival *p = CONTAINER(t, sioc__arrival, timer);
    if (!p->answered && p->fd >= 0) {
        sioc__log(SIOC_LOG_INFO, "HTTP: a request head took longer than %d s: 408",
                  HEAD_TIMEOUT_MS / 1000);
        refuse(p->tr, p, p->fd, 408);
        return;
    }
    close_fd(p);
    finish(p);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    on_readable(CONTAINER(h, sioc__arrival, poll));
}

/* Starts watching `p->fd` for more bytes. Returns 0, or -1 when out of descriptors or memory. */
static int watch(sioc__arrival *p)
{
    sioc__transport *tr = p->tr;
    if (tr->uv) {
        if (uv_poll_init_socket(tr->uv, &p->poll, p->fd) != 0) {
            return -1;
        }
        p->polling = true;
        uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, on_poll);
        return 0;
    }
    int dup_fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0) {
        return -1;
    }
    lws_sock_file_fd_type d = {.filefd = dup_fd};
    p->watch = lws_adopt_descriptor_vhost(tr->vhost, LWS_ADOPT_RAW_FILE_DESC, d, "sioc", NULL);
    if (!p->watch) {
        if (fcntl(dup_fd, F_GETFD) != -1) {
            close(dup_fd);
        }
        return -1;
    }
    lws_set_opaque_user_data(p->watch, p);
    return 0;
}

/* Whether a new connection on descriptor `fd` (-1: accept failed for lack of descriptors) is one
 * too many. Descriptors are handed out lowest first, so `fd` this high means nearly every one is
 * in use: refuse, and say so (at most every 10 s). */
static bool over_limit(sioc__transport *tr, long fd)
{
    if (fd >= 0 && fd < tr->fd_limit - SIOC__FD_RESERVE) {
        return false;
    }
    uint64_t now = sioc__wheel_now(tr->wheel);
    if (!tr->full_logged_ms || now - tr->full_logged_ms >= 10000) {
        tr->full_logged_ms = now ? now : 1;
        sioc__log(SIOC_LOG_WARN,
                  "connection limit reached: %ld file descriptors in use "
                  "(RLIMIT_NOFILE %ld); refusing new connections until some close",
                  fd >= 0 ? fd : tr->fd_limit, tr->fd_limit);
    }
    return true;
}

/* The listener is looked at again after `us`: until then its connections wait in the kernel. */
static void accept_due(lws_sorted_usec_list_t *sul);

static void accept_later(sioc__transport *tr, lws_usec_t us)
{
    lws_rx_flow_control(tr->listen_wsi, 0);
    lws_sul_schedule(tr->ctx, 0, &tr->accept_sul, accept_due, us);
}

/* Takes what has queued on the listener, in the order the connections were made. */
static void accept_due(lws_sorted_usec_list_t *sul)
{
    sioc__transport *tr = CONTAINER(sul, sioc__transport, accept_sul);
    if (!tr->listen_wsi) {
        return;
    }
    int listen_fd = (int)lws_get_socket_fd(tr->listen_wsi);
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: the listener would be readable, and fail, in a busy loop. */
                over_limit(tr, -1);
                accept_later(tr, 100 * LWS_US_PER_MS);
                return;
            }
            break;
        }
        if (over_limit(tr, fd)) {
            close(fd);
            continue;
        }
        int one = 1; /* as lws sets its own accepted sockets: answers go out at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (tr->tls) {
            /* The head is encrypted: libwebsockets reads it after the TLS handshake, and its
             * own parser alone judges it. */
            hand_on(tr, fd);
        } else {
            look(tr, NULL, fd);
        }
    }
    lws_rx_flow_control(tr->listen_wsi, 1);
}

int sioc__front_raw(sioc__transport *tr, struct lws *wsi, enum lws_callback_reasons reason)
{
    void *who = lws_get_opaque_user_data(wsi);
    if (who == &tr->listen_fd) {
        if (reason == LWS_CALLBACK_RAW_RX_FILE) {
            /* Node takes new connections a little after they are made, by which time their clients
             * have sent their requests: requests on new connections are then served in the
             * order the connections were made, which clients rely on (a GET sent with a POST
             * that ends the session must be the one that receives the end). So do the same. */
            accept_later(tr, ACCEPT_DELAY_US);
        } else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
            lws_set_opaque_user_data(wsi, NULL); /* WSI_DESTROY takes it for idle.c's */
            tr->listen_wsi = NULL;
        }
        return 0;
    }
    sioc__arrival *p = who;
    if (!p) {
        return 0; /* adoption's own callbacks, before the pointer is set */
    }
    if (reason == LWS_CALLBACK_RAW_RX_FILE) {
        on_readable(p);
    } else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
        lws_set_opaque_user_data(wsi, NULL);
        p->watch = NULL;
        if (p->fd >= 0) { /* closed by lws (the context going away): so is the connection */
            close_fd(p);
            finish(p);
        } else {
            free(p); /* finish() asked lws for this close, and left `p` to it */
        }
    }
    return 0;
}

void sioc__front_close_pending(sioc__transport *tr)
{
    while (!sioc__list_empty(&tr->pending)) {
        sioc__arrival *p = (sioc__arrival *)tr->pending.next;
        close_fd(p);
        finish(p);
    }
    lws_sul_cancel(&tr->accept_sul);
}
