/* Connection state recovery across the workers of one server (workers_internal.h).
 *
 * Each worker stamps what it delivers with its own offset: how far it had then seen each worker's
 * broadcasts, "s0.s1..." (base 36; si counts worker i's broadcasts, and each link keeps their
 * order). A client's last offset thus says exactly what it had seen of every worker's broadcasts,
 * whichever worker it was on, and any worker can tell what it missed: the broadcasts kept there
 * beyond that, addressed to its rooms. Sessions (id, rooms, data, and whether the socket is still
 * connected) are copied to every worker as they change, so that the client of a worker that died
 * can come back too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/workers_internal.h"

bool sioc__workers_kept(const sioc__wnsp *a, const sioc_target *t)
{
    return a->base.nsp->sio->recovery_ms && !(t && (t->flags & SIOC_EMIT_VOLATILE));
}

/* A session another worker gave back (NULL: none, or no memory). */
sioc__saved_session *sioc__workers_session_of(json_t *j, sioc__wheel *wheel)
{
    if (!json_is_object(j)) {
        return NULL;
    }
    sioc__saved_session *session = calloc(1, sizeof(*session));
    if (!session) {
        return NULL;
    }
    /* The shapes and lengths were checked when the message was decoded. */
    snprintf(session->pid, sizeof(session->pid), "%s",
             json_string_value(json_object_get(j, "pid")));
    snprintf(session->sid, sizeof(session->sid), "%s",
             json_string_value(json_object_get(j, "sid")));
    session->rooms = json_incref(json_object_get(j, "rooms"));
    session->data = json_incref(json_object_get(j, "data"));
    session->at_ms = sioc__wheel_now(wheel);
    session->live = json_is_true(json_object_get(j, "live"));
    return session;
}

#define DIGITS_MAX 13 /* of a uint64_t in base 36 */
#define VECTOR_MAX (SIOC__WORKERS_MAX * (DIGITS_MAX + 1))

static void encode_vector(const uint64_t *v, unsigned n, char out[VECTOR_MAX + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        char rev[DIGITS_MAX];
        int k = 0;
        uint64_t x = v[i];
        do {
            rev[k++] = digits[x % 36];
            x /= 36;
        } while (x);
        if (i) {
            out[len++] = '.';
        }
        while (k) {
            out[len++] = rev[--k];
        }
    }
    out[len] = '\0';
}

/* A client's offset: `n` numbers, or false when it is not one of ours. */
static bool parse_vector(const char *s, unsigned n, uint64_t *v)
{
    for (unsigned i = 0; s && i < n; i++) {
        uint64_t x = 0;
        int k = 0;
        for (; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z'); s++, k++) {
            if (k == DIGITS_MAX) {
                return false;
            }
            x = x * 36 + (uint64_t)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
        }
        v[i] = x;
        if (k == 0 || *s != (i + 1 < n ? '.' : '\0')) {
            return false;
        }
        s += i + 1 < n;
    }
    return s != NULL;
}

/* Worker `origin`'s broadcast number `seq` is delivered here: it is kept, and ends with this
 * worker's offset. */
int sioc__workers_stamp(sioc__wnsp *a, json_t *data, const sioc_target *t, unsigned origin,
                        uint64_t seq)
{
    if (origin >= SIOC__WORKERS_MAX) {
        return -1;
    }
    if (seq > a->seen[origin]) {
        a->seen[origin] = seq;
    }
    char offset[VECTOR_MAX + 1];
    encode_vector(a->seen, sioc__wnsp_count(a), offset);
    if (json_array_append_new(data, json_string(offset)) < 0) {
        return -1;
    }
    return sioc__recovery_keep_packet(&a->store, a->base.nsp->sio, t, data, "", origin, seq);
}

/* A replayed broadcast's offset says at least what the client had seen: it may have been kept
 * here before this worker had seen as much as the client's. */
static void restamp(const sioc__wnsp *a, const uint64_t *floor, json_t *missed)
{
    size_t i;
    json_t *p;
    json_array_foreach (missed, i, p) {
        size_t last = json_array_size(p) - 1;
        uint64_t v[SIOC__WORKERS_MAX];
        json_t *copy = json_copy(p);
        if (!copy ||
            !parse_vector(json_string_value(json_array_get(p, last)), sioc__wnsp_count(a), v)) {
            json_decref(copy);
            continue;
        }
        for (unsigned k = 0; k < sioc__wnsp_count(a); k++) {
            v[k] = v[k] > floor[k] ? v[k] : floor[k];
        }
        char offset[VECTOR_MAX + 1];
        encode_vector(v, sioc__wnsp_count(a), offset);
        json_array_set_new(copy, last, json_string(offset));
        json_array_set_new(missed, i, copy);
    }
}

/* The session `pid` as it now is, here (`rooms` and `data` borrowed), owned by worker `owner`. */
static void record_put(sioc__wnsp *a, const char *pid, const char *sid, json_t *rooms, json_t *data,
                       unsigned owner, bool live)
{
    sioc__saved_session *r = sioc__map_get(&a->store.sessions, pid, strlen(pid));
    if (!r) {
        if (!(r = calloc(1, sizeof(*r)))) {
            return;
        }
        snprintf(r->pid, sizeof(r->pid), "%s", pid);
        if (sioc__map_put(&a->store.sessions, r->pid, r) < 0) {
            free(r);
            return;
        }
    }
    snprintf(r->sid, sizeof(r->sid), "%s", sid);
    json_t *old_rooms = r->rooms, *old_data = r->data;
    r->rooms = json_incref(rooms);
    r->data = data ? json_incref(data) : json_object();
    json_decref(old_rooms);
    json_decref(old_data);
    r->owner = owner;
    r->live = live;
    r->at_ms = sioc__wheel_now(sioc__wnsp_wheel(a));
}

/* Takes the session out of the map: the caller owns it. */
static sioc__saved_session *record_take(sioc__wnsp *a, const char *pid)
{
    return sioc__map_remove(&a->store.sessions, pid);
}

static void replicate(sioc__wnsp *a, const sioc__saved_session *r)
{
    json_t *msg = json_pack("{s:s,s:s,s:O,s:O,s:b}", "pid", r->pid, "sid", r->sid, "rooms",
                            r->rooms, "data", r->data, "live", r->live);
    sioc__workers_send_all(a, SIOC__CM_SESSION, msg);
    json_decref(msg);
}

/* This worker's socket `s` connected, joined or left a room: every worker hears of it. */
static void socket_changed(sioc_socket *s)
{
    sioc__adapter *base = s->nsp->adapter;
    if (!base || base->ops != &sioc__workers_adapter || !s->pid[0] || !s->connected) {
        return;
    }
    sioc__wnsp *a = (sioc__wnsp *)base;
    sioc__saved_session *now = sioc__recovery_session_of(s);
    if (now) {
        record_put(a, now->pid, now->sid, now->rooms, now->data, a->cfg->index, true);
        now->live = true;
        replicate(a, now);
        sioc__saved_session_free(now);
    }
}

static void on_connected(sioc_socket *s, void *user_data)
{
    socket_changed(s);
}

static void on_room(sioc_socket *s, const char *room, void *user_data)
{
    socket_changed(s);
}

/* A socket that left for good (its client's choice): its session goes everywhere. */
static void on_disconnected(sioc_socket *s, const char *reason, void *user_data)
{
    sioc__adapter *base = s->nsp->adapter;
    if (!base || base->ops != &sioc__workers_adapter || !s->pid[0] || sioc__recoverable(reason)) {
        return;
    }
    sioc__wnsp *a = (sioc__wnsp *)base;
    sioc__saved_session_free(record_take(a, s->pid));
    json_t *msg = json_pack("{s:s}", "pid", s->pid);
    sioc__workers_send_all(a, SIOC__CM_SESSION_GONE, msg);
    json_decref(msg);
}

const sioc_observer sioc__workers_observer = {
    .socket_connected = on_connected,
    .socket_disconnected = on_disconnected,
    .room_joined = on_room,
    .room_left = on_room,
};

/* Another worker's session changed. A word from a worker about a session another worker's socket
 * now holds comes late (that socket came back there): it is not heeded. */
void sioc__workers_on_session(sioc__wnsp *a, unsigned from, const sioc__cm *m)
{
    const char *pid = json_string_value(json_object_get(m->data, "pid"));
    sioc__saved_session *r = sioc__map_get(&a->store.sessions, pid, strlen(pid));
    if (r && r->owner != from && r->live) {
        return;
    }
    if (m->type == SIOC__CM_SESSION_GONE) {
        if (r && r->owner == from) {
            sioc__saved_session_free(record_take(a, pid));
        }
        return;
    }
    record_put(a, pid, json_string_value(json_object_get(m->data, "sid")),
               json_object_get(m->data, "rooms"), json_object_get(m->data, "data"), from,
               json_is_true(json_object_get(m->data, "live")));
}

typedef struct gone {
    unsigned peer;
    uint64_t now;
} gone;

static void mark_gone(void *value, void *arg)
{
    const gone *g = arg;
    sioc__saved_session *r = value;
    if (r->owner == g->peer && r->live) {
        r->live = false;
        r->at_ms = g->now;
    }
}

/* Worker `peer` died: its sockets are gone, and their sessions may come back elsewhere until
 * maxDisconnectionDuration from now. */
void sioc__workers_owner_gone(sioc__wnsp *a, unsigned peer)
{
    gone g = {peer, sioc__wheel_now(sioc__wnsp_wheel(a))};
    sioc__map_each(&a->store.sessions, mark_gone, &g);
}

void sioc__workers_persist_session(sioc__adapter *base, sioc__saved_session *session)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    record_put(a, session->pid, session->sid, session->rooms, session->data, a->cfg->index, false);
    session->live = false;
    replicate(a, session);
    sioc__saved_session_free(session);
}

/* Another worker's client came back with a pid: the session goes there if its socket has left
 * (this worker's copy of it: every worker that has one gives it, and forgets it). The answer also
 * tells the asker that every broadcast this worker sent before it has reached it. */
void sioc__workers_give_session(sioc__workers_config *cfg, sioc__wnsp *a, const char *nsp,
                                unsigned from, const char *id, json_t *data)
{
    const char *pid = json_string_value(json_object_get(data, "pid"));
    const char *offset = json_string_value(json_object_get(data, "offset"));
    sioc__saved_session *r = a ? sioc__map_get(&a->store.sessions, pid, strlen(pid)) : NULL;
    uint64_t top[SIOC__WORKERS_MAX];
    json_t *missed = json_array();
    if (!r || r->live || !offset || !parse_vector(offset, cfg->count, top) ||
        sioc__recovery_newer(&a->store, top, cfg->count, r->rooms, missed) < 0) {
        r = NULL;
    }
    json_t *answer =
        r ? json_pack("{s:s,s:{s:s,s:s,s:O,s:O},s:O}", "requestId", id, "session", "pid", r->pid,
                      "sid", r->sid, "rooms", r->rooms, "data", r->data, "missed", missed)
          : json_pack("{s:s,s:n}", "requestId", id, "session");
    json_decref(missed);
    sioc__workers_send_to(cfg, a ? a->uid : "0000000000000000", nsp, from,
                          SIOC__CM_RESTORE_SESSION_RESPONSE, answer);
    json_decref(answer);
    if (r) {
        sioc__saved_session_free(record_take(a, pid));
    }
}

/* Whether `r` may come back now: its socket has left, or its worker is gone. */
static bool returnable(const sioc__wnsp *a, const sioc__saved_session *r)
{
    bool owner_up = r->owner != a->cfg->index && (a->cfg->up & (UINT64_C(1) << r->owner));
    return !r->live || (r->owner != a->cfg->index && !owner_up);
}

/* Whether [origin, seq, payload] `p` is in `list`. */
static bool has_packet(json_t *list, json_t *p)
{
    size_t i;
    json_t *q;
    json_array_foreach (list, i, q) {
        if (json_equal(json_array_get(q, 0), json_array_get(p, 0)) &&
            json_equal(json_array_get(q, 1), json_array_get(p, 1))) {
            return true;
        }
    }
    return false;
}

/* What the client missed, from the lists of [origin, seq, payload] this worker and those that
 * gave the session kept: the longest in its order (a worker started again since may have kept
 * little), then what the others have beyond it. A new array of payloads, or NULL. */
static json_t *merge_missed(json_t *lists)
{
    size_t i, k, longest = 0;
    json_t *list, *p;
    json_array_foreach (lists, i, list) {
        if (json_array_size(list) > json_array_size(json_array_get(lists, longest))) {
            longest = i;
        }
    }
    json_t *all = json_copy(json_array_get(lists, longest));
    json_array_foreach (lists, i, list) {
        if (i == longest) {
            continue;
        }
        json_array_foreach (list, k, p) {
            if (all && !has_packet(all, p) && json_array_append(all, p) < 0) {
                json_decref(all);
                all = NULL;
            }
        }
    }
    json_t *missed = all ? json_array() : NULL;
    json_array_foreach (all, i, p) {
        json_array_append(missed, json_array_get(p, 2));
    }
    json_decref(all);
    return missed;
}

/* The session, once every worker has answered, with what its client missed. */
void sioc__workers_restored(sioc__wrequest *r)
{
    sioc__wnsp *a = r->a;
    if (!r->found) { /* nobody gave it: perhaps its worker's word that it left came meanwhile */
        sioc__saved_session *rec = sioc__map_get(&a->store.sessions, r->pid, strlen(r->pid));
        r->found = rec && returnable(a, rec) ? record_take(a, r->pid) : NULL;
    }
    json_t *own = r->found ? json_array() : NULL;
    json_t *missed = NULL;
    if (own &&
        sioc__recovery_newer(&a->store, r->top, sioc__wnsp_count(a), r->found->rooms, own) == 0 &&
        json_array_insert(r->answers, 0, own) == 0 && (missed = merge_missed(r->answers))) {
        restamp(a, r->top, missed);
    }
    json_decref(own);
    if (r->found && !missed) { /* no memory */
        sioc__saved_session_free(r->found);
        r->found = NULL;
    }
    r->restore_cb(r->found, missed, r->user_data); /* both taken over */
    r->found = NULL;
}

/* The session is looked for here (every worker has every session), and every other worker is
 * asked for it too: one whose word that the socket left has not come yet may have it. The
 * restore waits for every answer: each link keeps its order, so once a worker has answered,
 * every broadcast it sent before has reached this one, and what the client missed is all here
 * (what comes later reaches the socket live). */
void sioc__workers_restore_session(sioc__adapter *base, const char *pid, const char *offset,
                                   sioc__restore_cb cb, void *arg)
{
    sioc__wnsp *a = (sioc__wnsp *)base;
    sioc__wrequest *r = sioc__workers_request_new(a, SIOC__CM_RESTORE_SESSION);
    if (!r || !parse_vector(offset, sioc__wnsp_count(a), r->top) || strlen(pid) >= sizeof(r->pid)) {
        if (r) {
            sioc__workers_request_free(r);
        }
        cb(NULL, NULL, arg);
        return;
    }
    snprintf(r->pid, sizeof(r->pid), "%s", pid);
    r->restore_cb = cb;
    r->user_data = arg;
    sioc__saved_session *rec = sioc__map_get(&a->store.sessions, pid, strlen(pid));
    bool connected_here = rec && rec->owner == a->cfg->index && rec->live;
    if (rec && returnable(a, rec)) {
        r->found = record_take(a, pid);
    }
    if (!connected_here) { /* a socket still connected here keeps its session */
        json_t *ask = json_pack("{s:s,s:s,s:s}", "requestId", r->id, "pid", pid, "offset", offset);
        r->waiting = sioc__workers_send_all(a, SIOC__CM_RESTORE_SESSION, ask);
        json_decref(ask);
    }
    sioc__timer_start(sioc__wnsp_wheel(a), &r->timer,
                      sioc__wheel_now(sioc__wnsp_wheel(a)) + a->cfg->requests_timeout_ms,
                      sioc__workers_on_timeout);
    sioc__workers_check(r);
}

/* Sessions past maxDisconnectionDuration go, now and then. */
void sioc__workers_on_purge(sioc__timer *t)
{
    sioc__wnsp *a = CONTAINER(t, sioc__wnsp, purge_timer);
    const sioc__core *sio = a->base.nsp->sio;
    sioc__recovery_purge_sessions(&a->store, sio);
    sioc__timer_start(sioc__wnsp_wheel(a), t,
                      sioc__wheel_now(sioc__wnsp_wheel(a)) + SIOC__WORKERS_PURGE_MS,
                      sioc__workers_on_purge);
}
