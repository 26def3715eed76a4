// The Grafana dashboards, one file each; the key is the generated file name.
{
  grafanaDashboards+:: {
    'proxmox-backup-overview.json': (import 'overview.libsonnet')($._config),
    'proxmox-backup-pbs.json': (import 'pbs.libsonnet')($._config),
    'proxmox-backup-exporter.json': (import 'exporter.libsonnet')($._config),
  },
}
