// Alerts about where the backups are stored: PBS datastores, their jobs
// and garbage collection, and PVE backup storages.
function(c) {
  local q = (import '../lib/promql.libsonnet')(c),
  local p = {
    sel: q.sel,
    targetLabels: c.targetLabels,
    onDatastore: q.onDatastore,
    onJob: q.onJob,
    targetUp: q.targetUp,
    window: c.fillPredictionWindow,
    lookback: c.fillPredictionLookback,
    ratio: c.almostFullRatio,
    gcMaxAge: c.gcMaxAge,
    // How far back to look for a datastore whose GC never ran.
    gcSeen: c.gcMaxAge + 86400,
  },

  // fillsUp is the time until a store is full, where predict_linear on
  // its usage predicts it full within the window.
  local fillsUp(prefix) = |||
    (%(prefix)s_size_bytes{%(sel)s} - %(prefix)s_used_bytes{%(sel)s}) / deriv(%(prefix)s_used_bytes{%(sel)s}[%(lookback)ds])
      and predict_linear(%(prefix)s_used_bytes{%(sel)s}[%(lookback)ds], %(window)d) > %(prefix)s_size_bytes{%(sel)s}
  ||| % (p { prefix: prefix }),

  name: 'proxmox-backup-storage',
  rules: [
    q.alert(
      'ProxmoxBackupDatastoreFillingUp',
      'warning',
      // PBS's own estimate first, then the trend of the usage.
      '(\n  proxmox_backup_datastore_estimated_full_timestamp_seconds{%(sel)s} - time() < %(window)d\n  or\n  %(pbs)s  or\n  %(pve)s) %(targetUp)s' % (p {
                                                                                                                                                         pbs: fillsUp('proxmox_backup_datastore'),
                                                                                                                                                         pve: fillsUp('proxmox_backup_storage'),
                                                                                                                                                       }),
      'A backup store is filling up.',
      'The %s is predicted to be full in {{ $value | humanizeDuration }}.' % q.storeWho,
      c.fillingUpFor,
    ),
    q.alert(
      'ProxmoxBackupDatastoreAlmostFull',
      'critical',
      |||
        (
          proxmox_backup_datastore_used_bytes{%(sel)s} / proxmox_backup_datastore_size_bytes{%(sel)s} > %(ratio)g
          or
          proxmox_backup_storage_used_bytes{%(sel)s} / proxmox_backup_storage_size_bytes{%(sel)s} > %(ratio)g
        ) %(targetUp)s
      ||| % p,
      'A backup store is almost full.',
      'The %s is {{ $value | humanizePercentage }} full.' % q.storeWho,
      c.almostFullFor,
    ),
    q.alert(
      'ProxmoxBackupJobFailed',
      'warning',
      // Not while the job runs again.
      |||
        (
          time() - proxmox_backup_job_last_run_timestamp_seconds{%(sel)s}
            and %(onJob)s (proxmox_backup_job_last_run_success{%(sel)s} == 0)
            unless %(onJob)s (proxmox_backup_job_running{%(sel)s} == 1)
        ) %(targetUp)s
      ||| % p,
      'A backup server job failed.',
      'The last run of {{ $labels.job_type }} job {{ $labels.job_id }} on datastore {{ $labels.datastore }} of {{ $labels.target }}, {{ $value | humanizeDuration }} ago, failed.',
    ),
    q.alert(
      'ProxmoxBackupGCNotRunning',
      'warning',
      // The last run is too old, or every run in that time failed, or the
      // datastore has been known for longer than that and GC never ran
      // (marked last_run="never"; the value is then how long it is known).
      |||
        (
          time() - proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s} > %(gcMaxAge)d
          or
          time() - proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s}
            and %(onDatastore)s (max_over_time(proxmox_backup_gc_last_run_success{%(sel)s}[%(gcMaxAge)ds]) == 0)
          or
          label_replace(
            max by (%(targetLabels)s, datastore) (time() - min_over_time(timestamp(proxmox_backup_datastore_info{%(sel)s})[%(gcSeen)ds:1h])) > %(gcMaxAge)d
              unless %(onDatastore)s proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s},
            "last_run", "never", "", ""
          )
        ) %(targetUp)s
      ||| % p,
      'Garbage collection has not succeeded for days.',
      'Garbage collection of datastore {{ $labels.datastore }} of {{ $labels.target }} has not succeeded for %s: {{ if eq $labels.last_run "never" }}it has never run in the {{ $value | humanizeDuration }} the datastore has been monitored{{ else }}its last run ended {{ $value | humanizeDuration }} ago{{ end }}. Until it succeeds, pruned backups free no space.' % q.days(c.gcMaxAge),
      c.gcNotRunningFor,
    ),
  ],
}
