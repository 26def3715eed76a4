// Package e2e runs the whole alerting path with the real programs: the
// simulator, the exporter binary, Prometheus with the generated rules, and
// Alertmanager with the example routing, delivering to a local Gotify-bridge
// webhook and a local SMTP sink. Run it with make e2e (E2E=1).
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
)

// binDir holds the exporter binary that every test of the package runs;
// it is built once (exporterBinary) and removed by TestMain.
var (
	binDir   string
	buildBin sync.Once
	binPath  string
	binErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// exporterBinary builds the exporter once for the whole package.
func exporterBinary(t *testing.T) string {
	t.Helper()
	buildBin.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "e2e-exporter"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "proxmox_backup_exporter")
		if out, err := exec.Command("go", "build", "-o", binPath, testtools.Root()).CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// targetsConfig is an exporter configuration for one simulated PVE and one
// simulated PBS, under the given target names.
func targetsConfig(pveName, pveURL, pbsName, pbsURL string) string {
	return fmt.Sprintf("targets:\n  %s:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n  %s:\n    type: pbs\n    url: %s\n    token_id: %q\n    token_secret: %q\n",
		pveName, pveURL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, pbsName, pbsURL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// swappable serves a handler that the test can replace, so that the
// simulated backups can be "fixed" while everything runs.
type swappable struct{ h atomic.Value }

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.Load().(http.Handler).ServeHTTP(w, r)
}

// scenario: guest 100 (db01) is covered by a nightly job whose last run,
// seven hours ago, produced no backup; its last backup is 31 hours old. The
// PBS group vm/100 failed verification. fixed=true is the morning after the
// admin reran the backup.
func scenario(now time.Time, fixed bool) (*simulator.PVE, *simulator.PBS) {
	due := now.Add(-7 * time.Hour).Truncate(time.Minute)
	size := uint64(8 << 30)
	pve := &simulator.PVE{
		TokenID: simulator.TestPVETokenID, TokenSecret: simulator.TestPVETokenSecret,
		Version: "8.4.14", Release: "8.4", RepoID: "b502d23c55afcba1", Now: time.Now,
		Nodes:  []simulator.PVENode{{Name: "pve1", Timezone: "UTC"}},
		Guests: []simulator.PVEGuest{{VMID: 100, Name: "db01", Type: "qemu", Node: "pve1"}, {VMID: 101, Name: "web01", Type: "qemu", Node: "pve1"}},
		Storages: []simulator.PVEStorage{{Name: "pbs", Type: "pbs", Shared: true, Server: "pbs.example.com", Datastore: "main", Total: 10 << 40, Used: 2 << 40,
			Volumes: []simulator.PVEVolume{
				{VMID: 100, Time: due.Add(-24 * time.Hour), Size: &size, Verify: "ok", VerifyTime: due},
				{VMID: 101, Time: due.Add(5 * time.Minute), Size: &size, Verify: "ok", VerifyTime: due.Add(time.Hour)},
			}}},
		Jobs: []simulator.PVEBackupJob{{ID: "backup-nightly", Schedule: fmt.Sprintf("%02d:%02d", due.Hour(), due.Minute()), Storage: "pbs", All: true}},
	}
	if fixed {
		pve.Storages[0].Volumes = append(pve.Storages[0].Volumes, simulator.PVEVolume{VMID: 100, Time: now.Add(-10 * time.Minute), Size: &size, Verify: "ok", VerifyTime: now.Add(-5 * time.Minute)})
	}
	verify := "failed"
	if fixed {
		verify = "ok"
	}
	pbs := &simulator.PBS{
		TokenID: simulator.TestPBSTokenID, TokenSecret: simulator.TestPBSTokenSecret,
		Version: "4.0", Release: "14", RepoID: "8e2a6f1d0c9b7a5e3f1d2c4b6a8e0f1d3c5b7a9e", Now: time.Now,
		Datastores: []simulator.Datastore{{Name: "main", Total: 10 << 40, Used: 2 << 40,
			GC: simulator.GCStatus{LastStart: now.Add(-5 * time.Hour), Duration: time.Minute, State: "OK", Schedule: "daily", NextRun: now.Add(19 * time.Hour)},
			Namespaces: []simulator.Namespace{{Groups: []simulator.Group{{BackupType: "vm", BackupID: "100", Snapshots: []simulator.Snapshot{
				{Time: now.Add(-3 * time.Hour), Size: &size, Verify: verify, VerifyTime: now.Add(-2 * time.Hour)},
			}}}}}}},
	}
	return pve, pbs
}

// notifications collects what the receivers got.
type notifications struct {
	mu      sync.Mutex
	webhook []webhookMessage
	mails   []string
}

type webhookMessage struct {
	Status string `json:"status"`
	Alerts []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"alerts"`
}

func (n *notifications) gotify(alertname, status string) *webhookMessage {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range n.webhook {
		for _, a := range n.webhook[i].Alerts {
			if a.Labels["alertname"] == alertname && a.Status == status {
				return &n.webhook[i]
			}
		}
	}
	return nil
}

func (n *notifications) mail(substrings ...string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
next:
	for _, m := range n.mails {
		for _, s := range substrings {
			if !strings.Contains(m, s) {
				continue next
			}
		}
		return m
	}
	return ""
}

// smtpSink accepts mail like a relay and keeps it.
func smtpSink(t *testing.T, n *notifications) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(time.Minute))
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 sink ESMTP\r\n")
				var data strings.Builder
				inData := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if inData {
						if line == ".\r\n" {
							inData = false
							n.mu.Lock()
							n.mails = append(n.mails, data.String())
							n.mu.Unlock()
							data.Reset()
							fmt.Fprint(c, "250 queued\r\n")
							continue
						}
						data.WriteString(line)
						continue
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"):
						fmt.Fprint(c, "250-sink\r\n250 8BITMIME\r\n")
					case strings.HasPrefix(cmd, "DATA"):
						inData = true
						fmt.Fprint(c, "354 go ahead\r\n")
					case strings.HasPrefix(cmd, "QUIT"):
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T, name string, args ...string) {
	t.Helper()
	startIn(t, "", name, args...)
}

// startIn starts a program with dir as its working directory ("" for the
// test's own).
func startIn(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(name)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestAlertsReachEmailAndGotify runs the whole path with the oldest
// supported Prometheus and Alertmanager (Debian's) and with the current
// releases.
func TestAlertsReachEmailAndGotify(t *testing.T) {
	if os.Getenv("E2E") == "" {
		t.Skip("end-to-end test: run make e2e (E2E=1)")
	}
	for _, set := range testtools.Sets(t) {
		t.Run(set.Name, func(t *testing.T) { alertsReachEmailAndGotify(t, set) })
	}
}

func alertsReachEmailAndGotify(t *testing.T, set testtools.Set) {
	root := testtools.Root()
	prometheus := set.Path("prometheus")
	alertmanager := set.Path("alertmanager")
	dir := t.TempDir()
	now := time.Now().UTC()

	// 1. The simulator.
	pveSwap, pbsSwap := &swappable{}, &swappable{}
	pve, pbs := scenario(now, false)
	pveSwap.h.Store(pve.Handler())
	pbsSwap.h.Store(pbs.Handler())
	pveSrv, pbsSrv := httptest.NewServer(pveSwap), httptest.NewServer(pbsSwap)
	defer pveSrv.Close()
	defer pbsSrv.Close()

	// 2. The exporter.
	exporterBin := exporterBinary(t)
	writeFile(t, filepath.Join(dir, "exporter.yml"), targetsConfig("cluster1", pveSrv.URL, "backup1", pbsSrv.URL))
	exporterAddr := freeAddr(t)
	start(t, exporterBin, "--config.file="+filepath.Join(dir, "exporter.yml"), "--web.listen-address="+exporterAddr)

	// 3. The receivers.
	n := &notifications{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err == nil && r.URL.Path == "/gotify_webhook" {
			n.mu.Lock()
			n.webhook = append(n.webhook, m)
			n.mu.Unlock()
		}
	}))
	defer hook.Close()
	smtpAddr := smtpSink(t, n)

	// 4. Alertmanager with the example routing: receivers pointed at the
	// sinks, timers shortened, and the night window moved away from now.
	amAddr := freeAddr(t)
	amConfig := exampleAlertmanager(t, root, hook.URL+"/gotify_webhook", smtpAddr, now)
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), amConfig)
	if tmpl := set.AlertmanagerTemplates(); tmpl != "" {
		// Debian's Alertmanager, as .tools keeps it, reads its templates
		// from ./alertmanager-templates (scripts/fetch-tools.sh).
		if err := os.CopyFS(filepath.Join(dir, "alertmanager-templates"), os.DirFS(tmpl)); err != nil {
			t.Fatal(err)
		}
	}
	startIn(t, dir, alertmanager, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")

	// 5. Prometheus with the generated rules, evaluated every second, but
	// without keep_firing_for: the fixed alerts resolve at once.
	writeFile(t, filepath.Join(dir, "rules.yaml"), shortenedRules(t, filepath.Join(root, "alerts", "proxmox-backup-alerts.yaml"), "keep_firing_for"))
	promConfig := fmt.Sprintf(`global:
  scrape_interval: 2s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - static_configs: [{targets: [%q]}]
scrape_configs:
  - job_name: proxmox-backup
    metrics_path: /probe
    static_configs: [{targets: [cluster1, backup1]}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: target}
      - {target_label: __address__, replacement: %q}
`, filepath.Join(dir, "rules.yaml"), amAddr, exporterAddr)
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promConfig)
	start(t, prometheus, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "prom"),
		"--web.listen-address="+freeAddr(t))

	// The alerts arrive at both receivers with their labels and text.
	waitFor(t, "ProxmoxBackupMissed and ProxmoxBackupVerifyFailed at the Gotify bridge", 2*time.Minute, func() bool {
		return n.gotify("ProxmoxBackupMissed", "firing") != nil && n.gotify("ProxmoxBackupVerifyFailed", "firing") != nil
	})
	m := n.gotify("ProxmoxBackupMissed", "firing")
	a := m.Alerts[0]
	for _, al := range m.Alerts {
		if al.Labels["alertname"] == "ProxmoxBackupMissed" {
			a = al
		}
	}
	if a.Labels["vmid"] != "100" || a.Labels["name"] != "db01" || a.Labels["target"] != "cluster1" || a.Labels["severity"] != "critical" {
		t.Errorf("missed alert labels: %v", a.Labels)
	}
	if d := a.Annotations["description"]; !strings.Contains(d, "guest db01 (100) on node pve1 of cluster1") || !strings.Contains(d, "1d 7h") {
		t.Errorf("missed alert description: %q", d)
	}
	waitFor(t, "the alert emails", time.Minute, func() bool {
		return n.mail("ProxmoxBackupMissed", "db01") != "" && n.mail("ProxmoxBackupVerifyFailed") != ""
	})
	if m := n.mail("ProxmoxBackupMissed"); !strings.Contains(m, "Subject: [FIRING] cluster1: A scheduled backup was missed.") {
		t.Errorf("email subject:\n%s", m)
	}
	if n.gotify("ProxmoxBackupNotCovered", "firing") != nil {
		t.Error("a covered guest raised ProxmoxBackupNotCovered")
	}

	// The admin reruns the backup; verification passes: both resolve.
	pve, pbs = scenario(now, true)
	pveSwap.h.Store(pve.Handler())
	pbsSwap.h.Store(pbs.Handler())
	waitFor(t, "the resolved notifications at the Gotify bridge", 2*time.Minute, func() bool {
		return n.gotify("ProxmoxBackupMissed", "resolved") != nil && n.gotify("ProxmoxBackupVerifyFailed", "resolved") != nil
	})
	waitFor(t, "the resolved emails", time.Minute, func() bool {
		return n.mail("[RESOLVED] cluster1") != "" && n.mail("[RESOLVED] backup1") != ""
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// exampleAlertmanager loads examples/alertmanager.yml and points it at the
// test's sinks.
func exampleAlertmanager(t *testing.T, root, webhook, smtp string, now time.Time) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "examples", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	g := cfg["global"].(map[string]any)
	g["smtp_smarthost"] = smtp
	g["smtp_require_tls"] = false
	delete(g, "smtp_auth_username")
	delete(g, "smtp_auth_password_file")
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"] = "1s", "2s"
	for _, r := range route["routes"].([]any) {
		rm := r.(map[string]any)
		if _, ok := rm["group_by"]; ok || true {
			rm["group_wait"], rm["group_interval"] = "1s", "2s"
		}
	}
	// Quiet hours stay configured, but twelve hours away from now.
	night := cfg["time_intervals"].([]any)[0].(map[string]any)["time_intervals"].([]any)[0].(map[string]any)
	startAt := now.Add(12 * time.Hour)
	night["times"] = []any{map[string]any{"start_time": startAt.Format("15:04"), "end_time": startAt.Add(time.Minute).Format("15:04")}}
	night["location"] = "UTC"
	for _, r := range cfg["receivers"].([]any) {
		rm := r.(map[string]any)
		if whs, ok := rm["webhook_configs"].([]any); ok {
			whs[0].(map[string]any)["url"] = webhook
		}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
