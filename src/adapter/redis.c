/* The link to Redis (redis.h): two hiredis asynchronous connections on the server's libuv loop,
 * one for commands (PUBLISH) and one for subscriptions, each reconnected on its own with a backoff
 * from 100 ms to 5 s. A lost link is logged once, and once again when it is back; subscriptions
 * are made again on every new subscription connection, exactly once each, so that the cluster
 * counts this node once. */
#include "adapter/redis.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/list.h"
#include "util/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct sioc__redis_sub {
    sioc__link link; /* first: in the link's list */
    char *channel;
    bool pattern;
    sioc__redis_message_cb cb; /* NULL once unsubscribed */
    void *arg;
    bool live; /* subscribed on the current subscription connection */
};

/* One of the two connections. */
typedef struct conn {
    sioc__redis *r;
    redisAsyncContext *ac; /* NULL while down */
    bool ready;            /* connected, authenticated */
    bool subscriber;
    uv_timer_t retry;
    unsigned backoff_ms;
} conn;

struct sioc__redis {
    uv_loop_t *loop;
    char *host;
    int port;
    char *password;
    int db;
    conn pub, sub;
    sioc__link subs; /* sioc__redis_sub */
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
    return c->subscriber ? "subscriptions" : "commands";
}

static void became_up(sioc__redis *r)
{
    if (r->pub.ready && r->sub.ready && r->down_logged) {
        r->down_logged = false;
        sioc__log(SIOC_LOG_WARN, "redis: connected to %s:%d again", r->host, r->port);
    } else if (r->pub.ready && r->sub.ready) {
        sioc__log(SIOC_LOG_INFO, "redis: connected to %s:%d", r->host, r->port);
    }
}

static void went_down(conn *c, const char *why)
{
    sioc__redis *r = c->r;
    c->ac = NULL;
    c->ready = false;
    for (sioc__link *l = r->subs.next; c->subscriber && l != &r->subs; l = l->next) {
        ((sioc__redis_sub *)l)->live = false;
    }
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
}

static void on_retry(uv_timer_t *t)
{
    connect_conn(t->data);
}

static void schedule_retry(conn *c)
{
    if (!c->r->closing) {
        uv_timer_start(&c->retry, on_retry, c->backoff_ms, 0);
    }
}

static void on_message(redisAsyncContext *ac, void *reply, void *priv)
{
    redisReply *m = reply;
    sioc__redis_sub *sub = priv;
    if (!m || m->type != REDIS_REPLY_ARRAY || m->elements < 3 || !sub->cb ||
        m->element[0]->type != REDIS_REPLY_STRING) {
        return; /* the connection going, a subscription's confirmation, or a sub let go of */
    }
    size_t ch = m->elements == 4 ? 2 : 1; /* pmessage: pattern, channel, payload */
    bool message = (m->elements == 3 && strcmp(m->element[0]->str, "message") == 0) ||
                   (m->elements == 4 && strcmp(m->element[0]->str, "pmessage") == 0);
    if (message && m->element[ch]->type == REDIS_REPLY_STRING &&
        m->element[ch + 1]->type == REDIS_REPLY_STRING) {
        sub->cb(sub->arg, m->element[ch]->str, m->element[ch]->len, m->element[ch + 1]->str,
                m->element[ch + 1]->len);
    }
}

static void send_subscribe(conn *c, sioc__redis_sub *sub)
{
    sub->live = true;
    const char *argv[] = {sub->pattern ? "PSUBSCRIBE" : "SUBSCRIBE", sub->channel};
    size_t lens[] = {strlen(argv[0]), strlen(sub->channel)};
    redisAsyncCommandArgv(c->ac, on_message, sub, 2, argv, lens);
}

/* The first reply on a new connection (AUTH, SELECT or PING): it is ready. */
static void on_ready(redisAsyncContext *ac, void *reply, void *priv)
{
    conn *c = priv;
    redisReply *rr = reply;
    if (!rr || c->ac != ac) {
        return;
    }
    if (rr->type == REDIS_REPLY_ERROR) {
        sioc__log(SIOC_LOG_ERROR, "redis: %s:%d refused the %s connection: %s", c->r->host,
                  c->r->port, name_of(c), rr->str);
        redisAsyncDisconnect(ac);
        return;
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
    became_up(c->r);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    conn *c = ac->data;
    if (status != REDIS_OK) {
        went_down(c, ac->errstr);
        schedule_retry(c);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    conn *c = ac->data;
    went_down(c, status == REDIS_OK ? NULL : ac->errstr);
    schedule_retry(c);
}

static void connect_conn(conn *c)
{
    sioc__redis *r = c->r;
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err || redisLibuvAttach(ac, r->loop) != REDIS_OK) {
        went_down(c, ac ? ac->errstr : "out of memory");
        if (ac) {
            redisAsyncFree(ac);
        }
        schedule_retry(c);
        return;
    }
    ac->data = c;
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* hiredis reports the connection with its first command's write: one goes at once. */
    if (r->password) {
        const char *argv[] = {"AUTH", r->password};
        size_t lens[] = {4, strlen(r->password)};
        redisAsyncCommandArgv(ac, c->subscriber ? on_ready : NULL, c, 2, argv, lens);
    }
    if (!c->subscriber && r->db) {
        redisAsyncCommand(ac, NULL, NULL, "SELECT %d", r->db);
    }
    if (!r->password || !c->subscriber) {
        redisAsyncCommand(ac, on_ready, c, "PING");
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
    init_conn(r, &r->pub, false);
    init_conn(r, &r->sub, true);
    connect_conn(&r->pub);
    connect_conn(&r->sub);
    return r;
}

bool sioc__redis_up(const sioc__redis *r)
{
    return r->pub.ready && r->sub.ready;
}

int sioc__redis_publish(sioc__redis *r, const char *channel, const void *message, size_t len)
{
    if (!r->pub.ready) {
        return SIOC_ERR_CLOSED;
    }
    const char *argv[] = {"PUBLISH", channel, message};
    size_t lens[] = {7, strlen(channel), len};
    return redisAsyncCommandArgv(r->pub.ac, NULL, NULL, 3, argv, lens) == REDIS_OK
               ? 0
               : SIOC_ERR_CLOSED;
}

struct sioc__redis_query {
    sioc__redis_count_cb cb; /* NULL once cancelled */
    void *arg;
};

/* hiredis calls every command's callback exactly once, with NULL when the connection goes. */
static void on_numsub(redisAsyncContext *ac, void *reply, void *priv)
{
    sioc__redis_query *q = priv;
    redisReply *rr = reply;
    long count = -1;
    if (rr && rr->type == REDIS_REPLY_ARRAY && rr->elements == 2 &&
        rr->element[1]->type == REDIS_REPLY_INTEGER) {
        count = (long)rr->element[1]->integer;
    }
    if (q->cb) {
        q->cb(count, q->arg);
    }
    free(q);
}

sioc__redis_query *sioc__redis_numsub(sioc__redis *r, const char *channel, sioc__redis_count_cb cb,
                                      void *arg)
{
    sioc__redis_query *q = sioc__redis_up(r) ? calloc(1, sizeof(*q)) : NULL;
    if (!q) {
        return NULL;
    }
    q->cb = cb;
    q->arg = arg;
    const char *argv[] = {"PUBSUB", "NUMSUB", channel};
    size_t lens[] = {6, 6, strlen(channel)};
    if (redisAsyncCommandArgv(r->pub.ac, on_numsub, q, 3, argv, lens) != REDIS_OK) {
        free(q);
        return NULL;
    }
    return q;
}

void sioc__redis_query_cancel(sioc__redis_query *q)
{
    q->cb = NULL;
    q->arg = NULL;
}

sioc__redis_sub *sioc__redis_subscribe(sioc__redis *r, const char *channel, bool pattern,
                                       sioc__redis_message_cb cb, void *arg)
{
    /* The same channel again (a dynamic namespace made anew): its subscription still stands. */
    for (sioc__link *l = r->subs.next; l != &r->subs; l = l->next) {
        sioc__redis_sub *old = (sioc__redis_sub *)l;
        if (!old->cb && old->pattern == pattern && strcmp(old->channel, channel) == 0) {
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
    sub->pattern = pattern;
    sub->cb = cb;
    sub->arg = arg;
    sioc__list_append(&r->subs, &sub->link);
    if (r->sub.ready) {
        send_subscribe(&r->sub, sub);
    }
    return sub;
}

/* The subscription stays with Redis, unheard: hiredis 0.14 files a callback per channel, and an
 * UNSUBSCRIBE's confirmation arriving after the same channel was subscribed to again would take
 * the new callback away. A namespace made again under the name takes it back (above). */
void sioc__redis_unsubscribe(sioc__redis *r, sioc__redis_sub *sub)
{
    (void)r;
    sub->cb = NULL;
    sub->arg = NULL;
}

static void close_conn(conn *c)
{
    uv_timer_stop(&c->retry);
    uv_close((uv_handle_t *)&c->retry, NULL);
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        redisAsyncFree(ac); /* the disconnect callback runs: closing, it only clears */
    }
}

void sioc__redis_close(sioc__redis *r)
{
    if (r && !r->closing) {
        r->closing = true;
        close_conn(&r->pub);
        close_conn(&r->sub);
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
    free(r->host);
    free(r->password);
    free(r);
}
