/* Worker processes (--workers, sioc_options_set_workers): the primary process that starts them,
 * starts again one that dies, and stops them all.
 *
 * The primary holds no server. Before the first fork it reserves the port (a socket bound with
 * SO_REUSEPORT, never listening: the kernel spreads connections over listening sockets only, the
 * workers') and makes one datagram socket pair per worker, over which the others send it the
 * connections of its sessions (transport/route.c). It keeps every pair, so that a worker started
 * again finds its own. Each worker is a full server; the program's setup runs in each. */
#include "server/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapter/bus.h"
#include "util/log.h"
#include "util/notify.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A worker that lived this long starts again after the shortest wait. */
#define STEADY_MS 10000
/* How long the primary waits for the workers to listen before it says they do. */
#define READY_TIMEOUT_MS 20000

typedef struct worker {
    int bus_fd; /* its listening socket for the workers' link, kept for a worker started again */
    pid_t pid;  /* 0 while not running */
    uint64_t started_ms; /* when it was last started */
    uint64_t restart_ms; /* when to start it again (0: not waiting) */
    unsigned backoff_ms; /* the next wait after an exit */
    bool ever_ready;     /* it has listened at least once */
    int pair[2];         /* [0]: read by this worker; [1]: written by the others */
} worker;

typedef struct primary {
    const char *prog;
    unsigned n;
    worker w[SIOC__MAX_WORKERS];
    int ready[2];   /* workers write their index here once they listen */
    int reserved;   /* the port, bound */
    char group[48]; /* the workers' link's names: "sioc.<primary's pid>" */
    bool unclean;   /* a worker stopped with an error */
    sioc__worker_main_fn run;
    void *arg;
    sioc_options *opts;
} primary;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Binds (never listens) a socket with SO_REUSEPORT to host:port: the port is the workers' from
 * now on, and a port of 0 becomes the one the kernel picked. The descriptor, or -1. */
static int reserve_port(const char *host, int *port)
{
    struct addrinfo hints = {
        .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    char service[8];
    snprintf(service, sizeof(service), "%d", *port);
    if (getaddrinfo(host, service, &hints, &res) != 0) {
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
              setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0 &&
              bind(fd, res->ai_addr, res->ai_addrlen) == 0;
    freeaddrinfo(res);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (!ok || getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Worker i's listening socket for the workers' link, bound to its abstract name (nothing on disk
 * to clean up; the name goes with the socket). The descriptor, or -1. */
static int bus_listener(const char *group, unsigned i)
{
    struct sockaddr_un addr;
    unsigned len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (sioc__bus_address(group, i, &addr, &len) < 0 ||
                    bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 64) < 0)) {
        sioc__log(SIOC_LOG_ERROR, "workers: cannot listen for worker %u: %s", i, strerror(errno));
        close(fd);
        fd = -1;
    }
    return fd;
}

/* In the new worker process: its configuration, then the server. Never returns. */
static void become_worker(primary *p, unsigned i)
{
    static sioc__worker_cfg cfg; /* the options borrow it for the process's life */
    cfg.index = i;
    cfg.count = p->n;
    snprintf(cfg.group, sizeof(cfg.group), "%s", p->group);
    for (unsigned j = 0; j < p->n; j++) {
        cfg.route_fds[j] = p->w[j].pair[j == i ? 0 : 1];
        close(p->w[j].pair[j == i ? 1 : 0]);
        if (j == i) {
            cfg.bus_fd = p->w[j].bus_fd;
        } else {
            close(p->w[j].bus_fd);
        }
    }
    close(p->ready[0]);
    close(p->reserved);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL); /* the primary's blocked signals are its own */
    p->opts->worker = &cfg;
    int rc = p->run(p->opts, p->ready[1], p->arg);
    sioc_options_free(p->opts);
    exit(rc);
}

static int start_worker(primary *p, unsigned i)
{
    worker *w = &p->w[i];
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        sioc__log(SIOC_LOG_ERROR, "workers: cannot start worker %u: %s", i, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        become_worker(p, i);
    }
    w->pid = pid;
    w->started_ms = now_ms();
    w->restart_ms = 0;
    return 0;
}

/* A worker has exited: started again after its backoff, unless it never got to listen (then the
 * configuration is wrong, and starting it again would fail the same way). While stopping, one that
 * did not end cleanly makes the primary's exit code 1. */
static int worker_exited(primary *p, unsigned i, int status, bool stopping)
{
    worker *w = &p->w[i];
    long pid = (long)w->pid;
    w->pid = 0;
    if (stopping) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            sioc__log(SIOC_LOG_ERROR, "workers: worker %u (pid %ld) did not stop cleanly", i, pid);
            p->unclean = true;
        }
        return 0;
    }
    char how[64];
    if (WIFSIGNALED(status)) {
        snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(how, sizeof(how), "exited with %d", WEXITSTATUS(status));
    }
    if (!w->ever_ready) {
        sioc__log(SIOC_LOG_ERROR, "workers: worker %u %s before it listened: stopping", i, how);
        return -1;
    }
    uint64_t now = now_ms();
    if (now - w->started_ms >= STEADY_MS) {
        w->backoff_ms = BACKOFF_MIN_MS;
    }
    w->restart_ms = now + w->backoff_ms;
    sioc__log(SIOC_LOG_WARN, "workers: worker %u (pid %ld) %s; starting it again in %u ms", i, pid,
              how, w->backoff_ms);
    w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
    return 0;
}

/* Reaps every exited worker. -1 when one failed before it ever listened. */
static int reap(primary *p, bool stopping)
{
    int status, rc = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < p->n; i++) {
            if (p->w[i].pid == pid && worker_exited(p, i, status, stopping) < 0) {
                rc = -1;
            }
        }
    }
    return rc;
}

/* Marks the workers that have said they listen (a byte each, their index). */
static void read_ready(primary *p)
{
    unsigned char buf[64];
    ssize_t n;
    while ((n = read(p->ready[0], buf, sizeof(buf))) > 0) {
        for (ssize_t k = 0; k < n; k++) {
            if (buf[k] < p->n) {
                p->w[buf[k]].ever_ready = true;
            }
        }
    }
}

static bool all_ready(const primary *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (!p->w[i].ever_ready) {
            return false;
        }
    }
    return true;
}

static bool any_running(const primary *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (p->w[i].pid) {
            return true;
        }
    }
    return false;
}

static void signal_all(const primary *p, int sig)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (p->w[i].pid) {
            kill(p->w[i].pid, sig);
        }
    }
}

/* The next wait: until the earliest restart, or a while to look at the ready pipe. */
static struct timespec next_wait(const primary *p)
{
    uint64_t now = now_ms(), wait = all_ready(p) ? 1000 : 20;
    for (unsigned i = 0; i < p->n; i++) {
        uint64_t due = p->w[i].restart_ms;
        if (due && (due <= now ? 0 : due - now) < wait) {
            wait = due <= now ? 0 : due - now;
        }
    }
    struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000};
    return ts;
}

/* Runs until SIGTERM or SIGINT (then every worker is stopped and waited for: 0), or until a worker
 * fails before it ever listened (1). `said` is called once every worker listens. */
static int supervise(primary *p, void (*said)(int port, unsigned n, void *arg), int port)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    bool stopping = false, told = false;
    uint64_t deadline = now_ms() + READY_TIMEOUT_MS;
    int rc = 0;
    while (!stopping || any_running(p)) {
        struct timespec ts = next_wait(p);
        int sig = sigtimedwait(&set, NULL, &ts);
        if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
            stopping = true;
            sioc__notify("STOPPING=1"); /* the primary is the service's main process */
            signal_all(p, SIGTERM);     /* each drains as a single server does */
        }
        if (reap(p, stopping) < 0 && !stopping) {
            stopping = true;
            rc = 1;
            signal_all(p, SIGTERM);
        }
        read_ready(p);
        if (!told && all_ready(p)) {
            told = true;
            said(port, p->n, p->arg);
        } else if (!told && !stopping && now_ms() > deadline) {
            sioc__log(SIOC_LOG_ERROR, "workers: not all listening after %d s: stopping",
                      READY_TIMEOUT_MS / 1000);
            stopping = true;
            rc = 1;
            signal_all(p, SIGTERM);
        }
        uint64_t now = now_ms();
        for (unsigned i = 0; !stopping && i < p->n; i++) {
            if (p->w[i].restart_ms && p->w[i].restart_ms <= now) {
                start_worker(p, i);
            }
        }
    }
    return rc;
}

int sioc__workers_main(unsigned n, sioc_options *opts, sioc__worker_main_fn run,
                       void (*said)(int port, unsigned n, void *arg), void *arg)
{
    static primary p; /* large, and the forked workers read it */
    memset(&p, 0, sizeof(p));
    p.n = n;
    p.run = run;
    p.arg = arg;
    p.opts = opts;
    int port = opts->port;
    int reserved = reserve_port(opts->host, &port);
    if (reserved < 0) {
        sioc__log(SIOC_LOG_ERROR, "cannot listen on %s:%d", opts->host ? opts->host : "*",
                  opts->port);
        return 1;
    }
    opts->port = port;
    p.reserved = reserved;
    bool ok = pipe2(p.ready, O_CLOEXEC | O_NONBLOCK) == 0;
    snprintf(p.group, sizeof(p.group), "sioc.%ld", (long)getpid());
    for (unsigned i = 0; ok && i < n; i++) {
        p.w[i].backoff_ms = BACKOFF_MIN_MS;
        ok = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p.w[i].pair) == 0 &&
             (p.w[i].bus_fd = bus_listener(p.group, i)) >= 0;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (unsigned i = 0; ok && i < n; i++) {
        ok = start_worker(&p, i) == 0;
    }
    int rc = ok ? supervise(&p, said, port) : 1;
    rc = rc ? rc : p.unclean ? 1 : 0;
    if (!ok) {
        signal_all(&p, SIGTERM);
        while (wait(NULL) > 0) {
        }
    }
    close(reserved);
    return rc;
}
