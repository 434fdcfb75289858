#!/usr/bin/env bash
# test_jail_badinput.sh - bad input to `tfgate jail` (TB2-T, TB2-E): a
# nonexistent bind source, relative paths, a symlink planted as a bind
# target inside an untrusted (writable) tree, a missing command and bad
# option values each give a clear short error naming the path or option,
# exit 2 (usage) or 3 (the jail could not be built), never run the
# command, and leave no process, mount, cgroup or temp dir behind.
source "$TFGATE_SRC/tests/jail/jail_lib.sh"
jl_init

# expect_refused DESC WANT_RCS NEEDLE ARGS...: tfgate jail ARGS... exits
# with one of WANT_RCS (e.g. "2 3"), its stderr (outside the JSON line)
# names NEEDLE in at most 2 lines, and the command never ran.
expect_refused() {
  local desc=$1 rcs=$2 needle=$3; shift 3
  rm -f "$mk/ran"
  jail_run 30 "$@"
  local msg lines
  msg=$(grep -vE '^\{' "$JR_ERR" | grep -v '^[[:space:]]*$')
  lines=$(printf '%s' "$msg" | grep -c '')
  if [[ " $rcs " == *" $JR_RC "* ]]; then ok "$desc: exit $JR_RC"
  else not_ok "$desc: exit $JR_RC (want one of: $rcs)"; jr_show; fi
  if [ -n "$needle" ] && printf '%s' "$msg" | grep -qF -- "$needle" && [ "$lines" -le 2 ]; then
    ok "$desc: error names '$needle': $(printf '%s' "$msg" | head -1)"
  elif [ -z "$needle" ] && [ "$lines" -ge 1 ] && [ "$lines" -le 2 ]; then
    ok "$desc: error: $(printf '%s' "$msg" | head -1)"
  else
    not_ok "$desc: error does not name '$needle' in <= 2 lines: $(printf '%s' "$msg" | head -c 300 | tr '\n' '|')"
  fi
  if [ -e "$mk/ran" ]; then not_ok "$desc: the command ran anyway"; rm -f "$mk/ran"; fi
  if [ "$JR_RC" = 3 ] && [ -n "$JR_JSON" ]; then
    if [ "$(jf reason)" = setup-failed ]; then ok "$desc: --json reason=setup-failed"
    else not_ok "$desc: --json reason='$(jf reason)' (want setup-failed)"; fi
  fi
}

mk=$JL_WORK/mark; mkdir -m 0777 "$mk"
ran=(--rw "$mk:/mark" -- /bin/sh -c 'touch /mark/ran')
# the marker dir is bound at /mark: "ran" appears in $mk if the command ran

missing=/nonexistent-$$-src
expect_refused "nonexistent --ro source" "3 2" "$missing" "${JL_SYS[@]}" --ro "$missing:/x" "${ran[@]}"
expect_refused "nonexistent --rw source" "3 2" "$missing" "${JL_SYS[@]}" --rw "$missing:/y" "${ran[@]}"
expect_refused "relative --ro source" "2 3" "relative/dir" "${JL_SYS[@]}" --ro "relative/dir:/x" "${ran[@]}"
expect_refused "relative --ro target" "2 3" "inside/rel" "${JL_SYS[@]}" --ro "/usr/share:inside/rel" "${ran[@]}"
expect_refused "relative --tmpfs" "2 3" "scratchrel" "${JL_SYS[@]}" --tmpfs "scratchrel:1M" "${ran[@]}"
expect_refused "relative --workdir" "2 3" "wdrel" "${JL_SYS[@]}" --workdir wdrel "${ran[@]}"
expect_refused "dot-dot in a target" "2 3" ".." "${JL_SYS[@]}" --ro "/usr/share:/a/../../etc" "${ran[@]}"
expect_refused "nonexistent --workdir" "3 2" "/no-such-wd-$$" "${JL_SYS[@]}" --workdir "/no-such-wd-$$" "${ran[@]}"

# A symlink planted in an untrusted tree as a bind target: the workspace
# (writable by the job, so hostile) holds `evil -> <host dir>` and `etc2 ->
# /etc`; binding onto /work/evil must not follow the link, not onto the
# host dir and not onto the jail's own /etc.
ws=$JL_WORK/ws; mkdir -m 0777 "$ws"
victim=$JL_WORK/victim; mkdir "$victim"; echo untouched >"$victim/file"
ln -s "$victim" "$ws/evil"
ln -s /etc "$ws/etc2"
ln -s ../../../../../../../.. "$ws/up"
data=$JL_WORK/data; mkdir "$data"; echo bound >"$data/f"
before_mounts=$(awk '{print $5}' /proc/self/mountinfo | sort)
expect_refused "symlink bind target (-> host dir) in an untrusted tree" "3 2" "/work/evil" \
  "${JL_SYS[@]}" --rw "$ws:/work" --ro "$data:/work/evil" "${ran[@]}"
expect_refused "symlink bind target (-> /etc) in an untrusted tree" "3 2" "/work/etc2" \
  "${JL_SYS[@]}" --rw "$ws:/work" --ro "$data:/work/etc2" "${ran[@]}"
expect_refused "bind target below a symlinked dir (-> /) in an untrusted tree" "3 2" "/work/up" \
  "${JL_SYS[@]}" --rw "$ws:/work" --ro "$data:/work/up/tmp/x" "${ran[@]}"
check "symlinks: the host dir they pointed to is untouched" test "$(ls -A "$victim")" = file -a "$(cat "$victim/file")" = untouched
check "symlinks: the workspace links are unchanged" test "$(readlink "$ws/evil")" = "$victim" -a "$(readlink "$ws/etc2")" = /etc
check "symlinks: no new host mount" test "$(awk '{print $5}' /proc/self/mountinfo | sort)" = "$before_mounts"

# A missing command: no exec happened, so no exit code of a command
jail_run 30 "${JL_SYS[@]}" -- "/no/such/command-$$"
msg=$(grep -vE '^\{' "$JR_ERR" | head -3)
if { [ "$JR_RC" = 3 ] || [ "$JR_RC" = 127 ]; } && printf '%s' "$msg" | grep -qF "/no/such/command-$$"; then
  ok "missing command: exit $JR_RC, error names it: $(printf '%s' "$msg" | head -1)"
else not_ok "missing command: exit $JR_RC (want 3 or 127), stderr: $(printf '%s' "$msg" | tr '\n' '|')"; fi
case "$(jf reason)/$(jf exit_code)" in
  setup-failed/*|exit/127) ok "missing command: --json reason=$(jf reason) exit_code=$(jf exit_code)" ;;
  *) not_ok "missing command: --json '$JR_JSON' (want setup-failed, or exit 127)" ;;
esac

# no command at all, and bad option values: usage errors (2), nothing runs
expect_refused "no command" "2" "" "${JL_SYS[@]}" --
expect_refused "no -- at all" "2" "" "${JL_SYS[@]}"
expect_refused "unknown option" "2" "--privileged" "${JL_SYS[@]}" --privileged "${ran[@]}"
expect_refused "bad --memory" "2" "lots" "${JL_SYS[@]}" --memory lots "${ran[@]}"
expect_refused "bad --pids" "2" "-1" "${JL_SYS[@]}" --pids -1 "${ran[@]}"
expect_refused "bad --timeout" "2" "forever" "${JL_SYS[@]}" --timeout forever "${ran[@]}"
expect_refused "bad --net" "2" "wifi" "${JL_SYS[@]}" --net wifi "${ran[@]}"
expect_refused "bad --env" "2" "NOEQUALS" "${JL_SYS[@]}" --env NOEQUALS "${ran[@]}"
expect_refused "bad --uid" "2" "-5" "${JL_SYS[@]}" --uid -5 "${ran[@]}"
expect_refused "bad --allow-connect" "2" "70000" "${JL_SYS[@]}" --allow-connect 70000 "${ran[@]}"
expect_refused "bad --tmpfs size" "2" "huge" "${JL_SYS[@]}" --tmpfs /s:huge "${ran[@]}"
expect_refused "bad --output-limit" "2" "12XB" "${JL_SYS[@]}" --output-limit 12XB "${ran[@]}"
expect_refused "--exec on a path that is not a bind" "2 3" "/not-a-bind" "${JL_SYS[@]}" --exec /not-a-bind "${ran[@]}"

expect_no_leftovers "bad input"
jl_finish
