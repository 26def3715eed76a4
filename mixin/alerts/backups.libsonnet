// Alerts about the backups of PVE guests and PBS backup groups.
function(c) {
  local q = (import '../lib/promql.libsonnet')(c),
  // The values the expressions below fill in.
  local p = {
    sel: q.sel,
    onGuest: q.onGuest,
    onGroup: q.onGroup,
    notRunning: q.notRunning,
    grace: c.missedGracePeriod,
    warn: c.tooOldWarning,
    crit: c.tooOldCritical,
    verifyWindow: c.notVerifiedWindow,
    verifyOptIn: c.notVerifiedSelector,
    encryptOptIn: c.unencryptedSelector,
    ratio: c.sizeAnomalyRatio,
    sizeWindow: c.sizeAnomalyWindow,
  },

  // tooOld selects last backups older than from seconds, and younger than
  // upTo unless upTo is null; guests covered by a schedule are left to
  // ProxmoxBackupMissed.
  local tooOld(from, upTo) =
    local band(metric) =
      if upTo == null then '%s{%s} > %d' % [metric, p.sel, from]
      else '%s{%s} > %d unless %s{%s} > %d' % [metric, p.sel, from, metric, p.sel, upTo];
    q.either(
      q.guest('%s\nunless %s proxmox_backup_guest_backup_due_timestamp_seconds{%s}\n%s' % [
        band('proxmox_backup_guest_last_backup_age_seconds'),
        p.onGuest,
        p.sel,
        p.notRunning,
      ]),
      q.group(band('proxmox_backup_group_last_backup_age_seconds')),
    ),

  // sizeAnomaly selects last backup sizes far from their average.
  local sizeAnomaly(metric, on) = |||
    %(metric)s{%(sel)s}
      and %(on)s (
        abs(%(metric)s{%(sel)s} - avg_over_time(%(metric)s{%(sel)s}[%(sizeWindow)ds]))
          > %(ratio)g * avg_over_time(%(metric)s{%(sel)s}[%(sizeWindow)ds])
      )
  ||| % (p { metric: metric, on: on }),

  name: 'proxmox-backup-backups',
  rules: [
    q.alert(
      'ProxmoxBackupMissed',
      'critical',
      // Older than the latest scheduled start of a job that covers the
      // guest, once the grace period after that start has passed.
      q.guest(|||
        time() - proxmox_backup_guest_last_backup_timestamp_seconds{%(sel)s}
          and %(onGuest)s (proxmox_backup_guest_last_backup_timestamp_seconds{%(sel)s} < proxmox_backup_guest_backup_due_timestamp_seconds{%(sel)s})
          and %(onGuest)s (time() - proxmox_backup_guest_backup_due_timestamp_seconds{%(sel)s} > %(grace)d)
          %(notRunning)s
      ||| % p),
      'A scheduled backup was missed.',
      'The last backup of %s is {{ $value | humanizeDuration }} old: its scheduled run did not produce one.' % q.guestWho,
    ),
    q.alert(
      'ProxmoxBackupTooOld',
      'warning',
      tooOld(c.tooOldWarning, c.tooOldCritical),
      'A backup is getting old.',
      'The last backup of %s is {{ $value | humanizeDuration }} old.' % q.guestOrGroupWho,
    ),
    q.alert(
      'ProxmoxBackupTooOld',
      'critical',
      tooOld(c.tooOldCritical, null),
      'A backup is too old.',
      'The last backup of %s is {{ $value | humanizeDuration }} old.' % q.guestOrGroupWho,
    ),
    q.alert(
      'ProxmoxBackupNeverBackedUp',
      'critical',
      // Not while the backups collector fails: then the count is unknown.
      q.guest(|||
        proxmox_backup_guest_backups{%(sel)s} == 0
          unless on(%(targetLabels)s) (proxmox_backup_collector_success{%(sel)s, collector="backups"} == 0)
          %(notRunning)s
      ||| % (p { targetLabels: c.targetLabels })),
      'A guest has never been backed up.',
      'There is no backup of %s on any backup storage.' % q.guestWho,
    ),
    q.alert(
      'ProxmoxBackupNotCovered',
      'warning',
      q.guest('proxmox_backup_guest_covered{%(sel)s} == 0' % p),
      'A guest is in no backup job.',
      'No enabled backup job selects %s: it will not be backed up.' % q.guestWho,
      c.notCoveredFor,
    ),
    q.alert(
      'ProxmoxBackupFailed',
      'critical',
      q.guest(|||
        time() - proxmox_backup_guest_last_attempt_timestamp_seconds{%(sel)s}
          and %(onGuest)s (proxmox_backup_guest_last_attempt_success{%(sel)s} == 0)
          %(notRunning)s
      ||| % p),
      'A backup failed.',
      'The last backup attempt of %s, {{ $value | humanizeDuration }} ago, failed.' % q.guestWho,
    ),
    q.alert(
      'ProxmoxBackupVerifyFailed',
      'critical',
      q.either(
        q.guest(|||
          proxmox_backup_guest_last_backup_age_seconds{%(sel)s}
            and %(onGuest)s (proxmox_backup_guest_last_backup_verify_state{%(sel)s, state="failed"} == 1)
        ||| % p, templates=true),
        q.group(|||
          proxmox_backup_group_last_backup_age_seconds{%(sel)s}
            and %(onGroup)s (proxmox_backup_group_last_backup_verify_state{%(sel)s, state="failed"} == 1)
        ||| % p),
      ),
      'A backup failed verification.',
      'The last backup of %s, made {{ $value | humanizeDuration }} ago, failed verification: it may not restore.' % q.guestOrGroupWho,
    ),
    q.alert(
      'ProxmoxBackupNotVerified',
      'info',
      // Three ways to be unverified: the last backup's verification is
      // older than the window; the last backup is older than the window and
      // never verified; or, with a new backup every day, no last backup
      // seen in the window was verified (the value is then the window).
      q.either(
        q.guest(|||
          proxmox_backup_guest_last_backup_age_seconds{%(sel)s, %(verifyOptIn)s} > %(verifyWindow)d
            and %(onGuest)s (proxmox_backup_guest_last_backup_verify_state{%(sel)s, state="none"} == 1)
          or
          (
            max without(state) (max_over_time(proxmox_backup_guest_last_backup_verify_state{%(sel)s, %(verifyOptIn)s, state="ok"}[%(verifyWindow)ds])) == 0
              and %(onGuest)s (proxmox_backup_guest_last_backup_timestamp_seconds{%(sel)s} offset %(verifyWindow)ds)
          ) + %(verifyWindow)d
        ||| % p, templates=true),
        q.group(|||
          time() - proxmox_backup_group_last_verify_timestamp_seconds{%(sel)s, %(verifyOptIn)s} > %(verifyWindow)d
          or
          proxmox_backup_group_last_backup_age_seconds{%(sel)s, %(verifyOptIn)s} > %(verifyWindow)d
            and %(onGroup)s (proxmox_backup_group_last_backup_verify_state{%(sel)s, state="none"} == 1)
          or
          (
            max without(state) (max_over_time(proxmox_backup_group_last_backup_verify_state{%(sel)s, %(verifyOptIn)s, state="ok"}[%(verifyWindow)ds])) == 0
              and %(onGroup)s (proxmox_backup_group_last_backup_timestamp_seconds{%(sel)s} offset %(verifyWindow)ds)
          ) + %(verifyWindow)d
        ||| % p),
      ),
      'A backup has not been verified.',
      'The last backup of %s has not been verified for {{ $value | humanizeDuration }}.' % q.guestOrGroupWho,
    ),
    q.alert(
      'ProxmoxBackupUnencrypted',
      'info',
      q.either(
        q.guest(|||
          proxmox_backup_guest_last_backup_size_bytes{%(sel)s, %(encryptOptIn)s}
            and %(onGuest)s (proxmox_backup_guest_last_backup_encrypted{%(sel)s} == 0)
        ||| % p, templates=true),
        q.group(|||
          proxmox_backup_group_last_backup_size_bytes{%(sel)s, %(encryptOptIn)s}
            and %(onGroup)s (proxmox_backup_group_last_backup_encrypted{%(sel)s} == 0)
        ||| % p),
      ),
      'A backup is not encrypted.',
      'The last backup of %s ({{ $value | humanize1024 }}B) is not encrypted.' % q.guestOrGroupWho,
    ),
    q.alert(
      'ProxmoxBackupDatedInFuture',
      'warning',
      // The exporter counts backups dated beyond its clock-skew allowance
      // (10 minutes) apart and never takes them as the last backup, so
      // this alert is all that shows them. Templates are included: their
      // backups are backups too.
      q.either(
        q.guest('proxmox_backup_guest_future_backups{%(sel)s} > 0' % p, templates=true),
        q.group('proxmox_backup_group_future_snapshots{%(sel)s} > 0' % p),
      ),
      'A backup is dated in the future.',
      '{{ $value }} backup(s) of %s are dated in the future: a clock was wrong when they were made. They are not counted as the last backup, and pruning may keep them forever.' % q.guestOrGroupWho,
    ),
    q.alert(
      'ProxmoxBackupSizeAnomaly',
      'warning',
      q.either(
        q.guest(sizeAnomaly('proxmox_backup_guest_last_backup_size_bytes', q.onGuest)),
        q.group(sizeAnomaly('proxmox_backup_group_last_backup_size_bytes', q.onGroup)),
      ),
      'A backup differs much in size from the usual.',
      'The last backup of %s is {{ $value | humanize1024 }}B, more than %d%% away from its average over %s.' % [q.guestOrGroupWho, c.sizeAnomalyRatio * 100, q.days(c.sizeAnomalyWindow)],
    ),
  ],
}
