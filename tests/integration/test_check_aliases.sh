#!/usr/bin/env bash
# tfgate check with aliased aws providers: the override file the steps read
# (tfgate_override.tf, as the terraform test double sees it in the jail)
# has one emulator block per aws provider configuration of the root, the
# default and each alias, and none for an alias of a called module (the
# double refuses an override without a base block, as Terraform does).  A
# hostile alias refuses the job before anything runs.
. "$TFGATE_SRC/tests/integration/lib/check_lib.sh"
ck_init

commit_all() {
  git -C "$1" add -A &&
    git -C "$1" -c user.name=test -c user.email=test@example.invalid commit -q -m "$2"
}

ENDPOINT=http://127.0.0.1:4566

# --- aliases in two files of the root, one in a called module ---
fixture_repo "$CK/repo" "$CK/mirror" "$(fixture_default_main)
provider \"aws\" {
  alias  = \"west\"
  region = \"us-west-2\"
}

module \"net\" {
  source = \"./modules/net\"
}"
cat >"$CK/repo/eu.tf" <<'TF'
provider "aws" {
  alias  = "eu"
  region = "eu-west-1"
}
TF
mkdir -p "$CK/repo/modules/net"
cat >"$CK/repo/modules/net/main.tf" <<'TF'
provider "aws" {
  alias  = "nested"
  region = "ap-south-1"
}
TF
echo "providers=validate" >"$CK/repo/.tfdouble"
commit_all "$CK/repo" "aliases" || ck_die "commit"

ck_config "$CK/validate.yaml" validate s3rver
run_check 120 -c "$CK/validate.yaml" "$CK/repo"
expect_rc 0 "aliases"
expect_eq "$(rj '[.steps[].name] | join(",")')" "init,validate" "aliases: steps"
check "aliases: the local repository was copied at depth 1" \
  grep -q "fetched $(fixture_commit "$CK/repo"): .*(sha, depth 1)" "$CR_OUT"
# what the validate step read, one line per aws provider block
grep '^provider aws: ' "$CR_OUT" | sort >"$CK/seen"
sed 's/^/#   /' "$CK/seen"
expect_eq "$(grep -c 'file=tfgate_override.tf' "$CK/seen")" 3 \
  "aliases: three override blocks (default, eu, west)"
for a in - eu west; do
  check "aliases: override block for alias $a points at the emulator" \
    grep -qx "provider aws: file=tfgate_override.tf alias=$a s3=$ENDPOINT" "$CK/seen"
done
check "aliases: the root's own blocks are the bases" \
  bash -c "grep -qx 'provider aws: file=main.tf alias=west s3=-' '$CK/seen' &&
           grep -qx 'provider aws: file=eu.tf alias=eu s3=-' '$CK/seen'"
check "aliases: no override block for the module's alias" \
  bash -c "! grep -q 'alias=nested' '$CK/seen'"
check "aliases: no missing-base error from the double" \
  bash -c "! grep -q 'Missing base provider configuration' '$CR_OUT'"
expect_clean "aliases"

# --- a hostile alias: refused with its position, nothing runs ---
fixture_repo "$CK/evil" "$CK/mirror"
cat >"$CK/evil/providers.tf" <<'TF'
provider "aws" {
  alias = "x\"\n}\nprovider \"aws\" {\n  access_key = \"AKIAEXAMPLE\"\n  y = \""
}
TF
commit_all "$CK/evil" "hostile alias" || ck_die "commit"
run_check 120 -c "$CK/validate.yaml" "$CK/evil"
expect_rc 1 "hostile alias"
expect_eq "$(rj .verdict)" FAILED "hostile alias: verdict"
expect_eq "$(rj .reason)" "the aws provider configuration cannot be pointed at the emulator" \
  "hostile alias: reason"
check "hostile alias: refusal names the file, line and column" \
  grep -q 'override file refused: providers.tf:2:11: provider "aws" alias "x\\x22\\x0a}' "$CR_OUT"
expect_eq "$(rj '.steps | length')" 0 "hostile alias: no terraform step ran"
check "hostile alias: the emulator was not started" bash -c "! grep -q 'emulator ready' '$CR_OUT'"
expect_clean "hostile alias"

ck_finish
