#!/usr/bin/env bash
# Creates the mutual-TLS material between the proxies and the key broker with the openssl CLI:
#   ca.crt / ca.key                  a private CA that signs only kenc certificates
#   keybroker.crt / keybroker.key    the key broker's server certificate (SAN: the DNS names given)
#   proxy-<name>.crt / .key          one client certificate per proxy identity
#                                    (CN=<name>, SAN URI spiffe://<trust domain>/proxy/<name>)
# The key broker authorizes a proxy by that URI (or CN), so one identity per proxy group that needs
# different key permissions.
#
# Idempotent: existing keys are kept; a certificate is issued only when it is missing, does not
# verify against the CA, expires within RENEW_DAYS, or does not carry the requested names.
# Private keys are written with mode 0600.
#
# Usage: make-certs.sh -o OUT_DIR -s DNS_NAME [-s DNS_NAME...] [-p PROXY_NAME...]
# Environment: TRUST_DOMAIN (kenc), CA_DAYS (3650), LEAF_DAYS (365), RENEW_DAYS (30).
set -euo pipefail

usage() {
  echo "usage: $0 -o OUT_DIR -s KEYBROKER_DNS_NAME [-s ...] [-p PROXY_NAME ...]" >&2
  exit 2
}

out=""
server_names=()
proxy_names=()
while getopts "o:s:p:h" opt; do
  case "$opt" in
    o) out="$OPTARG" ;;
    s) server_names+=("$OPTARG") ;;
    p) proxy_names+=("$OPTARG") ;;
    *) usage ;;
  esac
done
[ -n "$out" ] && [ ${#server_names[@]} -gt 0 ] || usage

trust_domain="${TRUST_DOMAIN:-kenc}"
ca_days="${CA_DAYS:-3650}"
leaf_days="${LEAF_DAYS:-365}"
renew_days="${RENEW_DAYS:-30}"

# Names end up in file names, certificate subjects and URIs: allow only a safe alphabet.
for n in "${server_names[@]}"; do
  [[ "$n" =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || { echo "make-certs: bad DNS name '$n'" >&2; exit 2; }
done
for n in "${proxy_names[@]}"; do
  [[ "$n" =~ ^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$ ]] || { echo "make-certs: bad proxy name '$n' (use a-z 0-9 . -)" >&2; exit 2; }
done
[[ "$trust_domain" =~ ^[a-z0-9.-]+$ ]] || { echo "make-certs: bad TRUST_DOMAIN" >&2; exit 2; }

umask 077
mkdir -p "$out"
cd "$out"

# Random positive 128-bit serial number (the top bit cleared so it is never read as negative).
serial() { printf '0x%x%s' $((0x$(openssl rand -hex 1) & 0x7f)) "$(openssl rand -hex 15)"; }

new_key() {  # new_key FILE: an ECDSA P-256 key, kept if it already exists.
  if [ ! -s "$1" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp"
    mv "$1.tmp" "$1"
    echo "make-certs: new key $out/$1"
  fi
  chmod 0600 "$1"
}

# The SAN extension as openssl prints it, e.g. "DNS:a, DNS:b" or "URI:spiffe://kenc/proxy/x".
san_of() { openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | sed -n '2p' | sed 's/^ *//'; }

# needs_cert CERT KEY WANT_SAN: true when CERT must be (re)issued.
needs_cert() {
  local cert="$1" key="$2" want="$3"
  [ -s "$cert" ] || return 0
  openssl verify -CAfile ca.crt "$cert" >/dev/null 2>&1 || return 0
  openssl x509 -in "$cert" -noout -checkend $((renew_days * 86400)) >/dev/null || return 0
  [ "$(openssl x509 -in "$cert" -noout -pubkey)" = "$(openssl pkey -in "$key" -pubout)" ] || return 0
  [ "$(san_of "$cert")" = "$want" ] || return 0
  return 1
}

# issue CERT KEY SUBJECT EXTENSIONS: signs KEY's public key with the CA.
issue() {
  local cert="$1" key="$2" subject="$3" ext="$4"
  printf '%s\n' "$ext" >"$cert.ext"
  openssl req -new -key "$key" -subj "$subject" -out "$cert.csr"
  openssl x509 -req -in "$cert.csr" -CA ca.crt -CAkey ca.key -set_serial "$(serial)" \
    -days "$leaf_days" -sha256 -extfile "$cert.ext" -out "$cert.tmp" 2>/dev/null
  rm -f "$cert.csr" "$cert.ext"
  chmod 0644 "$cert.tmp"
  mv "$cert.tmp" "$cert"
  echo "make-certs: issued $out/$cert ($subject)"
}

# The CA. Re-created only when missing: a new CA invalidates every certificate it signed, which
# needs_cert then re-issues.
new_key ca.key
if [ ! -s ca.crt ] || ! openssl x509 -in ca.crt -noout -checkend $((renew_days * 86400)) >/dev/null ||
   [ "$(openssl x509 -in ca.crt -noout -pubkey)" != "$(openssl pkey -in ca.key -pubout)" ]; then
  openssl req -x509 -new -key ca.key -subj "/O=kenc/CN=kenc mTLS CA" -days "$ca_days" -sha256 \
    -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out ca.crt.tmp
  chmod 0644 ca.crt.tmp
  mv ca.crt.tmp ca.crt
  echo "make-certs: new CA $out/ca.crt"
fi

# The key broker's server certificate.
want_san=""
for n in "${server_names[@]}"; do want_san+="${want_san:+, }DNS:$n"; done
new_key keybroker.key
if needs_cert keybroker.crt keybroker.key "$want_san"; then
  issue keybroker.crt keybroker.key "/O=kenc/CN=${server_names[0]}" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$want_san"
fi

# One client certificate per proxy identity.
for n in "${proxy_names[@]}"; do
  uri="spiffe://$trust_domain/proxy/$n"
  new_key "proxy-$n.key"
  if needs_cert "proxy-$n.crt" "proxy-$n.key" "URI:$uri"; then
    issue "proxy-$n.crt" "proxy-$n.key" "/O=kenc/CN=$n" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=URI:$uri"
  fi
done
echo "make-certs: $out is up to date"
