#!/usr/bin/env bash
# test_daemon_recovery_report.sh - a daemon killed with kill -9 while a job
# runs reports that job to GitLab at its next start (docs/daemon.md,
# "Recovery"): the real GitLab adapter against the fake GitLab, the real
# pipeline, jail and terraform double (its plan hangs).
#   1. kill -9, restart: the fake gets PUT state=failed,
#      failure_reason=runner_system_failure for that job with its job token,
#      a trace line saying the runner restarted; journal emptied; the
#      leftovers are gone; the audit log says "reported".
#   2. kill -9, GitLab answers 403 to the report (the job is gone there):
#      logged as no longer accepted, sent once, journal emptied, the daemon
#      runs on and takes a new job.
#   3. a corrupt journal entry planted before a start: logged with the
#      reason and removed; nothing is sent for it; the daemon starts.
#   4. GitLab down at the restart: the report fails once (logged, not
#      retried), the journal is emptied, the daemon starts at once.
# Every wait is bounded.
: "${TFGATE_SRC:?}" "${TFGATE_BUILD:?}" "${TFGATE:?}"
. "$TFGATE_SRC/tests/integration/lib/daemon_lib.sh"
dl_init

mkdir -p "$REPOS/ops" "$CK/src/hang"
printf '%s\n' hang=plan >"$CK/src/hang/.tfdouble"
fixture_repo "$CK/src/hang" "$CK/mirror"
git clone -q --bare "$CK/src/hang" "$REPOS/ops/hang.git" || ck_die "clone"
git -C "$REPOS/ops/hang.git" symbolic-ref HEAD refs/heads/main 2>/dev/null
SHA_HANG=$(fixture_commit "$CK/src/hang")

TOKEN=glrt-test_$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$CK/token"
chmod 600 "$CK/token"
fake_start --runner-token "$TOKEN" --repos "$REPOS"
ck_config "$CK/run.yaml" plan none \
  "audit: { path: $CK/audit.log }" \
  "concurrency: 1" \
  "forges:" \
  "  - { type: gitlab, url: \"$FAKE_URL\", token_file: $CK/token, poll_interval: 300ms }"
sed -i 's/plan: 3s/plan: 60s/' "$CK/run.yaml"

kill9() {
  kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
}
journal_empty() { [ -z "$(ls -A "$CK/state/running" 2>/dev/null)" ]; }

# 1. kill -9 while plan hangs; the restart reports the job failed
start_daemon 1
id1=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "1: the job runs" wait_running_step plan
wait_trace() {  # wait_trace ID: GitLab has some of the job's trace (30 s)
  local i
  for i in $(seq 120); do
    fake_log
    "$PY" -c 'import json,sys; sys.exit(0 if "section_start:" in json.load(open(sys.argv[1]))["jobs"][sys.argv[2]]["trace"] else 1)' \
      "$CK/log.json" "$1" && return 0
    sleep 0.25
  done
  return 1
}
expect "1: GitLab has the first part of the trace" wait_trace "$id1"
expect "1: the journal entry is private (0600)" \
  bash -c "[ \"\$(stat -c %a '$CK'/state/running/*.json)\" = 600 ]"
kill9
check "1: before the restart GitLab has only the running update" \
  "J['$id1']['state']=='running' and all(u['state']=='running' for u in J['$id1']['updates'])"
start_daemon 2
check "1: GitLab got PUT failed / runner_system_failure for the job" \
  "U = J['$id1']['updates'][-1]
U['state']=='failed' and U['failure_reason']=='runner_system_failure' and U['answered']==200"
check "1: GitLab shows the job failed" \
  "J['$id1']['state']=='failed' and J['$id1']['failure_reason']=='runner_system_failure'"
check "1: the report went with the job's token, no protocol errors" "L['errors']==[]"
check "1: the trace ends with a line saying the runner restarted" \
  "J['$id1']['trace'].rstrip().endswith('runner restarted while this job ran\x1b[0m') and J['$id1']['lost']==0"
check "1: the note was appended after what GitLab had (416 resync, nothing overwritten)" \
  "J['$id1']['trace'].count('restarted while this job ran')==1 and 'section_start:' in J['$id1']['trace']"
expect "1: the daemon logs the report" grep -q "job $id1 reported failed to forge gitlab" "$CK/daemon-2.err"
expect "1: the journal is empty" journal_empty
expect "1: no workspace left" bash -c "! ls -d '$CK'/work/tfgate-* >/dev/null 2>&1"
expect "1: the audit log records the report" grep -q '"forge_report":"reported"' "$CK/audit.log"
tok1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][sys.argv[2]]["token"])' "$CK/log.json" "$id1")
expect "1: the job token is not in the daemon's logs" \
  bash -c "[ -n '$tok1' ] && ! grep -qF '$tok1' '$CK'/daemon-*.err"

# 2. kill -9 again; GitLab answers 403 to the report (the job is gone)
id2=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "2: the job runs" wait_running_step plan
kill9
fault '{"endpoint": "update", "status": 403, "count": 1}'
start_daemon 3
check "2: the report was sent once and answered 403" \
  "U = [u for u in J['$id2']['updates'] if u['state']=='failed']
len(U)==1 and U[0]['answered']==403 and U[0]['failure_reason']=='runner_system_failure'"
expect "2: the daemon logs that GitLab no longer accepts the job" \
  grep -q "job $id2: forge gitlab no longer accepts it" "$CK/daemon-3.err"
expect "2: the journal is empty" journal_empty
expect "2: the audit log says no longer accepted" grep -q '"forge_report":"no longer accepted"' "$CK/audit.log"
# the daemon is healthy: a new job is claimed and runs
id3=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "2: the daemon runs on and takes a new job" wait_running_step plan
stop_daemon TERM 20
expect "2: SIGTERM exit 0 (got $STOP_RC)" [ "$STOP_RC" = 0 ]
check "2: no further report of the refused job" \
  "len([u for u in J['$id2']['updates'] if u['state']=='failed'])==1"

# 3. a corrupt journal entry: named in the log, removed, nothing sent
mkdir -p "$CK/state/running"
bad=0123456789abcdef0123456789abcdef
printf '{"exec_id":"%s","forge":"gitlab","job":%s' "$bad" "$id3" >"$CK/state/running/$bad.json"
chmod 600 "$CK/state/running/$bad.json"
fake_log; before=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["requests"]))' "$CK/log.json")
start_daemon 4
expect "3: the corrupt entry is named with the reason" \
  grep -q "journal: .*$bad.json is malformed (not JSON" "$CK/daemon-4.err"
expect "3: removed" journal_empty
check "3: nothing was sent for it (only polls since)" \
  "all(r['path']=='/api/v4/jobs/request' or r['path'].startswith('/__control') for r in L['requests'][$before:])"
stop_daemon TERM 20
expect "3: SIGTERM exit 0 (got $STOP_RC)" [ "$STOP_RC" = 0 ]
# 4. kill -9, and GitLab is down at the restart: one failed report,
# logged, the journal emptied, and the daemon starts at once anyway
start_daemon 5
id4=$(queue valid "\"repo\": \"ops/hang.git\", \"sha\": \"$SHA_HANG\"")
expect "4: the job runs" wait_running_step plan
kill9
fake_stop
t0=$(date +%s)
start_daemon 6
t1=$(date +%s)
expect "4: the daemon started within 15 s with GitLab down (took $((t1 - t0)) s)" [ $((t1 - t0)) -le 15 ]
expect "4: the failed report is logged, not retried" \
  grep -q "job $id4: reporting it to forge gitlab failed: .*; not retried" "$CK/daemon-6.err"
expect "4: the journal is empty" journal_empty
expect "4: no workspace left" bash -c "! ls -d '$CK'/work/tfgate-* >/dev/null 2>&1"
stop_daemon TERM 20
expect "4: SIGTERM exit 0 (got $STOP_RC)" [ "$STOP_RC" = 0 ]
"$TFGATE" audit verify "$CK/audit.log" >"$CK/audit.out" 2>&1
expect "audit: the chain verifies" [ $? -eq 0 ]
expect_clean "at the end"

printf '# %s: fake-lib failures %d\n' "$CK_NAME" "$FAILS"
[ "$FAILS" -eq 0 ] && ck_finish
