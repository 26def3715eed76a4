{
  _config+:: {
    // Selects the exporter's probe metrics (the /probe?target=NAME job).
    backupExporterSelector: 'job="proxmox-backup"',
    // Selects the exporter's own /metrics (its build info, probe counters).
    exporterSelector: 'job="proxmox-backup-exporter"',
    // The labels that identify one probed target; every join uses them.
    targetLabels: 'job, instance, target',

    // Alert thresholds; durations in seconds. The exporter's /status and
    // check command judge with the same defaults (verdict.Defaults in Go); a
    // test keeps the two equal.
    missedGracePeriod: 6 * 3600,
    tooOldWarning: 36 * 3600,
    tooOldCritical: 48 * 3600,
    notVerifiedWindow: 7 * 86400,
    sizeAnomalyRatio: 0.5,
    sizeAnomalyWindow: 7 * 86400,
    fillPredictionWindow: 7 * 86400,
    // How much usage history predict_linear fits its line to.
    fillPredictionLookback: 6 * 3600,
    almostFullRatio: 0.9,
    gcMaxAge: 3 * 86400,

    // How long a condition must hold before its alert fires.
    targetDownFor: '10m',
    collectorFailingFor: '15m',
    tokenMissingPrivilegeFor: '15m',
    notCoveredFor: '1h',
    fillingUpFor: '1h',
    almostFullFor: '15m',
    gcNotRunningFor: '15m',

    // Opt-outs: a PVE tag on the guest, a marker in the PBS group comment.
    optOutTag: 'nobackup',
    optOutComment: 'no-monitor',

    // Opt-ins: label matchers selecting the series whose backups must be
    // verified or encrypted. Off by default: no target carries these labels
    // until its scrape config sets them (see docs/runbook.md), so users of
    // the generated rules opt in without jsonnet. A mixin user may instead
    // select targets directly, e.g. 'target=~"pbs-offsite"'.
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
    // Where each alert's runbook_url points; %s is the alert's anchor, the
    // lower-cased alert name, as docs/runbook.md's headings render.
    runbookURLPattern: 'docs/runbook.md#%s',
  },
}
