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
  // ProxmoxBackupSingleCopy's opt-in: the guests with its tag.
  twoCopies: 'proxmox_backup_guest_info{%s, tags=~"(.*;)?%s(;.*)?"}' % [d.sel, c.singleCopyTag],
  // offsiteCopy(expr) gives each group of a PBS with an offsite target
  // (proxmox_backup_offsite_info) the value of expr, an expression over
  // primary (the group's newest snapshot) and copy (the newest snapshot of
  // the same type and id on the offsite target), as
  // ProxmoxBackupOffsiteCopyLagging compares them. The copies are read
  // from every target of the chosen instances, so that the offsite server
  // need not be among the chosen targets.
  offsiteCopy(expr):: expr % {
    primary: 'proxmox_backup_group_last_backup_timestamp_seconds{%s} * %s group_left(offsite_target) proxmox_backup_offsite_info{%s}' % [d.sel, d.onTarget, d.sel],
    copy: 'on(job, offsite_target, backup_type, backup_id) group_left() label_join(max by (job, target, backup_type, backup_id) (proxmox_backup_group_last_backup_timestamp_seconds{%s, instance=~"$instance"}), "offsite_target", "", "target")' % c.backupExporterSelector,
  },
  onTarget: 'on(%s)' % c.targetLabels,

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
