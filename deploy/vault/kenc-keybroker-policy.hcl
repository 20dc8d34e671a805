# Least-privilege Vault / OpenBao policy for the kenc key broker.
#
# The key broker only ever:
#   - reads KEK metadata (latest_version, min_decryption_version; never key material),
#   - asks Transit for a new data key (plaintext DEK + its wrapped form, the EDEK),
#   - unwraps an EDEK it was handed by a proxy.
# Everything it may touch is limited to KEKs whose names start with the prefix "KEK_"
# (setup-approle.sh rewrites the prefix and the mount path when KEK_PREFIX / TRANSIT_PATH are set).
#
# Vault policies are allow-lists: what is not granted here is refused. The key broker gets only
# "read" below transit/keys/KEK_* (the trailing * also covers sub-paths such as .../config,
# .../rotate and .../trim), so it cannot create, reconfigure, rotate, trim or delete a KEK: those
# need "create", "update" or "delete". Deleting a Transit key also needs deletion_allowed=true,
# which only "update" on .../config could set. Vault cannot deny the delete operation alone on a path
# whose read the key broker needs, so "no delete" is achieved by granting read only.
# Export, backup and restore live outside transit/keys and are denied explicitly as well, so that a
# grant on the same paths in another policy attached to the token by mistake does not take effect
# (for one path, "deny" wins over any capability merged from other policies).

path "transit/keys/KEK_*" {
  capabilities = ["read"]
}

path "transit/datakey/plaintext/KEK_*" {
  capabilities = ["update"]
}

path "transit/decrypt/KEK_*" {
  capabilities = ["update"]
}

path "transit/export/*" {
  capabilities = ["deny"]
}

path "transit/backup/*" {
  capabilities = ["deny"]
}

path "transit/restore/*" {
  capabilities = ["deny"]
}

path "transit/restore" {
  capabilities = ["deny"]
}

# The AppRole role is created with token_no_default_policy=true, so the two token self-service
# calls the key broker needs (renewal before the TTL runs out, and a look-up at start-up) are
# granted here instead of through Vault's broader "default" policy.
path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}
