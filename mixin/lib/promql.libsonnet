// The PromQL fragments and the rule shape that the alerts share, for one
// _config: import it as (import '../lib/promql.libsonnet')($._config).
function(c) {
  local q = self,

  sel: c.backupExporterSelector,
  on: 'on(%s)' % c.targetLabels,
  onGuest: 'on(%s, vmid)' % c.targetLabels,
  onGroup: 'on(%s, datastore, namespace, backup_type, backup_id)' % c.targetLabels,
  onDatastore: 'on(%s, datastore)' % c.targetLabels,
  onJob: 'on(%s, job_type, job_id, datastore)' % c.targetLabels,

  // A target that is down silences everything else about it.
  targetUp: 'unless %s (proxmox_backup_up{%s} == 0)' % [q.on, q.sel],
  notTemplate: 'unless %s proxmox_backup_guest_info{%s, template="1"}' % [q.onGuest, q.sel],
  // PVE gives the tags ";"-separated; match the whole tag only.
  notOptedOut: 'unless %s proxmox_backup_guest_info{%s, tags=~"(.*;)?%s(;.*)?"}' % [q.onGuest, q.sel, c.optOutTag],
  notRunning: 'unless %s (proxmox_backup_guest_backup_running{%s} == 1)' % [q.onGuest, q.sel],
  groupNotOptedOut: 'unless %s proxmox_backup_group_info{%s, comment=~".*%s.*"}' % [q.onGroup, q.sel, c.optOutComment],

  // indent indents every line of a (multi-line) expression but the first.
  indent(expr, by=2):: std.join('\n' + std.repeat(' ', by), std.split(std.rstripChars(expr, '\n'), '\n')),

  // filter appends "unless" filters to an expression, in parentheses so
  // that they apply to all of it.
  filter(expr, filters):: '(\n  (\n    %s\n  )\n  %s\n)' % [q.indent(expr, 4), std.join('\n  ', filters)],

  // guest filters a per-guest expression (labels: the target's and vmid)
  // down to the guests that should alert, and joins their name, node and
  // type from proxmox_backup_guest_info for the alert text.
  guest(expr, templates=false)::
    '%s\n* %s group_left(name, node, guest_type) proxmox_backup_guest_info{%s}' % [
      q.filter(expr, (if templates then [] else [q.notTemplate]) + [q.notOptedOut, q.targetUp]),
      q.onGuest,
      q.sel,
    ],

  // group filters a per-group expression of PBS.
  group(expr):: q.filter(expr, [q.groupNotOptedOut, q.targetUp]),

  // either joins two alternatives with "or".
  either(a, b):: '%s\nor\n%s' % [a, b],

  // alert is one alerting rule with the annotations every alert carries.
  alert(name, severity, expr, summary, description, forDuration=null):: {
    alert: name,
    // Multi-line expressions end in a newline: the YAML shows them as blocks.
    expr: if std.member(expr, '\n') then std.rstripChars(expr, '\n') + '\n' else expr,
    labels: { severity: c.severities[severity] },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: c.runbookURLPattern % std.asciiLower(name),
    },
    // One or two failed or too slow scrapes make every series stale, and
    // the condition vanishes: the alert stays firing through the gap.
    keep_firing_for: c.keepFiringFor,
  } + (if forDuration != null then { 'for': forDuration } else {}),

  // last is the last sample of a series within the scrape-gap tolerance,
  // for conditions that must hold for a while (for:): a missed scrape then
  // does not restart the wait.
  last(selector):: 'last_over_time(%s[%s])' % [selector, c.scrapeGapTolerance],

  // Alert text naming what the alert is about.
  guestWho: 'guest {{ $labels.name }} ({{ $labels.vmid }}) on node {{ $labels.node }} of {{ $labels.target }}',
  groupWho: 'backup group {{ $labels.backup_type }}/{{ $labels.backup_id }} in datastore {{ $labels.datastore }}{{ if $labels.namespace }}, namespace {{ $labels.namespace }}{{ end }} of {{ $labels.target }}',
  // guestOrGroupWho names either, for alerts over both.
  guestOrGroupWho: '{{ if $labels.vmid }}%s{{ else }}%s{{ end }}' % [q.guestWho, q.groupWho],
  storeWho: '{{ if $labels.datastore }}datastore {{ $labels.datastore }}{{ else }}backup storage {{ $labels.storage }} on node {{ $labels.node }}{{ end }} of {{ $labels.target }}',

  // days renders a duration in seconds as a number of days for alert text.
  days(seconds):: '%g days' % (seconds / 86400),
}
