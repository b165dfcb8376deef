/* Connection state recovery (src/core/recovery.c and the client's part of it), over fake
 * connections: broadcasts carry an offset; a socket whose connection is lost comes back on a new
 * one with its pid and last offset — same id, rooms and data, and what it missed, in order —
 * unless it waited longer than maxDisconnectionDuration or left for a reason that is not
 * recoverable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;
static int extra[4]; /* addresses for the connections the tests open */

static void setup(void)
{
    fake_core_start(&f);
    f.sio->recovery_ms = 2000; /* for sockets made from now on */
}

static void teardown(void)
{
    fake_core_stop(&f);
}

static const char *sent(sioc_conn *s)
{
    return fake_core_sent(s);
}

/* A new connection that sends `connect` (a Socket.IO CONNECT packet). */
static sioc_conn *open_with(int k, const char *connect)
{
    sioc_conn *s = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &extra[k], NULL, 4, NULL);
    sent(s); /* the open packet */
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, connect, strlen(connect)};
    sioc__session_receive(s, &p);
    return s;
}

/* From `40{"sid":"...","pid":"..."}`: the sid and pid. */
static void ids_of(const char *answer, char *sid, char *pid)
{
    ck_assert_int_eq(sscanf(answer, "40{\"sid\":\"%20[^\"]\",\"pid\":\"%20[^\"]\"}", sid, pid), 2);
}

/* The offset: the last argument of a broadcast "42[...,"<offset>"]". */
static void offset_of(const char *packet, char *offset)
{
    const char *end = strrchr(packet, '"');
    const char *start = end;
    while (start > packet && start[-1] != '"') {
        start--;
    }
    snprintf(offset, 64, "%.*s", (int)(end - start), start);
}

static void emit_news(const char *what)
{
    json_t *args = json_pack("[s]", what);
    ck_assert_int_eq(sioc_namespace_emit(f.root, "news", args), 0);
    json_decref(args);
}

START_TEST(a_socket_comes_back_with_its_id_rooms_and_what_it_missed)
{
    sioc_conn *first = open_with(0, "0");
    char sid[32], pid[32], offset[64], auth[256];
    ids_of(sent(first), sid, pid);
    sioc_socket *s = sioc__map_get(&f.root->sockets, sid, strlen(sid));
    ck_assert_ptr_nonnull(s);
    sioc_socket_join(s, "blue");
    emit_news("one");
    const char *got = sent(first);
    ck_assert_int_eq(strncmp(got, "42[\"news\",\"one\",\"", 17), 0);
    offset_of(got, offset);
    sioc__session_close(first, "transport close", false); /* lost: recoverable */
    emit_news("two");
    emit_news("three");
    snprintf(auth, sizeof(auth), "0{\"pid\":\"%s\",\"offset\":\"%s\"}", pid, offset);
    sioc_conn *second = open_with(1, auth);
    got = sent(second);
    char back[32], pid2[32];
    ids_of(got, back, pid2);
    ck_assert_str_eq(back, sid); /* the same socket id */
    ck_assert_str_eq(pid2, pid);
    ck_assert_ptr_nonnull(strstr(got, "|42[\"news\",\"two\","));
    ck_assert_ptr_nonnull(strstr(got, "|42[\"news\",\"three\","));
    ck_assert(strstr(got, "\"two\"") < strstr(got, "\"three\"")); /* in order */
    ck_assert_ptr_null(strstr(got, "\"one\""));                   /* it had that one */
    s = sioc__map_get(&f.root->sockets, sid, strlen(sid));
    ck_assert(sioc_socket_recovered(s));
    const char *rooms[4];
    ck_assert_uint_eq(sioc_socket_rooms(s, rooms, 4), 2);
    ck_assert_str_eq(rooms[1], "blue");
}
END_TEST

START_TEST(too_late_or_a_chosen_leave_gets_a_new_socket)
{
    char sid[32], pid[32], auth[256], again[32], pid2[32];
    /* Too late: past maxDisconnectionDuration. */
    sioc_conn *a = open_with(0, "0");
    ids_of(sent(a), sid, pid);
    sioc__session_close(a, "transport close", false);
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + 2500);
    snprintf(auth, sizeof(auth), "0{\"pid\":\"%s\",\"offset\":\"0-0\"}", pid);
    sioc_conn *b = open_with(1, auth);
    ids_of(sent(b), again, pid2);
    ck_assert_str_ne(again, sid);
    /* A client that left on purpose (not recoverable) is not kept. */
    sioc__eio_packet leave = {SIOC__EIO_MESSAGE, false, "1", 1};
    sioc__session_receive(b, &leave);
    snprintf(auth, sizeof(auth), "0{\"pid\":\"%s\",\"offset\":\"0-0\"}", pid2);
    sioc_conn *c = open_with(2, auth);
    char third[32], pid3[32];
    ids_of(sent(c), third, pid3);
    ck_assert_str_ne(third, again);
    sioc_socket *s = sioc__map_get(&f.root->sockets, third, strlen(third));
    ck_assert(!sioc_socket_recovered(s));
}
END_TEST

/* The workers' part of the store: broadcasts kept under the offset their worker made, and those
 * a session in some rooms may hear that came after what another worker had seen of each worker
 * (top), in the order kept here. */
START_TEST(the_broadcasts_past_another_workers_view_are_found_in_order)
{
    sioc__recovery_store st = {0};
    const char *const r1[] = {"r1"};
    sioc_target in_r1 = {.rooms = r1, .nrooms = 1};
    /* worker, seq, to r1 only? */
    static const struct {
        unsigned origin;
        uint64_t seq;
        bool r1_only;
    } kept[] = {{0, 1, false}, {1, 7, false}, {0, 2, true}, {1, 8, true},
                {0, 3, false}, {1, 9, false}, {0, 4, true}};
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        char offset[24];
        snprintf(offset, sizeof(offset), "%u:%x", kept[i].origin, (unsigned)kept[i].seq);
        json_t *data = json_pack("[s,i,s]", "e", (int)i, offset);
        ck_assert_int_eq(sioc__recovery_keep_packet(&st, f.sio, kept[i].r1_only ? &in_r1 : NULL,
                                                    data, offset, kept[i].origin, kept[i].seq),
                         0);
        json_decref(data);
    }
    uint64_t top[2] = {2, 8};
    json_t *out = json_array(), *rooms = json_pack("[s]", "other");
    ck_assert_int_eq(sioc__recovery_newer(&st, top, 2, rooms, out), 0);
    char *text = json_dumps(out, JSON_COMPACT);
    ck_assert_str_eq(text, "[[0,3,[\"e\",4,\"0:3\"]],[1,9,[\"e\",5,\"1:9\"]]]"); /* not r1's */
    free(text);
    json_array_clear(out);
    json_decref(rooms);
    rooms = json_pack("[s]", "r1");
    ck_assert_int_eq(sioc__recovery_newer(&st, top, 2, rooms, out), 0);
    text = json_dumps(out, JSON_COMPACT);
    ck_assert_str_eq(text,
                     "[[0,3,[\"e\",4,\"0:3\"]],[1,9,[\"e\",5,\"1:9\"]],[0,4,[\"e\",6,\"0:4\"]]]");
    free(text);
    json_decref(out);
    json_decref(rooms);
    sioc__recovery_free(&st);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_recovery");
    TCase *tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_socket_comes_back_with_its_id_rooms_and_what_it_missed);
    tcase_add_test(tc, too_late_or_a_chosen_leave_gets_a_new_socket);
    tcase_add_test(tc, the_broadcasts_past_another_workers_view_are_found_in_order);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
