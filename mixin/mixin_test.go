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

	jsonnet "github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/formatter"

	"proxmox_backup_exporter/internal/testtools"
)

var root = testtools.Root()

func vm() *jsonnet.VM {
	v := jsonnet.MakeVM()
	v.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Join(root, "mixin")}})
	return v
}

const mixin = `(import "mixin.libsonnet")`

// TestGeneratedFilesAreFresh fails when alerts/ or dashboards/ differ from
// what the mixin generates: run make generate.
func TestGeneratedFilesAreFresh(t *testing.T) {
	v := vm()
	v.StringOutput = true // as jsonnet -S
	alerts, err := v.EvaluateAnonymousSnippet("alerts", "std.manifestYamlDoc("+mixin+".prometheusAlerts)")
	if err != nil {
		t.Fatal(err)
	}
	compare(t, filepath.Join(root, "alerts", "proxmox-backup-alerts.yaml"), alerts)

	dashboards, err := vm().EvaluateAnonymousSnippetMulti("dashboards", mixin+".grafanaDashboards")
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := filepath.Glob(filepath.Join(root, "dashboards", "*.json"))
	if len(committed) != len(dashboards) {
		t.Errorf("dashboards/ has %d files, the mixin generates %d: run make generate", len(committed), len(dashboards))
	}
	for name, content := range dashboards {
		compare(t, filepath.Join(root, "dashboards", name), content)
	}
}

func compare(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v: run make generate", err)
		return
	}
	if string(got) != want {
		t.Errorf("%s is stale: run make generate", path)
	}
}

func TestJsonnetIsFormatted(t *testing.T) {
	err := filepath.Walk(filepath.Join(root, "mixin"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || (!strings.HasSuffix(path, ".libsonnet") && !strings.HasSuffix(path, ".jsonnet")) {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		formatted, err := formatter.Format(path, string(src), formatter.DefaultOptions())
		if err != nil {
			return err
		}
		if formatted != string(src) {
			t.Errorf("jsonnetfmt would change %s: run make generate", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// exportedMetrics are the metric names the exporter writes: those of the
// golden /probe files, the exporter's own, and Prometheus' up.
func exportedMetrics(t *testing.T) map[string]bool {
	names := map[string]bool{
		"up":                                 true,
		"proxmox_backup_exporter_build_info": true,
		"proxmox_backup_exporter_config_last_reload_successful":                true,
		"proxmox_backup_exporter_config_last_reload_success_timestamp_seconds": true,
		"proxmox_backup_exporter_probes_total":                                 true,
		"proxmox_backup_exporter_probe_duration_seconds_bucket":                true,
		"proxmox_backup_exporter_probe_duration_seconds_sum":                   true,
		"proxmox_backup_exporter_probe_duration_seconds_count":                 true,
	}
	files, _ := filepath.Glob(filepath.Join(root, "exporter", "testdata", "probe_*.prom"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "# TYPE "); ok {
				names[strings.Fields(rest)[0]] = true
			}
		}
		fh.Close()
	}
	return names
}

var metricRE = regexp.MustCompile(`\b(proxmox_backup_[a-z0-9_]+|up)\b(\s*[{\[)]|\s*$|\s+[-*/+<>=!a-z])`)

// exprs collects every PromQL expression of the alerts and dashboards.
func exprs(t *testing.T) map[string]string {
	out := map[string]string{}
	var alerts struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	js, err := vm().EvaluateAnonymousSnippet("alerts", mixin+".prometheusAlerts")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(js), &alerts); err != nil {
		t.Fatal(err)
	}
	for _, g := range alerts.Groups {
		for i, r := range g.Rules {
			out[fmt.Sprintf("alert %s #%d", r.Alert, i)] = r.Expr
		}
	}
	dashboards, err := vm().EvaluateAnonymousSnippetMulti("dashboards", mixin+".grafanaDashboards")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range dashboards {
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
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				out[fmt.Sprintf("%s: %s %s", name, p.Title, tg.RefID)] = tg.Expr
			}
		}
		for _, v := range d.Templating.List {
			if q, ok := v.Query.(map[string]any); ok {
				if s, _ := q["query"].(string); strings.HasPrefix(s, "label_values(") {
					out[name+": variable "+v.Name] = strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(s, ",", 2)[0], "label_values("), ")")
				}
			}
		}
	}
	return out
}

// substitute replaces Grafana's variables so that an expression parses.
func substitute(expr string) string {
	return strings.NewReplacer("$__rate_interval", "5m", "$__range", "1d", "$target", ".*").Replace(expr)
}

func TestQueriesUseOnlyExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for where, expr := range exprs(t) {
		if strings.TrimSpace(expr) == "" {
			t.Errorf("%s: empty query", where)
		}
		for _, m := range metricRE.FindAllStringSubmatch(expr, -1) {
			if !exported[m[1]] {
				t.Errorf("%s: %s is not a metric the exporter exports", where, m[1])
			}
		}
	}
}

// TestQueriesParse runs every query through promtool as a recording rule.
func TestQueriesParse(t *testing.T) {
	tool := testtools.Promtool(t)
	all := exprs(t)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("groups:\n  - name: queries\n    rules:\n")
	for i, k := range keys {
		q, _ := json.Marshal(substitute(all[k]))
		fmt.Fprintf(&b, "      - record: query_%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "queries.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestAlertRules(t *testing.T) {
	tool := testtools.Promtool(t)
	if out, err := exec.Command(tool, "check", "rules", filepath.Join(root, "alerts", "proxmox-backup-alerts.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	cmd := exec.Command(tool, "test", "rules", "alerts_test.yaml", "alerts_long_test.yaml")
	cmd.Dir = filepath.Join(root, "mixin", "tests")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestEveryAlertIsTested checks that the unit tests name every alert.
func TestEveryAlertIsTested(t *testing.T) {
	short, err := os.ReadFile(filepath.Join(root, "mixin", "tests", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	long, err := os.ReadFile(filepath.Join(root, "mixin", "tests", "alerts_long_test.yaml"))
	tests := append(short, long...)
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile(filepath.Join(root, "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for where := range exprs(t) {
		name, ok := strings.CutPrefix(where, "alert ")
		if !ok {
			continue
		}
		name = strings.Fields(name)[0]
		if seen[name] {
			continue
		}
		seen[name] = true
		if !strings.Contains(string(tests), "alertname: "+name+"\n") {
			t.Errorf("alert %s has no promtool unit test", name)
		}
		if !strings.Contains(string(runbook), "## "+name+"\n") {
			t.Errorf("alert %s has no section in docs/runbook.md", name)
		}
	}
	if len(seen) != 15 {
		t.Errorf("%d alerts, want the 15 of the contract", len(seen))
	}
}

func TestExampleConfigs(t *testing.T) {
	promtool := testtools.Promtool(t)
	amtool := testtools.Find(t, "amtool", "AMTOOL")
	if out, err := exec.Command(promtool, "check", "config", filepath.Join(root, "examples", "prometheus.yml")).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
	if out, err := exec.Command(amtool, "check-config", filepath.Join(root, "examples", "alertmanager.yml")).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config: %v\n%s", err, out)
	}
}
