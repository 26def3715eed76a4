package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"proxmox_backup_exporter/simulator"
	"proxmox_backup_exporter/verdict"
)

// checkTargets starts the simulators and writes a configuration with the
// targets: pve and pbs (the test scenarios), healthy (the small preset's
// cluster), faulty (the same with one collector failing) and down (nothing
// listening).
func checkTargets(t *testing.T) string {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	fixed := func() time.Time { return now }
	pve, pbs := simulator.PVETestScenario(now), simulator.PBSTestScenario(now)
	healthy := simulator.GeneratePVE(simulator.PVEGenOptions{Nodes: 2, Guests: 6, BackupsPerGuest: 2, Now: now})
	// The test scenario with every node online: its restores are known.
	restores := simulator.PVEHealthyScenario(now)
	pve.Now, pbs.Now, healthy.Now, restores.Now = fixed, fixed, fixed, fixed
	// PVE fills a group's comment with the guest's name.
	pbs.Datastores[0].Namespaces[0].Groups[0].Comment = "db01"
	faults, err := simulator.ParseFaults([]string{"pve:/cluster/backup=status:500"})
	if err != nil {
		t.Fatal(err)
	}
	srv := func(h http.Handler) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	target := func(name, typ, url, id, secret string) string {
		return fmt.Sprintf("  %s:\n    type: %s\n    url: %s\n    token_id: %q\n    token_secret: %q\n    timeout: 5s\n", name, typ, url, id, secret)
	}
	cfg := "targets:\n" +
		target("pve", "pve", srv(pve.Handler()), simulator.TestPVETokenID, simulator.TestPVETokenSecret) +
		target("pbs", "pbs", srv(pbs.Handler()), simulator.TestPBSTokenID, simulator.TestPBSTokenSecret) +
		target("healthy", "pve", srv(healthy.Handler()), simulator.TestPVETokenID, simulator.TestPVETokenSecret) +
		target("faulty", "pve", srv(simulator.WithFaults("pve", faults, healthy.Handler())), simulator.TestPVETokenID, simulator.TestPVETokenSecret) +
		target("down", "pve", closed.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret) +
		target("restores", "pve", srv(restores.Handler()), simulator.TestPVETokenID, simulator.TestPVETokenSecret)
	path := filepath.Join(t.TempDir(), "exporter.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The plugin guidelines' performance data: 'label'=value[UOM];[warn];[crit];[min];[max].
var perfRE = regexp.MustCompile(`^('[^'=]+'|[^' =]+)=-?[0-9.]+(s|us|ms|%|B|KB|MB|TB|c)?(;[-0-9.:~@]*){0,4}$`)

func check(t *testing.T, cfg string, targets ...string) (int, []string) {
	t.Helper()
	return checkWith(t, cfg, verdict.Defaults(), targets...)
}

func checkWith(t *testing.T, cfg string, th verdict.Thresholds, targets ...string) (int, []string) {
	t.Helper()
	a := &checkArgs{targets: targets, th: th}
	var out, errOut bytes.Buffer
	code := runCheck(context.Background(), cfg, a, &out, &errOut)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	status, perf, ok := strings.Cut(lines[0], " | ")
	if code != pluginUnknown {
		if !ok {
			t.Fatalf("status line %q has no performance data", lines[0])
		}
		for _, p := range strings.Fields(perf) {
			if !perfRE.MatchString(p) {
				t.Errorf("performance data %q is not in the plugin format", p)
			}
		}
	}
	if want := pluginStates[code] + " - "; !strings.HasPrefix(status, want) {
		t.Errorf("exit %d with status line %q, want it to start with %q", code, status, want)
	}
	for _, l := range lines[1:] {
		if strings.Contains(l, "|") {
			t.Errorf("problem line %q contains |, which would start performance data", l)
		}
	}
	return code, lines
}

func TestCheckCommand(t *testing.T) {
	cfg := checkTargets(t)
	for _, tc := range []struct {
		targets []string
		code    int
		lines   []string // problem lines that must appear
	}{
		{[]string{"healthy"}, pluginOK, nil},
		{[]string{"faulty"}, pluginWarning, []string{"[WARNING] faulty: collector jobs: collector failing: collector jobs fails:"}},
		{[]string{"pve"}, pluginCritical, []string{
			"[CRITICAL] pve: guest 101 (web01): last attempt failed:",
			"[CRITICAL] pve: guest 100 (db01): verification failed:",
		}},
		{[]string{"pbs"}, pluginCritical, []string{
			"[CRITICAL] pbs: group main:vm/100 (db01): verification failed:",
			"[CRITICAL] pbs: group main:host/nas01: last backup too old:",
			"[WARNING] pbs: job verify/v-3f2a9c1d-77b0: job failed:",
			"[INFO] pbs: group main:ct/101: not encrypted:",
		}},
		// A target that does not answer is critical, as plugin guidelines
		// want for network errors and as ProxmoxBackupTargetDown is.
		{[]string{"down", "healthy"}, pluginCritical, []string{"[CRITICAL] down: target: target down:"}},
	} {
		t.Run(strings.Join(tc.targets, "+"), func(t *testing.T) {
			code, lines := check(t, cfg, tc.targets...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, strings.Join(lines, "\n"))
			}
			for _, want := range tc.lines {
				found := false
				for _, l := range lines[1:] {
					found = found || strings.HasPrefix(l, want)
				}
				if !found {
					t.Errorf("no line starts with %q:\n%s", want, strings.Join(lines, "\n"))
				}
			}
			if tc.code == pluginOK && len(lines) > 1 && !strings.HasPrefix(lines[1], "[INFO]") {
				t.Errorf("an OK check lists %q", lines[1])
			}
		})
	}
	// The down target is counted in the status line and the perfdata.
	_, lines := check(t, cfg, "down", "healthy")
	if !strings.Contains(lines[0], "1 of 2 targets down") || !strings.Contains(lines[0], "targets_down=1;;0;0;2") {
		t.Errorf("status line %q does not count the down target", lines[0])
	}
}

func TestCheckUnknown(t *testing.T) {
	cfg := checkTargets(t)
	if code, lines := check(t, cfg, "nope"); code != pluginUnknown || !strings.Contains(lines[0], `unknown target "nope"`) {
		t.Errorf("unknown target: exit %d %q, want 3", code, lines)
	}
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("targets:\n  c:\n    type: pve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, lines := check(t, bad); code != pluginUnknown || !strings.HasPrefix(lines[0], "UNKNOWN - configuration") {
		t.Errorf("invalid configuration: exit %d %q, want 3", code, lines)
	}
	if code, _ := check(t, filepath.Join(t.TempDir(), "missing.yml")); code != pluginUnknown {
		t.Errorf("missing configuration: exit %d, want 3", code)
	}
	// Through the command line.
	for _, args := range [][]string{
		{"check", "--config.file=" + bad},
		{"check", "--config.file=" + cfg, "--target=nope"},
		{"check", "--no-such-flag"},
		{"check", "--config.file=" + cfg, "--too-old.warning=soon"},
	} {
		if code := run(args); code != pluginUnknown {
			t.Errorf("%q: exit %d, want 3", args, code)
		}
	}
	if code := run([]string{"check", "--config.file=" + cfg, "--target=healthy"}); code != pluginOK {
		t.Errorf("the healthy target through the command line: exit %d, want 0", code)
	}
}

// TestCheckThresholds checks that the thresholds come from the flags.
func TestCheckThresholds(t *testing.T) {
	cfg := checkTargets(t)
	has := func(lines []string, prefix string) bool {
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	const tooOld, full = "[CRITICAL] pbs: group main:host/nas01: last backup too old:", "[CRITICAL] pbs: datastore main: almost full:"
	_, lines := check(t, cfg, "pbs")
	if !has(lines, tooOld) || has(lines, full) {
		t.Fatalf("with the defaults, want nas01 too old and main (75%%) not full:\n%s", strings.Join(lines, "\n"))
	}
	th := verdict.Defaults()
	th.TooOldWarning, th.TooOldCritical, th.AlmostFullRatio = 30*24*time.Hour, 30*24*time.Hour, 0.5
	_, lines = checkWith(t, cfg, th, "pbs")
	if has(lines, tooOld) || !has(lines, full) {
		t.Errorf("with 30 days and 50%%, want nas01 not too old and main full:\n%s", strings.Join(lines, "\n"))
	}
	// The same through the flags: only the verification failure and the
	// failed job remain critical or warning.
	args := []string{"check", "--config.file=" + cfg, "--target=pbs", "--too-old.warning=720h", "--too-old.critical=720h", "--almost-full.ratio=0.99"}
	if code := run(args); code != pluginCritical {
		t.Errorf("%q: exit %d, want 2 (the failed verification)", args, code)
	}
	app := kingpin.New("test", "")
	cmd, fl := addCheckFlags(app)
	if _, err := app.Parse([]string{cmd.FullCommand(), "--too-old.warning=720h", "--almost-full.ratio=0.99"}); err != nil {
		t.Fatal(err)
	}
	want := verdict.Defaults()
	want.TooOldWarning, want.AlmostFullRatio = 720*time.Hour, 0.99
	if fl.th != want {
		t.Errorf("flags give %+v, want %+v", fl.th, want)
	}
}

// check judges an offsite copy against its primary even when only the
// primary is checked, and --offsite.max-lag and --single-copy.tag set the
// rules' limits.
func TestCheckCopies(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	fixed := func() time.Time { return now }
	pve, pbs := simulator.DemoScenario(now)
	offsite := simulator.DemoOffsite(now, pbs)
	pve.Now, pbs.Now, offsite.Now = fixed, fixed, fixed
	srv := func(h http.Handler) string {
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		return s.URL
	}
	target := func(name, typ, url, id, secret string) string {
		return fmt.Sprintf("  %s:\n    type: %s\n    url: %s\n    token_id: %q\n    token_secret: %q\n", name, typ, url, id, secret)
	}
	cfg := filepath.Join(t.TempDir(), "exporter.yml")
	if err := os.WriteFile(cfg, []byte("targets:\n"+
		target("pve", "pve", srv(pve.Handler()), simulator.TestPVETokenID, simulator.TestPVETokenSecret)+
		target("pbs", "pbs", srv(pbs.Handler()), simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)+"    offsite: copy\n"+
		target("copy", "pbs", srv(offsite.Handler()), simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	has := func(lines []string, prefix string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
		return false
	}
	const lagging = "[WARNING] pbs: group main:ct/103 (db02): offsite copy lagging: the newest copy on copy"
	const single = "[WARNING] pve: guest 112 (files): one recent copy only:"
	_, lines := check(t, cfg, "pbs")
	if !has(lines, lagging) {
		t.Errorf("checking pbs alone, want %q in:\n%s", lagging, strings.Join(lines, "\n"))
	}
	_, lines = check(t, cfg, "pve")
	if !has(lines, single) {
		t.Errorf("want %q in:\n%s", single, strings.Join(lines, "\n"))
	}

	app := kingpin.New("test", "")
	cmd, fl := addCheckFlags(app)
	if _, err := app.Parse([]string{cmd.FullCommand(), "--offsite.max-lag=200h", "--single-copy.tag=3-2-1"}); err != nil {
		t.Fatal(err)
	}
	want := verdict.Defaults()
	want.OffsiteMaxLag, want.SingleCopyTag = 200*time.Hour, "3-2-1"
	if fl.th != want {
		t.Fatalf("flags give %+v, want %+v", fl.th, want)
	}
	_, lines = checkWith(t, cfg, fl.th)
	if has(lines, lagging) || has(lines, single) {
		t.Errorf("with a 200h lag and another tag, want neither copy problem:\n%s", strings.Join(lines, "\n"))
	}
}

// check lists every guest's last restore test after the problems, and the
// overdue ones as warnings.
func TestCheckRestoreTests(t *testing.T) {
	cfg := checkTargets(t)
	_, lines := check(t, cfg, "restores")
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"[WARNING] restores: guest 101 (web01): restore test overdue: no restore of its backups",
		"[WARNING] restores: guest 103 (dns): restore test overdue: the last restore",
		"restore test: restores: guest 100 (db01): ok, ended ",
		"restore test: restores: guest 101 (web01) [required]: none in the restore lookback",
		"restore test: restores: guest 103 (dns) [required]: failed (unable to restore CT 9103 - ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no line with %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "into 9100 on pve1") {
		t.Errorf("100's restore does not say where it went:\n%s", text)
	}
	// The interval is a flag like the other thresholds.
	if code := run([]string{"check", "--config.file=" + cfg, "--target=restores", "--restore-test.interval=2160h"}); code == pluginUnknown {
		t.Errorf("--restore-test.interval: exit %d", code)
	}
	// The test scenario's node pve3 is offline: restores unknown, none listed.
	if _, lines := check(t, cfg, "pve"); strings.Contains(strings.Join(lines, "\n"), "restore test") {
		t.Errorf("restore tests listed with a node offline:\n%s", strings.Join(lines, "\n"))
	}
}
