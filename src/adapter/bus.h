/* The workers' link (--workers): every worker process of one server sends frames to every other
 * over Unix stream sockets, on the server's libuv loop. Worker i listens on a socket its primary
 * made (so that a worker started again listens on the same one) and connects to the others',
 * again and again while one is down; a frame is a 4-byte big-endian length and that many bytes. A
 * connection's first frame names its sender. */
#ifndef SIOC_ADAPTER_BUS_H
#define SIOC_ADAPTER_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct sioc__bus sioc__bus;

/* A frame from worker `from` (`data` borrowed for the call). */
typedef void (*sioc__bus_frame_cb)(void *arg, unsigned from, const void *data, size_t len);
/* Worker `peer` can be sent to from now on (`up`), or no longer. */
typedef void (*sioc__bus_peer_cb)(void *arg, unsigned peer, bool up);

/* The largest frame: what a broadcast of maxHttpBufferSize can grow to, and more. */
#define SIOC__BUS_MAX_FRAME (64u << 20)

/* Worker `self` of `count`, on `loop` (borrowed): it accepts on `listen_fd` (a listening Unix
 * stream socket, taken over) and connects to the others at the abstract socket names
 * "\0<group>.<i>" (`group` copied). NULL on no memory or a bad descriptor. */
sioc__bus *sioc__bus_new(uv_loop_t *loop, const char *group, unsigned self, unsigned count,
                         int listen_fd, sioc__bus_frame_cb on_frame, sioc__bus_peer_cb on_peer,
                         void *arg);
/* Queues a frame of `len` bytes (copied) to `peer`. 0, or SIOC_ERR_CLOSED while it is down (or
 * so far behind that it was let go of), SIOC_ERR_TOO_LARGE, SIOC_ERR_NOMEM. */
int sioc__bus_send(sioc__bus *b, unsigned peer, const void *data, size_t len);
/* How many workers can be sent to now, this one not counted. */
unsigned sioc__bus_peers_up(const sioc__bus *b);
/* Closes every connection (their handles go with the loop's next turns) and frees the link once
 * they have. Accepts NULL. */
void sioc__bus_free(sioc__bus *b);

/* The abstract name worker `i` of `group` listens on, in `out` (a sockaddr_un and its length):
 * for the primary, which binds them. */
struct sockaddr_un;
int sioc__bus_address(const char *group, unsigned i, struct sockaddr_un *out, unsigned *len);

#endif
