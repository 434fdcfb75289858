#!/usr/bin/env python3
"""fake_gitlab.py - a fake GitLab for tfgate's tests (loopback only, stdlib only).

Implements the Runner API v4 endpoints tfgate uses, as
/work/shared/reference/gitlab.md describes them, and checks every request:
method, path, headers (User-Agent, X-Request-Id, RUNNER-TOKEN / JOB-TOKEN,
Content-Type, Content-Range) and body fields.  A request that breaks the
protocol is answered 400 and recorded in "errors", which tests assert empty.

    POST   /api/v4/runners/verify        glrt- token -> {id, token, token_expires_at}
    POST   /api/v4/runners               legacy registration token -> 201
    DELETE /api/v4/runners/managers      {token, system_id} -> 204
    DELETE /api/v4/runners               {token} -> 204
    POST   /api/v4/jobs/request          201 job / 204 (X-GitLab-Last-Update)
    PUT    /api/v4/jobs/:id              state updates (final: checksum checked; a
                                         "failed" without output is a runner's report
                                         of a job it lost; each update records the
                                         status answered as "answered")
    PATCH  /api/v4/jobs/:id/trace        Content-Range; 416 with Range on a gap
    POST   /api/v4/jobs/:id/artifacts    multipart "file" + artifact_type/format

The same port serves git repositories under --repos over smart HTTP
(`git http-backend`), with basic auth gitlab-ci-token:<a job token>.

Control API (tests only):
    POST /__control/job    {"kind": "valid"|<hostile kind>, "repo": "name.git",
                            "sha": "...", "features": {...}, "variables": [...]}
                           or {"raw": "<body>"}  -> {"id", "token"}
    POST /__control/fault  {"endpoint": "request"|"update"|"trace"|"artifacts"|
                            "verify"|"register"|"unregister", "count": N,
                            "status": S, "headers": {...}, "delay": s,
                            "drop": true, "job_status": "canceling",
                            "lose": N (trace: forget the last N bytes, then 416),
                            "skip": N (let the first N matching requests through),
                            "body": "..."}
    GET  /__control/log    everything: requests, errors, jobs (trace, updates,
                           artifacts)

usage: fake_gitlab.py --timeout S --runner-token T [--registration-token R]
                      [--repos DIR] [--tls-cert PEM --tls-key PEM]
Prints the port on stdout once it listens; exits after --timeout seconds.
"""
import argparse
import base64
import email.parser
import email.policy
import io
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
import zlib
import http.server

REQUIRED_FEATURES = ["upload_multiple_artifacts", "refspecs", "masking", "trace_checksum",
                     "trace_size", "trace_reset", "cancel_gracefully", "return_exit_code",
                     "cancelable"]
ALWAYS_REASONS = {"script_failure", "runner_system_failure", "job_execution_timeout",
                  "unknown_failure"}
TYPE_FORMAT = {"archive": "zip", "terraform": "raw", "junit": "gzip", "metadata": "gzip"}
PATCH_MAX = 1 << 20
HOSTILE = ["wrong_type", "huge_string", "other_host", "file_url", "ext_url", "userinfo_trick",
           "refspec_trick", "malformed"]


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.runner_tokens = set(args.runner_token)
        self.registration_token = args.registration_token
        self.repos = args.repos
        self.queue = []
        self.jobs = {}
        self.next_id = 1000
        self.faults = []
        self.requests = []
        self.errors = []
        self.queue_value = secrets.token_hex(8)
        self.managers = set()
        self.deleted = False
        self.port = 0


S = None


def job_template(jid, token, port, repo, sha, features):
    url = "http://gitlab-ci-token:%s@127.0.0.1:%d/%s" % (token, port, repo)
    return {
        "id": jid, "token": token, "allow_git_fetch": True,
        "job_info": {"id": jid, "name": "tfgate", "stage": "test", "pipeline_id": 900,
                     "project_id": 42, "project_name": "infra",
                     "project_full_path": "ops/infra", "time_in_queue_seconds": 0.5},
        "git_info": {"repo_url": url, "ref": "main", "sha": sha,
                     "before_sha": "0" * 40, "ref_type": "branch", "depth": 20,
                     "repo_object_format": "sha1", "protected": False,
                     "refspecs": ["+refs/pipelines/900:refs/pipelines/900",
                                  "+refs/heads/main:refs/remotes/origin/main"]},
        "runner_info": {"timeout": 3600},
        "variables": [
            {"key": "CI_JOB_TOKEN", "value": token, "public": False, "masked": True},
            {"key": "CI_PROJECT_PATH", "value": "ops/infra", "public": True},
            {"key": "TF_VAR_secret", "value": "s3cr3t-Value!", "public": False,
             "masked": True}],
        "steps": [{"name": "script", "script": ["tfgate"], "timeout": 3600,
                   "when": "on_success", "allow_failure": False}],
        "image": None, "services": [],
        "artifacts": [{"name": "result", "paths": ["result.json"], "when": "always",
                       "expire_in": "1 week", "artifact_type": "archive",
                       "artifact_format": "zip"}],
        "cache": [], "credentials": [], "dependencies": [],
        "features": features or {
            "trace_sections": True, "token_mask_prefixes": [],
            "failure_reasons": ["unknown_failure", "script_failure",
                                "runner_system_failure", "job_execution_timeout"]},
    }


def hostile(kind, job, port):
    gi = job["git_info"]
    if kind == "wrong_type":
        gi["sha"] = 12345
    elif kind == "huge_string":
        job["job_info"]["name"] = "a" * (10 << 20)
    elif kind == "other_host":
        gi["repo_url"] = gi["repo_url"].replace("127.0.0.1:%d" % port, "evil.example.net")
    elif kind == "file_url":
        gi["repo_url"] = "file:///etc/passwd"
    elif kind == "ext_url":
        gi["repo_url"] = "ext::sh -c touch% /tmp/pwned"
    elif kind == "userinfo_trick":
        gi["repo_url"] = "http://gitlab-ci-token:%s@127.0.0.1:%d@evil.example.net/x.git" % (
            job["token"], port)
    elif kind == "refspec_trick":
        gi["refspecs"] = ["+refs/heads/main:../../../etc/x"]
    return job


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-gitlab/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_gitlab: " + (fmt % args) + "\n")

    # ---- plumbing ----
    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if body or status not in (204,):
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.record["status"] = status
        if "update" in self.record:
            self.record["update"]["answered"] = status

    def error(self, msg):
        with S.lock:
            S.errors.append("%s %s: %s" % (self.command, self.path, msg))
        self.reply(400, {"message": "fake: " + msg})

    def check_common(self):
        ua = self.headers.get("User-Agent", "")
        rid = self.headers.get("X-Request-Id", "")
        if not ua.startswith("tfgate "):
            return "User-Agent %r" % ua
        if not re.fullmatch(r"[0-9a-f]{32}", rid):
            return "X-Request-Id %r" % rid
        return None

    def json_body(self, raw):
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return None, "Content-Type %r" % self.headers.get("Content-Type")
        try:
            doc = json.loads(raw)
        except ValueError:
            return None, "body is not JSON"
        if not isinstance(doc, dict):
            return None, "body is not an object"
        return doc, None

    def take_fault(self, endpoint):
        with S.lock:
            for f in S.faults:
                if f["endpoint"] == endpoint and f.get("count", 1) > 0:
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        return None
                    f["count"] = f.get("count", 1) - 1
                    return dict(f)
        return None

    def job_faults(self, job, f):
        """The faults a job update and a trace patch share: 403 cancels the
        job, job_status marks it canceling, then the generic ones.  True
        when a reply was sent."""
        if f and f.get("status") == 403:
            with S.lock:
                job["state"] = "canceled"
            self.reply(403, {"message": "403 Forbidden"}, headers={"Job-Status": "canceled"})
            return True
        if f and f.get("job_status") and not f.get("status"):
            with S.lock:
                job["canceling"] = True
        return self.apply_fault(f)

    def apply_fault(self, f):
        """delay / drop / plain status; True when the reply was made"""
        if f is None:
            return False
        if f.get("delay"):
            time.sleep(float(f["delay"]))
        if f.get("drop"):
            self.close_connection = True
            self.record["status"] = "dropped"
            return True
        if f.get("status") and not f.get("lose") and f["status"] not in (412,):
            self.reply(int(f["status"]), f.get("body", {"message": "fault"}),
                       headers=f.get("headers"))
            return True
        return False

    # ---- dispatch ----
    def handle_any(self, method):
        self.record = {"method": method, "path": self.path, "time": time.time()}
        with S.lock:
            S.requests.append(self.record)
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/__control/"):
            return self.control(method, path)
        if not path.startswith("/api/v4/"):
            return self.git(method)
        err = self.check_common()
        raw = self.body()
        self.record["headers"] = {k: v for k, v in self.headers.items()
                                  if k.lower() not in ("runner-token", "job-token")}
        if err:
            return self.error(err)
        routes = [
            ("POST", r"/api/v4/runners/verify", self.verify),
            ("POST", r"/api/v4/runners", self.register),
            ("DELETE", r"/api/v4/runners/managers", self.unregister_manager),
            ("DELETE", r"/api/v4/runners", self.unregister_all),
            ("POST", r"/api/v4/jobs/request", self.request_job),
            ("PUT", r"/api/v4/jobs/(\d+)", self.update_job),
            ("PATCH", r"/api/v4/jobs/(\d+)/trace", self.patch_trace),
            ("POST", r"/api/v4/jobs/(\d+)/artifacts", self.artifacts),
        ]
        for m, pat, fn in routes:
            mo = re.fullmatch(pat, path)
            if mo and m == method:
                return fn(raw, *mo.groups())
        return self.error("no such endpoint")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    # ---- runners ----
    def runner_doc(self, raw, tokens):
        doc, err = self.json_body(raw)
        if err:
            return None, err
        if self.headers.get("RUNNER-TOKEN") != doc.get("token"):
            return None, "RUNNER-TOKEN header and body token differ"
        return doc, None

    def check_info(self, info):
        if not isinstance(info, dict):
            return "info missing"
        for k in ("name", "version", "revision", "platform", "architecture", "executor"):
            if not isinstance(info.get(k), str) or not info[k]:
                return "info.%s missing" % k
        if info["executor"] != "tfgate":
            return "info.executor %r" % info["executor"]
        feats = info.get("features") or {}
        missing = [f for f in REQUIRED_FEATURES if feats.get(f) is not True]
        if missing:
            return "features missing: %s" % ",".join(missing)
        return None

    def verify(self, raw):
        f = self.take_fault("verify")
        if self.apply_fault(f):
            return
        doc, err = self.runner_doc(raw, S.runner_tokens)
        if err:
            return self.error(err)
        if not re.fullmatch(r"[sr]_[a-z0-9]{12}", doc.get("system_id", "")):
            return self.error("system_id %r" % doc.get("system_id"))
        err = self.check_info(doc.get("info"))
        if err:
            return self.error(err)
        if doc["token"] not in S.runner_tokens:
            return self.reply(403, {"message": "403 Forbidden"})
        with S.lock:
            S.managers.add(doc["system_id"])
        self.reply(200, {"id": 77, "token": doc["token"],
                         "token_expires_at": "2030-01-01T00:00:00.000Z"})

    def register(self, raw):
        doc, err = self.json_body(raw)
        if err:
            return self.error(err)
        err = self.check_info(doc.get("info"))
        if err:
            return self.error(err)
        if not S.registration_token or doc.get("token") != S.registration_token:
            return self.reply(403, {"message": "403 Forbidden"})
        if not isinstance(doc.get("description"), str):
            return self.error("description missing")
        tok = "glrt-" + secrets.token_hex(10)
        with S.lock:
            S.runner_tokens.add(tok)
        self.record["tag_list"] = doc.get("tag_list")
        self.reply(201, {"id": 78, "token": tok, "token_expires_at": None})

    def unregister_manager(self, raw):
        f = self.take_fault("unregister")
        if self.apply_fault(f):
            return
        doc, err = self.runner_doc(raw, S.runner_tokens)
        if err:
            return self.error(err)
        if not doc.get("system_id"):
            return self.reply(400, {"message": "400 system_id missing"})
        if doc["token"] not in S.runner_tokens:
            return self.reply(403, {"message": "403 Forbidden"})
        with S.lock:
            if doc["system_id"] not in S.managers:
                return self.reply(404, {"message": "404 Not found"})
            S.managers.discard(doc["system_id"])
        self.reply(204)

    def unregister_all(self, raw):
        doc, err = self.runner_doc(raw, S.runner_tokens)
        if err:
            return self.error(err)
        if doc["token"] not in S.runner_tokens:
            return self.reply(403, {"message": "403 Forbidden"})
        with S.lock:
            S.runner_tokens.discard(doc["token"])
            S.deleted = True
        self.reply(204)

    # ---- jobs ----
    def request_job(self, raw):
        doc, err = self.runner_doc(raw, S.runner_tokens)
        if err:
            return self.error(err)
        if not re.fullmatch(r"[sr]_[a-z0-9]{12}", doc.get("system_id", "")):
            return self.error("system_id %r" % doc.get("system_id"))
        if not isinstance(doc.get("last_update"), str):
            return self.error("last_update missing")
        err = self.check_info(doc.get("info"))
        if err:
            return self.error(err)
        self.record["last_update"] = doc["last_update"]
        f = self.take_fault("request")
        if f and f.get("hold"):
            time.sleep(float(f["hold"]))
            return self.reply(204, headers={"X-GitLab-Last-Update": S.queue_value,
                                            "Gitlab-Ci-Builds-Polling": "yes"})
        if self.apply_fault(f):
            return
        if doc["token"] not in S.runner_tokens:
            return self.reply(403, {"message": "403 Forbidden"})
        with S.lock:
            item = S.queue.pop(0) if S.queue else None
        if item is None:
            return self.reply(204, headers={"X-GitLab-Last-Update": S.queue_value})
        self.record["job"] = item["id"]
        self.reply(201, item["body"], headers={"X-GitLab-Last-Update": S.queue_value})

    def job_auth(self, jid, doc_token):
        with S.lock:
            job = S.jobs.get(int(jid))
        if job is None:
            return None, (404, "404 Not found")
        hdr = self.headers.get("JOB-TOKEN")
        if hdr != job["token"]:
            return None, (403, "403 Forbidden - invalid JOB-TOKEN")
        if doc_token is not None and doc_token != job["token"]:
            return None, (403, "403 Forbidden - body token")
        return job, None

    def update_job(self, raw, jid):
        doc, err = self.json_body(raw)
        if err:
            return self.error(err)
        job, bad = self.job_auth(jid, doc.get("token"))
        if bad:
            if bad[0] == 403:
                with S.lock:
                    S.errors.append("PUT job %s: wrong token" % jid)
            return self.reply(bad[0], {"message": bad[1]})
        state = doc.get("state")
        out = doc.get("output") or {}
        if state not in ("running", "success", "failed"):
            return self.error("state %r" % state)
        # a runner reporting a job it lost in a crash (tfgate's abandon) no
        # longer has the trace: only a final "failed" may come without output
        if "output" not in doc and state == "failed":
            out = None
        elif not re.fullmatch(r"crc32:[0-9a-f]{8}", out.get("checksum", "")) or \
                not isinstance(out.get("bytesize"), int):
            return self.error("output checksum/bytesize %r" % out)
        if "exit_code" in doc and (not isinstance(doc["exit_code"], int) or doc["exit_code"] <= 0):
            return self.error("exit_code %r (omit when 0)" % doc["exit_code"])
        upd = {k: v for k, v in doc.items() if k != "token"}
        # what the fake answered, for tests that check the runner's reaction
        self.record["update"] = upd
        with S.lock:
            job["updates"].append(upd)
            if job["state"] in ("canceled",):
                return self.reply(403, {"message": "403 Forbidden - job canceled"},
                                  headers={"Job-Status": "canceled"})
        f = self.take_fault("update")
        if f and f.get("status") == 412:
            with S.lock:
                job["trace"] = bytearray()
            return self.reply(412, {"message": "412 trace reset"})
        if self.job_faults(job, f):
            return
        if state in ("success", "failed"):
            with S.lock:
                trace = bytes(job["trace"])
            want = "crc32:%08x" % (zlib.crc32(trace) & 0xffffffff)
            if out is not None and (out["checksum"] != want or out["bytesize"] != len(trace)):
                with S.lock:
                    S.errors.append("job %s final update: checksum %s/%d, trace has %s/%d" % (
                        jid, out["checksum"], out["bytesize"], want, len(trace)))
            if state == "failed":
                reason = doc.get("failure_reason")
                allowed = set(job["failure_reasons"]) | ALWAYS_REASONS
                if reason not in allowed:
                    return self.error("failure_reason %r" % reason)
            elif "failure_reason" in doc:
                return self.error("failure_reason on success")
            with S.lock:
                if job["canceling"]:
                    state = "canceled"
                job["state"] = state
                job["failure_reason"] = doc.get("failure_reason")
                job["exit_code"] = doc.get("exit_code", 0)
        else:
            with S.lock:
                if job["state"] in ("pending", "running"):
                    job["state"] = "running"
        status = "canceling" if job["canceling"] else job["state"]
        self.reply(200, "200", ctype="text/plain",
                   headers={"Job-Status": status, "X-GitLab-Trace-Update-Interval": job["interval"]})

    def patch_trace(self, raw, jid):
        job, bad = self.job_auth(jid, None)
        if bad:
            return self.reply(bad[0], {"message": bad[1]})
        if self.headers.get("Content-Type") != "text/plain":
            return self.error("Content-Type %r" % self.headers.get("Content-Type"))
        cr = self.headers.get("Content-Range", "")
        mo = re.fullmatch(r"(\d+)-(\d+)", cr)
        if not mo:
            return self.error("Content-Range %r" % cr)
        start, end = int(mo.group(1)), int(mo.group(2))
        if end != start + len(raw) - 1 or len(raw) == 0:
            return self.error("Content-Range %s for %d bytes" % (cr, len(raw)))
        if len(raw) > PATCH_MAX:
            return self.error("patch of %d bytes" % len(raw))
        f = self.take_fault("trace")
        with S.lock:
            job["patches"].append({"start": start, "len": len(raw)})
            if job["state"] == "canceled":
                return self.reply(403, {"message": "403 Forbidden"},
                                  headers={"Job-Status": "canceled"})
            if f and f.get("lose"):
                n = min(int(f["lose"]), len(job["trace"]))
                del job["trace"][len(job["trace"]) - n:]
                job["lost"] += 1
                size = len(job["trace"])
                f = None
                lost = True
            else:
                lost = False
            if f and f.get("status") == 412:
                job["trace"] = bytearray()
                job["resets"] += 1
        if lost:
            return self.reply(416, {"message": "416 Range Not Satisfiable"},
                              headers={"Range": "0-%d" % size})
        if f and f.get("status") == 412:
            return self.reply(412, {"message": "412"})
        if self.job_faults(job, f):
            return
        with S.lock:
            size = len(job["trace"])
            if start != size:
                return self.reply(416, {"message": "416"}, headers={"Range": "0-%d" % size})
            job["trace"] += raw
            size = len(job["trace"])
            status = "canceling" if job["canceling"] else job["state"]
        self.reply(202, {"message": "accepted"},
                   headers={"Job-Status": status, "Range": "0-%d" % size,
                            "X-GitLab-Trace-Update-Interval": job["interval"]})

    def artifacts(self, raw, jid):
        job, bad = self.job_auth(jid, None)
        if bad:
            return self.reply(bad[0], {"message": bad[1]})
        f = self.take_fault("artifacts")
        if self.apply_fault(f):
            return
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, strict_parsing=False)
        atype = q.get("artifact_type", ["archive"])[0]
        afmt = q.get("artifact_format", ["zip"])[0]
        if TYPE_FORMAT.get(atype) != afmt:
            return self.reply(400, {"message": "invalid artifact type/format %s/%s" % (atype, afmt)})
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            return self.error("Content-Type %r" % ctype)
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw)
        parts = [p for p in msg.iter_parts()] if msg.is_multipart() else []
        files = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
        if len(files) != 1 or len(parts) != 1:
            return self.error("expected exactly one part named file, got %d parts" % len(parts))
        part = files[0]
        data = part.get_payload(decode=True) or b""
        rec = {"type": atype, "format": afmt, "filename": part.get_filename(),
               "size": len(data), "expire_in": q.get("expire_in", [None])[0]}
        if afmt == "zip":
            try:
                z = zipfile.ZipFile(io.BytesIO(data))
                bad_member = z.testzip()
                rec["names"] = z.namelist()
                rec["files"] = {n: z.read(n).decode("utf-8", "replace") for n in z.namelist()}
                if bad_member:
                    return self.error("zip member %s corrupt" % bad_member)
            except zipfile.BadZipFile as e:
                return self.error("bad zip: %s" % e)
        elif atype == "terraform":
            try:
                rep = json.loads(data)
            except ValueError:
                return self.error("terraform report is not JSON")
            if set(rep) != {"create", "update", "delete"} or \
                    not all(isinstance(v, int) for v in rep.values()):
                return self.error("terraform report keys %r" % rep)
            rec["json"] = rep
        with S.lock:
            job["artifacts"].append(rec)
        self.reply(201, {"message": "201 Created"})

    # ---- git smart HTTP ----
    def git(self, method):
        raw = self.body()
        ok_tokens = {j["token"] for j in S.jobs.values()}
        auth = self.headers.get("Authorization", "")
        user = pw = None
        if auth.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                pass
        if not S.repos or user != "gitlab-ci-token" or pw not in ok_tokens:
            self.record["git_auth"] = False
            return self.reply(401, "", ctype="text/plain",
                              headers={"WWW-Authenticate": 'Basic realm="GitLab"'})
        self.record["git_auth"] = True
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": S.repos,
               "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": method, "PATH_INFO": path,
               "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(raw)), "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
               "GIT_CONFIG_NOSYSTEM": "1", "HOME": S.repos}
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=raw, env=env, capture_output=True,
                              timeout=60, check=False)
        head, _, rest = proc.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if not name:
                continue
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers[name] = value.strip()
        ctype = headers.pop("Content-Type", "text/plain")
        self.reply(status, rest, ctype=ctype, headers=headers)

    # ---- control ----
    def control(self, method, path):
        raw = self.body()
        if method == "GET" and path == "/__control/log":
            with S.lock:
                jobs = {str(k): {kk: (vv.decode("latin-1") if isinstance(vv, (bytes, bytearray))
                                      else vv)
                                 for kk, vv in j.items() if kk != "body"}
                        for k, j in S.jobs.items()}
                doc = {"requests": S.requests, "errors": S.errors, "jobs": jobs,
                       "managers": sorted(S.managers), "deleted": S.deleted,
                       "queued": len(S.queue)}
                body = json.dumps(doc, default=str)
            return self.reply(200, body)
        if method != "POST":
            return self.reply(404, {"message": "no"})
        try:
            doc = json.loads(raw or b"{}")
        except ValueError:
            return self.reply(400, {"message": "control body is not JSON"})
        if path == "/__control/fault":
            with S.lock:
                S.faults.append(doc)
            return self.reply(200, {"ok": True})
        if path == "/__control/job":
            with S.lock:
                S.next_id += 1
                jid = S.next_id
            token = "glcbt-64_" + secrets.token_hex(12)
            kind = doc.get("kind", "valid")
            job = job_template(jid, token, S.port, doc.get("repo", "ops/infra.git"),
                               doc.get("sha", "5f1c0e2d3b4a59687766554433221100ffeeddcc"),
                               doc.get("features"))
            if doc.get("variables"):
                job["variables"] += doc["variables"]
            if kind in HOSTILE:
                job = hostile(kind, job, S.port)
            elif kind != "valid":
                return self.reply(400, {"message": "unknown kind"})
            body = doc.get("raw") if "raw" in doc else (
                "{\"id\": %d, \"token\": \"%s\", " % (jid, token) if kind == "malformed"
                else json.dumps(job))
            features = job["features"] or {}
            with S.lock:
                S.jobs[jid] = {"token": token, "state": "pending", "trace": bytearray(),
                               "updates": [], "patches": [], "artifacts": [], "lost": 0,
                               "resets": 0, "canceling": False, "kind": kind,
                               "interval": int(doc.get("interval", 1)),
                               "failure_reasons": features.get("failure_reasons", []),
                               "failure_reason": None, "exit_code": None}
                S.queue.append({"id": jid, "body": body})
                S.queue_value = secrets.token_hex(8)
            return self.reply(200, {"id": jid, "token": token})
        if path == "/__control/cancel":
            with S.lock:
                job = S.jobs.get(int(doc["id"]))
                if doc.get("graceful"):
                    job["canceling"] = True
                else:
                    job["state"] = "canceled"
            return self.reply(200, {"ok": True})
        return self.reply(404, {"message": "no"})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    global S
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("--runner-token", action="append", default=[])
    ap.add_argument("--registration-token")
    ap.add_argument("--repos")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    S = State(args)
    srv = Server(("127.0.0.1", 0), Handler)
    S.port = srv.server_address[1]
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stdout.write("%d\n" % S.port)
    sys.stdout.flush()
    # bounded: the fake never outlives its test
    t = threading.Timer(args.timeout, lambda: os._exit(0))
    t.daemon = True
    t.start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
