package exporter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// serveReal runs the exporter's own server (Server) on a real socket with
// short timeouts. metrics serves /metrics.
func serveReal(t *testing.T, cfg string, metrics http.Handler, timeouts ServerTimeouts) (*testExporter, string) {
	t.Helper()
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	srv := te.exp.Server(metrics, timeouts)
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	return te, ln.Addr().String()
}

var shortTimeouts = ServerTimeouts{ReadHeader: 300 * time.Millisecond, Idle: 300 * time.Millisecond, WriteMargin: 500 * time.Millisecond}

// closedWithin reads from conn until the server closes it and returns how
// long that took from start, or fails after limit.
func closedWithin(t *testing.T, conn net.Conn, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
	return time.Since(start)
}

func TestServerDropsSlowlorisHeaders(t *testing.T) {
	_, addr := serveReal(t, "targets:\n"+pveTargetConfig("t", closedURL(t)), http.NotFoundHandler(), shortTimeouts)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	go func() {
		_, _ = io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n")
		for i := 0; i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
			if _, err := fmt.Fprintf(conn, "X-Slow-%d: y\r\n", i); err != nil {
				return
			}
		}
	}()
	took := closedWithin(t, conn, start, 5*time.Second)
	if took < shortTimeouts.ReadHeader-50*time.Millisecond {
		t.Errorf("closed after %v, before the %v header timeout", took, shortTimeouts.ReadHeader)
	}
	t.Logf("a header sent a line every 50ms was cut off after %v", took)
}

func TestServerClosesIdleKeepAlive(t *testing.T) {
	_, addr := serveReal(t, "targets:\n"+pveTargetConfig("t", closedURL(t)), http.NotFoundHandler(), shortTimeouts)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(5 * time.Second))
	_, err = br.ReadByte()
	took := time.Since(start)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v after %v, want EOF", err, took)
	}
	if took < shortTimeouts.Idle-50*time.Millisecond {
		t.Errorf("closed after %v, before the %v idle timeout", took, shortTimeouts.Idle)
	}
}

// A client that never reads its response is dropped at the write deadline:
// the largest target timeout (1s) plus the margin.
func TestServerDropsNonReadingClient(t *testing.T) {
	var wrote atomic.Int64
	writeErr := make(chan time.Time, 1)
	huge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range 1024 { // 64 MiB, far more than the socket buffers hold
			n, err := w.Write(chunk)
			wrote.Add(int64(n))
			if err != nil {
				writeErr <- time.Now()
				return
			}
		}
	})
	cfg := "targets:\n  t:\n    type: pve\n    url: " + closedURL(t) + "\n    token_id: m@pve!e\n    token_secret: x\n    timeout: 1s\n"
	_, addr := serveReal(t, cfg, huge, shortTimeouts)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	limit := time.Second + shortTimeouts.WriteMargin
	select {
	case at := <-writeErr:
		if took := at.Sub(start); took < limit-100*time.Millisecond || took > limit+3*time.Second {
			t.Errorf("the write failed after %v, want about %v", took, limit)
		}
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("the server still writes to a client that does not read, %d bytes so far", wrote.Load())
	}
	// What the client can still read ends: the connection is closed.
	n, _ := io.Copy(io.Discard, conn)
	if n >= 64<<20 {
		t.Errorf("read all %d bytes", n)
	}
	t.Logf("dropped after %d bytes", wrote.Load())
}

// Server timeouts do not cut a probe short: a probe that lasts longer
// than the header and idle timeouts gets its full answer, ended by its own
// deadline rather than by a cancelled request.
func TestServerTimeoutsSpareLongProbes(t *testing.T) {
	p := simulator.PVETestScenario(goldenNow)
	url := stallUpstream(t, p.Handler(), false, "/version")
	cfg := fmt.Sprintf("targets:\n  t:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n    timeout: 1s\n", url, simulator.TestPVETokenID, simulator.TestPVETokenSecret)
	te, addr := serveReal(t, cfg, http.NotFoundHandler(), shortTimeouts)
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/probe?target=t")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != 200 || took < 900*time.Millisecond || !strings.Contains(string(body), "proxmox_backup_up 0") {
		t.Fatalf("%d after %v:\n%s", resp.StatusCode, took, body)
	}
	if logs := te.logs.String(); !strings.Contains(logs, "deadline exceeded") || strings.Contains(logs, "context canceled") {
		t.Errorf("the probe did not end by its deadline:\n%s", logs)
	}
}

// A request body that never arrives in full cannot hold the connection
// once the response is sent.
func TestServerClosesAfterUnreadBody(t *testing.T) {
	_, addr := serveReal(t, "targets:\n"+pveTargetConfig("t", closedURL(t)), http.NotFoundHandler(), shortTimeouts)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nfirst bytes"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("status %d, close %v: want 200 and Connection: close", resp.StatusCode, resp.Close)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(3 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("after the response: %v, want EOF", err)
	}
}

// Only GET and HEAD reach the read-only endpoints; each other method gets
// 405 with an Allow header. /-/reload takes POST.
func TestMethods(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("t", closedURL(t)), nil)
	paths := []string{"/", "/metrics", "/probe?target=t", "/status", "/status.json", "/config", "/static/status.css", "/-/healthy", "/-/ready", "/nope"}
	for _, path := range paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
			req, _ := http.NewRequest(m, te.srv.URL+path, strings.NewReader("x=1"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, Allow %q; want 405 and GET, HEAD", m, path, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
		if status, _ := te.do(http.MethodHead, path); status == http.StatusMethodNotAllowed {
			t.Errorf("HEAD %s: 405", path)
		}
	}
	if status, body := te.do(http.MethodPost, "/-/reload"); status != 200 {
		t.Errorf("POST /-/reload: %d %s", status, body)
	}
	if status, _ := te.get("/-/reload"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d, want 405", status)
	}
}

func TestStaticFilesWithoutListing(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("t", closedURL(t)), nil)
	if status, body := te.get("/static/status.css"); status != 200 || body == "" {
		t.Errorf("/static/status.css: %d", status)
	}
	for _, p := range []string{"/static/", "/static", "/static/.", "/static/%2e/", "/static/../static/", "/static/nope.css"} {
		status, body := te.get(p)
		if status == 200 || strings.Contains(body, "status.css") {
			t.Errorf("GET %s: %d\n%s", p, status, body)
		}
	}
}
