/* What the Streams adapter's two halves share: streams.c (the streams and the messages) and
 * streams_session.c (sessions in Redis: kept current, taken back, replayed). Private to them. */
#ifndef SIOC_ADAPTER_STREAMS_INTERNAL_H
#define SIOC_ADAPTER_STREAMS_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "adapter/cluster_msg.h"
#include "adapter/cluster_requests.h"
#include "adapter/streams.h"
#include "util/map.h"

/* A stream entry id, "<ms>-<seq>". */
typedef struct sioc__stream_id {
    uint64_t ms, seq;
} sioc__stream_id;

/* Parses "<ms>-<seq>" (Node's /^[0-9]+-[0-9]+$/). Returns whether it is one. */
bool sioc__stream_id_parse(const char *s, size_t len, sioc__stream_id *out);
int sioc__stream_id_cmp(sioc__stream_id a, sioc__stream_id b);

/* How far this node has read a stream. */
typedef struct sioc__stream_pos {
    char *name;
    char last[48]; /* the last id read, or "$" until the stream's end is known */
    sioc__stream_id id;
    struct sioc__streams *st;
    sioc__redis_query *probe; /* the XREVRANGE that asks where the stream ends */
} sioc__stream_pos;

struct sioc__streams {
    sioc__streams_config *cfg;
    sioc__link adapters; /* sioc__stnsp */
    sioc__stream_pos *streams;
    sioc__redis_query *read; /* the XREAD in flight */
    sioc__timer retry;       /* after an error, the next XREAD */
    unsigned probing;        /* XREVRANGEs in flight */
    bool error_logged;
};

/* A namespace's adapter. */
typedef struct sioc__stnsp {
    sioc__adapter base; /* first */
    sioc__link link;    /* in the state's list */
    sioc__streams_config *cfg;
    char uid[17];
    char *channel;   /* "<prefix>#<nsp>#": ephemeral requests; its subscribers are the nodes */
    char *responses; /* "<prefix>#<nsp>#<uid>#" */
    unsigned stream; /* index in the state's streams */
    sioc__redis_sub *main_sub, *response_sub;
    sioc__cluster_requests requests; /* this node's */
    sioc__link adds;                 /* broadcasts waiting for their XADD's id */
    sioc__link restores;             /* sessions being taken back */
    sioc__map records;               /* pid -> sioc__record: the sessions kept current */
    sioc__link dirty;                /* records to write on the next tick */
    sioc__link by_age;               /* records, least recently written first */
    sioc__timer flush, renew;
    bool bad_logged; /* a malformed message was said */
} sioc__stnsp;

/* The adapter of `nsp` when it is a Streams one, else NULL. */
sioc__stnsp *sioc__streams_of(sioc_namespace *nsp);
const sioc__stream_pos *sioc__stnsp_pos(const sioc__stnsp *a);

/* ---- streams_wire.c: sans-I/O ---- */

/* How many streams a node reads: streamCount, and as many again less one for the names a
 * negative hash gives. Node's computeStreamName for `nsp`, as an index into those; and the name
 * of stream `index` (a new string, or NULL). */
unsigned sioc__streams_count(const sioc__streams_config *cfg);
unsigned sioc__streams_index(const sioc__streams_config *cfg, const char *nsp);
char *sioc__streams_name(const sioc__streams_config *cfg, unsigned index);
/* `data` as a stream entry's field, appended to `out`: JSON, or base64 of msgpack when it holds
 * binary. 0, or -1 on no memory. */
int sioc__streams_entry_data(json_t *data, sioc__buf *out);
/* A field's value (a string) in an entry's [field, value, ...]; NULL when absent. */
const redisReply *sioc__streams_field(const redisReply *fields, const char *name);
/* A stream entry's fields as a message: {uid, nsp, type, data} (data decoded from JSON or from
 * base64 of msgpack), checked (cluster_msg.h). 0, or -1 with *why. */
int sioc__streams_entry(const redisReply *fields, sioc__cm *out, const char **why);
/* A session record: base64 of msgpack {sid, pid, rooms, data}, as Node's adapter writes it. A
 * new string, or NULL. And back (`now_ms` its time): a new session, or NULL when it is not
 * one. */
char *sioc__streams_session_encode(const sioc__saved_session *session);
sioc__saved_session *sioc__streams_session_decode(const char *text, size_t len, uint64_t now_ms);

/* streams_session.c */
void sioc__streams_sessions_init(sioc__stnsp *a);
void sioc__streams_sessions_close(sioc__stnsp *a);
/* Redis came back (perhaps empty): every record is written again. */
void sioc__streams_sessions_rewrite(sioc__stnsp *a);
void sioc__streams_persist_session(sioc__adapter *base, sioc__saved_session *session);
void sioc__streams_restore_session(sioc__adapter *base, const char *pid, const char *offset,
                                   sioc__restore_cb cb, void *arg);

#endif
