"""A stand-in for the notebook server: / is a public login page, /login?password=… answers
200 with the right password (from $PASSWORD, as the notebook takes it) and 403 otherwise."""
import hmac
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PASSWORD = os.environ["PASSWORD"]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            self.answer(200, "login: GET /login?password=...\n")
        elif url.path == "/login":
            given = parse_qs(url.query).get("password", [""])[0]
            ok = hmac.compare_digest(given.encode(), PASSWORD.encode())
            self.answer(200 if ok else 403, "welcome\n" if ok else "wrong password\n")
        else:
            self.answer(404, "not found\n")

    def answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


ThreadingHTTPServer(("", 8080), Handler).serve_forever()
