#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies, configures, builds, and runs
# every test with ctest. A second run reuses the build folder and the test world's caches.
#
#   scripts/test.sh                 build + all tests, then the unit tests under ASan/UBSan
#   scripts/test.sh --no-sanitize   skip the sanitizer pass
#   scripts/test.sh --no-fuzz       skip the fuzzing pass (every libFuzzer target, 15 s each)
#   scripts/test.sh -R REGEX        only the ctest tests matching REGEX (passed on to ctest)
#   scripts/test.sh --faults        also the fault-injection tests (ctest label `faults`, about
#                                   2 minutes); KENC_TEST_FAULTS=1 does the same (for .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
faults=${KENC_TEST_FAULTS:-0}
fuzz=1
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-sanitize) sanitize=0 ;;
    --faults) faults=1 ;;
    --no-fuzz) fuzz=0 ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

scripts/setup.sh

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
jobs=$(nproc)

cmake -S . -B build -G Ninja -DKENC_WERROR=$werror
cmake --build build -j "$jobs"
status=0
# The fault tests break and restart components under load for minutes: only when asked.
label_args=()
[ "$faults" = "1" ] || label_args=(-LE faults)
ctest --test-dir build --output-on-failure -j "$jobs" "${label_args[@]}" "${ctest_args[@]}" || status=$?

if [ $sanitize -eq 1 ] && [ ${#ctest_args[@]} -eq 0 ]; then
  echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -G Ninja -DKENC_WERROR=$werror -DKENC_SANITIZE=ON \
    -DKENC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  cmake --build build-asan -j "$jobs"
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L unit || status=$?
fi

if [ $fuzz -eq 1 ] && [ ${#ctest_args[@]} -eq 0 ]; then
  echo "== fuzzers (clang, libFuzzer + ASan/UBSan), ${KENC_FUZZ_SECONDS:-15} s each"
  scripts/fuzz.sh --seconds "${KENC_FUZZ_SECONDS:-15}" || status=$?
fi
exit $status
