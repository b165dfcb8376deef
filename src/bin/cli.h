/* Command-line flags shared by the sioc binary and the example servers. */
#ifndef SIOC_BIN_CLI_H
#define SIOC_BIN_CLI_H

#include "sioc.h"

/* Applies argv's flags to `opts` (borrowed). Returns 0 to go on, 1 when --help or --version was
 * answered, -1 after printing an error to stderr. */
int sioc_cli_parse(int argc, char **argv, const char *prog, const char *summary,
                   sioc_options *opts);

/* The program's own defaults where they differ from the library's (Node's): `cors_origin` (or
 * NULL) is allowed unless the command line names origins itself; `allow_eio3` unless
 * --no-allow-eio3. Both are said in the start-up line. Call before sioc_cli_serve. */
void sioc_cli_set_defaults(sioc_options *opts, const char *cors_origin, bool allow_eio3);

/* Runs `server` until SIGINT or SIGTERM. Returns 0 or a negative sioc_error. */
int sioc_cli_run(sioc_server *server);

/* The whole life of a server program: applies argv's flags over `opts` (which holds the program's
 * defaults; freed here), creates the server, lets `setup` register its handlers (a negative return
 * aborts), runs until a signal and frees. Returns the process exit code. */
int sioc_cli_serve(int argc, char **argv, const char *prog, const char *summary, sioc_options *opts,
                   int (*setup)(sioc_server *server));

#endif
