#!/bin/bash
# test_gitlab_adapter.sh - the GitLab adapter (plugin-gitlab) against the
# fake GitLab, through tests/unit/gitlab_drive.c: states, exit codes,
# failure reasons, the full correctly ranged trace, 416 resync, 412 resend,
# 202 on the final update, 429/500/long-poll/dropped-connection handling,
# cancellation, artifacts, hostile payloads (no job runs), a refused token
# and a refused TLS certificate.  Every wait is bounded.
set -u
: "${TFGATE_SRC:?}" "${TFGATE_BUILD:?}"
DRIVE=$TFGATE_BUILD/plugin-gitlab/gitlab_drive
[ -x "$DRIVE" ] || { echo "FAIL: $DRIVE not built"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed for the fake GitLab"; exit 1; }
WORK=$(mktemp -d)
FAKE_PID=
cleanup() { fake_stop; rm -rf "$WORK"; }
trap cleanup EXIT
. "$TFGATE_SRC/tests/fake/gitlab/fake_lib.sh"

TOKEN=glrt-test_$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
fake_start --runner-token "$TOKEN" --repos "$WORK/repos"

printf '{"plan":{"add":1,"change":2,"destroy":0},"verdict":"passed"}' >"$WORK/result.json"
printf '{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}' >"$WORK/env.json"

drive() {  # drive NAME [options]: run the driver, output in $WORK/NAME.out, rc in RC
        local name=$1
        shift
        timeout 60 "$DRIVE" --url "$FAKE_URL" --token-file "$WORK/token" --state-dir "$WORK/state" \
                "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
        RC=$?
}

# 1. a passing job: 1.5 MB of log in patches of at most 1 MiB, sections, artifacts
id=$(queue valid)
drive pass --chunks 5 --chunk-size 300000 --result "$WORK/result.json" --envelope "$WORK/env.json"
expect "passing job: driver finished" [ "$RC" = 0 ]
check "passing job: state success, no exit code or reason" \
  "J['$id']['state']=='success' and J['$id']['failure_reason'] is None and J['$id']['exit_code']==0"
check "passing job: full trace, in order" "
t = J['$id']['trace']
(all(('chunk %d ' % i + chr(97+i)*300000 + '\n') in t for i in range(5)) and
 t.index('chunk 0') < t.index('chunk 4') and t.rstrip().endswith('Job succeeded\x1b[0m'))"
check "passing job: section markers around the log" \
  "'section_start:' in J['$id']['trace'] and '[collapsed=true]\r\x1b[0K' in J['$id']['trace'] and 'section_end:' in J['$id']['trace']"
check "passing job: patches contiguous, each <= 1 MiB" "
P = J['$id']['patches']
(len(P) >= 2 and all(p['len'] <= 1048576 for p in P) and
 all(P[i+1]['start'] == P[i]['start'] + P[i]['len'] for i in range(len(P)-1)))"
check "passing job: first update is running" "J['$id']['updates'][0]['state']=='running'"
check "passing job: result zip (result.json, result.dsse.json), expire_in from the job" "
A = [a for a in J['$id']['artifacts'] if a['type']=='archive']
(len(A)==1 and A[0]['format']=='zip' and sorted(A[0]['names'])==['result.dsse.json','result.json'] and
 A[0]['files']['result.json']==open('$WORK/result.json').read() and A[0]['expire_in']=='1 week')"
check "passing job: terraform report" "
T = [a for a in J['$id']['artifacts'] if a['type']=='terraform']
len(T)==1 and T[0]['format']=='raw' and T[0]['json']=={'create':1,'update':2,'delete':0}"
check "passing job: the poll echoed an empty last_update first" \
  "[r for r in L['requests'] if r['path']=='/api/v4/jobs/request'][0]['last_update']==''"
check "no protocol errors so far" "L['errors']==[]"

# 2. failure reasons and exit codes
for spec in "failed:3:script_failure" "system_failure:1:runner_system_failure" "timeout:1:job_execution_timeout"; do
        IFS=: read -r outcome code reason <<<"$spec"
        id=$(queue valid)
        drive "$outcome" --outcome "$outcome" --exit-code "$code" --summary "terraform $outcome (step plan)"
        expect "$outcome: driver finished" [ "$RC" = 0 ]
        check "$outcome: failed, $reason, exit code $code, summary in the trace" \
          "J['$id']['state']=='failed' and J['$id']['failure_reason']=='$reason' and J['$id']['exit_code']==$code and 'ERROR: Job failed: terraform $outcome (step plan)' in J['$id']['trace']"
done

# 3. 416: GitLab lost the tail of the trace; the adapter resends from its Range
id=$(queue valid)
fault "{\"endpoint\": \"trace\", \"lose\": 50, \"skip\": 1, \"count\": 1}"
drive resync --chunks 4 --chunk-size 200 --chunk-sleep-ms 1200
expect "416: driver finished" [ "$RC" = 0 ]
check "416: one resync happened and the trace is complete and exact" "
t = J['$id']['trace']
(J['$id']['lost']==1 and all(('chunk %d ' % i + chr(97+i)*200 + '\n') in t for i in range(4)) and
 t.count('chunk 1 ')==1 and t.count('chunk 0 ')==1)"
check "416: final checksum matched (no errors)" "L['errors']==[]"

# 4. 412 on the final update: whole trace again, then accepted
id=$(queue valid)
fault "{\"endpoint\": \"update\", \"status\": 412, \"skip\": 1, \"count\": 1}"
drive reset --chunks 2 --chunk-size 500
expect "412: driver finished" [ "$RC" = 0 ]
check "412: trace resent from 0 and complete" "
P = J['$id']['patches']
J['$id']['state']=='success' and any(p['start']==0 for p in P[1:]) and 'chunk 1 ' in J['$id']['trace'] and L['errors']==[]"

# 5. 202 on the final update: retried after the interval
id=$(queue valid)
fault "{\"endpoint\": \"update\", \"status\": 202, \"skip\": 1, \"count\": 1, \"headers\": {\"X-GitLab-Trace-Update-Interval\": \"1\"}}"
drive accepted --chunks 1
check "202: final state sent again until 200" \
  "J['$id']['state']=='success' and len([u for u in J['$id']['updates'] if u['state']=='success'])==2"

# 6. 429 with Retry-After on polling: the next poll waits
id=$(queue valid)
fault '{"endpoint": "request", "status": 429, "headers": {"Retry-After": "2"}, "count": 1}'
drive ratelimit --polls 3 --chunks 1
expect "429: the driver saw the rate limit and a ~2 s delay" grep -Eq "^delay (1[5-9][0-9][0-9]|2000)$" "$WORK/ratelimit.out"
check "429: the job still ran, polls spaced >= 1.9 s" "
R = [r for r in L['requests'] if r['path']=='/api/v4/jobs/request']
(J['$id']['state']=='success' and R[-1]['time'] - R[-2]['time'] >= 1.9 and R[-2]['status']==429)"

# 7. a 500 storm: exponential back-off with jitter, then the job
id=$(queue valid)
fault '{"endpoint": "request", "status": 500, "count": 4}'
drive storm --polls 8 --backoff-ms 100 --chunks 1
check "500 storm: polls back off (growing gaps, bounded) and the job runs" "
R = [r for r in L['requests'] if r['path']=='/api/v4/jobs/request'][-5:]
G = [R[i+1]['time'] - R[i]['time'] for i in range(4)]
([r['status'] for r in R]==[500,500,500,500,201] and G[0] >= 0.04 and G[3] >= 0.35 and sum(G) < 10 and J['$id']['state']=='success')"

# 8. long-polled 204, then the job
id=$(queue valid)
fault '{"endpoint": "request", "hold": 2, "count": 1}'
drive longpoll --polls 2 --chunks 1
check "long poll: a held 204, then the job" "
R = [r for r in L['requests'] if r['path']=='/api/v4/jobs/request'][-2:]
([r['status'] for r in R]==[204,201] and J['$id']['state']=='success')"

# 9. a dropped connection, then the job
id=$(queue valid)
fault '{"endpoint": "request", "drop": true, "count": 1}'
drive drop --polls 3 --backoff-ms 100 --chunks 1
expect "dropped connection: reported as a poll error" grep -q "poll-error" "$WORK/drop.out"
check "dropped connection: the job ran after it" "J['$id']['state']=='success'"

# 10. graceful cancel: Job-Status canceling on a trace patch
id=$(queue valid)
fault "{\"endpoint\": \"trace\", \"job_status\": \"canceling\", \"count\": 1}"
drive cancel --chunks 10 --chunk-size 50 --chunk-sleep-ms 1200
expect "canceling: detected (exit 6)" [ "$RC" = 6 ]
expect "canceling: the driver stopped early" bash -c "! grep -q 'chunk 9' '$WORK/cancel.out'"
check "canceling: the final update made the job canceled" \
  "J['$id']['state']=='canceled' and J['$id']['failure_reason'] in ('unknown_failure',)"

# 11. hard cancel: 403 + Job-Status canceled on the keep-alive PUT
id=$(queue valid)
fault "{\"endpoint\": \"update\", \"status\": 403, \"skip\": 1, \"count\": 1}"
drive cancel403 --chunks 5 --chunk-size 10 --chunk-sleep-ms 600 --touch-ms 500
expect "403 on keep-alive: canceled (exit 6) and finish() sent nothing more" [ "$RC" = 6 ]
check "403 on keep-alive: job canceled, no final state sent" \
  "J['$id']['state']=='canceled' and all(u['state']=='running' for u in J['$id']['updates'])"

# 12. hostile payloads: refused, failed on GitLab as runner_system_failure, nothing ran
for kind in wrong_type other_host file_url ext_url userinfo_trick refspec_trick; do
        id=$(queue "$kind")
        drive "h_$kind" --polls 1
        expect "hostile $kind: refused (exit 5)" [ "$RC" = 5 ]
        expect "hostile $kind: no job started" bash -c "! grep -q '^job ' '$WORK/h_$kind.out'"
        check "hostile $kind: failed with runner_system_failure, never running, generic trace" "
U = J['$id']['updates']
(J['$id']['state']=='failed' and J['$id']['failure_reason']=='runner_system_failure' and
 all(u['state']!='running' for u in U) and 'refused the job payload (field ' in J['$id']['trace'] and
 'evil' not in J['$id']['trace'] and '/etc' not in J['$id']['trace'])"
done
# unreadable payloads: no id to fail, so nothing is sent back at all
id=$(queue malformed)
drive h_malformed --polls 1
expect "hostile malformed: refused as not JSON, no job" bash -c \
  "[ $RC = 5 ] && grep -q 'not JSON' '$WORK/h_malformed.out' && ! grep -q '^job ' '$WORK/h_malformed.out'"
check "hostile malformed: job never updated" "J['$id']['updates']==[] and J['$id']['patches']==[]"
id=$(queue huge_string)
drive h_huge --polls 1
expect "hostile huge_string: reply over the 8 MiB cap is a poll error, no job" bash -c \
  "[ $RC = 4 ] && grep -q 'larger than 8388608' '$WORK/h_huge.out' && ! grep -q '^job ' '$WORK/h_huge.out'"
check "hostile huge_string: job never updated" "J['$id']['updates']==[] and J['$id']['patches']==[]"
check "no protocol errors in the whole run" "L['errors']==[]"

# 13. the fake's git smart HTTP: the job token opens the repository, nothing else does
mkdir -p "$WORK/repos/ops"
git init -q --bare "$WORK/repos/ops/infra.git"
git -C "$WORK/repos/ops/infra.git" symbolic-ref HEAD refs/heads/main
tok=$(ctl job '{"kind": "valid"}' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
expect "git over the fake: job token accepted" \
  timeout 20 git -c credential.helper= ls-remote "http://gitlab-ci-token:$tok@127.0.0.1:$FAKE_PORT/ops/infra.git"
expect "git over the fake: wrong token refused" bash -c \
  "! GIT_TERMINAL_PROMPT=0 timeout 20 git -c credential.helper= ls-remote 'http://gitlab-ci-token:nope@127.0.0.1:$FAKE_PORT/ops/infra.git' 2>/dev/null"

# 14. a refused runner token stops polling
printf 'glrt-wrong\n' >"$WORK/bad"
chmod 600 "$WORK/bad"
timeout 30 "$DRIVE" --url "$FAKE_URL" --token-file "$WORK/bad" --state-dir "$WORK/state" --polls 3 >"$WORK/bad.out" 2>&1
expect "bad runner token: 403 stops polling" grep -q '^stopped' "$WORK/bad.out"
check "bad runner token: exactly one request made" \
  "len([r for r in L['requests'] if r['path']=='/api/v4/jobs/request' and r.get('status')==403])==1"
fake_stop

# 15. TLS: an untrusted certificate is refused, the right CA is accepted
if command -v openssl >/dev/null; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
        fake_start --runner-token "$TOKEN" --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
        timeout 30 "$DRIVE" --url "https://127.0.0.1:$FAKE_PORT" --token-file "$WORK/token" \
                --state-dir "$WORK/state" --polls 1 >"$WORK/tls.out" 2>&1
        expect "TLS: self-signed certificate refused" grep -qi "certificate" "$WORK/tls.out"
        fake_stop
else
        echo "FAIL - TLS: openssl not installed, cannot make a test certificate"
        FAILS=$((FAILS + 1))
fi

if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) failed; fake log:"
        tail -n 30 "$WORK/fake.log"
        exit 1
fi
echo "all GitLab adapter checks passed"
