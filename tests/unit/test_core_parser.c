/* The parser funnel (src/core/parser.c): with another parser installed, every packet the core
 * sends and receives goes through it — events, broadcasts, acks both ways, CONNECT answers and
 * errors, DISCONNECT — so that a second wire format is one table. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

static fake_core f;
static int encoded, decoded;

/* The default parser, counted. */
static int count_encode(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                        sioc__sio_encoded *out)
{
    encoded++;
    return sioc__json_parser.encode(type, nsp, id, data, out);
}

static int count_decode(sioc__parser_state *st, const void *data, size_t len, bool binary,
                        sioc__sio_packet *out)
{
    decoded++;
    return sioc__json_parser.decode(st, data, len, binary, out);
}

static void count_reset(sioc__parser_state *st)
{
    sioc__json_parser.reset(st);
}

static const sioc__parser counting = {"counting", count_encode, count_decode, count_reset};

static void setup(void)
{
    fake_core_start(&f);
    f.sio->parser = &counting; /* from here on: connections decode and encode through it */
    encoded = decoded = 0;
}

static void teardown(void)
{
    fake_core_stop(&f);
}

static void receive(int i, const char *packet)
{
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, packet, strlen(packet)};
    sioc__session_receive(f.sessions[i], &p);
}

static void echo(sioc_socket *s, json_t *args, sioc_ack *ack, void *user_data)
{
    (void)s;
    (void)user_data;
    sioc_ack_send(ack, args);
}

static void answered(sioc_socket *s, int err, json_t *args, void *user_data)
{
    (void)s;
    (void)args;
    *(int *)user_data = err;
}

START_TEST(every_packet_in_and_out_goes_through_the_parser)
{
    sioc_namespace_on(f.root, "echo", echo, NULL);
    receive(0, "21[\"echo\",\"x\"]"); /* in: an event asking for an ack; out: the ack */
    ck_assert_int_eq(decoded, 1);
    ck_assert_int_eq(encoded, 1);
    ck_assert_str_eq(fake_core_sent(f.sessions[0]), "431[\"x\"]");
    sioc_socket_emit(f.sockets[1], "one", NULL);
    sioc_namespace_emit(f.root, "all", NULL); /* once, whatever the number of sockets */
    ck_assert_int_eq(encoded, 3);
    int err = 1;
    sioc_socket_emit_with_ack(f.sockets[2], "ask", NULL, 0, answered, &err);
    ck_assert_int_eq(encoded, 4);
    receive(2, "30[]"); /* the client's answer */
    ck_assert_int_eq(decoded, 2);
    ck_assert_int_eq(err, 0);
    receive(3, "0/nowhere,"); /* in: CONNECT; out: CONNECT_ERROR */
    ck_assert_int_eq(decoded, 3);
    ck_assert_int_eq(encoded, 5);
    sioc__core_of(f.sio, "/chat");
    receive(3, "0/chat,"); /* in: CONNECT; out: its answer */
    ck_assert_int_eq(decoded, 4);
    ck_assert_int_eq(encoded, 6);
    const char *out = fake_core_sent(f.sessions[3]);
    ck_assert_ptr_nonnull(strstr(out, "|44/nowhere,{\"message\":\"Invalid namespace\"}|40/chat,"));
    sioc_socket_disconnect(f.sockets[1], false); /* out: DISCONNECT */
    ck_assert_int_eq(encoded, 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_parser");
    TCase *tc = tcase_create("parser");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_packet_in_and_out_goes_through_the_parser);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
