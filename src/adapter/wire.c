/* What the adapters' wires share (wire.h). */
#include "adapter/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sio.h"
#include "util/base64.h"

const char **sioc__wire_names(json_t *list, json_t *keep, size_t *n)
{
    *n = 0;
    size_t count = json_array_size(list);
    const char **out = count ? calloc(count, sizeof(*out)) : NULL;
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v) {
        if (!out) {
            break;
        }
        if (json_is_string(v)) {
            out[(*n)++] = json_string_value(v);
        } else if (json_is_integer(v)) {
            char text[24];
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            json_t *s = json_string(text);
            if (s && json_array_append_new(keep, s) == 0) {
                out[(*n)++] = json_string_value(s);
            }
        }
    }
    return out;
}

void sioc__wire_target_of(json_t *opts, sioc__wire_target *rt)
{
    rt->keep = json_array();
    size_t nrooms, nexcept;
    const char **rooms = sioc__wire_names(json_object_get(opts, "rooms"), rt->keep, &nrooms);
    const char **except = sioc__wire_names(json_object_get(opts, "except"), rt->keep, &nexcept);
    rt->t = (sioc_target){rooms, nrooms, except, nexcept, NULL, 0};
}

void sioc__wire_target_free(sioc__wire_target *rt)
{
    free((void *)rt->t.rooms);
    free((void *)rt->t.except_rooms);
    json_decref(rt->keep);
}

static json_t *strings(const char *const *list, size_t n, const sioc_socket *also)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_array_append_new(a, json_string(list[i]));
    }
    if (a && also) {
        json_array_append_new(a, json_string(sioc_socket_id(also)));
    }
    return a;
}

json_t *sioc__wire_opts_of(const sioc_target *t)
{
    return json_pack(
        "{s:o,s:o}", "rooms", strings(t ? t->rooms : NULL, t ? t->nrooms : 0, NULL), "except",
        strings(t ? t->except_rooms : NULL, t ? t->nexcept_rooms : 0, t ? t->except_socket : NULL));
}

json_t *sioc__wire_sockets(sioc_namespace *nsp, const sioc_target *t, bool described)
{
    sioc_socket **list;
    size_t n;
    json_t *out = json_array();
    if (!out || sioc__select_list(nsp, t, &list, &n) < 0) {
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        sioc_socket *s = list[i];
        json_t *item = json_string(sioc_socket_id(s));
        if (described) { /* Node's RemoteSocket: {id, handshake, rooms, data} */
            const char *rooms[64];
            size_t nr = sioc_socket_rooms(s, rooms, 64);
            json_t *names = json_array();
            for (size_t k = 0; k < nr && k < 64; k++) {
                json_array_append_new(names, json_string(rooms[k]));
            }
            json_decref(item);
            item = json_pack("{s:s,s:O,s:o,s:O}", "id", sioc_socket_id(s), "handshake",
                             sioc_socket_handshake(s), "rooms", names, "data",
                             sioc_socket_data_json(s));
        }
        json_array_append_new(out, item);
        sioc__socket_unref(s);
    }
    free(list);
    return out;
}

void sioc__wire_fetch_done(sioc_namespace *nsp, json_t *opts, json_t *described, int err,
                           sioc_fetch_cb cb, void *user_data)
{
    sioc_socket **local = NULL, **all = NULL;
    size_t nlocal = 0, n = 0;
    sioc__wire_target rt;
    sioc__wire_target_of(opts, &rt);
    if (err == 0 && sioc__select_list(nsp, &rt.t, &local, &nlocal) < 0) {
        err = SIOC_ERR_NOMEM;
    }
    size_t cap = nlocal + json_array_size(described);
    if (err == 0 && cap && !(all = calloc(cap, sizeof(*all)))) {
        err = SIOC_ERR_NOMEM;
    }
    for (size_t i = 0; err == 0 && i < nlocal; i++) {
        all[n++] = local[i];
        local[i] = NULL;
    }
    size_t i;
    json_t *d;
    json_array_foreach (described, i, d) {
        const char *id = json_string_value(json_object_get(d, "id"));
        sioc_socket *s = err || !id ? NULL
                                    : sioc__remote_socket_new(nsp, id, json_object_get(d, "rooms"),
                                                              json_object_get(d, "handshake"),
                                                              json_object_get(d, "data"));
        if (s) {
            all[n++] = s;
        }
    }
    cb(err, err ? NULL : all, err ? 0 : n, user_data);
    for (size_t k = 0; k < nlocal; k++) {
        if (local[k]) {
            sioc__socket_unref(local[k]);
        }
    }
    for (size_t k = 0; k < n; k++) {
        sioc__socket_unref(all[k]);
    }
    free(local);
    free(all);
    sioc__wire_target_free(&rt);
}

static json_t *event_packet(const char *nsp, json_t *data)
{
    return json_pack("{s:i,s:O,s:s}", "type", 2, "data", data, "nsp", nsp);
}

json_t *sioc__wire_cm_broadcast(const char *nsp, json_t *data, const sioc_target *t)
{
    json_t *opts = sioc__wire_opts_of(t);
    if (opts && t && (t->flags & SIOC_EMIT_VOLATILE)) {
        json_object_set_new(opts, "flags", json_pack("{s:b}", "volatile", 1));
    }
    return opts ? json_pack("{s:o,s:o}", "packet", event_packet(nsp, data), "opts", opts) : NULL;
}

json_t *sioc__wire_cm_broadcast_ack(const char *nsp, json_t *data, const sioc_target *t,
                                    uint64_t timeout_ms, const char *request_id)
{
    json_t *opts = sioc__wire_opts_of(t);
    if (opts) {
        json_object_set_new(opts, "flags", json_pack("{s:I}", "timeout", (json_int_t)timeout_ms));
    }
    return opts ? json_pack("{s:o,s:o,s:s}", "packet", event_packet(nsp, data), "opts", opts,
                            "requestId", request_id)
                : NULL;
}

json_t *sioc__wire_cm_rooms(const sioc_target *t, const char *const *rooms, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_array_append_new(list, json_string(rooms[i]));
    }
    return json_pack("{s:o,s:o}", "opts", sioc__wire_opts_of(t), "rooms", list);
}

json_t *sioc__wire_cm_disconnect(const sioc_target *t, bool close)
{
    return json_pack("{s:o,s:b}", "opts", sioc__wire_opts_of(t), "close", close);
}

void sioc__wire_random_id(char out[17])
{
    unsigned char raw[8];
    if (sioc__random_bytes(raw, sizeof(raw)) < 0) {
        memset(raw, 0x5a, sizeof(raw));
    }
    for (int i = 0; i < 8; i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
}
