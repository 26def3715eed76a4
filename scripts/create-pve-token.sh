#!/usr/bin/env bash
# create-pve-token.sh: a least-privilege API token for proxmox_backup_exporter
# on a Proxmox VE cluster. Run it as root on any node; it prints the
# exporter's target configuration. Running it again changes nothing that is
# already right (use --rotate for a new secret). docs/permissions.md explains
# every privilege.
#
# Roles (custom role names may not start with "PVE"):
#   BackupMonitor         Sys.Audit, VM.Audit             on /
#   BackupMonitorVolumes  Datastore.AllocateSpace,        on /vms and on
#                         VM.Audit, VM.Backup             each backup storage,
#                                                         /storage/ID
# A grant on /vms replaces what / gave for the same user or token, so the
# second role repeats VM.Audit: without it the token sees no guest.
# Without the second role PVE hides every backup from the token. It is not
# read-only: docs/permissions.md lists what it allows and why no smaller set
# works. It is granted on the storages that hold backups only (those with
# content "backup", or those named with --storage), never on all of /storage.
# A privilege-separated token only gets what both the token's and its user's
# ACLs grant, so both receive the same ACLs.
set -euo pipefail
set -o errtrace
trap '[ "$BASH_SUBSHELL" != 0 ] || echo "${0##*/}: line $LINENO: failed: $BASH_COMMAND" >&2' ERR

readonly main_role=BackupMonitor
readonly main_privs=Sys.Audit,VM.Audit
readonly volume_role=BackupMonitorVolumes
readonly volume_privs=Datastore.AllocateSpace,VM.Audit,VM.Backup

user=monitor@pve
token=exporter
target=""
secret_file=""
rotate=0
volume_access=1
storages=()

usage() {
	cat <<EOF
Usage: ${0##*/} [OPTION]...
Create (or check) a read-mostly API token for proxmox_backup_exporter on this
Proxmox VE cluster and print the exporter's target configuration.

  --user USER@REALM   user that owns the token (default: $user)
  --token NAME        token name (default: $token)
  --storage ID        grant backup-volume access on this storage; repeat for
                      each (default: every storage whose content includes
                      backup; run the script again after adding one)
  --no-volume-access  grant no backup-volume access: PVE then hides every
                      backup from the token (see docs/permissions.md)
  --rotate            delete the token and create it again (new secret)
  --secret-file PATH  write a new secret to PATH (mode 0600) instead of
                      printing it
  --target NAME       target name in the printed configuration
                      (default: this node's host name up to the first dot)
  -h, --help          show this help
EOF
}

die() {
	echo "${0##*/}: $*" >&2
	exit 2
}

# need OPTION ARGS...: OPTION must be followed by a value.
need() {
	if [ $# -lt 2 ] || [ -z "$2" ]; then
		die "option $1 needs a value (see --help)"
	fi
}

while [ $# -gt 0 ]; do
	case $1 in
	--user) need "$@"; user=$2; shift 2 ;;
	--user=*) user=${1#*=}; shift ;;
	--token) need "$@"; token=$2; shift 2 ;;
	--token=*) token=${1#*=}; shift ;;
	--storage) need "$@"; storages+=("$2"); shift 2 ;;
	--storage=*) storages+=("${1#*=}"); shift ;;
	--no-volume-access) volume_access=0; shift ;;
	--rotate) rotate=1; shift ;;
	--secret-file) need "$@"; secret_file=$2; shift 2 ;;
	--secret-file=*) secret_file=${1#*=}; shift ;;
	--target) need "$@"; target=$2; shift 2 ;;
	--target=*) target=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[[ $user =~ ^[A-Za-z0-9._-]+@[A-Za-z][A-Za-z0-9._-]*$ ]] ||
	die "--user '$user' is not USER@REALM (letters, digits, '.', '_', '-')"
[[ $token =~ ^[A-Za-z][A-Za-z0-9._-]+$ ]] ||
	die "--token '$token' must start with a letter and hold at least two letters, digits, '.', '_' or '-'"
for s in ${storages[@]+"${storages[@]}"}; do
	[[ $s =~ ^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$ ]] || die "--storage '$s' is not a storage ID"
done
if [ "$volume_access" = 0 ] && [ ${#storages[@]} -gt 0 ]; then
	die "--storage and --no-volume-access exclude each other"
fi
if [ -n "$secret_file" ]; then
	[ ! -d "$secret_file" ] || die "--secret-file '$secret_file' is a directory: name a file"
	[ -d "$(dirname -- "$secret_file")" ] ||
		die "--secret-file '$secret_file': directory $(dirname -- "$secret_file") does not exist"
fi
host=$(hostname -f)
[[ $host =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] ||
	die "'hostname -f' printed '$host', not a host name: fix the host name first"
if [ -z "$target" ]; then
	target=${host%%.*}
fi
[[ $target =~ ^[A-Za-z0-9][A-Za-z0-9_.:-]*$ ]] ||
	die "target name '$target' is not valid for the exporter: pass --target NAME"
tokenid="$user!$token"

# objects JSON PATTERN...: the objects of a flat JSON array that contain every
# PATTERN (literal text such as "roleid":"X"), one per line, without blanks.
objects() {
	local json=${1//[[:space:]]/} obj pat parts=()
	shift
	IFS=$'{\n' read -r -d '' -a parts <<<"$json" || true
	for obj in "${parts[@]:1}"; do
		for pat in "$@"; do
			[[ $obj == *"$pat"* ]] || continue 2
		done
		printf '%s\n' "$obj"
	done
}

# field KEY: the string value of KEY in each line of standard input.
field() {
	local line re="\"$1\":\"([^\"]*)\""
	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			printf '%s\n' "${BASH_REMATCH[1]}"
		fi
	done
}

# The backup storages, unless named with --storage.
if [ "$volume_access" = 1 ] && [ ${#storages[@]} -eq 0 ]; then
	storage_config=$(pvesh get /storage --output-format json)
	while read -r obj; do
		id=$(field storage <<<"$obj")
		if [[ ",$(field content <<<"$obj")," == *,backup,* && $id =~ ^[A-Za-z][A-Za-z0-9._-]*[A-Za-z0-9]$ ]]; then
			storages+=("$id")
		fi
	done < <(objects "$storage_config" '"storage":"')
	if [ ${#storages[@]} -eq 0 ]; then
		echo "Warning: no storage holds backups (content 'backup'): the token sees no backup volumes; name storages with --storage." >&2
	else
		echo "Backup storages: ${storages[*]}." >&2
	fi
fi

# ensure_role ROLE PRIVS: the role exists with exactly PRIVS (sorted).
ensure_role() {
	local roles current
	roles=$(pveum role list --output-format json)
	if [ -z "$(objects "$roles" "\"roleid\":\"$1\"")" ]; then
		pveum role add "$1" --privs "$2"
		echo "Created role $1: $2." >&2
		return
	fi
	current=$(objects "$roles" "\"roleid\":\"$1\"" | field privs)
	if [ "$current" != "$2" ]; then
		pveum role modify "$1" --privs "$2"
		echo "Role $1 had '$current'; set it to $2." >&2
	fi
}

ensure_role "$main_role" "$main_privs"
if [ "$volume_access" = 1 ]; then
	ensure_role "$volume_role" "$volume_privs"
fi

users=$(pveum user list --output-format json)
if [ -z "$(objects "$users" "\"userid\":\"$user\"")" ]; then
	pveum user add "$user" --comment "proxmox_backup_exporter (API token only)"
	echo "Created user $user." >&2
elif [ -n "$(objects "$users" "\"userid\":\"$user\"" '"enable":0')" ]; then
	echo "Warning: user $user is disabled, so its tokens are refused: pveum user modify $user --enable 1" >&2
fi

secret=""
tokens=$(pveum user token list "$user" --output-format json)
if [ -n "$(objects "$tokens" "\"tokenid\":\"$token\"")" ]; then
	if [ "$rotate" = 1 ]; then
		pveum user token remove "$user" "$token"
		tokens="[]"
	else
		echo "Token $tokenid exists; keeping it and its secret (--rotate makes a new one)." >&2
		this=$(objects "$tokens" "\"tokenid\":\"$token\"")
		if [[ $this != *'"privsep":1'* && $this != *'"privsep":"1"'* ]]; then
			pveum user token modify "$user" "$token" --privsep 1
			echo "Turned on privilege separation for $tokenid." >&2
		fi
	fi
fi
if [ -z "$(objects "$tokens" "\"tokenid\":\"$token\"")" ]; then
	out=$(pveum user token add "$user" "$token" --privsep 1 \
		--comment "proxmox_backup_exporter" --output-format json)
	secret=$(tr -d ' \t\r\n' <<<"$out" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')
	[ -n "$secret" ] || { echo "${0##*/}: pveum printed no token secret" >&2; exit 1; }
fi

# The ACLs: for each role, the paths it must have for the user and the token.
# ACLs of these roles on other paths are removed; other roles are reported.
declare -A want=(["$main_role"]="/")
if [ "$volume_access" = 1 ]; then
	want[$volume_role]="/vms"
	for s in ${storages[@]+"${storages[@]}"}; do
		want[$volume_role]+=" /storage/$s"
	done
fi
acls=$(pveum acl list --output-format json)
for role in "$main_role" "$volume_role"; do
	held=$({
		objects "$acls" "\"roleid\":\"$role\"" "\"ugid\":\"$user\""
		objects "$acls" "\"roleid\":\"$role\"" "\"ugid\":\"$tokenid\""
	} | field path | sort -u)
	for path in $held; do
		if [[ " ${want[$role]-} " != *" $path "* ]]; then
			pveum acl delete "$path" --roles "$role" --users "$user" --tokens "$tokenid"
			echo "Removed role $role on $path from $user and $tokenid." >&2
		fi
	done
done
for role in "${!want[@]}"; do
	for path in ${want[$role]}; do
		if [ -z "$(objects "$acls" "\"path\":\"$path\"" "\"roleid\":\"$role\"" "\"ugid\":\"$user\"" '"propagate":1')" ] ||
			[ -z "$(objects "$acls" "\"path\":\"$path\"" "\"roleid\":\"$role\"" "\"ugid\":\"$tokenid\"" '"propagate":1')" ]; then
			pveum acl modify "$path" --roles "$role" --users "$user" --tokens "$tokenid" --propagate 1
			echo "Granted role $role on $path to $user and $tokenid." >&2
		fi
	done
done
for id in "$user" "$tokenid"; do
	objects "$acls" "\"ugid\":\"$id\"" | while read -r acl; do
		role=$(field roleid <<<"$acl")
		if [ "$role" != "$main_role" ] && [ "$role" != "$volume_role" ]; then
			echo "Warning: $id also has role $role on $(field path <<<"$acl"): more than the exporter needs." >&2
		fi
	done
done

# The certificate the API serves: pveproxy-ssl.pem (a custom or ACME
# certificate) when present, else pve-ssl.pem.
fingerprint=""
if certs=$(pvenode cert info --output-format json 2>/dev/null); then
	for file in pveproxy-ssl.pem pve-ssl.pem; do
		fingerprint=$(objects "$certs" "\"filename\":\"$file\"" | field fingerprint)
		fingerprint=${fingerprint%%$'\n'*}
		[ -z "$fingerprint" ] || break
	done
fi

secret_path="/etc/proxmox_backup_exporter/$target.secret"
if [ -n "$secret" ]; then
	if [ -n "$secret_file" ]; then
		tmp=$(mktemp "$(dirname -- "$secret_file")/.token.XXXXXX")
		printf '%s\n' "$secret" >"$tmp"
		chmod 600 "$tmp"
		mv -f -- "$tmp" "$secret_file"
		echo "Wrote the secret of $tokenid to $secret_file (mode 0600)." >&2
	else
		cat >&2 <<EOF
==== API token secret for $tokenid (shown only now) ====
$secret
==== Store it on the exporter host as $secret_path (mode 0600) ====
EOF
	fi
elif [ -n "$secret_file" ]; then
	echo "The token was kept, so $secret_file was not written (use --rotate for a new secret)." >&2
fi

cat <<EOF
# proxmox_backup_exporter target for this Proxmox VE cluster.
# token_secret_file holds the token secret alone, readable by the exporter only.
targets:
  $target:
    type: pve
    url: https://$host:8006
    token_id: "$tokenid"
    token_secret_file: $secret_path
EOF
if [ -n "$fingerprint" ]; then
	echo "    fingerprint: \"$fingerprint\""
else
	echo "    # fingerprint: unknown (pvenode cert info failed); pin it or set tls_config.ca_file"
fi
