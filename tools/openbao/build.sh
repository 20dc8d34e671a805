#!/usr/bin/env bash
# Builds the KMS server of the test world from the pinned release in go.mod/go.sum and caches
# it as <world-dir>/bin/vault. A stamp holds a hash of the pin (go.mod, go.sum, main.go) and the
# Go version, so the binary is rebuilt only when the pin changes. Go's module and build caches
# (~/go/pkg/mod, ~/.cache/go-build) are shared by every build folder.
#
#   tools/openbao/build.sh <world-dir>      (or KENC_WORLD_DIR=<world-dir> tools/openbao/build.sh)
#
# The test world does not use this script today: it runs the OpenBao release binary from
# fetch-openbao.sh instead, because of what follows.
#
# STATUS (2026-11-28): this pin does NOT build yet. OpenBao could not be used: the module proxy
# answers 403 for its release commits (e.g. v2.4.4 = 4bfd70723d4f...), and release tags carry no
# /v2 module path. HashiCorp Vault v1.21.4 resolves, but its go.mod replaces the sdk and api
# submodules with local folders that module zips do not contain, and the served sdk tags do not
# match: with sdk v0.21.0 `vault/` and `builtin/logical/transit` fail to compile (ActivationFunc
# signature, RestorePolicy return values); sdk v0.25.1 fails further (billing interfaces). The
# fix is to pin sdk and api to the pseudo-version of the v1.21.4 release commit, if served. See
# docs/kms-vault.md.
#
# Prints the binary's path on success. Concurrent callers (two test binaries starting at once)
# are serialised with flock, and the binary is moved into place only when complete.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
world=${1:-${KENC_WORLD_DIR:-}}
if [ -z "$world" ]; then
  echo "usage: $0 <world-dir>" >&2
  exit 2
fi
command -v go >/dev/null || { echo "build.sh: the Go toolchain (go) is not on PATH" >&2; exit 1; }

mkdir -p "$world/bin"
bin="$world/bin/vault"
stamp="$bin.stamp"
want="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"

exec 9>"$world/bin/.vault-build.lock"
flock 9
if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$bin"
  exit 0
fi

echo "build.sh: building $bin from $here (several minutes on a cold cache)" >&2
start=$(date +%s)
cd "$here"
CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly" \
  go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .
mv -f "$bin.tmp" "$bin"
printf '%s' "$want" > "$stamp"
echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
