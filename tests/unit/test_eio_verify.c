/* Node's engine.io verify(): which requests an endpoint takes, in Node's order of checks, with
 * Node's error codes (the cases of engine.io's own server tests and the protocol suite). */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "eio/verify.h"
#include "fake_engine.h"

#define BOTH (SIOC_TRANSPORT_POLLING | SIOC_TRANSPORT_WEBSOCKET)
#define OK (-1) /* no error */

/* Which sid a case names: none, one nobody has, the polling session's, the WebSocket's. */
enum sid_kind { NO_SID, UNKNOWN, POLLING, WEBSOCKET };

static const struct {
    unsigned transports;
    bool eio3;
    const char *transport;
    const char *eio;
    enum sid_kind sid;
    sioc__eio_method method;
    int want; /* OK or a sioc__eio_error */
} http_cases[] = {
    {BOTH, false, "polling", "4", NO_SID, SIOC__EIO_GET, OK},
    {BOTH, false, "", "4", NO_SID, SIOC__EIO_GET, SIOC__EIO_ERR_UNKNOWN_TRANSPORT},
    {BOTH, false, "flashsocket", "4", NO_SID, SIOC__EIO_GET, SIOC__EIO_ERR_UNKNOWN_TRANSPORT},
    {SIOC_TRANSPORT_WEBSOCKET, false, "polling", "4", NO_SID, SIOC__EIO_GET,
     SIOC__EIO_ERR_UNKNOWN_TRANSPORT},
    /* The transport is checked before the sid. */
    {BOTH, false, "nope", "4", UNKNOWN, SIOC__EIO_GET, SIOC__EIO_ERR_UNKNOWN_TRANSPORT},
    {BOTH, false, "polling", "4", UNKNOWN, SIOC__EIO_GET, SIOC__EIO_ERR_UNKNOWN_SID},
    {BOTH, false, "polling", "4", UNKNOWN, SIOC__EIO_POST, SIOC__EIO_ERR_UNKNOWN_SID},
    {BOTH, false, "polling", "4", POLLING, SIOC__EIO_GET, OK},
    {BOTH, false, "polling", "4", POLLING, SIOC__EIO_POST, OK},
    {BOTH, false, "websocket", "4", POLLING, SIOC__EIO_GET, SIOC__EIO_ERR_BAD_REQUEST},
    {BOTH, false, "polling", "4", WEBSOCKET, SIOC__EIO_GET, SIOC__EIO_ERR_BAD_REQUEST},
    /* A handshake is a GET on polling; a WebSocket handshake must be an upgrade. */
    {BOTH, false, "polling", "4", NO_SID, SIOC__EIO_POST, SIOC__EIO_ERR_BAD_HANDSHAKE_METHOD},
    {BOTH, false, "polling", "4", NO_SID, SIOC__EIO_OTHER_METHOD,
     SIOC__EIO_ERR_BAD_HANDSHAKE_METHOD},
    {BOTH, false, "websocket", "4", NO_SID, SIOC__EIO_GET, SIOC__EIO_ERR_BAD_REQUEST},
    /* EIO=4 is v4; anything else is v3, allowed or not. */
    {BOTH, false, "polling", "3", NO_SID, SIOC__EIO_GET,
     SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {BOTH, false, "polling", "", NO_SID, SIOC__EIO_GET, SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {BOTH, true, "polling", "3", NO_SID, SIOC__EIO_GET, OK},
    {BOTH, true, "polling", "", NO_SID, SIOC__EIO_GET, OK},
    {BOTH, true, "polling", "abc", NO_SID, SIOC__EIO_GET, OK},
};

static const struct {
    unsigned transports;
    bool eio3;
    const char *transport;
    const char *eio;
    enum sid_kind sid;
    int want;
} upgrade_cases[] = {
    {BOTH, false, "websocket", "4", NO_SID, OK},
    {SIOC_TRANSPORT_POLLING, false, "websocket", "4", NO_SID, SIOC__EIO_ERR_UNKNOWN_TRANSPORT},
    {BOTH, false, "nope", "4", NO_SID, SIOC__EIO_ERR_UNKNOWN_TRANSPORT},
    {BOTH, false, "polling", "4", NO_SID, SIOC__EIO_ERR_BAD_REQUEST},
    {BOTH, false, "websocket", "4", UNKNOWN, SIOC__EIO_ERR_UNKNOWN_SID},
    {BOTH, false, "websocket", "4", POLLING, OK},
    /* Upgraded already: 101, then the newcomer is closed (Node's behaviour, the suite's test). */
    {BOTH, false, "websocket", "4", WEBSOCKET, OK},
    {BOTH, false, "websocket", "3", NO_SID, SIOC__EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION},
    {BOTH, true, "websocket", "", NO_SID, OK},
};

static sioc__wheel wheel;
static sioc__engine *eng;
static sioc_conn *polling, *websocket;
static int ws_conn;

/* An endpoint with one polling session and one WebSocket session; the query names `sid`. */
static void set_up(unsigned transports, bool eio3, const char *transport, const char *eio,
                   enum sid_kind sid, sioc__eio_query *q)
{
    eng = fake_engine_new(&wheel, transports, eio3);
    ck_assert_ptr_nonnull(eng);
    polling = sioc__engine_open(eng, SIOC__POLLING, NULL, NULL, 4, NULL);
    websocket = sioc__engine_open(eng, SIOC__WEBSOCKET, &ws_conn, NULL, 4, NULL);
    ck_assert_ptr_nonnull(polling);
    ck_assert_ptr_nonnull(websocket);
    memset(q, 0, sizeof(*q));
    strcpy(q->transport, transport);
    strcpy(q->eio, eio);
    q->has_sid = sid != NO_SID;
    strcpy(q->sid, sid == POLLING     ? polling->sid
                   : sid == WEBSOCKET ? websocket->sid
                   : sid == UNKNOWN   ? "AAAAAAAAAAAAAAAAAAAA"
                                      : "");
}

START_TEST(http_requests_get_nodes_verdicts)
{
    sioc__eio_query q;
    set_up(http_cases[_i].transports, http_cases[_i].eio3, http_cases[_i].transport,
           http_cases[_i].eio, http_cases[_i].sid, &q);
    sioc_conn *out = websocket; /* must be overwritten */
    sioc__eio_error err = (sioc__eio_error)99;
    bool ok = sioc__eio_verify_http(eng, &q, http_cases[_i].method, &out, &err);
    ck_assert_int_eq(ok ? OK : (int)err, http_cases[_i].want);
    ck_assert_ptr_eq(out, ok && q.has_sid ? polling : NULL);
    sioc__engine_free(eng);
}
END_TEST

START_TEST(upgrades_get_nodes_verdicts)
{
    sioc__eio_query q;
    set_up(upgrade_cases[_i].transports, upgrade_cases[_i].eio3, upgrade_cases[_i].transport,
           upgrade_cases[_i].eio, upgrade_cases[_i].sid, &q);
    sioc__eio_error err = (sioc__eio_error)99;
    bool ok = sioc__eio_verify_upgrade(eng, &q, &err);
    ck_assert_int_eq(ok ? OK : (int)err, upgrade_cases[_i].want);
    sioc__engine_free(eng);
}
END_TEST

START_TEST(the_protocol_is_4_only_for_eio_4)
{
    sioc__eio_query q;
    set_up(BOTH, false, "polling", "4", NO_SID, &q);
    ck_assert_uint_eq(sioc__eio_protocol_of(eng, &q), 4);
    strcpy(q.eio, "5");
    ck_assert_uint_eq(sioc__eio_protocol_of(eng, &q), 0);
    eng->cfg.allow_eio3 = true;
    ck_assert_uint_eq(sioc__eio_protocol_of(eng, &q), 3);
    strcpy(q.eio, "4 ");
    ck_assert_uint_eq(sioc__eio_protocol_of(eng, &q), 3);
    sioc__engine_free(eng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eio_verify");
    TCase *tc = tcase_create("verify");
    tcase_add_loop_test(tc, http_requests_get_nodes_verdicts, 0, N(http_cases));
    tcase_add_loop_test(tc, upgrades_get_nodes_verdicts, 0, N(upgrade_cases));
    tcase_add_test(tc, the_protocol_is_4_only_for_eio_4);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
