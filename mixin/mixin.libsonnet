// The proxmox_backup_exporter monitoring mixin: _config, prometheusAlerts,
// prometheusRules and grafanaDashboards. make generate writes alerts/ and
// dashboards/ from it.
(import 'config.libsonnet') +
(import 'alerts/alerts.libsonnet') +
(import 'dashboards/dashboards.libsonnet') +
{
  // No recording rules: every alert reads the exporter's metrics directly.
  // The field is there, empty, for tools that expect it.
  prometheusRules+:: { groups+: [] },
}
