/* The Admin UI's basic authentication, as Node's: a session id from an earlier login, or the
 * username and a password checked against a bcrypt hash. The check costs tens of milliseconds of
 * CPU, so it runs on the server's worker thread (sioc_server_queue_work), never on the loop. */
#include "admin/admin_internal.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/log.h"

uint64_t sioc__admin_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool sioc__admin_hash_ok(const char *hash)
{
    return hash && strlen(hash) == 60 &&
           (strncmp(hash, "$2a$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0 ||
            strncmp(hash, "$2y$", 4) == 0) &&
           crypt_checksalt(hash) == CRYPT_SALT_OK;
}

/* ---- sessions ---- */

static bool session_valid(sioc__admin *a, const char *id)
{
    uint64_t now = sioc__admin_now_ms();
    for (size_t i = 0; i < a->nsessions; i++) {
        if (a->sessions[i].expires_ms > now && strcmp(a->sessions[i].id, id) == 0) {
            return true;
        }
    }
    return false;
}

/* A new session; its id (borrowed, as long as the session) or NULL when no unguessable id could
 * be had. */
static const char *session_new(sioc__admin *a)
{
    unsigned char raw[8];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        return NULL;
    }
    uint64_t now = sioc__admin_now_ms();
    size_t kept = 0;
    for (size_t i = 0; i < a->nsessions; i++) { /* the expired ones go */
        if (a->sessions[i].expires_ms > now) {
            a->sessions[kept++] = a->sessions[i];
        }
    }
    a->nsessions = kept;
    if (a->nsessions == SIOC__ADMIN_MAX_SESSIONS) { /* the oldest goes */
        memmove(a->sessions, a->sessions + 1, (a->nsessions - 1) * sizeof(*a->sessions));
        a->nsessions--;
    }
    if (!a->sessions && !(a->sessions = calloc(SIOC__ADMIN_MAX_SESSIONS, sizeof(*a->sessions)))) {
        return NULL;
    }
    sioc__admin_session *s = &a->sessions[a->nsessions++];
    for (int i = 0; i < 8; i++) {
        static const char hex[] = "0123456789abcdef";
        s->id[2 * i] = hex[raw[i] >> 4];
        s->id[2 * i + 1] = hex[raw[i] & 15];
    }
    s->id[16] = '\0';
    s->expires_ms = now + SIOC__ADMIN_SESSION_MS;
    return s->id;
}

void sioc__admin_sessions_free(sioc__admin *a)
{
    free(a->sessions);
    a->sessions = NULL;
    a->nsessions = 0;
}

/* ---- the password check ---- */

typedef struct check {
    sioc__admin *admin;
    sioc_next *next;
    char *password;
    char hash[61];
    bool ok;
} check;

/* On the worker thread: libxcrypt's bcrypt, compared in constant time. */
static void check_work(void *arg)
{
    check *c = arg;
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *out = cd ? crypt_rn(c->password, c->hash, cd, (int)sizeof(*cd)) : NULL;
    unsigned char diff = out == NULL || strlen(out) != 60;
    for (size_t i = 0; !diff && i < 60; i++) {
        diff |= (unsigned char)(out[i] ^ c->hash[i]);
    }
    c->ok = !diff;
    if (cd) {
        explicit_bzero(cd, sizeof(*cd));
    }
    free(cd);
}

static void check_done(sioc_server *server, int err, void *arg)
{
    check *c = arg;
    sioc__admin *a = c->admin;
    a->checking--;
    const char *session = err == 0 && c->ok ? session_new(a) : NULL;
    if (session) {
        a->granted_session = session; /* said by the connection handler, which runs now */
        sioc_next_accept(c->next);
        a->granted_session = NULL;
    } else {
        sioc_next_reject(c->next, "invalid credentials", NULL);
    }
    explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    free(c);
}

void sioc__admin_authenticate(sioc_socket *socket, sioc_next *next, void *user_data)
{
    sioc__admin *a = user_data;
    json_t *auth = sioc_socket_auth(socket);
    const char *session = json_string_value(json_object_get(auth, "sessionId"));
    if (session && session_valid(a, session)) {
        sioc_next_accept(next);
        return;
    }
    const char *user = json_string_value(json_object_get(auth, "username"));
    const char *password = json_string_value(json_object_get(auth, "password"));
    if (user && password && strcmp(user, a->username) == 0) {
        check *c = calloc(1, sizeof(*c));
        if (a->checking >= SIOC__ADMIN_MAX_CHECKS) {
            sioc__log(SIOC_LOG_WARN, "admin: %u logins being checked; one more refused",
                      a->checking);
        } else if (c && (c->password = strdup(password)) != NULL) {
            c->admin = a;
            c->next = next;
            memcpy(c->hash, a->hash, sizeof(c->hash));
            if (sioc_server_queue_work(a->server, check_work, check_done, c) == 0) {
                a->checking++;
                return;
            }
            free(c->password);
        }
        free(c);
    }
    sioc_next_reject(next, "invalid credentials", NULL);
}
