/* The Engine.IO v3 codec (allowEIO3): length-framed text payloads counted in UTF-16 units, binary
 * payloads, binary WebSocket frames, and the encoders. Expected bytes come from engine.io-parser
 * 2.x, the parser socket.io-client 2.x and Node's allowEIO3 use. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "eio/codec.h"

/* Text payloads: the packets expected as "T:data" (T = type digit, or B for binary). */
/* clang-format off */
static const struct {
    const char *in;
    const char *expect[4];
    int fails_at; /* index of the packet that fails, or -1 */
} text_cases[] = {
    {"6:4hello", {"4:hello"}, -1},
    {"6:4hello6:4world", {"4:hello", "4:world"}, -1},
    {"1:21:6", {"2:", "6:"}, -1},
    {"0:", {NULL}, -1},                       /* Node's empty payload: nothing */
    {"1:20:1:6", {"2:", "6:"}, -1},           /* "0:" in the middle carries nothing */
    {"10:b4AQIDBA==", {"B:\x01\x02\x03\x04"}, -1},
    /* JavaScript lengths: 你 is one unit (three bytes), 😀 two (a surrogate pair, four bytes). */
    {"3:4\xe4\xbd\xa0\xe5\xa5\xbd", {"4:\xe4\xbd\xa0\xe5\xa5\xbd"}, -1},
    {"3:4\xf0\x9f\x98\x80" "1:6", {"4:\xf0\x9f\x98\x80", "6:"}, -1},
    {"2:4\xf0\x9f\x98\x80", {NULL}, 0},       /* a length that splits a surrogate pair */
    {"", {NULL}, 0},                          /* an empty body */
    {"6:4hello7:4world", {"4:hello"}, 1},     /* a length past the end */
    {"6:4hello5", {"4:hello"}, 1},            /* digits without ':' */
    {":4", {NULL}, 0},                        /* no length */
    {"x:4", {NULL}, 0},                       /* not a number */
    {"1:9", {NULL}, 0},                       /* an unknown type */
    {"5:b4AQI", {NULL}, 0},                   /* base64 without its padding */
    {"2:b9", {NULL}, 0},                      /* a binary packet of an unknown type */
    {"12345678901:4", {NULL}, 0},             /* absurd length */
    {"3:4\xf0\x9f\x98\x77", {NULL}, 0},       /* not UTF-8: a sequence cut by an ASCII byte */
    {"2:4\x80", {NULL}, 0},                   /* not UTF-8: a stray continuation byte */
};
/* clang-format on */

START_TEST(a_v3_text_payload_splits_into_its_packets)
{
    char *body = strdup(text_cases[_i].in);
    size_t len = strlen(body), pos = 0;
    sioc__eio_packet p;
    int n = 0, rc;
    while ((rc = sioc__eio3_payload_next(body, len, &pos, &p)) > 0) {
        const char *want = text_cases[_i].expect[n];
        ck_assert_ptr_nonnull(want);
        ck_assert_int_eq(p.binary, want[0] == 'B');
        ck_assert_int_eq(p.type, want[0] == 'B' ? SIOC__EIO_MESSAGE : want[0] - '0');
        ck_assert_uint_eq(p.len, strlen(want + 2));
        ck_assert(memcmp(p.data, want + 2, p.len) == 0);
        n++;
    }
    if (text_cases[_i].fails_at >= 0) {
        ck_assert_int_eq(rc, -1);
        ck_assert_int_eq(n, text_cases[_i].fails_at);
        ck_assert_int_eq(sioc__eio3_payload_next(body, len, &pos, &p), 0); /* and stays ended */
    } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_ptr_null(text_cases[_i].expect[n]);
    }
    free(body);
}
END_TEST

/* Binary payloads as engine.io-parser 2.x's encodePayloadAsBinary writes them. */
/* clang-format off */
static const struct {
    const char *in;
    size_t len;
    int packets; /* decoded before the end or the failure */
    int rc;      /* the last return */
} binary_cases[] = {
    {"\x00\x06\xff" "4hello", 9, 1, 0},
    {"\x01\x05\xff\x04\x01\x02\x03\x04" "\x00\x01\xff" "6", 12, 2, 0},
    {"\x00\x01\x00\xff" "4xxxxxxxxx", 14, 1, 0}, /* two digits: ten bytes */
    {"", 0, 0, 0},                               /* nothing to read */
    {"\x00\x06\xff" "4hell", 8, 0, -1},          /* cut short */
    {"\x00\x06" "4hello", 8, 0, -1},             /* no 0xFF */
    {"\x00\xff" "4", 3, 0, -1},                  /* no length */
    {"\x00\x0a\xff" "4", 4, 0, -1},              /* a "digit" of ten */
    {"\x01\x02\xff\x09\x01", 5, 0, -1},          /* a binary packet of an unknown type */
    {"\x00\x01\xff" "9", 4, 0, -1},              /* a text packet of an unknown type */
    {"\x00\x02\xff" "4\xff", 5, 0, -1},          /* a text packet that is not UTF-8 */
};
/* clang-format on */

START_TEST(a_v3_binary_payload_splits_into_its_packets)
{
    size_t pos = 0;
    sioc__eio_packet p;
    int n = 0, rc;
    while ((rc = sioc__eio3_binary_payload_next(binary_cases[_i].in, binary_cases[_i].len, &pos,
                                                &p)) > 0) {
        n++;
    }
    ck_assert_int_eq(rc, binary_cases[_i].rc);
    ck_assert_int_eq(n, binary_cases[_i].packets);
}
END_TEST

START_TEST(a_binary_payload_keeps_text_and_binary_packets_apart)
{
    const char in[] = "\x01\x05\xff\x04\x01\x02\x03\x04"
                      "\x00\x03\xff"
                      "4\xc3\xa9";
    size_t pos = 0;
    sioc__eio_packet p;
    ck_assert_int_eq(sioc__eio3_binary_payload_next(in, sizeof(in) - 1, &pos, &p), 1);
    ck_assert(p.binary);
    ck_assert_int_eq(p.type, SIOC__EIO_MESSAGE);
    ck_assert_uint_eq(p.len, 4);
    ck_assert(memcmp(p.data, "\x01\x02\x03\x04", 4) == 0);
    ck_assert_int_eq(sioc__eio3_binary_payload_next(in, sizeof(in) - 1, &pos, &p), 1);
    ck_assert(!p.binary);
    ck_assert_int_eq(p.type, SIOC__EIO_MESSAGE);
    ck_assert_uint_eq(p.len, 2); /* UTF-8 bytes: é */
    ck_assert_int_eq(sioc__eio3_binary_payload_next(in, sizeof(in) - 1, &pos, &p), 0);
}
END_TEST

START_TEST(a_v3_binary_websocket_frame_starts_with_its_type)
{
    sioc__eio_packet p;
    ck_assert_int_eq(sioc__eio3_decode_binary_frame("\x04\xff\x00", 3, &p), 0);
    ck_assert_int_eq(p.type, SIOC__EIO_MESSAGE);
    ck_assert(p.binary);
    ck_assert_uint_eq(p.len, 2);
    ck_assert_int_eq(sioc__eio3_decode_binary_frame("", 0, &p), -1);
    ck_assert_int_eq(sioc__eio3_decode_binary_frame("\x07", 1, &p), -1);
}
END_TEST

START_TEST(messages_encode_as_engine_io_parser_2_does)
{
    sioc__buf out = {0};
    sioc__msg *text = sioc__msg_text('4', "h\xc3\xa9\xf0\x9f\x98\x80", 7);
    sioc__msg *bin = sioc__msg_binary("\x01\x02\x03\x04", 4);
    /* Text form: lengths in UTF-16 units (4, é, 😀 as two), binary as b4 + base64. */
    ck_assert_int_eq(sioc__eio3_encode_text(&out, text), 0);
    ck_assert_int_eq(sioc__eio3_encode_text(&out, bin), 0);
    const char want[] = "5:4h\xc3\xa9\xf0\x9f\x98\x80"
                        "10:b4AQIDBA==";
    ck_assert_uint_eq(out.len, sizeof(want) - 1);
    ck_assert(memcmp(out.data, want, out.len) == 0);
    sioc__buf_reset(&out);
    /* Binary form: lengths in bytes, one byte per digit, binary packets led by their type. */
    ck_assert_int_eq(sioc__eio3_encode_binary(&out, text), 0);
    ck_assert_int_eq(sioc__eio3_encode_binary(&out, bin), 0);
    const char wantb[] = "\x00\x08\xff"
                         "4h\xc3\xa9\xf0\x9f\x98\x80"
                         "\x01\x05\xff\x04\x01\x02\x03\x04";
    ck_assert_uint_eq(out.len, sizeof(wantb) - 1);
    ck_assert(memcmp(out.data, wantb, out.len) == 0);
    sioc__msg_unref(text);
    sioc__msg_unref(bin);
    sioc__buf_free(&out);
}
END_TEST

START_TEST(what_is_encoded_decodes_back)
{
    sioc__buf out = {0};
    sioc__msg *text = sioc__msg_text('4', "\xf0\x9f\x98\x80x", 5);
    sioc__msg *bin = sioc__msg_binary("\x00\xff", 2);
    sioc__eio3_encode_text(&out, text);
    sioc__eio3_encode_text(&out, bin);
    size_t pos = 0;
    sioc__eio_packet p;
    ck_assert_int_eq(sioc__eio3_payload_next(out.data, out.len, &pos, &p), 1);
    ck_assert_uint_eq(p.len, 5);
    ck_assert_int_eq(sioc__eio3_payload_next(out.data, out.len, &pos, &p), 1);
    ck_assert(p.binary);
    ck_assert_uint_eq(p.len, 2);
    ck_assert(memcmp(p.data, "\x00\xff", 2) == 0);
    ck_assert_int_eq(sioc__eio3_payload_next(out.data, out.len, &pos, &p), 0);
    sioc__msg_unref(text);
    sioc__msg_unref(bin);
    sioc__buf_free(&out);
}
END_TEST

START_TEST(utf16_lengths_count_as_javascript_does)
{
    ck_assert_uint_eq(sioc__utf16_length("", 0), 0);
    ck_assert_uint_eq(sioc__utf16_length("abc", 3), 3);
    ck_assert_uint_eq(sioc__utf16_length("\xc3\xa9", 2), 1);
    ck_assert_uint_eq(sioc__utf16_length("\xe4\xbd\xa0", 3), 1);
    ck_assert_uint_eq(sioc__utf16_length("\xf0\x9f\x98\x80", 4), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eio3_codec");
    TCase *tc = tcase_create("codec");
    tcase_add_loop_test(tc, a_v3_text_payload_splits_into_its_packets, 0, N(text_cases));
    tcase_add_loop_test(tc, a_v3_binary_payload_splits_into_its_packets, 0, N(binary_cases));
    tcase_add_test(tc, a_binary_payload_keeps_text_and_binary_packets_apart);
    tcase_add_test(tc, a_v3_binary_websocket_frame_starts_with_its_type);
    tcase_add_test(tc, messages_encode_as_engine_io_parser_2_does);
    tcase_add_test(tc, what_is_encoded_decodes_back);
    tcase_add_test(tc, utf16_lengths_count_as_javascript_does);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
