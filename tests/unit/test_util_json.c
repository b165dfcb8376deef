/* JSON read and written directly (src/util/jsonr.c, jsonw.c): every document below is read as
 * jansson's json_loadb (JSON_DECODE_ANY | JSON_ALLOW_NUL) reads it, to equal values, and refused
 * where jansson refuses it; what the dumper writes is byte for byte jansson's compact dump. */
#include <check.h>
#include <limits.h>
#include <string.h>

#include "check_main.h"
#include "util/jsonr.h"
#include "util/jsonw.h"

static const char *const valid[] = {
    "0",
    "-0",
    "1",
    "-1",
    "42",
    "9223372036854775807",
    "-9223372036854775808",
    "1.5",
    "-0.0",
    "1e3",
    "1E+3",
    "1e-3",
    "0.1",
    "123.456e-7",
    "4.9e-324",
    "1e-400",
    "true",
    "false",
    "null",
    "\"\"",
    "\"a\"",
    "\"t=12345678\"",
    "\"\\u00e9\\u4e2d\\ud83d\\ude00\"",
    "\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\"",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
    "\"a\\u0000b\"",
    "\"\\u001f\\u007f\"",
    "\"x\\ny\\\"z\"",
    "[]",
    "{}",
    " [ ] ",
    "\t\r\n{ }\n",
    "[1,2,3]",
    "[ 1 , \"two\" , [ 3 ] , { \"four\" : 4 } ]",
    "[\"echo\",\"t=1733\"]",
    "[\"msg\",{\"text\":\"hi\",\"n\":[1,2.5,null,true,false]}]",
    "{\"a\":1,\"b\":2,\"a\":3}",
    "{\"\":0}",
    "{\"k\\u00e9y\":\"v\",\"\\n\":\"\\t\"}",
    "{\"z\":1,\"y\":{\"x\":[{\"w\":\"v\"}]}}",
    "[[[[[[[[[[]]]]]]]]]]",
    "{\"_placeholder\":true,\"num\":0}",
    "[1.0,2.50,3e0,-1e-2,1e308]",
};

static const char *const invalid[] = {
    "",
    " ",
    "[",
    "]",
    "{",
    "}",
    "[1,]",
    "[,1]",
    "{,}",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{a:1}",
    "{'a':1}",
    "['a']",
    "01",
    "-",
    "-a",
    "1.",
    ".5",
    "1e",
    "1e+",
    "+1",
    "0x10",
    "NaN",
    "Infinity",
    "-Infinity",
    "tru",
    "truee",
    "nul",
    "[true false]",
    "\"abc",
    "\"\\x\"",
    "\"\\u12\"",
    "\"\\u12g4\"",
    "\"\\ud800\"",
    "\"\\ud800x\"",
    "\"\\ud800\\u0041\"",
    "\"\\udc00\"",
    "\"a\x01b\"",
    "\"\x1f\"",
    "\"\xc3\"",
    "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"",
    "\"\xf4\x90\x80\x80\"",
    "\"\xff\"",
    "1 2",
    "[] []",
    "{\"a\\u0000\":1}",
    "1e400",
    "-1e400",
    "[1]x",
    "\"a\"\"b\"",
};

static void same_as_jansson(const char *text, size_t n)
{
    json_error_t err;
    json_t *theirs = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    json_t *ours = sioc__json_parse(text, n);
    ck_assert_msg(theirs != NULL, "jansson refuses %s: %s", text, err.text);
    ck_assert_msg(ours != NULL, "refused: %s", text);
    ck_assert_msg(json_equal(theirs, ours), "not what jansson reads: %s", text);
    char *want = json_dumps(theirs, JSON_COMPACT | JSON_ENCODE_ANY);
    sioc__buf got = {0};
    ck_assert_int_eq(sioc__json_dump(&got, ours), 0);
    ck_assert_msg(got.len == strlen(want) && memcmp(got.data, want, got.len) == 0,
                  "%s dumped as %.*s, jansson: %s", text, (int)got.len, got.data, want);
    free(want);
    sioc__buf_free(&got);
    json_decref(theirs);
    json_decref(ours);
}

START_TEST(reads_and_writes_what_jansson_does)
{
    for (int i = 0; i < N(valid); i++) {
        same_as_jansson(valid[i], strlen(valid[i]));
    }
}
END_TEST

START_TEST(refuses_what_jansson_refuses)
{
    for (int i = 0; i < N(invalid); i++) {
        json_error_t err;
        json_t *theirs =
            json_loadb(invalid[i], strlen(invalid[i]), JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        ck_assert_msg(theirs == NULL, "jansson accepts %s", invalid[i]);
        ck_assert_msg(sioc__json_parse(invalid[i], strlen(invalid[i])) == NULL, "accepted: %s",
                      invalid[i]);
    }
    static const char nul_outside[] = {'[', '1', '\0', ']'};
    ck_assert_ptr_null(sioc__json_parse(nul_outside, sizeof(nul_outside)));
    ck_assert_ptr_null(sioc__json_parse("[\"a\0\"]", 6)); /* a raw NUL in a string */
    /* jansson skips a NUL right after a number or a literal; JSON.parse refuses it, as we do */
    json_t *quirk = json_loadb("[1\0]", 4, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    ck_assert_ptr_nonnull(quirk);
    json_decref(quirk);
    ck_assert_ptr_null(sioc__json_parse("[1\0]", 4));
    ck_assert_ptr_null(sioc__json_parse("[true\0]", 7));
}
END_TEST

START_TEST(integers_beyond_64_bits_are_reals_as_json_parse_reads_them)
{
    json_t *v = sioc__json_parse("[9223372036854775808,-99999999999999999999,1]", 45);
    ck_assert_ptr_nonnull(v);
    ck_assert(json_is_real(json_array_get(v, 0)));
    ck_assert(json_real_value(json_array_get(v, 0)) == 9223372036854775808.0);
    ck_assert(json_real_value(json_array_get(v, 1)) == -1e20);
    ck_assert(json_is_integer(json_array_get(v, 2))); /* the others stay integers */
    json_decref(v);
}
END_TEST

/* `depth` arrays nested, around a scalar (`inner`) or nothing. */
static char *nested(int depth, const char *inner)
{
    size_t n = strlen(inner);
    char *s = malloc((size_t)depth * 2 + n + 1);
    memset(s, '[', (size_t)depth);
    memcpy(s + depth, inner, n);
    memset(s + depth + n, ']', (size_t)depth);
    s[2 * depth + n] = '\0';
    return s;
}

/* jansson counts every value, scalars too: a scalar inside 2047 arrays is at its limit, an empty
 * array 2048 deep too. */
START_TEST(nesting_stops_where_janssons_does)
{
    char *texts[] = {nested(SIOC__JSON_MAX_DEPTH - 1, "1"), nested(SIOC__JSON_MAX_DEPTH, "1"),
                     nested(SIOC__JSON_MAX_DEPTH, ""), nested(SIOC__JSON_MAX_DEPTH + 1, "")};
    for (int i = 0; i < N(texts); i++) {
        json_t *theirs = json_loads(texts[i], 0, NULL),
               *ours = sioc__json_parse(texts[i], strlen(texts[i]));
        ck_assert_msg((theirs == NULL) == (ours == NULL), "case %d", i);
        ck_assert_msg((ours == NULL) == (i % 2 == 1), "case %d", i);
        json_decref(theirs);
        json_decref(ours);
    }
    json_t *v = sioc__json_parse(texts[2], strlen(texts[2]));
    sioc__buf b = {0};
    ck_assert_int_eq(sioc__json_dump(&b, v), 0);
    ck_assert_uint_eq(b.len, strlen(texts[2]));
    json_t *outer = json_array(); /* one more level, built by hand: the dumper refuses it */
    json_array_append(outer, v);
    b.len = 0;
    ck_assert_int_eq(sioc__json_dump(&b, outer), -1);
    ck_assert_uint_eq(b.len, 0);
    json_decref(outer);
    json_decref(v);
    sioc__buf_free(&b);
    for (int i = 0; i < N(texts); i++) {
        free(texts[i]);
    }
}
END_TEST

START_TEST(dumper_refuses_a_cycle_and_bad_utf8)
{
    json_t *a = json_array(), *b = json_array();
    json_array_append(a, b);
    json_array_append(b, a); /* jansson lets a cycle be made through two arrays */
    sioc__buf out = {0};
    sioc__buf_append(&out, "kept", 4);
    ck_assert_int_eq(sioc__json_dump(&out, a), -1);
    ck_assert_uint_eq(out.len, 4); /* what was there before stays, nothing after it */
    json_array_clear(b);
    json_decref(a);
    json_decref(b);
    json_t *bad = json_stringn_nocheck("\xff", 1);
    ck_assert_int_eq(sioc__json_dump(&out, bad), -1);
    ck_assert_uint_eq(out.len, 4);
    json_decref(bad);
    sioc__buf_free(&out);
}
END_TEST

START_TEST(dumps_values_built_by_hand_as_jansson)
{
    json_t *o = json_pack("{s:I,s:I,s:f,s:f,s:s,s:[],s:{}}", "min", (json_int_t)LLONG_MIN, "max",
                          (json_int_t)LLONG_MAX, "third", 1.0 / 3, "big", 1e300, "ctl", "\x01\x7f",
                          "a", "o");
    char *want = json_dumps(o, JSON_COMPACT);
    sioc__buf got = {0};
    ck_assert_int_eq(sioc__json_dump(&got, o), 0);
    ck_assert_uint_eq(got.len, strlen(want));
    ck_assert(memcmp(got.data, want, got.len) == 0);
    free(want);
    sioc__buf_free(&got);
    json_decref(o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, reads_and_writes_what_jansson_does);
    tcase_add_test(tc, refuses_what_jansson_refuses);
    tcase_add_test(tc, integers_beyond_64_bits_are_reals_as_json_parse_reads_them);
    tcase_add_test(tc, nesting_stops_where_janssons_does);
    tcase_add_test(tc, dumper_refuses_a_cycle_and_bad_utf8);
    tcase_add_test(tc, dumps_values_built_by_hand_as_jansson);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
