/* Observers (src/core/observers.c and the places that tell them), over fake connections: any
 * number, each told every event in order, after the application's callback; one may leave from
 * inside a notification. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;

typedef struct watcher {
    char trace[1024];
    int id;
    bool leave_on_first; /* unobserves itself from its first notification */
} watcher;

static watcher a, b;
static char app_trace[256];

static void setup(void)
{
    fake_core_start(&f);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    app_trace[0] = '\0';
}

static void teardown(void)
{
    fake_core_stop(&f);
}

static void add(watcher *w, const char *fmt, const char *x, const char *y)
{
    size_t n = strlen(w->trace);
    snprintf(w->trace + n, sizeof(w->trace) - n, fmt, x, y);
    if (w->leave_on_first) {
        w->leave_on_first = false;
        ck_assert_int_eq(sioc__core_unobserve(f.sio, w->id), 0);
    }
}

static const char *nsp_of(sioc_socket *s)
{
    return sioc_namespace_name(sioc_socket_namespace(s));
}

static void created(sioc_namespace *nsp, void *ud)
{
    add(ud, "created %s%s;", sioc_namespace_name(nsp), "");
}
static void connected(sioc_socket *s, void *ud)
{
    add(ud, "connected %s%s;", nsp_of(s), app_trace[0] ? " after app" : "");
}
static void disconnecting(sioc_socket *s, const char *reason, void *ud)
{
    add(ud, "disconnecting %s %s;", nsp_of(s), reason);
}
static void disconnected(sioc_socket *s, const char *reason, void *ud)
{
    add(ud, "disconnected %s %s;", nsp_of(s), reason);
}
static void joined(sioc_socket *s, const char *room, void *ud)
{
    add(ud, "join %s%s;", strcmp(room, sioc_socket_id(s)) == 0 ? "self" : room, "");
}
static void left(sioc_socket *s, const char *room, void *ud)
{
    add(ud, "leave %s%s;", strcmp(room, sioc_socket_id(s)) == 0 ? "self" : room, "");
}
static void received(sioc_socket *s, const char *event, json_t *args, void *ud)
{
    (void)s;
    char *text = json_dumps(args, JSON_COMPACT);
    add(ud, "event %s %s;", event, text);
    free(text);
}

static void sent_to(sioc_socket *s, const char *event, json_t *args, void *ud)
{
    char *text = json_dumps(args, JSON_COMPACT);
    char who[8];
    snprintf(who, sizeof(who), "%d",
             (int)(s == f.sockets[0]   ? 0
                   : s == f.sockets[1] ? 1
                   : s == f.sockets[2] ? 2
                                       : 3));
    add(ud, who, "", "");
    add(ud, " %s %s;", event, text);
    free(text);
}

static void data_changed(sioc_socket *s, void *ud)
{
    add(ud, "data %s%s;", nsp_of(s), "");
}

static void opened(sioc_conn *c, void *ud)
{
    add(ud, "opened%s%s;", "", "");
}

static void closed(sioc_conn *c, const char *reason, void *ud)
{
    add(ud, "closed %s%s;", reason, "");
}

static void upgraded(sioc_socket *s, void *ud)
{
    add(ud, "upgraded %s%s;", nsp_of(s), "");
}

static const sioc_observer all = {
    .namespace_created = created,
    .socket_connected = connected,
    .socket_disconnecting = disconnecting,
    .socket_disconnected = disconnected,
    .room_joined = joined,
    .room_left = left,
    .event_received = received,
    .event_sent = sent_to,
    .data_changed = data_changed,
    .conn_opened = opened,
    .conn_closed = closed,
    .transport_upgraded = upgraded,
};

static void app_connection(sioc_socket *s, void *user_data)
{
    (void)s;
    (void)user_data;
    strcat(app_trace, "app;");
}

static void receive(sioc_conn *s, const char *packet)
{
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, packet, strlen(packet)};
    sioc__session_receive(s, &p);
    fake_core_drain(s);
}

START_TEST(every_observer_hears_every_event_in_order_after_the_application)
{
    a.id = sioc__core_observe(f.sio, &all, &a);
    b.id = sioc__core_observe(f.sio, &(sioc_observer){.socket_connected = connected}, &b);
    ck_assert_int_gt(a.id, 0);
    ck_assert_int_gt(b.id, a.id);
    sioc_namespace *chat = sioc__core_of(f.sio, "/chat");
    sioc__core_of(f.sio, "/chat"); /* exists: nobody is told again */
    sioc_namespace_on_connection(chat, app_connection, NULL);
    receive(f.sessions[0], "0/chat,");
    receive(f.sessions[0], "2/chat,[\"hi\",1,{\"x\":true}]");
    sioc_socket **list;
    size_t n;
    ck_assert_int_eq(sioc__select_list(chat, NULL, &list, &n), 0);
    ck_assert_uint_eq(n, 1);
    sioc_socket_join(list[0], "blue");
    sioc_socket_leave(list[0], "blue");
    sioc_socket_join(list[0], "red");
    sioc_socket_data_changed(list[0]);
    sioc__socket_unref(list[0]);
    receive(f.sessions[0], "1/chat,");
    free(list);
    ck_assert_str_eq(a.trace, "created /chat;join self;connected /chat after app;"
                              "event hi [1,{\"x\":true}];join blue;leave blue;join red;data /chat;"
                              "disconnecting /chat client namespace disconnect;leave red;"
                              "leave self;disconnected /chat client namespace disconnect;");
    ck_assert_str_eq(b.trace, "connected /chat after app;");
}
END_TEST

static void ignore_ack(sioc_socket *s, int err, json_t *args, void *user_data)
{
    (void)s, (void)err, (void)args, (void)user_data;
}

START_TEST(every_event_sent_is_told_once_per_socket_reached)
{
    a.id = sioc__core_observe(f.sio, &(sioc_observer){.event_sent = sent_to}, &a);
    json_t *args = json_pack("[i]", 1);
    ck_assert_int_eq(sioc_socket_emit(f.sockets[2], "one", args), 0);
    ck_assert_int_eq(sioc_socket_broadcast(f.sockets[0], "two", NULL), 0);
    ck_assert_int_eq(sioc_socket_emit_with_ack(f.sockets[1], "three", args, 0, ignore_ack, NULL),
                     0);
    const char *blue = "blue";
    sioc_socket_join(f.sockets[3], blue);
    sioc_target t = {.rooms = &blue, .nrooms = 1};
    ck_assert_int_eq(sioc_namespace_emit_to(f.root, &t, "four", args), 0);
    json_decref(args);
    /* Broadcasts reach sockets in the namespace's order: compare as a set. */
    ck_assert_ptr_nonnull(strstr(a.trace, "2 one [1];"));
    ck_assert_ptr_nonnull(strstr(a.trace, "1 two [];"));
    ck_assert_ptr_nonnull(strstr(a.trace, "2 two [];"));
    ck_assert_ptr_nonnull(strstr(a.trace, "3 two [];"));
    ck_assert_ptr_null(strstr(a.trace, "0 two"));
    ck_assert_ptr_nonnull(strstr(a.trace, "1 three [1];"));
    ck_assert_ptr_nonnull(strstr(a.trace, "3 four [1];"));
    int told = 0;
    for (const char *p = a.trace; (p = strchr(p, ';')) != NULL; p++) {
        told++;
    }
    ck_assert_int_eq(told, 6);
}
END_TEST

static const char *refuse_all(sioc_socket *s, const char *event, json_t *args, void *user_data)
{
    (void)s;
    (void)event;
    (void)args;
    (void)user_data;
    return "no";
}

START_TEST(what_the_packet_middleware_drops_is_not_an_event_received)
{
    a.id = sioc__core_observe(f.sio, &all, &a);
    sioc_namespace_use_packet(f.root, refuse_all, NULL);
    receive(f.sessions[1], "2[\"hi\"]");
    ck_assert_str_eq(a.trace, "");
}
END_TEST

START_TEST(an_observer_may_leave_from_inside_a_notification)
{
    a.id = sioc__core_observe(f.sio, &all, &a);
    b.id = sioc__core_observe(f.sio, &all, &b);
    a.leave_on_first = true;
    sioc__core_of(f.sio, "/x");
    sioc__core_of(f.sio, "/y");
    ck_assert_str_eq(a.trace, "created /x;");
    ck_assert_str_eq(b.trace, "created /x;created /y;");
    ck_assert_int_eq(sioc__core_unobserve(f.sio, a.id), SIOC_ERR_INVALID); /* already gone */
    ck_assert_int_eq(sioc__core_unobserve(f.sio, b.id), 0);
    sioc__core_of(f.sio, "/z");
    ck_assert_str_eq(b.trace, "created /x;created /y;");
    ck_assert_int_eq(sioc__core_observe(f.sio, NULL, NULL), SIOC_ERR_INVALID);
}
END_TEST

START_TEST(connections_are_told_as_they_open_upgrade_and_close_before_their_sockets)
{
    a.id = sioc__core_observe(f.sio, &all, &a);
    int where;
    sioc_conn *c = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &where, NULL, 4, NULL);
    ck_assert_ptr_nonnull(c);
    fake_core_drain(c);
    receive(c, "0");
    sioc__core_on_upgrade(c, f.sio); /* what the engine calls once a probe completes */
    sioc__session_close(c, "transport close", false);
    ck_assert_str_eq(a.trace, "opened;join self;connected /;upgraded /;closed transport close;"
                              "disconnecting / transport close;leave self;"
                              "disconnected / transport close;");
}
END_TEST

START_TEST(a_dynamic_child_is_a_namespace_created)
{
    a.id = sioc__core_observe(f.sio, &all, &a);
    sioc__core_parent_new(f.sio, "^/dyn-[0-9]+$", NULL, NULL);
    receive(f.sessions[2], "0/dyn-7,");
    ck_assert_int_eq(strncmp(a.trace, "created /dyn-7;join self;connected /dyn-7;", 42), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_observers");
    TCase *tc = tcase_create("observers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_observer_hears_every_event_in_order_after_the_application);
    tcase_add_test(tc, what_the_packet_middleware_drops_is_not_an_event_received);
    tcase_add_test(tc, every_event_sent_is_told_once_per_socket_reached);
    tcase_add_test(tc, an_observer_may_leave_from_inside_a_notification);
    tcase_add_test(tc, a_dynamic_child_is_a_namespace_created);
    tcase_add_test(tc, connections_are_told_as_they_open_upgrade_and_close_before_their_sockets);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
