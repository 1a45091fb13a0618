#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine (cargo, Python 3.11 with pip, gcc).
# It installs what the tests need into .venv (the local AWS API server, moto, pinned in requirements-test.txt),
# starts that server on a free loopback port, points the tests at it, and stops it afterwards, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s requirements-test.txt "$venv/.requirements"; then
  echo "==> installing the test Python environment into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt "$venv/.requirements"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp -t moto.XXXXXX.log)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
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
    echo "moto_server exited early:"; cat "$log"; exit 1
  fi
  python3 -c 'import time; time.sleep(0.1)'
done

export MIRO_SAM_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL="$MIRO_SAM_TEST_AWS_ENDPOINT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
echo "==> local AWS API (moto) on $MIRO_SAM_TEST_AWS_ENDPOINT"

echo "==> cargo test --workspace"
cargo test --workspace --all-targets --locked "$@"

# The operator commands for a deployment are behind the CLI's `aws` feature, which no other crate turns on: run the
# CLI's unit tests and its deployment tests once more with it.
echo "==> cargo test -p miro-sam --features aws (operator commands)"
cargo test -p miro-sam --features aws --locked --lib --test aws_operator "$@"
