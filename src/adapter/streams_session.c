/* The Streams adapter's sessions (streams.h): kept in Redis as Node's adapter keeps them,
 * "<sessionKeyPrefix><pid>" = base64 of msgpack {sid, pid, rooms, data}, and given back to a
 * client that returns to any node with its pid and last offset.
 *
 * A connected socket's record is written when it connects and rewritten (on the next tick, at
 * most once per tick) as it joins or leaves rooms or its data is said to change, with an expiry
 * of maxDisconnectionDuration plus the renewal period, renewed (PEXPIRE) each period while the
 * socket stays: if this node dies, the record outlives it by about maxDisconnectionDuration, as
 * the session of a socket that left would. When the socket leaves, the record gets exactly
 * maxDisconnectionDuration (a reason that cannot be recovered deletes it).
 *
 * A client may come back elsewhere while this node still thinks its socket is here (a network
 * split): the node that took the session back deleted the record (GETDEL) and writes its own.
 * So every write after the first one is conditional (a script): it happens only if the record
 * still holds what this node last wrote; otherwise the session has gone, and this node stops
 * writing it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_msg.h"
#include "adapter/streams_internal.h"
#include "adapter/wire.h"
#include "core/sio.h"
#include "sio/msgpack.h"
#include "util/base64.h"
#include "util/container.h"
#include "util/log.h"

#define RANGE_COUNT 1000    /* entries per XRANGE */
#define RANGE_CALLS_MAX 100 /* Node's RESTORE_SESSION_MAX_XRANGE_CALLS */
#define RENEW_MIN_MS 1000   /* a live record's expiry is renewed this often at most, */
#define RENEW_MAX_MS 30000  /* and at least */
#define RENEW_TICK_MS 1000  /* the renewal's sweep */

/* KEYS[1]: the record; ARGV: what this node wrote last, what it writes now ("": delete), the
 * expiry (ms). 1 when done, 0 when the record is no longer this node's. */
static const char cas_script[] = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
                                 "if ARGV[2] == '' then redis.call('DEL', KEYS[1]) "
                                 "else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end "
                                 "return 1";

/* A connected socket's session, kept current in Redis. */
typedef struct record {
    sioc__link dirty; /* in the adapter's dirty list, or alone */
    sioc__link age;   /* in the adapter's by_age list */
    char pid[21];     /* the map key */
    sioc_socket *s;
    sioc__stnsp *a;
    char *value;              /* what this node wrote last; NULL: nothing known to be there */
    uint64_t written_ms;      /* when it was written or renewed */
    sioc__redis_query *write; /* the last write in flight */
    bool lost;                /* another node has it now: not written any more */
} record;

static uint64_t now_of(const sioc__stnsp *a)
{
    return sioc__wheel_now(a->cfg->wheel);
}

static uint64_t recovery_ms(const sioc__stnsp *a)
{
    return a->base.nsp->sio->recovery_ms;
}

static uint64_t renew_period(const sioc__stnsp *a)
{
    uint64_t p = recovery_ms(a) / 4;
    return p < RENEW_MIN_MS ? RENEW_MIN_MS : p > RENEW_MAX_MS ? RENEW_MAX_MS : p;
}

static char *key_of(const sioc__stnsp *a, const char *pid)
{
    size_t n = strlen(a->cfg->session_prefix) + strlen(pid) + 1;
    char *k = malloc(n);
    if (k) {
        snprintf(k, n, "%s%s", a->cfg->session_prefix, pid);
    }
    return k;
}

/* ---- writing ---- */

static void on_written(const redisReply *reply, void *arg)
{
    record *r = arg;
    r->write = NULL;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0 && !r->lost) {
        r->lost = true;
        sioc__log(SIOC_LOG_INFO,
                  "redis: the session of socket %s was taken back elsewhere: no longer kept here",
                  r->s ? sioc_socket_id(r->s) : r->pid);
    } else if (reply && reply->type == REDIS_REPLY_ERROR && !r->a->bad_logged) {
        r->a->bad_logged = true;
        sioc__log(SIOC_LOG_WARN, "redis: a session not written: %.*s", (int)reply->len, reply->str);
    }
}

/* Writes `value` (borrowed; NULL deletes) with an expiry of `ttl_ms`: unconditionally (`old`
 * NULL), or only over `old`, what this node wrote last (then `cb` hears whether it did). The
 * query, or NULL (Redis unreachable, or no memory). */
static sioc__redis_query *send_write(const sioc__stnsp *a, const char *pid, const char *old,
                                     const char *value, uint64_t ttl_ms, sioc__redis_reply_cb cb,
                                     void *arg)
{
    char *key = key_of(a, pid);
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)ttl_ms);
    sioc__redis_query *q = NULL;
    if (key && old) {
        const char *argv[] = {"EVAL", cas_script, "1", key, old, value ? value : "", ttl};
        size_t lens[7];
        for (int i = 0; i < 7; i++) {
            lens[i] = strlen(argv[i]);
        }
        q = sioc__redis_command(a->cfg->link, 7, argv, lens, cb, arg);
    } else if (key && value) {
        const char *argv[] = {"SET", key, value, "PX", ttl};
        size_t lens[] = {3, strlen(key), strlen(value), 2, strlen(ttl)};
        q = sioc__redis_command(a->cfg->link, 5, argv, lens, NULL, NULL);
    } else if (key) {
        const char *argv[] = {"DEL", key};
        size_t lens[] = {3, strlen(key)};
        q = sioc__redis_command(a->cfg->link, 2, argv, lens, NULL, NULL);
    }
    free(key);
    return q;
}

/* The record's session is now `value` (taken over): written over what was there. */
static void write_record(sioc__stnsp *a, record *r, char *value, uint64_t ttl_ms)
{
    if (r->write) {
        sioc__redis_query_cancel(r->write); /* the new write will say the same, later */
        r->write = NULL;
    }
    sioc__redis_query *q = send_write(a, r->pid, r->value, value, ttl_ms, on_written, r);
    if (r->value) {
        r->write = q;
    }
    free(r->value);
    r->value = q ? value : NULL; /* unsent: written in full once Redis is back (rewrite) */
    if (!q) {
        free(value);
    }
    r->written_ms = now_of(a);
    sioc__list_remove(&r->age);
    sioc__list_append(&a->by_age, &r->age);
}

/* The live record's expiry: it must outlast a renewal period. */
static uint64_t live_ttl(const sioc__stnsp *a)
{
    return recovery_ms(a) + 2 * renew_period(a);
}

static void flush_record(sioc__stnsp *a, record *r)
{
    sioc__list_remove(&r->dirty);
    if (r->lost || !r->s) {
        return;
    }
    sioc__saved_session *now = sioc__recovery_session_of(r->s);
    char *value = now ? sioc__streams_session_encode(now) : NULL;
    sioc__saved_session_free(now);
    if (value && r->value && strcmp(value, r->value) == 0) {
        free(value); /* unchanged */
        return;
    }
    if (value) {
        write_record(a, r, value, live_ttl(a));
    }
}

static void on_flush(sioc__timer *t)
{
    sioc__stnsp *a = CONTAINER(t, sioc__stnsp, flush);
    while (!sioc__list_empty(&a->dirty)) {
        flush_record(a, CONTAINER(a->dirty.next, record, dirty));
    }
}

static void mark_dirty(sioc__stnsp *a, record *r)
{
    if (r->lost) {
        return;
    }
    sioc__list_remove(&r->dirty);
    sioc__list_append(&a->dirty, &r->dirty);
    if (!sioc__timer_armed(&a->flush)) {
        sioc__timer_start(a->cfg->wheel, &a->flush, now_of(a), on_flush);
    }
}

/* Each second: the records written longest ago get their expiry pushed back. */
static void on_renew(sioc__timer *t)
{
    sioc__stnsp *a = CONTAINER(t, sioc__stnsp, renew);
    uint64_t now = now_of(a), period = renew_period(a);
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)live_ttl(a));
    while (!sioc__list_empty(&a->by_age) && sioc__redis_commands_ready(a->cfg->link)) {
        record *r = CONTAINER(a->by_age.next, record, age);
        if (r->written_ms + period > now) {
            break;
        }
        char *key = key_of(a, r->pid);
        if (key && r->value && !r->lost) {
            const char *argv[] = {"PEXPIRE", key, ttl};
            size_t lens[] = {7, strlen(key), strlen(ttl)};
            sioc__redis_command(a->cfg->link, 3, argv, lens, NULL, NULL);
        }
        free(key);
        r->written_ms = now;
        sioc__list_remove(&r->age);
        sioc__list_append(&a->by_age, &r->age);
    }
    sioc__timer_start(a->cfg->wheel, &a->renew, now + RENEW_TICK_MS, on_renew);
}

/* Lets go of `r` (out of the lists; its write in flight unheard), not of its map entry. */
static void record_release(record *r)
{
    sioc__list_remove(&r->dirty);
    sioc__list_remove(&r->age);
    if (r->write) {
        sioc__redis_query_cancel(r->write);
    }
    free(r->value);
    free(r);
}

static void record_free(sioc__stnsp *a, record *r)
{
    sioc__map_remove(&a->records, r->pid);
    record_release(r);
}

/* ---- the observer ---- */

static record *record_of(sioc_socket *s)
{
    sioc__stnsp *a = s->pid[0] ? sioc__streams_of(s->nsp) : NULL;
    return a ? sioc__map_get(&a->records, s->pid, strlen(s->pid)) : NULL;
}

static void on_connected(sioc_socket *s, void *user_data)
{
    sioc__stnsp *a = s->pid[0] ? sioc__streams_of(s->nsp) : NULL;
    if (!a || record_of(s)) {
        return;
    }
    record *r = calloc(1, sizeof(*r));
    if (!r) {
        return;
    }
    memcpy(r->pid, s->pid, sizeof(r->pid));
    r->s = s;
    r->a = a;
    sioc__list_init(&r->dirty);
    sioc__list_init(&r->age);
    if (sioc__map_put(&a->records, r->pid, r) < 0) {
        free(r);
        return;
    }
    sioc__list_append(&a->by_age, &r->age);
    mark_dirty(a, r);
}

static void on_changed(sioc_socket *s, void *user_data)
{
    record *r = s->connected ? record_of(s) : NULL;
    if (r) {
        mark_dirty(r->a, r);
    }
}

static void on_room(sioc_socket *s, const char *room, void *user_data)
{
    on_changed(s, user_data);
}

/* A socket that left for a reason that cannot be recovered: its record goes (one that can be
 * recovered was written for the last time by persist_session, which dropped the record). */
static void on_disconnected(sioc_socket *s, const char *reason, void *user_data)
{
    record *r = record_of(s);
    if (r) {
        if (!r->lost && r->value) {
            send_write(r->a, r->pid, r->value, NULL, 0, NULL, NULL);
        }
        record_free(r->a, r);
    }
}

const sioc_observer sioc__streams_observer = {
    .socket_connected = on_connected,
    .socket_disconnected = on_disconnected,
    .room_joined = on_room,
    .room_left = on_room,
    .data_changed = on_changed,
};

/* ---- the adapter's part ---- */

void sioc__streams_sessions_init(sioc__stnsp *a)
{
    if (recovery_ms(a)) {
        sioc__timer_start(a->cfg->wheel, &a->renew, now_of(a) + RENEW_TICK_MS, on_renew);
    }
}

typedef struct restoring restoring;
static void restore_end(restoring *rs, bool ok);

static void drop_record(void *value, void *arg)
{
    record_release(value);
}

void sioc__streams_sessions_close(sioc__stnsp *a)
{
    sioc__timer_stop(a->cfg->wheel, &a->flush);
    sioc__timer_stop(a->cfg->wheel, &a->renew);
    while (!sioc__list_empty(&a->restores)) {
        restore_end((restoring *)a->restores.next, false);
    }
    sioc__map_each(&a->records, drop_record, NULL);
    sioc__map_free(&a->records);
}

static void rewrite(void *value, void *arg)
{
    record *r = value;
    free(r->value);
    r->value = NULL; /* Redis may have lost it: written in full */
    mark_dirty(arg, r);
}

void sioc__streams_sessions_rewrite(sioc__stnsp *a)
{
    sioc__map_each(&a->records, rewrite, a);
}

/* The socket left, and may come back: its record gets exactly maxDisconnectionDuration, as
 * Node's adapter writes it then (unless it was taken back elsewhere meanwhile). */
void sioc__streams_persist_session(sioc__adapter *base, sioc__saved_session *session)
{
    sioc__stnsp *a = (sioc__stnsp *)base;
    record *r = sioc__map_get(&a->records, session->pid, strlen(session->pid));
    char *value = !r || !r->lost ? sioc__streams_session_encode(session) : NULL;
    if (value) {
        send_write(a, session->pid, r ? r->value : NULL, value, recovery_ms(a), NULL, NULL);
    }
    free(value);
    if (r) {
        record_free(a, r);
    }
    sioc__saved_session_free(session);
}

/* ---- taking a session back ---- */

struct restoring {
    sioc__link link; /* first: in the adapter's restores */
    sioc__stnsp *a;
    sioc__restore_cb cb;
    void *arg;
    sioc__saved_session *session;
    json_t *missed; /* [[event, ...args, offset], ...] */
    char cursor[48];
    unsigned calls;
    int waiting;       /* replies still to come of GETDEL and XRANGE offset offset */
    bool offset_found; /* the client's offset is still in the stream */
    sioc__redis_query *q[2];
};

static void restore_end(restoring *rs, bool ok)
{
    sioc__list_remove(&rs->link);
    for (int i = 0; i < 2; i++) {
        if (rs->q[i]) {
            sioc__redis_query_cancel(rs->q[i]);
        }
    }
    if (ok) {
        rs->cb(rs->session, rs->missed, rs->arg);
    } else {
        sioc__saved_session_free(rs->session);
        json_decref(rs->missed);
        rs->cb(NULL, NULL, rs->arg);
    }
    free(rs);
}

static bool any_in(json_t *session_rooms, const sioc_target *t, bool except)
{
    size_t i, n = except ? t->nexcept_rooms : t->nrooms;
    json_t *room;
    json_array_foreach (session_rooms, i, room) {
        for (size_t k = 0; k < n; k++) {
            if (strcmp(json_string_value(room), (except ? t->except_rooms : t->rooms)[k]) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Node's shouldIncludePacket: to everyone or to one of the session's rooms, and none of them
 * excepted; not volatile (a volatile packet is not kept for a client that was away: Node's
 * replays it, which its documentation does not promise). */
static bool missed_it(const sioc__saved_session *session, const sioc__cm *m)
{
    json_t *opts = json_object_get(m->data, "opts");
    if (json_object_get(m->data, "requestId") ||
        json_is_true(json_object_get(json_object_get(opts, "flags"), "volatile"))) {
        return false;
    }
    sioc__wire_target rt;
    sioc__wire_target_of(opts, &rt);
    bool yes = (rt.t.nrooms == 0 || any_in(session->rooms, &rt.t, false)) &&
               !any_in(session->rooms, &rt.t, true);
    sioc__wire_target_free(&rt);
    return yes;
}

/* Whether this node's sockets have had entry `id` of `m`: its own broadcasts once their XADD was
 * answered (before the XRANGE that found them, on the same connection), the others' once the
 * stream was read that far. What they have had, a returning socket missed; what they have not
 * will reach it live once it is back, so it is not replayed. */
static bool delivered_here(const sioc__stnsp *a, const sioc__cm *m, sioc__stream_id id)
{
    const sioc__stream_pos *pos = sioc__stnsp_pos(a);
    if (strcmp(m->uid, a->uid) == 0) {
        return true;
    }
    return pos->last[0] == '$' || sioc__stream_id_cmp(id, pos->id) <= 0;
}

static void range_next(restoring *rs);

/* XRANGE's answer: [[id, [field, value, ...]], ...]. */
static void on_range(const redisReply *reply, void *arg)
{
    restoring *rs = arg;
    sioc__stnsp *a = rs->a;
    rs->q[0] = NULL;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        restore_end(rs, false);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        sioc__stream_id id;
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof(rs->cursor) ||
            !sioc__stream_id_parse(e->element[0]->str, e->element[0]->len, &id)) {
            continue;
        }
        memcpy(rs->cursor, e->element[0]->str, e->element[0]->len);
        rs->cursor[e->element[0]->len] = '\0';
        sioc__cm m;
        const char *why;
        if (e->element[1]->type != REDIS_REPLY_ARRAY ||
            sioc__streams_entry(e->element[1], &m, &why) < 0) {
            continue;
        }
        if (m.type == SIOC__CM_BROADCAST && strcmp(m.nsp, a->base.nsp->name) == 0 &&
            missed_it(rs->session, &m) && delivered_here(a, &m, id)) {
            json_t *data = json_object_get(json_object_get(m.data, "packet"), "data");
            json_array_append_new(data, json_string(rs->cursor));
            json_array_append(rs->missed, data);
        }
        sioc__cm_clear(&m);
    }
    if (reply->elements < RANGE_COUNT || ++rs->calls == RANGE_CALLS_MAX) {
        restore_end(rs, true); /* caught up (Node's bound: what is beyond is lost) */
    } else {
        range_next(rs);
    }
}

/* XRANGE <stream> (<cursor> + COUNT n: what follows the cursor. */
static void range_next(restoring *rs)
{
    char start[56], count[16];
    snprintf(start, sizeof(start), "(%s", rs->cursor);
    snprintf(count, sizeof(count), "%d", RANGE_COUNT);
    const char *name = sioc__stnsp_pos(rs->a)->name;
    const char *argv[] = {"XRANGE", name, start, "+", "COUNT", count};
    size_t lens[6];
    for (int i = 0; i < 6; i++) {
        lens[i] = strlen(argv[i]);
    }
    if (!(rs->q[0] = sioc__redis_command(rs->a->cfg->link, 6, argv, lens, on_range, rs))) {
        restore_end(rs, false);
    }
}

static void first_answers(restoring *rs)
{
    if (--rs->waiting > 0) {
        return;
    }
    if (!rs->session || !rs->offset_found) {
        restore_end(rs, false); /* Node's "session or offset not found" */
    } else {
        range_next(rs);
    }
}

static void on_session(const redisReply *reply, void *arg)
{
    restoring *rs = arg;
    rs->q[0] = NULL;
    rs->session = reply && reply->type == REDIS_REPLY_STRING
                      ? sioc__streams_session_decode(reply->str, reply->len, now_of(rs->a))
                      : NULL;
    first_answers(rs);
}

static void on_offset(const redisReply *reply, void *arg)
{
    restoring *rs = arg;
    rs->q[1] = NULL;
    rs->offset_found = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0;
    first_answers(rs);
}

/* Node's restoreSession: GETDEL the record and check that the offset is still in the stream
 * (both sent at once), then read what followed it. */
void sioc__streams_restore_session(sioc__adapter *base, const char *pid, const char *offset,
                                   sioc__restore_cb cb, void *arg)
{
    sioc__stnsp *a = (sioc__stnsp *)base;
    sioc__stream_id id;
    restoring *rs = NULL;
    if (sioc__stream_id_parse(offset, strlen(offset), &id) && strlen(offset) < 48 &&
        strlen(pid) < 21 && sioc__redis_commands_ready(a->cfg->link)) {
        rs = calloc(1, sizeof(*rs));
    }
    if (!rs || !(rs->missed = json_array())) {
        free(rs);
        cb(NULL, NULL, arg);
        return;
    }
    rs->a = a;
    rs->cb = cb;
    rs->arg = arg;
    snprintf(rs->cursor, sizeof(rs->cursor), "%s", offset);
    sioc__list_append(&a->restores, &rs->link);
    char *key = key_of(a, pid);
    const char *name = sioc__stnsp_pos(a)->name;
    const char *get[] = {"GETDEL", key};
    size_t get_lens[] = {6, key ? strlen(key) : 0};
    const char *range[] = {"XRANGE", name, offset, offset};
    size_t range_lens[] = {6, strlen(name), strlen(offset), strlen(offset)};
    rs->waiting = 2;
    if (key) {
        rs->q[0] = sioc__redis_command(a->cfg->link, 2, get, get_lens, on_session, rs);
    }
    if (rs->q[0]) {
        rs->q[1] = sioc__redis_command(a->cfg->link, 4, range, range_lens, on_offset, rs);
    }
    free(key);
    if (!rs->q[1]) {
        restore_end(rs, false);
    }
}
