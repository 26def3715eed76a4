package main

import (
	"os"
	"path/filepath"
	"testing"
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
}
