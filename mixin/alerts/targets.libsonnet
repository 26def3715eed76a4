// Alerts about the probed targets themselves.
function(c) {
  local q = (import '../lib/promql.libsonnet')(c),

  name: 'proxmox-backup-targets',
  rules: [
    q.alert(
      'ProxmoxBackupTargetDown',
      'critical',
      // The exporter reports the API down, or Prometheus cannot scrape the
      // probe at all (exporter down, probe timeout).
      '(proxmox_backup_up{%s} == 0) or %s (up{%s} == 0)' % [q.sel, q.on, q.sel],
      'A Proxmox target cannot be monitored.',
      'The exporter cannot query {{ $labels.target }} (the API does not answer, rejects the token, or the probe itself fails): none of its backups are checked.',
      c.targetDownFor,
    ),
    q.alert(
      'ProxmoxBackupCollectorFailing',
      'warning',
      '(%s == 0) %s' % [q.last('proxmox_backup_collector_success{%s}' % q.sel), q.targetUp],
      'Part of a Proxmox target cannot be read.',
      'Collector {{ $labels.collector }} of {{ $labels.target }} fails: the metrics that depend on it are missing. The exporter log names the API call and the privilege it needs.',
      c.collectorFailingFor,
    ),
    q.alert(
      'ProxmoxBackupTokenMissingPrivilege',
      'warning',
      // From GET /access/permissions: Proxmox hides what a missing
      // privilege guards with HTTP 200, so no collector fails.
      // Not last_over_time: the series ends when the privilege is granted.
      '(proxmox_backup_token_missing_privilege{%s} == 1) %s' % [q.sel, q.targetUp],
      'A Proxmox API token lacks a privilege the exporter needs.',
      'The token of {{ $labels.target }} lacks {{ $labels.privilege }} on {{ $labels.path }}: Proxmox silently leaves out what it guards, so guests, backups or jobs go unmonitored.',
      c.tokenMissingPrivilegeFor,
    ),
  ],
}
