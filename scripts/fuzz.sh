#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build folder build/fuzz/) and runs each one for a
# bounded time on its committed seed corpus (tests/fuzz/corpus/<name>/). Exits non-zero when a
# fuzzer crashes, leaks, times out on one input or trips a sanitizer; the input that did it is
# kept under build/fuzz/fuzz-runs/<name>/ and its path printed.
#
#   scripts/fuzz.sh                       every fuzzer, 60 s each (a longer local run)
#   scripts/fuzz.sh --seconds 600 --fork 2 record_batch_fuzzer
#   scripts/fuzz.sh --seconds 15          what scripts/test.sh runs in CI
#
# Fuzzers run side by side, as many at a time as there are cores (--jobs N to change; 1 with
# --fork, which already uses several processes): each is one process on one core.
#
# New inputs a run finds go to build/fuzz/fuzz-runs/<name>/corpus, never into the committed
# corpus; copy the interesting ones into tests/fuzz/corpus/<name>/ by hand (merge with
# `<fuzzer> -merge=1 tests/fuzz/corpus/<name> build/fuzz/fuzz-runs/<name>/corpus`).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
fork=0
jobs=0
build=build/fuzz
selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift ;;
    --fork) fork="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) selected+=("$1") ;;
  esac
  shift
done

# fuzzer name -> binary path inside the build folder (the corpus folder is the name minus _fuzzer).
declare -A binaries=(
  [frame_reader_fuzzer]=tests/fuzz/frame_reader_fuzzer
  [message_decoder_fuzzer]=tests/fuzz/message_decoder_fuzzer
  [record_batch_fuzzer]=tests/fuzz/record_batch_fuzzer
  [cipher_record_fuzzer]=tests/fuzz/cipher_record_fuzzer
  [proxy_config_fuzzer]=tests/fuzz/proxy_config_fuzzer
  [keybroker_config_fuzzer]=tests/fuzz/keybroker_config_fuzzer
  [topic_policy_fuzzer]=tests/fuzz/topic_policy_fuzzer
  [vault_response_fuzzer]=keybroker/kms/vault/vault_response_fuzzer
)
order=(frame_reader_fuzzer message_decoder_fuzzer record_batch_fuzzer cipher_record_fuzzer
  proxy_config_fuzzer keybroker_config_fuzzer topic_policy_fuzzer vault_response_fuzzer)
[ ${#selected[@]} -eq 0 ] && selected=("${order[@]}")
for name in "${selected[@]}"; do
  [ -n "${binaries[$name]:-}" ] || { echo "fuzz.sh: unknown fuzzer '$name' (known: ${order[*]})" >&2; exit 2; }
done

clang_cxx=$(command -v clang++ || true)
clang_c=$(command -v clang || true)
if [ -z "$clang_cxx" ] || [ -z "$clang_c" ]; then
  echo "fuzz.sh: clang and clang++ are needed (Debian package: clang)" >&2
  exit 2
fi
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B "$build" -G Ninja -DKENC_FUZZ=ON -DKENC_WERROR=$werror -DKENC_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$clang_cxx" -DCMAKE_C_COMPILER="$clang_c" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${selected[@]}"

if [ "$jobs" -le 0 ]; then
  jobs=$(nproc)
  [ "$fork" -gt 0 ] && jobs=1
fi

# One fuzzer's run; its exit status goes to $run/status (read below, in the listed order).
run_fuzzer() {
  local name=$1
  local corpus_name=${name%_fuzzer}
  local run="$build/fuzz-runs/$name"
  mkdir -p "$run/corpus" "$run/artifacts"
  local seeds=()
  [ -d "tests/fuzz/corpus/$corpus_name" ] && seeds+=("tests/fuzz/corpus/$corpus_name")
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
    -print_final_stats=1 -artifact_prefix="$run/artifacts/")
  [ "$fork" -gt 0 ] && args+=(-fork="$fork" -ignore_crashes=0)
  local status=0
  "$build/${binaries[$name]}" "${args[@]}" "$run/corpus" "${seeds[@]}" >"$run/log" 2>&1 || status=$?
  echo "$status" >"$run/status"
}

echo "== ${#selected[@]} fuzzers, ${seconds} s each, $jobs at a time (logs: $build/fuzz-runs/<name>/log)"
for name in "${selected[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  rm -f "$build/fuzz-runs/$name/status"
  run_fuzzer "$name" &
done
wait

failed=()
for name in "${selected[@]}"; do
  run="$build/fuzz-runs/$name"
  echo "== $name"
  if [ "$(cat "$run/status" 2>/dev/null || echo missing)" = "0" ]; then
    grep -E '^stat::number_of_executed_units' "$run/log" | sed "s/^/   /" || true
  else
    echo "   FAILED: $name; last lines of $run/log:"
    tail -n 40 "$run/log" | sed 's/^/   | /'
    ls "$run/artifacts"/* 2>/dev/null | sed 's/^/   input: /' || true
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} fuzzer(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#selected[@]} fuzzers ran ${seconds} s each without a finding"
