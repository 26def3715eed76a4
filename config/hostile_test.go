package config

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func pveTarget(extra string) string {
	return "targets:\n  c:\n    type: pve\n    url: https://pve:8006\n    token_id: m@pve!e\n" + extra
}

// A missing secret file does not fail the configuration: the target fails
// at probe time, and the error names target, field, path and cause.
func TestMissingSecretFileFailsOnlyItsTarget(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone.secret")
	cfg, err := Parse([]byte(pveTarget("    token_secret_file: " + missing + "\n")))
	if err != nil {
		t.Fatalf("a missing secret file must not fail the configuration: %v", err)
	}
	_, err = cfg.Targets["c"].ReadSecret()
	if err == nil {
		t.Fatal("ReadSecret of a missing file succeeded")
	}
	for _, want := range []string{`target "c"`, "token_secret_file", missing, "no such file or directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestSecretFileContent(t *testing.T) {
	const secret = "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"
	for _, tc := range []struct {
		name, content string
		want          string // "" means accepted
	}{
		{"plain", secret, ""},
		{"one final newline", secret + "\n", ""},
		{"one final CRLF", secret + "\r\n", ""},
		{"blanks around", "  " + secret + "\t\n", ""},
		{"exactly the size bound", strings.Repeat("a", MaxSecretBytes), ""},
		{"inner line break", secret[:8] + "\n" + secret[8:] + "\n", "more than one line"},
		{"two lines", secret + "\nsecond-" + secret + "\n", "more than one line"},
		{"two final newlines", secret + "\n\n", "more than one line"},
		{"control character", secret[:8] + "\x00" + secret[8:], "control character"},
		{"empty", "\n", "is empty"},
		{"too large", strings.Repeat("a", MaxSecretBytes+1), "more than"},
		{"huge", strings.Repeat(secret+" ", 100000), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "s", tc.content)
			tg := &Target{Name: "c", TokenSecretFile: p}
			got, err := tg.ReadSecret()
			if tc.want == "" {
				if err != nil || got != strings.Trim(strings.TrimRight(tc.content, "\r\n"), " \t") {
					t.Fatalf("ReadSecret = %q, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadSecret error = %v, want %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), `target "c": token_secret_file`) {
				t.Errorf("error %q does not name the target, field and path", err)
			}
			if strings.Contains(err.Error(), secret[:8]) || strings.Contains(err.Error(), "aaaa") {
				t.Errorf("error %q quotes the file's content", err)
			}
		})
	}
	// The same rules hold for an inline secret.
	_, err := Parse([]byte(pveTarget("    token_secret: \"abc\\ndef\"\n")))
	if err == nil || !strings.Contains(err.Error(), `target "c": token_secret: the secret spans more than one line`) || strings.Contains(err.Error(), "abc") {
		t.Errorf("inline secret with a line break: %v", err)
	}
}

// A FIFO without a writer and a directory are refused at once instead of
// hanging the probe.
func TestSecretFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, p := range []string{fifo, dir, "/dev/zero"} {
		tg := &Target{Name: "c", TokenSecretFile: p}
		start := time.Now()
		_, err := tg.ReadSecret()
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: ReadSecret took %v", p, took)
		}
		if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error = %v, want 'not a regular file' and the path", p, err)
		}
	}
}

// A read that hangs (a hung network file system) gives up at the caller's
// deadline, and callers share the one hung read instead of piling up.
func TestSecretFileReadHangs(t *testing.T) {
	release := make(chan struct{})
	var reads atomic.Int32
	readSecretBytes = func(string) ([]byte, error) {
		reads.Add(1)
		<-release
		return []byte("late"), nil
	}
	t.Cleanup(func() { readSecretBytes = readBounded })

	tg := &Target{Name: "c", TokenSecretFile: "/mnt/hung/secret"}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := tg.ReadSecretContext(ctx)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("ReadSecretContext took %v for a 200ms deadline", took)
			}
			if err == nil || !strings.Contains(err.Error(), "did not answer in time") || !strings.Contains(err.Error(), "/mnt/hung/secret") {
				t.Errorf("error = %v", err)
			}
		}()
	}
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Errorf("%d reads of the hung file, want 1 shared", n)
	}
	close(release)
	// Once the hung read ends, the next call reads afresh.
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, err := tg.ReadSecret()
		if err == nil && s == "late" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the read ended: %q, %v", s, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		extra, want string // want "" means accepted
	}{
		{"    concurrency: -1\n", `target "c": concurrency: -1 is out of range: use 1 to 64`},
		{"    concurrency: 65\n", "concurrency: 65 is out of range"},
		{"    concurrency: 9999999999999999\n", "concurrency: 9999999999999999 is out of range"},
		{"    concurrency: 1.5\n", `target "c": concurrency: line 7: want a whole number, got "1.5"`},
		{"    concurrency: 1e3\n", "concurrency: line 7: want a whole number"},
		{"    concurrency: [1]\n", "concurrency: line 7: want a whole number"},
		{"    concurrency: 1\n", ""},
		{"    concurrency: 64\n", ""},
		{"    timeout: 10ms\n", `target "c": timeout: 10ms is out of range: use 100ms to 10m`},
		{"    timeout: 11m\n", "timeout: 11m is out of range"},
		{"    timeout: 10m\n", ""},
		{"    task_lookback: 30m\n", `target "c": task_lookback: 30m is out of range: use 1h to 366d`},
		{"    task_lookback: 400d\n", "task_lookback: 400d is out of range"},
		{"    task_lookback: 366d\n", ""},
		{"    max_response_bytes: -1\n", `target "c": max_response_bytes: -1 is out of range: use 1048576 (1 MiB) to 17179869184 (16 GiB)`},
		{"    max_response_bytes: 1000\n", "max_response_bytes: 1000 is out of range"},
		{"    max_response_bytes: 17179869185\n", "max_response_bytes: 17179869185 is out of range"},
		{"    max_response_bytes: 1.5e9\n", "max_response_bytes: line 7: want a whole number"},
		{"    max_response_bytes: 1048576\n", ""},
		{"    max_response_bytes: 17179869184\n", ""},
	} {
		_, err := Parse([]byte(pveTarget("    token_secret: x\n" + tc.extra)))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.extra, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want %q", tc.extra, err, tc.want)
		}
	}
}

func TestFieldErrorsNameTargetAndField(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  []string
		never string
	}{
		{"    token_secret: x\n    proxy_url: \"::\"\n", []string{`target "c": proxy_url: line 7: not a valid URL`}, ""},
		{"    token_secret: x\n    proxy_url: \"http://u:hunter2@[::1\"\n", []string{`target "c": proxy_url: line 7: not a valid URL`}, "hunter2"},
		{"    token_secret: x\n    proxy_url: ftp://proxy:21\n", []string{`target "c": proxy_url: "ftp://proxy:21": scheme must be`}, ""},
		{"    token_secret: x\n    proxy_url: \"http://u:hunter2@\"\n", []string{`target "c": proxy_url:`, "has no host"}, "hunter2"},
		{"    token_secret: x\n    no_proxy: internal\n", []string{`target "c": no_proxy:`}, ""},
		{"    token_secret: x\n    tls_config:\n      min_version: TLS99\n", []string{`target "c": tls_config: line 8`, "TLS99"}, ""},
		// A proxy header needs a proxy: the header is named when no proxy
		// URL is written, the URL when it is written empty.
		{"    token_secret: x\n    proxy_connect_header:\n      X-Auth: [y]\n", []string{`target "c": proxy_connect_header: if proxy_connect_header is configured`}, ""},
		{"    token_secret: x\n    proxy_url: \"\"\n    proxy_connect_header:\n      X-Auth: [y]\n", []string{`target "c": proxy_url: if proxy_connect_header is configured`}, ""},
		{"    token_secret: x\n    proxy_from_environment: true\n    no_proxy: internal\n", []string{`target "c": no_proxy: if proxy_from_environment is configured`}, ""},
	} {
		_, err := Parse([]byte(pveTarget(tc.extra)))
		if err == nil {
			t.Errorf("%q: accepted", tc.extra)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.extra, err, w)
			}
		}
		if tc.never != "" && strings.Contains(err.Error(), tc.never) {
			t.Errorf("%q: error %q shows the password", tc.extra, err)
		}
	}
	_, err := Parse([]byte("targets:\n  c:\n    type: pve\n    url: https://pve:8006\n    token_id: monitor@pve\n    token_secret: x\n"))
	if err == nil || !strings.Contains(err.Error(), `target "c": token_id: "monitor@pve" is a user, not an API token id`) || !strings.Contains(err.Error(), "monitor@pve!exporter") {
		t.Errorf("token id without a token name: %v", err)
	}
	// A URL that cannot be parsed and holds a password is not echoed.
	_, err = Parse([]byte("targets:\n  c:\n    type: pve\n    url: \"https://root:hunter2@pve:8006/%zz\"\n    token_id: m@pve!e\n    token_secret: x\n"))
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), `target "c": url:`) {
		t.Errorf("url with a password: %v", err)
	}
}
