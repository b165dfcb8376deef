/* Node's access options, configured for access.test.js: cors (a list, a pattern, a callback,
 * methods, credentials), allowRequest, cookie and a trusted X-Forwarded-For. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sioc.h>

static bool cb_origin(const char *origin, void *user_data)
{
    size_t n = origin ? strlen(origin) : 0;
    return n > 11 && strcmp(origin + n - 11, ".cb.example") == 0;
}

static bool allow(json_t *handshake, const char **message, void *user_data)
{
    const char *deny =
        json_string_value(json_object_get(json_object_get(handshake, "query"), "deny"));
    if (deny && strcmp(deny, "1") == 0) {
        *message = "denied by test";
        return false;
    }
    return true;
}

static void on_whoami(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    json_t *reply = json_pack("[O]", json_object_get(sioc_socket_handshake(socket), "address"));
    sioc_ack_send(ack, reply);
    json_decref(reply);
}

static sioc_server *server;

static void on_term(int sig)
{
    (void)sig;
    sioc_server_stop(server);
}

int main(void)
{
    sioc_options *o;
    if (sioc_options_new(&o) < 0) {
        return 1;
    }
    int rc = sioc_options_set_port(o, 0);
    rc |= sioc_options_add_cors_origin(o, "http://a.example");
    rc |= sioc_options_add_cors_origin_pattern(o, "^http://[a-z]+\\.pattern\\.example$");
    rc |= sioc_options_set_cors_origin_callback(o, cb_origin, NULL);
    rc |= sioc_options_set_cors_methods(o, "GET,POST");
    rc |= sioc_options_set_cors_credentials(o, true);
    rc |= sioc_options_set_allow_request(o, allow, NULL);
    rc |= sioc_options_set_cookie(o, "io", "/", true, "Lax");
    rc |= sioc_options_set_trust_proxy(o, true);
    if (rc || sioc_options_add_cors_origin_pattern(o, "([unbalanced") != SIOC_ERR_INVALID ||
        sioc_options_set_cookie(o, "bad;name", NULL, false, NULL) != SIOC_ERR_INVALID) {
        return 1;
    }
    rc = sioc_server_new(o, &server);
    sioc_options_free(o);
    if (rc < 0) {
        return 1;
    }
    sioc_namespace_on(sioc_server_of(server, "/"), "whoami", on_whoami, NULL);
    signal(SIGTERM, on_term);
    fprintf(stderr, "access_server: listening on port %d\n", sioc_server_port(server));
    rc = sioc_server_run(server);
    sioc_server_free(server);
    return rc < 0 ? 1 : 0;
}
