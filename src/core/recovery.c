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

static sioc__stored *stored_at(sioc_namespace *nsp, size_t i)
{
    return &nsp->stored[(nsp->stored_head + i) % nsp->stored_cap];
}

static void stored_clear(sioc__stored *p)
{
    json_decref(p->data);
    json_decref(p->rooms);
    json_decref(p->except);
}

/* Drops what is older than maxDisconnectionDuration: nobody can come back for it. */
static void purge(sioc_namespace *nsp)
{
    uint64_t now = sioc__wheel_now(nsp->sio->wheel), ttl = nsp->sio->recovery_ms;
    while (nsp->stored_count && stored_at(nsp, 0)->at_ms + ttl < now) {
        stored_clear(stored_at(nsp, 0));
        nsp->stored_head = (nsp->stored_head + 1) % nsp->stored_cap;
        nsp->stored_count--;
    }
}

static int stored_grow(sioc_namespace *nsp)
{
    size_t cap = nsp->stored_cap ? nsp->stored_cap * 2 : 64;
    sioc__stored *ring = malloc(cap * sizeof(*ring));
    if (!ring) {
        return -1;
    }
    for (size_t i = 0; i < nsp->stored_count; i++) {
        ring[i] = *stored_at(nsp, i);
    }
    free(nsp->stored);
    nsp->stored = ring;
    nsp->stored_cap = cap;
    nsp->stored_head = 0;
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

int sioc__recovery_stamp(sioc_namespace *nsp, const sioc_target *t, json_t *data)
{
    purge(nsp);
    if (nsp->stored_count == nsp->stored_cap && stored_grow(nsp) < 0) {
        return -1;
    }
    sioc__stored *p = stored_at(nsp, nsp->stored_count);
    snprintf(p->offset, sizeof(p->offset), "%" PRIx64, ++nsp->next_offset);
    p->rooms = strings(t ? t->rooms : NULL, t ? t->nrooms : 0);
    p->except = strings(t ? t->except_rooms : NULL, t ? t->nexcept_rooms : 0);
    if (t && t->except_socket) {
        json_array_append_new(p->except, json_string(t->except_socket->id));
    }
    p->at_ms = sioc__wheel_now(nsp->sio->wheel);
    /* The offset goes last, where the client looks for it. */
    if (!p->rooms || !p->except || json_array_append_new(data, json_string(p->offset)) < 0) {
        json_decref(p->rooms);
        json_decref(p->except);
        return -1;
    }
    p->data = json_incref(data);
    nsp->stored_count++;
    return 0;
}

void sioc__saved_session_free(sioc__saved_session *session)
{
    if (session) {
        json_decref(session->rooms);
        json_decref(session->data);
        free(session);
    }
}

static void expire(void *value, void *arg)
{
    sioc__saved_session *session = value;
    sioc_namespace *nsp = arg;
    if (session->at_ms + nsp->sio->recovery_ms < sioc__wheel_now(nsp->sio->wheel)) {
        sioc__map_remove(&nsp->sessions, session->pid);
        sioc__saved_session_free(session);
    }
}

/* sioc__map_each may not see the map change under it: expired sessions go one at a time. */
static void purge_sessions(sioc_namespace *nsp)
{
    size_t before;
    do {
        before = nsp->sessions.count;
        for (size_t b = 0; b < nsp->sessions.nbuckets && before == nsp->sessions.count; b++) {
            for (sioc__map_entry *e = nsp->sessions.buckets[b]; e; e = e->next) {
                expire(e->value, nsp);
                if (before != nsp->sessions.count) {
                    break;
                }
            }
        }
    } while (before != nsp->sessions.count);
}

void sioc__recovery_persist(sioc_socket *s)
{
    sioc_namespace *nsp = s->nsp;
    purge_sessions(nsp);
    sioc__saved_session *session = calloc(1, sizeof(*session));
    if (!session) {
        return;
    }
    memcpy(session->pid, s->pid, sizeof(session->pid));
    memcpy(session->sid, s->id, sizeof(session->sid));
    session->rooms = json_array();
    for (size_t i = 0; session->rooms && i < s->nrooms; i++) {
        json_array_append_new(session->rooms, json_string(s->rooms[i]->name));
    }
    session->data = s->data_json ? json_deep_copy(s->data_json) : json_object();
    session->at_ms = sioc__wheel_now(nsp->sio->wheel);
    if (!session->rooms || !session->data ||
        sioc__map_put(&nsp->sessions, session->pid, session) < 0) {
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

sioc__saved_session *sioc__recovery_take(sioc_namespace *nsp, const char *pid, const char *offset,
                                         json_t **missed)
{
    purge(nsp);
    sioc__saved_session *session = sioc__map_get(&nsp->sessions, pid, strlen(pid));
    if (!session) {
        return NULL;
    }
    sioc__map_remove(&nsp->sessions, session->pid);
    size_t i = 0;
    while (i < nsp->stored_count && strcmp(stored_at(nsp, i)->offset, offset) != 0) {
        i++;
    }
    bool expired = session->at_ms + nsp->sio->recovery_ms < sioc__wheel_now(nsp->sio->wheel);
    if (expired || i == nsp->stored_count || !(*missed = json_array())) {
        sioc__saved_session_free(session); /* too late, or the offset is too old to replay from */
        return NULL;
    }
    for (i++; i < nsp->stored_count; i++) {
        sioc__stored *p = stored_at(nsp, i);
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

void sioc__recovery_free(sioc_namespace *nsp)
{
    for (size_t i = 0; i < nsp->stored_count; i++) {
        stored_clear(stored_at(nsp, i));
    }
    free(nsp->stored);
    sioc__map_each(&nsp->sessions, free_session, NULL);
    sioc__map_free(&nsp->sessions);
}
