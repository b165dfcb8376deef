/* systemd's readiness protocol without libsystemd (sd_notify(3)'s own standalone form): a
 * datagram of "KEY=VALUE" lines to the socket $NOTIFY_SOCKET names, when it is set. */
#ifndef SIOC_UTIL_NOTIFY_H
#define SIOC_UTIL_NOTIFY_H

/* Sends `state` ("READY=1", "STOPPING=1\nSTATUS=...", ...). 0 (sent, or no supervisor), or -1
 * (the socket could not be reached: the service manager will say so). Async-signal-safe. */
int sioc__notify(const char *state);

#endif
