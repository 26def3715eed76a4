// Proxmox Backup Server: datastores, garbage collection, jobs and groups.
local g = import '../lib/grafana.libsonnet';

function(c)
  local d = (import 'common.libsonnet')(c);
  // The datastore variable narrows every panel.
  local sel = d.sel + ', datastore=~"$datastore"';
  local column(expr, ref) = g.target(expr, instant=true, refId=ref, format='table');
  local groupColumn(expr, ref) = column(d.groups(expr), ref);

  d.dashboard('Backup Server', 'proxmox-backup-pbs', [
    g.timeseries('Datastore usage', [
      g.target('proxmox_backup_datastore_used_bytes{%s} / proxmox_backup_datastore_size_bytes{%s}' % [sel, sel], '{{target}} {{datastore}}'),
    ], 0, 0, unit='percentunit'),
    g.table('Datastores', [
      column('proxmox_backup_datastore_used_bytes{%s} / proxmox_backup_datastore_size_bytes{%s}' % [sel, sel], 'used'),
      column('proxmox_backup_datastore_available_bytes{%s}' % sel, 'avail'),
      // Grafana's dateTime units take milliseconds.
      column('proxmox_backup_datastore_estimated_full_timestamp_seconds{%s} * 1000' % sel, 'full'),
    ], 12, 0, w=12, h=8, overrides=[
      g.override('Value #used', [{ id: 'displayName', value: 'Used' }, { id: 'unit', value: 'percentunit' }]),
      g.override('Value #avail', [{ id: 'displayName', value: 'Available' }, { id: 'unit', value: 'bytes' }]),
      g.override('Value #full', [{ id: 'displayName', value: 'Predicted full' }, { id: 'unit', value: 'dateTimeAsIso' }]),
    ]),
    g.table('Garbage collection', [
      column('time() - proxmox_backup_gc_last_run_timestamp_seconds{%s}' % sel, 'age'),
      column('proxmox_backup_gc_last_run_success{%s}' % sel, 'ok'),
      column('proxmox_backup_gc_last_run_duration_seconds{%s}' % sel, 'duration'),
      column('proxmox_backup_gc_removed_bytes{%s}' % sel, 'removed'),
      column('proxmox_backup_gc_pending_bytes{%s}' % sel, 'pending'),
      column('proxmox_backup_gc_next_run_timestamp_seconds{%s} * 1000' % sel, 'next'),
    ], 0, 8, w=12, h=8, overrides=[
      g.override('Value #age', [{ id: 'displayName', value: 'Last run' }, { id: 'unit', value: 's' }]),
      g.override('Value #ok', [{ id: 'displayName', value: 'Result' }, { id: 'mappings', value: d.okFailed }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
      g.override('Value #duration', [{ id: 'displayName', value: 'Took' }, { id: 'unit', value: 's' }]),
      g.override('Value #removed', [{ id: 'displayName', value: 'Removed' }, { id: 'unit', value: 'bytes' }]),
      g.override('Value #pending', [{ id: 'displayName', value: 'Pending' }, { id: 'unit', value: 'bytes' }]),
      g.override('Value #next', [{ id: 'displayName', value: 'Next run' }, { id: 'unit', value: 'dateTimeAsIso' }]),
    ]),
    g.table('Verify, prune, sync, tape and GC jobs', [
      column('proxmox_backup_job_info{%s}' % sel, 'info'),
      column('time() - proxmox_backup_job_last_run_timestamp_seconds{%s}' % sel, 'age'),
      column('proxmox_backup_job_last_run_success{%s}' % sel, 'ok'),
      column('proxmox_backup_job_running{%s}' % sel, 'running'),
      column('proxmox_backup_job_next_run_timestamp_seconds{%s} * 1000' % sel, 'next'),
    ], 12, 8, w=12, h=8, hidden=['Value #info'], overrides=[
      g.override('Value #age', [{ id: 'displayName', value: 'Last run' }, { id: 'unit', value: 's' }]),
      g.override('Value #ok', [{ id: 'displayName', value: 'Result' }, { id: 'mappings', value: d.okFailed }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
      g.override('Value #running', [{ id: 'displayName', value: 'Running' }, { id: 'mappings', value: d.yesNo('text') }]),
      g.override('Value #next', [{ id: 'displayName', value: 'Next run' }, { id: 'unit', value: 'dateTimeAsIso' }]),
    ]),
    g.table('Backup groups', [
      groupColumn('proxmox_backup_group_info{%s}' % sel, 'info'),
      groupColumn('proxmox_backup_group_last_backup_age_seconds{%s}' % sel, 'age'),
      groupColumn('proxmox_backup_group_snapshots{%s}' % sel, 'snapshots'),
      groupColumn('proxmox_backup_group_last_backup_size_bytes{%s}' % sel, 'size'),
      groupColumn('proxmox_backup_group_last_backup_verify_state{%s} == 1' % sel, 'verify'),
      groupColumn('proxmox_backup_group_last_backup_encrypted{%s}' % sel, 'encrypted'),
      groupColumn('proxmox_backup_group_last_backup_protected{%s}' % sel, 'protected'),
    ], 0, 16, h=14, hidden=['Value #info', 'Value #verify'], overrides=[
      g.override('Value #age', [{ id: 'displayName', value: 'Last backup age' }, { id: 'unit', value: 's' }, { id: 'thresholds', value: d.ageThresholds }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]),
      g.override('Value #snapshots', [{ id: 'displayName', value: 'Snapshots' }]),
      g.override('Value #size', [{ id: 'displayName', value: 'Size' }, { id: 'unit', value: 'bytes' }]),
      g.override('state', [{ id: 'displayName', value: 'Verification' }]),
      g.override('Value #encrypted', [{ id: 'displayName', value: 'Encrypted' }, { id: 'mappings', value: d.yesNo('text') }]),
      g.override('Value #protected', [{ id: 'displayName', value: 'Protected' }, { id: 'mappings', value: d.yesNo('text') }]),
    ]),
    g.timeseries('Backup groups by namespace', [
      g.target('count by (target, datastore, namespace) (%s)' % d.groups('proxmox_backup_group_info{%s}' % sel), '{{target}} {{datastore}} /{{namespace}}'),
    ], 0, 30, w=12),
    g.timeseries('Backup size by namespace', [
      g.target('sum by (target, datastore, namespace) (%s)' % d.groups('proxmox_backup_group_last_backup_size_bytes{%s}' % sel), '{{target}} {{datastore}} /{{namespace}}'),
    ], 12, 30, w=12, unit='bytes'),
  ]) + {
    templating+: {
      list+: [g.queryVariable('datastore', 'Datastore', 'label_values(proxmox_backup_datastore_info{%s}, datastore)' % d.sel)],
    },
  }
