#!/bin/bash
# test_hcl_crosscheck.sh - tfgate's HCL reader against HashiCorp's own
# parser (@cdktf/hcl2json: hclsyntax compiled to WebAssembly, run by node,
# offline): for every .tf file under tests/fixtures/tf, the
# required_providers entries (name, source, version) and the resource /
# data / module / provisioner blocks with their labels must be the same.
# tests/unit/hcl_dump.c prints tfgate's side, lib/hcl2json_dump.js
# HashiCorp's; any difference, or a file only one side accepts, fails.
set -euo pipefail
: "${TFGATE_SRC:?TFGATE_SRC must name the source tree}"
: "${TFGATE_BUILD:?TFGATE_BUILD must name the build tree}"
fail() { echo "FAIL: $*"; exit 1; }
dump="$TFGATE_BUILD/runner/gate/hcl_dump"
[ -x "$dump" ] || fail "$dump is not built (target hcl_dump in runner/gate/CMakeLists.txt)"
command -v node >/dev/null || fail "node is needed to run HashiCorp's parser (@cdktf/hcl2json)"
command -v python3 >/dev/null || fail "python3 is needed to compare the two dumps"
[ -d "$TFGATE_SRC/tests/node_modules/@cdktf/hcl2json" ] ||
        fail "@cdktf/hcl2json is not installed: run 'npm ci' in $TFGATE_SRC/tests"
work=$(mktemp -d /tmp/tfgate-hcl-crosscheck.XXXXXX)
trap 'rm -rf "$work"' EXIT

mapfile -t files < <(cd "$TFGATE_SRC" && find tests/fixtures/tf -name '*.tf' -type f | LC_ALL=C sort)
[ "${#files[@]}" -ge 5 ] || fail "only ${#files[@]} .tf fixtures found under tests/fixtures/tf"
echo "check: ${#files[@]} .tf files, tfgate's reader vs HashiCorp's parser"

(cd "$TFGATE_SRC" && "$dump" "${files[@]}") > "$work/tfgate.json" || fail "hcl_dump failed"
(cd "$TFGATE_SRC" && timeout 120 node tests/integration/lib/hcl2json_dump.js "${files[@]}") \
        > "$work/hashicorp.json" 2> "$work/node.err" ||
        fail "HashiCorp's parser did not run (offline wasm load?): $(cat "$work/node.err")"

python3 - "$work/tfgate.json" "$work/hashicorp.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
theirs = json.load(open(sys.argv[2]))
def canon(facts):
    if "error" in facts:
        return {"error": True}
    return {"required_providers": sorted(json.dumps(x, sort_keys=True) for x in facts["required_providers"]),
            "blocks": sorted(facts["blocks"])}
bad = 0
if sorted(ours) != sorted(theirs):
    print("FAIL: the two dumps cover different files")
    sys.exit(1)
facts_seen = 0
for f in sorted(ours):
    a, b = canon(ours[f]), canon(theirs[f])
    if a != b:
        bad += 1
        print(f"FAIL: {f}\n  tfgate:    {json.dumps(ours[f], sort_keys=True)}\n  hashicorp: {json.dumps(theirs[f], sort_keys=True)}")
    elif "error" in a:
        print(f"  {f}: refused by both")
    else:
        n = len(a["required_providers"]) + len(a["blocks"])
        facts_seen += n
        print(f"  {f}: {n} facts agree")
if bad:
    sys.exit(1)
if facts_seen < 20:
    print(f"FAIL: only {facts_seen} facts compared: the corpus is too thin to mean anything")
    sys.exit(1)
print(f"ok: {facts_seen} facts agree")
PY
