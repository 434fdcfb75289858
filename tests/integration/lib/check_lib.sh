# check_lib.sh - plumbing of tests/integration/test_check_*.sh: a fixture
# repository and mirror, a config, a bounded `run_check`, result.json
# queries, and the leftover checks (workspace, mounts, cgroups, processes).
# Sourced, not run.  Needs TFGATE, TFGATE_BUILD, TFGATE_SRC.
set -u
CK_NAME=$(basename "$0" .sh)
CK_FAILS=0
CK_PASSES=0

ok() { CK_PASSES=$((CK_PASSES + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { CK_FAILS=$((CK_FAILS + 1)); printf 'not ok - %s\n' "$*"; }
ck_die() { printf 'not ok - %s: %s\n' "$CK_NAME" "$*"; exit 1; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

ck_finish() {
  printf '# %s: %d passed, %d failed\n' "$CK_NAME" "$CK_PASSES" "$CK_FAILS"
  [ "$CK_FAILS" -eq 0 ] && [ "$CK_PASSES" -gt 0 ]
}

. "$TFGATE_SRC/tests/integration/lib/fixtures.sh"

ck_init() {
  [ -x "${TFGATE:-}" ] || ck_die "TFGATE is not an executable"
  "$TFGATE" check --help >/dev/null 2>&1 || ck_die "'tfgate check' is not in this build"
  DOUBLE=$TFGATE_BUILD/tests/doubles/terraform
  [ -x "$DOUBLE" ] || ck_die "the terraform test double is not built ($DOUBLE)"
  command -v jq >/dev/null || ck_die "jq is not installed"
  # the leftover checks look at host-wide state: one such test at a time,
  # shared with the jail tests (tests/jail/jail_lib.sh)
  local lock=/tmp/tfgate-jailtests.lock
  [ -e "$lock" ] || (umask 0; : >"$lock") 2>/dev/null
  exec 8<"$lock" || ck_die "cannot open $lock"
  flock -w 280 8 || ck_die "another test held $lock for 280 s"
  CK=$(mktemp -d /tmp/ck-work.XXXXXX) || ck_die mktemp
  chmod 0755 "$CK"
  mkdir -p "$CK/work"
  fixture_mirror "$CK/mirror"
  trap ck_cleanup EXIT
  ck_snapshot "$CK/snap.before"
}

ck_cleanup() {
  [ -n "${CK:-}" ] && rm -rf "$CK"
}

# ck_config FILE MODE EMULATOR(none|s3rver) [EXTRA YAML...]
ck_config() {
  local f=$1 mode=$2 emu=$3; shift 3
  {
    echo "work_dir: $CK/work"
    echo "state_dir: $CK/state"
    echo "terraform:"
    echo "  binary: $DOUBLE"
    echo "  mode: $mode"
    echo "  timeouts: { init: 20s, validate: 20s, plan: 3s, show: 20s, apply: 20s, destroy: 20s }"
    echo "providers:"
    echo "  mirror: $CK/mirror"
    echo "  allow:"
    echo "    - { source: hashicorp/aws, versions: \"~> 5.0\" }"
    if [ "$emu" = s3rver ]; then
      echo "emulator:"
      echo "  command: [/usr/bin/node, $TFGATE_SRC/tests/node_modules/s3rver/bin/s3rver.js, -a, 127.0.0.1, -p, \"4566\", -d, /tmp/s3, --silent, --no-vhost-buckets]"
      echo "  paths: [$TFGATE_SRC/tests/node_modules]"
      echo "  env: {}"
      echo "  health: /"
      echo "  port: 4566"
      echo "  ready_timeout: 30s"
    else
      echo "emulator: none"
    fi
    echo "sandbox: { memory: 1GiB, pids: 256, wall_timeout: 120s, output_limit: 4MiB }"
    local line
    for line in "$@"; do echo "$line"; done
  } >"$f"
  chmod 0644 "$f"
}

# run_check BOUND ARGS...: tfgate check, bounded; CR_RC, CR_OUT, CR_ERR, CR_DIR
CR_N=0
run_check() {
  local bound=$1; shift
  CR_N=$((CR_N + 1))
  CR_OUT=$CK/check$CR_N.out
  CR_ERR=$CK/check$CR_N.err
  CR_DIR=$CK/out$CR_N
  timeout -k 5 "$bound" "$TFGATE" check --out "$CR_DIR" "$@" >"$CR_OUT" 2>"$CR_ERR" </dev/null
  CR_RC=$?
}

# rj JQ-FILTER: query the last result.json
rj() { jq -r "$1" "$CR_DIR/result.json" 2>/dev/null; }

expect_rc() {
  if [ "$CR_RC" -eq "$1" ]; then ok "$2: exit $1"; else
    not_ok "$2: exit $CR_RC, wanted $1"; sed 's/^/#   /' "$CR_ERR" | tail -5; tail -15 "$CR_OUT" | sed 's/^/#   /'; fi
}

expect_eq() { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3: got \"$1\", wanted \"$2\""; fi; }

ck_snapshot() {
  {
    echo "## mounts"; awk '{print $5, $4, $9}' /proc/self/mountinfo | sort
    echo "## cgroups"; find /sys/fs/cgroup -maxdepth 6 -type d -iname '*tfgate*' 2>/dev/null | sort
    echo "## workspaces"; find "$CK/work" -mindepth 1 -maxdepth 1 2>/dev/null | sort
  } >"$1"
}

# no workspace, mount, cgroup or process of ours left
expect_clean() {
  local desc=$1 i diffs procs
  for i in $(seq 30); do
    ck_snapshot "$CK/snap.after"
    diffs=$(diff "$CK/snap.before" "$CK/snap.after" | grep -E '^>' || true)
    procs=$(pgrep -af -- "$CK/" | grep -v -e "^$$ " -e pgrep || true)
    [ -z "$diffs" ] && [ -z "$procs" ] && break
    sleep 0.1
  done
  if [ -n "$diffs" ]; then not_ok "$desc: left behind: $(printf '%s' "$diffs" | head -c 300 | tr '\n' '|')"
  elif [ -n "$procs" ]; then not_ok "$desc: processes left: $(printf '%s' "$procs" | head -c 300 | tr '\n' '|')"
  else ok "$desc: no workspace, mount, cgroup or process left"; fi
}
