#!/bin/bash
# test_audit_cli.sh - `tfgate audit verify` on logs whose hash chain is built
# here independently (printf + sha256sum): an intact log verifies with the
# head hash computed here; an edited, deleted, reordered, truncated or
# garbage-appended log is reported at the right line with exit 1; a partial
# last line (a crash during a write) is reported distinctly and
# `--repair` cuts it off, records a log_repaired event, and leaves a valid log.
set -u
: "${TFGATE:?built tfgate binary}"

T=$(mktemp -d /tmp/tfgate-audit-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
command -v sha256sum >/dev/null || { echo "FAIL - sha256sum missing"; exit 1; }

GENESIS=$(printf '0%.0s' $(seq 1 64))
EVENTS=(config_loaded key_loaded job_claimed fetched inspected step_finished reported cleaned)

# build LOG with N lines; prints the head hash
build_log() {
        local log=$1 n=$2 prev=$GENESIS line i
        : >"$log"
        for ((i = 1; i <= n; i++)); do
                line=$(printf '{"seq":%d,"time":"2025-11-25T07:00:%02d.000Z","prev":"%s","event":"%s","data":{"job":"j%d"}}' \
                        "$i" "$((i % 60))" "$prev" "${EVENTS[$(((i - 1) % 8))]}" "$i")
                printf '%s\n' "$line" >>"$log"
                prev=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
        done
        printf 'tfgate-audit-head v1 %d %s\n' "$n" "$prev" >"$log.head"
        echo "$prev"
}

# check LOG EXIT PATTERN DESCRIPTION
check() {
        "$TFGATE" audit verify "$1" >out 2>err
        local got=$?
        if [ "$got" -eq "$2" ] && grep -q -- "$3" out; then ok "$4 (exit $got)"; else
                bad "$4: exit $got, expected $2 and /$3/"; sed 's/^/    /' out err; fi
}

HEAD=$(build_log a.log 6)
check a.log 0 "ok: 6 lines, head $HEAD" "an intact log verifies, head hash as computed here"

build_log b.log 6 >/dev/null; sed -i '3s/"job":"j3"/"job":"jX"/' b.log
check b.log 1 "line 4: prev does not match the hash of line 3" "an edited line 3 breaks the link to line 4"
grep -q "line 3 was changed" out && ok "the message names line 3" || bad "message: $(cat out)"

build_log c.log 6 >/dev/null; sed -i '6s/"job":"j6"/"job":"jX"/' c.log
check c.log 1 "line 6: does not match the head file" "an edited last line is caught by the head file"

build_log d.log 6 >/dev/null; sed -i '3d' d.log
check d.log 1 "line 3: seq is 4, expected 3" "a deleted line 3 is found at line 3"

build_log e.log 6 >/dev/null
{ sed -n 1p e.log; sed -n 3p e.log; sed -n 2p e.log; sed -n '4,$p' e.log; } >e.tmp && mv e.tmp e.log
check e.log 1 "line 2: seq is 3, expected 2" "lines 2 and 3 swapped are found at line 2"

build_log f.log 6 >/dev/null; sed -i '5,$d' f.log
check f.log 1 "truncated: the head file records 6 lines but the log has 4" "the last two lines cut off"

build_log g.log 6 >/dev/null; echo 'not json at all' >>g.log
check g.log 1 "line 7: not valid JSON" "garbage appended is found at line 7"

build_log h.log 6 >/dev/null; rm h.log.head
check h.log 1 "head file is missing" "a log without its head file is not accepted"

build_log i.log 6 >/dev/null; printf '{"seq":7,"time":"2025-11-25T07:0' >>i.log
check i.log 1 "^i.log: partial line: the log is valid up to line 6" "a partial last line after a crash"
"$TFGATE" audit verify --repair i.log >out 2>err
if [ $? -eq 0 ] && grep -q "ok: 7 lines" out; then ok "--repair cuts the partial line and records it (7 lines)"; else
        bad "--repair: $(cat out err)"; fi
tail -n1 i.log | grep -q '"event":"log_repaired","data":{"dropped_bytes":32,"after_line":6}' &&
        ok "the repair is itself in the chain" || bad "last line: $(tail -n1 i.log)"
check i.log 0 "ok: 7 lines" "the repaired log verifies"
"$TFGATE" audit verify --repair a.log >out 2>err
[ $? -eq 2 ] && grep -q "only a partial last line can be repaired" err && ok "--repair refuses to touch an intact log" ||
        bad "--repair on intact log: $(cat out err)"
cmp -s <(build_log z.log 6 >/dev/null; cat z.log) a.log && ok "the intact log was not modified" || bad "intact log changed"

"$TFGATE" audit verify missing.log >out 2>err
[ $? -eq 2 ] && ok "a missing log is an error (exit 2)" || bad "missing log"
"$TFGATE" audit >out 2>err
[ $? -eq 2 ] && ok "usage error without a subcommand" || bad "usage"

echo
if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
echo "all checks passed"
