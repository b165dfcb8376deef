/* The workers' link (src/adapter/bus.c): three links in this process, on one libuv loop, as three
 * workers would be; each listens on a socket bound here as the primary binds them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "adapter/bus.h"
#include "check_main.h"
#include "sioc.h"

enum { W = 3 };

static uv_loop_t loop;
static char group[64];
static sioc__bus *bus[W];
static int ups[W], downs[W];
static char got[W][64];
static size_t got_len[W], big_len[W];
static unsigned got_from[W];
static unsigned frames[W];

static void on_frame(void *arg, unsigned from, const void *data, size_t len)
{
    unsigned me = (unsigned)(size_t)arg;
    frames[me]++;
    got_from[me] = from;
    if (len < sizeof(got[me])) {
        memcpy(got[me], data, len);
        got_len[me] = len;
    } else {
        const unsigned char *p = data;
        size_t i = 0;
        while (i < len && p[i] == (unsigned char)(i * 7)) {
            i++;
        }
        big_len[me] = i == len ? len : 0; /* 0: some byte was wrong */
    }
}

static void on_peer(void *arg, unsigned peer, bool up)
{
    unsigned me = (unsigned)(size_t)arg;
    up ? ups[me]++ : downs[me]++;
}

static int listener(unsigned i)
{
    struct sockaddr_un a;
    unsigned len;
    ck_assert_int_eq(sioc__bus_address(group, i, &a, &len), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, len), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

static void start_on(unsigned i, int fd)
{
    bus[i] = sioc__bus_new(&loop, group, i, W, fd, on_frame, on_peer, (void *)(size_t)i);
    ck_assert_ptr_nonnull(bus[i]);
}

static void start(unsigned i)
{
    start_on(i, listener(i));
}

/* Runs the loop until `done()` or 5 s. */
static void run_until(bool (*done)(void))
{
    for (int i = 0; i < 5000 && !done(); i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    ck_assert(done());
}

static bool all_up(void)
{
    for (unsigned i = 0; i < W; i++) {
        if (!bus[i] || sioc__bus_peers_up(bus[i]) != W - 1) {
            return false;
        }
    }
    return true;
}

static void setup(void)
{
    uv_loop_init(&loop);
    snprintf(group, sizeof(group), "sioc-test-%ld-%ld", (long)getpid(), random());
    memset(ups, 0, sizeof(ups));
    memset(downs, 0, sizeof(downs));
    memset(frames, 0, sizeof(frames));
    memset(big_len, 0, sizeof(big_len));
    for (unsigned i = 0; i < W; i++) {
        start(i);
    }
    run_until(all_up);
}

static void teardown(void)
{
    for (unsigned i = 0; i < W; i++) {
        sioc__bus_free(bus[i]);
        bus[i] = NULL;
    }
    uv_run(&loop, UV_RUN_DEFAULT); /* the handles close */
    ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static bool two_got(void)
{
    return frames[1] == 1 && frames[2] == 1;
}

START_TEST(every_worker_reaches_every_other_and_frames_say_who_sent_them)
{
    for (unsigned i = 0; i < W; i++) {
        ck_assert_int_eq(ups[i], W - 1);
    }
    ck_assert_int_eq(sioc__bus_send(bus[0], 1, "hello", 5), 0);
    ck_assert_int_eq(sioc__bus_send(bus[0], 2, "hi", 2), 0);
    ck_assert_int_eq(sioc__bus_send(bus[0], 0, "me", 2), SIOC_ERR_CLOSED); /* not to itself */
    run_until(two_got);
    ck_assert_uint_eq(got_from[1], 0);
    ck_assert_uint_eq(got_len[1], 5);
    ck_assert(memcmp(got[1], "hello", 5) == 0);
    ck_assert_uint_eq(got_from[2], 0);
    ck_assert(memcmp(got[2], "hi", 2) == 0);
}
END_TEST

static bool big_got(void)
{
    return big_len[2] == 3000000 && frames[2] == 2;
}

START_TEST(large_frames_and_empty_ones_arrive_whole_and_in_order)
{
    size_t n = 3000000;
    unsigned char *big = malloc(n);
    for (size_t i = 0; i < n; i++) {
        big[i] = (unsigned char)(i * 7);
    }
    ck_assert_int_eq(sioc__bus_send(bus[1], 2, big, n), 0);
    ck_assert_int_eq(sioc__bus_send(bus[1], 2, "", 0), 0);
    /* Refused before a byte of it is read. */
    ck_assert_int_eq(sioc__bus_send(bus[1], 2, big, SIOC__BUS_MAX_FRAME + 1), SIOC_ERR_TOO_LARGE);
    free(big);
    run_until(big_got);
    ck_assert_uint_eq(got_len[2], 0); /* the empty one came last */
}
END_TEST

static bool one_down(void)
{
    return downs[0] == 1 && downs[2] == 1;
}

static bool one_back(void)
{
    return ups[0] == W && ups[2] == W && all_up();
}

static bool back_got(void)
{
    return frames[1] == 1;
}

START_TEST(a_worker_that_goes_is_said_down_and_reached_again_when_back)
{
    sioc__bus_free(bus[1]);
    bus[1] = NULL;
    run_until(one_down);
    ck_assert_int_eq(sioc__bus_send(bus[0], 1, "x", 1), SIOC_ERR_CLOSED);
    ck_assert_uint_eq(sioc__bus_peers_up(bus[0]), 1);
    /* Its socket listens again (the primary's), nobody reading it: connections wait in its
     * backlog, and the worker is not taken for alive. */
    int fd = listener(1);
    for (int i = 0; i < 300; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    ck_assert_uint_eq(sioc__bus_peers_up(bus[0]), 1);
    ck_assert_int_eq(ups[0], W - 1);
    frames[1] = 0;
    start_on(1, fd); /* started again, on that socket */
    run_until(one_back);
    ck_assert_int_eq(sioc__bus_send(bus[0], 1, "again", 5), 0);
    run_until(back_got);
    ck_assert(memcmp(got[1], "again", 5) == 0);
}
END_TEST

static bool zero_got(void)
{
    return frames[0] == 1;
}

START_TEST(a_stranger_that_names_no_worker_is_let_go_of)
{
    struct sockaddr_un a;
    unsigned len;
    sioc__bus_address(group, 0, &a, &len);
    int bad[3];
    /* Naming itself as worker 0, naming worker 99, announcing a frame of 2 GiB. */
    static const unsigned char hellos[3][8] = {
        {0, 0, 0, 4, 0, 0, 0, 0}, {0, 0, 0, 4, 0, 0, 0, 99}, {0x80, 0, 0, 0, 0, 0, 0, 0}};
    for (int i = 0; i < 3; i++) {
        bad[i] = socket(AF_UNIX, SOCK_STREAM, 0);
        ck_assert_int_eq(connect(bad[i], (struct sockaddr *)&a, len), 0);
        ck_assert_int_eq(write(bad[i], hellos[i], 8), 8);
    }
    for (int i = 0; i < 3; i++) {
        char c;
        for (int k = 0; k < 5000; k++) {
            uv_run(&loop, UV_RUN_NOWAIT);
            if (recv(bad[i], &c, 1, MSG_DONTWAIT) == 0) {
                break; /* closed by worker 0 */
            }
            usleep(1000);
        }
        ck_assert_int_eq(recv(bad[i], &c, 1, MSG_DONTWAIT), 0);
        close(bad[i]);
    }
    ck_assert_int_eq(sioc__bus_send(bus[2], 0, "still", 5), 0);
    run_until(zero_got);
    ck_assert_uint_eq(got_from[0], 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("adapter_bus");
    TCase *tc = tcase_create("bus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_worker_reaches_every_other_and_frames_say_who_sent_them);
    tcase_add_test(tc, large_frames_and_empty_ones_arrive_whole_and_in_order);
    tcase_add_test(tc, a_worker_that_goes_is_said_down_and_reached_again_when_back);
    tcase_add_test(tc, a_stranger_that_names_no_worker_is_let_go_of);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
