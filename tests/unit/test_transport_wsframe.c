/* The WebSocket frame reader: messages in one or many frames, control frames between fragments,
 * the errors Node's ws closes with, and the same events whether the input comes whole or a byte at
 * a time. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "transport/wsframe.h"

/* A client frame of `opcode` (bit 0x80 of `flags`: not final; 0x100: unmasked; 0x70: the RSV bits
 * as given) carrying `len` bytes of `data`, appended at `out`; returns its length. */
static size_t frame(uint8_t *out, unsigned flags, unsigned opcode, const void *data, size_t len)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;
    out[n++] = (uint8_t)((flags & 0x80 ? 0 : 0x80) | (flags & 0x70) | opcode);
    uint8_t mask = flags & 0x100 ? 0 : 0x80;
    if (len < 126) {
        out[n++] = (uint8_t)(mask | len);
    } else if (len < 65536) {
        out[n++] = mask | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = mask | 127;
        for (int i = 7; i >= 0; i--) {
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
        }
    }
    if (mask) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++) {
        out[n + i] = (uint8_t)(((const uint8_t *)data)[i] ^ (mask ? key[i % 4] : 0));
    }
    return n + len;
}

/* The events of `in` as text: consecutive DATA merged ("D:bytes", "$" when the message ends), FRAME
 * "F<opcode>:<length>" ('+' on a message's first), PING "P:data", PONG "O:data", CLOSE
 * "C<code>:reason", ERROR "E<code>". The input is fed `step` bytes at a time (0: whole). */
static char *events(const uint8_t *in, size_t len, size_t step)
{
    static char out[200000];
    size_t o = 0;
    uint8_t *copy = malloc(len + 1);
    memcpy(copy, in, len);
    sioc__ws_rx rx = {0};
    bool in_data = false;
    size_t at = 0;
    bool failed = false;
    while (at < len && !failed) {
        size_t n = step && len - at > step ? step : len - at;
        uint8_t *p = copy + at;
        size_t left = n;
        sioc__ws_event ev;
        sioc__ws_event_kind k;
        while ((k = sioc__ws_rx_next(&rx, &p, &left, &ev)) != SIOC__WS_NEED) {
            if (k == SIOC__WS_DATA) {
                if (!in_data) {
                    o += (size_t)snprintf(out + o, sizeof(out) - o, " D:");
                }
                memcpy(out + o, ev.data, ev.len);
                o += ev.len;
                in_data = !ev.last;
                if (ev.last) {
                    out[o++] = '$';
                }
                continue;
            }
            const char *tag = k == SIOC__WS_FRAME      ? "F"
                              : k == SIOC__WS_PING_EV  ? "P"
                              : k == SIOC__WS_PONG_EV  ? "O"
                              : k == SIOC__WS_CLOSE_EV ? "C"
                                                       : "E";
            o += (size_t)snprintf(out + o, sizeof(out) - o, " %s", tag);
            if (k == SIOC__WS_FRAME || k == SIOC__WS_CLOSE_EV || k == SIOC__WS_ERROR) {
                unsigned num = k == SIOC__WS_FRAME ? ev.opcode : ev.code;
                o += (size_t)snprintf(out + o, sizeof(out) - o, "%u", num);
            }
            if (k == SIOC__WS_FRAME) {
                o += (size_t)snprintf(out + o, sizeof(out) - o, ":%llu%s",
                                      (unsigned long long)ev.length, ev.first ? "+" : "");
                in_data = false;
            } else if (k != SIOC__WS_ERROR) {
                out[o++] = ':';
                memcpy(out + o, ev.data, ev.len);
                o += ev.len;
            } else {
                failed = true;
                break;
            }
        }
        at += n;
    }
    sioc__ws_rx_free(&rx);
    free(copy);
    out[o] = '\0';
    return out;
}

static uint8_t buf[140000];

static void check_events(size_t len, const char *want)
{
    ck_assert_str_eq(events(buf, len, 0), want);
    for (size_t step = 1; step < 20; step += 3) {
        ck_assert_str_eq(events(buf, len, step), want);
    }
}

START_TEST(messages_whole_and_fragmented)
{
    size_t n = frame(buf, 0, 1, "hello", 5);
    check_events(n, " F1:5+ D:hello$");
    n = frame(buf, 0, 2, "", 0);
    check_events(n, " F2:0+ D:$");
    n = frame(buf, 0x80, 1, "ab", 2);
    n += frame(buf + n, 0, 9, "p", 1);
    n += frame(buf + n, 0x80, 0, "", 0);
    n += frame(buf + n, 0, 0, "cd", 2);
    check_events(n, " F1:2+ D:ab P:p F1:0 F1:2 D:cd$");
}
END_TEST

START_TEST(lengths_of_16_and_64_bits)
{
    static char big[70000];
    memset(big, 'x', sizeof(big));
    size_t n = frame(buf, 0, 1, big, 200);
    char *got = events(buf, n, 7);
    ck_assert_int_eq(strncmp(got, " F1:200+ D:xxx", 14), 0);
    ck_assert_uint_eq(strlen(got), strlen(" F1:200+ D:$") + 200);
    n = frame(buf, 0, 2, big, sizeof(big));
    got = events(buf, n, 0);
    ck_assert_int_eq(strncmp(got, " F2:70000+ D:xxx", 16), 0);
    ck_assert_uint_eq(strlen(got), strlen(" F2:70000+ D:$") + sizeof(big));
}
END_TEST

START_TEST(control_frames)
{
    size_t n = frame(buf, 0, 10, "", 0);
    n += frame(buf + n, 0, 8,
               "\x03\xe8"
               "bye",
               5);
    check_events(n, " O: C1000:bye");
    n = frame(buf, 0, 8, "", 0);
    check_events(n, " C1005:");
    n = frame(buf, 0, 8, "\x0f\xa0", 2);
    check_events(n, " C4000:");
}
END_TEST

/* Each of these ends in an error with the status ws gives it. */
static const struct {
    unsigned flags, opcode;
    const char *data;
    size_t len;
    unsigned code;
} errors[] = {
    {0x100, 1, "42", 2, 1002},           /* unmasked */
    {0x40, 1, "x", 1, 1002},             /* RSV1 without an extension */
    {0x10, 2, "x", 1, 1002},             /* RSV3 */
    {0, 3, "x", 1, 1002},                /* unknown data opcode */
    {0, 0xb, "x", 1, 1002},              /* unknown control opcode */
    {0, 0, "x", 1, 1002},                /* a continuation with no message */
    {0x80, 9, "p", 1, 1002},             /* a fragmented PING */
    {0, 8, "x", 1, 1002},                /* a close of one byte */
    {0, 8, "\x03\xed", 2, 1002},         /* 1005 may not be sent */
    {0, 8, "\x03\xe7", 2, 1002},         /* 999 */
    {0, 8, "\x13\x88", 2, 1002},         /* 5000 */
    {0, 8, "\x03\xe8\xff", 3, 1007},     /* a reason that is not UTF-8 */
    {0, 1, "4\xc3(", 3, 1007},           /* text that is not UTF-8 */
    {0, 1, "4\xc3", 2, 1007},            /* text that ends inside a character */
    {0, 1, "\xe0\x80\x80", 3, 1007},     /* overlong */
    {0, 1, "\xed\xa0\x80", 3, 1007},     /* a surrogate */
    {0, 1, "\xf4\x90\x80\x80", 4, 1007}, /* above U+10FFFF */
    {0, 1, "\xc0\xaf", 2, 1007},         /* overlong '/' */
};

START_TEST(protocol_errors_close_with_ws_statuses)
{
    size_t n = frame(buf, errors[_i].flags, errors[_i].opcode, errors[_i].data, errors[_i].len);
    char want[16];
    snprintf(want, sizeof(want), " E%u", errors[_i].code);
    const char *got = events(buf, n, 0);
    ck_assert_msg(strstr(got, want) && strstr(got, want)[strlen(want)] == '\0', "case %d: %s", _i,
                  got);
    ck_assert_str_eq(events(buf, n, 1), got);
}
END_TEST

START_TEST(a_control_frame_over_125_bytes_and_nesting_are_refused)
{
    char big[126] = {0};
    size_t n = frame(buf, 0, 9, big, sizeof(big));
    check_events(n, " E1002");
    n = frame(buf, 0x80, 1, "a", 1);
    n += frame(buf + n, 0, 1, "b", 1);
    check_events(n, " F1:1+ D:a E1002");
}
END_TEST

START_TEST(a_length_past_2_53_is_too_big_and_errors_stick)
{
    uint8_t h[] = {0x82, 0xff, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    memcpy(buf, h, sizeof(h));
    check_events(sizeof(h), " E1009");
    sioc__ws_rx rx = {0};
    uint8_t bad[] = {0x81, 0x01, 'x'};
    uint8_t *p = bad;
    size_t left = sizeof(bad);
    sioc__ws_event ev;
    ck_assert_int_eq(sioc__ws_rx_next(&rx, &p, &left, &ev), SIOC__WS_ERROR);
    size_t n = frame(buf, 0, 1, "ok", 2);
    p = buf;
    left = n;
    ck_assert_int_eq(sioc__ws_rx_next(&rx, &p, &left, &ev), SIOC__WS_ERROR);
    sioc__ws_rx_free(&rx);
}
END_TEST

START_TEST(valid_utf8_of_every_length_passes)
{
    const char *text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf";
    size_t n = frame(buf, 0x80, 1, text, 4); /* cut inside the euro sign */
    n += frame(buf + n, 0, 0, text + 4, strlen(text) - 4);
    char want[64];
    snprintf(want, sizeof(want), " F1:4+ D:%.4s F1:%zu D:%s$", text, strlen(text) - 4, text + 4);
    check_events(n, want);
}
END_TEST

START_TEST(server_headers)
{
    uint8_t h[10];
    ck_assert_uint_eq(sioc__ws_header(h, 1, 125), 2);
    ck_assert_uint_eq(h[0], 0x81);
    ck_assert_uint_eq(h[1], 125);
    ck_assert_uint_eq(sioc__ws_header(h, 2, 126), 4);
    ck_assert_uint_eq(h[1], 126);
    ck_assert_uint_eq(h[2] << 8 | h[3], 126);
    ck_assert_uint_eq(sioc__ws_header(h, 2, 65535), 4);
    ck_assert_uint_eq(sioc__ws_header(h, 8, 65536), 10);
    ck_assert_uint_eq(h[0], 0x88);
    ck_assert_uint_eq(h[1], 127);
    ck_assert_uint_eq(h[7] << 16 | h[8] << 8 | h[9], 65536);
}
END_TEST

/* With permessage-deflate agreed, RSV1 marks a compressed message on its first frame only; its
 * bytes (not UTF-8 until inflated) pass through; RSV1 elsewhere, and RSV2/RSV3, are errors. */
START_TEST(permessage_deflate_frames)
{
    size_t n = 0;
    n += frame(buf + n, 0x40 | 0x80, SIOC__WS_TEXT, "\xc3\x28", 2); /* not UTF-8: compressed */
    n += frame(buf + n, 0, SIOC__WS_CONTINUATION, "zz", 2);
    n += frame(buf + n, 0, SIOC__WS_TEXT, "plain", 5);
    uint8_t copy[64];
    memcpy(copy, buf, n);
    sioc__ws_rx rx = {.pmd = true};
    uint8_t *p = copy;
    size_t left = n;
    sioc__ws_event ev;
    bool compressed[3] = {false, false, false};
    int frames = 0, datas = 0;
    sioc__ws_event_kind k;
    while ((k = sioc__ws_rx_next(&rx, &p, &left, &ev)) != SIOC__WS_NEED) {
        ck_assert_int_ne(k, SIOC__WS_ERROR);
        if (k == SIOC__WS_FRAME) {
            compressed[frames++] = ev.compressed;
        } else if (k == SIOC__WS_DATA) {
            datas++;
        }
    }
    ck_assert_int_eq(frames, 3);
    ck_assert(compressed[0] && compressed[1] && !compressed[2]);
    ck_assert_int_eq(datas, 3);
    sioc__ws_rx_free(&rx);
    /* RSV1 on a continuation, on a control frame, RSV2, and RSV1 without the agreement */
    static const struct {
        unsigned first_flags, second_flags, second_opcode;
        bool pmd;
    } bad[] = {
        {0x80, 0x40, SIOC__WS_CONTINUATION, true},
        {0, 0x40, SIOC__WS_PING, true},
        {0, 0x20, SIOC__WS_TEXT, true},
        {0, 0x40, SIOC__WS_TEXT, false},
    };
    for (size_t i = 0; i < N(bad); i++) {
        n = frame(buf, bad[i].first_flags, SIOC__WS_TEXT, "a", 1);
        n += frame(buf + n, bad[i].second_flags, bad[i].second_opcode, "b", 1);
        memcpy(copy, buf, n);
        sioc__ws_rx r = {.pmd = bad[i].pmd};
        p = copy;
        left = n;
        while ((k = sioc__ws_rx_next(&r, &p, &left, &ev)) != SIOC__WS_NEED && k != SIOC__WS_ERROR) {
        }
        ck_assert_msg(k == SIOC__WS_ERROR && ev.code == SIOC__WS_PROTOCOL_ERROR, "case %zu", i);
        sioc__ws_rx_free(&r);
    }
    uint8_t h[10];
    ck_assert_uint_eq(sioc__ws_header_rsv1(h, SIOC__WS_TEXT, 3, true), 2);
    ck_assert_uint_eq(h[0], 0xc1);
    ck_assert(sioc__ws_utf8_valid((const uint8_t *)"h\xc3\xa9", 3));
    ck_assert(!sioc__ws_utf8_valid((const uint8_t *)"h\xc3", 2));
}
END_TEST

START_TEST(permessage_deflate_offers)
{
    ck_assert(sioc__ws_pmd_acceptable("permessage-deflate; client_max_window_bits"));
    ck_assert(sioc__ws_pmd_acceptable("permessage-deflate"));
    ck_assert(sioc__ws_pmd_acceptable(" permessage-deflate ;client_max_window_bits=\"12\" "));
    ck_assert(sioc__ws_pmd_acceptable("foo, permessage-deflate; server_max_window_bits=15"));
    ck_assert(sioc__ws_pmd_acceptable(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"));
    ck_assert(!sioc__ws_pmd_acceptable(NULL));
    ck_assert(!sioc__ws_pmd_acceptable(""));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; server_max_window_bits=9"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; server_max_window_bits"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; client_max_window_bits=7"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; client_max_window_bits=1x"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; server_no_context_takeover=1"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; x=1"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflate; server_no_context_takeover; "
                                       "server_no_context_takeover"));
    ck_assert(!sioc__ws_pmd_acceptable("permessage-deflatex"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transport_wsframe");
    TCase *tc = tcase_create("wsframe");
    tcase_add_test(tc, messages_whole_and_fragmented);
    tcase_add_test(tc, lengths_of_16_and_64_bits);
    tcase_add_test(tc, control_frames);
    tcase_add_loop_test(tc, protocol_errors_close_with_ws_statuses, 0, N(errors));
    tcase_add_test(tc, a_control_frame_over_125_bytes_and_nesting_are_refused);
    tcase_add_test(tc, a_length_past_2_53_is_too_big_and_errors_stick);
    tcase_add_test(tc, valid_utf8_of_every_length_passes);
    tcase_add_test(tc, server_headers);
    tcase_add_test(tc, permessage_deflate_frames);
    tcase_add_test(tc, permessage_deflate_offers);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
