#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: a full-page screenshot of every console page (sign-in, overview, plan,
# members, a member's page, reclaimed seats, exemptions and holds, policy, audit log) as headless chromium shows
# them. It runs the console's browser test (tests/tests/browser.rs) with MIRO_SAM_SCREENSHOTS set, so the pictures
# are of the pages that test just checked: a synthetic sandbox org, signed in with Miro, two seats reclaimed from
# an approved selection and one of them undone. Then two pages of `miro-sam demo --serve` (the demo's month of
# history: the overview with its seats-over-time curve, and the timeline of the member whose reclaim the demo
# undid), taken with chromium's own --screenshot after the demo's one-time login link. Installs chromium and
# chromium-driver first when missing (as scripts/test.sh does). The old screenshots are replaced only when all
# of it worked.
set -euo pipefail
# shellcheck source=scripts/test.sh
source "$(dirname "${BASH_SOURCE[0]}")/test.sh" # defines ensure_browser, moves to the repository's root
ensure_browser

out=docs/screenshots
shots=$(mktemp -d -t miro-sam-screenshots.XXXXXX)
trap 'rm -rf "$shots"' EXIT

echo "==> running the browser test, saving screenshots"
MIRO_SAM_SCREENSHOTS="$shots" cargo test -p miro-sam-tests --test browser --locked "$@"

if ! ls "$shots"/*.png >/dev/null 2>&1; then
  echo "the browser test passed but saved no screenshot into $shots" >&2
  exit 1
fi

echo "==> running the demo with --serve, saving its overview and a member's timeline"
cargo build -p miro-sam --locked
demo="$shots/demo"
mkdir -p "$demo"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
target/debug/miro-sam demo --serve --port "$port" --out "$demo/out" >"$demo/stdout" 2>"$demo/stderr" &
demo_pid=$!
trap 'kill -INT "$demo_pid" 2>/dev/null || true; rm -rf "$shots"' EXIT
# The demo lives its month first (well under a minute); the console is up once it prints how to stop it.
for _ in $(seq 1 180); do
  grep -q 'Press Ctrl-C' "$demo/stdout" && break
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    echo "the demo stopped before serving the console:" >&2
    cat "$demo/stdout" "$demo/stderr" >&2
    exit 1
  fi
  sleep 1
done
link=$(grep -m1 '/console/local-login' "$demo/stdout") || {
  echo "the demo printed no login link within 3 minutes:" >&2
  cat "$demo/stdout" "$demo/stderr" >&2
  exit 1
}
undone=$(sed -n 's/.*): \(.*\) asked for the seat back.*/\1/p' "$demo/stdout")
member=$(awk -F, -v e="$undone" '$2 == e { print $1 }' "$demo/out/members.csv")
if [ -z "$member" ]; then
  echo "could not find the member the demo undid (${undone:-none printed}) in $demo/out/members.csv" >&2
  exit 1
fi
# Chromium refuses to run as root without its sandbox switched off (containers, CI).
no_sandbox=()
if [ "$(id -u)" -eq 0 ]; then no_sandbox=(--no-sandbox); fi
shoot() { # FILE HEIGHT URL: one page, 1280 px wide; the profile keeps the session cookie between pages
  chromium --headless "${no_sandbox[@]}" --disable-gpu --hide-scrollbars --user-data-dir="$demo/profile" \
    --window-size="1280,$2" --screenshot="$shots/$1" "$3" >/dev/null 2>&1
  [ -s "$shots/$1" ] || { echo "chromium saved no $1 from $3" >&2; exit 1; }
}
shoot demo-overview.png 1700 "$link"
shoot demo-member.png 1050 "http://127.0.0.1:$port/console/members/$member"
kill -INT "$demo_pid"
wait "$demo_pid" 2>/dev/null || true
mkdir -p "$out"
rm -f "$out"/*.png
cp "$shots"/*.png "$out"/
echo "==> wrote $(ls "$out"/*.png | wc -l) screenshots into $out:"
ls "$out"/*.png
