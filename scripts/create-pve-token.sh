#!/usr/bin/env bash
# Creates a least-privilege API token for proxmox_backup_exporter on a
# Proxmox VE node (run as root on any node of the cluster) and prints the
# exporter's configuration for it. Safe to run again: existing objects are
# kept; --rotate replaces the token.
#
# Privileges (role PVEBackupMonitor on /, granted to the token, which is
# privilege-separated):
#   Sys.Audit               /cluster/backup, /nodes/{node}/time, and the vzdump
#                           tasks of other users (every scheduled job runs as
#                           root@pam); without it the jobs collector gets 403
#                           and scheduled runs are invisible.
#   VM.Audit                the guests in /cluster/resources.
#   Pool.Audit              guest pools (jobs can select by pool).
#   Datastore.Audit         the storages and their usage.
#   Datastore.AllocateSpace and VM.Backup
#                           PVE lists a backup volume only to a token that has
#                           Datastore.Allocate on the storage, or
#                           Datastore.AllocateSpace on it together with
#                           VM.Backup on the guest (pve-storage
#                           check_volume_access). Without them every backup
#                           listing is silently empty. This pair is the
#                           smallest that works; it would also let the token
#                           start a backup, which the exporter never does.
set -euo pipefail

user="monitor@pve"
token="exporter"
role="PVEBackupMonitor"
privs="Sys.Audit,VM.Audit,Pool.Audit,Datastore.Audit,Datastore.AllocateSpace,VM.Backup"
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

if pveum role list --output-format json | grep -q "\"roleid\":\"$role\""; then
  pveum role modify "$role" --privs "$privs"
else
  pveum role add "$role" --privs "$privs"
fi

if ! pveum user list --output-format json | grep -q "\"userid\":\"$user\""; then
  pveum user add "$user" --comment "proxmox_backup_exporter (read-only)"
fi

secret=""
if pveum user token list "$user" --output-format json | grep -q "\"tokenid\":\"$token\""; then
  if [ "$rotate" = 1 ]; then
    pveum user token remove "$user" "$token"
  else
    echo "Token $tokenid exists; keeping it (use --rotate for a new secret)." >&2
  fi
fi
if [ -z "$secret" ] && ! pveum user token list "$user" --output-format json | grep -q "\"tokenid\":\"$token\""; then
  out="$(pveum user token add "$user" "$token" --privsep 1 --comment "proxmox_backup_exporter" --output-format json)"
  secret="$(printf '%s' "$out" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')"
fi

pveum acl modify / --tokens "$tokenid" --roles "$role"

fingerprint="$(pvenode cert info --output-format json | tr '{' '\n' | grep -e pveproxy-ssl.pem -e pve-ssl.pem | head -n 1 | sed -n 's/.*"fingerprint":"\([^"]*\)".*/\1/p')"
host="$(hostname -f)"

secret_line="token_secret_file: /etc/proxmox_backup_exporter/$(hostname -s).secret"
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
    type: pve
    url: https://$host:8006
    token_id: "$tokenid"
    $secret_line
    fingerprint: "$fingerprint"
CONFIG
