// Backup overview: is every guest backed up?
local g = import '../lib/grafana.libsonnet';

function(c)
  local d = (import 'common.libsonnet')(c);
  local sel = d.sel;
  // count counts the guests the alerts watch: no templates, no opt-outs.
  local count(expr) = 'count((%s) %s %s) or vector(0)' % [expr, d.notTemplate, d.notOptedOut];
  local column(expr, ref) = g.target(d.guests(expr), instant=true, refId=ref, format='table');
  local colored = { id: 'custom.cellOptions', value: { type: 'color-text' } };
  local pveColumn(expr, ref) = g.target(expr, instant=true, refId=ref, format='table');
  // withName joins the guest's name to a per-guest expression.
  local withName(expr) = '%s * %s group_left(name) proxmox_backup_guest_info{%s}' % [expr, d.onGuest, sel];
  local ms = { id: 'unit', value: 'dateTimeAsIso' };

  // Restore tests and copies: how many storages hold a recent backup of
  // each guest, how far each offsite PBS lags behind its primary, and when
  // each guest was last restored for a test and each PBS group last read.
  //
  local copies = [
    g.row('Restore tests and copies', 44),
    g.stat('Single recent copy (%s tag)' % c.singleCopyTag, count('proxmox_backup_guest_recent_backup_storages{%s} < 2 and %s %s' % [sel, d.onGuest, d.twoCopies]), 0, 45, w=6, color='orange'),
    g.stat('Offsite copies lagging', 'count(%s) or vector(0)' % d.groups(d.offsiteCopy('%%(primary)s - %%(copy)s > %d' % c.offsiteCopyMaxLag)), 6, 45, w=6, color='orange'),
    g.table('Recent copies per guest', [
      column(withName('proxmox_backup_guest_recent_backup_storages{%s}' % sel), 'recent'),
      column(withName('(proxmox_backup_guest_recent_backup_storages{%s} * 0 + 1) and %s %s' % [sel, d.onGuest, d.twoCopies]), 'wants'),
      column(withName('count by (%s, vmid) (proxmox_backup_guest_storage_last_backup_timestamp_seconds{%s})' % [c.targetLabels, sel]), 'storages'),
    ], 0, 49, w=12, h=10, overrides=[
      g.override('Value #recent', [{ id: 'displayName', value: 'Storages with a recent backup' }, { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'orange', value: null }, { color: 'green', value: 2 }] } }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
      g.override('Value #wants', [{ id: 'displayName', value: 'Needs two (%s)' % c.singleCopyTag }, { id: 'mappings', value: [{ type: 'value', options: { '1': { text: 'yes' } } }] }]),
      g.override('Value #storages', [{ id: 'displayName', value: 'Storages with any backup' }]),
    ]),
    // A group whose copy column is empty has no copy on the offsite target.
    g.table('Offsite copies', [
      column(d.groups(d.offsiteCopy('%(primary)s * 1000')), 'primary'),
      column(d.groups(d.offsiteCopy('(%(primary)s * 0 + %(copy)s) * 1000')), 'copy'),
      column(d.groups(d.offsiteCopy('%(primary)s - %(copy)s')), 'lag'),
    ], 12, 49, w=12, h=10, overrides=[
      g.override('Value #primary', [{ id: 'displayName', value: 'Newest snapshot' }, ms]),
      g.override('Value #copy', [{ id: 'displayName', value: 'Newest copy' }, ms]),
      g.override('Value #lag', [{ id: 'displayName', value: 'Copy lags by' }, { id: 'unit', value: 's' }, { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'orange', value: c.offsiteCopyMaxLag }] } }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]),
    ]),
  ];
  local restoreTests = [
    g.stat('Restore-tested guests', count('proxmox_backup_guest_last_restore_timestamp_seconds{%s}' % sel), 12, 45, w=6, color='green'),
    g.stat('Last restore test failed', count('proxmox_backup_guest_last_restore_success{%s} == 0' % sel), 18, 45, w=6, color='red'),
    g.table('Restore tests per guest', [
      column(withName('proxmox_backup_guest_last_restore_timestamp_seconds{%s} * 1000' % sel), 'restored'),
      column(withName('proxmox_backup_guest_last_restore_success{%s}' % sel), 'restoreok'),
      column(withName('proxmox_backup_guest_last_restore_backup_timestamp_seconds{%s} * 1000' % sel), 'restoredbackup'),
      column(withName('proxmox_backup_guest_last_restore_info{%s}' % sel), 'restoreinfo'),
      column(withName('proxmox_backup_guest_restore_test_required{%s}' % sel), 'required'),
    ], 0, 59, w=12, h=10, hidden=['Value #restoreinfo'], overrides=[
      g.override('Value #restored', [{ id: 'displayName', value: 'Last restore test' }, ms]),
      g.override('Value #restoreok', [{ id: 'displayName', value: 'Result' }, { id: 'mappings', value: d.okFailed }, colored]),
      g.override('Value #restoredbackup', [{ id: 'displayName', value: 'Backup restored' }, ms]),
      g.override('restore_vmid', [{ id: 'displayName', value: 'Restored as VMID' }]),
      g.override('restore_node', [{ id: 'displayName', value: 'On node' }]),
      g.override('Value #required', [{ id: 'displayName', value: 'Test required' }, { id: 'mappings', value: [{ type: 'value', options: { '1': { text: 'yes' }, '0': { text: 'no' } } }] }]),
    ]),
    g.table('PBS groups last read', [
      g.target(d.groups('proxmox_backup_group_last_read_timestamp_seconds{%s} * 1000' % sel), instant=true, refId='read', format='table'),
      g.target(d.groups('proxmox_backup_group_last_backup_timestamp_seconds{%s} * 1000' % sel), instant=true, refId='newest', format='table'),
    ], 12, 59, w=12, h=10, overrides=[
      g.override('Value #read', [{ id: 'displayName', value: 'Last read (restore or file restore)' }, ms]),
      g.override('Value #newest', [{ id: 'displayName', value: 'Newest snapshot' }, ms]),
    ]),
  ];

  d.dashboard('Overview', 'proxmox-backup-overview', [
    g.stat('Backed up in time', count('proxmox_backup_guest_last_backup_age_seconds{%s} < %d' % [sel, c.tooOldWarning]), 0, 0, color='green'),
    g.stat('Stale', count('proxmox_backup_guest_last_backup_age_seconds{%s} >= %d' % [sel, c.tooOldWarning]), 4, 0, color='orange'),
    g.stat('Last attempt failed', count('proxmox_backup_guest_last_attempt_success{%s} == 0' % sel), 8, 0, color='red'),
    g.stat('Never backed up', count('proxmox_backup_guest_backups{%s} == 0' % sel), 12, 0, color='red'),
    g.stat('Not covered by a job', count('proxmox_backup_guest_covered{%s} == 0' % sel), 16, 0, color='orange'),
    // The exporter reports the API down, or Prometheus cannot scrape the
    // probe at all: ProxmoxBackupTargetDown's two cases.
    g.stat('Targets down', 'count((proxmox_backup_up{%s} == 0) or on(%s) (up{%s} == 0)) or vector(0)' % [sel, c.targetLabels, sel], 20, 0, color='red'),
    g.table('Guests', [
      column('proxmox_backup_guest_info{%s}' % sel, 'info'),
      column('proxmox_backup_guest_last_backup_age_seconds{%s}' % sel, 'age'),
      // Grafana's dateTime units take milliseconds.
      column('proxmox_backup_guest_backup_due_timestamp_seconds{%s} * 1000' % sel, 'due'),
      column('proxmox_backup_guest_last_backup_size_bytes{%s}' % sel, 'size'),
      column('proxmox_backup_guest_last_backup_verify_state{%s} == 1' % sel, 'verify'),
      column('proxmox_backup_guest_last_backup_encrypted{%s}' % sel, 'encrypted'),
      column('proxmox_backup_guest_last_attempt_timestamp_seconds{%s} * 1000' % sel, 'attempt'),
      column('proxmox_backup_guest_last_attempt_success{%s}' % sel, 'attemptok'),
      column('proxmox_backup_guest_backups{%s}' % sel, 'copies'),
      column('count by (%s, vmid) (proxmox_backup_guest_storage_last_backup_timestamp_seconds{%s})' % [c.targetLabels, sel], 'storages'),
      column('proxmox_backup_guest_covered{%s}' % sel, 'covered'),
    ], 0, 4, h=14, hidden=['Value #info', 'Value #verify', 'template'], overrides=[
      g.override('Value #age', [{ id: 'displayName', value: 'Last backup age' }, { id: 'unit', value: 's' }, { id: 'thresholds', value: d.ageThresholds }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]),
      g.override('Value #due', [{ id: 'displayName', value: 'Due since' }, { id: 'unit', value: 'dateTimeAsIso' }]),
      g.override('Value #size', [{ id: 'displayName', value: 'Size' }, { id: 'unit', value: 'bytes' }]),
      g.override('state', [{ id: 'displayName', value: 'Verification' }]),
      g.override('Value #encrypted', [{ id: 'displayName', value: 'Encrypted' }, { id: 'mappings', value: d.yesNo('text') }]),
      g.override('Value #attempt', [{ id: 'displayName', value: 'Last attempt' }, { id: 'unit', value: 'dateTimeAsIso' }]),
      g.override('Value #attemptok', [{ id: 'displayName', value: 'Attempt result' }, { id: 'mappings', value: d.okFailed }, colored]),
      g.override('Value #copies', [{ id: 'displayName', value: 'Backups' }]),
      g.override('Value #storages', [{ id: 'displayName', value: 'Storages with a copy' }]),
      g.override('Value #covered', [{ id: 'displayName', value: 'Covered' }, { id: 'mappings', value: d.yesNo() }, colored]),
    ]),
    g.table('Backups per guest and storage', [
      column('proxmox_backup_guest_storage_last_backup_timestamp_seconds{%s} * 1000 * %s group_left(name) proxmox_backup_guest_info{%s}' % [sel, d.onGuest, sel], 'newest'),
    ], 0, 18, w=12, h=10, overrides=[
      g.override('Value #newest', [{ id: 'displayName', value: 'Newest backup' }, { id: 'unit', value: 'dateTimeAsIso' }]),
    ]),
    g.table('PVE backup jobs', [
      pveColumn('proxmox_backup_pve_job_info{%s}' % sel, 'info'),
      pveColumn('proxmox_backup_pve_job_enabled{%s}' % sel, 'enabled'),
      pveColumn('proxmox_backup_pve_job_guests{%s}' % sel, 'guests'),
      pveColumn('proxmox_backup_pve_job_last_run_timestamp_seconds{%s} * 1000' % sel, 'last'),
      pveColumn('proxmox_backup_pve_job_last_run_success{%s}' % sel, 'ok'),
      pveColumn('proxmox_backup_pve_job_next_run_timestamp_seconds{%s} * 1000' % sel, 'next'),
    ], 12, 18, w=12, h=10, hidden=['Value #info'], overrides=[
      g.override('Value #enabled', [{ id: 'displayName', value: 'Enabled' }, { id: 'mappings', value: d.yesNo('text') }]),
      g.override('Value #guests', [{ id: 'displayName', value: 'Guests' }]),
      g.override('Value #last', [{ id: 'displayName', value: 'Last run' }, { id: 'unit', value: 'dateTimeAsIso' }]),
      g.override('Value #ok', [{ id: 'displayName', value: 'Result' }, { id: 'mappings', value: d.okFailed }, colored]),
      g.override('Value #next', [{ id: 'displayName', value: 'Next run' }, { id: 'unit', value: 'dateTimeAsIso' }]),
    ]),
    g.table('PVE backup storages', [
      pveColumn('proxmox_backup_storage_used_bytes{%s} / proxmox_backup_storage_size_bytes{%s}' % [sel, sel], 'used'),
      pveColumn('proxmox_backup_storage_available_bytes{%s}' % sel, 'avail'),
      pveColumn('proxmox_backup_storage_backups{%s}' % sel, 'backups'),
      pveColumn('proxmox_backup_storage_backup_bytes{%s}' % sel, 'bytes'),
    ], 0, 28, w=12, h=8, overrides=[
      g.override('Value #used', [{ id: 'displayName', value: 'Used' }, { id: 'unit', value: 'percentunit' }]),
      g.override('Value #avail', [{ id: 'displayName', value: 'Available' }, { id: 'unit', value: 'bytes' }]),
      g.override('Value #backups', [{ id: 'displayName', value: 'Backups' }]),
      g.override('Value #bytes', [{ id: 'displayName', value: 'Backup bytes' }, { id: 'unit', value: 'bytes' }]),
    ]),
    // The opt-ins of ProxmoxBackupNotVerified and Unencrypted: only the
    // targets that require verification or encryption.
    g.stat('Unverified (verification required)', count('proxmox_backup_guest_last_backup_verify_state{%s, %s, state="none"} == 1' % [sel, d.verifyOptIn]), 12, 28, w=6, color='orange'),
    g.stat('Unencrypted (encryption required)', count('proxmox_backup_guest_last_backup_encrypted{%s, %s} == 0' % [sel, d.encryptOptIn]), 18, 28, w=6, color='orange'),
    g.timeseries('Last backup age', [
      g.target(d.guests('proxmox_backup_guest_last_backup_age_seconds{%s} * %s group_left(name) proxmox_backup_guest_info{%s}' % [sel, d.onGuest, sel]), '{{target}} {{name}} ({{vmid}})'),
    ], 0, 36, w=24, unit='s'),
  ] + copies + restoreTests)
