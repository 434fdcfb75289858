#!/bin/bash
# test_github_flow.sh - plugin-github against a fake GitHub (tests/fake/github/
# fake_github.py) behind Prism 5.14.2 in validating-proxy mode (--errors) with
# GitHub's own OpenAPI description (@octokit/openapi 23.0.2, cut to the
# operations tfgate uses).  Every request tfgate makes is validated by Prism:
# an invalid one gets 422 and never reaches the fake, and the test fails on
# any error in Prism's log.  Then the checks Prism cannot make (conclusion
# with completed, annotation batches <= 50, status description <= 140),
# and each flow: JWT (verified with node:crypto), discovery across 3 pages,
# ETag 304s, token renewal after a 401, secondary rate limits honoured,
# 5xx storms, 422, the check run lifecycle with annotations in batches, a
# re-run, commit status mode, shards, hostile pull request data, Markdown
# escaping checked with GitHub's renderer (cmark-gfm), webhook signatures,
# TLS verification with a private CA and mTLS (a TLS fake, without Prism).
set -u
: "${TFGATE_SRC:?source tree}" "${TFGATE_BUILD:?build tree}"

DRIVE="$TFGATE_BUILD/plugin-github/github_drive"
FAKE="$TFGATE_SRC/tests/fake/github/fake_github.py"
PRISM="$TFGATE_SRC/tests/node_modules/.bin/prism"
OPENAPI="$TFGATE_SRC/tests/node_modules/@octokit/openapi/generated/api.github.com.json"
FAILS=0
PIDS=()

ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
die() { echo "FAIL - $*"; exit 1; }
need() { command -v "$1" >/dev/null || die "$1 is not installed: this test needs it ($2)"; }
need node "Prism and the independent JWT check"
need openssl "App keys and the fake's JWT check"
need python3 "the fake GitHub and JSON checks"
need curl "the fake's control API"
need cmark-gfm "rendering summaries as GitHub does (Debian package cmark-gfm)"
[ -x "$DRIVE" ] || die "$DRIVE not built (target github_drive)"
[ -x "$PRISM" ] || die "Prism missing: run npm install in tests/ (package.json pins @stoplight/prism-cli)"
[ -f "$OPENAPI" ] || die "@octokit/openapi missing: run npm install in tests/"

T=$(mktemp -d /tmp/tfgate-github.XXXXXX)
cleanup() {
        for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$T"
}
trap cleanup EXIT
cd "$T" || exit 1

APP=4242
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out app.pem 2>/dev/null || die "openssl genpkey"
chmod 600 app.pem
openssl pkey -in app.pem -pubout -out app.pub 2>/dev/null || die "openssl pkey -pubout"

# ---- Prism in front of the fake ----
node "$TFGATE_SRC/tests/fake/github/cut_spec.js" "$OPENAPI" cut.json \
        "POST /app/installations/{installation_id}/access_tokens" "GET /repos/{owner}/{repo}/installation" \
        "GET /repos/{owner}/{repo}/pulls" "GET /repos/{owner}/{repo}/pulls/{pull_number}" \
        "POST /repos/{owner}/{repo}/check-runs" \
        "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}" \
        "GET /repos/{owner}/{repo}/commits/{ref}/check-runs" \
        "GET /repos/{owner}/{repo}/commits/{ref}/check-suites" \
        "POST /repos/{owner}/{repo}/statuses/{sha}" "GET /repos/{owner}/{repo}/commits/{ref}/status" \
        || die "cutting the OpenAPI description"

python3 "$FAKE" --spec cut.json --pubkey app.pub --app-id $APP --token-len 300 --lifetime 280 \
        > fake.port 2> fake.err &
PIDS+=($!)
for _ in $(seq 50); do [ -s fake.port ] && break; sleep 0.1; done
FPORT=$(head -1 fake.port)
[ -n "$FPORT" ] || die "fake GitHub did not start: $(cat fake.err)"
CTRL="http://127.0.0.1:$FPORT/_control"
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PRISM" proxy --errors -h 127.0.0.1 -p "$PPORT" cut.json "http://127.0.0.1:$FPORT" > prism.log 2>&1 &
PIDS+=($!)
# (the JWT check runs while Prism starts)
# ---- the JWT, checked by an independent implementation ----
"$DRIVE" jwt --key app.pem --app-id $APP > jwt.txt || die "github_drive jwt"
if node -e '
const crypto = require("crypto"), fs = require("fs");
const jwt = fs.readFileSync("jwt.txt", "utf8").trim(), [h, c, s] = jwt.split(".");
const dec = (x) => JSON.parse(Buffer.from(x, "base64url").toString());
const hdr = dec(h), cl = dec(c), now = Math.floor(Date.now() / 1000);
const good = crypto.verify("RSA-SHA256", Buffer.from(h + "." + c), fs.readFileSync("app.pub"), Buffer.from(s, "base64url"));
const bad = crypto.verify("RSA-SHA256", Buffer.from(h + "." + c + "x"), fs.readFileSync("app.pub"), Buffer.from(s, "base64url"));
const okc = hdr.alg === "RS256" && hdr.typ === "JWT" && cl.iss === 4242 && cl.iat <= now - 55 &&
    cl.iat >= now - 70 && cl.exp > now && cl.exp - now < 600 && cl.exp - cl.iat <= 600;
process.exit(good && !bad && okc ? 0 : 1);'; then
        ok "JWT: RS256 signature verified by node:crypto; iat now-60, exp < now+10min, iss = app id"
else
        bad "JWT rejected by node:crypto or claims wrong: $(cat jwt.txt)"
fi

for _ in $(seq 600); do grep -q "Prism is listening" prism.log && break; sleep 0.1; done
grep -q "Prism is listening" prism.log || die "Prism did not start: $(tail -5 prism.log)"
API="http://127.0.0.1:$PPORT"
CLONE="http://127.0.0.1:$FPORT/git"

ctl() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$CTRL/$1" > /dev/null || bad "control $1"; }
# a generous primary budget, so the poll interval stays at its base here;
# the budget's effect is tested on its own below
ctl set "{\"public_url\": \"$API\", \"limit\": 1000000, \"remaining\": 1000000}"
sha() { printf '%040x' "$1"; }
prs_json() {   # repo first last [extra-json-fields]
        python3 - "$@" <<'EOF'
import json, sys
repo, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
print(json.dumps({"repo": repo, "page_size": 2,
                  "prs": [{"number": n, "sha": "%040x" % (n * 7919 + 17), "updated": 1700000000 + n}
                          for n in range(a, b + 1)]}))
EOF
}
drive_app() {
        "$DRIVE" --api "$API" --clone "$CLONE" --app-id $APP --key app.pem --interval-ms 200 "$@"
        local rc=$?
        [ $rc -eq 0 ] || bad "github_drive exited $rc ($*)"
        return 0
}

# ---- discovery across 3 pages, ETag 304s ----
ctl prs "$(prs_json o/pages 1 5)"
drive_app --repo o/pages --claim-only --scans 2 > d1.out 2> d1.err
N=$(grep -c '"event":"job"' d1.out)
[ "$N" -eq 5 ] && ok "discovery: 5 pull requests over 3 pages (Link rel=next) all claimed" ||
        { bad "discovery: $N jobs, expected 5"; cat d1.err; }
python3 - "$CTRL" "$CLONE" <<'EOF' && ok "jobs: base repository URL, refs/pull/N/head, x-access-token with a 300-char token; 3 pages read; second scan answered 304" || bad "job fields or paging"
import json, sys, urllib.request
ctrl, clone = sys.argv[1], sys.argv[2]
jobs = [json.loads(l) for l in open("d1.out") if '"job"' in l]
for j in jobs:
    n = int(j["ref"].split("/")[2])
    assert j["repo_url"] == clone + "/o/pages.git", j
    assert j["ref"] == "refs/pull/%d/head" % n and j["refspec"] == j["ref"], j
    assert j["sha"] == "%040x" % (n * 7919 + 17), j
    assert j["user"] == "x-access-token" and j["password_len"] == 304 and not j["password_has_ws"], j
reqs = json.load(urllib.request.urlopen(ctrl + "/requests"))
pages = [r for r in reqs if "/repos/o/pages/pulls" in r["path"]]
assert any("page=2" in r["path"] for r in pages) and any("page=3" in r["path"] for r in pages), pages
assert any(r["status"] == 304 and r["if_none_match"] for r in pages), [r["status"] for r in pages]
# conditional GETs of the check runs too
assert any(r["status"] == 304 for r in reqs if "check-runs?" in r["path"])
EOF
grep -q '"not_modified":[1-9]' d1.out && ok "stats: 304 answers counted" || bad "no 304 in stats: $(tail -1 d1.out)"

# ---- the poll interval follows the budget ----
ctl set '{"limit": 5000, "remaining": 1000}'
drive_app --repo o/pages --claim-only --scans 2 > d1b.out 2> d1b.err
python3 - <<'EOF' && ok "budget below the reserve (1000 of 5000 left, a quarter kept for reports): next scan only after the reset" || { bad "budget interval"; cat d1b.out; }
import json
st = [json.loads(l) for l in open("d1b.out") if '"stats"' in l][0]
assert st["next_poll_ms"] >= 3000000, st
EOF
ctl set '{"limit": 1000000, "remaining": 1000000}'

# ---- check run lifecycle: queued -> in_progress -> completed, annotations in batches ----
python3 - <<'EOF'
import json
findings = [{"rule": "provider-not-allowed", "severity": "error", "file": "modules/m%d.tf" % i,
             "line": i + 1, "message": "provider example.com/evil/x is not allowed"} for i in range(118)]
findings.append({"rule": "data-external", "severity": "error", "file": "main.tf", "line": 4,
                 "message": "<img src=x onerror=alert(1)> [x](javascript:alert(1)) @everyone"})
findings.append({"rule": "override-file", "severity": "warning", "file": None, "line": None,
                 "message": "x_override.tf"})
doc = {"reason": "provider gate: 118 providers refused | <b>bold</b>", "mode": "plan",
       "terraform_version": None, "plan": None, "steps": [], "providers": [
           {"source": "example.com/evil/x", "constraints": "| ` <script>", "locked_version": "1.0.0",
            "hashes": [], "allowed": False, "mirror": "missing"}],
       "diagnostics": [{"severity": "warning", "summary": "Deprecated\u202e", "detail": "use y",
                        "file": "main.tf", "line": 9},
                       {"severity": "error", "summary": "no place", "detail": None, "file": None, "line": None}],
       "findings": findings}
json.dump(doc, open("result.json", "w"))
open("envelope.json", "w").write('{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}')
open("log.txt", "wb").write(b"init\n" + b"x" * 200000 + b"\n\x1b[31mred\x1b[0m ```` fence\nTAIL-END\n")
EOF
ctl prs '{"repo": "o/life", "prs": [{"number": 7, "sha": "'"$(sha 77)"'"}]}'
drive_app --repo o/life --scans 2 --result result.json --envelope envelope.json --log log.txt \
        --outcome failed --details-url "https://runner.example/jobs/1" > d2.out 2> d2.err
grep -q '"event":"finished"' d2.out && ok "lifecycle: job claimed, started and finished" ||
        { bad "lifecycle did not finish"; cat d2.out d2.err; }
python3 - "$CTRL" "$(sha 77)" <<'EOF' && ok "check run: created queued, PATCH in_progress with details_url, 3 PATCHes of 50/50/20 annotations, completed action_required with summary, text and digest" || bad "check run lifecycle"
import json, sys, hashlib, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
runs = [r for r in json.load(urllib.request.urlopen(ctrl + "/runs")) if r["head_sha"] == sha]
assert len(runs) == 1, runs
h = runs[0]["history"]
assert h[0]["status"] == "queued" and h[0]["name"] == "tfgate" and h[0]["external_id"], h[0]
assert h[1]["status"] == "in_progress" and h[1]["details_url"] == "https://runner.example/jobs/1", h[1]
batches = [len(b.get("output", {}).get("annotations", [])) for b in h[2:]]
assert batches == [50, 50, 20], batches
assert all("status" not in b for b in h[2:-1])
last = h[-1]
assert last["status"] == "completed" and last["conclusion"] == "action_required", last.get("conclusion")
out = last["output"]
assert len(out["summary"]) <= 65535 and len(out["text"]) <= 65535
digest = hashlib.sha256(open("envelope.json", "rb").read()).hexdigest()
assert digest in out["summary"] and "tfgate verify --key" in out["summary"]
assert "TAIL-END" in out["text"] and "\x1b" not in out["text"] and "\n`````\n" in out["text"]
assert "init" not in out["text"]  # only the tail (60 KiB) is kept
assert "<img" not in out["summary"] and "<script" not in out["summary"] and "<b>" not in out["summary"]
levels = {a["annotation_level"] for a in runs[0]["annotations"]}
assert levels <= {"failure", "warning", "notice"} and len(runs[0]["annotations"]) == 120
EOF

# ---- a pull request closed while its job runs: canceled ----
ctl prs '{"repo": "o/cancel", "prs": [{"number": 4, "sha": "'"$(sha 44)"'"}]}'
drive_app --repo o/cancel --scans 1 --wait-cancel 20 --result result.json > c.out 2> c.err &
DPID=$!
for _ in $(seq 200); do grep -q '"event":"started"' c.out && break; sleep 0.1; done
grep -q '"event":"started"' c.out || bad "cancel: the job never started"
ctl prs '{"repo": "o/cancel", "prs": []}'
for _ in $(seq 300); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
kill $DPID 2>/dev/null
python3 - "$CTRL" "$(sha 44)" <<'EOF' && ok "a pull request closed mid-job: canceled() turns true, the run completes cancelled" || { bad "cancel"; cat c.out c.err; }
import json, sys, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
assert any('"canceled"' in l for l in open("c.out"))
runs = [r for r in json.load(urllib.request.urlopen(ctrl + "/runs")) if r["head_sha"] == sha]
assert len(runs) == 1 and runs[0]["conclusion"] == "cancelled", runs
EOF

# ---- a re-run: the App's suite goes back to queued ----
ctl rerequest '{"repo": "o/life", "sha": "'"$(sha 77)"'"}'
drive_app --repo o/life --scans 2 --result result.json --outcome passed > d3.out 2> d3.err
python3 - "$CTRL" "$(sha 77)" <<'EOF' && ok "re-run: a re-requested suite makes a new run for the same commit, completed success" || bad "re-run"
import json, sys, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
runs = sorted((r for r in json.load(urllib.request.urlopen(ctrl + "/runs")) if r["head_sha"] == sha),
              key=lambda r: r["id"])
assert len(runs) == 2 and runs[1]["status"] == "completed" and runs[1]["conclusion"] == "success", runs
EOF
drive_app --repo o/life --scans 2 --claim-only > d3b.out 2> d3b.err
grep -q '"event":"job"' d3b.out && bad "a completed commit was claimed again" ||
        ok "no re-run without a re-request (completed run, suite completed)"

# ---- a restarted host takes back its own unfinished run, never another's ----
mkdir -p state
INST=0123456789abcdef0123456789abcdef
echo "$INST" > state/github-github.instance
ctl prs '{"repo": "o/restart", "prs": [{"number": 1, "sha": "'"$(sha 51)"'"}, {"number": 2, "sha": "'"$(sha 52)"'"}]}'
ctl run_state '{"repo": "o/restart", "sha": "'"$(sha 51)"'", "status": "in_progress", "external_id": "'"$INST"':9"}'
ctl run_state '{"repo": "o/restart", "sha": "'"$(sha 52)"'", "status": "queued", "external_id": "ffffffffffffffffffffffffffffffff:3"}'
drive_app --repo o/restart --state state --scans 2 --outcome passed > r.out 2> r.err
python3 - "$CTRL" "$(sha 51)" <<'EOF' && ok "restart: our in-progress run (instance id in state_dir) is taken back and completed; another host's queued run is left alone" || { bad "restart"; cat r.out r.err; }
import json, sys, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
jobs = [json.loads(l) for l in open("r.out") if '"job"' in l]
assert [j["sha"] for j in jobs] == [sha], jobs
runs = [r for r in json.load(urllib.request.urlopen(ctrl + "/runs")) if r["repo"] == "o/restart"]
assert len(runs) == 2, runs
mine = [r for r in runs if r["head_sha"] == sha][0]
assert mine["status"] == "completed" and mine["conclusion"] == "success"
other = [r for r in runs if r["head_sha"] != sha][0]
assert other["status"] == "queued" and not other["history"]
EOF

# ---- token renewal on 401 ----
ctl prs '{"repo": "o/renew", "prs": [{"number": 1, "sha": "'"$(sha 11)"'"}]}'
ctl fault '{"method": "PATCH", "path": "/repos/o/renew/check-runs/", "status": 401, "body": {"message": "Bad credentials"}, "count": 1}'
drive_app --repo o/renew --scans 2 --outcome passed > d4.out 2> d4.err
grep -q '"event":"finished"' d4.out && grep -q '"retries_401":1' d4.out && grep -q '"token_mints":2' d4.out &&
        ok "401 on an installation token: a new token is minted and the call retried once" ||
        { bad "token renewal"; cat d4.out; }
ctl prs '{"repo": "o/renew", "prs": [{"number": 2, "sha": "'"$(sha 12)"'"}]}'
ctl fault '{"method": "PATCH", "path": "/repos/o/renew/check-runs/", "expire_tokens": true, "count": 1}'
drive_app --repo o/renew --scans 2 --outcome passed > d4c.out 2> d4c.err
python3 - "$CTRL" <<'EOF' && ok "a token that really expired mid-job (the fake's clock): 401, new token, the PATCH goes through" || { bad "expiry mid-job"; cat d4c.out; }
import json, sys, urllib.request
reqs = [r for r in json.load(urllib.request.urlopen(sys.argv[1] + "/requests"))]
i = max(i for i, r in enumerate(reqs) if r["method"] == "PATCH" and r["status"] == 401)
assert reqs[i + 1]["path"].endswith("/access_tokens") and reqs[i + 1]["status"] == 201
assert reqs[i + 2]["method"] == "PATCH" and reqs[i + 2]["status"] == 200
st = [json.loads(l) for l in open("d4c.out") if '"stats"' in l][0]
assert st["retries_401"] == 1 and st["token_mints"] == 2, st
EOF
ctl fault '{"method": "GET", "path": "/repos/o/renew/pulls", "status": 401, "body": {"message": "Bad credentials"}, "count": 2}'
drive_app --repo o/renew --scans 2 --claim-only > d4b.out 2> d4b.err
grep -q '"retries_401":1' d4b.out && grep -q '"event":"poll_error"' d4b.out &&
        ok "a second 401 after renewal is an error, not a loop" || { bad "401 twice"; cat d4b.out; }

# ---- secondary rate limit (403 + retry-after, then 429 on a write) ----
ctl prs '{"repo": "o/limit", "prs": [{"number": 1, "sha": "'"$(sha 21)"'"}]}'
ctl fault '{"method": "GET", "path": "/repos/o/limit/pulls", "status": 403, "headers": {"retry-after": "2"}, "body": {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}, "count": 1}'
ctl fault '{"method": "POST", "path": "/repos/o/limit/check-runs", "status": 429, "headers": {"retry-after": "1"}, "body": {"message": "slow down"}, "count": 1}'
drive_app --repo o/limit --scans 12 --claim-only > d5.out 2> d5.err
python3 - "$CTRL" <<'EOF' && ok "secondary limits: no request before retry-after passed (403 on a read, 429 on a write), then the job is claimed" || { bad "rate limits"; cat d5.out; }
import json, sys, urllib.request
reqs = [r for r in json.load(urllib.request.urlopen(sys.argv[1] + "/requests")) if "/o/limit/" in r["path"]]
i403 = next(i for i, r in enumerate(reqs) if r["status"] == 403)
assert reqs[i403 + 1]["time"] - reqs[i403]["time"] >= 1.9, (reqs[i403 + 1]["time"] - reqs[i403]["time"])
i429 = next(i for i, r in enumerate(reqs) if r["status"] == 429)
assert reqs[i429 + 1]["time"] - reqs[i429]["time"] >= 0.9
assert reqs[i429 + 1]["method"] == "POST" and reqs[i429 + 1]["status"] == 201
EOF
grep -q '"event":"job"' d5.out || bad "rate limited repository never claimed"
grep -q '"rate_limited":2' d5.out && ok "stats: 2 rate-limit answers counted" || bad "rate_limited: $(tail -1 d5.out)"

# ---- primary limit exhausted: the wait is longer than allowed => fail fast, no hammering ----
ctl fault '{"method": "GET", "path": "/repos/o/limit/pulls", "status": 403, "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "'"$(( $(date +%s) + 600 ))"'"}, "body": {"message": "API rate limit exceeded"}, "count": 1}'
BEFORE=$(curl -sf "$CTRL/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
timeout 30 "$DRIVE" --api "$API" --clone "$CLONE" --app-id $APP --key app.pem --interval-ms 100 \
        --repo o/limit --scans 3 --claim-only > d6.out 2> d6.err
AFTER=$(curl -sf "$CTRL/requests" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
# the new process mints its token (2 requests), gets the 403, and then stays quiet
[ $((AFTER - BEFORE)) -le 3 ] && grep -q 'next scan\|rate limit' d6.out &&
        ok "primary limit exhausted (reset in 600 s): polling stops instead of retrying" ||
        { bad "primary limit: $((AFTER - BEFORE)) requests"; cat d6.out; }
grep -q '"next_poll_ms":[0-9]\{6,\}' d6.out && ok "poll interval stretched to the reset" || bad "poll interval: $(tail -1 d6.out)"

# ---- 5xx storm and a 422 ----
ctl prs '{"repo": "o/storm", "prs": [{"number": 1, "sha": "'"$(sha 31)"'"}]}'
ctl fault '{"method": "GET", "path": "/repos/o/storm/pulls", "status": 502, "body": {"message": "bad gateway"}, "count": 6}'
ctl fault '{"method": "POST", "path": "/repos/o/storm/check-runs", "status": 422, "body": {"message": "Validation Failed"}, "count": 1}'
drive_app --repo o/storm --scans 6 --claim-only > d7.out 2> d7.err
N5=$(curl -sf "$CTRL/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if "/o/storm/pulls" in r["path"] and r["status"] == 502))')
grep -q '"event":"poll_error"' d7.out && grep -q '"event":"job"' d7.out && [ "$N5" -eq 6 ] &&
        grep -q "422" d7.out && ok "5xx storm (6 x 502) and a 422 on create: polling slows, retries, then claims" ||
        { bad "storm: 502s=$N5"; cat d7.out; }

# ---- an oversized reply is an error, never a truncation (straight to the fake) ----
ctl prs '{"repo": "o/big", "prs": [{"number": 1, "sha": "'"$(sha 71)"'"}]}'
ctl fault '{"method": "GET", "path": "/repos/o/big/pulls", "big": 17000000, "count": 1}'
"$DRIVE" --api "http://127.0.0.1:$FPORT" --clone "$CLONE" --app-id $APP --key app.pem --interval-ms 100 \
        --repo o/big --claim-only --scans 2 > big.out 2> big.err
grep -q 'reply larger than 16777216 bytes' big.out && grep -q '"event":"job"' big.out &&
        ok "a 17 MB reply is refused (16 MiB cap), the next scan works" || { bad "oversized reply"; cat big.out; }

# ---- sharding: two hosts, disjoint and complete ----
python3 - > shard.json <<'EOF'
import json
print(json.dumps({"repo": "Octo/Shard", "page_size": 100,
                  "prs": [{"number": n, "sha": "%040x" % (n * 104729 + 3), "updated": n} for n in range(1, 17)]}))
EOF
ctl prs "$(cat shard.json)"
drive_app --repo Octo/Shard --shard 0/2 --claim-only --scans 1 > s0.out 2> s0.err
drive_app --repo Octo/Shard --shard 1/2 --claim-only --scans 1 > s1.out 2> s1.err
python3 - <<'EOF' && ok "shards 0/2 and 1/2: disjoint, together all 16 commits, each by FNV-1a(owner/repo/sha) mod 2" || bad "sharding"
import json
def shas(f): return [json.loads(l)["sha"] for l in open(f) if '"job"' in l]
a, b = shas("s0.out"), shas("s1.out")
def fnv(s):
    h = 0xcbf29ce484222325
    for c in s.lower().encode():
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h
assert not set(a) & set(b) and len(set(a) | set(b)) == 16 and len(a) + len(b) == 16, (len(a), len(b))
assert all(fnv("octo/shard/" + s) % 2 == 0 for s in a) and all(fnv("octo/shard/" + s) % 2 == 1 for s in b)
assert 3 <= len(a) <= 13
EOF

# ---- hostile pull request data ----
python3 - "$API" > hostile.json <<'EOF'
import json, sys
good = "%040x" % 999
print(json.dumps({"repo": "o/hostile", "page_size": 3, "next_override": "http://127.0.0.2:9/evil/pulls?page=2",
  "prs": [
    {"number": 1, "sha": good, "title": "T" * 300000, "updated": 9},
    {"number": 2, "sha": "%040x" % 1000, "ref": "feat\u001b[31m\r\n::set-output name=x::y\u202e", "updated": 8},
    {"number": 3, "sha": "%040x" % 1001, "head_repo": "evil/hostile",
     "head_clone_url": "https://evil.example/evil/hostile.git", "updated": 7},
    {"number": 4, "sha": "ABCDEF" + "0" * 34, "updated": 6},
    {"number": 5, "sha": "%040x" % 1002, "base_repo": "other/repo", "updated": 5}]}))
EOF
ctl prs @hostile.json
drive_app --repo o/hostile --claim-only --scans 1 > h.out 2> h.err
python3 - "$CLONE" <<'EOF' && ok "hostile PRs: huge title and control-character branch ignored, fork fetched from the base repo, bad sha / other base refused, Link to another host not followed" || { bad "hostile PR data"; cat h.out h.err; }
import json, sys
jobs = [json.loads(l) for l in open("h.out") if '"job"' in l]
assert sorted(int(j["ref"].split("/")[2]) for j in jobs) == [1, 2, 3], jobs
for j in jobs:
    assert j["repo_url"] == sys.argv[1] + "/o/hostile.git" and j["ref"].startswith("refs/pull/")
    assert all(0x20 < ord(c) < 0x7f for c in j["ref"] + j["id"] + j["project"])
stats = [json.loads(l) for l in open("h.out") if '"stats"' in l][0]
assert stats["refused_prs"] == 0  # first page holds PRs 1..3 only; page 2 is never fetched
err = open("h.err").read()
assert "not followed" in err, err
EOF
python3 -c 'import json; d=json.load(open("hostile.json")); d["page_size"]=10; d.pop("next_override"); print(json.dumps(d))' > hostile2.json
ctl prs @hostile2.json
drive_app --repo o/hostile --claim-only --scans 1 > h2.out 2> h2.err
grep -q '"refused_prs":2' h2.out && ! grep -q '"event":"job"' h2.out &&
        ok "entries with an uppercase sha or another base repository are refused and counted" ||
        { bad "refused entries"; cat h2.out; }

# ---- commit status mode (fine-grained token) ----
ctl set '{"pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"}'
printf 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz\n' > pat.txt
chmod 600 pat.txt
ctl prs '{"repo": "o/status", "prs": [{"number": 3, "sha": "'"$(sha 41)"'"}]}'
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status --interval-ms 200 --scans 2 \
        --result result.json --outcome failed --details-url "https://runner.example/jobs/2" > t.out 2> t.err
python3 - "$CTRL" "$(sha 41)" <<'EOF' && ok "status mode: pending (queued, running) then failure, context tfgate, target_url, no check runs" || { bad "status mode"; cat t.out t.err; }
import json, sys, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
st = [s for s in json.load(urllib.request.urlopen(ctrl + "/statuses")) if s["sha"] == sha]
assert [s["state"] for s in st] == ["pending", "pending", "failure"], st
assert all(s["context"] == "tfgate" and len(s["description"]) <= 140 for s in st)
assert st[-1]["target_url"] == "https://runner.example/jobs/2"
assert not [r for r in json.load(urllib.request.urlopen(ctrl + "/runs")) if r["head_sha"] == sha]
EOF
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status --interval-ms 200 --scans 2 \
        --claim-only > t2.out 2> t2.err
grep -q '"event":"job"' t2.out && bad "status mode claimed a commit that has a tfgate status" ||
        ok "status mode: a commit with a tfgate status is not claimed again"

# ---- status mode: a job a crash interrupted is reported by its handle ----
ctl prs '{"repo": "o/status", "prs": [{"number": 5, "sha": "'"$(sha 43)"'"}]}'
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status --interval-ms 200 --scans 1 \
        --claim-only --handle > ab.out 2> ab.err
H=$(python3 -c 'import json,sys; print([e["detail"] for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "handle"][0])' ab.out 2>/dev/null)
python3 - "$H" "$API" "$(sha 43)" <<'EOF' && ok "status mode: the job handle names this API, the repository and the SHA, and holds no token" || { bad "status-mode handle: $H"; cat ab.out ab.err; }
import json, sys
h, api, sha = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
assert h == {"v": 1, "api": api, "repo": "o/status", "sha": sha}, h
assert "github_pat" not in sys.argv[1]
EOF
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status --abandon "$H" > ab2.out 2> ab2.err
python3 - "$CTRL" "$(sha 43)" <<'EOF' && ok "status mode: abandon posts error (the runner restarted) on the interrupted commit" || { bad "status-mode abandon"; cat ab2.out ab2.err; }
import json, sys, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
assert [json.loads(l)["event"] for l in open("ab2.out")] == ["abandoned"]
st = [s for s in json.load(urllib.request.urlopen(ctrl + "/statuses")) if s["sha"] == sha]
assert [s["state"] for s in st] == ["pending", "error"], st
assert st[-1]["context"] == "tfgate" and "restarted" in st[-1]["description"], st[-1]
EOF
other=$(printf '%s' "$H" | sed 's|"api": *"[^"]*"|"api":"https://api.elsewhere.example"|')
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status --abandon "$other" > ab3.out 2> ab3.err
gone=$(printf '%s' "$H" | sed 's|"repo": *"o/status"|"repo":"o/removed"|')
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status --abandon "$gone" > ab4.out 2> ab4.err
"$DRIVE" --api "$API" --clone "$CLONE" --token-file pat.txt --repo o/status \
        --abandon '{"v":1,"api":"'"$API"'","repo":"o/status","sha":"x;rm"}' > ab5.out 2> ab5.err
python3 - "$CTRL" "$(sha 43)" <<'EOF' && ok "status mode: a handle for another API URL or with a bad SHA is refused and nothing is sent; a repository no longer configured is gone" || { bad "status-mode abandon refusals"; cat ab3.out ab4.out ab5.out; }
import json, sys, urllib.request
ctrl, sha = sys.argv[1], sys.argv[2]
ev = lambda f: [json.loads(l) for l in open(f)]
assert ev("ab3.out")[0]["event"] == "abandon_error" and "another GitHub API URL" in ev("ab3.out")[0]["detail"], ev("ab3.out")
assert ev("ab4.out")[0]["event"] == "gone", ev("ab4.out")
assert ev("ab5.out")[0]["event"] == "abandon_error" and "SHA" in ev("ab5.out")[0]["detail"], ev("ab5.out")
st = [s for s in json.load(urllib.request.urlopen(ctrl + "/statuses")) if s["sha"] == sha]
assert len(st) == 2, st
EOF
ctl set '{"pat": ""}'   # back to App mode
ctl prs '{"repo": "o/apph", "prs": [{"number": 6, "sha": "'"$(sha 44)"'"}]}'
drive_app --repo o/apph --claim-only --handle --scans 1 > ab6.out 2> ab6.err
ok_app=$(python3 -c 'import json,sys; h = [e["detail"] for e in map(json.loads, open(sys.argv[1])) if e.get("event") == "handle"]; print(h == ["none"])' ab6.out)
[ "$ok_app" = True ] && ok "App mode keeps no job handle (the next scan takes its own runs back)" || { bad "App mode handle"; cat ab6.out; }
ctl set '{"pat": ""}'

# ---- Markdown escaping, rendered by GitHub's renderer ----
"$DRIVE" summary result.json envelope.json > summary.md || bad "github_drive summary"
cmark-gfm --unsafe -e table -e autolink -e strikethrough -e tagfilter summary.md > summary.html
python3 - <<'EOF' && ok "summary rendered by cmark-gfm (--unsafe): only table/heading/code markup, no links, images, raw HTML or mentions" || bad "summary escaping"
import re
html = open("summary.html").read()
tags = set(re.findall(r"</?([a-zA-Z0-9]+)", html))
assert tags <= {"h2", "h3", "p", "strong", "code", "pre", "table", "thead", "tbody", "tr", "th", "td"}, tags
assert "href" not in html and "src=" not in html.replace("src=x", "") or "<img" not in html
assert "<img" not in html and "<script" not in html and "<a " not in html
assert "@everyone" not in html.replace("@\u2060", "")
assert "\u202e" not in html
EOF
python3 - <<'EOF'
import json
doc = json.load(open("result.json"))
doc["findings"] = [{"rule": "data-http", "severity": "error", "file": "f%d.tf" % i, "line": 1,
                    "message": "<>&|`*_ " * 60} for i in range(3000)]
json.dump(doc, open("big.json", "w"))
EOF
"$DRIVE" summary big.json > big.md
python3 - <<'EOF' && ok "a huge summary is cut within 65,535 characters with a visible note" || bad "summary cut"
s = open("big.md", encoding="utf-8").read()
assert len(s) <= 65535 and len(s.encode()) <= 65535 and "**Cut:**" in s, len(s)
EOF

# ---- webhook signatures ----
printf '{"action":"opened","repository":{"full_name":"o/r"}}' > hook.json
SIG=$(openssl dgst -sha256 -hmac "s3cret" -r hook.json | cut -d' ' -f1)
"$DRIVE" webhook s3cret "sha256=$SIG" hook.json > /dev/null && ok "webhook: openssl-computed X-Hub-Signature-256 accepted" || bad "webhook good signature"
"$DRIVE" webhook wrong "sha256=$SIG" hook.json > /dev/null && bad "webhook with the wrong secret accepted" || ok "webhook: forged signature refused"
"$DRIVE" webhook s3cret "sha1=$SIG" hook.json > /dev/null && bad "webhook sha1= accepted" || ok "webhook: wrong prefix refused"

# ---- TLS: verification always on, a private CA, mTLS ----
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=tfgate-test-ca 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 -subj /CN=other-ca 2>/dev/null
for n in srv cli; do
        openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=127.0.0.1 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\n' > $n.ext
        openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 \
                -extfile $n.ext 2>/dev/null
done
chmod 600 cli.key
python3 "$FAKE" --spec cut.json --pubkey app.pub --app-id $APP --lifetime 120 \
        --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem > tls.port 2> tls-fake.log &
PIDS+=($!)
for _ in $(seq 50); do [ -s tls.port ] && break; sleep 0.1; done
TPORT=$(head -1 tls.port)
TAPI="https://127.0.0.1:$TPORT"
curl -sf --cacert ca.pem --cert cli.pem --key cli.key -X POST -H 'Content-Type: application/json' \
        -d '{"repo": "o/tls", "prs": [{"number": 1, "sha": "'"$(sha 61)"'"}]}' "$TAPI/_control/prs" > /dev/null ||
        bad "TLS fake did not start: $(tail -3 tls-fake.log)"
drive_tls() { "$DRIVE" --api "$TAPI" --clone "$TAPI" --app-id $APP --key app.pem --interval-ms 100 \
        --repo o/tls --claim-only --scans 1 "$@"; }
drive_tls > tls1.out 2> tls1.err
grep -q '"event":"job"' tls1.out && bad "TLS: a certificate from an unknown CA was accepted" ||
        { grep -qi 'certificate' tls1.out && ok "TLS: an unknown CA is refused (system store, verification on)" ||
          bad "TLS: no certificate error: $(cat tls1.out)"; }
drive_tls --ca-file other.pem > tls2.out 2> tls2.err
! grep -q '"event":"job"' tls2.out && grep -qi 'certificate' tls2.out &&
        ok "TLS: a ca_file of another CA is refused" || bad "TLS: wrong ca_file: $(cat tls2.out)"
drive_tls --ca-file ca.pem > tls3.out 2> tls3.err
! grep -q '"event":"job"' tls3.out && grep -q '"event":"poll_error"' tls3.out &&
        ok "mTLS: without a client certificate the server refuses" || bad "mTLS without a certificate: $(cat tls3.out)"
drive_tls --ca-file ca.pem --client-cert cli.pem --client-key cli.key > tls4.out 2> tls4.err
grep -q '"event":"job"' tls4.out && ok "TLS + mTLS: ca_file and client certificate: the job is claimed" ||
        { bad "mTLS with the right certificates failed"; cat tls4.out; }

# ---- what Prism saw, and what Prism cannot check ----
if grep -E "✖|UNPROCESSABLE_ENTITY|VIOLATIONS|NO_PATH_MATCHED|NOT_ACCEPTABLE" prism.log > prism.err; then
        bad "Prism reported invalid requests or responses:"; sed 's/^/    /' prism.err | head -20
else
        ok "Prism (validating proxy, --errors) found no invalid request in $(grep -c 'Request received' prism.log) requests"
fi
python3 - "$CTRL" "$T" <<'EOF' && ok "every request: Accept vnd.github+json, API version 2022-11-28, tfgate User-Agent; completed => conclusion; <= 50 annotations; descriptions <= 140; no local paths or keys in any body" || bad "client-side rules"
import json, sys, urllib.request
reqs = json.load(urllib.request.urlopen(sys.argv[1] + "/requests"))
assert len(reqs) > 50
for r in reqs:
    assert r["accept"] == "application/vnd.github+json" and r["api_version"] == "2022-11-28", r
    assert r["user_agent"].startswith("tfgate/"), r
    b = r["body"] if isinstance(r["body"], dict) else {}
    if b.get("status") == "completed":
        assert b.get("conclusion") in ("success", "failure", "cancelled", "timed_out", "action_required"), b
    assert len(b.get("output", {}).get("annotations", [])) <= 50
    if "/statuses/" in r["path"]:
        assert len(b["description"]) <= 140
    # nothing local goes to GitHub: no paths of this host, no key material
    text = json.dumps(r["body"])
    assert sys.argv[2] not in text and "PRIVATE KEY" not in text and "app.pem" not in text, r["path"]
EOF
grep -q "Traceback\|fake_github:" fake.err && bad "fake GitHub errors: $(head -5 fake.err)"
# under the sanitizer build, any report in the driver's stderr fails the test
if grep -l "Sanitizer\|runtime error" ./*.err > san.txt 2>/dev/null; then
        bad "sanitizer reports in: $(tr '\n' ' ' < san.txt)"
fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all GitHub checks passed"
