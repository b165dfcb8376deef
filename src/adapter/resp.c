/* A Redis connection's protocol, sans-I/O (resp.h). The replies a connection awaits are a FIFO:
 * Redis answers in order, except that a subscribed connection also receives messages, and that a
 * subscription command is answered by one confirmation per channel it names. */
#include "adapter/resp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A reply awaited: `confirmations` left for a subscription command, 0 for any other. */
typedef struct awaited {
    sioc__resp_reply_cb cb;
    void *arg;
    int confirmations;
} awaited;

struct sioc__resp {
    redisReader *reader;
    awaited *fifo; /* a ring */
    size_t head, count, cap;
    sioc__resp_message_cb on_message;
    void *arg;
    bool subscribed; /* a subscription command was sent: messages may come */
};

sioc__resp *sioc__resp_new(sioc__resp_message_cb on_message, void *arg)
{
    sioc__resp *c = calloc(1, sizeof(*c));
    if (!c || !(c->reader = redisReaderCreate())) {
        free(c);
        return NULL;
    }
    c->on_message = on_message;
    c->arg = arg;
    return c;
}

static awaited pop(sioc__resp *c)
{
    assert(c->count > 0);
    awaited a = c->fifo[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    return a;
}

/* Every awaited reply gets NULL, in order; a callback may queue more, which get NULL too. */
static void fail_all(sioc__resp *c)
{
    while (c->count) {
        awaited a = pop(c);
        if (a.cb) {
            a.cb(NULL, a.arg);
        }
    }
}

void sioc__resp_free(sioc__resp *c)
{
    if (c) {
        fail_all(c);
        redisReaderFree(c->reader);
        free(c->fifo);
        free(c);
    }
}

void sioc__resp_reset(sioc__resp *c)
{
    redisReader *fresh = redisReaderCreate();
    if (fresh) { /* else the old one goes on: it is only wrong after a protocol error */
        redisReaderFree(c->reader);
        c->reader = fresh;
    }
    c->subscribed = false;
    fail_all(c);
}

size_t sioc__resp_pending(const sioc__resp *c)
{
    return c->count;
}

bool sioc__resp_subscribed(const sioc__resp *c)
{
    return c->subscribed;
}

static bool is_subscription(const char *name, size_t len)
{
    static const char *const names[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                        "unsubscribe", "punsubscribe", "sunsubscribe"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (len == strlen(names[i]) && strncasecmp(name, names[i], len) == 0) {
            return true;
        }
    }
    return false;
}

static int push(sioc__resp *c, awaited a)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        awaited *ring = malloc(cap * sizeof(*ring));
        if (!ring) {
            return -1;
        }
        for (size_t i = 0; i < c->count; i++) {
            ring[i] = c->fifo[(c->head + i) % c->cap];
        }
        free(c->fifo);
        c->fifo = ring;
        c->cap = cap;
        c->head = 0;
    }
    c->fifo[(c->head + c->count) % c->cap] = a;
    c->count++;
    return 0;
}

int sioc__resp_command(sioc__resp *c, sioc__buf *out, int argc, const char *const *argv,
                       const size_t *lens, sioc__resp_reply_cb cb, void *arg)
{
    assert(argc > 0);
    awaited a = {cb, arg, 0};
    if (is_subscription(argv[0], lens[0])) {
        if (argc < 2) {
            return -1;
        }
        a.confirmations = argc - 1;
    }
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, (const char **)argv, lens);
    if (n < 0 || sioc__buf_reserve(out, (size_t)n) < 0 || push(c, a) < 0) {
        redisFreeCommand(cmd);
        return -1;
    }
    sioc__buf_append(out, cmd, (size_t)n); /* room was made */
    redisFreeCommand(cmd);
    c->subscribed |= a.confirmations > 0;
    return 0;
}

static bool kind_is(const redisReply *r, const char *kind)
{
    const redisReply *k = r->element[0];
    return k->type == REDIS_REPLY_STRING && k->len == strlen(kind) &&
           memcmp(k->str, kind, k->len) == 0;
}

static bool all_strings(const redisReply *r)
{
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            return false;
        }
    }
    return true;
}

/* A message on a subscribed connection: 1 (delivered), 0 (not a message), -1 (malformed). */
static int message(sioc__resp *c, const redisReply *r)
{
    if (!c->subscribed || r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
        return 0;
    }
    bool plain = kind_is(r, "message"), sharded = kind_is(r, "smessage");
    bool pattern = kind_is(r, "pmessage");
    if (!plain && !sharded && !pattern) {
        return 0;
    }
    if (r->elements != (pattern ? 4u : 3u) || !all_strings(r)) {
        return -1;
    }
    size_t at = pattern ? 2 : 1;
    sioc__resp_message m = {
        .pattern = pattern ? r->element[1]->str : NULL,
        .pattern_len = pattern ? r->element[1]->len : 0,
        .channel = r->element[at]->str,
        .channel_len = r->element[at]->len,
        .data = r->element[at + 1]->str,
        .len = r->element[at + 1]->len,
        .sharded = sharded,
    };
    if (c->on_message) {
        c->on_message(c->arg, &m);
    }
    return 1;
}

/* A subscription's confirmation: [kind, channel, count]. */
static bool confirmation(const redisReply *r)
{
    static const char *const kinds[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                        "unsubscribe", "punsubscribe", "sunsubscribe"};
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        return false;
    }
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (kind_is(r, kinds[i])) {
            return true;
        }
    }
    return false;
}

/* The reply to the oldest awaited command. -1 when nothing awaited it. */
static int answer(sioc__resp *c, const redisReply *r, const char **why)
{
    if (c->count == 0) {
        *why = "a reply nobody asked for";
        return -1;
    }
    awaited *head = &c->fifo[c->head];
    if (confirmation(r)) {
        if (head->confirmations == 0) {
            *why = "a subscription confirmed that was not asked for";
            return -1;
        }
        if (--head->confirmations > 0) {
            return 0; /* more channels to come */
        }
    } else if (head->confirmations > 0 && r->type != REDIS_REPLY_ERROR) {
        *why = "a subscription answered with neither confirmation nor error";
        return -1;
    }
    awaited a = pop(c);
    if (a.cb) {
        a.cb(r, a.arg);
    }
    return 0;
}

int sioc__resp_feed(sioc__resp *c, const void *bytes, size_t len, const char **why)
{
    if (redisReaderFeed(c->reader, bytes, len) != REDIS_OK) {
        *why = "no memory for a reply";
        return -1;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            *why = "not RESP";
            return -1;
        }
        if (!reply) {
            return 0; /* the rest is still on its way */
        }
        int m = message(c, reply);
        int rc = m < 0 ? -1 : m > 0 ? 0 : answer(c, reply, why);
        if (m < 0) {
            *why = "a malformed message";
        }
        freeReplyObject(reply);
        if (rc < 0) {
            return -1;
        }
    }
}
