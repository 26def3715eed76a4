// Package hostile_test runs the real exporter binary against a broken or
// hostile Proxmox server: endless strings and arrays, oversized keys,
// decompression bombs, a 401 that echoes the token, impossible and future
// dates, stalls. For each case it measures the exporter's peak resident
// memory (VmHWM) and the probe's time, and checks that a healthy target
// probed at the same time still answers in full. SECURITY.md records the
// figures.
package hostile_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
)

const (
	// The ceiling on the exporter's peak resident memory in every case.
	rssCeiling = 256 << 20
	// The scrape timeout sent with each probe; the exporter subtracts its
	// 0.5s offset.
	scrapeTimeout = 4 * time.Second
	// The scrape timeout of the cases that must end by a bound.
	longTimeout = 20 * time.Second
	// Time a probe may take past its deadline on a loaded machine.
	slack = 2 * time.Second
	// The small response bound of the targets that test it.
	smallBound = 16 << 20
)

var now = time.Now().Truncate(time.Second)

// The hostile server is a minimal PBS: one datastore "s" whose snapshot
// listing is the attack, unless the case attacks /version.
type hostileCase struct {
	name string
	// maxBytes sets the target's max_response_bytes (0: the default).
	maxBytes int
	// long gives the probe a long deadline: the case must end by its
	// bound, not by the deadline, even on a loaded machine.
	long bool
	// version, when set, answers /version; snapshots answers the listing.
	version   http.HandlerFunc
	snapshots http.HandlerFunc
	// What /probe must show, and what the exporter's log must say.
	metrics []string
	logs    []string
	// pages: /status and /status.json of the target must answer 200,
	// valid, without the secret.
	pages bool
}

func (c *hostileCase) timeout() time.Duration {
	if c.long {
		return longTimeout
	}
	return scrapeTimeout
}

func jsonHeader(w http.ResponseWriter) { w.Header().Set("Content-Type", "application/json") }

// forever writes prefix, then unit until the client goes away.
func forever(prefix string, unit func(i int) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jsonHeader(w)
		io.WriteString(w, prefix)
		var buf bytes.Buffer
		for i := 0; ; {
			buf.Reset()
			for buf.Len() < 256<<10 {
				buf.WriteString(unit(i))
				i++
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
		}
	}
}

func same(s string) func(int) string { return func(int) string { return s } }

// compressed serves a body compressed once, ahead of time: a bomb.
func compressed(encoding string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jsonHeader(w)
		w.Header().Set("Content-Encoding", encoding)
		w.Write(body)
	}
}

// bomb is a compressed body of prefix followed by unit repeated to about
// size bytes. Compressing a gigabyte takes seconds, so it compresses one
// megabyte of units once and repeats that segment of the stream: the input
// is periodic, so the segment's back-references (at most 32 KiB back) find
// the same bytes at every repetition. The stream has no trailer: nothing
// reads that far.
func bomb(t *testing.T, encoding, prefix, unit string, size int) []byte {
	t.Helper()
	type flusher interface {
		io.Writer
		Flush() error
	}
	var out bytes.Buffer
	var zw flusher
	if encoding == "gzip" {
		zw, _ = gzip.NewWriterLevel(&out, gzip.BestCompression)
	} else {
		zw, _ = zlib.NewWriterLevel(&out, zlib.BestCompression)
	}
	chunk := strings.Repeat(unit, 1<<20/len(unit))
	io.WriteString(zw, prefix+chunk)
	zw.Flush()
	head := out.Len()
	io.WriteString(zw, chunk)
	zw.Flush()
	segment := append([]byte(nil), out.Bytes()[head:]...)
	for n := 2 * len(chunk); n < size; n += len(chunk) {
		out.Write(segment)
	}
	return out.Bytes()
}

func snapshot(id string, t int64) string {
	return fmt.Sprintf(`{"backup-type":"vm","backup-id":%q,"backup-time":%d,"size":1073741824,"files":[]}`, id, t)
}

func listing(items ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		jsonHeader(w)
		fmt.Fprintf(w, `{"data":[%s]}`, strings.Join(items, ","))
	}
}

const snapPath = "GET /admin/datastore/s/snapshots"

func cases(t *testing.T) []hostileCase {
	day := int64(86400)
	real := now.Unix() - day
	gz := bomb(t, "gzip", `{"data":[`, snapshot("1", real)+",", 1<<30)
	zl := bomb(t, "deflate", `{"data":[{"backup-type":"vm","backup-id":"`, "a", 1<<30)
	t.Logf("bombs: gzip %d KiB for 1 GiB, deflate %d KiB for 1 GiB", len(gz)>>10, len(zl)>>10)
	return []hostileCase{
		{
			name:      "endless-string",
			snapshots: forever(`{"data":[{"backup-type":"vm","backup-id":"`, same("a")),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath, "larger than 1048576 bytes"},
		},
		{
			name:      "endless-array",
			maxBytes:  smallBound,
			long:      true,
			snapshots: forever(`{"data":[`, same(snapshot("1", real)+",")),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath, "max_response_bytes (16777216 bytes"},
		},
		{
			name:      "endless-array-default-bound",
			snapshots: forever(`{"data":[`, same(snapshot("1", real)+",")),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath + ": HTTP 200: bad response body: context deadline exceeded"},
		},
		{
			name:      "endless-distinct-groups",
			long:      true,
			snapshots: forever(`{"data":[`, func(i int) string { return snapshot(strconv.Itoa(i), real) + "," }),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath, "more than 100000 backup groups"},
		},
		{
			name:      "oversized-skipped-key",
			snapshots: forever(`{"`, same("k")),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath, "larger than 1048576 bytes"},
		},
		{
			name:      "gzip-bomb",
			maxBytes:  smallBound,
			long:      true,
			snapshots: compressed("gzip", gz),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath, "max_response_bytes (16777216 bytes after decompression)"},
		},
		{
			name:      "deflate-bomb",
			snapshots: compressed("deflate", zl),
			metrics:   []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:      []string{snapPath, "larger than 1048576 bytes"},
		},
		{
			name: "echoing-401",
			version: func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, "no such token; you sent Authorization: %s (secret %s)", auth, auth[strings.LastIndexAny(auth, "=:")+1:])
			},
			metrics: []string{"proxmox_backup_up 0"},
			logs:    []string{"GET /version: HTTP 401", "Authorization: <redacted>"},
			pages:   true,
		},
		{
			name:      "far-future",
			snapshots: listing(snapshot("100", real), snapshot("100", now.AddDate(74, 0, 0).Unix())),
			metrics: []string{
				`proxmox_backup_collector_success{collector="groups"} 1`,
				`proxmox_backup_group_future_snapshots{backup_id="100",backup_type="vm",datastore="s",namespace=""} 1`,
				fmt.Sprintf(`proxmox_backup_group_last_backup_timestamp_seconds{backup_id="100",backup_type="vm",datastore="s",namespace=""} %v`, float64(real)),
			},
			pages: true,
		},
		{
			name:      "past-year-9999",
			snapshots: listing(snapshot("100", real), snapshot("100", 253402300800+day)),
			metrics: []string{
				`proxmox_backup_collector_success{collector="groups"} 1`,
				fmt.Sprintf(`proxmox_backup_group_last_backup_timestamp_seconds{backup_id="100",backup_type="vm",datastore="s",namespace=""} %v`, float64(real)),
			},
			logs:  []string{"Ignored snapshots dated outside the years 1970 to 9999"},
			pages: true,
		},
		{
			name: "stall-after-body",
			snapshots: func(w http.ResponseWriter, r *http.Request) {
				jsonHeader(w)
				fmt.Fprintf(w, `{"data":[%s]}`, snapshot("100", real))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			metrics: []string{`proxmox_backup_collector_success{collector="groups"} 1`},
		},
		{
			name: "stall-mid-body",
			snapshots: func(w http.ResponseWriter, r *http.Request) {
				jsonHeader(w)
				fmt.Fprintf(w, `{"data":[%s,`, snapshot("100", real))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			metrics: []string{`proxmox_backup_collector_success{collector="groups"} 0`},
			logs:    []string{snapPath + ": HTTP 200: bad response body: context deadline exceeded"},
		},
	}
}

// hostileServer routes /CASE/api2/json/... to the case's handlers.
func hostileServer(t *testing.T, cs []hostileCase) *httptest.Server {
	byName := map[string]*hostileCase{}
	for i := range cs {
		byName[cs[i].name] = &cs[i]
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		c := byName[name]
		if c == nil {
			http.NotFound(w, r)
			return
		}
		switch path := strings.TrimPrefix(rest, "api2/json"); {
		case path == "/version" && c.version != nil:
			c.version(w, r)
		case path == "/version":
			listingValue(w, `{"version":"4.0","release":"1","repoid":"x"}`)
		case path == "/admin/datastore":
			listingValue(w, `[{"store":"s"}]`)
		case path == "/admin/datastore/s/snapshots" && c.snapshots != nil:
			c.snapshots(w, r)
		default:
			listingValue(w, `[]`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func listingValue(w http.ResponseWriter, data string) {
	jsonHeader(w)
	fmt.Fprintf(w, `{"data":%s}`, data)
}

// lockedBuffer collects the exporter's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// vmHWM reads the process's peak resident memory.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

func get(url string, timeout time.Duration) (int, string, time.Duration, error) {
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	resp, err := (&http.Client{Timeout: timeout + 20*time.Second}).Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start), err
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// exporter runs the binary with a configuration of the healthy target and
// one hostile case, and returns its address, process and log.
func exporter(t *testing.T, bin, dir, healthyURL, hostileURL string, c hostileCase) (string, *exec.Cmd, *lockedBuffer) {
	t.Helper()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "targets:\n  healthy:\n    type: pbs\n    url: %s\n    token_id: %q\n    token_secret: %q\n", healthyURL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
	fmt.Fprintf(&cfg, "  %s:\n    type: pbs\n    url: %s/%s\n    token_id: monitor@pbs!exporter\n    token_secret: %q\n    timeout: %s\n", c.name, hostileURL, c.name, secret, c.timeout())
	if c.maxBytes > 0 {
		fmt.Fprintf(&cfg, "    max_response_bytes: %d\n", c.maxBytes)
	}
	cfgPath := filepath.Join(dir, c.name+".yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if st, _, _, err := get("http://"+addr+"/-/ready", time.Second); err == nil && st == 200 {
			return "http://" + addr, cmd, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const secret = "7b1e4f20-hostile-test-secret-5c9d"

func TestHostileUpstream(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the exporter's peak memory from /proc")
	}
	testStart := time.Now()
	dir := t.TempDir()
	bin := filepath.Join(dir, "proxmox_backup_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, testtools.Root()).CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	built := time.Since(testStart)

	cs := cases(t)
	hostile := hostileServer(t, cs)
	healthy := httptest.NewServer(simulator.PBSTestScenario(now).Handler())
	t.Cleanup(healthy.Close)

	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			// The probe's deadline: the scrape timeout minus the 0.5s offset.
			deadline := c.timeout() - 500*time.Millisecond
			// A fresh exporter per case: its peak memory is this case's.
			base, cmd, logs := exporter(t, bin, dir, healthy.URL, hostile.URL, c)
			var wg sync.WaitGroup
			var healthyBody string
			var healthyErr error
			var healthyTook time.Duration
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The healthy target is probed while the attack runs.
				time.Sleep(200 * time.Millisecond)
				var st int
				st, healthyBody, healthyTook, healthyErr = get(base+"/probe?target=healthy", scrapeTimeout)
				if healthyErr == nil && st != 200 {
					healthyErr = fmt.Errorf("status %d", st)
				}
			}()
			st, body, took, err := get(base+"/probe?target="+c.name, c.timeout())
			wg.Wait()
			rss := vmHWM(t, cmd.Process.Pid)
			t.Logf("| %s | %.1f MiB | %v |", c.name, float64(rss)/(1<<20), took.Round(10*time.Millisecond))
			if err != nil || st != 200 {
				t.Fatalf("probe: %d %v", st, err)
			}
			if took > deadline+slack {
				t.Errorf("the probe took %v for a %v deadline", took, deadline)
			}
			if rss >= rssCeiling {
				t.Errorf("peak RSS %.1f MiB, over the %d MiB ceiling", float64(rss)/(1<<20), rssCeiling>>20)
			}
			for _, want := range c.metrics {
				if !strings.Contains(body, want) {
					t.Errorf("/probe lacks %s", want)
				}
			}
			if healthyErr != nil || !strings.Contains(healthyBody, "proxmox_backup_up 1") || strings.Contains(healthyBody, "_success{collector=\"groups\"} 0") {
				t.Errorf("the healthy target suffered (%v):\n%.2000s", healthyErr, healthyBody)
			}
			if healthyTook > 2*time.Second {
				t.Errorf("the healthy target took %v", healthyTook)
			}
			shown := body
			if c.pages {
				for _, page := range []string{"/status?target=" + c.name, "/status.json?target=" + c.name} {
					st, body, _, err := get(base+page, scrapeTimeout)
					if err != nil || st != 200 {
						t.Errorf("%s: %d %v", page, st, err)
					}
					if strings.HasSuffix(page, ".json") && !json.Valid([]byte(body)) {
						t.Errorf("%s is not JSON:\n%.500s", page, body)
					}
					shown += body
				}
			}
			// Collectors that missed the deadline report just after it.
			time.Sleep(150 * time.Millisecond)
			log := logs.String()
			for _, want := range c.logs {
				if !strings.Contains(log, want) {
					t.Errorf("the log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(shown+log, secret) || strings.Contains(shown+log, "monitor@pbs!exporter:") {
				t.Errorf("a page or the log shows the secret:\n%s", log)
			}
		})
	}
	t.Logf("whole test %v (build %v)", time.Since(testStart).Round(100*time.Millisecond), built.Round(100*time.Millisecond))
}
