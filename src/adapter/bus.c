/* The workers' link (bus.h). Each worker has one outgoing connection to every other worker (what
 * it sends) and accepts one from each (what it receives); the two directions are independent, so
 * neither side waits on the other. An outgoing connection is "up" once the peer has answered its
 * first frame (the listening socket outlives a worker that died, so connect() alone proves
 * nothing: the connection would wait in its backlog) until it fails or the peer closes it (a
 * worker that died: the primary starts it again on the same listening socket, and the connection
 * is made anew). */
#include "adapter/bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sioc.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/log.h"

#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 1000
/* Bytes queued to one peer before it is deemed stuck and let go of (its messages are lost, as
 * a Redis node's are when it falls that far behind). */
#define MAX_BACKLOG (256u << 20)

typedef struct out_conn {
    sioc__bus *b;
    unsigned peer;
    uv_pipe_t pipe;
    bool open; /* `pipe` is a live handle */
    bool up;
    uv_timer_t retry;
    unsigned backoff_ms;
} out_conn;

typedef struct in_conn {
    sioc__link link; /* first: in the bus's list */
    sioc__bus *b;
    uv_pipe_t pipe;
    int from; /* -1 until its first frame has said */
    sioc__buf in;
    size_t off; /* where the next frame starts in `in` */
} in_conn;

struct sioc__bus {
    uv_loop_t *loop;
    char *group;
    unsigned self, count;
    uv_pipe_t listener;
    out_conn *out;
    sioc__link ins;
    sioc__bus_frame_cb on_frame;
    sioc__bus_peer_cb on_peer;
    void *arg;
    unsigned handles; /* open handles: freed when the last has closed */
    bool closing;
};

int sioc__bus_address(const char *group, unsigned i, struct sockaddr_un *out, unsigned *len)
{
    memset(out, 0, sizeof(*out));
    out->sun_family = AF_UNIX;
    int n = snprintf(out->sun_path + 1, sizeof(out->sun_path) - 1, "%s.%u", group, i);
    if (n < 0 || (size_t)n >= sizeof(out->sun_path) - 1) {
        return -1;
    }
    *len = (unsigned)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    return 0;
}

static void maybe_free(sioc__bus *b)
{
    if (b->closing && b->handles == 0) {
        free(b->out);
        free(b->group);
        free(b);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    sioc__bus *b = h->data;
    b->handles--;
    maybe_free(b);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char scratch[64 * 1024];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

/* ---- outgoing ---- */

static void connect_peer(out_conn *c);

static void on_retry(uv_timer_t *t)
{
    connect_peer(t->data);
}

static void schedule_retry(out_conn *c)
{
    if (!c->b->closing) {
        c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : RETRY_MIN_MS;
        c->backoff_ms = c->backoff_ms > RETRY_MAX_MS ? RETRY_MAX_MS : c->backoff_ms;
        uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
    }
}

static void on_out_closed(uv_handle_t *h)
{
    out_conn *c = h->data;
    c->open = false;
    c->b->handles--;
    if (c->b->closing) {
        maybe_free(c->b);
        return;
    }
    schedule_retry(c);
}

/* The connection to `c->peer` is gone (or let go of): said once, then made again later. */
static void drop_out(out_conn *c)
{
    if (!c->open || uv_is_closing((uv_handle_t *)&c->pipe)) {
        return;
    }
    bool was_up = c->up;
    c->up = false;
    c->pipe.data = c;
    uv_close((uv_handle_t *)&c->pipe, on_out_closed);
    if (was_up && !c->b->closing && c->b->on_peer) {
        c->b->on_peer(c->b->arg, c->peer, false);
    }
}

/* What comes this way: the peer's answer to the first frame (it is up), then only the end. */
static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    out_conn *c = s->data;
    if (nread < 0) {
        drop_out(c);
    } else if (nread > 0 && !c->up) {
        c->up = true;
        c->backoff_ms = 0;
        if (c->b->on_peer) {
            c->b->on_peer(c->b->arg, c->peer, true);
        }
    }
}

typedef struct frame_write {
    uv_write_t req;
    char bytes[]; /* the 4-byte length, then the frame */
} frame_write;

static void on_written(uv_write_t *req, int status)
{
    (void)status; /* a failed write ends the connection through its read side */
    free(req);
}

static int write_frame(out_conn *c, const void *data, size_t len)
{
    frame_write *w = malloc(sizeof(*w) + 4 + len);
    if (!w) {
        return SIOC_ERR_NOMEM;
    }
    w->bytes[0] = (char)(len >> 24);
    w->bytes[1] = (char)(len >> 16);
    w->bytes[2] = (char)(len >> 8);
    w->bytes[3] = (char)len;
    memcpy(w->bytes + 4, data, len);
    uv_buf_t buf = uv_buf_init(w->bytes, (unsigned)(4 + len));
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written) != 0) {
        free(w);
        drop_out(c);
        return SIOC_ERR_CLOSED;
    }
    return 0;
}

static void connect_peer(out_conn *c)
{
    sioc__bus *b = c->b;
    struct sockaddr_un addr;
    unsigned len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || sioc__bus_address(b->group, c->peer, &addr, &len) < 0 ||
        connect(fd, (struct sockaddr *)&addr, len) < 0) {
        if (fd >= 0) {
            close(fd); /* not listening yet (starting), or its backlog is full */
        }
        schedule_retry(c);
        return;
    }
    if (uv_pipe_init(b->loop, &c->pipe, 0) != 0) {
        close(fd);
        schedule_retry(c);
        return;
    }
    b->handles++;
    c->open = true;
    c->pipe.data = c;
    if (uv_pipe_open(&c->pipe, fd) != 0) {
        close(fd);
        c->up = false;
        uv_close((uv_handle_t *)&c->pipe, on_out_closed);
        return;
    }
    unsigned char hello[4] = {(unsigned char)(b->self >> 24), (unsigned char)(b->self >> 16),
                              (unsigned char)(b->self >> 8), (unsigned char)b->self};
    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_out_read);
    write_frame(c, hello, sizeof(hello)); /* up once answered */
}

int sioc__bus_send(sioc__bus *b, unsigned peer, const void *data, size_t len)
{
    if (peer >= b->count || peer == b->self || !b->out[peer].up) {
        return SIOC_ERR_CLOSED;
    }
    if (len > SIOC__BUS_MAX_FRAME) {
        return SIOC_ERR_TOO_LARGE;
    }
    out_conn *c = &b->out[peer];
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > MAX_BACKLOG) {
        sioc__log(SIOC_LOG_WARN, "workers: worker %u takes nothing in; let go of until it does",
                  peer);
        drop_out(c);
        return SIOC_ERR_CLOSED;
    }
    return write_frame(c, data, len);
}

unsigned sioc__bus_peers_up(const sioc__bus *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->count; i++) {
        n += i != b->self && b->out[i].up;
    }
    return n;
}

/* ---- incoming ---- */

static void on_in_closed(uv_handle_t *h)
{
    in_conn *c = h->data;
    sioc__bus *b = c->b;
    sioc__buf_free(&c->in);
    free(c);
    b->handles--;
    maybe_free(b);
}

static void drop_in(in_conn *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->pipe)) {
        sioc__list_remove(&c->link);
        uv_close((uv_handle_t *)&c->pipe, on_in_closed);
    }
}

static void on_answer_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* One byte back: the sender knows this worker is alive and reading. */
static void answer_hello(in_conn *c)
{
    uv_write_t *req = malloc(sizeof(*req));
    static char byte = 'w';
    uv_buf_t buf = uv_buf_init(&byte, 1);
    if (req && uv_write(req, (uv_stream_t *)&c->pipe, &buf, 1, on_answer_written) != 0) {
        free(req);
    }
}

/* Every whole frame in `c->in`, handed on. False when the connection must end (a frame too large,
 * or a first frame that names no worker). */
static bool take_frames(in_conn *c)
{
    sioc__bus *b = c->b;
    while (c->in.len - c->off >= 4) {
        const unsigned char *p = (const unsigned char *)c->in.data + c->off;
        size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (n > SIOC__BUS_MAX_FRAME) {
            return false;
        }
        if (c->in.len - c->off - 4 < n) {
            break;
        }
        if (c->from < 0) {
            unsigned from =
                n == 4 ? (unsigned)p[4] << 24 | (unsigned)p[5] << 16 | (unsigned)p[6] << 8 | p[7]
                       : b->count;
            if (from >= b->count || from == b->self) {
                return false;
            }
            c->from = (int)from;
            answer_hello(c);
        } else if (b->on_frame && !b->closing) {
            b->on_frame(b->arg, (unsigned)c->from, p + 4, n);
        }
        c->off += 4 + n;
    }
    if (c->off == c->in.len) {
        c->in.len = c->off = 0;
    } else if (c->off > c->in.len / 2) {
        memmove(c->in.data, c->in.data + c->off, c->in.len - c->off);
        c->in.len -= c->off;
        c->off = 0;
    }
    return true;
}

static void on_in_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    in_conn *c = s->data;
    if (nread < 0 || (nread > 0 && sioc__buf_append(&c->in, buf->base, (size_t)nread) < 0) ||
        !take_frames(c)) {
        drop_in(c);
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    sioc__bus *b = listener->data;
    in_conn *c = status == 0 ? calloc(1, sizeof(*c)) : NULL;
    if (!c || uv_pipe_init(b->loop, &c->pipe, 0) != 0) {
        free(c);
        return;
    }
    b->handles++;
    c->b = b;
    c->from = -1;
    c->pipe.data = c;
    sioc__list_append(&b->ins, &c->link);
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0 ||
        uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_in_read) != 0) {
        drop_in(c);
    }
}

/* ---- the link ---- */

sioc__bus *sioc__bus_new(uv_loop_t *loop, const char *group, unsigned self, unsigned count,
                         int listen_fd, sioc__bus_frame_cb on_frame, sioc__bus_peer_cb on_peer,
                         void *arg)
{
    sioc__bus *b = calloc(1, sizeof(*b));
    if (!b || !(b->group = strdup(group)) || !(b->out = calloc(count, sizeof(*b->out)))) {
        if (b) {
            free(b->group);
        }
        free(b);
        return NULL;
    }
    b->loop = loop;
    b->self = self;
    b->count = count;
    b->on_frame = on_frame;
    b->on_peer = on_peer;
    b->arg = arg;
    sioc__list_init(&b->ins);
    if (uv_pipe_init(loop, &b->listener, 0) != 0 || uv_pipe_open(&b->listener, listen_fd) != 0) {
        free(b->out);
        free(b->group);
        free(b);
        return NULL;
    }
    b->handles++;
    b->listener.data = b;
    uv_listen((uv_stream_t *)&b->listener, 64, on_connection);
    for (unsigned i = 0; i < count; i++) {
        out_conn *c = &b->out[i];
        c->b = b;
        c->peer = i;
        if (i != self) {
            uv_timer_init(loop, &c->retry);
            c->retry.data = c;
            b->handles++;
            connect_peer(c);
        }
    }
    return b;
}

static void on_timer_closed(uv_handle_t *h)
{
    out_conn *c = h->data;
    c->b->handles--;
    maybe_free(c->b);
}

void sioc__bus_free(sioc__bus *b)
{
    if (!b || b->closing) {
        return;
    }
    b->closing = true;
    b->handles++; /* held while closing everything, so that nothing frees it half-way */
    for (unsigned i = 0; i < b->count; i++) {
        out_conn *c = &b->out[i];
        if (i == b->self) {
            continue;
        }
        uv_timer_stop(&c->retry);
        c->retry.data = c;
        uv_close((uv_handle_t *)&c->retry, on_timer_closed);
        drop_out(c);
    }
    while (!sioc__list_empty(&b->ins)) {
        drop_in((in_conn *)b->ins.next);
    }
    b->listener.data = b;
    uv_close((uv_handle_t *)&b->listener, on_handle_closed);
    b->handles--;
    maybe_free(b);
}
