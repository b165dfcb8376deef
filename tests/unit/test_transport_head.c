/* The request head checker: what it accepts, what it refuses with 400 or 431, and that a head
 * arriving in pieces gets the same verdict as the whole. */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "transport/head.h"

static const sioc__head_limits limits = {.max_bytes = 256, .max_fields = 8};

static sioc__head_verdict check_text(const char *text, size_t *head_len)
{
    return sioc__head_check(text, strlen(text), &limits, head_len, NULL);
}

static const struct {
    const char *text;
    sioc__head_verdict want;
} cases[] = {
    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", SIOC__HEAD_OK},
    {"POST /socket.io/?EIO=4&sid=a HTTP/1.0\r\nContent-Length: 1\r\n\r\n1", SIOC__HEAD_OK},
    {"GET / HTTP/1.1\nHost: x\n\n", SIOC__HEAD_OK},
    {"GET / HTTP/1.1\r\n\r\n", SIOC__HEAD_OK},
    {"OPTIONS * HTTP/1.1\r\n\r\n", SIOC__HEAD_OK},
    {"GET /%C3%A9?q=%2F HTTP/1.1\r\nX-Empty:\r\nX-Tab: a\tb\r\n\r\n", SIOC__HEAD_OK},
    {"GET /\xc3\xa9 HTTP/1.1\r\nX: \xff\r\n\r\n", SIOC__HEAD_OK},
    {"GET / HTTP/1.1\r\nHost: x\r\n", SIOC__HEAD_PARTIAL},
    {"GET /socket.io/?EIO=4&tra", SIOC__HEAD_PARTIAL},
    {"", SIOC__HEAD_PARTIAL},
    {"GET / HTTP/1.1\r\nHost: x\r\n\r", SIOC__HEAD_PARTIAL},
    {"FOO / HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"get / HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET  / HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {" GET / HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET /a\x01 HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET /a\x7f HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET /?a=%00 HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET /?a=%0 HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET /?a=%g1 HTTP/1.1\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/9.9\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1x\r\n\r\n", SIOC__HEAD_BAD},
    {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", SIOC__HEAD_BAD},
    {"GET /\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\rX\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\n: x\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\n\rX", SIOC__HEAD_BAD},
    {"GET / HTTP/1.1\r\nA:1\r\nA:2\r\nA:3\r\nA:4\r\nA:5\r\nA:6\r\nA:7\r\nA:8\r\n\r\n",
     SIOC__HEAD_OK},
    {"GET / HTTP/1.1\r\nA:1\r\nA:2\r\nA:3\r\nA:4\r\nA:5\r\nA:6\r\nA:7\r\nA:8\r\nA:9\r\n",
     SIOC__HEAD_TOO_LARGE},
    {"GET /?a&b&c;d&e&f&g&h&i HTTP/1.1\r\n\r\n", SIOC__HEAD_TOO_LARGE},
};

START_TEST(request_heads_get_the_verdicts_node_gives_them)
{
    ck_assert_msg(check_text(cases[_i].text, NULL) == cases[_i].want, "%s", cases[_i].text);
}
END_TEST

START_TEST(a_nul_is_refused_wherever_it_is)
{
    const char heads[][64] = {"GET /a\0b HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nA: \0\r\n\r\n",
                              "GET / HTTP/1.1\r\nA\0: b\r\n\r\n", "GET / HTTP/1.1\0\r\n\r\n"};
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        const char *why = NULL;
        ck_assert_int_eq(sioc__head_check(heads[i], sizeof(heads[i]), &limits, NULL, &why),
                         SIOC__HEAD_BAD);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(the_head_length_ends_after_the_empty_line)
{
    size_t n = 0;
    const char *req = "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    ck_assert_int_eq(check_text(req, &n), SIOC__HEAD_OK);
    ck_assert_uint_eq(n, strlen(req) - 3);
    ck_assert_int_eq(check_text("GET / HTTP/1.1\n\nGET /", &n), SIOC__HEAD_OK);
    ck_assert_uint_eq(n, 16);
}
END_TEST

START_TEST(a_head_longer_than_the_limit_is_too_large_before_it_ends)
{
    char big[400];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    const char *why = NULL;
    ck_assert_int_eq(sioc__head_check(big, sizeof(big), &limits, NULL, &why), SIOC__HEAD_TOO_LARGE);
    ck_assert_str_eq(why, "request head too large");
    /* Exactly at the limit, a head is still whole. */
    char exact[256];
    memset(exact, 'a', sizeof(exact));
    memcpy(exact, "GET /", 5);
    memcpy(exact + sizeof(exact) - 11, " HTTP/1.1\n\n", 11);
    ck_assert_int_eq(sioc__head_check(exact, sizeof(exact), &limits, NULL, NULL), SIOC__HEAD_OK);
}
END_TEST

/* Every prefix of a head is PARTIAL until the verdict of the whole is reached, and none decides
 * differently: the front door may look at a head as often as bytes arrive. */
START_TEST(every_prefix_is_partial_or_agrees_with_the_whole)
{
    const char *text = cases[_i].text;
    size_t len = strlen(text);
    sioc__head_verdict whole = check_text(text, NULL);
    for (size_t k = 0; k <= len; k++) {
        sioc__head_verdict v = sioc__head_check(text, k, &limits, NULL, NULL);
        ck_assert_msg(v == SIOC__HEAD_PARTIAL || v == whole, "%s at %zu", text, k);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transport_head");
    TCase *tc = tcase_create("head");
    tcase_add_loop_test(tc, request_heads_get_the_verdicts_node_gives_them, 0, N(cases));
    tcase_add_test(tc, a_nul_is_refused_wherever_it_is);
    tcase_add_test(tc, the_head_length_ends_after_the_empty_line);
    tcase_add_test(tc, a_head_longer_than_the_limit_is_too_large_before_it_ends);
    tcase_add_loop_test(tc, every_prefix_is_partial_or_agrees_with_the_whole, 0, N(cases));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
