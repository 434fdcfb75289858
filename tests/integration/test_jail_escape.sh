#!/usr/bin/env bash
# test_jail_escape.sh - the escape battery (TB2-E, TB2-I, TB3-E) through
# `tfgate jail`: tests/jail/escape_probe runs inside the jail and makes each
# deny-list call and state check; every line it prints becomes one assertion
# here.  Outside, the test plants what the probe must NOT see: a TCP
# listener on the host's 127.0.0.1, a host process with a unique marker,
# a secret file, extra open fds, and a noisy environment.
source "$TFGATE_SRC/tests/jail/jail_lib.sh"
jl_init

# Host side: the things that must stay out of reach.
"$JL_HELPERS/tcp_listener" "$JL_WORK/port" 120 >"$JL_WORK/listener.log" 2>&1 &
JL_CHILDREN+=($!)
for i in $(seq 50); do [ -s "$JL_WORK/port" ] && break; sleep 0.1; done
[ -s "$JL_WORK/port" ] || jl_die "the host listener did not start"
port=$(cat "$JL_WORK/port")
# prove the listener is reachable from the host, so "unreachable" below means something
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ok "host listener on 127.0.0.1:$port answers from the host"
else not_ok "host listener on 127.0.0.1:$port does not answer from the host"; fi
for i in $(seq 20); do [ "$(grep -c accept "$JL_WORK/listener.log")" -ge 1 ] && break; sleep 0.1; done
accepts_before=$(grep -c accept "$JL_WORK/listener.log")

marker="jtmarker$$x$RANDOM"
# a host process whose command line carries the marker (a sleep with a unique duration)
bash -c "exec -a $marker sleep 120" &
JL_CHILDREN+=($!)

secret=$JL_WORK/host-secret.txt
echo "TFGATE_HOST_SECRET" >"$secret"
host_pidns=$(readlink /proc/self/ns/pid)

workspace=$JL_WORK/workspace
mkdir -m 0777 "$workspace"
# in the jail the default uid is 1000: let it write to the workspace
chmod 0777 "$workspace"

run_probe() { # DESC EXTRA_JAIL_ARGS... -- EXTRA_PROBE_ARGS...
  local desc=$1; shift
  local jargs=() pargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do jargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  pargs=("$@")
  # extra inherited fds (5 and 9) and a noisy env must not reach the probe
  exec 5</dev/null 9>"$JL_WORK/fd9"
  SECRET_TOKEN=hunter2 jail_run 60 "${JL_SYS[@]}" --rw "$workspace:/work" --tmpfs /scratch:16M \
    --workdir /work "${jargs[@]}" -- "$JL_IN/escape_probe" --writable /work --writable /scratch \
    --writable /tmp --port "$port" --host-pidns "$host_pidns" --marker-hex "$(jl_hex "$marker")" \
    --absent "$secret" --absent "$JL_WORK" --absent /root --absent /home --absent /etc/shadow \
    --absent /dev/vsock --absent /dev/kmsg --absent /dev/mem --absent /var/run/docker.sock \
    --absent /run "${pargs[@]}"
  exec 5<&- 9>&-
  if [ ! -s "$JR_OUT" ]; then
    not_ok "$desc: the probe printed nothing"; jr_show; return
  fi
  local line name result rest
  while read -r name result rest; do
    case $name in
      summary|"#") continue ;;
    esac
    case $result in
      DENIED|ALLOWED|OK) ok "$desc: $name $result $rest" ;;
      *) not_ok "$desc: $name $result $rest" ;;
    esac
  done <"$JR_OUT"
  grep '^#' "$JR_OUT" | head -20
  local summary
  summary=$(grep '^summary ' "$JR_OUT")
  if [ "$JR_RC" -eq 0 ] && [[ $summary == *" failed=0" ]]; then ok "$desc: probe exit 0 ($summary)"
  else not_ok "$desc: probe exit $JR_RC ($summary)"; jr_show; fi
  if [ "$(jf reason)" = exit ] && [ "$(jf exit_code)" = "$JR_RC" ]; then ok "$desc: --json reason=exit exit_code=$JR_RC"
  else not_ok "$desc: --json does not match the probe's exit ($JR_JSON)"; fi
}

jl_log "battery 1: --net loopback, env exactly A=1 B=two words"
run_probe "loopback" --net loopback --env A=1 --env "B=two words" \
  -- --env A=1 --env "B=two words" --lo-up --uid 1000
accepts_after=$(grep -c accept "$JL_WORK/listener.log")
if [ "$accepts_after" -eq "$accepts_before" ]; then ok "host listener saw no connection from the jail"
else not_ok "host listener saw $((accepts_after - accepts_before)) connection(s) from the jail"; fi
expect_no_leftovers "loopback battery"

jl_log "battery 2: --net none, empty env, --uid 2000"
run_probe "net-none" --net none --uid 2000 -- --env-empty --uid 2000
accepts_after=$(grep -c accept "$JL_WORK/listener.log")
if [ "$accepts_after" -eq "$accepts_before" ]; then ok "host listener saw no connection from the jail (net none)"
else not_ok "host listener saw a connection from the jail (net none)"; fi
expect_no_leftovers "net-none battery"

# the secret must not show up in anything the jail printed either
if grep -q -e TFGATE_HOST_SECRET -e hunter2 "$JL_WORK"/run*.out; then not_ok "host secret or env value leaked into jail output"
else ok "no host secret or host env value in the jail's output"; fi

jl_finish
