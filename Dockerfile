# proxmox_backup_exporter in a container, built with docker on your own
# machine: a static binary on an empty base image, run as an unprivileged
# user. (The project's own image is built without docker and without any
# base image: `make image`, scripts/build-image.sh, with buildah. Both build
# the binary with the same make target and make the same image layout.)
#
#   docker build -t proxmox_backup_exporter \
#     --build-arg REVISION="$(git rev-parse --short HEAD)" \
#     --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" .
#   docker run -d -p 10049:10049 \
#     -v /etc/proxmox_backup_exporter:/etc/proxmox_backup_exporter:ro \
#     proxmox_backup_exporter
#
# /etc/proxmox_backup_exporter holds proxmox_backup_exporter.yml, the token
# secret files it names and, if used, web-config.yml with its certificate
# and key. The exporter runs as uid/gid 65534, so the secret files must be
# readable by it: chown 65534:65534 and chmod 0400 on the host, or run with
# --user matching their owner. Extra flags go after the image name, e.g.
#   docker run ... proxmox_backup_exporter \
#     --web.config.file=/etc/proxmox_backup_exporter/web-config.yml

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The Makefile's release target, with its flags. .git is not in the build
# context, so the revision, branch and date come in as build arguments
# (with the same values as a `make release`, the same binary).
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILDUSER=docker
ARG SOURCE_DATE_EPOCH=""
RUN epoch="${SOURCE_DATE_EPOCH:-$(date +%s)}" && \
    make "dist/build/linux-$(go env GOARCH)/proxmox_backup_exporter" \
      REVISION="${REVISION}" BRANCH="${BRANCH}" BUILDUSER="${BUILDUSER}" SOURCE_DATE_EPOCH="${epoch}" && \
    mkdir -p /out/bin /out/etc/proxmox_backup_exporter && \
    cp "dist/build/linux-$(go env GOARCH)/proxmox_backup_exporter" /out/bin/ && \
    /out/bin/proxmox_backup_exporter --version

# No shell, no package manager. The binary is static (CGO_ENABLED=0) and
# embeds the time zone database (time/tzdata in main.go), so the image needs
# no tzdata; it only needs the CA certificates for targets whose certificate
# is signed by a public CA (others use tls_config.ca_file or fingerprint).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/bin/proxmox_backup_exporter /bin/proxmox_backup_exporter
COPY --from=build --chown=65534:65534 /out/etc/proxmox_backup_exporter /etc/proxmox_backup_exporter
ARG REVISION=unknown
LABEL org.opencontainers.image.title="proxmox_backup_exporter" \
      org.opencontainers.image.description="Prometheus exporter: are all Proxmox VE guests really backed up?" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65534:65534
EXPOSE 10049
VOLUME ["/etc/proxmox_backup_exporter"]
ENTRYPOINT ["/bin/proxmox_backup_exporter", "--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"]
