# Build: docker build -t proxmox_backup_exporter .
# Run:   docker run -p 10049:10049 \
#          -v /etc/proxmox_backup_exporter:/etc/proxmox_backup_exporter:ro \
#          proxmox_backup_exporter
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/proxmox_backup_exporter . && \
    mkdir -p /out/etc/proxmox_backup_exporter

# The binary is static and embeds the time zone database; the image needs
# only the CA certificates for targets with a public certificate.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/proxmox_backup_exporter /bin/proxmox_backup_exporter
COPY --from=build --chown=65534:65534 /out/etc/proxmox_backup_exporter /etc/proxmox_backup_exporter
USER 65534:65534
EXPOSE 10049
# The configuration, token secret files and web config are mounted here.
VOLUME ["/etc/proxmox_backup_exporter"]
ENTRYPOINT ["/bin/proxmox_backup_exporter"]
CMD ["--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"]
