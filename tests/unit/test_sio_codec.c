/* The Socket.IO v5 codec: decoding tables (well-formed and malformed), binary reassembly, and
 * encoding as the Node server writes packets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sio/codec.h"
#include "sioc.h"

/* clang-format off */
static const struct {
    const char *in;
    int type;
    const char *nsp;
    long long id;
    const char *json; /* the data, re-encoded compactly; NULL for none */
    size_t attachments;
} good[] = {
    {"0", 0, "/", -1, NULL, 0},
    {"0{\"token\":\"123\"}", 0, "/", -1, "{\"token\":\"123\"}", 0},
    {"0/custom,", 0, "/custom", -1, NULL, 0},
    {"0/custom,{\"token\":\"abc\"}", 0, "/custom", -1, "{\"token\":\"abc\"}", 0},
    {"0/random", 0, "/random", -1, NULL, 0},
    {"1", 1, "/", -1, NULL, 0},
    {"1/admin,", 1, "/admin", -1, NULL, 0},
    {"2[\"hello\",1]", 2, "/", -1, "[\"hello\",1]", 0},
    {"2/admin,456[\"project:delete\",123]", 2, "/admin", 456, "[\"project:delete\",123]", 0},
    {"212[\"x\"]", 2, "/", 12, "[\"x\"]", 0},
    {"2[42]", 2, "/", -1, "[42]", 0},
    {"2[\"\xe4\xbd\xa0\xe5\xa5\xbd\",\"\\ud83c\\udf0d\"]", 2, "/", -1,
     "[\"\xe4\xbd\xa0\xe5\xa5\xbd\",\"\xf0\x9f\x8c\x8d\"]", 0},
    {"3/admin,456[]", 3, "/admin", 456, "[]", 0},
    {"3456[1,\"2\",{\"3\":[false]}]", 3, "/", 456, "[1,\"2\",{\"3\":[false]}]", 0},
    {"4{\"message\":\"Not authorized\"}", 4, "/", -1, "{\"message\":\"Not authorized\"}", 0},
    {"51-[\"hello\",{\"_placeholder\":true,\"num\":0}]", 5, "/", -1,
     "[\"hello\",{\"_placeholder\":true,\"num\":0}]", 1},
    {"52-/admin,789[\"m\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", 5,
     "/admin", 789, "[\"m\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", 2},
    {"61-/admin,456[{\"_placeholder\":true,\"num\":0}]", 6, "/admin", 456,
     "[{\"_placeholder\":true,\"num\":0}]", 1},
    {"2[\"big\",100000000000000000000]", 2, "/", -1, "[\"big\",1e20]", 0},
};
/* clang-format on */

START_TEST(well_formed_packets_decode_to_their_parts)
{
    sioc__sio_packet p;
    ck_assert_int_eq(sioc__sio_decode(good[_i].in, strlen(good[_i].in), &p), 0);
    ck_assert_int_eq(p.type, good[_i].type);
    ck_assert_str_eq(p.nsp, good[_i].nsp);
    ck_assert_int_eq(p.id, good[_i].id);
    ck_assert_uint_eq(p.attachments, good[_i].attachments);
    if (good[_i].json) {
        char *dumped = json_dumps(p.data, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_str_eq(dumped, good[_i].json);
        free(dumped);
    } else {
        ck_assert_ptr_null(p.data);
    }
    sioc__sio_packet_clear(&p);
}
END_TEST

/* clang-format off */
static const char *bad[] = {
    "",
    "7",
    "abc",
    "2{}",                      /* an event must be an array */
    "2abc[\"message\"]",         /* "invalid ack id" in the suite: not JSON after the id */
    "2[\"connect\"]",            /* reserved event names */
    "2[\"disconnecting\"]",
    "2[{}]",                     /* the name must be a string or a number */
    "2[]",
    "0[]",                       /* CONNECT carries an object */
    "0\"x\"",
    "1{}",                       /* DISCONNECT carries nothing */
    "3{}",                       /* ACK carries an array */
    "4[]",
    "5[\"x\"]",                  /* no attachment count */
    "5x-[\"x\"]",
    "511-[\"x\"]",               /* more attachments than socket.io-parser allows */
    "2[\"x\"",                   /* truncated JSON */
    "21234567890123456[\"x\"]",  /* an ack id beyond JavaScript's exact integers */
    "2[\"x\"] trailing",
};
/* clang-format on */

START_TEST(malformed_packets_are_refused)
{
    sioc__sio_packet p;
    ck_assert_int_eq(sioc__sio_decode(bad[_i], strlen(bad[_i]), &p), -1);
    ck_assert_ptr_null(p.data);
}
END_TEST

START_TEST(binary_attachments_replace_their_placeholders_in_order)
{
    sioc__sio_decoder d = {0};
    sioc__sio_packet p;
    const char *text = "52-789[\"m\",{\"_placeholder\":true,\"num\":1},{\"a\":[{\"_placeholder\":"
                       "true,\"num\":0}]}]";
    ck_assert_int_eq(sioc__sio_decoder_text(&d, text, strlen(text), &p), 0);
    ck_assert_int_eq(sioc__sio_decoder_binary(&d, "\x01\x02\x03", 3, &p), 0);
    ck_assert_int_eq(sioc__sio_decoder_binary(&d, "\x04\x05", 2, &p), 1);
    ck_assert_int_eq(p.type, SIOC__SIO_BINARY_EVENT);
    ck_assert_int_eq(p.id, 789);
    const void *data;
    size_t len;
    ck_assert(sioc_binary_get(json_array_get(p.data, 1), &data, &len));
    ck_assert_uint_eq(len, 2);
    ck_assert(memcmp(data, "\x04\x05", 2) == 0);
    json_t *nested = json_array_get(json_object_get(json_array_get(p.data, 2), "a"), 0);
    ck_assert(sioc_binary_get(nested, &data, &len));
    ck_assert_uint_eq(len, 3);
    ck_assert(memcmp(data, "\x01\x02\x03", 3) == 0);
    sioc__sio_packet_clear(&p);
    sioc__sio_decoder_reset(&d);
}
END_TEST

START_TEST(reassembly_errors_are_refused_and_reset_the_decoder)
{
    sioc__sio_decoder d = {0};
    sioc__sio_packet p;
    /* binary data nobody is waiting for */
    ck_assert_int_eq(sioc__sio_decoder_binary(&d, "x", 1, &p), -1);
    /* text while attachments are awaited */
    const char *one = "51-[\"m\",{\"_placeholder\":true,\"num\":0}]";
    ck_assert_int_eq(sioc__sio_decoder_text(&d, one, strlen(one), &p), 0);
    ck_assert_int_eq(sioc__sio_decoder_text(&d, "2[\"x\"]", 6, &p), -1);
    ck_assert_ptr_null(d.pending);
    /* a placeholder pointing past the attachments */
    const char *lying = "51-[\"m\",{\"_placeholder\":true,\"num\":3}]";
    ck_assert_int_eq(sioc__sio_decoder_text(&d, lying, strlen(lying), &p), 0);
    ck_assert_int_eq(sioc__sio_decoder_binary(&d, "x", 1, &p), -1);
    /* and the decoder works again afterwards */
    ck_assert_int_eq(sioc__sio_decoder_text(&d, "2[\"x\"]", 6, &p), 1);
    sioc__sio_packet_clear(&p);
    sioc__sio_decoder_reset(&d);
}
END_TEST

static char *text_of(const sioc__sio_encoded *e)
{
    return sioc__msg_payload(e->text);
}

START_TEST(packets_encode_as_node_writes_them)
{
    sioc__sio_encoded e;
    json_t *sid = json_pack("{s:s}", "sid", "abc");
    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_CONNECT, "/", -1, sid, &e), 0);
    ck_assert_str_eq(text_of(&e), "40{\"sid\":\"abc\"}");
    sioc__sio_encoded_clear(&e);
    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_CONNECT, "/custom", -1, sid, &e), 0);
    ck_assert_str_eq(text_of(&e), "40/custom,{\"sid\":\"abc\"}");
    sioc__sio_encoded_clear(&e);
    json_decref(sid);

    json_t *err = json_pack("{s:s}", "message", "Invalid namespace");
    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_CONNECT_ERROR, "/random", -1, err, &e), 0);
    ck_assert_str_eq(text_of(&e), "44/random,{\"message\":\"Invalid namespace\"}");
    sioc__sio_encoded_clear(&e);
    json_decref(err);

    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_DISCONNECT, "/admin", -1, NULL, &e), 0);
    ck_assert_str_eq(text_of(&e), "41/admin,");
    sioc__sio_encoded_clear(&e);

    json_t *args = json_pack("[i,s,{s:[b]}]", 1, "2", "3", 0);
    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_ACK, "/", 456, args, &e), 0);
    ck_assert_str_eq(text_of(&e), "43456[1,\"2\",{\"3\":[false]}]");
    ck_assert_uint_eq(e.nbins, 0);
    sioc__sio_encoded_clear(&e);
    json_decref(args);
}
END_TEST

START_TEST(binary_values_become_attachments_numbered_depth_first)
{
    sioc__sio_encoded e;
    json_t *data = json_pack("[s,o,{s:[o]}]", "message-back", sioc_binary_new("\x01\x02\x03", 3),
                             "k", sioc_binary_new("\x04", 1));
    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_EVENT, "/", -1, data, &e), 0);
    ck_assert_str_eq(text_of(&e), "452-[\"message-back\",{\"_placeholder\":true,\"num\":0},"
                                  "{\"k\":[{\"_placeholder\":true,\"num\":1}]}]");
    ck_assert_uint_eq(e.nbins, 2);
    ck_assert(e.bins[0]->binary);
    ck_assert_uint_eq(e.bins[0]->len, 3);
    ck_assert(memcmp(sioc__msg_payload(e.bins[1]), "\x04", 1) == 0);
    sioc__sio_encoded_clear(&e);
    /* the caller's data is left as it was */
    ck_assert(sioc_binary_get(json_array_get(data, 1), NULL, NULL));
    ck_assert_int_eq(sioc__sio_encode(SIOC__SIO_ACK, "/x", 7, data, &e), 0);
    ck_assert(strncmp(text_of(&e), "462-/x,7[", 9) == 0);
    sioc__sio_encoded_clear(&e);
    json_decref(data);
}
END_TEST

START_TEST(binary_values_hold_any_bytes)
{
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++) {
        bytes[i] = (unsigned char)i;
    }
    json_t *v = sioc_binary_new(bytes, sizeof(bytes));
    const void *data;
    size_t len;
    ck_assert(sioc_binary_get(v, &data, &len));
    ck_assert_uint_eq(len, 256);
    ck_assert(memcmp(data, bytes, 256) == 0);
    json_decref(v);
    json_t *plain = json_pack("{s:s}", "_sioc_binary_not", "x");
    ck_assert(!sioc_binary_get(plain, NULL, NULL));
    json_decref(plain);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sio_codec");
    TCase *tc = tcase_create("codec");
    tcase_add_loop_test(tc, well_formed_packets_decode_to_their_parts, 0, N(good));
    tcase_add_loop_test(tc, malformed_packets_are_refused, 0, N(bad));
    tcase_add_test(tc, binary_attachments_replace_their_placeholders_in_order);
    tcase_add_test(tc, reassembly_errors_are_refused_and_reset_the_decoder);
    tcase_add_test(tc, packets_encode_as_node_writes_them);
    tcase_add_test(tc, binary_values_become_attachments_numbered_depth_first);
    tcase_add_test(tc, binary_values_hold_any_bytes);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
