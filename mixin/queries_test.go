package mixin_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"proxmox_backup_exporter/internal/testtools"
)

// contract is every metric a query may use: the exporter's metric contract
// (its /probe output and its own /metrics) and Prometheus' up. This is the
// one list to change when the contract changes.
var contract = setOf(
	"up",
	// Common to both products.
	"proxmox_backup_up",
	"proxmox_backup_collector_success",
	"proxmox_backup_collector_duration_seconds",
	"proxmox_backup_target_info",
	"proxmox_backup_token_missing_privilege",
	"proxmox_backup_offsite_info",
	// PBS datastores and garbage collection.
	"proxmox_backup_datastore_info",
	"proxmox_backup_datastore_size_bytes",
	"proxmox_backup_datastore_used_bytes",
	"proxmox_backup_datastore_available_bytes",
	"proxmox_backup_datastore_estimated_full_timestamp_seconds",
	"proxmox_backup_gc_last_run_timestamp_seconds",
	"proxmox_backup_gc_last_run_success",
	"proxmox_backup_gc_last_run_duration_seconds",
	"proxmox_backup_gc_next_run_timestamp_seconds",
	"proxmox_backup_gc_removed_bytes",
	"proxmox_backup_gc_pending_bytes",
	// PBS backup groups.
	"proxmox_backup_group_snapshots",
	"proxmox_backup_group_future_snapshots",
	"proxmox_backup_group_last_backup_timestamp_seconds",
	"proxmox_backup_group_last_backup_age_seconds",
	"proxmox_backup_group_last_backup_size_bytes",
	"proxmox_backup_group_last_backup_verify_state",
	"proxmox_backup_group_last_backup_encrypted",
	"proxmox_backup_group_last_backup_protected",
	"proxmox_backup_group_last_verify_timestamp_seconds",
	"proxmox_backup_group_info",
	"proxmox_backup_group_last_read_timestamp_seconds",
	// PBS jobs.
	"proxmox_backup_job_last_run_timestamp_seconds",
	"proxmox_backup_job_last_run_success",
	"proxmox_backup_job_next_run_timestamp_seconds",
	"proxmox_backup_job_running",
	"proxmox_backup_job_info",
	// PVE guests.
	"proxmox_backup_guest_info",
	"proxmox_backup_guest_backups",
	"proxmox_backup_guest_future_backups",
	"proxmox_backup_guest_last_backup_timestamp_seconds",
	"proxmox_backup_guest_last_backup_age_seconds",
	"proxmox_backup_guest_last_backup_size_bytes",
	"proxmox_backup_guest_last_backup_verify_state",
	"proxmox_backup_guest_last_backup_encrypted",
	"proxmox_backup_guest_last_backup_protected",
	"proxmox_backup_guest_storage_last_backup_timestamp_seconds",
	"proxmox_backup_guest_recent_backup_storages",
	"proxmox_backup_guest_covered",
	"proxmox_backup_guest_backup_due_timestamp_seconds",
	"proxmox_backup_guest_last_attempt_timestamp_seconds",
	"proxmox_backup_guest_last_attempt_success",
	"proxmox_backup_guest_last_attempt_duration_seconds",
	"proxmox_backup_guest_backup_running",
	"proxmox_backup_guest_restore_test_required",
	"proxmox_backup_guest_last_restore_timestamp_seconds",
	"proxmox_backup_guest_last_restore_success",
	"proxmox_backup_guest_last_restore_backup_timestamp_seconds",
	"proxmox_backup_guest_last_restore_info",
	// PVE backup jobs.
	"proxmox_backup_pve_job_info",
	"proxmox_backup_pve_job_enabled",
	"proxmox_backup_pve_job_next_run_timestamp_seconds",
	"proxmox_backup_pve_job_guests",
	"proxmox_backup_pve_job_last_run_timestamp_seconds",
	"proxmox_backup_pve_job_last_run_success",
	// PVE backup storages.
	"proxmox_backup_storage_size_bytes",
	"proxmox_backup_storage_used_bytes",
	"proxmox_backup_storage_available_bytes",
	"proxmox_backup_storage_backups",
	"proxmox_backup_storage_backup_bytes",
	// The exporter's own /metrics.
	"proxmox_backup_exporter_build_info",
	"proxmox_backup_exporter_config_last_reload_successful",
	"proxmox_backup_exporter_probes_total",
	"proxmox_backup_exporter_probe_duration_seconds_bucket",
	"proxmox_backup_exporter_probe_duration_seconds_sum",
	"proxmox_backup_exporter_probe_duration_seconds_count",
)

func setOf(names ...string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

var (
	// The parts of a PromQL expression that hold no metric names, removed
	// in this order: string literals (label values, label_replace
	// arguments), label matchers, ranges, label lists, numbers and
	// durations.
	stringRE    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	matchersRE  = regexp.MustCompile(`\{[^{}]*\}`)
	rangeRE     = regexp.MustCompile(`\[[^\[\]]*\]`)
	labelListRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	numberRE    = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?\b`)
	identRE     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	keywords    = setOf("and", "or", "unless", "bool", "offset", "atan2", "group_left", "group_right", "inf", "nan")
)

// metricNames returns the metric names an expression selects: every
// identifier that is not a function call, keyword, label or literal.
func metricNames(expr string) []string {
	s := stringRE.ReplaceAllString(expr, " ")
	s = matchersRE.ReplaceAllString(s, " ")
	s = rangeRE.ReplaceAllString(s, " ")
	s = labelListRE.ReplaceAllString(s, " ")
	s = numberRE.ReplaceAllString(s, " ")
	var names []string
	for _, m := range identRE.FindAllStringSubmatch(s, -1) {
		if m[1] != "" || keywords[strings.ToLower(m[0])] {
			continue // a function call or a keyword
		}
		names = append(names, m[0])
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`time() - foo_seconds{job="x", tags=~"(.*;)?a(;.*)?"} > 3600`, []string{"foo_seconds"}},
		{`count by (target, vmid) (a{b="c"}) or vector(0)`, []string{"a"}},
		{`a * on(job, instance) group_left(name) b`, []string{"a", "b"}},
		{`a * on(job) group_left b`, []string{"a", "b"}},
		{`max_over_time(a[7d]) == 0 and on() (b offset 604800s) + 1e3`, []string{"a", "b"}},
		{`min_over_time(timestamp(a)[4d:1h])`, []string{"a"}},
		{`label_replace(a, "last_run", "never", "", "")`, []string{"a"}},
		{`histogram_quantile(0.9, sum by (le) (rate(a_bucket[5m])))`, []string{"a_bucket"}},
		{`a > bool 1 unless ignoring(x) b`, []string{"a", "b"}},
	} {
		got := metricNames(tc.expr)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("metricNames(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// TestContractIsExported checks the contract against the exporter's golden
// /probe output, so that the list above cannot drift from the exporter.
func TestContractIsExported(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "exporter", "testdata", "probe_*.prom"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden probe output in exporter/testdata (%v)", err)
	}
	exported := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "# TYPE "); ok {
				if fields := strings.Fields(rest); len(fields) > 0 {
					exported[fields[0]] = true
				}
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
	}
	for name := range contract {
		if name == "up" || strings.HasPrefix(name, "proxmox_backup_exporter_") {
			continue // Prometheus' and the exporter's own, not /probe output
		}
		if !exported[name] {
			t.Errorf("%s is in the contract but in no golden /probe output", name)
		}
	}
}

// queries collects every PromQL expression of the alerts and dashboards,
// keyed by where it is.
func queries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i, r := range rules(t) {
		out[fmt.Sprintf("alert %s (rule %d)", r.Alert, i)] = r.Expr
	}
	for name, content := range dashboards(t) {
		var d struct {
			Panels []struct {
				Title   string
				Targets []struct{ Expr, RefID string }
			}
			Templating struct {
				List []struct {
					Name  string
					Query any
				}
			}
		}
		if err := json.Unmarshal([]byte(content), &d); err != nil {
			t.Fatalf("decoding dashboard %s: %v", name, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				out[fmt.Sprintf("%s: panel %q query %s", name, p.Title, tg.RefID)] = tg.Expr
			}
		}
		for _, v := range d.Templating.List {
			q, ok := v.Query.(map[string]any)
			if !ok {
				continue
			}
			s, _ := q["query"].(string)
			if arg, ok := strings.CutPrefix(s, "label_values("); ok {
				// label_values(SELECTOR, LABEL): keep the selector.
				if i := strings.LastIndex(arg, ","); i >= 0 {
					arg = arg[:i]
				}
				out[fmt.Sprintf("%s: variable %s", name, v.Name)] = arg
			}
		}
	}
	return out
}

// substitute replaces Grafana's variables with values that parse.
func substitute(expr string) string {
	return strings.NewReplacer(
		"$__rate_interval", "5m",
		"$__interval", "1m",
		"$__range", "1d",
		"$instance", ".*",
		"$target", ".*",
		"$datastore", ".*",
	).Replace(expr)
}

func TestQueriesUseOnlyContractMetrics(t *testing.T) {
	for where, expr := range queries(t) {
		names := metricNames(substitute(expr))
		if len(names) == 0 {
			t.Errorf("%s selects no metric: %q", where, expr)
		}
		for _, n := range names {
			if !contract[n] {
				t.Errorf("%s: %s is not a metric of the exporter's contract", where, n)
			}
		}
	}
}

// TestQueriesParse runs every query through promtool as a recording rule.
func TestQueriesParse(t *testing.T) {
	all := queries(t)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("groups:\n  - name: queries\n    rules:\n")
	for i, k := range keys {
		if strings.Contains(substitute(all[k]), "$") {
			t.Errorf("%s: a template variable the test does not substitute: %q", k, all[k])
		}
		q, _ := json.Marshal(substitute(all[k])) // JSON strings are YAML strings
		fmt.Fprintf(&b, "      - record: query_%d # %s\n        expr: %s\n", i, strings.ReplaceAll(k, "\n", " "), q)
	}
	path := filepath.Join(t.TempDir(), "queries.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, set := range testtools.Sets(t) {
		if out, err := exec.Command(set.Path("promtool"), "check", "rules", path).CombinedOutput(); err != nil {
			t.Errorf("%s promtool check rules on the queries: %v\n%s", set.Name, err, out)
		}
	}
}
