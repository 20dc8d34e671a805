#!/usr/bin/env bash
# Fails when a C++ source kept in git differs from what clang-format (with the checked-in
# .clang-format) would make of it, and names the files. Generated code (the Kafka protocol
# messages and their test samples, in generated/ folders) is left out: its layout is the
# generator's. Run by ctest as `source_format`.
#
#   tools/check-format.sh         check
#   tools/check-format.sh --fix   reformat the files in place
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format > /dev/null; then
  echo "check-format: clang-format is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
if ! git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
  echo "check-format: not a git checkout; nothing to list the sources with" >&2
  exit 1
fi

mapfile -t files < <(git ls-files -- '*.cc' '*.h' ':!:*/generated/*')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
unformatted=()
for f in "${files[@]}"; do
  if ! clang-format --dry-run --Werror "$f" > /dev/null 2>&1; then
    unformatted+=("$f")
  fi
done
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "check-format: ${#unformatted[@]} of ${#files[@]} files are not clang-formatted:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "fix with: tools/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
