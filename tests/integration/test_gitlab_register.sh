#!/bin/bash
# test_gitlab_register.sh - `tfgate register gitlab` / `tfgate unregister
# gitlab` against the fake GitLab: a good glrt- token registers (state file
# 0600 with runner id, expiry and system_id), a wrong token is refused
# (exit 3), a token file readable by others is refused before any request
# (exit 2), the legacy registration-token flow writes the new runner token
# to a new 0600 file, unregister removes this manager (or --all the runner).
set -u
: "${TFGATE:?}" "${TFGATE_SRC:?}"
WORK=$(mktemp -d)
FAKE_PID=
cleanup() { fake_stop; rm -rf "$WORK"; }
trap cleanup EXIT
. "$TFGATE_SRC/tests/fake/gitlab/fake_lib.sh"

TOKEN=glrt-reg_$RANDOM$RANDOM
fake_start --runner-token "$TOKEN" --registration-token "GR1348941legacy"
ST=$WORK/state
printf '%s\n' "$TOKEN" >"$WORK/token"; chmod 600 "$WORK/token"

"$TFGATE" register gitlab --url "$FAKE_URL" --token-file "$WORK/token" --state-dir "$ST" >"$WORK/reg.out" 2>&1
rc=$?
expect "register: exit 0" [ "$rc" = 0 ]
expect "register: prints runner id, system id and expiry" \
  bash -c "grep -q 'runner id: *77' '$WORK/reg.out' && grep -Eq 'system id: *s_[0-9a-f]{12}|system id: *r_' '$WORK/reg.out' && grep -q '2030-01-01' '$WORK/reg.out'"
expect "register: state file is 0600" [ "$(stat -c %a "$ST/gitlab-gitlab.json")" = 600 ]
check "register: verify called with the state file's system_id" "
import json
st = json.load(open('$ST/gitlab-gitlab.json'))
(st['runner_id']==77 and st['system_id'] in L['managers'] and st['token_expires_at']=='2030-01-01T00:00:00.000Z'
 and L['errors']==[])"

printf 'glrt-wrong\n' >"$WORK/bad"; chmod 600 "$WORK/bad"
"$TFGATE" register gitlab --url "$FAKE_URL" --token-file "$WORK/bad" --state-dir "$WORK/st2" >"$WORK/bad.out" 2>&1
rc=$?
expect "wrong token: exit 3 and says refused" bash -c "[ $rc = 3 ] && grep -q 'refused the token (403)' '$WORK/bad.out'"

cp "$WORK/token" "$WORK/open"; chmod 644 "$WORK/open"
n_before=$(curl -s "$FAKE_URL/__control/log" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["requests"]))')
"$TFGATE" register gitlab --url "$FAKE_URL" --token-file "$WORK/open" --state-dir "$WORK/st3" >"$WORK/open.out" 2>&1
rc=$?
expect "0644 token file: exit 2, mode named" bash -c "[ $rc = 2 ] && grep -q '0644' '$WORK/open.out'"
check "0644 token file: no request sent" "len(L['requests']) == $n_before + 1"

printf 'not-a-glrt\n' >"$WORK/notglrt"; chmod 600 "$WORK/notglrt"
"$TFGATE" register gitlab --url "$FAKE_URL" --token-file "$WORK/notglrt" --state-dir "$WORK/st4" >"$WORK/ng.out" 2>&1
expect "non-glrt token without --registration-token-file: usage error" [ $? = 2 ]

# legacy registration token
printf 'GR1348941legacy\n' >"$WORK/regtok"; chmod 600 "$WORK/regtok"
"$TFGATE" register gitlab --url "$FAKE_URL" --registration-token-file "$WORK/regtok" \
        --token-file "$WORK/new-token" --description "tfgate test" --tag-list terraform \
        --state-dir "$WORK/st5" >"$WORK/legacy.out" 2>&1
rc=$?
expect "legacy: exit 0, new token written 0600" bash -c \
  "[ $rc = 0 ] && [ \"\$(stat -c %a '$WORK/new-token')\" = 600 ] && grep -q '^glrt-' '$WORK/new-token'"
check "legacy: POST /runners with the tag list" \
  "[r for r in L['requests'] if r['path']=='/api/v4/runners'][-1].get('tag_list')=='terraform'"
"$TFGATE" register gitlab --url "$FAKE_URL" --registration-token-file "$WORK/regtok" \
        --token-file "$WORK/new-token" --state-dir "$WORK/st5" >/dev/null 2>&1
expect "legacy: an existing token file is never overwritten" [ $? = 2 ]

# unregister this manager, then the whole runner
"$TFGATE" unregister gitlab --url "$FAKE_URL" --token-file "$WORK/token" --state-dir "$ST" >"$WORK/unreg.out" 2>&1
rc=$?
expect "unregister: exit 0, state file removed" bash -c "[ $rc = 0 ] && [ ! -e '$ST/gitlab-gitlab.json' ]"
check "unregister: the manager is gone" "L['managers']==[]"
"$TFGATE" unregister gitlab --url "$FAKE_URL" --token-file "$WORK/bad" --state-dir "$ST" >/dev/null 2>&1
expect "unregister with a wrong token: exit 3" [ $? = 3 ]
"$TFGATE" unregister gitlab --all --url "$FAKE_URL" --token-file "$WORK/token" --state-dir "$ST" >/dev/null 2>&1
rc=$?
check "unregister --all: runner deleted (exit $rc)" "L['deleted'] and $rc == 0 and L['errors']==[]"
"$TFGATE" register gitlab --url "$FAKE_URL" --token-file "$WORK/token" --state-dir "$ST" >/dev/null 2>&1
expect "after --all the token no longer registers" [ $? = 3 ]

if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) failed"
        tail -n 20 "$WORK/fake.log"
        exit 1
fi
echo "all register/unregister checks passed"
