#!/usr/bin/env bash
# Builds the four Lambda functions as `bootstrap` binaries for provided.al2023 on arm64 (Graviton), the way
# `sam build` does, and prints their sizes. Needs Rust (rustup, cargo) and Python 3.11 with pip.
#
# cargo-lambda (with zig as the cross linker) comes from PyPI, pinned in infra/requirements-build.txt, into
# .venv-build. If the aarch64 target cannot be installed the build falls back to x86_64 and says so: such binaries
# do NOT run on the template's arm64 functions (deploy them only after changing Architectures to x86_64).
#
# Output: target/lambda/<function>/bootstrap. Extra arguments go to `cargo lambda build`.
set -euo pipefail

infra=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$infra/.." && pwd)
cd "$root"

venv="$root/.venv-build"
requirements="$infra/requirements-build.txt"
if [ ! -x "$venv/bin/cargo-lambda" ] || ! cmp -s "$requirements" "$venv/.requirements"; then
  echo "==> installing cargo-lambda into .venv-build"
  python3 -m venv "$venv"
  echo '*' >"$venv/.gitignore" # keep the venv out of git, as Python 3.13's venv does by itself
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/.requirements"
fi
export PATH="$venv/bin:$PATH"

# The functions by binary name (= the template's BuildProperties.Binary); each is built from the package of the same
# name unless `package` says otherwise (the console's package is `console-function`: crates.io's `console` is in the
# lock file, so `-p console` would be ambiguous).
functions=(oauth-callback download-subscriptions reclaim-subscription console)
declare -A package=([console]=console-function)

arch_flag=(--arm64)
arch=arm64
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  echo "==> rustup target add aarch64-unknown-linux-gnu"
  if ! rustup target add aarch64-unknown-linux-gnu; then
    echo "WARNING: could not install the aarch64-unknown-linux-gnu target; building for x86_64 instead." >&2
    echo "WARNING: x86_64 binaries do not run on the template's arm64 functions." >&2
    arch_flag=(--x86-64)
    arch=x86_64
  fi
fi

packages=()
for f in "${functions[@]}"; do packages+=(-p "${package[$f]:-$f}"); done

echo "==> cargo lambda build --release ${arch_flag[*]} ${packages[*]}"
started=$(date +%s)
cargo lambda build --release "${arch_flag[@]}" "${packages[@]}" "$@"
echo "==> built for $arch in $(( $(date +%s) - started )) s"

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
for f in "${functions[@]}"; do
  bin="$target_dir/lambda/$f/bootstrap"
  if [ -f "$bin" ]; then
    size=$(stat -c %s "$bin")
    printf '%-24s %10d bytes (%.1f MB)  %s\n' "$f" "$size" "$(python3 -c "print($size/1e6)")" "$bin"
  else
    echo "$f: no bootstrap at $bin" >&2
    exit 1
  fi
done
