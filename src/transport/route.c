/* Worker processes (--workers): a request naming a session another worker owns goes to that
 * worker. The front door (front.c) has peeked at the request head; the sid's last character names
 * the owner (sioc__sid_worker); the descriptor crosses over the owner's datagram socket
 * (SCM_RIGHTS, the request still unread in it) and the owner hands it to libwebsockets as if it had
 * accepted it. Nothing is shared between workers but those sockets, which the primary made. */
#include "transport/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/options.h"
#include "util/base64.h"
#include "util/log.h"

/* The sid in the request line at the start of `head` (`len` bytes, not NUL-terminated), or
 * NULL. */
static const char *request_sid(const char *head, size_t len, size_t *sid_len)
{
    const char *eol = memchr(head, '\n', len);
    const char *end = eol ? eol : head + len;
    const char *q = memchr(head, '?', (size_t)(end - head));
    for (const char *p = q; p && p + 5 <= end; p++) {
        if ((*p == '?' || *p == '&') && memcmp(p + 1, "sid=", 4) == 0) {
            const char *sid = p + 5, *e = sid;
            while (e < end && *e != '&' && *e != ' ' && *e != '\r') {
                e++;
            }
            *sid_len = (size_t)(e - sid);
            return sid;
        }
    }
    return NULL;
}

/* Sends `fd` over `channel`. 0, or -1 (then `fd` is still ours). */
static int send_fd(int channel, int fd)
{
    char byte = 'c';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(channel, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -1;
}

bool sioc__route_away(sioc__transport *tr, int fd, const char *head, size_t len)
{
    const sioc__worker_cfg *w = tr->opts->worker;
    size_t sid_len = 0;
    const char *sid = w ? request_sid(head, len, &sid_len) : NULL;
    int owner = sid ? sioc__sid_worker(sid, sid_len) : -1;
    if (owner < 0 || (unsigned)owner == w->index || (unsigned)owner >= w->count) {
        return false; /* ours, or nobody's: answered here (a sid unknown gets Node's 400) */
    }
    if (send_fd(w->route_fds[owner], fd) < 0) {
        if (!tr->route_failed_logged) {
            tr->route_failed_logged = true;
            sioc__log(SIOC_LOG_WARN,
                      "workers: a request for worker %d could not be handed to it "
                      "(%s); answered here (further ones silently)",
                      owner, strerror(errno));
        }
        return false;
    }
    close(fd); /* the owner has its own copy now */
    tr->routed_out++;
    return true;
}

/* Takes every descriptor waiting on this worker's socket: requests for its sessions. */
static void on_routed(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    sioc__transport *tr = h->data;
    for (int i = 0; i < 256; i++) {
        char byte;
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = sizeof(u.buf)};
        const sioc__worker_cfg *w = tr->opts->worker;
        if (recvmsg(w->route_fds[w->index], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0) {
            return;
        }
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
            tr->routed_in++;
            sioc__front_adopt(tr, fd);
        }
    }
}

int sioc__route_start(sioc__transport *tr)
{
    const sioc__worker_cfg *w = tr->opts->worker;
    if (!w) {
        return 0;
    }
    if (!tr->uv) {
        sioc__log(SIOC_LOG_ERROR, "workers: need the libuv event loop");
        return SIOC_ERR_INVALID;
    }
    if (uv_poll_init_socket(tr->uv, &tr->route_poll, w->route_fds[w->index]) != 0) {
        return SIOC_ERR_SYSTEM;
    }
    tr->route_poll.data = tr;
    tr->routing = true;
    return uv_poll_start(&tr->route_poll, UV_READABLE, on_routed) == 0 ? 0 : SIOC_ERR_SYSTEM;
}

void sioc__route_stop(sioc__transport *tr)
{
    if (tr->routing) {
        const sioc__worker_cfg *w = tr->opts->worker;
        sioc__log(SIOC_LOG_INFO,
                  "workers: worker %u handed %lu requests to the others and took %lu of theirs",
                  w->index, tr->routed_out, tr->routed_in);
        tr->routing = false;
        uv_close((uv_handle_t *)&tr->route_poll, NULL);
    }
}
