/* The adapter seam (src/core/adapter.h) under a fake adapter that plays a cluster of two nodes:
 * this one (the fake connections) and a remote one the tests speak for. Each namespace gets its
 * own adapter, started and closed; broadcasts with acks wait for every node's count and answers;
 * a fetch yields remote sockets that act through the adapter; server-side events reach the
 * listener and answer once; a returning client waits for the adapter's session. Also what the
 * in-memory adapter does for a server alone. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "fake_core.h"

/* ---- the fake cluster adapter ---- */

typedef struct fake_adapter {
    sioc__adapter base;
} fake_adapter;

static struct {
    int inits, closes;
    char op[64];          /* the last operation sent to the other node, and its details */
    char data[256];       /* its JSON data */
    char target[64];      /* its target's first room */
    char rooms[64];       /* its rooms (join, leave) */
    bool close;           /* its close flag (disconnect) */
    sioc__bcast_ack *ack; /* a broadcast with acks waiting for the other node */
    sioc_broadcast_ack_cb sse_cb;
    void *sse_data;
    sioc__saved_session *session; /* persisted */
    sioc__restore_cb restore_cb;  /* a restore waiting for the test's answer */
    void *restore_arg;
    int answers, drops;
    char answered[128];
} cluster;

static void record(const char *op, json_t *data, const sioc_target *t)
{
    snprintf(cluster.op, sizeof(cluster.op), "%s", op);
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(cluster.data, sizeof(cluster.data), "%s", text ? text : "");
    free(text);
    snprintf(cluster.target, sizeof(cluster.target), "%s", t && t->nrooms ? t->rooms[0] : "");
}

static sioc__adapter *fake_create(sioc_namespace *nsp, const void *config)
{
    fake_adapter *a = calloc(1, sizeof(*a));
    return a ? &a->base : NULL;
}

static int fake_init(sioc__adapter *a)
{
    cluster.inits++;
    return 0;
}

static void fake_close(sioc__adapter *a)
{
    cluster.closes++;
    if (cluster.ack) {
        sioc__bcast_ack_release(cluster.ack);
        cluster.ack = NULL;
    }
    free(a);
}

static int fake_broadcast(sioc__adapter *a, json_t *data, const sioc_target *t)
{
    record("broadcast", data, t);
    return sioc__local_broadcast(a->nsp, data, t, NULL) < 0 ? SIOC_ERR_NOMEM : 0;
}

static int fake_broadcast_with_ack(sioc__adapter *a, json_t *data, const sioc_target *t,
                                   sioc__bcast_ack *ack)
{
    record("broadcast_with_ack", data, t);
    sioc__bcast_ack_expect(ack, 1); /* the other node will report too */
    sioc__bcast_ack_hold(ack);
    cluster.ack = ack;
    long reached = sioc__local_broadcast(a->nsp, data, t, ack);
    sioc__bcast_ack_count(ack, (size_t)reached);
    return 0;
}

static int fake_fetch(sioc__adapter *a, const sioc_target *t, sioc_fetch_cb cb, void *user_data)
{
    sioc_socket **local;
    size_t n;
    ck_assert_int_eq(sioc__select_list(a->nsp, t, &local, &n), 0);
    json_t *rooms = json_pack("[ss]", "remote-socket-00001", "blue");
    json_t *handshake = json_pack("{s:s,s:{s:s}}", "address", "10.0.0.9", "auth", "token", "t");
    json_t *data = json_pack("{s:i}", "score", 7);
    sioc_socket *remote =
        sioc__remote_socket_new(a->nsp, "remote-socket-00001", rooms, handshake, data);
    json_decref(rooms);
    json_decref(handshake);
    json_decref(data);
    ck_assert_ptr_nonnull(remote);
    sioc_socket **all = malloc((n + 1) * sizeof(*all));
    memcpy(all, local, n * sizeof(*all));
    all[n] = remote;
    cb(0, all, n + 1, user_data);
    for (size_t i = 0; i <= n; i++) {
        sioc__socket_unref(all[i]);
    }
    free(all);
    free(local);
    return 0;
}

static void record_rooms(const char *op, const sioc_target *t, const char *const *rooms, size_t n)
{
    record(op, NULL, t);
    snprintf(cluster.rooms, sizeof(cluster.rooms), "%s", n ? rooms[0] : "");
}

static int fake_add(sioc__adapter *a, const sioc_target *t, const char *const *rooms, size_t n)
{
    record_rooms("join", t, rooms, n);
    return sioc__local_add_sockets(a->nsp, t, rooms, n);
}

static int fake_del(sioc__adapter *a, const sioc_target *t, const char *const *rooms, size_t n)
{
    record_rooms("leave", t, rooms, n);
    return sioc__local_del_sockets(a->nsp, t, rooms, n);
}

static int fake_disconnect(sioc__adapter *a, const sioc_target *t, bool close)
{
    record("disconnect", NULL, t);
    cluster.close = close;
    return sioc__local_disconnect_sockets(a->nsp, t, close);
}

static int fake_sse(sioc__adapter *a, json_t *data, unsigned timeout_ms, sioc_broadcast_ack_cb cb,
                    void *user_data)
{
    record(cb ? "server_side_emit_with_ack" : "server_side_emit", data, NULL);
    cluster.sse_cb = cb;
    cluster.sse_data = user_data;
    return 0;
}

static void fake_persist(sioc__adapter *a, sioc__saved_session *session)
{
    sioc__saved_session_free(cluster.session);
    cluster.session = session;
}

static void fake_restore(sioc__adapter *a, const char *pid, const char *offset, sioc__restore_cb cb,
                         void *arg)
{
    cluster.restore_cb = cb;
    cluster.restore_arg = arg;
}

static const sioc__adapter_ops fake_ops = {
    .name = "fake-cluster",
    .create = fake_create,
    .init = fake_init,
    .close = fake_close,
    .broadcast = fake_broadcast,
    .broadcast_with_ack = fake_broadcast_with_ack,
    .fetch_sockets = fake_fetch,
    .add_sockets = fake_add,
    .del_sockets = fake_del,
    .disconnect_sockets = fake_disconnect,
    .server_side_emit = fake_sse,
    .persist_session = fake_persist,
    .restore_session = fake_restore,
};

/* ---- fixture and helpers ---- */

static fake_core f;
static int extra[4];

static void setup(void)
{
    memset(&cluster, 0, sizeof(cluster));
    fake_core_start(&f);
    ck_assert_int_eq(sioc__core_set_adapter(f.sio, &fake_ops, NULL), 0);
}

static void teardown(void)
{
    fake_core_stop(&f);
    sioc__saved_session_free(cluster.session);
}

static char *dump(json_t *v)
{
    static char out[128];
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, sizeof(out), "%s", text ? text : "(null)");
    free(text);
    return out;
}

/* The ack id of the EVENT queued for session i ("42<id>[...]"), which is then taken. */
static long queued_ack_id(int i)
{
    const char *p = fake_core_sent(f.sessions[i]);
    ck_assert_int_eq(strncmp(p, "42", 2), 0);
    return strtol(p + 2, NULL, 10);
}

static void receive(sioc_conn *s, const char *packet)
{
    sioc__eio_packet p = {SIOC__EIO_MESSAGE, false, packet, strlen(packet)};
    sioc__session_receive(s, &p);
}

static void answer(int i, long id, const char *json)
{
    char packet[256];
    snprintf(packet, sizeof(packet), "3%ld%s", id, json);
    receive(f.sessions[i], packet);
}

static int bcast_calls, bcast_err;
static char bcast_responses[160];

static void on_bcast(int err, json_t *responses, void *user_data)
{
    bcast_calls++;
    bcast_err = err;
    snprintf(bcast_responses, sizeof(bcast_responses), "%s", dump(responses));
}

/* ---- namespaces and their adapters ---- */

START_TEST(every_namespace_gets_its_own_adapter_started_and_closed)
{
    fake_core g;
    memset(&cluster, 0, sizeof(cluster));
    fake_core_start(&g);
    ck_assert_int_eq(sioc__core_set_adapter(g.sio, &fake_ops, NULL), 0);
    ck_assert_int_eq(cluster.inits, 1); /* "/" */
    ck_assert_ptr_eq(g.root->adapter->ops, &fake_ops);
    ck_assert_ptr_eq(g.root->adapter->nsp, g.root);
    sioc_namespace *chat = sioc__core_of(g.sio, "/chat");
    ck_assert_int_eq(cluster.inits, 2);
    ck_assert_ptr_ne(chat->adapter, g.root->adapter);
    /* A parent namespace stays local, as Node's ParentNamespace; its children do not. */
    sioc_namespace *parent = sioc__core_parent_new(g.sio, "^/dyn-[0-9]+$", NULL, NULL);
    ck_assert_ptr_eq(parent->adapter->ops, &sioc__memory_adapter);
    ck_assert_int_eq(cluster.inits, 2);
    fake_core_stop(&g);
    ck_assert_int_eq(cluster.closes, 2);
}
END_TEST

/* ---- broadcasts with acks ---- */

START_TEST(a_broadcast_with_acks_waits_for_every_node_count_and_answer)
{
    bcast_calls = 0;
    ck_assert_int_eq(sioc_namespace_emit_with_ack(f.root, NULL, "q", NULL, 1000, on_bcast, NULL),
                     0);
    ck_assert_str_eq(cluster.op, "broadcast_with_ack");
    ck_assert_str_eq(cluster.data, "[\"q\"]");
    long ids[FAKE_CORE_CONNS];
    for (int i = 0; i < FAKE_CORE_CONNS; i++) {
        ids[i] = queued_ack_id(i);
        answer(i, ids[i], "[\"local\"]");
    }
    /* Every local socket has answered, but the other node has not said how many it reached. */
    ck_assert_int_eq(bcast_calls, 0);
    sioc__bcast_ack_count(cluster.ack, 2);
    json_t *remote = json_string("remote");
    sioc__bcast_ack_answer(cluster.ack, remote);
    ck_assert_int_eq(bcast_calls, 0);
    sioc__bcast_ack_answer(cluster.ack, remote);
    json_decref(remote);
    ck_assert_int_eq(bcast_calls, 1);
    ck_assert_int_eq(bcast_err, 0);
    ck_assert_str_eq(bcast_responses,
                     "[\"local\",\"local\",\"local\",\"local\",\"remote\",\"remote\"]");
    /* A late answer after the decision is dropped; the adapter's hold keeps it safe to make. */
    sioc__bcast_ack_answer(cluster.ack, NULL);
    ck_assert_int_eq(bcast_calls, 1);
}
END_TEST

START_TEST(a_broadcast_with_acks_times_out_with_the_answers_it_has)
{
    bcast_calls = 0;
    ck_assert_int_eq(sioc_namespace_emit_with_ack(f.root, NULL, "q", NULL, 500, on_bcast, NULL), 0);
    answer(0, queued_ack_id(0), "[1]");
    sioc__wheel_advance(&f.wheel, sioc__wheel_now(&f.wheel) + 600);
    ck_assert_int_eq(bcast_calls, 1);
    ck_assert_int_eq(bcast_err, SIOC_ERR_TIMEOUT);
    ck_assert_str_eq(bcast_responses, "[1]");
    sioc__bcast_ack_count(cluster.ack, 3); /* the other node, too late */
    ck_assert_int_eq(bcast_calls, 1);
}
END_TEST

/* ---- a broadcast with acks another node asked for ---- */

static int forwarded, forward_done;
static char forwarded_answers[128];

static void on_forwarded(json_t *first, void *arg)
{
    forwarded++;
    strncat(forwarded_answers, dump(first),
            sizeof(forwarded_answers) - strlen(forwarded_answers) - 1);
}

static void on_forward_done(int err, json_t *responses, void *arg)
{
    forward_done++;
}

START_TEST(a_forwarded_broadcast_hands_on_each_answer_as_it_comes)
{
    forwarded = forward_done = 0;
    forwarded_answers[0] = '\0';
    json_t *data = json_pack("[s]", "question");
    ck_assert_int_eq(
        sioc__forward_with_ack(f.root, data, NULL, 1000, on_forwarded, on_forward_done, NULL),
        FAKE_CORE_CONNS);
    answer(0, queued_ack_id(0), "[\"a\",\"ignored\"]");
    ck_assert_int_eq(forwarded, 1); /* at once, not when all are in */
    ck_assert_str_eq(forwarded_answers, "\"a\"");
    for (int i = 1; i < FAKE_CORE_CONNS; i++) {
        answer(i, queued_ack_id(i), "[]");
    }
    ck_assert_int_eq(forwarded, FAKE_CORE_CONNS);
    ck_assert_int_eq(forward_done, 1);
    /* Nobody in the room: decided at once, its count 0. */
    const char *nobody = "nobody";
    sioc_target t = {.rooms = &nobody, .nrooms = 1};
    ck_assert_int_eq(
        sioc__forward_with_ack(f.root, data, &t, 1000, on_forwarded, on_forward_done, NULL), 0);
    ck_assert_int_eq(forward_done, 2);
    json_decref(data);
}
END_TEST

/* ---- fetch and remote sockets ---- */

static int fetched;

static void on_fetch(int err, sioc_socket *const *sockets, size_t n, void *user_data)
{
    fetched++;
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(n, FAKE_CORE_CONNS + 1);
    for (size_t i = 0; i < FAKE_CORE_CONNS; i++) {
        ck_assert(sioc_socket_is_local(sockets[i]));
    }
    sioc_socket *r = sockets[FAKE_CORE_CONNS];
    ck_assert(!sioc_socket_is_local(r));
    ck_assert_str_eq(sioc_socket_id(r), "remote-socket-00001");
    const char *rooms[4];
    ck_assert_uint_eq(sioc_socket_rooms(r, rooms, 4), 2);
    ck_assert_str_eq(rooms[1], "blue");
    ck_assert_str_eq(json_string_value(json_object_get(sioc_socket_handshake(r), "address")),
                     "10.0.0.9");
    ck_assert_str_eq(dump(sioc_socket_auth(r)), "{\"token\":\"t\"}");
    ck_assert_str_eq(dump(sioc_socket_data_json(r)), "{\"score\":7}");
    ck_assert_ptr_null(sioc_socket_conn(r));
    ck_assert_ptr_eq(sioc_socket_namespace(r), f.root);
    /* What is done to it goes to its own room, through the adapter. */
    json_t *args = json_pack("[s]", "hi");
    ck_assert_int_eq(sioc_socket_emit(r, "greet", args), 0);
    ck_assert_str_eq(cluster.op, "broadcast");
    ck_assert_str_eq(cluster.data, "[\"greet\",\"hi\"]");
    ck_assert_str_eq(cluster.target, "remote-socket-00001");
    ck_assert_int_eq(sioc_socket_join(r, "red"), 0);
    ck_assert_str_eq(cluster.op, "join");
    ck_assert_str_eq(cluster.target, "remote-socket-00001");
    ck_assert_str_eq(cluster.rooms, "red");
    ck_assert_int_eq(sioc_socket_leave(r, "blue"), 0);
    ck_assert_str_eq(cluster.op, "leave");
    ck_assert_str_eq(cluster.rooms, "blue");
    sioc_socket_disconnect(r, true);
    ck_assert_str_eq(cluster.op, "disconnect");
    ck_assert_str_eq(cluster.target, "remote-socket-00001");
    ck_assert(cluster.close);
    /* Node's RemoteSocket has no broadcast, and no emit with an ack in sioc. */
    ck_assert_int_eq(sioc_socket_broadcast(r, "x", NULL), SIOC_ERR_INVALID);
    ck_assert_int_eq(sioc_socket_emit_with_ack(r, "x", NULL, 100, NULL, NULL), SIOC_ERR_INVALID);
    json_decref(args);
}

START_TEST(a_fetch_yields_remote_sockets_that_act_through_the_adapter)
{
    fetched = 0;
    ck_assert_int_eq(sioc_namespace_fetch_sockets(f.root, NULL, on_fetch, NULL), 0);
    ck_assert_int_eq(fetched, 1);
    /* None of it touched the local sockets: nothing queued for them. */
    for (int i = 0; i < FAKE_CORE_CONNS; i++) {
        ck_assert_str_eq(fake_core_sent(f.sessions[i]), "");
    }
}
END_TEST

/* ---- server-side events ---- */

static int listened;
static char listened_args[160];
static sioc_server_ack *held;

static void on_hello(sioc_namespace *nsp, json_t *args, sioc_server_ack *ack, void *user_data)
{
    listened++;
    snprintf(listened_args, sizeof(listened_args), "%s", dump(args));
    if (user_data) { /* answer now */
        json_t *reply = json_pack("{s:i}", "got", 1);
        sioc_server_ack_send(ack, reply);
        json_decref(reply);
    } else {
        held = ack;
    }
}

static void remote_answer(void *ctx, json_t *first)
{
    cluster.answers++;
    snprintf(cluster.answered, sizeof(cluster.answered), "%s", dump(first));
}

static void remote_drop(void *ctx)
{
    cluster.drops++;
    free(ctx);
}

static sioc_server_ack *remote_ack(void)
{
    return sioc__server_ack_new(f.root, remote_answer, remote_drop, malloc(8));
}

START_TEST(server_side_events_reach_the_listener_and_answer_once)
{
    listened = 0;
    ck_assert_int_eq(sioc_namespace_on_server_event(f.root, "hello", on_hello, (void *)1), 0);
    json_t *data = json_pack("[s,i,s]", "hello", 1, "two");
    sioc__namespace_server_event(f.root, data, remote_ack());
    ck_assert_int_eq(listened, 1);
    ck_assert_str_eq(listened_args, "[1,\"two\"]");
    ck_assert_int_eq(cluster.answers, 1);
    ck_assert_str_eq(cluster.answered, "{\"got\":1}");
    ck_assert_int_eq(cluster.drops, 1);
    /* No ack asked: the listener runs all the same. */
    sioc__namespace_server_event(f.root, data, NULL);
    ck_assert_int_eq(listened, 2);
    ck_assert_int_eq(cluster.answers, 1);
    /* Nobody listens: the ack is dropped unanswered. */
    json_t *other = json_pack("[s]", "nobody");
    sioc__namespace_server_event(f.root, other, remote_ack());
    ck_assert_int_eq(cluster.drops, 2);
    ck_assert_int_eq(cluster.answers, 1);
    /* Removed: as nobody. */
    ck_assert_int_eq(sioc_namespace_on_server_event(f.root, "hello", NULL, NULL), 0);
    sioc__namespace_server_event(f.root, data, NULL);
    ck_assert_int_eq(listened, 2);
    json_decref(other);
    json_decref(data);
}
END_TEST

START_TEST(an_ack_the_application_keeps_is_answered_later_or_freed_with_the_server)
{
    held = NULL;
    ck_assert_int_eq(sioc_namespace_on_server_event(f.root, "hello", on_hello, NULL), 0);
    json_t *data = json_pack("[s]", "hello");
    sioc__namespace_server_event(f.root, data, remote_ack());
    ck_assert_ptr_nonnull(held);
    ck_assert_int_eq(cluster.answers, 0);
    sioc_server_ack_send(held, NULL); /* later, with nothing: null crosses */
    ck_assert_int_eq(cluster.answers, 1);
    ck_assert_str_eq(cluster.answered, "null");
    sioc__namespace_server_event(f.root, data, remote_ack());
    ck_assert_int_eq(cluster.drops, 1);
    json_decref(data);
    /* This one stays unanswered: the teardown's free drops it (ASan would see a leak). */
}
END_TEST

START_TEST(server_side_emit_goes_to_the_adapter)
{
    json_t *args = json_pack("[i]", 5);
    ck_assert_int_eq(sioc_namespace_server_side_emit(f.root, "tick", args), 0);
    ck_assert_str_eq(cluster.op, "server_side_emit");
    ck_assert_str_eq(cluster.data, "[\"tick\",5]");
    bcast_calls = 0;
    ck_assert_int_eq(
        sioc_namespace_server_side_emit_with_ack(f.root, "tick", args, 0, on_bcast, NULL), 0);
    ck_assert_str_eq(cluster.op, "server_side_emit_with_ack");
    ck_assert(cluster.sse_cb == on_bcast);
    ck_assert_int_eq(sioc_namespace_server_side_emit(f.root, NULL, args), SIOC_ERR_INVALID);
    ck_assert_int_eq(sioc_namespace_server_side_emit_with_ack(f.root, "tick", args, 0, NULL, NULL),
                     SIOC_ERR_INVALID);
    json_decref(args);
}
END_TEST

/* ---- recovery through the adapter ---- */

START_TEST(a_returning_client_waits_for_the_adapter_session)
{
    f.sio->recovery_ms = 2000;
    sioc_conn *first = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &extra[0], NULL, 4, NULL);
    fake_core_sent(first);
    receive(first, "0");
    char sid[32], pid[32];
    ck_assert_int_eq(
        sscanf(fake_core_sent(first), "40{\"sid\":\"%20[^\"]\",\"pid\":\"%20[^\"]\"}", sid, pid),
        2);
    sioc__session_close(first, "transport close", false);
    ck_assert_ptr_nonnull(cluster.session); /* persisted through the adapter */
    ck_assert_str_eq(cluster.session->sid, sid);

    char auth[128];
    snprintf(auth, sizeof(auth), "0{\"pid\":\"%s\",\"offset\":\"7\"}", pid);
    sioc_conn *second = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &extra[1], NULL, 4, NULL);
    fake_core_sent(second);
    receive(second, auth);
    ck_assert(cluster.restore_cb != NULL);
    ck_assert_str_eq(fake_core_sent(second), ""); /* no CONNECT before the adapter answers */
    json_t *missed = json_pack("[[s,s,s]]", "news", "x", "8");
    sioc__saved_session *session = cluster.session;
    cluster.session = NULL;
    cluster.restore_cb(session, missed, cluster.restore_arg);
    char expect[128];
    snprintf(expect, sizeof(expect), "40{\"sid\":\"%s\",\"pid\":\"%s\"}|42[\"news\",\"x\",\"8\"]",
             sid, pid);
    ck_assert_str_eq(fake_core_sent(second), expect);

    /* A client that goes while the adapter looks: the late answer finds it gone. */
    cluster.restore_cb = NULL;
    sioc_conn *third = sioc__engine_open(f.eng, SIOC__WEBSOCKET, &extra[2], NULL, 4, NULL);
    fake_core_sent(third);
    receive(third, auth);
    ck_assert(cluster.restore_cb != NULL);
    sioc__session_close(third, "transport close", false);
    cluster.restore_cb(NULL, NULL, cluster.restore_arg);
}
END_TEST

/* ---- the in-memory adapter, alone ---- */

START_TEST(alone_a_server_side_emit_is_answered_at_once_by_nobody)
{
    fake_core g;
    fake_core_start(&g);
    ck_assert_ptr_eq(g.root->adapter->ops, &sioc__memory_adapter);
    bcast_calls = 0;
    ck_assert_int_eq(sioc_namespace_server_side_emit(g.root, "tick", NULL), 0);
    ck_assert_int_eq(
        sioc_namespace_server_side_emit_with_ack(g.root, "tick", NULL, 0, on_bcast, NULL), 0);
    ck_assert_int_eq(bcast_calls, 1);
    ck_assert_int_eq(bcast_err, 0);
    ck_assert_str_eq(bcast_responses, "[]");
    fake_core_stop(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core_adapter");
    TCase *alone = tcase_create("alone");
    tcase_add_test(alone, every_namespace_gets_its_own_adapter_started_and_closed);
    tcase_add_test(alone, alone_a_server_side_emit_is_answered_at_once_by_nobody);
    suite_add_tcase(s, alone);
    TCase *tc = tcase_create("cluster");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_broadcast_with_acks_waits_for_every_node_count_and_answer);
    tcase_add_test(tc, a_broadcast_with_acks_times_out_with_the_answers_it_has);
    tcase_add_test(tc, a_fetch_yields_remote_sockets_that_act_through_the_adapter);
    tcase_add_test(tc, a_forwarded_broadcast_hands_on_each_answer_as_it_comes);
    tcase_add_test(tc, server_side_events_reach_the_listener_and_answer_once);
    tcase_add_test(tc, an_ack_the_application_keeps_is_answered_later_or_freed_with_the_server);
    tcase_add_test(tc, server_side_emit_goes_to_the_adapter);
    tcase_add_test(tc, a_returning_client_waits_for_the_adapter_session);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
