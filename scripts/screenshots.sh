#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png: a full-page screenshot of every console page (sign-in, overview, plan,
# members, a member's page, reclaimed seats, exemptions and holds, policy, audit log) as headless chromium shows
# them. It runs the console's browser test (tests/tests/browser.rs) with MIRO_SAM_SCREENSHOTS set, so the pictures
# are of the pages that test just checked: a synthetic sandbox org, signed in with Miro, two seats reclaimed from
# an approved selection and one of them undone. Installs chromium and chromium-driver first when missing (as
# scripts/test.sh does). The old screenshots are replaced only when the test passes.
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
mkdir -p "$out"
rm -f "$out"/*.png
cp "$shots"/*.png "$out"/
echo "==> wrote $(ls "$out"/*.png | wc -l) screenshots into $out:"
ls "$out"/*.png
