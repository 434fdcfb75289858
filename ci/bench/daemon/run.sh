#!/usr/bin/env bash
# ci/bench/daemon/run.sh [BUILD_DIR] - an idle `tfgate run`: resident memory
# and CPU per hour with one GitLab forge polled every 3 s against the fake
# GitLab (tests/fake/gitlab), no jobs.  Measured over DURATION seconds
# (default 60) and scaled to an hour.  Targets (issue 8): RSS under 10 MB,
# under 1 CPU-second per hour.
# Baseline, in the same run and window: a shell loop sending the same poll
# with curl every 3 s (the cost of the HTTP requests alone, process start
# included); the daemon's CPU (schedstat, ns) is printed as a ratio against
# it.  TFGATE_BIN=path measures another binary (e.g. an older build) the
# same way; the load average is printed with the numbers.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build=${1:-$top/build}
TFGATE=${TFGATE_BIN:-$build/runner/cli/tfgate}
TFGATE_SRC=$top
export TFGATE TFGATE_SRC
duration=${DURATION:-60}
hz=$(getconf CLK_TCK)

WORK=$(mktemp -d /tmp/tfgate-bench-daemon.XXXXXX)
FAKE_PID=
DPID=
LOOP_PID=
cleanup() {
  set +e   # a killed process's status must not stop the clean-up half way
  [ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
  [ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null && wait "$LOOP_PID" 2>/dev/null
  fake_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$top/tests/fake/gitlab/fake_lib.sh"

TOKEN=glrt-bench_$RANDOM$RANDOM
printf '%s\n' "$TOKEN" >"$WORK/token"
chmod 600 "$WORK/token"
fake_start --runner-token "$TOKEN"
{
  echo "state_dir: $WORK/state"
  echo "work_dir: $WORK/work"
  echo "emulator: none"
  echo "forges:"
  echo "  - { type: gitlab, url: \"$FAKE_URL\", token_file: $WORK/token, poll_interval: 3s }"
} >"$WORK/run.yaml"
chmod 0644 "$WORK/run.yaml"

"$TFGATE" run -c "$WORK/run.yaml" >"$WORK/daemon.out" 2>"$WORK/daemon.err" </dev/null &
DPID=$!
poll_loop() {
  while :; do
    curl -sS -o /dev/null --max-time 10 -X POST -H 'Content-Type: application/json' \
      --data "{\"token\":\"$TOKEN\",\"info\":{}}" "$FAKE_URL/api/v4/jobs/request" || true
    sleep 3
  done
}
poll_loop &
LOOP_PID=$!
sleep 3  # start-up, first polls

# utime+stime (+ children's, for the loop: curl and sleep) in ticks
ticks() { awk -v kids="$2" '{ t = $14 + $15; if (kids) t += $16 + $17; print t }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# nanoseconds on a CPU summed over the daemon's threads (schedstat): the
# clock tick (10 ms) is too coarse for a daemon that runs ~1 ms a poll.
# An idle daemon keeps its threads, so none is lost between the samples.
run_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'; }
threads() { ls /proc/"$1"/task | wc -l; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
d0=$(ticks "$DPID" 0); l0=$(ticks "$LOOP_PID" 1); n0=$(run_ns "$DPID"); t0=$(threads "$DPID")
fake_log; p0=$("$PY" -c 'import json,sys; print(sum(1 for r in json.load(open(sys.argv[1]))["requests"] if r["path"]=="/api/v4/jobs/request"))' "$WORK/log.json")
peak=0
for _ in $(seq "$duration"); do
  r=$(rss_kb "$DPID"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 1
done
d1=$(ticks "$DPID" 0); l1=$(ticks "$LOOP_PID" 1); n1=$(run_ns "$DPID"); t1=$(threads "$DPID")
load1=$(cut -d' ' -f1-3 /proc/loadavg)
fake_log; p1=$("$PY" -c 'import json,sys; print(sum(1 for r in json.load(open(sys.argv[1]))["requests"] if r["path"]=="/api/v4/jobs/request"))' "$WORK/log.json")
kill -0 "$DPID" || { echo "the daemon died:"; cat "$WORK/daemon.err"; exit 1; }
# most of RSS is shared library text (libcrypto, libgit2, libcurl...):
# private = pages only this process has; PSS = its share of the rest
priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$DPID/smaps_rollup")
pss=$(awk '/^Pss:/ {print $2}' "/proc/$DPID/smaps_rollup")
# the floor: a program that links libcurl alone and makes one such request
floor=0
if cc -O2 -o "$WORK/curl_floor" "$top/ci/bench/daemon/curl_floor.c" -lcurl 2>"$WORK/cc.err"; then
  floor=$("$WORK/curl_floor" "$FAKE_URL/api/v4/jobs/request" | awk '{print $1}')
else
  echo "  (could not build the libcurl floor program: $(head -c 200 "$WORK/cc.err"))"
fi

"$PY" - "$d0" "$d1" "$l0" "$l1" "$hz" "$duration" "$peak" "$p0" "$p1" "$priv" "$pss" "$n0" "$n1" "$t0" "$t1" "$load0" "$load1" "$floor" <<'PY'
import sys
d0, d1, l0, l1, hz, dur, peak, p0, p1, priv, pss, n0, n1, t0, t1 = (float(x) for x in sys.argv[1:16])
load0, load1 = sys.argv[16:18]
floor = float(sys.argv[18])
daemon = (d1 - d0) / hz * 3600 / dur
precise = (n1 - n0) / 1e9 * 3600 / dur
loop = (l1 - l0) / hz * 3600 / dur
print("idle tfgate run, one GitLab forge polled every 3 s, %d s measured, scaled to 1 h" % dur)
print("  load average before / after: %s / %s" % (load0, load1))
print("  polls seen by the fake:      %d (both pollers; ~%.0f expected)" % (p1 - p0, 2 * dur / 3))
print("  daemon CPU (schedstat):      %.2f s/h  (target < 1 s/h; %d threads%s)" % (
    precise, t1, "" if t0 == t1 else ", was %d: a thread ended, undercounted" % t0))
print("  daemon CPU (clock ticks):    %.2f s/h  (clock tick %.0f ms: coarse)" % (daemon, 1000 / hz))
print("  baseline (curl loop) CPU:    %.2f s/h" % loop)
print("  ratio daemon / baseline:     %.3f" % (precise / loop if loop > 0 else float("nan")))
print("  daemon peak RSS:             %.1f MB  (target < 10 MB)" % (peak / 1024))
print("    of which private:          %.1f MB; PSS %.1f MB" % (priv / 1024, pss / 1024))
if floor > 0:
    print("  floor: libcurl alone, one request: %.1f MB RSS (daemon / floor %.2f)" % (floor / 1024, peak / floor))
PY
