// What every dashboard shares: the selector with the template variables,
// the variables themselves, and the dashboard frame.
local g = import '../lib/grafana.libsonnet';

function(c) {
  local d = self,

  // sel selects the probe metrics of the chosen instances and targets.
  sel: '%s, instance=~"$instance", target=~"$target"' % c.backupExporterSelector,
  // exporterSel selects the exporter's own metrics of the chosen instances.
  exporterSel: '%s, instance=~"$instance"' % c.exporterSelector,
  onGuest: 'on(%s, vmid)' % c.targetLabels,
  onGroup: 'on(%s, datastore, namespace, backup_type, backup_id)' % c.targetLabels,
  notTemplate: 'unless %s proxmox_backup_guest_info{%s, template="1"}' % [d.onGuest, d.sel],
  // The alerts' opt-outs: a guest's PVE tag, a PBS group's comment.
  notOptedOut: 'unless %s proxmox_backup_guest_info{%s, tags=~"(.*;)?%s(;.*)?"}' % [d.onGuest, d.sel, c.optOutTag],
  groupNotOptedOut: 'unless %s proxmox_backup_group_info{%s, comment=~".*%s.*"}' % [d.onGroup, d.sel, c.optOutComment],
  // guests and groups keep the guests and groups that the alerts watch.
  guests(expr):: '(%s) %s' % [expr, d.notOptedOut],
  groups(expr):: '(%s) %s' % [expr, d.groupNotOptedOut],
  // The alerts' opt-ins, for the verification and encryption panels.
  verifyOptIn: c.notVerifiedSelector,
  encryptOptIn: c.unencryptedSelector,

  variables: [
    g.datasourceVariable,
    g.queryVariable('instance', 'Exporter', 'label_values(proxmox_backup_up{%s}, instance)' % c.backupExporterSelector),
    g.queryVariable('target', 'Target', 'label_values(proxmox_backup_up{%s, instance=~"$instance"}, target)' % c.backupExporterSelector),
  ],

  // Colors of a backup's age: the TooOld alert's thresholds.
  ageThresholds: {
    mode: 'absolute',
    steps: [
      { color: 'green', value: null },
      { color: 'orange', value: c.tooOldWarning },
      { color: 'red', value: c.tooOldCritical },
    ],
  },

  // Value mappings of the 0/1 metrics.
  okFailed: [{ type: 'value', options: { '0': { text: 'failed', color: 'red' }, '1': { text: 'ok', color: 'green' } } }],
  yesNo(noColor='orange'): [{ type: 'value', options: { '0': { text: 'no', color: noColor }, '1': { text: 'yes', color: 'green' } } }],

  dashboard(name, uid, panels):: g.dashboard(c.dashboardNamePrefix + name, uid, c.dashboardTags, c.dashboardRefresh, panels, d.variables),
}
