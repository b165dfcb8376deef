#include "sio/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sioc.h"
#include "util/base64.h"
#include "util/jsonr.h"
#include "util/jsonw.h"

/* A binary value is an object with one member, BINARY_KEY, whose string holds the raw bytes (any
 * bytes: it is made without UTF-8 checks). It travels as an attachment, never as JSON. */
#define BINARY_KEY "_sioc_binary"

json_t *sioc_binary_new(const void *data, size_t len)
{
    json_t *bytes = json_stringn_nocheck(len ? data : "", len);
    json_t *obj = json_object();
    if (!bytes || !obj) {
        json_decref(bytes);
        json_decref(obj);
        return NULL;
    }
    if (json_object_set_new_nocheck(obj, BINARY_KEY, bytes) < 0) { /* it took `bytes` anyway */
        json_decref(obj);
        return NULL;
    }
    return obj;
}

bool sioc_binary_get(const json_t *value, const void **data, size_t *len)
{
    if (!json_is_object(value) || json_object_size(value) != 1) {
        return false;
    }
    json_t *bytes = json_object_get(value, BINARY_KEY);
    if (!json_is_string(bytes)) {
        return false;
    }
    if (data) {
        *data = json_string_value(bytes);
    }
    if (len) {
        *len = json_string_length(bytes);
    }
    return true;
}

void sioc__sio_packet_clear(sioc__sio_packet *p)
{
    json_decref(p->data);
    p->data = NULL;
}

/* Node's socket.io-parser refuses these as event names. */
static bool reserved_event(const char *name)
{
    static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                           "disconnecting", "newListener",   "removeListener"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcmp(name, reserved[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool payload_valid(sioc__sio_type type, json_t *data)
{
    switch (type) {
    case SIOC__SIO_CONNECT:
        return json_is_object(data);
    case SIOC__SIO_DISCONNECT:
        return false; /* a DISCONNECT carries no payload */
    case SIOC__SIO_CONNECT_ERROR:
        return json_is_string(data) || json_is_object(data);
    case SIOC__SIO_EVENT:
    case SIOC__SIO_BINARY_EVENT: {
        json_t *name = json_array_get(data, 0);
        return json_is_array(data) &&
               (json_is_number(name) ||
                (json_is_string(name) && !reserved_event(json_string_value(name))));
    }
    case SIOC__SIO_ACK:
    case SIOC__SIO_BINARY_ACK:
        return json_is_array(data);
    }
    return false;
}

static json_t *parse_json(const char *s, size_t n)
{
    return sioc__json_parse(s, n);
}

/* Reads "<digits>-" at s[*i]; the digits are the attachment count. */
static int read_attachments(const char *s, size_t n, size_t *i, size_t *out)
{
    size_t start = *i, count = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        count = count * 10 + (size_t)(s[*i] - '0');
        if (count > SIOC__SIO_MAX_ATTACHMENTS) {
            return -1;
        }
        (*i)++;
    }
    if (*i == start || *i >= n || s[*i] != '-') {
        return -1;
    }
    (*i)++;
    *out = count;
    return 0;
}

/* Reads "/nsp" up to and past its ',' (or the end). */
static int read_namespace(const char *s, size_t n, size_t *i, char *nsp, size_t cap)
{
    const char *comma = memchr(s + *i, ',', n - *i);
    size_t len = comma ? (size_t)(comma - (s + *i)) : n - *i;
    if (len >= cap || memchr(s + *i, '\0', len)) {
        return -1;
    }
    memcpy(nsp, s + *i, len);
    nsp[len] = '\0';
    *i += len + (comma != NULL);
    return 0;
}

static int read_id(const char *s, size_t n, size_t *i, int64_t *id)
{
    size_t start = *i;
    int64_t v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (*i - start == SIOC__SIO_MAX_ID_DIGITS) {
            return -1;
        }
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *id = *i > start ? v : -1;
    return 0;
}

int sioc__sio_decode(const char *s, size_t n, sioc__sio_packet *out)
{
    memset(out, 0, sizeof(*out));
    out->id = -1;
    strcpy(out->nsp, "/");
    if (n == 0 || s[0] < '0' || s[0] > '6') {
        return -1;
    }
    out->type = (sioc__sio_type)(s[0] - '0');
    size_t i = 1;
    bool binary = out->type == SIOC__SIO_BINARY_EVENT || out->type == SIOC__SIO_BINARY_ACK;
    if (binary && read_attachments(s, n, &i, &out->attachments) < 0) {
        return -1;
    }
    if (i < n && s[i] == '/' && read_namespace(s, n, &i, out->nsp, sizeof(out->nsp)) < 0) {
        return -1;
    }
    if (read_id(s, n, &i, &out->id) < 0) {
        return -1;
    }
    if (i < n) {
        out->data = parse_json(s + i, n - i);
        if (!out->data || !payload_valid(out->type, out->data)) {
            sioc__sio_packet_clear(out);
            return -1;
        }
    }
    return 0;
}

/* Replaces every placeholder {"_placeholder":true,"num":k} under *slot with attachment k. */
static int reconstruct(json_t **slot, json_t *buffers)
{
    json_t *v = *slot;
    if (json_is_array(v)) {
        for (size_t k = 0; k < json_array_size(v); k++) {
            json_t *item = json_array_get(v, k), *orig = item;
            if (reconstruct(&item, buffers) < 0) {
                return -1;
            }
            if (item != orig && json_array_set(v, k, item) < 0) {
                return -1;
            }
        }
    } else if (json_is_object(v)) {
        json_t *ph = json_object_get(v, "_placeholder");
        if (json_is_true(ph)) {
            json_t *num = json_object_get(v, "num");
            if (!json_is_integer(num) || json_integer_value(num) < 0 ||
                (size_t)json_integer_value(num) >= json_array_size(buffers)) {
                return -1; /* "illegal attachments" */
            }
            *slot = json_array_get(buffers, (size_t)json_integer_value(num));
            return 0;
        }
        const char *key;
        json_t *item;
        json_object_foreach (v, key, item) {
            json_t *orig = item;
            if (reconstruct(&item, buffers) < 0) {
                return -1;
            }
            if (item != orig && json_object_set(v, key, item) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

void sioc__sio_decoder_reset(sioc__sio_decoder *d)
{
    if (d->pending) {
        sioc__sio_packet_clear(d->pending);
        free(d->pending);
        d->pending = NULL;
    }
    json_decref(d->buffers);
    d->buffers = NULL;
}

/* Hands over the pending packet with its placeholders replaced. */
static int finish_binary(sioc__sio_decoder *d, sioc__sio_packet *out)
{
    int rc = d->pending->data ? reconstruct(&d->pending->data, d->buffers) : 0;
    if (rc < 0) {
        sioc__sio_decoder_reset(d);
        return -1;
    }
    *out = *d->pending;
    d->pending->data = NULL;
    sioc__sio_decoder_reset(d);
    return 1;
}

int sioc__sio_decoder_text(sioc__sio_decoder *d, const char *s, size_t n, sioc__sio_packet *out)
{
    if (d->pending) {
        sioc__sio_decoder_reset(d); /* "got plaintext data when reconstructing a packet" */
        return -1;
    }
    if (sioc__sio_decode(s, n, out) < 0) {
        return -1;
    }
    bool binary = out->type == SIOC__SIO_BINARY_EVENT || out->type == SIOC__SIO_BINARY_ACK;
    if (!binary) {
        return 1;
    }
    d->pending = malloc(sizeof(*d->pending));
    if (!d->pending) {
        sioc__sio_packet_clear(out);
        return -1;
    }
    *d->pending = *out;
    out->data = NULL;
    d->buffers = json_array();
    if (!d->buffers) {
        sioc__sio_decoder_reset(d);
        return -1;
    }
    return d->pending->attachments == 0 ? finish_binary(d, out) : 0;
}

int sioc__sio_decoder_binary(sioc__sio_decoder *d, const void *data, size_t n,
                             sioc__sio_packet *out)
{
    if (!d->pending) {
        return -1; /* "got binary data when not reconstructing a packet" */
    }
    if (json_array_append_new(d->buffers, sioc_binary_new(data, n)) < 0) {
        sioc__sio_decoder_reset(d);
        return -1;
    }
    if (json_array_size(d->buffers) < d->pending->attachments) {
        return 0;
    }
    return finish_binary(d, out);
}

/* ---- encoding ---- */

static bool has_binary(json_t *v)
{
    if (sioc_binary_get(v, NULL, NULL)) {
        return true;
    }
    size_t k;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach (v, k, item) {
            if (has_binary(item)) {
                return true;
            }
        }
    } else if (json_is_object(v)) {
        json_object_foreach (v, key, item) {
            if (has_binary(item)) {
                return true;
            }
        }
    }
    return false;
}

static json_t *placeholder(size_t num)
{
    return json_pack("{s:b,s:I}", "_placeholder", 1, "num", (json_int_t)num);
}

/* A copy of `v` with binary values replaced by placeholders, numbered depth-first; the binary
 * messages are appended to `e`. Scalars are shared, not copied. */
static json_t *split_binary(json_t *v, sioc__sio_encoded *e)
{
    const void *bytes;
    size_t len;
    if (sioc_binary_get(v, &bytes, &len)) {
        sioc__msg **bins = realloc(e->bins, (e->nbins + 1) * sizeof(*bins));
        if (!bins) {
            return NULL;
        }
        e->bins = bins;
        if (!(bins[e->nbins] = sioc__msg_binary(bytes, len))) {
            return NULL;
        }
        return placeholder(e->nbins++);
    }
    if (!json_is_array(v) && !json_is_object(v)) {
        return json_incref(v);
    }
    json_t *copy = json_is_array(v) ? json_array() : json_object();
    if (!copy) {
        return NULL;
    }
    size_t k;
    const char *key;
    json_t *item;
    int rc = 0;
    if (json_is_array(v)) {
        json_array_foreach (v, k, item) {
            rc = rc ? rc : json_array_append_new(copy, split_binary(item, e));
        }
    } else {
        json_object_foreach (v, key, item) {
            rc = rc ? rc : json_object_set_new(copy, key, split_binary(item, e));
        }
    }
    if (rc < 0) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}

static int encode_text(sioc__sio_type type, const char *nsp, int64_t id, json_t *data, size_t nbins,
                       sioc__buf *b)
{
    if (sioc__buf_append_char(b, (char)('0' + type)) < 0 ||
        (nbins && (sioc__buf_append_uint(b, nbins) < 0 || sioc__buf_append_char(b, '-') < 0))) {
        return -1;
    }
    if (nsp && strcmp(nsp, "/") != 0 &&
        (sioc__buf_append(b, nsp, strlen(nsp)) < 0 || sioc__buf_append_char(b, ',') < 0)) {
        return -1;
    }
    if (id >= 0 && sioc__buf_append_uint(b, (uint64_t)id) < 0) {
        return -1;
    }
    if (data && sioc__json_dump(b, data) < 0) {
        return -1;
    }
    return 0;
}

int sioc__sio_encode(sioc__sio_type type, const char *nsp, int64_t id, json_t *data,
                     sioc__sio_encoded *out)
{
    memset(out, 0, sizeof(*out));
    json_t *plain = data;
    if (data && has_binary(data)) {
        plain = split_binary(data, out);
        if (!plain) {
            sioc__sio_encoded_clear(out);
            return -1;
        }
        type = type == SIOC__SIO_ACK ? SIOC__SIO_BINARY_ACK : SIOC__SIO_BINARY_EVENT;
    }
    sioc__buf b = {0};
    int rc = encode_text(type, nsp, id, plain, out->nbins, &b);
    if (plain != data) {
        json_decref(plain);
    }
    if (rc == 0) {
        out->text = sioc__msg_text('4', b.data, b.len);
        out->type = type;
        out->id = id;
        out->data = data ? json_incref(data) : NULL;
    }
    sioc__buf_free(&b);
    if (!out->text) {
        sioc__sio_encoded_clear(out);
        return -1;
    }
    return 0;
}

void sioc__sio_encoded_clear(sioc__sio_encoded *e)
{
    sioc__msg_unref(e->text);
    sioc__msg_unref(e->plain);
    json_decref(e->data);
    for (size_t i = 0; i < e->nbins; i++) {
        sioc__msg_unref(e->bins[i]);
    }
    free(e->bins);
    memset(e, 0, sizeof(*e));
}

const char *sioc__sio_event_name(json_t *data, char *scratch, size_t cap)
{
    json_t *name = json_array_get(data, 0);
    if (json_is_string(name)) {
        return json_string_value(name);
    }
    if (json_is_integer(name)) {
        snprintf(scratch, cap, "%lld", (long long)json_integer_value(name));
        return scratch;
    }
    if (json_is_real(name)) {
        snprintf(scratch, cap, "%.17g", json_real_value(name));
        return scratch;
    }
    return NULL;
}

/* ---- plain WebSocket clients ---- */

/* `v` with binary values as base64 strings (JSON has no bytes). */
static json_t *plain_value(json_t *v)
{
    const void *bytes;
    size_t len;
    if (sioc_binary_get(v, &bytes, &len)) {
        char *b64 = malloc(sioc__base64_encoded_len(len) + 1);
        if (!b64) {
            return NULL;
        }
        sioc__base64_encode(bytes, len, b64);
        json_t *str = json_stringn(b64, sioc__base64_encoded_len(len));
        free(b64);
        return str;
    }
    if (!has_binary(v)) {
        return json_incref(v);
    }
    json_t *copy = json_is_array(v) ? json_array() : json_object();
    size_t k;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach (v, k, item) {
            json_array_append_new(copy, plain_value(item));
        }
    } else {
        json_object_foreach (v, key, item) {
            json_object_set_new(copy, key, plain_value(item));
        }
    }
    return copy;
}

sioc__msg *sioc__sio_plain(sioc__sio_encoded *e)
{
    if (e->plain || !json_is_array(e->data)) {
        return e->plain;
    }
    json_t *args = json_array(), *frame = NULL;
    bool event = e->type == SIOC__SIO_EVENT || e->type == SIOC__SIO_BINARY_EVENT;
    bool ack = e->type == SIOC__SIO_ACK || e->type == SIOC__SIO_BINARY_ACK;
    for (size_t i = event ? 1 : 0; args && i < json_array_size(e->data); i++) {
        json_array_append_new(args, plain_value(json_array_get(e->data, i)));
    }
    if (event) {
        frame = json_pack("{s:O,s:o}", "name", json_array_get(e->data, 0), "data", args);
    } else if (ack) {
        frame = json_pack("{s:I,s:o}", "id", (json_int_t)e->id, "data", args);
    } else {
        json_decref(args);
    }
    char *text = frame ? json_dumps(frame, JSON_COMPACT) : NULL;
    json_decref(frame);
    if (text) {
        size_t len = strlen(text);
        e->plain = sioc__msg_alloc(len, false);
        if (e->plain) {
            memcpy(sioc__msg_payload(e->plain), text, len);
        }
        free(text);
    }
    return e->plain;
}

int sioc__sio_decode_plain(const char *s, size_t n, json_t **root, const char **name, json_t **args,
                           int64_t *id, const char **error)
{
    *args = NULL;
    *id = -1;
    *root = json_loadb(s, n, JSON_ALLOW_NUL, NULL);
    json_t *jname = json_object_get(*root, "name");
    json_t *data = json_object_get(*root, "data");
    json_t *jid = json_object_get(*root, "id");
    if (!json_is_object(*root)) {
        *error = "expected a JSON object {\"name\": ..., \"data\": [...]}";
    } else if (!json_is_string(jname) || reserved_event(json_string_value(jname))) {
        *error = "\"name\" must be a string and not a reserved event name";
    } else if (data && !json_is_array(data)) {
        *error = "\"data\" must be an array";
    } else if (jid && (!json_is_integer(jid) || json_integer_value(jid) < 0)) {
        *error = "\"id\" must be a non-negative integer";
    } else {
        *name = json_string_value(jname);
        *args = data ? json_incref(data) : json_array();
        *id = jid ? json_integer_value(jid) : -1;
        return *args ? 0 : -1;
    }
    return -1;
}
