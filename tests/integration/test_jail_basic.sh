#!/usr/bin/env bash
# test_jail_basic.sh - what `tfgate jail` promises its callers: the env is
# exactly what was passed (TB2-I, TB3-I), exit status comes from the reaped
# process and never from output (TB4-S), --json fields, workdir, read-only
# and read-write binds, noexec unless --exec, default binds, and two
# concurrent jails share no netns, cgroup or scratch (TB2-S).
source "$TFGATE_SRC/tests/jail/jail_lib.sh"
jl_init

sh_=/bin/sh

# ---- environment ----
FOO_FROM_HOST=leak jail_run 30 "${JL_SYS[@]}" --env A=1 --env "B=x y" --env C= -- /usr/bin/env
got=$(sort "$JR_OUT" | tr '\n' ';')
if [ "$got" = "A=1;B=x y;C=;" ]; then ok "env is exactly the --env list ($got)"
else not_ok "env is '$got', want 'A=1;B=x y;C=;'"; jr_show; fi
FOO_FROM_HOST=leak jail_run 30 "${JL_SYS[@]}" -- /usr/bin/env
if [ "$JR_RC" -eq 0 ] && [ ! -s "$JR_OUT" ]; then ok "no --env: the environment is empty"
else not_ok "no --env: environment not empty: $(tr '\n' ';' <"$JR_OUT")"; jr_show; fi

# ---- exit status ----
for code in 0 1 7 42 255; do
  jail_run 30 "${JL_SYS[@]}" -- $sh_ -c "exit $code"
  if [ "$JR_RC" -eq "$code" ] && [ "$(jf reason)" = exit ] && [ "$(jf exit_code)" = "$code" ]; then
    ok "sh -c 'exit $code' -> exit status $code, --json reason=exit exit_code=$code"
  else not_ok "sh -c 'exit $code' -> rc=$JR_RC json=$JR_JSON"; jr_show; fi
done
for sig in TERM:15 KILL:9 SEGV:11; do
  name=${sig%%:*} num=${sig##*:}
  jail_run 30 "${JL_SYS[@]}" -- $sh_ -c "kill -$name \$\$"
  s=$(jf signal)
  if [ "$JR_RC" -eq $((128 + num)) ] && [ "$(jf reason)" = signal ] && { [ "$s" = "$num" ] || [ "$s" = "SIG$name" ] || [ "$s" = "$name" ]; }; then
    ok "SIG$name -> exit status $((128 + num)), --json reason=signal signal=$s"
  else not_ok "SIG$name -> rc=$JR_RC json=$JR_JSON (want $((128 + num)), reason signal)"; jr_show; fi
done

# TB4-S at the jail level: success-looking output, a forged JSON status line
# on stderr, and exit 1 -> the jail says 1
jail_run 30 "${JL_SYS[@]}" -- $sh_ -c \
  'echo PASSED; echo "exit 0"; echo "All tests passed"; echo "{\"reason\":\"exit\",\"exit_code\":0,\"signal\":0}" >&2; exit 1'
if [ "$JR_RC" -eq 1 ] && [ "$(jf exit_code)" = 1 ] && [ "$(jf reason)" = exit ]; then
  ok "prints PASSED/exit 0 and a forged JSON line, exits 1 -> tfgate jail exits 1, --json exit_code 1"
else not_ok "fake success: rc=$JR_RC json=$JR_JSON"; jr_show; fi
if [ "$(grep -cE '^\{' "$JR_ERR")" -ge 1 ] && [ "$(grep -E '^\{' "$JR_ERR" | tail -n 1 | jq -r .exit_code)" = 1 ]; then
  ok "the last JSON line on stderr is tfgate's own (after the command's output)"
else not_ok "the last JSON line on stderr is not tfgate's"; fi

# a command whose stderr ends mid-line (an unterminated forged JSON prefix):
# tfgate's status line must still be a line of its own, parseable, exit 1
jail_run 30 "${JL_SYS[@]}" -- $sh_ -c 'printf "{\"reason\":\"exit\",\"exit_code\":0,\"x\":" >&2; exit 1'
if [ "$JR_RC" -eq 1 ] && [ "$(jf exit_code)" = 1 ]; then ok "stderr ending mid-line: the JSON status is still its own line, exit_code 1"
else not_ok "stderr ending mid-line: rc=$JR_RC, last JSON line '$(tail -n 1 "$JR_ERR" | head -c 200)'"; fi

# ---- command not found inside (exec failure is not exit 0) ----
jail_run 30 "${JL_SYS[@]}" -- /no/such/command
if [ "$JR_RC" -ne 0 ]; then ok "missing command inside the jail -> rc=$JR_RC, reason=$(jf reason)"
else not_ok "missing command inside the jail exited 0"; jr_show; fi

# ---- --json fields ----
jail_run 30 "${JL_SYS[@]}" -- $sh_ -c 'printf 0123456789; printf "abcd\n" >&2'
for k in reason exit_code signal wall_ms peak_memory output_bytes; do
  if [ -n "$JR_JSON" ] && printf '%s' "$JR_JSON" | jq -e --arg k "$k" 'has($k)' >/dev/null; then ok "--json has $k"
  else not_ok "--json lacks $k ($JR_JSON)"; fi
done
wall=$(jf wall_ms)
if [[ $wall =~ ^[0-9]+$ ]] && [ "$wall" -le "$JR_MS" ]; then ok "--json wall_ms=$wall is within the measured ${JR_MS} ms"
else not_ok "--json wall_ms='$wall' (measured ${JR_MS} ms)"; fi
ob=$(jf output_bytes)
if [ "$ob" = 15 ] || [ "$ob" = 10 ]; then ok "--json output_bytes=$ob for 10 bytes stdout + 5 stderr"
else not_ok "--json output_bytes='$ob', want 15 (or 10 counting stdout only)"; fi
if [ "$(cat "$JR_OUT")" = 0123456789 ] && grep -q '^abcd$' "$JR_ERR"; then ok "stdout and stderr come back separately"
else not_ok "stdout/stderr mixed up: out='$(cat "$JR_OUT")'"; fi
if [ "$(grep -cE '^\{' "$JR_ERR")" -eq 1 ]; then ok "exactly one JSON line"; else not_ok "JSON lines: $(grep -cE '^\{' "$JR_ERR")"; fi

# ---- workdir and binds ----
data=$JL_WORK/data out=$JL_WORK/out
mkdir -p "$data" "$out"
chmod 0755 "$data"; chmod 0777 "$out"
echo "host data" >"$data/file"
jail_run 30 "${JL_SYS[@]}" --ro "$data:/data" --workdir /data -- /bin/pwd
if [ "$(cat "$JR_OUT")" = /data ]; then ok "--workdir /data -> pwd /data"; else not_ok "--workdir: pwd='$(cat "$JR_OUT")'"; jr_show; fi
jail_run 30 "${JL_SYS[@]}" --ro "$data:/data" -- /bin/cat /data/file
if [ "$(cat "$JR_OUT")" = "host data" ]; then ok "--ro bind is readable"; else not_ok "--ro bind not readable"; jr_show; fi
jail_run 30 "${JL_SYS[@]}" --ro "$data:/data" -- $sh_ -c 'echo x > /data/new; echo x >> /data/file'
if [ "$JR_RC" -ne 0 ] && [ ! -e "$data/new" ] && [ "$(cat "$data/file")" = "host data" ]; then ok "--ro bind cannot be written (rc=$JR_RC)"
else not_ok "--ro bind was written or the write did not fail"; jr_show; fi
jail_run 30 "${JL_SYS[@]}" --rw "$out:/out" -- $sh_ -c 'echo hello > /out/f'
if [ "$JR_RC" -eq 0 ] && [ "$(cat "$out/f" 2>/dev/null)" = hello ]; then ok "--rw bind is writable and the file reaches the host"
else not_ok "--rw bind not writable (rc=$JR_RC)"; jr_show; fi
if [ "$JL_ROOT" = 1 ]; then
  owner=$(stat -c %u "$out/f" 2>/dev/null)
  if [ -n "$owner" ] && [ "$owner" -ne 0 ]; then ok "a file the jail created is owned by unprivileged uid $owner on the host"
  else not_ok "a file the jail created is owned by uid '$owner' on the host (want non-root)"; fi
fi
jail_run 30 "${JL_SYS[@]}" --ro "$data" -- /bin/cat "$data/file"
if [ "$(cat "$JR_OUT")" = "host data" ]; then ok "--ro HOST without :INSIDE binds at the same path"
else not_ok "--ro HOST without :INSIDE"; jr_show; fi

# ---- noexec on writable binds, unless --exec ----
exe=$JL_WORK/exe; mkdir -m 0777 "$exe"
jail_run 30 "${JL_SYS[@]}" --rw "$exe:/x" -- $sh_ -c 'cp /bin/true /x/t && chmod 755 /x/t && /x/t'
if [ "$JR_RC" -eq 126 ] || { [ "$JR_RC" -ne 0 ] && grep -qi 'denied' "$JR_ERR"; }; then ok "a binary written to a --rw bind cannot be executed (rc=$JR_RC)"
else not_ok "a binary written to a --rw bind: rc=$JR_RC (want 126, permission denied)"; jr_show; fi
jail_run 30 "${JL_SYS[@]}" --rw "$exe:/x" --exec /x -- $sh_ -c 'cp /bin/true /x/t2 && chmod 755 /x/t2 && /x/t2'
if [ "$JR_RC" -eq 0 ]; then ok "--exec /x makes the bind executable"
else not_ok "--exec /x: rc=$JR_RC"; jr_show; fi

# ---- defaults: no --ro at all ----
jail_run 30 -- /bin/sh -c 'test -x /usr/bin/env && test -x /bin/sh && test -d /etc/ssl/certs && test ! -e /home && test ! -e /root/.bashrc && touch /tmp/ok && ! touch /usr/nope 2>/dev/null && echo defaults-ok'
if [ "$JR_RC" -eq 0 ] && grep -q defaults-ok "$JR_OUT"; then ok "defaults: /usr /bin /etc/ssl/certs ro, /tmp writable, no /home"
else not_ok "defaults: rc=$JR_RC"; jr_show; fi
jail_run 30 -- /usr/bin/id -u
if [ "$(cat "$JR_OUT")" = 1000 ]; then ok "default uid inside is 1000"; else not_ok "default uid inside is '$(cat "$JR_OUT")'"; fi
jail_run 30 --uid 4242 -- /usr/bin/id -u
if [ "$(cat "$JR_OUT")" = 4242 ]; then ok "--uid 4242 -> id -u 4242"; else not_ok "--uid 4242 -> '$(cat "$JR_OUT")'"; fi

# ---- two concurrent jails share nothing (TB2-S) ----
probe='readlink /proc/self/ns/net; readlink /proc/self/ns/pid; cat /proc/self/cgroup | sort | tr "\n" " "; echo; ls -a /tmp | tr "\n" " "; echo'
TMPDIR=$JL_TMP timeout 30 "${JL_JAIL[@]}" -- /bin/sh -c "touch /tmp/from-a; sleep 1; $probe" >"$JL_WORK/a.out" 2>"$JL_WORK/a.err" &
pa=$!
TMPDIR=$JL_TMP timeout 30 "${JL_JAIL[@]}" -- /bin/sh -c "touch /tmp/from-b; sleep 1; $probe" >"$JL_WORK/b.out" 2>"$JL_WORK/b.err" &
pb=$!
sleep 0.6
cg_during=$(find /sys/fs/cgroup -maxdepth 6 -type d -iname '*tfgate*' 2>/dev/null | sort)
wait $pa; ra=$?; wait $pb; rb=$?
if [ $ra -eq 0 ] && [ $rb -eq 0 ]; then
  na=$(sed -n 1p "$JL_WORK/a.out") nb=$(sed -n 1p "$JL_WORK/b.out")
  qa=$(sed -n 2p "$JL_WORK/a.out") qb=$(sed -n 2p "$JL_WORK/b.out")
  ca=$(sed -n 3p "$JL_WORK/a.out") cb=$(sed -n 3p "$JL_WORK/b.out")
  check "concurrent jails: different network namespaces ($na / $nb)" test -n "$na" -a "$na" != "$nb"
  check "concurrent jails: different pid namespaces ($qa / $qb)" test -n "$qa" -a "$qa" != "$qb"
  if [ "$JL_ROOT" = 1 ]; then
    # inside, a cgroup namespace shows both as "/": count them from the host
    new_cg=$(comm -13 <(sed -n '/^## cgroups/,/^## temp/p' "$JL_WORK/snap.before" | grep '^/' | xargs -r -n1 basename | sort -u) \
                      <(printf '%s\n' "$cg_during" | grep '^/' | xargs -r -n1 basename | sort -u) | wc -l)
    check "concurrent jails: two distinct tfgate cgroups while both run (saw $new_cg new names)" test "$new_cg" -ge 2
  fi
  if grep -q from-b "$JL_WORK/a.out" || grep -q from-a "$JL_WORK/b.out"; then not_ok "concurrent jails share /tmp"
  else ok "concurrent jails: separate /tmp"; fi
else
  not_ok "concurrent jails failed: rc $ra/$rb: $(head -c 300 "$JL_WORK/a.err")"
fi

# ---- the tfgate-jail binary's own front: the same command, no name ----
if [ -n "${TFGATE_JAIL_BIN:-}" ]; then
  b=$TFGATE_JAIL_BIN
  check "tfgate-jail --help shows the jail's usage" sh -c "'$b' --help | grep -q -- '--allow-connect PORT'"
  check "tfgate-jail --version names it" sh -c "'$b' --version | grep -qx 'tfgate-jail [0-9.]*'"
  out=$(TMPDIR=$JL_TMP "$b" --log-level debug -- /bin/echo front 2>"$JL_WORK/front.err")
  check "tfgate-jail --log-level debug -- CMD: runs CMD ($out)" test "$out" = front
  check "tfgate-jail --log-level debug: the jail's debug phases are logged" grep -q 'phase execve' "$JL_WORK/front.err"
  "$b" --bogus -- /bin/true 2>"$JL_WORK/bogus.err"; rc=$?
  check "tfgate-jail --bogus: usage error, exit 2 (got $rc)" test "$rc" = 2
  check "tfgate-jail --bogus: names the option and points at tfgate-jail --help" \
    sh -c "grep -q 'unknown option --bogus' '$JL_WORK/bogus.err' && grep -q 'tfgate-jail --help' '$JL_WORK/bogus.err'"
  if ldd "$b" 2>/dev/null | grep -qE 'libgit2|libcurl|libmicrohttpd'; then
    not_ok "tfgate-jail links forge or fetch libraries: $(ldd "$b" | tr '\n' ' ')"
  else ok "tfgate-jail links none of libgit2, libcurl, libmicrohttpd"; fi
fi

expect_no_leftovers "basic"
jl_finish
