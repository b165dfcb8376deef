/* ClusterAdapter messages (cluster_msg.h). */
#include "adapter/cluster_msg.h"

#include <string.h>

#include "sioc.h"
#include "sio/msgpack.h"

/* Whether JSON cannot carry `v` as it is: binary values, or keys holding NULs (jansson reads no
 * such key back). */
static bool needs_msgpack(json_t *v)
{
    if (sioc_binary_get(v, NULL, NULL)) {
        return true;
    }
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach (v, i, item) {
            if (needs_msgpack(item)) {
                return true;
            }
        }
    } else if (json_is_object(v)) {
        size_t len;
        json_object_keylen_foreach(v, key, len, item)
        {
            if (strlen(key) != len || needs_msgpack(item)) {
                return true;
            }
        }
    }
    return false;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return sioc__buf_append(data, buffer, size);
}

/* {type, data, uid, nsp}: Node's key order (ClusterAdapter.publish() adds uid and nsp to
 * {type, data}). New, or NULL. */
static json_t *envelope(const char *uid, const char *nsp, sioc__cm_type type, json_t *data)
{
    json_t *msg = json_pack("{s:i}", "type", (int)type);
    if (!msg || (data && json_object_set(msg, "data", data) < 0) ||
        json_object_set_new(msg, "uid", json_string(uid)) < 0 ||
        json_object_set_new(msg, "nsp", json_string(nsp)) < 0) {
        json_decref(msg);
        return NULL;
    }
    return msg;
}

/* `v` as JSON, or as msgpack when JSON could not carry it (*used says which). */
static int encode_value(sioc__buf *out, json_t *v, bool *used)
{
    /* Node sends binary only in the types that may carry it; JSON could not hold it anyway. */
    bool binary = needs_msgpack(v);
    if (used) {
        *used = binary;
    }
    return binary ? sioc__msgpack_encode(out, v)
                  : json_dump_callback(v, dump_cb, out, JSON_COMPACT);
}

int sioc__cm_encode(sioc__buf *out, const char *uid, const char *nsp, sioc__cm_type type,
                    json_t *data, bool *msgpack)
{
    json_t *msg = envelope(uid, nsp, type, data);
    int rc = msg ? encode_value(out, msg, msgpack) : -1;
    json_decref(msg);
    return rc < 0 ? -1 : 0;
}

int sioc__cm_encode_msgpack(sioc__buf *out, const char *uid, const char *nsp, sioc__cm_type type,
                            json_t *data)
{
    json_t *msg = envelope(uid, nsp, type, data);
    int rc = msg ? sioc__msgpack_encode(out, msg) : -1;
    json_decref(msg);
    return rc < 0 ? -1 : 0;
}

int sioc__cm_encode_data(sioc__buf *out, json_t *data, bool *msgpack)
{
    return encode_value(out, data, msgpack) < 0 ? -1 : 0;
}

/* ---- checking ---- */

static bool is_string_or_number_list(const json_t *v)
{
    size_t i;
    json_t *item;
    if (!json_is_array(v)) {
        return false;
    }
    json_array_foreach ((json_t *)v, i, item) {
        if (!json_is_string(item) && !json_is_integer(item)) {
            return false;
        }
    }
    return true;
}

/* Absent, or a list of room names (Node's rooms may be numbers). */
static bool optional_rooms(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return !v || is_string_or_number_list(v);
}

/* {rooms?, except?, flags?}, as encodeOptions writes them. */
static const char *check_opts(const json_t *data)
{
    const json_t *opts = json_object_get(data, "opts");
    if (!json_is_object(opts)) {
        return "opts is not an object";
    }
    if (!optional_rooms(opts, "rooms") || !optional_rooms(opts, "except")) {
        return "opts.rooms or opts.except is not a list of rooms";
    }
    const json_t *flags = json_object_get(opts, "flags");
    return flags && !json_is_object(flags) && !json_is_null(flags) ? "opts.flags is not an object"
                                                                   : NULL;
}

static const char *check_request_id(const json_t *data, bool required)
{
    const json_t *id = json_object_get(data, "requestId");
    if (!id) {
        return required ? "no requestId" : NULL;
    }
    return json_is_string(id) ? NULL : "requestId is not a string";
}

/* [event, ...args]: an event's name first. */
static bool is_event(const json_t *v)
{
    return json_is_array(v) && json_is_string(json_array_get(v, 0));
}

static const char *check_sockets(const json_t *data)
{
    const json_t *sockets = json_object_get(data, "sockets");
    size_t i;
    json_t *s;
    if (!json_is_array(sockets)) {
        return "sockets is not a list";
    }
    json_array_foreach ((json_t *)sockets, i, s) {
        const json_t *hs = json_object_get(s, "handshake");
        if (!json_is_string(json_object_get(s, "id")) || !optional_rooms(s, "rooms") ||
            (hs && !json_is_object(hs))) {
            return "a socket without an id, or with bad rooms or handshake";
        }
    }
    return NULL;
}

static bool is_string_list(const json_t *v)
{
    size_t i;
    json_t *item;
    json_array_foreach ((json_t *)v, i, item) {
        if (!json_is_string(item)) {
            return false;
        }
    }
    return json_is_array(v);
}

/* A session: its ids (short strings, as sioc makes them), rooms and data. */
static const char *check_session(const json_t *session)
{
    const char *pid = json_string_value(json_object_get(session, "pid"));
    const char *sid = json_string_value(json_object_get(session, "sid"));
    if (!json_is_object(session) || !pid || !sid || strlen(pid) > 20 || strlen(sid) > 20 ||
        !is_string_list(json_object_get(session, "rooms")) || !json_object_get(session, "data")) {
        return "a session without ids, rooms or data";
    }
    return NULL;
}

/* What a session missed, as a worker kept it: absent, or [origin, seq, [event, ...args]]s. */
static const char *check_missed(const json_t *missed)
{
    size_t i;
    json_t *p;
    if (!missed) {
        return NULL;
    }
    if (!json_is_array(missed)) {
        return "missed is not a list";
    }
    json_array_foreach ((json_t *)missed, i, p) {
        json_t *o = json_array_get(p, 0), *q = json_array_get(p, 1);
        if (json_array_size(p) != 3 || !json_is_integer(o) || json_integer_value(o) < 0 ||
            json_integer_value(o) >= 64 || !json_is_integer(q) || json_integer_value(q) < 0 ||
            !is_event(json_array_get(p, 2))) {
            return "a missed packet is not [worker, seq, event]";
        }
    }
    return NULL;
}

/* sioc's workers say a broadcast's place among its worker's. */
static const char *check_seq(const json_t *data)
{
    const json_t *seq = json_object_get(data, "seq");
    return !seq || (json_is_integer(seq) && json_integer_value(seq) >= 0) ? NULL : "a bad seq";
}

static const char *check_data(sioc__cm_type type, const json_t *data)
{
    const char *why = NULL;
    switch (type) {
    case SIOC__CM_BROADCAST:
        why = check_opts(data);
        why = why ? why : check_request_id(data, false);
        why = why ? why : check_seq(data);
        return why ? why
               : is_event(json_object_get(json_object_get(data, "packet"), "data"))
                   ? NULL
                   : "packet has no event";
    case SIOC__CM_SOCKETS_JOIN:
    case SIOC__CM_SOCKETS_LEAVE:
        why = check_opts(data);
        return why                                                        ? why
               : is_string_or_number_list(json_object_get(data, "rooms")) ? NULL
                                                                          : "rooms is not a list";
    case SIOC__CM_DISCONNECT_SOCKETS: {
        const json_t *close = json_object_get(data, "close");
        why = check_opts(data);
        return why ? why : close && !json_is_boolean(close) ? "close is not a boolean" : NULL;
    }
    case SIOC__CM_FETCH_SOCKETS:
        why = check_opts(data);
        return why ? why : check_request_id(data, true);
    case SIOC__CM_FETCH_SOCKETS_RESPONSE:
        why = check_request_id(data, true);
        return why ? why : check_sockets(data);
    case SIOC__CM_SERVER_SIDE_EMIT:
        why = check_request_id(data, false);
        return why ? why : is_event(json_object_get(data, "packet")) ? NULL : "packet has no event";
    case SIOC__CM_SERVER_SIDE_EMIT_RESPONSE:
    case SIOC__CM_BROADCAST_ACK:
        return check_request_id(data, true);
    case SIOC__CM_BROADCAST_CLIENT_COUNT: {
        const json_t *n = json_object_get(data, "clientCount");
        why = check_request_id(data, true);
        return why                                                ? why
               : json_is_integer(n) && json_integer_value(n) >= 0 ? NULL
                                                                  : "clientCount is not a count";
    }
    case SIOC__CM_RESTORE_SESSION:
        why = check_request_id(data, true);
        return why ? why : json_is_string(json_object_get(data, "pid")) ? NULL : "no pid";
    case SIOC__CM_RESTORE_SESSION_RESPONSE: {
        const json_t *session = json_object_get(data, "session");
        why = check_request_id(data, true);
        why = why ? why : json_is_null(session) ? NULL : check_session(session);
        return why ? why : check_missed(json_object_get(data, "missed"));
    }
    case SIOC__CM_SESSION:
        why = check_session(data);
        return why                                              ? why
               : json_is_boolean(json_object_get(data, "live")) ? NULL
                                                                : "live is not a boolean";
    case SIOC__CM_SESSION_GONE:
        return json_is_string(json_object_get(data, "pid")) ? NULL : "no pid";
    case SIOC__CM_METRICS:
        return json_is_string(json_object_get(data, "text")) ? NULL : "no text";
    default:
        return NULL;
    }
}

static bool ours(json_int_t t)
{
    return t >= SIOC__CM_RESTORE_SESSION && t <= SIOC__CM_METRICS;
}

static bool known(json_int_t t)
{
    return (t >= SIOC__CM_INITIAL_HEARTBEAT && t <= SIOC__CM_ADAPTER_CLOSE) || ours(t);
}

/* Every type but the heartbeats and ADAPTER_CLOSE has data. */
static bool has_data(json_int_t t)
{
    return (t >= SIOC__CM_BROADCAST && t <= SIOC__CM_BROADCAST_ACK) || ours(t);
}

int sioc__cm_decode(const void *bytes, size_t len, sioc__cm *out, const char **why)
{
    json_t *root = NULL;
    if (len && ((const char *)bytes)[0] == '{') {
        root = json_loadb(bytes, len, JSON_ALLOW_NUL, NULL); /* JSON.parse takes \u0000 */
    } else if (sioc__msgpack_decode(bytes, len, &root) != (long)len) {
        json_decref(root);
        root = NULL;
    }
    return sioc__cm_check(root, out, why);
}

int sioc__cm_check(json_t *root, sioc__cm *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    const json_t *type = json_object_get(root, "type");
    json_t *data = json_object_get(root, "data");
    json_int_t t = json_is_integer(type) ? json_integer_value(type) : 0;
    const char *bad = !json_is_object(root) ? "neither a JSON nor a msgpack object"
                      : !json_is_string(json_object_get(root, "uid")) ||
                              !json_is_string(json_object_get(root, "nsp"))
                          ? "no uid or nsp"
                      : !known(t)                            ? "an unknown type"
                      : has_data(t) && !json_is_object(data) ? "data is not an object"
                                                             : NULL;
    bad = bad ? bad : check_data((sioc__cm_type)t, data);
    if (bad) {
        json_decref(root);
        *why = bad;
        return -1;
    }
    out->root = root;
    out->uid = json_string_value(json_object_get(root, "uid"));
    out->nsp = json_string_value(json_object_get(root, "nsp"));
    out->type = (sioc__cm_type)t;
    /* The heartbeats and ADAPTER_CLOSE have none: what one brings is not looked at. */
    out->data = has_data(t) ? data : NULL;
    return 0;
}

void sioc__cm_clear(sioc__cm *m)
{
    json_decref(m->root);
    memset(m, 0, sizeof(*m));
}
