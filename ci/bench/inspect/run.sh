#!/bin/bash
# ci/bench/inspect/run.sh BUILD_DIR - `tfgate inspect` on a generated
# repository of 200 .tf files using 10 providers, with a lock file and a
# packed mirror (each package: the test provider plus PAD_MB of random data,
# so hashing has real work).  Everything lives in BUILD_DIR/bench-inspect.*
# and is deleted.
#
# Timings: hyperfine -N, RUNS runs (default 10): cold (hash cache removed
# before each run) and warm (cache filled).  Baselines measured in the same
# run: sha256sum over the 10 zips (the least any cold check must read), and
# the same inspection with no mirror configured (parsing and rules only),
# and an empty repository (the fixed cost: process start, config).
# Peak memory: /usr/bin/time -v, cold and warm.
set -euo pipefail
build=${1:-${TFGATE_BUILD:?usage: run.sh BUILD_DIR}}
tfgate=$build/runner/cli/tfgate
provider=$build/tests/doubles/test-provider
[ -x "$tfgate" ] && [ -x "$provider" ] || { echo "build tfgate and tfdouble_provider in $build first"; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed (Debian package hyperfine)"; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (Debian package time)"; exit 1; }
command -v zip >/dev/null || { echo "zip is needed"; exit 1; }
runs=${RUNS:-10}
pad_mb=${PAD_MB:-20}
n_files=200
n_prov=10
work=$(mktemp -d "$build/bench-inspect.XXXXXX")
trap 'rm -rf "$work"' EXIT
repo=$work/repo mirror=$work/mirror
mkdir -p "$repo" "$mirror"

# --- mirror: 10 packages bench/p0..p9 1.2.0 for this platform
zips=()
for ((p = 0; p < n_prov; p++)); do
        stage=$work/stage$p dir=$mirror/registry.terraform.io/bench/p$p
        mkdir -p "$stage" "$dir"
        cp "$provider" "$stage/terraform-provider-p${p}_v1.2.0"
        head -c $((pad_mb * 1000 * 1000)) /dev/urandom > "$stage/data.bin"
        zip -q -0 -X -j "$dir/terraform-provider-p${p}_1.2.0_linux_amd64.zip" "$stage"/*
        rm -rf "$stage"
        zips+=("$dir/terraform-provider-p${p}_1.2.0_linux_amd64.zip")
done

# --- repository: versions.tf with the 10 providers, 199 files of resources
{
        echo 'terraform {'
        echo '  required_version = ">= 1.5"'
        echo '  required_providers {'
        for ((p = 0; p < n_prov; p++)); do
                printf '    p%d = {\n      source  = "bench/p%d"\n      version = "~> 1.2"\n    }\n' $p $p
        done
        echo '  }'
        echo '}'
} > "$repo/versions.tf"
for ((f = 1; f < n_files; f++)); do
        p=$((f % n_prov))
        {
                printf '# file %d: resources of provider p%d, in the usual styles\n' $f $p
                printf 'variable "v%d" {\n  type    = map(string)\n  default = { a = "1", b = "2" }\n}\n\n' $f
                printf 'locals {\n  name%d = "svc-${var.v%d["a"]}-%d"\n  doc%d  = <<-EOT\n    generated %d\n    %%{ for k, v in var.v%d ~}${k}=${v} %%{ endfor ~}\n  EOT\n}\n\n' $f $f $f $f $f $f
                for ((r = 0; r < 5; r++)); do
                        printf 'resource "p%d_thing" "r%d_%d" {\n  count = 2\n  name  = "${local.name%d}-${count.index}" // comment\n  tags  = merge(var.v%d, { Index = "%d" })\n  /* a block\n     comment */\n  nested {\n    list = [1, 2, 3, { x = "y" }]\n  }\n}\n\n' $p $f $r $f $f $r
                done
                printf 'data "p%d_lookup" "d%d" {\n  filter = ["a", "b"]\n}\n\n' $p $f
                printf 'output "o%d" {\n  value = p%d_thing.r%d_0[*].name\n}\n' $f $p $f
        } > "$repo/f$(printf %03d $f).tf"
done
{
        echo '# This file is maintained automatically by "terraform init".'
        for ((p = 0; p < n_prov; p++)); do
                echo
                echo "provider \"registry.terraform.io/bench/p$p\" {"
                echo '  version     = "1.2.0"'
                echo '  constraints = "~> 1.2"'
                echo '  hashes = ['
                "$tfgate" providers hash "${zips[$p]}" | sed 's/^/    "/; s/$/",/'
                echo '  ]'
                echo '}'
        done
} > "$repo/.terraform.lock.hcl"

write_cfg() {   # file, with-mirror
        {
                echo "state_dir: $work/state"
                echo "providers:"
                [ "$2" = 1 ] && echo "  mirror: $mirror"
                echo "  allow:"
                for ((p = 0; p < n_prov; p++)); do echo "    - source: bench/p$p"; done
        } > "$1"
}
write_cfg "$work/cfg.yaml" 1
write_cfg "$work/cfg-nomirror.yaml" 0

# sanity: the generated repository passes, every provider verified
"$tfgate" inspect --json -c "$work/cfg.yaml" "$repo" > "$work/out.json" || {
        echo "generated repository does not pass:"; cat "$work/out.json"; exit 1; }
verified=$(python3 -c 'import json,sys; print(sum(p["mirror"]=="verified" for p in json.load(open(sys.argv[1]))["providers"]))' "$work/out.json")
[ "$verified" = $n_prov ] || { echo "only $verified providers verified"; exit 1; }

cat "${zips[@]}" > /dev/null    # page cache warm for every contender alike
hf() {          # name, hyperfine args...: median seconds into $work/NAME.json
        local name=$1; shift
        hyperfine -N --style none --runs "$runs" --export-json "$work/$name.json" "$@" > /dev/null
}
median() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/$1.json"; }
hf sha256 --warmup 1 "sha256sum ${zips[*]}"
hf cold --prepare "rm -rf $work/state/cache" "$tfgate inspect -c $work/cfg.yaml $repo"
hf warm --warmup 1 "$tfgate inspect -c $work/cfg.yaml $repo"
hf parse --warmup 1 "$tfgate inspect -c $work/cfg-nomirror.yaml $repo"
mkdir -p "$work/empty"
hf empty --warmup 1 "$tfgate inspect -c $work/cfg-nomirror.yaml $work/empty"

maxrss() {      # cfg: peak RSS in KiB
        /usr/bin/time -v "$tfgate" inspect -c "$1" "$repo" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print $2}'
}
rm -rf "$work/state/cache"
rss_cold=$(maxrss "$work/cfg.yaml")
rss_warm=$(maxrss "$work/cfg.yaml")

s_sha=$(median sha256) s_cold=$(median cold) s_warm=$(median warm) s_parse=$(median parse) s_empty=$(median empty)
tf_bytes=$(cat "$repo"/*.tf | wc -c)
zip_bytes=$(cat "${zips[@]}" | wc -c)
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
ms() { python3 -c "print(f'{$1 * 1000:.1f}')"; }
echo "repository: $n_files .tf files ($((tf_bytes / 1024)) KiB), $n_prov providers, mirror $((zip_bytes / 1000000)) MB; medians of $runs runs; $(nproc) CPUs"
printf 'sha256sum of the 10 zips       %8s ms  (baseline for cold)\n' "$(ms "$s_sha")"
printf 'inspect, cold hash cache       %8s ms  ratio %s vs sha256sum   peak RSS %s KiB\n' "$(ms "$s_cold")" "$(ratio "$s_cold" "$s_sha")" "$rss_cold"
printf 'inspect, empty repository      %8s ms  (process start, config)\n' "$(ms "$s_empty")"
printf 'inspect, no mirror (parse+rules)%7s ms  (baseline for warm)\n' "$(ms "$s_parse")"
printf 'inspect, warm hash cache       %8s ms  ratio %s vs no mirror   peak RSS %s KiB\n' "$(ms "$s_warm")" "$(ratio "$s_warm" "$s_parse")" "$rss_warm"
