#!/bin/bash
# ci/bench/hash/run.sh BUILD_DIR - hashing throughput of `tfgate providers
# hash` on a 500 MB zip (random data, stored) against sha256sum of the same
# file in the same run, and the cached second verification through the
# mirror API.  Medians of 5 runs; the zip lives in BUILD_DIR and is deleted.
# Targets: zh: within 1.2x of sha256sum; cached verification under 10 ms.
set -euo pipefail
build=${1:-${TFGATE_BUILD:?usage: run.sh BUILD_DIR}}
tfgate=$build/runner/cli/tfgate
[ -x "$tfgate" ] || tfgate=$build/tfgate
bench=$(find "$build" -name bench_mirror_verify -type f -perm -u+x | head -1)
[ -x "$tfgate" ] && [ -n "$bench" ] || { echo "build tfgate and bench_mirror_verify in $build first"; exit 1; }
size_mb=${BENCH_SIZE_MB:-500}
work=$(mktemp -d "$build/bench-hash.XXXXXX")
trap 'rm -rf "$work"' EXIT

type_dir=$work/mirror/registry.terraform.io/bench/big
mkdir -p "$type_dir" "$work/src"
head -c $((size_mb * 1000 * 1000)) /dev/urandom > "$work/src/terraform-provider-big_v1.0.0"
(cd "$work/src" && zip -q -0 -X "$type_dir/terraform-provider-big_1.0.0_linux_amd64.zip" terraform-provider-big_v1.0.0)
rm -rf "$work/src"
zipf=$type_dir/terraform-provider-big_1.0.0_linux_amd64.zip
cat "$zipf" > /dev/null   # warm the page cache for every contender alike

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_runs() {   # label, command...: prints the median wall time in seconds
        local label=$1; shift
        for _ in 1 2 3 4 5; do
                local t0 t1
                t0=$(date +%s%N); "$@" > /dev/null; t1=$(date +%s%N)
                echo "scale=4; ($t1 - $t0) / 1000000000" | bc
        done | median
}

s_sha=$(time_runs sha256sum sha256sum "$zipf")
s_zh=$(time_runs zh "$tfgate" providers hash --scheme zh "$zipf")
s_h1=$(time_runs h1 "$tfgate" providers hash --scheme h1 "$zipf")
s_both=$(time_runs both "$tfgate" providers hash "$zipf")

h1=$("$tfgate" providers hash --scheme h1 "$zipf")
out=$("$bench" "$work/mirror" "$work/cache" registry.terraform.io/bench/big 1.0.0 linux_amd64 "$h1")
first=$(echo "$out" | awk '/^first_ms/ {print $2}')
cached=$(echo "$out" | awk '/^cached_median_ms/ {print $2}')

ratio() { echo "scale=2; $1 / $2" | bc; }
echo "file: ${size_mb} MB stored zip; medians of 5 runs; $(nproc) CPUs"
printf 'sha256sum            %6.2f s  (baseline)\n' "$s_sha"
printf 'providers hash zh:   %6.2f s  ratio %s\n' "$s_zh" "$(ratio "$s_zh" "$s_sha")"
printf 'providers hash h1:   %6.2f s  ratio %s\n' "$s_h1" "$(ratio "$s_h1" "$s_sha")"
printf 'providers hash both  %6.2f s  ratio %s\n' "$s_both" "$(ratio "$s_both" "$s_sha")"
printf 'mirror verify, first (hashes, fills cache)  %8.1f ms\n' "$first"
printf 'mirror verify, cached (median of 21)        %8.3f ms  (target < 10 ms)\n' "$cached"
ok=$(echo "$(ratio "$s_zh" "$s_sha") <= 1.2 && $cached < 10" | bc)
[ "$ok" = 1 ] && echo "targets met" || { echo "targets NOT met"; exit 1; }
