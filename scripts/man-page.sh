#!/bin/sh
# Writes the manual page of proxmox_backup_exporter to standard output:
# the page the binary itself prints with --help-man (its flags and
# commands), with a title line and a NAME section that man and whatis
# understand. kingpin puts the whole multi-line --version text into the .TH
# line and no description into NAME.
#
#   scripts/man-page.sh BINARY VERSION DATE >proxmox_backup_exporter.1
set -eu

if [ "$#" -ne 3 ]; then
	echo "usage: $0 BINARY VERSION DATE" >&2
	exit 2
fi
binary=$1 version=$2 date=$3
name=proxmox_backup_exporter

page=$("$binary" --help-man)
# The page proper starts at its NAME section; the lines before are the
# title kingpin wrote.
case "$page" in
*'.SH "NAME"'*) ;;
*)
	echo "$0: $binary --help-man printed no NAME section" >&2
	exit 1
	;;
esac

printf '.TH %s 1 "%s" "%s %s" "User Commands"\n' "$(echo "$name" | tr '[:lower:]' '[:upper:]')" "$date" "$name" "$version"
printf '%s\n' "$page" | awk -v name="$name" '
	/^\.SH "NAME"$/ { started = 1; print; getline; print name " \\- Prometheus exporter for Proxmox VE and Proxmox Backup Server backups"; next }
	started { print }
'
cat <<'SEE'
.SH "FILES"
.TP
/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml
The configuration: one entry per Proxmox VE cluster or Proxmox Backup Server.
.TP
/etc/proxmox_backup_exporter/web-config.yml
TLS and basic authentication (an example is web-config.yml.example).
.TP
/usr/share/proxmox-backup-exporter/
Grafana dashboards, Prometheus alert rules and the scripts that create the API tokens.
.SH "SEE ALSO"
/usr/share/doc/proxmox-backup-exporter/README.md.gz
SEE
