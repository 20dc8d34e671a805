#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies, configures, builds, and runs
# every test with ctest. A second run reuses the build folder and the test world's caches.
#
#   scripts/test.sh                 build + all tests; then under ASan/UBSan the unit tests and the
#                                   integration suites of the daemons' data paths; then under TSan the
#                                   concurrency-heavy suites; then every fuzzer for 15 s
#   scripts/test.sh --no-sanitize   skip both sanitizer passes
#   scripts/test.sh --no-fuzz       skip the fuzzing pass (every libFuzzer target, 15 s each)
#   scripts/test.sh --no-tidy       skip clang-tidy over the daemons' sources (about 5 minutes)
#   scripts/test.sh -R REGEX        only the ctest tests matching REGEX (passed on to ctest)
#   scripts/test.sh --faults        also the fault-injection tests (ctest label `faults`, about
#                                   2 minutes); KENC_TEST_FAULTS=1 does the same (for .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
faults=${KENC_TEST_FAULTS:-0}
fuzz=1
tidy=1
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-sanitize) sanitize=0 ;;
    --faults) faults=1 ;;
    --no-fuzz) fuzz=0 ;;
    --no-tidy) tidy=0 ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done

# Each phase's wall time, printed at the end (CI has a time budget; this says where it goes).
phase_name="setup"
phase_start=$SECONDS
phase_times=()
phase() {
  phase_times+=("$(printf '%-34s %5d s' "$phase_name" $((SECONDS - phase_start)))")
  phase_name=$1
  phase_start=$SECONDS
}
print_phase_times() {
  phase ""
  echo "== wall time per phase (total $SECONDS s)"
  printf '  %s\n' "${phase_times[@]}"
}

scripts/setup.sh

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
jobs=$(nproc)

phase "build"
cmake -S . -B build -G Ninja -DKENC_WERROR=$werror
cmake --build build -j "$jobs"
phase "tests"
status=0
# The fault tests break and restart components under load for minutes: only when asked.
label_args=()
[ "$faults" = "1" ] || label_args=(-LE faults)
ctest --test-dir build --output-on-failure -j "$jobs" "${label_args[@]}" "${ctest_args[@]}" || status=$?

# Under ASan/UBSan: every unit suite, and the integration suites that put kenc's daemons under
# real traffic: the proxy's connections, gateways, address rewriting, own requests, TLS termination
# and hostile input, the encryption filter end to end, and the key broker under concurrent requests
# (the test world starts the sanitized binaries of its own build folder). The other integration
# suites test the test world, the codecs against Kafka's own (the codecs also run under ASan in
# their unit suites and fuzzers), the Vault backend and the deployment files: they run in the plain
# build only, which keeps CI within its time budget (a suite that starts Kafka takes about as long
# under ASan as without, and each test binary is one more sanitized build).
asan_integration_targets=(proxy_integration_tests proxy_gateway_integration_tests
  proxy_own_request_integration_tests proxy_gateway_tls_integration_tests
  proxy_hostile_input_integration_tests address_rewrite_integration_tests
  encryption_integration_tests encryption_headers_integration_tests keybroker_integration_tests)
asan_tests="^([a-z_]+_unit_tests|$(IFS='|'; echo "${asan_integration_targets[*]}"))\$"
# Under ThreadSanitizer: the concurrency-heavy unit suites (the proxy's connections and worker
# threads, the DEK cache and lease pool, the key broker's coalescing and its gRPC service), then
# the daemons themselves: the plain build's end-to-end suites start the TSan-built kenc-proxy and
# kenc-keybroker (KENC_TEST_PROXY_BINARY / KENC_TEST_KEYBROKER_BINARY), so the daemons run
# sanitized under real Kafka, real clients and concurrent key requests. (Test binaries that load
# librdkafka cannot themselves run under GCC's TSan: librdkafka starts its threads with C11
# thrd_create, which TSan does not intercept.) A race report makes a daemon exit with code 66,
# which fails the test that started it.
# The TSan build also uses the other AES-256-GCM implementation (OpenSSL's, KENC_AES_GCM=openssl;
# the plain and ASan builds use Intel's libipsec-mb on x86-64), so that the crypto unit tests
# and the end-to-end encryption suite run against both.
tsan_unit_targets=(common_unit_tests crypto_unit_tests proxy_unit_tests record_encryption_unit_tests
  keybroker_unit_tests keybroker_service_unit_tests)
tsan_unit_tests='^(common_unit_tests|crypto_unit_tests|proxy_unit_tests|record_encryption_unit_tests|keybroker_unit_tests|keybroker_service_unit_tests)$'
tsan_daemon_tests='^(keybroker_integration_tests|encryption_integration_tests)$'

if [ $tidy -eq 1 ] && [ ${#ctest_args[@]} -eq 0 ]; then
  echo "== clang-tidy over common/, proto/, proxy/ and keybroker/ (sources and our headers)"
  phase "clang-tidy"
  tools/check-tidy.sh build || status=$?
fi

# The sanitizer (and fuzzer) builds live inside build/, so that whatever caches the build folder
# (CI does) keeps them too, and they share the main build's test world (Kafka's jars, OpenBao),
# fetched once.
world_dir="$PWD/build/world"

if [ $sanitize -eq 1 ] && [ ${#ctest_args[@]} -eq 0 ]; then
  echo "== unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  phase "ASan/UBSan build"
  cmake -S . -B build/asan -G Ninja -DKENC_WERROR=$werror -DKENC_SANITIZE=ON \
    -DKENC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DKENC_WORLD_DIR="$world_dir"
  asan_unit_targets=$(ctest --test-dir build -N -L unit | sed -n 's/^ *Test *#[0-9]*: \(.*_unit_tests\)$/\1/p')
  # shellcheck disable=SC2086 # one target per word
  cmake --build build/asan -j "$jobs" --target $asan_unit_targets "${asan_integration_targets[@]}" \
    kenc-proxy kenc-keybroker
  phase "ASan/UBSan tests"
  ctest --test-dir build/asan --output-on-failure -j "$jobs" -R "$asan_tests" || status=$?

  echo "== concurrency-heavy suites and the daemons under ThreadSanitizer"
  phase "TSan build"
  cmake -S . -B build/tsan -G Ninja -DKENC_WERROR=$werror -DKENC_TSAN=ON \
    -DKENC_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKENC_AES_GCM=openssl \
    -DKENC_WORLD_DIR="$world_dir"
  cmake --build build/tsan -j "$jobs" --target "${tsan_unit_targets[@]}" kenc-proxy kenc-keybroker
  phase "TSan tests"
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}"
  ctest --test-dir build/tsan --output-on-failure -j "$jobs" -R "$tsan_unit_tests" || status=$?
  KENC_TEST_PROXY_BINARY="$PWD/build/tsan/proxy/kenc-proxy" \
    KENC_TEST_KEYBROKER_BINARY="$PWD/build/tsan/keybroker/kenc-keybroker" \
    ctest --test-dir build --output-on-failure -R "$tsan_daemon_tests" || status=$?
  unset TSAN_OPTIONS
fi

if [ $fuzz -eq 1 ] && [ ${#ctest_args[@]} -eq 0 ]; then
  echo "== fuzzers (clang, libFuzzer + ASan/UBSan), ${KENC_FUZZ_SECONDS:-15} s each"
  phase "fuzzers (build and run)"
  scripts/fuzz.sh --seconds "${KENC_FUZZ_SECONDS:-15}" || status=$?
fi
print_phase_times
exit $status
