# fake_lib.sh - helpers for tests/integration/test_gitlab_*.sh: start the
# fake GitLab, talk to its control API, read its log.  Source it after
# setting WORK (a temporary directory the test removes).

# the interpreter itself, once: a version-manager shim costs seconds per start
PY=$(python3 -c 'import sys; print(sys.executable)') || { echo "FAIL: python3 needed"; exit 1; }

# fake_start [fake options...]: sets FAKE_PID, FAKE_PORT, FAKE_URL
fake_start() {
        "$PY" "$TFGATE_SRC/tests/fake/gitlab/fake_gitlab.py" --timeout 240 "$@" \
                >"$WORK/fake.port" 2>"$WORK/fake.log" &
        FAKE_PID=$!
        for _ in $(seq 1 100); do
                [ -s "$WORK/fake.port" ] && break
                sleep 0.05
        done
        FAKE_PORT=$(head -n1 "$WORK/fake.port")
        [ -n "$FAKE_PORT" ] || { echo "FAIL: fake GitLab did not start"; cat "$WORK/fake.log"; exit 1; }
        FAKE_URL="http://127.0.0.1:$FAKE_PORT"
}

fake_stop() {
        [ -n "${FAKE_PID:-}" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
        FAKE_PID=
}

# ctl PATH JSON: POST to the control API, print the reply
ctl() {
        curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
                --data "$2" "$FAKE_URL/__control/$1"
}

# queue KIND [extra JSON fields]: queue a job, print its id
queue() {
        ctl job "{\"kind\": \"$1\"${2:+, $2}}" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

fault() {
        ctl fault "$1" >/dev/null
}

fake_log() {
        curl -sS --max-time 10 "$FAKE_URL/__control/log" >"$WORK/log.json"
}

# check NAME PYTHON: statements, then one expression, evaluated against the
# log (L = log, J = jobs by id as str); prints ok/FAIL and counts failures
FAILS=0
check() {
        local name=$1 expr=$2
        fake_log
        if "$PY" - "$WORK/log.json" "$expr" <<'PY'
import ast, json, sys
L = json.load(open(sys.argv[1]))
J = L["jobs"]
g = {"L": L, "J": J}
tree = ast.parse(sys.argv[2].strip())
last = tree.body.pop()
exec(compile(tree, "check", "exec"), g)
ok = eval(compile(ast.Expression(last.value), "check", "eval"), g)
sys.exit(0 if ok else 1)
PY
        then
                echo "ok   - $name"
        else
                echo "FAIL - $name"
                FAILS=$((FAILS + 1))
        fi
}

expect() {  # expect NAME CONDITION-COMMAND...
        local name=$1
        shift
        if "$@"; then
                echo "ok   - $name"
        else
                echo "FAIL - $name"
                FAILS=$((FAILS + 1))
        fi
}
