#!/usr/bin/env bash
# create-pbs-token.sh: a read-only API token for proxmox_backup_exporter on a
# Proxmox Backup Server. Run it as root on the server; it prints the
# exporter's target configuration. Running it again changes nothing that is
# already right (use --rotate for a new secret). docs/permissions.md explains
# every privilege.
#
# ACLs, all built-in read-only roles:
#   DatastoreAudit on /datastore  datastores, usage, GC, namespaces, groups,
#                                 snapshots, verify and prune jobs
#   RemoteAudit    on /remote     sync jobs that pull from a remote
#   TapeAudit      on /tape       tape backup jobs
#   Audit          on /system/tasks  running garbage collections (root@pam's
#                                 tasks); PBS has no role with Sys.Audit
#                                 alone, and Datastore.Audit is inert there
# PBS limits a token to what its user may do as well, so the user and the
# token both receive these ACLs. Never Admin, never a Modify privilege.
set -euo pipefail
set -o errtrace
trap '[ "$BASH_SUBSHELL" != 0 ] || echo "${0##*/}: line $LINENO: failed: $BASH_COMMAND" >&2' ERR

readonly grants=("/datastore DatastoreAudit" "/remote RemoteAudit" "/tape TapeAudit" "/system/tasks Audit")

user=monitor@pbs
token=exporter
target=""
secret_file=""
rotate=0

usage() {
	cat <<EOF
Usage: ${0##*/} [OPTION]...
Create (or check) a read-only API token for proxmox_backup_exporter on this
Proxmox Backup Server and print the exporter's target configuration.

  --user USER@REALM   user that owns the token (default: $user)
  --token NAME        token name (default: $token)
  --rotate            delete the token and create it again (new secret)
  --secret-file PATH  write a new secret to PATH (mode 0600) instead of
                      printing it
  --target NAME       target name in the printed configuration
                      (default: this host's name up to the first dot)
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

users=$(proxmox-backup-manager user list --output-format json)
if [ -z "$(objects "$users" "\"userid\":\"$user\"")" ]; then
	proxmox-backup-manager user create "$user" --comment "proxmox_backup_exporter (API token only)"
	echo "Created user $user." >&2
elif [ -n "$(objects "$users" "\"userid\":\"$user\"" '"enable":false')" ]; then
	echo "Warning: user $user is disabled, so its tokens are refused: proxmox-backup-manager user update $user --enable true" >&2
fi

# generate-token has no --output-format: it prints "Result: " and the JSON.
secret=""
tokens=$(proxmox-backup-manager user list-tokens "$user" --output-format json)
if [ -n "$(objects "$tokens" "\"tokenid\":\"$tokenid\"")" ]; then
	if [ "$rotate" = 1 ]; then
		proxmox-backup-manager user delete-token "$user" "$token"
		tokens="[]"
	else
		echo "Token $tokenid exists; keeping it and its secret (--rotate makes a new one)." >&2
		if [ -n "$(objects "$tokens" "\"tokenid\":\"$tokenid\"" '"enable":false')" ]; then
			echo "Warning: token $tokenid is disabled: enable it in the web interface or use --rotate." >&2
		fi
	fi
fi
if [ -z "$(objects "$tokens" "\"tokenid\":\"$tokenid\"")" ]; then
	out=$(proxmox-backup-manager user generate-token "$user" "$token" --comment "proxmox_backup_exporter")
	secret=$(tr -d ' \t\r\n' <<<"$out" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')
	[ -n "$secret" ] || { echo "${0##*/}: proxmox-backup-manager printed no token secret" >&2; exit 1; }
fi

# wanted "PATH ROLE": whether the exporter needs this grant.
wanted() {
	local g
	for g in "${grants[@]}"; do
		[ "$g" != "$1" ] || return 0
	done
	return 1
}

acls=$(proxmox-backup-manager acl list --output-format json)
for id in "$user" "$tokenid"; do
	for grant in "${grants[@]}"; do
		read -r path role <<<"$grant"
		if [ -z "$(objects "$acls" "\"path\":\"$path\"" "\"roleid\":\"$role\"" "\"ugid\":\"$id\"" '"propagate":true')" ]; then
			proxmox-backup-manager acl update "$path" "$role" --auth-id "$id" --propagate true
			echo "Granted role $role on $path to $id." >&2
		fi
	done
	objects "$acls" "\"ugid\":\"$id\"" | while read -r acl; do
		held="$(field path <<<"$acl") $(field roleid <<<"$acl")"
		if ! wanted "$held"; then
			echo "Warning: $id also has role ${held#* } on ${held%% *}: more than the exporter needs." >&2
		fi
	done
done

fingerprint=""
if info=$(proxmox-backup-manager cert info 2>/dev/null); then
	re='^Fingerprint \(sha256\): *([0-9A-Fa-f:]+)'
	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			fingerprint=${BASH_REMATCH[1]}
			break
		fi
	done <<<"$info"
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
# proxmox_backup_exporter target for this Proxmox Backup Server.
# token_secret_file holds the token secret alone, readable by the exporter only.
targets:
  $target:
    type: pbs
    url: https://$host:8007
    token_id: "$tokenid"
    token_secret_file: $secret_path
EOF
if [ -n "$fingerprint" ]; then
	echo "    fingerprint: \"$fingerprint\""
else
	echo "    # fingerprint: unknown (proxmox-backup-manager cert info failed); pin it or set tls_config.ca_file"
fi
