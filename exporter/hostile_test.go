package exporter

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/collector"
	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/simulator"
)

func TestScrapeTimeout(t *testing.T) {
	const offset = 500 * time.Millisecond
	capped := config.MaxTimeout - offset
	for _, tc := range []struct {
		header []string
		want   time.Duration // -1: a bad request
	}{
		{nil, 0},
		{[]string{"10"}, 9500 * time.Millisecond},
		{[]string{" 10 "}, 9500 * time.Millisecond},
		{[]string{"2.5"}, 2 * time.Second},
		{[]string{"1"}, 500 * time.Millisecond},
		{[]string{"0.5"}, 250 * time.Millisecond}, // the offset may take half at most
		{[]string{"0.000001"}, minDeadline},       // tiny: the shortest deadline
		{[]string{"1e-300"}, minDeadline},
		{[]string{"1e-400"}, minDeadline}, // underflows to 0, but was positive
		{[]string{"86400"}, capped},       // the target's timeout is shorter still
		{[]string{"1e300"}, capped},
		{[]string{"1e400"}, capped},
		{[]string{"Inf"}, capped},
		{[]string{"+Inf"}, capped},
		{[]string{"NaN"}, -1},
		{[]string{"-Inf"}, -1},
		{[]string{"-3"}, -1},
		{[]string{"-1e-400"}, -1},
		{[]string{"0"}, -1},
		{[]string{"-0"}, -1},
		{[]string{"0.000"}, -1},
		{[]string{"0x0p-3"}, -1},
		{[]string{"0x1p-2000"}, minDeadline},
		{[]string{"soon"}, -1},
		{[]string{"10s"}, -1},
		{[]string{""}, -1},
		{[]string{"10", "20"}, -1},
	} {
		r := httptest.NewRequest("GET", "/probe", nil)
		for _, h := range tc.header {
			r.Header.Add("X-Prometheus-Scrape-Timeout-Seconds", h)
		}
		got, err := scrapeTimeout(r, offset)
		if tc.want < 0 {
			if err == nil || !strings.Contains(err.Error(), "bad X-Prometheus-Scrape-Timeout-Seconds") {
				t.Errorf("header %q: %v, %v; want a bad request", tc.header, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("header %q: %v, %v; want %v", tc.header, got, err, tc.want)
		}
	}
}

// A longer scrape timeout never gives a shorter deadline, across the whole
// range and densely around the offset.
func TestScrapeTimeoutMonotonic(t *testing.T) {
	var values []float64
	for e := -12.0; e <= 7; e += 0.05 {
		values = append(values, math.Pow(10, e))
	}
	for v := 0.0; v <= 3; v += 0.001 {
		if v > 0 {
			values = append(values, v)
		}
	}
	for _, offset := range []time.Duration{0, 500 * time.Millisecond, 5 * time.Second} {
		prevV, prev := 0.0, time.Duration(0)
		for _, v := range values {
			if v < prevV {
				prevV, prev = 0, 0 // the dense run starts again
			}
			r := httptest.NewRequest("GET", "/probe", nil)
			r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(v, 'g', -1, 64))
			d, err := scrapeTimeout(r, offset)
			if err != nil || d <= 0 {
				t.Fatalf("offset %v, header %g: %v, %v", offset, v, d, err)
			}
			if d < prev {
				t.Fatalf("offset %v: header %g gives %v, less than %v for %g", offset, v, d, prev, prevV)
			}
			if d > time.Duration(v*float64(time.Second)) && d > minDeadline {
				t.Fatalf("offset %v: header %g gives %v, more than Prometheus waits", offset, v, d)
			}
			prevV, prev = v, d
		}
	}
}

// stallUpstream answers the given API paths by never answering, ignoring
// the request's cancellation, until the test ends. dribble sends the
// headers and then a byte at a time instead.
func stallUpstream(t *testing.T, h http.Handler, dribble bool, paths ...string) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range paths {
			if !strings.HasPrefix(r.URL.Path, "/api2/json"+p) {
				continue
			}
			if !dribble {
				<-release
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":[`)
			for {
				w.(http.Flusher).Flush()
				select {
				case <-release:
					return
				case <-time.After(50 * time.Millisecond):
				}
				_, _ = w.Write([]byte(" "))
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets srv.Close finish
	return srv.URL
}

func TestProbeDeadlines(t *testing.T) {
	pve := func() http.Handler {
		p := simulator.PVETestScenario(goldenNow)
		p.Nodes[2].Offline = false
		return p.Handler()
	}
	cfg := func(url string) string {
		return fmt.Sprintf("targets:\n  t:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n    timeout: 3s\n", url, simulator.TestPVETokenID, simulator.TestPVETokenSecret)
	}
	for _, tc := range []struct {
		name    string
		url     string
		header  string
		atLeast time.Duration
		atMost  time.Duration
		want    []string
	}{
		{"tiny header, stalled version", stallUpstream(t, pve(), false, "/version"), "1e-10", 0, 2 * time.Second, []string{"proxmox_backup_up 0"}},
		{"header above the target timeout", stallUpstream(t, pve(), false, "/version"), "600", 2500 * time.Millisecond, 6 * time.Second, []string{"proxmox_backup_up 0"}},
		{"Inf header", stallUpstream(t, pve(), false, "/version"), "+Inf", 2500 * time.Millisecond, 6 * time.Second, []string{"proxmox_backup_up 0"}},
		{"upstream ignores cancellation", stallUpstream(t, pve(), false, "/cluster/resources"), "1.5", 900 * time.Millisecond, 4 * time.Second,
			[]string{"proxmox_backup_up 1", `proxmox_backup_collector_success{collector="guests"} 0`, `proxmox_backup_collector_success{collector="storage"} 1`}},
		{"upstream dribbles its body", stallUpstream(t, pve(), true, "/cluster/resources"), "1.5", 900 * time.Millisecond, 4 * time.Second,
			[]string{"proxmox_backup_up 1", `proxmox_backup_collector_success{collector="guests"} 0`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTestExporter(t, cfg(tc.url), func() time.Time { return goldenNow })
			start := time.Now()
			status, body := te.get("/probe?target=t", "X-Prometheus-Scrape-Timeout-Seconds", tc.header)
			took := time.Since(start)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if took < tc.atLeast || took > tc.atMost {
				t.Errorf("took %v, want %v to %v", took, tc.atLeast, tc.atMost)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
		})
	}
}

// A collector that never returns, not even at the deadline, is given up
// probeGrace later and reported as failed.
func TestCollectorThatNeverReturns(t *testing.T) {
	release := make(chan struct{})
	probeFunc = func(context.Context, *config.Target, *proxmox.Session, collector.Options) *collector.Result {
		<-release // ignores its context
		return &collector.Result{Up: true}
	}
	t.Cleanup(func() { close(release); probeFunc = collector.Probe })

	te := newTestExporter(t, "targets:\n"+pveTargetConfig("stuck", closedURL(t)), nil)
	start := time.Now()
	status, body := te.get("/probe?target=stuck", "X-Prometheus-Scrape-Timeout-Seconds", "1")
	took := time.Since(start)
	if status != 200 || !strings.Contains(body, "proxmox_backup_up 0") || !strings.Contains(body, `proxmox_backup_collector_success{collector="version"} 0`) {
		t.Fatalf("%d\n%s", status, body)
	}
	if want := 500*time.Millisecond + probeGrace; took < want || took > want+3*time.Second {
		t.Errorf("took %v, want about %v", took, want)
	}
	if !strings.Contains(te.logs.String(), "did not end within") {
		t.Errorf("the log does not say the probe was given up:\n%s", te.logs)
	}
}

// A missing secret file or CA file fails only its own target: the exporter
// starts and reloads, the other targets are probed, and the failing one
// says why in the log, naming target, field and path.
func TestMissingFilesFailOnlyTheirTarget(t *testing.T) {
	dir := t.TempDir()
	goodCfg, _, _ := simulators(t)
	secretFile := filepath.Join(dir, "gone.secret")
	caFile := filepath.Join(dir, "gone-ca.pem")
	cfg := goodCfg +
		fmt.Sprintf("  nosecret:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret_file: %s\n", closedURL(t), simulator.TestPVETokenID, secretFile) +
		fmt.Sprintf("  noca:\n    type: pve\n    url: https://127.0.0.1:1\n    token_id: %q\n    token_secret: x\n    tls_config:\n      ca_file: %s\n", simulator.TestPVETokenID, caFile)

	path := filepath.Join(dir, "exporter.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	warnings, err := CheckConfig(path)
	if err != nil || len(warnings) != 2 {
		t.Fatalf("CheckConfig = %v, %v; want two warnings and no error", warnings, err)
	}

	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	for _, tc := range []struct{ target, log string }{
		{"nosecret", `target \"nosecret\": token_secret_file \"` + secretFile + `\": cannot read: no such file or directory`},
		{"noca", caFile},
	} {
		status, body := te.get("/probe?target=" + tc.target)
		if status != 200 || !strings.Contains(body, "proxmox_backup_up 0") {
			t.Errorf("%s: %d\n%s", tc.target, status, body)
		}
		if !strings.Contains(te.logs.String(), tc.log) {
			t.Errorf("%s: the log lacks %q:\n%s", tc.target, tc.log, te.logs)
		}
	}
	if status, body := te.get("/probe?target=cluster"); status != 200 || !strings.Contains(body, "proxmox_backup_up 1") {
		t.Errorf("the healthy target: %d", status)
	}
	if status, body := te.do(http.MethodPost, "/-/reload"); status != 200 {
		t.Errorf("reload with the files still missing: %d %s", status, body)
	}

	// Once the secret file appears, the target recovers without a reload.
	if err := os.WriteFile(secretFile, []byte(simulator.TestPVETokenSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(te.logs.String())
	te.get("/probe?target=nosecret")
	if logs := te.logs.String()[before:]; strings.Contains(logs, "cannot read") || !strings.Contains(logs, "connection refused") {
		t.Errorf("the secret file is there now; the probe logged:\n%s", logs)
	}
}

// Every configuration the parser accepts builds its clients without a
// panic.
func FuzzConfigClients(f *testing.F) {
	for _, s := range []string{
		"targets:\n  t1:\n    type: pbs\n    url: https://pbs:8007\n    token_id: m@pbs!e\n    token_secret: x\n    concurrency: 64\n",
		"targets:\n  t1:\n    type: pve\n    url: http://[::1]:8006\n    token_id: m@pve!e\n    token_secret: x\n    timeout: 10m\n    proxy_url: socks5://p:1080\n",
		"targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n    tls_config:\n      ca_file: /nonexistent\n      min_version: TLS13\n",
		"targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n    proxy_from_environment: true\n    proxy_connect_header: {a: [b]}\n",
		"targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n    concurrency: 9999999999999999\n",
		"targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n    fingerprint: \"" + strings.Repeat("AB", 32) + "\"\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data)
		if err != nil {
			return
		}
		for _, name := range cfg.TargetNames() {
			tg := cfg.Targets[name]
			c, err := proxmox.New(tg)
			if err == nil {
				c.Session("x")
			}
		}
		// And the load path the exporter uses.
		p := filepath.Join(dir, "fuzz.yml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckConfig(p); err != nil {
			t.Fatalf("Parse accepted what a load refuses: %v", err)
		}
	})
}
