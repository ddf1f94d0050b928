"""A local HTTP receiver for the notification tests (tests/integration/notify.sh).

usage: receiver.py --port-file FILE --log FILE [--fail-first K] [--status N]
                   [--echo] [--delay SECONDS] [--hold-file FILE]
                   [--lifetime SECONDS]

Listens on 127.0.0.1, an ephemeral port written to --port-file once bound.
Every request is recorded as one JSON line in --log when it arrives:
  {"event": "request", "n": N, "method": ..., "path": ..., "headers": {lowercased
   name: value}, "body": text, "status": the status it will get}
and, once answered, {"event": "answered", "n": N}.
The first K requests get 500, the others --status (default 200). --echo
answers with the request headers as JSON (to check that a daemon never logs
what a server echoes back). --delay sleeps before answering; while
--hold-file exists requests are held unanswered (the test removes the file to
release them). The process exits after --lifetime seconds (default 300)
whatever happens, so a test that dies cannot leave it behind."""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 1 << 20

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--status", type=int, default=200)
ap.add_argument("--echo", action="store_true")
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--hold-file")
ap.add_argument("--lifetime", type=float, default=300.0)
args = ap.parse_args()

lock = threading.Lock()
count = 0
started = time.monotonic()


def record(obj):
    with lock, open(args.log, "a") as f:
        f.write(json.dumps(obj) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the daemon's curl expects

    def handle_any(self):
        global count
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > BODY_MAX:
            self.send_error(413)
            return
        body = self.rfile.read(length).decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            count += 1
            n = count
        status = 500 if n <= args.fail_first else args.status
        record({"event": "request", "n": n, "method": self.command,
                "path": self.path, "headers": headers, "body": body,
                "status": status, "time": time.time()})
        deadline = started + args.lifetime
        while args.hold_file and os.path.exists(args.hold_file) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        if args.delay:
            time.sleep(args.delay)
        reply = json.dumps(headers if args.echo else {"id": str(n)}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except OSError:
            pass  # the client gave up waiting (its timeout): nothing to tell
        record({"event": "answered", "n": n})

    do_POST = do_GET = do_PUT = handle_any

    def log_message(self, fmt, *a):
        pass  # the JSON log is the record


def watchdog():
    time.sleep(args.lifetime)
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=watchdog, daemon=True).start()
tmp = args.port_file + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(tmp, args.port_file)
server.serve_forever()
