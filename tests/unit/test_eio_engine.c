/* The Engine.IO session state machine, driven through a fake transport: handshake, heartbeat,
 * upgrade, close. Time is simulated by advancing the wheel. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "eio/engine.h"
#include "util/base64.h"

static int wakes[4], closes[4];
static int conn_ids[4]; /* fake connections: their addresses stand for lws handles */
#define POLL (&conn_ids[0])
#define POLL2 (&conn_ids[1])
#define WS (&conn_ids[2])
#define WS2 (&conn_ids[3])

static void fake_wake(void *conn)
{
    wakes[(int *)conn - conn_ids]++;
}

static void fake_close(void *conn)
{
    closes[(int *)conn - conn_ids]++;
}

static int gone[4], drops[4];

static bool fake_gone(void *conn)
{
    return gone[(int *)conn - conn_ids];
}

static void fake_drop(void *conn)
{
    drops[(int *)conn - conn_ids]++;
}

static int pings[4];

static void fake_ping(void *conn)
{
    pings[(int *)conn - conn_ids]++;
}

static int paused[4], resumes[4];

static void fake_pause(void *conn, bool p)
{
    int i = (int)((int *)conn - conn_ids);
    paused[i] = p;
    resumes[i] += !p;
}

static uint64_t taken[4]; /* bytes each fake connection's peer has taken */

static uint64_t fake_taken(void *conn)
{
    return taken[(int *)conn - conn_ids];
}

static const sioc__eio_io fake_io = {fake_wake, fake_close, fake_gone, fake_drop,
                                     fake_ping, fake_pause, fake_taken};

static sioc__wheel wheel;
static sioc__engine *eng;
static char last_reason[64];
static int opens, close_count;
static sioc__buf received;

static void on_open(sioc_conn *c, void *u)
{
    opens++;
}

static sioc_conn *forward_to; /* when set, messages are relayed to it instead of kept */

static void on_message(sioc_conn *c, const void *data, size_t len, bool binary, void *u)
{
    if (forward_to) {
        sioc_conn_send(forward_to, data, len, binary);
        return;
    }
    sioc__buf_append(&received, data, len);
}

static void on_close(sioc_conn *c, const char *reason, void *u)
{
    close_count++;
    strncpy(last_reason, reason, sizeof(last_reason) - 1);
}

static void setup(void)
{
    memset(wakes, 0, sizeof(wakes));
    memset(closes, 0, sizeof(closes));
    memset(gone, 0, sizeof(gone));
    memset(drops, 0, sizeof(drops));
    memset(pings, 0, sizeof(pings));
    memset(paused, 0, sizeof(paused));
    memset(taken, 0, sizeof(taken));
    memset(resumes, 0, sizeof(resumes));
    forward_to = NULL;
    opens = close_count = 0;
    last_reason[0] = '\0';
    sioc__buf_reset(&received);
    sioc__wheel_init(&wheel, 1000000);
    sioc__engine_cfg cfg = {
        300, 200, 1000, 1000, 256, SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET, true, 0, 1};
    sioc_engine_handlers h = {on_open, on_message, on_close};
    eng = sioc__engine_new("/engine.io/", &cfg, &h, NULL, &wheel, &fake_io);
}

static void teardown(void)
{
    sioc__engine_free(eng);
    sioc__buf_free(&received);
}

static void advance_ms(unsigned ms)
{
    sioc__wheel_advance(&wheel, sioc__wheel_now(&wheel) + ms);
}

/* What a polling GET would receive now (NUL-terminated, *len bytes, *binary: a v3 binary
 * payload). */
static char *poll_bytes(sioc_conn *s, void *req, size_t *len, bool *binary)
{
    static char text[4096];
    sioc__buf out = {0};
    ck_assert(sioc__session_poll_attach(s, req));
    ck_assert_int_eq(sioc__session_poll_take(s, req, &out, binary), 0);
    ck_assert_uint_lt(out.len, sizeof(text));
    memcpy(text, out.data, out.len);
    text[out.len] = '\0';
    *len = out.len;
    sioc__buf_free(&out);
    return text;
}

/* The same for a text payload, as a string. */
static char *poll_now(sioc_conn *s, void *req)
{
    size_t len;
    bool binary;
    char *text = poll_bytes(s, req, &len, &binary);
    ck_assert(!binary);
    return text;
}

static void feed(sioc_conn *s, const char *packet)
{
    sioc__eio_packet p;
    ck_assert_int_eq(sioc__eio_decode_text(packet, strlen(packet), &p), 0);
    sioc__session_receive(s, &p);
}

static sioc_conn *handshake(void)
{
    sioc_conn *s = sioc__engine_open(eng, SIOC__POLLING, NULL, NULL, 4, NULL);
    ck_assert_ptr_nonnull(s);
    char *open = poll_now(s, POLL);
    ck_assert(strncmp(open, "0{\"sid\":\"", 9) == 0);
    ck_assert(strstr(open, s->sid) != NULL);
    return s;
}

START_TEST(a_polling_handshake_sends_the_open_packet_and_registers_the_sid)
{
    sioc_conn *s = handshake();
    ck_assert_int_eq(opens, 1);
    ck_assert_ptr_eq(sioc__engine_find(eng, s->sid, 20), s);
    ck_assert_ptr_null(sioc__engine_find(eng, "AAAAAAAAAAAAAAAAAAAA", 20));
}
END_TEST

START_TEST(a_workers_sessions_carry_its_index_in_their_sid)
{
    sioc__engine_cfg cfg = {300, 200, 1000, 1000, 256, SIOC_TRANSPORT_POLLING, true, 5, 8};
    sioc_engine_handlers h = {on_open, on_message, on_close};
    sioc__engine *worker = sioc__engine_new("/w/", &cfg, &h, NULL, &wheel, &fake_io);
    for (int i = 0; i < 20; i++) {
        sioc_conn *s = sioc__engine_open(worker, SIOC__POLLING, NULL, NULL, 4, NULL);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(sioc__sid_worker(s->sid, 20), 5);
    }
    sioc__engine_free(worker);
}
END_TEST

START_TEST(a_held_get_is_woken_by_the_first_queued_message_and_gets_all_of_them)
{
    sioc_conn *s = handshake();
    ck_assert(!sioc__session_poll_attach(s, POLL));
    ck_assert_uint_eq(eng->nheld, 1); /* the sweep looks at held GETs only while there are some */
    ck_assert_int_eq(sioc_conn_send(s, "a", 1, false), 0);
    ck_assert_int_eq(sioc_conn_send(s, "\x01\x02", 2, true), 0);
    ck_assert_int_eq(wakes[0], 1);
    sioc__buf out = {0};
    bool binary;
    ck_assert_int_eq(sioc__session_poll_take(s, POLL, &out, &binary), 0);
    ck_assert_uint_eq(eng->nheld, 0);
    ck_assert(!binary);
    ck_assert_uint_eq(out.len, 8);
    ck_assert(memcmp(out.data,
                     "4a\x1e"
                     "bAQI=",
                     8) == 0);
    sioc__buf_free(&out);
}
END_TEST

START_TEST(the_server_pings_every_interval_and_a_pong_keeps_the_session)
{
    sioc_conn *s = handshake();
    advance_ms(310);
    ck_assert_str_eq(poll_now(s, POLL), "2");
    ck_assert_ptr_nonnull(s->queue.ring);
    feed(s, "3");
    ck_assert_ptr_null(s->queue.ring); /* nothing queued: an idle session holds no ring */
    advance_ms(600);                   /* a second interval after the pong */
    ck_assert_str_eq(poll_now(s, POLL), "2");
    feed(s, "3");
    ck_assert_int_eq(close_count, 0);
}
END_TEST

START_TEST(a_missing_pong_closes_with_ping_timeout_and_forgets_the_sid)
{
    sioc_conn *s = handshake();
    char sid[21];
    memcpy(sid, s->sid, sizeof(sid));
    ck_assert(!sioc__session_poll_attach(s, POLL));
    advance_ms(310);
    ck_assert_int_eq(wakes[0], 1);
    advance_ms(520);
    ck_assert_int_eq(close_count, 1);
    ck_assert_str_eq(last_reason, "ping timeout");
    ck_assert_ptr_null(sioc__engine_find(eng, sid, 20));
    /* The held GET is told with a close packet after the ping. */
    sioc__buf out = {0};
    bool binary;
    ck_assert_int_eq(sioc__session_poll_take(s, POLL, &out, &binary), 0);
    ck_assert_uint_eq(out.len, 1);
    ck_assert_int_eq(out.data[0], '1');
    sioc__buf_free(&out);
}
END_TEST

/* The held GET of a closed session takes what is left, ending with the close packet. */
static void take_close(sioc_conn *s)
{
    sioc__buf out = {0};
    bool binary;
    ck_assert_int_eq(sioc__session_poll_take(s, POLL, &out, &binary), 0);
    ck_assert(out.len && out.data[out.len - 1] == '1');
    sioc__buf_free(&out);
}

/* A ping the loop sent a little late (40 ms, within a quarter of the 200 ms pingTimeout) still
 * times out at pingInterval + pingTimeout, as Node's exact timers would; one sent far late (the
 * server stalled) leaves the client its whole pingTimeout. */
START_TEST(ping_timeout_counts_from_the_due_ping_unless_the_server_stalled)
{
    sioc_conn *s = handshake();
    ck_assert(!sioc__session_poll_attach(s, POLL));
    advance_ms(340);
    ck_assert_int_eq(wakes[0], 1);
    advance_ms(161); /* 501 ms after the handshake */
    ck_assert_int_eq(close_count, 1);
    take_close(s); /* the held GET gets the ping and the close packet: the session goes */

    s = handshake();
    int woken = wakes[0];
    ck_assert(!sioc__session_poll_attach(s, POLL));
    advance_ms(600); /* 300 ms late */
    ck_assert_int_eq(wakes[0], woken + 1);
    advance_ms(190);
    ck_assert_int_eq(close_count, 1);
    advance_ms(20);
    ck_assert_int_eq(close_count, 2);
    take_close(s);
}
END_TEST

START_TEST(messages_reach_the_handler_and_a_client_ping_is_an_error)
{
    sioc_conn *s = handshake();
    feed(s, "4hello");
    ck_assert_uint_eq(received.len, 5);
    feed(s, "2");
    ck_assert_str_eq(last_reason, "transport error");
}
END_TEST

START_TEST(a_close_packet_ends_the_session_once_with_transport_close)
{
    sioc_conn *s = handshake();
    sioc__session_ref(s); /* as the transport delivering the packets does */
    feed(s, "1");
    feed(s, "1");
    sioc__session_unref(s);
    ck_assert_int_eq(close_count, 1);
    ck_assert_str_eq(last_reason, "transport close");
}
END_TEST

/* A polling session with a GET held, probed over WS ("2probe" received). */
static sioc_conn *probed_with_held_get(void)
{
    sioc_conn *s = handshake();
    ck_assert(!sioc__session_poll_attach(s, POLL));
    sioc__session_probe_attach(s, WS);
    sioc__eio_packet p;
    sioc__eio_decode_text("2probe", 6, &p);
    sioc__session_probe_receive(s, WS, &p);
    return s;
}

START_TEST(an_upgrade_switches_to_websocket_after_probe_and_upgrade_packets)
{
    sioc_conn *s = probed_with_held_get();
    sioc__eio_packet p;
    ck_assert_int_eq(wakes[2], 1);
    ck_assert_int_eq(wakes[0], 0); /* Node checks every 100 ms, not at once */
    advance_ms(100);
    ck_assert_int_eq(wakes[0], 1); /* the held GET is released... */
    sioc__buf out = {0};
    bool binary;
    sioc__session_poll_take(s, POLL, &out, &binary);
    ck_assert_int_eq(out.data[0], '6'); /* ...with a noop */
    sioc__buf_free(&out);
    sioc__msg *m = sioc__session_ws_next(s, WS);
    ck_assert_str_eq(sioc__msg_payload(m), "3probe");
    sioc__session_ws_sent(s, WS);
    ck_assert_int_eq(sioc_conn_send(s, "during", 6, false), 0); /* waits: no GET, not upgraded */
    sioc__eio_decode_text("5", 1, &p);
    sioc__session_probe_receive(s, WS, &p);
    ck_assert_str_eq(sioc_conn_transport(s), "websocket");
    ck_assert_int_eq(wakes[2], 2);
    ck_assert_str_eq(sioc__msg_payload(sioc__session_ws_next(s, WS)), "4during");
    sioc__session_ws_sent(s, WS);
    ck_assert_ptr_null(sioc__session_ws_next(s, WS));
    sioc__session_ws_lost(s, WS, false);
    ck_assert_str_eq(last_reason, "transport close");
}
END_TEST

/* What a GET held since earlier gets once it is answered. */
static char *take_held(sioc_conn *s, void *req)
{
    static char text[256];
    sioc__buf out = {0};
    bool binary;
    ck_assert_int_eq(sioc__session_poll_take(s, req, &out, &binary), 0);
    ck_assert_uint_lt(out.len, sizeof(text));
    memcpy(text, out.data, out.len);
    text[out.len] = '\0';
    sioc__buf_free(&out);
    return text;
}

START_TEST(what_is_sent_during_an_upgrade_rides_on_the_held_get_before_the_noop_check)
{
    sioc_conn *s = probed_with_held_get();
    advance_ms(50);
    ck_assert_int_eq(wakes[0], 0);
    ck_assert_int_eq(sioc_conn_send(s, "meanwhile", 9, false), 0);
    ck_assert_int_eq(wakes[0], 1);
    ck_assert_str_eq(take_held(s, POLL), "4meanwhile");
    /* A GET that comes during the upgrade is held until the next check, then gets the noop. */
    ck_assert(!sioc__session_poll_attach(s, POLL));
    advance_ms(40);
    ck_assert_int_eq(wakes[0], 1);
    advance_ms(20);
    ck_assert_int_eq(wakes[0], 2);
    ck_assert_str_eq(take_held(s, POLL), "6");
    sioc__session_ws_lost(s, WS, false); /* the probe's WebSocket goes, and its reference */
    ck_assert_ptr_null(s->probe_ws);
}
END_TEST

START_TEST(an_upgrade_that_does_not_complete_is_dropped_and_polling_carries_on)
{
    sioc_conn *s = handshake();
    sioc__session_probe_attach(s, WS);
    for (int i = 0; i < 4; i++) { /* keep the heartbeat alive meanwhile */
        advance_ms(310);
        ck_assert_str_eq(poll_now(s, POLL), "2");
        feed(s, "3");
    }
    ck_assert_int_eq(closes[2], 1);
    ck_assert_ptr_null(s->probe_ws);
    ck_assert_int_eq(close_count, 0);
    ck_assert_int_eq(sioc_conn_send(s, "x", 1, false), 0);
    ck_assert_str_eq(poll_now(s, POLL), "4x");
}
END_TEST

START_TEST(close_after_flush_sends_what_is_queued_then_the_close_packet)
{
    sioc_conn *s = handshake();
    sioc_conn_send(s, "a", 1, false);
    sioc_conn_close(s);
    ck_assert_int_eq(close_count, 0);
    ck_assert_int_eq(sioc_conn_send(s, "b", 1, false), SIOC_ERR_CLOSED);
    ck_assert_str_eq(poll_now(s, POLL), "4a\x1e"
                                        "1");
    ck_assert_int_eq(close_count, 1);
    ck_assert_str_eq(last_reason, "forced close");
}
END_TEST

START_TEST(a_held_get_that_goes_away_is_a_transport_error)
{
    sioc_conn *s = handshake();
    ck_assert(!sioc__session_poll_attach(s, POLL));
    sioc__session_poll_lost(s, POLL);
    ck_assert_str_eq(last_reason, "transport error");
    ck_assert_uint_eq(eng->nheld, 0);
}
END_TEST

START_TEST(a_held_get_whose_client_hung_up_is_found_within_a_second)
{
    sioc_conn *s = handshake();
    ck_assert(!sioc__session_poll_attach(s, POLL));
    advance_ms(200);
    feed(s, "3"); /* keep the heartbeat out of the way */
    gone[0] = 1;
    advance_ms(1000);
    ck_assert_int_eq(drops[0], 1);
    ck_assert_str_eq(last_reason, "transport error");
}
END_TEST

START_TEST(a_client_that_stops_reading_is_closed_past_the_cap_at_the_next_tick)
{
    sioc_conn *s = handshake();
    char chunk[100] = {0};
    ck_assert_int_eq(sioc_conn_send(s, chunk, sizeof(chunk), false), 0);
    ck_assert_int_eq(sioc_conn_send(s, chunk, sizeof(chunk), false), 0); /* 202 of 256 bytes */
    ck_assert_int_eq(sioc_conn_send(s, chunk, sizeof(chunk), false), SIOC_ERR_CLOSED);
    ck_assert_int_eq(close_count, 0); /* not from inside the send */
    advance_ms(10);
    ck_assert_int_eq(close_count, 1);
    ck_assert_str_eq(last_reason, "write buffer full");
}
END_TEST

START_TEST(a_websocket_handshake_queues_the_open_packet_without_upgrades)
{
    sioc_conn *s = sioc__engine_open(eng, SIOC__WEBSOCKET, WS, NULL, 4, NULL);
    ck_assert_int_eq(wakes[2], 1);
    sioc__msg *m = sioc__session_ws_next(s, WS);
    ck_assert(strstr(sioc__msg_payload(m), "\"upgrades\":[]") != NULL);
    sioc__session_ws_sent(s, WS);
    sioc__engine_close_all(eng, "server shutting down", false);
    ck_assert_str_eq(last_reason, "server shutting down");
    ck_assert_int_eq(closes[2], 1);
}
END_TEST

/* ---- Input backpressure (the cap is 256 bytes: high water 64, low water 32) ---- */

/* A WebSocket session with its open packet written. */
static sioc_conn *ws_session(void *ws, unsigned ping_interval_ms)
{
    eng->cfg.ping_interval_ms = ping_interval_ms;
    sioc_conn *s = sioc__engine_open(eng, SIOC__WEBSOCKET, ws, NULL, 4, NULL);
    ck_assert_ptr_nonnull(sioc__session_ws_next(s, ws));
    sioc__session_ws_sent(s, ws);
    return s;
}

/* Writes the head of `s`'s queue, as the transport does. */
static void write_one(sioc_conn *s, void *ws)
{
    ck_assert_ptr_nonnull(sioc__session_ws_next(s, ws));
    sioc__session_ws_sent(s, ws);
}

#define MSG40                                                                                      \
    "4"                                                                                            \
    "0123456789012345678901234567890123456789"

/* A sender on WS whose two messages take a reader's queue (on WS2) past high water: it is held. */
static sioc_conn *hold_a_sender(unsigned sender_ping_interval_ms, sioc_conn **sender)
{
    *sender = ws_session(WS, sender_ping_interval_ms);
    sioc_conn *reader = ws_session(WS2, 100000);
    forward_to = reader;
    feed(*sender, MSG40);
    feed(*sender, MSG40);
    ck_assert_int_eq(paused[2], 1);
    return reader;
}

START_TEST(a_sender_is_not_read_while_a_recipient_is_past_high_water_until_it_drains)
{
    sioc_conn *sender = ws_session(WS, 100000);
    sioc_conn *reader = ws_session(WS2, 100000);
    forward_to = reader;
    feed(sender, MSG40);
    ck_assert_int_eq(paused[2], 0); /* 40 bytes queued: under 64 */
    feed(sender, MSG40);
    ck_assert_int_eq(paused[2], 1); /* 80 */
    write_one(reader, WS2);
    ck_assert_int_eq(paused[2], 1); /* 40: not yet under 32 */
    write_one(reader, WS2);
    ck_assert_int_eq(paused[2], 0);
    ck_assert_int_eq(resumes[2], 1);
    ck_assert_int_eq(paused[3], 0); /* the reader itself is read throughout */
    ck_assert_int_eq(close_count, 0);
}
END_TEST

START_TEST(a_recipient_that_writes_nothing_for_50_ms_lets_its_senders_go_on)
{
    sioc_conn *sender;
    hold_a_sender(100000, &sender);
    advance_ms(30);
    ck_assert_int_eq(paused[2], 1);
    advance_ms(30);
    ck_assert_int_eq(paused[2], 0);
    feed(sender, MSG40);
    ck_assert_int_eq(paused[2], 0); /* a stalled reader holds no one */
    for (int i = 0; i < 4; i++) {
        feed(sender, MSG40);
    }
    advance_ms(10);
    ck_assert_int_eq(close_count, 1); /* past 256 bytes */
    ck_assert_str_eq(last_reason, "write buffer full");
}
END_TEST

START_TEST(a_stalled_recipient_holds_no_one_again_until_it_drains)
{
    sioc_conn *sender;
    sioc_conn *reader = hold_a_sender(100000, &sender);
    advance_ms(60);
    ck_assert_int_eq(paused[2], 0);
    write_one(reader, WS2); /* a little progress: 40 bytes left, not yet down to 32 */
    feed(sender, MSG40);
    feed(sender, MSG40);            /* 120 bytes: past high water again */
    ck_assert_int_eq(paused[2], 0); /* held at most once */
    for (int i = 0; i < 3; i++) {
        write_one(reader, WS2); /* drained */
    }
    feed(sender, MSG40);
    feed(sender, MSG40);
    ck_assert_int_eq(paused[2], 1); /* reading again, it may hold again */
}
END_TEST

START_TEST(any_number_of_stalled_recipients_hold_a_sender_once_and_briefly)
{
    sioc_conn *sender = ws_session(WS, 100000);
    sioc_conn *r1 = ws_session(WS2, 100000);
    forward_to = r1;
    feed(sender, MSG40);
    feed(sender, MSG40);
    ck_assert_int_eq(paused[2], 1);
    advance_ms(60);
    ck_assert_int_eq(paused[2], 0);
    /* A second recipient that has had something to send for as long, and sent nothing: no hold. */
    sioc_conn *r2 = ws_session(POLL, 100000);
    ck_assert_int_eq(sioc_conn_send(r2, "x", 1, false), 0);
    advance_ms(60);
    forward_to = r2;
    feed(sender, MSG40);
    feed(sender, MSG40);
    ck_assert_int_eq(paused[2], 0);
    ck_assert_int_eq(resumes[2], 1);
}
END_TEST

START_TEST(a_recipient_that_makes_progress_keeps_its_senders_waiting)
{
    sioc_conn *sender = ws_session(WS, 100000);
    sioc_conn *reader = ws_session(WS2, 100000);
    forward_to = reader;
    for (int i = 0; i < 3; i++) {
        feed(sender, MSG40); /* lws may deliver what it had read before the pause */
    }
    ck_assert_int_eq(paused[2], 1);
    for (int i = 0; i < 3; i++) {
        advance_ms(40);
        write_one(reader, WS2); /* 80 bytes left, then 40, then 0 */
        ck_assert_int_eq(paused[2], i < 2);
    }
}
END_TEST

START_TEST(a_recipient_whose_peer_keeps_taking_bytes_keeps_its_senders_waiting)
{
    sioc_conn *sender;
    hold_a_sender(100000, &sender);
    for (int i = 0; i < 10; i++) { /* one large message going out over many turns */
        advance_ms(30);
        taken[3] += 1000;
        ck_assert_int_eq(paused[2], 1);
    }
    for (int i = 0; i < 12; i++) { /* and then the peer takes nothing more */
        advance_ms(10);
    }
    ck_assert_int_eq(paused[2], 0);
}
END_TEST

START_TEST(a_blocked_sender_outlives_ping_timeout_and_goes_on_once_its_reader_closes)
{
    sioc_conn *sender;
    sioc_conn *reader = hold_a_sender(300, &sender);
    /* The reader keeps draining, slowly: the sender stays held past its ping and pingTimeout (its
     * pong may be behind its own messages, unread), and is not closed for it. */
    for (int i = 0; i < 14; i++) {
        advance_ms(40);
        feed(sender, MSG40); /* what lws had read before the pause */
        write_one(reader, WS2);
        ck_assert_int_eq(paused[2], 1);
    }
    ck_assert_int_eq(close_count, 0);
    sioc__session_close(reader, "transport close", false);
    ck_assert_int_eq(paused[2], 0);
    ck_assert_int_eq(resumes[2], 1);
    ck_assert_int_eq(close_count, 1);
    advance_ms(210); /* read again, and still no pong */
    ck_assert_int_eq(close_count, 2);
    ck_assert_str_eq(last_reason, "ping timeout");
}
END_TEST

/* ---- Engine.IO v3 (allowEIO3) ---- */

static sioc_conn *handshake_v3(bool b64)
{
    sioc_conn *s = sioc__engine_open(eng, SIOC__POLLING, NULL, NULL, 3, NULL);
    ck_assert_ptr_nonnull(s);
    s->b64 = b64;
    char *open = poll_now(s, POLL);
    /* "<length>:0{...}": the length counts the whole packet. */
    char *colon = strchr(open, ':');
    ck_assert_ptr_nonnull(colon);
    ck_assert_uint_eq(strtoul(open, NULL, 10), strlen(colon + 1));
    ck_assert(strncmp(colon + 1, "0{\"sid\":\"", 9) == 0);
    return s;
}

START_TEST(a_v3_client_pings_and_gets_pongs_and_the_server_never_pings)
{
    sioc_conn *s = handshake_v3(false);
    ck_assert(!sioc__session_poll_attach(s, POLL));
    advance_ms(310);
    ck_assert_int_eq(wakes[0], 0); /* no server ping */
    feed(s, "2");
    ck_assert_int_eq(wakes[0], 1); /* the held GET is woken for the pong */
    sioc__buf out = {0};
    bool binary;
    ck_assert_int_eq(sioc__session_poll_take(s, POLL, &out, &binary), 0);
    ck_assert_uint_eq(out.len, 3);
    ck_assert(memcmp(out.data, "1:3", 3) == 0);
    sioc__buf_free(&out);
    /* pingInterval + pingTimeout (500 ms) after the last ping, the session is gone. */
    advance_ms(490);
    ck_assert_int_eq(close_count, 0);
    advance_ms(20);
    ck_assert_int_eq(close_count, 1);
    ck_assert_str_eq(last_reason, "ping timeout");
}
END_TEST

START_TEST(a_pong_from_a_v3_client_is_an_error)
{
    sioc_conn *s = handshake_v3(false);
    feed(s, "3");
    ck_assert_str_eq(last_reason, "transport error");
}
END_TEST

START_TEST(a_v3_payload_frames_packets_by_length_and_sends_binary_without_base64)
{
    sioc_conn *s = handshake_v3(false);
    sioc_conn_send(s, "\xf0\x9f\x98\x80", 4, false);
    sioc_conn_send(s, "\x01\x02", 2, true);
    size_t len;
    bool binary;
    char *out = poll_bytes(s, POLL, &len, &binary);
    ck_assert(binary);
    const char want[] = "\x00\x05\xff"
                        "4\xf0\x9f\x98\x80"
                        "\x01\x03\xff\x04\x01\x02";
    ck_assert_uint_eq(len, sizeof(want) - 1);
    ck_assert(memcmp(out, want, len) == 0);
    /* Text alone goes as text, each packet after its length in UTF-16 units. */
    sioc_conn_send(s, "\xf0\x9f\x98\x80", 4, false);
    ck_assert_str_eq(poll_now(s, POLL), "3:4\xf0\x9f\x98\x80");
    /* A held GET released with nothing queued gets a v3 noop. */
    ck_assert(!sioc__session_poll_attach(s, POLL));
    sioc__buf noop = {0};
    ck_assert_int_eq(sioc__session_poll_take(s, POLL, &noop, &binary), 0);
    ck_assert_uint_eq(noop.len, 3);
    ck_assert(memcmp(noop.data, "1:6", 3) == 0);
    sioc__buf_free(&noop);
}
END_TEST

START_TEST(a_v3_client_without_binary_support_gets_base64)
{
    sioc_conn *s = handshake_v3(true);
    sioc_conn_send(s, "\x01\x02", 2, true);
    sioc_conn_close(s);
    ck_assert_str_eq(poll_now(s, POLL), "6:b4AQI=1:1");
    ck_assert_str_eq(last_reason, "forced close");
}
END_TEST

START_TEST(a_v3_post_delivers_text_and_binary_payloads)
{
    sioc_conn *s = handshake_v3(false);
    char text[] = "6:4hello10:b4AQIDBA==";
    ck_assert_int_eq(sioc__session_receive_payload(s, text, strlen(text), false), 0);
    ck_assert_uint_eq(received.len, 9);
    ck_assert(memcmp(received.data, "hello\x01\x02\x03\x04", 9) == 0);
    char bin[] = "\x01\x03\xff\x04\x0a\x0b"
                 "\x00\x02\xff"
                 "4!";
    ck_assert_int_eq(sioc__session_receive_payload(s, bin, sizeof(bin) - 1, true), 0);
    ck_assert_uint_eq(received.len, 12);
    ck_assert(memcmp(received.data + 9, "\x0a\x0b!", 3) == 0);
    char bad[] = "7:4hello";
    ck_assert_int_eq(sioc__session_receive_payload(s, bad, strlen(bad), false), -1);
    ck_assert_str_eq(last_reason, "parse error");
}
END_TEST

START_TEST(a_binary_post_is_refused_in_v4)
{
    sioc_conn *s = handshake();
    char bin[] = "\x00\x02\xff"
                 "4!";
    ck_assert_int_eq(sioc__session_receive_payload(s, bin, sizeof(bin) - 1, true), -1);
    ck_assert_uint_eq(received.len, 0);
    ck_assert_str_eq(last_reason, "parse error");
}
END_TEST

START_TEST(websocket_frames_decode_by_protocol)
{
    sioc_conn *s3 = handshake_v3(false), *s4 = handshake();
    sioc__eio_packet p;
    char frame[] = "\x04\x01\x02";
    ck_assert_int_eq(sioc__session_decode_frame(s3, frame, 3, true, &p), 0);
    ck_assert_uint_eq(p.len, 2); /* v3: the type byte leads */
    ck_assert_int_eq(sioc__session_decode_frame(s4, frame, 3, true, &p), 0);
    ck_assert_uint_eq(p.len, 3); /* v4: all data */
    char b64[] = "b4AQI=";
    ck_assert_int_eq(sioc__session_decode_frame(s3, b64, 6, false, &p), 0);
    ck_assert(p.binary);
    ck_assert_uint_eq(p.len, 2);
    char b64again[] = "b4AQI=";
    ck_assert_int_eq(sioc__session_decode_frame(s4, b64again, 6, false, &p), -1);
}
END_TEST

START_TEST(a_plain_client_is_pinged_and_closed_when_it_stops_answering)
{
    sioc_conn *s = sioc__engine_open_plain(eng, WS, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_null(sioc__session_ws_next(s, WS)); /* no open packet, nothing queued */
    advance_ms(310);
    ck_assert_int_eq(pings[2], 1); /* a WebSocket PING, not an Engine.IO packet */
    ck_assert_ptr_null(sioc__session_ws_next(s, WS));
    sioc__session_pong(s);
    advance_ms(310);
    ck_assert_int_eq(pings[2], 2);
    ck_assert_int_eq(close_count, 0);
    advance_ms(210); /* no PONG within pingTimeout */
    ck_assert_int_eq(close_count, 1);
    ck_assert_str_eq(last_reason, "ping timeout");
    ck_assert_int_eq(closes[2], 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eio_engine");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_polling_handshake_sends_the_open_packet_and_registers_the_sid);
    tcase_add_test(tc, a_workers_sessions_carry_its_index_in_their_sid);
    tcase_add_test(tc, a_held_get_is_woken_by_the_first_queued_message_and_gets_all_of_them);
    tcase_add_test(tc, the_server_pings_every_interval_and_a_pong_keeps_the_session);
    tcase_add_test(tc, a_missing_pong_closes_with_ping_timeout_and_forgets_the_sid);
    tcase_add_test(tc, ping_timeout_counts_from_the_due_ping_unless_the_server_stalled);
    tcase_add_test(tc, messages_reach_the_handler_and_a_client_ping_is_an_error);
    tcase_add_test(tc, a_close_packet_ends_the_session_once_with_transport_close);
    tcase_add_test(tc, an_upgrade_switches_to_websocket_after_probe_and_upgrade_packets);
    tcase_add_test(tc, what_is_sent_during_an_upgrade_rides_on_the_held_get_before_the_noop_check);
    tcase_add_test(tc, an_upgrade_that_does_not_complete_is_dropped_and_polling_carries_on);
    tcase_add_test(tc, close_after_flush_sends_what_is_queued_then_the_close_packet);
    tcase_add_test(tc, a_held_get_that_goes_away_is_a_transport_error);
    tcase_add_test(tc, a_websocket_handshake_queues_the_open_packet_without_upgrades);
    tcase_add_test(tc, a_held_get_whose_client_hung_up_is_found_within_a_second);
    tcase_add_test(tc, a_client_that_stops_reading_is_closed_past_the_cap_at_the_next_tick);
    tcase_add_test(tc, a_sender_is_not_read_while_a_recipient_is_past_high_water_until_it_drains);
    tcase_add_test(tc, a_recipient_that_writes_nothing_for_50_ms_lets_its_senders_go_on);
    tcase_add_test(tc, a_stalled_recipient_holds_no_one_again_until_it_drains);
    tcase_add_test(tc, a_recipient_whose_peer_keeps_taking_bytes_keeps_its_senders_waiting);
    tcase_add_test(tc, any_number_of_stalled_recipients_hold_a_sender_once_and_briefly);
    tcase_add_test(tc, a_recipient_that_makes_progress_keeps_its_senders_waiting);
    tcase_add_test(tc, a_blocked_sender_outlives_ping_timeout_and_goes_on_once_its_reader_closes);
    tcase_add_test(tc, a_v3_client_pings_and_gets_pongs_and_the_server_never_pings);
    tcase_add_test(tc, a_pong_from_a_v3_client_is_an_error);
    tcase_add_test(tc, a_v3_payload_frames_packets_by_length_and_sends_binary_without_base64);
    tcase_add_test(tc, a_v3_client_without_binary_support_gets_base64);
    tcase_add_test(tc, a_v3_post_delivers_text_and_binary_payloads);
    tcase_add_test(tc, a_binary_post_is_refused_in_v4);
    tcase_add_test(tc, websocket_frames_decode_by_protocol);
    tcase_add_test(tc, a_plain_client_is_pinged_and_closed_when_it_stops_answering);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
