/* Data structures: buffers and message queues, JSON strings written directly, the sid map, base64
 * and ids, the timer wheel. */
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/map.h"
#include "util/wheel.h"

START_TEST(a_buffer_grows_to_hold_what_is_appended)
{
    sioc__buf b = {0};
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(sioc__buf_append(&b, "abc", 3), 0);
    }
    ck_assert_uint_eq(b.len, 3000);
    ck_assert(memcmp(b.data + 2997, "abc", 3) == 0);
    sioc__buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

/* clang-format off */
static const struct {
    uint64_t v;
    const char *text;
} uint_cases[] = {
    {0, "0"}, {7, "7"}, {10, "10"}, {4294967296u, "4294967296"},
    {UINT64_MAX, "18446744073709551615"},
};
/* clang-format on */

START_TEST(unsigned_numbers_are_appended_in_decimal)
{
    sioc__buf b = {0};
    ck_assert_int_eq(sioc__buf_append_char(&b, '4'), 0);
    ck_assert_int_eq(sioc__buf_append_uint(&b, uint_cases[_i].v), 0);
    ck_assert_uint_eq(b.len, 1 + strlen(uint_cases[_i].text));
    ck_assert(memcmp(b.data + 1, uint_cases[_i].text, b.len - 1) == 0);
    sioc__buf_free(&b);
}
END_TEST

/* Strings JSON text is written from, checked against jansson: the same ones are refused, and
 * what is written reads back as the string itself. */
/* clang-format off */
static const struct {
    const char *s;
    size_t n;
} json_cases[] = {
    {"", 0},
    {"plain", 5},
    {"quote \" backslash \\ slash /", 27},
    {"\b\f\n\r\t", 5},
    {"\x01\x1f\x7f", 3},
    {"nul \0 inside", 12},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14},
    {"\xe2\x80\xa8 line separator", 18},
    {"\xc3", 1},                 /* cut short */
    {"\xc0\xaf", 2},             /* overlong */
    {"\xe0\x80\xaf", 3},         /* overlong */
    {"\xed\xa0\x80", 3},         /* a surrogate */
    {"\xf4\x90\x80\x80", 4},     /* past U+10FFFF */
    {"\xf5\x80\x80\x80", 4},
    {"\x80 stray", 7},
    {"\xef\xbf\xbf", 3},         /* U+FFFF */
    {"\xf4\x8f\xbf\xbf", 4},     /* U+10FFFF */
};
/* clang-format on */

START_TEST(json_strings_are_written_as_jansson_reads_them)
{
    const char *s = json_cases[_i].s;
    size_t n = json_cases[_i].n;
    json_t *ref = json_stringn(s, n);
    sioc__buf b = {0};
    int rc = sioc__json_append_string(&b, s, n);
    ck_assert_int_eq(rc == 0, ref != NULL);
    ck_assert_int_eq(sioc__utf8_valid(s, n), ref != NULL);
    if (ref) {
        json_t *back = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ck_assert_ptr_nonnull(back);
        ck_assert(json_equal(back, ref));
        json_decref(back);
    } else {
        ck_assert_uint_eq(b.len, 0);
    }
    json_decref(ref);
    sioc__buf_free(&b);
}
END_TEST

START_TEST(a_message_queue_is_fifo_and_shares_messages_by_reference)
{
    sioc__msgq q = {0};
    sioc__msg *shared = sioc__msg_text('4', "x", 1);
    sioc__msg *m[20];
    for (int i = 0; i < 20; i++) {
        char c = (char)('a' + i);
        m[i] = sioc__msg_text('4', &c, 1);
        ck_assert_int_eq(sioc__msgq_push(&q, m[i]), 0);
        ck_assert_int_eq(sioc__msgq_push(&q, shared), 0);
        sioc__msg_unref(m[i]);
    }
    ck_assert_uint_eq(shared->refs, 21);
    ck_assert_uint_eq(q.count, 40);
    ck_assert_uint_eq(q.bytes, 80);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(sioc__msg_payload(sioc__msgq_peek(&q))[1], 'a' + i);
        sioc__msgq_pop(&q);
        ck_assert_ptr_eq(sioc__msgq_peek(&q), shared);
        sioc__msgq_pop(&q);
    }
    ck_assert_ptr_null(sioc__msgq_peek(&q));
    ck_assert_uint_eq(shared->refs, 1);
    sioc__msgq_clear(&q);
    sioc__msg_unref(shared);
}
END_TEST

START_TEST(an_empty_queue_gives_back_its_ring_and_grows_it_again)
{
    sioc__msgq q = {0};
    sioc__msg *m = sioc__msg_text('4', "x", 1);
    ck_assert_int_eq(sioc__msgq_push(&q, m), 0);
    sioc__msgq_trim(&q); /* not empty: kept */
    ck_assert_ptr_nonnull(q.ring);
    ck_assert_ptr_eq(sioc__msgq_peek(&q), m);
    sioc__msgq_pop(&q);
    sioc__msgq_trim(&q);
    ck_assert_ptr_null(q.ring);
    ck_assert_uint_eq(q.cap, 0);
    ck_assert_ptr_null(sioc__msgq_peek(&q));
    sioc__msgq_pop(&q); /* nothing to pop: harmless */
    for (int i = 0; i < 9; i++) {
        ck_assert_int_eq(sioc__msgq_push(&q, m), 0);
    }
    ck_assert_uint_eq(q.count, 9);
    ck_assert_ptr_eq(sioc__msgq_peek(&q), m);
    sioc__msgq_clear(&q);
    ck_assert_uint_eq(m->refs, 1);
    sioc__msg_unref(m);
}
END_TEST

typedef struct item {
    char key[21];
} item;

START_TEST(the_map_finds_adds_and_removes_thousands_of_keys)
{
    sioc__map m = {0};
    enum { N = 5000 };
    item *items = calloc(N, sizeof(*items));
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(sioc__random_id(items[i].key), 0);
        ck_assert_int_eq(sioc__map_put(&m, items[i].key, &items[i]), 0);
    }
    ck_assert_uint_eq(m.count, N);
    for (int i = 0; i < N; i++) {
        ck_assert_ptr_eq(sioc__map_get(&m, items[i].key, 20), &items[i]);
    }
    ck_assert_ptr_null(sioc__map_get(&m, "nope", 4));
    ck_assert_ptr_null(sioc__map_get(&m, items[0].key, 19)); /* a prefix is not the key */
    for (int i = 0; i < N; i += 2) {
        ck_assert_ptr_eq(sioc__map_remove(&m, items[i].key), &items[i]);
    }
    ck_assert_ptr_null(sioc__map_remove(&m, items[0].key));
    for (int i = 0; i < N; i++) {
        ck_assert_ptr_eq(sioc__map_get(&m, items[i].key, 20), i % 2 ? &items[i] : NULL);
    }
    sioc__map_free(&m);
    free(items);
}
END_TEST

START_TEST(the_map_agrees_with_a_plain_array_through_puts_removes_and_walks)
{
    /* Few slots, many runs of probes: removals must leave every remaining key findable (the
     * backward shift), and a walk must see each value once. */
    enum { N = 300 };
    item *items = calloc(N, sizeof(*items));
    bool in[N] = {false};
    sioc__map m = {0};
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
    }
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        int i = (int)((seed >> 8) % N);
        if (in[i]) {
            ck_assert_ptr_eq(sioc__map_remove(&m, items[i].key), &items[i]);
        } else {
            ck_assert_int_eq(sioc__map_put(&m, items[i].key, &items[i]), 0);
        }
        in[i] = !in[i];
        if (step % 97 == 0) {
            size_t seen = 0, count = 0, pos = 0;
            item *v;
            while ((v = sioc__map_next(&m, &pos))) {
                ck_assert(in[v - items]);
                seen++;
            }
            for (int k = 0; k < N; k++) {
                ck_assert_ptr_eq(sioc__map_get(&m, items[k].key, strlen(items[k].key)),
                                 in[k] ? &items[k] : NULL);
                count += in[k];
            }
            ck_assert_uint_eq(seen, count);
            ck_assert_uint_eq(m.count, count);
        }
    }
    sioc__map_free(&m);
    free(items);
}
END_TEST

/* clang-format off */
static const struct {
    const char *raw;
    size_t len;
    const char *b64;
} b64_cases[] = {
    {"", 0, ""},
    {"f", 1, "Zg=="},
    {"fo", 2, "Zm8="},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg=="},
    {"\x00\xff\x10", 3, "AP8Q"},
};
/* clang-format on */

START_TEST(base64_round_trips)
{
    char enc[16] = {0};
    unsigned char dec[16];
    sioc__base64_encode((const unsigned char *)b64_cases[_i].raw, b64_cases[_i].len, enc);
    ck_assert_str_eq(enc, b64_cases[_i].b64);
    long n = sioc__base64_decode(enc, strlen(enc), dec);
    ck_assert_int_eq(n, (long)b64_cases[_i].len);
    ck_assert(memcmp(dec, b64_cases[_i].raw, (size_t)n) == 0);
}
END_TEST

static const char *bad_b64[] = {"Zg", "Zg=", "Z===", "Zg=a", "Zm9v!A==", "=AAA", "Zg==Zg=="};

START_TEST(malformed_base64_is_refused)
{
    unsigned char dec[16];
    ck_assert_int_eq(sioc__base64_decode(bad_b64[_i], strlen(bad_b64[_i]), dec), -1);
}
END_TEST

START_TEST(session_ids_are_twenty_url_safe_characters_and_differ)
{
    char a[21], b[21];
    ck_assert_int_eq(sioc__random_id(a), 0);
    ck_assert_int_eq(sioc__random_id(b), 0);
    ck_assert_uint_eq(strlen(a), 20);
    ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                      20);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(ids_drawn_after_a_fork_differ_from_the_parent_s)
{
    /* Ids come from a pool: a worker forked with the pool half used must not hand out the ids
     * its parent hands out next. */
    char first[21], parent[21], child[21] = "";
    ck_assert_int_eq(sioc__random_id(first), 0);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char id[21];
        _exit(sioc__random_id(id) == 0 && write(fds[1], id, sizeof(id)) == sizeof(id) ? 0 : 1);
    }
    ck_assert_int_eq(sioc__random_id(parent), 0);
    ck_assert_int_eq(read(fds[0], child, sizeof(child)), sizeof(child));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    close(fds[1]);
    ck_assert_str_ne(parent, child);
    ck_assert_str_ne(first, child);
    /* and a thousand more from one process are all different */
    char ids[1000][21];
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(sioc__random_id(ids[i]), 0);
        for (int k = 0; k < i; k++) {
            ck_assert_str_ne(ids[i], ids[k]);
        }
    }
}
END_TEST

START_TEST(a_workers_sid_names_it_in_its_last_character)
{
    char sid[21];
    ck_assert_int_eq(sioc__random_id(sid), 0);
    char alone[21];
    memcpy(alone, sid, sizeof(sid));
    sioc__sid_mark(alone, 0, 1); /* a single process: untouched */
    ck_assert_str_eq(alone, sid);
    for (unsigned w = 0; w < 64; w++) {
        sioc__sid_mark(sid, w, 64);
        ck_assert_int_eq(sioc__sid_worker(sid, 20), (int)w);
        ck_assert_uint_eq(strlen(sid), 20);
    }
    ck_assert_int_eq(sioc__sid_worker(sid, 19), -1); /* not a sid */
    sid[19] = '.';
    ck_assert_int_eq(sioc__sid_worker(sid, 20), -1);
}
END_TEST

static int fired[8];
static int order[8], norder;
static sioc__wheel wheel;
static sioc__timer timers[8];

static void on_fire(sioc__timer *t)
{
    int i = (int)(t - timers);
    fired[i]++;
    order[norder++] = i;
}

static void reset_wheel(void)
{
    memset(fired, 0, sizeof(fired));
    memset(timers, 0, sizeof(timers));
    norder = 0;
    sioc__wheel_init(&wheel, 1000);
}

START_TEST(timers_fire_once_when_due_and_not_before)
{
    reset_wheel();
    sioc__timer_start(&wheel, &timers[0], 1300, on_fire);
    sioc__timer_start(&wheel, &timers[1], 1050, on_fire);
    ck_assert_uint_eq(sioc__wheel_advance(&wheel, 1049), 0);
    ck_assert_uint_eq(sioc__wheel_advance(&wheel, 1060), 1);
    ck_assert_int_eq(fired[1], 1);
    ck_assert_uint_eq(sioc__wheel_advance(&wheel, 1299), 0);
    ck_assert_uint_eq(sioc__wheel_advance(&wheel, 1300), 1);
    ck_assert_uint_eq(sioc__wheel_advance(&wheel, 5000), 0);
    ck_assert_int_eq(fired[0], 1);
    ck_assert(!sioc__timer_armed(&timers[0]));
    ck_assert_uint_eq(wheel.count, 0);
}
END_TEST

START_TEST(a_timer_beyond_one_turn_of_the_wheel_waits_its_turn)
{
    reset_wheel();
    uint64_t turn = SIOC_WHEEL_SLOTS * SIOC_WHEEL_TICK_MS;
    sioc__timer_start(&wheel, &timers[0], 1000 + 3 * turn + 5, on_fire);
    for (uint64_t t = 1000; t < 1000 + 3 * turn; t += 7) {
        sioc__wheel_advance(&wheel, t);
    }
    ck_assert_int_eq(fired[0], 0);
    sioc__wheel_advance(&wheel, 1000 + 3 * turn + 10);
    ck_assert_int_eq(fired[0], 1);
}
END_TEST

START_TEST(stopped_and_restarted_timers_fire_only_at_their_new_time)
{
    reset_wheel();
    sioc__timer_start(&wheel, &timers[0], 1100, on_fire);
    sioc__timer_start(&wheel, &timers[1], 1100, on_fire);
    sioc__timer_stop(&wheel, &timers[0]);
    sioc__timer_start(&wheel, &timers[1], 1500, on_fire);
    sioc__wheel_advance(&wheel, 1200);
    ck_assert_int_eq(fired[0] + fired[1], 0);
    sioc__wheel_advance(&wheel, 1500);
    ck_assert_int_eq(fired[1], 1);
    ck_assert_int_eq(fired[0], 0);
}
END_TEST

static void stop_neighbour(sioc__timer *t)
{
    on_fire(t);
    sioc__timer_stop(&wheel, &timers[1]);
    sioc__timer_start(&wheel, t, 2000, on_fire); /* re-arm itself */
}

START_TEST(a_callback_may_stop_other_due_timers_and_rearm_itself)
{
    reset_wheel();
    sioc__timer_start(&wheel, &timers[0], 1100, stop_neighbour);
    sioc__timer_start(&wheel, &timers[1], 1101, on_fire);
    sioc__wheel_advance(&wheel, 1200);
    ck_assert_int_eq(fired[0], 1);
    ck_assert_int_eq(fired[1], 0);
    ck_assert(sioc__timer_armed(&timers[0]));
    sioc__wheel_advance(&wheel, 2000);
    ck_assert_int_eq(fired[0], 2);
}
END_TEST

START_TEST(timers_due_in_one_advance_fire_in_tick_order)
{
    reset_wheel();
    sioc__timer_start(&wheel, &timers[2], 1900, on_fire);
    sioc__timer_start(&wheel, &timers[0], 1100, on_fire);
    sioc__timer_start(&wheel, &timers[1], 1500, on_fire);
    sioc__wheel_advance(&wheel, 1950);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 0);
    ck_assert_int_eq(order[1], 1);
    ck_assert_int_eq(order[2], 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    tcase_add_test(tc, a_buffer_grows_to_hold_what_is_appended);
    tcase_add_loop_test(tc, unsigned_numbers_are_appended_in_decimal, 0, N(uint_cases));
    tcase_add_loop_test(tc, json_strings_are_written_as_jansson_reads_them, 0, N(json_cases));
    tcase_add_test(tc, a_message_queue_is_fifo_and_shares_messages_by_reference);
    tcase_add_test(tc, an_empty_queue_gives_back_its_ring_and_grows_it_again);
    tcase_add_test(tc, the_map_finds_adds_and_removes_thousands_of_keys);
    tcase_add_test(tc, the_map_agrees_with_a_plain_array_through_puts_removes_and_walks);
    tcase_add_loop_test(tc, base64_round_trips, 0, N(b64_cases));
    tcase_add_loop_test(tc, malformed_base64_is_refused, 0, N(bad_b64));
    tcase_add_test(tc, session_ids_are_twenty_url_safe_characters_and_differ);
    tcase_add_test(tc, ids_drawn_after_a_fork_differ_from_the_parent_s);
    tcase_add_test(tc, a_workers_sid_names_it_in_its_last_character);
    tcase_add_test(tc, timers_fire_once_when_due_and_not_before);
    tcase_add_test(tc, a_timer_beyond_one_turn_of_the_wheel_waits_its_turn);
    tcase_add_test(tc, stopped_and_restarted_timers_fire_only_at_their_new_time);
    tcase_add_test(tc, a_callback_may_stop_other_due_timers_and_rearm_itself);
    tcase_add_test(tc, timers_due_in_one_advance_fire_in_tick_order);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
