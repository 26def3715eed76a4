package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const testSecret = "0b6c2a4e-5f1d-4c3b-9a8e-7d6f5e4c3b2a"

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseValid(t *testing.T) {
	secretFile := writeFile(t, "pbs.secret", testSecret+"\n")
	cfg, err := Parse([]byte(`
targets:
  backup1:
    type: pbs
    url: https://pbs.example.com:8007/
    token_id: "monitor@pbs!exporter"
    token_secret_file: ` + secretFile + `
    tls_config:
      insecure_skip_verify: true
    fingerprint: "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"
    timeout: 20s
    datastores: [store1]
  cluster1:
    type: pve
    url: https://pve.example.com:8006/api2/json
    token_id: "monitor@pve!exporter"
    token_secret: "` + testSecret + `"
    task_lookback: 2d
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := cfg.TargetNames(); strings.Join(got, ",") != "backup1,cluster1" {
		t.Fatalf("TargetNames = %v", got)
	}
	pbs := cfg.Targets["backup1"]
	if pbs.Name != "backup1" || pbs.Type != TypePBS {
		t.Errorf("pbs target = %+v", pbs)
	}
	if got := pbs.BaseURL().String(); got != "https://pbs.example.com:8007" {
		t.Errorf("BaseURL = %q", got)
	}
	if time.Duration(pbs.Timeout) != 20*time.Second {
		t.Errorf("Timeout = %v", pbs.Timeout)
	}
	if len(pbs.FingerprintBytes()) != 32 || pbs.FingerprintBytes()[0] != 0xaa {
		t.Errorf("fingerprint = %x", pbs.FingerprintBytes())
	}
	if s, err := pbs.ReadSecret(); err != nil || s != testSecret {
		t.Errorf("ReadSecret = %q, %v", s, err)
	}
	if pbs.Concurrency != DefaultConcurrency {
		t.Errorf("Concurrency default = %d", pbs.Concurrency)
	}

	pve := cfg.Targets["cluster1"]
	if got := pve.BaseURL().String(); got != "https://pve.example.com:8006" {
		t.Errorf("pve BaseURL = %q (the /api2/json suffix must be dropped)", got)
	}
	if time.Duration(pve.TaskLookback) != 48*time.Hour {
		t.Errorf("TaskLookback = %v", pve.TaskLookback)
	}
	if time.Duration(pve.Timeout) != time.Duration(DefaultTimeout) {
		t.Errorf("Timeout default = %v", pve.Timeout)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte("targets:\n  c:\n    type: pve\n    url: http://127.0.0.1:8006\n    token_id: a@pam!b\n    token_secret: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(cfg.Targets["c"].TaskLookback); got != 8*24*time.Hour {
		t.Errorf("task_lookback default = %v, want 8d", got)
	}
}

func TestSecretFileIsReadEveryTime(t *testing.T) {
	p := writeFile(t, "s", "first")
	cfg, err := Parse([]byte("targets:\n  b:\n    type: pbs\n    url: https://h:8007\n    token_id: a@pbs!b\n    token_secret_file: " + p + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := cfg.Targets["b"].ReadSecret(); s != "first" {
		t.Fatalf("secret = %q", s)
	}
	if err := os.WriteFile(p, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, _ := cfg.Targets["b"].ReadSecret(); s != "second" {
		t.Fatalf("rotated secret = %q, want second", s)
	}
}

func TestParseErrors(t *testing.T) {
	secretFile := writeFile(t, "ok.secret", testSecret)
	base := func(extra string) string {
		return "targets:\n  t1:\n    type: pbs\n    url: https://pbs:8007\n    token_id: m@pbs!e\n" + extra
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown top-level key", "targetz: {}\n", []string{"line 1", `unknown key "targetz"`}},
		{"unknown target key", base("    token_secret: x\n    tiemout: 5s\n"), []string{`target "t1"`, "line 7", `unknown key "tiemout"`}},
		{"unknown tls key", base("    token_secret: x\n    tls_config:\n      ca_fiel: /x\n"), []string{`target "t1"`, "line 8", `unknown key "ca_fiel"`}},
		{"no targets", "targets: {}\n", []string{"no targets configured"}},
		{"bad type", "targets:\n  t1:\n    type: pve2\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": type: "pve2" is not a target type`}},
		{"missing type", "targets:\n  t1:\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": type: missing`}},
		{"missing url", "targets:\n  t1:\n    type: pve\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": url: missing`}},
		{"unparsable url", "targets:\n  t1:\n    type: pve\n    url: \"https://h:8006/%zz\"\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": url: cannot parse`}},
		{"bad scheme", "targets:\n  t1:\n    type: pve\n    url: ftp://h\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": url:`, "scheme must be https or http"}},
		{"no host", "targets:\n  t1:\n    type: pve\n    url: https://\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": url:`, "has no host"}},
		{"user info in url", "targets:\n  t1:\n    type: pve\n    url: https://root:pw@h:8006\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "t1": url:`, "user information"}},
		{"no token id", "targets:\n  t1:\n    type: pve\n    url: https://h\n    token_secret: x\n", []string{`target "t1": token_id: missing`}},
		{"malformed token id", "targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: monitor\n    token_secret: x\n", []string{`target "t1": token_id: "monitor" is not an API token id`}},
		{"no secret", base(""), []string{`target "t1": token_secret: missing`}},
		{"both secrets", base("    token_secret: x\n    token_secret_file: " + secretFile + "\n"), []string{`target "t1": token_secret: token_secret and token_secret_file are mutually exclusive`}},
		{"malformed fingerprint", base("    token_secret: x\n    fingerprint: \"AA:BB:CC\"\n"), []string{`target "t1": fingerprint:`, "not a SHA-256 fingerprint"}},
		{"negative timeout", base("    token_secret: x\n    timeout: -5s\n"), []string{`target "t1": timeout: line 7: must not be negative`}},
		{"bad timeout", base("    token_secret: x\n    timeout: soon\n"), []string{`target "t1": timeout: line 7`, `"soon" is not a duration`}},
		{"negative lookback", "targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n    task_lookback: -1d\n", []string{`target "t1": task_lookback: line 7: must not be negative`}},
		{"datastores on pve", "targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n    datastores: [a]\n", []string{`target "t1": datastores: only applies to pbs targets`}},
		{"lookback on pbs", base("    token_secret: x\n    task_lookback: 1d\n"), []string{`target "t1": task_lookback: only applies to pve targets`}},
		{"wrong value type", base("    token_secret: x\n    datastores: store1\n"), []string{`target "t1": datastores: line 7`}},
		{"wrong nested value type", base("    token_secret: x\n    tls_config:\n      insecure_skip_verify: maybe\n"), []string{`target "t1": tls_config: line 8`}},
		{"bad target name", "targets:\n  \"a b\":\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: x\n", []string{`target "a b": name:`}},
		{"yaml syntax", "targets:\n  t1: [\n", []string{"yaml:"}},
		{"several errors at once", "targets:\n  a:\n    type: x\n    url: https://h\n    token_id: m@pve!e\n    token_secret: s\n  b:\n    type: pve\n    token_id: m@pve!e\n    token_secret: s\n", []string{`target "a": type:`, `target "b": url: missing`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretsNeverInErrorsOrMarshal(t *testing.T) {
	// An error elsewhere in a target must not echo the secret.
	_, err := Parse([]byte("targets:\n  t1:\n    type: nope\n    url: https://h\n    token_id: m@pve!e\n    token_secret: " + testSecret + "\n"))
	if err == nil || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error %v must exist and must not contain the secret", err)
	}
	// A secret file whose content is the problem is named, not quoted.
	empty := writeFile(t, "empty.secret", "  \n")
	cfg, err := Parse([]byte("targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret_file: " + empty + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Targets["t1"].ReadSecret(); err == nil || !strings.Contains(err.Error(), "is empty") || !strings.Contains(err.Error(), empty) {
		t.Fatalf("error = %v, want 'is empty' and the path", err)
	}

	cfg, err = Parse([]byte("targets:\n  t1:\n    type: pve\n    url: https://h\n    token_id: m@pve!e\n    token_secret: " + testSecret + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), testSecret) || !strings.Contains(string(out), "<secret>") {
		t.Fatalf("marshalled config leaks the secret or lacks <secret>:\n%s", out)
	}
}

func TestLoadFile(t *testing.T) {
	if _, err := LoadFile(filepath.Join(t.TempDir(), "nope.yml")); err == nil || !strings.Contains(err.Error(), "nope.yml") {
		t.Fatalf("LoadFile(missing) = %v, want an error naming the file", err)
	}
	p := writeFile(t, "bad.yml", "targets:\n  t1:\n    type: x\n")
	if _, err := LoadFile(p); err == nil || !strings.Contains(err.Error(), "bad.yml") {
		t.Fatalf("LoadFile(bad) = %v, want an error naming the file", err)
	}
}

func TestFingerprintRoundTrip(t *testing.T) {
	in := "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
	b, err := ParseFingerprint(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatFingerprint(b); got != in {
		t.Fatalf("FormatFingerprint = %q", got)
	}
	if _, err := ParseFingerprint(strings.ReplaceAll(in, ":", "")); err != nil {
		t.Fatalf("fingerprint without colons: %v", err)
	}
	for _, bad := range []string{"", "zz", in + ":00", in[:len(in)-3]} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) succeeded", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("targets:\n  t1:\n    type: pbs\n    url: https://pbs:8007\n    token_id: m@pbs!e\n    token_secret: x\n"))
	f.Add([]byte("targets:\n  t1:\n    type: pve\n    url: http://[::1]:8006\n    token_id: m@pve!e\n    token_secret: x\n    timeout: 1d\n    task_lookback: 8d\n"))
	f.Add([]byte("targets: [1, 2]\n"))
	f.Add([]byte("targets:\n  t1: ~\n"))
	f.Add([]byte("{targets: {a: {type: pve, timeout: [1]}}}"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err == nil {
			for _, name := range cfg.TargetNames() {
				tg := cfg.Targets[name]
				if tg.BaseURL() == nil || tg.Timeout <= 0 {
					t.Fatalf("valid config with an unusable target: %+v", tg)
				}
			}
		}
	})
}

// The example configuration is valid once its secret files exist.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "examples", "proxmox_backup_exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, name := range []string{"cluster1", "backup1", "backup-offsite"} {
		path := writeFile(t, name+".secret", testSecret)
		text = strings.ReplaceAll(text, "/run/credentials/proxmox_backup_exporter.service/"+name+".secret", path)
	}
	cfg, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) != 3 || cfg.Targets["backup1"].Datastores[1] != "offsite" {
		t.Errorf("targets: %+v", cfg.Targets)
	}
}
