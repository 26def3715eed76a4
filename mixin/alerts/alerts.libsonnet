{
  local c = $._config,
  local sel = c.backupExporterSelector,
  local on = 'on(%s)' % c.targetLabels,
  local onGuest = 'on(%s, vmid)' % c.targetLabels,
  local onGroup = 'on(%s, datastore, namespace, backup_type, backup_id)' % c.targetLabels,

  // Filters shared by the guest alerts.
  local targetUp = 'unless %s (proxmox_backup_up{%s} == 0)' % [on, sel],
  local notTemplate = 'unless %s proxmox_backup_guest_info{%s, template="1"}' % [onGuest, sel],
  local notOptedOut = 'unless %s proxmox_backup_guest_info{%s, tags=~"(.*;)?%s(;.*)?"}' % [onGuest, sel, c.optOutTag],
  local notRunning = 'unless %s (proxmox_backup_guest_backup_running{%s} == 1)' % [onGuest, sel],
  local groupNotOptedOut = 'unless %s proxmox_backup_group_info{%s, comment=~".*%s.*"}' % [onGroup, sel, c.optOutComment],
  local withGuestInfo(expr) = '(%s) * %s group_left(name, node, guest_type) proxmox_backup_guest_info{%s}' % [expr, onGuest, sel],

  local alert(name, severity, expr, summary, description, forDuration=null) = {
    alert: name,
    expr: expr,
    labels: { severity: c.severities[severity] },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: c.runbookURLPattern % std.asciiLower(name),
    },
  } + (if forDuration != null then { 'for': forDuration } else {}),

  local guestWho = 'guest {{ $labels.name }} ({{ $labels.vmid }}) on node {{ $labels.node }} of {{ $labels.target }}',
  local groupWho = 'backup group {{ $labels.backup_type }}/{{ $labels.backup_id }} in datastore {{ $labels.datastore }}{{ if $labels.namespace }}, namespace {{ $labels.namespace }}{{ end }} of {{ $labels.target }}',

  prometheusAlerts+:: {
    groups+: [{
      name: 'proxmox-backup',
      rules: [
        alert(
          'ProxmoxBackupTargetDown',
          'critical',
          '(proxmox_backup_up{%(sel)s} == 0) or %(on)s (up{%(sel)s} == 0)' % { sel: sel, on: on },
          'A Proxmox target cannot be monitored.',
          'The exporter cannot query {{ $labels.target }} (the API does not answer, rejects the token, or the probe itself fails): none of its backups are checked.',
          c.targetDownFor,
        ),
        alert(
          'ProxmoxBackupCollectorFailing',
          'warning',
          '(proxmox_backup_collector_success{%s} == 0) %s' % [sel, targetUp],
          'Part of a Proxmox target cannot be read.',
          'Collector {{ $labels.collector }} of {{ $labels.target }} fails: the metrics that depend on it are missing. The exporter log names the API call and the privilege it needs.',
          c.collectorFailingFor,
        ),
        alert(
          'ProxmoxBackupMissed',
          'critical',
          withGuestInfo(|||
            (time() - proxmox_backup_guest_last_backup_timestamp_seconds{%(sel)s})
              and %(onGuest)s (proxmox_backup_guest_last_backup_timestamp_seconds{%(sel)s} < proxmox_backup_guest_backup_due_timestamp_seconds{%(sel)s})
              and %(onGuest)s (time() - proxmox_backup_guest_backup_due_timestamp_seconds{%(sel)s} > %(grace)d)
              %(notRunning)s %(notTemplate)s %(notOptedOut)s %(targetUp)s
          ||| % { sel: sel, onGuest: onGuest, grace: c.missedGracePeriod, notRunning: notRunning, notTemplate: notTemplate, notOptedOut: notOptedOut, targetUp: targetUp }),
          'A scheduled backup was missed.',
          'The last backup of %s is {{ $value | humanizeDuration }} old: its scheduled run did not produce one.' % guestWho,
        ),
        alert(
          'ProxmoxBackupTooOld',
          'warning',
          |||
            (
              %(guest)s
            )
            or
            (
              (proxmox_backup_group_last_backup_age_seconds{%(sel)s} > %(warn)d unless proxmox_backup_group_last_backup_age_seconds{%(sel)s} > %(crit)d)
              %(groupNotOptedOut)s %(targetUp)s
            )
          ||| % {
            sel: sel,
            warn: c.tooOldWarning,
            crit: c.tooOldCritical,
            groupNotOptedOut: groupNotOptedOut,
            targetUp: targetUp,
            guest: withGuestInfo('(proxmox_backup_guest_last_backup_age_seconds{%(sel)s} > %(warn)d unless proxmox_backup_guest_last_backup_age_seconds{%(sel)s} > %(crit)d) unless %(onGuest)s proxmox_backup_guest_backup_due_timestamp_seconds{%(sel)s} %(notTemplate)s %(notOptedOut)s %(targetUp)s' % { sel: sel, warn: c.tooOldWarning, crit: c.tooOldCritical, onGuest: onGuest, notTemplate: notTemplate, notOptedOut: notOptedOut, targetUp: targetUp }),
          },
          'A backup is getting old.',
          'The last backup of {{ if $labels.vmid }}guest {{ $labels.name }} ({{ $labels.vmid }}) of {{ $labels.target }}{{ else }}%s{{ end }} is {{ $value | humanizeDuration }} old.' % groupWho,
        ),
        alert(
          'ProxmoxBackupTooOld',
          'critical',
          |||
            (
              %(guest)s
            )
            or
            (
              (proxmox_backup_group_last_backup_age_seconds{%(sel)s} > %(crit)d)
              %(groupNotOptedOut)s %(targetUp)s
            )
          ||| % {
            sel: sel,
            crit: c.tooOldCritical,
            groupNotOptedOut: groupNotOptedOut,
            targetUp: targetUp,
            guest: withGuestInfo('(proxmox_backup_guest_last_backup_age_seconds{%(sel)s} > %(crit)d) unless %(onGuest)s proxmox_backup_guest_backup_due_timestamp_seconds{%(sel)s} %(notTemplate)s %(notOptedOut)s %(targetUp)s' % { sel: sel, crit: c.tooOldCritical, onGuest: onGuest, notTemplate: notTemplate, notOptedOut: notOptedOut, targetUp: targetUp }),
          },
          'A backup is too old.',
          'The last backup of {{ if $labels.vmid }}guest {{ $labels.name }} ({{ $labels.vmid }}) of {{ $labels.target }}{{ else }}%s{{ end }} is {{ $value | humanizeDuration }} old.' % groupWho,
        ),
        alert(
          'ProxmoxBackupNeverBackedUp',
          'critical',
          withGuestInfo('(proxmox_backup_guest_backups{%(sel)s} == 0) %(notTemplate)s %(notOptedOut)s %(targetUp)s unless %(on)s (proxmox_backup_collector_success{%(sel)s, collector="backups"} == 0)' % { sel: sel, on: on, notTemplate: notTemplate, notOptedOut: notOptedOut, targetUp: targetUp }),
          'A guest has never been backed up.',
          'There is no backup of %s on any backup storage.' % guestWho,
        ),
        alert(
          'ProxmoxBackupNotCovered',
          'warning',
          withGuestInfo('(proxmox_backup_guest_covered{%(sel)s} == 0) %(notTemplate)s %(notOptedOut)s %(targetUp)s' % { sel: sel, notTemplate: notTemplate, notOptedOut: notOptedOut, targetUp: targetUp }),
          'A guest is in no backup job.',
          'No enabled backup job selects %s: it will not be backed up.' % guestWho,
          c.notCoveredFor,
        ),
        alert(
          'ProxmoxBackupFailed',
          'critical',
          withGuestInfo('(proxmox_backup_guest_last_attempt_success{%(sel)s} == 0) %(notRunning)s %(notTemplate)s %(notOptedOut)s %(targetUp)s' % { sel: sel, notRunning: notRunning, notTemplate: notTemplate, notOptedOut: notOptedOut, targetUp: targetUp }),
          'A backup failed.',
          'The last backup attempt of %s failed.' % guestWho,
        ),
        alert(
          'ProxmoxBackupVerifyFailed',
          'critical',
          |||
            (%(guest)s)
            or
            ((proxmox_backup_group_last_backup_verify_state{%(sel)s, state="failed"} == 1) %(groupNotOptedOut)s %(targetUp)s)
          ||| % {
            sel: sel,
            groupNotOptedOut: groupNotOptedOut,
            targetUp: targetUp,
            guest: withGuestInfo('(proxmox_backup_guest_last_backup_verify_state{%(sel)s, state="failed"} == 1) %(notOptedOut)s %(targetUp)s' % { sel: sel, notOptedOut: notOptedOut, targetUp: targetUp }),
          },
          'A backup failed verification.',
          'The last backup of {{ if $labels.vmid }}guest {{ $labels.name }} ({{ $labels.vmid }}) of {{ $labels.target }}{{ else }}%s{{ end }} failed verification: it may not restore.' % groupWho,
        ),
        alert(
          'ProxmoxBackupNotVerified',
          'info',
          |||
            (
              (time() - proxmox_backup_group_last_verify_timestamp_seconds{%(sel)s, %(optin)s} > %(window)d)
              or
              ((proxmox_backup_group_last_backup_age_seconds{%(sel)s, %(optin)s} > %(window)d) and %(onGroup)s (proxmox_backup_group_last_backup_verify_state{%(sel)s, state="none"} == 1))
            ) %(groupNotOptedOut)s %(targetUp)s
            or
            (%(guest)s)
          ||| % {
            sel: sel,
            optin: c.notVerifiedSelector,
            window: c.notVerifiedWindow,
            onGroup: onGroup,
            groupNotOptedOut: groupNotOptedOut,
            targetUp: targetUp,
            guest: withGuestInfo('(proxmox_backup_guest_last_backup_age_seconds{%(sel)s, %(optin)s} > %(window)d) and %(onGuest)s (proxmox_backup_guest_last_backup_verify_state{%(sel)s, state="none"} == 1) %(notOptedOut)s %(targetUp)s' % { sel: sel, optin: c.notVerifiedSelector, window: c.notVerifiedWindow, onGuest: onGuest, notOptedOut: notOptedOut, targetUp: targetUp }),
          },
          'A backup has not been verified.',
          'The last backup of {{ if $labels.vmid }}guest {{ $labels.name }} ({{ $labels.vmid }}) of {{ $labels.target }}{{ else }}%s{{ end }} has not been verified for {{ $value | humanizeDuration }}.' % groupWho,
        ),
        alert(
          'ProxmoxBackupUnencrypted',
          'info',
          |||
            ((proxmox_backup_group_last_backup_encrypted{%(sel)s, %(optin)s} == 0) %(groupNotOptedOut)s %(targetUp)s)
            or
            (%(guest)s)
          ||| % {
            sel: sel,
            optin: c.unencryptedSelector,
            groupNotOptedOut: groupNotOptedOut,
            targetUp: targetUp,
            guest: withGuestInfo('(proxmox_backup_guest_last_backup_encrypted{%(sel)s, %(optin)s} == 0) %(notOptedOut)s %(targetUp)s' % { sel: sel, optin: c.unencryptedSelector, notOptedOut: notOptedOut, targetUp: targetUp }),
          },
          'A backup is not encrypted.',
          'The last backup of {{ if $labels.vmid }}guest {{ $labels.name }} ({{ $labels.vmid }}) of {{ $labels.target }}{{ else }}%s{{ end }} is not encrypted.' % groupWho,
        ),
        alert(
          'ProxmoxBackupSizeAnomaly',
          'warning',
          |||
            (
              abs(proxmox_backup_guest_last_backup_size_bytes{%(sel)s} - avg_over_time(proxmox_backup_guest_last_backup_size_bytes{%(sel)s}[%(window)ds]))
                > %(ratio)s * avg_over_time(proxmox_backup_guest_last_backup_size_bytes{%(sel)s}[%(window)ds])
            ) * 0 + proxmox_backup_guest_last_backup_size_bytes{%(sel)s}
            or
            (
              abs(proxmox_backup_group_last_backup_size_bytes{%(sel)s} - avg_over_time(proxmox_backup_group_last_backup_size_bytes{%(sel)s}[%(window)ds]))
                > %(ratio)s * avg_over_time(proxmox_backup_group_last_backup_size_bytes{%(sel)s}[%(window)ds])
            ) * 0 + proxmox_backup_group_last_backup_size_bytes{%(sel)s} %(groupNotOptedOut)s
          ||| % { sel: sel, window: c.sizeAnomalyWindow, ratio: c.sizeAnomalyRatio, groupNotOptedOut: groupNotOptedOut },
          'A backup differs much in size from the usual.',
          'The last backup of {{ if $labels.vmid }}guest {{ $labels.vmid }} of {{ $labels.target }}{{ else }}%s{{ end }} is {{ $value | humanize1024 }}B, more than %d%% away from its %d-day average.' % [groupWho, c.sizeAnomalyRatio * 100, c.sizeAnomalyWindow / 86400],
        ),
        alert(
          'ProxmoxBackupDatastoreFillingUp',
          'warning',
          |||
            (proxmox_backup_datastore_estimated_full_timestamp_seconds{%(sel)s} - time() < %(window)d)
            or
            (predict_linear(proxmox_backup_datastore_available_bytes{%(sel)s}[%(lookback)ds], %(windowSeconds)d) < 0) * 0 + time() + %(windowSeconds)d
            or
            (predict_linear(proxmox_backup_storage_available_bytes{%(sel)s}[%(lookback)ds], %(windowSeconds)d) < 0) * 0 + time() + %(windowSeconds)d
          ||| % { sel: sel, window: c.fillPredictionWindow, lookback: c.fillPredictionLookback, windowSeconds: c.fillPredictionWindow },
          'A backup store is filling up.',
          '{{ if $labels.datastore }}Datastore {{ $labels.datastore }}{{ else }}Backup storage {{ $labels.storage }}{{ if $labels.node }} on node {{ $labels.node }}{{ end }}{{ end }} of {{ $labels.target }} is predicted to be full within %d days.' % (c.fillPredictionWindow / 86400),
          '1h',
        ),
        alert(
          'ProxmoxBackupDatastoreAlmostFull',
          'critical',
          |||
            (proxmox_backup_datastore_used_bytes{%(sel)s} / proxmox_backup_datastore_size_bytes{%(sel)s} > %(ratio)s)
            or
            (proxmox_backup_storage_used_bytes{%(sel)s} / proxmox_backup_storage_size_bytes{%(sel)s} > %(ratio)s)
          ||| % { sel: sel, ratio: c.almostFullRatio },
          'A backup store is almost full.',
          '{{ if $labels.datastore }}Datastore {{ $labels.datastore }}{{ else }}Backup storage {{ $labels.storage }}{{ if $labels.node }} on node {{ $labels.node }}{{ end }}{{ end }} of {{ $labels.target }} is {{ $value | humanizePercentage }} full.',
          '15m',
        ),
        alert(
          'ProxmoxBackupJobFailed',
          'warning',
          '(proxmox_backup_job_last_run_success{%s} == 0) %s' % [sel, targetUp],
          'A backup server job failed.',
          'The last run of {{ $labels.job_type }} job {{ $labels.job_id }} on datastore {{ $labels.datastore }} of {{ $labels.target }} failed.',
        ),
        alert(
          'ProxmoxBackupGCNotRunning',
          'warning',
          |||
            (
              (time() - proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s} > %(age)d)
              or
              (time() - proxmox_backup_gc_last_run_timestamp_seconds{%(sel)s}) and %(onDS)s (max_over_time(proxmox_backup_gc_last_run_success{%(sel)s}[%(age)ds]) == 0)
            ) %(targetUp)s
          ||| % { sel: sel, age: c.gcMaxAge, onDS: 'on(%s, datastore)' % c.targetLabels, targetUp: targetUp },
          'Garbage collection has not succeeded for days.',
          'Garbage collection of datastore {{ $labels.datastore }} of {{ $labels.target }} has not run successfully for {{ $value | humanizeDuration }}: removed backups do not free space.',
          '15m',
        ),
      ],
    }],
  },
}
