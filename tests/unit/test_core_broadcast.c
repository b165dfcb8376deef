/* The Socket.IO core over fake connections: a broadcast is encoded once and shared by every
 * recipient's queue; rooms, except and the sender exclusion reach each socket once. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

#define N_CONNS FAKE_CORE_CONNS

static fake_core f;
static sioc__core *sio;
static sioc_conn **sessions = f.sessions;
static sioc_socket **sockets = f.sockets;

static void setup(void)
{
    fake_core_start(&f);
    sio = f.sio;
}

static void teardown(void)
{
    fake_core_stop(&f);
}

static void drain(sioc_conn *s)
{
    fake_core_drain(s);
}

/* The one message queued for session i, or NULL; checks there is at most one. */
static sioc__msg *queued(int i)
{
    ck_assert_uint_le(sessions[i]->queue.count, 1);
    return sioc__msgq_peek(&sessions[i]->queue);
}

START_TEST(every_socket_joined_and_got_its_own_id)
{
    for (int i = 0; i < N_CONNS; i++) {
        ck_assert_ptr_nonnull(sockets[i]);
        for (int k = 0; k < i; k++) {
            ck_assert_str_ne(sioc_socket_id(sockets[i]), sioc_socket_id(sockets[k]));
        }
    }
}
END_TEST

START_TEST(a_namespace_broadcast_is_encoded_once_and_shared)
{
    json_t *args = json_pack("[s,i]", "hello", 42);
    ck_assert_int_eq(sioc_namespace_emit(sioc__core_of(sio, "/"), "news", args), 0);
    json_decref(args);
    sioc__msg *m = queued(0);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(sioc__msg_payload(m), "42[\"news\",\"hello\",42]");
    for (int i = 1; i < N_CONNS; i++) {
        ck_assert_ptr_eq(queued(i), m); /* the same bytes, not a copy */
    }
    ck_assert_uint_eq(m->refs, N_CONNS);
}
END_TEST

START_TEST(rooms_reach_their_union_once_less_exceptions_and_the_sender)
{
    sioc_socket_join(sockets[0], "a");
    sioc_socket_join(sockets[1], "a");
    sioc_socket_join(sockets[1], "b");
    sioc_socket_join(sockets[2], "b");
    sioc_socket_join(sockets[3], "c");
    const char *rooms[] = {"a", "b"};
    const char *except[] = {"c"};
    sioc_target t = {.rooms = rooms,
                     .nrooms = 2,
                     .except_rooms = except,
                     .nexcept_rooms = 1,
                     .except_socket = sockets[0]};
    ck_assert_int_eq(sioc_namespace_emit_to(sioc__core_of(sio, "/"), &t, "x", NULL), 0);
    ck_assert_ptr_null(queued(0));    /* the sender */
    ck_assert_ptr_nonnull(queued(1)); /* in both rooms, once */
    ck_assert_ptr_eq(queued(2), queued(1));
    ck_assert_ptr_null(queued(3));
    sioc_socket_join(sockets[3], "b"); /* now in b, but still in excluded c */
    drain(sessions[1]);
    drain(sessions[2]);
    ck_assert_int_eq(sioc_namespace_emit_to(sioc__core_of(sio, "/"), &t, "y", NULL), 0);
    ck_assert_ptr_null(queued(3));
}
END_TEST

START_TEST(an_emptied_room_is_deleted_and_a_local_broadcast_still_reaches_local_sockets)
{
    sioc_namespace *root = sioc__core_of(sio, "/");
    sioc_socket_join(sockets[2], "temp");
    ck_assert_ptr_nonnull(sioc__map_get(&root->rooms, "temp", 4));
    sioc_socket_leave(sockets[2], "temp");
    ck_assert_ptr_null(sioc__map_get(&root->rooms, "temp", 4));
    sioc_target local = {.flags = SIOC_EMIT_LOCAL};
    ck_assert_int_eq(sioc_namespace_emit_to(root, &local, "z", NULL), 0);
    for (int i = 0; i < N_CONNS; i++) {
        ck_assert_ptr_nonnull(queued(i));
    }
}
END_TEST

static void ignore_event(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
}

START_TEST(event_names_over_the_limit_are_refused)
{
    sioc_namespace *root = sioc__core_of(sio, "/");
    char name[SIOC_MAX_EVENT_NAME + 2];
    memset(name, 'e', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0'; /* one byte over */
    ck_assert_int_eq(sioc_namespace_on(root, name, ignore_event, NULL), SIOC_ERR_INVALID);
    ck_assert_int_eq(sioc_namespace_emit(root, name, NULL), SIOC_ERR_INVALID);
    name[SIOC_MAX_EVENT_NAME] = '\0'; /* at the limit */
    ck_assert_int_eq(sioc_namespace_on(root, name, ignore_event, NULL), 0);
    ck_assert_int_eq(sioc_namespace_emit(root, name, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_broadcast");
    TCase *tc = tcase_create("broadcast");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_socket_joined_and_got_its_own_id);
    tcase_add_test(tc, a_namespace_broadcast_is_encoded_once_and_shared);
    tcase_add_test(tc, rooms_reach_their_union_once_less_exceptions_and_the_sender);
    tcase_add_test(tc,
                   an_emptied_room_is_deleted_and_a_local_broadcast_still_reaches_local_sockets);
    tcase_add_test(tc, event_names_over_the_limit_are_refused);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
