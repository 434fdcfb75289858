#!/bin/bash
# test_sign_cli.sh - tfgate keygen / sign / verify, checked against
# independent implementations: the PAE built here with printf and verified
# with `openssl pkeyutl -verify -rawin`, node's crypto.verify, and an envelope
# signed by the openssl CLI that tfgate must accept.  Then tampering (payload,
# payload type, other key, truncated signature, result file, both base64
# alphabets), exit codes, and the published JSON Schema checked against the
# C validator with an independent JSON Schema implementation (python3-jsonschema).
set -u
: "${TFGATE:?built tfgate binary}" "${TFGATE_SRC:?source tree}"

T=$(mktemp -d /tmp/tfgate-sign-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
FAILS=0
TYPE=application/vnd.in-toto+json
COMMIT=0123456789abcdef0123456789abcdef01234567

ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
need() { command -v "$1" >/dev/null || { echo "FAIL - $1 is not installed: this test needs it ($2)"; exit 1; }; }
need openssl "independent Ed25519 verification"
need node "independent verification with node:crypto"
need python3 "JSON field extraction and JSON Schema validation"
# Debian's interpreter first: it starts faster than a version-manager shim
PY=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import jsonschema' 2>/dev/null && PY=/usr/bin/python3
$PY -c 'import jsonschema' 2>/dev/null ||
        { echo "FAIL - python3 module jsonschema missing (Debian: python3-jsonschema)"; exit 1; }

# expect CODE DESCRIPTION -- CMD...: run CMD and compare its exit status
expect() {
        local want=$1 what=$2; shift 3
        "$@" >"$T/out" 2>"$T/err"
        local got=$?
        if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
                bad "$what: exit $got, expected $want"; sed 's/^/    /' "$T/out" "$T/err"; fi
}

# fields of an envelope and its statement, one per line, in one interpreter start:
# payloadType, keyid, _type, predicateType, gitCommit, result sha256, verificationResult
fields() {
        $PY - "$1" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
open("payload.json", "wb").write(base64.b64decode(e["payload"]))
open("sig.bin", "wb").write(base64.b64decode(e["signatures"][0]["sig"]))
s = json.loads(base64.b64decode(e["payload"]))
for v in (e["payloadType"], e["signatures"][0]["keyid"], s["_type"], s["predicateType"],
          s["subject"][0]["digest"]["gitCommit"], s["subject"][1]["digest"]["sha256"],
          s["predicate"]["verificationResult"]):
    print(v)
PY
}

write_result() { # FILE VERDICT [COMMIT]
        cat >"$1" <<JSON
{"commit":"${3:-$COMMIT}","diagnostics":[{"detail":null,"file":"main.tf","line":3,"severity":"warning","summary":"Deprecated attribute"}],"execution_id":"00112233445566778899aabbccddeeff","findings":[],"finished_at":"2025-11-25T07:01:05.250Z","forge":"gitlab","mode":"plan","plan":{"add":2,"change":0,"destroy":0},"project":"group/infra","providers":[{"allowed":true,"constraints":"~> 5.0","hashes":["h1:Zxc="],"locked_version":"5.31.0","mirror":"verified","source":"registry.terraform.io/hashicorp/aws"}],"reason":"all steps exited 0","ref":"refs/heads/main","repository":"https://gitlab.example.com/group/infra.git","result_version":1,"started_at":"2025-11-25T07:00:00.000Z","steps":[{"exit_code":0,"name":"init","output_bytes":812,"reason":"exited 0","truncated":false,"wall_ms":900},{"exit_code":0,"name":"plan","output_bytes":4000,"reason":"exited 0","truncated":false,"wall_ms":2100}],"terraform_version":"1.9.8","tfgate_version":"0.1.0","verdict":"$2"}
JSON
}

echo "# keygen"
expect 0 "keygen creates a key" -- "$TFGATE" keygen --out key.pem
[ "$(stat -c %a key.pem)" = 600 ] && ok "private key is mode 0600" || bad "private key mode $(stat -c %a key.pem)"
grep -q "BEGIN PRIVATE KEY" key.pem && ok "private key is PKCS#8 PEM" || bad "private key is not PKCS#8"
[ -f key.pem.pub ] && grep -q "BEGIN PUBLIC KEY" key.pem.pub && ok "public key beside it" || bad "no public key"
cp key.pem key.before
expect 2 "keygen refuses to overwrite" -- "$TFGATE" keygen --out key.pem
cmp -s key.pem key.before && ok "existing key unchanged" || bad "existing key changed"
"$TFGATE" keygen --out other.pem >/dev/null || bad "second key"

echo "# sign"
write_result result.json PASSED
expect 0 "sign a valid result" -- "$TFGATE" sign --key key.pem --policy-digest "$(printf 'policy' | sha256sum | cut -d' ' -f1)" result.json
[ -f result.dsse.json ] && ok "result.dsse.json written beside result.json" || bad "no result.dsse.json"
chmod 644 key.pem
expect 2 "sign refuses a group/other-readable private key" -- "$TFGATE" sign --key key.pem result.json
grep -q "chmod 600" "$T/err" && ok "the refusal says how to fix it" || bad "no chmod hint: $(cat "$T/err")"
chmod 600 key.pem
write_result badcommit.json PASSED 0123456789ABCDEF0123456789abcdef01234567
expect 1 "sign refuses a result that fails the schema" -- "$TFGATE" sign --key key.pem badcommit.json
grep -q "commit" "$T/err" && ok "the refusal names the field" || bad "error does not name commit: $(cat "$T/err")"
[ ! -e badcommit.dsse.json ] && ok "nothing written for an invalid result" || bad "envelope written for an invalid result"

echo "# independent verification of tfgate's envelope"
mapfile -t F < <(fields result.dsse.json)
[ "${F[0]}" = "$TYPE" ] && ok "payloadType is $TYPE" || bad "payloadType ${F[0]}"
{ printf 'DSSEv1 %d %s %d ' "${#TYPE}" "$TYPE" "$(stat -c %s payload.json)"; cat payload.json; } >pae.bin
if openssl pkeyutl -verify -pubin -inkey key.pem.pub -rawin -in pae.bin -sigfile sig.bin 2>&1 | grep -q "Signature Verified Successfully"; then
        ok "openssl pkeyutl verifies the signature over a PAE built with printf"
else bad "openssl pkeyutl does not verify tfgate's signature"; fi
if ! openssl pkeyutl -verify -pubin -inkey other.pem.pub -rawin -in pae.bin -sigfile sig.bin >/dev/null 2>&1; then
        ok "openssl refuses the other public key"; else bad "openssl accepted another key"; fi
KEYID=$(openssl pkey -pubin -in key.pem.pub -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
[ "${F[1]}" = "$KEYID" ] && ok "keyid = sha256 of the SPKI DER" || bad "keyid ${F[1]} differs from $KEYID"
[ "${F[2]}" = "https://in-toto.io/Statement/v1" ] && ok "_type is in-toto Statement v1" || bad "_type ${F[2]}"
[ "${F[3]}" = "https://slsa.dev/verification_summary/v1" ] && ok "predicateType is the SLSA VSA" || bad "predicateType ${F[3]}"
[ "${F[4]}" = "$COMMIT" ] && ok "statement subject is the commit" || bad "commit subject ${F[4]}"
[ "${F[5]}" = "$(sha256sum result.json | cut -d' ' -f1)" ] &&
        ok "statement names sha256 of the exact result bytes" || bad "result digest in statement"
[ "${F[6]}" = PASSED ] && ok "verificationResult PASSED" || bad "verificationResult ${F[6]}"

cat >nodeverify.js <<'JS'
const c = require("crypto"), fs = require("fs");
const e = JSON.parse(fs.readFileSync(process.argv[2]));
const b = Buffer.from(e.payload, "base64"), t = Buffer.from(e.payloadType);
const pae = Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${b.length} `), b]);
const key = c.createPublicKey(fs.readFileSync(process.argv[3]));
const ok = e.signatures.some(s => c.verify(null, pae, key, Buffer.from(s.sig, "base64")));
console.log(ok ? "node: OK" : "node: FAIL"); process.exit(ok ? 0 : 1);
JS
expect 0 "node crypto.verify accepts tfgate's envelope" -- node nodeverify.js result.dsse.json key.pem.pub
expect 1 "node crypto.verify refuses the other key" -- node nodeverify.js result.dsse.json other.pem.pub

echo "# tfgate verify"
expect 0 "verify a PASSED result" -- "$TFGATE" verify --key key.pem.pub result.dsse.json
grep -q "^verdict: *PASSED" "$T/out" && grep -q "^commit: *$COMMIT" "$T/out" && grep -q "^ref: *refs/heads/main" "$T/out" &&
        ok "prints verdict, commit and ref" || bad "verify output: $(cat "$T/out")"
expect 0 "--expect-commit with the right commit" -- "$TFGATE" verify --key key.pem.pub --expect-commit $COMMIT result.dsse.json
expect 4 "--expect-commit with another commit" -- "$TFGATE" verify --key key.pem.pub --expect-commit 1123456789abcdef0123456789abcdef01234567 result.dsse.json
expect 2 "--expect-commit that is not a commit id is a usage error" -- "$TFGATE" verify --key key.pem.pub --expect-commit main result.dsse.json
expect 4 "verify with the other key" -- "$TFGATE" verify --key other.pem.pub result.dsse.json
expect 2 "verify without --key is a usage error" -- "$TFGATE" verify result.dsse.json

cp result.json result.orig
sed -i 's/"add":2/"add":3/' result.json
expect 4 "a changed result.json fails verify" -- "$TFGATE" verify --key key.pem.pub result.dsse.json
cp result.orig result.json
mv result.json moved.json
expect 4 "a missing result.json fails verify" -- "$TFGATE" verify --key key.pem.pub result.dsse.json
expect 0 "--result names the result file" -- "$TFGATE" verify --key key.pem.pub --result moved.json result.dsse.json
mv moved.json result.json

# envelope variants built here: NAME TYPE PAYLOAD_B64 SIG_B64
envelope() {
        printf '{"payloadType":"%s","payload":"%s","signatures":[{"keyid":"%s","sig":"%s"}]}\n' "$2" "$3" "$KEYID" "$4" >"$1.dsse.json"
        cp result.json "$1.json"
}
P64=$(base64 -w0 payload.json)
S64=$(base64 -w0 sig.bin)
urlsafe() { tr '+/' '-_' | tr -d '='; }
envelope std "$TYPE" "$P64" "$S64"
expect 0 "standard base64 rebuilt here verifies" -- "$TFGATE" verify --key key.pem.pub std.dsse.json
envelope url "$TYPE" "$(printf %s "$P64" | urlsafe)" "$(printf %s "$S64" | urlsafe)"
expect 0 "URL-safe base64 without padding verifies" -- "$TFGATE" verify --key key.pem.pub url.dsse.json
envelope urlpad "$TYPE" "$(printf %s "$P64" | tr '+/' '-_')" "$(printf %s "$S64" | tr '+/' '-_')"
expect 0 "URL-safe base64 with padding verifies" -- "$TFGATE" verify --key key.pem.pub urlpad.dsse.json
envelope type "application/vnd.in-toto.vsa+json" "$P64" "$S64"
expect 4 "changed payloadType fails" -- "$TFGATE" verify --key key.pem.pub type.dsse.json
sed 's/"verificationResult":"PASSED"/"verificationResult":"FAILED"/' payload.json >payload2.json
cmp -s payload.json payload2.json && bad "payload edit did not apply"
envelope payload "$TYPE" "$(base64 -w0 payload2.json)" "$S64"
expect 4 "changed payload fails" -- "$TFGATE" verify --key key.pem.pub payload.dsse.json
head -c 63 sig.bin >sig63.bin
envelope trunc "$TYPE" "$P64" "$(base64 -w0 sig63.bin)"
expect 4 "truncated signature fails" -- "$TFGATE" verify --key key.pem.pub trunc.dsse.json
envelope garbage "$TYPE" "$P64" 'not*base64'
expect 4 "invalid base64 fails" -- "$TFGATE" verify --key key.pem.pub garbage.dsse.json

echo "# an envelope signed by the openssl CLI, verified by tfgate"
openssl pkeyutl -sign -inkey key.pem -rawin -in pae.bin -out cli-sig.bin
cmp -s cli-sig.bin sig.bin && ok "openssl CLI signature equals tfgate's (Ed25519 is deterministic)" || bad "signatures differ"
envelope cli "$TYPE" "$(printf %s "$P64" | urlsafe)" "$(base64 -w0 cli-sig.bin | urlsafe)"
expect 0 "tfgate verifies the openssl-made envelope" -- "$TFGATE" verify --key key.pem.pub cli.dsse.json

echo "# a FAILED result"
write_result failed.json FAILED
expect 0 "sign a FAILED result" -- "$TFGATE" sign --key key.pem failed.json
expect 1 "verify of a valid FAILED result exits 1" -- "$TFGATE" verify --key key.pem.pub failed.dsse.json
grep -q "^verdict: *FAILED" "$T/out" && ok "prints FAILED" || bad "verify output: $(cat "$T/out")"
expect 0 "node also verifies the FAILED envelope" -- node nodeverify.js failed.dsse.json key.pem.pub

echo "# the published schema and the C validator agree"
SCHEMA="$TFGATE_SRC/docs/result.schema.json"
# each mutation is a python statement applied to the parsed result d; one
# interpreter writes mN.json and the JSON Schema verdict for each
MUTATIONS='d["commit"]="ABC"
d["commit"]=d["commit"][:39]
d["mode"]="destroy"
d["extra"]=1
del d["verdict"]
d["repository"]="https://user:pw@h.example/x"
d["repository"]="/srv/repo"
d["started_at"]="2025-11-25T07:00:00+01:00"
d["started_at"]="2025-13-25T07:00:00Z"
d["steps"][0]["exit_code"]=256
d["steps"][0]["extra"]=1
d["steps"][0]["name"]=""
d["diagnostics"][0]["line"]=0
d["diagnostics"][0]["severity"]="fatal"
d["plan"]={"add":1}
d["providers"][0]["mirror"]="ok"
del d["providers"][0]["hashes"]
d["findings"]=[{"rule":"r","severity":"warn","file":None,"line":None,"message":"m"}]
d["reason"]="two\u0007"
d["terraform_version"]=None
d["plan"]=None
d["providers"][0]["future_key"]="x"
d["findings"]=[{"rule":"r","severity":"error","file":None,"line":None,"message":"m"}]
d["commit"]="ab"*32
pass'
printf '%s\n' "$MUTATIONS" >mutations.txt
$PY - "$TFGATE_SRC/docs/result.schema.json" result.json mutations.txt >verdicts.txt <<'PY'
import copy, json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
base = json.load(open(sys.argv[2]))
for n, m in enumerate(open(sys.argv[3]).read().splitlines(), 1):
    d = copy.deepcopy(base)
    exec(m)
    json.dump(d, open("m%d.json" % n, "w"), separators=(",", ":"), sort_keys=True)
    print("valid" if v.is_valid(d) else "invalid")
PY
mapfile -t M <mutations.txt
mapfile -t V <verdicts.txt
[ "${#V[@]}" -eq "${#M[@]}" ] && [ "${#M[@]}" -gt 20 ] || bad "schema check produced ${#V[@]} verdicts for ${#M[@]} mutations"
for i in "${!M[@]}"; do
        n=$((i + 1))
        if "$TFGATE" sign --key key.pem "m$n.json" >/dev/null 2>&1; then c=valid; else c=invalid; fi
        if [ "${V[$i]}" = "$c" ]; then ok "schema and validator agree ($c): ${M[$i]}"; else
                bad "schema says ${V[$i]}, tfgate says $c: ${M[$i]}"; fi
done
[ "${V[-1]}" = valid ] && ok "the unmutated result is valid under the schema" || bad "schema rejects the valid result"

echo
if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
echo "all checks passed"
