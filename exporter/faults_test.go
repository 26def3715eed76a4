package exporter

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// TestFaults probes a healthy simulated cluster with one fault injected at
// a time. Each probe must answer 200 within its deadline, mark up or the
// affected collector 0, keep the other collectors' metrics, log the target
// and endpoint, leak no goroutine and show no secret.
func TestFaults(t *testing.T) {
	trapSrv, trapHits := trap(t)
	for _, tc := range []struct {
		fault    string
		failed   string // collector that must report 0 ("up": the target is down)
		healthy  string // a metric of an unaffected collector
		logWants string
	}{
		{"pve:/cluster/backup=latency:30s", "jobs", `proxmox_backup_guest_info{`, "GET /cluster/backup: context deadline exceeded"},
		{"pve:/cluster/resources=status:500", "guests", `proxmox_backup_storage_backups{node="",storage="pbs"} 9`, "GET /cluster/resources?type=vm: HTTP 500"},
		{"pve:/version=status:401", "up", "", "HTTP 401"},
		{"pve:/cluster/backup=status:403", "jobs", `proxmox_backup_guest_backups{vmid="100"}`, "Sys.Audit"},
		{"pve:/nodes/pve2/storage=reset", "storage", `proxmox_backup_pve_job_enabled{job_id="backup-all"} 1`, "GET /nodes/pve2/storage?content=backup"},
		{"pve:/cluster/resources=truncate", "guests", `proxmox_backup_pve_job_enabled{job_id="backup-all"} 1`, "GET /cluster/resources?type=vm"},
		{"pve:/cluster/backup=malformed", "jobs", `proxmox_backup_guest_info{`, "bad response body"},
		{"pve:/cluster/resources=slowbody", "guests", `proxmox_backup_pve_job_enabled{job_id="backup-all"} 1`, "GET /cluster/resources?type=vm"},
		{"pve:/version=redirect:" + trapSrv.URL, "up", "", "HTTP 302"},
		{"pve:/nodes/pve1/tasks=status:500", "tasks", `proxmox_backup_guest_covered{vmid="100"} 1`, "GET /nodes/pve1/tasks"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			before := runtime.NumGoroutine()
			faults, err := simulator.ParseFaults([]string{tc.fault})
			if err != nil {
				t.Fatal(err)
			}
			p := simulator.PVETestScenario(goldenNow)
			p.Nodes[2].Offline = false
			srv := httptest.NewServer(simulator.WithFaults("pve", faults, p.Handler()))
			cfg := fmt.Sprintf("targets:\n  faulty:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret)
			te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

			start := time.Now()
			status, body := te.get("/probe?target=faulty", "X-Prometheus-Scrape-Timeout-Seconds", "2.5")
			if took := time.Since(start); took > 6*time.Second {
				t.Errorf("took %v for a 2s deadline", took)
			}
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if tc.failed == "up" {
				if !strings.Contains(body, "proxmox_backup_up 0") {
					t.Errorf("want up 0:\n%s", body)
				}
			} else {
				for _, want := range []string{"proxmox_backup_up 1", fmt.Sprintf(`proxmox_backup_collector_success{collector=%q} 0`, tc.failed), tc.healthy} {
					if !strings.Contains(body, want) {
						t.Errorf("body lacks %q", want)
					}
				}
			}
			logs := te.logs.String()
			if !strings.Contains(logs, `target=faulty`) || !strings.Contains(logs, tc.logWants) {
				t.Errorf("the log does not name the target and %q:\n%s", tc.logWants, logs)
			}
			if strings.Contains(logs+body, simulator.TestPVETokenSecret) {
				t.Error("a secret leaked")
			}
			srv.CloseClientConnections()
			srv.Close()
			te.srv.Close()
			waitGoroutines(t, before)
		})
	}
	if n := trapHits.Load(); n != 0 {
		t.Errorf("a redirect was followed %d times", n)
	}
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+3 {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// An expired certificate fails the CA check; the target is down and the log
// says why.
func TestExpiredCertificate(t *testing.T) {
	cert, err := simulator.SelfSignedCert(goldenNow.AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(simulator.PVETestScenario(goldenNow).Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("targets:\n  expired:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n    tls_config:\n      ca_file: %s\n", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, ca)
	te := newTestExporter(t, cfg, nil)
	status, body := te.get("/probe?target=expired")
	if status != 200 || !strings.Contains(body, "proxmox_backup_up 0") {
		t.Fatalf("%d\n%s", status, body)
	}
	if !strings.Contains(te.logs.String(), "expired") {
		t.Errorf("the log does not say the certificate expired:\n%s", te.logs)
	}
}

// Fifty concurrent scrapes of the same and of different targets all succeed
// and agree (run under the race detector in CI).
func TestConcurrentScrapes(t *testing.T) {
	cfg, _, _ := simulators(t)
	// Fifty probes at once under the race detector can take longer than the
	// default 30s timeout on a busy machine; this test is about agreement,
	// not speed.
	cfg = strings.ReplaceAll(cfg, "    token_secret:", "    timeout: 5m\n    token_secret:")
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	var wg sync.WaitGroup
	results := make([]string, 50)
	errs := make(chan error, 50)
	for i := range 50 {
		target := []string{"cluster", "backup"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(te.srv.URL + "/probe?target=" + target)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var b strings.Builder
			if _, err := fmt.Fprint(&b, readAll(resp)); err != nil || resp.StatusCode != 200 {
				errs <- fmt.Errorf("%s: %d %v", target, resp.StatusCode, err)
				return
			}
			results[i] = normalize(b.String())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := 2; i < 50; i++ {
		if results[i] != results[i%2] {
			t.Fatalf("scrape %d differs from scrape %d of the same target:\n%s", i, i%2, lineDiff(results[i%2], results[i]))
		}
	}
	if !strings.Contains(results[0], "proxmox_backup_up 1") || !strings.Contains(results[1], "proxmox_backup_up 1") {
		t.Error("targets not up")
	}
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
