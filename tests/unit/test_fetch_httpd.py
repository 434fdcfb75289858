#!/usr/bin/env python3
"""test_fetch_httpd.py - a tiny smart-HTTP git server for test_fetch.

Serves the repositories under ROOT through `git http-backend` (CGI) on
127.0.0.1, on a port the kernel picks, and requires HTTP basic auth with
the given user and password.  Prints the port on stdout once it listens.
Tests only: plain HTTP on loopback.  Each request is logged to stderr with
whether its Authorization header was accepted, so a test can count replays.

usage: test_fetch_httpd.py ROOT USER PASSWORD
"""
import base64
import http.server
import os
import subprocess
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("httpd: " + (fmt % args) + "\n")

    def authorized(self):
        want = base64.b64encode(
            (self.server.user + ":" + self.server.password).encode()).decode()
        return self.headers.get("Authorization", "") == "Basic " + want

    def handle_git(self, method):
        if not self.authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="tfgate-test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.user,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": self.server.root,
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env,
                              capture_output=True, timeout=60, check=False)
        head, _, rest = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            if not line:
                continue
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    def do_GET(self):
        self.handle_git("GET")

    def do_POST(self):
        self.handle_git("POST")


def main():
    root, user, password = sys.argv[1:4]
    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    srv.root, srv.user, srv.password = root, user, password
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
