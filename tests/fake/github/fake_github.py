#!/usr/bin/env python3
"""fake_github.py - a fake GitHub REST API for plugin-github's tests.

Loopback only, bounded lifetime (--lifetime seconds, then it exits).
Serves the endpoints tfgate uses, with answers built from the examples in
GitHub's own OpenAPI description (the cut spec), so that Prism in
validating-proxy mode accepts them.  Checks credentials like GitHub:

  * App endpoints need an RS256 JWT, verified with `openssl dgst -verify`
    against the App's public key (iat not in the future, exp at most 10
    minutes ahead and not past, iss = the App id);
  * repository endpoints need a live installation token that covers the
    repository (or, in token mode, the fine-grained token);
  * a wrong or expired credential gets 401.

A control API (/_control/..., not proxied by Prism) sets the pull requests,
injects faults and returns every request recorded:

  POST /_control/prs      {"repo": "o/r", "prs": [{number, sha, title?, ref?,
                           head_repo?, head_clone_url?, draft?}], "page_size"?: N}
  POST /_control/fault    {"method": "GET", "path": "regex", "status": 429,
                           "headers": {...}, "body": {...}, "count": N}
                          or {..., "expire_tokens": true}: every token issued
                          so far expires just before that request is served
                          or {..., "big": BYTES}: a 200 answer of that size
  POST /_control/expire_tokens   every installation token issued so far now
                                 answers 401 (GitHub's expiry)
  POST /_control/rerequest {"repo": "o/r", "sha": "..."}  the App's suite
                           goes back to queued (a "Re-run" in the UI)
  POST /_control/run_state {"repo","sha","status","external_id"}  fake a run
  GET  /_control/requests  every request: method, path, status, auth, body
  GET  /_control/runs      check runs; GET /_control/statuses  statuses

ETags: a hash of the body and the credential (GitHub's ETags change with
the token); If-None-Match that matches answers 304.

usage: fake_github.py --spec CUT.json --pubkey APP.pub --app-id N
                      [--pat TOKEN] [--token-len N] [--public-url URL]
                      [--limit N] [--remaining N] [--lifetime S]
                      [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]
Prints the port on stdout once it listens.
"""
import argparse
import base64
import copy
import hashlib
import http.server
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

LOCK = threading.Lock()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class State:
    def __init__(self, args, spec):
        self.args = args
        ex = spec["components"]["examples"]
        self.ex = {k: v["value"] for k, v in ex.items()}
        self.repos = {}          # "o/r" -> {"prs": [...], "page_size": N, "install": id}
        self.tokens = {}         # token -> {"install": id, "repos": [names], "expired": bool}
        self.jwts = set()        # verified JWTs
        self.faults = []
        self.requests = []
        self.runs = {}           # id -> run dict (with "repo")
        self.next_run = 100
        self.statuses = []       # {"repo","sha","state","context","description","target_url"}
        self.suites = {}         # (repo, sha) -> {"status", "conclusion"}

    def repo(self, name):
        key = name.lower()
        if key not in self.repos:
            self.repos[key] = {"full": name, "prs": [], "page_size": 100,
                               "install": 1000 + len(self.repos)}
        return self.repos[key]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----
    def reply(self, status, obj=None, headers=None, auth_key=""):
        body = b"" if obj is None else json.dumps(obj).encode()
        headers = dict(headers or {})
        if status == 200 and self.command == "GET" and obj is not None:
            etag = 'W/"%s"' % hashlib.sha256(body + auth_key.encode()).hexdigest()[:32]
            headers["ETag"] = etag
            if self.headers.get("If-None-Match") == etag:
                status, body = 304, b""
        self.record["status"] = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        st = self.server.state
        headers_lower = {k.lower() for k in headers}
        if "x-ratelimit-remaining" not in headers_lower:
            self.send_header("x-ratelimit-limit", str(st.args.limit))
            self.send_header("x-ratelimit-remaining", str(st.args.remaining))
            self.send_header("x-ratelimit-reset", str(int(time.time()) + 3600))
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 64 << 20:
            raise ValueError("body too large")
        raw = self.rfile.read(n) if n else b""
        return raw

    def handle_any(self):
        st = self.server.state
        raw = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        self.record = {"method": self.command, "path": self.path, "status": 0,
                       "auth": "", "body": None, "time": time.time(),
                       "accept": self.headers.get("Accept"),
                       "api_version": self.headers.get("X-GitHub-Api-Version"),
                       "user_agent": self.headers.get("User-Agent"),
                       "if_none_match": self.headers.get("If-None-Match")}
        if raw:
            try:
                self.record["body"] = json.loads(raw)
            except ValueError:
                self.record["body"] = raw.decode("latin-1")
        if url.path.startswith("/_control/"):
            return self.control(url, raw)
        with LOCK:
            st.requests.append(self.record)
            fault = self.take_fault(url.path)
        if fault and fault.get("big"):
            # an oversized answer: a JSON array of that many bytes
            n = int(fault["big"])
            self.record["status"] = 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            try:
                self.wfile.write(b"[" + b" " * (n - 2) + b"]")
            except (BrokenPipeError, ConnectionResetError):
                pass        # the client stopped reading at its cap: expected
            self.close_connection = True
            return
        if fault:
            return self.reply(fault.get("status", 500), fault.get("body", {"message": "fault"}),
                              fault.get("headers"))
        try:
            self.route(url, self.record["body"])
        except Exception as e:  # a fake bug must be loud, not a hang
            sys.stderr.write("fake_github: %s %s: %r\n" % (self.command, self.path, e))
            self.reply(500, {"message": "fake error %r" % e})

    do_GET = do_POST = do_PATCH = handle_any

    def take_fault(self, path):
        for f in self.server.state.faults:
            if f["count"] > 0 and f.get("method", self.command) == self.command \
                    and re.search(f["path"], path):
                f["count"] -= 1
                if f.get("expire_tokens"):
                    # the tokens expire now; the request itself is checked as usual
                    for t in self.server.state.tokens.values():
                        t["expired"] = True
                    return None
                return f
        return None

    # ---- credentials ----
    def check_jwt(self):
        st = self.server.state
        a = self.headers.get("Authorization", "")
        if not a.startswith("Bearer "):
            return False
        jwt = a[7:]
        self.record["auth"] = "jwt"
        parts = jwt.split(".")
        if len(parts) != 3:
            return False
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except ValueError:
            return False
        now = time.time()
        if header.get("alg") != "RS256" or str(claims.get("iss")) != str(st.args.app_id):
            return False
        if not (claims["iat"] <= now + 5 and now < claims["exp"] <= now + 600):
            return False
        with LOCK:
            if jwt in st.jwts:
                return True
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "sig"), "wb") as f:
                f.write(sig)
            with open(os.path.join(d, "data"), "wb") as f:
                f.write((parts[0] + "." + parts[1]).encode())
            ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", st.args.pubkey,
                                 "-signature", os.path.join(d, "sig"), os.path.join(d, "data")],
                                capture_output=True, timeout=20).returncode == 0
        if ok:
            with LOCK:
                st.jwts.add(jwt)
        return ok

    def check_token(self, repo):
        st = self.server.state
        a = self.headers.get("Authorization", "")
        m = re.match(r"^(token|Bearer) (\S+)$", a)
        if not m:
            return None
        tok = m.group(2)
        if st.args.pat:
            self.record["auth"] = "pat"
            return tok if tok == st.args.pat else None
        self.record["auth"] = "installation"
        with LOCK:
            t = st.tokens.get(tok)
            if t is None or t["expired"] or t["expires"] < time.time():
                return None
            if repo.split("/")[1].lower() not in [n.lower() for n in t["repos"]]:
                return None
            if st.repo(repo)["install"] != t["install"]:
                return None
        return tok

    # ---- routes ----
    def route(self, url, body):
        st = self.server.state
        q = urllib.parse.parse_qs(url.query)
        p = url.path
        m = re.match(r"^/repos/([^/]+/[^/]+)/installation$", p)
        if m and self.command == "GET":
            if not self.check_jwt():
                return self.reply(401, {"message": "A JSON web token could not be decoded"})
            inst = copy.deepcopy(st.ex["installation"])
            inst["id"] = st.repo(m.group(1))["install"]
            inst["app_id"] = int(st.args.app_id)
            return self.reply(200, inst)
        m = re.match(r"^/app/installations/(\d+)/access_tokens$", p)
        if m and self.command == "POST":
            if not self.check_jwt():
                return self.reply(401, {"message": "A JSON web token could not be decoded"})
            tok = "ghs_" + secrets.token_urlsafe(st.args.token_len)[:st.args.token_len]
            exp = time.time() + 3600
            names = (body or {}).get("repositories") or [r["full"].split("/")[1] for r in st.repos.values()]
            with LOCK:
                st.tokens[tok] = {"install": int(m.group(1)), "repos": names, "expired": False,
                                  "expires": exp}
            out = copy.deepcopy(st.ex["installation-token"])
            out["token"] = tok
            out["expires_at"] = iso(exp)
            out["permissions"] = (body or {}).get("permissions", {})
            return self.reply(201, out)
        m = re.match(r"^/repos/([^/]+/[^/]+)/(.*)$", p)
        if not m:
            return self.reply(404, {"message": "Not Found"})
        repo, rest = m.group(1), m.group(2)
        tok = self.check_token(repo)
        if tok is None:
            return self.reply(401, {"message": "Bad credentials"})
        if rest == "pulls" and self.command == "GET":
            return self.pulls(repo, q, tok)
        m = re.match(r"^pulls/(\d+)$", rest)
        if m and self.command == "GET":
            r = st.repo(repo)
            pr = [x for x in r["prs"] if x["number"] == int(m.group(1))]
            gone = [x for x in r.get("closed", []) if x["number"] == int(m.group(1))]
            if not pr and not gone:
                return self.reply(404, {"message": "Not Found"})
            x = (pr or gone)[0]
            v = copy.deepcopy(st.ex["pull-request"])
            v["number"], v["state"] = x["number"], "open" if pr else "closed"
            v["requested_teams"] = []   # the spec's own example breaks its schema here
            v["head"]["sha"] = x["sha"]
            v["base"]["repo"]["full_name"] = r["full"]
            return self.reply(200, v, auth_key=tok)
        m = re.match(r"^commits/([0-9a-f]+)/check-runs$", rest)
        if m and self.command == "GET":
            sha = m.group(1)
            runs = [r for r in st.runs.values() if r["repo"] == repo.lower() and r["head_sha"] == sha
                    and r["name"] == q.get("check_name", [r["name"]])[0]]
            runs.sort(key=lambda r: -r["id"])
            if q.get("filter", ["latest"])[0] == "latest":
                runs = runs[:1]
            out = {"total_count": len(runs), "check_runs": [self.run_view(r) for r in runs]}
            return self.reply(200, out, auth_key=tok)
        m = re.match(r"^commits/([0-9a-f]+)/check-suites$", rest)
        if m and self.command == "GET":
            sha = m.group(1)
            s = st.suites.get((repo.lower(), sha))
            out = copy.deepcopy(st.ex["check-suite-paginated"])
            if s is None:
                out["total_count"], out["check_suites"] = 0, []
            else:
                suite = out["check_suites"][0]
                suite["head_sha"], suite["status"], suite["conclusion"] = sha, s["status"], s["conclusion"]
                suite["app"]["id"] = int(st.args.app_id)
            return self.reply(200, out, auth_key=tok)
        if rest == "check-runs" and self.command == "POST":
            with LOCK:
                st.next_run += 1
                run = {"id": st.next_run, "repo": repo.lower(), "name": body["name"],
                       "head_sha": body["head_sha"], "status": body.get("status", "queued"),
                       "conclusion": body.get("conclusion"), "external_id": body.get("external_id", ""),
                       "details_url": body.get("details_url"), "output": body.get("output"),
                       "annotations": list((body.get("output") or {}).get("annotations", [])),
                       "history": [copy.deepcopy(body)]}
                st.runs[run["id"]] = run
                st.suites[(repo.lower(), body["head_sha"])] = {"status": "queued", "conclusion": None}
            return self.reply(201, self.run_view(run))
        m = re.match(r"^check-runs/(\d+)$", rest)
        if m and self.command == "PATCH":
            with LOCK:
                run = st.runs.get(int(m.group(1)))
                if run is None or run["repo"] != repo.lower():
                    return self.reply(404, {"message": "Not Found"})
                run["history"].append(copy.deepcopy(body))
                for k in ("status", "conclusion", "details_url", "external_id"):
                    if k in body:
                        run[k] = body[k]
                if "conclusion" in body:
                    run["status"] = "completed"
                if "output" in body:
                    run["annotations"] += body["output"].get("annotations", [])
                    run["output"] = body["output"]
                if run["status"] == "completed":
                    st.suites[(repo.lower(), run["head_sha"])] = {"status": "completed",
                                                                  "conclusion": run["conclusion"]}
                elif run["status"] == "in_progress":
                    st.suites[(repo.lower(), run["head_sha"])] = {"status": "in_progress",
                                                                  "conclusion": None}
            return self.reply(200, self.run_view(run))
        m = re.match(r"^statuses/([0-9a-f]+)$", rest)
        if m and self.command == "POST":
            with LOCK:
                st.statuses.append({"repo": repo.lower(), "sha": m.group(1), **body})
            out = copy.deepcopy(st.ex["status"])
            out.update({k: body[k] for k in ("state", "description", "target_url", "context") if k in body})
            return self.reply(201, out, {"Location": "https://api.github.com/repos/%s/statuses/%s"
                                         % (repo, m.group(1))})
        m = re.match(r"^commits/([0-9a-f]+)/status$", rest)
        if m and self.command == "GET":
            sha = m.group(1)
            out = copy.deepcopy(st.ex["combined-commit-status"])
            mine = [s for s in st.statuses if s["repo"] == repo.lower() and s["sha"] == sha]
            tmpl = out["statuses"][0]
            out["statuses"] = []
            for s in mine:
                v = copy.deepcopy(tmpl)
                v.update({"state": s["state"], "context": s.get("context", "default"),
                          "description": s.get("description"), "target_url": s.get("target_url")})
                out["statuses"].append(v)
            out["sha"], out["total_count"] = sha, len(mine)
            out["state"] = mine[-1]["state"] if mine else "pending"
            return self.reply(200, out, auth_key=tok)
        return self.reply(404, {"message": "Not Found"})

    def run_view(self, r):
        v = copy.deepcopy(self.server.state.ex["check-run"])
        v.update({"id": r["id"], "head_sha": r["head_sha"], "name": r["name"],
                  "status": r["status"], "conclusion": r["conclusion"],
                  "external_id": r["external_id"] or ""})
        v["pull_requests"] = []
        v["app"]["id"] = int(self.server.state.args.app_id)
        return v

    def pulls(self, repo, q, tok):
        st = self.server.state
        r = st.repo(repo)
        size = min(int(q.get("per_page", ["30"])[0]), r["page_size"])
        page = int(q.get("page", ["1"])[0])
        prs = sorted(r["prs"], key=lambda x: -x.get("updated", 0))
        chunk = prs[(page - 1) * size: page * size]
        tmpl = st.ex["pull-request-simple-items"][0]
        out = []
        for pr in chunk:
            v = copy.deepcopy(tmpl)
            v["number"] = pr["number"]
            v["title"] = pr.get("title", "PR %d" % pr["number"])
            v["head"]["sha"] = pr["sha"]
            v["head"]["ref"] = pr.get("ref", "feature-%d" % pr["number"])
            v["head"]["repo"]["full_name"] = pr.get("head_repo", r["full"])
            v["head"]["repo"]["clone_url"] = pr.get("head_clone_url", "https://github.com/%s.git" % r["full"])
            v["base"]["repo"]["full_name"] = pr.get("base_repo", r["full"])
            v["base"]["sha"] = "0" * 40
            v["draft"] = pr.get("draft", False)
            v["requested_teams"] = []
            v["updated_at"] = iso(pr.get("updated", 1700000000))
            out.append(v)
        headers = {}
        last = max(1, (len(prs) + size - 1) // size)
        base = st.args.public_url or ("http://%s" % self.headers.get("Host"))
        link = []
        if page < last:
            nxt = r.get("next_override") or "%s/repos/%s/pulls?%s" % (
                base, repo, urllib.parse.urlencode({**{k: v[0] for k, v in q.items()}, "page": page + 1}))
            link.append('<%s>; rel="next"' % nxt)
            link.append('<%s/repos/%s/pulls?page=%d>; rel="last"' % (base, repo, last))
        if link:
            headers["Link"] = ", ".join(link)
        return self.reply(200, out, headers, auth_key=tok)

    # ---- control ----
    def control(self, url, raw):
        st = self.server.state
        body = json.loads(raw) if raw else {}
        p = url.path[len("/_control/"):]
        with LOCK:
            if p == "prs":
                r = st.repo(body["repo"])
                # pull requests that disappear are closed (GET /pulls/N says so)
                now = {x["number"] for x in body["prs"]}
                r["closed"] = r.get("closed", []) + [x for x in r["prs"] if x["number"] not in now]
                r["prs"] = body["prs"]
                r["page_size"] = body.get("page_size", 100)
                r["next_override"] = body.get("next_override")
                out = {}
            elif p == "fault":
                body.setdefault("count", 1)
                st.faults.append(body)
                out = {}
            elif p == "expire_tokens":
                for t in st.tokens.values():
                    t["expired"] = True
                out = {"expired": len(st.tokens)}
            elif p == "rerequest":
                st.suites[(body["repo"].lower(), body["sha"])] = {"status": "queued", "conclusion": None}
                out = {}
            elif p == "run_state":
                st.next_run += 1
                st.runs[st.next_run] = {"id": st.next_run, "repo": body["repo"].lower(),
                                        "name": body.get("name", "tfgate"), "head_sha": body["sha"],
                                        "status": body["status"], "conclusion": body.get("conclusion"),
                                        "external_id": body.get("external_id", ""), "details_url": None,
                                        "output": None, "annotations": [], "history": []}
                out = {"id": st.next_run}
            elif p == "requests":
                out = st.requests
            elif p == "runs":
                out = list(st.runs.values())
            elif p == "statuses":
                out = st.statuses
            elif p == "set":
                for k, v in body.items():
                    setattr(st.args, k, v)
                out = {}
            else:
                out = None
        self.record["status"] = 200 if out is not None else 404
        data = json.dumps(out).encode()
        self.send_response(200 if out is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--pubkey", required=True)
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--pat", default="")
    ap.add_argument("--token-len", type=int, default=40)
    ap.add_argument("--public-url", default="")
    ap.add_argument("--limit", type=int, default=5000)
    ap.add_argument("--remaining", type=int, default=4999)
    ap.add_argument("--lifetime", type=int, default=300)
    ap.add_argument("--tls-cert", default="")
    ap.add_argument("--tls-key", default="")
    ap.add_argument("--tls-client-ca", default="", help="require a client certificate (mTLS)")
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args, spec)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.tls_client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Timer(args.lifetime, lambda: os._exit(3)).start()
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
