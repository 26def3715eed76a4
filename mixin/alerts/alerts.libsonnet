// The alerting rules, one group per subject. Alert names are the contract:
// the runbook, the Alertmanager example and the tests refer to them.
{
  prometheusAlerts+:: {
    groups+: [
      (import 'targets.libsonnet')($._config),
      (import 'backups.libsonnet')($._config),
      (import 'storage.libsonnet')($._config),
      (import 'copies.libsonnet')($._config),
      (import 'restores.libsonnet')($._config),
    ],
  },
}
