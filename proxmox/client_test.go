package proxmox

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"proxmox_backup_exporter/config"
)

const secret = "5e2f4b1a-9c7d-4e3f-8a6b-1c2d3e4f5a6b"

func target(t *testing.T, typ, url, extra string) *config.Target {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf("targets:\n  t1:\n    type: %s\n    url: %s\n    token_id: mon@pbs!exp\n    token_secret: %s\n%s", typ, url, secret, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Targets["t1"]
}

func newSession(t *testing.T, typ, url, extra string) *Session {
	t.Helper()
	c, err := New(target(t, typ, url, extra))
	if err != nil {
		t.Fatal(err)
	}
	return c.Session(secret)
}

func TestAuthHeaders(t *testing.T) {
	for _, tc := range []struct{ typ, want string }{
		{"pbs", "PBSAPIToken=mon@pbs!exp:" + secret},
		{"pve", "PVEAPIToken=mon@pbs!exp=" + secret},
	} {
		var got, path string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, path = r.Header.Get("Authorization"), r.URL.Path
			fmt.Fprint(w, `{"data":{"version":"1"}}`)
		}))
		s := newSession(t, tc.typ, srv.URL, "")
		var v map[string]string
		if err := s.Get(context.Background(), "/version", nil, &v); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if got != tc.want {
			t.Errorf("%s: Authorization = %q, want %q", tc.typ, got, tc.want)
		}
		if path != "/api2/json/version" {
			t.Errorf("%s: path = %q", tc.typ, path)
		}
	}
}

func TestCompression(t *testing.T) {
	body := `{"data":[{"n":1},{"n":2}],"total":2}`
	for _, tc := range []struct {
		typ, wantAccept, encoding string
		encode                    func([]byte) []byte
	}{
		{"pve", "gzip", "gzip", func(b []byte) []byte {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			return buf.Bytes()
		}},
		{"pbs", "deflate", "deflate", func(b []byte) []byte {
			var buf bytes.Buffer
			zw := zlib.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			return buf.Bytes()
		}},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if got := r.Header.Get("Accept-Encoding"); got != tc.wantAccept {
				t.Errorf("%s: Accept-Encoding = %q, want %q", tc.typ, got, tc.wantAccept)
			}
			w.Header().Set("Content-Encoding", tc.encoding)
			w.Write(tc.encode([]byte(body)))
		}))
		s := newSession(t, tc.typ, srv.URL, "")
		var sum int
		err := s.Each(context.Background(), "/x", nil, func(dec *json.Decoder) error {
			var v struct{ N int }
			err := dec.Decode(&v)
			sum += v.N
			return err
		})
		srv.Close()
		if err != nil || sum != 3 {
			t.Errorf("%s: Each = %v, sum %d", tc.typ, err, sum)
		}
	}
}

func TestEachStreamsAndHandlesNull(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api2/json/null":
			fmt.Fprint(w, `{"data":null}`)
		case "/api2/json/total-first":
			fmt.Fprint(w, `{"total":3,"data":[1,2,3]}`)
		case "/api2/json/object":
			fmt.Fprint(w, `{"data":{"a":1}}`)
		case "/api2/json/nodata":
			fmt.Fprint(w, `{"errors":{}}`)
		case "/api2/json/truncated":
			fmt.Fprint(w, `{"data":[1,2,`)
		}
	}))
	defer srv.Close()
	s := newSession(t, "pve", srv.URL, "")
	count := func(path string) (int, error) {
		n := 0
		err := s.Each(context.Background(), path, nil, func(dec *json.Decoder) error {
			var v int
			n++
			return dec.Decode(&v)
		})
		return n, err
	}
	if n, err := count("/null"); err != nil || n != 0 {
		t.Errorf("null data: %d, %v", n, err)
	}
	if n, err := count("/total-first"); err != nil || n != 3 {
		t.Errorf("total before data: %d, %v", n, err)
	}
	for _, p := range []string{"/object", "/nodata", "/truncated"} {
		if _, err := count(p); err == nil || !strings.Contains(err.Error(), "GET "+p) || !strings.Contains(err.Error(), "bad response body") {
			t.Errorf("%s: err = %v, want a bad-body error naming the endpoint", p, err)
		}
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api2/json/auth":
			w.WriteHeader(401)
			fmt.Fprint(w, `{"data":null,"message":"authentication failure\n"}`)
		case "/api2/json/admin/sync":
			w.WriteHeader(403)
			fmt.Fprint(w, `{"data":null,"message":"permission check failed"}`)
		case "/api2/json/nodes/n1/storage/local/content":
			w.WriteHeader(403)
			fmt.Fprint(w, `{"data":null,"message":"Permission check failed"}`)
		case "/api2/json/html":
			w.WriteHeader(502)
			fmt.Fprint(w, `<html>bad gateway</html>`)
		case "/api2/json/redirect":
			http.Redirect(w, r, "http://127.0.0.2:1/steal", http.StatusFound)
		}
	}))
	defer srv.Close()
	pbs := newSession(t, "pbs", srv.URL, "")
	pve := newSession(t, "pve", srv.URL, "")
	var v any
	for _, tc := range []struct {
		s    *Session
		path string
		want []string
	}{
		{pbs, "/auth", []string{`target "t1"`, "GET /auth", "HTTP 401", "authentication failure", "token was rejected"}},
		{pbs, "/admin/sync", []string{"HTTP 403", "Remote.Audit"}},
		{pve, "/nodes/n1/storage/local/content", []string{"HTTP 403", "VM.Backup", "Datastore.AllocateSpace"}},
		{pve, "/html", []string{"HTTP 502", "<html>bad gateway</html>"}},
		{pve, "/redirect", []string{"HTTP 302"}},
	} {
		err := tc.s.Get(context.Background(), tc.path, nil, &v)
		if err == nil {
			t.Errorf("%s: no error", tc.path)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.path, err, w)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret", tc.path)
		}
	}
	if !IsAuthError(pbs.Get(context.Background(), "/auth", nil, &v)) {
		t.Error("IsAuthError(401) = false")
	}
}

func TestConnectionRefusedNamesTarget(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := newSession(t, "pve", url, "")
	var v any
	err := s.Get(context.Background(), "/version", nil, &v)
	if err == nil || !strings.Contains(err.Error(), `target "t1": GET /version`) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
}

func TestFingerprintPinning(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":{}}`)
	}))
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	good := config.FormatFingerprint(sum[:])
	sum[0] ^= 0xff
	bad := config.FormatFingerprint(sum[:])

	var v any
	// Self-signed and not pinned: the CA check refuses it.
	if err := newSession(t, "pbs", srv.URL, "").Get(context.Background(), "/version", nil, &v); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unpinned self-signed: err = %v, want a certificate error", err)
	}
	if err := newSession(t, "pbs", srv.URL, "    fingerprint: \""+good+"\"\n").Get(context.Background(), "/version", nil, &v); err != nil {
		t.Errorf("pinned right fingerprint: %v", err)
	}
	err := newSession(t, "pbs", srv.URL, "    fingerprint: \""+bad+"\"\n").Get(context.Background(), "/version", nil, &v)
	if err == nil || !strings.Contains(err.Error(), "does not match the configured fingerprint") {
		t.Errorf("pinned wrong fingerprint: err = %v", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		fmt.Fprint(w, `{"data":1}`)
	}))
	defer srv.Close()
	s := newSession(t, "pve", srv.URL, "    concurrency: 3\n")
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			var v int
			errs <- s.Get(context.Background(), "/x", nil, &v)
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak concurrency %d, want 1..3", p)
	}
}

func TestDeadlineStopsSlowBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":[`)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "%d,", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	s := newSession(t, "pve", srv.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.Each(ctx, "/endless", nil, func(dec *json.Decoder) error {
			var v int
			return dec.Decode(&v)
		})
	}()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Each did not return after the deadline")
	}
}

func TestLenientTypes(t *testing.T) {
	var v struct {
		A, B, C Bool
		N, M    Int
		S, T    String
		F       Float
	}
	if err := json.Unmarshal([]byte(`{"A":1,"B":"1","C":true,"N":"42","M":7.9,"S":101,"T":"x","F":"0.5"}`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.A || !v.B || !v.C || v.N != 42 || v.M != 7 || v.S != "101" || v.T != "x" || v.F != 0.5 {
		t.Fatalf("decoded %+v", v)
	}
	for _, bad := range []string{`{"A":"yes"}`, `{"N":"many"}`, `{"S":[1]}`, `{"F":{}}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}
