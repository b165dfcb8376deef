/* allowRequest (Node's `allowRequest(req, callback)`): asked at every handshake, answered during
 * the call (the synchronous form, or the asynchronous one deciding at once) or later. A request
 * waiting for its decision is this struct and the packed handshake, nothing more; the connection
 * that asked is resumed from its next writeable callback once the decision is in (engine_io.c). */
#include "transport/internal.h"

#include <stdlib.h>
#include <string.h>

#include "eio/handshake.h"
#include "util/jsonr.h"
#include "util/log.h"

static void request_free(sioc_request *r)
{
    sioc__list_remove(&r->link);
    free(r->message);
    free(r->handshake);
    free(r);
}

sioc__verdict sioc__allow_ask(sioc__transport *tr, const char *handshake, char **message,
                              sioc_request **out)
{
    const sioc_options *o = tr->opts;
    *message = NULL;
    *out = NULL;
    if (!o->allow_request && !o->allow_request_async) {
        return SIOC__ACCEPTED;
    }
    char *text = handshake ? sioc__handshake_unpack_build(handshake) : NULL;
    json_t *hs = text ? sioc__json_parse(text, strlen(text)) : NULL; /* as sioc_conn_handshake */
    free(text);
    if (!hs) {
        return SIOC__REJECTED;
    }
    if (o->allow_request) {
        const char *refusal = NULL;
        bool ok = o->allow_request(hs, &refusal, o->allow_request_data);
        json_decref(hs);
        *message = !ok && refusal ? strdup(refusal) : NULL;
        return ok ? SIOC__ACCEPTED : SIOC__REJECTED;
    }
    sioc_request *r = calloc(1, sizeof(*r));
    if (!r) {
        json_decref(hs);
        return SIOC__REJECTED;
    }
    r->tr = tr;
    sioc__list_append(&tr->asking, &r->link);
    r->asking = true;
    o->allow_request_async(hs, r, o->allow_request_data);
    r->asking = false;
    json_decref(hs);
    sioc__verdict v = r->verdict;
    if (v != SIOC__UNDECIDED) { /* decided during the call */
        *message = r->message;
        r->message = NULL;
        request_free(r);
        return v;
    }
    *out = r;
    return SIOC__UNDECIDED;
}

static void decide(sioc_request *r, sioc__verdict v, const char *message)
{
    if (!r || r->verdict != SIOC__UNDECIDED) {
        return; /* a second decision: the first one stands */
    }
    r->verdict = v;
    r->message = message ? strdup(message) : NULL;
    if (r->asking) {
        return; /* sioc__allow_ask reads it on return */
    }
    if (!r->wsi) {
        if (!r->upgrade_wsi) {
            request_free(r); /* its client has gone */
        }
        return; /* an upgrade between its question and its 101: resumed at ESTABLISHED */
    }
    lws_callback_on_writable(r->wsi);
}

void sioc_request_accept(sioc_request *r)
{
    decide(r, SIOC__ACCEPTED, NULL);
}

void sioc_request_reject(sioc_request *r, const char *message)
{
    decide(r, SIOC__REJECTED, message);
}

void sioc__allow_detach(sioc_request *r)
{
    r->wsi = NULL;
    r->pss = NULL;
    r->upgrade_wsi = NULL;
    if (r->tr->upgrade_asking == r) {
        r->tr->upgrade_asking = NULL;
    }
    if (r->verdict != SIOC__UNDECIDED) {
        request_free(r); /* decided, but its client left before hearing it */
    } else {
        sioc__log(SIOC_LOG_INFO, "allowRequest: the client left before the decision");
    }
}

void sioc__allow_free(sioc_request *r)
{
    if (r->tr->upgrade_asking == r) {
        r->tr->upgrade_asking = NULL;
    }
    request_free(r);
}

void sioc__allow_free_all(sioc__transport *tr)
{
    tr->upgrade_asking = NULL;
    while (!sioc__list_empty(&tr->asking)) {
        request_free((sioc_request *)tr->asking.next);
    }
}
