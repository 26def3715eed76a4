package exporter

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenNow is the fixed clock of the golden scenarios.
var goldenNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// simulators starts the PVE and PBS test scenarios and returns an exporter
// configuration with one target for each.
func simulators(t *testing.T) (cfg string, pve *simulator.PVE, pbs *simulator.PBS) {
	t.Helper()
	pve = simulator.PVETestScenario(goldenNow)
	pbs = simulator.PBSTestScenario(goldenNow)
	pveSrv := httptest.NewServer(pve.Handler())
	pbsSrv := httptest.NewServer(pbs.Handler())
	t.Cleanup(pveSrv.Close)
	t.Cleanup(pbsSrv.Close)
	cfg = fmt.Sprintf(`targets:
  cluster:
    type: pve
    url: %s
    token_id: %q
    token_secret: %q
  backup:
    type: pbs
    url: %s
    token_id: %q
    token_secret: %q
`, pveSrv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, pbsSrv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
	return cfg, pve, pbs
}

// durationRE matches the per-collector durations, the only values of a probe
// that depend on the machine.
var durationRE = regexp.MustCompile(`(?m)^(proxmox_backup_collector_duration_seconds\{[^}]*\}) \S+$`)

func normalize(body string) string {
	return durationRE.ReplaceAllString(body, "$1 0")
}

func TestProbeGolden(t *testing.T) {
	cfg, _, _ := simulators(t)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	for _, target := range []string{"cluster", "backup"} {
		t.Run(target, func(t *testing.T) {
			status, body := te.get("/probe?target=" + target)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if !durationRE.MatchString(body) {
				t.Fatal("no collector durations in the output")
			}
			got := normalize(body)
			path := filepath.Join("testdata", "probe_"+target+".prom")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./exporter -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("/probe?target=%s differs from %s (run go test ./exporter -update and review the diff):\n%s", target, path, lineDiff(string(want), got))
			}
		})
	}
	if strings.Contains(te.logs.String(), simulator.TestPVETokenSecret) || strings.Contains(te.logs.String(), simulator.TestPBSTokenSecret) {
		t.Error("a token secret reached the log")
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w := map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	g := map[string]bool{}
	var b strings.Builder
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

func TestGoldenFilesPassPromtool(t *testing.T) {
	sets := testtools.Sets(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "*.prom"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		content, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range sets {
			cmd := exec.Command(set.Path("promtool"), "check", "metrics")
			cmd.Stdin = strings.NewReader(string(content))
			out, err := cmd.CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("%s promtool check metrics %s: %v\n%s", set.Name, f, err, out)
			}
		}
	}
}
