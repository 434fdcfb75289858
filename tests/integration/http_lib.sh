# http_lib.sh - shared by tests/integration/test_http_*.sh: a scratch dir,
# a config, the test server (tests/unit/http_serve.c) on a free loopback
# port, and recording jobs through it.  Sourced, not run.

SERVE=${TFGATE_BUILD:?TFGATE_BUILD not set}/runner/http/http_serve
SRC=${TFGATE_SRC:?TFGATE_SRC not set}
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { echo "check: $*"; }
[ -x "$SERVE" ] || fail "$SERVE is not built (cmake --build ... --target http_serve)"
command -v curl >/dev/null || fail "curl is not installed"
command -v python3 >/dev/null || fail "python3 is not installed"

T=$(mktemp -d /tmp/tfgate-http.XXXXXX)
SERVER_PIDS=()
cleanup() {
        for p in "${SERVER_PIDS[@]}"; do
                kill "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        rm -rf "$T"
}
trap cleanup EXIT

# a config with a GitLab forge and a GitHub token forge serving acme/infra;
# the forges are never contacted
make_config() {
        (umask 077
         echo token > "$T/gl-token"; echo token > "$T/gh-token"
         printf 's3cret-for-hooks\n' > "$T/hook-secret"
         printf -- '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAtest\n-----END PUBLIC KEY-----\n' > "$T/key.pub"
         cat > "$T/tfgate.yaml" <<YAML
state_dir: $T/state
forges:
  - type: gitlab
    name: gitlab
    url: http://127.0.0.1:9
    token_file: $T/gl-token
  - type: github
    name: github
    token_file: $T/gh-token
    repositories: [acme/infra]
http:
  listen: "127.0.0.1:8080"
  badges: true
YAML
        )
        mkdir -p "$T/jobs"
}

# start_server NAME [extra http_serve options]: sets PORT
start_server() {
        local name=$1; shift
        rm -f "$T/$name.port"
        "$SERVE" --config "$T/tfgate.yaml" --state "$T/state" --listen 127.0.0.1:0 \
                --port-file "$T/$name.port" --ready-file "$T/ready" --hook-secret "$T/hook-secret" \
                --hook-log "$T/hooks.log" --key "$T/key.pub" --jobs "$T/jobs" "$@" \
                2> "$T/$name.stderr" &
        SERVER_PIDS+=($!)
        for _ in $(seq 1 100); do
                [ -s "$T/$name.port" ] && break
                kill -0 "$!" 2>/dev/null || { cat "$T/$name.stderr" >&2; fail "http_serve exited"; }
                sleep 0.05
        done
        [ -s "$T/$name.port" ] || fail "http_serve did not report its port"
        PORT=$(cat "$T/$name.port")
        BASE=http://127.0.0.1:$PORT
}

stop_server() {
        local pid=${SERVER_PIDS[-1]}
        kill "$pid"; wait "$pid" 2>/dev/null || true
        unset 'SERVER_PIDS[-1]'
}

# a result.json in the shape of docs/result.schema.json
write_result() { # FILE ID VERDICT
        cat > "$1" <<JSON
{"commit":"0123456789012345678901234567890123456789","diagnostics":[],"execution_id":"$2","findings":[{"file":"main.tf","line":3,"message":"data \"external\" is not allowed <b>here</b>","rule":"data-external","severity":"error"}],"finished_at":"2026-11-25T08:00:10Z","forge":"github","mode":"plan","plan":{"add":2,"change":0,"destroy":1},"project":"acme/infra","providers":[{"allowed":true,"constraints":"~> 5.0","hashes":["h1:abc="],"locked_version":"5.31.0","mirror":"verified","source":"registry.terraform.io/hashicorp/aws"}],"reason":"all steps passed","ref":"refs/heads/main","repository":"https://github.com/acme/infra","result_version":1,"started_at":"2026-11-25T08:00:00Z","steps":[{"exit_code":0,"name":"init","output_bytes":120,"reason":"","truncated":false,"wall_ms":2500},{"exit_code":0,"name":"plan","output_bytes":900,"reason":"","truncated":false,"wall_ms":7250}],"terraform_version":"1.9.8","tfgate_version":"0.1.0","verdict":"$3"}
JSON
}

# record_job NAME ID FORGE PROJECT REF VERDICT [REASON]: via the server's
# jobs dir, as the daemon would after a job; waits until it is taken
record_job() {
        local name=$1 id=$2 forge=$3 project=$4 ref=$5 verdict=$6 reason=${7:-}
        write_result "$T/$name.result.json" "$id" "$verdict"
        printf '{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}\n' > "$T/$name.dsse.json"
        printf 'init ok\n<script>alert(1)</script>\n<img src=x onerror=alert(2)>\n</pre><h1>INJECTED</h1>\nplan done\n' > "$T/$name.log"
        cat > "$T/jobs/$name.tmp" <<JSON
{"exec_id":"$id","forge":"$forge","project":"$project","ref":"$ref","commit":"0123456789012345678901234567890123456789","verdict":"$verdict","failure_reason":"$reason","result_file":"$T/$name.result.json","envelope_file":"$T/$name.dsse.json","log_file":"$T/$name.log"}
JSON
        mv "$T/jobs/$name.tmp" "$T/jobs/$name.job"
        for _ in $(seq 1 100); do
                [ -e "$T/jobs/$name.done" ] && return 0
                [ -e "$T/jobs/$name.failed" ] && fail "recording $name: $(cat "$T/jobs/$name.failed")"
                sleep 0.05
        done
        fail "job $name was not taken by the server"
}

# status CODE of a request: status PATH [curl options]
status() {
        local path=$1; shift
        curl -s --path-as-is -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$BASE$path"
}
