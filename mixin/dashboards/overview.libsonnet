// Backup overview: is every guest backed up?
local g = import '../lib/grafana.libsonnet';

function(c)
  local d = (import 'common.libsonnet')(c);
  local sel = d.sel;
  local count(expr) = 'count((%s) %s) or vector(0)' % [expr, d.notTemplate];
  local column(expr, ref) = g.target(expr, instant=true, refId=ref, format='table');
  local colored = { id: 'custom.cellOptions', value: { type: 'color-text' } };

  d.dashboard('Overview', 'proxmox-backup-overview', [
    g.stat('Backed up in time', count('proxmox_backup_guest_last_backup_age_seconds{%s} < %d' % [sel, c.tooOldWarning]), 0, 0, color='green'),
    g.stat('Stale', count('proxmox_backup_guest_last_backup_age_seconds{%s} >= %d' % [sel, c.tooOldWarning]), 4, 0, color='orange'),
    g.stat('Last attempt failed', count('proxmox_backup_guest_last_attempt_success{%s} == 0' % sel), 8, 0, color='red'),
    g.stat('Never backed up', count('proxmox_backup_guest_backups{%s} == 0' % sel), 12, 0, color='red'),
    g.stat('Not covered by a job', count('proxmox_backup_guest_covered{%s} == 0' % sel), 16, 0, color='orange'),
    g.stat('Targets down', 'count(proxmox_backup_up{%s} == 0) or vector(0)' % sel, 20, 0, color='red'),
    g.table('Guests', [
      column('proxmox_backup_guest_info{%s}' % sel, 'info'),
      column('proxmox_backup_guest_last_backup_age_seconds{%s}' % sel, 'age'),
      column('proxmox_backup_guest_last_backup_size_bytes{%s}' % sel, 'size'),
      column('proxmox_backup_guest_last_backup_verify_state{%s} == 1' % sel, 'verify'),
      column('proxmox_backup_guest_last_backup_encrypted{%s}' % sel, 'encrypted'),
      column('time() - proxmox_backup_guest_last_attempt_timestamp_seconds{%s}' % sel, 'attempt'),
      column('proxmox_backup_guest_last_attempt_success{%s}' % sel, 'attemptok'),
      column('proxmox_backup_guest_covered{%s}' % sel, 'covered'),
    ], 0, 4, h=14, hidden=['Value #info', 'Value #verify', 'template'], overrides=[
      g.override('Value #age', [{ id: 'displayName', value: 'Last backup age' }, { id: 'unit', value: 's' }, { id: 'thresholds', value: d.ageThresholds }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]),
      g.override('Value #size', [{ id: 'displayName', value: 'Size' }, { id: 'unit', value: 'bytes' }]),
      g.override('state', [{ id: 'displayName', value: 'Verification' }]),
      g.override('Value #encrypted', [{ id: 'displayName', value: 'Encrypted' }, { id: 'mappings', value: d.yesNo('text') }]),
      g.override('Value #attempt', [{ id: 'displayName', value: 'Last attempt' }, { id: 'unit', value: 's' }]),
      g.override('Value #attemptok', [{ id: 'displayName', value: 'Attempt result' }, { id: 'mappings', value: d.okFailed }, colored]),
      g.override('Value #covered', [{ id: 'displayName', value: 'Covered' }, { id: 'mappings', value: d.yesNo() }, colored]),
    ]),
    g.timeseries('Last backup age', [
      g.target('proxmox_backup_guest_last_backup_age_seconds{%s} * %s group_left(name) proxmox_backup_guest_info{%s}' % [sel, d.onGuest, sel], '{{target}} {{name}} ({{vmid}})'),
    ], 0, 18, w=24, unit='s'),
  ])
