#!/bin/sh
# Builds the container image from a release binary with buildah (Debian's
# package), from scratch: no base image, nothing pulled from a registry, no
# RUN step (so no container runtime is needed). The image holds the static
# binary, the CA certificates of this machine (Debian's ca-certificates) for
# targets whose certificate a public CA signed, and an empty configuration
# directory; it runs as uid/gid 65534. The multi-stage Dockerfile builds the
# same image with docker, from the same make target.
#
#   VERSION=0.1.0 REVISION=abc1234 SOURCE_URL=... \
#     scripts/build-image.sh dist/build/linux-amd64/proxmox_backup_exporter proxmox_backup_exporter:0.1.0
#
# BUILDAH_OPTS is passed to every buildah call, e.g. a separate store:
#   BUILDAH_OPTS="--root DIR/storage --runroot DIR/run --storage-driver vfs"
# SOURCE_DATE_EPOCH, if set, dates the image (the same inputs give the same
# image). As a user other than root, buildah needs newuidmap (Debian's
# uidmap) and a range in /etc/subuid and /etc/subgid for that user.
set -eu

if [ "$#" -ne 2 ]; then
	echo "usage: $0 BINARY IMAGE" >&2
	exit 2
fi
binary=$1 image=$2
: "${VERSION:?VERSION is not set}" "${REVISION:=unknown}" "${SOURCE_URL:=unknown}"
cacerts=/etc/ssl/certs/ca-certificates.crt
for f in "$binary" "$cacerts"; do
	if [ ! -f "$f" ]; then
		echo "$0: $f not found" >&2
		exit 1
	fi
done

# shellcheck disable=SC2086 # BUILDAH_OPTS is a list of options
b() { buildah ${BUILDAH_OPTS:-} "$@"; }

empty=$(mktemp -d)
ctr=
cleanup() {
	rm -rf "$empty"
	if [ -n "$ctr" ]; then b rm "$ctr" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

ctr=$(b from scratch)
b copy --quiet "$ctr" "$cacerts" /etc/ssl/certs/ca-certificates.crt
b copy --quiet --chmod 0755 "$ctr" "$binary" /bin/proxmox_backup_exporter
b copy --quiet --chown 65534:65534 "$ctr" "$empty" /etc/proxmox_backup_exporter
b config \
	--user 65534:65534 \
	--port 10049/tcp \
	--volume /etc/proxmox_backup_exporter \
	--entrypoint '["/bin/proxmox_backup_exporter", "--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"]' \
	--cmd '[]' \
	--label org.opencontainers.image.title=proxmox_backup_exporter \
	--label "org.opencontainers.image.description=Prometheus exporter: are all Proxmox VE guests really backed up?" \
	--label "org.opencontainers.image.version=$VERSION" \
	--label "org.opencontainers.image.revision=$REVISION" \
	--label "org.opencontainers.image.source=$SOURCE_URL" \
	--label org.opencontainers.image.licenses=Apache-2.0 \
	"$ctr"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	b commit --quiet --identity-label=false --timestamp "$SOURCE_DATE_EPOCH" "$ctr" "$image"
else
	b commit --quiet --identity-label=false "$ctr" "$image"
fi
