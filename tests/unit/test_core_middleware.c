/* Middleware (src/core/middleware.c), over fake connections: connection middlewares run in the
 * order added, may decide later, refuse with a message and data, and forget a client that leaves
 * while they wait; packet middlewares drop an event and report it to the error callback. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;
static sioc_namespace *mw;

static char trace[256]; /* what ran, in order */
static sioc_next *held; /* a decision left for later */

static void note(const char *what)
{
    strncat(trace, what, sizeof(trace) - strlen(trace) - 1);
}

static void setup(void)
{
    fake_core_start(&f);
    mw = sioc__core_of(f.sio, "/mw");
    trace[0] = '\0';
    held = NULL;
}

static void teardown(void)
{
    fake_core_stop(&f);
}

/* Session i asks to join "/mw". */
static void join_mw(int i)
{
    sioc__eio_packet connect = {SIOC__EIO_MESSAGE, false, "0/mw,", 5};
    sioc__session_receive(f.sessions[i], &connect);
}

/* What is queued for session i, packets joined by '|', then taken. */
static const char *sent(int i)
{
    return fake_core_sent(f.sessions[i]);
}

static void first(sioc_socket *s, sioc_next *next, void *user_data)
{
    (void)s;
    (void)user_data;
    note("first,");
    sioc_next_accept(next);
}

static void second_later(sioc_socket *s, sioc_next *next, void *user_data)
{
    (void)s;
    (void)user_data;
    note("second,");
    held = next;
}

static void refuse(sioc_socket *s, sioc_next *next, void *user_data)
{
    (void)s;
    (void)user_data;
    json_t *data = json_pack("{s:i}", "code", 7);
    sioc_next_reject(next, "not today", data);
    json_decref(data);
}

static void connected(sioc_socket *s, void *user_data)
{
    (void)s;
    (void)user_data;
    note("connected,");
}

START_TEST(middlewares_run_in_order_and_may_decide_later)
{
    sioc_namespace_use(mw, first, NULL);
    sioc_namespace_use(mw, second_later, NULL);
    sioc_namespace_on_connection(mw, connected, NULL);
    join_mw(0);
    ck_assert_str_eq(trace, "first,second,");
    ck_assert_ptr_nonnull(held);
    ck_assert_str_eq(sent(0), ""); /* no CONNECT answer while the middleware decides */
    sioc_next_accept(held);
    ck_assert_str_eq(trace, "first,second,connected,");
    ck_assert_int_eq(strncmp(sent(0), "40/mw,{\"sid\":\"", 14), 0);
}
END_TEST

START_TEST(a_refusal_sends_connect_error_with_message_and_data)
{
    sioc_namespace_use(mw, refuse, NULL);
    sioc_namespace_use(mw, first, NULL); /* never reached */
    sioc_namespace_on_connection(mw, connected, NULL);
    join_mw(1);
    ck_assert_str_eq(trace, "");
    ck_assert_str_eq(sent(1), "44/mw,{\"message\":\"not today\",\"data\":{\"code\":7}}");
    join_mw(1); /* asking again runs the middlewares again */
    ck_assert_str_eq(sent(1), "44/mw,{\"message\":\"not today\",\"data\":{\"code\":7}}");
}
END_TEST

START_TEST(a_client_that_leaves_while_its_middleware_waits_is_forgotten)
{
    sioc_namespace_use(mw, second_later, NULL);
    sioc_namespace_on_connection(mw, connected, NULL);
    join_mw(2);
    ck_assert_ptr_nonnull(held);
    sioc__session_close(f.sessions[2], "transport close", false);
    f.sessions[2] = NULL;
    sioc_next_accept(held); /* later: nobody to let in, nothing called, nothing leaked */
    ck_assert_str_eq(trace, "second,");
}
END_TEST

static char errors[128];

static const char *no_secrets(sioc_socket *s, const char *event, json_t *args, void *user_data)
{
    (void)s;
    (void)args;
    (void)user_data;
    return strcmp(event, "secret") == 0 ? "secrets are not allowed" : NULL;
}

static void on_error(sioc_socket *s, const char *message, void *user_data)
{
    (void)s;
    (void)user_data;
    snprintf(errors, sizeof(errors), "%s", message);
}

static void on_event(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
    (void)s;
    (void)args;
    (void)ack;
    note((const char *)user_data);
}

START_TEST(a_packet_middleware_drops_an_event_and_reports_it)
{
    errors[0] = '\0';
    sioc_namespace_use_packet(f.root, no_secrets, NULL);
    sioc_namespace_on_error(f.root, on_error, NULL);
    sioc_namespace_on(f.root, "secret", on_event, "secret,");
    sioc_namespace_on(f.root, "news", on_event, "news,");
    sioc__eio_packet secret = {SIOC__EIO_MESSAGE, false, "2[\"secret\",1]", 13};
    sioc__eio_packet news = {SIOC__EIO_MESSAGE, false, "2[\"news\",1]", 11};
    sioc__session_receive(f.sessions[3], &secret);
    sioc__session_receive(f.sessions[3], &news);
    ck_assert_str_eq(trace, "news,");
    ck_assert_str_eq(errors, "secrets are not allowed");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_middleware");
    TCase *tc = tcase_create("middleware");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, middlewares_run_in_order_and_may_decide_later);
    tcase_add_test(tc, a_refusal_sends_connect_error_with_message_and_data);
    tcase_add_test(tc, a_client_that_leaves_while_its_middleware_waits_is_forgotten);
    tcase_add_test(tc, a_packet_middleware_drops_an_event_and_reports_it);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
