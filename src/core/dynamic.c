/* Dynamic namespaces: parents that match names (a regular expression or a callback) and the
 * children they create on first connect. */
#include "core/sio.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/container.h"

sioc_namespace *sioc__core_parent_new(sioc__core *sio, const char *pattern,
                                      sioc_namespace_match_cb cb, void *user_data)
{
    sioc_namespace *p = calloc(1, sizeof(*p));
    if (!p || !(p->name = strdup(pattern ? pattern : "<match>"))) {
        free(p);
        return NULL;
    }
    if (pattern && regcomp(&p->regex, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        free(p->name);
        free(p);
        return NULL;
    }
    p->has_regex = pattern != NULL;
    p->is_parent = true;
    p->match = cb;
    p->match_data = user_data;
    p->sio = sio;
    sioc__list_init(&p->server_acks);
    /* Node's ParentNamespace: a local adapter, whatever the children's (emitting on a parent
     * emits on each child, through the child's). */
    if (sioc__namespace_adapter_open(p, &sioc__memory_adapter) < 0) {
        if (p->has_regex) {
            regfree(&p->regex);
        }
        free(p->name);
        free(p);
        return NULL;
    }
    /* Parents are kept apart: no client ever joins one directly. */
    p->next = sio->parents;
    sio->parents = p;
    return p;
}

static bool accepts(sioc_namespace *p, const char *name, json_t *auth)
{
    if (p->has_regex) {
        return regexec(&p->regex, name, 0, NULL, 0) == 0;
    }
    return p->match && p->match(name, auth, p->match_data);
}

/* What Node's createChild copies: middleware and listeners, as they are now. */
static int inherit(sioc_namespace *child, sioc_namespace *p)
{
    child->parent = p;
    child->on_connection = p->on_connection;
    child->connection_data = p->connection_data;
    child->on_disconnecting = p->on_disconnecting;
    child->disconnecting_data = p->disconnecting_data;
    child->on_disconnect = p->on_disconnect;
    child->disconnect_data = p->disconnect_data;
    child->on_any = p->on_any;
    child->any_data = p->any_data;
    child->on_error = p->on_error;
    child->error_data = p->error_data;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->nmws; i++) {
        rc = sioc_namespace_use(child, p->mws[i].cb, p->mws[i].user_data);
    }
    for (size_t i = 0; rc == 0 && i < p->npmws; i++) {
        rc = sioc_namespace_use_packet(child, p->pmws[i].packet_cb, p->pmws[i].user_data);
    }
    sioc__handler *h;
    for (size_t pos = 0; rc == 0 && (h = sioc__map_next(&p->handlers, &pos));) {
        rc = sioc_namespace_on(child, h->event, h->cb.client, h->user_data);
    }
    return rc;
}

static void unlink_namespace(sioc__core *sio, sioc_namespace *nsp)
{
    for (sioc_namespace **at = &sio->nsps; *at; at = &(*at)->next) {
        if (*at == nsp) {
            *at = nsp->next;
            return;
        }
    }
}

/* Whether one more child may be created; says so in the log (at most every 10 s) when not. */
static bool below_limit(sioc__core *sio, const char *name)
{
    if (!sio->max_children || sio->nchildren < sio->max_children) {
        return true;
    }
    uint64_t now = sioc__wheel_now(sio->wheel);
    if (!sio->limit_logged_ms || now - sio->limit_logged_ms >= 10000) {
        sio->limit_logged_ms = now ? now : 1;
        sioc__log(SIOC_LOG_WARN, "dynamic namespace limit (%zu) reached: refusing %s",
                  sio->max_children, name);
    }
    return false;
}

sioc_namespace *sioc__core_resolve(sioc__core *sio, const char *name, json_t *auth,
                                   const char **refusal)
{
    *refusal = "Invalid namespace";
    sioc_namespace *nsp = sioc__core_find(sio, name);
    if (nsp) {
        return nsp;
    }
    for (sioc_namespace *p = sio->parents; p; p = p->next) {
        if (!accepts(p, name, auth)) {
            continue;
        }
        if (!below_limit(sio, name)) {
            *refusal = "Namespace limit reached";
            return NULL;
        }
        sioc_namespace *child = sioc__namespace_new(sio, name);
        if (!child) {
            return NULL;
        }
        if (inherit(child, p) < 0) {
            unlink_namespace(sio, child);
            sioc__namespace_free(child);
            return NULL;
        }
        sio->nchildren++;
        sioc__log(SIOC_LOG_INFO, "namespace %s created by parent %s", name, p->name);
        SIOC__NOTIFY(sio, namespace_created, child);
        return child;
    }
    return NULL;
}

static void on_cleanup(sioc__timer *t)
{
    sioc_namespace *nsp = CONTAINER(t, sioc_namespace, cleanup_timer);
    if (nsp->sockets.count == 0) {
        sioc__log(SIOC_LOG_INFO, "namespace %s removed: empty", nsp->name);
        nsp->sio->nchildren--;
        unlink_namespace(nsp->sio, nsp);
        sioc__namespace_free(nsp);
    }
}

void sioc__child_maybe_cleanup(sioc_namespace *nsp)
{
    /* Removed from the next tick, never inside a callback that may still hold it. */
    if (nsp->sio->cleanup_empty_children && nsp->sockets.count == 0) {
        sioc__timer_start(nsp->sio->wheel, &nsp->cleanup_timer, sioc__wheel_now(nsp->sio->wheel),
                          on_cleanup);
    }
}
