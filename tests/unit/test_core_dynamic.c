/* Dynamic namespaces (src/core/dynamic.c), over fake connections: a CONNECT to a name a parent
 * accepts (by pattern or callback) creates a child that inherits the parent's listeners and
 * middleware as Node's createChild does; other names are refused; past the limit a CONNECT is
 * refused with "Namespace limit reached"; an emptied child goes when the option asks for it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;
static int connections;
static const char *last_nsp;

static void setup(void)
{
    fake_core_start(&f);
    connections = 0;
    last_nsp = NULL;
}

static void teardown(void)
{
    fake_core_stop(&f);
}

/* Session i sends CONNECT for namespace `name`; returns the first packet it was answered with. */
static const char *connect_to(int i, const char *name)
{
    static char out[256];
    char packet[128];
    int n = snprintf(packet, sizeof(packet), "0%s,", name);
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, packet, (size_t)n};
    sioc__session_receive(f.sessions[i], &p);
    out[0] = '\0';
    sioc_conn *s = f.sessions[i];
    sioc__msg *m = sioc__session_ws_next(s, s->ws);
    if (m) {
        snprintf(out, sizeof(out), "%s", sioc__msg_payload(m));
    }
    fake_core_drain(s);
    return out;
}

static void on_connection(sioc_socket *s, void *user_data)
{
    (void)user_data;
    connections++;
    last_nsp = sioc_namespace_name(sioc_socket_namespace(s));
}

static void tag(sioc_socket *s, sioc_next *next, void *user_data)
{
    sioc_socket_set_data(s, user_data);
    sioc_next_accept(next);
}

static bool only_rooms(const char *name, json_t *auth, void *user_data)
{
    (void)auth;
    (void)user_data;
    return strncmp(name, "/room-", 6) == 0;
}

START_TEST(a_matching_name_creates_a_child_with_the_parents_listeners)
{
    sioc_namespace *parent = sioc__core_parent_new(f.sio, "^/dyn-[0-9]+$", NULL, NULL);
    ck_assert_ptr_nonnull(parent);
    static char mark[] = "tagged";
    sioc_namespace_use(parent, tag, mark);
    sioc_namespace_on_connection(parent, on_connection, NULL);
    ck_assert_ptr_null(sioc__core_find(f.sio, "/dyn-1"));
    ck_assert_int_eq(strncmp(connect_to(0, "/dyn-1"), "40/dyn-1,{\"sid\":", 16), 0);
    sioc_namespace *child = sioc__core_find(f.sio, "/dyn-1");
    ck_assert_ptr_nonnull(child);
    ck_assert_int_eq(connections, 1);
    ck_assert_str_eq(last_nsp, "/dyn-1");
    /* The same child for the next socket, not a second one. */
    connect_to(1, "/dyn-1");
    ck_assert_ptr_eq(sioc__core_find(f.sio, "/dyn-1"), child);
    ck_assert_uint_eq(child->sockets.count, 2);
    /* The parent's middleware ran for both. */
    sioc_socket **list;
    size_t n;
    ck_assert_int_eq(sioc__select_list(child, NULL, &list, &n), 0);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_eq(sioc_socket_get_data(list[i]), mark);
        sioc__socket_unref(list[i]);
    }
    free(list);
}
END_TEST

START_TEST(a_callback_decides_and_other_names_are_refused)
{
    sioc__core_parent_new(f.sio, NULL, only_rooms, NULL);
    ck_assert_int_eq(strncmp(connect_to(0, "/room-a"), "40/room-a,", 10), 0);
    ck_assert_str_eq(connect_to(1, "/hall"), "44/hall,{\"message\":\"Invalid namespace\"}");
    ck_assert_ptr_null(sioc__core_find(f.sio, "/hall"));
}
END_TEST

START_TEST(past_the_limit_a_connect_is_refused_and_a_freed_slot_is_reused)
{
    f.sio->max_children = 1;
    f.sio->cleanup_empty_children = true;
    sioc__core_parent_new(f.sio, "^/dyn-[0-9]+$", NULL, NULL);
    ck_assert_int_eq(strncmp(connect_to(0, "/dyn-1"), "40/dyn-1,", 9), 0);
    ck_assert_str_eq(connect_to(1, "/dyn-2"), "44/dyn-2,{\"message\":\"Namespace limit reached\"}");
    /* The child empties; it goes from the next tick, and its slot with it. */
    sioc__eio_packet leave = {SIOC__EIO_MESSAGE, false, "1/dyn-1,", 8};
    sioc__session_receive(f.sessions[0], &leave);
    ck_assert_ptr_nonnull(sioc__core_find(f.sio, "/dyn-1"));
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + 20);
    ck_assert_ptr_null(sioc__core_find(f.sio, "/dyn-1"));
    ck_assert_int_eq(strncmp(connect_to(1, "/dyn-2"), "40/dyn-2,", 9), 0);
}
END_TEST

START_TEST(without_the_option_an_emptied_child_stays)
{
    sioc__core_parent_new(f.sio, "^/dyn-[0-9]+$", NULL, NULL);
    connect_to(2, "/dyn-3");
    sioc__eio_packet leave = {SIOC__EIO_MESSAGE, false, "1/dyn-3,", 8};
    sioc__session_receive(f.sessions[2], &leave);
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + 1000);
    ck_assert_ptr_nonnull(sioc__core_find(f.sio, "/dyn-3"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_dynamic");
    TCase *tc = tcase_create("dynamic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_matching_name_creates_a_child_with_the_parents_listeners);
    tcase_add_test(tc, a_callback_decides_and_other_names_are_refused);
    tcase_add_test(tc, past_the_limit_a_connect_is_refused_and_a_freed_slot_is_reused);
    tcase_add_test(tc, without_the_option_an_emptied_child_stays);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
