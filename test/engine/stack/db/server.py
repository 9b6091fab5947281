"""A stand-in for the database: records each start in /data/starts (on the volume) and answers
every TCP connection on 6000 with the number of starts so far."""
import os
import socketserver

os.makedirs("/data", exist_ok=True)
with open("/data/starts", "a", encoding="utf8") as f:
    f.write(f"{os.environ.get('DB_NAME', '')}\n")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        with open("/data/starts", encoding="utf8") as f:
            self.request.sendall(f"starts={len(f.readlines())}\n".encode())


socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("", 6000), Handler).serve_forever()
