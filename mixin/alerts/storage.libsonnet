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
    grace: c.scheduleGracePeriod,
    // The next runs, over a missed scrape or two (the for: waits go on).
    lastGCNext: q.last('proxmox_backup_gc_next_run_timestamp_seconds{%s}' % q.sel),
    lastJobNext: q.last('proxmox_backup_job_next_run_timestamp_seconds{%s}' % q.sel),
    lastPVEJobNext: q.last('proxmox_backup_pve_job_next_run_timestamp_seconds{%s}' % q.sel),
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
      '(\n  %(lastFull)s - time() < %(window)d\n  or\n  %(pbs)s  or\n  %(pve)s) %(targetUp)s' % (p {
                                                                                                   lastFull: q.last('proxmox_backup_datastore_estimated_full_timestamp_seconds{%s}' % q.sel),
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
          %(lastDatastoreUsed)s / %(lastDatastoreSize)s > %(ratio)g
          or
          %(lastStorageUsed)s / %(lastStorageSize)s > %(ratio)g
        ) %(targetUp)s
      ||| % (p {
               lastDatastoreUsed: q.last('proxmox_backup_datastore_used_bytes{%s}' % q.sel),
               lastDatastoreSize: q.last('proxmox_backup_datastore_size_bytes{%s}' % q.sel),
               lastStorageUsed: q.last('proxmox_backup_storage_used_bytes{%s}' % q.sel),
               lastStorageSize: q.last('proxmox_backup_storage_size_bytes{%s}' % q.sel),
             }),
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
      // Judged against its own schedule: the next run PBS computed is past
      // by the grace period and no run ended since (a running GC moves the
      // next run on; next_run="missed", the value is how long overdue). Or
      // every run in gcMaxAge failed. Without a schedule: the last run is
      // older than gcMaxAge, or the datastore has been known for longer
      // and GC never ran (last_run="never"; the value is how long known).
      |||
        (
          label_replace(
            time() - %(lastGCNext)s > %(grace)d
              unless %(onDatastore)s (proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s} >= proxmox_backup_gc_next_run_timestamp_seconds{%(sel)s}),
            "next_run", "missed", "", ""
          )
          or
          time() - proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s}
            and %(onDatastore)s (max_over_time(proxmox_backup_gc_last_run_success{%(sel)s}[%(gcMaxAge)ds]) == 0)
          or
          (
            time() - proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s} > %(gcMaxAge)d
            or
            label_replace(
              max by (%(targetLabels)s, datastore) (time() - min_over_time(timestamp(proxmox_backup_datastore_info{%(sel)s})[%(gcSeen)ds:1h])) > %(gcMaxAge)d
                unless %(onDatastore)s proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s},
              "last_run", "never", "", ""
            )
          ) unless %(onDatastore)s proxmox_backup_gc_next_run_timestamp_seconds{%(sel)s}
        ) %(targetUp)s
      ||| % p,
      'Garbage collection is overdue or failing.',
      'Garbage collection of datastore {{ $labels.datastore }} of {{ $labels.target }} has not succeeded in time: {{ if eq $labels.next_run "missed" }}its scheduled run is {{ $value | humanizeDuration }} overdue{{ else if eq $labels.last_run "never" }}it has never run in the {{ $value | humanizeDuration }} the datastore has been monitored{{ else }}its last run ended {{ $value | humanizeDuration }} ago{{ end }}. Until it succeeds, pruned backups free no space.',
      c.gcNotRunningFor,
    ),
    q.alert(
      'ProxmoxBackupJobOverdue',
      'warning',
      // A PBS job (verify, prune, sync, ...) or an enabled PVE backup job
      // whose next run, as Proxmox computed it from the schedule, is past by
      // the grace period with no run ended since and none running: the
      // scheduler is not running it. The value is how long overdue.
      |||
        (
          time() - %(lastJobNext)s > %(grace)d
            unless %(onJob)s (proxmox_backup_job_last_run_timestamp_seconds{%(sel)s} >= proxmox_backup_job_next_run_timestamp_seconds{%(sel)s})
            unless %(onJob)s (proxmox_backup_job_running{%(sel)s} == 1)
          or
          time() - %(lastPVEJobNext)s > %(grace)d
            and %(onPVEJob)s (proxmox_backup_pve_job_enabled{%(sel)s} == 1)
            unless %(onPVEJob)s (proxmox_backup_pve_job_last_run_timestamp_seconds{%(sel)s} >= proxmox_backup_pve_job_next_run_timestamp_seconds{%(sel)s})
        ) %(targetUp)s
      ||| % (p { onPVEJob: 'on(%s, job_id)' % c.targetLabels }),
      'A scheduled job did not run.',
      'The run of {{ if $labels.job_type }}{{ $labels.job_type }} job {{ $labels.job_id }} on datastore {{ $labels.datastore }}{{ else }}backup job {{ $labels.job_id }}{{ end }} of {{ $labels.target }} that its schedule set is {{ $value | humanizeDuration }} overdue.',
      c.jobOverdueFor,
    ),
  ],
}
