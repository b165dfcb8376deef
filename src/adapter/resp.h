/* A Redis connection's protocol, sans-I/O (RESP2, what Redis 7 speaks to a client that never says
 * HELLO 3). Commands are formatted into the caller's output buffer and their callbacks queued;
 * bytes read are fed in, and each reply goes to the callback of the command it answers, in order
 * — or, once the connection has subscribed, to the message callback when it is a message
 * ("message", "pmessage" or "smessage"). hiredis 0.14.1 gives the reader and the formatter; its
 * async dispatcher is not used: it knows nothing of SSUBSCRIBE, and drops sharded messages. */
#ifndef SIOC_ADAPTER_RESP_H
#define SIOC_ADAPTER_RESP_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

typedef struct sioc__resp sioc__resp;

/* A command's reply, borrowed for the call; NULL when the connection was lost (or the protocol
 * reset) before it came. For a (S|P)SUBSCRIBE or (S|P)UNSUBSCRIBE: the confirmation of its last
 * channel, or the error that refused it. */
typedef void (*sioc__resp_reply_cb)(const redisReply *reply, void *arg);

/* A message heard on a subscription, borrowed for the call. */
typedef struct sioc__resp_message {
    const char *pattern; /* the pattern it matched ("pmessage"), else NULL */
    size_t pattern_len;
    const char *channel;
    size_t channel_len;
    const char *data;
    size_t len;
    bool sharded; /* "smessage": heard through SSUBSCRIBE */
} sioc__resp_message;
typedef void (*sioc__resp_message_cb)(void *arg, const sioc__resp_message *m);

/* A new protocol state; `on_message` (may be NULL) hears messages, with `arg`. NULL on no
 * memory. The caller owns it: sioc__resp_free. */
sioc__resp *sioc__resp_new(sioc__resp_message_cb on_message, void *arg);
/* Every queued callback gets NULL, then it is freed. Not from one of its callbacks. Accepts
 * NULL. */
void sioc__resp_free(sioc__resp *c);

/* Appends the command `argv` (`argc` arguments of `lens` bytes each, borrowed; binary-safe) to
 * `out` and queues `cb` (may be NULL) for its reply. A subscription command must name its
 * channels (no UNSUBSCRIBE of all: its confirmations cannot be counted). 0, or -1 (no memory, or
 * a subscription command without channels; then nothing was appended or queued). */
int sioc__resp_command(sioc__resp *c, sioc__buf *out, int argc, const char *const *argv,
                       const size_t *lens, sioc__resp_reply_cb cb, void *arg);

/* Feeds `len` bytes read from the connection: every complete reply is dispatched. A callback may
 * queue commands. 0, or -1 when the bytes are not RESP or answer nothing that was asked (*why
 * says which, a static string): the connection must then be closed and the state reset. */
int sioc__resp_feed(sioc__resp *c, const void *bytes, size_t len, const char **why);

/* The connection is gone: every queued callback gets NULL (in order), the reader starts anew,
 * and the subscriptions are forgotten (a new connection subscribes again). */
void sioc__resp_reset(sioc__resp *c);

/* How many replies are awaited; whether the connection is in subscribed mode. */
size_t sioc__resp_pending(const sioc__resp *c);
bool sioc__resp_subscribed(const sioc__resp *c);

#endif
