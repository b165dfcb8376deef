/* The link to Redis (redis.h): connections of our own on the server's libuv loop — a TCP
 * socket each, Redis's protocol spoken by resp.c — one for commands (PUBLISH, PUBSUB NUMSUB, ...),
 * one for subscriptions and, when asked for, one for blocking reads (XREAD BLOCK would hold up
 * every command behind it), each reconnected on its own with a backoff from 100 ms to 5 s. A lost
 * link is logged once, and once again when it is back; subscriptions are made again on every new
 * subscription connection, exactly once each, so that the cluster counts this node once. */
#include "adapter/redis.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/resp.h"
#include "util/buf.h"
#include "util/container.h"
#include "util/list.h"
#include "util/log.h"
#include "util/stats.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define READ_SIZE 65536

struct sioc__redis_sub {
    sioc__link link; /* first: in the link's list */
    char *channel;
    sioc__redis_kind kind;
    sioc__redis_message_cb cb; /* NULL once unsubscribed */
    void *arg;
    bool live; /* subscribed on the current subscription connection */
};

typedef struct conn conn;

/* One attempt at a connection: its socket outlives the connection until libuv lets go of it. */
typedef struct sock {
    conn *c; /* NULL once let go of */
    bool resolving, tcp_open, writing;
    uv_getaddrinfo_t resolve;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    sioc__buf wbuf; /* what the write in flight holds */
    char rbuf[READ_SIZE];
} sock;

/* One of the two connections. */
struct conn {
    sioc__redis *r;
    sock *sk; /* NULL while down */
    sioc__resp *proto;
    sioc__buf out; /* commands not yet handed to the socket */
    bool ready;    /* connected, authenticated */
    bool subscriber;
    bool blocking;
    uv_timer_t retry; /* the next attempt, or a write's failure told */
    unsigned backoff_ms;
    int write_error;
};

struct sioc__redis {
    uv_loop_t *loop;
    char *host;
    int port;
    char *password;
    int db;
    conn pub, sub, block;
    bool use_block;  /* the blocking connection was asked for */
    sioc__link subs; /* sioc__redis_sub */
    void (*on_ready)(void *arg, bool blocking);
    void *ready_arg;
    bool closing;
    bool down_logged; /* the loss was said: the return will be */
};

static void connect_conn(conn *c);

/* ---- the URL ---- */

/* "redis://[:password@]host:port[/db]" (the user name of "user:password@" is ignored, as Redis 5
 * has none). Returns 0 or -1. */
static int parse_url(sioc__redis *r, const char *url)
{
    const char *p = strncmp(url, "redis://", 8) == 0 ? url + 8 : NULL;
    if (!p) {
        return -1;
    }
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon && !(r->password = strndup(colon + 1, (size_t)(at - colon - 1)))) {
            return -1;
        }
        p = at + 1;
    }
    size_t hlen = strcspn(p, ":/");
    r->port = 6379;
    r->host = strndup(p, hlen);
    p += hlen;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535) {
            return -1;
        }
        r->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        long db = strtol(p + 1, &end, 10);
        if (*end || db < 0 || db > 65535) {
            return -1;
        }
        r->db = (int)db;
    } else if (*p && strcmp(p, "/") != 0) {
        return -1;
    }
    return r->host && r->host[0] ? 0 : -1;
}

/* ---- connections ---- */

static const char *name_of(const conn *c)
{
    return c->subscriber ? "subscriptions" : c->blocking ? "blocking reads" : "commands";
}

static bool all_ready(const sioc__redis *r)
{
    return r->pub.ready && r->sub.ready && (!r->use_block || r->block.ready);
}

/* Connection `c` is ready: said when the whole link is, and told to the hook. */
static void became_up(sioc__redis *r, conn *c)
{
    if (all_ready(r) && r->down_logged) {
        r->down_logged = false;
        sioc__stats_g.redis_reconnects++;
        sioc__log(SIOC_LOG_WARN, "redis: connected to %s:%d again", r->host, r->port);
    } else if (all_ready(r)) {
        sioc__log(SIOC_LOG_INFO, "redis: connected to %s:%d", r->host, r->port);
    }
    if (r->on_ready && !c->subscriber) {
        r->on_ready(r->ready_arg, c->blocking);
    }
}

static void on_sock_closed(uv_handle_t *h)
{
    sock *sk = h->data;
    sioc__buf_free(&sk->wbuf);
    free(sk);
}

/* The socket is let go of: closed (freed once libuv is done with it), or its resolution
 * cancelled (freed when it reports). What awaited a reply hears NULL. */
static void let_go(conn *c)
{
    sock *sk = c->sk;
    c->sk = NULL;
    c->ready = false;
    c->out.len = 0;
    if (sk) {
        sk->c = NULL;
        if (sk->tcp_open) {
            uv_close((uv_handle_t *)&sk->tcp, on_sock_closed);
        } else {
            assert(sk->resolving);
            uv_cancel((uv_req_t *)&sk->resolve); /* it reports, cancelled or not, and is freed */
        }
    }
    for (sioc__link *l = c->r->subs.next; c->subscriber && l != &c->r->subs; l = l->next) {
        ((sioc__redis_sub *)l)->live = false;
    }
    sioc__resp_reset(c->proto);
}

static void on_retry(uv_timer_t *t)
{
    connect_conn(t->data);
}

/* The connection is lost (or never came): said once for the link, tried again later. */
static void went_down(conn *c, const char *why)
{
    sioc__redis *r = c->r;
    let_go(c);
    if (r->closing) {
        return;
    }
    if (!r->down_logged) {
        r->down_logged = true;
        sioc__log(SIOC_LOG_WARN, "redis: %s:%d unreachable (%s): local delivery goes on; retrying",
                  r->host, r->port, why ? why : "connection lost");
    }
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (c->backoff_ms > BACKOFF_MAX_MS) {
        c->backoff_ms = BACKOFF_MAX_MS;
    }
    uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
}

static void flush(conn *c);

static void on_write_failed(uv_timer_t *t)
{
    conn *c = t->data;
    went_down(c, uv_strerror(c->write_error));
}

static void on_written(uv_write_t *w, int status)
{
    sock *sk = CONTAINER(w, sock, write);
    sk->writing = false;
    sk->wbuf.len = 0;
    if (!sk->c) {
        return; /* let go of meanwhile */
    }
    if (status < 0) {
        went_down(sk->c, uv_strerror(status));
    } else {
        flush(sk->c);
    }
}

/* Hands what is queued to the socket, one write at a time. */
static void flush(conn *c)
{
    sock *sk = c->sk;
    if (!sk || !sk->tcp_open || sk->writing || c->out.len == 0) {
        return;
    }
    sioc__buf swap = sk->wbuf; /* empty: the last write is done */
    sk->wbuf = c->out;
    c->out = swap;
    uv_buf_t b = uv_buf_init((char *)sk->wbuf.data, (unsigned)sk->wbuf.len);
    sk->writing = true;
    int rc = uv_write(&sk->write, (uv_stream_t *)&sk->tcp, &b, 1, on_written);
    if (rc < 0) {
        /* Not from here: the caller may be queueing the command whose callback would hear
         * of the loss before the caller hears that it was queued. The connection goes at once
         * after. */
        sk->writing = false;
        c->write_error = rc;
        uv_timer_start(&c->retry, on_write_failed, 0, 0);
    }
}

/* Queues a command (binary-safe) and sends it; `cb` hears its reply, or NULL if the connection
 * goes first. 0, or -1 while the connection is down or on no memory (then `cb` is not called). */
static int command(conn *c, int argc, const char *const *argv, const size_t *lens,
                   sioc__resp_reply_cb cb, void *arg)
{
    if (!c->sk || !c->sk->tcp_open ||
        sioc__resp_command(c->proto, &c->out, argc, argv, lens, cb, arg) < 0) {
        return -1;
    }
    flush(c);
    return 0;
}

static void on_message(void *arg, const sioc__resp_message *m)
{
    conn *c = arg;
    for (sioc__link *l = c->r->subs.next; l != &c->r->subs; l = l->next) {
        sioc__redis_sub *sub = (sioc__redis_sub *)l;
        const char *name = m->pattern ? m->pattern : m->channel;
        size_t len = m->pattern ? m->pattern_len : m->channel_len;
        sioc__redis_kind kind = m->pattern   ? SIOC__REDIS_PATTERN
                                : m->sharded ? SIOC__REDIS_SHARDED
                                             : SIOC__REDIS_CHANNEL;
        if (sub->cb && sub->kind == kind && strlen(sub->channel) == len &&
            memcmp(sub->channel, name, len) == 0) {
            sub->cb(sub->arg, m->channel, m->channel_len, m->data, m->len);
        }
    }
}

static const char *const subscribe_cmd[] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};

static void send_subscribe(conn *c, sioc__redis_sub *sub)
{
    const char *argv[] = {subscribe_cmd[sub->kind], sub->channel};
    size_t lens[] = {strlen(argv[0]), strlen(sub->channel)};
    sub->live = command(c, 2, argv, lens, NULL, NULL) == 0;
}

/* The reply to the last command of the greeting (PING), or an error to one before it (AUTH). */
static void on_ready(const redisReply *reply, void *arg)
{
    conn *c = arg;
    if (!reply) {
        return; /* lost meanwhile: said there */
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        sioc__log(SIOC_LOG_ERROR, "redis: %s:%d refused the %s connection: %.*s", c->r->host,
                  c->r->port, name_of(c), (int)reply->len, reply->str);
        went_down(c, "refused");
        return;
    }
    if (c->ready) {
        return; /* AUTH's OK: PING's answer is the one */
    }
    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0) {
        return; /* AUTH or SELECT accepted */
    }
    c->ready = true;
    c->backoff_ms = 0;
    if (c->subscriber) {
        for (sioc__link *l = c->r->subs.next; l != &c->r->subs; l = l->next) {
            sioc__redis_sub *sub = (sioc__redis_sub *)l;
            if (sub->cb) {
                send_subscribe(c, sub);
            }
        }
    }
    became_up(c->r, c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sock *sk = h->data;
    (void)suggested;
    *buf = uv_buf_init(sk->rbuf, sizeof(sk->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    sock *sk = s->data;
    conn *c = sk->c;
    const char *why = NULL;
    if (!c || n == 0) {
        return;
    }
    if (n < 0) {
        went_down(c, n == UV_EOF ? "closed by Redis" : uv_strerror((int)n));
    } else if (sioc__resp_feed(c->proto, buf->base, (size_t)n, &why) < 0) {
        sioc__log(SIOC_LOG_ERROR,
                  "redis: %s:%d sent what is not Redis's protocol (%s): reconnecting", c->r->host,
                  c->r->port, why);
        went_down(c, why);
    }
}

/* Connected: the greeting (AUTH, SELECT for commands, PING), whose last answer makes it ready. */
static void on_connected(uv_connect_t *req, int status)
{
    sock *sk = CONTAINER(req, sock, connect);
    conn *c = sk->c;
    if (!c) {
        return;
    }
    if (status < 0 || uv_read_start((uv_stream_t *)&sk->tcp, on_alloc, on_read) < 0) {
        went_down(c, status < 0 ? uv_strerror(status) : "cannot read");
        return;
    }
    sioc__redis *r = c->r;
    int rc = 0;
    if (r->password) {
        const char *argv[] = {"AUTH", r->password};
        size_t lens[] = {4, strlen(r->password)};
        rc |= command(c, 2, argv, lens, on_ready, c);
    }
    if (!c->subscriber && r->db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", r->db);
        const char *argv[] = {"SELECT", db};
        size_t lens[] = {6, strlen(db)};
        rc |= command(c, 2, argv, lens, on_ready, c);
    }
    const char *ping[] = {"PING"};
    size_t lens[] = {4};
    rc |= command(c, 1, ping, lens, on_ready, c);
    if (rc < 0) {
        went_down(c, "out of memory");
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    sock *sk = CONTAINER(req, sock, resolve);
    conn *c = sk->c;
    sk->resolving = false;
    if (!c) { /* let go of while resolving */
        uv_freeaddrinfo(res);
        free(sk);
        return;
    }
    if (status < 0) {
        uv_freeaddrinfo(res);
        c->sk = NULL; /* nothing of libuv's holds it any more */
        free(sk);
        went_down(c, uv_strerror(status));
        return;
    }
    uv_tcp_init(c->r->loop, &sk->tcp);
    sk->tcp.data = sk;
    sk->tcp_open = true;
    uv_tcp_nodelay(&sk->tcp, 1);
    int rc = uv_tcp_connect(&sk->connect, &sk->tcp, res->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc < 0) {
        went_down(c, uv_strerror(rc));
    }
}

static void connect_conn(conn *c)
{
    sioc__redis *r = c->r;
    sock *sk = calloc(1, sizeof(*sk));
    if (!sk) {
        went_down(c, "out of memory");
        return;
    }
    sk->c = c;
    sk->resolving = true;
    c->sk = sk;
    char port[8];
    snprintf(port, sizeof(port), "%d", r->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(r->loop, &sk->resolve, on_resolved, r->host, port, &hints);
    if (rc < 0) {
        c->sk = NULL;
        free(sk);
        went_down(c, uv_strerror(rc));
    }
}

/* ---- the link ---- */

static void init_conn(sioc__redis *r, conn *c, bool subscriber)
{
    c->r = r;
    c->subscriber = subscriber;
    uv_timer_init(r->loop, &c->retry);
    c->retry.data = c;
}

sioc__redis *sioc__redis_new(const char *url, uv_loop_t *loop)
{
    sioc__redis *r = calloc(1, sizeof(*r));
    if (!r) {
        return NULL;
    }
    sioc__list_init(&r->subs);
    if (!url || parse_url(r, url) < 0) {
        sioc__log(SIOC_LOG_ERROR, "redis: bad URL (redis://[:password@]host:port[/db])");
        free(r->host);
        free(r->password);
        free(r);
        return NULL;
    }
    r->loop = loop;
    /* Before any handle exists, so that giving up needs no turn of the loop. */
    r->pub.proto = sioc__resp_new(on_message, &r->pub);
    r->sub.proto = sioc__resp_new(on_message, &r->sub);
    r->block.proto = sioc__resp_new(NULL, NULL);
    if (!r->pub.proto || !r->sub.proto || !r->block.proto) {
        sioc__resp_free(r->pub.proto);
        sioc__resp_free(r->sub.proto);
        sioc__resp_free(r->block.proto);
        free(r->host);
        free(r->password);
        free(r);
        return NULL;
    }
    init_conn(r, &r->pub, false);
    init_conn(r, &r->sub, true);
    init_conn(r, &r->block, false);
    r->block.blocking = true;
    connect_conn(&r->pub);
    connect_conn(&r->sub);
    return r;
}

bool sioc__redis_up(const sioc__redis *r)
{
    return all_ready(r);
}

int sioc__redis_publish(sioc__redis *r, const char *channel, const void *message, size_t len)
{
    if (!r->pub.ready) {
        return SIOC_ERR_CLOSED;
    }
    const char *argv[] = {"PUBLISH", channel, message};
    size_t lens[] = {7, strlen(channel), len};
    return command(&r->pub, 3, argv, lens, NULL, NULL) == 0 ? 0 : SIOC_ERR_CLOSED;
}

struct sioc__redis_query {
    sioc__redis_count_cb count; /* one of these, NULL once cancelled */
    sioc__redis_reply_cb reply;
    void *arg;
};

/* Called exactly once, with NULL when the connection goes first. */
static void on_numsub(const redisReply *rr, void *priv)
{
    sioc__redis_query *q = priv;
    long count = -1;
    if (rr && rr->type == REDIS_REPLY_ARRAY && rr->elements == 2 &&
        rr->element[1]->type == REDIS_REPLY_INTEGER) {
        count = (long)rr->element[1]->integer;
    }
    if (q->count) {
        q->count(count, q->arg);
    }
    free(q);
}

static void on_reply(const redisReply *rr, void *priv)
{
    sioc__redis_query *q = priv;
    if (q->reply) {
        q->reply(rr, q->arg);
    }
    free(q);
}

/* A command on `c` whose reply goes to `cb`: the query, or NULL (down, or no memory). */
static sioc__redis_query *query(conn *c, int argc, const char *const *argv, const size_t *lens,
                                sioc__redis_reply_cb cb, void *arg)
{
    sioc__redis_query *q = c->ready ? calloc(1, sizeof(*q)) : NULL;
    if (!q) {
        return NULL;
    }
    q->reply = cb;
    q->arg = arg;
    if (command(c, argc, argv, lens, on_reply, q) < 0) {
        free(q);
        return NULL;
    }
    return q;
}

sioc__redis_query *sioc__redis_command(sioc__redis *r, int argc, const char *const *argv,
                                       const size_t *lens, sioc__redis_reply_cb cb, void *arg)
{
    return query(&r->pub, argc, argv, lens, cb, arg);
}

sioc__redis_query *sioc__redis_blocking_command(sioc__redis *r, int argc, const char *const *argv,
                                                const size_t *lens, sioc__redis_reply_cb cb,
                                                void *arg)
{
    assert(r->use_block);
    return query(&r->block, argc, argv, lens, cb, arg);
}

void sioc__redis_use_blocking(sioc__redis *r)
{
    if (!r->use_block && !r->closing) {
        r->use_block = true;
        connect_conn(&r->block);
    }
}

bool sioc__redis_blocking_ready(const sioc__redis *r)
{
    return r->block.ready;
}

bool sioc__redis_commands_ready(const sioc__redis *r)
{
    return r->pub.ready;
}

void sioc__redis_on_ready(sioc__redis *r, void (*cb)(void *arg, bool blocking), void *arg)
{
    r->on_ready = cb;
    r->ready_arg = arg;
}

sioc__redis_query *sioc__redis_numsub(sioc__redis *r, const char *channel, bool sharded,
                                      sioc__redis_count_cb cb, void *arg)
{
    sioc__redis_query *q = sioc__redis_up(r) ? calloc(1, sizeof(*q)) : NULL;
    if (!q) {
        return NULL;
    }
    q->count = cb;
    q->arg = arg;
    const char *argv[] = {"PUBSUB", sharded ? "SHARDNUMSUB" : "NUMSUB", channel};
    size_t lens[] = {6, strlen(argv[1]), strlen(channel)};
    if (command(&r->pub, 3, argv, lens, on_numsub, q) < 0) {
        free(q);
        return NULL;
    }
    return q;
}

void sioc__redis_query_cancel(sioc__redis_query *q)
{
    q->count = NULL;
    q->reply = NULL;
    q->arg = NULL;
}

sioc__redis_sub *sioc__redis_subscribe(sioc__redis *r, const char *channel, sioc__redis_kind kind,
                                       sioc__redis_message_cb cb, void *arg)
{
    /* The same channel again (a dynamic namespace made anew): its subscription still stands. */
    for (sioc__link *l = r->subs.next; l != &r->subs; l = l->next) {
        sioc__redis_sub *old = (sioc__redis_sub *)l;
        if (!old->cb && old->kind == kind && strcmp(old->channel, channel) == 0) {
            old->cb = cb;
            old->arg = arg;
            if (!old->live && r->sub.ready) {
                send_subscribe(&r->sub, old);
            }
            return old;
        }
    }
    sioc__redis_sub *sub = calloc(1, sizeof(*sub));
    if (!sub || !(sub->channel = strdup(channel))) {
        free(sub);
        return NULL;
    }
    sub->kind = kind;
    sub->cb = cb;
    sub->arg = arg;
    sioc__list_append(&r->subs, &sub->link);
    if (r->sub.ready) {
        send_subscribe(&r->sub, sub);
    }
    return sub;
}

/* The subscription stays with Redis, unheard (a namespace made again under the name takes it back,
 * above): the cluster keeps counting this node, as Node's adapter's subscriptions outlive a
 * namespace too. */
void sioc__redis_unsubscribe(sioc__redis *r, sioc__redis_sub *sub)
{
    (void)r;
    sub->cb = NULL;
    sub->arg = NULL;
}

void sioc__redis_sunsubscribe(sioc__redis *r, sioc__redis_sub *sub)
{
    assert(sub->kind == SIOC__REDIS_SHARDED);
    if (sub->live && r->sub.ready) {
        const char *argv[] = {"SUNSUBSCRIBE", sub->channel};
        size_t lens[] = {12, strlen(sub->channel)};
        command(&r->sub, 2, argv, lens, NULL, NULL); /* what it still hears finds no one */
    }
    sioc__list_remove(&sub->link);
    free(sub->channel);
    free(sub);
}

int sioc__redis_spublish(sioc__redis *r, const char *channel, const void *message, size_t len)
{
    if (!r->pub.ready) {
        return SIOC_ERR_CLOSED;
    }
    const char *argv[] = {"SPUBLISH", channel, message};
    size_t lens[] = {8, strlen(channel), len};
    return command(&r->pub, 3, argv, lens, NULL, NULL) == 0 ? 0 : SIOC_ERR_CLOSED;
}

static void close_conn(conn *c)
{
    uv_timer_stop(&c->retry);
    uv_close((uv_handle_t *)&c->retry, NULL);
    let_go(c);
}

void sioc__redis_close(sioc__redis *r)
{
    if (r && !r->closing) {
        r->closing = true;
        close_conn(&r->pub);
        close_conn(&r->sub);
        close_conn(&r->block);
    }
}

void sioc__redis_free(sioc__redis *r)
{
    if (!r) {
        return;
    }
    sioc__redis_close(r);
    while (!sioc__list_empty(&r->subs)) {
        sioc__redis_sub *sub = (sioc__redis_sub *)r->subs.next;
        sioc__list_remove(&sub->link);
        free(sub->channel);
        free(sub);
    }
    sioc__resp_free(r->pub.proto);
    sioc__resp_free(r->sub.proto);
    sioc__resp_free(r->block.proto);
    sioc__buf_free(&r->pub.out);
    sioc__buf_free(&r->sub.out);
    sioc__buf_free(&r->block.out);
    free(r->host);
    free(r->password);
    free(r);
}
