package exporter

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
)

const examplePassword = testtools.ExamplePassword

// TestWebConfig serves the exporter through exporter-toolkit with the
// example web config (its certificate paths pointed at a test certificate):
// every endpoint needs TLS and the right password, and carries the
// security headers.
func TestWebConfig(t *testing.T) {
	dir := t.TempDir()
	webConfig, leaf := testtools.WebConfig(t, dir)

	cfg, _, _ := simulators(t)
	secretFile := filepath.Join(dir, "pve.secret")
	if err := os.WriteFile(secretFile, []byte(simulator.TestPVETokenSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = strings.Replace(cfg, "token_secret: \""+simulator.TestPVETokenSecret+"\"", "token_secret_file: "+secretFile, 1)
	cfgPath := filepath.Join(dir, "exporter.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	exp, err := New(Options{ConfigFile: cfgPath, Registry: reg, Now: func() time.Time { return goldenNow }})
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := &http.Server{Handler: exp.Handler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{addr}, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}
	done := make(chan error, 1)
	go func() { done <- web.ListenAndServe(srv, flags, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})

	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 20 * time.Second}
	get := func(scheme, path, user, pass string) (*http.Response, string, error) {
		req, _ := http.NewRequest("GET", scheme+"://"+addr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	for i := 0; ; i++ {
		if _, _, err := get("https", "/-/healthy", "", ""); err == nil {
			break
		}
		if i > 100 {
			t.Fatal("the server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Go's TLS server answers a plain HTTP request with a bare 400.
	if resp, body, err := get("http", "/metrics", "prometheus", examplePassword); err == nil && (resp.StatusCode != 400 || strings.Contains(body, "proxmox_backup")) {
		t.Errorf("plain HTTP was served: %d", resp.StatusCode)
	}
	for _, path := range []string{"/", "/metrics", "/probe?target=cluster", "/status", "/status.json", "/config", "/-/healthy", "/static/status.css"} {
		if resp, _, err := get("https", path, "", ""); err != nil || resp.StatusCode != 401 {
			t.Errorf("%s without credentials: %v %v, want 401", path, status(resp), err)
		}
		if resp, _, err := get("https", path, "prometheus", "wrong"); err != nil || resp.StatusCode != 401 {
			t.Errorf("%s with a wrong password: %v %v, want 401", path, status(resp), err)
		}
		resp, body, err := get("https", path, "prometheus", examplePassword)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s with the password: %v %v, want 200", path, status(resp), err)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Strict-Transport-Security", "Referrer-Policy"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s lacks the %s header", path, h)
			}
		}
		if strings.Contains(body, simulator.TestPVETokenSecret) || strings.Contains(body, simulator.TestPBSTokenSecret) {
			t.Errorf("%s shows a token secret", path)
		}
		if strings.HasPrefix(path, "/status") && strings.Contains(body, secretFile) {
			t.Errorf("%s shows the secret file's path", path)
		}
	}
}

func status(resp *http.Response) any {
	if resp == nil {
		return nil
	}
	return resp.StatusCode
}

// The demo scenario's hostile guest name and HTML comment are escaped on
// the status page.
func TestStatusPageEscapes(t *testing.T) {
	pve, pbs := simulator.DemoScenario(time.Now())
	pveSrv := httptestServer(t, pve.Handler())
	pbsSrv := httptestServer(t, pbs.Handler())
	cfg := "targets:\n" +
		"  demo-pve:\n    type: pve\n    url: " + pveSrv + "\n    token_id: \"" + simulator.TestPVETokenID + "\"\n    token_secret: \"" + simulator.TestPVETokenSecret + "\"\n" +
		"  demo-pbs:\n    type: pbs\n    url: " + pbsSrv + "\n    token_id: \"" + simulator.TestPBSTokenID + "\"\n    token_secret: \"" + simulator.TestPBSTokenSecret + "\"\n"
	te := newTestExporter(t, cfg, nil)
	_, body := te.get("/status")
	if strings.Contains(body, "<script>alert(1)</script>") || strings.Contains(body, "<b>bold</b>") {
		t.Fatal("the status page renders a guest name or comment as HTML")
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;bold&lt;/b&gt; host backup"} {
		if !strings.Contains(body, want) {
			t.Errorf("the status page lacks the escaped %q", want)
		}
	}
}

// A failed login takes as long for an unknown user name as for a known one
// with a wrong password: exporter-toolkit checks unknown names against a
// hash of its own, and the example's hashes have the same bcrypt cost.
func TestBasicAuthTiming(t *testing.T) {
	dir := t.TempDir()
	webConfig, leaf := testtools.WebConfig(t, dir)
	cfgPath := filepath.Join(dir, "exporter.yml")
	if err := os.WriteFile(cfgPath, []byte("targets:\n"+pveTargetConfig("t", closedURL(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	exp, err := New(Options{ConfigFile: cfgPath, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := exp.Server(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), DefaultServerTimeouts)
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &[]string{addr}, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}
	done := make(chan error, 1)
	go func() { done <- web.Serve(ln, srv, flags, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})

	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 20 * time.Second}
	login := func(user, pass string) time.Duration {
		req, _ := http.NewRequest("GET", "https://"+addr+"/-/healthy", nil)
		req.SetBasicAuth(user, pass)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", user, resp.StatusCode)
		}
		return took
	}
	login("warm-up", "x") // the TLS handshake
	const n = 9
	var known, unknown []time.Duration
	for i := range n {
		// A fresh password each time: the toolkit caches each result.
		known = append(known, login("prometheus", fmt.Sprintf("wrong-%d", i)))
		unknown = append(unknown, login(fmt.Sprintf("nobody-%d", i), fmt.Sprintf("wrong-%d", i)))
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	k, u := median(known), median(unknown)
	ratio := float64(k) / float64(u)
	t.Logf("median failed login: known user %v, unknown user %v, ratio %.2f", k, u, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("a failed login for a known user takes %.2f times as long as for an unknown one: the timing tells which user names exist", ratio)
	}
}
