#!/usr/bin/env bash
# Stand-in for pveum, pvenode, pvesh, proxmox-backup-manager and hostname,
# used by scripts/tokens_test.go under each of those names. Every call is appended to
# $STATE/calls (one line, the arguments separated by the byte 0x1f). Users,
# tokens, roles and ACLs live as files under $STATE, so a second run sees what
# the first created. The answers follow the real tools: compact JSON for
# --output-format json, "Result: " and pretty JSON for generate-token, and
# the same refusals (an existing object, an unknown option, a custom role
# named PVE..., an ACL for a user or token that does not exist).
set -euo pipefail

state=${STATE:?STATE is not set}
cmd=${0##*/}
{
	printf '%s' "$cmd"
	printf '\037%s' "$@"
	printf '\n'
} >>"$state/calls"

fail() {
	echo "$*" >&2
	exit 255
}

# $STATE/fail lists call prefixes (such as "pveum acl modify") that fail.
if [ -f "$state/fail" ]; then
	while read -r prefix; do
		case "$cmd $*" in "$prefix"*) fail "simulated failure: $prefix" ;; esac
	done <"$state/fail"
fi
for dir in roles users tokens; do
	[ -d "$state/$dir" ] || mkdir "$state/$dir"
done
[ -f "$state/acls" ] || : >"$state/acls"

declare -A opt=()
pos=()
parse() {
	while [ $# -gt 0 ]; do
		case $1 in
		--*)
			[ $# -ge 2 ] || fail "option $1 needs a value"
			opt[${1#--}]=$2
			shift 2
			;;
		*)
			pos+=("$1")
			shift
			;;
		esac
	done
}

# allow NAME...: refuse any other option, as the API schema does.
allow() {
	local k
	for k in "${!opt[@]}"; do
		[[ " $* " == *" $k "* ]] ||
			fail "parameter verification failed - '$k': property is not defined in schema and the schema does not allow additional properties"
	done
}

# json: the list commands here only know --output-format json.
json() {
	[ "${opt[output-format]-}" = json ] || fail "stand-in: only --output-format json is simulated"
}

# join: standard input's lines joined by commas, in brackets.
join() {
	local line out=""
	while IFS= read -r line; do
		out+=${out:+,}$line
	done
	printf '[%s]\n' "$out"
}

split() {
	local items=() item
	IFS=, read -r -a items <<<"$1"
	for item in ${items[@]+"${items[@]}"}; do
		[ -z "$item" ] || printf '%s\n' "$item"
	done
}

next_secret() {
	local n=0
	[ ! -f "$state/counter" ] || n=$(<"$state/counter")
	n=$((n + 1))
	echo "$n" >"$state/counter"
	printf '%08x-5eed-4c0d-9e11-%012d\n' $((0x7a3c0000 + n)) "$n"
}

# acl_set PATH ROLE TYPE UGID PROPAGATE and acl_unset PATH ROLE UGID edit
# $STATE/acls, whose lines are PATH|ROLE|TYPE|UGID|PROPAGATE.
acl_unset() {
	awk -F'|' -v p="$1" -v r="$2" -v u="$3" '!($1 == p && $2 == r && $4 == u)' "$state/acls" >"$state/acls.new"
	mv "$state/acls.new" "$state/acls"
}
acl_set() {
	acl_unset "$1" "$2" "$4"
	echo "$1|$2|$3|$4|$5" >>"$state/acls"
}
acl_drop_ugid() {
	awk -F'|' -v u="$1" '$4 != u' "$state/acls" >"$state/acls.new"
	mv "$state/acls.new" "$state/acls"
}

readonly pve_builtin="Administrator NoAccess PVEAdmin PVEAuditor PVEDatastoreAdmin PVEDatastoreUser PVEVMAdmin PVEVMUser"
readonly pve_privs="Datastore.Allocate Datastore.AllocateSpace Datastore.AllocateTemplate Datastore.Audit Mapping.Audit Permissions.Modify Pool.Allocate Pool.Audit SDN.Audit Sys.Audit Sys.Console Sys.Modify Sys.PowerMgmt Sys.Syslog VM.Allocate VM.Audit VM.Backup VM.Clone VM.Config.Disk VM.Console VM.Migrate VM.PowerMgmt VM.Snapshot"

pve_role_exists() {
	[ -f "$state/roles/$1" ] || [[ " $pve_builtin " == *" $1 "* ]]
}

pve_check_privs() {
	local p
	for p in $(split "$1"); do
		[[ " $pve_privs " == *" $p "* ]] || fail "invalid privilege '$p'"
	done
}

pve_sorted_privs() {
	split "$1" | sort -u | paste -sd, -
}

pveum() {
	parse "$@"
	case "${pos[*]:0:2}" in
	"role list")
		allow output-format
		json
		{
			for f in "$state"/roles/*; do
				[ -e "$f" ] || continue
				printf '{"privs":"%s","roleid":"%s","special":0}\n' "$(<"$f")" "${f##*/}"
			done
			echo '{"privs":"Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,VM.Audit","roleid":"PVEAuditor","special":1}'
			echo '{"privs":"Datastore.Allocate,Permissions.Modify,Sys.Audit,Sys.Modify,VM.Allocate,VM.Audit,VM.Backup","roleid":"Administrator","special":1}'
		} | join
		;;
	"role add")
		allow privs
		local role=${pos[2]}
		shopt -s nocasematch
		[[ $role != PVE* ]] || fail "create role failed: cannot use role ID starting with the (case-insensitive) 'PVE' namespace"
		shopt -u nocasematch
		! pve_role_exists "$role" || fail "create role failed: role '$role' already exists"
		pve_check_privs "${opt[privs]-}"
		pve_sorted_privs "${opt[privs]-}" >"$state/roles/$role"
		;;
	"role modify")
		allow privs append
		local role=${pos[2]}
		[ -f "$state/roles/$role" ] || fail "update role failed: role '$role' does not exist"
		pve_check_privs "${opt[privs]-}"
		pve_sorted_privs "${opt[privs]-}" >"$state/roles/$role"
		;;
	"user list")
		allow output-format full enabled
		json
		{
			echo '{"enable":1,"expire":0,"realm-type":"pam","userid":"root@pam"}'
			for f in "$state"/users/*; do
				[ -e "$f" ] || continue
				printf '{"comment":"made by the test","enable":%s,"expire":0,"realm-type":"pve","userid":"%s"}\n' "$(<"$f")" "${f##*/}"
			done
		} | join
		;;
	"user add")
		allow comment email enable
		[ ! -f "$state/users/${pos[2]}" ] || fail "create user failed: user '${pos[2]}' already exists"
		echo 1 >"$state/users/${pos[2]}"
		;;
	"user token")
		local user=${pos[3]-} token=${pos[4]-}
		[ -f "$state/users/$user" ] || fail "no such user ('$user')"
		case ${pos[2]-} in
		list)
			allow output-format
			json
			for f in "$state/tokens/$user!"*; do
				[ -e "$f" ] || continue
				printf '{"comment":"proxmox_backup_exporter","expire":0,"privsep":%s,"tokenid":"%s"}\n' "$(<"$f")" "${f##*!}"
			done | join
			;;
		add)
			allow privsep comment expire output-format
			json
			[ ! -f "$state/tokens/$user!$token" ] || fail "Token already exists."
			echo "${opt[privsep]-1}" >"$state/tokens/$user!$token"
			printf '{"full-tokenid":"%s","info":{"comment":"%s","privsep":"%s"},"value":"%s"}\n' \
				"$user!$token" "${opt[comment]-}" "${opt[privsep]-1}" "$(next_secret)"
			;;
		modify)
			allow privsep comment expire output-format
			[ -f "$state/tokens/$user!$token" ] || fail "no such token '$token' for user '$user'"
			echo "${opt[privsep]}" >"$state/tokens/$user!$token"
			;;
		remove | delete)
			allow
			[ -f "$state/tokens/$user!$token" ] || fail "no such token '$token' for user '$user'"
			rm "$state/tokens/$user!$token"
			# PVE drops the ACLs of a token that no longer exists.
			acl_drop_ugid "$user!$token"
			;;
		*) fail "stand-in: unexpected pveum user token call" ;;
		esac
		;;
	"acl list")
		allow output-format
		json
		awk -F'|' '{ printf "{\"path\":\"%s\",\"propagate\":%s,\"roleid\":\"%s\",\"type\":\"%s\",\"ugid\":\"%s\"}\n", $1, $5, $2, $3, $4 }' "$state/acls" | join
		;;
	"acl modify" | "acl delete")
		allow roles users tokens groups propagate
		local path=${pos[2]} role id
		[[ $path =~ ^/(access|nodes(/[A-Za-z0-9._-]+)?|pool(/[A-Za-z0-9._-]+)?|storage(/[A-Za-z0-9._-]+)?|vms(/[1-9][0-9]{2,})?)?$ ]] ||
			fail "invalid ACL path '$path'"
		[ -n "${opt[users]-}${opt[tokens]-}${opt[groups]-}" ] || fail "either 'users', 'groups' or 'tokens' is required."
		for role in $(split "${opt[roles]}"); do
			pve_role_exists "$role" || fail "role '$role' does not exist"
			for id in $(split "${opt[users]-}"); do
				[ -f "$state/users/$id" ] || fail "user '$id' does not exist"
				if [ "${pos[1]}" = modify ]; then acl_set "$path" "$role" user "$id" "${opt[propagate]-1}"; else acl_unset "$path" "$role" "$id"; fi
			done
			for id in $(split "${opt[tokens]-}"); do
				[ -f "$state/tokens/$id" ] || fail "no such token '${id#*!}' for user '${id%%!*}'"
				if [ "${pos[1]}" = modify ]; then acl_set "$path" "$role" token "$id" "${opt[propagate]-1}"; else acl_unset "$path" "$role" "$id"; fi
			done
		done
		;;
	*) fail "stand-in: unexpected pveum call: $*" ;;
	esac
}

pvenode() {
	parse "$@"
	[ "${pos[*]}" = "cert info" ] || fail "stand-in: unexpected pvenode call: $*"
	allow output-format
	json
	[ -f "$state/cert-pve-ssl.pem" ] || fail "unable to read certificate"
	for name in pve-root-ca.pem pve-ssl.pem pveproxy-ssl.pem; do
		[ -f "$state/cert-$name" ] || continue
		printf '{"filename":"%s","fingerprint":"%s","issuer":"/CN=Proxmox Virtual Environment/OU=f3e1/O=PVE Cluster Manager CA","notafter":1893456000,"notbefore":1700000000,"pem":"-----BEGIN CERTIFICATE-----\\nMIIFzzCCA7egAwIBAgIUb3V0c2lkZXJz\\n-----END CERTIFICATE-----\\n","public-key-bits":2048,"public-key-type":"rsaEncryption","san":["127.0.0.1","0000:0000:0000:0000:0000:0000:0000:0001","localhost","pve1","pve1.example.com"],"subject":"/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=pve1.example.com"}\n' \
			"$name" "$(<"$state/cert-$name")"
	done | join
}

pvesh() {
	parse "$@"
	[ "${pos[*]}" = "get /storage" ] || fail "stand-in: unexpected pvesh call: $*"
	allow output-format
	json
	# $STATE/storages: one storage a line, ID|TYPE|CONTENT.
	touch "$state/storages"
	awk -F'|' '{
		extra = ($2 == "pbs") ? ",\"datastore\":\"store1\",\"fingerprint\":\"aa:bb\",\"server\":\"pbs1.example.com\",\"username\":\"pve@pbs!pve\"" : ",\"path\":\"/mnt/" $1 "\""
		printf "{\"content\":\"%s\"%s,\"digest\":\"0d5e3c1f\",\"prune-backups\":\"keep-all=1\",\"storage\":\"%s\",\"type\":\"%s\"}\n", $3, extra, $1, $2
	}' "$state/storages" | join
}

readonly pbs_roles="Admin Audit NoAccess DatastoreAdmin DatastoreReader DatastoreBackup DatastorePowerUser DatastoreAudit RemoteAudit RemoteAdmin RemoteSyncOperator TapeAudit TapeAdmin TapeOperator TapeReader"

proxmox-backup-manager() {
	parse "$@"
	case "${pos[*]:0:2}" in
	"user list")
		allow output-format
		json
		{
			echo '{"enable":true,"expire":0,"userid":"root@pam"}'
			for f in "$state"/users/*; do
				[ -e "$f" ] || continue
				printf '{"comment":"made by the test","enable":%s,"expire":0,"userid":"%s"}\n' "$(<"$f")" "${f##*/}"
			done
		} | join
		;;
	"user create")
		allow comment email enable expire password
		[ ! -f "$state/users/${pos[2]}" ] || fail "user '${pos[2]}' already exists."
		echo true >"$state/users/${pos[2]}"
		;;
	"user list-tokens")
		allow output-format
		json
		[ -f "$state/users/${pos[2]}" ] || fail "no such user '${pos[2]}'"
		for f in "$state/tokens/${pos[2]}!"*; do
			[ -e "$f" ] || continue
			printf '{"comment":"proxmox_backup_exporter","enable":%s,"expire":0,"tokenid":"%s"}\n' "$(<"$f")" "${f##*/}"
		done | join
		;;
	"user generate-token")
		allow comment enable expire digest
		local id="${pos[2]}!${pos[3]}"
		[ -f "$state/users/${pos[2]}" ] || fail "user '${pos[2]}' does not exist."
		[ ! -f "$state/tokens/$id" ] || fail "token '${pos[3]}' for user '${pos[2]}' already exists."
		echo true >"$state/tokens/$id"
		printf 'Result: {\n  "tokenid": "%s",\n  "value": "%s"\n}\n' "$id" "$(next_secret)"
		;;
	"user delete-token")
		allow digest
		local id="${pos[2]}!${pos[3]}"
		[ -f "$state/tokens/$id" ] || fail "no such token '${pos[3]}' for user '${pos[2]}'"
		rm "$state/tokens/$id"
		acl_drop_ugid "$id"
		;;
	"acl list")
		allow output-format
		json
		awk -F'|' '{ printf "{\"path\":\"%s\",\"propagate\":%s,\"roleid\":\"%s\",\"ugid\":\"%s\",\"ugid_type\":\"%s\"}\n", $1, $5, $2, $4, $3 }' "$state/acls" | join
		;;
	"acl update")
		allow auth-id group propagate delete digest
		local path=${pos[2]} role=${pos[3]} id=${opt[auth-id]-}
		[[ $path =~ ^/(access(/[a-z]+)?|datastore(/[A-Za-z0-9._-]+)*|remote(/[A-Za-z0-9._-]+)*|system(/[a-z]+)*|tape(/[a-z]+(/[A-Za-z0-9._-]+)?)?)?$ ]] ||
			fail "invalid ACL path '$path'"
		[[ " $pbs_roles " == *" $role "* ]] || fail "parameter verification failed - 'role': value '$role' is not defined in the enumeration."
		[ -f "$state/users/$id" ] || [ -f "$state/tokens/$id" ] || fail "no such user/token '$id'"
		if [ "${opt[delete]-false}" = true ]; then
			acl_unset "$path" "$role" "$id"
		else
			acl_set "$path" "$role" user "$id" "${opt[propagate]-true}"
		fi
		;;
	"cert info")
		allow
		[ -f "$state/pbs-fingerprint" ] || fail "unable to read certificate"
		cat <<EOF
Subject: CN = pbs1.example.com, O = Proxmox Backup Server, OU = 0b6d2a4e
    DNS:localhost
    DNS:pbs1
    DNS:pbs1.example.com
    IP:[127, 0, 0, 1]
Issuer: CN = pbs1.example.com, O = Proxmox Backup Server, OU = 0b6d2a4e
Validity:
    Not Before: Mar  3 09:12:44 2025 GMT
    Not After : Mar  1 09:12:44 2035 GMT
Fingerprint (sha256): $(<"$state/pbs-fingerprint")
Public key type: rsaEncryption
Public key bits: 4096
EOF
		;;
	*) fail "stand-in: unexpected proxmox-backup-manager call: $*" ;;
	esac
}

hostname_standin() {
	local fqdn=pve1.example.com
	[ ! -f "$state/hostname" ] || fqdn=$(<"$state/hostname")
	case ${1-} in
	-f) echo "$fqdn" ;;
	-s) echo "${fqdn%%.*}" ;;
	*) fail "stand-in: unexpected hostname call: $*" ;;
	esac
}

case $cmd in
pveum) pveum "$@" ;;
pvenode) pvenode "$@" ;;
pvesh) pvesh "$@" ;;
proxmox-backup-manager) proxmox-backup-manager "$@" ;;
hostname) hostname_standin "$@" ;;
*) fail "stand-in: unknown command name $cmd" ;;
esac
