# proxmox_backup_exporter in a container: a static binary on an empty base
# image, run as an unprivileged user.
#
#   docker build -t proxmox_backup_exporter \
#     --build-arg REVISION="$(git rev-parse --short HEAD)" .
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
# The same flags as `make build`. .git is not in the build context, so the
# revision and branch come in as build arguments.
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILDDATE=""
RUN version="$(cat VERSION)" && \
    builddate="${BUILDDATE:-$(date -u +%Y%m%d-%H:%M:%S)}" && \
    vpkg=github.com/prometheus/common/version && \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X ${vpkg}.Version=${version} -X ${vpkg}.Revision=${REVISION} -X ${vpkg}.Branch=${BRANCH} -X ${vpkg}.BuildUser=docker -X ${vpkg}.BuildDate=${builddate}" \
      -o /out/bin/proxmox_backup_exporter . && \
    /out/bin/proxmox_backup_exporter --version && \
    mkdir -p /out/etc/proxmox_backup_exporter

# No shell, no package manager. The binary is static (CGO_ENABLED=0) and
# embeds the time zone database (time/tzdata in main.go), so the image needs
# no tzdata; it only needs the CA certificates for targets whose certificate
# is signed by a public CA (others use tls_config.ca_file or fingerprint).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/bin/proxmox_backup_exporter /bin/proxmox_backup_exporter
COPY --from=build --chown=65534:65534 /out/etc/proxmox_backup_exporter /etc/proxmox_backup_exporter
LABEL org.opencontainers.image.title="proxmox_backup_exporter" \
      org.opencontainers.image.description="Prometheus exporter: are all Proxmox VE guests really backed up?"
USER 65534:65534
EXPOSE 10049
VOLUME ["/etc/proxmox_backup_exporter"]
ENTRYPOINT ["/bin/proxmox_backup_exporter", "--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"]
