#!/usr/bin/env python3
"""Writes sioc.1 from `sioc --help` (every flag, as the binary lists it) and the text below.
Usage: python3 scripts/dist/make-man1.py build/src/sioc > scripts/dist/sioc.1
The service test fails when sioc.1 misses a flag the binary has: run this after adding one."""
import re
import subprocess
import sys

HEAD = r'''.TH SIOC 1 "2026" "sioc 0.1.0" "User Commands"
.SH NAME
sioc \- a Socket.IO server, drop\-in for the Node.js chat server
.SH SYNOPSIS
.B sioc
[\fIoptions\fR]
.SH DESCRIPTION
.B sioc
serves the chat page (\fIpublic/\fR in the working directory, else the copy installed under
\fI<datadir>/sioc/public\fR) and the official socket.io client bundle (\fI/socket.io/socket.io.js\fR)
on port 8000, and relays every \fBmsg\fR event as \fBserverMsg\fR to every other client, as the
Node.js server it replaces. Unmodified socket.io clients (v4, and v2/v3 through Engine.IO v3)
connect over HTTP long\-polling or WebSocket; plain WebSocket clients sending
{"name": ..., "data": [...]} reach the same handlers. Several nodes join through Redis, beside
Node servers using @socket.io/redis\-adapter or @socket.io/redis\-streams\-adapter.
.SH OPTIONS'''

TAIL = r'''.SH SIGNALS
SIGTERM and SIGINT close every connection (reason "server shutting down") and exit.
.SH ADMIN UI
With \fB\-\-admin\-ui\fR, the official Socket.IO Admin UI (@socket.io/admin\-ui 0.5.1)
connects to the namespace /admin; its dashboard is served at /admin/. The password given to
\fB\-\-admin\-auth\fR is a bcrypt hash, e.g. from
\fBhtpasswd \-nbBC 10 "" PASSWORD\fR (quote it in a shell: it holds '$').
.SH SYSTEMD
Under systemd (\fBType=notify\fR), sioc sends READY=1 to \fB$NOTIFY_SOCKET\fR once it listens,
and STOPPING=1 as it stops. The installed unit \fIsioc.service\fR reads its flags from
\fI/etc/default/sioc\fR (\fBSIOC_OPTS\fR).
.SH FILES
.TP
.I <datadir>/sioc/client
the socket.io client bundle served under /socket.io/ (and its licence)
.TP
.I <datadir>/sioc/admin\-ui
the Admin UI's dashboard, served at /admin/ with \fB\-\-admin\-ui\fR (and its licence)
.TP
.I <datadir>/sioc/public
the chat pages, when the working directory has no public/
.TP
.I /etc/default/sioc
the service's flags
.SH EXIT STATUS
0 after a signal; 1 when the server cannot start; 2 for a bad command line.
.SH SEE ALSO
.BR sioc (3),
.BR systemd.service (5)'''


def esc(s):
    return s.replace('\\', '\\\\').replace('-', '\\-')


def main():
    text = subprocess.run([sys.argv[1], '--help'], capture_output=True, text=True).stdout
    items = []
    for line in text.splitlines()[3:]:
        if line.startswith('  --'):
            parts = re.split(r'\s{2,}', line.strip(), maxsplit=1)
            items.append([parts[0], parts[1] if len(parts) > 1 else ''])
        elif items:
            items[-1][1] += ' ' + line.strip()
    out = [HEAD]
    for flag, what in items:
        out += ['.TP', '.B ' + esc(flag), esc(what)]
    out.append(TAIL)
    print('\n'.join(out))


if __name__ == '__main__':
    main()
