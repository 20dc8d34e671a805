#!/usr/bin/env bash
# Prepares Vault or OpenBao for the kenc key broker:
#   1. enables the Transit secrets engine (if not already enabled),
#   2. writes the least-privilege policy kenc-keybroker-policy.hcl,
#   3. enables the AppRole auth method (if not already enabled),
#   4. creates (or updates) the key broker's role with short-lived, renewable tokens,
#   5. prints the role_id and writes a new secret_id to a 0600 file.
# Run it as an operator with a token allowed to do all of that (e.g. an admin policy). It works with
# the `bao` and the `vault` CLI; set VAULT_CLI to choose one explicitly.
#
# Usage: VAULT_ADDR=https://vault.example:8200 VAULT_TOKEN=... deploy/vault/setup-approle.sh
# Environment (defaults in brackets):
#   VAULT_ADDR (required)       the server, e.g. https://vault.example:8200
#   KEK_PREFIX [KEK_]           the key broker may only use KEKs whose names start with this
#   TRANSIT_PATH [transit]      mount path of the Transit engine
#   ROLE_NAME [kenc-keybroker]  AppRole role name, also the policy name
#   TOKEN_TTL [20m], TOKEN_MAX_TTL [1h]   the key broker renews its token and logs in again at max TTL
#   SECRET_ID_TTL [720h]        lifetime of the secret_id (0 = never expires)
#   TOKEN_BOUND_CIDRS []        optional, e.g. 10.20.0.0/16: where the token may be used from
#   SECRET_ID_FILE [./kenc-keybroker.secret-id]  where the secret_id goes (mode 0600)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
: "${VAULT_ADDR:?set VAULT_ADDR, e.g. https://vault.example:8200}"
kek_prefix="${KEK_PREFIX:-KEK_}"
transit_path="${TRANSIT_PATH:-transit}"
role="${ROLE_NAME:-kenc-keybroker}"
token_ttl="${TOKEN_TTL:-20m}"
token_max_ttl="${TOKEN_MAX_TTL:-1h}"
secret_id_ttl="${SECRET_ID_TTL:-720h}"
secret_id_file="${SECRET_ID_FILE:-./kenc-keybroker.secret-id}"

[[ "$kek_prefix" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "setup-approle: KEK_PREFIX may use A-Z a-z 0-9 _ . -" >&2; exit 2; }
[[ "$transit_path" =~ ^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$ ]] || { echo "setup-approle: bad TRANSIT_PATH" >&2; exit 2; }

cli="${VAULT_CLI:-}"
if [ -z "$cli" ]; then
  cli="$(command -v bao || command -v vault || true)"
fi
[ -n "$cli" ] || { echo "setup-approle: neither bao nor vault found in PATH (or set VAULT_CLI)" >&2; exit 1; }
# OpenBao's CLI reads BAO_*; Vault's reads VAULT_*. Give both the same settings.
export BAO_ADDR="${BAO_ADDR:-$VAULT_ADDR}"
[ -z "${VAULT_TOKEN:-}" ] || export BAO_TOKEN="${BAO_TOKEN:-$VAULT_TOKEN}"
[ -z "${VAULT_NAMESPACE:-}" ] || export BAO_NAMESPACE="${BAO_NAMESPACE:-$VAULT_NAMESPACE}"
[ -z "${VAULT_CACERT:-}" ] || export BAO_CACERT="${BAO_CACERT:-$VAULT_CACERT}"

echo "setup-approle: using $cli against $VAULT_ADDR"

# 1. Transit.
# (Listings are read whole before grep: with pipefail, `cli | grep -q` fails when grep stops
# reading early and the CLI gets SIGPIPE, which made an enabled engine look missing.)
mounts="$("$cli" secrets list -format=json)"
if grep -q "\"$transit_path/\"" <<<"$mounts"; then
  echo "setup-approle: secrets engine at $transit_path/ already enabled"
else
  "$cli" secrets enable -path="$transit_path" transit
fi

# 2. The policy, with the prefix and mount path of this installation.
sed -e "s#\"transit/#\"$transit_path/#" -e "s#/KEK_\\*\"#/$kek_prefix*\"#" \
  "$here/kenc-keybroker-policy.hcl" | "$cli" policy write "$role" -

# 3. AppRole.
auth_methods="$("$cli" auth list -format=json)"
if grep -q '"approle/"' <<<"$auth_methods"; then
  echo "setup-approle: auth method approle/ already enabled"
else
  "$cli" auth enable approle
fi

# 4. The role. token_no_default_policy: the token gets only the key broker's policy.
role_args=(
  "token_policies=$role"
  "token_no_default_policy=true"
  "token_type=service"
  "token_ttl=$token_ttl"
  "token_max_ttl=$token_max_ttl"
  "secret_id_ttl=$secret_id_ttl"
  "secret_id_num_uses=0"
)
[ -z "${TOKEN_BOUND_CIDRS:-}" ] || role_args+=("token_bound_cidrs=$TOKEN_BOUND_CIDRS" "secret_id_bound_cidrs=$TOKEN_BOUND_CIDRS")
"$cli" write "auth/approle/role/$role" "${role_args[@]}"

# 5. Credentials: the role_id is an identifier (printed), the secret_id is a secret (file only).
role_id="$("$cli" read -field=role_id "auth/approle/role/$role/role-id")"
(
  umask 077
  "$cli" write -f -field=secret_id "auth/approle/role/$role/secret-id" >"$secret_id_file.tmp"
  chmod 0600 "$secret_id_file.tmp"
  mv "$secret_id_file.tmp" "$secret_id_file"
)
echo "role_id: $role_id"
echo "secret_id written to $secret_id_file (mode 0600)"
