#!/usr/bin/env bash
# tfgate jail --redact / --secrets-file: the output filter in the jail's
# output path (issue 5): a registered secret, its base64 form and a credential
# shape are masked on both streams, terminal and forge markers come out inert,
# and the command's exit status is unchanged.
set -u
: "${TFGATE:?}"
# tfgate jail, or the small tfgate-jail binary (TFGATE_JAIL_BIN)
if [ -n "${TFGATE_JAIL_BIN:-}" ]; then JL_JAIL=("$TFGATE_JAIL_BIN"); else JL_JAIL=("$TFGATE" jail); fi
fails=0
ok() { printf 'ok - %s\n' "$1"; }
nok() { printf 'not ok - %s\n' "$1"; fails=$((fails + 1)); }
# jails make cgroups: not while another test counts the host's leftovers
lock=/tmp/tfgate-jailtests.lock
[ -e "$lock" ] || (umask 0; : >"$lock") 2>/dev/null
exec 8<"$lock" && flock -w 280 8 || { echo "not ok - $lock held for 280 s"; exit 1; }
w=$(mktemp -d /tmp/tfgate-redact-jail.XXXXXX)
trap 'rm -rf "$w"' EXIT
secret='hunter2-correct-horse-battery'
b64=$(printf '%s' "$secret" | base64 -w0)
printf 'DB_PASSWORD=%s\n' "$secret" >"$w/secrets"
chmod 0600 "$w/secrets"

"${JL_JAIL[@]}" --secrets-file "$w/secrets" -- /bin/sh -c "
  echo 'out $secret $b64'
  echo 'err AKIAIOSFODNN7EXAMPLE' >&2
  printf '::add-mask::x\n\033]0;title\007\033[2Jclear\n'
  exit 5" >"$w/out" 2>"$w/err"
rc=$?
[ "$rc" -eq 5 ] && ok "exit status passes through (5)" || nok "exit status: $rc"
if grep -qF -e "$secret" -e "$b64" -e AKIAIOSFODNN7EXAMPLE "$w/out" "$w/err"; then nok "a secret got through"; else ok "no secret on either stream"; fi
grep -q '^out \[MASKED\] ' "$w/out" && ok "stdout masked in place" || nok "stdout: $(cat "$w/out")"
grep -q '^err AKIA\[MASKED\]' "$w/err" && ok "stderr: credential shape masked, prefix kept" || nok "stderr: $(cat "$w/err")"
grep -q '^(inert)::add-mask::x$' "$w/out" && ok "forge command marker inert" || nok "marker: $(cat "$w/out")"
if grep -q $'\033' "$w/out" "$w/err"; then nok "an escape sequence got through"; else ok "terminal controls stripped"; fi
"${JL_JAIL[@]}" -- /bin/echo "$secret" >"$w/plain"
grep -qF "$secret" "$w/plain" && ok "without --redact the output is the command's own" || nok "plain output changed"
chmod 0644 "$w/secrets"
"${JL_JAIL[@]}" --secrets-file "$w/secrets" -- /bin/true 2>"$w/perm"
rc=$?
[ "$rc" -eq 2 ] && grep -q 'mode 0644' "$w/perm" && ok "a readable secrets file is refused (exit 2)" || nok "readable secrets file: rc=$rc $(cat "$w/perm")"
printf '# test_jail_redact: %d failed\n' "$fails"
[ "$fails" -eq 0 ]
