#!/usr/bin/env bash
# The demo: record encryption end to end on one machine, in about 15 seconds once built.
#
#   1. installs what is missing (scripts/setup.sh) and builds kenc-proxy and kenc-keybroker;
#   2. starts a local Apache Kafka broker, the key broker with the embedded local KMS (KEKs are
#      created on first use) behind mutual TLS with certificates made on the fly, and the proxy
#      with an `encryption:` block for the topic `orders`;
#   3. produces sample records through the proxy, reads them back through the proxy (plaintext),
#      then reads the same records directly from Kafka (ciphertext, with the `kenc` header);
#   4. stops everything and removes its temporary folder.
#
# Everything listens on 127.0.0.1 only. Environment: KENC_BUILD_DIR (default build) is the CMake
# build folder to use; KENC_DEMO_KEEP=1 keeps the temporary folder (configs, logs, audit log).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(realpath -m "${KENC_BUILD_DIR:-build}")
say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

say "Step 1/7: installing what is missing (scripts/setup.sh) and building kenc"
scripts/setup.sh
# An existing build folder keeps its own settings; a fresh one is configured here.
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target kenc-proxy kenc-keybroker
proxy_bin="$build/proxy/kenc-proxy"
keybroker_bin="$build/keybroker/kenc-keybroker"

kafka_version=$(scripts/kafka-world.sh version)
say "Step 2/7: fetching Apache Kafka $kafka_version (once; cached under $build/world)"
scripts/kafka-world.sh fetch "$build"
libs="$build/world/kafka-$kafka_version/libs"

demo=$(mktemp -d /tmp/kenc-demo.XXXXXX)
kafka_pid="" keybroker_pid="" proxy_pid=""
# On any exit (also Ctrl-C or a failed step) nothing is left running.
cleanup() {
  for pid in $proxy_pid $keybroker_pid $kafka_pid; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KENC_DEMO_KEEP:-0}" = 1 ]; then echo "kept $demo"; else rm -rf "$demo"; fi
}
trap cleanup EXIT
note "working folder: $demo (configurations, certificates, logs; removed at the end)"
# Logs of a step that failed, so a failure explains itself.
fail() {
  echo "demo FAILED: $*" >&2
  for log in "$demo"/{certs,kafka-format,kafka-stdout,keybroker,proxy}.log; do
    [ -s "$log" ] && { echo "--- last lines of $log" >&2; tail -n 15 "$log" >&2; }
  done
  [ -s "$demo/kafka.log" ] && echo "(Kafka's own log: $demo/kafka.log; KENC_DEMO_KEEP=1 keeps it)" >&2
  exit 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_free() { python3 -c "import socket; socket.socket().bind(('127.0.0.1', $1))" 2>/dev/null; }
broker_port=$(free_port)
controller_port=$(free_port)
keybroker_port=$(free_port)
keybroker_admin_port=$(free_port)
proxy_admin_port=$(free_port)
proxy_port=$(free_port)
# Port-per-broker: Kafka node 1 is served on the bootstrap port + 1, which must be free too.
while ! port_free $((proxy_port + 1)); do proxy_port=$(free_port); done

say "Step 3/7: starting a Kafka broker on 127.0.0.1:$broker_port"
cat >"$demo/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$broker_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$broker_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$demo/kafka-data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
PROPS
java_opts=(-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Dlog4j2.configurationFile="$root/tests/world/kafka/log4j2.properties"
  -Dkenc.log.file="$demo/kafka.log" -cp "$libs/*")
java "${java_opts[@]}" kafka.tools.StorageTool format --cluster-id=kencDemoCluster0000001 \
  -c "$demo/server.properties" >"$demo/kafka-format.log" 2>&1 || fail "formatting Kafka storage"
java "${java_opts[@]}" kafka.Kafka "$demo/server.properties" >"$demo/kafka-stdout.log" 2>&1 &
kafka_pid=$!
ready=0
for _ in $(seq 1 240); do
  kcat -b "127.0.0.1:$broker_port" -L -m 1 >/dev/null 2>&1 && { ready=1; break; }
  kill -0 "$kafka_pid" 2>/dev/null || break
  sleep 0.5
done
[ $ready = 1 ] || fail "Kafka did not start"
note "Kafka is up"

say "Step 4/7: starting the key broker (mutual TLS on 127.0.0.1:$keybroker_port, embedded local KMS)"
note "making a throw-away CA, the key broker's server certificate and the proxy's client"
note "certificate with deploy/certs/make-certs.sh (the proxy's identity: spiffe://kenc/proxy/demo)"
deploy/certs/make-certs.sh -o "$demo/certs" -s localhost -p demo >"$demo/certs.log" 2>&1 ||
  fail "making certificates"
cat >"$demo/keybroker.yaml" <<YAML
listen: 127.0.0.1:$keybroker_port
tls:
  ca_file: $demo/certs/ca.crt              # proxies' client certificates must chain to it
  cert_file: $demo/certs/keybroker.crt
  key_file: $demo/certs/keybroker.key
kms:
  type: local                              # development KMS: KEKs in a 0600 file
  local:
    key_file: $demo/keks.json
    create_missing_keks: true              # KEK_orders is created on first use
audit:
  path: $demo/keybroker-audit.jsonl        # one JSON line per key request
admin:
  listen: 127.0.0.1:$keybroker_admin_port
authorization:
  rules:
    - identities: ["spiffe://kenc/proxy/demo"]
      keks: ["KEK_*"]
      operations: [lease, unwrap, resolve]
YAML
"$keybroker_bin" --config "$demo/keybroker.yaml" --check-config >/dev/null ||
  fail "the key broker's configuration was refused"
"$keybroker_bin" --config "$demo/keybroker.yaml" >"$demo/keybroker.log" 2>&1 &
keybroker_pid=$!
ready=0
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$keybroker_admin_port/readyz" >/dev/null 2>&1 && { ready=1; break; }
  kill -0 "$keybroker_pid" 2>/dev/null || break
  sleep 0.1
done
[ $ready = 1 ] || fail "the key broker did not start"
note "key broker is up (admin: http://127.0.0.1:$keybroker_admin_port/metrics)"

say "Step 5/7: starting kenc-proxy on 127.0.0.1:$proxy_port, encrypting topic 'orders'"
cat >"$demo/proxy.yaml" <<YAML
admin:
  address: "127.0.0.1:$proxy_admin_port"
virtual_clusters:
  - name: demo
    upstream:
      bootstrap_servers: ["127.0.0.1:$broker_port"]
    gateway:
      bootstrap: "127.0.0.1:$proxy_port"
      port_per_broker: {node_id_min: 1, node_id_max: 1}   # Kafka node 1 -> port $((proxy_port + 1))
    encryption:
      key_broker:
        target: "127.0.0.1:$keybroker_port"
        ca_file: $demo/certs/ca.crt
        cert_file: $demo/certs/proxy-demo.crt
        key_file: $demo/certs/proxy-demo.key
        server_name_override: localhost      # the name in the key broker's certificate
      topics:
        rules:
          - exact: orders
            kek: "KEK_\$(topicName)"         # topic orders -> KEK alias KEK_orders
        unmatched_topic: passthrough         # other topics stay plaintext
YAML
sed 's/^/   | /' "$demo/proxy.yaml" | sed -n '/encryption:/,$p'
"$proxy_bin" --config "$demo/proxy.yaml" --check-config >/dev/null ||
  fail "the proxy's configuration was refused"
"$proxy_bin" --config "$demo/proxy.yaml" >"$demo/proxy.log" 2>&1 &
proxy_pid=$!
ready=0
for _ in $(seq 1 100); do
  kcat -b "127.0.0.1:$proxy_port" -L -m 1 >/dev/null 2>&1 && { ready=1; break; }
  kill -0 "$proxy_pid" 2>/dev/null || break
  sleep 0.2
done
[ $ready = 1 ] || fail "the proxy did not start"
note "proxy is up; clients are given only 127.0.0.1:$proxy_port"

say "Step 6/7: producing 5 records to 'orders' through the proxy"
records=()
for i in 1 2 3 4 5; do records+=("order-$i:{\"order\":$i,\"card\":\"4111-1111-1111-111$i\"}"); done
printf '%s\n' "${records[@]}" | sed 's/^/   /'
printf '%s\n' "${records[@]}" |
  kcat -b "127.0.0.1:$proxy_port" -P -t orders -K: ||
  fail "producing through the proxy"
note "produced"

say "Reading 'orders' back THROUGH THE PROXY (what applications see: plaintext)"
kcat -b "127.0.0.1:$proxy_port" -C -t orders -o beginning -c 5 -e -q -f '   %k => %s\n' ||
  fail "consuming through the proxy"

say "Reading the same records DIRECTLY FROM KAFKA at 127.0.0.1:$broker_port (what the broker stores: ciphertext)"
note "each value is a cipher record: the KEK name, the DEK wrapped by the KEK, then the encrypted"
note "value (bytes shown as '.' when not printable); the header kenc=\\x01 marks format version 1"
kcat -b "127.0.0.1:$broker_port" -C -t orders -o beginning -c 5 -e -q \
  -f '%k\t%h\t%S\t%s\n' >"$demo/direct.out" || fail "consuming directly from Kafka"
python3 - "$demo/direct.out" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
# Records are key \t headers \t value size \t value \n; a value may contain any byte, so cut by size.
pos = 0
while pos < len(data):
    key, pos = data[pos:data.index(b"\t", pos)], data.index(b"\t", pos) + 1
    headers, pos = data[pos:data.index(b"\t", pos)], data.index(b"\t", pos) + 1
    size_end = data.index(b"\t", pos)
    size = int(data[pos:size_end]); pos = size_end + 1
    value = data[pos:pos + size]; pos += size + 1
    shown = headers.decode("latin-1").replace("\x01", "\\x01")
    printable = "".join(chr(b) if 0x21 <= b < 0x7f else "." for b in value)
    print(f"   {key.decode()} => headers [{shown}] value ({size} bytes) {printable[:90]}...")
PY
if grep -q "4111-1111" "$demo/direct.out"; then
  fail "a card number is readable directly in Kafka: the records were not encrypted"
fi
note "no card number appears in what Kafka returns: the values are encrypted"

say "The key broker's audit log (one line per key request; no key material)"
sed 's/^/   /' "$demo/keybroker-audit.jsonl"
note "KEKs in the local KMS file: $(python3 -c 'import json,sys; print(", ".join(json.load(open(sys.argv[1]))["keks"]))' "$demo/keks.json")"

say "The proxy's encryption metrics (http://127.0.0.1:$proxy_admin_port/metrics)"
curl -sf "http://127.0.0.1:$proxy_admin_port/metrics" |
  grep -E '^kenc_proxy_encryption_(records|dek_leases|dek_unwraps)_total' | grep -v ' 0$' | sed 's/^/   /' || true

say "Step 7/7: stopping the proxy, the key broker and Kafka"
stop() {  # stop NAME PID: SIGTERM, wait for the exit status
  local name=$1 pid=$2 status=0
  kill -TERM "$pid"
  wait "$pid" || status=$?
  note "$name stopped (exit status $status)"
  [ "$status" = 0 ] || fail "$name did not stop cleanly"
}
stop kenc-proxy "$proxy_pid"
proxy_pid=""
stop kenc-keybroker "$keybroker_pid"
keybroker_pid=""
# The JVM exits with 143 on SIGTERM after its shutdown hooks ran: that is a clean stop too.
kill -TERM "$kafka_pid"
status=0
wait "$kafka_pid" || status=$?
kafka_pid=""
note "kafka stopped (exit status $status; 143 is the JVM's normal answer to SIGTERM)"
say "Demo finished: everything stopped"
