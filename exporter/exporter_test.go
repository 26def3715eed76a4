package exporter

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// logBuffer collects everything the exporter logs, at debug level, so that
// tests can check that no secret ever reaches a log line.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testExporter runs an exporter with the given configuration behind an
// httptest server.
type testExporter struct {
	t       *testing.T
	exp     *Exporter
	srv     *httptest.Server
	reg     *prometheus.Registry
	logs    *logBuffer
	cfgPath string
}

func newTestExporter(t *testing.T, cfg string, now func() time.Time) *testExporter {
	t.Helper()
	te := &testExporter{t: t, logs: &logBuffer{}, reg: prometheus.NewRegistry()}
	te.cfgPath = filepath.Join(t.TempDir(), "proxmox_backup_exporter.yml")
	te.writeConfig(cfg)
	logger := slog.New(slog.NewTextHandler(te.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	exp, err := New(Options{ConfigFile: te.cfgPath, Logger: logger, TimeoutOffset: 500 * time.Millisecond, Registry: te.reg, Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	te.exp = exp
	te.srv = httptest.NewServer(exp.Handler(promhttp.HandlerFor(te.reg, promhttp.HandlerOpts{})))
	t.Cleanup(te.srv.Close)
	return te
}

func (te *testExporter) writeConfig(cfg string) {
	te.t.Helper()
	if err := os.WriteFile(te.cfgPath, []byte(cfg), 0o600); err != nil {
		te.t.Fatal(err)
	}
}

// get fetches a path and returns status and body.
func (te *testExporter) get(path string, header ...string) (int, string) {
	te.t.Helper()
	return te.do(http.MethodGet, path, header...)
}

func (te *testExporter) do(method, path string, header ...string) (int, string) {
	te.t.Helper()
	req, err := http.NewRequest(method, te.srv.URL+path, nil)
	if err != nil {
		te.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		te.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// closedURL is an address where nothing listens.
func closedURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

const testSecret = "d4c3b2a1-0f9e-8d7c-6b5a-493827160514"

func pveTargetConfig(name, url string) string {
	return fmt.Sprintf("  %s:\n    type: pve\n    url: %s\n    token_id: monitor@pve!exporter\n    token_secret: %s\n    timeout: 5s\n", name, url, testSecret)
}

func TestProbeParameters(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("down", closedURL(t)), nil)
	for _, tc := range []struct {
		path   string
		header []string
		status int
		body   string
	}{
		{"/probe", nil, 400, "missing target parameter"},
		{"/probe?target=", nil, 400, "missing target parameter"},
		{"/probe?target=nope", nil, 400, `unknown target "nope"`},
		{"/probe?target=down&target=down", nil, 400, "more than one target parameter"},
		{"/probe?target=" + strings.Repeat("x", 500), nil, 400, `unknown target "xxxxxxxx`},
		{"/probe?target=down", []string{"X-Prometheus-Scrape-Timeout-Seconds", "soon"}, 400, "bad X-Prometheus-Scrape-Timeout-Seconds"},
		{"/probe?target=down", []string{"X-Prometheus-Scrape-Timeout-Seconds", "-3"}, 400, "bad X-Prometheus-Scrape-Timeout-Seconds"},
	} {
		status, body := te.get(tc.path, tc.header...)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %.60s: %d %q, want %d containing %q", tc.path, status, body, tc.status, tc.body)
		}
		if tc.status == 400 && (strings.Count(strings.TrimSpace(body), "\n") != 0 || len(body) > 300) {
			t.Errorf("GET %.60s: the reason must be one short line, got %q", tc.path, body)
		}
	}
	if status, _ := te.do(http.MethodPost, "/probe?target=down"); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /probe = %d, want 405", status)
	}
}

func TestTargetDown(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("down", closedURL(t)), nil)
	start := time.Now()
	status, body := te.get("/probe?target=down", "X-Prometheus-Scrape-Timeout-Seconds", "10")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("probe of a refused connection took %v", took)
	}
	if status != 200 {
		t.Fatalf("status %d, want 200", status)
	}
	for _, want := range []string{"proxmox_backup_up 0", `proxmox_backup_collector_success{collector="version"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "proxmox_backup_target_info") {
		t.Errorf("a down target must not export target_info")
	}
	if got := testutil.ToFloat64(te.exp.probes.WithLabelValues("down", "failure")); got != 1 {
		t.Errorf("probes_total{outcome=failure} = %v", got)
	}
	if !strings.Contains(te.logs.String(), "connection refused") {
		t.Errorf("the log does not say why the target is down:\n%s", te.logs)
	}
}

func TestConfigPageAndReload(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("one", closedURL(t)), nil)
	status, body := te.get("/config")
	if status != 200 || !strings.Contains(body, "token_secret: <secret>") || !strings.Contains(body, "one:") {
		t.Fatalf("/config: %d\n%s", status, body)
	}
	if strings.Contains(body, testSecret) {
		t.Fatal("/config shows the secret")
	}

	// A good reload swaps the configuration in.
	te.writeConfig("targets:\n" + pveTargetConfig("two", closedURL(t)))
	if status, body := te.do(http.MethodPost, "/-/reload"); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	if status, _ := te.get("/probe?target=two"); status != 200 {
		t.Errorf("new target after reload: %d", status)
	}
	if status, _ := te.get("/probe?target=one"); status != 400 {
		t.Errorf("removed target after reload: %d, want 400", status)
	}
	if got := testutil.ToFloat64(te.exp.reloadSuccess); got != 1 {
		t.Errorf("config_last_reload_successful = %v after a good reload", got)
	}

	// A bad reload keeps the old configuration and says why.
	te.writeConfig("targets:\n  two:\n    type: pve\n    url: https://h\n    token_id: x@pve!y\n    token_secret: " + testSecret + "\n    bogus: 1\n")
	status, body = te.do(http.MethodPost, "/-/reload")
	if status != 500 || !strings.Contains(body, `unknown key "bogus"`) {
		t.Errorf("bad reload: %d %q", status, body)
	}
	if strings.Contains(body, testSecret) || strings.Contains(te.logs.String(), testSecret) {
		t.Error("a failed reload leaks the secret")
	}
	if got := testutil.ToFloat64(te.exp.reloadSuccess); got != 0 {
		t.Errorf("config_last_reload_successful = %v after a bad reload", got)
	}
	if status, _ := te.get("/probe?target=two"); status != 200 {
		t.Errorf("old target after failed reload: %d, want 200", status)
	}
	if status, _ := te.get("/-/reload"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload = %d, want 405", status)
	}
}

func TestLandingHealthAndMetrics(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("cluster-a", closedURL(t)), nil)
	status, body := te.get("/")
	if status != 200 || !strings.Contains(body, `href="/probe?target=cluster-a"`) || !strings.Contains(body, `href="/metrics"`) {
		t.Errorf("landing page: %d\n%s", status, body)
	}
	if status, _ := te.get("/nope"); status != 404 {
		t.Errorf("unknown path: %d", status)
	}
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		if status, _ := te.get(p); status != 200 {
			t.Errorf("%s: %d", p, status)
		}
	}
	te.get("/probe?target=cluster-a")
	_, body = te.get("/metrics")
	for _, want := range []string{
		"proxmox_backup_exporter_config_last_reload_successful 1",
		`proxmox_backup_exporter_probes_total{outcome="failure",target="cluster-a"} 1`,
		`proxmox_backup_exporter_probe_duration_seconds_count{target="cluster-a"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "proxmox_backup_up") {
		t.Error("/metrics must not carry probe metrics")
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
