/* ClusterAdapter messages (src/adapter/cluster_msg.c). The vectors are what @socket.io/redis-
 * adapter 8.3.0's sharded adapter publishes for the messages socket.io-adapter's ClusterAdapter
 * builds (its encode(): JSON.stringify, or notepack.io 3.0.1 when binary travels), from the
 * JavaScript values described beside them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_msg.h"
#include "check_main.h"
#include "sioc.h"

static const char *const json_vectors[] = {
    "{\"type\":1,\"uid\":\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":13,\"uid\":\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":3,\"data\":{\"packet\":{\"type\":2,\"data\":[\"ev\",1],\"nsp\":\"/\"},\"opts\":{"
    "\"rooms\":[\"r\"],\"except\":[],\"flags\":{}}},\"uid\":\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":4,\"data\":{\"opts\":{\"rooms\":[\"a\"],\"except\":[]},\"rooms\":[\"b\",\"c\"]},"
    "\"uid\":\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":6,\"data\":{\"opts\":{\"rooms\":[],\"except\":[]},\"close\":true},\"uid\":"
    "\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":7,\"data\":{\"opts\":{\"rooms\":[],\"except\":[]},\"requestId\":\"abc\"},\"uid\":"
    "\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":8,\"data\":{\"requestId\":\"abc\",\"sockets\":[{\"id\":\"x\",\"handshake\":{"
    "\"address\":\"1.2.3.4\"},\"rooms\":[\"x\"],\"data\":{}}]},\"uid\":\"a1b2c3d4e5f60718\","
    "\"nsp\":\"/\"}",
    "{\"type\":9,\"data\":{\"packet\":[\"hello\",5],\"requestId\":\"q\"},\"uid\":"
    "\"a1b2c3d4e5f60718\",\"nsp\":\"/\"}",
    "{\"type\":11,\"data\":{\"requestId\":\"q\",\"clientCount\":3},\"uid\":\"a1b2c3d4e5f60718\","
    "\"nsp\":\"/\"}",
    "{\"type\":12,\"data\":{\"requestId\":\"q\",\"packet\":\"ok\"},\"uid\":\"a1b2c3d4e5f60718\","
    "\"nsp\":\"/\"}",
};

/* {type:3, data:{packet:{type:2, data:["ev", Buffer [1,2]], nsp:"/"}, opts:{rooms:[],
 * except:["x"], flags:{volatile:true}}, requestId:"f00"}, uid, nsp} and {type:10,
 * data:{requestId:"q", packet: Buffer [9]}, uid, nsp}: binary, so msgpack. */
static const char *const msgpack_vectors[] = {
    "84a47479706503a46461746183a67061636b657483a47479706502a46461746192a26576c4020102a36e7370a1"
    "2fa46f70747383a5726f6f6d7390a665786365707491a178a5666c61677381a8766f6c6174696c65c3a9726571"
    "756573744964a3663030a3756964b061316232633364346535663630373138a36e7370a12f",
    "84a4747970650aa46461746182a9726571756573744964a171a67061636b6574c40109a3756964b0613162326333"
    "64346535663630373138a36e7370a12f",
};

/* Decodes `bytes`, encodes what came out again: the same bytes, in the same form. */
static void round_trip(const void *bytes, size_t len, bool is_msgpack)
{
    sioc__cm m;
    const char *why = NULL;
    ck_assert_msg(sioc__cm_decode(bytes, len, &m, &why) == 0, "refused: %s", why);
    ck_assert_str_eq(m.uid, "a1b2c3d4e5f60718");
    ck_assert_str_eq(m.nsp, "/");
    sioc__buf out = {0};
    bool msgpack = !is_msgpack;
    ck_assert_int_eq(sioc__cm_encode(&out, m.uid, m.nsp, m.type, m.data, &msgpack), 0);
    ck_assert(msgpack == is_msgpack);
    ck_assert_uint_eq(out.len, len);
    ck_assert(memcmp(out.data, bytes, len) == 0);
    sioc__buf_free(&out);
    sioc__cm_clear(&m);
}

START_TEST(node_s_json_messages_decode_and_encode_to_the_same_bytes)
{
    round_trip(json_vectors[_i], strlen(json_vectors[_i]), false);
}
END_TEST

START_TEST(node_s_msgpack_messages_with_binary_decode_and_encode_to_the_same_bytes)
{
    unsigned char bytes[512];
    size_t n = unhex(msgpack_vectors[_i], bytes);
    round_trip(bytes, n, true);
}
END_TEST

START_TEST(binary_comes_back_as_binary_values)
{
    unsigned char bytes[512];
    size_t n = unhex(msgpack_vectors[0], bytes);
    sioc__cm m;
    const char *why;
    ck_assert_int_eq(sioc__cm_decode(bytes, n, &m, &why), 0);
    ck_assert_int_eq(m.type, SIOC__CM_BROADCAST);
    json_t *args = json_object_get(json_object_get(m.data, "packet"), "data");
    const void *data;
    size_t len;
    ck_assert(sioc_binary_get(json_array_get(args, 1), &data, &len));
    ck_assert_uint_eq(len, 2);
    ck_assert(memcmp(data, "\x01\x02", 2) == 0);
    sioc__cm_clear(&m);
}
END_TEST

/* Each malformed message is refused, with the reason. */
static const struct {
    const char *text, *why;
} bad[] = {
    {"", "neither a JSON nor a msgpack object"},
    {"[1]", "neither a JSON nor a msgpack object"},
    {"{\"type\":1,\"nsp\":\"/\"} x", "neither a JSON nor a msgpack object"},
    {"{\"type\":1,\"nsp\":\"/\"}", "no uid or nsp"},
    {"{\"type\":14,\"uid\":\"u\",\"nsp\":\"/\"}", "an unknown type"},
    {"{\"type\":\"3\",\"uid\":\"u\",\"nsp\":\"/\"}", "an unknown type"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\"}", "data is not an object"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"packet\":{\"data\":[\"e\"]}}}",
     "opts is not an object"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{\"rooms\":\"r\"},\"packet\":{"
     "\"data\":[\"e\"]}}}",
     "opts.rooms or opts.except is not a list of rooms"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{\"except\":[{}]},\"packet\":{"
     "\"data\":[\"e\"]}}}",
     "opts.rooms or opts.except is not a list of rooms"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{\"flags\":1},\"packet\":{"
     "\"data\":[\"e\"]}}}",
     "opts.flags is not an object"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{},\"packet\":{\"data\":[1]}}}",
     "packet has no event"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{},\"requestId\":7,\"packet\":{"
     "\"data\":[\"e\"]}}}",
     "requestId is not a string"},
    {"{\"type\":4,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{}}}", "rooms is not a list"},
    {"{\"type\":6,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{},\"close\":1}}",
     "close is not a boolean"},
    {"{\"type\":7,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"opts\":{}}}", "no requestId"},
    {"{\"type\":8,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\"}}",
     "sockets is not a list"},
    {"{\"type\":8,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\",\"sockets\":[{}]}}",
     "a socket without an id, or with bad rooms or handshake"},
    {"{\"type\":8,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\",\"sockets\":[{\"id\":"
     "\"x\",\"handshake\":[]}]}}",
     "a socket without an id, or with bad rooms or handshake"},
    {"{\"type\":9,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"packet\":\"e\"}}", "packet has no event"},
    {"{\"type\":10,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{}}", "no requestId"},
    {"{\"type\":11,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\",\"clientCount\":-1}}",
     "clientCount is not a count"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/"
     "\",\"data\":{\"opts\":{},\"seq\":-1,\"packet\":{\"data\":[\"e\"]}}}",
     "a bad seq"},
    {"{\"type\":3,\"uid\":\"u\",\"nsp\":\"/"
     "\",\"data\":{\"opts\":{},\"seq\":\"1\",\"packet\":{\"data\":[\"e\"]}}}",
     "a bad seq"},
    {"{\"type\":99,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{}}", "an unknown type"},
    {"{\"type\":100,\"uid\":\"u\",\"nsp\":\"/\"}", "data is not an object"},
    {"{\"type\":100,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\"}}", "no pid"},
    {"{\"type\":101,\"uid\":\"u\",\"nsp\":\"/"
     "\",\"data\":{\"requestId\":\"r\",\"session\":{\"pid\":\"p\",\"sid\":\"s\",\"rooms\":[1],"
     "\"data\":{}}}}",
     "a session without ids, rooms or data"},
    {"{\"type\":101,\"uid\":\"u\",\"nsp\":\"/"
     "\",\"data\":{\"requestId\":\"r\",\"session\":{\"pid\":\"123456789012345678901\",\"sid\":"
     "\"s\",\"rooms\":[],\"data\":{}}}}",
     "a session without ids, rooms or data"},
    {"{\"type\":102,\"uid\":\"u\",\"nsp\":\"/"
     "\",\"data\":{\"pid\":\"p\",\"sid\":\"s\",\"rooms\":[],\"data\":{}}}",
     "live is not a boolean"},
    {"{\"type\":102,\"uid\":\"u\",\"nsp\":\"/"
     "\",\"data\":{\"pid\":\"p\",\"rooms\":[],\"data\":{},\"live\":true}}",
     "a session without ids, rooms or data"},
    {"{\"type\":101,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\",\"session\":{\"pid\":"
     "\"p\",\"sid\":\"s\",\"rooms\":[],\"data\":{}},\"missed\":[[0,5]]}}",
     "a missed packet is not [worker, seq, event]"},
    {"{\"type\":101,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\",\"session\":null,"
     "\"missed\":{}}}",
     "missed is not a list"},
    {"{\"type\":103,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{}}", "no pid"},
    {"{\"type\":104,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{}}", "no text"},
    {"{\"type\":104,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"text\":5}}", "no text"},
    {"{\"type\":105,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{}}", "an unknown type"},
};

/* sioc's own messages between workers: a session asked for, given back (or not), told of as it
 * changes or gone, and a broadcast with its place among its worker's. */
START_TEST(restore_session_messages_decode)
{
    static const char *const good[] = {
        "{\"type\":100,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"requestId\":\"r\",\"pid\":\"p\"}}",
        "{\"type\":101,\"uid\":\"u\",\"nsp\":\"/"
        "\",\"data\":{\"requestId\":\"r\",\"session\":null}}",
        "{\"type\":101,\"uid\":\"u\",\"nsp\":\"/"
        "\",\"data\":{\"requestId\":\"r\",\"session\":{\"pid\":\"p\",\"sid\":\"s\",\"rooms\":["
        "\"s\",\"r\"],\"data\":{\"k\":1}},\"missed\":[[0,5,[\"e\",1,\"2.0\"]]]}}",
        "{\"type\":3,\"uid\":\"u\",\"nsp\":\"/"
        "\",\"data\":{\"opts\":{},\"seq\":31,\"packet\":{\"type\":2,\"data\":[\"e\"],\"nsp\":\"/"
        "\"}}}",
        "{\"type\":102,\"uid\":\"u\",\"nsp\":\"/"
        "\",\"data\":{\"pid\":\"p\",\"sid\":\"s\",\"rooms\":[\"s\"],\"data\":null,\"live\":false}}",
        "{\"type\":103,\"uid\":\"u\",\"nsp\":\"/\",\"data\":{\"pid\":\"p\"}}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        sioc__cm m;
        const char *why = NULL;
        ck_assert_msg(sioc__cm_decode(good[i], strlen(good[i]), &m, &why) == 0, "%s", why);
        static const sioc__cm_type types[] = {SIOC__CM_RESTORE_SESSION,
                                              SIOC__CM_RESTORE_SESSION_RESPONSE,
                                              SIOC__CM_RESTORE_SESSION_RESPONSE,
                                              SIOC__CM_BROADCAST,
                                              SIOC__CM_SESSION,
                                              SIOC__CM_SESSION_GONE};
        ck_assert_int_eq(m.type, types[i]);
        ck_assert_ptr_nonnull(m.data);
        sioc__cm_clear(&m);
    }
}
END_TEST

START_TEST(malformed_messages_are_refused_with_their_reason)
{
    sioc__cm m;
    const char *why = NULL;
    ck_assert_int_eq(sioc__cm_decode(bad[_i].text, strlen(bad[_i].text), &m, &why), -1);
    ck_assert_str_eq(why, bad[_i].why);
    ck_assert_ptr_null(m.root);
}
END_TEST

START_TEST(truncated_or_trailing_msgpack_is_refused)
{
    unsigned char bytes[512];
    size_t n = unhex(msgpack_vectors[1], bytes);
    sioc__cm m;
    const char *why;
    ck_assert_int_eq(sioc__cm_decode(bytes, n - 1, &m, &why), -1);
    bytes[n] = 0xc0; /* one value too many */
    ck_assert_int_eq(sioc__cm_decode(bytes, n + 1, &m, &why), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cluster_msg");
    TCase *tc = tcase_create("cluster_msg");
    tcase_add_loop_test(tc, node_s_json_messages_decode_and_encode_to_the_same_bytes, 0,
                        N(json_vectors));
    tcase_add_loop_test(tc, node_s_msgpack_messages_with_binary_decode_and_encode_to_the_same_bytes,
                        0, N(msgpack_vectors));
    tcase_add_test(tc, binary_comes_back_as_binary_values);
    tcase_add_loop_test(tc, malformed_messages_are_refused_with_their_reason, 0, N(bad));
    tcase_add_test(tc, truncated_or_trailing_msgpack_is_refused);
    tcase_add_test(tc, restore_session_messages_decode);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
