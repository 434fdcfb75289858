#!/usr/bin/env bash
# test_daemon_gitlab.sh - `tfgate run` end to end: the real GitLab adapter
# against the fake GitLab (tests/fake/gitlab, which also serves the
# repositories over git smart HTTP), the real pipeline, jail and terraform
# test double.  A passing job (trace with sections, masked variable,
# artifacts, final state, audit chain, stored result), a failing one, a
# cancel from GitLab, `tfgate status` while a job runs, SIGTERM reporting
# the running job canceled, kill -9 then a restart that cleans up, and
# nothing left behind.  Every wait is bounded.
: "${TFGATE_SRC:?}" "${TFGATE_BUILD:?}" "${TFGATE:?}"
. "$TFGATE_SRC/tests/integration/lib/daemon_lib.sh"
dl_init

# repositories on the fake: one passing, one failing, one that hangs in plan
SECRET='s3cr3t-Value!'
mkdir -p "$REPOS/ops"
make_repo() {  # make_repo NAME [.tfdouble lines...]
  local name=$1; shift
  mkdir -p "$CK/src/$name"
  [ $# -gt 0 ] && printf '%s\n' "$@" >"$CK/src/$name/.tfdouble"
  fixture_repo "$CK/src/$name" "$CK/mirror"
  git clone -q --bare "$CK/src/$name" "$REPOS/ops/$name.git" || ck_die "clone $name"
  git -C "$REPOS/ops/$name.git" symbolic-ref HEAD refs/heads/main 2>/dev/null
  fixture_commit "$CK/src/$name"
}
SHA_OK=$(make_repo infra "echo=leak $SECRET leak")
SHA_BAD=$(make_repo invalid validate=invalid)
SHA_HANG=$(make_repo hang hang=plan)

TOKEN=glrt-test_$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$CK/token"
chmod 600 "$CK/token"
fake_start --runner-token "$TOKEN" --repos "$REPOS"

HTTP_PORT=$((20000 + RANDOM % 20000))
HOOK_SECRET=hook-secret-$RANDOM$RANDOM
printf '%s\n' "$HOOK_SECRET" >"$CK/hook.secret"
chmod 600 "$CK/hook.secret"
ck_config "$CK/run.yaml" plan none \
  "audit: { path: $CK/audit.log }" \
  "http: { listen: \"127.0.0.1:$HTTP_PORT\", badges: true, webhook_secret_file: $CK/hook.secret }" \
  "concurrency: 2" \
  "forges:" \
  "  - { type: gitlab, url: \"$FAKE_URL\", token_file: $CK/token, poll_interval: 300ms }"
# a hang must outlive the signals below, not the plan step's 3 s timeout
sed -i 's/plan: 3s/plan: 60s/' "$CK/run.yaml"

# job_state ID: the fake's state of a job
job_state() {
  fake_log
  "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][sys.argv[2]]["state"])' "$CK/log.json" "$1"
}
wait_state() {  # wait_state ID STATE... (60 s)
  local id=$1 i s; shift
  for i in $(seq 240); do
    s=$(job_state "$id")
    for want in "$@"; do [ "$s" = "$want" ] && return 0; done
    sleep 0.25
  done
  return 1
}

start_daemon 1
"$TFGATE" status -c "$CK/run.yaml" >"$CK/status0.out" 2>&1
expect "status with no jobs: exit 0, says so" grep -qx "no jobs running" "$CK/status0.out"

# 1. a passing job
id_ok=$(queue valid "\"repo\": \"ops/infra.git\", \"sha\": \"$SHA_OK\"")
expect "pass: GitLab shows success" wait_state "$id_ok" success failed
check "pass: success, exit code 0" "J['$id_ok']['state']=='success' and J['$id_ok']['exit_code']==0"
check "pass: the steps ran in the jail and their output reached the trace" \
  "'test provider: started for plan' in J['$id_ok']['trace']"
check "pass: one collapsible section per step" \
  "J['$id_ok']['trace'].count('section_start:') >= 4 and 'section_end:' in J['$id_ok']['trace']"
check "pass: the masked variable printed by the job is masked" \
  "'$SECRET' not in J['$id_ok']['trace'] and 'leak [MASKED] leak' in J['$id_ok']['trace']"
check "pass: the job token never reaches the trace" \
  "J['$id_ok']['token'] not in J['$id_ok']['trace']"
check "pass: result.json uploaded as an artifact" \
  "any(a['type']=='archive' and 'result.json' in a['names'] for a in J['$id_ok']['artifacts'])"
check "pass: no protocol errors" "L['errors']==[]"

# the HTTP endpoint of the running daemon (TB1 operations, issue 10)
H=http://127.0.0.1:$HTTP_PORT
expect "http: healthz answers 200 once the forge answered its polls" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $H/healthz)\" = 200 ]"
curl -s "$H/metrics" >"$CK/metrics.txt"
expect "http: metrics count the passed job" grep -q '^tfgate_jobs_total{forge="gitlab",verdict="passed"' "$CK/metrics.txt"
expect "http: metrics parse as Prometheus text" bash -c "python3 $TFGATE_SRC/tests/integration/prom_check.py < $CK/metrics.txt >/dev/null"
curl -s "$H/badge/gitlab/ops%2Finfra/main.json" >"$CK/badge.json"
expect "http: the badge of ops/infra main says passed, green" \
  grep -q '"message":"passed".*"color":"brightgreen"\|"color":"brightgreen".*"message":"passed"' "$CK/badge.json"
exec_ok=$(ls -t "$CK"/state/results | head -1)
expect "http: the job's results page shows the verdict" \
  bash -c "curl -s $H/results/$exec_ok | grep -q PASSED"
hook='{"action":"opened","number":7,"repository":{"full_name":"acme/infra"},"pull_request":{"number":7,"head":{"sha":"'$SHA_OK'"}}}'
sig=sha256=$(printf '%s' "$hook" | openssl dgst -sha256 -hmac "$HOOK_SECRET" | sed 's/^.* //')
post_hook() { curl -s -o /dev/null -w '%{http_code}' -H 'X-GitHub-Event: pull_request' \
  -H 'X-GitHub-Delivery: d-1' -H "X-Hub-Signature-256: $1" --data-binary "$hook" "$H/hooks/github"; }
expect "http: a forged webhook is refused (401)" bash -c "[ \"\$($(declare -f post_hook); H=$H hook='$hook' post_hook sha256=0000)\" = 401 ]"
expect "http: a signed webhook is accepted (202)" bash -c "[ \"\$($(declare -f post_hook); H=$H hook='$hook' post_hook $sig)\" = 202 ]"
expect "http: the daemon turned the webhook into a poll" bash -c "for i in \$(seq 50); do grep -q 'webhook pull_request (d-1)' '$CK/daemon-1.err' && exit 0; sleep 0.1; done; exit 1"
expect "http: traversal refused" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --path-as-is $H/results/../../etc/passwd)\" = 404 ]"

# 2. a failing check
id_bad=$(queue valid "\"repo\": \"ops/invalid.git\", \"sha\": \"$SHA_BAD\"")
expect "fail: GitLab shows failed" wait_state "$id_bad" failed success
check "fail: script_failure with the step's exit code" \
  "J['$id_bad']['state']=='failed' and J['$id_bad']['failure_reason']=='script_failure' and J['$id_bad']['exit_code']==1"

# 3. canceled on GitLab while plan hangs: the jail stops within seconds
id_c=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "status: the running job is listed in its step" wait_running_step plan
expect "status: id, forge and project in the table" grep -q "^$id_c  *gitlab  *ops/infra " "$CK/status.out"
# the adapter learns of a cancel from its next request to GitLab: a trace
# patch, or for a silent job the keep-alive update (30 s of silence)
t0=$(date +%s)
ctl cancel "{\"id\": $id_c}" >/dev/null
for _ in $(seq 450); do
  grep -q "job $id_c: canceled" "$CK/daemon-1.err" && break
  sleep 0.1
done
t1=$(date +%s)
expect "cancel: the daemon saw GitLab's cancel and ended the job (took $((t1 - t0)) s)" \
  grep -q "job $id_c: canceled" "$CK/daemon-1.err"
expect "cancel: within the keep-alive interval and a second" [ $((t1 - t0)) -le 32 ]

# 4. SIGTERM with a job running: reported canceled, exit 0
id_t=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "sigterm: the job runs" wait_running_step plan
stop_daemon TERM 20
expect "sigterm: exit 0 (got $STOP_RC)" [ "$STOP_RC" = 0 ]
check "sigterm: the running job was reported (failed, canceled by the runner)" \
  "J['$id_t']['state']=='failed'"
expect "sigterm: no journal entry left" bash -c "[ -z \"\$(ls -A '$CK/state/running' 2>/dev/null)\" ]"
expect "sigterm: status socket removed" bash -c "[ ! -e '$CK/state/tfgate.sock' ]"
expect_clean "after SIGTERM"
"$TFGATE" status -c "$CK/run.yaml" >/dev/null 2>&1
expect "status with no daemon: exit 3" [ $? -eq 3 ]

# 5. kill -9 with a job running, then a restart cleans up
start_daemon 2
id_k=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "kill -9: the job runs" wait_running_step plan
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
sleep 0.5
expect "kill -9: a workspace is left behind" bash -c "ls -d '$CK'/work/tfgate-* >/dev/null 2>&1"
expect "kill -9: the journal names the job" bash -c "grep -q '\"job\":\"$id_k\"' '$CK'/state/running/*.json"
start_daemon 3
expect "restart: the interrupted job is logged" grep -q "job $id_k of ops/infra" "$CK/daemon-3.err"
expect "restart: no workspace left" bash -c "! ls -d '$CK'/work/tfgate-* >/dev/null 2>&1"
expect "restart: journal empty" bash -c "[ -z \"\$(ls -A '$CK/state/running')\" ]"
stop_daemon TERM 20
expect "restart: exit 0" [ "$STOP_RC" = 0 ]
"$TFGATE" audit verify "$CK/audit.log" >"$CK/audit.out" 2>&1
expect "audit: the chain verifies" [ $? -eq 0 ]
expect "audit: the recovery is recorded" grep -q '"recovered":true' "$CK/audit.log"
expect "results stored for the finished jobs" bash -c "ls '$CK'/state/results/*/result.json >/dev/null 2>&1"
expect_clean "at the end"

printf '# %s: fake-lib failures %d\n' "$CK_NAME" "$FAILS"
[ "$FAILS" -eq 0 ] && ck_finish
