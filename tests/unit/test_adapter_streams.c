/* The Streams adapter's wire (streams_wire.c): stream ids as Node checks them, the streams' names
 * as Node's computeStreamName gives them (values printed by @socket.io/redis-streams-adapter
 * 0.3.1's hashCode), entries and session records as Node's adapter writes and reads them. */
#include <string.h>

#include "adapter/streams_internal.h"
#include "check_main.h"
#include "core/sio.h"

START_TEST(stream_ids_are_digits_dash_digits)
{
    sioc__stream_id id;
    static const char *const good[] = {"0-0", "1796657970093-0", "12-345"};
    for (int i = 0; i < N(good); i++) {
        ck_assert_msg(sioc__stream_id_parse(good[i], strlen(good[i]), &id), "%s", good[i]);
    }
    ck_assert(sioc__stream_id_parse("1796657970093-12", 16, &id));
    ck_assert_uint_eq(id.ms, 1796657970093u);
    ck_assert_uint_eq(id.seq, 12);
    static const char *const bad[] = {"",     "1", "1-",  "-1",   "a-1", "1-2-3",
                                      "1 -2", "$", "1-b", "1-2 ", "+",   "99999999999999999999-0"};
    for (int i = 0; i < N(bad); i++) {
        ck_assert_msg(!sioc__stream_id_parse(bad[i], strlen(bad[i]), &id), "%s", bad[i]);
    }
    sioc__stream_id a = {5, 1}, b = {5, 2}, c = {6, 0};
    ck_assert_int_lt(sioc__stream_id_cmp(a, b), 0);
    ck_assert_int_gt(sioc__stream_id_cmp(c, b), 0);
    ck_assert_int_eq(sioc__stream_id_cmp(a, a), 0);
}
END_TEST

static char *name_for(sioc__streams_config *cfg, const char *nsp)
{
    return sioc__streams_name(cfg, sioc__streams_index(cfg, nsp));
}

START_TEST(a_namespace_goes_to_the_stream_node_computes)
{
    sioc__streams_config cfg = {.stream_name = "socket.io", .stream_count = 1};
    char *name = name_for(&cfg, "/chat");
    ck_assert_str_eq(name, "socket.io");
    ck_assert_uint_eq(sioc__streams_count(&cfg), 1);
    free(name);
    cfg.stream_count = 3;
    /* hashCode: "/" 47, "/chat" 46457863, "/é" 1690, "/😀" 1818066 (a surrogate pair),
     * "/zzzzzzzz" -961036753 */
    static const char *const cases[][2] = {
        {"/", "socket.io-2"},          {"/chat", "socket.io-1"},
        {"/\xc3\xa9", "socket.io-1"},  {"/\xf0\x9f\x98\x80", "socket.io-0"},
        {"/zzzzzzzz", "socket.io--1"}, {"/admin-namespace-long", "socket.io-2"},
    };
    for (int i = 0; i < N(cases); i++) {
        name = name_for(&cfg, cases[i][0]);
        ck_assert_str_eq(name, cases[i][1]);
        free(name);
    }
    /* Node's own names, then those a negative hash gives, which Node writes but never reads. */
    ck_assert_uint_eq(sioc__streams_count(&cfg), 5);
    name = sioc__streams_name(&cfg, 4);
    ck_assert_str_eq(name, "socket.io--2");
    free(name);
}
END_TEST

/* An entry's fields, as XREAD gives them. */
typedef struct fake_entry {
    redisReply r, items[8];
    redisReply *ptrs[8];
} fake_entry;

static void entry_of(fake_entry *e, const char *const *kv, int n)
{
    memset(e, 0, sizeof(*e));
    e->r.type = REDIS_REPLY_ARRAY;
    e->r.elements = (size_t)n;
    e->r.element = e->ptrs;
    for (int i = 0; i < n; i++) {
        e->items[i] =
            (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)kv[i], .len = strlen(kv[i])};
        e->ptrs[i] = &e->items[i];
    }
}

START_TEST(entries_decode_from_json_and_from_base64_msgpack)
{
    fake_entry e;
    sioc__cm m;
    const char *why;
    /* JSON, as Node writes a broadcast without binary */
    static const char *const json[] = {
        "uid",
        "795a718cb8839001",
        "nsp",
        "/",
        "type",
        "3",
        "data",
        "{\"packet\":{\"type\":2,\"data\":[\"serverMsg\",\"from-n\"]},\"opts\":{\"rooms\":[],"
        "\"except\":[\"Guo2izrbIL5sWmM_AAAA\"],\"flags\":{}}}"};
    entry_of(&e, json, N(json));
    ck_assert_int_eq(sioc__streams_entry(&e.r, &m, &why), 0);
    ck_assert_str_eq(m.uid, "795a718cb8839001");
    ck_assert_int_eq(m.type, SIOC__CM_BROADCAST);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(m.data, "packet"), "data"), 1)),
                     "from-n");
    sioc__cm_clear(&m);
    /* base64 of msgpack, as Node wrote ["serverMsg", Buffer [1, 2]] (read back from Redis) */
    static const char *const packed[] = {
        "uid",
        "795a718cb8839001",
        "nsp",
        "/",
        "type",
        "3",
        "data",
        "gqZwYWNrZXSCpHR5cGUCpGRhdGGSqXNlcnZlck1zZ8QCAQKkb3B0c4Olcm9vbXOQpmV4Y2VwdJG0R3VvMml6cmJJTD"
        "VzV21NX0FBQUGlZmxhZ3OA"};
    entry_of(&e, packed, N(packed));
    ck_assert_int_eq(sioc__streams_entry(&e.r, &m, &why), 0);
    const void *bytes;
    size_t len;
    json_t *bin = json_array_get(json_object_get(json_object_get(m.data, "packet"), "data"), 1);
    ck_assert(sioc_binary_get(bin, &bytes, &len));
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(memcmp(bytes, "\x01\x02", 2), 0);
    sioc__cm_clear(&m);
}
END_TEST

START_TEST(what_sioc_writes_reads_back_and_bad_entries_are_refused)
{
    json_t *data = json_pack("{s:{s:i,s:[s,o]},s:{s:[],s:[]}}", "packet", "type", 2, "data", "ev",
                             sioc_binary_new("\x09\x08", 2), "opts", "rooms", "except");
    sioc__buf out = {0};
    ck_assert_int_eq(sioc__streams_entry_data(data, &out), 0);
    ck_assert_int_ne(out.data[0], '{'); /* binary: base64 of msgpack */
    char *text = strndup((const char *)out.data, out.len);
    const char *const fields[] = {"uid", "0123456789abcdef", "nsp", "/chat", "type", "3", "data",
                                  text};
    fake_entry e;
    entry_of(&e, fields, N(fields));
    sioc__cm m;
    const char *why;
    ck_assert_int_eq(sioc__streams_entry(&e.r, &m, &why), 0);
    ck_assert(json_equal(m.data, data));
    sioc__cm_clear(&m);
    free(text);
    sioc__buf_free(&out);
    json_decref(data);

    static const char *const no_uid[] = {"nsp", "/", "type", "3", "data", "{}"};
    entry_of(&e, no_uid, N(no_uid));
    ck_assert_int_eq(sioc__streams_entry(&e.r, &m, &why), -1);
    static const char *const garbage[] = {"uid", "u", "nsp", "/", "type", "3", "data", "!!!"};
    entry_of(&e, garbage, N(garbage));
    ck_assert_int_eq(sioc__streams_entry(&e.r, &m, &why), -1);
    static const char *const bad_type[] = {"uid", "u", "nsp", "/", "type", "x", "data", "{}"};
    entry_of(&e, bad_type, N(bad_type));
    ck_assert_int_eq(sioc__streams_entry(&e.r, &m, &why), -1);
}
END_TEST

START_TEST(session_records_are_nodes_format)
{
    /* Written by Node's adapter: {sid, pid, rooms: [sid, "room1"], data: {k: "v"}} */
    static const char node[] = "hKNzaWS0Z2QxdTJYcGVMT1RLNDQyeWVrNDWjcGlktGFqandZYmdBcnVDLUV6VG5fZmV"
                               "GpXJvb21zkrRnZDF1MlhwZUxPVEs0NDJ5ZWs0NaVyb29tMaRkYXRhgaFroXY=";
    sioc__saved_session *s = sioc__streams_session_decode(node, strlen(node), 7);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->sid, "gd1u2XpeLOTK442yek45");
    ck_assert_str_eq(s->pid, "ajjwYbgAruC-EzTn_feF");
    ck_assert_uint_eq(json_array_size(s->rooms), 2);
    ck_assert_str_eq(json_string_value(json_array_get(s->rooms, 1)), "room1");
    ck_assert_str_eq(json_string_value(json_object_get(s->data, "k")), "v");
    ck_assert_uint_eq(s->at_ms, 7);
    char *again = sioc__streams_session_encode(s);
    sioc__saved_session *t = sioc__streams_session_decode(again, strlen(again), 8);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->sid, s->sid);
    ck_assert(json_equal(t->rooms, s->rooms));
    ck_assert(json_equal(t->data, s->data));
    free(again);
    sioc__saved_session_free(s);
    sioc__saved_session_free(t);
    ck_assert_ptr_null(sioc__streams_session_decode("not base64!", 11, 0));
    ck_assert_ptr_null(sioc__streams_session_decode("kqFhoWI=", 8, 0)); /* ["a", "b"] */
    /* rooms given as numbers (io.to(123)), data undefined (nil) */
    static const char odd[] = "hKNzaWSheKNwaWSheaVyb29tc5KheHukZGF0YcA=";
    s = sioc__streams_session_decode(odd, strlen(odd), 0);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(json_string_value(json_array_get(s->rooms, 1)), "123");
    ck_assert(json_is_object(s->data));
    sioc__saved_session_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("adapter_streams");
    TCase *tc = tcase_create("wire");
    tcase_add_test(tc, stream_ids_are_digits_dash_digits);
    tcase_add_test(tc, a_namespace_goes_to_the_stream_node_computes);
    tcase_add_test(tc, entries_decode_from_json_and_from_base64_msgpack);
    tcase_add_test(tc, what_sioc_writes_reads_back_and_bad_entries_are_refused);
    tcase_add_test(tc, session_records_are_nodes_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
