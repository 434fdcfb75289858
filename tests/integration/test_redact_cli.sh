#!/bin/bash
# test_redact_cli.sh - `tfgate redact` as a filter: secrets from a private
# file and from the environment, encoded forms, token shapes, inert markers,
# a refused world-readable secrets file, the output cap.
set -euo pipefail
: "${TFGATE:?TFGATE must point at the built binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'DB_PASSWORD=hunter2-very-secret\nplain-line-secret-42\n' > "$tmp/secrets"
chmod 600 "$tmp/secrets"

echo "check: file secrets, env secret, base64 and percent forms, tokens, markers"
input=$'pw=hunter2-very-secret\nb64=aHVudGVyMi12ZXJ5LXNlY3JldA==\nq=plain-line-secret-42&x\nenv=multi-A-line\nkey AKIAIOSFODNN7EXAMPLE\n::set-output name=x::y\nSEC\e[0mRET-FROM-ENV\n'
want=$'pw=[MASKED]\nb64=[MASKED]\nq=[MASKED]&x\nenv=[MASKED]\nkey AKIA[MASKED]\n(inert)::set-output name=x::y\n[MASKED]\n'
got=$(printf '%s' "$input" | MULTI=$'multi-A-line\nSECRET-FROM-ENV' "$TFGATE" redact --secrets-file "$tmp/secrets" --secret-env MULTI)
[ "$got"$'\n' = "$want" ] || fail "unexpected output:"$'\n'"$got"

echo "check: a secret split across reads (slow producer) is still masked"
got=$( { printf 'a=hunter2-ve'; sleep 0.2; printf 'ry-secret b\n'; } | "$TFGATE" redact --secrets-file "$tmp/secrets")
[ "$got" = "a=[MASKED] b" ] || fail "split secret: $got"

echo "check: a secrets file readable by others is refused (exit 2), naming the file"
chmod 644 "$tmp/secrets"
set +e
err=$(echo x | "$TFGATE" redact --secrets-file "$tmp/secrets" 2>&1 >/dev/null); rc=$?
set -e
[ $rc -eq 2 ] || fail "world-readable secrets file: exit $rc"
grep -q "$tmp/secrets" <<<"$err" || fail "error does not name the file: $err"
chmod 600 "$tmp/secrets"

echo "check: a short secret is refused with a warning naming the variable, not the value"
err=$(echo 'abc1234' | SHORTV=abc1234 "$TFGATE" redact --secret-env SHORTV 2>&1 >/dev/null)
grep -q SHORTV <<<"$err" || fail "warning does not name the variable: $err"
! grep -q abc1234 <<<"$err" || fail "warning shows the value: $err"

echo "check: the output cap writes exactly the cap, a note, and the dropped count; input is drained"
head -c 100000 /dev/zero | tr '\0' 'x' | "$TFGATE" redact --max 100B > "$tmp/capped"
[ "$(head -c 100 "$tmp/capped")" = "$(printf 'x%.0s' $(seq 100))" ] || fail "cap content"
want=$'\n[tfgate: --max output cap of 100 bytes reached; further output is dropped]\n\n[tfgate: 99900 bytes of output dropped by the --max output cap]'
[ "$(tail -c +101 "$tmp/capped")" = "$want" ] || fail "cap notes: $(tail -c +101 "$tmp/capped")"

echo "check: --keep-colour keeps SGR colours around a masked secret and still drops other sequences"
got=$(printf 'x=\e[31mhunter2-very-secret\e[0m \e]0;title\a\e[2Jend\n' | "$TFGATE" redact --secrets-file "$tmp/secrets" --keep-colour | od -An -c | tr -s ' ')
want=$(printf 'x=\e[31m[MASKED]\e[0m end\n' | od -An -c | tr -s ' ')
[ "$got" = "$want" ] || fail "keep-colour: got [$got] want [$want]"
got=$(printf 'x=\e[31mhunter2-very-secret\e[0m\n' | "$TFGATE" redact --secrets-file "$tmp/secrets")
[ "$got" = "x=[MASKED]" ] || fail "colour stripped by default: $got"

echo "check: unknown option is a usage error"
set +e
"$TFGATE" redact --bogus </dev/null >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown option: exit $rc"
echo "ok"
