#!/usr/bin/env bash
# Regenerates alerts/ and dashboards/ from the mixin with the pinned
# go-jsonnet tool, and formats the mixin's sources with jsonnetfmt.
set -euo pipefail
cd "$(dirname "$0")/.."

find mixin \( -name '*.libsonnet' -o -name '*.jsonnet' \) -exec go tool jsonnetfmt -i {} +
go tool jsonnet -J mixin -S -e 'std.manifestYamlDoc((import "mixin/mixin.libsonnet").prometheusAlerts)' > alerts/proxmox-backup-alerts.yaml
rm -f dashboards/*.json
go tool jsonnet -J mixin -m dashboards -e '(import "mixin/mixin.libsonnet").grafanaDashboards' >/dev/null
echo "generated alerts/ and dashboards/"
