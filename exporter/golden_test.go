package exporter

import (
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

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
	return simulatorConfig(t, pve, pbs), pve, pbs
}

// simulatorConfig serves the given scenarios and returns an exporter
// configuration with the targets "cluster" (PVE) and "backup" (PBS).
func simulatorConfig(t *testing.T, pve *simulator.PVE, pbs *simulator.PBS) string {
	t.Helper()
	pveSrv := httptest.NewServer(pve.Handler())
	pbsSrv := httptest.NewServer(pbs.Handler())
	t.Cleanup(pveSrv.Close)
	t.Cleanup(pbsSrv.Close)
	return fmt.Sprintf(`targets:
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
}

// durationRE matches the per-collector durations, the only values of a probe
// that depend on the machine.
var durationRE = regexp.MustCompile(`(?m)^(proxmox_backup_collector_duration_seconds\{[^}]*\}) \S+$`)

func normalize(body string) string {
	return durationRE.ReplaceAllString(body, "$1 0")
}

var failedCollectorRE = regexp.MustCompile(`(?m)^proxmox_backup_collector_success\{[^}]*\} 0$`)

// The golden files are recorded on healthy scenarios, where every collector
// succeeds; an offline node, whose failures change what is exported, has
// its own file.
func TestProbeGolden(t *testing.T) {
	offline := simulator.PVETestScenario(goldenNow)
	// The PBS target names an offsite target, which its probe exports;
	// the offsite target itself is not probed here.
	const offsite = "    offsite: backup-offsite\n  backup-offsite:\n    type: pbs\n    url: https://backup-offsite.invalid:8007\n    token_id: \"m@pbs!e\"\n    token_secret: \"x\"\n"
	for _, tc := range []struct {
		name   string
		pve    *simulator.PVE
		target string
		extra  string
	}{
		{"cluster", simulator.PVEHealthyScenario(goldenNow), "cluster", ""},
		{"backup", simulator.PVEHealthyScenario(goldenNow), "backup", offsite},
		{"cluster_offline_node", offline, "cluster", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simulatorConfig(t, tc.pve, simulator.PBSTestScenario(goldenNow)) + tc.extra
			te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
			status, body := te.get("/probe?target=" + tc.target)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if !durationRE.MatchString(body) {
				t.Fatal("no collector durations in the output")
			}
			healthy := !failedCollectorRE.MatchString(body)
			if want := tc.pve != offline; healthy != want {
				t.Errorf("every collector succeeded: %v, want %v", healthy, want)
			}
			// The exporter's own count of probes by outcome says the same.
			outcome := "failure"
			if healthy {
				outcome = "success"
			}
			if got := testutil.ToFloat64(te.exp.probes.WithLabelValues(tc.target, outcome)); got != 1 {
				t.Errorf("probes_total{outcome=%q} = %v, want 1", outcome, got)
			}
			checkGolden(t, filepath.Join("testdata", "probe_"+tc.name+".prom"), normalize(body))
			if strings.Contains(te.logs.String(), simulator.TestPVETokenSecret) || strings.Contains(te.logs.String(), simulator.TestPBSTokenSecret) {
				t.Error("a token secret reached the log")
			}
		})
	}
}

// checkGolden compares got with the golden file at path. With -update it
// rewrites the file and, when anything changed, fails with the changes as
// values (metric and labels: old -> new, added, removed), so that whoever
// regenerates the file reviews what the exporter now says rather than a
// byte diff; a second run without -update passes.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil && !(*update && os.IsNotExist(err)) {
		t.Fatalf("%v (run go test ./exporter -update to create it)", err)
	}
	if got == string(want) {
		return
	}
	changes := goldenChanges(string(want), got)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Errorf("rewrote %s; review these changes, then run again without -update:\n%s", path, changes)
		return
	}
	t.Errorf("the probe differs from %s (if intended: go test ./exporter -update, and review what it prints):\n%s", path, changes)
}

// exposition is the text format read back into samples and metadata.
type exposition struct {
	samples map[string]string // metric{labels} -> value
	meta    map[string]string // "# HELP name" / "# TYPE name" -> text
	order   []string          // samples in file order
}

func parseExposition(text string) exposition {
	e := exposition{samples: map[string]string{}, meta: map[string]string{}}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE "):
			kind, rest := line[:7], line[7:]
			name, text, _ := strings.Cut(rest, " ")
			e.meta[kind+name] = text
		case strings.HasPrefix(line, "#"):
		default:
			// Label values may hold spaces; the value (no timestamps
			// here) follows the last one.
			i := strings.LastIndexByte(line, ' ')
			if i < 0 {
				e.samples[line] = ""
				e.order = append(e.order, line)
				continue
			}
			e.samples[line[:i]] = line[i+1:]
			e.order = append(e.order, line[:i])
		}
	}
	return e
}

// goldenChanges lists what differs between two expositions as values: one
// line per changed, added or removed series, and per changed HELP or TYPE.
func goldenChanges(oldText, newText string) string {
	o, n := parseExposition(oldText), parseExposition(newText)
	var b strings.Builder
	for _, k := range o.order {
		if nv, ok := n.samples[k]; !ok {
			fmt.Fprintf(&b, "  removed %s (was %s)\n", k, o.samples[k])
		} else if nv != o.samples[k] {
			fmt.Fprintf(&b, "  changed %s: %s -> %s\n", k, o.samples[k], nv)
		}
	}
	for _, k := range n.order {
		if _, ok := o.samples[k]; !ok {
			fmt.Fprintf(&b, "  added   %s = %s\n", k, n.samples[k])
		}
	}
	keys := make([]string, 0, len(o.meta)+len(n.meta))
	for k := range o.meta {
		keys = append(keys, k)
	}
	for k := range n.meta {
		if _, ok := o.meta[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if o.meta[k] != n.meta[k] {
			fmt.Fprintf(&b, "  %s: %q -> %q\n", k, o.meta[k], n.meta[k])
		}
	}
	if b.Len() == 0 {
		b.WriteString("  (no value changed: only the order or spacing)\n")
	}
	return b.String()
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
