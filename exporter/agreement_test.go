package exporter

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
	"proxmox_backup_exporter/verdict"
)

// agreementScenario is a set of targets whose verdict is compared with the
// alerts.
type agreementScenario struct {
	name string
	cfg  func(t *testing.T) string
}

func simTarget(name, typ, url, id, secret string) string {
	return fmt.Sprintf("  %s:\n    type: %s\n    url: %s\n    token_id: %q\n    token_secret: %q\n", name, typ, url, id, secret)
}

func serve(t *testing.T, pve *simulator.PVE, pbs *simulator.PBS, faults ...string) (string, string) {
	t.Helper()
	fixed := func() time.Time { return goldenNow }
	pve.Now, pbs.Now = fixed, fixed
	fs, err := simulator.ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	pveSrv := httptest.NewServer(simulator.WithFaults("pve", fs, pve.Handler()))
	pbsSrv := httptest.NewServer(simulator.WithFaults("pbs", fs, pbs.Handler()))
	t.Cleanup(pveSrv.Close)
	t.Cleanup(pbsSrv.Close)
	return pveSrv.URL, pbsSrv.URL
}

func pair(t *testing.T, prefix string, pve *simulator.PVE, pbs *simulator.PBS, faults ...string) string {
	pveURL, pbsURL := serve(t, pve, pbs, faults...)
	return simTarget(prefix+"pve", "pve", pveURL, simulator.TestPVETokenID, simulator.TestPVETokenSecret) +
		simTarget(prefix+"pbs", "pbs", pbsURL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
}

var agreementScenarios = []agreementScenario{
	{"test", func(t *testing.T) string {
		return "targets:\n" +
			pair(t, "", simulator.PVETestScenario(goldenNow), simulator.PBSTestScenario(goldenNow)) +
			// A collector fails on each product.
			pair(t, "faulty-", simulator.PVETestScenario(goldenNow), simulator.PBSTestScenario(goldenNow),
				"pve:/cluster/backup=status:500", "pbs:/admin/gc=status:500") +
			pveTargetConfig("down", closedURL(t))
	}},
	// The test scenarios changed so that the remaining problems show: every
	// node online (so every collector succeeds), an unprotected guest in no
	// job, full storages, a group neither verified nor monitored-out.
	{"edges", func(t *testing.T) string {
		pve, pbs := simulator.PVETestScenario(goldenNow), simulator.PBSTestScenario(goldenNow)
		pve.Nodes[2].Offline, pve.Nodes[2].Timezone = false, "UTC"
		for i := range pve.Guests {
			if pve.Guests[i].VMID == 104 {
				pve.Guests[i].Tags = "scratch"
			}
		}
		pve.Storages[1].Used = pve.Storages[1].Total / 100 * 95
		pbs.Datastores[1].Used = pbs.Datastores[1].Total / 100 * 93
		pbs.Datastores[0].Namespaces[2].Groups[0].Comment = "scratch db"
		pbs.Datastores[0].GC.State = "TASK ERROR: out of space"
		// A prune job whose run was due five hours ago and did not happen,
		// and a PVE backup job whose next run PVE left in the past.
		pbs.PruneJobs[0].NextRun = goldenNow.Add(-5 * time.Hour)
		pbs.PruneJobs[0].LastStart, pbs.PruneJobs[0].LastEnd = goldenNow.Add(-29*time.Hour), goldenNow.Add(-29*time.Hour+time.Minute)
		pbs.PruneJobs[0].LastState = "OK"
		// The weekly job last ran days before its run that is now a day
		// overdue; the nightly pool job ran after its (past) next run.
		pve.Jobs[1].NextRun = goldenNow.Add(-26 * time.Hour).Unix()
		pve.Jobs[0].NextRun = goldenNow.Add(-26 * time.Hour).Unix()
		return "targets:\n" + pair(t, "edge-", pve, pbs)
	}},
	// A wrong node clock and a token short of a privilege: backups dated
	// years ahead on both products, and a PBS token without Remote.Audit.
	{"clock-and-token", func(t *testing.T) string {
		pve, pbs := simulator.PVETestScenario(goldenNow), simulator.PBSTestScenario(goldenNow)
		size := uint64(1 << 30)
		future := goldenNow.AddDate(3, 0, 0)
		pve.Storages[0].Volumes = append(pve.Storages[0].Volumes, simulator.PVEVolume{VMID: 100, Type: "qemu", Time: future, Size: &size})
		g := &pbs.Datastores[0].Namespaces[0].Groups[0]
		g.Snapshots = append(g.Snapshots, simulator.Snapshot{Time: future, Size: &size})
		pbs.ACLs = []simulator.ACL{{Path: "/", Privs: []string{"Sys.Audit", "Datastore.Audit", "Tape.Audit"}}}
		return "targets:\n" + pair(t, "clock-", pve, pbs)
	}},
	// The demo with its offsite PBS: a guest with a single copy, a group
	// whose copy lags.
	{"demo", func(t *testing.T) string {
		pve, pbs := simulator.DemoScenario(goldenNow)
		offsite := simulator.DemoOffsite(goldenNow, pbs)
		offsite.Now = func() time.Time { return goldenNow }
		srv := httptest.NewServer(offsite.Handler())
		t.Cleanup(srv.Close)
		return "targets:\n" + pair(t, "demo-", pve, pbs) + "    offsite: demo-pbs-offsite\n" +
			simTarget("demo-pbs-offsite", "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
	}},
	// A PBS whose offsite target is down: no copy is judged.
	{"offsite-down", func(t *testing.T) string {
		return "targets:\n" + pair(t, "od-", simulator.PVETestScenario(goldenNow), simulator.PBSTestScenario(goldenNow)) +
			"    offsite: od-copy\n" + simTarget("od-copy", "pbs", closedURL(t), simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
	}},
	{"small", func(t *testing.T) string {
		pve, pbs, err := simulator.Preset("small", goldenNow, simulator.DefaultSizes("small"))
		if err != nil {
			t.Fatal(err)
		}
		return "targets:\n" + pair(t, "small-", pve, pbs)
	}},
}

// The labels that identify what an alert is about; the agreement compares
// the firing alerts and the verdict on these.
var identityLabels = []string{"alertname", "severity", "target", "vmid", "node", "datastore", "namespace", "backup_type", "backup_id", "storage", "job_type", "job_id", "collector", "path", "privilege", "offsite_target"}

// TestVerdictAgreesWithAlerts checks, for every simulator scenario, that
// the problems /status.json reports are exactly the alerts that the
// generated rules fire, as promtool evaluates them on the exporter's /probe
// output.
//
// The probes' samples become promtool input series over 75 minutes that
// end at the probe: timestamps and other values stay as probed (timestamps
// shifted to promtool's clock, which starts at 0), ages grow with time.
// That lets every "for:" (at most 1h) elapse. What needs more history than that
// (verdict.Rule.HistoryOnly) is thereby out of both sides. The opt-in
// labels of ProxmoxBackupNotVerified and ProxmoxBackupUnencrypted are set
// on every series, as the verdict reports those problems for every target.
func TestVerdictAgreesWithAlerts(t *testing.T) {
	sets := promtools(t)
	var all []string
	for _, sc := range agreementScenarios {
		t.Run(sc.name, func(t *testing.T) {
			te := newTestExporter(t, sc.cfg(t), func() time.Time { return goldenNow })
			file, want := agreementTest(t, te)
			all = append(all, want...)
			if len(want) < 3 && sc.name != "small" {
				t.Fatalf("only %d problems: the scenario tests too little", len(want))
			}
			t.Logf("%d problems", len(want))
			for _, set := range sets {
				out, err := exec.Command(set.path, "test", "rules", file).CombinedOutput()
				if err != nil {
					t.Errorf("%s promtool: the alerts differ from /status.json's %d problems: %v\n%s", set.name, len(want), err, out)
				}
			}
		})
	}
	// Every alert that one probe can decide fires in some scenario, so
	// that each rule's agreement is really tested.
	for _, r := range verdict.Rules {
		if r.ID == "size_anomaly" { // needs a week of history
			continue
		}
		if !slices.ContainsFunc(all, func(sel string) bool { return strings.Contains(sel, `alertname="`+r.Alert+`"`) }) {
			t.Errorf("no scenario makes %s fire", r.Alert)
		}
	}
}

type promtool struct{ name, path string }

// promtools are the promtools of both sets.
var promtools = func(t *testing.T) []promtool {
	var out []promtool
	for _, s := range testtools.Sets(t) {
		out = append(out, promtool{s.Name, s.Path("promtool")})
	}
	return out
}

// Evaluation window of the promtool test.
const (
	agreeSteps    = 15
	agreeInterval = 5 * time.Minute
)

// agreementTest writes a promtool unit test whose input is the exporter's
// probes and whose expectation is its verdict, and returns its path and the
// expected alerts.
func agreementTest(t *testing.T, te *testExporter) (string, []string) {
	t.Helper()
	end := (agreeSteps * agreeInterval).Seconds()
	type series struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	type sample struct {
		Labels string  `yaml:"labels"`
		Value  float64 `yaml:"value"`
	}
	var input []series
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite sample %v", v)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	selector := func(name string, ls map[string]string) string {
		keys := make([]string, 0, len(ls))
		for k := range ls {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString(name + "{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + "=" + strconv.Quote(ls[k]))
		}
		b.WriteString("}")
		return b.String()
	}
	shift := float64(goldenNow.Unix()) - end // probe time -> promtool time
	for _, target := range te.exp.Config().TargetNames() {
		status, body := te.get("/probe?target=" + target)
		if status != 200 {
			t.Fatalf("/probe?target=%s: %d", target, status)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("/probe?target=%s: %v", target, err)
		}
		scrape := map[string]string{"job": "proxmox-backup", "instance": "exporter:10049", "target": target}
		input = append(input, series{selector("up", scrape), "1+0x" + strconv.Itoa(agreeSteps)})
		for name, mf := range families {
			for _, m := range mf.GetMetric() {
				ls := map[string]string{"backup_verify": "required", "backup_encryption": "required"}
				for k, v := range scrape {
					ls[k] = v
				}
				for _, lp := range m.GetLabel() {
					if _, clash := ls[lp.GetName()]; clash {
						t.Fatalf("metric %s has label %s, which the scrape sets", name, lp.GetName())
					}
					ls[lp.GetName()] = lp.GetValue()
				}
				v := m.GetGauge().GetValue()
				var values string
				switch {
				case strings.HasSuffix(name, "_timestamp_seconds"):
					values = num(v-shift) + "+0x" + strconv.Itoa(agreeSteps)
				case strings.HasSuffix(name, "_age_seconds"):
					values = num(v-end) + "+" + num(agreeInterval.Seconds()) + "x" + strconv.Itoa(agreeSteps)
				default:
					values = num(v) + "+0x" + strconv.Itoa(agreeSteps)
				}
				input = append(input, series{selector(name, ls), values})
			}
		}
	}

	status, body := te.get("/status.json")
	if status != 200 {
		t.Fatalf("/status.json: %d", status)
	}
	var page struct {
		Problems []verdict.Problem `json:"problems"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	var want []string
	var samples []sample
	for _, p := range page.Problems {
		ls := map[string]string{"alertname": p.Alert, "severity": string(p.Severity), "target": p.Target}
		for k, v := range p.Object.Labels {
			if !slices.Contains(identityLabels, k) {
				t.Fatalf("problem %+v: label %s is not an identity label", p, k)
			}
			ls[k] = v
		}
		sel := selector("", ls)
		if slices.Contains(want, sel) {
			t.Errorf("/status.json reports %s twice", sel)
			continue
		}
		want = append(want, sel)
		samples = append(samples, sample{Labels: sel, Value: 1})
	}

	root := testtools.Root()
	test := map[string]any{
		"rule_files":          []string{filepath.Join(root, "alerts", "proxmox-backup-alerts.yaml")},
		"evaluation_interval": agreeInterval.String(),
		"tests": []any{map[string]any{
			"interval":     agreeInterval.String(),
			"input_series": input,
			"promql_expr_test": []any{map[string]any{
				"expr":        "max by (" + strings.Join(identityLabels, ", ") + ") (ALERTS{alertstate=\"firing\"})",
				"eval_time":   model.Duration(agreeSteps * agreeInterval).String(),
				"exp_samples": samples,
			}},
		}},
	}
	out, err := yaml.Marshal(test)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "agreement_test.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}
