# tests/integration/lib/fixtures.sh - build test repositories and provider
# mirrors at test time (hashes depend on the built test provider, so they
# cannot be committed).  Source it; needs $TFGATE_BUILD.
#
#   fixture_mirror DIR              packed mirror with hashicorp/aws 5.31.0
#                                   (the test provider, NOT the real one)
#   fixture_repo DIR MIRROR [MAIN]  a git repository with main.tf (or MAIN's
#                                   content) and a lock file matching MIRROR
#   fixture_commit DIR              the HEAD commit of DIR

FIXTURE_PROVIDER_VERSION=5.31.0
FIXTURE_PLATFORM=linux_amd64

fixture_mirror() {
  local dir=$1 stage zip
  stage=$(mktemp -d)
  mkdir -p "$dir/registry.terraform.io/hashicorp/aws"
  cp "$TFGATE_BUILD/tests/doubles/test-provider" \
     "$stage/terraform-provider-aws_v${FIXTURE_PROVIDER_VERSION}_x5"
  chmod 0755 "$stage/terraform-provider-aws_v${FIXTURE_PROVIDER_VERSION}_x5"
  zip="$dir/registry.terraform.io/hashicorp/aws/terraform-provider-aws_${FIXTURE_PROVIDER_VERSION}_${FIXTURE_PLATFORM}.zip"
  (cd "$stage" && zip -q -X "$zip" "terraform-provider-aws_v${FIXTURE_PROVIDER_VERSION}_x5")
  rm -rf "$stage"
}

# the lock-file hash lines for the mirror's aws package
fixture_hashes() {
  local mirror=$1 zip
  zip="$mirror/registry.terraform.io/hashicorp/aws/terraform-provider-aws_${FIXTURE_PROVIDER_VERSION}_${FIXTURE_PLATFORM}.zip"
  if "$TFGATE" providers hash "$zip" >/dev/null 2>&1; then
    "$TFGATE" providers hash "$zip" | sed 's/^/    "/; s/$/",/'
  else
    printf '    "zh:%s",\n' "$(sha256sum "$zip" | cut -d' ' -f1)"
  fi
}

fixture_default_main() {
  cat <<'TF'
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_s3_bucket" "demo" {
  bucket = "tfgate-demo"
}
TF
}

fixture_repo() {
  local dir=$1 mirror=$2 main=${3:-}
  mkdir -p "$dir"
  if [ -n "$main" ]; then printf '%s\n' "$main" > "$dir/main.tf"; else fixture_default_main > "$dir/main.tf"; fi
  {
    echo '# This file is maintained automatically by "terraform init".'
    echo '# Manual edits may be lost in future updates.'
    echo
    echo 'provider "registry.terraform.io/hashicorp/aws" {'
    echo "  version     = \"${FIXTURE_PROVIDER_VERSION}\""
    echo '  constraints = "~> 5.0"'
    echo '  hashes = ['
    fixture_hashes "$mirror"
    echo '  ]'
    echo '}'
  } > "$dir/.terraform.lock.hcl"
  git -C "$dir" init -q -b main
  git -C "$dir" -c user.name=test -c user.email=test@example.invalid add -A
  git -C "$dir" -c user.name=test -c user.email=test@example.invalid commit -q -m "fixture"
}

fixture_commit() {
  git -C "$1" rev-parse HEAD
}
