/* WebSocket input. After the 101, libwebsockets stops reading a WebSocket (rx flow control) and
 * sioc reads it itself (wsframe.h says why), told which ones have input by an epoll set of its own:
 * one descriptor for the whole server, watched by lws as a raw file, as the listener is. The
 * connection stays lws's: it writes, times out and closes it as before. (Moving each WebSocket to
 * a raw connection of its own instead costs a second close per connection, and every lws close
 * scans the whole connection table.) */
#include "transport/internal.h"

#include <assert.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

/* Ready WebSockets taken per wake; the rest are reported again at once (level-triggered). */
#define READ_BATCH 64

int sioc__wsread_start(sioc__transport *tr)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        return SIOC_ERR_SYSTEM;
    }
    lws_sock_file_fd_type d = {.filefd = fd};
    tr->ws_epoll_wsi =
        lws_adopt_descriptor_vhost(tr->vhost, LWS_ADOPT_RAW_FILE_DESC, d, "sioc", NULL);
    if (!tr->ws_epoll_wsi) {
        close(fd);
        return SIOC_ERR_SYSTEM;
    }
    lws_set_opaque_user_data(tr->ws_epoll_wsi, &tr->ws_epoll);
    tr->ws_epoll = fd; /* lws closes it with the context */
    return 0;
}

int sioc__wsread_add(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    assert(!c->reading);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = wsi};
    if (tr->ws_epoll < 0 ||
        epoll_ctl(tr->ws_epoll, EPOLL_CTL_ADD, (int)lws_get_socket_fd(wsi), &ev) < 0) {
        return -1;
    }
    lws_rx_flow_control(wsi, 0); /* from here on lws reads nothing of it */
    c->reading = true;
    return 0;
}

void sioc__wsread_remove(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    if (!c->reading) {
        return;
    }
    c->reading = false;
    if (tr->ws_epoll >= 0) {
        struct epoll_event unused;
        epoll_ctl(tr->ws_epoll, EPOLL_CTL_DEL, (int)lws_get_socket_fd(wsi), &unused);
    }
    for (int i = 0; i < tr->ws_nready; i++) { /* not read later in the batch being read */
        if (tr->ws_ready[i].data.ptr == wsi) {
            tr->ws_ready[i].data.ptr = NULL;
        }
    }
    for (size_t i = 0; i < tr->ntls_again; i++) {
        if (tr->tls_again[i] == wsi) {
            tr->tls_again[i] = NULL;
        }
    }
}

/* Paused TLS WebSockets that resumed with input already decrypted: read from the next tick. */
static void read_again_later(sioc__transport *tr, struct lws *wsi)
{
    for (size_t i = 0; i < tr->ntls_again; i++) {
        if (tr->tls_again[i] == wsi) {
            return;
        }
    }
    if (tr->ntls_again == tr->captls_again) {
        size_t cap = tr->captls_again ? 2 * tr->captls_again : 16;
        struct lws **grown = realloc(tr->tls_again, cap * sizeof(*grown));
        if (!grown) {
            return; /* read when more arrives on the socket */
        }
        tr->tls_again = grown;
        tr->captls_again = cap;
    }
    tr->tls_again[tr->ntls_again++] = wsi;
}

void sioc__wsread_pause(sioc__transport *tr, struct lws *wsi, bool paused)
{
    sioc__pss *c = lws_wsi_user(wsi);
    if (!c || !c->reading || tr->ws_epoll < 0) {
        return;
    }
    struct epoll_event ev = {.events = paused ? 0 : EPOLLIN, .data.ptr = wsi};
    epoll_ctl(tr->ws_epoll, EPOLL_CTL_MOD, (int)lws_get_socket_fd(wsi), &ev);
    c->read_paused = paused;
    SSL *ssl = tr->tls ? (SSL *)lws_get_ssl(wsi) : NULL;
    if (!paused && ssl && SSL_has_pending(ssl)) {
        read_again_later(tr, wsi);
    }
}

/* Stops reading the WebSocket and has lws close it from its next service, without a close frame
 * or a shutdown (what was to be said has been). */
static void hang_up(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    sioc__wsread_remove(tr, wsi, c);
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* A TLS WebSocket: what OpenSSL decrypts, until it wants more from the socket. What it has
 * buffered does not wake epoll, so it is read to the end now, unless the connection is paused
 * (backpressure): then sioc__wsread_pause lists it to be read again when it resumes. */
static void read_tls(sioc__transport *tr, struct lws *wsi, sioc__pss *c)
{
    SSL *ssl = (SSL *)lws_get_ssl(wsi);
    while (ssl && c->reading && !c->read_paused) {
        ERR_clear_error();
        int n = SSL_read(ssl, tr->ws_rx, (int)sizeof(tr->ws_rx));
        if (n > 0) {
            if (sioc__eio_ws_receive(tr, wsi, c, tr->ws_rx, (size_t)n) < 0) {
                hang_up(tr, wsi, c);
                return;
            }
            continue;
        }
        int err = SSL_get_error(ssl, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
            hang_up(tr, wsi, c); /* closed, or broken */
        }
        return;
    }
}

void sioc__wsread_tls_again(sioc__transport *tr)
{
    for (size_t i = 0; i < tr->ntls_again; i++) { /* entries may go NULL as they are read */
        struct lws *wsi = tr->tls_again[i];
        sioc__pss *c = wsi ? lws_wsi_user(wsi) : NULL;
        if (c && c->reading && !c->read_paused) {
            read_tls(tr, wsi, c);
        }
    }
    tr->ntls_again = 0;
}

static void read_one(sioc__transport *tr, struct lws *wsi)
{
    sioc__pss *c = lws_wsi_user(wsi);
    if (tr->tls) {
        read_tls(tr, wsi, c);
        return;
    }
    ssize_t n = recv((int)lws_get_socket_fd(wsi), tr->ws_rx, sizeof(tr->ws_rx), 0);
    if (n > 0) {
        if (sioc__eio_ws_receive(tr, wsi, c, tr->ws_rx, (size_t)n) < 0) {
            hang_up(tr, wsi, c);
        }
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    /* The peer has gone (or reset): its session ends when lws reports the close. */
    hang_up(tr, wsi, c);
}

static void read_ready(sioc__transport *tr)
{
    struct epoll_event ready[READ_BATCH];
    int n = epoll_wait(tr->ws_epoll, ready, READ_BATCH, 0);
    tr->ws_ready = ready;
    tr->ws_nready = n > 0 ? n : 0;
    for (int i = 0; i < tr->ws_nready; i++) {
        if (ready[i].data.ptr) {
            read_one(tr, ready[i].data.ptr);
        }
    }
    tr->ws_ready = NULL;
    tr->ws_nready = 0;
}

int sioc__wsread_raw(sioc__transport *tr, struct lws *wsi, enum lws_callback_reasons reason)
{
    if (reason == LWS_CALLBACK_RAW_RX_FILE) {
        read_ready(tr);
    } else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
        lws_set_opaque_user_data(wsi, NULL); /* WSI_DESTROY takes it for idle.c's */
        tr->ws_epoll_wsi = NULL;
        tr->ws_epoll = -1;
    }
    return 0;
}
