/* The Streams adapter's wire, sans-I/O (streams_internal.h): stream ids, the streams' names as
 * Node computes them, entries and sessions as Node's adapter writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter/cluster_msg.h"
#include "adapter/streams_internal.h"
#include "core/sio.h"
#include "sio/msgpack.h"
#include "util/base64.h"

/* ---- stream ids ---- */

bool sioc__stream_id_parse(const char *s, size_t len, sioc__stream_id *out)
{
    uint64_t part[2] = {0, 0};
    size_t i = 0;
    for (int k = 0; k < 2; k++) {
        size_t start = i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (part[k] > (UINT64_MAX - 9) / 10) {
                return false;
            }
            part[k] = part[k] * 10 + (uint64_t)(s[i] - '0');
        }
        if (i == start || (k == 0 && (i == len || s[i++] != '-'))) {
            return false;
        }
    }
    out->ms = part[0];
    out->seq = part[1];
    return i == len;
}

int sioc__stream_id_cmp(sioc__stream_id a, sioc__stream_id b)
{
    if (a.ms != b.ms) {
        return a.ms < b.ms ? -1 : 1;
    }
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* ---- names ---- */

/* Node's hashCode: Java's String.hashCode over the UTF-16 code units of `s` (UTF-8), in 32-bit
 * two's complement. */
static int32_t js_hash(const char *s)
{
    uint32_t h = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        cp &= extra ? 0x3Fu >> extra : 0x7Fu;
        for (; extra && (*p & 0xC0) == 0x80; extra--) {
            cp = cp << 6 | (*p++ & 0x3Fu);
        }
        if (cp >= 0x10000) { /* a surrogate pair */
            cp -= 0x10000;
            h = h * 31 + (0xD800 + (cp >> 10));
            cp = 0xDC00 + (cp & 0x3FF);
        }
        h = h * 31 + cp;
    }
    return (int32_t)h;
}

/* How many streams this node reads: streamCount, and as many again less one for the names a
 * negative hash gives (below). */
unsigned sioc__streams_count(const sioc__streams_config *cfg)
{
    return cfg->stream_count <= 1 ? 1 : 2 * cfg->stream_count - 1;
}

/* Node's computeStreamName, as an index into the streams read: which stream a namespace's
 * messages go to, so that they stay in order. JavaScript's % keeps the sign, as C's does: a
 * negative hash names a stream "<name>--<i>", which Node's nodes write to but never read (they
 * read "<name>-0" to "<name>-<count-1>"). This node writes where Node's do, so that either can
 * replay the other's, and reads those streams too. */
unsigned sioc__streams_index(const sioc__streams_config *cfg, const char *nsp)
{
    int i = cfg->stream_count <= 1 ? 0 : (int)(js_hash(nsp) % (int32_t)cfg->stream_count);
    return i >= 0 ? (unsigned)i : cfg->stream_count - 1 + (unsigned)-i;
}

char *sioc__streams_name(const sioc__streams_config *cfg, unsigned index)
{
    if (cfg->stream_count <= 1) {
        return strdup(cfg->stream_name);
    }
    int i = index < cfg->stream_count ? (int)index : -(int)(index - cfg->stream_count + 1);
    size_t n = strlen(cfg->stream_name) + 16;
    char *s = malloc(n);
    if (s) {
        snprintf(s, n, "%s-%d", cfg->stream_name, i);
    }
    return s;
}

/* ---- entries ---- */

/* `data` as a stream entry's field: JSON, or base64 of msgpack when it holds binary. */
int sioc__streams_entry_data(json_t *data, sioc__buf *out)
{
    bool msgpack;
    sioc__buf raw = {0};
    if (sioc__cm_encode_data(&raw, data, &msgpack) < 0) {
        sioc__buf_free(&raw);
        return -1;
    }
    if (!msgpack) {
        *out = raw;
        return 0;
    }
    size_t n = sioc__base64_encoded_len(raw.len);
    int rc = sioc__buf_reserve(out, n);
    if (rc == 0) {
        sioc__base64_encode((const unsigned char *)raw.data, raw.len, (char *)out->data);
        out->len = n;
    }
    sioc__buf_free(&raw);
    return rc < 0 ? -1 : 0;
}

/* A field's value in an entry's [field, value, ...] (NULL: absent). */
const redisReply *sioc__streams_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if (k->type == REDIS_REPLY_STRING && k->len == strlen(name) &&
            memcmp(k->str, name, k->len) == 0) {
            return fields->element[i + 1]->type == REDIS_REPLY_STRING ? fields->element[i + 1]
                                                                      : NULL;
        }
    }
    return NULL;
}

/* Node's RedisStreamsAdapter.decode: JSON when it starts with '{', else base64 of msgpack. */
static json_t *decode_data(const redisReply *d)
{
    if (d->len && d->str[0] == '{') {
        return json_loadb(d->str, d->len, JSON_ALLOW_NUL, NULL);
    }
    unsigned char *raw = malloc(d->len / 4 * 3 + 3);
    long n = raw ? sioc__base64_decode(d->str, d->len, raw) : -1;
    json_t *v = NULL;
    if (n >= 0 && sioc__msgpack_decode(raw, (size_t)n, &v) != n) {
        json_decref(v);
        v = NULL;
    }
    free(raw);
    return v;
}

int sioc__streams_entry(const redisReply *fields, sioc__cm *out, const char **why)
{
    const redisReply *uid = sioc__streams_field(fields, "uid"),
                     *nsp = sioc__streams_field(fields, "nsp");
    const redisReply *type = sioc__streams_field(fields, "type"),
                     *data = sioc__streams_field(fields, "data");
    json_t *root = uid && nsp && type ? json_object() : NULL;
    if (root) {
        /* parseInt: the digits it starts with */
        json_object_set_new(root, "type", json_integer(strtol(type->str, NULL, 10)));
        json_object_set_new(root, "uid", json_stringn(uid->str, uid->len));
        json_object_set_new(root, "nsp", json_stringn(nsp->str, nsp->len));
        json_t *d = data ? decode_data(data) : NULL;
        if (d) {
            json_object_set_new(root, "data", d);
        }
    }
    return sioc__cm_check(root, out, why);
}

/* ---- sessions ---- */

char *sioc__streams_session_encode(const sioc__saved_session *session)
{
    json_t *j = json_pack("{s:s,s:s,s:O,s:O}", "sid", session->sid, "pid", session->pid, "rooms",
                          session->rooms, "data", session->data);
    sioc__buf raw = {0};
    char *out = NULL;
    if (j && sioc__msgpack_encode(&raw, j) == 0 &&
        (out = malloc(sioc__base64_encoded_len(raw.len) + 1))) {
        sioc__base64_encode((const unsigned char *)raw.data, raw.len, out);
        out[sioc__base64_encoded_len(raw.len)] = '\0';
    }
    json_decref(j);
    sioc__buf_free(&raw);
    return out;
}

/* Rooms as strings (Node's may be numbers: io.to(123) then join). A new array, or NULL when one
 * is neither. */
static json_t *room_names(json_t *rooms)
{
    json_t *out = json_is_array(rooms) ? json_array() : NULL;
    size_t i;
    json_t *room;
    json_array_foreach (rooms, i, room) {
        char text[24];
        if (json_is_integer(room)) {
            snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(room));
        }
        const char *name = json_is_string(room) ? json_string_value(room) : text;
        if (!out || (!json_is_string(room) && !json_is_integer(room)) ||
            json_array_append_new(out, json_string(name)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

sioc__saved_session *sioc__streams_session_decode(const char *text, size_t len, uint64_t now_ms)
{
    unsigned char *raw = malloc(len / 4 * 3 + 3);
    long n = raw ? sioc__base64_decode(text, len, raw) : -1;
    json_t *j = NULL;
    if (n < 0 || sioc__msgpack_decode(raw, (size_t)n, &j) != n) {
        json_decref(j);
        j = NULL;
    }
    free(raw);
    const char *sid = json_string_value(json_object_get(j, "sid"));
    const char *pid = json_string_value(json_object_get(j, "pid"));
    json_t *rooms = room_names(json_object_get(j, "rooms"));
    json_t *data = json_object_get(j, "data");
    sioc__saved_session *session = NULL;
    if (sid && pid && strlen(sid) < 21 && strlen(pid) < 21 && rooms &&
        (session = calloc(1, sizeof(*session)))) {
        snprintf(session->sid, sizeof(session->sid), "%s", sid);
        snprintf(session->pid, sizeof(session->pid), "%s", pid);
        session->rooms = json_incref(rooms);
        /* Node's socket.data is {} unless set; what is not an object is not sioc's to give */
        session->data = json_is_object(data) ? json_incref(data) : json_object();
        session->at_ms = now_ms;
    }
    json_decref(rooms);
    json_decref(j);
    return session;
}
