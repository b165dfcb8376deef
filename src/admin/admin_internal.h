/* What admin.c (the protocol) and admin_auth.c (logins and sessions) share. */
#ifndef SIOC_ADMIN_INTERNAL_H
#define SIOC_ADMIN_INTERNAL_H

#include <stdint.h>

#include "admin/admin.h"

/* A dashboard's login lasts a day (Node's stores keep a session 86400 s). */
#define SIOC__ADMIN_SESSION_MS (86400u * 1000u)
/* Sessions kept at once; past it the oldest goes. */
#define SIOC__ADMIN_MAX_SESSIONS 1024
/* Password checks waiting for the worker thread at once (each costs tens of milliseconds of
 * CPU); past it a login is refused at once, so that a flood of guesses cannot queue minutes. */
#define SIOC__ADMIN_MAX_CHECKS 16

typedef struct sioc__admin_session {
    char id[17]; /* 16 hex digits, as Node's randomBytes(8).toString("hex") */
    uint64_t expires_ms;
} sioc__admin_session;

typedef struct sioc__admin_gathering sioc__admin_gathering;

struct sioc__admin {
    sioc_server *server;
    sioc_namespace *nsp; /* the admin namespace */
    char *username;      /* NULL: no authentication */
    char *hash;
    bool readonly, dev;
    json_t *features;   /* the config's supportedFeatures */
    json_t *base_stats; /* serverId, hostname, pid */
    int observer_id, interval_id;
    uint64_t started_ms;
    unsigned ticks;
    sioc_engine_stats last; /* the counters at the last tick */
    json_t *events;         /* aggregatedEvents not sent yet: "ts;type;subType" -> event */
    sioc__admin_session *sessions;
    size_t nsessions;
    unsigned checking;                 /* password checks queued */
    const char *granted_session;       /* set while a login is let in: said to it on connection */
    sioc__admin_gathering *gatherings; /* all_sockets waiting for other nodes' answers */
};

/* admin_auth.c */
/* Whether `hash` is a bcrypt hash libcrypt checks ("$2a$", "$2b$", "$2y$", cost, 53 chars). */
bool sioc__admin_hash_ok(const char *hash);
/* The admin namespace's connection middleware: Node's basic authentication. */
void sioc__admin_authenticate(sioc_socket *socket, sioc_next *next, void *user_data);
void sioc__admin_sessions_free(sioc__admin *a);
/* Milliseconds on the monotonic clock. */
uint64_t sioc__admin_now_ms(void);

#endif
