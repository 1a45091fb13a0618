#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine (cargo, Python 3.11 with pip, gcc).
# It installs what the tests need: Debian's chromium and chromium-driver (apt-get, when missing) for the console's
# browser test, and into .venv the local AWS API server (moto, pinned in requirements-test.txt); it
# starts that server on a free loopback port, points the tests at it, and stops it afterwards, also on failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The real-browser test of the console (tests/tests/browser.rs) drives Debian's chromium through chromedriver.
# Installed from Debian's archive when either is missing; never a browser build a tool downloads by itself.
ensure_browser() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    return 0
  fi
  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      as_root=(sudo)
    else
      echo "The browser test needs Debian's chromium and chromium-driver, and installing them needs root:" >&2
      echo "  run as root: apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "The browser test needs chromium and chromedriver at /usr/bin/chromium and /usr/bin/chromedriver;" >&2
    echo "  this machine has no apt-get: install Debian's chromium and chromium-driver (or their equivalents) by hand" >&2
    return 1
  fi
  echo "==> installing chromium and chromium-driver (Debian packages) for the browser test"
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; then
    echo "Could not install chromium and chromium-driver with apt-get (see above);" >&2
    echo "  install them by hand: apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver" >&2
    return 1
  fi
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "apt-get finished but /usr/bin/chromium or /usr/bin/chromedriver is still missing" >&2
    return 1
  fi
}

# `source scripts/test.sh` (scripts/screenshots.sh does) defines the helpers above and runs nothing else.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return 0
fi

ensure_browser

venv=.venv
if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s requirements-test.txt "$venv/.requirements"; then
  echo "==> installing the test Python environment into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt "$venv/.requirements"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp -t moto.XXXXXX.log)
# moto with DynamoDB requests applied one at a time, as atomic as the service (scripts/moto_server.py says why).
"$venv/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() {
  kill "$moto_pid" 2>/dev/null || true
  wait "$moto_pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT INT TERM

# Wait for the server to answer, bounded: 100 polls.
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "the local AWS API server exited early:"; cat "$log"; exit 1
  fi
  python3 -c 'import time; time.sleep(0.1)'
done

export MIRO_SAM_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL="$MIRO_SAM_TEST_AWS_ENDPOINT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
echo "==> local AWS API (moto) on $MIRO_SAM_TEST_AWS_ENDPOINT"

# The CLI's operator commands for a deployment (feature `aws`) are tested here too: the test kit depends on
# the CLI with that feature, and cargo builds the workspace with the union of its members' features.
echo "==> cargo test --workspace"
cargo test --workspace --all-targets --locked "$@"

