# daemon_lib.sh - what the `tfgate run` tests share: the set-up (check_lib,
# the fake GitLab's helpers, a repositories dir it serves, a trap that
# kills the daemon, stops the fake and shows the daemon logs on failure),
# and starting, watching and stopping one daemon.  Every wait is bounded.
# Source it, then call dl_init.  Sets CK, WORK, REPOS, DPID, FAKE_PID.

. "$TFGATE_SRC/tests/integration/lib/check_lib.sh"

dl_cleanup() {
  [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  fake_stop
  if [ "$FAILS" -ne 0 ] || [ "$CK_FAILS" -ne 0 ]; then
    for f in "$CK"/daemon-*.err; do echo "# --- $f"; tail -25 "$f" | sed 's/^/#   /'; done
  fi
  rm -rf "$REPOS"
  ck_cleanup
}

dl_init() {
  ck_init
  command -v git >/dev/null || ck_die "git is not installed"
  WORK=$CK
  FAKE_PID=
  DPID=
  . "$TFGATE_SRC/tests/fake/gitlab/fake_lib.sh"
  REPOS=$(mktemp -d /tmp/tfgate-repos.XXXXXX) || ck_die mktemp
  trap dl_cleanup EXIT
}

# start_daemon TAG: tfgate run -c $CK/run.yaml, logs in $CK/daemon-TAG.*;
# returns once it says it runs (after its status socket is up: a killed
# daemon's socket file may linger), within 15 s
start_daemon() {
  "$TFGATE" run -c "$CK/run.yaml" >"$CK/daemon-$1.out" 2>"$CK/daemon-$1.err" </dev/null &
  DPID=$!
  local i
  for i in $(seq 150); do
    grep -q '^tfgate: running:' "$CK/daemon-$1.err" && return 0
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  ck_die "the daemon did not start: $(tail -3 "$CK/daemon-$1.err")"
}

# wait_running_step STEP: `tfgate status` shows a job in STEP (60 s)
wait_running_step() {
  local i
  for i in $(seq 240); do
    "$TFGATE" status -c "$CK/run.yaml" >"$CK/status.out" 2>&1 && grep -q " $1 " "$CK/status.out" && return 0
    sleep 0.25
  done
  return 1
}

# stop_daemon SIGNAL BOUND: signal the daemon, wait BOUND seconds for it to
# end (then kill -9); sets STOP_RC to its exit status, or "timeout"
stop_daemon() {
  kill -"$1" "$DPID"
  local i
  for i in $(seq $(($2 * 10))); do
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$DPID" 2>/dev/null; then STOP_RC=timeout; kill -9 "$DPID"; else STOP_RC=; fi
  wait "$DPID"; STOP_RC=${STOP_RC:-$?}
  DPID=
}
