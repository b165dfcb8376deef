/* The client (src/core/client.c): one Engine.IO connection carrying sockets in several namespaces,
 * over fake connections. A connection that joins no namespace within connectTimeout is closed;
 * leaving one namespace keeps the others; a server-side disconnect with close ends them all and
 * the connection. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;
static int disconnects;
static char reasons[256];

static void setup(void)
{
    fake_core_start(&f);
    disconnects = 0;
    reasons[0] = '\0';
}

static void teardown(void)
{
    fake_core_stop(&f);
}

static void receive(sioc_conn *s, const char *packet)
{
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, packet, strlen(packet)};
    sioc__session_receive(s, &p);
    fake_core_drain(s);
}

/* Whether the session with this sid still exists (a closed one is freed). */
static bool alive(const char *sid)
{
    sioc_conn *s = sioc__engine_find(f.eng, sid, strlen(sid));
    return s && s->state == SIOC__OPEN;
}

static void on_disconnect(sioc_socket *s, const char *reason, void *user_data)
{
    (void)user_data;
    disconnects++;
    strncat(reasons, sioc_namespace_name(sioc_socket_namespace(s)),
            sizeof(reasons) - strlen(reasons) - 1);
    strncat(reasons, ":", sizeof(reasons) - strlen(reasons) - 1);
    strncat(reasons, reason, sizeof(reasons) - strlen(reasons) - 1);
    strncat(reasons, ";", sizeof(reasons) - strlen(reasons) - 1);
}

START_TEST(a_connection_that_joins_nothing_in_time_is_closed)
{
    f.sio->connect_timeout_ms = 1000; /* for connections opened from now on */
    static int idle_conn, joining_conn;
    sioc_conn *idle = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &idle_conn, NULL, 4, NULL);
    sioc_conn *joining = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &joining_conn, NULL, 4, NULL);
    fake_core_drain(idle);
    fake_core_drain(joining);
    char idle_sid[32], joining_sid[32];
    snprintf(idle_sid, sizeof(idle_sid), "%s", idle->sid);
    snprintf(joining_sid, sizeof(joining_sid), "%s", joining->sid);
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + 500);
    receive(joining, "0");
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + 600);
    ck_assert(!alive(idle_sid));
    ck_assert(alive(joining_sid));
}
END_TEST

START_TEST(one_connection_many_namespaces_each_left_on_its_own)
{
    sioc_namespace *chat = sioc__core_of(f.sio, "/chat");
    sioc_namespace_on_disconnect(chat, on_disconnect, NULL);
    sioc_namespace_on_disconnect(f.root, on_disconnect, NULL);
    receive(f.sessions[0], "0/chat,");
    ck_assert_uint_eq(chat->sockets.count, 1);
    receive(f.sessions[0], "1/chat,"); /* the client leaves /chat only */
    ck_assert_uint_eq(chat->sockets.count, 0);
    ck_assert_str_eq(reasons, "/chat:client namespace disconnect;");
    ck_assert_int_eq(f.sessions[0]->state, SIOC__OPEN);
    ck_assert_uint_eq(f.root->sockets.count, FAKE_CORE_CONNS);
}
END_TEST

START_TEST(a_disconnect_with_close_ends_every_socket_and_the_connection)
{
    sioc_namespace *chat = sioc__core_of(f.sio, "/chat");
    sioc_namespace_on_disconnect(chat, on_disconnect, NULL);
    sioc_namespace_on_disconnect(f.root, on_disconnect, NULL);
    receive(f.sessions[1], "0/chat,");
    char sid[32];
    snprintf(sid, sizeof(sid), "%s", f.sessions[1]->sid);
    sioc_socket_disconnect(f.sockets[1], true);
    ck_assert_int_eq(disconnects, 2);
    ck_assert_ptr_nonnull(strstr(reasons, "/chat:server namespace disconnect;"));
    ck_assert_ptr_nonnull(strstr(reasons, "/:server namespace disconnect;"));
    ck_assert(!alive(sid));
    ck_assert_uint_eq(f.root->sockets.count, FAKE_CORE_CONNS - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_client");
    TCase *tc = tcase_create("client");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_connection_that_joins_nothing_in_time_is_closed);
    tcase_add_test(tc, one_connection_many_namespaces_each_left_on_its_own);
    tcase_add_test(tc, a_disconnect_with_close_ends_every_socket_and_the_connection);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
