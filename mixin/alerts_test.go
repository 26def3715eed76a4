package mixin_test

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/internal/testtools"
)

// The alerts of the contract (issue 5) and the severities each must have.
var wantAlerts = map[string][]string{
	"ProxmoxBackupTargetDown":            {"critical"},
	"ProxmoxBackupCollectorFailing":      {"warning"},
	"ProxmoxBackupTokenMissingPrivilege": {"warning"},
	"ProxmoxBackupMissed":                {"critical"},
	"ProxmoxBackupTooOld":                {"critical", "warning"},
	"ProxmoxBackupNeverBackedUp":         {"critical"},
	"ProxmoxBackupNotCovered":            {"warning"},
	"ProxmoxBackupFailed":                {"critical"},
	"ProxmoxBackupVerifyFailed":          {"critical"},
	"ProxmoxBackupNotVerified":           {"info"},
	"ProxmoxBackupUnencrypted":           {"info"},
	"ProxmoxBackupSizeAnomaly":           {"warning"},
	"ProxmoxBackupDatedInFuture":         {"warning"},
	"ProxmoxBackupDatastoreFillingUp":    {"warning"},
	"ProxmoxBackupDatastoreAlmostFull":   {"critical"},
	"ProxmoxBackupJobFailed":             {"warning"},
	"ProxmoxBackupGCNotRunning":          {"warning"},
	"ProxmoxBackupJobOverdue":            {"warning"},
	// Issue 13: copies (3-2-1).
	"ProxmoxBackupSingleCopy":         {"warning"},
	"ProxmoxBackupOffsiteCopyLagging": {"warning"},
	"ProxmoxBackupRestoreTestOverdue": {"warning"},
}

// severities maps each alert to its rules' severities, sorted.
func severities(rs []rule) map[string][]string {
	out := map[string][]string{}
	for _, r := range rs {
		out[r.Alert] = append(out[r.Alert], r.Labels["severity"])
	}
	for _, s := range out {
		sort.Strings(s)
	}
	return out
}

func TestAlertsAreTheContract(t *testing.T) {
	got := severities(rules(t))
	for name, want := range wantAlerts {
		if strings.Join(got[name], ",") != strings.Join(want, ",") {
			t.Errorf("alert %s has severities %q, want %q", name, got[name], want)
		}
	}
	for name := range got {
		if _, ok := wantAlerts[name]; !ok {
			t.Errorf("alert %s is not in the contract", name)
		}
	}
}

// anchors are the GitHub anchors of docs/runbook.md's headings.
func anchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			out[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")] = true
		}
	}
	return out
}

func TestAlertAnnotations(t *testing.T) {
	sections := anchors(t)
	for _, r := range rules(t) {
		a := r.Annotations
		if s := a["summary"]; s == "" || !strings.HasSuffix(s, ".") || strings.Contains(s, "{{") {
			t.Errorf("%s: summary %q is not a fixed sentence ending in a period", r.Alert, s)
		}
		if d := a["description"]; !strings.Contains(d, "{{ $labels.target }}") || !strings.HasSuffix(d, ".") {
			t.Errorf("%s: description %q does not name the target or end in a period", r.Alert, d)
		}
		// An absolute link, to docs/runbook.md, at the alert's section.
		u, err := url.Parse(a["runbook_url"])
		if err != nil || !u.IsAbs() || u.Host == "" || u.Scheme != "https" || !strings.HasSuffix(u.Path, "/docs/runbook.md") ||
			u.Fragment != strings.ToLower(r.Alert) || !sections[u.Fragment] {
			t.Errorf("%s: runbook_url %q is not an absolute link to its section of docs/runbook.md", r.Alert, a["runbook_url"])
		}
	}
}

// TestAlertFilters checks that every alert on guests or groups honours the
// opt-outs, and that only ProxmoxBackupTargetDown fires for a down target.
func TestAlertFilters(t *testing.T) {
	for _, r := range rules(t) {
		if r.Alert == "ProxmoxBackupTargetDown" {
			continue
		}
		if !strings.Contains(r.Expr, `unless on(job, instance, target) (proxmox_backup_up{job="proxmox-backup"} == 0)`) {
			t.Errorf("%s: not silenced while its target is down", r.Alert)
		}
		if strings.Contains(r.Expr, "proxmox_backup_guest_") && !strings.Contains(r.Expr, `tags=~"(.*;)?nobackup(;.*)?"`) {
			t.Errorf("%s: ignores the guest opt-out tag", r.Alert)
		}
		if strings.Contains(r.Expr, "proxmox_backup_group_") && !strings.Contains(r.Expr, `comment=~".*no-monitor.*"`) {
			t.Errorf("%s: ignores the group opt-out comment", r.Alert)
		}
	}
}

// unitTests is the part of a promtool test file that the checks read.
type unitTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertIsTested checks that the promtool unit tests make every
// alert fire, with each severity and its annotations, and also expect it
// silent somewhere.
func TestEveryAlertIsTested(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "mixin", "tests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool tests in mixin/tests (%v)", err)
	}
	fired := map[string]bool{} // alertname/severity
	silent := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ut unitTests
		if err := yaml.Unmarshal(b, &ut); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(ut.RuleFiles) != 1 || filepath.Clean(filepath.Join(filepath.Dir(f), ut.RuleFiles[0])) != filepath.Join(root, "alerts", "proxmox-backup-alerts.yaml") {
			t.Errorf("%s: rule_files %q, want the generated alerts/proxmox-backup-alerts.yaml", f, ut.RuleFiles)
		}
		for _, tc := range ut.Tests {
			for _, at := range tc.AlertRuleTest {
				if len(at.ExpAlerts) == 0 {
					silent[at.Alertname] = true
				}
				for _, e := range at.ExpAlerts {
					fired[at.Alertname+"/"+e.ExpLabels["severity"]] = true
					for _, k := range []string{"summary", "description", "runbook_url"} {
						if e.ExpAnnotations[k] == "" {
							t.Errorf("%s: %s at %s: the expected alert has no %s", f, at.Alertname, at.EvalTime, k)
						}
					}
				}
			}
		}
	}
	for name, sevs := range wantAlerts {
		for _, s := range sevs {
			if !fired[name+"/"+s] {
				t.Errorf("no promtool test makes %s fire with severity %s", name, s)
			}
		}
		if !silent[name] {
			t.Errorf("no promtool test expects %s to stay silent", name)
		}
	}
}

// TestAlertRules runs promtool on the generated rules and their unit tests,
// with the oldest supported and the current promtool.
func TestAlertRules(t *testing.T) {
	for _, set := range testtools.Sets(t) {
		t.Run(set.Name, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join(root, "scripts", "check-mixin.sh"))
			cmd.Env = append(os.Environ(), "PROMTOOL="+set.Path("promtool"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scripts/check-mixin.sh: %v\n%s", err, out)
			}
		})
	}
}

func TestExampleConfigs(t *testing.T) {
	for _, set := range testtools.Sets(t) {
		for _, c := range [][]string{
			{set.Path("promtool"), "check", "config", filepath.Join(root, "examples", "prometheus.yml")},
			{set.Path("amtool"), "check-config", filepath.Join(root, "examples", "alertmanager.yml")},
		} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%s: %s: %v\n%s", set.Name, strings.Join(c, " "), err, out)
			}
		}
	}
}
