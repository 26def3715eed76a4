#!/usr/bin/env bash
# Creates a least-privilege API token for proxmox_backup_exporter on a
# Proxmox Backup Server (run as root) and prints the exporter's
# configuration for it. Safe to run again: existing objects are kept;
# --rotate replaces the token.
#
# Privileges (PBS intersects a token's ACLs with its user's, so both get
# them):
#   Audit on /            Sys.Audit and Datastore.Audit: datastores, usage,
#                         namespaces, groups, snapshots, GC, verify, prune
#                         and tape jobs. Never Admin.
#   RemoteAudit on /remote
#                         without Remote.Audit, /admin/sync silently leaves
#                         out every sync job that pulls from a remote.
set -euo pipefail

user="monitor@pbs"
token="exporter"
rotate=0
secret_file=""

usage() {
  cat <<USAGE
usage: $0 [--user USER@REALM] [--token NAME] [--rotate] [--secret-file PATH]
  --user         the user that owns the token (default $user)
  --token        the token's name (default $token)
  --rotate       delete and recreate the token (new secret)
  --secret-file  write the secret to PATH (mode 0600) instead of printing it
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --user) user="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --rotate) rotate=1; shift ;;
    --secret-file) secret_file="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

tokenid="$user!$token"

if ! proxmox-backup-manager user list --output-format json | grep -q "\"userid\":\"$user\""; then
  proxmox-backup-manager user create "$user" --comment "proxmox_backup_exporter (read-only)"
fi

has_token() {
  proxmox-backup-manager user list-tokens "$user" --output-format json | grep -q "\"tokenid\":\"$tokenid\""
}
secret=""
if has_token && [ "$rotate" = 1 ]; then
  proxmox-backup-manager user delete-token "$user" "$token"
elif has_token; then
  echo "Token $tokenid exists; keeping it (use --rotate for a new secret)." >&2
fi
if ! has_token; then
  out="$(proxmox-backup-manager user generate-token "$user" "$token" --output-format json)"
  secret="$(printf '%s' "$out" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')"
fi

for id in "$user" "$tokenid"; do
  proxmox-backup-manager acl update / Audit --auth-id "$id"
  proxmox-backup-manager acl update /remote RemoteAudit --auth-id "$id"
done

fingerprint="$(proxmox-backup-manager cert info | sed -n 's/^Fingerprint (sha256): *//p')"
host="$(hostname -f)"

if [ -n "$secret" ]; then
  if [ -n "$secret_file" ]; then
    umask 077
    printf '%s\n' "$secret" > "$secret_file"
    echo "Secret written to $secret_file." >&2
  else
    echo "Token secret (shown once; store it in the secret file named below):" >&2
    echo "  $secret" >&2
  fi
fi

cat <<CONFIG
targets:
  $(hostname -s):
    type: pbs
    url: https://$host:8007
    token_id: "$tokenid"
    token_secret_file: /etc/proxmox_backup_exporter/$(hostname -s).secret
    fingerprint: "$fingerprint"
CONFIG
