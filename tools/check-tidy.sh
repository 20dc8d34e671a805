#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over the daemons' own sources in common/, proto/, proxy/
# and keybroker/ (generated sources aside) and our headers, every finding an error, and fails naming them. Needs a
# configured build folder for its compile_commands.json. Run by scripts/test.sh after the tests.
#
#   tools/check-tidy.sh [build folder=build]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

if ! command -v clang-tidy > /dev/null; then
  echo "check-tidy: clang-tidy is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "check-tidy: $build/compile_commands.json is missing; configure the build first" >&2
  exit 1
fi

mapfile -t files < <(git ls-files -- 'common/*.cc' 'proto/*.cc' 'proxy/*.cc' 'keybroker/*.cc' ':!:*/generated/*')
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The compile commands are GCC's; clang needs telling that Asio may use C++20 coroutines (as
# common/admin/CMakeLists.txt does for clang builds). clang-tidy matches the header filter
# against absolute paths, so it is anchored at this checkout: every header of ours is checked
# (the generated protocol headers included), no library's.
status=0
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet \
  --warnings-as-errors='*' --extra-arg=-DASIO_HAS_CO_AWAIT=1 \
  --header-filter="^$PWD/(common|proto/kenc|proxy|keybroker)/" \
  > "$log" 2>&1 || status=$?
if [ $status -ne 0 ]; then
  grep -E "(warning|error):" "$log" >&2 || cat "$log" >&2
  echo "check-tidy: findings in ${#files[@]} files checked" >&2
  exit 1
fi
echo "check-tidy: ${#files[@]} files clean"
