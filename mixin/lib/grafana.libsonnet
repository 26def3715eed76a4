// A few Grafana helpers: just what the dashboards need, no external library.
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  dashboard(title, uid, tags, refresh, panels, templating):: {
    title: title,
    uid: uid,
    tags: tags,
    editable: true,
    schemaVersion: 39,
    refresh: refresh,
    time: { from: 'now-7d', to: 'now' },
    timezone: 'browser',
    templating: { list: templating },
    panels: [
      p { id: i + 1 }
      for i in std.range(0, std.length(panels) - 1)
      for p in [panels[i]]
    ],
  },

  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
  },

  queryVariable(name, label, query):: {
    name: name,
    label: label,
    type: 'query',
    datasource: $.datasource,
    query: { query: query, refId: 'var' },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: {},
    sort: 1,
    hide: 0,
  },

  target(expr, legend='', instant=false, refId='A', format='time_series'):: {
    datasource: $.datasource,
    expr: expr,
    legendFormat: legend,
    instant: instant,
    range: !instant,
    refId: refId,
    format: format,
  },

  stat(title, expr, x, y, w=4, h=4, color='green', unit='none', thresholds=null):: {
    type: 'stat',
    title: title,
    datasource: $.datasource,
    gridPos: { x: x, y: y, w: w, h: h },
    targets: [$.target(expr, instant=true)],
    options: { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'background', graphMode: 'none' },
    fieldConfig: {
      defaults: {
        unit: unit,
        color: { mode: 'thresholds' },
        thresholds: if thresholds != null then thresholds else {
          mode: 'absolute',
          steps: [{ color: 'green', value: null }, { color: color, value: 1 }],
        },
      },
      overrides: [],
    },
  },

  timeseries(title, targets, x, y, w=12, h=8, unit='none'):: {
    type: 'timeseries',
    title: title,
    datasource: $.datasource,
    gridPos: { x: x, y: y, w: w, h: h },
    targets: targets,
    fieldConfig: { defaults: { unit: unit }, overrides: [] },
    options: { legend: { displayMode: 'table', placement: 'right' }, tooltip: { mode: 'multi' } },
  },

  // A table of instant queries (format 'table'): Grafana's merge joins
  // their rows on the labels they share, one value column per query; the
  // columns named in hidden, and the scrape labels, are left out.
  table(title, targets, x, y, w=24, h=12, overrides=[], hidden=[]):: {
    type: 'table',
    title: title,
    datasource: $.datasource,
    gridPos: { x: x, y: y, w: w, h: h },
    targets: targets,
    transformations: [
      { id: 'merge', options: {} },
      { id: 'organize', options: { excludeByName: { [c]: true for c in ['Time', '__name__', 'job', 'instance'] + hidden } } },
    ],
    options: { showHeader: true, sortBy: [] },
    fieldConfig: { defaults: { custom: { filterable: true } }, overrides: overrides },
  },

  // A row: a heading over the panels below it, up to the next row.
  row(title, y):: {
    type: 'row',
    title: title,
    collapsed: false,
    gridPos: { x: 0, y: y, w: 24, h: 1 },
    panels: [],
  },

  override(name, properties):: { matcher: { id: 'byName', options: name }, properties: properties },
}
