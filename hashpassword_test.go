package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

func TestHashPassword(t *testing.T) {
	in := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(in, []byte("s3cret pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out, prompt bytes.Buffer
	if err := hashPassword(f, &out, &prompt); err != nil {
		t.Fatal(err)
	}
	hash := []byte(strings.TrimSpace(out.String()))
	if err := bcrypt.CompareHashAndPassword(hash, []byte("s3cret pass")); err != nil {
		t.Fatalf("the hash does not match the password: %v", err)
	}
	if cost, _ := bcrypt.Cost(hash); cost != bcryptCost {
		t.Errorf("bcrypt cost %d, want %d", cost, bcryptCost)
	}
	if prompt.Len() != 0 {
		t.Error("no prompt when reading from a pipe or file")
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Error("the password is echoed")
	}

	for _, bad := range []string{"\n", strings.Repeat("x", 73) + "\n"} {
		if err := os.WriteFile(in, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(in)
		if err := hashPassword(f, &out, &prompt); err == nil {
			t.Errorf("password %q accepted", bad[:min(len(bad), 10)])
		}
		f.Close()
	}
}

// The cost of hash-password's hashes, of the example web config's hashes
// and of the hash exporter-toolkit checks unknown user names against agree,
// so that a failed login does not tell whether the user name exists.
func TestBcryptCostMatchesToolkit(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/exporter-toolkit").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "web", "handler.go"))
	if err != nil {
		t.Fatal(err)
	}
	// The unknown-user hash is the one bcrypt literal in the handler.
	m := regexp.MustCompile(`"(\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53})"`).FindAllSubmatch(src, -1)
	if len(m) != 1 {
		t.Fatalf("found %d bcrypt hashes in exporter-toolkit's web/handler.go, want the one for unknown users", len(m))
	}
	dummy, err := bcrypt.Cost(m[0][1])
	if err != nil {
		t.Fatal(err)
	}
	if dummy != bcryptCost {
		t.Errorf("exporter-toolkit checks unknown users against cost %d, hash-password uses %d", dummy, bcryptCost)
	}

	example, err := os.ReadFile(filepath.Join("examples", "web-config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wc struct {
		Users map[string]string `yaml:"basic_auth_users"`
	}
	if err := yaml.Unmarshal(example, &wc); err != nil || len(wc.Users) == 0 {
		t.Fatalf("example web config: %v, users %v", err, wc.Users)
	}
	for user, hash := range wc.Users {
		if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != dummy {
			t.Errorf("example user %s: cost %d (%v), want %d", user, cost, err, dummy)
		}
	}
}
