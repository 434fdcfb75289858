# jail_lib.sh - shared plumbing of tests/integration/test_jail_*.sh.
# Sourced, not run.  Gives: TAP-ish ok/not_ok lines, a bounded `jail_run`
# that captures stdout, stderr, exit code, wall time and the --json line,
# and a host snapshot (processes, mounts, cgroups, temp dirs) to prove a
# jail left nothing behind.  Every wait is bounded.
#
# Environment: TFGATE (the binary), TFGATE_BUILD (build dir; helpers are in
# $TFGATE_BUILD/tests/jail).  Works as root and as an unprivileged user;
# JL_ROOT=1 when running as root (cgroup limits expected), 0 otherwise
# (the rlimit fallback is expected).

set -u
JL_NAME=$(basename "$0" .sh)
JL_FAILS=0
JL_PASSES=0
JL_ROOT=$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)

jl_log() { printf '# %s\n' "$*"; }
ok() { JL_PASSES=$((JL_PASSES + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { JL_FAILS=$((JL_FAILS + 1)); printf 'not ok - %s\n' "$*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
jl_die() { printf 'not ok - %s: %s\n' "$JL_NAME" "$*"; exit 1; }

jl_finish() {
  printf '# %s: %d passed, %d failed (%s)\n' "$JL_NAME" "$JL_PASSES" "$JL_FAILS" \
    "$([ "$JL_ROOT" = 1 ] && echo root || echo "rootless as $(id -un)")"
  [ "$JL_FAILS" -eq 0 ] && [ "$JL_PASSES" -gt 0 ]
}

# ---------- set-up ----------

jl_init() {
  [ -n "${TFGATE:-}" ] || jl_die "TFGATE is not set (run through ctest)"
  [ -x "$TFGATE" ] || jl_die "TFGATE=$TFGATE is not an executable"
  [ -n "${TFGATE_BUILD:-}" ] || jl_die "TFGATE_BUILD is not set"
  JL_HELPERS=$TFGATE_BUILD/tests/jail
  local h
  for h in escape_probe forkbomb membomb diskfill busyloop printforever tcp_listener; do
    [ -x "$JL_HELPERS/$h" ] || jl_die "helper $JL_HELPERS/$h is not built (cmake --build: target jail_test_helpers)"
  done
  # The jail command: `tfgate jail`, or the small tfgate-jail binary when
  # TFGATE_JAIL_BIN names it (the same tests run against both).  It must
  # exist in this build: a NULL entry says "not part of this build" and
  # exits 2.  That is a failure, not a skip.
  if [ -n "${TFGATE_JAIL_BIN:-}" ]; then
    [ -x "$TFGATE_JAIL_BIN" ] || jl_die "TFGATE_JAIL_BIN=$TFGATE_JAIL_BIN is not an executable"
    JL_JAIL=("$TFGATE_JAIL_BIN")
  else
    JL_JAIL=("$TFGATE" jail)
  fi
  echo "# jail command: ${JL_JAIL[*]}"
  "${JL_JAIL[@]}" --help >/dev/null 2>&1 || jl_die "'${JL_JAIL[*]}' is not available"
  command -v jq >/dev/null || jl_die "jq is not installed (needed to read --json)"

  # One jail test at a time: the leftover checks look at host-wide state.
  JL_LOCK=/tmp/tfgate-jailtests.lock
  [ -e "$JL_LOCK" ] || (umask 0; : >"$JL_LOCK") 2>/dev/null
  exec 8<"$JL_LOCK" || jl_die "cannot open $JL_LOCK"
  flock -w 280 8 || jl_die "another jail test held $JL_LOCK for 280 s"

  JL_WORK=$(mktemp -d /tmp/jt-work.XXXXXX) || jl_die "mktemp"
  chmod 0755 "$JL_WORK"
  # tfgate's own temp files go here, so none can hide among others'
  JL_TMP=$JL_WORK/tmpdir
  mkdir -m 0700 "$JL_TMP"
  # a unique mount point for the helpers: every helper process and every
  # tfgate of this test carries it on its command line (for pgrep)
  JL_TAG=jt-helpers-$$-$RANDOM
  JL_IN=/$JL_TAG
  JL_SYS=()
  local d
  for d in /usr /lib /lib64 /bin /sbin /etc/ssl/certs; do
    [ -e "$d" ] && JL_SYS+=(--ro "$d")
  done
  JL_SYS+=(--ro "$JL_HELPERS:$JL_IN")
  JL_CHILDREN=()
  trap jl_cleanup EXIT
  jl_snapshot "$JL_WORK/snap.before"
}

jl_cleanup() {
  local p
  for p in "${JL_CHILDREN[@]}"; do kill "$p" 2>/dev/null; done
  pkill -KILL -f -- "$JL_TAG" 2>/dev/null
  [ -n "${JL_WORK:-}" ] && rm -rf "$JL_WORK"
}

# ---------- running the jail ----------

# jail_run BOUND_SECONDS ARGS...: runs `tfgate jail --json ARGS...` with
# a hard outside bound.  Sets JR_RC, JR_MS, JR_OUT, JR_ERR (files), JR_JSON
# (the JSON line or empty), JR_BOUNDED=1 if the outside bound had to kill it.
JR_N=0
jail_run() {
  local bound=$1; shift
  JR_N=$((JR_N + 1))
  JR_OUT=$JL_WORK/run$JR_N.out
  JR_ERR=$JL_WORK/run$JR_N.err
  local t0 t1
  t0=$(date +%s%N)
  TMPDIR=$JL_TMP timeout -k 5 "$bound" "${JL_JAIL[@]}" --json "$@" >"$JR_OUT" 2>"$JR_ERR" </dev/null
  JR_RC=$?
  t1=$(date +%s%N)
  JR_MS=$(( (t1 - t0) / 1000000 ))
  JR_BOUNDED=0
  [ "$JR_RC" -eq 124 ] || [ "$JR_RC" -eq 137 -a "$JR_MS" -ge $((bound * 1000)) ] && JR_BOUNDED=1
  JR_JSON=$(grep -E '^\{' "$JR_ERR" | tail -n 1)
  if ! printf '%s' "$JR_JSON" | jq -e . >/dev/null 2>&1; then JR_JSON=; fi
}

# jf KEY: a field of the last --json line ("" if absent)
jf() { [ -n "$JR_JSON" ] && printf '%s' "$JR_JSON" | jq -r --arg k "$1" 'if has($k) then .[$k] | tostring else "" end'; }

jr_show() {
  jl_log "rc=$JR_RC wall_ms=$JR_MS json=${JR_JSON:-none}"
  jl_log "stderr: $(grep -vE '^\{' "$JR_ERR" | head -c 600 | tr '\n' '|')"
  jl_log "stdout (head): $(head -c 400 "$JR_OUT" | tr '\n' '|')"
}

# expect_reason WANT DESC: the --json reason is WANT and the outside bound
# never fired
expect_reason() {
  local want=$1 desc=$2 got
  got=$(jf reason)
  if [ "$JR_BOUNDED" = 1 ]; then
    not_ok "$desc: tfgate jail did not end by itself (killed by the test's outside bound)"; jr_show
  elif [ "$got" = "$want" ]; then
    ok "$desc: reason=$got (rc=$JR_RC, ${JR_MS} ms)"
  else
    not_ok "$desc: reason='$got', want '$want'"; jr_show
  fi
}

# ---------- leftovers ----------

jl_snapshot() {
  local out=$1
  {
    echo "## mounts"
    awk '{print $5, $4, $9, $10}' /proc/self/mountinfo | sort
    echo "## cgroups"
    find /sys/fs/cgroup -maxdepth 6 -type d -iname '*tfgate*' 2>/dev/null | sort
    echo "## temp"
    # other engineers' tests make /tmp/tfgate-* too: look for what a jail
    # would leave (its 128-bit hex execution id, or "jail" in the name)
    find /tmp /var/tmp /dev/shm /run ${XDG_RUNTIME_DIR:+"$XDG_RUNTIME_DIR"} -maxdepth 2 \
      \( -iname '*jail*' -o -regextype posix-extended -iregex '.*tfgate-[0-9a-f]{32}.*' \) \
      ! -name 'tfgate-jailtests.lock' ! -path '/tmp/jt-work.*' 2>/dev/null | sort
    echo "## tmpdir"
    find "$JL_TMP" -mindepth 1 2>/dev/null | sort
  } >"$out"
}

# expect_no_leftovers DESC: no process of this test, and the same mounts,
# cgroups and temp dirs as at the start.  Processes get 3 s to be reaped;
# a concurrent jail of someone else's may own a fresh cgroup for a moment,
# so differences get 3 s to go away too.
expect_no_leftovers() {
  local desc=$1 i procs diffs
  for i in $(seq 30); do
    procs=$(pgrep -a -f -- "$JL_TAG" | grep -v -- "^$$ " || true)
    [ -z "$procs" ] && break
    sleep 0.1
  done
  if [ -n "$procs" ]; then
    not_ok "$desc: leftover processes: $(printf '%s' "$procs" | head -c 300 | tr '\n' '|')"
  else
    ok "$desc: no leftover process"
  fi
  for i in $(seq 30); do
    jl_snapshot "$JL_WORK/snap.after"
    diffs=$(diff "$JL_WORK/snap.before" "$JL_WORK/snap.after" | grep -E '^>' || true)
    [ -z "$diffs" ] && break
    sleep 0.1
  done
  if [ -n "$diffs" ]; then
    not_ok "$desc: host state changed (mounts/cgroups/temp): $(printf '%s' "$diffs" | head -c 400 | tr '\n' '|')"
  else
    ok "$desc: no leftover mount, cgroup or temp dir"
  fi
}

# within MS LIMIT_MS DESC
within() {
  if [ "$1" -le "$2" ]; then ok "$3: ended in $1 ms (<= $2)"; else not_ok "$3: took $1 ms (> $2)"; fi
}

jl_hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
