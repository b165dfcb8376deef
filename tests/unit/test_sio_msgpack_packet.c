/* Packets as socket.io-msgpack-parser 3.0.2 writes and reads them (src/sio/msgpack_packet.c). The
 * vectors were produced by its Encoder (npm, over notepack.io 2.2) from the packet objects in the
 * comments: Node's server builds them with the keys type, data, id, nsp; the client adds
 * `options`. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sio/msgpack_packet.h"
#include "sioc.h"

static const char *hex_of(const sioc__msg *m)
{
    static char out[1024];
    const unsigned char *p = (const unsigned char *)m->bytes + SIOC_MSG_HEADROOM;
    size_t i = 0;
    for (; i < m->len && 2 * i + 2 < sizeof(out); i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
    out[2 * i] = '\0';
    return out;
}

/* `data` (stolen) encodes to `hex`, one binary message with no attachment. */
static void encodes(sioc__sio_type type, const char *nsp, int64_t id, json_t *data, const char *hex)
{
    sioc__sio_encoded e;
    ck_assert_int_eq(sioc__sio_encode_msgpack(type, nsp, id, data, &e), 0);
    ck_assert(e.text->binary);
    ck_assert_uint_eq(e.nbins, 0);
    ck_assert_str_eq(hex_of(e.text), hex);
    sioc__sio_encoded_clear(&e);
    json_decref(data);
}

START_TEST(the_server_s_packets_are_node_s_bytes)
{
    /* {type: 0, data: {sid: "abc"}, nsp: "/"} */
    encodes(SIOC__SIO_CONNECT, "/", -1, json_pack("{s:s}", "sid", "abc"),
            "83a47479706500a46461746181a3736964a3616263a36e7370a12f");
    /* {type: 2, data: ["ev", 1, Buffer.from([9, 8])], nsp: "/"}: binary inline, type 2 */
    unsigned char bytes[] = {9, 8};
    encodes(SIOC__SIO_BINARY_EVENT, "/", -1,
            json_pack("[s,i,o]", "ev", 1, sioc_binary_new(bytes, 2)),
            "83a47479706502a46461746193a2657601c4020908a36e7370a12f");
    /* {type: 2, data: ["ask", "x"], id: 7, nsp: "/chat"} */
    encodes(SIOC__SIO_EVENT, "/chat", 7, json_pack("[s,s]", "ask", "x"),
            "84a47479706502a46461746192a361736ba178a2696407a36e7370a52f63686174");
    /* {type: 3, data: [true], id: 300, nsp: "/"} */
    encodes(SIOC__SIO_ACK, "/", 300, json_pack("[b]", 1),
            "84a47479706503a46461746191c3a26964cd012ca36e7370a12f");
    /* {type: 4, data: {message: "no"}, nsp: "/x"} */
    encodes(SIOC__SIO_CONNECT_ERROR, "/x", -1, json_pack("{s:s}", "message", "no"),
            "83a47479706504a46461746181a76d657373616765a26e6fa36e7370a22f78");
    /* {type: 1, nsp: "/"} */
    encodes(SIOC__SIO_DISCONNECT, "/", -1, NULL, "82a47479706501a36e7370a12f");
}
END_TEST

static int decode_hex(const char *hex, sioc__sio_packet *p)
{
    unsigned char buf[512];
    size_t n = unhex(hex, buf);
    return sioc__sio_decode_msgpack(buf, n, p);
}

START_TEST(the_client_s_packets_are_read)
{
    sioc__sio_packet p;
    /* {type: 2, data: ["msg", {a: [1.5, null]}, Uint8Array.of(1, 2).buffer], options: {compress:
     * true}, id: 0, nsp: "/"}: the ArrayBuffer as notepack 2.x's ext 0 */
    ck_assert_int_eq(
        decode_hex("85a47479706502a46461746193a36d736781a16192cb3ff8000000000000c0c7"
                   "02000102a76f7074696f6e7381a8636f6d7072657373c3a2696400a36e7370a12f",
                   &p),
        0);
    ck_assert_int_eq(p.type, SIOC__SIO_EVENT);
    ck_assert_str_eq(p.nsp, "/");
    ck_assert_int_eq(p.id, 0);
    ck_assert_uint_eq(p.attachments, 0);
    ck_assert_str_eq(json_string_value(json_array_get(p.data, 0)), "msg");
    ck_assert(json_real_value(json_array_get(json_object_get(json_array_get(p.data, 1), "a"), 0)) ==
              1.5);
    const void *bin;
    size_t len;
    ck_assert(sioc_binary_get(json_array_get(p.data, 2), &bin, &len));
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(((const unsigned char *)bin)[1], 2);
    sioc__sio_packet_clear(&p);
    /* {type: 0, data: undefined, nsp: "/"}: 2.x's undefined is no data */
    ck_assert_int_eq(decode_hex("83a47479706500a464617461d40000a36e7370a12f", &p), 0);
    ck_assert_int_eq(p.type, SIOC__SIO_CONNECT);
    ck_assert_ptr_null(p.data);
    ck_assert_int_eq(p.id, -1);
    sioc__sio_packet_clear(&p);
}
END_TEST

START_TEST(what_check_packet_refuses_is_refused)
{
    sioc__sio_packet p;
    static const char *const bad[] = {
        "",                                           /* nothing */
        "93010203",                                   /* not a map */
        "82a47479706505a36e7370a12f",                 /* {type: 5, nsp: "/"}: types 0-4 only */
        "82a474797065ffa36e7370a12f",                 /* {type: -1, ...} */
        "82a474797065a132a36e7370a12f",               /* {type: "2", ...} */
        "81a47479706501",                             /* {type: 1}: no nsp */
        "82a47479706501a36e737001",                   /* {type: 1, nsp: 1} */
        "82a47479706502a36e7370a12f",                 /* {type: 2, nsp: "/"}: no data */
        "83a47479706502a464617461a178a36e7370a12f",   /* EVENT data "x" */
        "83a47479706501a46461746190a36e7370a12f",     /* DISCONNECT with data */
        "83a47479706500a46461746190a36e7370a12f",     /* CONNECT data [] */
        "83a47479706504a46461746190a36e7370a12f",     /* CONNECT_ERROR data [] */
        "84a47479706502a46461746190a2696401a36e7370", /* truncated */
        "84a47479706503a46461746190a26964a178a36e7370a12f", /* id "x" */
        "84a47479706503a46461746190a26964ffa36e7370a12f",   /* id -1 */
        "82a47479706501a36e7370a12f00",                     /* a byte after the map */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(decode_hex(bad[i], &p) == -1, "accepted %s", bad[i]);
        ck_assert_ptr_null(p.data);
    }
    /* a namespace longer than the packet can hold (256 bytes, str16), then the longest (str8) */
    unsigned char big[300] = {0x82, 0xa4, 't', 'y', 'p',  'e', 0x01,
                              0xa3, 'n',  's', 'p', 0xda, 1,   0};
    memset(big + 14, 'a', 256);
    big[14] = '/';
    ck_assert_int_eq(sioc__sio_decode_msgpack(big, 14 + 256, &p), -1);
    big[11] = 0xd9;
    big[12] = 255;
    memmove(big + 13, big + 14, 255);
    ck_assert_int_eq(sioc__sio_decode_msgpack(big, 13 + 255, &p), 0);
    ck_assert_uint_eq(strlen(p.nsp), 255);
    sioc__sio_packet_clear(&p);
}
END_TEST

START_TEST(what_it_writes_it_reads)
{
    json_t *data = json_pack("[s,{s:[i,f,n]},s]", "ev", "k", -5, 0.25, "é");
    sioc__sio_encoded e;
    ck_assert_int_eq(sioc__sio_encode_msgpack(SIOC__SIO_EVENT, "/n", 42, data, &e), 0);
    sioc__sio_packet p;
    ck_assert_int_eq(sioc__sio_decode_msgpack(e.text->bytes + SIOC_MSG_HEADROOM, e.text->len, &p),
                     0);
    ck_assert_int_eq(p.type, SIOC__SIO_EVENT);
    ck_assert_str_eq(p.nsp, "/n");
    ck_assert_int_eq(p.id, 42);
    ck_assert(json_equal(p.data, data));
    sioc__sio_packet_clear(&p);
    sioc__sio_encoded_clear(&e);
    json_decref(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sio_msgpack_packet");
    TCase *tc = tcase_create("packets");
    tcase_add_test(tc, the_server_s_packets_are_node_s_bytes);
    tcase_add_test(tc, the_client_s_packets_are_read);
    tcase_add_test(tc, what_check_packet_refuses_is_refused);
    tcase_add_test(tc, what_it_writes_it_reads);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
