#!/usr/bin/env bash
# Fast check of the Vault/OpenBao artefacts, without a Vault server:
#  - the policy grants exactly read on keys/KEK_*, update on datakey/plaintext/KEK_* and
#    decrypt/KEK_*, token self-renewal and look-up, and denies export, backup and restore;
#  - setup-approle.sh, run against a stand-in CLI that records its calls, issues the expected
#    commands in order (prefix and mount path substituted into the policy), prints the role_id
#    and writes the secret_id to a 0600 file, for both the `bao` and the `vault` CLI names.
# The policy's effect on a real server is not exercised here (see deploy/README.md).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The policy, as "path capabilities" lines.
python3 - "$here/kenc-keybroker-policy.hcl" >"$work/rules" <<'PY'
import re, sys
text = re.sub(r"#[^\n]*", "", open(sys.argv[1]).read())
blocks = re.findall(r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}', text)
leftover = re.sub(r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}', "", text).strip()
if leftover:
    sys.exit("unparsed policy text: " + leftover[:200])
for path, caps in blocks:
    print(path, " ".join(sorted(c.strip().strip('"') for c in caps.split(","))))
PY
expected='auth/token/lookup-self read
auth/token/renew-self update
transit/backup/* deny
transit/datakey/plaintext/KEK_* update
transit/decrypt/KEK_* update
transit/export/* deny
transit/keys/KEK_* read
transit/restore deny
transit/restore/* deny'
[ "$(sort "$work/rules")" = "$expected" ] || fail "policy rules differ from the least-privilege set:
$(sort "$work/rules")"
echo "ok   policy grants exactly the least-privilege set"

# A stand-in CLI: records each call (and the policy it is given on stdin), answers like Vault.
mkdir -p "$work/bin"
cat >"$work/bin/fakecli" <<'FAKE'
#!/usr/bin/env bash
echo "$*" >>"$FAKE_LOG"
case "$1 $2" in
  "secrets list") echo '{"cubbyhole/":{"type":"cubbyhole"}}' ;;
  "auth list") echo '{"token/":{"type":"token"}}' ;;
  "policy write") cat >"$FAKE_POLICY" ;;
  "read -field=role_id") echo "11111111-2222-3333-4444-555555555555" ;;
  "write -f") echo "secret-abcdef" ;;
esac
FAKE
chmod +x "$work/bin/fakecli"
for name in bao vault; do
  ln -sf fakecli "$work/bin/$name"
  export FAKE_LOG="$work/$name.log" FAKE_POLICY="$work/$name.policy"
  : >"$FAKE_LOG"
  out="$(PATH="$work/bin:/usr/bin:/bin" VAULT_CLI="$work/bin/$name" VAULT_ADDR=http://127.0.0.1:1 \
    KEK_PREFIX=orders- TRANSIT_PATH=kms SECRET_ID_FILE="$work/$name.secret" TOKEN_BOUND_CIDRS=10.0.0.0/8 \
    "$here/setup-approle.sh")"
  want_calls='secrets list -format=json
secrets enable -path=kms transit
policy write kenc-keybroker -
auth list -format=json
auth enable approle
write auth/approle/role/kenc-keybroker token_policies=kenc-keybroker token_no_default_policy=true token_type=service token_ttl=20m token_max_ttl=1h secret_id_ttl=720h secret_id_num_uses=0 token_bound_cidrs=10.0.0.0/8 secret_id_bound_cidrs=10.0.0.0/8
read -field=role_id auth/approle/role/kenc-keybroker/role-id
write -f -field=secret_id auth/approle/role/kenc-keybroker/secret-id'
  [ "$(cat "$FAKE_LOG")" = "$want_calls" ] || fail "$name: unexpected CLI calls:
$(cat "$FAKE_LOG")"
  grep -q '^path "kms/keys/orders-\*"' "$FAKE_POLICY" || fail "$name: prefix/mount not substituted"
  grep -v '^#' "$FAKE_POLICY" | grep -q 'KEK_\|"transit/' && fail "$name: default prefix or mount left in policy"
  echo "$out" | grep -qx "role_id: 11111111-2222-3333-4444-555555555555" || fail "$name: role_id not printed"
  echo "$out" | grep -q "secret-abcdef" && fail "$name: secret_id printed"
  [ "$(cat "$work/$name.secret")" = "secret-abcdef" ] || fail "$name: secret_id file content"
  [ "$(stat -c %a "$work/$name.secret")" = "600" ] || fail "$name: secret_id file mode $(stat -c %a "$work/$name.secret")"
  rm "$work/bin/$name"
done
echo "ok   setup-approle.sh issues the expected bao/vault commands; secret_id only in a 0600 file"

# Missing VAULT_ADDR is refused.
(unset VAULT_ADDR; "$here/setup-approle.sh" >/dev/null 2>&1) && fail "ran without VAULT_ADDR"
echo "check-vault: all checks passed"
