/* An asynchronous allowRequest, for allow.test.js. The handshake's `token` query decides:
 * "now" is let in during the call, "no-now" refused during it ("bad token now"), "wait" waits for
 * a control client's `decide (verdict, message)` event, which decides every waiting handshake
 * ("accept" or "reject" with the message) and acks how many it decided; `pending` acks how many
 * wait. Without a token a handshake is let in at once. `echo` acks its arguments. Takes the sioc
 * binary's flags. */
#include <stdlib.h>
#include <string.h>

#include <sioc.h>

#define MAX_WAITING 64

static sioc_request *waiting[MAX_WAITING];
static size_t nwaiting;

static void allow(json_t *handshake, sioc_request *request, void *user_data)
{
    const char *token =
        json_string_value(json_object_get(json_object_get(handshake, "query"), "token"));
    if (!token || strcmp(token, "now") == 0) {
        sioc_request_accept(request);
    } else if (strcmp(token, "wait") == 0 && nwaiting < MAX_WAITING) {
        waiting[nwaiting++] = request;
    } else {
        sioc_request_reject(request, "bad token now");
    }
}

static void reply(sioc_ack *ack, json_t *value)
{
    json_t *args = json_pack("[o]", value);
    if (ack) {
        sioc_ack_send(ack, args);
    }
    json_decref(args);
}

static void on_decide(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    const char *verdict = json_string_value(json_array_get(args, 0));
    const char *message = json_string_value(json_array_get(args, 1));
    size_t n = nwaiting;
    nwaiting = 0;
    for (size_t i = 0; i < n; i++) {
        if (verdict && strcmp(verdict, "accept") == 0) {
            sioc_request_accept(waiting[i]);
        } else {
            sioc_request_reject(waiting[i], message);
        }
    }
    reply(ack, json_integer((json_int_t)n));
}

static void on_pending(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    reply(ack, json_integer((json_int_t)nwaiting));
}

static void on_echo(sioc_socket *socket, json_t *args, sioc_ack *ack, void *user_data)
{
    if (ack) {
        sioc_ack_send(ack, args);
    }
}

static int setup(sioc_server *server, void *user_data)
{
    sioc_namespace *root = sioc_server_of(server, "/");
    int rc = sioc_namespace_on(root, "decide", on_decide, NULL);
    rc |= sioc_namespace_on(root, "pending", on_pending, NULL);
    rc |= sioc_namespace_on(root, "echo", on_echo, NULL);
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    sioc_options *opts;
    if (sioc_options_new(&opts) < 0 || sioc_options_set_allow_request_async(opts, allow, NULL)) {
        return 1;
    }
    static const sioc_program program = {
        .name = "allow_server",
        .summary = "An asynchronous allowRequest, for the tests.",
        .setup = setup,
    };
    int rc = sioc_program_main(&program, opts, argc, argv);
    /* The server has freed the requests still waiting: forget them, so that the leak checkers
     * would see any it had not. */
    memset(waiting, 0, sizeof(waiting));
    nwaiting = 0;
    return rc;
}
