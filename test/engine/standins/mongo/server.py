#!/usr/bin/python3
"""The mongo stand-in's server: AUTH with the root credentials, then PING or COUNT."""
import os
import signal
import socketserver
import sys

# As mongod does, it stops on SIGTERM: as PID 1, Python would otherwise ignore it, and Swarm
# would kill it only after the service's stop grace period.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

USER = os.environ.get("MONGO_INITDB_ROOT_USERNAME", "")
PASSWORD = os.environ.get("MONGO_INITDB_ROOT_PASSWORD", "")
COUNTER = "/data/db/writes"


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        authed = not USER
        for raw in self.rfile:
            words = raw.decode().split()
            if words[:1] == ["AUTH"]:
                authed = len(words) == 3 and words[1] == USER and words[2] == PASSWORD
                self.wfile.write(b"OK\n" if authed else b"DENIED\n")
            elif words == ["PING"]:
                self.wfile.write(b"1\n")
            elif words == ["COUNT"] and authed:
                count = int(open(COUNTER).read()) + 1 if os.path.exists(COUNTER) else 1
                with open(COUNTER, "w") as f:
                    f.write(str(count))
                self.wfile.write(f"{count}\n".encode())
            else:
                self.wfile.write(b"DENIED\n")


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("0.0.0.0", 27017), Handler).serve_forever()
