#!/usr/bin/env bash
# Offline checks of the deployment template, infra/template.yaml. Needs Python 3.11 with pip; no AWS account, no
# credentials, no Docker, no network besides PyPI for the first install.
#
#   1. sam validate [--lint]             the SAM source (aws-sam-cli, in .venv-sam)
#   2. translate.py + cfn-lint           SAM -> CloudFormation, linted with no errors (.venv-infra)
#   3. checkov                           no failed checks; every skip is in the template with its reason
#   4. test_stack.py                     the template against the code (env var names, table shape, secret paths,
#                                        IAM, the alarmed metric names, the console's routes and redirect URI),
#                                        least privilege (the roles' DynamoDB statements evaluated against the
#                                        requests each function makes and must not make; the console's role reads
#                                        no SCIM token and sends to the reclaim queue only; notices: SES only for
#                                        the download and only as the sender's identities, the keep-link key
#                                        shared with the console, the webhook secret, the keep route reaching the
#                                        console), then the translated
#                                        template deployed into the local AWS API (moto)
#
# The local AWS API: MIRO_SAM_TEST_AWS_ENDPOINT when set (./scripts/test.sh exports it); otherwise this script starts
# moto_server from .venv (created from requirements-test.txt when missing) on a free loopback port and stops it on
# exit. Run from any directory.
set -euo pipefail

infra=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$infra/.." && pwd)
cd "$root"
started=$(date +%s)

step() { echo "==> $*"; }

# A venv with the pinned packages of a requirements file, reinstalled only when that file changed.
ensure_venv() {
  local venv=$1 requirements=$2 probe=$3
  if [ ! -x "$venv/bin/$probe" ] || ! cmp -s "$requirements" "$venv/.requirements"; then
    step "installing $(basename "$requirements") into $(basename "$venv")"
    python3 -m venv "$venv"
    # Keep the venv out of git, as Python 3.13's venv does by itself.
    echo '*' >"$venv/.gitignore"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/.requirements"
  fi
}

ensure_venv "$root/.venv-infra" "$infra/requirements.txt" cfn-lint
ensure_venv "$root/.venv-sam" "$infra/requirements-sam.txt" sam
ensure_venv "$root/.venv" "$root/requirements-test.txt" moto_server

work=$(mktemp -d -t miro-sam-infra.XXXXXX)
moto_pid=""
cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Nothing below may reach AWS: no credentials of the caller's, a fixed region, no SAM CLI telemetry.
offline=(env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL
  AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true)

step "sam validate (and --lint: cfn-lint on the SAM source, which misses errors inside functions; see below)"
"${offline[@]}" "$root/.venv-sam/bin/sam" validate --template-file "$infra/template.yaml"
"${offline[@]}" "$root/.venv-sam/bin/sam" validate --lint --template-file "$infra/template.yaml"

step "translate SAM -> CloudFormation"
translated="$work/template.json"
"${offline[@]}" "$root/.venv-infra/bin/python" "$infra/translate.py" "$infra/template.yaml" "$translated" \
  --region us-east-1 --code-bucket miro-sam-placeholder-code

step "cfn-lint on the translated template"
"${offline[@]}" "$root/.venv-infra/bin/cfn-lint" --regions us-east-1 -- "$translated"
echo "cfn-lint: no findings"

step "checkov"
"${offline[@]}" "$root/.venv-infra/bin/checkov" -f "$infra/template.yaml" --framework cloudformation --compact --quiet \
  --skip-download

endpoint=${MIRO_SAM_TEST_AWS_ENDPOINT:-}
if [ -z "$endpoint" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  endpoint="http://127.0.0.1:$port"
  ready=""
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/', timeout=1)" 2>/dev/null; then
      ready=1
      break
    fi
    if ! kill -0 "$moto_pid" 2>/dev/null; then
      echo "moto_server exited early:"; cat "$work/moto.log"; exit 1
    fi
    sleep 0.1
  done
  [ -n "$ready" ] || { echo "moto_server did not answer on $endpoint"; cat "$work/moto.log"; exit 1; }
  step "local AWS API (moto) started on $endpoint"
else
  step "local AWS API (moto) at $endpoint"
fi

step "test_stack.py: the template against the code, least privilege, and the stack in moto"
echo "    (IAM cannot restrict DynamoDB sort keys: where a role is limited by partition key only, the NOTE below says"
echo "    so; infra/README.md, 'What each role may write')"
env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL MIRO_SAM_TEST_AWS_ENDPOINT="$endpoint" \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
  "$root/.venv/bin/python" "$infra/test_stack.py" --translated "$translated"

step "infra checks passed in $(( $(date +%s) - started )) s"
