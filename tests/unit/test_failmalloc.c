/* Every allocation failing in turn: the codecs, a session's life and the server's set-up are run
 * again and again, the n-th allocation failing on the n-th run, until a run needs no more than
 * came before. Each run must return an error or succeed — never crash — and (under ASan, which
 * runs this in CI) leak nothing. Allocations are intercepted with the linker's --wrap for our own
 * code and with json_set_alloc_funcs for jansson's. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "eio/codec.h"
#include "eio/engine.h"
#include "eio/handshake.h"
#include "sio/codec.h"
#include "sioc.h"
#include "util/query.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown = -1; /* allocations left before the failure; -1: none fails */
static bool failed_one;

static bool should_fail(void)
{
    if (countdown < 0) {
        return false;
    }
    if (countdown-- == 0) {
        failed_one = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

/* Runs `scenario` with allocation 0, 1, 2, ... failing until one run completes without reaching
 * the failure. Returns how many runs hit one. */
static long fail_each(void (*scenario)(void))
{
    long n = 0;
    for (;; n++) {
        countdown = n;
        failed_one = false;
        scenario();
        countdown = -1;
        if (!failed_one) {
            printf("%ld allocations failed in turn\n", n);
            return n;
        }
    }
}

/* ---- the scenarios ---- */

static void codecs(void)
{
    char payload[] = "4hello\x1e"
                     "bAQIDBA==\x1e"
                     "2";
    size_t pos = 0;
    sioc__eio_packet p;
    sioc__buf out = {0};
    while (sioc__eio_payload_next(payload, sizeof(payload) - 1, &pos, &p) > 0) {
        sioc__msg *m = p.binary ? sioc__msg_binary(p.data, p.len)
                                : sioc__msg_text((char)('0' + p.type), p.data, p.len);
        if (m) {
            sioc__eio_encode_polling(&out, m);
            sioc__eio3_encode_text(&out, m);
            sioc__eio3_encode_binary(&out, m);
        }
        sioc__msg_unref(m);
    }
    sioc__msg_unref(sioc__eio_open_packet("sid", true, 25000, 20000, 1000000));
    sioc__jsonp_wrap(&out, "1", "a\"b", 3);
    sioc__buf_free(&out);
    json_decref(sioc__query_object("a=1&b=2&a=3"));

    /* Socket.IO: a binary event reassembled, encoded again, and in its plain form. */
    sioc__sio_decoder d = {0};
    sioc__sio_packet pk;
    const char *text = "51-/chat,7[\"ev\",{\"_placeholder\":true,\"num\":0},\"x\"]";
    if (sioc__sio_decoder_text(&d, text, strlen(text), &pk) == 0 &&
        sioc__sio_decoder_binary(&d, "\x01\x02", 2, &pk) == 1) {
        sioc__sio_encoded e;
        if (sioc__sio_encode(SIOC__SIO_EVENT, pk.nsp, pk.id, pk.data, &e) == 0) {
            sioc__sio_plain(&e);
            sioc__sio_encoded_clear(&e);
        }
        sioc__sio_packet_clear(&pk);
    }
    sioc__sio_decoder_reset(&d);
    json_t *root = NULL, *args = NULL;
    const char *name, *error;
    int64_t id;
    const char *frame = "{\"name\":\"msg\",\"data\":[1,\"two\"],\"id\":3}";
    if (sioc__sio_decode_plain(frame, strlen(frame), &root, &name, &args, &id, &error) == 0) {
        json_decref(args);
    }
    json_decref(root);
}

static void noop_io(void *conn)
{
}

static bool never_gone(void *conn)
{
    return false;
}

static void noop_pause(void *conn, bool paused)
{
}

static const sioc__eio_io quiet_io = {noop_io, noop_io,    never_gone, noop_io,
                                      noop_io, noop_pause, NULL};

static void session_life(void)
{
    sioc__wheel wheel;
    sioc__wheel_init(&wheel, 1000);
    sioc__engine_cfg cfg = {
        300, 200, 1000, 1000, 0, SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET, true, 0, 1};
    sioc__engine *eng = sioc__engine_new("/engine.io/", &cfg, NULL, NULL, &wheel, &quiet_io);
    if (!eng) {
        return;
    }
    for (unsigned protocol = 3; protocol <= 4; protocol++) {
        sioc__hs_header host = {"host", 4, "localhost"};
        sioc__hs_request opening = {&host, 1, "/engine.io/", NULL, 0, "127.0.0.1", false, 1000};
        char *hs = sioc__handshake_pack(&opening);
        sioc_conn *s = sioc__engine_open(eng, SIOC__POLLING, NULL, hs, protocol, NULL);
        if (!s) {
            continue;
        }
        sioc_conn_send(s, "hi", 2, false);
        sioc_conn_send(s, "\x01", 1, true);
        sioc_conn_handshake(s);
        sioc__buf out = {0};
        bool binary;
        int req = 0;
        if (sioc__session_poll_attach(s, &req)) {
            sioc__session_poll_take(s, &req, &out, &binary);
        } else {
            sioc__session_poll_lost(s, &req); /* what the transport does when a GET goes */
        }
        sioc__buf_free(&out);
        sioc__wheel_advance(&wheel, 1400); /* a ping, or a v3 ping timeout */
    }
    sioc__engine_free(eng);
}

static void server_setup(void)
{
    sioc_options *o;
    if (sioc_options_new(&o) < 0) {
        return;
    }
    sioc_server *srv = NULL;
    if (sioc_options_set_port(o, 0) == 0 &&
        sioc_options_add_cors_origin(o, "http://a.example") == 0 &&
        sioc_options_set_cookie(o, "io", "/", true, "Lax") == 0 &&
        sioc_options_set_log_level(o, SIOC_LOG_ERROR) == 0 && sioc_server_new(o, &srv) == 0) {
        sioc_namespace *chat = sioc_server_of(srv, "/chat");
        if (chat) {
            sioc_namespace_on(chat, "msg", NULL, NULL);
        }
        sioc_server_of_pattern(srv, "^/dyn-[0-9]+$");
    }
    sioc_server_free(srv);
    sioc_options_free(o);
}

/* ---- the tests ---- */

static void *json_fail_malloc(size_t n)
{
    return __wrap_malloc(n);
}

static void json_free(void *p)
{
    free(p);
}

START_TEST(the_codecs_survive_every_failing_allocation)
{
    ck_assert_int_gt(fail_each(codecs), 50);
}
END_TEST

START_TEST(a_session_survives_every_failing_allocation)
{
    ck_assert_int_gt(fail_each(session_life), 20);
}
END_TEST

START_TEST(server_set_up_survives_every_failing_allocation)
{
    ck_assert_int_gt(fail_each(server_setup), 30);
}
END_TEST

int main(void)
{
    json_set_alloc_funcs(json_fail_malloc, json_free);
    Suite *s = suite_create("failmalloc");
    TCase *tc = tcase_create("failmalloc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, the_codecs_survive_every_failing_allocation);
    tcase_add_test(tc, a_session_survives_every_failing_allocation);
    tcase_add_test(tc, server_set_up_survives_every_failing_allocation);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
