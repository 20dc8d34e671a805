#!/usr/bin/env bash
# Prepares the Kafka test world without running a test: fetches the pinned Kafka jars into
# <build>/world/kafka-<version>/libs the way the fixture does (same marker, so tests reuse them).
# Useful to warm a CI cache, or to fetch while nothing else is using the network.
#
#   scripts/kafka-world.sh fetch [build-dir]     (default build-dir: build)
#   scripts/kafka-world.sh version
set -euo pipefail
cd "$(dirname "$0")/.."

pom=tests/world/kafka/pom.xml
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n1)
[ -n "$version" ] || { echo "no <kafka.version> in $pom" >&2; exit 1; }

case "${1:-}" in
  version)
    echo "$version"
    ;;
  fetch)
    world=$(realpath -m "${2:-build}/world")
    home="$world/kafka-$version"
    if [ -f "$home/.complete" ] && cmp -s "$home/.complete" "$pom"; then
      echo "Kafka $version jars already in $home/libs"
      exit 0
    fi
    command -v mvn >/dev/null || { echo "mvn is missing: run scripts/setup.sh" >&2; exit 1; }
    mkdir -p "$home"
    # The fixture takes the same lock (<world>/kafka-distribution.lock) before it fetches.
    exec 9>"$world/kafka-distribution.lock"
    flock 9
    rm -rf "$home/libs"
    start=$(date +%s)
    mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$home/libs"
    ls "$home"/libs/kafka_2.13-"$version".jar >/dev/null  # fail here rather than mark it complete
    cp "$pom" "$home/.complete"
    echo "Kafka $version jars in $home/libs ($(ls "$home/libs" | wc -l) jars, $(( $(date +%s) - start )) s)"
    ;;
  *)
    sed -n '2,8p' "$0" >&2
    exit 2
    ;;
esac
