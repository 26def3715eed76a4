// Alerts about the copies of a backup (3-2-1): on how many storages a
// guest has a recent backup, and whether an offsite PBS keeps up with its
// primary. Both are opt-in: a PVE tag on the guest, an offsite setting on
// the primary PBS target of the exporter's configuration.
function(c) {
  local q = (import '../lib/promql.libsonnet')(c),
  local p = {
    sel: q.sel,
    on: q.on,
    onGuest: q.onGuest,
    tag: c.singleCopyTag,
    maxLag: c.offsiteCopyMaxLag,
  },

  name: 'proxmox-backup-copies',
  rules: [
    q.alert(
      'ProxmoxBackupSingleCopy',
      'warning',
      // The storages PVE sees, each with a backup younger than the
      // exporter's recent_backup_window; copies that PBS sync makes on
      // another server are ProxmoxBackupOffsiteCopyLagging's.
      q.guest(|||
        proxmox_backup_guest_recent_backup_storages{%(sel)s} < 2
          and %(onGuest)s proxmox_backup_guest_info{%(sel)s, tags=~"(.*;)?%(tag)s(;.*)?"}
      ||| % p),
      'A guest has a recent backup on fewer than two storages.',
      'Only {{ $value }} backup storage(s) hold a recent backup of %s, which its tag %s requires on two.' % [q.guestWho, c.singleCopyTag],
    ),
    q.alert(
      'ProxmoxBackupOffsiteCopyLagging',
      'warning',
      // Each group of a PBS target with an offsite setting (the exporter
      // exports it as proxmox_backup_offsite_info) against the newest
      // snapshot of the same type and id anywhere on the offsite target:
      // PBS sync copies a snapshot under its own backup time, so the two
      // newest times differ by what the copy has not received yet. A group
      // with no copy at all is left out (a sync's group filter may skip it
      // on purpose; the overview dashboard lists those).
      q.group(|||
        proxmox_backup_group_last_backup_timestamp_seconds{%(sel)s}
          * %(on)s group_left(offsite_target) proxmox_backup_offsite_info{%(sel)s}
        - on(job, offsite_target, backup_type, backup_id) group_left()
        label_join(
          max by (job, target, backup_type, backup_id) (proxmox_backup_group_last_backup_timestamp_seconds{%(sel)s}),
          "offsite_target", "", "target"
        )
        > %(maxLag)d
      ||| % p),
      'An offsite copy lags behind its primary.',
      'The newest copy of %s on {{ $labels.offsite_target }} is {{ $value | humanizeDuration }} older than the newest snapshot on {{ $labels.target }}: the sync does not keep up.' % q.groupWho,
    ),
  ],
}
