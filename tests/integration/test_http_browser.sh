#!/bin/bash
# test_http_browser.sh - a real browser (Debian's chromium, headless) loads
# a result page and a badge from the loopback test server: screenshots are
# non-empty PNGs, and the DOM the browser built (--dump-dom) shows the
# verdict and the hostile log tail as text, with no element injected from
# it.  Needs the `chromium` package (ci/bootstrap installs it); without it
# this test fails and says so.
set -euo pipefail
source "$(dirname "$0")/http_lib.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || fail "chromium is not installed (apt-get install -y chromium); cannot run the browser check"
ID=55555555555555555555555555555555

make_config
start_server main --rate 1000 --burst 2000
touch "$T/ready"
record_job hostile "$ID" github acme/infra refs/heads/main FAILED plan

browser() { # OUT-OPTION URL
        local profile
        profile=$(mktemp -d "$T/profile.XXXXXX")
        timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
                --disable-background-networking --disable-component-update --disable-sync \
                --disable-dev-shm-usage --user-data-dir="$profile" --window-size=1200,1600 "$@" \
                2>> "$T/chromium.stderr"
}

is_png() { # FILE MIN-BYTES
        [ -s "$1" ] && [ "$(stat -c %s "$1")" -ge "$2" ] &&
                [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

check "chromium renders the result page to a non-empty PNG"
browser --screenshot="$T/page.png" "$BASE/results/$ID" > /dev/null || { tail -5 "$T/chromium.stderr"; fail "chromium failed on the page"; }
is_png "$T/page.png" 2000 || fail "page screenshot is not a non-empty PNG"

check "chromium renders the badge to a non-empty PNG"
browser --screenshot="$T/badge.png" --window-size=200,40 "$BASE/badge/github/acme%2Finfra/main.svg" > /dev/null || fail "chromium failed on the badge"
is_png "$T/badge.png" 100 || fail "badge screenshot is not a non-empty PNG"

check "the DOM shows the verdict and the hostile log as text, nothing injected"
browser --dump-dom "$BASE/results/$ID" > "$T/dom.html" || fail "chromium --dump-dom failed"
[ -s "$T/dom.html" ] || fail "empty DOM dump"
python3 - "$T/dom.html" <<'PY' || fail "DOM check failed"
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.stack, self.verdict, self.log = [], [], [], "", ""
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.stack.append(dict(attrs).get("id"))
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
    def handle_data(self, data):
        self.text.append(data)
        if "verdict" in self.stack:
            self.verdict += data
        if "log" in self.stack:
            self.log += data

p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
assert p.verdict == "FAILED", f"verdict {p.verdict!r}"
for tag in ("script", "img", "iframe", "object", "embed"):
    assert tag not in p.tags, f"<{tag}> element in the DOM"
assert p.tags.count("h1") == 1, "an injected <h1> element"
assert "<script>alert(1)</script>" in p.log, "script tag not shown as text in the log"
assert "<img src=x onerror=alert(2)>" in p.log, "img tag not shown as text in the log"
assert "</pre><h1>INJECTED</h1>" in p.log, "closing tag escaped the log block"
print("dom ok: verdict", p.verdict, "and", len(p.log), "bytes of log as text")
PY
[ -z "${KEEP_SHOTS:-}" ] || cp "$T/page.png" "$T/badge.png" "$KEEP_SHOTS"/
echo "ok: test_http_browser"
