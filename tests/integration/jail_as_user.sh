#!/usr/bin/env bash
# jail_as_user.sh - run the jail tests (tests/integration/test_jail_*.sh)
# again as the unprivileged user tfgate-test: the rootless mode of the
# jail (TB1-E "the daemon works rootless"; issue 3 "run as root and as an
# unprivileged user").  Not named test_*: ctest does not pick it up; ci/test
# calls it as root after the normal run.
#
# Usage (as root): bash tests/integration/jail_as_user.sh [BUILD_DIR] [TEST_NAME...]
#   BUILD_DIR defaults to build (relative to the repository top);
#   TEST_NAME e.g. test_jail_escape (default: all test_jail_*.sh).
# Creates the user if missing (idempotent) and makes the build dir and the
# sources readable/traversable for it.  Exits non-zero if any script fails.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
user=tfgate-test
build=${1:-build}
shift || true
case $build in /*) ;; *) build=$top/$build ;; esac

die() { echo "jail_as_user: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it switches to $user with runuser)"
[ -x "$build/runner/cli/tfgate" ] || die "no tfgate binary in $build (build first)"
[ -d "$build/tests/jail" ] || die "no jail test helpers in $build/tests/jail (build target jail_test_helpers)"
command -v runuser >/dev/null || die "runuser (util-linux) is missing"

if ! id "$user" >/dev/null 2>&1; then
  echo "jail_as_user: creating user $user"
  useradd --system --create-home --shell /bin/bash "$user" || die "useradd $user failed"
fi
home=$(getent passwd "$user" | cut -d: -f6)

as_user() { runuser -u "$user" -- "$@"; }

# The user must traverse every parent of the build and source trees and
# read the helpers, the binary and the scripts.  Only add o+x / a+rX where
# it is missing, and say so.
grant_path() {
  local p=$1 d=$1
  while [ "$d" != / ]; do
    if ! as_user test -x "$d"; then
      echo "jail_as_user: chmod o+x $d (so $user can traverse it)"
      chmod o+x "$d" || die "cannot make $d traversable"
    fi
    d=$(dirname "$d")
  done
  if ! as_user test -r "$p"; then
    echo "jail_as_user: chmod -R a+rX $p"
    chmod -R a+rX "$p" || die "cannot make $p readable"
  fi
}
grant_path "$top/tests"
grant_path "$build/tests/jail"
grant_path "$build/runner/cli"
for f in "$build/runner/cli/tfgate" "$build/runner/cli/tfgate-jail" "$build"/tests/jail/* "$top"/tests/jail/*.sh "$top"/tests/integration/test_jail_*.sh; do
  [ -e "$f" ] || continue
  if ! as_user test -r "$f"; then chmod a+r "$f"; fi
  if [ -x "$f" ] && ! as_user test -x "$f"; then chmod a+rx "$f"; fi
done
as_user test -x "$build/runner/cli/tfgate" || die "$user still cannot execute $build/runner/cli/tfgate"

if [ $# -gt 0 ]; then
  scripts=()
  for n in "$@"; do scripts+=("$top/tests/integration/${n%.sh}.sh"); done
else
  scripts=("$top"/tests/integration/test_jail_*.sh)
fi
[ -e "${scripts[0]}" ] || die "no test_jail_*.sh scripts found"

failed=()
for s in "${scripts[@]}"; do
  name=$(basename "$s" .sh)
  echo "== $name as $user"
  # a clean environment: nothing of root's leaks into the rootless run
  if (cd "$home" && timeout 600 runuser -u "$user" -- env -i \
        PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" USER="$user" LANG=C.UTF-8 \
        TFGATE="$build/runner/cli/tfgate" TFGATE_SRC="$top" TFGATE_BUILD="$build" \
        ${TFGATE_JAIL_BIN:+TFGATE_JAIL_BIN="$TFGATE_JAIL_BIN"} \
        bash "$s"); then
    echo "== $name as $user: passed"
  else
    echo "== $name as $user: FAILED"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "jail_as_user: FAILED as $user: ${failed[*]}"
  exit 1
fi
echo "jail_as_user: all ${#scripts[@]} jail test scripts passed as $user"
