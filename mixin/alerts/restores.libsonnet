// Alerts about restore tests: restores of PVE guests' backups, from the
// qmrestore and vzrestore task logs.
function(c) {
  local q = (import '../lib/promql.libsonnet')(c),
  local p = {
    sel: q.sel,
    onGuest: q.onGuest,
    interval: c.restoreTestInterval,
  },

  name: 'proxmox-backup-restores',
  rules: [
    q.alert(
      'ProxmoxBackupRestoreTestOverdue',
      'warning',
      // Guests that must pass restore tests (the exporter exports the
      // opt-in: a guest tag or the whole target) and whose newest restore
      // failed, ended more than the interval ago, or is not in the
      // exporter's restore lookback at all (the value is then -1, which the text tells apart). The
      // requirement is exported only while the exporter read every node's
      // restore tasks, so a failed listing never reads as "untested".
      q.guest(|||
        (
          time() - proxmox_backup_guest_last_restore_timestamp_seconds{%(sel)s}
          or %(onGuest)s
          proxmox_backup_guest_restore_test_required{%(sel)s} * 0 - 1
        )
          and %(onGuest)s (proxmox_backup_guest_restore_test_required{%(sel)s} == 1)
          unless %(onGuest)s (
            proxmox_backup_guest_last_restore_success{%(sel)s} == 1
              and %(onGuest)s (time() - proxmox_backup_guest_last_restore_timestamp_seconds{%(sel)s} < %(interval)d)
          )
      ||| % p),
      'A restore test is overdue.',
      '{{ if eq $value -1.0 }}No restore of a backup of %s is in the restore tasks the exporter reads.{{ else }}The last restore of a backup of %s ended {{ $value | humanizeDuration }} ago and failed, or passed more than %s ago.{{ end }} It must pass a restore test every %s.' % [q.guestWho, q.guestWho, q.days(c.restoreTestInterval), q.days(c.restoreTestInterval)],
    ),
  ],
}
