#!/usr/bin/env bash
# test_daemon_two.sh - two `tfgate run` daemons (own state and work dirs,
# so two runner managers) against one fake GitLab: every queued job is
# claimed and run by exactly one of them, and all end in success.  GitLab
# hands a job to one runner; this checks tfgate never runs one it was not
# handed, nor runs one twice.  Every wait is bounded.
: "${TFGATE_SRC:?}" "${TFGATE_BUILD:?}" "${TFGATE:?}"
. "$TFGATE_SRC/tests/integration/lib/check_lib.sh"
ck_init
WORK=$CK
FAKE_PID=
PIDS=()
. "$TFGATE_SRC/tests/fake/gitlab/fake_lib.sh"
REPOS=$(mktemp -d /tmp/tfgate-repos.XXXXXX) || ck_die mktemp
two_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  fake_stop
  rm -rf "$REPOS"
  ck_cleanup
}
trap two_cleanup EXIT

mkdir -p "$REPOS/ops" "$CK/src/infra"
fixture_repo "$CK/src/infra" "$CK/mirror"
git clone -q --bare "$CK/src/infra" "$REPOS/ops/infra.git" || ck_die clone
SHA=$(fixture_commit "$CK/src/infra")
TOKEN=glrt-test_$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$CK/token"
chmod 600 "$CK/token"
fake_start --runner-token "$TOKEN" --repos "$REPOS"

for n in 1 2; do
  ck_config "$CK/run$n.yaml" validate none \
    "concurrency: 2" \
    "forges:" \
    "  - { type: gitlab, url: \"$FAKE_URL\", token_file: $CK/token, poll_interval: 200ms }"
  sed -i "s|^work_dir: .*|work_dir: $CK/work|; s|^state_dir: .*|state_dir: $CK/state$n|" "$CK/run$n.yaml"
  "$TFGATE" run -c "$CK/run$n.yaml" >"$CK/d$n.out" 2>"$CK/d$n.err" </dev/null &
  PIDS+=($!)
done
for n in 1 2; do
  for _ in $(seq 100); do grep -q '^tfgate: running:' "$CK/d$n.err" && break; sleep 0.1; done
  expect "daemon $n started" grep -q '^tfgate: running:' "$CK/d$n.err"
done

ids=()
for _ in $(seq 8); do ids+=("$(queue valid "\"repo\": \"ops/infra.git\", \"sha\": \"$SHA\"")"); done
done_all() {
  fake_log
  "$PY" -c 'import json,sys; J=json.load(open(sys.argv[1]))["jobs"]; sys.exit(0 if all(J[i]["state"] in ("success","failed") for i in sys.argv[2:]) else 1)' \
    "$CK/log.json" "${ids[@]}"
}
for _ in $(seq 480); do done_all && break; sleep 0.25; done
expect "all 8 jobs finished within 120 s" done_all
check "all 8 succeeded" "all(J[i]['state']=='success' for i in '${ids[*]}'.split())"
claims=$(cat "$CK/d1.err" "$CK/d2.err" | grep -o 'job [0-9]* of ops/infra claimed' | awk '{print $2}' | sort)
expect "each job claimed exactly once over both daemons" \
  [ "$claims" = "$(printf '%s\n' "${ids[@]}" | sort)" ]
n1=$(grep -c 'of ops/infra claimed' "$CK/d1.err"); n2=$(grep -c 'of ops/infra claimed' "$CK/d2.err")
printf '# daemon 1 ran %s jobs, daemon 2 ran %s\n' "$n1" "$n2"
for p in "${PIDS[@]}"; do kill -TERM "$p"; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
expect_clean "two daemons"
printf '# %s: fake-lib failures %d\n' "$CK_NAME" "$FAILS"
[ "$FAILS" -eq 0 ] && ck_finish
