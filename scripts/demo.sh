#!/usr/bin/env bash
# The demo: builds kenc, starts a local Apache Kafka broker and the kenc proxy in front of it, and
# shows clients working through the proxy without ever learning the broker's address. Everything
# runs on 127.0.0.1 and is stopped at the end. (Record encryption joins this demo when the
# encryption filter lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf '\n== %s\n' "$*"; }

say "Installing what is missing and building kenc"
scripts/setup.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target kenc-proxy kenc-keybroker

say "Fetching Apache Kafka $(scripts/kafka-world.sh version) (once; cached under build/world)"
scripts/kafka-world.sh fetch build
libs="$root/build/world/kafka-$(scripts/kafka-world.sh version)/libs"

demo=$(mktemp -d /tmp/kenc-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
broker_port=$(free_port)
controller_port=$(free_port)
proxy_port=$(free_port)
# Port-per-broker: broker 1 is served on the bootstrap port + 1, which must be free too.
while ! python3 -c "import socket; socket.socket().bind(('127.0.0.1', $proxy_port + 1))" 2>/dev/null; do
  proxy_port=$(free_port)
done

say "Starting a Kafka broker on 127.0.0.1:$broker_port"
cat > "$demo/server.properties" <<PROPS
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
group.initial.rebalance.delay.ms=0
PROPS
java_opts=(-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
           -Dlog4j2.configurationFile="$root/tests/world/kafka/log4j2.properties"
           -Dkenc.log.file="$demo/broker.log" -cp "$libs/*")
java "${java_opts[@]}" kafka.tools.StorageTool format --cluster-id=kencDemoCluster0000001 \
  -c "$demo/server.properties" >/dev/null
java "${java_opts[@]}" kafka.Kafka "$demo/server.properties" >"$demo/broker.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do kcat -b "127.0.0.1:$broker_port" -L -m 1 >/dev/null 2>&1 && break; sleep 0.5; done

say "Starting kenc-proxy: bootstrap 127.0.0.1:$proxy_port, broker 1 at 127.0.0.1:$((proxy_port + 1))"
cat > "$demo/proxy.yaml" <<YAML
virtual_clusters:
  - name: demo
    upstream:
      bootstrap_servers: ["127.0.0.1:$broker_port"]
    gateway:
      bootstrap: "127.0.0.1:$proxy_port"
      port_per_broker:
        node_id_min: 1
        node_id_max: 1
YAML
build/proxy/kenc-proxy --config "$demo/proxy.yaml" 2>"$demo/proxy.log" &
pids+=($!)
for _ in $(seq 1 50); do kcat -b "127.0.0.1:$proxy_port" -L -m 1 >/dev/null 2>&1 && break; sleep 0.2; done

say "Metadata as a client sees it through the proxy (the broker's real port never appears)"
kcat -b "127.0.0.1:$proxy_port" -L | head -4

say "Producing 5 records through the proxy"
for i in 1 2 3 4 5; do echo "order-$i:{\"order\":$i,\"card\":\"4111-1111-1111-111$i\"}"; done |
  kcat -b "127.0.0.1:$proxy_port" -P -t orders -K:
echo "done"

say "Reading them back through the proxy"
kcat -b "127.0.0.1:$proxy_port" -C -t orders -o beginning -c 5 -e -q -f '%k => %s\n'

say "Done: stopping the proxy and Kafka"
