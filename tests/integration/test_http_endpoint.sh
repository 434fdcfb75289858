#!/bin/bash
# test_http_endpoint.sh - the HTTP endpoint end to end, on loopback, with
# the test server (tests/unit/http_serve.c) standing in for the daemon:
# health transitions, Prometheus text that parses and changes with jobs,
# badges after passing and failing jobs (and after a restart), result pages
# and files, traversal and oversized requests refused, webhook signatures,
# the rate cap.
set -euo pipefail
source "$(dirname "$0")/http_lib.sh"
PROM="python3 $SRC/tests/integration/prom_check.py"
ID1=11111111111111111111111111111111
ID2=22222222222222222222222222222222
ID3=33333333333333333333333333333333

make_config
start_server main --rate 1000 --burst 2000

check "healthz is 503 until the daemon says every forge answered"
[ "$(status /healthz)" = 503 ] || fail "healthz before ready: $(cat "$T/body")"
grep -qx 'not ready' "$T/body" || fail "healthz body"
touch "$T/ready"
[ "$(status /healthz)" = 200 ] || fail "healthz when ready"
grep -qx ok "$T/body" || fail "healthz body when ready"
rm "$T/ready"
[ "$(status /healthz)" = 503 ] || fail "healthz after a failed poll"
touch "$T/ready"

check "metrics parse as Prometheus text"
[ "$(status /metrics)" = 200 ] || fail "metrics status"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/headers" || fail "metrics content type"
$PROM < "$T/body" > "$T/m0.json" || fail "metrics do not parse"

check "security headers on every answer"
grep -qi "^X-Content-Type-Options: nosniff" "$T/headers" || fail "nosniff missing"
grep -qi "^Content-Security-Policy: default-src 'none'" "$T/headers" || fail "CSP missing"

check "badge of a configured GitHub repository with no job yet: unknown, lightgrey"
[ "$(status /badge/github/acme%2Finfra/main.json)" = 200 ] || fail "badge status"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"schemaVersion":1,"label":"tfgate","message":"unknown","color":"lightgrey"}, d' "$T/body" || fail "unknown badge json"

check "badges of unconfigured projects, forges and GitLab projects without jobs are 404"
for p in /badge/github/acme%2Fother/main.json /badge/github/evil/infra/main.svg \
         /badge/nosuch/acme%2Finfra/main.svg /badge/gitlab/group%2Fproj/main.svg; do
        [ "$(status "$p")" = 404 ] || fail "$p not 404"
done

check "a passing job turns the badge green (svg and json, encoded or plain project)"
record_job pass "$ID1" github acme/infra refs/heads/main PASSED
[ "$(status /badge/github/acme%2Finfra/main.json)" = 200 ] || fail "badge json status"
grep -q '"message":"passed"' "$T/body" && grep -q '"color":"brightgreen"' "$T/body" || fail "passed badge json: $(cat "$T/body")"
[ "$(status /badge/github/acme/infra/main.svg)" = 200 ] || fail "badge svg status"
grep -qi '^Content-Type: image/svg+xml' "$T/headers" || fail "svg content type"
grep -qi '^Cache-Control: no-cache' "$T/headers" && grep -qi '^ETag: ' "$T/headers" || fail "camo headers"
grep -q '>passed</text>' "$T/body" && grep -q '#4c1' "$T/body" || fail "passed svg"
etag=$(grep -i '^ETag: ' "$T/headers" | cut -d' ' -f2 | tr -d '\r')
[ "$(status /badge/github/acme/infra/main.svg -H "If-None-Match: $etag")" = 304 ] || fail "If-None-Match"

check "a failing job turns it red"
record_job fail "$ID2" github acme/infra refs/heads/main FAILED plan
[ "$(status /badge/github/acme%2Finfra/refs%2Fheads%2Fmain.json)" = 200 ] || fail "badge status"
grep -q '"message":"failed"' "$T/body" && grep -q '"color":"red"' "$T/body" || fail "failed badge json: $(cat "$T/body")"
[ "$(status /badge/github/acme/infra/main.svg -H "If-None-Match: $etag")" = 200 ] || fail "stale ETag matched"
grep -q '>failed</text>' "$T/body" && grep -q '#e05d44' "$T/body" || fail "failed svg"

check "a GitLab project is served once a job of it was recorded"
record_job gl "$ID3" gitlab group/sub/proj refs/heads/feature/x PASSED
[ "$(status /badge/gitlab/group%2Fsub%2Fproj/feature%2Fx.svg)" = 200 ] || fail "gitlab badge"
grep -q '>passed</text>' "$T/body" || fail "gitlab badge verdict"
[ "$(status /badge/gitlab/group/sub/proj/other.json)" = 200 ] || fail "gitlab other ref"
grep -q '"message":"unknown"' "$T/body" || fail "gitlab unknown ref"

check "metrics changed with the jobs and still parse"
status /metrics > /dev/null
$PROM < "$T/body" > "$T/m1.json" || fail "metrics do not parse after jobs"
python3 - "$T/m0.json" "$T/m1.json" <<'PY' || fail "metrics did not change as expected"
import json, sys
m0, m1 = (json.load(open(p)) for p in sys.argv[1:])
k = 'tfgate_jobs_total{failure_reason="",forge="github",verdict="PASSED"}'
assert m0.get(k, 0) == 0 and m1[k] == 1, k
assert m1['tfgate_jobs_total{failure_reason="plan",forge="github",verdict="FAILED"}'] == 1
assert m1['tfgate_jobs_total{failure_reason="",forge="gitlab",verdict="PASSED"}'] == 1
assert m1['tfgate_step_duration_seconds_count{step="plan"}'] == 3
assert m1['tfgate_step_duration_seconds_bucket{le="5",step="init"}'] == 3
assert m1['tfgate_step_duration_seconds_bucket{le="2.5",step="plan"}'] == 0
assert m1['tfgate_step_duration_seconds_bucket{le="10",step="plan"}'] == 3
assert m1['tfgate_http_requests_total{code="200"}'] > m0.get('tfgate_http_requests_total{code="200"}', 0)
assert m1['tfgate_http_requests_total{code="404"}'] >= 4
PY

check "result page: HTML, escaped, with links; result files served byte for byte"
[ "$(status "/results/$ID2")" = 200 ] || fail "result page"
grep -qi '^Content-Type: text/html' "$T/headers" || fail "page content type"
grep -qi "^Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'" "$T/headers" || fail "page CSP"
grep -q 'id="verdict">FAILED<' "$T/body" || fail "verdict on page"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/body" || fail "log not escaped"
! grep -q '<script\|<img\|<h1>INJECTED' "$T/body" || fail "markup injected into the page"
grep -q "href=\"$ID2/result.json\"" "$T/body" && grep -q 'href="../key.pub"' "$T/body" || fail "links"
[ "$(status "/results/$ID2/result.json")" = 200 ] || fail "result.json"
cmp -s "$T/body" "$T/fail.result.json" || fail "result.json differs from what was recorded"
[ "$(status "/results/$ID2/result.dsse.json")" = 200 ] || fail "result.dsse.json"
cmp -s "$T/body" "$T/fail.dsse.json" || fail "envelope differs"
[ "$(status /key.pub)" = 200 ] && cmp -s "$T/body" "$T/key.pub" || fail "key.pub"

check "traversal and non-ids are 404 with a generic body"
for p in "/results/../../etc/passwd" "/results/%2e%2e/%2e%2e/etc/passwd" "/results/..%2f..%2fetc%2fpasswd" \
         "/results/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd" "/results/$ID2/../../badges.json" \
         "/results/$ID2/..%2f..%2fbadges.json" "/results/$ID2/log.txt" "/results/$ID2/meta.json" \
         "/results/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "/results/44444444444444444444444444444444" \
         "/badge/github/..%2f..%2f..%2fetc%2fpasswd/main.svg" "/badge/../../etc/passwd" \
         "/../../../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/etc/passwd" "/results/$ID2%00"; do
        code=$(status "$p")
        [ "$code" = 404 ] || [ "$code" = 400 ] || fail "$p answered $code"
        ! grep -q 'root:' "$T/body" || fail "$p leaked a file"
done
status /results/44444444444444444444444444444444 > /dev/null
[ "$(cat "$T/body")" = "not found" ] || fail "404 body: $(cat "$T/body")"

check "wrong methods are 405 with Allow"
[ "$(status "/results/$ID2" -X DELETE)" = 405 ] || fail "DELETE"
grep -qi '^Allow: GET, HEAD' "$T/headers" || fail "Allow header"
[ "$(status /hooks/github)" = 405 ] || fail "GET on the hook"

check "oversized requests are refused"
big=$(head -c 40000 /dev/zero | tr '\0' a)
code=$(status /healthz -H "X-Big: $big"); [ "$code" -ge 400 ] && [ "$code" -lt 500 ] || fail "64 KiB header answered $code"
code=$(status "/results/$big"); [ "$code" -ge 400 ] && [ "$code" -lt 500 ] || fail "long URL answered $code"
head -c 2000000 /dev/zero > "$T/big.body"
code=$(status /hooks/github -X POST --data-binary @"$T/big.body" -H 'X-GitHub-Event: push' -H 'X-Hub-Signature-256: sha256=00')
[ "$code" = 413 ] || fail "2 MB hook body answered $code"
code=$(status /hooks/github -X POST --data-binary @"$T/big.body" -H 'Transfer-Encoding: chunked' -H 'X-GitHub-Event: push')
[ "$code" = 413 ] || fail "2 MB chunked hook body answered $code"

check "webhooks: wrong or missing signature 401, right one 202 and handed to the daemon"
printf '{"action":"synchronize","number":7}' > "$T/hook.json"
sig=$(openssl dgst -sha256 -hmac 's3cret-for-hooks' -hex < "$T/hook.json" | sed 's/.*= //')
bad=$(openssl dgst -sha256 -hmac 'wrong' -hex < "$T/hook.json" | sed 's/.*= //')
[ "$(status /hooks/github -X POST --data-binary @"$T/hook.json" -H 'X-GitHub-Event: pull_request' -H "X-Hub-Signature-256: sha256=$bad")" = 401 ] || fail "bad signature"
grep -qx unauthorized "$T/body" || fail "401 body"
[ "$(status /hooks/github -X POST --data-binary @"$T/hook.json" -H 'X-GitHub-Event: pull_request')" = 401 ] || fail "no signature"
[ ! -e "$T/hooks.log" ] || fail "a refused hook reached the daemon"
[ "$(status /hooks/github -X POST --data-binary @"$T/hook.json" -H 'X-GitHub-Event: pull_request' -H 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958' -H "X-Hub-Signature-256: sha256=$sig")" = 202 ] || fail "good signature: $(cat "$T/body")"
grep -qx "pull_request 72d3162e-cc78-11e3-81ab-4c9367dc0958 $(stat -c %s "$T/hook.json")" "$T/hooks.log" || fail "hook log: $(cat "$T/hooks.log")"
[ "$(status /hooks/github -X POST --data-binary @"$T/hook.json" -H 'X-GitHub-Event: ../x' -H "X-Hub-Signature-256: sha256=$sig")" = 400 ] || fail "bad event name"

check "badges, pages and state survive a restart"
stop_server
start_server again --rate 1000 --burst 2000
[ "$(status /badge/github/acme%2Finfra/main.json)" = 200 ] && grep -q '"message":"failed"' "$T/body" || fail "badge after restart"
[ "$(status "/results/$ID1")" = 200 ] && grep -q 'id="verdict">PASSED<' "$T/body" || fail "page after restart"
stop_server

check "the rate cap answers 429 with Retry-After, and lets the client in again"
start_server limited --rate 2 --burst 5
got429=0
for _ in $(seq 1 20); do
        if [ "$(status /healthz)" = 429 ]; then got429=1; break; fi
done
[ $got429 = 1 ] || fail "no 429 after 20 quick requests at 2/s burst 5"
ra=$(grep -i '^Retry-After: ' "$T/headers" | cut -d' ' -f2 | tr -d '\r')
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 5 ] || fail "Retry-After '$ra'"
grep -qx 'too many requests' "$T/body" || fail "429 body"
sleep "$ra"
[ "$(status /healthz)" = 200 ] || fail "still limited after Retry-After"
echo "ok: test_http_endpoint"
