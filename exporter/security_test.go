package exporter

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// trap is a server that must never be contacted.
func trap(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("credentials reached the trap: %s %s", r.Method, r.URL)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestCredentialsOnlyGoToConfiguredURLs(t *testing.T) {
	bad, hits := trap(t)
	// A configured target whose server redirects elsewhere.
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, bad.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(redirector.Close)
	cfg, _, _ := simulators(t)
	cfg += pveTargetConfig("redirecting", redirector.URL)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	for _, path := range []string{
		"/probe?target=" + bad.URL,
		"/probe?target=" + strings.TrimPrefix(bad.URL, "http://"),
		"/probe?module=" + bad.URL,
		"/status?target=" + bad.URL,
	} {
		if status, _ := te.get(path); status != 400 {
			t.Errorf("GET %s: %d, want 400", path, status)
		}
	}
	for _, path := range []string{
		"/probe?target=cluster&url=" + bad.URL + "&host=" + bad.URL + "&__address__=" + bad.URL,
		"/probe?target=redirecting",
	} {
		if status, _ := te.get(path); status != 200 {
			t.Errorf("GET %s: %d, want 200", path, status)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the exporter contacted an unconfigured host %d times", n)
	}
	_, body := te.get("/probe?target=redirecting")
	if !strings.Contains(body, "proxmox_backup_up 0") {
		t.Error("a target that redirects must be down")
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	dir := t.TempDir()
	wrongFile := filepath.Join(dir, "wrong.secret")
	if err := os.WriteFile(wrongFile, []byte(testSecret+"-wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, _ := simulators(t)
	srv := httptest.NewServer(simulator.PVETestScenario(goldenNow).Handler())
	t.Cleanup(srv.Close)
	cfg += fmt.Sprintf("  wrongtoken:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret_file: %s\n", srv.URL, simulator.TestPVETokenID, wrongFile)
	cfg += pveTargetConfig("down", closedURL(t))
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	// The secret file disappears after the configuration was loaded.
	var pages []string
	for _, p := range []string{"/probe?target=cluster", "/probe?target=backup", "/probe?target=wrongtoken", "/probe?target=down", "/config", "/status", "/status.json", "/metrics", "/"} {
		_, body := te.get(p)
		pages = append(pages, body)
	}
	os.Remove(wrongFile)
	for _, p := range []string{"/probe?target=wrongtoken", "/status", "/status.json"} {
		_, body := te.get(p)
		pages = append(pages, body)
		if p == "/status" && strings.Contains(body, wrongFile) {
			t.Errorf("/status shows the secret file's path")
		}
	}
	secrets := []string{testSecret, simulator.TestPVETokenSecret, simulator.TestPBSTokenSecret}
	for _, s := range secrets {
		for i, page := range pages {
			if strings.Contains(page, s) {
				t.Errorf("page %d shows a secret", i)
			}
		}
		if strings.Contains(te.logs.String(), s) {
			t.Errorf("the log shows a secret")
		}
	}
	if !strings.Contains(te.logs.String(), "token was rejected") {
		t.Errorf("the log does not say that the token was rejected:\n%s", te.logs)
	}
}

// slowPaths delays the given API paths until the request is cancelled.
func slowPaths(h http.Handler, paths ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range paths {
			if strings.HasPrefix(r.URL.Path, "/api2/json"+p) {
				select {
				case <-r.Context().Done():
				case <-time.After(30 * time.Second):
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func TestProbeDeadline(t *testing.T) {
	before := runtime.NumGoroutine()
	p := simulator.PVETestScenario(goldenNow)
	p.Nodes[2].Offline = false
	srv := httptest.NewServer(slowPaths(p.Handler(), "/cluster/resources"))
	cfg := fmt.Sprintf("targets:\n  slow:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n    timeout: 20s\n", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	start := time.Now()
	status, body := te.get("/probe?target=slow", "X-Prometheus-Scrape-Timeout-Seconds", "2")
	took := time.Since(start)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	// 2s minus the 0.5s offset; generous slack for a loaded machine, but
	// far from the 20s target timeout and the 30s stall.
	if took > 6*time.Second {
		t.Errorf("the probe took %v past a 1.5s deadline", took)
	}
	for _, want := range []string{
		"proxmox_backup_up 1",
		`proxmox_backup_collector_success{collector="guests"} 0`,
		`proxmox_backup_collector_success{collector="storage"} 1`,
		`proxmox_backup_storage_backups{node="",storage="pbs"} 9`,
		`proxmox_backup_pve_job_enabled{job_id="backup-all"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if logs := te.logs.String(); !strings.Contains(logs, "collector=guests") || !strings.Contains(logs, "GET /cluster/resources?type=vm: context deadline exceeded") {
		t.Errorf("the log does not name the collector and the call that missed the deadline:\n%s", logs)
	}

	srv.Close()
	te.srv.Close()
	http.DefaultClient.CloseIdleConnections()
	waitGoroutines(t, before)
}
