/* Acknowledgements the server asks for (src/core/acks.c), over fake connections: from one socket
 * (answered, timed out, or the socket gone first: the callback exactly once) and from every socket
 * a broadcast reaches (answers collected in arrival order until all are in or the time is up). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;

static void setup(void)
{
    fake_core_start(&f);
}

static void teardown(void)
{
    fake_core_stop(&f);
}

/* The ack id of the one EVENT queued for session i ("42<id>[...]"), which is then taken. */
static long queued_ack_id(int i)
{
    sioc__msg *m = sioc__msgq_peek(&f.sessions[i]->queue);
    ck_assert_ptr_nonnull(m);
    const char *p = sioc__msg_payload(m);
    ck_assert_int_eq(strncmp(p, "42", 2), 0);
    long id = strtol(p + 2, NULL, 10);
    fake_core_drain(f.sessions[i]);
    return id;
}

/* Session i's client answers ack `id` with `json` (a JSON array). */
static void answer(int i, long id, const char *json)
{
    char packet[256];
    int n = snprintf(packet, sizeof(packet), "3%ld%s", id, json); /* Socket.IO ACK */
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, packet, (size_t)n};
    sioc__session_receive(f.sessions[i], &p);
}

static void advance(uint64_t ms)
{
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + ms);
}

/* ---- one socket ---- */

static int calls, last_err;
static char last_args[256];

static void on_ack(sioc_socket *s, int err, json_t *args, void *user_data)
{
    (void)s;
    (void)user_data;
    calls++;
    last_err = err;
    last_args[0] = '\0';
    if (args) {
        char *text = json_dumps(args, JSON_COMPACT);
        snprintf(last_args, sizeof(last_args), "%s", text);
        free(text);
    }
}

START_TEST(an_answer_reaches_the_callback_once)
{
    calls = 0;
    json_t *args = json_pack("[i]", 1);
    ck_assert_int_eq(sioc_socket_emit_with_ack(f.sockets[0], "q", args, 1000, on_ack, NULL), 0);
    json_decref(args);
    long id = queued_ack_id(0);
    answer(0, id, "[\"yes\",2]");
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_err, 0);
    ck_assert_str_eq(last_args, "[\"yes\",2]");
    answer(0, id, "[\"again\"]"); /* a second answer to the same id is ignored */
    advance(2000);                /* and the timeout is gone with the first */
    ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(no_answer_in_time_is_a_timeout_and_a_late_one_is_ignored)
{
    calls = 0;
    ck_assert_int_eq(sioc_socket_emit_with_ack(f.sockets[1], "q", NULL, 100, on_ack, NULL), 0);
    long id = queued_ack_id(1);
    advance(50);
    ck_assert_int_eq(calls, 0);
    advance(100);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_err, SIOC_ERR_TIMEOUT);
    answer(1, id, "[\"late\"]");
    ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(a_socket_that_leaves_first_ends_its_waits_with_closed)
{
    calls = 0;
    ck_assert_int_eq(sioc_socket_emit_with_ack(f.sockets[2], "q", NULL, 0, on_ack, NULL), 0);
    ck_assert_int_eq(sioc_socket_emit_with_ack(f.sockets[2], "r", NULL, 5000, on_ack, NULL), 0);
    fake_core_drain(f.sessions[2]);
    sioc_socket_disconnect(f.sockets[2], false);
    ck_assert_int_eq(calls, 2);
    ck_assert_int_eq(last_err, SIOC_ERR_CLOSED);
    advance(10000);
    ck_assert_int_eq(calls, 2);
}
END_TEST

/* ---- broadcasts ---- */

static int bcalls, berr;
static char bresponses[256];

static void on_bcast(int err, json_t *responses, void *user_data)
{
    (void)user_data;
    bcalls++;
    berr = err;
    char *text = json_dumps(responses, JSON_COMPACT);
    snprintf(bresponses, sizeof(bresponses), "%s", text);
    free(text);
}

START_TEST(a_broadcast_collects_every_answer_in_arrival_order)
{
    bcalls = 0;
    ck_assert_int_eq(sioc_namespace_emit_with_ack(f.root, NULL, "poll", NULL, 1000, on_bcast, NULL),
                     0);
    long ids[FAKE_CORE_CONNS];
    for (int i = 0; i < FAKE_CORE_CONNS; i++) {
        ids[i] = queued_ack_id(i);
    }
    const int order[FAKE_CORE_CONNS] = {2, 0, 3, 1};
    for (int k = 0; k < FAKE_CORE_CONNS; k++) {
        ck_assert_int_eq(bcalls, 0);
        char json[32];
        snprintf(json, sizeof(json), "[%d,\"second\"]", order[k]);
        answer(order[k], ids[order[k]], json);
    }
    ck_assert_int_eq(bcalls, 1);
    ck_assert_int_eq(berr, 0);
    ck_assert_str_eq(bresponses, "[2,0,3,1]"); /* the first argument of each answer */
    advance(2000);
    ck_assert_int_eq(bcalls, 1);
}
END_TEST

START_TEST(a_broadcast_times_out_with_the_answers_so_far)
{
    bcalls = 0;
    const char *except[] = {"nobody"};
    sioc_target t = {.except_rooms = except, .nexcept_rooms = 1, .except_socket = f.sockets[3]};
    ck_assert_int_eq(sioc_namespace_emit_with_ack(f.root, &t, "poll", NULL, 300, on_bcast, NULL),
                     0);
    ck_assert_ptr_null(sioc__msgq_peek(&f.sessions[3]->queue)); /* not reached: not waited for */
    long id1 = queued_ack_id(1);
    queued_ack_id(0);
    queued_ack_id(2);
    answer(1, id1, "[\"one\"]");
    advance(200);
    ck_assert_int_eq(bcalls, 0);
    advance(200);
    ck_assert_int_eq(bcalls, 1);
    ck_assert_int_eq(berr, SIOC_ERR_TIMEOUT);
    ck_assert_str_eq(bresponses, "[\"one\"]");
}
END_TEST

START_TEST(a_broadcast_that_reaches_nobody_is_decided_at_once)
{
    bcalls = 0;
    const char *rooms[] = {"empty"};
    sioc_target t = {.rooms = rooms, .nrooms = 1};
    ck_assert_int_eq(sioc_namespace_emit_with_ack(f.root, &t, "poll", NULL, 300, on_bcast, NULL),
                     0);
    ck_assert_int_eq(bcalls, 1);
    ck_assert_int_eq(berr, 0);
    ck_assert_str_eq(bresponses, "[]");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_acks");
    TCase *tc = tcase_create("acks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, an_answer_reaches_the_callback_once);
    tcase_add_test(tc, no_answer_in_time_is_a_timeout_and_a_late_one_is_ignored);
    tcase_add_test(tc, a_socket_that_leaves_first_ends_its_waits_with_closed);
    tcase_add_test(tc, a_broadcast_collects_every_answer_in_arrival_order);
    tcase_add_test(tc, a_broadcast_times_out_with_the_answers_so_far);
    tcase_add_test(tc, a_broadcast_that_reaches_nobody_is_decided_at_once);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
