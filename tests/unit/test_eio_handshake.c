/* Node's handshake object (src/eio/handshake.c): its members in Node's order and shape, xdomain
 * from Origin, the address behind a trusted proxy, the query and url, escaping, and what is left
 * out (text that is not UTF-8; never the url, which is percent-encoded as the request had it). */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "eio/handshake.h"

#define H(name, value)                                                                             \
    {                                                                                              \
        name, sizeof(name) - 1, value                                                              \
    }

static char *build(const sioc__hs_header *headers, size_t nheaders, const char *path,
                   const char *const *query, size_t nquery, bool trust_proxy, uint64_t now_ms)
{
    sioc__hs_request r = {headers, nheaders, path, query, nquery, "127.0.0.1", trust_proxy, now_ms};
    char *text = sioc__handshake_build(&r);
    ck_assert_ptr_nonnull(text);
    /* What a session keeps, packed, makes the same text again. */
    char *packed = sioc__handshake_pack(&r);
    ck_assert_ptr_nonnull(packed);
    char *unpacked = sioc__handshake_unpack_build(packed);
    ck_assert_str_eq(unpacked, text);
    free(unpacked);
    free(packed);
    return text;
}

START_TEST(a_polling_handshake_has_node_s_members_in_node_s_order)
{
    const sioc__hs_header headers[] = {H("host", "localhost:3000"), H("user-agent", "node")};
    const char *query[] = {"EIO=4", "transport=polling"};
    char *text = build(headers, 2, "/socket.io/", query, 2, false, 0);
    ck_assert_str_eq(text,
                     "{\"xdomain\":false,\"headers\":{\"host\":\"localhost:3000\",\"user-agent\":"
                     "\"node\"},\"time\":\"Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated "
                     "Universal Time)\",\"address\":\"127.0.0.1\",\"secure\":false,\"issued\":0,"
                     "\"query\":{\"EIO\":\"4\",\"transport\":\"polling\"},\"url\":\"/socket.io/"
                     "?EIO=4&transport=polling\"}");
    free(text);
}
END_TEST

START_TEST(time_and_issued_are_the_handshake_s_moment)
{
    char *text = build(NULL, 0, "/", NULL, 0, false, 1700000000123ULL);
    json_t *hs = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(hs);
    ck_assert_str_eq(json_string_value(json_object_get(hs, "time")),
                     "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)");
    ck_assert(json_integer_value(json_object_get(hs, "issued")) == 1700000000123LL);
    /* Nothing said: empty objects, the path alone. */
    ck_assert_uint_eq(json_object_size(json_object_get(hs, "headers")), 0);
    ck_assert_uint_eq(json_object_size(json_object_get(hs, "query")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(hs, "url")), "/");
    json_decref(hs);
    free(text);
}
END_TEST

START_TEST(an_origin_makes_it_cross_domain_and_a_trusted_proxy_names_the_address)
{
    const sioc__hs_header headers[] = {H("origin", "http://a.example"),
                                       H("x-forwarded-for", " 203.0.113.7, 10.0.0.1")};
    char *trusted = build(headers, 2, "/", NULL, 0, true, 0);
    char *untrusted = build(headers, 2, "/", NULL, 0, false, 0);
    json_t *a = json_loads(trusted, 0, NULL), *b = json_loads(untrusted, 0, NULL);
    ck_assert(json_is_true(json_object_get(a, "xdomain")));
    ck_assert_str_eq(json_string_value(json_object_get(a, "address")), "203.0.113.7");
    ck_assert_str_eq(json_string_value(json_object_get(b, "address")), "127.0.0.1");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "headers"), "origin")),
                     "http://a.example");
    json_decref(a);
    json_decref(b);
    free(trusted);
    free(untrusted);
}
END_TEST

START_TEST(values_are_escaped_and_what_is_not_utf8_is_left_out)
{
    const sioc__hs_header headers[] = {H("cookie", "a=\"1\"\\\t;"), H("x-bad", "\xff\xfe"),
                                       H("origin", "\xc3\x28")};
    const char *query[] = {"flag", "name=caf\xc3\xa9", "k=\x80"};
    char *text = build(headers, 3, "/p", query, 3, false, 0);
    json_t *hs = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(hs);
    json_t *h = json_object_get(hs, "headers");
    ck_assert_str_eq(json_string_value(json_object_get(h, "cookie")), "a=\"1\"\\\t;");
    ck_assert_ptr_null(json_object_get(h, "x-bad"));
    ck_assert_ptr_null(json_object_get(h, "origin"));
    ck_assert(json_is_false(json_object_get(hs, "xdomain"))); /* an Origin that did not make it */
    json_t *q = json_object_get(hs, "query");
    ck_assert_str_eq(json_string_value(json_object_get(q, "flag")), "");
    ck_assert_str_eq(json_string_value(json_object_get(q, "name")), "caf\xc3\xa9");
    ck_assert_ptr_null(json_object_get(q, "k"));
    /* The url is the request's, which clients percent-encode: always ASCII, so always there. */
    ck_assert_str_eq(json_string_value(json_object_get(hs, "url")), "/p?flag&name=caf%C3%A9&k=%80");
    json_decref(hs);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eio_handshake");
    TCase *tc = tcase_create("handshake");
    tcase_add_test(tc, a_polling_handshake_has_node_s_members_in_node_s_order);
    tcase_add_test(tc, time_and_issued_are_the_handshake_s_moment);
    tcase_add_test(tc, an_origin_makes_it_cross_domain_and_a_trusted_proxy_names_the_address);
    tcase_add_test(tc, values_are_escaped_and_what_is_not_utf8_is_left_out);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
