#!/usr/bin/env bash
# Self-test of make-certs.sh: runs it into a temporary folder and checks what it made.
#  - every leaf verifies against the CA for its purpose (server / client) and not for the other;
#  - names: the key broker's DNS SANs, each proxy's CN and spiffe URI SAN; keys match certificates;
#  - private keys are mode 0600;
#  - a second run changes nothing; a new DNS name re-issues only the server certificate, same key;
#  - a real mutual-TLS handshake on 127.0.0.1 (openssl s_server / s_client) succeeds with a proxy
#    certificate, and fails without one and with one from another CA.
# Exits non-zero on the first failure, with the reason.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
make_certs="$here/make-certs.sh"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

out="$work/certs"
"$make_certs" -o "$out" -s kenc-keybroker.kenc-keys.svc -s localhost -p orders -p billing >"$work/run1.log"

# Chains and purposes.
openssl verify -CAfile "$out/ca.crt" -purpose sslserver "$out/keybroker.crt" >/dev/null ||
  fail "keybroker.crt does not verify as a server certificate"
openssl verify -CAfile "$out/ca.crt" -purpose sslclient "$out/keybroker.crt" >/dev/null 2>&1 &&
  fail "keybroker.crt must not be usable as a client certificate"
for p in orders billing; do
  openssl verify -CAfile "$out/ca.crt" -purpose sslclient "$out/proxy-$p.crt" >/dev/null ||
    fail "proxy-$p.crt does not verify as a client certificate"
  openssl verify -CAfile "$out/ca.crt" -purpose sslserver "$out/proxy-$p.crt" >/dev/null 2>&1 &&
    fail "proxy-$p.crt must not be usable as a server certificate"
done
ok "chains verify against ca.crt, server/client purposes separated"

# Names.
san() { openssl x509 -in "$1" -noout -ext subjectAltName | sed -n '2p' | sed 's/^ *//'; }
[ "$(san "$out/keybroker.crt")" = "DNS:kenc-keybroker.kenc-keys.svc, DNS:localhost" ] ||
  fail "keybroker SAN is '$(san "$out/keybroker.crt")'"
for p in orders billing; do
  [ "$(san "$out/proxy-$p.crt")" = "URI:spiffe://kenc/proxy/$p" ] || fail "proxy-$p SAN is '$(san "$out/proxy-$p.crt")'"
  openssl x509 -in "$out/proxy-$p.crt" -noout -subject | grep -q "CN = $p\$" || fail "proxy-$p CN"
done
openssl x509 -in "$out/ca.crt" -noout -ext basicConstraints | grep -q "CA:TRUE" || fail "CA is not a CA"
for c in keybroker proxy-orders proxy-billing; do
  [ "$(openssl x509 -in "$out/$c.crt" -noout -pubkey)" = "$(openssl pkey -in "$out/$c.key" -pubout)" ] ||
    fail "$c.key does not match $c.crt"
  openssl x509 -in "$out/$c.crt" -noout -checkend $((300 * 86400)) >/dev/null || fail "$c.crt lives < 300 days"
done
ok "SANs, CNs, key/certificate pairs and lifetimes"

# Modes.
for k in "$out"/*.key; do
  [ "$(stat -c %a "$k")" = "600" ] || fail "$(basename "$k") has mode $(stat -c %a "$k")"
done
ok "private keys are 0600"

# Idempotence.
sums() { (cd "$out" && sha256sum ./*); }
before="$(sums)"
"$make_certs" -o "$out" -s kenc-keybroker.kenc-keys.svc -s localhost -p orders -p billing >"$work/run2.log"
[ "$(sums)" = "$before" ] || fail "second run changed files: $(cat "$work/run2.log")"
grep -q "issued\|new " "$work/run2.log" && fail "second run issued something: $(cat "$work/run2.log")"
ok "second run changes nothing"

key_before="$(sha256sum <"$out/keybroker.key")"
orders_before="$(sha256sum <"$out/proxy-orders.crt")"
"$make_certs" -o "$out" -s kenc-keybroker.kenc-keys.svc -s localhost -s kenc-keybroker >"$work/run3.log"
[ "$(san "$out/keybroker.crt")" = "DNS:kenc-keybroker.kenc-keys.svc, DNS:localhost, DNS:kenc-keybroker" ] ||
  fail "new DNS name not added: '$(san "$out/keybroker.crt")'"
[ "$(sha256sum <"$out/keybroker.key")" = "$key_before" ] || fail "re-issue replaced the server key"
[ "$(sha256sum <"$out/proxy-orders.crt")" = "$orders_before" ] || fail "re-issue touched a proxy certificate"
ok "a new DNS name re-issues only the server certificate, key kept"

# Bad names are refused.
"$make_certs" -o "$out" -s localhost -p 'Bad/Name' >/dev/null 2>&1 && fail "accepted proxy name 'Bad/Name'"
ok "bad names refused"

# A real mutual-TLS handshake on loopback.
other="$work/other"
"$make_certs" -o "$other" -s localhost -p orders >/dev/null
port=""
for _ in 1 2 3 4 5; do
  candidate=$((20000 + RANDOM % 20000))
  openssl s_server -accept "127.0.0.1:$candidate" -cert "$out/keybroker.crt" -key "$out/keybroker.key" \
    -CAfile "$out/ca.crt" -Verify 1 -verify_return_error -tls1_3 -quiet \
    </dev/null >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do
    if grep -q "ACCEPT" "$work/server.log" 2>/dev/null || (echo >"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      port="$candidate"; break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] && break
  kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""
done
[ -n "$port" ] || fail "could not start openssl s_server on 127.0.0.1: $(cat "$work/server.log")"

handshake() {  # handshake [client cert args...]: prints what s_client saw
  sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername kenc-keybroker.kenc-keys.svc \
    -verify_hostname kenc-keybroker.kenc-keys.svc -CAfile "$out/ca.crt" -verify_return_error -tls1_3 \
    "$@" 2>&1 || true
}
# A TLS 1.3 server rejects a missing or bad client certificate after the client has finished its
# side of the handshake, so the rejection shows as an alert only when the client reads: the client
# keeps its input open for a second to read it.
good="$(handshake -cert "$out/proxy-orders.crt" -key "$out/proxy-orders.key")"
echo "$good" | grep -q "Verify return code: 0 (ok)" || fail "mTLS handshake with proxy-orders failed: $good"
echo "$good" | grep -qi "alert" && fail "server alerted on a good client certificate: $good"
none="$(handshake)"
echo "$none" | grep -qi "alert certificate required" ||
  fail "handshake without a client certificate was not rejected: $none"
foreign="$(handshake -cert "$other/proxy-orders.crt" -key "$other/proxy-orders.key")"
echo "$foreign" | grep -qi "alert unknown ca" ||
  fail "handshake with another CA's client certificate was not rejected: $foreign"
ok "mTLS on 127.0.0.1:$port: proxy certificate accepted, none and foreign CA rejected"
echo "check-certs: all checks passed"
