/* The Redis protocol without a connection (src/adapter/resp.c): commands as Redis reads them,
 * replies to the commands they answer in order, whatever way the bytes are cut, messages of the
 * three kinds (sharded ones included, which hiredis's own dispatcher drops) among replies,
 * subscription confirmations counted per channel, and what is not RESP or was not asked for
 * refused. The reply bytes are what redis-server 7 sends. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/resp.h"
#include "check_main.h"

static sioc__resp *c;
static sioc__buf out;
static char log_[4096]; /* what the callbacks saw, in order */

static void seen(const char *what)
{
    strncat(log_, what, sizeof(log_) - strlen(log_) - 1);
}

static void describe(const redisReply *r)
{
    char buf[256];
    if (!r) {
        seen("lost");
        return;
    }
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        snprintf(buf, sizeof(buf), "\"%.*s\"", (int)r->len, r->str);
        break;
    case REDIS_REPLY_ERROR:
        snprintf(buf, sizeof(buf), "!%.*s", (int)r->len, r->str);
        break;
    case REDIS_REPLY_INTEGER:
        snprintf(buf, sizeof(buf), "%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        snprintf(buf, sizeof(buf), "nil");
        break;
    default:
        seen("[");
        for (size_t i = 0; i < r->elements; i++) {
            seen(i ? "," : "");
            describe(r->element[i]);
        }
        seen("]");
        return;
    }
    seen(buf);
}

static void on_reply(const redisReply *r, void *arg)
{
    seen((const char *)arg);
    seen("=");
    describe(r);
    seen(" ");
}

static void on_message(void *arg, const sioc__resp_message *m)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s%.*s%s%.*s:%zu ", m->sharded ? "s:" : "m:", (int)m->pattern_len,
             m->pattern ? m->pattern : "", m->pattern ? "~" : "", (int)m->channel_len, m->channel,
             m->len);
    seen(buf);
    ck_assert_ptr_eq(arg, &out);
}

static void setup(void)
{
    c = sioc__resp_new(on_message, &out);
    ck_assert_ptr_nonnull(c);
    memset(&out, 0, sizeof(out));
    log_[0] = '\0';
}

static void teardown(void)
{
    sioc__resp_free(c);
    sioc__buf_free(&out);
}

static void command(const char *tag, int argc, const char *const *argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    ck_assert_int_eq(sioc__resp_command(c, &out, argc, argv, lens, on_reply, (void *)tag), 0);
}

static void feed(const char *bytes)
{
    const char *why = NULL;
    ck_assert_msg(sioc__resp_feed(c, bytes, strlen(bytes), &why) == 0, "%s", why);
}

START_TEST(commands_go_out_as_redis_reads_them_and_replies_come_back_in_order)
{
    const char *get[] = {"GET", "k"}, *set[] = {"SET", "k", "a b"}, *ping[] = {"PING"};
    command("get", 2, get);
    command("set", 3, set);
    command("ping", 1, ping);
    ck_assert_uint_eq(out.len, strlen("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
                                      "$3\r\na b\r\n*1\r\n$4\r\nPING\r\n"));
    ck_assert(memcmp(out.data, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n", 33) == 0);
    ck_assert_uint_eq(sioc__resp_pending(c), 3);
    feed("$-1\r\n+OK\r\n+PONG\r\n");
    ck_assert_str_eq(log_, "get=nil set=\"OK\" ping=\"PONG\" ");
    ck_assert_uint_eq(sioc__resp_pending(c), 0);
}
END_TEST

/* The same replies however the reads cut them: one byte at a time. */
START_TEST(replies_cut_anywhere_are_put_together)
{
    const char *xr[] = {"XRANGE", "s", "-", "+"}, *n[] = {"INCR", "n"};
    command("xrange", 4, xr);
    command("incr", 2, n);
    const char *bytes = "*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$2\r\nv\x00\r\n:42\r\n";
    size_t len =
        strlen("*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$2\r\nv") + 1 + 2 + strlen(":42\r\n");
    for (size_t i = 0; i < len; i++) {
        const char *why = NULL;
        ck_assert_msg(sioc__resp_feed(c, bytes + i, 1, &why) == 0, "%s", why);
    }
    ck_assert_str_eq(log_, "xrange=[[\"1-0\",[\"f\",\"v\"]]] incr=42 ");
}
END_TEST

/* SSUBSCRIBE of two channels: two confirmations, then its callback; sharded messages reach the
 * message callback, a PING's reply (an array on a subscribed connection) its own. */
START_TEST(sharded_subscriptions_are_confirmed_per_channel_and_their_messages_heard)
{
    const char *sub[] = {"SSUBSCRIBE", "socket.io#/#", "socket.io#/#u1#"}, *ping[] = {"PING"};
    command("ssub", 3, sub);
    ck_assert(sioc__resp_subscribed(c));
    command("ping", 1, ping);
    feed("*3\r\n$10\r\nssubscribe\r\n$12\r\nsocket.io#/#\r\n:1\r\n");
    ck_assert_str_eq(log_, "");
    feed("*3\r\n$10\r\nssubscribe\r\n$15\r\nsocket.io#/#u1#\r\n:2\r\n"
         "*3\r\n$8\r\nsmessage\r\n$12\r\nsocket.io#/#\r\n$5\r\nhello\r\n"
         "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    ck_assert_str_eq(log_, "ssub=[\"ssubscribe\",\"socket.io#/#u1#\",2] s:socket.io#/#:5 "
                           "ping=[\"pong\",\"\"] ");
}
END_TEST

START_TEST(plain_and_pattern_messages_carry_their_channel_and_pattern)
{
    const char *psub[] = {"PSUBSCRIBE", "socket.io#/#*"};
    command("psub", 2, psub);
    feed("*3\r\n$10\r\npsubscribe\r\n$13\r\nsocket.io#/#*\r\n:1\r\n"
         "*4\r\n$8\r\npmessage\r\n$13\r\nsocket.io#/#*\r\n$14\r\nsocket.io#/"
         "#r#\r\n$3\r\n\x01\x02\x03\r\n"
         "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$0\r\n\r\n");
    ck_assert_str_eq(log_, "psub=[\"psubscribe\",\"socket.io#/#*\",1] "
                           "m:socket.io#/#*~socket.io#/#r#:3 m:c:0 ");
}
END_TEST

/* A refused subscription (e.g. a channel of another shard) ends its command at once. */
START_TEST(an_error_answers_a_subscription_whole)
{
    const char *sub[] = {"SSUBSCRIBE", "a", "b"}, *get[] = {"GET", "k"};
    command("ssub", 3, sub);
    command("get", 2, get);
    feed("-CROSSSLOT Keys in request don't hash to the same slot\r\n$1\r\nv\r\n");
    ck_assert_str_eq(log_,
                     "ssub=!CROSSSLOT Keys in request don't hash to the same slot get=\"v\" ");
}
END_TEST

/* What a connection that never subscribed receives is a reply, whatever it looks like. */
START_TEST(an_array_that_looks_like_a_message_is_a_reply_when_not_subscribed)
{
    const char *lr[] = {"LRANGE", "l", "0", "-1"};
    command("lrange", 4, lr);
    feed("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nd\r\n");
    ck_assert_str_eq(log_, "lrange=[\"message\",\"c\",\"d\"] ");
}
END_TEST

START_TEST(what_is_not_resp_or_was_not_asked_for_is_refused)
{
    const char *why = NULL;
    ck_assert_int_eq(sioc__resp_feed(c, "+OK\r\n", 5, &why), -1);
    ck_assert_str_eq(why, "a reply nobody asked for");
    sioc__resp_reset(c);
    const char *get[] = {"GET", "k"};
    command("get", 2, get);
    ck_assert_int_eq(sioc__resp_feed(c, "?what\r\n", 7, &why), -1);
    ck_assert_str_eq(why, "not RESP");
    sioc__resp_reset(c); /* the GET is lost */
    ck_assert_str_eq(log_, "get=lost ");
    /* A confirmation that no subscription asked for. */
    command("get", 2, get);
    const char *conf = "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n";
    ck_assert_int_eq(sioc__resp_feed(c, conf, strlen(conf), &why), -1);
    ck_assert_str_eq(why, "a subscription confirmed that was not asked for");
    sioc__resp_reset(c);
    /* A message of the wrong shape on a subscribed connection. */
    const char *sub[] = {"SUBSCRIBE", "c"};
    command("sub", 2, sub);
    const char *bad = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n:1\r\n";
    ck_assert_int_eq(sioc__resp_feed(c, bad, strlen(bad), &why), -1);
    ck_assert_str_eq(why, "a malformed message");
}
END_TEST

/* The connection lost: every awaited reply is told, in order, and a callback may queue more,
 * which are told too; the subscriptions are forgotten. */
static void queue_another(const redisReply *r, void *arg)
{
    on_reply(r, arg);
    if (strcmp(arg, "first") == 0) {
        const char *ping[] = {"PING"};
        command("queued-in-callback", 1, ping);
    }
}

START_TEST(a_lost_connection_tells_every_awaited_reply)
{
    const char *ping[] = {"PING"}, *sub[] = {"SUBSCRIBE", "c"};
    size_t lens[] = {4};
    ck_assert_int_eq(sioc__resp_command(c, &out, 1, ping, lens, queue_another, "first"), 0);
    command("sub", 2, sub);
    sioc__resp_reset(c);
    ck_assert_str_eq(log_, "first=lost sub=lost queued-in-callback=lost ");
    ck_assert_uint_eq(sioc__resp_pending(c), 0);
    ck_assert(!sioc__resp_subscribed(c));
}
END_TEST

START_TEST(subscription_commands_must_name_their_channels)
{
    const char *unsub[] = {"UNSUBSCRIBE"};
    size_t lens[] = {11};
    ck_assert_int_eq(sioc__resp_command(c, &out, 1, unsub, lens, on_reply, "x"), -1);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_uint_eq(sioc__resp_pending(c), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("resp");
    TCase *tc = tcase_create("resp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, commands_go_out_as_redis_reads_them_and_replies_come_back_in_order);
    tcase_add_test(tc, replies_cut_anywhere_are_put_together);
    tcase_add_test(tc, sharded_subscriptions_are_confirmed_per_channel_and_their_messages_heard);
    tcase_add_test(tc, plain_and_pattern_messages_carry_their_channel_and_pattern);
    tcase_add_test(tc, an_error_answers_a_subscription_whole);
    tcase_add_test(tc, an_array_that_looks_like_a_message_is_a_reply_when_not_subscribed);
    tcase_add_test(tc, what_is_not_resp_or_was_not_asked_for_is_refused);
    tcase_add_test(tc, a_lost_connection_tells_every_awaited_reply);
    tcase_add_test(tc, subscription_commands_must_name_their_channels);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
