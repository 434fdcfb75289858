#!/usr/bin/env bash
# test_jail_limits.sh - TB2-D / TB3-D / TB4-D: a fork bomb, a memory bomb,
# a disk filler, a busy loop, `sleep 1000`, a daemonizing child, a process
# printing forever, and a killed runner each end within their limit with
# the right --json reason, and the host keeps no process, mount, cgroup or
# temp dir.  Every helper carries its own upper bound, and every jail run
# has an outside bound, so a broken limit fails the test instead of hanging
# or hurting the host.
#
# Rootless (no cgroup delegation): the memory and pids limits fall back to
# RLIMIT_AS and RLIMIT_NPROC (reference/sandbox.md 6).  Then the kernel
# refuses the mmap/fork instead of the cgroup killing the job; the test
# asserts that the refusal came at or below the limit.
source "$TFGATE_SRC/tests/jail/jail_lib.sh"
jl_init
H=$JL_IN
mark=$$

# leftover check that also covers sleeps tagged with this test's pid
leftovers() {
  expect_no_leftovers "$1"
  local s
  s=$(pgrep -a -f -- "sleep 10[0-9][0-9]\\.$mark" || true)
  if [ -n "$s" ]; then not_ok "$1: leftover sleep: $(printf '%s' "$s" | tr '\n' '|')"; fi
}

# ---- fork bomb (TB2-D); also TB2-T: env and files named like limits change nothing ----
ws=$JL_WORK/ws; mkdir -m 0777 "$ws"
printf 'sandbox:\n  pids: 100000\n  memory: 100G\n' >"$ws/.tfgate.yml"
jail_run 60 "${JL_SYS[@]}" --rw "$ws:/work" --workdir /work --pids 64 --timeout 30 \
  --env TFGATE_PIDS=100000 --env TFGATE_SANDBOX_PIDS=100000 --env RLIMIT_NPROC=unlimited \
  -- "$H/forkbomb" 2000 15
n=$(sed -n 's/^forkbomb: fork failed after \([0-9]*\) children.*/\1/p' "$JR_OUT" | head -1)
done_n=$(sed -n 's/^forkbomb: done children=\([0-9]*\).*/\1/p' "$JR_OUT" | head -1)
if [ "$JL_ROOT" = 1 ]; then
  expect_reason pids "fork bomb, --pids 64"
else
  case $(jf reason) in
    pids|exit) ok "fork bomb rootless: reason=$(jf reason) (rlimit fallback)" ;;
    *) not_ok "fork bomb rootless: reason='$(jf reason)'"; jr_show ;;
  esac
fi
if [ -n "$n" ] && [ "$n" -le 64 ]; then ok "fork bomb: fork refused after $n children (<= 64)"
elif [ -z "$n" ] && [ -z "$done_n" ]; then ok "fork bomb: killed before it could report (limit enforced by kill)"
else not_ok "fork bomb: fork refused after '${n}' children, done='${done_n}' (limit 64)"; jr_show; fi
within "$JR_MS" 33000 "fork bomb"
leftovers "fork bomb"
check "host can still fork and exec after the fork bomb" timeout 5 /bin/true

# ---- memory bomb ----
jail_run 60 "${JL_SYS[@]}" --memory 128M --timeout 30 -- "$H/membomb" 1024 20
if grep -q 'not stopped' "$JR_OUT"; then not_ok "memory bomb was never stopped: $(tail -1 "$JR_OUT")"; fi
if [ "$JL_ROOT" = 1 ]; then
  expect_reason memory "memory bomb, --memory 128M"
  pk=$(jf peak_memory)
  if [[ $pk =~ ^[0-9]+$ ]] && [ "$pk" -le $((160 << 20)) ] && [ "$pk" -ge $((64 << 20)) ]; then
    ok "memory bomb: peak_memory=$pk is near the 128 MiB limit"
  else not_ok "memory bomb: peak_memory='$pk' (want 64..160 MiB)"; fi
else
  refused=$(sed -n 's/^membomb: mmap refused after \([0-9]*\) MiB.*/\1/p' "$JR_OUT")
  case $(jf reason) in
    memory) ok "memory bomb rootless: reason=memory" ;;
    exit)
      if [ -n "$refused" ] && [ "$refused" -le 128 ]; then ok "memory bomb rootless: mmap refused after $refused MiB (RLIMIT_AS fallback), reason=exit"
      else not_ok "memory bomb rootless: reason=exit but no refusal at <= 128 MiB ($(tail -1 "$JR_OUT"))"; fi ;;
    *) not_ok "memory bomb rootless: reason='$(jf reason)'"; jr_show ;;
  esac
fi
within "$JR_MS" 33000 "memory bomb"
leftovers "memory bomb"

# ---- disk filler on the scratch tmpfs ----
jail_run 60 "${JL_SYS[@]}" --tmpfs /scratch:16M --timeout 30 -- "$H/diskfill" /scratch 1024 20
bytes=$(sed -n 's/^diskfill: ENOSPC after \([0-9]*\) bytes/\1/p' "$JR_OUT")
if [ "$JR_RC" -eq 0 ] && [ -n "$bytes" ] && [ "$bytes" -le $((16 << 20)) ]; then
  ok "disk filler: ENOSPC after $bytes bytes on a 16M scratch tmpfs"
else not_ok "disk filler: rc=$JR_RC '$(cat "$JR_OUT")' (want ENOSPC at <= 16 MiB)"; jr_show; fi
expect_reason exit "disk filler ends by itself"
leftovers "disk filler"

# ---- busy loop: wall-clock timeout, then CPU limit ----
jail_run 30 "${JL_SYS[@]}" --timeout 2s -- "$H/busyloop" 60
expect_reason timeout "busy loop, --timeout 2s"
check "busy loop --timeout: non-zero exit ($JR_RC)" test "$JR_RC" -ne 0
within "$JR_MS" 5000 "busy loop, --timeout 2s"
leftovers "busy loop (timeout)"

jail_run 40 "${JL_SYS[@]}" --cpu 1 --timeout 30 -- "$H/busyloop" 25
case $(jf reason) in
  signal|cpu) ok "busy loop, --cpu 1: reason=$(jf reason) signal=$(jf signal) rc=$JR_RC" ;;
  *) not_ok "busy loop, --cpu 1: reason='$(jf reason)' (want the CPU limit's signal)"; jr_show ;;
esac
within "$JR_MS" 10000 "busy loop, --cpu 1"
leftovers "busy loop (cpu)"

# ---- sleep 1000, and a tree of sleepers including a setsid'd one ----
jail_run 30 "${JL_SYS[@]}" --timeout 2s -- /bin/sleep "1000.$mark"
expect_reason timeout "sleep 1000, --timeout 2s"
within "$JR_MS" 5000 "sleep 1000"
leftovers "sleep 1000"

jail_run 30 "${JL_SYS[@]}" --timeout 2s -- /bin/sh -c \
  "setsid /bin/sleep 1001.$mark & /bin/sleep 1002.$mark & (/bin/sleep 1003.$mark &) ; wait"
expect_reason timeout "tree of sleepers, --timeout 2s"
within "$JR_MS" 5000 "tree of sleepers"
leftovers "tree of sleepers (whole PID namespace killed)"

# the command exits while a daemonized child lives on, stdout still open
jail_run 30 "${JL_SYS[@]}" --timeout 20 -- /bin/sh -c "/bin/sleep 1004.$mark & setsid /bin/sleep 1005.$mark & exit 0"
if [ "$JR_RC" -eq 0 ] && [ "$(jf reason)" = exit ]; then ok "command exits 0 with daemonized children: rc 0, reason exit"
else not_ok "daemonized children: rc=$JR_RC reason=$(jf reason)"; jr_show; fi
within "$JR_MS" 5000 "command exit with daemonized children (no wait for them)"
leftovers "daemonized children"

# ---- printing forever (TB4-D at the jail level) ----
jail_run 40 "${JL_SYS[@]}" --output-limit 64K --timeout 30 -- "$H/printforever" 20
expect_reason output-limit "print forever, --output-limit 64K"
sz=$(stat -c %s "$JR_OUT")
if [ "$sz" -le $((64 * 1024 + 4096)) ] && [ "$sz" -ge $((32 * 1024)) ]; then ok "print forever: $sz bytes reached the caller (limit 64 KiB)"
else not_ok "print forever: $sz bytes reached the caller (limit 64 KiB)"; fi
within "$JR_MS" 15000 "print forever"
jl_log "print forever: output_bytes=$(jf output_bytes)"
leftovers "print forever"

# ---- the runner is killed: the jail dies with it ----
TMPDIR=$JL_TMP "${JL_JAIL[@]}" "${JL_SYS[@]}" -- /bin/sleep "1006.$mark" >/dev/null 2>&1 &
runner=$!
for i in $(seq 30); do pgrep -f -- "sleep 1006\\.$mark" >/dev/null && break; sleep 0.1; done
if pgrep -f -- "sleep 1006\\.$mark" >/dev/null; then
  kill -KILL "$runner"; wait "$runner" 2>/dev/null
  for i in $(seq 30); do pgrep -f -- "sleep 1006\\.$mark" >/dev/null || break; sleep 0.1; done
  if pgrep -f -- "sleep 1006\\.$mark" >/dev/null; then not_ok "runner killed with SIGKILL: the jailed sleep survived"
  else ok "runner killed with SIGKILL: the jailed process died with it"; fi
  pkill -KILL -f -- "sleep 1006\\.$mark" 2>/dev/null
  # a SIGKILLed runner cannot rmdir its cgroup or scratch: report, the
  # next start's sweep (if any) is the jail's business
  jl_snapshot "$JL_WORK/snap.killed"
  d=$(diff "$JL_WORK/snap.before" "$JL_WORK/snap.killed" | grep -E '^[<>]' | tr '\n' '|')
  jl_log "after SIGKILL of the runner, host state diff: ${d:-none}"
else
  not_ok "runner-kill case: the jailed sleep never started"
  kill -KILL "$runner" 2>/dev/null
fi

jl_finish
