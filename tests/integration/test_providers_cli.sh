#!/bin/bash
# test_providers_cli.sh - `tfgate providers hash` on a directory, a zip made
# by Info-ZIP's `zip`, and bad input; expected values are the h1: vector of
# reference/terraform.md (V1) and sha256sum of the zip.
set -euo pipefail
: "${TFGATE:?TFGATE must name the built binary}"
command -v zip >/dev/null || { echo "FAIL: the zip CLI is needed (Debian package zip)"; exit 1; }
work=$(mktemp -d /tmp/tfgate-providers-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
V1_H1='h1:qjsREM4DqEWECD43FcPqddZ9oxCG+IaMTxvWPciS05g='

echo "check: h1: of an unpacked directory (V1)"
mkdir -p "$work/pkg"
printf '# This is just a placeholder file for discovery testing, not a real provider plugin.\n' \
        > "$work/pkg/terraform-provider-null"
out=$("$TFGATE" providers hash "$work/pkg")
[ "$out" = "$V1_H1" ] || fail "dir: got '$out'"

echo "check: h1: and zh: of a zip made by zip(1), stored and deflated"
for level in -0 -9; do
        rm -f "$work/p.zip"
        (cd "$work/pkg" && zip -q -X "$level" ../p.zip terraform-provider-null)
        zh="zh:$(sha256sum "$work/p.zip" | cut -d' ' -f1)"
        out=$("$TFGATE" providers hash "$work/p.zip")
        [ "$out" = "$V1_H1"$'\n'"$zh" ] || fail "zip $level: got '$out'"
        [ "$("$TFGATE" providers hash --scheme zh "$work/p.zip")" = "$zh" ] || fail "--scheme zh"
        [ "$("$TFGATE" providers hash --scheme h1 "$work/p.zip")" = "$V1_H1" ] || fail "--scheme h1"
done

echo "check: a zip with a directory entry hashes like Go's HashZip (reference value)"
mkdir -p "$work/pkg2/sub"
cp "$work/pkg/terraform-provider-null" "$work/pkg2/"
(cd "$work/pkg2" && zip -q -X -r ../d.zip sub terraform-provider-null)
out=$("$TFGATE" providers hash --scheme h1 "$work/d.zip")
[ "$out" = 'h1:UoqEXX3Kp2lf59iVs2LNdGYCqOmKKNlO7qwZZInS5Qs=' ] || fail "dir entry: got '$out'"
out=$("$TFGATE" providers hash "$work/pkg2")
[ "$out" = "$V1_H1" ] || fail "empty subdirectory should not count: got '$out'"

echo "check: a symlink out of the hashed directory is refused"
ln -s /etc/passwd "$work/pkg2/escape"
if "$TFGATE" providers hash "$work/pkg2" 2>"$work/err"; then fail "escaping symlink accepted"; fi
grep -q outside "$work/err" || fail "no reason given: $(cat "$work/err")"

echo "check: not a zip, usage errors, exit code 2"
printf 'not a zip' > "$work/bad.zip"
set +e
"$TFGATE" providers hash "$work/bad.zip" 2>"$work/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad zip: exit $rc"
grep -q 'not a zip file' "$work/err" || fail "bad zip message: $(cat "$work/err")"
for args in "" "hash" "frob x" "hash --scheme md5 x" "hash a b"; do
        set +e
        # shellcheck disable=SC2086
        "$TFGATE" providers $args 2>/dev/null; rc=$?
        set -e
        [ $rc -eq 2 ] || fail "'providers $args': exit $rc"
done
echo "ok"
