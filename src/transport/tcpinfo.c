/* What the kernel knows of a connection's traffic, for input backpressure: whether a recipient's
 * peer is still taking bytes, when lws is flushing one large message over many turns. Apart from
 * the other transport files: <linux/tcp.h> (which has the counters) and <netinet/tcp.h> (which
 * lws's headers bring in) cannot be included together. */
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/tcpinfo.h"

uint64_t sioc__tcp_bytes_acked(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(ti.tcpi_bytes_acked)) {
        return 0;
    }
    return ti.tcpi_bytes_acked;
}
