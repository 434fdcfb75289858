#!/bin/bash
# ci/bench/redact/run.sh - throughput of `tfgate redact` over ~1 GB of
# generated Terraform log text (plan -json lines and human plan output),
# with 10, 1,000 and 10,000 registered secrets (each with ~24 derived
# forms) plus the built-in credential rules, against `cat` (the floor) and
# GNU sed replacing the same raw literals, all in one run.
#
# usage: ci/bench/redact/run.sh [BUILD_DIR] [SIZE_MB]
#   BUILD_DIR defaults to build-redact; SIZE_MB to 1024.
# The tfgate rows also give their time against the 10-secret row (the
# target is flat: 10,000 secrets within ~15% of 10).  The load average is
# printed before and after: run it on a quiet machine.
# The log is generated once into BUILD_DIR/bench-redact/ (deleted at the
# end).  Each tfgate/cat timing is the best of 5 runs of user+sys CPU seconds (the
# filters are single-threaded, so CPU time is one core's time; wall time is
# printed too).  sed with 1,000 expressions is measured on a 1/256 slice and
# with 10,000 on a 1/2048 slice, scaled to the full size (said in the row).
set -euo pipefail
src=$(cd "$(dirname "$0")/../../.." && pwd)
build=${1:-$src/build-redact}
size_mb=${2:-1024}
tfgate=${TFGATE:-$build/runner/cli/tfgate}
[ -x "$tfgate" ] || { echo "no tfgate at $tfgate: build it first" >&2; exit 2; }
work=$build/bench-redact
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import os, random, sys
work = sys.argv[1]
r = random.Random(7)
a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
for n in (10, 1000, 10000):
    path = os.path.join(work, f"secrets{n}")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        for i in range(n):
            f.write("S%d=%s\n" % (i, "".join(r.choice(a) for _ in range(r.randrange(16, 41)))))
    with open(os.path.join(work, f"sed{n}"), "w") as f:
        for line in open(path):
            f.write("s/%s/[MASKED]/g\n" % line.split("=", 1)[1].strip())
PY
echo "generating ${size_mb} MB of Terraform log text..."
python3 "$src/ci/bench/redact/gen_log.py" $((size_mb * 1000000)) "$work/secrets10" > "$work/log"
bytes=$(stat -c %s "$work/log")
head -c $((bytes / 256)) "$work/log" > "$work/slice256"
head -c $((bytes / 2048)) "$work/log" > "$work/slice2048"

# measure INPUT CMD...: best of 5, prints "cpu_seconds wall_seconds"
measure() {
        local best="" bestw="" t in=$1
        shift
        for _ in 1 2 3 4 5; do
                t=$( { /usr/bin/time -f "%U %S %e" "$@" < "$in" > /dev/null; } 2>&1 | tail -n 1)
                read -r u s w <<<"$t"
                c=$(echo "$u + $s" | bc -l)
                if [ -z "$best" ] || (( $(echo "$c < $best" | bc -l) )); then best=$c; bestw=$w; fi
        done
        echo "$best $bestw"
}
mbps() { echo "scale=0; $bytes / 1000000 / $1" | bc -l; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %10s %10s %10s %12s\n' "filter ($((bytes / 1000000)) MB)" "cpu s" "wall s" "MB/s" "cpu vs cat"
read -r cat_c cat_w < <(measure "$work/log" cat)
[ "$(echo "$cat_c < 0.01" | bc -l)" = 1 ] && cat_c=0.01
printf '%-34s %10s %10s %10s %12s\n' "cat (floor)" "$cat_c" "$cat_w" "$(mbps "$cat_c")" "1.0x"
for n in 10 1000 10000; do
        read -r c w < <(measure "$work/log" "$tfgate" redact --secrets-file "$work/secrets$n")
        [ "$(echo "$c < 0.01" | bc -l)" = 1 ] && c=0.01
        eval "tf_$n=$c"
        printf '%-34s %10s %10s %10s %12s   %s\n' "tfgate redact, $n secrets" "$c" "$w" "$(mbps "$c")" \
                "$(echo "scale=1; $c / $cat_c" | bc -l)x" \
                "$(echo "scale=2; $c / $tf_10" | bc -l)x the time of 10 secrets"
done
# colour kept for a colour-capable sink (the log has no SGR: the cost of the mode itself)
read -r c w < <(measure "$work/log" "$tfgate" redact --keep-colour --secrets-file "$work/secrets10000")
printf '%-34s %10s %10s %10s %12s\n' "tfgate redact --keep-colour, 10000" "$c" "$w" "$(mbps "$c")" \
        "$(echo "scale=1; $c / $cat_c" | bc -l)x"
# sed is slow with many expressions: one run each, on a slice for the
# larger sets, scaled up to the full size (said in the row)
sed_row() {
        local n=$1 frac=$2 file=$3 t u s w c
        t=$( { /usr/bin/time -f "%U %S %e" sed -f "$work/sed$n" < "$file" > /dev/null; } 2>&1 | tail -n 1)
        read -r u s w <<<"$t"
        c=$(echo "($u + $s) * $frac" | bc -l); w=$(echo "$w * $frac" | bc -l)
        eval "tf=\$tf_$n"
        printf '%-34s %10.2f %10.2f %10s %12s\n' "sed, $n literals$4" "$c" "$w" "$(mbps "$c")" \
                "$(echo "scale=1; $c / $cat_c" | bc -l)x (tfgate $(echo "scale=1; $c / $tf" | bc -l)x faster)"
}
sed_row 10 1 "$work/log" ""
sed_row 1000 256 "$work/slice256" " (1/256 x256)"
sed_row 10000 2048 "$work/slice2048" " (1/2048 x2048)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
