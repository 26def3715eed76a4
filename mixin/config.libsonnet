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
    // For garbage collection without a schedule: how old its last run may be.
    gcMaxAge: 3 * 86400,
    // How long past the next run that PBS or PVE computed from a job's
    // schedule (GC, verify, prune, sync, PVE backup jobs) the run may still
    // not have happened before the job counts as overdue.
    scheduleGracePeriod: 3 * 3600,
    // How often a guest that must pass restore tests (the exporter's
    // restore_test_tag or restore_test_all) needs a successful restore of
    // one of its backups.
    restoreTestInterval: 90 * 86400,
    // How long an alert keeps firing after its condition disappears: one or
    // two failed or too slow scrapes (a 2m interval) mark every series stale
    // for that time, and the alert must not resolve and fire again.
    keepFiringFor: '10m',
    // How far back a condition that must hold for a while (for:) looks for
    // the last sample, so that a missed scrape does not reset it.
    scrapeGapTolerance: '10m',

    // How long a condition must hold before its alert fires.
    targetDownFor: '10m',
    collectorFailingFor: '15m',
    tokenMissingPrivilegeFor: '15m',
    notCoveredFor: '1h',
    fillingUpFor: '1h',
    almostFullFor: '15m',
    gcNotRunningFor: '15m',
    jobOverdueFor: '15m',

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
    // The opt-in of ProxmoxBackupSingleCopy: a PVE tag on each guest that
    // must have a recent backup on two storages (recent: younger than the
    // exporter's recent_backup_window, 48h unless set).
    singleCopyTag: 'two-copies',
    // ProxmoxBackupOffsiteCopyLagging, for PBS targets whose exporter
    // configuration names an offsite target: how far the newest copy may
    // be behind the group's newest snapshot on the primary.
    offsiteCopyMaxLag: 48 * 3600,

    severities: {
      critical: 'critical',
      warning: 'warning',
      info: 'info',
    },

    dashboardTags: ['proxmox', 'backup'],
    dashboardNamePrefix: 'Proxmox Backup / ',
    dashboardRefresh: '5m',
    // Where each alert's runbook_url points: runbookURLBase, the address
    // of docs/runbook.md as your people can open it (override it to point
    // at your own copy), then #anchor, the lower-cased alert name, as the
    // runbook's headings render.
    runbookURLBase: 'https://github.com/proxmox-backup-exporter/proxmox_backup_exporter/blob/main/docs/runbook.md',
    runbookURLPattern: self.runbookURLBase + '#%s',
  },
}
