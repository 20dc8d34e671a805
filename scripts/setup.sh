#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, from Debian packages, on a fresh
# machine. Idempotent: a second run installs nothing and takes a second.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libssl-dev libasio-dev libcurl4-openssl-dev libgoogle-glog-dev
  libyaml-cpp-dev nlohmann-json3-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
  # tests, benchmarks, fuzzing, code generation
  libgtest-dev libgmock-dev libbenchmark-dev librdkafka-dev kcat
  clang clang-tidy clang-format lld python3 python3-jinja2 python3-confluent-kafka
  # clang's libFuzzer and sanitizer runtimes (scripts/fuzz.sh): only recommended by clang, and
  # recommended packages are left out below
  libclang-rt-dev
  openssl curl procps haproxy python3-yaml systemd
)

# Intel's libipsec-mb, the record cipher's AES-256-GCM, exists for x86-64 only; elsewhere the
# build uses OpenSSL's (cmake/Dependencies.cmake, KENC_AES_GCM).
if [ "$(dpkg --print-architecture)" = "amd64" ]; then
  packages+=(libipsec-mb-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The test world runs Apache Kafka on Java 17 and fetches its jars with Maven.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then
  missing+=(openjdk-17-jdk-headless)
fi
command -v mvn >/dev/null || missing+=(maven)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# OpenBao (the test world's KMS) is built with Go >= 1.24. A Go that can fetch toolchains
# (>= 1.21) gets the right one from the Go module proxy by itself (GOTOOLCHAIN=auto).
go_minor() { go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p'; }
if ! command -v go >/dev/null || [ "$(go_minor)" -lt 21 ]; then
  echo "setup: installing Go from Debian"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go
  if [ "$(go_minor)" -lt 21 ]; then
    echo "setup: Go $(go env GOVERSION) is too old to build OpenBao (need >= 1.21 to fetch a newer toolchain)" >&2
    exit 1
  fi
fi
echo "setup: all dependencies present"
