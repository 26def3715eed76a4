{
  _config+:: {
    // Selects the exporter's probe metrics.
    backupExporterSelector: 'job="proxmox-backup"',
    // The labels that identify one probed target; every join uses them.
    targetLabels: 'job, instance, target',

    // Alert thresholds; durations in seconds.
    missedGracePeriod: 6 * 3600,
    tooOldWarning: 36 * 3600,
    tooOldCritical: 48 * 3600,
    notVerifiedWindow: 7 * 86400,
    sizeAnomalyRatio: 0.5,
    sizeAnomalyWindow: 7 * 86400,
    fillPredictionWindow: 7 * 86400,
    fillPredictionLookback: 6 * 3600,
    almostFullRatio: 0.9,
    gcMaxAge: 3 * 86400,
    targetDownFor: '10m',
    collectorFailingFor: '15m',
    notCoveredFor: '1h',

    // Opt-outs: a PVE tag on the guest, a marker in the PBS group comment.
    optOutTag: 'nobackup',
    optOutComment: 'no-monitor',

    // Opt-ins: label matchers selecting the targets whose backups must be
    // verified or encrypted. By default a target opts in with a label set
    // in its scrape config (see docs/runbook.md); 'target=~".+"' would
    // require it everywhere.
    notVerifiedSelector: 'backup_verify="required"',
    unencryptedSelector: 'backup_encryption="required"',

    severities: {
      critical: 'critical',
      warning: 'warning',
      info: 'info',
    },

    dashboardTags: ['proxmox', 'backup'],
    dashboardNamePrefix: 'Proxmox Backup / ',
    dashboardRefresh: '5m',
    // Where each alert's runbook_url points; %s is the alert's anchor.
    runbookURLPattern: 'docs/runbook.md#%s',
  },
}
