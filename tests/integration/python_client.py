"""A python3-socketio client for python.test.js: joins the chat at argv[1], says one line, waits for
one line from someone else, calls `echo` with an ack, and reports each step as a JSON line."""
import json
import sys
import threading

import socketio


PRINTING = threading.Lock()


def report(**fields):
    # Event handlers run on the client's own threads: one line at a time.
    with PRINTING:
        print(json.dumps(fields, ensure_ascii=False), flush=True)


def main():
    url = sys.argv[1]
    heard = threading.Event()
    sio = socketio.Client(reconnection=False)

    @sio.event
    def connect():
        report(event="connected", sid=sio.sid)

    @sio.on("serverMsg")
    def server_msg(text):
        report(event="serverMsg", data=text)
        heard.set()

    sio.connect(url, wait_timeout=10)
    sio.emit("msg", "from python 中文 🐍")
    reply = sio.call("echo", ("x", 1, {"k": [True, None]}), timeout=10)
    report(event="ack", data=reply)
    ok = heard.wait(timeout=15)
    report(event="transport", data=sio.transport())
    sio.disconnect()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
