#!/usr/bin/env bash
# Checks the systemd units offline: `systemd-analyze verify` must print nothing (it reports unknown
# keys and bad values on stderr but still exits 0, so any output counts as a failure) and
# `systemd-analyze security --offline` must rate each unit at most EXPOSURE_MAX (default 20, i.e. 2.0 on
# the 0-10 scale it prints).
# The ExecStart binaries need not be installed: the units are checked with the paths pointed at
# /bin/true in a temporary copy.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
exposure_max="${EXPOSURE_MAX:-20}"
command -v systemd-analyze >/dev/null || { echo "check-units: systemd-analyze not found" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for unit in "$here"/*.service; do
  name="$(basename "$unit")"
  sed 's#/usr/local/bin/kenc-[a-z]*#/bin/true#g' "$unit" >"$work/$name"
  out="$(systemd-analyze verify "$work/$name" 2>&1)" || true
  if [ -n "$out" ]; then
    echo "FAIL $name: systemd-analyze verify reported:"; echo "$out"; status=1
  else
    echo "ok   $name: systemd-analyze verify clean"
  fi
  if ! systemd-analyze security --offline=true --threshold="$exposure_max" "$work/$name" >"$work/security.txt" 2>&1; then
    echo "FAIL $name: exposure above $exposure_max:"; tail -1 "$work/security.txt"; status=1
  else
    echo "ok   $name: $(grep 'Overall exposure' "$work/security.txt" | sed 's/.*: //')"
  fi
  # The requirements of the deployment brief, checked literally so an edit cannot drop one.
  for want in "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "NoNewPrivileges=yes" \
      "CapabilityBoundingSet=" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
      "MemoryDenyWriteExecute=yes" "LockPersonality=yes" "SystemCallFilter=@system-service" \
      "Restart=on-failure" "KillSignal=SIGTERM"; do
    grep -qxF "$want" "$unit" || { echo "FAIL $name: missing line '$want'"; status=1; }
  done
  grep -q '^ExecStartPre=.* --check-config$' "$unit" || { echo "FAIL $name: no ExecStartPre --check-config"; status=1; }
  grep -q '^TimeoutStopSec=' "$unit" || { echo "FAIL $name: no TimeoutStopSec"; status=1; }
  user="$(sed -n 's/^User=//p' "$unit")"
  grep -Eq "^u[[:space:]]+$user[[:space:]]" "$here/kenc.sysusers.conf" ||
    { echo "FAIL $name: user '$user' not created in kenc.sysusers.conf"; status=1; }
done
grep -q '^ReadWritePaths=.*/var/log/kenc-keybroker' "$here/kenc-keybroker.service" ||
  { echo "FAIL keybroker: audit log folder not writable"; status=1; }
grep -q '^LimitNOFILE=[0-9]\{6,\}' "$here/kenc-proxy.service" ||
  { echo "FAIL proxy: LimitNOFILE not high"; status=1; }
exit $status
