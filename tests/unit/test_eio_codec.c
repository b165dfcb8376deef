/* The Engine.IO v4 codec: packets, polling payloads, the open packet and error bodies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "eio/codec.h"

/* clang-format off */
static const struct {
    const char *in;
    int rc;
    sioc__eio_type type;
    const char *data;
} text_cases[] = {
    {"0", 0, SIOC__EIO_OPEN, ""},
    {"1", 0, SIOC__EIO_CLOSE, ""},
    {"2", 0, SIOC__EIO_PING, ""},
    {"2probe", 0, SIOC__EIO_PING, "probe"},
    {"3probe", 0, SIOC__EIO_PONG, "probe"},
    {"4hello", 0, SIOC__EIO_MESSAGE, "hello"},
    {"4", 0, SIOC__EIO_MESSAGE, ""},
    {"4\xe4\xbd\xa0\xe5\xa5\xbd", 0, SIOC__EIO_MESSAGE, "\xe4\xbd\xa0\xe5\xa5\xbd"},
    {"5", 0, SIOC__EIO_UPGRADE, ""},
    {"6", 0, SIOC__EIO_NOOP, ""},
    {"", -1, 0, NULL},
    {"7", -1, 0, NULL},
    {"a4", -1, 0, NULL},
    {"/", -1, 0, NULL},
    {"b4", -1, 0, NULL},
};
/* clang-format on */

START_TEST(a_text_packet_decodes_to_its_type_and_data)
{
    const char *in = text_cases[_i].in;
    sioc__eio_packet p;
    int rc = sioc__eio_decode_text(in, strlen(in), &p);
    ck_assert_int_eq(rc, text_cases[_i].rc);
    if (rc == 0) {
        ck_assert_int_eq(p.type, text_cases[_i].type);
        ck_assert_uint_eq(p.len, strlen(text_cases[_i].data));
        ck_assert(memcmp(p.data, text_cases[_i].data, p.len) == 0);
        ck_assert(!p.binary);
    }
}
END_TEST

/* Payloads: the packets expected, written as "T:data" (T = type digit, or B for binary). */
/* clang-format off */
static const struct {
    const char *in;
    const char *expect[4];
    int fails_at; /* index of the packet that fails, or -1 */
} payload_cases[] = {
    {"4hello", {"4:hello"}, -1},
    {"4hello\x1e" "4world", {"4:hello", "4:world"}, -1},
    {"2\x1e" "4a\x1e" "1", {"2:", "4:a", "1:"}, -1},
    {"bAQIDBA==", {"B:\x01\x02\x03\x04"}, -1},
    {"4x\x1e" "bAQID", {"4:x", "B:\x01\x02\x03"}, -1},
    {"4x\x1e" "bAQ", {"4:x"}, 1},       /* base64 without its padding */
    {"4x\x1e" "b!!!!", {"4:x"}, 1},     /* not base64 */
    {"4x\x1e\x1e" "4y", {"4:x"}, 1},    /* an empty packet */
    {"9", {NULL}, 0},                   /* an unknown type */
    {"4x\x1e", {"4:x"}, 1},             /* a trailing separator: an empty last packet */
    {"", {NULL}, 0},                    /* an empty body */
};
/* clang-format on */

START_TEST(a_polling_payload_splits_into_its_packets)
{
    char *body = strdup(payload_cases[_i].in);
    size_t len = strlen(body), pos = 0;
    sioc__eio_packet p;
    int n = 0, rc;
    while ((rc = sioc__eio_payload_next(body, len, &pos, &p)) != 0) {
        if (rc < 0) {
            break;
        }
        const char *want = payload_cases[_i].expect[n];
        ck_assert_ptr_nonnull(want);
        ck_assert_int_eq(p.binary, want[0] == 'B');
        if (!p.binary) {
            ck_assert_int_eq(p.type, want[0] - '0');
        }
        ck_assert_uint_eq(p.len, strlen(want + 2));
        ck_assert(memcmp(p.data, want + 2, p.len) == 0);
        n++;
    }
    if (payload_cases[_i].fails_at >= 0) {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(n, payload_cases[_i].fails_at);
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_ptr_null(payload_cases[_i].expect[n]);
    }
    free(body);
}
END_TEST

START_TEST(queued_messages_encode_for_polling_with_binary_as_base64)
{
    sioc__buf out = {0};
    sioc__msg *text = sioc__msg_text('4', "hi", 2);
    sioc__msg *bin = sioc__msg_binary("\x01\x02\x03\x04", 4);
    ck_assert_int_eq(sioc__eio_encode_polling(&out, text), 0);
    ck_assert_int_eq(sioc__buf_append_char(&out, SIOC__EIO_SEPARATOR), 0);
    ck_assert_int_eq(sioc__eio_encode_polling(&out, bin), 0);
    ck_assert_uint_eq(out.len, strlen("4hi\x1e"
                                      "bAQIDBA=="));
    ck_assert(memcmp(out.data,
                     "4hi\x1e"
                     "bAQIDBA==",
                     out.len) == 0);
    sioc__msg_unref(text);
    sioc__msg_unref(bin);
    sioc__buf_free(&out);
}
END_TEST

START_TEST(the_open_packet_carries_the_handshake_fields)
{
    sioc__msg *m = sioc__eio_open_packet("abc", true, 25000, 20000, 1000000);
    ck_assert_str_eq(sioc__msg_payload(m),
                     "0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
                     "\"pingTimeout\":20000,\"maxPayload\":1000000}");
    sioc__msg_unref(m);
    m = sioc__eio_open_packet("abc", false, 300, 200, 10);
    ck_assert_str_eq(sioc__msg_payload(m), "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":300,"
                                           "\"pingTimeout\":200,\"maxPayload\":10}");
    sioc__msg_unref(m);
    m = sioc__eio_open_packet("s", false, 0, 4294967295u, 18446744073709551615ull);
    ck_assert_str_eq(sioc__msg_payload(m), "0{\"sid\":\"s\",\"upgrades\":[],\"pingInterval\":0,"
                                           "\"pingTimeout\":4294967295,"
                                           "\"maxPayload\":18446744073709551615}");
    sioc__msg_unref(m);
}
END_TEST

/* clang-format off */
static const struct {
    sioc__eio_error code;
    const char *body;
} error_cases[] = {
    {SIOC__EIO_ERR_UNKNOWN_TRANSPORT, "{\"code\":0,\"message\":\"Transport unknown\"}"},
    {SIOC__EIO_ERR_UNKNOWN_SID, "{\"code\":1,\"message\":\"Session ID unknown\"}"},
    {SIOC__EIO_ERR_BAD_HANDSHAKE_METHOD, "{\"code\":2,\"message\":\"Bad handshake method\"}"},
    {SIOC__EIO_ERR_BAD_REQUEST, "{\"code\":3,\"message\":\"Bad request\"}"},
    {SIOC__EIO_ERR_FORBIDDEN, "{\"code\":4,\"message\":\"Forbidden\"}"},
    {SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION,
     "{\"code\":5,\"message\":\"Unsupported protocol version\"}"},
};
/* clang-format on */

START_TEST(errors_are_written_as_node_writes_them)
{
    char body[128];
    size_t n = sioc__eio_error_body(error_cases[_i].code, body, sizeof(body));
    ck_assert_str_eq(body, error_cases[_i].body);
    ck_assert_uint_eq(n, strlen(error_cases[_i].body));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eio_codec");
    TCase *tc = tcase_create("codec");
    tcase_add_loop_test(tc, a_text_packet_decodes_to_its_type_and_data, 0, N(text_cases));
    tcase_add_loop_test(tc, a_polling_payload_splits_into_its_packets, 0, N(payload_cases));
    tcase_add_test(tc, queued_messages_encode_for_polling_with_binary_as_base64);
    tcase_add_test(tc, the_open_packet_carries_the_handshake_fields);
    tcase_add_loop_test(tc, errors_are_written_as_node_writes_them, 0, N(error_cases));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
