/* Connection state recovery (Node's connectionStateRecovery): broadcasts carry an offset and are
 * kept for maxDisconnectionDuration; a socket that loses its connection for a recoverable reason
 * is kept as a session; a client that comes back in time with its pid and last offset gets its
 * socket back, with what it missed. */
#include "core/sio.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sioc__recoverable(const char *reason)
{
    static const char *const reasons[] = {"transport error",      "transport close",
                                          "forced close",         "ping timeout",
                                          "server shutting down", "forced server close"};
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reason, reasons[i]) == 0) {
            return true;
        }
    }
    return false;
}

static sioc__stored *stored_at(sioc__recovery_store *st, size_t i)
{
    return &st->stored[(st->head + i) % st->cap];
}

static void stored_clear(sioc__stored *p)
{
    json_decref(p->data);
    json_decref(p->rooms);
    json_decref(p->except);
}

/* Drops what is older than maxDisconnectionDuration: nobody can come back for it. */
static void purge(sioc__recovery_store *st, const sioc__core *sio)
{
    uint64_t now = sioc__wheel_now(sio->wheel), ttl = sio->recovery_ms;
    while (st->count && stored_at(st, 0)->at_ms + ttl < now) {
        stored_clear(stored_at(st, 0));
        st->head = (st->head + 1) % st->cap;
        st->count--;
    }
}

static int stored_grow(sioc__recovery_store *st)
{
    size_t cap = st->cap ? st->cap * 2 : 64;
    sioc__stored *ring = malloc(cap * sizeof(*ring));
    if (!ring) {
        return -1;
    }
    for (size_t i = 0; i < st->count; i++) {
        ring[i] = *stored_at(st, i);
    }
    free(st->stored);
    st->stored = ring;
    st->cap = cap;
    st->head = 0;
    return 0;
}

static json_t *strings(const char *const *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_array_append_new(a, json_string(list[i]));
    }
    return a;
}

int sioc__recovery_keep_packet(sioc__recovery_store *st, const sioc__core *sio,
                               const sioc_target *t, json_t *data, const char *offset,
                               unsigned origin, uint64_t seq)
{
    purge(st, sio);
    if (st->count == st->cap && stored_grow(st) < 0) {
        return -1;
    }
    sioc__stored *p = stored_at(st, st->count);
    snprintf(p->offset, sizeof(p->offset), "%s", offset);
    p->rooms = strings(t ? t->rooms : NULL, t ? t->nrooms : 0);
    p->except = strings(t ? t->except_rooms : NULL, t ? t->nexcept_rooms : 0);
    if (p->except && t && t->except_socket) {
        json_array_append_new(p->except, json_string(t->except_socket->id));
    }
    p->at_ms = sioc__wheel_now(sio->wheel);
    p->origin = origin;
    p->seq = seq;
    if (!p->rooms || !p->except) {
        json_decref(p->rooms);
        json_decref(p->except);
        return -1;
    }
    p->data = json_incref(data);
    st->count++;
    return 0;
}

int sioc__recovery_stamp(sioc__recovery_store *st, const sioc__core *sio, const sioc_target *t,
                         json_t *data)
{
    char offset[24];
    uint64_t seq = ++st->next_offset;
    snprintf(offset, sizeof(offset), "%" PRIx64, seq);
    /* The offset goes last, where the client looks for it. */
    if (json_array_append_new(data, json_string(offset)) < 0) {
        return -1;
    }
    return sioc__recovery_keep_packet(st, sio, t, data, offset, 0, seq);
}

void sioc__saved_session_free(sioc__saved_session *session)
{
    if (session) {
        json_decref(session->rooms);
        json_decref(session->data);
        free(session);
    }
}

static bool expired(const sioc__saved_session *session, const sioc__core *sio)
{
    return !session->live && session->at_ms + sio->recovery_ms < sioc__wheel_now(sio->wheel);
}

typedef struct expiry {
    const sioc__core *sio;
    sioc__saved_session **list;
    size_t n, cap;
} expiry;

static void collect_expired(void *value, void *arg)
{
    expiry *e = arg;
    if (!expired(value, e->sio)) {
        return;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 16;
        sioc__saved_session **grown = realloc(e->list, cap * sizeof(*grown));
        if (!grown) {
            return; /* the rest go next time */
        }
        e->list = grown;
        e->cap = cap;
    }
    e->list[e->n++] = value;
}

/* sioc__map_each may not see the map change under it: the expired are listed, then removed. */
void sioc__recovery_purge_sessions(sioc__recovery_store *st, const sioc__core *sio)
{
    expiry e = {sio, NULL, 0, 0};
    sioc__map_each(&st->sessions, collect_expired, &e);
    for (size_t i = 0; i < e.n; i++) {
        sioc__map_remove(&st->sessions, e.list[i]->pid);
        sioc__saved_session_free(e.list[i]);
    }
    free(e.list);
}

sioc__saved_session *sioc__recovery_session_of(sioc_socket *s)
{
    sioc__saved_session *session = calloc(1, sizeof(*session));
    if (!session) {
        return NULL;
    }
    memcpy(session->pid, s->pid, sizeof(session->pid));
    memcpy(session->sid, s->id, sizeof(session->sid));
    session->rooms = json_array();
    for (size_t i = 0; session->rooms && i < s->nrooms; i++) {
        json_array_append_new(session->rooms, json_string(s->rooms[i]->name));
    }
    session->data = s->data_json ? json_deep_copy(s->data_json) : json_object();
    session->at_ms = sioc__wheel_now(s->nsp->sio->wheel);
    if (!session->rooms || !session->data) {
        sioc__saved_session_free(session);
        return NULL;
    }
    return session;
}

void sioc__recovery_keep(sioc__recovery_store *st, const sioc__core *sio,
                         sioc__saved_session *session)
{
    sioc__recovery_purge_sessions(st, sio);
    sioc__saved_session *old = sioc__map_get(&st->sessions, session->pid, strlen(session->pid));
    if (old) { /* the same pid again (its socket came back, then left again) */
        sioc__map_remove(&st->sessions, old->pid);
        sioc__saved_session_free(old);
    }
    if (sioc__map_put(&st->sessions, session->pid, session) < 0) {
        sioc__saved_session_free(session);
    }
}

static bool has_any(json_t *rooms, json_t *set)
{
    size_t i, k;
    json_t *r, *x;
    json_array_foreach (set, i, x) {
        json_array_foreach (rooms, k, r) {
            if (json_equal(r, x)) {
                return true;
            }
        }
    }
    return false;
}

/* Node's shouldIncludePacket: addressed to one of the session's rooms (or all), none excluded. */
static bool addressed_to(const sioc__stored *p, json_t *rooms)
{
    bool included = json_array_size(p->rooms) == 0 || has_any(rooms, p->rooms);
    return included && !has_any(rooms, p->except);
}

/* Walks back from the newest: each worker's broadcasts are kept in the order it sent them, so
 * once one of an origin's is at or below its top, the older ones of that origin are too; the walk
 * ends when every origin is past its top (a quiet origin makes it walk the whole store). */
int sioc__recovery_newer(sioc__recovery_store *st, const uint64_t *top, size_t n, json_t *rooms,
                         json_t *out)
{
    json_t *found = json_array();
    uint64_t done = 0, all = n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
    for (size_t i = st->count; found && i-- > 0 && done != all;) {
        sioc__stored *p = stored_at(st, i);
        if (p->origin >= n || p->seq <= top[p->origin]) {
            done |= p->origin < n ? UINT64_C(1) << p->origin : 0;
        } else if (addressed_to(p, rooms) &&
                   json_array_insert_new(found, 0,
                                         json_pack("[I,I,O]", (json_int_t)p->origin,
                                                   (json_int_t)p->seq, p->data)) < 0) {
            json_decref(found);
            found = NULL;
        }
    }
    int rc = found ? json_array_extend(out, found) : -1;
    json_decref(found);
    return rc;
}

sioc__saved_session *sioc__recovery_take(sioc__recovery_store *st, const sioc__core *sio,
                                         const char *pid, const char *offset, json_t **missed)
{
    purge(st, sio);
    sioc__saved_session *session = sioc__map_get(&st->sessions, pid, strlen(pid));
    if (!session) {
        return NULL;
    }
    sioc__map_remove(&st->sessions, session->pid);
    size_t i = 0;
    while (i < st->count && strcmp(stored_at(st, i)->offset, offset) != 0) {
        i++;
    }
    if (expired(session, sio) || i == st->count || !(*missed = json_array())) {
        sioc__saved_session_free(session); /* too late, or the offset is too old to replay from */
        return NULL;
    }
    for (i++; i < st->count; i++) {
        sioc__stored *p = stored_at(st, i);
        if (addressed_to(p, session->rooms)) {
            json_array_append(*missed, p->data);
        }
    }
    return session;
}

static void free_session(void *value, void *arg)
{
    sioc__saved_session_free(value);
}

void sioc__recovery_free(sioc__recovery_store *st)
{
    for (size_t i = 0; i < st->count; i++) {
        stored_clear(stored_at(st, i));
    }
    free(st->stored);
    sioc__map_each(&st->sessions, free_session, NULL);
    sioc__map_free(&st->sessions);
}
