package proxmox

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// endless writes prefix, then unit over and over until the client leaves
// or limit bytes were written (0: no limit).
func endless(prefix, unit string, limit int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, prefix)
		chunk := strings.Repeat(unit, 64<<10/len(unit)+1)
		for n := 0; limit == 0 || n < limit; n += len(chunk) {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}
}

// bomb compresses prefix, then unit repeated to about size bytes. It
// compresses 64 KiB of units once and repeats that segment of the stream (the
// input is periodic, so the segment's back-references find the same bytes
// every time); the stream has no trailer, as nothing reads that far.
func bomb(t *testing.T, encoding, prefix, unit string, size int) []byte {
	t.Helper()
	type flusher interface {
		io.Writer
		Flush() error
	}
	var buf bytes.Buffer
	var zw flusher
	if encoding == "gzip" {
		zw = gzip.NewWriter(&buf)
	} else {
		zw = zlib.NewWriter(&buf)
	}
	chunk := strings.Repeat(unit, 64<<10/len(unit)+1)
	io.WriteString(zw, prefix+chunk)
	zw.Flush()
	head := buf.Len()
	io.WriteString(zw, chunk)
	zw.Flush()
	segment := append([]byte(nil), buf.Bytes()[head:]...)
	for n := 2 * len(chunk); n < size; n += len(chunk) {
		buf.Write(segment)
	}
	return buf.Bytes()
}

// Every bound fails the call with an error that names the target, the
// endpoint and the bound, long before the body ends.
func TestBounds(t *testing.T) {
	// Large elements keep the element count, and the test's time under the
	// race detector, small.
	elem := `{"n":1,"pad":"` + strings.Repeat("x", 1000) + `"},`
	gz := bomb(t, "gzip", `{"data":[`, elem, 4<<20)
	zl := bomb(t, "deflate", `{"data":"`, `a`, 4<<20)
	mux := http.NewServeMux()
	mux.HandleFunc("/api2/json/string", endless(`{"data":{"version":"`, "a", 0))
	mux.HandleFunc("/api2/json/array", endless(`{"data":[`, elem, 0))
	mux.HandleFunc("/api2/json/small", endless(`{"data":[`, `{"n":1},`, 0))
	mux.HandleFunc("/api2/json/key", endless(`{"`, "k", 0))
	mux.HandleFunc("/api2/json/skipped", endless(`{"total":"`, "x", 0))
	mux.HandleFunc("/api2/json/spaces", endless(`{"data":[`, " ", 0))
	mux.HandleFunc("/api2/json/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz)
	})
	mux.HandleFunc("/api2/json/deflate", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "deflate")
		w.Write(zl)
	})
	mux.HandleFunc("/api2/json/many", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[{}`+strings.Repeat(`,{}`, maxElements)+`]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func(n int) { maxElements = n }(maxElements)
	maxElements = 10000 // MaxElements, lowered to keep the test fast
	s := newSession(t, "pve", srv.URL, "    max_response_bytes: 2097152\n")
	pbs := newSession(t, "pbs", srv.URL, "    max_response_bytes: 2097152\n")

	each := func(s *Session, path string) error {
		return s.Each(context.Background(), path, nil, func(dec *json.Decoder) error {
			var v map[string]any
			return dec.Decode(&v)
		})
	}
	get := func(s *Session, path string) error {
		var v struct{ Version string }
		return s.Get(context.Background(), path, nil, &v)
	}
	getList := func(s *Session, path string) error {
		var v []struct{ N int }
		return s.Get(context.Background(), path, nil, &v)
	}
	for _, tc := range []struct {
		path string
		call func() error
		want error
		says string
	}{
		{"/string", func() error { return get(s, "/string") }, ErrValueTooLarge, "larger than 1048576 bytes"},
		{"/array", func() error { return each(s, "/array") }, ErrResponseTooLarge, "max_response_bytes (2097152 bytes"},
		{"/array", func() error { return getList(s, "/array") }, ErrResponseTooLarge, "max_response_bytes (2097152 bytes"},
		{"/small", func() error { return getList(s, "/small") }, nil, "more than 10000 elements"},
		{"/key", func() error { return get(s, "/key") }, ErrValueTooLarge, "larger than 1048576 bytes"},
		{"/skipped", func() error { return get(s, "/skipped") }, ErrValueTooLarge, "larger than 1048576 bytes"},
		{"/spaces", func() error { return each(s, "/spaces") }, ErrValueTooLarge, "larger than 1048576 bytes"},
		{"/gzip", func() error { return each(s, "/gzip") }, ErrResponseTooLarge, "after decompression"},
		{"/deflate", func() error { return get(pbs, "/deflate") }, ErrValueTooLarge, "larger than 1048576 bytes"},
		{"/many", func() error { return getList(s, "/many") }, nil, "more than 10000 elements"},
	} {
		start := time.Now()
		err := tc.call()
		if err == nil {
			t.Errorf("%s: no error", tc.path)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.path, err, tc.want)
		}
		for _, w := range []string{`target "t1"`, "GET " + tc.path, tc.says} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.path, err, w)
			}
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("%s: took %v", tc.path, took)
		}
	}
}

// Values just inside the bounds decode: the bounds cut only what no
// Proxmox server sends.
func TestWithinBounds(t *testing.T) {
	big := strings.Repeat("a", MaxValueBytes-64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api2/json/big":
			fmt.Fprintf(w, `{"total":"%s","data":{"version":"%s"}}`, big, big)
		case "/api2/json/exact":
			// Exactly max_response_bytes.
			body := `{"data":[` + strings.Repeat(`1,`, 500) + `1]}`
			w.Write([]byte(body))
		}
	}))
	defer srv.Close()
	// The configuration takes no bound under 1 MiB: set the client's.
	s := newSession(t, "pve", srv.URL, "")
	s.c.maxBytes = int64(len(`{"data":[` + strings.Repeat(`1,`, 500) + `1]}`))
	var v struct{ Version string }
	if err := newSession(t, "pve", srv.URL, "").Get(context.Background(), "/big", nil, &v); err != nil || len(v.Version) != len(big) {
		t.Fatalf("a value within the bound: %v", err)
	}
	var n []int
	if err := s.Get(context.Background(), "/exact", nil, &n); err != nil || len(n) != 501 {
		t.Fatalf("a body of exactly max_response_bytes: %v (%d elements)", err, len(n))
	}
}

// A server that echoes the request's Authorization header in an error body
// shows neither the secret nor the header's value.
func TestEchoedSecretRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		switch r.URL.Path {
		case "/api2/json/json":
			fmt.Fprintf(w, `{"data":null,"message":"bad header %s"}`, r.Header.Get("Authorization"))
		default:
			auth := r.Header.Get("Authorization")
			fmt.Fprintf(w, "Authorization: %s\nsecret was %s", auth, auth[strings.LastIndexAny(auth, "=:")+1:])
		}
	}))
	defer srv.Close()
	for _, typ := range []string{"pve", "pbs"} {
		s := newSession(t, typ, srv.URL, "")
		for _, path := range []string{"/json", "/text"} {
			var v any
			err := s.Get(context.Background(), path, nil, &v)
			if err == nil || !IsAuthError(err) {
				t.Fatalf("%s %s: %v", typ, path, err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "mon@pbs!exp") {
				t.Errorf("%s %s: the error shows the credentials: %s", typ, path, err)
			}
			if !strings.Contains(err.Error(), Redacted) {
				t.Errorf("%s %s: nothing was redacted: %s", typ, path, err)
			}
		}
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor("s3cr3t-value")
	for in, want := range map[string]string{
		"token PVEAPIToken=root@pam!mon=abc-def rejected":         "token PVEAPIToken=<redacted> rejected",
		"PBSAPIToken=mon@pbs!exp:abc, then":                       "PBSAPIToken=<redacted>, then",
		"PBSAPIToken mon@pbs!exp:abc":                             "PBSAPIToken <redacted>",
		"Authorization: Bearer abcdefghijkl\nnext line":           "Authorization: <redacted>\nnext line",
		`{"authorization":"Basic dXNlcjpwYXNzd29yZA=="}`:          `{"authorization":"<redacted>"}`,
		"got Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc":                 "got Bearer <redacted>",
		"echo s3cr3t-value here":                                  "echo <redacted> here",
		"Basic storage is full; Bearer of bad news":               "Basic storage is full; Bearer of bad news",
		"guest web01 on node pve1: backup failed (exit code 255)": "guest web01 on node pve1: backup failed (exit code 255)",
	} {
		if got := r.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	base := fmt.Errorf("wrapped: %w", context.DeadlineExceeded)
	if err := r.Error(fmt.Errorf("s3cr3t-value: %w", base)); !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("Error: %v", err)
	}
}

// A body that ends but whose connection then stalls costs the call at most
// the drain limit, not the deadline.
func TestStalledDrain(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":{"version":"9"}}`+strings.Repeat(" ", 100))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	s := newSession(t, "pve", srv.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	var v struct{ Version string }
	if err := s.Get(ctx, "/version", nil, &v); err != nil || v.Version != "9" {
		t.Fatalf("%v %+v", err, v)
	}
	if took := time.Since(start); took > 5*drainTimeout+time.Second {
		t.Errorf("the stalled drain took %v", took)
	}
}
