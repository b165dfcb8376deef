/* The link to Redis (src/adapter/redis.c) against a real redis-server started here on a free
 * port: plain, pattern and sharded subscriptions hear what is published to them (binary-safe),
 * PUBSUB NUMSUB and SHARDNUMSUB count them, a sharded subscription undone hears nothing more, and
 * after redis-server is killed and started again the link comes back by itself and subscribes
 * again. */
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "adapter/redis.h"
#include "check_main.h"
#include "sioc.h"

static uv_loop_t loop;
static sioc__redis *link_;
static pid_t server;
static int port;
static char heard[4][64];
static size_t heard_len[4];
static int heard_count[4];
static long counted;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void start_server(void)
{
    char p[8];
    snprintf(p, sizeof(p), "%d", port);
    server = fork();
    ck_assert_int_ge(server, 0);
    if (server == 0) {
        if (!freopen("/dev/null", "w", stdout)) {
            _exit(126);
        }
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127); /* no redis-server: the test fails below */
    }
}

static void stop_server(void)
{
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
}

static void tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until `done` or `ms` pass; returns whether `done`. */
static bool run_until(bool (*done)(void), unsigned ms)
{
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, tick, 5, 5);
    uint64_t end = uv_now(&loop) + ms;
    while (!(done && done()) && uv_now(&loop) < end) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return done && done();
}

static bool up(void)
{
    return sioc__redis_up(link_);
}

static void on_message(void *arg, const char *channel, size_t channel_len, const char *message,
                       size_t len)
{
    int i = (int)(size_t)arg;
    heard_count[i]++;
    heard_len[i] = len < sizeof(heard[i]) ? len : sizeof(heard[i]);
    memcpy(heard[i], message, heard_len[i]);
    (void)channel;
    (void)channel_len;
}

static void on_count(long count, void *arg)
{
    (void)arg;
    counted = count;
}

static bool has_count(void)
{
    return counted != -2;
}

static long count_of(const char *channel, bool sharded)
{
    counted = -2;
    ck_assert_ptr_nonnull(sioc__redis_numsub(link_, channel, sharded, on_count, NULL));
    ck_assert(run_until(has_count, 2000));
    return counted;
}

static int target;
static int target_count;
static bool heard_target(void)
{
    return heard_count[target] >= target_count;
}

static void expect_heard(int i, const char *what, size_t len)
{
    target = i;
    target_count = heard_count[i] + 1;
    ck_assert_msg(run_until(heard_target, 2000), "subscription %d heard nothing", i);
    ck_assert_uint_eq(heard_len[i], len);
    ck_assert(memcmp(heard[i], what, len) == 0);
}

START_TEST(every_kind_of_subscription_hears_and_comes_back_after_redis_does)
{
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    port = free_port();
    start_server();
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    link_ = sioc__redis_new(url, &loop);
    ck_assert_ptr_nonnull(link_);
    ck_assert_msg(run_until(up, 5000), "the link did not come up (is redis-server installed?)");

    sioc__redis_sub *a = sioc__redis_subscribe(link_, "t#a#", SIOC__REDIS_SHARDED, on_message, 0);
    sioc__redis_sub *b =
        sioc__redis_subscribe(link_, "t#b#", SIOC__REDIS_SHARDED, on_message, (void *)1);
    ck_assert_ptr_nonnull(
        sioc__redis_subscribe(link_, "t#c", SIOC__REDIS_CHANNEL, on_message, (void *)2));
    ck_assert_ptr_nonnull(
        sioc__redis_subscribe(link_, "t#*x", SIOC__REDIS_PATTERN, on_message, (void *)3));
    ck_assert(a && b);
    run_until(NULL, 200); /* the confirmations */
    ck_assert_int_eq(count_of("t#a#", true), 1);
    ck_assert_int_eq(count_of("t#c", false), 1);
    ck_assert_int_eq(count_of("t#a#", false), 0); /* a sharded channel is not a plain one */

    ck_assert_int_eq(sioc__redis_spublish(link_, "t#a#", "hi\0there", 8), 0);
    expect_heard(0, "hi\0there", 8);
    ck_assert_int_eq(sioc__redis_publish(link_, "t#c", "plain", 5), 0);
    expect_heard(2, "plain", 5);
    ck_assert_int_eq(sioc__redis_publish(link_, "t#zx", "matched", 7), 0);
    expect_heard(3, "matched", 7);
    ck_assert_int_eq(heard_count[1], 0);

    sioc__redis_sunsubscribe(link_, a);
    run_until(NULL, 100);
    ck_assert_int_eq(count_of("t#a#", true), 0);
    ck_assert_int_eq(sioc__redis_spublish(link_, "t#a#", "gone", 4), 0);
    run_until(NULL, 200);
    ck_assert_int_eq(heard_count[0], 1);

    /* Redis killed and started again: the link comes back and subscribes again. */
    stop_server();
    ck_assert(!run_until(up, 300) || !up());
    start_server();
    ck_assert_msg(run_until(up, 8000), "the link did not come back");
    run_until(NULL, 200);
    ck_assert_int_eq(count_of("t#b#", true), 1);
    ck_assert_int_eq(sioc__redis_spublish(link_, "t#b#", "again", 5), 0);
    expect_heard(1, "again", 5);

    sioc__redis_close(link_);
    run_until(NULL, 50); /* the loop lets go of the link's handles */
    sioc__redis_free(link_);
    stop_server();
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis_link");
    TCase *tc = tcase_create("redis_link");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_kind_of_subscription_hears_and_comes_back_after_redis_does);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
