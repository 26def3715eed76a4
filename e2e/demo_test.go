package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
)

// demoProblems is the list of problems that README's "The simulator and
// the demo" documents, as the alerts they raise: alert name, severity,
// target, and what the alert is about. Everything else in the demo is
// healthy and must stay quiet.
func demoProblems(now time.Time) []string {
	want := []string{
		// web03 (115): last night's backup failed.
		"ProxmoxBackupFailed critical demo-pve vmid=115",
		// new01 (118): in a job, never backed up.
		"ProxmoxBackupNeverBackedUp critical demo-pve vmid=118",
		// mail (104): the newest backup failed verification, seen from
		// PVE and from PBS, and so did the verify job that checked it.
		"ProxmoxBackupVerifyFailed critical demo-pve vmid=104",
		"ProxmoxBackupVerifyFailed critical demo-pbs group=main/vm/104",
		"ProxmoxBackupJobFailed warning demo-pbs job=verify/v-main-daily",
		// Datastore main: 85% used, PBS predicts it full in five days.
		"ProxmoxBackupDatastoreFillingUp warning demo-pbs datastore=main",
		// files (112): tagged two-copies, backed up to the PBS only.
		"ProxmoxBackupSingleCopy warning demo-pve vmid=112",
		// db02 (ct/103): the offsite PBS stopped copying it four days
		// before its sync job's last run, so the copy lags and is too old.
		"ProxmoxBackupOffsiteCopyLagging warning demo-pbs group=main/ct/103",
		"ProxmoxBackupTooOld critical demo-pbs-offsite group=offsite:pbs1/ct/103",
		// Restore tests: db02's (103) failed three days ago, ldap's
		// (114) last one passed 120 days ago.
		"ProxmoxBackupRestoreTestOverdue warning demo-pve vmid=103",
		"ProxmoxBackupRestoreTestOverdue warning demo-pve vmid=114",
	}
	// Two of web03's alerts depend on the time of day. Its run (02:30
	// Europe/Berlin, taking up to 50 minutes) was also missed once the
	// grace period after the schedule has passed; Alertmanager's example
	// inhibits that under ProxmoxBackupFailed. And the PBS, which knows no
	// schedule, finds its group ct/115 too old once the last good backup,
	// from the run before the failed one, is 36 (48) hours old; its copy
	// on the offsite PBS, which the sync job copied in the morning after
	// it was made, just as old.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	l := now.In(berlin)
	due := time.Date(l.Year(), l.Month(), l.Day(), 2, 30, 0, 0, berlin)
	if due.After(now) {
		due = due.AddDate(0, 0, -1)
	}
	if now.Sub(due) > 6*time.Hour {
		want = append(want, "ProxmoxBackupMissed critical demo-pve vmid=115")
	}
	failedRun := due
	if failedRun.Add(50 * time.Minute).After(now) {
		failedRun = failedRun.AddDate(0, 0, -1)
	}
	// web03 is the 16th guest: its backup starts 20 minutes into the run.
	switch age := now.Sub(failedRun.AddDate(0, 0, -1).Add(20 * time.Minute)); {
	case age > 48*time.Hour:
		want = append(want, "ProxmoxBackupTooOld critical demo-pbs group=main/ct/115", "ProxmoxBackupTooOld critical demo-pbs-offsite group=offsite:pbs1/ct/115")
	case age > 36*time.Hour:
		want = append(want, "ProxmoxBackupTooOld warning demo-pbs group=main/ct/115", "ProxmoxBackupTooOld warning demo-pbs-offsite group=offsite:pbs1/ct/115")
	}
	sort.Strings(want)
	return want
}

// alertKey names a firing alert by what it is about.
func alertKey(l map[string]string) string {
	what := ""
	switch {
	case l["vmid"] != "":
		what = "vmid=" + l["vmid"]
	case l["backup_id"] != "":
		what = fmt.Sprintf("group=%s/%s/%s", l["datastore"], l["backup_type"], l["backup_id"])
		if l["namespace"] != "" {
			what = fmt.Sprintf("group=%s:%s/%s/%s", l["datastore"], l["namespace"], l["backup_type"], l["backup_id"])
		}
	case l["job_id"] != "" && l["job_type"] != "":
		what = fmt.Sprintf("job=%s/%s", l["job_type"], l["job_id"])
	case l["job_id"] != "":
		what = "pvejob=" + l["job_id"]
	case l["collector"] != "":
		what = "collector=" + l["collector"]
	case l["datastore"] != "":
		what = "datastore=" + l["datastore"]
	case l["storage"] != "":
		what = fmt.Sprintf("storage=%s/%s", l["node"], l["storage"])
	case l["privilege"] != "":
		what = fmt.Sprintf("privilege=%s:%s", l["path"], l["privilege"])
	}
	return strings.TrimSpace(fmt.Sprintf("%s %s %s %s", l["alertname"], l["severity"], l["target"], what))
}

// TestDemoRaisesItsDocumentedProblems runs the demo preset through the
// exporter and Prometheus with the generated rules (their for: durations
// dropped, the one test-only change) and checks that exactly the documented
// problems fire, on both Prometheus versions.
func TestDemoRaisesItsDocumentedProblems(t *testing.T) {
	if os.Getenv("E2E") == "" {
		t.Skip("end-to-end test: run make e2e (E2E=1)")
	}
	for _, set := range testtools.Sets(t) {
		t.Run(set.Name, func(t *testing.T) { demoRaisesItsDocumentedProblems(t, set) })
	}
}

func demoRaisesItsDocumentedProblems(t *testing.T, set testtools.Set) {
	root := testtools.Root()
	dir := t.TempDir()
	now := time.Now()

	pve, pbs, err := simulator.Preset("demo", now, simulator.DefaultSizes("demo"))
	if err != nil {
		t.Fatal(err)
	}
	offsite := simulator.DemoOffsite(now, pbs)
	pveSrv, pbsSrv, offsiteSrv := httptest.NewServer(pve.Handler()), httptest.NewServer(pbs.Handler()), httptest.NewServer(offsite.Handler())
	defer pveSrv.Close()
	defer pbsSrv.Close()
	defer offsiteSrv.Close()

	exporterBin := exporterBinary(t)
	// The target names of the simulator's --write-config.
	writeFile(t, filepath.Join(dir, "exporter.yml"), targetsConfig("demo-pve", pveSrv.URL, "demo-pbs", pbsSrv.URL)+
		fmt.Sprintf("    offsite: demo-pbs-offsite\n  demo-pbs-offsite:\n    type: pbs\n    url: %s\n    token_id: %q\n    token_secret: %q\n", offsiteSrv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret))
	exporterAddr := freeAddr(t)
	start(t, exporterBin, "--config.file="+filepath.Join(dir, "exporter.yml"), "--web.listen-address="+exporterAddr)

	rules := shortenedRules(t, filepath.Join(root, "alerts", "proxmox-backup-alerts.yaml"), "for", "keep_firing_for")
	writeFile(t, filepath.Join(dir, "rules.yaml"), rules)
	promConfig := examplePrometheus(t, root, []string{"demo-pve", "demo-pbs", "demo-pbs-offsite"}, exporterAddr, filepath.Join(dir, "rules.yaml"))
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConfig)
	promAddr := freeAddr(t)
	start(t, set.Path("prometheus"), "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "prom"),
		"--web.listen-address="+promAddr)

	want := strings.Join(demoProblems(now), "\n")
	var got string
	firing := func() string {
		resp, err := http.Get("http://" + promAddr + "/api/v1/alerts")
		if err != nil {
			return "unreachable: " + err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return "undecodable: " + err.Error()
		}
		var keys []string
		for _, a := range body.Data.Alerts {
			if a.State == "firing" {
				keys = append(keys, alertKey(a.Labels))
			}
		}
		sort.Strings(keys)
		return strings.Join(keys, "\n")
	}
	// Both targets scraped a few times, the rules evaluated after that.
	deadline := time.Now().Add(45 * time.Second)
	stable := 0
	for stable < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("firing alerts:\n%s\n\nwant exactly:\n%s", got, want)
		}
		time.Sleep(time.Second)
		if got = firing(); got == want {
			stable++
		} else {
			stable = 0
		}
	}
}

// shortenedRules returns the generated rules with the given durations
// (for, keep_firing_for) removed from every rule, so that what would fire
// after them fires at the first evaluation, and what resolves does so at
// once.
func shortenedRules(t *testing.T, path string, keys ...string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []map[string]any `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, g := range f.Groups {
		g["interval"] = "1s"
		for _, r := range g["rules"].([]any) {
			rm := r.(map[string]any)
			for _, k := range keys {
				if _, ok := rm[k]; ok {
					n[k]++
				}
				delete(rm, k)
			}
		}
	}
	for _, k := range keys {
		if n[k] == 0 {
			t.Fatalf("no rule has %s:; the transformation is untested", k)
		}
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// examplePrometheus loads examples/prometheus.yml and keeps its probe job
// (metrics path, relabelling) with the test's targets, exporter and rules,
// scraping every second.
func examplePrometheus(t *testing.T, root string, targets []string, exporterAddr, rules string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	cfg["rule_files"] = []any{rules}
	delete(cfg, "alerting")
	var job map[string]any
	for _, sc := range cfg["scrape_configs"].([]any) {
		if m := sc.(map[string]any); m["job_name"] == "proxmox-backup" {
			job = m
		}
	}
	if job == nil {
		t.Fatal("examples/prometheus.yml has no proxmox-backup job")
	}
	job["scrape_interval"], job["scrape_timeout"] = "1s", "1s"
	job["static_configs"] = []any{map[string]any{"targets": targets}}
	relabels := job["relabel_configs"].([]any)
	replaced := false
	for _, r := range relabels {
		rm := r.(map[string]any)
		if rm["target_label"] == "__address__" {
			rm["replacement"], replaced = exporterAddr, true
		}
	}
	if !replaced {
		t.Fatal("the proxmox-backup job sets no __address__")
	}
	cfg["scrape_configs"] = []any{job}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
