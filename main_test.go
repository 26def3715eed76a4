package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"proxmox_backup_exporter/exporter"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(good, []byte("targets:\n  c:\n    type: pve\n    url: https://pve:8006\n    token_id: m@pve!e\n    token_secret: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("targets:\n  c:\n    type: pve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"--config.check", "--config.file=" + good}); code != 0 {
		t.Errorf("a valid file: exit %d, want 0", code)
	}
	if code := run([]string{"--config.check", "--config.file=" + bad}); code != 1 {
		t.Errorf("an invalid file: exit %d, want 1", code)
	}
	if code := run([]string{"--no-such-flag"}); code != 2 {
		t.Errorf("a bad flag: exit %d, want 2", code)
	}
	// A negative offset would stretch the deadline past Prometheus' timeout.
	if code := run([]string{"--timeout-offset=-1s", "--config.check", "--config.file=" + good}); code != 2 {
		t.Errorf("a negative --timeout-offset: exit %d, want 2", code)
	}
}

// --config.check and start-up (exporter.New, which reloads use too) accept
// and refuse the same files. Files a target needs that are missing only
// fail that target, so both accept them, and the check warns.
func TestConfigCheckAgreesWithStartUp(t *testing.T) {
	dir := t.TempDir()
	base := "targets:\n  c:\n    type: pve\n    url: https://pve:8006\n    token_id: m@pve!e\n"
	for _, tc := range []struct {
		name, extra string
		valid       bool
		warning     string
	}{
		{"valid", "    token_secret: x\n", true, ""},
		{"missing ca_file", "    token_secret: x\n    tls_config:\n      ca_file: " + filepath.Join(dir, "no-ca.pem") + "\n", true, "no-ca.pem"},
		{"missing cert_file", "    token_secret: x\n    tls_config:\n      cert_file: " + filepath.Join(dir, "no.crt") + "\n      key_file: " + filepath.Join(dir, "no.key") + "\n", true, "no.crt"},
		{"missing secret file", "    token_secret_file: " + filepath.Join(dir, "no.secret") + "\n", true, `token_secret_file "` + filepath.Join(dir, "no.secret")},
		{"huge concurrency", "    token_secret: x\n    concurrency: 9999999999999999\n", false, ""},
		{"negative concurrency", "    token_secret: x\n    concurrency: -1\n", false, ""},
		{"proxy_url not a URL", "    token_secret: x\n    proxy_url: \"::\"\n", false, ""},
		{"unknown TLS version", "    token_secret: x\n    tls_config:\n      min_version: TLS99\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yml")
			if err := os.WriteFile(path, []byte(base+tc.extra), 0o600); err != nil {
				t.Fatal(err)
			}
			var code int
			stderr := captureStderr(t, func() { code = run([]string{"--config.check", "--config.file=" + path}) })
			_, err := exporter.New(exporter.Options{ConfigFile: path})
			if (code == 0) != (err == nil) {
				t.Fatalf("--config.check exits %d, start-up: %v", code, err)
			}
			if (code == 0) != tc.valid {
				t.Errorf("--config.check exits %d; stderr:\n%s", code, stderr)
			}
			if tc.warning != "" && (!strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, tc.warning)) {
				t.Errorf("no warning naming %q:\n%s", tc.warning, stderr)
			}
		})
	}
}

func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}
