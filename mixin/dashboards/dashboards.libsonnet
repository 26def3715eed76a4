local g = import '../lib/grafana.libsonnet';

{
  local c = $._config,
  local sel = c.backupExporterSelector + ', target=~"$target"',
  local on = 'on(%s, vmid)' % c.targetLabels,
  local vars = [
    g.datasourceVariable,
    g.queryVariable('target', 'Target', 'label_values(proxmox_backup_up{%s}, target)' % c.backupExporterSelector),
  ],
  local ageThresholds = {
    mode: 'absolute',
    steps: [{ color: 'green', value: null }, { color: 'orange', value: c.tooOldWarning }, { color: 'red', value: c.tooOldCritical }],
  },
  local dash(name, uid, panels) = g.dashboard(c.dashboardNamePrefix + name, uid, c.dashboardTags, c.dashboardRefresh, panels, vars),
  local notTemplate = 'unless %s proxmox_backup_guest_info{%s, template="1"}' % [on, sel],

  grafanaDashboards+:: {
    'proxmox-backup-overview.json': dash('Overview', 'proxmox-backup-overview', [
      g.stat('Guests backed up in time', 'count((proxmox_backup_guest_last_backup_age_seconds{%s} < %d) %s) or vector(0)' % [sel, c.tooOldWarning, notTemplate], 0, 0, color='green'),
      g.stat('Stale', 'count((proxmox_backup_guest_last_backup_age_seconds{%s} >= %d) %s) or vector(0)' % [sel, c.tooOldWarning, notTemplate], 4, 0, color='orange'),
      g.stat('Last attempt failed', 'count((proxmox_backup_guest_last_attempt_success{%s} == 0) %s) or vector(0)' % [sel, notTemplate], 8, 0, color='red'),
      g.stat('Never backed up', 'count((proxmox_backup_guest_backups{%s} == 0) %s) or vector(0)' % [sel, notTemplate], 12, 0, color='red'),
      g.stat('Not covered by a job', 'count((proxmox_backup_guest_covered{%s} == 0) %s) or vector(0)' % [sel, notTemplate], 16, 0, color='orange'),
      g.stat('Targets down', 'count(proxmox_backup_up{%s} == 0) or vector(0)' % sel, 20, 0, color='red'),
      g.table('Guests', [
        g.target('proxmox_backup_guest_info{%s}' % sel, instant=true, refId='info', format='table'),
        g.target('proxmox_backup_guest_last_backup_age_seconds{%s}' % sel, instant=true, refId='age', format='table'),
        g.target('proxmox_backup_guest_last_backup_size_bytes{%s}' % sel, instant=true, refId='size', format='table'),
        g.target('proxmox_backup_guest_last_backup_verify_state{%s} == 1' % sel, instant=true, refId='verify', format='table'),
        g.target('proxmox_backup_guest_last_backup_encrypted{%s}' % sel, instant=true, refId='encrypted', format='table'),
        g.target('proxmox_backup_guest_last_attempt_success{%s}' % sel, instant=true, refId='attempt', format='table'),
        g.target('proxmox_backup_guest_covered{%s}' % sel, instant=true, refId='covered', format='table'),
      ], 0, 4, h=14, hidden=['Value #info', 'Value #verify'], overrides=[
        g.override('Value #age', [{ id: 'displayName', value: 'Last backup age' }, { id: 'unit', value: 's' }, { id: 'thresholds', value: ageThresholds }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]),
        g.override('Value #size', [{ id: 'displayName', value: 'Size' }, { id: 'unit', value: 'bytes' }]),
        g.override('Value #encrypted', [{ id: 'displayName', value: 'Encrypted' }, { id: 'mappings', value: [{ type: 'value', options: { '0': { text: 'no' }, '1': { text: 'yes' } } }] }]),
        g.override('Value #attempt', [{ id: 'displayName', value: 'Last attempt' }, { id: 'mappings', value: [{ type: 'value', options: { '0': { text: 'failed', color: 'red' }, '1': { text: 'ok', color: 'green' } } }] }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
        g.override('Value #covered', [{ id: 'displayName', value: 'Covered' }, { id: 'mappings', value: [{ type: 'value', options: { '0': { text: 'no', color: 'orange' }, '1': { text: 'yes', color: 'green' } } }] }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
        g.override('state', [{ id: 'displayName', value: 'Verification' }]),
      ]),
      g.timeseries('Last backup age', [g.target('proxmox_backup_guest_last_backup_age_seconds{%s} * %s group_left(name) proxmox_backup_guest_info{%s}' % [sel, on, sel], '{{target}} {{name}} ({{vmid}})')], 0, 18, w=24, unit='s'),
    ]),

    'proxmox-backup-pbs.json': dash('Backup Server', 'proxmox-backup-pbs', [
      g.timeseries('Datastore usage', [g.target('proxmox_backup_datastore_used_bytes{%s} / proxmox_backup_datastore_size_bytes{%s}' % [sel, sel], '{{target}} {{datastore}}')], 0, 0, unit='percentunit'),
      g.table('Datastores', [
        g.target('proxmox_backup_datastore_used_bytes{%s} / proxmox_backup_datastore_size_bytes{%s}' % [sel, sel], instant=true, refId='used', format='table'),
        g.target('proxmox_backup_datastore_available_bytes{%s}' % sel, instant=true, refId='avail', format='table'),
        g.target('proxmox_backup_datastore_estimated_full_timestamp_seconds{%s} * 1000' % sel, instant=true, refId='full', format='table'),
      ], 12, 0, w=12, h=8, overrides=[
        g.override('Value #used', [{ id: 'displayName', value: 'Used' }, { id: 'unit', value: 'percentunit' }]),
        g.override('Value #avail', [{ id: 'displayName', value: 'Available' }, { id: 'unit', value: 'bytes' }]),
        g.override('Value #full', [{ id: 'displayName', value: 'Predicted full' }, { id: 'unit', value: 'dateTimeAsIso' }]),
      ]),
      g.table('Garbage collection', [
        g.target('time() - proxmox_backup_gc_last_run_timestamp_seconds{%s}' % sel, instant=true, refId='age', format='table'),
        g.target('proxmox_backup_gc_last_run_success{%s}' % sel, instant=true, refId='ok', format='table'),
        g.target('proxmox_backup_gc_removed_bytes{%s}' % sel, instant=true, refId='removed', format='table'),
        g.target('proxmox_backup_gc_pending_bytes{%s}' % sel, instant=true, refId='pending', format='table'),
      ], 0, 8, w=12, h=8, overrides=[
        g.override('Value #age', [{ id: 'displayName', value: 'Last run' }, { id: 'unit', value: 's' }]),
        g.override('Value #ok', [{ id: 'displayName', value: 'Succeeded' }]),
        g.override('Value #removed', [{ id: 'displayName', value: 'Removed' }, { id: 'unit', value: 'bytes' }]),
        g.override('Value #pending', [{ id: 'displayName', value: 'Pending' }, { id: 'unit', value: 'bytes' }]),
      ]),
      g.table('Verify, prune, sync, tape and GC jobs', [
        g.target('proxmox_backup_job_info{%s}' % sel, instant=true, refId='info', format='table'),
        g.target('time() - proxmox_backup_job_last_run_timestamp_seconds{%s}' % sel, instant=true, refId='age', format='table'),
        g.target('proxmox_backup_job_last_run_success{%s}' % sel, instant=true, refId='ok', format='table'),
        g.target('proxmox_backup_job_next_run_timestamp_seconds{%s} * 1000' % sel, instant=true, refId='next', format='table'),
      ], 12, 8, w=12, h=8, hidden=['Value #info'], overrides=[
        g.override('Value #age', [{ id: 'displayName', value: 'Last run' }, { id: 'unit', value: 's' }]),
        g.override('Value #ok', [{ id: 'displayName', value: 'Succeeded' }, { id: 'mappings', value: [{ type: 'value', options: { '0': { text: 'failed', color: 'red' }, '1': { text: 'ok', color: 'green' } } }] }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]),
        g.override('Value #next', [{ id: 'displayName', value: 'Next run' }, { id: 'unit', value: 'dateTimeAsIso' }]),
      ]),
      g.table('Backup groups', [
        g.target('proxmox_backup_group_info{%s}' % sel, instant=true, refId='info', format='table'),
        g.target('proxmox_backup_group_last_backup_age_seconds{%s}' % sel, instant=true, refId='age', format='table'),
        g.target('proxmox_backup_group_snapshots{%s}' % sel, instant=true, refId='snapshots', format='table'),
        g.target('proxmox_backup_group_last_backup_size_bytes{%s}' % sel, instant=true, refId='size', format='table'),
        g.target('proxmox_backup_group_last_backup_verify_state{%s} == 1' % sel, instant=true, refId='verify', format='table'),
        g.target('proxmox_backup_group_last_backup_encrypted{%s}' % sel, instant=true, refId='encrypted', format='table'),
      ], 0, 16, h=14, hidden=['Value #info', 'Value #verify'], overrides=[
        g.override('Value #age', [{ id: 'displayName', value: 'Last backup age' }, { id: 'unit', value: 's' }, { id: 'thresholds', value: ageThresholds }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]),
        g.override('Value #snapshots', [{ id: 'displayName', value: 'Snapshots' }]),
        g.override('Value #size', [{ id: 'displayName', value: 'Size' }, { id: 'unit', value: 'bytes' }]),
        g.override('Value #encrypted', [{ id: 'displayName', value: 'Encrypted' }]),
      ]),
      g.timeseries('Groups by namespace', [g.target('count by (target, datastore, namespace) (proxmox_backup_group_info{%s})' % sel, '{{target}} {{datastore}}/{{namespace}}')], 0, 30, w=24),
    ]),

    'proxmox-backup-exporter.json': dash('Exporter', 'proxmox-backup-exporter', [
      g.timeseries('Targets up', [g.target('proxmox_backup_up{%s}' % sel, '{{target}}')], 0, 0),
      g.timeseries('Collector success', [g.target('proxmox_backup_collector_success{%s}' % sel, '{{target}} {{collector}}')], 12, 0),
      g.timeseries('Collector durations', [g.target('proxmox_backup_collector_duration_seconds{%s}' % sel, '{{target}} {{collector}}')], 0, 8, unit='s'),
      g.timeseries('Probe duration (p90)', [g.target('histogram_quantile(0.9, sum by (le, target) (rate(proxmox_backup_exporter_probe_duration_seconds_bucket{target=~"$target"}[$__rate_interval])))', '{{target}}')], 12, 8, unit='s'),
      g.timeseries('Probes by outcome', [g.target('sum by (target, outcome) (rate(proxmox_backup_exporter_probes_total{target=~"$target"}[$__rate_interval]))', '{{target}} {{outcome}}')], 0, 16, unit='reqps'),
      g.stat('Config reload OK', 'min(proxmox_backup_exporter_config_last_reload_successful)', 12, 16, w=6, thresholds={ mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }] }),
    ]),
  },
}
