/* socket.io-msgpack-parser's packets: a MessagePack map per packet, binary inline. The parser's
 * own code is a few lines over notepack.io (encode the packet object; decode, then checkPacket);
 * what it means on the wire is what Node's packet objects hold, in their order. */
#include "sio/msgpack_packet.h"

#include <string.h>

#include "sio/msgpack.h"

/* A key: a fixstr. */
static int put_key(sioc__buf *b, const char *key)
{
    size_t n = strlen(key);
    unsigned char tag = (unsigned char)(0xa0 | n);
    return sioc__buf_append(b, &tag, 1) < 0 || sioc__buf_append(b, key, n) < 0 ? -1 : 0;
}

/* key and value, the value borrowed (NULL: skipped) */
static int put(sioc__buf *b, const char *key, json_t *v)
{
    return v && (put_key(b, key) < 0 || sioc__msgpack_encode(b, v) < 0) ? -1 : 0;
}

int sioc__sio_encode_msgpack(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                             sioc__sio_encoded *out)
{
    memset(out, 0, sizeof(*out));
    if (type == SIOC__SIO_BINARY_EVENT || type == SIOC__SIO_BINARY_ACK) {
        type = type == SIOC__SIO_BINARY_EVENT ? SIOC__SIO_EVENT : SIOC__SIO_ACK;
    }
    json_t *t = json_integer(type), *n = json_string(nsp ? nsp : "/");
    json_t *i = id >= 0 ? json_integer(id) : NULL;
    unsigned char map = (unsigned char)(0x80 | (2 + (data != NULL) + (id >= 0)));
    sioc__buf b = {0};
    int rc = !t || !n || (id >= 0 && !i) || sioc__buf_append(&b, &map, 1) < 0 ||
                     put(&b, "type", t) < 0 || put(&b, "data", data) < 0 || put(&b, "id", i) < 0 ||
                     put(&b, "nsp", n) < 0
                 ? -1
                 : 0;
    json_decref(t);
    json_decref(n);
    json_decref(i);
    if (rc == 0 && (out->text = sioc__msg_binary(b.data, b.len)) != NULL) {
        out->type = type;
        out->id = id;
        out->data = data ? json_incref(data) : NULL;
    }
    sioc__buf_free(&b);
    return out->text ? 0 : -1;
}

/* What checkPacket lets through for `type`. */
static bool data_allowed(sioc__sio_type type, const json_t *data)
{
    switch (type) {
    case SIOC__SIO_CONNECT:
        return !data || json_is_object(data);
    case SIOC__SIO_DISCONNECT:
        return !data;
    case SIOC__SIO_CONNECT_ERROR:
        return json_is_string(data) || json_is_object(data);
    default:
        return json_is_array(data);
    }
}

int sioc__sio_decode_msgpack(const void *data, size_t len, sioc__sio_packet *out)
{
    memset(out, 0, sizeof(*out));
    out->id = -1;
    json_t *v = NULL;
    long used = sioc__msgpack_decode(data, len, &v);
    json_t *type = json_object_get(v, "type"), *nsp = json_object_get(v, "nsp");
    json_t *payload = json_object_get(v, "data"), *id = json_object_get(v, "id");
    if (json_is_null(payload)) {
        payload = NULL; /* undefined (2.x's fixext) or nil: left out, as JSON drops it */
    }
    if (json_is_null(id)) {
        id = NULL;
    }
    json_int_t t = json_integer_value(type);
    bool ok = used == (long)len && json_is_object(v) && json_is_integer(type) && t >= 0 &&
              t <= SIOC__SIO_CONNECT_ERROR && json_is_string(nsp) &&
              json_string_length(nsp) < sizeof(out->nsp) &&
              data_allowed((sioc__sio_type)t, payload) &&
              (!id || (json_is_integer(id) && json_integer_value(id) >= 0 &&
                       json_integer_value(id) <= (json_int_t)1 << 53));
    if (ok) {
        out->type = (sioc__sio_type)t;
        memcpy(out->nsp, json_string_value(nsp), json_string_length(nsp) + 1);
        out->id = id ? (int64_t)json_integer_value(id) : -1;
        out->data = payload ? json_incref(payload) : NULL;
    }
    json_decref(v);
    return ok ? 0 : -1;
}
