// The exporter itself: can it reach its targets, and how fast.
local g = import '../lib/grafana.libsonnet';

function(c)
  local d = (import 'common.libsonnet')(c);
  local sel = d.sel;
  local own = d.exporterSel + ', target=~"$target"';

  d.dashboard('Exporter', 'proxmox-backup-exporter', [
    g.timeseries('Targets up', [
      g.target('proxmox_backup_up{%s}' % sel, '{{target}} API'),
      g.target('up{%s}' % sel, '{{target}} probe scrape', refId='B'),
    ], 0, 0),
    g.timeseries('Collector success', [g.target('proxmox_backup_collector_success{%s}' % sel, '{{target}} {{collector}}')], 12, 0),
    g.timeseries('Collector durations', [g.target('proxmox_backup_collector_duration_seconds{%s}' % sel, '{{target}} {{collector}}')], 0, 8, unit='s'),
    g.timeseries('Probe duration (p90)', [
      g.target('histogram_quantile(0.9, sum by (le, target) (rate(proxmox_backup_exporter_probe_duration_seconds_bucket{%s}[$__rate_interval])))' % own, '{{target}}'),
    ], 12, 8, unit='s'),
    g.timeseries('Probes by outcome', [
      g.target('sum by (target, outcome) (rate(proxmox_backup_exporter_probes_total{%s}[$__rate_interval]))' % own, '{{target}} {{outcome}}'),
    ], 0, 16, unit='reqps'),
    g.stat('Config reload OK', 'min(proxmox_backup_exporter_config_last_reload_successful{%s})' % d.exporterSel, 12, 16, w=6, thresholds={
      mode: 'absolute',
      steps: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
    }),
    g.table('Exporter versions', [
      g.target('proxmox_backup_exporter_build_info{%s}' % d.exporterSel, instant=true, refId='build', format='table'),
    ], 18, 16, w=6, h=4, hidden=['Value #build', 'Value']),
  ])
