#!/usr/bin/env bash
# tfgate check when a step fails: validate errors mapped to file:line, a
# hanging step killed at its timeout, an emulator that never gets ready,
# secrets printed by the job (masked in the log, the result and the files),
# success lines printed by a step that exits 1 (reported failed: TB4-S), a
# job printing its env (nothing of the runner's: TB3-I).  Nothing is left.
. "$TFGATE_SRC/tests/integration/lib/check_lib.sh"
ck_init

# repo_with_modes DIR LINES...: the fixture with a .tfdouble file
repo_with_modes() {
  local dir=$1; shift
  mkdir -p "$dir"
  printf '%s\n' "$@" >"$dir/.tfdouble"
  fixture_repo "$dir" "$CK/mirror"
}

ck_config "$CK/plan.yaml" plan none

# validate reports an error diagnostic
repo_with_modes "$CK/invalid" validate=invalid
run_check 60 -c "$CK/plan.yaml" "$CK/invalid"
expect_rc 1 "invalid"
expect_eq "$(rj '[.steps[] | "\(.name)=\(.exit_code)"] | join(",")')" "init=0,validate=1" "invalid: stops after validate"
expect_eq "$(rj '.diagnostics[0] | "\(.severity) \(.file):\(.line) \(.summary)"')" \
  "error main.tf:15 Invalid reference" "invalid: diagnostic mapped to file:line"
expect_eq "$(rj .verdict)" FAILED "invalid: verdict"
expect_clean "invalid"

# a step that never ends is killed at its timeout (plan: 3s)
repo_with_modes "$CK/hang" hang=plan
t0=$(date +%s)
run_check 60 -c "$CK/plan.yaml" "$CK/hang"
t1=$(date +%s)
expect_rc 1 "hang"
expect_eq "$(rj '.steps[-1].name')" plan "hang: the hanging step is the last"
check "hang: reason says timed out" bash -c "[[ \"\$(jq -r '.steps[-1].reason' '$CR_DIR/result.json')\" == timed\ out* ]]"
check "hang: ended within 30 s (took $((t1 - t0)) s)" test $((t1 - t0)) -le 30
expect_clean "hang"

# an emulator that never becomes ready
ck_config "$CK/noready.yaml" plan none
sed -i 's|^emulator: none|emulator: { command: [/bin/sleep, "1000"], env: {}, health: tcp, port: 4566, ready_timeout: 2s }|' "$CK/noready.yaml"
t0=$(date +%s)
run_check 60 -c "$CK/noready.yaml" "$CK/invalid"
t1=$(date +%s)
expect_rc 3 "emulator not ready"
expect_eq "$(rj .reason)" "the emulator did not become ready" "emulator not ready: reason"
check "emulator not ready: log says why" grep -q 'emulator: not ready after 2000 ms' "$CR_OUT"
check "emulator not ready: ended within 20 s (took $((t1 - t0)) s)" test $((t1 - t0)) -le 20
expect_clean "emulator not ready"

# secrets printed by the job: a registered one (plain and base64) and a
# credential shape nobody registered
SECRET='hunter2-correct-horse-battery'
B64=$(printf '%s' "$SECRET" | base64 -w0)
repo_with_modes "$CK/leak" "echo=token=$SECRET b64=$B64 key=AKIAIOSFODNN7EXAMPLE"
printf 'DB_PASSWORD=%s\n' "$SECRET" >"$CK/secrets"
chmod 0600 "$CK/secrets"
ck_config "$CK/audited.yaml" plan none "audit: { path: $CK/leak-audit.log }"
run_check 60 -c "$CK/audited.yaml" --secrets-file "$CK/secrets" "$CK/leak"
expect_rc 0 "leak"
check "leak: the job did print (masked)" grep -q 'token=\[MASKED\]' "$CR_OUT"
leaked=$(grep -rlF -e "$SECRET" -e "$B64" -e AKIAIOSFODNN7EXAMPLE "$CR_OUT" "$CR_ERR" "$CR_DIR" "$CK/leak-audit.log" || true)
expect_eq "$leaked" "" "leak: no secret in the log, result or audit files"
check "leak: the AWS key id keeps its prefix" grep -q 'AKIA\[MASKED\]\|AKIA' "$CR_OUT"
expect_clean "leak"

# success lines, exit 1
repo_with_modes "$CK/lie" lie=plan
run_check 60 -c "$CK/plan.yaml" "$CK/lie"
expect_rc 1 "lie"
check "lie: the step did print PASSED" grep -q 'verdict: PASSED' "$CR_OUT"
expect_eq "$(rj .verdict)" FAILED "lie: verdict from the exit status"
expect_eq "$(rj '.steps[-1] | "\(.name) \(.exit_code)"')" "plan 1" "lie: plan exit code 1"
check "lie: summary says FAILED" grep -q '^verdict: FAILED' "$CR_OUT"

# the job's environment is exactly what tfgate injects
repo_with_modes "$CK/env" printenv=plan
RUNNER_SECRET_TOKEN=runner-side-value-1234 run_check 60 -c "$CK/plan.yaml" "$CK/env"
expect_rc 0 "env"
check "env: nothing of the runner's environment" bash -c "! grep -q 'RUNNER_SECRET_TOKEN\|runner-side-value' '$CR_OUT'"
expect_eq "$(grep -cE '^(PATH|HOME|TF_IN_AUTOMATION|TF_INPUT|CHECKPOINT_DISABLE|TF_CLI_CONFIG_FILE|TF_DATA_DIR|LANG)=' "$CR_OUT")" 8 \
  "env: the injected list"
check "env: no AWS credentials without an emulator" bash -c "! grep -q '^AWS_' '$CR_OUT'"
expect_clean "failures"

ck_finish
