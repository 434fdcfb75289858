#!/usr/bin/env bash
# ci/bench/pipeline/run.sh [BUILD_DIR] - the pipeline's own cost around
# terraform: everything `tfgate check` spends outside the steps (fetch,
# inspect, jail set-up, report, clean), for a small repository, no emulator,
# with the terraform test double (whose steps take a few ms each).
# overhead = wall time of `tfgate check` - sum of the steps' wall_ms.
# Target: under 300 ms.  Also the emulator's readiness time with s3rver.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build=${1:-$top/build}
TFGATE=$build/runner/cli/tfgate
TFGATE_BUILD=$build
TFGATE_SRC=$top
export TFGATE TFGATE_BUILD TFGATE_SRC
. "$top/tests/integration/lib/fixtures.sh"
runs=${RUNS:-15}

w=$(mktemp -d /tmp/tfgate-bench-pipeline.XXXXXX)
trap 'rm -rf "$w"' EXIT
chmod 0755 "$w"
fixture_mirror "$w/mirror"
fixture_repo "$w/repo" "$w/mirror"
cfg() { # FILE EMULATOR
  {
    echo "work_dir: $w/work"
    echo "state_dir: $w/state"
    echo "terraform: { binary: $build/tests/doubles/terraform, mode: plan }"
    echo "providers: { mirror: $w/mirror, allow: [ { source: hashicorp/aws, versions: \"~> 5.0\" } ] }"
    if [ "$2" = s3rver ]; then
      echo "emulator: { command: [/usr/bin/node, $top/tests/node_modules/s3rver/bin/s3rver.js, -a, 127.0.0.1, -p, \"4566\", -d, /tmp/s3, --silent], paths: [$top/tests/node_modules], env: {}, health: /, port: 4566 }"
    else
      echo "emulator: none"
    fi
  } >"$1"
  chmod 0644 "$1"
}
cfg "$w/none.yaml" none
cfg "$w/s3.yaml" s3rver

measure() { # CONFIG -> prints "total steps overhead" in ms per run
  local i t0 t1 steps
  for i in $(seq "$runs"); do
    t0=$(date +%s%N)
    "$TFGATE" check -c "$1" --out "$w/out" "$w/repo" >/dev/null 2>&1
    t1=$(date +%s%N)
    steps=$(jq '[.steps[].wall_ms] | add' "$w/out/result.json")
    echo "$(( (t1 - t0) / 1000000 )) $steps $(( (t1 - t0) / 1000000 - steps ))"
  done
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure "$w/none.yaml" >"$w/none.txt"
measure "$w/s3.yaml" >"$w/s3.txt"
printf '%-34s %10s %10s %10s\n' "tfgate check (plan, 4 steps)" total steps overhead
printf '%-34s %8sms %8sms %8sms\n' "no emulator, median of $runs" \
  "$(cut -d' ' -f1 "$w/none.txt" | median)" "$(cut -d' ' -f2 "$w/none.txt" | median)" "$(cut -d' ' -f3 "$w/none.txt" | median)"
printf '%-34s %8sms %8sms %8sms\n' "s3rver emulator, median of $runs" \
  "$(cut -d' ' -f1 "$w/s3.txt" | median)" "$(cut -d' ' -f2 "$w/s3.txt" | median)" "$(cut -d' ' -f3 "$w/s3.txt" | median)"
echo "target: overhead without the emulator under 300 ms"
