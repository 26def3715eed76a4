package config

import (
	"strings"
	"testing"
	"time"
)

const twoPBS = "targets:\n" +
	"  main:\n    type: pbs\n    url: https://pbs1:8007\n    token_id: m@pbs!e\n    token_secret: x\n" +
	"  copy:\n    type: pbs\n    url: https://pbs2:8007\n    token_id: m@pbs!e\n    token_secret: x\n" +
	"  cluster:\n    type: pve\n    url: https://pve:8006\n    token_id: m@pve!e\n    token_secret: x\n"

// A PBS target names the PBS target that holds its copies; anything else
// it might name is an error that says what to name instead.
func TestOffsite(t *testing.T) {
	cfg, err := Parse([]byte(strings.Replace(twoPBS, "  copy:\n", "    offsite: copy\n  copy:\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Targets["main"].Offsite; got != "copy" {
		t.Errorf("offsite = %q", got)
	}
	if got := cfg.Targets["copy"].Offsite; got != "" {
		t.Errorf("the copy's offsite = %q, want none", got)
	}
	for offsite, want := range map[string]string{
		"main":    `target "main": offsite: names the target itself`,
		"nowhere": `target "main": offsite: "nowhere" is not a target of this file`,
		"cluster": `target "main": offsite: "cluster" is a pve target, not a pbs one`,
	} {
		_, err := Parse([]byte(strings.Replace(twoPBS, "  copy:\n", "    offsite: "+offsite+"\n  copy:\n", 1)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("offsite %s: %v, want %q", offsite, err, want)
		}
	}
	_, err = Parse([]byte(twoPBS + "    offsite: copy\n"))
	if err == nil || !strings.Contains(err.Error(), `target "cluster": offsite: only applies to pbs targets`) {
		t.Errorf("offsite on a PVE target: %v", err)
	}
}

// The recent-backup window defaults to the mixin's critical backup age on
// PVE targets, is bounded inclusively, and belongs to PVE alone.
func TestRecentBackupWindow(t *testing.T) {
	cfg, err := Parse([]byte(minimalPVE))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(cfg.Targets["t1"].RecentBackupWindow); got != 48*time.Hour {
		t.Errorf("default window %v, want 48h", got)
	}
	for in, want := range map[string]time.Duration{
		"1h": time.Hour, "8d": 8 * 24 * time.Hour, "366d": 366 * 24 * time.Hour, "59m": 0, "367d": 0,
	} {
		cfg, err := Parse([]byte(minimalPVE + "    recent_backup_window: " + in + "\n"))
		if want == 0 {
			if err == nil || !strings.Contains(err.Error(), "recent_backup_window: "+in+" is out of range") {
				t.Errorf("recent_backup_window %s: %v, want out of range", in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("recent_backup_window %s: %v", in, err)
		} else if got := time.Duration(cfg.Targets["t1"].RecentBackupWindow); got != want {
			t.Errorf("recent_backup_window %s = %v", in, got)
		}
	}
	if _, err := Parse([]byte(minimalPVE + "    recent_backup_window: -2d\n")); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("negative window: %v", err)
	}
	cfg, err = Parse([]byte(twoPBS))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Targets["main"].RecentBackupWindow; got != 0 {
		t.Errorf("a PBS target has a window of %v", got)
	}
	if _, err := Parse([]byte(strings.Replace(twoPBS, "  copy:\n", "    recent_backup_window: 2d\n  copy:\n", 1))); err == nil || !strings.Contains(err.Error(), `target "main": recent_backup_window: only applies to pve targets`) {
		t.Errorf("window on a PBS target: %v", err)
	}
}
