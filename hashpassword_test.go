package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
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
	if cost, _ := bcrypt.Cost(hash); cost < 12 {
		t.Errorf("bcrypt cost %d, want at least 12", cost)
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
