/* The kernel's counters of a TCP connection (tcpinfo.c). */
#ifndef SIOC_TRANSPORT_TCPINFO_H
#define SIOC_TRANSPORT_TCPINFO_H

#include <stdint.h>

/* Bytes sent on socket `fd` that its peer has acknowledged: grows while the peer's kernel takes
 * data (it stops once the peer's application stops reading and its window is full). 0 when the
 * kernel does not say (not TCP, or too old). */
uint64_t sioc__tcp_bytes_acked(int fd);

#endif
