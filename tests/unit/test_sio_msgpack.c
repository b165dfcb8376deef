/* MessagePack as notepack.io writes and reads it (src/sio/msgpack.c). The vectors were produced
 * by notepack.io 3.0.1 and 2.2.0 (npm) from the JavaScript values in the comments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sio/msgpack.h"
#include "sioc.h"

/* The first 4095 bytes of `b` in hex (all of it, for the vectors). */
static char *tohex(const sioc__buf *b)
{
    static char out[8192];
    size_t i = 0;
    for (; i < b->len && 2 * i + 2 < sizeof(out); i++) {
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)b->data[i]);
    }
    out[2 * i] = '\0';
    return out;
}

/* `v` (stolen) encodes to `hex`, and `hex` decodes to a value equal to `v`. */
static void both_ways(json_t *v, const char *hex)
{
    ck_assert_ptr_nonnull(v);
    sioc__buf b = {0};
    ck_assert_int_eq(sioc__msgpack_encode(&b, v), 0);
    ck_assert_str_eq(tohex(&b), hex);
    json_t *back = NULL;
    ck_assert_int_eq(sioc__msgpack_decode(b.data, b.len, &back), (long)b.len);
    ck_assert_msg(json_equal(back, v), "round trip of %s", hex);
    json_decref(back);
    json_decref(v);
    sioc__buf_free(&b);
}

/* `hex` decodes to the JSON text `json` (compact, keys in order). */
static void decodes_to(const char *hex, const char *json)
{
    unsigned char bytes[512];
    size_t n = unhex(hex, bytes);
    json_t *v = NULL;
    ck_assert_int_eq(sioc__msgpack_decode(bytes, n, &v), (long)n);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_str_eq(text, json);
    free(text);
    json_decref(v);
}

static void refused(const unsigned char *bytes, size_t n)
{
    json_t *v = NULL;
    ck_assert_int_eq(sioc__msgpack_decode(bytes, n, &v), -1);
    ck_assert_ptr_null(v);
}

START_TEST(the_redis_adapter_s_broadcast_vector)
{
    /* ["abc123",{type:2,data:["ev",1,Buffer.from([9])],nsp:"/"},{rooms:["r1"],except:[],flags:{}}]
     */
    json_t *nine = sioc_binary_new("\x09", 1);
    both_ways(json_pack("[s,{s:i,s:[s,i,o],s:s},{s:[s],s:[],s:{}}]", "abc123", "type", 2, "data",
                        "ev", 1, nine, "nsp", "/", "rooms", "r1", "except", "flags"),
              "93a661626331323383a47479706502a46461746193a2657601c40109a36e7370a12f83a5726f6f6d7391"
              "a27231a665786365707490a5666c61677380");
}
END_TEST

START_TEST(integers_take_the_smallest_form)
{
    /* [0,127,128,255,256,65535,65536,4294967295,4294967296,2**40,-1,-32,-33,-128,-129,-32768,
     *  -32769,-2147483648,-2147483649,-(2**40)] */
    both_ways(json_pack("[IIIIIIIIIIIIIIIIIIII]", 0LL, 127LL, 128LL, 255LL, 256LL, 65535LL, 65536LL,
                        4294967295LL, 4294967296LL, 1099511627776LL, -1LL, -32LL, -33LL, -128LL,
                        -129LL, -32768LL, -32769LL, -2147483648LL, -2147483649LL, -1099511627776LL),
              "dc0014007fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf00000100000000"
              "00ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffffff0000000000");
}
END_TEST

START_TEST(floats_bools_null_and_nesting)
{
    both_ways(json_pack("[f,f,f]", 0.5, -1.25, 3.14159), /* [0.5,-1.25,3.14159] */
              "93cb3fe0000000000000cbbff4000000000000cb400921f9f01b866e");
    both_ways(json_pack("[b,b,n]", 1, 0), "93c3c2c0");
    both_ways(json_pack("{s:{s:[i,[i,[i]]]},s:s}", "a", "b", 1, 2, 3, "c", "d"),
              "82a16181a162920192029103a163a164");
    /* An integral real is a JavaScript number like any other: an integer on the wire. */
    sioc__buf b = {0};
    json_t *two = json_real(2.0);
    ck_assert_int_eq(sioc__msgpack_encode(&b, two), 0);
    ck_assert_str_eq(tohex(&b), "02");
    json_decref(two);
    sioc__buf_free(&b);
}
END_TEST

START_TEST(strings_binary_arrays_and_maps_by_size)
{
    /* "" "a" é☃😀 */
    both_ways(json_pack("[s,s,s]", "", "a", "\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80"),
              "93a0a161a9c3a9e29883f09f9880");
    static const struct {
        size_t n;
        const char *head;
    } strs[] = {{31, "bf"}, {32, "d920"}, {255, "d9ff"}, {256, "da0100"}, {65536, "db00010000"}};
    for (size_t i = 0; i < N(strs); i++) {
        char *x = malloc(strs[i].n);
        memset(x, 'x', strs[i].n);
        json_t *s = json_stringn(x, strs[i].n);
        sioc__buf b = {0};
        ck_assert_int_eq(sioc__msgpack_encode(&b, s), 0);
        ck_assert_uint_eq(b.len, strs[i].n + strlen(strs[i].head) / 2);
        ck_assert_int_eq(strncmp(tohex(&b), strs[i].head, strlen(strs[i].head)), 0);
        json_t *back;
        ck_assert_int_eq(sioc__msgpack_decode(b.data, b.len, &back), (long)b.len);
        ck_assert(json_equal(back, s));
        json_decref(back);
        json_decref(s);
        sioc__buf_free(&b);
        free(x);
    }
    /* [Buffer.alloc(0), Buffer.from([1,2,3])]; Buffer.alloc(300) starts "c5012c" */
    both_ways(json_pack("[o,o]", sioc_binary_new("", 0), sioc_binary_new("\x01\x02\x03", 3)),
              "92c400c403010203");
    /* [new Array(16).fill(1), new Array(15).fill(0)] */
    both_ways(json_pack("[[iiiiiiiiiiiiiiii],[iiiiiiiiiiiiiii]]", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                        1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
              "92dc0010010101010101010101010101010101019f000000000000000000000000000000");
    json_t *m = json_object(); /* {k0:0, ..., k15:15} */
    for (int i = 0; i < 16; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(m, k, json_integer(i));
    }
    both_ways(m, "de0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a2"
                 "6b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f");
}
END_TEST

START_TEST(notepack_2_forms_are_read)
{
    /* notepack 2.x: [undefined, {a: undefined, b: 1}] — undefined is null, or left out */
    decodes_to("92d4000082a161d40000a16201", "[null,{\"b\":1}]");
    decodes_to("92c081a16201", "[null,{\"b\":1}]"); /* 3.x writes the same as nil, and omits */
    /* An ArrayBuffer: 2.x's ext 0, 3.x's bin. */
    unsigned char ab2[] = {0xc7, 0x03, 0x00, 1, 2, 3}, ab3[] = {0xc4, 0x03, 1, 2, 3};
    json_t *a, *b;
    ck_assert_int_eq(sioc__msgpack_decode(ab2, sizeof(ab2), &a), (long)sizeof(ab2));
    ck_assert_int_eq(sioc__msgpack_decode(ab3, sizeof(ab3), &b), (long)sizeof(ab3));
    ck_assert(sioc_binary_get(a, NULL, NULL) && json_equal(a, b));
    json_decref(a);
    json_decref(b);
}
END_TEST

START_TEST(dates_become_what_json_makes_of_them)
{
    /* 3.x: [new Date(0), new Date(1500), new Date(Date.UTC(2024,0,2,3,4,5,678)), new Date(-1)] */
    decodes_to(
        "94d6ff00000000d7ff7735940000000001d7ffa1a5d60065937d25c70cff3b8b87c0ffffffffffffffff",
        "[\"1970-01-01T00:00:00.000Z\",\"1970-01-01T00:00:01.500Z\","
        "\"2024-01-02T03:04:05.678Z\",\"1969-12-31T23:59:59.999Z\"]");
    /* 2.x: the first three again */
    decodes_to("93d7000000000000000000d70000000000000005dcd7000000018cc820db2e",
               "[\"1970-01-01T00:00:00.000Z\",\"1970-01-01T00:00:01.500Z\","
               "\"2024-01-02T03:04:05.678Z\"]");
}
END_TEST

START_TEST(other_forms_are_read_as_javascript_has_them)
{
    decodes_to("8101a178", "{\"1\":\"x\"}");  /* an integer key: its text */
    decodes_to("ca3fc00000", "1.5");          /* float32 */
    decodes_to("cb3ff0000000000000", "1");    /* an integral float */
    decodes_to("cb7ff8000000000000", "null"); /* NaN */
    decodes_to("cfffffffffffffffff", "1.8446744073709552e19");
    /* One value: what follows it is left for the caller. */
    json_t *abc;
    ck_assert_int_eq(sioc__msgpack_decode("\xa3"
                                          "abc\xff",
                                          5, &abc),
                     4);
    ck_assert_str_eq(json_string_value(abc), "abc");
    json_decref(abc);
}
END_TEST

START_TEST(malformed_input_is_refused)
{
    unsigned char v[512];
    size_t n =
        unhex("93a661626331323383a47479706502a46461746193a2657601c40109a36e7370a12f83a5726f6f"
              "6d7391a27231a665786365707490a5666c61677380",
              v);
    for (size_t i = 0; i < n; i++) {
        refused(v, i); /* every truncation */
    }
    static const char *const bad[] = {
        "c1",         /* never used */
        "dd7fffffff", /* 2^31 elements in 5 bytes: no allocation for them */
        "df7fffffff", /* nor members */
        "d5050102",   /* an ext type nobody writes */
        "8191c0c0",   /* an array as a key */
        "a2c328",     /* not UTF-8 */
        "d6ff",       /* a timestamp cut short */
    };
    for (size_t i = 0; i < N(bad); i++) {
        n = unhex(bad[i], v);
        refused(v, n);
    }
    /* Depth: 64 nested arrays are read, 65 are not. */
    memset(v, 0x91, 65);
    v[65] = 0xc0;
    refused(v, 66);
    json_t *deep;
    ck_assert_int_eq(sioc__msgpack_decode(v + 1, 65, &deep), 65);
    json_decref(deep);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sio_msgpack");
    TCase *tc = tcase_create("msgpack");
    tcase_add_test(tc, the_redis_adapter_s_broadcast_vector);
    tcase_add_test(tc, integers_take_the_smallest_form);
    tcase_add_test(tc, floats_bools_null_and_nesting);
    tcase_add_test(tc, strings_binary_arrays_and_maps_by_size);
    tcase_add_test(tc, notepack_2_forms_are_read);
    tcase_add_test(tc, dates_become_what_json_makes_of_them);
    tcase_add_test(tc, other_forms_are_read_as_javascript_has_them);
    tcase_add_test(tc, malformed_input_is_refused);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
