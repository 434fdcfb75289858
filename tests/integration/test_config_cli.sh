#!/usr/bin/env bash
# test_config_cli.sh - `tfgate config check FILE` end to end: the example
# config is valid once its secret files exist; errors come one per line as
# FILE:LINE: key.path: message with exit 2; a secret file readable by others
# and a group-writable config file are refused; secret-looking emulator env
# values are never printed.
set -uo pipefail

fail() { echo "FAIL: $*"; exit 1; }
check() { echo "check: $*"; }

[ -n "${TFGATE:-}" ] && [ -x "$TFGATE" ] || fail "TFGATE is not set to the built tfgate binary"
[ -n "${TFGATE_SRC:-}" ] && [ -f "$TFGATE_SRC/examples/tfgate.yaml" ] || fail "TFGATE_SRC/examples/tfgate.yaml not found"

tmp=$(mktemp -d /tmp/tfgate-config-cli-XXXXXX) || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out
err=$tmp/err

# --- the example, with its secret files created private --------------------
check "examples/tfgate.yaml is valid once its secret files exist"
cfg=$tmp/cfg
mkdir -p "$cfg/secrets" "$cfg/certs"
cp "$TFGATE_SRC/examples/tfgate.yaml" "$cfg/tfgate.yaml"
chmod 644 "$cfg/tfgate.yaml"
for s in gitlab-token client.key github-app.pem github-token signing.key; do
        printf 'not-a-real-secret\n' > "$cfg/secrets/$s"
        chmod 600 "$cfg/secrets/$s"
done
for c in ca.pem client.pem; do
        printf -- '-----BEGIN CERTIFICATE-----\n' > "$cfg/certs/$c"
        chmod 644 "$cfg/certs/$c"
done
"$TFGATE" config check "$cfg/tfgate.yaml" > "$out" 2> "$err"
rc=$?
[ $rc -eq 0 ] || { cat "$err"; fail "example: exit $rc, want 0"; }
[ "$(head -n1 "$out")" = "ok" ] || fail "example: first line is not ok"
[ -s "$err" ] && { cat "$err"; fail "example: stderr not empty"; }

check "the effective config shows resolved paths, normalised sources and defaults"
grep -qxF "    token_file: \"$cfg/secrets/gitlab-token\"" "$out" || fail "token_file not resolved against the config's directory"
grep -qxF '    - source: "registry.terraform.io/hashicorp/aws"' "$out" || fail "provider source not normalised"
grep -qxF '  mode: plan' "$out" || fail "terraform.mode missing"
grep -qxF '    data-http: warn' "$out" || fail "policy not shown"
grep -qxF '    shard: {index: 0, count: 2}' "$out" || fail "shard not shown"
grep -qxF '  memory: 2GiB' "$out" || fail "sandbox.memory not shown"

check "the effective config is itself a valid config"
tail -n +2 "$out" > "$cfg/effective.yaml"
chmod 600 "$cfg/effective.yaml"
"$TFGATE" config check "$cfg/effective.yaml" > "$tmp/out2" 2> "$err" || { cat "$err"; fail "the dump does not load back"; }
diff <(tail -n +3 "$out") <(tail -n +3 "$tmp/out2") > /dev/null || fail "the dump loads back to a different config"

# --- errors: every one, one per line, exit 2 --------------------------------
check "a bad config: every error as FILE:LINE: key.path: message, exit 2"
bad=$tmp/bad.yaml
cat > "$bad" <<'EOF'
concurrency: 2
sandbox:
  memory: lots
  pids: 0
forges:
  - type: gitlab
    url: http://gitlab.example.com
    token_file: /nonexistent/tfgate-token
emulatr: none
EOF
chmod 600 "$bad"
"$TFGATE" config check "$bad" > "$out" 2> "$err"
rc=$?
[ $rc -eq 2 ] || fail "bad config: exit $rc, want 2"
[ -s "$out" ] && fail "bad config: something on stdout"
cat > "$tmp/want" <<EOF
$bad:3: sandbox.memory: expected a size like 512MiB, got "lots"
$bad:4: sandbox.pids: must be between 4 and 4194304, got 0
$bad:7: forges[0].url: expected an https:// URL (http:// only for 127.0.0.0/8, ::1 and localhost), got "http://gitlab.example.com"
$bad:8: forges[0].token_file: /nonexistent/tfgate-token: No such file or directory
$bad:9: emulatr: unknown key (did you mean "emulator"?)
EOF
diff "$tmp/want" "$err" || fail "bad config: errors differ from the expected lines"

check "a YAML syntax error names the line, exit 2"
printf 'concurrency: 2\n  log: x\n' > "$bad"
"$TFGATE" config check "$bad" > "$out" 2> "$err"
rc=$?
[ $rc -eq 2 ] || fail "syntax error: exit $rc, want 2"
grep -qxF "$bad:2: YAML syntax error: mapping values are not allowed in this context" "$err" || { cat "$err"; fail "syntax error message"; }

check "--log-format json gives the errors as JSON lines"
printf 'concurrency: 0\n' > "$bad"
"$TFGATE" --log-format json config check "$bad" > "$out" 2> "$err"
rc=$?
[ $rc -eq 2 ] || fail "json: exit $rc, want 2"
grep -qF '"level":"error"' "$err" && grep -qF "\"msg\":\"$bad:1: concurrency: must be between 1 and 1024, got 0\"" "$err" \
        || { cat "$err"; fail "json error line"; }

# --- permissions -------------------------------------------------------------
check "a secret file with mode 0644 is refused, naming the key and the file"
chmod 644 "$cfg/secrets/gitlab-token"
"$TFGATE" config check "$cfg/tfgate.yaml" > "$out" 2> "$err"
rc=$?
[ $rc -eq 2 ] || fail "open secret: exit $rc, want 2"
line=$(grep -n '^    token_file: secrets/gitlab-token' "$cfg/tfgate.yaml" | cut -d: -f1)
grep -qxF "$cfg/tfgate.yaml:$line: forges[0].token_file: $cfg/secrets/gitlab-token: mode 0644 lets group or others access a secret; chmod 600 it" "$err" \
        || { cat "$err"; fail "open secret: message"; }
[ "$(wc -l < "$err")" -eq 1 ] || { cat "$err"; fail "open secret: more than the one error"; }
chmod 600 "$cfg/secrets/gitlab-token"

check "a signing key readable by group is refused"
chmod 640 "$cfg/secrets/signing.key"
"$TFGATE" config check "$cfg/tfgate.yaml" > "$out" 2> "$err"
[ $? -eq 2 ] && grep -qF "signing.key_file: $cfg/secrets/signing.key: mode 0640" "$err" || { cat "$err"; fail "signing key"; }
chmod 600 "$cfg/secrets/signing.key"

check "a config file writable by group is refused (TB2-T)"
chmod 664 "$cfg/tfgate.yaml"
"$TFGATE" config check "$cfg/tfgate.yaml" > "$out" 2> "$err"
rc=$?
[ $rc -eq 2 ] || fail "group-writable config: exit $rc, want 2"
grep -qxF "$cfg/tfgate.yaml: mode 0664 lets group or others change the configuration; chmod go-w it" "$err" \
        || { cat "$err"; fail "group-writable config: message"; }
chmod 644 "$cfg/tfgate.yaml"
"$TFGATE" config check "$cfg/tfgate.yaml" > /dev/null 2>&1 || fail "restored config no longer loads"

# --- redaction -----------------------------------------------------------------
check "secret-looking emulator env values are shown as <redacted>"
red=$tmp/red.yaml
cat > "$red" <<'EOF'
emulator:
  command: [s3rver]
  env:
    AWS_SECRET_ACCESS_KEY: hunter2-do-not-print
    LOCALSTACK_AUTH_TOKEN: ls-token-do-not-print
    MODE: plain-value
EOF
chmod 600 "$red"
"$TFGATE" config check "$red" > "$out" 2> "$err" || { cat "$err"; fail "redaction config rejected"; }
grep -q 'do-not-print' "$out" "$err" && fail "a secret value was printed"
grep -qxF '    AWS_SECRET_ACCESS_KEY: "<redacted>"' "$out" || fail "AWS_SECRET_ACCESS_KEY not redacted"
grep -qxF '    MODE: "plain-value"' "$out" || fail "a plain env value is missing"

# --- usage -------------------------------------------------------------------
check "usage errors exit 2"
"$TFGATE" config > /dev/null 2>&1; [ $? -eq 2 ] || fail "no subcommand: want exit 2"
"$TFGATE" config check > /dev/null 2>&1; [ $? -eq 2 ] || fail "no FILE: want exit 2"
"$TFGATE" config frobnicate x > /dev/null 2>&1; [ $? -eq 2 ] || fail "unknown subcommand: want exit 2"
"$TFGATE" config check "$tmp/missing.yaml" > /dev/null 2> "$err"; [ $? -eq 2 ] || fail "missing file: want exit 2"
grep -qxF "$tmp/missing.yaml: No such file or directory" "$err" || { cat "$err"; fail "missing file: message"; }

echo "PASS: test_config_cli"
