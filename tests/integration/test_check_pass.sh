#!/usr/bin/env bash
# tfgate check, happy paths: every mode with the terraform test double
# (emulator none, and s3rver for apply), result.json fields, the signature
# verified, the audit trail, and nothing left behind.
. "$TFGATE_SRC/tests/integration/lib/check_lib.sh"
ck_init

fixture_repo "$CK/repo" "$CK/mirror"
SHA=$(fixture_commit "$CK/repo")

# plan, no emulator
ck_config "$CK/plan.yaml" plan none
run_check 120 -c "$CK/plan.yaml" "$CK/repo"
expect_rc 0 "plan"
expect_eq "$(rj .verdict)" PASSED "plan: verdict"
expect_eq "$(rj '[.steps[].name] | join(",")')" "init,validate,plan,show" "plan: steps in order"
expect_eq "$(rj '[.steps[].exit_code] | join(",")')" "0,0,0,0" "plan: exit codes from the supervisor"
expect_eq "$(rj .commit)" "$SHA" "plan: commit"
expect_eq "$(rj .mode)" plan "plan: mode"
expect_eq "$(rj .terraform_version)" 1.9.5 "plan: terraform version from the JSON stream"
expect_eq "$(rj '.plan | "\(.add)/\(.change)/\(.destroy)"')" "1/0/0" "plan: summary from show -json"
expect_eq "$(rj '.providers[0] | "\(.source) \(.locked_version) \(.mirror) \(.allowed)"')" \
  "registry.terraform.io/hashicorp/aws 5.31.0 verified true" "plan: provider table"
expect_eq "$(rj .repository)" "file://$CK/repo" "plan: repository"
check "plan: step headers in the log" grep -q '^==> plan$' "$CR_OUT"
check "plan: summary table printed" grep -q '^verdict: PASSED' "$CR_OUT"
check "plan: show -json output is not logged (sensitive values)" \
  bash -c "! grep -q '\"resource_changes\"' '$CR_OUT'"
check "plan: the provider ran from the data dir" grep -q 'test provider: started for plan' "$CR_OUT"
expect_clean "plan"

# validate only
ck_config "$CK/validate.yaml" validate none
run_check 120 -c "$CK/validate.yaml" "$CK/repo"
expect_rc 0 "validate"
expect_eq "$(rj '[.steps[].name] | join(",")')" "init,validate" "validate: steps"
expect_eq "$(rj .plan)" null "validate: no plan"
expect_clean "validate"

# signed, audited
"$TFGATE" keygen --out "$CK/signing.key" >/dev/null || ck_die keygen
ck_config "$CK/signed.yaml" plan none "signing: { key_file: $CK/signing.key }" "audit: { path: $CK/audit.log }"
run_check 120 -c "$CK/signed.yaml" "$CK/repo"
expect_rc 0 "signed"
check "signed: result.dsse.json written" test -s "$CR_DIR/result.dsse.json"
"$TFGATE" verify --key "$CK/signing.key.pub" --expect-commit "$SHA" "$CR_DIR/result.dsse.json" >"$CK/verify.out" 2>&1
expect_eq "$?" 0 "signed: tfgate verify accepts the envelope and the result beside it"
sed -i 's/"verdict":"PASSED"/"verdict":"FAILED"/' "$CR_DIR/result.json"
"$TFGATE" verify --key "$CK/signing.key.pub" "$CR_DIR/result.dsse.json" >/dev/null 2>&1
expect_eq "$?" 4 "signed: an edited result.json no longer verifies"
"$TFGATE" audit verify "$CK/audit.log" >"$CK/audit.out" 2>&1
expect_eq "$?" 0 "audit: the chain verifies"
expect_eq "$(jq -r .event "$CK/audit.log" | tr '\n' ' ')" \
  "job_claimed fetched inspected step_finished step_finished step_finished step_finished reported cleaned " \
  "audit: every job event, in order"
expect_clean "signed"

# apply against s3rver in the job's network namespace
ck_config "$CK/apply.yaml" apply s3rver
run_check 180 -c "$CK/apply.yaml" "$CK/repo"
expect_rc 0 "apply"
expect_eq "$(rj '[.steps[].name] | join(",")')" "init,validate,plan,show,apply,destroy" "apply: steps"
check "apply: the bucket was created in the emulator" grep -q 'Creation complete \[id=tfgate-demo\]' "$CR_OUT"
check "apply: emulator output in the job log" grep -q '==> emulator output' "$CR_OUT"
expect_clean "apply"

ck_finish
